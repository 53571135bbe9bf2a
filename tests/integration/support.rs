//! Test harness: a fresh database per test (SQLite file, or a new PostgreSQL database that is
//! dropped afterwards), a local SMTP server that records what it receives, a manual clock,
//! and a cookie-keeping client that drives `server::router` without a socket.

use axum::{body::Body, extract::ConnectInfo, http::Request, Router};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use seatgate::{
    server::{
        clock::Clock,
        mail::Mailer,
        secrets::SecretKey,
        state::{AppState, Settings},
    },
    store::{self, Db},
};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the async test fn `name(backend)` on both backends: `both!(name);`
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    };
}

/// 2026-01-15 12:00 UTC: the tests' fixed "now".
pub const T0: i64 = 1_768_478_400;

pub struct TestDb {
    pub db: Db,
    _tmp: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("TEST_DATABASE_URL must be a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let tmp = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", tmp.path().join("test.db").display());
                let db = store::connect(&url).await.expect("sqlite");
                TestDb {
                    db,
                    _tmp: Some(tmp),
                    pg_drop: None,
                }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = pg_admin_url();
                let name = format!("seatgate_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {admin} ({e}). Run the tests with scripts/test.sh, \
                         which finds or starts one, or set TEST_DATABASE_URL."
                    )
                });
                sqlx::query(&format!("create database {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                conn.close().await.ok();
                let db = store::connect(&with_database(&admin, &name))
                    .await
                    .expect("connect + migrate");
                TestDb {
                    db,
                    _tmp: None,
                    pg_drop: Some((admin, name)),
                }
            }
        }
    }
}

impl TestDb {
    /// The PostgreSQL database's name (None on SQLite).
    pub fn pg_database(&self) -> Option<&str> {
        self.pg_drop.as_ref().map(|(_, name)| name.as_str())
    }

    /// The PostgreSQL database's URL, for a connection of the test's own (None on SQLite).
    pub fn pg_url(&self) -> Option<String> {
        self.pg_drop
            .as_ref()
            .map(|(admin, name)| with_database(admin, name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg_drop.take() {
            // Drop runs inside the test's runtime: do the async clean-up on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("drop database if exists {name} with (force)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A minimal SMTP server (RFC 5321 subset) that keeps every message it receives.
#[derive(Clone, Default)]
pub struct SmtpSink {
    pub messages: Arc<Mutex<Vec<String>>>,
    pub addr: Option<SocketAddr>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp");
        let addr = listener.local_addr().expect("addr");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut lines = BufReader::new(r).lines();
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut in_data = false;
                    let mut data = String::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                store.lock().expect("lock").push(std::mem::take(&mut data));
                                let _ = w.write_all(b"250 OK queued\r\n").await;
                            } else {
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                                data.push('\n');
                            }
                            continue;
                        }
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 OK\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink {
            messages,
            addr: Some(addr),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr.expect("started"))
    }

    /// Messages addressed to `to`, decoded (quoted-printable soft breaks and escapes).
    pub fn to(&self, to: &str) -> Vec<String> {
        self.messages
            .lock()
            .expect("lock")
            .iter()
            .filter(|m| {
                m.lines().any(|l| {
                    l.to_ascii_lowercase().starts_with("to:")
                        && l.to_lowercase().contains(&to.to_lowercase())
                })
            })
            .map(|m| decode_qp(m))
            .collect()
    }

    /// The last link in mail to `to` whose path starts with `path`.
    pub fn link(&self, to: &str, path: &str) -> Option<String> {
        self.to(to).iter().rev().find_map(|m| {
            m.split_whitespace()
                .filter(|w| w.starts_with("http"))
                .filter_map(|w| url::Url::parse(w).ok())
                .find(|u| u.path() == path)
                .map(|u| format!("{}?{}", u.path(), u.query().unwrap_or("")))
        })
    }
}

fn decode_qp(m: &str) -> String {
    let joined = m.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub smtp: SmtpSink,
    pub dns: crate::dns_server::TestDns,
    _db: TestDb,
}

pub const PUBLIC_URL: &str = "http://seatgate.test";

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        let db = TestDb::new(backend).await;
        let smtp = SmtpSink::start().await;
        let dns = crate::dns_server::TestDns::start().await;
        let mailer = Mailer::new(
            Some(&smtp.url()),
            "Seatgate <no-reply@seatgate.test>",
            "unused".into(),
        )
        .expect("mailer");
        let public = url::Url::parse(PUBLIC_URL).expect("url");
        let resolver =
            seatgate::dns::Dns::new(Some(dns.addr), std::time::Duration::from_millis(300))
                .expect("resolver");
        let state = AppState {
            leptos_options: LeptosOptions::builder()
                .output_name("seatgate")
                .site_root("target/site")
                .build(),
            db: db.db.clone(),
            clock: Clock::manual(T0),
            secret: SecretKey::from_bytes(&[42u8; 32]).expect("key"),
            mailer,
            dns: resolver.clone(),
            fetcher: seatgate::server::fetch::MetadataFetcher::new(
                resolver,
                false,
                None,
                std::time::Duration::from_secs(3),
            )
            .expect("fetcher"),
            scim_log: seatgate::scim::routes::ScimLog::start(db.db.clone()),
            saml_log: seatgate::saml::attempts::AttemptLog::start(db.db.clone()),
            scim_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(1000, 2000)),
            activation_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(1000, 10_000)),
            licence_signer: Arc::new(seatgate::activation::licence::Signer::from_seed(
                &[42u8; 32],
            )),
            settings: Arc::new(Settings::new(&public, vec![], 7 * 24 * 3600, 12 * 3600)),
        };
        let router = seatgate::server::router(state.clone());
        TestApp {
            router,
            state,
            smtp,
            dns,
            _db: db,
        }
    }

    /// The PostgreSQL database's URL (None on SQLite).
    pub fn pg_url(&self) -> Option<String> {
        self._db.pg_url()
    }

    /// The operator's metadata-fetch settings: private addresses allowed, an extra CA trusted.
    pub fn allow_metadata_fetch(&mut self, allow_private: bool, ca_pem: Option<&[u8]>) {
        self.state.fetcher = seatgate::server::fetch::MetadataFetcher::new(
            self.state.dns.clone(),
            allow_private,
            ca_pem,
            std::time::Duration::from_secs(3),
        )
        .expect("fetcher");
        self.router = seatgate::server::router(self.state.clone());
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookie: None,
            ip: "198.51.100.10".parse().expect("ip"),
        }
    }

    /// Issues a key as the vendor CLI does.
    pub async fn issue_key(&self, seats: u32, expires: Option<&str>) -> String {
        seatgate::licensing::keys::issue(
            &self.state.db,
            seats,
            expires,
            "desktop",
            self.state.clock.now(),
        )
        .await
        .expect("issue key")
    }
}

pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
    /// The field-level message of an `ApiError::Invalid` answer.
    pub fn field_message(&self, field: &str) -> Option<String> {
        self.json()["Invalid"]
            .as_array()?
            .iter()
            .find(|f| f["field"] == field)?["message"]
            .as_str()
            .map(String::from)
    }
}

/// A browser-like client: keeps the session cookie, sends same-origin headers.
pub struct Client {
    router: Router,
    pub cookie: Option<String>,
    pub ip: std::net::IpAddr,
}

impl Client {
    pub async fn send(&mut self, mut req: Request<Body>) -> Response {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(self.ip, 40000)));
        if let Some(c) = &self.cookie {
            req.headers_mut()
                .insert(http::header::COOKIE, c.parse().expect("cookie"));
        }
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for sc in headers.get_all(http::header::SET_COOKIE) {
            let sc = sc.to_str().expect("ascii");
            let pair = sc.split(';').next().unwrap_or("");
            if sc.contains("Max-Age=0") {
                self.cookie = None;
            } else {
                self.cookie = Some(pair.to_string());
            }
        }
        let body = res.into_body().collect().await.expect("body").to_bytes();
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Calls a server function the way the hydrated page does (form-encoded, same origin).
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = Request::post(format!("/api/{endpoint}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("origin", PUBLIC_URL)
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let req = Request::get(path)
            .header("accept", "text/html")
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }
}

pub const PASSWORD: &str = "a long portal password";

/// Signs up, follows the emailed verification link, and stays signed in.
pub async fn verified_user(app: &TestApp, email: &str) -> Client {
    let mut c = app.client();
    let r = c
        .call(
            "signup",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "signup: {}", r.body);
    let link = app
        .smtp
        .link(email, "/verify-email")
        .expect("verification mail");
    let token = link.split("token=").nth(1).expect("token").to_string();
    let r = c.call("verify_email", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "verify: {}", r.body);
    c
}

/// A verified user who registered a key and so administers a new business account.
pub async fn business_admin(app: &TestApp, email: &str, org: &str) -> Client {
    let mut c = verified_user(app, email).await;
    let key = app.issue_key(10, None).await;
    let r = c
        .call("register_key", &[("key", &key), ("org_name", org)])
        .await;
    assert_eq!(r.status, 200, "register: {}", r.body);
    c
}

/// The signing certificate (base64 DER) in the Okta metadata fixture.
pub fn okta_certificate() -> String {
    let xml = std::fs::read_to_string("tests/fixtures/saml/okta/metadata.xml").expect("fixture");
    let start = xml.find("X509Certificate>").expect("certificate") + "X509Certificate>".len();
    let end = start + xml[start..].find('<').expect("end");
    xml[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// `admin` invites `email` as a plain user; that person signs up, verifies and accepts.
pub async fn joined_member(app: &TestApp, admin: &mut Client, email: &str) -> Client {
    let r = admin
        .call("invite_user", &[("email", email), ("role", "user")])
        .await;
    assert_eq!(r.status, 200, "invite: {}", r.body);
    let token = invitation_token(app, email);
    let mut member = verified_user(app, email).await;
    let r = member.call("accept_invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "accept: {}", r.body);
    member
}

/// The token of the last invitation mailed to `email`.
pub fn invitation_token(app: &TestApp, email: &str) -> String {
    app.smtp
        .link(email, "/invitations/accept")
        .expect("invitation mail")
        .split("token=")
        .nth(1)
        .expect("token")
        .to_string()
}
