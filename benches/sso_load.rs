//! SAML sign-ins per second through the HTTP ACS, on SQLite and PostgreSQL: each sign-in is a
//! browser's `POST /sso/start` (pending request stored) and, with the IdP's signed answer
//! (prepared beforehand: the IdP's own work is not ours), `POST /saml/<id>/acs` — validation,
//! replay cache, user and membership, session, attempt record. Prints rate and latencies.
//!
//! `cargo bench --features ssr --bench sso_load`
//! Environment: `SSO_BENCH_SIGNINS` (default 3000), `SSO_BENCH_DB` (`sqlite,postgres`),
//! `SSO_BENCH_PG`, `SSO_BENCH_CONNECTIONS` (default 16).

#[allow(clippy::unwrap_used)]
#[path = "../tests/saml/common.rs"]
mod common;
mod support;

use base64::Engine as _;
use seatgate::{
    server::{clock::Clock, secrets::SecretKey},
    store::Db,
};
use std::time::Duration;
use support::{fan_out, ms, percentile};

async fn run(label: &str, url: &str, n: usize, connections: usize) {
    println!("\n## {label}\n");
    let db: Db = seatgate::store::connect(url).await.expect("connect");
    let secret = SecretKey::from_bytes(&[9u8; 32]).expect("key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let (business, _) = support::seed(&db, &secret, now).await;
    support::sso_ready(&db, &business, common::IDP, &common::keys().0.cert_der, now).await;
    let (addr, _dir) = support::serve(&db, secret, Clock::System).await;

    // 1. Continue with SSO: a pending request per person
    let (started, took) = fan_out(addr, n, connections, |mut c, i| async move {
        let form = format!("email=user{i:06}%40example.com");
        let (status, cookies, body) = c.post("/sso/start", &form, None).await;
        assert_eq!(status, 200, "{body}");
        let relay = body
            .split("RelayState=")
            .nth(1)
            .and_then(|r| r.split(['"', '&']).next())
            .expect("RelayState")
            .to_string();
        let cookie = cookies
            .iter()
            .find(|c| c.starts_with("sg_saml="))
            .and_then(|c| c.split(';').next())
            .expect("binding cookie")
            .to_string();
        (c, (relay, cookie))
    })
    .await;
    let mut lat: Vec<Duration> = started.iter().map(|(_, d)| *d).collect();
    lat.sort();
    println!(
        "| `POST /sso/start` ({n}, {connections} connections) | **{:.0} /s** | p50 {} · p99 {} |",
        n as f64 / took.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    // the IdP's work, not timed: one signed response per pending request
    let sp = format!("{}/saml/{business}", support::PUBLIC_URL);
    let forms: Vec<(String, String)> = started
        .into_iter()
        .enumerate()
        .map(|(i, ((relay, cookie), _))| {
            let t = common::Tpl {
                response_id: format!("_r{i:08}{now}"),
                assertion_id: format!("_a{i:08}{now}"),
                destination: Some(format!("{sp}/acs")),
                recipient: format!("{sp}/acs"),
                audience: Some(sp.clone()),
                response_irt: Some(relay.clone()),
                scd_irt: Some(relay),
                name_id: format!("user{i:06}@example.com"),
                not_before: now - 60,
                not_on_or_after: now + 600,
                scd_not_on_or_after: now + 600,
                attributes: vec![
                    ("displayname".into(), vec![format!("User {i}")]),
                    ("groups".into(), vec!["g-desktop".into()]),
                    ("name".into(), vec![format!("user{i:06}@example.com")]),
                    ("objectidentifier".into(), vec![format!("oid-{i}")]),
                ],
                ..common::Tpl::default()
            };
            let b64 = base64::engine::general_purpose::STANDARD.encode(t.signed());
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("SAMLResponse", &b64)
                .finish();
            (form, cookie)
        })
        .collect();
    let forms = std::sync::Arc::new(forms);

    // 2. the ACS
    let acs = format!("/saml/{business}/acs");
    let (done, took) = fan_out(addr, n, connections, move |mut c, i| {
        let forms = forms.clone();
        let acs = acs.clone();
        async move {
            let (form, cookie) = &forms[i];
            let (status, cookies, body) = c.post(&acs, form, Some(cookie)).await;
            assert_eq!(status, 303, "{body}");
            assert!(cookies
                .iter()
                .any(|c| c.starts_with("seatgate_session=") || c.starts_with("__Host-")));
            (c, ())
        }
    })
    .await;
    let mut lat: Vec<Duration> = done.iter().map(|(_, d)| *d).collect();
    lat.sort();
    println!(
        "| sign-ins through the ACS ({n}, {connections} connections) | **{:.0} /s** | p50 {} · p99 {} |",
        n as f64 / took.as_secs_f64(),
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );
}

fn main() {
    let n = support::env_usize("SSO_BENCH_SIGNINS", 3000);
    let connections = support::env_usize("SSO_BENCH_CONNECTIONS", 16);
    support::on_backends("SSO_BENCH", |label, url| async move {
        run(label, &url, n, connections).await;
    });
}
