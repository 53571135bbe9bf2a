//! Responses signed by our own test IdP: valid ones, and one per attack or misconfiguration.

use crate::common::*;
use seatgate::saml::validate::{validate, Assertion, IdpSettings};

struct Case {
    name: &'static str,
    xml: Vec<u8>,
    idp: IdpSettings,
    expected_request: Option<&'static str>,
    allow_unsolicited: bool,
    now: i64,
    /// `None`: must be accepted.
    want_category: Option<&'static str>,
}

fn case(name: &'static str, xml: impl Into<Vec<u8>>, want: Option<&'static str>) -> Case {
    Case {
        name,
        xml: xml.into(),
        idp: idp(),
        expected_request: None,
        allow_unsolicited: true,
        now: NOW,
        want_category: want,
    }
}

fn with_idp(mut c: Case, certs: Vec<Vec<u8>>) -> Case {
    c.idp.certificates_der = certs;
    c
}

fn solicited(mut c: Case, expected: Option<&'static str>, allow_unsolicited: bool) -> Case {
    c.expected_request = expected;
    c.allow_unsolicited = allow_unsolicited;
    c
}

fn at(mut c: Case, now: i64) -> Case {
    c.now = now;
    c
}

/// Inserts `what` right after the XML declaration that xmlsec's output starts with.
fn after_declaration(xml: &str, what: &str) -> String {
    let end = xml.find("?>").unwrap() + 2;
    format!("{}{}{}", &xml[..end], what, &xml[end..])
}

fn tpl(edit: impl FnOnce(&mut Tpl)) -> Tpl {
    let mut t = Tpl::default();
    edit(&mut t);
    t
}

