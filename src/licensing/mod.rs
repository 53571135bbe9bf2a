//! Licensing: the vendor's per-user subscription keys (issued here, registered by customers
//! through `accounts::business`).

pub mod keys;
