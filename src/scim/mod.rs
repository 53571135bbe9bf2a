//! SCIM 2.0 provisioning server (RFC 7643 / RFC 7644): the pure core (filter, PATCH,
//! projection, schemas, errors), the account-level operations (`service`) and the HTTP edge
//! (`routes`).

pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod project;
pub mod routes;
pub mod schema;
pub mod service;

/// How long the SCIM request log is kept for the admin.
pub const LOG_RETENTION_SECS: i64 = 7 * 24 * 3600;
