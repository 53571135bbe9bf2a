//! The HTTP edge: configuration, `AppState`, the router, sessions, request guards, mail, clock.

pub mod clock;
pub mod config;
pub mod fetch;
pub mod mail;
pub mod secrets;
pub mod security;
pub mod session;
pub mod state;

use crate::app::{shell, App};
use axum::{
    extract::State, http::StatusCode, middleware::from_fn_with_state, response::IntoResponse,
    routing::get, Router,
};
use leptos_axum::{generate_route_list, LeptosRoutes};
use state::AppState;
use std::time::Duration;
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

/// Largest request body the portal accepts (forms are small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The portal's routes, generated once per process. Generating them runs the app with
/// resource loading suppressed by a process-wide flag (leptos_server's
/// `SuppressResourceLoad`): a page rendered on another thread during that window would wait
/// forever for its data (leptos-rs/leptos#4773). Routers built later (tests build one per
/// app) reuse the list and never raise the flag while pages render.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application as one router; tests drive it without a socket.
pub fn router(state: AppState) -> Router {
    let routes = route_list();
    // SCIM has its own body limit and RFC 7644 errors, so it sits outside the portal's layers
    let scim = crate::scim::routes::router();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/saml/{business_id}/metadata", get(sp_metadata))
        .merge(crate::saml::routes::portal_routes())
        .route(
            "/directdownload/files/{file}",
            get(crate::activation::download::file),
        )
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(server_fn_status))
        .layer(from_fn_with_state(state.clone(), security::csrf_guard))
        .layer(from_fn_with_state(state.clone(), security::client_ip))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(scim)
        .merge(crate::saml::routes::acs_routes())
        .merge(
            crate::activation::routes::router()
                .layer(from_fn_with_state(state.clone(), security::client_ip))
                .layer(RequestBodyLimitLayer::new(
                    crate::activation::routes::MAX_BODY,
                )),
        )
        .layer(from_fn_with_state(
            state.clone(),
            security::security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Server functions answer 500 for errors raised before our code runs (a missing or
/// undecodable argument). Those are client errors: give them the status the error names.
async fn server_fn_status(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let is_server_fn =
        req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1/");
    let res = next.run(req).await;
    if !is_server_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    };
    if let Ok(e) = serde_json::from_slice::<crate::api::ApiError>(&bytes) {
        parts.status =
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Our SP metadata for one business account, for the admin to give to their IdP.
async fn sp_metadata(
    State(state): State<AppState>,
    axum::extract::Path(business_id): axum::extract::Path<String>,
) -> axum::response::Response {
    match state.db.business(&business_id).await {
        Ok(_) => {
            let sp = crate::integration::sp_urls(&state, &business_id);
            let signed = state
                .db
                .integration(&business_id)
                .await
                .ok()
                .flatten()
                .is_some_and(|r| r.sign_requests);
            let key = match crate::saml::signing::key(&state, &business_id).await {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(error = %e, "SP metadata: the signing key");
                    None
                }
            };
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "application/samlmetadata+xml; charset=utf-8",
                )],
                crate::saml::sp_metadata(
                    &sp.entity_id,
                    &sp.acs_url,
                    key.as_ref().map(|(_, cert)| (cert.as_slice(), signed)),
                ),
            )
                .into_response()
        }
        Err(crate::store::StoreError::NotFound) => {
            (StatusCode::NOT_FOUND, "No such business account.").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "SP metadata");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match tokio::time::timeout(Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timeout"),
    }
}

/// Background re-checks of pending domains (every minute; each domain backs off on its own).
pub fn spawn_domain_checks(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = crate::integration::recheck_due_domains(&state).await {
                tracing::warn!(error = %e, "background domain checks failed");
            }
        }
    });
}

/// Periodic clean-up of expired sessions and old sign-in failures.
pub fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = state.clock.now();
            if let Err(e) = state
                .db
                .prune_sessions(now, now - state.settings.session_idle_secs)
                .await
            {
                tracing::warn!(error = %e, "pruning sessions failed");
            }
            if let Err(e) = state
                .db
                .prune_signin_failures(now - crate::accounts::SIGNIN_WINDOW_SECS)
                .await
            {
                tracing::warn!(error = %e, "pruning sign-in failures failed");
            }
            if let Err(e) = state
                .db
                .prune_scim_requests(now - crate::scim::LOG_RETENTION_SECS)
                .await
            {
                tracing::warn!(error = %e, "pruning the SCIM request log failed");
            }
            if let Err(e) = state.db.prune_saml(now).await {
                tracing::warn!(error = %e, "pruning SAML requests and attempts failed");
            }
            if let Err(e) = state.db.clear_expired_activation_codes(now).await {
                tracing::warn!(error = %e, "clearing expired activation codes failed");
            }
            if let Err(e) = state.db.prune_activation_transactions(now - 86_400).await {
                tracing::warn!(error = %e, "pruning activation transactions failed");
            }
        }
    });
}
