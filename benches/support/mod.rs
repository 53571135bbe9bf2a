//! What the load benchmarks share: a seeded business account, the real router served on a
//! loopback socket, keep-alive connections and latency figures.
// each benchmark uses its part
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use seatgate::{
    server::{
        clock::Clock,
        fetch::MetadataFetcher,
        mail::Mailer,
        secrets::SecretKey,
        state::{AppState, Settings},
    },
    store::{
        business::OrgDetails, domains::CheckRecord, idp_settings::CertificateRow,
        integrations::IntegrationChange, license_keys::RegisterInto, Db,
    },
};
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

pub const PUBLIC_URL: &str = "http://seatgate.bench";

/// An account with `example.com` verified, SCIM on, and a token; returns (business, token).
pub async fn seed(db: &Db, secret: &SecretKey, now: i64) -> (String, String) {
    let user = db
        .create_user("admin@example.com", "not-a-real-hash", now)
        .await
        .expect("user");
    let key = seatgate::licensing::keys::issue(db, 100_000, None, "desktop", now)
        .await
        .expect("key");
    let key_row = db
        .license_key_by_hash(&seatgate::server::secrets::sha256_hex(&key))
        .await
        .expect("lookup")
        .expect("key row");
    let org = OrgDetails {
        name: "Bench".into(),
        country: "DE".into(),
        address: "-".into(),
        phone: "-".into(),
    };
    let business = db
        .register_license_key(
            &key_row.id,
            None,
            RegisterInto::New {
                org: &org,
                admin_user_id: &user.id,
            },
            &user.id,
            now,
        )
        .await
        .expect("register")
        .expect("business");
    db.start_integration(&business, now).await.expect("start");
    db.add_domain(&business, "example.com", "t", now, now)
        .await
        .expect("domain");
    let domain = db
        .domain(&business, "example.com")
        .await
        .expect("domain")
        .expect("row");
    db.record_domain_check(
        &domain.id,
        CheckRecord {
            status: "verified",
            outcome: "verified",
            found: "",
            next_check_at: now,
        },
        now,
    )
    .await
    .expect("verify");
    db.set_scim(&business, true, true, now).await.expect("scim");
    let token = format!("sgscim_bench{now}");
    db.replace_scim_token(&business, &secret.hash_token(&token), "ench", now, now)
        .await
        .expect("token");
    (business, token)
}

/// Serves the router on 127.0.0.1; keep the returned folder alive while it runs.
pub async fn serve(db: &Db, secret: SecretKey, clock: Clock) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let dns = seatgate::dns::Dns::new(
        Some("127.0.0.1:9".parse().expect("addr")),
        Duration::from_millis(100),
    )
    .expect("dns");
    let public = url::Url::parse(PUBLIC_URL).expect("url");
    let state = AppState {
        leptos_options: leptos::config::LeptosOptions::builder()
            .output_name("seatgate")
            .site_root("target/site")
            .build(),
        db: db.clone(),
        clock,
        secret,
        mailer: Mailer::new(None, "Bench <b@example.com>", dir.path().join("outbox.log"))
            .expect("mailer"),
        dns: dns.clone(),
        fetcher: MetadataFetcher::new(dns, false, None, Duration::from_secs(1)).expect("fetch"),
        scim_log: seatgate::scim::routes::ScimLog::start(db.clone()),
        saml_log: seatgate::saml::attempts::AttemptLog::start(db.clone()),
        scim_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(u32::MAX, u32::MAX)),
        activation_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(u32::MAX, u32::MAX)),
        licence_signer: Arc::new(seatgate::activation::licence::Signer::from_seed(
            &[42u8; 32],
        )),
        settings: Arc::new(Settings::new(&public, vec![], 3600, 3600)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = seatgate::server::router(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve")
    });

    (addr, dir)
}

