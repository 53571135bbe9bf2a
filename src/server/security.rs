//! Request guards every response passes through: client address (trusted proxies),
//! cross-site request forgery refusal, and security headers with a per-response CSP nonce.

use super::state::AppState;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The client's address as far as we can trust it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// The nonce the page's inline scripts carry and the CSP header names.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = resolve_client_ip(peer, req.headers(), &state.settings.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// The peer's address, unless the peer is a trusted proxy: then the right-most address in
/// X-Forwarded-For that is not itself a trusted proxy (left-most entries are client-supplied).
pub fn resolve_client_ip(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .or(hops.first().copied())
        .or(Some(peer))
}

/// Paths that take cross-site POSTs by design: the SAML ACS (the IdP's form post) and the
/// bearer-token APIs (SCIM, activation), which carry no cookies.
fn csrf_exempt(path: &str) -> bool {
    path.starts_with("/api/v1/") || path.starts_with("/scim/") || path.ends_with("/acs")
}

/// Refuses state-changing requests that a browser marks as cross-site. Browsers send
/// `Sec-Fetch-Site` (and `Origin`) on every POST; requests with neither come from non-browser
/// clients, which cannot ride a victim's cookies.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || csrf_exempt(req.uri().path()) || is_same_origin(&state, req.headers()) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), origin = ?req.headers().get(header::ORIGIN),
        "refused a cross-site request");
    (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
}

fn is_same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == state.settings.public_origin {
        return true;
    }
    // Reached under another name than the public URL (e.g. localhost): same host is fine.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .map(|(_, rest)| !host.is_empty() && rest == host)
        .unwrap_or(false)
}

/// Called from the HTML shell: hands the request's CSP nonce to Leptos, whose hydration and
/// resource scripts then carry it.
pub fn provide_request_nonce() {
    use leptos::prelude::use_context;
    if let Some(parts) = use_context::<http::request::Parts>() {
        if let Some(n) = parts.extensions.get::<CspNonce>() {
            leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(n.0.clone()));
        }
    }
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    // Built assets keep their names across releases: browsers revalidate them (304) rather
    // than download them again; everything else may hold personal data and is never stored.
    let cache = if is_static_asset(req.uri().path()) {
        "no-cache"
    } else {
        "no-store"
    };
    let nonce = super::secrets::random_token();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if state.settings.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    res
}

fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpNet = "10.0.0.0/8".parse().expect("net");
        let peer_proxy = Some("10.0.0.5".parse().expect("ip"));
        let peer_direct = Some("203.0.113.9".parse().expect("ip"));
        let h = xff("198.51.100.1, 203.0.113.7, 10.0.0.9");
        assert_eq!(
            resolve_client_ip(peer_direct, &h, &[proxy]),
            peer_direct,
            "untrusted peer: header ignored"
        );
        assert_eq!(
            resolve_client_ip(peer_proxy, &h, &[proxy]),
            Some("203.0.113.7".parse().expect("ip")),
            "right-most untrusted hop, not the spoofable left-most"
        );
        assert_eq!(
            resolve_client_ip(peer_proxy, &HeaderMap::new(), &[proxy]),
            peer_proxy
        );
        assert_eq!(resolve_client_ip(None, &h, &[proxy]), None);
    }

    #[test]
    fn protocol_endpoints_are_exempt_from_the_origin_check() {
        assert!(csrf_exempt("/api/v1/activations/sso/start"));
        assert!(csrf_exempt("/scim/v2/Users"));
        assert!(csrf_exempt("/saml/abc/acs"));
        assert!(!csrf_exempt("/api/signin"));
    }
}
