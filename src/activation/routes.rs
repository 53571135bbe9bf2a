//! The activation API's HTTP edge under `/api/v1` (JSON, documented in
//! `openapi/activation-v1.json`, served at `/api/v1/openapi.json`), and the browser's side of
//! the loopback path after our ACS accepted an activation response.

use super::{ApiError, StartRequest};
use crate::{
    saml::sso::Refused,
    server::{security::ClientIp, state::AppState},
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Extension, Router,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The OpenAPI document, kept in the repository and served as is.
pub const OPENAPI: &str = include_str!("../../openapi/activation-v1.json");

/// Largest request body: a relayed SAMLResponse (256 KiB of XML, base64) with room to spare.
pub const MAX_BODY: usize = 512 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/activations/sso/start", post(start))
        .route("/api/v1/activations/sso/complete", post(complete))
        .route("/api/v1/activations/sso/token", post(token))
        .route("/api/v1/activations/{id}/check", post(check))
        .route("/api/v1/activations/{id}", delete(deactivate))
        .route("/api/v1/licences/keys", get(keys))
        .route("/api/v1/openapi.json", get(openapi))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    no_store(
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
        )
            .into_response(),
    )
}

pub fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = json(status, e);
    if e.status == 401 {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"activation\""),
        );
    }
    res
}

fn parse<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            "Send the request body as application/json.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid: {e}")))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

async fn start(
    State(state): State<AppState>,
    client: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let addr = client.and_then(|Extension(ClientIp(ip))| ip);
    let ip = addr.map(|ip| ip.to_string());
    let key = format!("activation-start:{}", rate_key(addr));
    if let Err(wait) = state.activation_limiter.take(&key) {
        let mut res = error_response(&ApiError::new(
            429,
            "rate_limited",
            format!("Too many activation requests from this address; retry in {wait} s."),
        ));
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let req: StartRequest = match parse(&headers, &body) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    match super::start(&state, &req, ip.as_deref()).await {
        Ok(started) => json(StatusCode::CREATED, &started),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
struct CompleteRequest {
    transaction_id: String,
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState", default)]
    relay_state: Option<String>,
    code_verifier: String,
}

async fn complete(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let req: CompleteRequest = match parse(&headers, &body) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    match super::complete(
        &state,
        &req.transaction_id,
        &req.saml_response,
        req.relay_state.as_deref(),
        &req.code_verifier,
    )
    .await
    {
        Ok(a) => json(StatusCode::CREATED, &a),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
struct TokenRequest {
    code: String,
    code_verifier: String,
}

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let req: TokenRequest = match parse(&headers, &body) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    match super::redeem(&state, &req.code, &req.code_verifier).await {
        Ok(a) => json(StatusCode::CREATED, &a),
        Err(e) => error_response(&e),
    }
}

fn missing_secret() -> Response {
    error_response(&ApiError::new(
        401,
        "invalid_activation_secret",
        "Send the activation secret as `Authorization: Bearer <secret>`.",
    ))
}

async fn check(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(secret) = bearer(&headers) else {
        return missing_secret();
    };
    match super::check(&state, &id, secret).await {
        Ok(c) => json(StatusCode::OK, &c),
        Err(e) => error_response(&e),
    }
}

async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(secret) = bearer(&headers) else {
        return missing_secret();
    };
    match super::deactivate(&state, &id, secret).await {
        Ok(()) => no_store(StatusCode::NO_CONTENT.into_response()),
        Err(e) => error_response(&e),
    }
}

async fn keys(State(state): State<AppState>) -> Response {
    let mut res = json(StatusCode::OK, &state.licence_signer.jwks());
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

async fn openapi() -> Response {
    no_store(([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response())
}

/// The rate-limit bucket of a client: its IPv4 address, or its IPv6 /64 (one host's share of
/// a network; per-address buckets would let one /64 have 2^64 of them).
fn rate_key(ip: Option<std::net::IpAddr>) -> String {
    match ip {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

/// `uri` with the query pairs added (the app's own query is kept).
fn loopback(uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut u = url::Url::parse(uri).ok()?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(u.to_string())
}

fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    no_store(res)
}

fn to_app_with_error(uri: &str, txn_id: &str, e: &ApiError) -> Option<Response> {
    let mut pairs = vec![
        ("error", e.code),
        ("error_description", e.message.as_str()),
        ("state", txn_id),
    ];
    if let Some(c) = e.category.as_deref() {
        pairs.push(("category", c));
    }
    loopback(uri, &pairs).map(|l| see_other(&l))
}

fn browser_error(e: &ApiError) -> Response {
    crate::saml::routes::error_page(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        "Activation failed",
        &e.message,
    )
}

/// Our ACS accepted an activation response: grant, then back to the app's loopback URI.
pub async fn finish_in_browser(
    state: &AppState,
    integration: &crate::store::integrations::IntegrationRow,
    request_id: &str,
    email: &str,
    groups: &[String],
    object_id: Option<&str>,
) -> Response {
    match super::complete_in_browser(state, integration, request_id, email, groups, object_id).await
    {
        Ok((txn, code)) => txn
            .redirect_uri
            .as_deref()
            .and_then(|uri| loopback(uri, &[("code", &code), ("state", &txn.id)]))
            .map(|l| see_other(&l))
            .unwrap_or_else(|| browser_error(&ApiError::invalid("No redirect URI."))),
        Err((Some(txn), e)) => txn
            .redirect_uri
            .as_deref()
            .and_then(|uri| to_app_with_error(uri, &txn.id, &e))
            .unwrap_or_else(|| browser_error(&e)),
        Err((None, e)) => browser_error(&e),
    }
}

/// Our ACS refused an activation response: tell the app, when RelayState names its
/// transaction and it registered a loopback URI; else the browser.
pub async fn refused_in_browser(
    state: &AppState,
    relay_state: Option<&str>,
    r: &Refused,
) -> Response {
    let e = super::saml_error(r);
    let txn = match relay_state {
        Some(id) if !id.is_empty() && id.len() <= 128 => {
            state.db.activation_transaction(id).await.ok().flatten()
        }
        _ => None,
    };
    txn.and_then(|t| {
        t.redirect_uri
            .as_deref()
            .and_then(|uri| to_app_with_error(uri, &t.id, &e))
    })
    .unwrap_or_else(|| browser_error(&e))
}

#[cfg(test)]
mod tests {
    use super::rate_key;

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a = rate_key("2001:db8:1:2:aaaa::1".parse().ok());
        let b = rate_key("2001:db8:1:2:bbbb::9".parse().ok());
        let c = rate_key("2001:db8:1:3::1".parse().ok());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(rate_key("::ffff:192.0.2.7".parse().ok()), "192.0.2.7");
        assert_eq!(rate_key("192.0.2.7".parse().ok()), "192.0.2.7");
        assert_eq!(rate_key(None), "unknown");
    }
}
