//! Desktop activations per second through the HTTP API, and licence checks per second, on
//! SQLite and PostgreSQL. An activation is the app's `POST /api/v1/activations/sso/start`
//! (transaction and AuthnRequest stored) and, with the IdP's signed answer (prepared
//! beforehand: the IdP's own work is not ours), `POST /api/v1/activations/sso/complete` —
//! PKCE, SAML validation, replay cache, eligibility, the seat transaction, the Ed25519 licence.
//! A check is `POST /api/v1/activations/{id}/check` with the activation's secret (renewed
//! licence). Prints rates and latencies.
//!
//! `cargo bench --features ssr --bench activation_load`
//! Environment: `ACTIVATION_BENCH_N` (default 3000 activations), `ACTIVATION_BENCH_CHECKS`
//! (default 30000), `ACTIVATION_BENCH_DB` (`sqlite,postgres`), `ACTIVATION_BENCH_PG`,
//! `ACTIVATION_BENCH_CONNECTIONS` (default 16), `ACTIVATION_BENCH_SCIM` (default 1: everyone and
//! the desktop users group provisioned over SCIM first, as in a deployment with SCIM on, so
//! eligibility reads the directory; 0: nobody provisioned, the signed groups decide).

#[allow(clippy::unwrap_used)]
#[path = "../tests/saml/common.rs"]
mod common;
mod support;

use base64::Engine as _;
use seatgate::{
    server::{clock::Clock, secrets::SecretKey},
    store::Db,
};
use serde_json::{json, Value};
use std::{sync::Arc, time::Duration};
use support::{fan_out, ms, percentile};

const VERIFIER: &str = "bench-verifier-0123456789-0123456789-0123456789";

fn report(what: &str, lat: &mut [Duration], n: usize, took: Duration) -> f64 {
    lat.sort();
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "| {what} | **{rate:.0} /s** | p50 {} · p99 {} |",
        ms(percentile(lat, 0.5)),
        ms(percentile(lat, 0.99))
    );
    rate
}

