//! Domain claims: normalisation, the TXT record to publish, what a lookup means, and when to
//! look again. Pure.

use crate::dns::TxtAnswer;

/// The label under the domain where the TXT record lives.
pub const RECORD_LABEL: &str = "_seatgate-verification";
/// Give up on a pending domain after this long (DNS propagation can take up to 72 hours).
pub const GIVE_UP_AFTER_SECS: i64 = 72 * 3600;
const FIRST_RETRY_SECS: i64 = 60;
const MAX_RETRY_SECS: i64 = 6 * 3600;

/// Consumer mail services: their users are not an organisation.
const CONSUMER_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
    "hey.com",
    "mail.ru",
    "outlook.fr",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "yahoo.fr",
    "laposte.net",
    "orange.fr",
    "free.fr",
    "t-online.de",
];

/// Lower case, IDNA (punycode), no trailing dot; refuses what is not a registrable domain
/// (public suffixes such as `com` or `co.uk`) and consumer mail domains.
pub fn normalize(input: &str) -> Result<String, String> {
    let raw = input.trim().trim_end_matches('.');
    if raw.is_empty() {
        return Err("Enter a domain such as example.com.".into());
    }
    if raw.contains('@')
        || raw.contains('/')
        || raw.contains(':')
        || raw.chars().any(char::is_whitespace)
    {
        return Err(
            "Enter the domain only, such as example.com (no email address, scheme or path).".into(),
        );
    }
    let ascii = idna::domain_to_ascii(raw)
        .map_err(|_| format!("\u{201c}{raw}\u{201d} is not a valid domain name."))?;
    if is_known_public_suffix(&ascii) {
        return Err(format!(
            "{ascii} is a public suffix, not your organisation's domain."
        ));
    }
    let labels_ok = ascii.len() <= 253
        && ascii.split('.').count() >= 2
        && ascii.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !labels_ok {
        return Err(format!("\u{201c}{raw}\u{201d} is not a valid domain name."));
    }
    if psl::domain_str(&ascii).is_none() {
        return Err(format!(
            "{ascii} is a public suffix, not your organisation's domain."
        ));
    }
    if CONSUMER_DOMAINS.contains(&ascii.as_str()) {
        return Err(format!(
            "{ascii} is a consumer mail service; add your organisation's own domain."
        ));
    }
    Ok(ascii)
}

/// `com`, `co.uk`, `github.io`: on the Public Suffix List itself.
fn is_known_public_suffix(name: &str) -> bool {
    psl::suffix(name.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == name.as_bytes())
}

pub fn record_name(domain: &str) -> String {
    format!("{RECORD_LABEL}.{domain}")
}

pub fn record_value(token: &str) -> String {
    format!("seatgate-verification={token}")
}

/// What one check concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    Verified,
    /// TXT records exist, none with our value.
    Mismatch(Vec<String>),
    NoRecord,
    Timeout,
    Error(String),
}

impl CheckOutcome {
    pub fn from_answer(answer: TxtAnswer, token: &str) -> CheckOutcome {
        let want = record_value(token);
        match answer {
            TxtAnswer::Records(values) if values.iter().any(|v| v.trim() == want) => {
                CheckOutcome::Verified
            }
            TxtAnswer::Records(values) => CheckOutcome::Mismatch(values),
            TxtAnswer::NoRecords => CheckOutcome::NoRecord,
            TxtAnswer::Timeout => CheckOutcome::Timeout,
            TxtAnswer::Error(e) => CheckOutcome::Error(e),
        }
    }

    /// Short code stored with the domain.
    pub fn code(&self) -> &'static str {
        match self {
            CheckOutcome::Verified => "verified",
            CheckOutcome::Mismatch(_) => "mismatch",
            CheckOutcome::NoRecord => "no_record",
            CheckOutcome::Timeout => "timeout",
            CheckOutcome::Error(_) => "dns_error",
        }
    }

    pub fn found(&self) -> Vec<String> {
        match self {
            CheckOutcome::Mismatch(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

/// The sentence shown for a stored outcome code.
pub fn describe(code: &str, domain: &str) -> String {
    match code {
        "verified" => "The TXT record was found: the domain is verified.".into(),
        "mismatch" => format!(
            "TXT records exist at {}, but none has the expected value.",
            record_name(domain)
        ),
        "no_record" => format!(
            "No TXT record found at {} yet. DNS changes can take a while to appear.",
            record_name(domain)
        ),
        "timeout" => "Could not reach DNS, try again.".into(),
        "dns_error" => "The DNS lookup failed, try again.".into(),
        "taken" => "Another business account verified this domain first.".into(),
        _ => code.into(),
    }
}

/// When to check a pending domain next, or `None` to give up (mark it failed).
pub fn next_check(added_at: i64, attempts: i64, now: i64) -> Option<i64> {
    if now - added_at >= GIVE_UP_AFTER_SECS {
        return None;
    }
    let backoff = FIRST_RETRY_SECS
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(MAX_RETRY_SECS);
    Some(now + backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        assert_eq!(
            normalize(" Acme.Example.COM. ").as_deref(),
            Ok("acme.example.com")
        );
        assert_eq!(normalize("bücher.de").as_deref(), Ok("xn--bcher-kva.de"));
        assert_eq!(normalize("eu.acme.co.uk").as_deref(), Ok("eu.acme.co.uk"));
    }

    #[test]
    fn public_suffixes_consumer_domains_and_garbage_are_refused() {
        for (input, why) in [
            ("com", "public suffix"),
            ("co.uk", "public suffix"),
            ("gmail.com", "consumer"),
            ("Outlook.com", "consumer"),
            ("bob@acme.com", "domain only"),
            ("https://acme.com", "domain only"),
            ("acme", "not a valid"),
            ("-acme.com", "not a valid"),
            ("", "Enter a domain"),
        ] {
            let err = normalize(input).expect_err(input);
            assert!(err.contains(why), "{input}: {err}");
        }
    }

    #[test]
    fn lookups_are_read_fail_closed() {
        let token = "abc123";
        let ok = TxtAnswer::Records(vec!["v=spf1 -all".into(), record_value(token)]);
        assert_eq!(CheckOutcome::from_answer(ok, token), CheckOutcome::Verified);
        let wrong = TxtAnswer::Records(vec![record_value("other")]);
        assert_eq!(
            CheckOutcome::from_answer(wrong, token),
            CheckOutcome::Mismatch(vec![record_value("other")])
        );
        let prefix = TxtAnswer::Records(vec![format!("{}extra", record_value(token))]);
        assert!(matches!(
            CheckOutcome::from_answer(prefix, token),
            CheckOutcome::Mismatch(_)
        ));
        assert_eq!(
            CheckOutcome::from_answer(TxtAnswer::NoRecords, token),
            CheckOutcome::NoRecord
        );
        assert_eq!(
            CheckOutcome::from_answer(TxtAnswer::Timeout, token),
            CheckOutcome::Timeout
        );
        assert_eq!(
            describe("timeout", "acme.com"),
            "Could not reach DNS, try again."
        );
    }

    #[test]
    fn rechecks_back_off_and_stop_after_72_hours() {
        let t0 = 1_000_000;
        assert_eq!(next_check(t0, 0, t0), Some(t0 + 60));
        assert_eq!(next_check(t0, 3, t0 + 100), Some(t0 + 100 + 480));
        assert_eq!(
            next_check(t0, 30, t0 + 100),
            Some(t0 + 100 + 6 * 3600),
            "capped at 6 hours"
        );
        assert_eq!(next_check(t0, 5, t0 + 72 * 3600), None);
    }
}
