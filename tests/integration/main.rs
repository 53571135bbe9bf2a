//! Integration tests through `server::router(state)` on SQLite and PostgreSQL.

mod support;

mod accounts;
mod business;
mod http_edge;
