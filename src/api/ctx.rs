//! Server-side helpers for server functions: state, session, client address, status codes.

use super::error::ApiError;
use crate::server::{security::ClientIp, session, state::AppState};
use http::{header::SET_COOKIE, request::Parts, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

pub fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        ApiError::Internal
    })
}

fn parts() -> Result<Parts, ApiError> {
    use_context::<Parts>().ok_or(ApiError::Internal)
}

pub fn client_ip() -> Result<ClientIp, ApiError> {
    Ok(parts()?
        .extensions
        .get::<ClientIp>()
        .copied()
        .unwrap_or(ClientIp(None)))
}

pub async fn session(state: &AppState) -> Result<Option<session::CurrentSession>, ApiError> {
    let parts = parts()?;
    session::load(state, &parts.headers)
        .await
        .map_err(crate::accounts::internal)
}

pub async fn require_user(state: &AppState) -> Result<session::CurrentSession, ApiError> {
    session(state).await?.ok_or(ApiError::Unauthorized)
}

pub async fn start_session(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    // a new sign-in replaces the browser's previous session (no fixation)
    end_session(state).await?;
    let cookie = session::start(state, user_id)
        .await
        .map_err(crate::accounts::internal)?;
    if let Some(res) = use_context::<ResponseOptions>() {
        res.append_header(SET_COOKIE, cookie);
    }
    Ok(())
}

pub async fn end_session(state: &AppState) -> Result<(), ApiError> {
    let parts = parts()?;
    if let Some(token) = session::token_from_headers(state, &parts.headers) {
        state
            .db
            .delete_session(&state.secret.hash_token(&token))
            .await
            .map_err(crate::accounts::internal)?;
        if let Some(res) = use_context::<ResponseOptions>() {
            res.append_header(SET_COOKIE, session::clear_cookie(state));
        }
    }
    Ok(())
}

/// Gives an error its HTTP status (and `Retry-After` when throttled).
pub fn finish<T>(r: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(e) = &r {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST));
            if let ApiError::RateLimited {
                retry_after_secs, ..
            } = e
            {
                if let Ok(v) = http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.insert_header(http::header::RETRY_AFTER, v);
                }
            }
        }
    }
    r
}
