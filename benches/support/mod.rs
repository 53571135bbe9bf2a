//! What the load benchmarks share: a seeded business account and the real router served on
//! a loopback socket.

use seatgate::{
    server::{
        clock::Clock,
        fetch::MetadataFetcher,
        mail::Mailer,
        secrets::SecretKey,
        state::{AppState, Settings},
    },
    store::{business::OrgDetails, domains::CheckRecord, license_keys::RegisterInto, Db},
};
use std::{net::SocketAddr, sync::Arc, time::Duration};

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
        scim_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(u32::MAX, u32::MAX)),
        activation_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(1000, 10_000)),
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
