//! The SAML response validator (`saml::validate`), a pure function: real IdP captures at
//! their instant, and responses from our own test IdP for every attack and misconfiguration.

// test code: a failed unwrap is a failed test
#![allow(clippy::unwrap_used)]

mod attacks;
mod common;
mod real_idps;
