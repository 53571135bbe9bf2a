//! Issuing keys: random body, checksum (see `model::license_key`), stored as SHA-256 only.

use crate::{
    model::license_key,
    server::{clock::format_date, secrets::sha256_hex},
    store::{Db, StoreError},
};
use rand::Rng;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("--seats must be at least 1")]
    NoSeats,
    #[error("--expires must be a date like 2027-12-31: {0}")]
    BadDate(String),
    #[error("--expires {0} is already past")]
    PastDate(String),
    #[error("--product must be 1 to 40 letters, digits, '-' or '_'")]
    BadProduct,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new random key in canonical form.
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut body = [0u32; license_key::BODY_LEN];
    for v in body.iter_mut() {
        *v = rng.gen_range(0..32);
    }
    license_key::from_body(&body)
}

/// Parses `YYYY-MM-DD` as the last valid day: the key expires at the end of it (UTC).
pub fn parse_expiry(s: &str, now: i64) -> Result<i64, IssueError> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| IssueError::BadDate(e.to_string()))?;
    let end = d
        .succ_opt()
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| IssueError::BadDate(s.to_string()))?;
    if end <= now {
        return Err(IssueError::PastDate(s.to_string()));
    }
    Ok(end)
}

/// Issues a key and returns it in clear: the only time it is ever shown.
pub async fn issue(
    db: &Db,
    seats: u32,
    expires: Option<&str>,
    product: &str,
    now: i64,
) -> Result<String, IssueError> {
    if seats == 0 {
        return Err(IssueError::NoSeats);
    }
    if product.is_empty()
        || product.len() > 40
        || !product
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(IssueError::BadProduct);
    }
    let expires_at = expires.map(|e| parse_expiry(e, now)).transpose()?;
    let key = generate();
    db.insert_license_key(
        &sha256_hex(&key),
        &license_key::hint(&key),
        product,
        i64::from(seats),
        expires_at,
        now,
    )
    .await?;
    Ok(key)
}

/// `seatgate license list` as text lines.
pub async fn list(db: &Db) -> Result<Vec<String>, StoreError> {
    let mut lines = vec![format!(
        "{:<10} {:<12} {:>11} {:<12} {}",
        "KEY", "PRODUCT", "SEATS", "EXPIRES", "OWNER"
    )];
    for k in db.license_keys().await? {
        lines.push(format!(
            "{:<10} {:<12} {:>11} {:<12} {}",
            k.key_hint,
            k.product,
            format!("{}/{}", k.seats_used, k.seats),
            k.expires_at
                .map(|e| format_date(e - 1))
                .unwrap_or_else(|| "never".into()),
            k.business_name.unwrap_or_else(|| "(not registered)".into())
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_valid_and_distinct() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert_eq!(license_key::parse(&a), Ok(a.clone()));
    }

    #[test]
    fn expiry_is_the_end_of_the_given_day() {
        let now = 1_700_000_000; // 2023-11-14
        let end = parse_expiry("2027-12-31", now).expect("date");
        assert_eq!(format_date(end), "2028-01-01");
        assert_eq!(format_date(end - 1), "2027-12-31");
        assert!(matches!(
            parse_expiry("2020-01-01", now),
            Err(IssueError::PastDate(_))
        ));
        assert!(matches!(
            parse_expiry("31/12/2027", now),
            Err(IssueError::BadDate(_))
        ));
    }
}
