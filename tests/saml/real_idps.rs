//! Real IdP responses (SSOReady fixtures, MIT, see tests/fixtures/saml/real-idps/LICENSE) at their `now`.

use seatgate::saml::validate::{validate, Assertion, IdpSettings, SpSettings};
use std::path::PathBuf;
use std::sync::Arc;

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const SKEW: i64 = 60;

struct Fixture {
    xml: Vec<u8>,
    idp: IdpSettings,
    sp_entity_id: String,
    now: i64,
}

fn dir(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/saml/real-idps")
        .join(folder)
}

/// IdPSSODescriptor signing certificates (KeyDescriptor use="signing" or without `use`).
fn idp_from_metadata(metadata: &str) -> IdpSettings {
    let doc = roxmltree::Document::parse(metadata.trim_start_matches('\u{feff}')).unwrap();
    let root = doc.root_element();
    let mut certificates_der = Vec::new();
    for descriptor in root
        .children()
        .filter(|n| n.has_tag_name((MD, "IDPSSODescriptor")))
    {
        for key in descriptor
            .children()
            .filter(|n| n.has_tag_name((MD, "KeyDescriptor")))
        {
            if key.attribute("use").is_some_and(|u| u != "signing") {
                continue;
            }
            for cert in key
                .descendants()
                .filter(|n| n.has_tag_name((DS, "X509Certificate")))
            {
                let der =
                    samael::crypto::decode_x509_cert(cert.text().unwrap_or_default()).unwrap();
                let der = der.der_data().to_vec();
                if !certificates_der.contains(&der) {
                    certificates_der.push(der);
                }
            }
        }
    }
    IdpSettings {
        entity_id: root.attribute("entityID").unwrap().to_string(),
        certificates_der,
    }
}

fn load(folder: &str) -> Fixture {
    let d = dir(folder);
    let params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("params.json")).unwrap()).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(params["now"].as_str().unwrap()).unwrap();
    Fixture {
        xml: std::fs::read(d.join("assertion.xml")).unwrap(),
        idp: idp_from_metadata(&std::fs::read_to_string(d.join("metadata.xml")).unwrap()),
        sp_entity_id: params["sp_entity_id"].as_str().unwrap().to_string(),
        now: now.timestamp(),
    }
}

/// Test-only: the ACS URL and request ID the IdP was configured with, read from the document.
fn binding_of(xml: &[u8]) -> (String, Option<String>) {
    let Ok(text) = std::str::from_utf8(xml) else {
        return (String::new(), None);
    };
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return (String::new(), None);
    };
    let data = doc
        .descendants()
        .find(|n| n.tag_name().name() == "SubjectConfirmationData");
    let acs = data
        .and_then(|d| d.attribute("Recipient"))
        .or_else(|| doc.root_element().attribute("Destination"))
        .unwrap_or_default();
    (
        acs.to_string(),
        data.and_then(|d| d.attribute("InResponseTo"))
            .map(str::to_string),
    )
}

fn run(f: &Fixture) -> Result<Assertion, seatgate::saml::error::ValidateError> {
    let (acs_url, irt) = binding_of(&f.xml);
    let sp = SpSettings {
        entity_id: f.sp_entity_id.clone(),
        acs_url,
    };
    validate(
        &f.xml,
        &f.idp,
        &sp,
        irt.as_deref(),
        irt.is_none(),
        f.now,
        SKEW,
    )
}

/// Removes the Okta-style Response signature (the first `ds:Signature`, before the assertion).
fn without_response_signature(xml: &[u8]) -> Vec<u8> {
    let s = std::str::from_utf8(xml).unwrap();
    let start = s.find("<ds:Signature").unwrap();
    assert!(start < s.find("<saml2:Assertion").unwrap());
    let end = s.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    format!("{}{}", &s[..start], &s[end..]).into_bytes()
}

struct Case {
    name: &'static str,
    folder: &'static str,
    strip_response_signature: bool,
    /// `Ok(name_id)` or `Err(category)`.
    want: Result<&'static str, &'static str>,
}

const fn c(
    name: &'static str,
    folder: &'static str,
    strip: bool,
    want: Result<&'static str, &'static str>,
) -> Case {
    Case {
        name,
        folder,
        strip_response_signature: strip,
        want,
    }
}

