//! Test IdP: throw-away keys, a Response template, and two signers: our own (assertions in
//! exclusive canonical form, signed through OpenSSL directly) and samael/xmlsec (responses).
#![allow(dead_code)]

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509Builder, X509NameBuilder};
use samael::crypto::{Crypto, CryptoProvider};
use seatgate::saml::validate::{IdpSettings, SpSettings};
use std::sync::OnceLock;

pub const NOW: i64 = 1_700_000_000;
pub const SKEW: i64 = 60;
pub const IDP: &str = "https://idp.example.test/metadata";
pub const SP: &str = "https://seatgate.test/saml/acme";
pub const ACS: &str = "https://seatgate.test/saml/acme/acs";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

pub struct Key {
    pub key_der: Vec<u8>,
    pub cert_der: Vec<u8>,
}

fn self_signed(pkey: &PKey<Private>, cn: &str) -> Vec<u8> {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(pkey).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(3650).unwrap())
        .unwrap();
    b.sign(pkey, MessageDigest::sha256()).unwrap();
    b.build().to_der().unwrap()
}

fn rsa_key(cn: &str) -> Key {
    let pkey = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    Key {
        cert_der: self_signed(&pkey, cn),
        key_der: pkey.private_key_to_der().unwrap(),
    }
}

/// The IdP's key, another IdP's key, and an unrelated EC key (rollover ordering).
pub fn keys() -> &'static (Key, Key, Key) {
    static KEYS: OnceLock<(Key, Key, Key)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ec = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
        )
        .unwrap();
        let ec = Key {
            cert_der: self_signed(&ec, "ec"),
            key_der: ec.private_key_to_der().unwrap(),
        };
        (rsa_key("idp"), rsa_key("other"), ec)
    })
}

pub fn idp() -> IdpSettings {
    IdpSettings {
        entity_id: IDP.to_string(),
        certificates_der: vec![keys().0.cert_der.clone()],
    }
}

pub fn sp() -> SpSettings {
    SpSettings {
        entity_id: SP.to_string(),
        acs_url: ACS.to_string(),
    }
}

pub fn ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Clone)]
pub struct Tpl {
    pub response_id: String,
    pub assertion_id: String,
    pub issuer: String,
    pub destination: Option<String>,
    pub response_irt: Option<String>,
    pub scd_irt: Option<String>,
    pub method: String,
    pub recipient: String,
    pub audience: Option<String>,
    pub name_id: String,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub scd_not_on_or_after: i64,
    pub sig_alg: String,
    pub digest_alg: String,
    pub attributes: Vec<(String, Vec<String>)>,
}

impl Default for Tpl {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Tpl {
            response_id: "_resp0123456789abcdef".into(),
            assertion_id: "_asrt0123456789abcdef".into(),
            issuer: IDP.into(),
            destination: Some(ACS.into()),
            response_irt: None,
            scd_irt: None,
            method: "urn:oasis:names:tc:SAML:2.0:cm:bearer".into(),
            recipient: ACS.into(),
            audience: Some(SP.into()),
            name_id: "alice@example.test".into(),
            not_before: NOW - 300,
            not_on_or_after: NOW + 300,
            scd_not_on_or_after: NOW + 240,
            sig_alg: RSA_SHA256.into(),
            digest_alg: SHA256.into(),
            attributes: vec![
                (
                    "http://schemas.microsoft.com/identity/claims/displayname".into(),
                    v(&["Alice Example"]),
                ),
                (
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups".into(),
                    v(&["g-1", "g-2"]),
                ),
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name".into(),
                    v(&["alice@example.test"]),
                ),
                (
                    "http://schemas.microsoft.com/identity/claims/objectidentifier".into(),
                    v(&["0b5c8a3e-oid"]),
                ),
            ],
        }
    }
}