fn cases() -> Vec<Case> {
    let (good, other, ec) = keys();
    let t = Tpl::default();
    let signed = t.signed();
    let signed_assertion = assertion_of(&signed).to_string();
    let forged = tpl(|t| {
        t.name_id = "mallory@evil.test".into();
        t.assertion_id = "_forged".into();
    })
    .assertion(false);
    let irt = |r: Option<&str>, s: Option<&str>| {
        tpl(|t| {
            t.response_irt = r.map(Into::into);
            t.scd_irt = s.map(Into::into);
        })
        .signed()
    };
    let response_open_end = signed.find("<samlp:Status").unwrap();
    let response_head = &signed[..response_open_end];

    vec![
        // Accepted shapes.
        case("assertion signed", signed.clone(), None),
        case("assertion signed by xmlsec (the validator's own library)", t.signed_by_xmlsec(), None),
        case("response and assertion signed", t.signed_both(), None),
        case("only the response signed covers the assertion", t.signed_response_only(), None),
        with_idp(
            case("rollover: other key's certificate listed first", signed.clone(), None),
            vec![other.cert_der.clone(), good.cert_der.clone()],
        ),
        with_idp(
            case("rollover: EC certificate listed before the RSA one", signed.clone(), None),
            vec![ec.cert_der.clone(), good.cert_der.clone()],
        ),
        at(case("expired but within the clock skew", signed.clone(), None), NOW + 240 + 30),
        // Configuration.
        with_idp(case("no certificate configured", signed.clone(), Some("no_certificate")), vec![]),
        with_idp(
            case("garbage certificate", signed.clone(), Some("invalid_certificate")),
            vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]],
        ),
        // Signatures.
        case("unsigned", t.unsigned(), Some("unsigned")),
        case("signed by another key", t.signed_with(other), Some("bad_signature")),
        case(
            "NameID tampered after signing",
            signed.replace("alice@example.test</saml:NameID>", "mallory@evil.test</saml:NameID>"),
            Some("bad_signature"),
        ),
        case(
            "signed Response's Destination tampered",
            t.signed_both().replace(ACS, "https://evil.test/acs"),
            Some("bad_signature"),
        ),
        case(
            "SHA-1 signature",
            tpl(|t| {
                t.sig_alg = RSA_SHA1.into();
                t.digest_alg = SHA1.into();
            })
            .signed(),
            Some("signature_algorithm"),
        ),
        case(
            "SHA-1 digest under RSA-SHA256",
            tpl(|t| t.digest_alg = SHA1.into()).signed(),
            Some("digest_algorithm"),
        ),
        // Signature wrapping.
        case(
            "XSW: signed assertion moved into Extensions, forged one in its place",
            t.response(&forged, false).replace(
                "<samlp:Status>",
                &format!("<samlp:Extensions>{signed_assertion}</samlp:Extensions><samlp:Status>"),
            ),
            Some("assertion_count"),
        ),
        case(
            "XSW: forged assertion next to the signed one",
            signed.replacen("<saml:Assertion", &format!("{forged}<saml:Assertion"), 1),
            Some("assertion_count"),
        ),
        case(
            "XSW: signed assertion wrapped inside a forged one",
            t.response(
                &forged.replace(
                    "<saml:Subject>",
                    &format!("<saml:Advice>{signed_assertion}</saml:Advice><saml:Subject>"),
                ),
                false,
            ),
            Some("assertion_count"),
        ),
        case(
            "XSW: signed response wrapped in a forged response",
            format!(
                "{}<samlp:Extensions>{}</samlp:Extensions><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>{forged}</samlp:Response>",
                response_head.replace("_resp0123456789abcdef", "_evil"),
                t.signed_both().split_once("?>").unwrap().1
            ),
            Some("assertion_count"),
        ),
        case(
            "signed assertion alone, moved into Extensions",
            t.response("", false).replace(
                "<samlp:Status>",
                &format!("<samlp:Extensions>{signed_assertion}</samlp:Extensions><samlp:Status>"),
            ),
            Some("misplaced_assertion"),
        ),
        case(
            "duplicate ID next to the signed assertion",
            signed.replace(
                "<samlp:Status>",
                "<samlp:Extensions><x ID=\"_asrt0123456789abcdef\"/></samlp:Extensions><samlp:Status>",
            ),
            Some("malformed"),
        ),
        // Parser attacks.
        case(
            "DOCTYPE with an external entity (XXE)",
            after_declaration(&signed, r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>"#)
                .replace("alice@example.test</saml:NameID>", "&x;</saml:NameID>"),
            Some("dtd_forbidden"),
        ),
        case(
            "billion laughs",
            after_declaration(
                &signed,
                r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>"#,
            )
            .replace("alice@example.test</saml:NameID>", "&d;</saml:NameID>"),
            Some("dtd_forbidden"),
        ),
        case(
            "empty DOCTYPE",
            after_declaration(&signed, "<!DOCTYPE samlp:Response>"),
            Some("dtd_forbidden"),
        ),
        case(
            "entity reference without a DTD",
            signed.replace("alice@example.test</saml:NameID>", "&x;</saml:NameID>"),
            Some("dtd_forbidden"),
        ),
        case(
            "processing instruction",
            signed.replace("<samlp:Status>", "<?evil attack?><samlp:Status>"),
            Some("processing_instruction"),
        ),
        case("invalid UTF-8", [&signed.as_bytes()[..100], &[0xff, 0xfe]].concat(), Some("malformed")),
        case("truncated XML", &signed[..signed.len() / 2], Some("malformed")),
        case(
            "elements nested 100 deep",
            signed.replace(
                "<samlp:Status>",
                &format!("<samlp:Extensions>{}{}</samlp:Extensions><samlp:Status>", "<x>".repeat(100), "</x>".repeat(100)),
            ),
            Some("malformed"),
        ),
        case(
            "larger than 256 KiB",
            signed.replace(
                "<samlp:Status>",
                &format!("<samlp:Extensions>{}</samlp:Extensions><samlp:Status>", " ".repeat(300 * 1024)),
            ),
            Some("too_large"),
        ),
        // Shape.
        case(
            "assertion as root",
            // the independent signer's assertion declares its namespace itself
            if signed_assertion.starts_with("<saml:Assertion xmlns:saml=") {
                signed_assertion.clone()
            } else {
                signed_assertion.replacen(
                    "<saml:Assertion",
                    "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"",
                    1,
                )
            },
            Some("not_a_response"),
        ),
        case(
            "Response in a foreign namespace",
            signed.replace(
                "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
                "xmlns:samlp=\"urn:evil\"",
            ),
            Some("not_a_response"),
        ),
        case(
            "IdP reports an error status",
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_e" Version="2.0" IssueInstant="2023-11-14T22:13:20Z"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode><samlp:StatusMessage>user locked</samlp:StatusMessage></samlp:Status></samlp:Response>"#,
            Some("status"),
        ),
        case(
            "encrypted assertion",
            t.response(
                r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>"#,
                false,
            ),
            Some("encrypted_assertion"),
        ),
        case(
            "no bearer confirmation",
            tpl(|t| t.method = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches".into()).signed(),
            Some("no_bearer_confirmation"),
        ),
        // Binding to this SP and IdP.
        case("wrong issuer", tpl(|t| t.issuer = "https://evil.test".into()).signed(), Some("wrong_issuer")),
        case("wrong audience", tpl(|t| t.audience = Some("https://other-sp.test".into())).signed(), Some("wrong_audience")),
        case("no audience restriction", tpl(|t| t.audience = None).signed(), Some("missing_audience")),
        case(
            "wrong destination (unsigned Response)",
            tpl(|t| t.destination = Some("https://other-sp.test/acs".into())).signed(),
            Some("wrong_destination"),
        ),
        case(
            "signed Response without Destination",
            tpl(|t| t.destination = None).signed_response_only(),
            Some("wrong_destination"),
        ),
        case("wrong recipient", tpl(|t| t.recipient = "https://other-sp.test/acs".into()).signed(), Some("wrong_recipient")),
        // Time.
        at(case("expired", signed.clone(), Some("expired")), NOW + 3600),
        at(case("not yet valid", signed.clone(), Some("not_yet_valid")), NOW - 3600),
        // InResponseTo.
        solicited(case("answers the pending request", irt(Some("req-1"), Some("req-1")), None), Some("req-1"), false),
        solicited(case("answers another request", irt(Some("req-1"), Some("req-1")), Some("unknown_request")), Some("req-2"), false),
        solicited(case("no InResponseTo though a request is pending", irt(None, None), Some("unknown_request")), Some("req-1"), false),
        solicited(
            case("unsigned Response InResponseTo disagrees with the signed one", irt(Some("req-x"), Some("req-1")), Some("unknown_request")),
            Some("req-1"),
            false,
        ),
        solicited(case("InResponseTo but nothing pending", irt(None, Some("req-1")), Some("unknown_request")), None, false),
        solicited(case("unsolicited while IdP-initiated is off", irt(None, None), Some("unsolicited")), None, false),
        solicited(case("unsolicited while IdP-initiated is on", irt(None, None), None), None, true),
        solicited(
            case("IdP-initiated on but InResponseTo present", irt(Some("req-1"), Some("req-1")), Some("unknown_request")),
            None,
            true,
        ),
    ]
}