const CASES: &[Case] = &[
    c(
        "Entra ID (adfs) guest",
        "assertions/adfs",
        false,
        Ok("ulysse.carion_codomaindata.com#EXT#@ulyssecarioncodomaindata.onmicrosoft.com"),
    ),
    c(
        "Google Workspace",
        "assertions/google",
        false,
        Ok("ulysse.carion@codomaindata.com"),
    ),
    c(
        "JumpCloud",
        "assertions/jumpcloud",
        false,
        Ok("ulysse.carion@codomaindata.com"),
    ),
    c(
        "Keycloak (InResponseTo)",
        "assertions/keycloak",
        false,
        Ok("ulysse.carion@ssoready.com"),
    ),
    c(
        "PingOne (UUID NameID)",
        "assertions/ping",
        false,
        Ok("9e34fa21-4e8f-4dee-b565-648dbcf25eff"),
    ),
    // The Okta capture and every variant carry a Response signature that does not verify.
    c(
        "Okta: broken Response signature",
        "assertions/okta",
        false,
        Err("bad_signature"),
    ),
    c(
        "expired-early as captured",
        "bad-assertions/bad-assertion-expired-early",
        false,
        Err("bad_signature"),
    ),
    c(
        "expired-late as captured",
        "bad-assertions/bad-assertion-expired-late",
        false,
        Err("bad_signature"),
    ),
    c(
        "wrong IdP entity ID as captured",
        "bad-assertions/bad-idp-entity-id",
        false,
        Err("bad_signature"),
    ),
    c(
        "wrong SP entity ID as captured",
        "bad-assertions/bad-sp-entity-id",
        false,
        Err("bad_signature"),
    ),
    c(
        "unsigned assertion as captured",
        "bad-assertions/unsigned-assertion",
        false,
        Err("bad_signature"),
    ),
    c(
        "no-certificate as captured",
        "bad-assertions/no-certificate",
        false,
        Err("bad_signature"),
    ),
    c(
        "changed certificate in metadata",
        "bad-assertions/bad-certificate",
        false,
        Err("bad_signature"),
    ),
    c(
        "unknown signature algorithm",
        "bad-assertions/bad-signature-algorithm",
        false,
        Err("signature_algorithm"),
    ),
    c(
        "unknown digest algorithm",
        "bad-assertions/bad-digest-algorithm",
        false,
        Err("digest_algorithm"),
    ),
    c(
        "body is a NUL byte",
        "bad-assertions/bad-assertion-utf8",
        false,
        Err("malformed"),
    ),
    // Without the broken Response signature, each variant shows its own defect.
    c(
        "Okta, assertion signature only",
        "assertions/okta",
        true,
        Ok("ulysse.carion@codomaindata.com"),
    ),
    c(
        "not yet valid",
        "bad-assertions/bad-assertion-expired-early",
        true,
        Err("not_yet_valid"),
    ),
    c(
        "expired",
        "bad-assertions/bad-assertion-expired-late",
        true,
        Err("expired"),
    ),
    c(
        "wrong IdP entity ID",
        "bad-assertions/bad-idp-entity-id",
        true,
        Err("wrong_issuer"),
    ),
    c(
        "wrong SP entity ID",
        "bad-assertions/bad-sp-entity-id",
        true,
        Err("wrong_audience"),
    ),
    c(
        "assertion signature removed",
        "bad-assertions/unsigned-assertion",
        true,
        Err("unsigned"),
    ),
    c(
        "no signature left",
        "bad-assertions/no-certificate",
        true,
        Err("unsigned"),
    ),
    c(
        "changed certificate, assertion only",
        "bad-assertions/bad-certificate",
        true,
        Err("bad_signature"),
    ),
];

#[test]
fn real_idp_responses() {
    let mut failures = Vec::new();
    for case in CASES {
        let mut f = load(case.folder);
        if case.strip_response_signature {
            f.xml = without_response_signature(&f.xml);
        }
        let got = run(&f);
        println!(
            "{:<40} {:?}",
            case.name,
            got.as_ref().map(|a| &a.name_id).map_err(|e| e.to_string())
        );
        let ok = match (&got, case.want) {
            (Ok(a), Ok(name_id)) => a.name_id == name_id,
            (Err(e), Err(category)) => e.category() == category,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: want {:?}, got {:?}",
                case.name, case.want, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn real_idp_attributes_are_extracted() {
    let adfs = run(&load("assertions/adfs")).unwrap();
    assert_eq!(adfs.display_name(), Some("Ulysse Carion"));
    assert_eq!(
        adfs.object_identifier(),
        Some("74a35d48-1914-4115-82f1-1b8a01449f3d")
    );
    assert_eq!(
        adfs.name(),
        Some("ulysse.carion_codomaindata.com#EXT#@ulyssecarioncodomaindata.onmicrosoft.com")
    );
    assert_eq!(
        adfs.attribute("http://schemas.microsoft.com/claims/authnmethodsreferences")
            .map(<[String]>::len),
        Some(3)
    );
    assert_eq!(
        adfs.issuer,
        "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/"
    );

    let keycloak = run(&load("assertions/keycloak")).unwrap();
    assert_eq!(
        keycloak.in_response_to.as_deref(),
        Some("saml_flow_95q1hli3z0vohj0d55l4j4yo1")
    );
    assert_eq!(
        keycloak.attribute("Role").map(<[String]>::len),
        Some(6),
        "six Role elements merged"
    );

    let ping = run(&load("assertions/ping")).unwrap();
    assert_eq!(ping.session_not_on_or_after, ping.not_on_or_after.into());
    assert_eq!(
        ping.attribute("saml_subject"),
        Some(&["9e34fa21-4e8f-4dee-b565-648dbcf25eff".to_string()][..])
    );
}

/// The same `now` one hour later: every real response has expired.
#[test]
fn real_idp_responses_expire() {
    for folder in [
        "assertions/adfs",
        "assertions/google",
        "assertions/jumpcloud",
        "assertions/keycloak",
        "assertions/ping",
    ] {
        let mut f = load(folder);
        f.now += 2 * 3600;
        assert_eq!(run(&f).unwrap_err().category(), "expired", "{folder}");
    }
}

#[test]
fn no_configured_certificate_fails_closed() {
    let mut f = load("assertions/google");
    f.idp.certificates_der.clear();
    assert_eq!(run(&f).unwrap_err().category(), "no_certificate");
}

/// libxml2/xmlsec are driven from many blocking threads at once in production.
#[test]
fn validates_in_parallel_on_eight_threads() {
    let f = Arc::new(load("assertions/google"));
    let bad = Arc::new(load("assertions/okta"));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (f, bad) = (Arc::clone(&f), Arc::clone(&bad));
            std::thread::spawn(move || {
                for i in 0..200 {
                    let a = run(&f).expect("google fixture must validate");
                    assert_eq!(a.name_id, "ulysse.carion@codomaindata.com");
                    if i % 20 == 0 {
                        assert_eq!(run(&bad).unwrap_err().category(), "bad_signature");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread panicked");
    }
}