fn attr(name: &str, value: &Option<String>) -> String {
    value
        .as_ref()
        .map(|v| format!(r#" {name}="{v}""#))
        .unwrap_or_default()
}

impl Tpl {
    pub fn signature_template(&self, id: &str) -> String {
        format!(
            r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>"##,
            self.sig_alg, self.digest_alg
        )
    }

    pub fn assertion(&self, with_signature_template: bool) -> String {
        let sig = if with_signature_template {
            self.signature_template(&self.assertion_id)
        } else {
            String::new()
        };
        let audience = self
            .audience
            .as_ref()
            .map(|a| {
                format!("<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>")
            })
            .unwrap_or_default();
        let attributes: String = self
            .attributes
            .iter()
            .map(|(n, vs)| {
                let values: String = vs
                    .iter()
                    .map(|v| format!("<saml:AttributeValue>{v}</saml:AttributeValue>"))
                    .collect();
                format!(r#"<saml:Attribute Name="{n}">{values}</saml:Attribute>"#)
            })
            .collect();
        format!(
            r#"<saml:Assertion ID="{id}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{scd_noa}" Recipient="{recipient}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionNotOnOrAfter="{session}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
            id = self.assertion_id,
            now = ts(NOW),
            issuer = self.issuer,
            name_id = self.name_id,
            method = self.method,
            irt = attr("InResponseTo", &self.scd_irt),
            scd_noa = ts(self.scd_not_on_or_after),
            recipient = self.recipient,
            nb = ts(self.not_before),
            noa = ts(self.not_on_or_after),
            session = ts(NOW + 8 * 3600),
        )
    }

    /// A Response around `assertion`; `response_sig` adds a signature template for the Response.
    pub fn response(&self, assertion: &str, response_sig: bool) -> String {
        let sig = if response_sig {
            self.signature_template(&self.response_id)
        } else {
            String::new()
        };
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}"{dest}{irt}><saml:Issuer>{issuer}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#,
            id = self.response_id,
            now = ts(NOW),
            dest = attr("Destination", &self.destination),
            irt = attr("InResponseTo", &self.response_irt),
            issuer = self.issuer,
        )
    }

    pub fn unsigned(&self) -> String {
        self.response(&self.assertion(false), false)
    }

    /// Only the assertion signed (the common IdP default), by the independent signer below.
    pub fn signed_with(&self, key: &Key) -> String {
        self.response(&self.independently_signed_assertion(key), false)
    }

    /// The same response signed by xmlsec (samael's `sign_xml`), the validator's own library.
    pub fn signed_by_xmlsec(&self) -> String {
        sign(&self.response(&self.assertion(true), false), &keys().0)
    }

    /// The assertion already in exclusive canonical form (its own `xmlns:saml`, attributes in
    /// order, no empty-element tags), so its digest needs no canonicaliser: a signer on another
    /// code path than xmlsec, which the validator uses. `signature` goes after the Issuer.
    fn canonical_assertion(&self, signature: &str) -> String {
        let text = |v: &str| {
            v.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let at = |v: &str| text(v).replace('"', "&quot;");
        let audience = self
            .audience
            .as_ref()
            .map(|a| {
                format!(
                    "<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>",
                    text(a)
                )
            })
            .unwrap_or_default();
        let irt = self
            .scd_irt
            .as_ref()
            .map(|v| format!(r#" InResponseTo="{}""#, at(v)))
            .unwrap_or_default();
        let attributes: String = self
            .attributes
            .iter()
            .map(|(n, vs)| {
                let values: String = vs
                    .iter()
                    .map(|v| format!("<saml:AttributeValue>{}</saml:AttributeValue>", text(v)))
                    .collect();
                format!(
                    r#"<saml:Attribute Name="{}">{values}</saml:Attribute>"#,
                    at(n)
                )
            })
            .collect();
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" IssueInstant="{now}" Version="2.0"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData{irt} NotOnOrAfter="{scd_noa}" Recipient="{recipient}"></saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_s1" SessionNotOnOrAfter="{session}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attributes}</saml:AttributeStatement></saml:Assertion>"#,
            id = at(&self.assertion_id),
            now = ts(NOW),
            issuer = text(&self.issuer),
            name_id = text(&self.name_id),
            method = at(&self.method),
            scd_noa = ts(self.scd_not_on_or_after),
            recipient = at(&self.recipient),
            nb = ts(self.not_before),
            noa = ts(self.not_on_or_after),
            session = ts(NOW + 8 * 3600),
        )
    }

    /// XML-DSig by hand (enveloped signature, exclusive c14n, the template's digest and
    /// signature algorithms): digest of the canonical assertion, SignedInfo in canonical form,
    /// RSA PKCS#1 v1.5 through OpenSSL's EVP API directly.
    pub fn independently_signed_assertion(&self, key: &Key) -> String {
        use base64::Engine as _;
        use openssl::hash::{hash, MessageDigest};
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let md = |alg: &str| match alg {
            SHA1 | RSA_SHA1 => MessageDigest::sha1(),
            _ => MessageDigest::sha256(),
        };
        let digest = hash(
            md(&self.digest_alg),
            self.canonical_assertion("").as_bytes(),
        )
        .unwrap();
        let signed_info = format!(
            r##"<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{}"></ds:SignatureMethod><ds:Reference URI="#{}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="{}"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##,
            self.sig_alg,
            self.assertion_id,
            self.digest_alg,
            b64(&digest)
        );
        let pkey = PKey::private_key_from_der(&key.key_der).unwrap();
        let mut signer = openssl::sign::Signer::new(md(&self.sig_alg), &pkey).unwrap();
        signer.update(signed_info.as_bytes()).unwrap();
        let value = b64(&signer.sign_to_vec().unwrap());
        let signature = format!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">{signed_info}<ds:SignatureValue>{value}</ds:SignatureValue></ds:Signature>"#
        );
        self.canonical_assertion(&signature)
    }

    pub fn signed(&self) -> String {
        self.signed_with(&keys().0)
    }

    /// Only the Response signed: the assertion is covered as a descendant.
    pub fn signed_response_only(&self) -> String {
        sign(&self.response(&self.assertion(false), true), &keys().0)
    }

    /// Assertion signed first, then the Response around it.
    pub fn signed_both(&self) -> String {
        let inner = self.signed();
        let at = inner.find("</saml:Issuer>").unwrap() + "</saml:Issuer>".len();
        let with_template = format!(
            "{}{}{}",
            &inner[..at],
            self.signature_template(&self.response_id),
            &inner[at..]
        );
        sign(&with_template, &keys().0)
    }
}

/// xmlsec fills the first `ds:Signature` template in document order.
pub fn sign(xml: &str, key: &Key) -> String {
    Crypto::sign_xml(xml, &key.key_der).expect("sign_xml")
}

/// The `<saml:Assertion …>…</saml:Assertion>` substring (the first one).
pub fn assertion_of(xml: &str) -> &str {
    let start = xml.find("<saml:Assertion").unwrap();
    let end = xml.rfind("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    &xml[start..end]
}