/// A positive integer from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `run(label, database_url)` on each backend named in `$<prefix>_DB` (default
/// `sqlite,postgres`): a fresh SQLite file, or a throw-away PostgreSQL database created on the
/// server of `$<prefix>_PG` and dropped afterwards.
pub fn on_backends<F, Fut>(prefix: &str, run: F)
where
    F: Fn(&'static str, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let which = std::env::var(format!("{prefix}_DB")).unwrap_or_else(|_| "sqlite,postgres".into());
    let pg = std::env::var(format!("{prefix}_PG"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for backend in which.split(',') {
            match backend.trim() {
                "sqlite" => {
                    let dir = tempfile::tempdir().expect("tmp");
                    let url = format!(
                        "sqlite://{}?mode=rwc",
                        dir.path().join("bench.db").display()
                    );
                    run("SQLite", url).await;
                }
                "postgres" => {
                    let name = format!("seatgate_bench_{}", std::process::id());
                    let admin = sqlx::PgPool::connect(&pg).await.expect("pg");
                    sqlx::query(&format!("create database {name}"))
                        .execute(&admin)
                        .await
                        .expect("create db");
                    let url = match pg.rsplit_once('/') {
                        Some((base, _)) => format!("{base}/{name}"),
                        None => pg.clone(),
                    };
                    run("PostgreSQL", url).await;
                    sqlx::query(&format!("drop database {name} with (force)"))
                        .execute(&admin)
                        .await
                        .expect("drop db");
                }
                other => eprintln!("unknown backend {other}"),
            }
        }
    });
}

/// On PostgreSQL, the statistics of `tables` as autovacuum leaves them a minute after a bulk
/// load (`ANALYZE`). Tables filled in the last seconds still carry those of their empty
/// creation (indexes of 0 tuples), with which the planner may take any index that starts with
/// `business_id` for a lookup by name and read every row of the account, until autovacuum
/// analyzes them; a deployment is past that a minute after provisioning. Only the tables the
/// seeding filled: a table analyzed while empty would be planned as empty while the load
/// fills it.
pub async fn settle_statistics(url: &str, tables: &[&str]) {
    use sqlx::Connection as _;
    if url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(url).await.expect("pg");
        sqlx::query(&format!("analyze {}", tables.join(", ")))
            .execute(&mut c)
            .await
            .expect("analyze");
    }
}

/// SAML ready for `business`: the IdP's entity ID and certificate, the group mapping
/// (SG-Admins/g-admins, SG-Desktop/g-desktop), and the integration active.
pub async fn sso_ready(db: &Db, business: &str, idp_entity_id: &str, cert_der: &[u8], now: i64) {
    use base64::Engine as _;
    db.set_idp_endpoint(business, idp_entity_id, "https://idp.example.test/sso", now)
        .await
        .expect("endpoint");
    db.add_idp_certificate(
        business,
        &CertificateRow {
            der_base64: base64::engine::general_purpose::STANDARD.encode(cert_der),
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
        business,
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
    db.change_integration(business, IntegrationChange::Active(true), now)
        .await
        .expect("active");
}

/// One keep-alive HTTP/1.1 connection to the served router.
pub struct Conn(http1::SendRequest<Full<Bytes>>);

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (sender, conn) = http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Conn(sender)
    }

    /// A same-origin form POST; answers status, Set-Cookie values and body.
    pub async fn post(
        &mut self,
        path: &str,
        form: &str,
        cookie: Option<&str>,
    ) -> (u16, Vec<String>, String) {
        let mut headers = vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", PUBLIC_URL),
            ("sec-fetch-site", "same-origin"),
        ];
        if let Some(c) = cookie {
            headers.push(("cookie", c));
        }
        self.send("POST", path, &headers, form.to_string()).await
    }

    /// A JSON POST, with a bearer token when given.
    pub async fn post_json(
        &mut self,
        path: &str,
        json: String,
        bearer: Option<&str>,
    ) -> (u16, Vec<String>, String) {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        self.send("POST", path, &headers, json).await
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> (u16, Vec<String>, String) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "seatgate.bench");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
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

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `job(i)` for i in 0..n over `connections` keep-alive connections; returns the results
/// in order, each with its latency, and the wall time.
pub async fn fan_out<T, F, Fut>(
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
