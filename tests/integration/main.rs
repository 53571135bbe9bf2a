//! Integration tests through `server::router(state)` on SQLite and PostgreSQL.

mod dns_server;
mod support;

mod accounts;
mod business;
mod configurator;
mod http_edge;
mod metadata_fetch;
mod scim;
