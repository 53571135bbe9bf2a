//! The SAML HTTP edge: `POST /sso/start` (Continue with SSO), `POST /sso/test` (Test SSO from
//! the configurator), `POST /saml/{business_id}/acs` (the IdP's HTTP-POST binding) and the
//! sealed raw XML of an attempt for the admin.

use super::sso::{self, Finished, Purpose, BINDING_COOKIE};
use crate::server::{session, state::AppState};
use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Router,
};

/// The ACS body: a form-encoded base64 response of at most 256 KiB, with room for RelayState.
pub const MAX_ACS_BODY: usize = 400 * 1024;

/// Started from our own pages: behind the portal's body limit and cross-site guard.
pub fn portal_routes() -> Router<AppState> {
    Router::new()
        .route("/sso/start", post(start))
        .route("/sso/test", post(test))
        .route(
            "/saml/{business_id}/attempts/{attempt_id}/xml",
            get(attempt_xml),
        )
}

/// Posted by the IdP's page (cross-site by nature) with a body up to `MAX_ACS_BODY`.
pub fn acs_routes() -> Router<AppState> {
    Router::new().route("/saml/{business_id}/acs", post(acs))
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The cookie binding the pending request to this browser. The IdP's POST to the ACS is
/// cross-site, so under https it must be `SameSite=None; Secure`; it is only sent to `/saml`.
fn binding_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let attrs = if state.settings.secure_cookies {
        "SameSite=None; Secure"
    } else {
        "SameSite=Lax"
    };
    HeaderValue::from_str(&format!(
        "{BINDING_COOKIE}={value}; Path=/saml; HttpOnly; Max-Age={max_age}; {attrs}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Where to go after SSO sign-in (a local path from the sign-in page's `next`), remembered
/// next to the binding cookie.
const NEXT_COOKIE: &str = "sg_next";

fn next_cookie(state: &AppState, next: &str, max_age: i64) -> HeaderValue {
    // sent with the IdP's cross-site POST, like the binding cookie
    let attrs = if state.settings.secure_cookies {
        "SameSite=None; Secure"
    } else {
        "SameSite=Lax"
    };
    let value: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    HeaderValue::from_str(&format!(
        "{NEXT_COOKIE}={value}; Path=/saml; HttpOnly; Max-Age={max_age}; {attrs}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Sends the browser on to the IdP. Not a redirect: our pages' CSP says `form-action 'self'`,
/// which browsers also apply to redirects after a form post, so the hand-over is a page of our
/// own that navigates (meta refresh, and a link for when refresh is off).
fn redirect_to_idp(state: &AppState, started: sso::Started) -> Response {
    let url = html_escape(&started.redirect_url);
    let mut res = Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\"><title>Signing in\u{2026}</title></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto\">\
         <p>Taking you to your organisation's sign-in page\u{2026}</p>\
         <p><a data-testid=\"idp-url\" href=\"{url}\">Continue</a></p></body></html>"
    ))
    .into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        binding_cookie(state, &started.binding, sso::REQUEST_TTL_SECS),
    );
    res
}

async fn read_form(req: Request, limit: usize) -> Option<Vec<(String, String)>> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .ok()
        .map(|b| form_pairs(&b))
}

/// Continue with SSO: the work email decides the organisation and so the IdP.
async fn start(State(state): State<AppState>, req: Request) -> Response {
    let Some(form) = read_form(req, 16 * 1024).await else {
        return see_other("/signin?sso_error=invalid_email");
    };
    let email = field(&form, "email").unwrap_or_default().to_string();
    let next = field(&form, "next").filter(|n| !n.is_empty());
    let result = match sso::settings_for_email(&state, &email).await {
        Ok(settings) => sso::start_with_settings(&state, &settings, Purpose::SignIn, None).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(started) => {
            let mut res = redirect_to_idp(&state, started);
            if let Some(n) = next {
                let n = crate::api::safe_next(Some(n));
                res.headers_mut().append(
                    header::SET_COOKIE,
                    next_cookie(&state, &n, sso::REQUEST_TTL_SECS),
                );
            }
            res
        }
        Err(e) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("sso_error", e.code())
                .append_pair("email", email.trim())
                .finish();
            see_other(&format!("/signin?{q}"))
        }
    }
}

/// Test SSO: the admin's own round trip through the IdP; no session comes of it.
async fn test(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let page = crate::api::integration::PAGE;
    let Ok(Some(s)) = session::load(&state, &headers).await else {
        return see_other("/signin");
    };
    let member = match crate::accounts::business::require_admin(&state, &s.user).await {
        Ok(m) => m,
        Err(_) => {
            return (
                StatusCode::FORBIDDEN,
                "Only admins of the business account can test SSO.",
            )
                .into_response()
        }
    };
    match sso::start(&state, &member.business_id, Purpose::Test, Some(&s.user.id)).await {
        Ok(started) => redirect_to_idp(&state, started),
        Err(e) => see_other(&format!("{page}?sso_test=failed&reason={}", e.code())),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let esc = html_escape;
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
             <body style=\"font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem\">\
             <h1>{t}</h1><p data-testid=\"sso-error\">{m}</p><p><a href=\"/signin\">Back to sign in</a></p></body></html>",
            t = esc(title),
            m = esc(message)
        )),
    )
        .into_response()
}