async fn run(
    label: &str,
    url: &str,
    n: usize,
    checks: usize,
    connections: usize,
    provisioned: bool,
) {
    println!("\n## {label}\n");
    let db: Db = seatgate::store::connect(url).await.expect("connect");
    let secret = SecretKey::from_bytes(&[9u8; 32]).expect("key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let (business, scim_token) = support::seed(&db, &secret, now).await;
    support::sso_ready(&db, &business, common::IDP, &common::keys().0.cert_der, now).await;
    let (addr, _dir) = support::serve(&db, secret, Clock::System).await;
    if provisioned {
        // as in a real deployment with SCIM on: the IdP has provisioned everyone and the
        // desktop users group, so eligibility reads the directory (person, group, membership)
        let token = Arc::new(scim_token.clone());
        let (users, _) = fan_out(addr, n, connections, move |mut c, i| {
            let token = token.clone();
            async move {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{i:06}@example.com"),
                    "active": true,
                });
                let (status, _, body) = c
                    .post_json("/scim/v2/Users", body.to_string(), Some(&token))
                    .await;
                assert_eq!(status, 201, "{body}");
                let v: Value = serde_json::from_str(&body).expect("json");
                (c, v["id"].as_str().expect("id").to_string())
            }
        })
        .await;
        let members: Vec<Value> = users.iter().map(|(id, _)| json!({"value": id})).collect();
        let mut c = support::Conn::open(addr).await;
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "SG-Desktop",
            "externalId": "g-desktop",
            "members": members,
        });
        let (status, _, body) = c
            .post_json("/scim/v2/Groups", body.to_string(), Some(&scim_token))
            .await;
        assert_eq!(status, 201, "{body}");
        support::settle_statistics(url, &["scim_users", "scim_groups", "scim_group_members"]).await;
    }
    let challenge = seatgate::activation::s256(VERIFIER);

    // 1. the app starts: a transaction and an AuthnRequest per person
    let (started, start_took) = fan_out(addr, n, connections, move |mut c, i| {
        let challenge = challenge.clone();
        async move {
            let body = json!({
                "email": format!("user{i:06}@example.com"),
                "device": {"id": format!("device-{i}"), "name": "bench", "os": "linux"},
                "code_challenge": challenge,
            });
            let (status, _, body) = c
                .post_json("/api/v1/activations/sso/start", body.to_string(), None)
                .await;
            assert_eq!(status, 201, "{body}");
            let v: Value = serde_json::from_str(&body).expect("json");
            let txn = v["transaction_id"].as_str().expect("txn").to_string();
            (c, txn)
        }
    })
    .await;
    let mut lat: Vec<Duration> = started.iter().map(|(_, d)| *d).collect();
    report(
        &format!("`POST …/sso/start` ({n}, {connections} connections)"),
        &mut lat,
        n,
        start_took,
    );

    // the IdP's work, not timed: one signed response per transaction's request
    let sp = format!("{}/saml/{business}", support::PUBLIC_URL);
    let mut bodies = Vec::with_capacity(n);
    for (i, (txn, _)) in started.into_iter().enumerate() {
        let request_id = db
            .activation_transaction(&txn)
            .await
            .expect("db")
            .expect("txn")
            .request_id;
        let email = format!("user{i:06}@example.com");
        let t = common::Tpl {
            response_id: format!("_r{i:08}{now}"),
            assertion_id: format!("_a{i:08}{now}"),
            destination: Some(format!("{sp}/acs")),
            recipient: format!("{sp}/acs"),
            audience: Some(sp.clone()),
            response_irt: Some(request_id.clone()),
            scd_irt: Some(request_id),
            name_id: email.clone(),
            not_before: now - 60,
            not_on_or_after: now + 600,
            scd_not_on_or_after: now + 600,
            attributes: vec![
                ("groups".into(), vec!["g-desktop".into()]),
                ("name".into(), vec![email]),
            ],
            ..common::Tpl::default()
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode(t.signed());
        bodies.push(
            json!({"transaction_id": txn, "SAMLResponse": b64, "RelayState": txn, "code_verifier": VERIFIER})
                .to_string(),
        );
    }
    let bodies = Arc::new(bodies);

    // 2. the app relays the answer: validation, eligibility, seat, licence
    let (done, complete_took) = fan_out(addr, n, connections, move |mut c, i| {
        let bodies = bodies.clone();
        async move {
            let (status, _, body) = c
                .post_json("/api/v1/activations/sso/complete", bodies[i].clone(), None)
                .await;
            assert_eq!(status, 201, "{body}");
            let v: Value = serde_json::from_str(&body).expect("json");
            let id = v["activation_id"].as_str().expect("id").to_string();
            let secret = v["activation_secret"].as_str().expect("secret").to_string();
            (c, (id, secret))
        }
    })
    .await;
    let mut lat: Vec<Duration> = done.iter().map(|(_, d)| *d).collect();
    report(
        &format!("`POST …/sso/complete` ({n}, {connections} connections)"),
        &mut lat,
        n,
        complete_took,
    );
    println!(
        "| activations end to end (start + complete) | **{:.0} /s** | |",
        n as f64 / (start_took + complete_took).as_secs_f64()
    );

    // 3. checks: each activation in turn, renewed licence each time
    let activations: Arc<Vec<(String, String)>> =
        Arc::new(done.into_iter().map(|(a, _)| a).collect());
    let (checked, took) = fan_out(addr, checks, connections, move |mut c, i| {
        let activations = activations.clone();
        async move {
            let (id, secret) = &activations[i % activations.len()];
            let (status, _, body) = c
                .post_json(
                    &format!("/api/v1/activations/{id}/check"),
                    String::new(),
                    Some(secret),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            (c, ())
        }
    })
    .await;
    let mut lat: Vec<Duration> = checked.iter().map(|(_, d)| *d).collect();
    report(
        &format!("`POST …/{{id}}/check` ({checks}, {connections} connections)"),
        &mut lat,
        checks,
        took,
    );
}

fn main() {
    let n = support::env_usize("ACTIVATION_BENCH_N", 3000);
    let checks = support::env_usize("ACTIVATION_BENCH_CHECKS", 30_000);
    let connections = support::env_usize("ACTIVATION_BENCH_CONNECTIONS", 16);
    let provisioned = support::env_usize("ACTIVATION_BENCH_SCIM", 1) != 0;
    support::on_backends("ACTIVATION_BENCH", |label, url| async move {
        run(label, &url, n, checks, connections, provisioned).await;
    });
}
