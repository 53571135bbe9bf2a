//! Integration tests through `server::router(state)` on SQLite and PostgreSQL.

mod dns_server;
// the test IdP of the SAML validator's tests: keys and signed response templates
#[allow(clippy::unwrap_used)]
#[path = "../saml/common.rs"]
mod saml_idp;
mod support;

mod accounts;
mod activation;
mod business;
mod configurator;
mod http_edge;
mod metadata_fetch;
mod scim;
mod sso;
mod store;