/// The Assertion Consumer Service (HTTP-POST binding).
async fn acs(
    State(state): State<AppState>,
    Path(business_id): Path<String>,
    req: Request,
) -> Response {
    let binding = session::cookie_value(req.headers(), BINDING_COOKIE);
    let next = session::cookie_value(req.headers(), NEXT_COOKIE)
        .and_then(|n| {
            url::form_urlencoded::parse(format!("n={n}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        })
        .map(|n| crate::api::safe_next(Some(&n)))
        .unwrap_or_else(|| "/dashboard".into());
    let Some(form) = read_form(req, MAX_ACS_BODY).await else {
        return error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Sign-in failed",
            "The identity provider's answer is too large.",
        );
    };
    let Some(response) = field(&form, "SAMLResponse") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The identity provider sent no SAMLResponse.",
        );
    };
    let clear = binding_cookie(&state, "", 0);
    // run to the end even when the browser goes away meanwhile: a refused response must use
    // its pending request up, and every attempt goes on record
    let finishing = {
        let state = state.clone();
        let business_id = business_id.clone();
        let response = response.to_string();
        tokio::spawn(async move {
            sso::finish(
                &state,
                &business_id,
                &response,
                sso::Via::Browser(binding.as_deref()),
                state.settings.saml_skew_secs,
            )
            .await
        })
    };
    let outcome = match finishing.await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, "the ACS task failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "The server could not check the identity provider's answer. Try again.",
            );
        }
    };
    let page = crate::api::integration::PAGE;
    let mut res = match outcome {
        Ok(Finished::SignedIn { session, .. }) => {
            let cookie = session::set_cookie(&state, &session.0, state.settings.session_secs);
            let mut res = see_other(&next);
            res.headers_mut().append(header::SET_COOKIE, clear.clone());
            res.headers_mut()
                .append(header::SET_COOKIE, next_cookie(&state, "", 0));
            res.headers_mut().append(header::SET_COOKIE, cookie);
            return res;
        }
        Ok(Finished::Tested { .. }) => see_other(&format!("{page}?sso_test=passed")),
        Ok(Finished::Asserted {
            request_id,
            email,
            groups,
            object_id,
            integration,
            ..
        }) => {
            crate::activation::routes::finish_in_browser(
                &state,
                &integration,
                &request_id,
                &email,
                &groups,
                object_id.as_deref(),
            )
            .await
        }
        Err(r) if r.purpose == Purpose::Activation => {
            crate::activation::routes::refused_in_browser(&state, field(&form, "RelayState"), &r)
                .await
        }
        Err(r) if r.purpose == Purpose::Test => {
            see_other(&format!("{page}?sso_test=failed&reason={}", r.category))
        }
        Err(r) => {
            let status = if r.category == "internal" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::FORBIDDEN
            };
            error_page(status, "Sign-in failed", r.public_message())
        }
    };
    res.headers_mut().append(header::SET_COOKIE, clear);
    res
}

/// The raw XML of one attempt, unsealed, for the admins of the account.
async fn attempt_xml(
    State(state): State<AppState>,
    Path((business_id, attempt_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(Some(s)) = session::load(&state, &headers).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match crate::accounts::business::require_admin(&state, &s.user).await {
        Ok(m) if m.business_id == business_id => {}
        _ => return StatusCode::NOT_FOUND.into_response(),
    }
    state.saml_log.flush().await;
    let row = match state.db.saml_attempt(&business_id, &attempt_id).await {
        Ok(Some(r)) => r,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(xml) = row.raw_xml.as_deref().and_then(|s| state.secret.open(s)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"saml-response.xml\"",
            ),
        ],
        xml,
    )
        .into_response()
}
