//! Desktop activation by SSO through the router: start, both completions (the app relays the
//! response; the browser finishes at our ACS and the app redeems a loopback code), the signed
//! licence, check and deactivate, every refusal's stable code, seats under concurrency, SCIM
//! deprovisioning, the admin's Licenses page, the download link and the OpenAPI document.

use crate::both;
use crate::sso::{active_account, post_acs, post_form, response_for, DOMAIN, SSO_URL};
use crate::support::{Backend, Client, Response, TestApp};
use axum::body::Body;
use base64::Engine as _;
use http::Request;
use seatgate::activation::{licence, s256};
use serde_json::{json, Value};
use tower::ServiceExt;

const VERIFIER: &str = "a-verifier-of-enough-length-0123456789-abcdefghijklmnop";

async fn api(
    c: &mut Client,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request");
    c.send(req).await
}

fn start_body(email: &str, device: &str) -> Value {
    json!({
        "email": email,
        "device": {"id": device, "name": format!("{device} laptop"), "os": "linux x86_64"},
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    })
}

struct Started {
    txn: String,
    request_id: String,
}

async fn start(app: &TestApp, c: &mut Client, body: Value) -> Started {
    let r = api(c, "POST", "/api/v1/activations/sso/start", None, Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let v = r.json();
    let url = url::Url::parse(v["login_url"].as_str().expect("login_url")).expect("url");
    assert!(url.as_str().starts_with(SSO_URL), "{url}");
    let txn = v["transaction_id"].as_str().expect("txn").to_string();
    let relay = url
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        relay.as_deref(),
        Some(txn.as_str()),
        "RelayState names the transaction"
    );
    assert!(url.query_pairs().any(|(k, _)| k == "SAMLRequest"));
    let request_id = app
        .state
        .db
        .activation_transaction(&txn)
        .await
        .expect("db")
        .expect("transaction")
        .request_id;
    Started { txn, request_id }
}

