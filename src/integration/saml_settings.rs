//! Step 4 inputs: the IdP's entity ID, SSO URL and signing certificates, typed in or read
//! from the IdP's metadata XML. Pure: parsing and checks take `now`.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use sha2::{Digest, Sha256};

/// Certificates expiring within this many seconds get a warning.
pub const EXPIRY_WARNING_SECS: i64 = 30 * 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub der_base64: String,
    /// SHA-256 of the DER, upper-case hex with colons, as IdP consoles show it.
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
}

/// Reads a certificate given as PEM or as bare base64 (what metadata and IdP consoles show),
/// refusing garbage, certificates not yet valid, and expired ones.
pub fn parse_certificate(input: &str, now: i64) -> Result<Certificate, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err("Paste the IdP's signing certificate (PEM or base64).".into());
    }
    let body: String = if text.contains("-----BEGIN") {
        let start = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or("This PEM block is not a certificate.")?;
        let rest = &text[start + "-----BEGIN CERTIFICATE-----".len()..];
        let end = rest
            .find("-----END CERTIFICATE-----")
            .ok_or("The PEM certificate has no END line.")?;
        rest[..end].chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    };
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "This is not a certificate: it is neither PEM nor base64.".to_string())?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|_| "This is not an X.509 certificate.".to_string())?;
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    if not_after <= now {
        return Err(format!(
            "This certificate expired on {}. Ask your IdP for its current signing certificate.",
            date(not_after)
        ));
    }
    if not_before > now {
        return Err(format!(
            "This certificate is not valid before {}.",
            date(not_before)
        ));
    }
    let fingerprint = Sha256::digest(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(Certificate {
        der_base64: STANDARD.encode(&der),
        fingerprint,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before,
        not_after,
    })
}

fn date(epoch: i64) -> String {
    crate::server::clock::format_date(epoch)
}

pub fn check_entity_id(input: &str) -> Result<String, String> {
    let v = input.trim();
    if v.is_empty() {
        return Err("Enter the IdP's entity ID (also called issuer or identifier).".into());
    }
    if v.len() > 1024 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("An entity ID is a single URI without spaces, at most 1024 characters.".into());
    }
    Ok(v.to_string())
}

/// The IdP's SSO URL: https, or http only to a loopback address (a test IdP on this machine).
pub fn check_sso_url(input: &str) -> Result<String, String> {
    let v = input.trim();
    let url = url::Url::parse(v)
        .map_err(|_| "Enter the IdP's single sign-on URL, starting with https://.".to_string())?;
    let loopback = matches!(
        url.host_str(),
        Some("localhost") | Some("127.0.0.1") | Some("[::1]")
    );
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("The single sign-on URL must start with https://.".into()),
    }
    if url.host_str().is_none() {
        return Err("The single sign-on URL has no host.".into());
    }
    Ok(url.to_string())
}

