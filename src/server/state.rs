//! `AppState`: what every handler and server function can reach.

use super::{clock::Clock, mail::Mailer, secrets::SecretKey};
use crate::{dns::Dns, store::Db};
use ipnet::IpNet;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub clock: Clock,
    pub secret: SecretKey,
    pub mailer: Mailer,
    pub dns: Dns,
    pub fetcher: super::fetch::MetadataFetcher,
    pub scim_limiter: Arc<crate::scim::routes::ScimLimiter>,
    pub scim_log: crate::scim::routes::ScimLog,
    pub saml_log: crate::saml::attempts::AttemptLog,
    /// Per client address, on the unauthenticated activation start.
    #[from_ref(skip)]
    pub activation_limiter: Arc<crate::scim::routes::ScimLimiter>,
    #[from_ref(skip)]
    pub licence_signer: Arc<crate::activation::licence::Signer>,
    pub settings: Arc<Settings>,
}

/// Effective settings derived from the command line once at start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL without a trailing slash, e.g. `https://seatgate.example.com`.
    pub public_url: String,
    /// `scheme://host[:port]` of the public URL, compared with `Origin`.
    pub public_origin: String,
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<IpNet>,
    pub session_secs: i64,
    pub session_idle_secs: i64,
    /// Allowed clock difference with IdPs for SAML time conditions.
    pub saml_skew_secs: i64,
    /// How long a desktop licence works offline.
    pub licence_grace_secs: i64,
    /// Where the desktop client builds offered for download are.
    pub client_dir: Option<std::path::PathBuf>,
}

impl Settings {
    pub fn new(
        public_url: &url::Url,
        trusted_proxies: Vec<IpNet>,
        session_secs: i64,
        session_idle_secs: i64,
    ) -> Self {
        let base = public_url.as_str().trim_end_matches('/').to_string();
        Settings {
            public_origin: public_url.origin().ascii_serialization(),
            secure_cookies: public_url.scheme() == "https",
            public_url: base,
            trusted_proxies,
            session_secs,
            session_idle_secs,
            saml_skew_secs: 120,
            licence_grace_secs: 7 * 86_400,
            client_dir: None,
        }
    }

    /// An absolute link into the portal for mail.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url, path_and_query)
    }
}
