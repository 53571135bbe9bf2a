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
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use seatgate::{
    server::{clock::Clock, secrets::SecretKey},
    store::{idp_settings::CertificateRow, integrations::IntegrationChange, Db},
};
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

struct Conn(http1::SendRequest<Full<Bytes>>);

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (sender, conn) = http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Conn(sender)
    }

    /// A form POST; answers status, Set-Cookie values and body.
    async fn post(
        &mut self,
        path: &str,
        form: &str,
        cookie: Option<&str>,
    ) -> (u16, Vec<String>, String) {
        let mut req = http::Request::post(path)
            .header("host", "seatgate.bench")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", support::PUBLIC_URL)
            .header("sec-fetch-site", "same-origin");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let req = req
            .body(Full::new(Bytes::from(form.to_string())))
            .expect("request");
        self.0.ready().await.expect("ready");
        let res = self.0.send_request(req).await.expect("send");
        let status = res.status().as_u16();
        let cookies = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, cookies, String::from_utf8_lossy(&body).into_owned())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `job(i)` for i in 0..n over `connections` keep-alive connections; returns the results
/// in order, each with its latency, and the wall time.
async fn fan_out<T, F, Fut>(
    addr: SocketAddr,
    n: usize,
    connections: usize,
    job: F,
) -> (Vec<(T, Duration)>, Duration)
where
    T: Send + 'static,
    F: Fn(Conn, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (Conn, T)> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..connections {
        let job = job.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut out = Vec::new();
            let mut i = w;
            while i < n {
                let t = Instant::now();
                let (c, v) = job(conn, i).await;
                conn = c;
                out.push((i, v, t.elapsed()));
                i += connections;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    let took = started.elapsed();
    all.sort_by_key(|(i, _, _)| *i);
    (all.into_iter().map(|(_, v, d)| (v, d)).collect(), took)
}

async fn run(label: &str, url: &str, n: usize, connections: usize) {
    println!("\n## {label}\n");
    let db: Db = seatgate::store::connect(url).await.expect("connect");
    let secret = SecretKey::from_bytes(&[9u8; 32]).expect("key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let (business, _) = support::seed(&db, &secret, now).await;
    db.set_idp_endpoint(&business, common::IDP, "https://idp.example.test/sso", now)
        .await
        .expect("endpoint");
    db.add_idp_certificate(
        &business,
        &CertificateRow {
            der_base64: base64::engine::general_purpose::STANDARD
                .encode(&common::keys().0.cert_der),
            fingerprint: "bench".into(),
            subject: "CN=idp".into(),
            issuer: "CN=idp".into(),
            not_before: now - 60,
            not_after: now + 86_400,
        },
        now,
    )
    .await
    .expect("cert");
    db.change_integration(
        &business,
        IntegrationChange::Groups {
            admins_name: "SG-Admins",
            admins_id: "g-admins",
            desktop_name: "SG-Desktop",
            desktop_id: "g-desktop",
        },
        now,
    )
    .await
    .expect("groups");
    db.change_integration(&business, IntegrationChange::Active(true), now)
        .await
        .expect("active");
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