fn run(c: &Case) -> Result<Assertion, seatgate::saml::error::ValidateError> {
    validate(
        &c.xml,
        &c.idp,
        &sp(),
        c.expected_request,
        c.allow_unsolicited,
        c.now,
        SKEW,
    )
}

#[test]
fn each_attack_and_misconfiguration_gets_its_category() {
    let mut failures = Vec::new();
    for c in cases() {
        let got = run(&c);
        let got_category = got.as_ref().err().map(|e| e.category());
        println!(
            "{:<70} {:?}",
            c.name,
            got.as_ref().map(|a| &a.name_id).map_err(|e| e.to_string())
        );
        if got_category != c.want_category {
            failures.push(format!(
                "{}: want {:?}, got {:?}",
                c.name, c.want_category, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_assertion_carries_signed_values() {
    let a = validate(
        Tpl::default().signed_both().as_bytes(),
        &idp(),
        &sp(),
        None,
        true,
        NOW,
        SKEW,
    )
    .unwrap();
    assert_eq!(a.id, "_asrt0123456789abcdef");
    assert_eq!(a.response_id, "_resp0123456789abcdef");
    assert_eq!(a.issuer, IDP);
    assert_eq!(a.name_id, "alice@example.test");
    assert_eq!(
        a.name_id_format.as_deref(),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(
        a.not_on_or_after,
        NOW + 240,
        "earliest of Conditions and SubjectConfirmationData"
    );
    assert_eq!(a.session_not_on_or_after, Some(NOW + 8 * 3600));
    assert_eq!(a.in_response_to, None);
    assert_eq!(a.display_name(), Some("Alice Example"));
    assert_eq!(a.groups(), vec!["g-1", "g-2"]);
    assert_eq!(a.name(), Some("alice@example.test"));
    assert_eq!(a.object_identifier(), Some("0b5c8a3e-oid"));
    assert_eq!(a.attributes.len(), 4);
}

#[test]
fn peek_in_response_to_reads_the_raw_response() {
    use seatgate::saml::validate::peek_in_response_to;
    let xml = tpl(|t| t.response_irt = Some("req-9".into())).signed();
    assert_eq!(
        peek_in_response_to(xml.as_bytes()).as_deref(),
        Some("req-9")
    );
    assert_eq!(
        peek_in_response_to(Tpl::default().signed().as_bytes()),
        None
    );
    assert_eq!(peek_in_response_to(b"\0\n"), None);
}

#[test]
fn short_attribute_names_work_too() {
    let t = tpl(|t| {
        t.attributes = vec![
            ("displayName".into(), vec!["Bob".into()]),
            ("groups".into(), vec!["a".into()]),
            ("groups".into(), vec!["b".into()]),
        ]
    });
    let a = validate(t.signed().as_bytes(), &idp(), &sp(), None, true, NOW, SKEW).unwrap();
    assert_eq!(a.display_name(), Some("Bob"));
    assert_eq!(
        a.groups(),
        vec!["a", "b"],
        "repeated Attribute elements are merged"
    );
}

/// `alice@x.com<!---->.evil.test`: exc-c14n drops comments, so the signature still verifies;
/// the validator must reject it or return the whole signed text, never `alice@x.com`.
#[test]
fn comment_in_signed_name_id_never_truncates() {
    let signed = tpl(|t| t.name_id = "alice@x.com.evil.test".into()).signed();
    let injected = signed.replace(
        "alice@x.com.evil.test</saml:NameID>",
        "alice@x.com<!---->.evil.test</saml:NameID>",
    );
    assert_ne!(signed, injected);
    let got = validate(injected.as_bytes(), &idp(), &sp(), None, true, NOW, SKEW);
    println!(
        "comment injection: {:?}",
        got.as_ref().map(|a| &a.name_id).map_err(|e| e.to_string())
    );
    match got {
        Ok(a) => assert_eq!(a.name_id, "alice@x.com.evil.test"),
        Err(e) => assert_eq!(e.category(), "bad_signature"),
    }
}

#[test]
fn errors_and_assertions_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Assertion>();
    check::<seatgate::saml::error::ValidateError>();
}

/// saml-core-2.0-os §5.4.2-4, checked on the raw document before any cryptography: one
/// `Reference` per signature, naming the element that holds the signature, and only the
/// enveloped-signature and canonicalization transforms. Each edit is refused with its reason.
#[test]
fn signature_shape_is_checked_before_any_crypto() {
    let t = Tpl::default();
    let signed = t.signed();
    let reference_start = signed.find("<ds:Reference").expect("a Reference");
    let reference_end = signed.find("</ds:Reference>").expect("its end") + "</ds:Reference>".len();
    let reference = &signed[reference_start..reference_end];
    let two_references = format!(
        "{}{reference}{}",
        &signed[..reference_end],
        &signed[reference_end..]
    );
    let elsewhere = signed.replacen(
        &format!("URI=\"#{}\"", t.assertion_id),
        "URI=\"#_somewhere_else\"",
        1,
    );
    let whole_document = signed.replacen(&format!("URI=\"#{}\"", t.assertion_id), "URI=\"\"", 1);
    let xpath = signed.replacen(
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/TR/1999/REC-xpath-19991116",
        1,
    );
    for (name, xml, says) in [
        ("two References", two_references, "exactly one Reference"),
        (
            "Reference to another ID",
            elsewhere,
            "\"#_somewhere_else\" does not name the Assertion",
        ),
        (
            "Reference to the whole document",
            whole_document,
            "\"\" does not name the Assertion",
        ),
        (
            "XPath transform",
            xpath,
            "REC-xpath-19991116 is not allowed",
        ),
    ] {
        assert_ne!(xml, signed, "{name}: the edit applied");
        let err = validate(xml.as_bytes(), &idp(), &sp(), None, true, NOW, SKEW).expect_err(name);
        assert_eq!(err.category(), "signature_reference", "{name}: {err:?}");
        assert!(err.detail().contains(says), "{name}: {}", err.detail());
    }
    // the untouched response passes the same checks
    assert!(validate(signed.as_bytes(), &idp(), &sp(), None, true, NOW, SKEW).is_ok());
}