fn b64(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

async fn complete(c: &mut Client, txn: &str, xml: &str, verifier: &str) -> Response {
    api(
        c,
        "POST",
        "/api/v1/activations/sso/complete",
        None,
        Some(json!({"transaction_id": txn, "SAMLResponse": b64(xml), "RelayState": txn, "code_verifier": verifier})),
    )
    .await
}

/// A full activation by relay for `email` in `groups`; returns the completion's answer.
async fn activate(
    app: &TestApp,
    business: &str,
    email: &str,
    device: &str,
    groups: &[&str],
) -> Response {
    let mut c = app.client();
    let s = start(app, &mut c, start_body(email, device)).await;
    let xml = response_for(app, business, &s.request_id, email, groups).signed();
    complete(&mut c, &s.txn, &xml, VERIFIER).await
}

async fn public_key(c: &mut Client) -> Vec<u8> {
    let r = api(c, "GET", "/api/v1/licences/keys", None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    licence::public_key_from_jwks(&r.json()).expect("an Ed25519 key")
}

async fn seats_used(admin: &mut Client) -> i64 {
    let subs = admin.call("licenses", &[]).await.json();
    subs.as_array()
        .expect("subscriptions")
        .iter()
        .map(|s| s["seats_used"].as_i64().expect("n"))
        .sum()
}

fn code(r: &Response) -> String {
    r.json()["code"].as_str().unwrap_or_default().to_string()
}

async fn relay_activation_grants_a_seat_and_a_licence_the_app_verifies_offline(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let email = format!("dana@{DOMAIN}");
    let mut app_client = app.client();
    let key = public_key(&mut app_client).await;
    let s = start(&app, &mut app_client, start_body(&email, "dev-1")).await;
    let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();

    // the wrong verifier proves nothing and leaves the transaction usable
    let r = complete(&mut app_client, &s.txn, &xml, &format!("{VERIFIER}x")).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "invalid_code_verifier"),
        "{}",
        r.body
    );
    let r = complete(&mut app_client, &s.txn, &xml, VERIFIER).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let a = r.json();
    let now = app.state.clock.now();
    let claims =
        licence::verify(a["licence"].as_str().expect("licence"), &key, now).expect("verifies");
    assert_eq!(claims.email, email);
    assert_eq!(claims.product, "desktop");
    assert_eq!(claims.dev, "dev-1");
    assert_eq!(claims.acct, business);
    assert_eq!(claims.acct_name, "Acme");
    assert_eq!(claims.exp, now + 7 * 86_400, "the offline grace period");
    assert_eq!(a["licence_expires_at"], claims.exp);
    assert_eq!(seats_used(&mut admin).await, 1);

    // usable once
    let r = complete(&mut app_client, &s.txn, &xml, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (409, "transaction_used"),
        "{}",
        r.body
    );

    // check renews the licence; only with the activation's own secret
    let id = a["activation_id"].as_str().expect("id").to_string();
    let secret = a["activation_secret"].as_str().expect("secret").to_string();
    app.state.clock.advance(3600);
    let r = api(
        &mut app_client,
        "POST",
        &format!("/api/v1/activations/{id}/check"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let renewed = licence::verify(
        r.json()["licence"].as_str().expect("licence"),
        &key,
        now + 3600,
    )
    .expect("verifies");
    assert_eq!(renewed.exp, now + 3600 + 7 * 86_400);
    let r = api(
        &mut app_client,
        "POST",
        &format!("/api/v1/activations/{id}/check"),
        Some("not-the-secret"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "invalid_activation_secret")
    );
    let r = api(
        &mut app_client,
        "POST",
        &format!("/api/v1/activations/{id}/check"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    let r = api(
        &mut app_client,
        "DELETE",
        &format!("/api/v1/activations/{id}"),
        Some("not-the-secret"),
        None,
    )
    .await;
    assert_eq!(r.status, 401);

    // a second device of the same person shares the one seat
    let r = activate(&app, &business, &email, "dev-2", &["SG-Desktop"]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        seats_used(&mut admin).await,
        1,
        "per-user: one seat whatever the devices"
    );

    // the Licenses page shows the holder and both devices
    let page = admin.get("/profile/business/licenses").await;
    assert!(page.body.contains(&email), "{}", page.body);
    assert!(page.body.contains("dev-1 laptop") && page.body.contains("dev-2 laptop"));

    // deactivating one device keeps the seat; the other device's deactivation frees it
    let r = api(
        &mut app_client,
        "DELETE",
        &format!("/api/v1/activations/{id}"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api(
        &mut app_client,
        "POST",
        &format!("/api/v1/activations/{id}/check"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "activation_revoked"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["reason"], "deactivated");
    assert_eq!(seats_used(&mut admin).await, 1);
    let second = app
        .state
        .db
        .activations_of(&business, 10)
        .await
        .expect("db");
    let other = second
        .iter()
        .find(|a| a.revoked_at.is_none())
        .expect("active one");
    app.state
        .db
        .revoke_activation(&other.id, "deactivated", app.state.clock.now())
        .await
        .expect("revoke");
    assert_eq!(
        seats_used(&mut admin).await,
        0,
        "no device left: the seat is free"
    );
}
both!(relay_activation_grants_a_seat_and_a_licence_the_app_verifies_offline);

/// A completion the SAML validation refuses still uses the transaction up: the app must start
/// again, even with a good response this time.
async fn a_refused_completion_uses_the_transaction_up(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let email = format!("erin@{DOMAIN}");
    let mut c = app.client();
    let s = start(&app, &mut c, start_body(&email, "dev-1")).await;
    // answers another request: refused by the validation, before any claim
    let wrong = response_for(&app, &business, "_not-this-request", &email, &["g-desktop"]).signed();
    let r = complete(&mut c, &s.txn, &wrong, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str(), r.json()["category"].as_str()),
        (401, "saml_invalid", Some("unknown_request")),
        "{}",
        r.body
    );
    let good = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
    let r = complete(&mut c, &s.txn, &good, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (409, "transaction_used"),
        "{}",
        r.body
    );
    assert_eq!(seats_used(&mut admin).await, 0);
}
both!(a_refused_completion_uses_the_transaction_up);

/// The app sends its completion twice at once (a retry): one activation, one seat; the other
/// is told the transaction was used.
async fn two_simultaneous_completions_activate_once(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let email = format!("finn@{DOMAIN}");
    let mut c1 = app.client();
    let mut c2 = app.client();
    let s = start(&app, &mut c1, start_body(&email, "dev-1")).await;
    let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
    let (r1, r2) = tokio::join!(
        complete(&mut c1, &s.txn, &xml, VERIFIER),
        complete(&mut c2, &s.txn, &xml, VERIFIER)
    );
    let mut outcomes = [(r1.status, code(&r1)), (r2.status, code(&r2))];
    outcomes.sort();
    assert_eq!(
        outcomes,
        [(201, String::new()), (409, "transaction_used".to_string())],
        "{} / {}",
        r1.body,
        r2.body
    );
    assert_eq!(seats_used(&mut admin).await, 1);
}
both!(two_simultaneous_completions_activate_once);

async fn start_refusals_have_stable_codes(b: Backend) {
    let app = TestApp::new(b).await;
    let (_admin, _business) = active_account(&app).await;
    let mut c = app.client();
    let cases: Vec<(Value, u16, &str)> = vec![
        (start_body("not-an-email", "d"), 400, "invalid_email"),
        (
            start_body("x@unknown-corp.example", "d"),
            404,
            "unknown_domain",
        ),
        (
            json!({"email": format!("e@{DOMAIN}"), "device": {"id": "d", "name": "n", "os": "o"}, "code_challenge": "short"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": format!("e@{DOMAIN}"), "device": {"id": "d", "name": "n", "os": "o"}, "code_challenge": s256(VERIFIER), "code_challenge_method": "plain"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": format!("e@{DOMAIN}"), "device": {"id": "", "name": "n", "os": "o"}, "code_challenge": s256(VERIFIER)}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": format!("e@{DOMAIN}"), "device": {"id": "d", "name": "n", "os": "o"}, "code_challenge": s256(VERIFIER), "redirect_uri": "https://evil.example/cb"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": format!("e@{DOMAIN}"), "device": {"id": "d", "name": "n", "os": "o"}, "code_challenge": s256(VERIFIER), "redirect_uri": "http://localhost:5000/cb"}),
            400,
            "invalid_request",
        ),
        (
            json!({"email": format!("e@{DOMAIN}"), "product": "studio", "device": {"id": "d", "name": "n", "os": "o"}, "code_challenge": s256(VERIFIER)}),
            403,
            "no_subscription",
        ),
        (json!({"email": 5}), 400, "invalid_request"),
    ];
    for (body, status, want) in cases {
        let r = api(
            &mut c,
            "POST",
            "/api/v1/activations/sso/start",
            None,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (r.status, code(&r).as_str()),
            (status, want),
            "{body}: {}",
            r.body
        );
        assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // not JSON
    let req = Request::post("/api/v1/activations/sso/start")
        .header("content-type", "text/plain")
        .body(Body::from("email=x"))
        .expect("request");
    let r = c.send(req).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (415, "unsupported_media_type")
    );

    // an account whose integration is not active
    let mut other = crate::support::business_admin(&app, "owner@beta.example", "Beta").await;
    let r = other
        .call("integration/change", &[("action", "start")])
        .await;
    assert_eq!(r.status, 200);
    let r = other
        .call(
            "integration/change",
            &[("action", "add_domain"), ("domain", "beta.example")],
        )
        .await;
    assert_eq!(r.status, 200);
    let v = other.call("integration", &[]).await.json();
    let d = &v["domains"][0];
    app.dns.set_txt(
        d["record_name"].as_str().expect("n"),
        &[d["record_value"].as_str().expect("v")],
    );
    let r = other
        .call(
            "integration/change",
            &[("action", "verify_domain"), ("domain", "beta.example")],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api(
        &mut c,
        "POST",
        "/api/v1/activations/sso/start",
        None,
        Some(start_body("e@beta.example", "d")),
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (409, "sso_not_active"),
        "{}",
        r.body
    );
}
both!(start_refusals_have_stable_codes);

async fn completion_refusals_have_stable_codes(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;

    // outside the desktop users group
    let r = activate(
        &app,
        &business,
        &format!("eve@{DOMAIN}"),
        "d",
        &["g-admins"],
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "not_in_desktop_group"),
        "{}",
        r.body
    );

    // an IdP-initiated response (no InResponseTo) never activates, even where sign-in allows it
    let r = admin
        .call(
            "integration/change",
            &[("action", "allow_unsolicited"), ("done", "true")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut c = app.client();
    let s = start(&app, &mut c, start_body(&format!("fay@{DOMAIN}"), "d")).await;
    let mut t = response_for(
        &app,
        &business,
        &s.request_id,
        &format!("fay@{DOMAIN}"),
        &["g-desktop"],
    );
    t.response_irt = None;
    t.scd_irt = None;
    let r = complete(&mut c, &s.txn, &t.signed(), VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "saml_invalid"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["category"], "unsolicited");
    // the request named only outside the signed assertion: not IdP-initiated, and not bound
    let s = start(&app, &mut c, start_body(&format!("fay@{DOMAIN}"), "d")).await;
    let mut t = response_for(
        &app,
        &business,
        &s.request_id,
        &format!("fay@{DOMAIN}"),
        &["g-desktop"],
    );
    t.scd_irt = None;
    let r = complete(&mut c, &s.txn, &t.signed(), VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "saml_invalid"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["category"], "unknown_request");

    // a response to another transaction's request
    let mut c = app.client();
    let s1 = start(&app, &mut c, start_body(&format!("gus@{DOMAIN}"), "d")).await;
    let s2 = start(&app, &mut c, start_body(&format!("gus@{DOMAIN}"), "d")).await;
    let xml = response_for(
        &app,
        &business,
        &s1.request_id,
        &format!("gus@{DOMAIN}"),
        &["g-desktop"],
    )
    .signed();
    let r = complete(&mut c, &s2.txn, &xml, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "saml_invalid"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["category"], "unknown_request");

    // an unsigned response
    let s = start(&app, &mut c, start_body(&format!("gus@{DOMAIN}"), "d")).await;
    let xml = response_for(
        &app,
        &business,
        &s.request_id,
        &format!("gus@{DOMAIN}"),
        &["g-desktop"],
    )
    .unsigned();
    let r = complete(&mut c, &s.txn, &xml, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (401, "saml_invalid"),
        "{}",
        r.body
    );

    // expired transaction
    let s = start(&app, &mut c, start_body(&format!("hal@{DOMAIN}"), "d")).await;
    let xml = response_for(
        &app,
        &business,
        &s.request_id,
        &format!("hal@{DOMAIN}"),
        &["g-desktop"],
    )
    .signed();
    app.state.clock.advance(601);
    let r = complete(&mut c, &s.txn, &xml, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (410, "transaction_expired"),
        "{}",
        r.body
    );
    let r = complete(&mut c, "no-such-transaction", &xml, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (404, "transaction_not_found")
    );

    // device limit, then no seats left on a one-seat product subscription
    let r = admin
        .call("set_device_limit", &[("device_limit", "1")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = activate(
        &app,
        &business,
        &format!("ivy@{DOMAIN}"),
        "d1",
        &["g-desktop"],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = activate(
        &app,
        &business,
        &format!("ivy@{DOMAIN}"),
        "d1",
        &["g-desktop"],
    )
    .await;
    assert_eq!(
        r.status, 201,
        "the same device again replaces its activation: {}",
        r.body
    );
    let r = activate(
        &app,
        &business,
        &format!("ivy@{DOMAIN}"),
        "d2",
        &["g-desktop"],
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (409, "device_limit_reached"),
        "{}",
        r.body
    );
    let r = admin
        .call("set_device_limit", &[("device_limit", "0")])
        .await;
    assert_eq!(r.status, 400);

    let last_day = chrono::DateTime::from_timestamp(app.state.clock.now() + 30 * 86_400, 0)
        .expect("date")
        .date_naive();
    let pro = seatgate::licensing::keys::issue(
        &app.state.db,
        1,
        Some(&last_day.format("%Y-%m-%d").to_string()),
        "pro",
        app.state.clock.now(),
    )
    .await
    .expect("issue");
    let r = admin.call("register_key", &[("key", &pro)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pro_start = |email: String| {
        json!({
            "email": email, "product": "pro",
            "device": {"id": "d", "name": "n", "os": "o"}, "code_challenge": s256(VERIFIER)
        })
    };
    let mut c = app.client();
    let mut outcomes = vec![];
    for who in ["jo", "kim"] {
        let email = format!("{who}@{DOMAIN}");
        let s = start(&app, &mut c, pro_start(email.clone())).await;
        let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
        let r = complete(&mut c, &s.txn, &xml, VERIFIER).await;
        outcomes.push((r.status, code(&r)));
    }
    assert_eq!(
        outcomes,
        vec![(201, String::new()), (409, "no_seats_left".to_string())]
    );

    // after the subscription's last day
    let end = last_day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
        .and_utc()
        .timestamp();
    app.state.clock.advance(end - app.state.clock.now() + 1);
    let email = format!("jo@{DOMAIN}");
    let s = start(&app, &mut c, pro_start(email.clone())).await;
    let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
    let r = complete(&mut c, &s.txn, &xml, VERIFIER).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "subscription_expired"),
        "{}",
        r.body
    );
}
both!(completion_refusals_have_stable_codes);

fn location_query(r: &Response) -> (String, Vec<(String, String)>) {
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = url::Url::parse(&r.header("location").expect("location")).expect("url");
    let base = format!(
        "{}://{}:{}{}",
        loc.scheme(),
        loc.host_str().unwrap_or(""),
        loc.port().unwrap_or(0),
        loc.path()
    );
    (base, loc.query_pairs().into_owned().collect())
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

async fn loopback_path_hands_the_app_a_one_time_code(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let key = public_key(&mut app.client()).await;
    let email = format!("lee@{DOMAIN}");
    let mut body = start_body(&email, "dev-9");
    body["redirect_uri"] = json!("http://127.0.0.1:53682/callback?app=1");
    let mut app_client = app.client();
    let s = start(&app, &mut app_client, body.clone()).await;
    // the browser (no cookie of ours) posts the IdP's answer to the ACS
    let mut browser = app.client();
    let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
    let r = post_acs(&mut browser, &business, &xml).await;
    let (base, q) = location_query(&r);
    assert_eq!(base, "http://127.0.0.1:53682/callback");
    assert_eq!(get(&q, "app"), Some("1"), "the app's own query is kept");
    assert_eq!(get(&q, "state"), Some(s.txn.as_str()));
    let code_value = get(&q, "code").expect("code").to_string();
    assert!(
        browser.cookie.is_none(),
        "no portal session comes of an activation"
    );

    // nothing is granted before the app proves itself with its verifier
    assert_eq!(seats_used(&mut admin).await, 0);
    // the code with the wrong verifier is burnt
    let r = api(
        &mut app_client,
        "POST",
        "/api/v1/activations/sso/token",
        None,
        Some(json!({"code": code_value, "code_verifier": format!("{VERIFIER}x")})),
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "invalid_code_verifier"),
        "{}",
        r.body
    );
    let r = api(
        &mut app_client,
        "POST",
        "/api/v1/activations/sso/token",
        None,
        Some(json!({"code": code_value, "code_verifier": VERIFIER})),
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (400, "invalid_code"),
        "{}",
        r.body
    );
    assert_eq!(seats_used(&mut admin).await, 0, "a burnt code took no seat");

    // a new round: redeemed once with the right verifier
    let s = start(&app, &mut app_client, body.clone()).await;
    let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
    let r = post_acs(&mut browser, &business, &xml).await;
    let (_, q) = location_query(&r);
    let code_value = get(&q, "code").expect("code").to_string();
    let r = api(
        &mut app_client,
        "POST",
        "/api/v1/activations/sso/token",
        None,
        Some(json!({"code": code_value, "code_verifier": VERIFIER})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let claims = licence::verify(
        r.json()["licence"].as_str().expect("licence"),
        &key,
        app.state.clock.now(),
    )
    .expect("verifies");
    assert_eq!(
        (claims.email.as_str(), claims.dev.as_str()),
        (email.as_str(), "dev-9")
    );
    let row = app
        .state
        .db
        .activation_transaction(&s.txn)
        .await
        .expect("db")
        .expect("txn");
    assert!(
        row.result_sealed.is_none(),
        "the sealed result is deleted once redeemed"
    );
    let r = api(
        &mut app_client,
        "POST",
        "/api/v1/activations/sso/token",
        None,
        Some(json!({"code": code_value, "code_verifier": VERIFIER})),
    )
    .await;
    assert_eq!((r.status, code(&r).as_str()), (400, "invalid_code"));

    // a refusal reaches the app as an error on its redirect URI
    let email = format!("max@{DOMAIN}");
    let mut body = start_body(&email, "dev-1");
    body["redirect_uri"] = json!("http://[::1]:53682/cb");
    let s = start(&app, &mut app_client, body).await;
    let xml = response_for(&app, &business, &s.request_id, &email, &["not-desktop"]).signed();
    let r = post_acs(&mut browser, &business, &xml).await;
    let (base, q) = location_query(&r);
    assert_eq!(base, "http://[::1]:53682/cb");
    assert_eq!(get(&q, "error"), Some("not_in_desktop_group"));
    assert_eq!(get(&q, "state"), Some(s.txn.as_str()));
    // and a SAML refusal with its category, found by RelayState
    let s = start(&app, &mut app_client, {
        let mut b = start_body(&email, "dev-1");
        b["redirect_uri"] = json!("http://127.0.0.1:53682/cb");
        b
    })
    .await;
    let mut t = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]);
    t.audience = Some("https://other.example/sp".into());
    let b64x = b64(&t.signed());
    let r = post_form(
        &mut browser,
        &format!("/saml/{business}/acs"),
        &[("SAMLResponse", &b64x), ("RelayState", &s.txn)],
    )
    .await;
    let (_, q) = location_query(&r);
    assert_eq!(get(&q, "error"), Some("saml_invalid"));
    assert_eq!(get(&q, "category"), Some("wrong_audience"));

    // a code never redeemed takes no seat, and its sealed identity is cleared when it expires
    assert_eq!(seats_used(&mut admin).await, 1, "lee's seat");
    let email = format!("ned@{DOMAIN}");
    let mut body = start_body(&email, "dev-1");
    body["redirect_uri"] = json!("http://127.0.0.1:53682/cb");
    let s = start(&app, &mut app_client, body).await;
    let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
    let (_, q) = location_query(&post_acs(&mut browser, &business, &xml).await);
    let code_value = get(&q, "code").expect("code").to_string();
    assert_eq!(seats_used(&mut admin).await, 1);
    let now = app.state.clock.now();
    let db = &app.state.db;
    assert_eq!(
        db.clear_expired_activation_codes(now).await.expect("db"),
        0,
        "not yet expired"
    );
    app.state.clock.advance(121);
    let now = app.state.clock.now();
    assert_eq!(db.clear_expired_activation_codes(now).await.expect("db"), 1);
    let row = db
        .activation_transaction(&s.txn)
        .await
        .expect("db")
        .expect("txn");
    assert!(row.result_sealed.is_none());
    let r = api(
        &mut app_client,
        "POST",
        "/api/v1/activations/sso/token",
        None,
        Some(json!({"code": code_value, "code_verifier": VERIFIER})),
    )
    .await;
    assert_eq!((r.status, code(&r).as_str()), (400, "invalid_code"));
    assert_eq!(seats_used(&mut admin).await, 1);
}
both!(loopback_path_hands_the_app_a_one_time_code);

async fn sixty_four_concurrent_activations_get_exactly_fifty_seats(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    // 10 seats came with the account; 40 more on a second subscription of the product
    let more = app.issue_key(40, None).await;
    let r = admin.call("register_key", &[("key", &more)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ready = vec![];
    for i in 0..64 {
        let email = format!("user{i:02}@{DOMAIN}");
        let mut c = app.client();
        let s = start(&app, &mut c, start_body(&email, "laptop")).await;
        let xml = response_for(&app, &business, &s.request_id, &email, &["g-desktop"]).signed();
        let body = json!({"transaction_id": s.txn, "SAMLResponse": b64(&xml), "RelayState": s.txn, "code_verifier": VERIFIER});
        ready.push(body);
    }
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|body| {
            let router = app.router.clone();
            tokio::spawn(async move {
                let req = Request::post("/api/v1/activations/sso/complete")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .expect("request");
                let res = router.oneshot(req).await.expect("infallible");
                let status = res.status().as_u16();
                let bytes = http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .expect("body")
                    .to_bytes();
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (status, v["code"].as_str().unwrap_or_default().to_string())
            })
        })
        .collect();
    let mut granted = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task") {
            (201, _) => granted += 1,
            (409, c) if c == "no_seats_left" => refused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((granted, refused), (50, 14));
    assert_eq!(seats_used(&mut admin).await, 50);
    // people seen for the first time are stored with their seat: a refusal stores no one new
    let mut stored = 0;
    for i in 0..64 {
        let email = format!("user{i:02}@{DOMAIN}");
        stored += usize::from(
            app.state
                .db
                .user_by_email(&email)
                .await
                .expect("db")
                .is_some(),
        );
    }
    assert_eq!(stored, 50);
    let subs = admin.call("licenses", &[]).await.json();
    for s in subs.as_array().expect("subs") {
        assert!(s["seats_used"].as_i64() <= s["seats_total"].as_i64(), "{s}");
    }
}
both!(sixty_four_concurrent_activations_get_exactly_fifty_seats);

/// PostgreSQL: the account's subscription set to `seats` seats, and another grant's seat on it
/// (the admin's) inserted in a transaction left open on the returned connection, to be ended
/// with `commit`. Returns that connection, the subscription and its product.
async fn uncommitted_seat(
    app: &TestApp,
    business: &str,
    seats: i64,
) -> (sqlx::PgConnection, String, String) {
    use sqlx::Connection as _;
    let url = app.pg_url().expect("postgres");
    let mut other = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (key, product, admin_id): (String, String, String) = sqlx::query_as(
        "select lk.id, lk.product, m.user_id from license_keys lk \
         join memberships m on m.business_id = lk.business_id where lk.business_id = $1",
    )
    .bind(business)
    .fetch_one(&mut other)
    .await
    .expect("subscription and admin");
    sqlx::query("update license_keys set seats = $2 where id = $1")
        .bind(&key)
        .bind(seats)
        .execute(&mut other)
        .await
        .expect("seats");
    sqlx::Executor::execute(&mut other, "begin")
        .await
        .expect("begin");
    sqlx::query(
        "insert into seat_assignments (license_key_id, user_id, assigned_at) values ($1, $2, 0)",
    )
    .bind(&key)
    .bind(&admin_id)
    .execute(&mut other)
    .await
    .expect("the other grant's seat");
    (other, key, product)
}

/// A first seat for `email`, a person seen for the first time, stored as user `user_id`, with
/// activation `activation_id` on device `device_id`.
fn first_seat<'a>(
    business: &'a str,
    product: &'a str,
    user_id: &'a str,
    device_id: &'a str,
    activation_id: &'a str,
    email: &'a str,
) -> seatgate::store::activations::GrantRequest<'a> {
    use seatgate::store::activations::{Device, GrantRequest, NewMember};
    GrantRequest {
        business_id: business,
        product,
        user_id,
        device: Device {
            id: device_id,
            name: "laptop",
            os: "linux",
        },
        activation_id,
        secret_hash: "hash",
        device_limit: 3,
        now: crate::support::T0,
        new_member: Some(NewMember {
            email,
            object_id: None,
        }),
    }
}

/// PostgreSQL decides a new seat without the subscriptions' locks and takes it from a seat
/// stripe with room that no grant in flight holds. Here another grant holds the last seat,
/// not yet committed, while this one decides: this one saw a free seat in its snapshot, finds
/// the only stripe with room held, and goes to the locking path, which waits for that stripe
/// and then refuses. The seat is never given twice and nothing of the refused grant is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_taken_while_a_grant_decides_is_not_given_twice() {
    use seatgate::store::activations::Grant;
    use sqlx::Connection as _;
    let app = TestApp::new(Backend::Postgres).await;
    let (_admin, business) = active_account(&app).await;
    let url = app.pg_url().expect("postgres");
    let mut watch = sqlx::PgConnection::connect(&url).await.expect("connect");
    // another grant takes the one seat and has not committed yet
    let (mut other, key, product) = uncommitted_seat(&app, &business, 1).await;
    let db = app.state.db.clone();
    let email = format!("late@{DOMAIN}");
    let grant = tokio::spawn({
        let email = email.clone();
        async move {
            db.grant_seat(&first_seat(
                &business,
                &product,
                "u-late",
                "device-late",
                "activation-late",
                &email,
            ))
            .await
        }
    });
    // this grant has decided and now waits for the stripe the other grant holds
    let mut waiting = false;
    for _ in 0..250 {
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and wait_event_type = 'Lock' and wait_event in ('transactionid', 'tuple')",
        )
        .fetch_one(&mut watch)
        .await
        .expect("activity");
        if n > 0 {
            waiting = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(waiting, "the grant never waited for the stripe");
    sqlx::Executor::execute(&mut other, "commit")
        .await
        .expect("the other grant commits");
    let outcome = grant.await.expect("task").expect("grant");
    assert_eq!(outcome, Grant::NoSeats);
    let (used, seats, rows): (i64, i64, i64) = sqlx::query_as(
        "select (select sum(st.used) from seat_stripes st where st.license_key_id = lk.id)::bigint, \
         lk.seats::bigint, (select count(*) from seat_assignments s where s.license_key_id = lk.id) \
         from license_keys lk where lk.id = $1",
    )
    .bind(&key)
    .fetch_one(&mut watch)
    .await
    .expect("counts");
    assert_eq!((used, seats, rows), (1, 1, 1));
    assert!(app
        .state
        .db
        .user_by_email(&email)
        .await
        .expect("db")
        .is_none());
    assert!(app
        .state
        .db
        .activation("activation-late")
        .await
        .expect("db")
        .is_none());
}

/// PostgreSQL counts a subscription's seats in 16 stripes, so grants of one subscription do
/// not queue behind each other's commits: while another grant holds a seat it has not
/// committed yet, a second person's grant on the same subscription completes without waiting
/// for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_of_one_subscription_do_not_wait_for_each_other() {
    use seatgate::store::activations::Grant;
    let app = TestApp::new(Backend::Postgres).await;
    let (mut admin, business) = active_account(&app).await;
    // another grant holds a seat and has not committed yet
    let (mut other, key, product) = uncommitted_seat(&app, &business, 3).await;
    let email = format!("side@{DOMAIN}");
    let request = first_seat(
        &business,
        &product,
        "u-side",
        "device-side",
        "activation-side",
        &email,
    );
    let grant = app.state.db.grant_seat(&request);
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), grant)
        .await
        .expect("the grant waited for the other grant's commit")
        .expect("grant");
    assert!(
        matches!(&outcome, Grant::Granted { license_key_id, seat_was_held: false, .. } if *license_key_id == key),
        "{outcome:?}"
    );
    sqlx::Executor::execute(&mut other, "commit")
        .await
        .expect("the other grant commits");
    assert_eq!(seats_used(&mut admin).await, 2);
}

/// Seats given before the stripes (migration 0012) are dealt over them: the count stays, no
/// stripe holds more than its share, and the subscription still gives exactly its seats —
/// also after its seats are lowered below those given. Every insert, whatever its path, is
/// held to that: the stripes refuse a seat past the subscription's seats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_given_before_the_stripes_still_count_and_none_is_given_past_the_seats() {
    use sqlx::Connection as _;
    let test_db = crate::support::TestDb::new(Backend::Postgres).await;
    let url = test_db.pg_url().expect("postgres");
    // a database of its own, migrated up to the seat counter (0011) first
    let name = format!("seatgate_m_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let mut u = url::Url::parse(&url).expect("url");
    u.set_path(&format!("/{name}"));
    let mut c = sqlx::PgConnection::connect(u.as_str())
        .await
        .expect("connect");
    let all = sqlx::migrate!("./migrations/postgres");
    let mut before = sqlx::migrate!("./migrations/postgres");
    before.migrations = all
        .migrations
        .iter()
        .filter(|m| m.version <= 11)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    assert!(
        all.migrations.iter().any(|m| m.version == 12),
        "the stripes' migration"
    );
    before.run(&mut c).await.expect("migrations up to 0011");
    sqlx::query(
        "insert into license_keys (id, key_hash, key_hint, product, seats, expires_at, created_at) \
         values ('k1', 'h1', 'k1', 'pd', 20, null, 0)",
    )
    .execute(&mut c)
    .await
    .expect("subscription of 20 seats");
    for i in 0..24 {
        sqlx::query(
            "insert into users (id, email, email_lc, password_hash, created_at) \
             values ($1, $2, $2, '!', 0)",
        )
        .bind(format!("u{i:02}"))
        .bind(format!("u{i:02}@example.com"))
        .execute(&mut c)
        .await
        .expect("user");
    }
    for i in 0..18 {
        sqlx::query(
            "insert into seat_assignments (license_key_id, user_id, assigned_at) values ('k1', $1, $2)",
        )
        .bind(format!("u{i:02}"))
        .bind(i as i64)
        .execute(&mut c)
        .await
        .expect("seat");
    }
    all.run(&mut c).await.expect("migrations from 0012");
    async fn stripes(c: &mut sqlx::PgConnection) -> (i64, i64, i64) {
        sqlx::query_as(
            "select sum(used)::bigint, sum(cap)::bigint, \
             count(*) filter (where used > cap or used <> (select count(*) from seat_assignments s \
               where s.license_key_id = st.license_key_id and s.stripe = st.stripe)) \
             from seat_stripes st where license_key_id = 'k1'",
        )
        .fetch_one(c)
        .await
        .expect("stripes")
    }
    assert_eq!(
        stripes(&mut c).await,
        (18, 20, 0),
        "used, seats, stripes out of line"
    );
    async fn take(c: &mut sqlx::PgConnection, user: &str) -> Result<(), String> {
        sqlx::query(
            "insert into seat_assignments (license_key_id, user_id, assigned_at) values ('k1', $1, 99)",
        )
        .bind(user)
        .execute(c)
        .await
        .map(|_| ())
        .map_err(|e| e.as_database_error().and_then(|d| d.code()).unwrap_or_default().into_owned())
    }
    assert_eq!(take(&mut c, "u18").await, Ok(()));
    assert_eq!(take(&mut c, "u19").await, Ok(()));
    assert_eq!(
        take(&mut c, "u20").await,
        Err("SG001".to_string()),
        "a 21st seat of 20"
    );
    assert_eq!(stripes(&mut c).await, (20, 20, 0));
    // fewer seats than given: none is given until enough are freed
    sqlx::query("update license_keys set seats = 10 where id = 'k1'")
        .execute(&mut c)
        .await
        .expect("lower the seats");
    sqlx::query("delete from seat_assignments where user_id in ('u00', 'u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07', 'u08', 'u09')")
        .execute(&mut c)
        .await
        .expect("free ten");
    assert_eq!(
        take(&mut c, "u20").await,
        Err("SG001".to_string()),
        "10 of 10 used"
    );
    sqlx::query("delete from users where id = 'u10'")
        .execute(&mut c)
        .await
        .expect("a holder goes");
    assert_eq!(take(&mut c, "u20").await, Ok(()), "9 of 10 used");
    assert_eq!(take(&mut c, "u21").await, Err("SG001".to_string()));
    let (used, seats, out_of_line) = stripes(&mut c).await;
    assert_eq!((used, seats), (10, 10));
    assert_eq!(out_of_line, 0);
    c.close().await.ok();
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&mut admin)
        .await
        .expect("drop database");
}

async fn scim_deprovisioning_and_group_removal_revoke_devices_and_free_seats(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let r = admin.call("integration/scim_token", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token: String = serde_json::from_str(&r.body).expect("token");
    let r = admin
        .call(
            "integration/change",
            &[("action", "scim"), ("enabled", "true"), ("done", "true")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut idp = app.client();
    let scim = |method: &str, path: &str, body: Value| {
        Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let mut ids = vec![];
    for who in ["nia", "oli"] {
        let r = idp
            .send(scim("POST", "/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{who}@{DOMAIN}"), "active": true})))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.json()["id"].as_str().expect("id").to_string());
    }
    let r = idp
        .send(scim("POST", "/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "SG-Desktop", "externalId": "g-desktop", "members": [{"value": ids[0]}, {"value": ids[1]}]})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let group = r.json()["id"].as_str().expect("id").to_string();

    // SCIM is authoritative: membership in the provisioned group counts, not the attribute
    let nia = activate(&app, &business, &format!("nia@{DOMAIN}"), "d", &[]).await;
    assert_eq!(nia.status, 201, "{}", nia.body);
    let oli = activate(&app, &business, &format!("oli@{DOMAIN}"), "d", &[]).await;
    assert_eq!(oli.status, 201, "{}", oli.body);
    assert_eq!(seats_used(&mut admin).await, 2);
    let r = activate(
        &app,
        &business,
        &format!("pat@{DOMAIN}"),
        "d",
        &["g-desktop"],
    )
    .await;
    assert_eq!(
        r.status, 201,
        "not provisioned: the signed groups decide: {}",
        r.body
    );
    assert_eq!(seats_used(&mut admin).await, 3);

    let check = |a: &Response| {
        let v = a.json();
        (
            format!(
                "/api/v1/activations/{}/check",
                v["activation_id"].as_str().expect("id")
            ),
            v["activation_secret"].as_str().expect("secret").to_string(),
        )
    };
    // deprovisioning (active false) revokes nia's device and frees her seat
    let r = idp
        .send(scim("PATCH", &format!("/Users/{}", ids[0]), json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]})))
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    let (path, secret) = check(&nia);
    let r = api(&mut app.client(), "POST", &path, Some(&secret), None).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "activation_revoked"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["reason"], "deprovisioned");
    assert_eq!(seats_used(&mut admin).await, 2);
    // and she cannot activate again
    let r = activate(
        &app,
        &business,
        &format!("nia@{DOMAIN}"),
        "d",
        &["g-desktop"],
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "user_deactivated"),
        "{}",
        r.body
    );

    // removal from the desktop users group revokes oli's device
    let (path, secret) = check(&oli);
    let r = api(&mut app.client(), "POST", &path, Some(&secret), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = idp
        .send(scim("PATCH", &format!("/Groups/{group}"), json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}]})))
        .await;
    assert!(r.status == 204 || r.status == 200, "{}", r.body);
    let r = api(&mut app.client(), "POST", &path, Some(&secret), None).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "activation_revoked"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["reason"], "removed_from_group");
    assert_eq!(seats_used(&mut admin).await, 1, "only pat's seat is left");
    // provisioned and outside the provisioned group: the signed groups cannot put oli back
    let r = activate(
        &app,
        &business,
        &format!("oli@{DOMAIN}"),
        "d",
        &["g-desktop"],
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "not_in_desktop_group"),
        "{}",
        r.body
    );

    // DELETE deprovisions too
    let r = idp
        .send(scim("POST", "/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("uma@{DOMAIN}"), "active": true})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let uma_id = r.json()["id"].as_str().expect("id").to_string();
    let r = idp
        .send(scim("PATCH", &format!("/Groups/{group}"), json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": uma_id}]}]})))
        .await;
    assert!(r.status == 204 || r.status == 200, "{}", r.body);
    let uma = activate(&app, &business, &format!("uma@{DOMAIN}"), "d", &[]).await;
    assert_eq!(uma.status, 201, "{}", uma.body);
    assert_eq!(seats_used(&mut admin).await, 2);
    let r = idp
        .send(scim("DELETE", &format!("/Users/{uma_id}"), json!({})))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (path, secret) = check(&uma);
    let r = api(&mut app.client(), "POST", &path, Some(&secret), None).await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "activation_revoked"),
        "{}",
        r.body
    );
    assert_eq!(r.json()["reason"], "deprovisioned");
    assert_eq!(seats_used(&mut admin).await, 1);
    // deleted: not back in through the signed groups claim
    let r = activate(
        &app,
        &business,
        &format!("uma@{DOMAIN}"),
        "d",
        &["g-desktop"],
    )
    .await;
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "user_deactivated"),
        "{}",
        r.body
    );
}
both!(scim_deprovisioning_and_group_removal_revoke_devices_and_free_seats);

