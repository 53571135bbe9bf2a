//! Validations per second of `saml::validate` on an ordinary response: RSA-2048/SHA-256, four
//! attributes, signed assertion, the way Entra or Okta send it. One thread, then one per core.
//!
//! `cargo bench --features ssr --bench saml_validate`

#[allow(clippy::unwrap_used)]
#[path = "../tests/saml/common.rs"]
mod common;

use common::{idp, sp, Tpl, NOW, SKEW};
use seatgate::saml::validate::validate;
use std::time::Instant;

fn rate(xml: &str, secs: f64) -> f64 {
    let (idp, sp) = (idp(), sp());
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed().as_secs_f64() < secs {
        let a = validate(xml.as_bytes(), &idp, &sp, None, true, NOW, SKEW);
        assert!(a.is_ok(), "{a:?}");
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() {
    let xml = Tpl::default().signed();
    // warm-up: xmlsec initialisation, certificate parsing caches
    rate(&xml, 0.5);
    let one = rate(&xml, 5.0);
    println!(
        "saml::validate, RSA-2048/SHA-256, 4 attributes, {} bytes: {one:.0} validations/s on one thread ({:.0} µs each)",
        xml.len(),
        1e6 / one
    );
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let handles: Vec<_> = (0..cores)
        .map(|_| {
            let xml = xml.clone();
            std::thread::spawn(move || rate(&xml, 5.0))
        })
        .collect();
    let total: f64 = handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum();
    println!("saml::validate on {cores} threads: {total:.0} validations/s in all");
}
