//! A SAML identity provider for the browser tests — never for production. Its login page asks
//! who you are and which groups you are in, then posts a response signed with its own key
//! (the test IdP of `tests/saml/common.rs`) to the ACS named in the AuthnRequest.
//!
//! `cargo run --release --features ssr --example test_idp -- 127.0.0.1:5380`
//! `GET /cert` gives its signing certificate (PEM), `GET /health` answers ok.

#[allow(clippy::unwrap_used)]
#[path = "../tests/saml/common.rs"]
mod common;

use axum::{
    extract::{Form, Query},
    response::Html,
    routing::{get, post},
    Router,
};
use base64::Engine as _;
use std::{collections::HashMap, io::Read};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The value of `name="…"` in the first tag that has it.
fn xml_attr(xml: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    xml.find(&key)
        .and_then(|i| xml[i + key.len()..].split('"').next())
        .unwrap_or_default()
        .to_string()
}

fn issuer(xml: &str) -> String {
    xml.split_once("Issuer")
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split('<').next())
        .unwrap_or_default()
        .to_string()
}

/// HTTP-Redirect binding: base64 of raw DEFLATE.
fn authn_request(encoded: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .read_to_string(&mut xml)
        .ok()?;
    Some(xml)
}

async fn sso(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let Some(xml) = q.get("SAMLRequest").and_then(|r| authn_request(r)) else {
        return Html("<p>No SAMLRequest.</p>".into());
    };
    let id = xml_attr(&xml, "ID");
    let acs = xml_attr(&xml, "AssertionConsumerServiceURL");
    let sp = issuer(&xml);
    let relay = q.get("RelayState").cloned().unwrap_or_default();
    Html(format!(
        r#"<!DOCTYPE html><html><head><title>Test IdP</title></head><body>
<h1>Test IdP sign-in</h1>
<form method="post" action="/login">
<input type="hidden" name="request_id" value="{}"><input type="hidden" name="acs" value="{}">
<input type="hidden" name="sp" value="{}"><input type="hidden" name="relay" value="{}">
<label>Email <input name="email" type="email"></label>
<label>Groups <input name="groups" placeholder="comma-separated"></label>
<button type="submit">Sign in at the IdP</button>
</form></body></html>"#,
        esc(&id),
        esc(&acs),
        esc(&sp),
        esc(&relay)
    ))
}

async fn login(Form(f): Form<HashMap<String, String>>) -> Html<String> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (acs, email) = (get("acs"), get("email"));
    let groups: Vec<String> = get("groups")
        .split(',')
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .collect();
    let mut t = common::Tpl {
        response_id: format!("_r{}", uuid_like(&email, now)),
        assertion_id: format!("_a{}", uuid_like(&email, now)),
        destination: Some(acs.clone()),
        recipient: acs.clone(),
        audience: Some(get("sp")),
        response_irt: Some(get("request_id")),
        scd_irt: Some(get("request_id")),
        name_id: email.clone(),
        not_before: now - 60,
        not_on_or_after: now + 300,
        scd_not_on_or_after: now + 300,
        ..common::Tpl::default()
    };
    t.attributes = vec![
        ("displayname".into(), vec![email.clone()]),
        ("groups".into(), groups),
        ("name".into(), vec![email.clone()]),
        ("objectidentifier".into(), vec![format!("oid-{email}")]),
    ];
    let response = base64::engine::general_purpose::STANDARD.encode(t.signed());
    Html(format!(
        r#"<!DOCTYPE html><html><body onload="document.forms[0].submit()">
<form method="post" action="{}"><input type="hidden" name="SAMLResponse" value="{}">
<input type="hidden" name="RelayState" value="{}"><noscript><button>Continue</button></noscript></form>
</body></html>"#,
        esc(&acs),
        response,
        esc(&get("relay"))
    ))
}

/// A fresh assertion ID per sign-in (the SP remembers them to refuse replays).
fn uuid_like(email: &str, now: i64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let hash: u64 = email.bytes().fold(1469598103934665603, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    });
    format!("{hash:016x}{now:x}{n:x}")
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5380".into());
    let cert = base64::engine::general_purpose::STANDARD.encode(&common::keys().0.cert_der);
    let pem = format!("-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n");
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/cert", get(move || async move { pem }))
        .route("/sso", get(sso))
        .route("/login", post(login));
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("test IdP cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("test IdP on http://{addr}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("test IdP stopped: {e}");
    }
}