async fn admins_revoke_devices_and_free_seats_from_the_licenses_page(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let quinn = activate(
        &app,
        &business,
        &format!("quinn@{DOMAIN}"),
        "q-1",
        &["g-desktop"],
    )
    .await;
    assert_eq!(quinn.status, 201, "{}", quinn.body);
    let rae = activate(
        &app,
        &business,
        &format!("rae@{DOMAIN}"),
        "r-1",
        &["g-desktop"],
    )
    .await;
    assert_eq!(rae.status, 201, "{}", rae.body);
    let holders = admin.call("seat_holders", &[]).await.json();
    assert_eq!(holders["is_admin"], true);
    assert_eq!(
        holders["holders"].as_array().expect("holders").len(),
        2,
        "{holders}"
    );
    let q = quinn.json();
    let r = admin
        .call(
            "revoke_activation",
            &[("activation_id", q["activation_id"].as_str().expect("id"))],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api(
        &mut app.client(),
        "POST",
        &format!(
            "/api/v1/activations/{}/check",
            q["activation_id"].as_str().expect("id")
        ),
        q["activation_secret"].as_str(),
        None,
    )
    .await;
    assert_eq!(r.json()["reason"], "revoked_by_admin", "{}", r.body);
    assert_eq!(seats_used(&mut admin).await, 1);

    let holders = admin.call("seat_holders", &[]).await.json();
    let h = &holders["holders"][0];
    assert_eq!(h["email"], format!("rae@{DOMAIN}"));
    let r = admin
        .call(
            "free_seat",
            &[
                ("license_key_id", h["license_key_id"].as_str().expect("k")),
                ("user_id", h["user_id"].as_str().expect("u")),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(seats_used(&mut admin).await, 0);
    let holders = admin.call("seat_holders", &[]).await.json();
    assert_eq!(holders["holders"].as_array().expect("holders").len(), 0);
    assert_eq!(holders["revoked"].as_array().expect("revoked").len(), 2);
    let page = admin.get("/profile/business/licenses").await;
    assert!(
        page.body.contains("Recently ended activations")
            && page.body.contains("/directdownload/pd?experience=sso"),
        "{}",
        page.body
    );

    // a desktop user (not an admin) sees no holders and cannot revoke
    let mut sam = app.client();
    let request = {
        let r = post_form(
            &mut sam,
            "/sso/start",
            &[("email", &format!("sam@{DOMAIN}"))],
        )
        .await;
        let href = r
            .body
            .split("data-testid=\"idp-url\" href=\"")
            .nth(1)
            .and_then(|x| x.split('"').next())
            .expect("idp url")
            .replace("&amp;", "&");
        url::Url::parse(&href)
            .expect("url")
            .query_pairs()
            .find(|(k, _)| k == "RelayState")
            .expect("relay")
            .1
            .into_owned()
    };
    let xml = response_for(
        &app,
        &business,
        &request,
        &format!("sam@{DOMAIN}"),
        &["g-desktop"],
    )
    .signed();
    let r = post_acs(&mut sam, &business, &xml).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let holders = sam.call("seat_holders", &[]).await.json();
    assert_eq!(holders["is_admin"], false);
    assert_eq!(holders["holders"].as_array().expect("holders").len(), 0);
    let r = sam
        .call(
            "revoke_activation",
            &[("activation_id", q["activation_id"].as_str().expect("id"))],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}
both!(admins_revoke_devices_and_free_seats_from_the_licenses_page);

async fn the_start_endpoint_is_rate_limited_per_client_address(b: Backend) {
    let app = TestApp::new(b).await;
    let mut state = app.state.clone();
    state.activation_limiter = std::sync::Arc::new(seatgate::scim::routes::ScimLimiter::new(1, 3));
    let router = seatgate::server::router(state);
    let send = |ip: &'static str| {
        let router = router.clone();
        async move {
            let mut req = Request::post("/api/v1/activations/sso/start")
                .header("content-type", "application/json")
                .body(Body::from(start_body("x@unknown.example", "d").to_string()))
                .expect("request");
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                    ip.parse().expect("ip"),
                    1,
                )));
            let res = router.oneshot(req).await.expect("infallible");
            (
                res.status().as_u16(),
                res.headers().get("retry-after").is_some(),
            )
        }
    };
    for _ in 0..3 {
        assert_eq!(
            send("203.0.113.1").await,
            (404, false),
            "unknown_domain, within the burst"
        );
    }
    // one token a second refills: of the next ten (well under a second apart), some are refused
    let mut refused = 0;
    for _ in 0..10 {
        match send("203.0.113.1").await {
            (429, true) => refused += 1,
            (404, false) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused >= 5, "only {refused} of 10 refused");
    assert_eq!(
        send("203.0.113.2").await,
        (404, false),
        "another address has its own budget"
    );
}
both!(the_start_endpoint_is_rate_limited_per_client_address);

async fn the_openapi_document_is_served_and_names_only_served_paths(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    let r = api(&mut c, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let kept =
        std::fs::read_to_string("openapi/activation-v1.json").expect("the document in the repo");
    assert_eq!(r.body, kept);
    let doc = r.json();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 7, "{}", paths.len());
    for (path, ops) in paths {
        for method in ops.as_object().expect("ops").keys() {
            if !["get", "post", "delete", "put", "patch"].contains(&method.as_str()) {
                continue;
            }
            let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
            let r = api(&mut c, &method.to_uppercase(), &concrete, None, None).await;
            assert!(
                r.status != 404 || concrete.contains("/activations/0"),
                "{method} {path}: 404"
            );
            assert_ne!(r.status, 405, "{method} {path}");
            if r.status >= 400 {
                assert!(r.json()["code"].is_string(), "{method} {path}: {}", r.body);
            }
        }
    }
}
both!(the_openapi_document_is_served_and_names_only_served_paths);

async fn the_download_link_signs_in_first_then_offers_preconfigured_builds(b: Backend) {
    let mut app = TestApp::new(b).await;
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("seatgate-desktop"),
        b"\x7fELF-pretend-binary",
    )
    .expect("write");
    std::fs::write(dir.path().join("seatgate-desktop.d"), b"deps").expect("write");
    std::fs::write(dir.path().join("secret.key"), b"no").expect("write");
    let mut state = app.state.clone();
    let mut settings = (*state.settings).clone();
    settings.client_dir = Some(dir.path().to_path_buf());
    state.settings = std::sync::Arc::new(settings);
    app.router = seatgate::server::router(state.clone());
    app.state = state;

    let mut visitor = app.client();
    let r = visitor.get("/directdownload/pd?experience=sso").await;
    assert!(
        r.status == 302
            || r.status == 303
            || r.body.contains("/signin?next=%2Fdirectdownload%2Fpd")
            || r.body.contains("/signin?next=/directdownload/pd"),
        "{} {}",
        r.status,
        r.body
    );
    let r = visitor.get("/directdownload/files/seatgate-desktop").await;
    assert_eq!(r.status, 401);

    // sign in with SSO from the sign-in page the link led to: back to the download page
    let (_admin, business) = active_account(&app).await;
    let mut emp = app.client();
    let r = post_form(
        &mut emp,
        "/sso/start",
        &[
            ("email", &format!("tia@{DOMAIN}")),
            ("next", "/directdownload/pd"),
        ],
    )
    .await;
    let href = r
        .body
        .split("data-testid=\"idp-url\" href=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .expect("idp url")
        .replace("&amp;", "&");
    let request = url::Url::parse(&href)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .expect("relay")
        .1
        .into_owned();
    let cookies: Vec<String> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            v.to_str()
                .expect("ascii")
                .split(';')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    emp.cookie = Some(cookies.join("; "));
    let xml = response_for(
        &app,
        &business,
        &request,
        &format!("tia@{DOMAIN}"),
        &["g-desktop"],
    )
    .signed();
    let r = post_acs(&mut emp, &business, &xml).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location").as_deref(), Some("/directdownload/pd"));

    let page = emp.get("/directdownload/pd?experience=sso").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("/directdownload/files/seatgate-desktop"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("seatgate-desktop.d") && !page.body.contains("secret.key"));
    assert!(
        page.body.contains("activate --email"),
        "manual instructions"
    );
    let r = emp.get("/directdownload/files/seatgate-desktop").await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("\u{7f}ELF-pretend-binary"));
    assert!(r.body.ends_with("SGCONF01"));
    assert!(
        r.body.contains(crate::support::PUBLIC_URL),
        "pre-configured with this server"
    );
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(app.state.licence_signer.public_key());
    assert!(r.body.contains(&key), "and its licence key");
    assert_eq!(
        emp.get("/directdownload/files/secret.key").await.status,
        404
    );
    assert_eq!(
        emp.get("/directdownload/files/..%2Fsecret.key")
            .await
            .status,
        404
    );
}
both!(the_download_link_signs_in_first_then_offers_preconfigured_builds);