/// What an IdP's metadata document provides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    pub sso_url: String,
    pub certificates: Vec<String>,
}

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Reads entity ID, SSO URL (HTTP-Redirect preferred, else HTTP-POST) and signing
/// certificates from an `EntityDescriptor` with an `IDPSSODescriptor`.
pub fn parse_metadata(xml: &str) -> Result<IdpMetadata, String> {
    if xml.len() > 512 * 1024 {
        return Err("This metadata file is larger than 512 KiB.".into());
    }
    // roxmltree refuses DTDs by default: no entity expansion attacks
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| format!("This is not well-formed XML: {e}."))?;
    let entity = doc
        .descendants()
        .find(|n| n.has_tag_name((MD, "EntityDescriptor")))
        .ok_or("This XML is not SAML metadata: it has no EntityDescriptor.")?;
    let entity_id = entity
        .attribute("entityID")
        .ok_or("The EntityDescriptor has no entityID.")?
        .to_string();
    let idp = entity
        .children()
        .find(|n| n.has_tag_name((MD, "IDPSSODescriptor")))
        .ok_or("This metadata describes no identity provider (no IDPSSODescriptor).")?;
    let sso = |binding: &str| {
        idp.children()
            .filter(|n| n.has_tag_name((MD, "SingleSignOnService")))
            .find(|n| n.attribute("Binding") == Some(binding))
            .and_then(|n| n.attribute("Location"))
            .map(str::to_string)
    };
    let sso_url = sso(REDIRECT)
        .or_else(|| sso(POST))
        .ok_or("The metadata names no SingleSignOnService.")?;
    let certificates: Vec<String> = idp
        .children()
        .filter(|n| {
            n.has_tag_name((MD, "KeyDescriptor"))
                && n.attribute("use").is_none_or(|u| u == "signing")
        })
        .flat_map(|k| {
            k.descendants()
                .filter(|n| n.has_tag_name((DSIG, "X509Certificate")))
        })
        .filter_map(|n| n.text())
        .map(|t| t.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .collect();
    if certificates.is_empty() {
        return Err("The metadata holds no signing certificate.".into());
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-15, the tests' fixed "now".
    const NOW: i64 = 1_768_478_400;

    fn fixture(idp: &str) -> String {
        std::fs::read_to_string(format!("tests/fixtures/saml/{idp}/metadata.xml")).expect("fixture")
    }

    #[test]
    fn metadata_from_real_idps_is_read() {
        let okta = parse_metadata(&fixture("okta")).expect("okta");
        assert_eq!(okta.entity_id, "http://www.okta.com/exkdoocxa1VmjpXmX697");
        assert!(okta.sso_url.starts_with("https://"), "{}", okta.sso_url);
        assert_eq!(okta.certificates.len(), 1);
        let cert = parse_certificate(&okta.certificates[0], NOW).expect("okta cert");
        assert_eq!(cert.fingerprint.len(), 32 * 3 - 1);
        assert!(cert.subject.contains("okta"), "{}", cert.subject);
        for idp in ["keycloak", "google", "adfs"] {
            let m = parse_metadata(&fixture(idp)).unwrap_or_else(|e| panic!("{idp}: {e}"));
            assert!(!m.certificates.is_empty(), "{idp}");
        }
    }

    #[test]
    fn expired_and_garbage_certificates_are_refused_with_a_reason() {
        let ping = parse_metadata(&fixture("ping"))
            .map(|m| m.certificates)
            .unwrap_or_default();
        if let Some(c) = ping.first() {
            let err = parse_certificate(c, NOW).expect_err("Ping's 2024 certificate is expired");
            assert!(err.contains("expired on 2024-11-17"), "{err}");
        }
        assert!(parse_certificate("hello", NOW)
            .expect_err("garbage")
            .contains("not"));
        assert!(parse_certificate("aGVsbG8=", NOW)
            .expect_err("not x509")
            .contains("X.509"));
        let okta = parse_metadata(&fixture("okta")).expect("okta").certificates[0].clone();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            okta
        );
        assert_eq!(parse_certificate(&pem, NOW).expect("pem").der_base64, okta);
        assert!(parse_certificate(&okta, 2_100_000_000)
            .expect_err("2036")
            .contains("expired"));
    }

    #[test]
    fn metadata_without_an_idp_or_with_a_dtd_is_refused() {
        assert!(parse_metadata("<x/>")
            .expect_err("no entity")
            .contains("EntityDescriptor"));
        let dtd = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
        assert!(parse_metadata(dtd).is_err());
        assert!(parse_metadata("not xml")
            .expect_err("garbage")
            .contains("well-formed"));
    }

    #[test]
    fn sso_urls_must_be_https_except_on_loopback() {
        assert!(check_sso_url("https://idp.example.com/sso").is_ok());
        assert!(check_sso_url("http://127.0.0.1:9000/sso").is_ok());
        assert!(check_sso_url("http://idp.example.com/sso").is_err());
        assert!(check_sso_url("javascript:alert(1)").is_err());
        assert!(check_entity_id("https://idp.example.com/metadata").is_ok());
        assert!(check_entity_id("has space").is_err());
    }
}
