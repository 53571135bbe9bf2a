//! `seatgate serve | license issue | license list`.

use clap::Parser;
use leptos::config::LeptosOptions;
use seatgate::{
    licensing,
    server::{
        self,
        clock::Clock,
        config::{redact_url, Cli, Command, LicenseCommand, ServeArgs},
        mail::Mailer,
        secrets::SecretKey,
        state::{AppState, Settings},
    },
    store,
};
use std::{net::SocketAddr, process::ExitCode, sync::Arc};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "seatgate=info,tower_http=warn,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::License { db, command } => license(&db.url(), command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(url: &str, data_dir: &std::path::Path) -> anyhow::Result<store::Db> {
    if !store::is_postgres_url(url) {
        std::fs::create_dir_all(data_dir)?;
    }
    store::connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", redact_url(url)))
}

async fn license(url: &str, command: LicenseCommand) -> anyhow::Result<()> {
    let db = connect(url, std::path::Path::new("./data")).await?;
    let now = Clock::System.now();
    match command {
        LicenseCommand::Issue {
            seats,
            expires,
            product,
        } => {
            let key = licensing::keys::issue(&db, seats, expires.as_deref(), &product, now).await?;
            println!("{key}");
            eprintln!("Issued a {product} subscription key for {seats} seat(s). It is shown only this once; keep it safe.");
        }
        LicenseCommand::List => {
            for line in licensing::keys::list(&db).await? {
                println!("{line}");
            }
        }
    }
    db.close().await;
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let url = args.db.url();
    let db = connect(&url, &args.db.data_dir).await?;
    let secret = SecretKey::load(
        std::env::var("SEATGATE_SECRET_KEY").ok().as_deref(),
        &args.db.data_dir,
        store::is_postgres_url(&url),
    )?;
    let public_url = args.public_url();
    let mailer = Mailer::new(
        args.smtp_url.as_deref(),
        &args.mail_from,
        args.db.data_dir.join("outbox.log"),
    )?;
    let mut settings = Settings::new(
        &public_url,
        args.trusted_proxy.clone(),
        i64::from(args.session_hours) * 3600,
        i64::from(args.session_idle_minutes) * 60,
    );
    settings.saml_skew_secs = i64::from(args.saml_clock_skew);
    settings.licence_grace_secs = i64::from(args.licence_grace_days.max(1)) * 86_400;
    settings.client_dir = args.client_dir.clone().or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
    });
    tracing::info!(
        listen = %args.listen,
        database = %redact_url(&url),
        backend = db.backend(),
        public_url = %public_url,
        dns_server = ?args.dns_server,
        mail = %mailer.describe(),
        smtp = ?args.smtp_url.as_deref().map(redact_url),
        trusted_proxies = ?args.trusted_proxy,
        secure_cookies = settings.secure_cookies,
        session_hours = args.session_hours,
        session_idle_minutes = args.session_idle_minutes,
        secret_key = "REDACTED",
        "effective configuration"
    );
    let leptos_options = LeptosOptions::builder()
        .output_name(std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "seatgate".into()))
        .site_root(args.site_root.clone())
        .site_pkg_dir(std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into()))
        .site_addr(args.listen)
        .build();
    let dns = seatgate::dns::Dns::new(args.dns_server, std::time::Duration::from_secs(5))?;
    let extra_roots = match &args.metadata_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| {
            anyhow::anyhow!("cannot read --metadata-ca-file {}: {e}", path.display())
        })?),
        None => None,
    };
    let secret_seed = secret.derive(seatgate::activation::LICENCE_KEY_LABEL);
    let state = AppState {
        leptos_options,
        db: db.clone(),
        clock: Clock::System,
        secret,
        mailer,
        dns: dns.clone(),
        fetcher: seatgate::server::fetch::MetadataFetcher::new(
            dns,
            args.metadata_allow_private,
            extra_roots.as_deref(),
            std::time::Duration::from_secs(10),
        )?,
        scim_log: seatgate::scim::routes::ScimLog::start(db.clone()),
        saml_log: seatgate::saml::attempts::AttemptLog::start(db.clone()),
        scim_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(
            args.scim_rate_limit,
            args.scim_rate_limit.saturating_mul(2),
        )),
        activation_limiter: Arc::new(seatgate::scim::routes::ScimLimiter::new(
            args.activation_rate_limit,
            args.activation_rate_limit.saturating_mul(10),
        )),
        licence_signer: Arc::new(seatgate::activation::licence::Signer::from_seed(
            &secret_seed,
        )),
        settings: Arc::new(settings),
    };
    // written in the background: stored before the database closes
    let (scim_log, saml_log) = (state.scim_log.clone(), state.saml_log.clone());
    server::spawn_housekeeping(state.clone());
    server::spawn_domain_checks(state.clone());
    let app = server::router(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!("listening on http://{}", args.listen);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    scim_log.flush().await;
    saml_log.flush().await;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down gracefully");
}
