//! Command line and environment: `seatgate serve`, `seatgate license …`.

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use std::{net::SocketAddr, path::PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "seatgate",
    version,
    about = "Single sign-on (SAML 2.0, SCIM 2.0) and per-user seat licensing for desktop products"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web service (portal, server functions, SAML ACS, SCIM and activation APIs).
    Serve(Box<ServeArgs>),
    /// Vendor tools for per-user subscription keys.
    License {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: LicenseCommand,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host/db`.
    /// Default: SQLite at `<data-dir>/seatgate.db`, created and migrated on start.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the SQLite database, the generated secret key and the mail outbox.
    #[arg(long, env = "SEATGATE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl DbArgs {
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("seatgate.db").display()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Issue a new per-user subscription key and print it (it is shown only this once).
    Issue {
        /// Number of seats (users who may hold a license at the same time).
        #[arg(long)]
        seats: u32,
        /// Last day of the subscription, `YYYY-MM-DD` (UTC); none = no expiry.
        #[arg(long)]
        expires: Option<String>,
        /// Product the subscription is for.
        #[arg(long, default_value = "desktop")]
        product: String,
    },
    /// List issued keys (hint only), seats, expiry and owner.
    List,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SEATGATE_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    /// Externally visible base URL (used for links in mail and, later, SAML/SCIM URLs).
    /// Default: http://<listen>.
    #[arg(long, env = "SEATGATE_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// DNS server `ip:port` for lookups instead of the system resolver.
    #[arg(long, env = "SEATGATE_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,
    /// Let the configurator fetch IdP metadata from private, loopback and link-local
    /// addresses (an IdP on the internal network). Off: only public addresses are fetched.
    #[arg(long, env = "SEATGATE_METADATA_ALLOW_PRIVATE")]
    pub metadata_allow_private: bool,
    /// PEM file with further CA certificates trusted when fetching IdP metadata (an internal
    /// CA); the Web PKI roots are always trusted.
    #[arg(long, env = "SEATGATE_METADATA_CA_FILE")]
    pub metadata_ca_file: Option<std::path::PathBuf>,
    /// Allowed clock difference with IdPs for SAML NotBefore/NotOnOrAfter, in seconds.
    #[arg(long, env = "SEATGATE_SAML_CLOCK_SKEW", default_value_t = 120)]
    pub saml_clock_skew: u32,
    /// SCIM requests per second per business account (token bucket; bursts of twice this).
    /// Over it, the IdP gets 429 with Retry-After.
    #[arg(long, env = "SEATGATE_SCIM_RATE_LIMIT", default_value_t = 200)]
    pub scim_rate_limit: u32,
    /// Activation starts per second per client address (token bucket; bursts of ten times
    /// this, for offices behind one NAT address). Over it, 429 with Retry-After.
    #[arg(long, env = "SEATGATE_ACTIVATION_RATE_LIMIT", default_value_t = 5)]
    pub activation_rate_limit: u32,
    /// Days a desktop licence works offline before the app must check in again (capped by
    /// the subscription's end).
    #[arg(long, env = "SEATGATE_LICENCE_GRACE_DAYS", default_value_t = 7)]
    pub licence_grace_days: u32,
    /// Folder with the desktop client builds offered at /directdownload/pd (default: the
    /// folder of this executable, where `cargo build` puts `seatgate-desktop`).
    #[arg(long, env = "SEATGATE_CLIENT_DIR")]
    pub client_dir: Option<std::path::PathBuf>,
    /// Outgoing mail: `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS),
    /// `smtps://user:pass@host` (TLS). Without it, mail goes to `<data-dir>/outbox.log` and the log.
    #[arg(long, env = "SEATGATE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    #[arg(
        long,
        env = "SEATGATE_MAIL_FROM",
        default_value = "Seatgate <no-reply@seatgate.invalid>"
    )]
    pub mail_from: String,
    /// Reverse proxy addresses or networks (repeat or comma-separate) whose
    /// X-Forwarded-For header is trusted for the client address.
    #[arg(long, env = "SEATGATE_TRUSTED_PROXY", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxy: Vec<IpNet>,
    /// Folder with the built site (`pkg/` with the WebAssembly, JS and CSS).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Absolute session lifetime in hours.
    #[arg(long, env = "SEATGATE_SESSION_HOURS", default_value_t = 24 * 7)]
    pub session_hours: u32,
    /// Idle session lifetime in minutes.
    #[arg(long, env = "SEATGATE_SESSION_IDLE_MINUTES", default_value_t = 60 * 12)]
    pub session_idle_minutes: u32,
}

impl ServeArgs {
    pub fn public_url(&self) -> url::Url {
        self.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}/", self.listen)).unwrap_or_else(|_| {
                // a SocketAddr always forms a valid authority; keep a safe fallback anyway
                url::Url::parse("http://127.0.0.1:3000/").expect("static URL")
            })
        })
    }
}

/// An address (`10.0.0.1`) or a network (`10.0.0.0/8`).
fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a network like 10.0.0.0/8"))
}

/// A URL with any password replaced, for logs.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            u.to_string()
        }
        Err(_) => "<unparseable URL>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted_for_logs() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example/seatgate"),
            "postgres://app:REDACTED@db.example/seatgate"
        );
        assert!(!redact_url("smtps://u:hunter2@mail.example").contains("hunter2"));
        assert_eq!(
            redact_url("sqlite://data/seatgate.db"),
            "sqlite://data/seatgate.db"
        );
    }

    #[test]
    fn flags_have_documented_defaults() {
        let cli = Cli::try_parse_from(["seatgate", "serve"]).expect("parse");
        let Command::Serve(s) = cli.command else {
            panic!("serve expected")
        };
        assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
        assert!(s.db.url().starts_with("sqlite://"));
        assert_eq!(s.public_url().as_str(), "http://127.0.0.1:3000/");
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_networks() {
        let cli = Cli::try_parse_from([
            "seatgate",
            "serve",
            "--trusted-proxy",
            "10.0.0.0/8,192.168.1.1",
        ])
        .expect("parse");
        let Command::Serve(s) = cli.command else {
            panic!("serve expected")
        };
        assert_eq!(s.trusted_proxy.len(), 2);
    }
}
