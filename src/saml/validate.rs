//! Pure, fail-closed validation of a SAML 2.0 Web SSO `Response` (saml-profiles-2.0-os §4.1.4.3).
//!
//! Order: size and UTF-8 → pre-check of the raw XML (roxmltree: no DTD, no PIs, one `Assertion`,
//! allowed algorithms and transforms, one same-document `Reference` per signature naming the
//! element that holds it) → samael/xmlsec verify every signature with the configured
//! certificates and hand back the signed part itself (`ReduceMode::PreDigest`: the exact bytes
//! that were digested, so nothing unsigned can survive) → every decision from those bytes and
//! `now`. Unsigned values of the raw document are only ever used to *reject*, never to accept.

use super::error::ValidateError;
use roxmltree::{Document, Node, ParsingOptions};
use samael::crypto::{
    AllowedSignatureAlgorithm as Alg, CertificateDer, CryptoError, CryptoProvider, ReduceMode,
    XmlSec, XmlSecProviderError,
};
use std::sync::Once;

/// Largest decoded response we look at (the ACS body limit sits just above its base64 form).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
const MAX_DEPTH: usize = 64;
const MAX_NODES: u32 = 50_000;

const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// RSA/ECDSA with SHA-2 only; SHA-1 and DSA are refused.
const ALLOWED_ALGORITHMS: [Alg; 6] = [
    Alg::RsaSha256,
    Alg::RsaSha384,
    Alg::RsaSha512,
    Alg::EcdsaSha256,
    Alg::EcdsaSha384,
    Alg::EcdsaSha512,
];

/// The tenant's IdP, as configured by its admin (never taken from the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpSettings {
    pub entity_id: String,
    /// DER X.509 signing certificates; several during a key rollover.
    pub certificates_der: Vec<Vec<u8>>,
}

/// Our side of the connection: the Audience we require and the ACS URL the IdP posts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpSettings {
    pub entity_id: String,
    pub acs_url: String,
}

/// The verified assertion; every field but `response_id` comes from signed XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub id: String,
    /// Signed only when the Response itself is signed: key the replay cache on `id`.
    pub response_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_not_on_or_after: Option<i64>,
    /// Earliest of Conditions and bearer SubjectConfirmationData `NotOnOrAfter`: keep `id` in the
    /// replay cache until then.
    pub not_on_or_after: i64,
    pub in_response_to: Option<String>,
    /// Attributes in document order; repeated `Attribute` elements of one name are merged.
    pub attributes: Vec<(String, Vec<String>)>,
}

const CLAIM_DISPLAY_NAME: &str = "http://schemas.microsoft.com/identity/claims/displayname";
const CLAIM_GROUPS: &str = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
const CLAIM_NAME: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
const CLAIM_OBJECT_ID: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";

impl Assertion {
    /// Values of the attribute with exactly this `Name`.
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Values under a short name (any ASCII case) followed by those under the Microsoft claim URI.
    fn claim(&self, short: &str, uri: &str) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(short) || n == uri)
            .flat_map(|(_, v)| v.iter().map(String::as_str))
            .collect()
    }

    pub fn display_name(&self) -> Option<&str> {
        self.claim("displayname", CLAIM_DISPLAY_NAME)
            .first()
            .copied()
    }

    /// All group values (Entra sends object IDs, one `AttributeValue` each).
    pub fn groups(&self) -> Vec<&str> {
        self.claim("groups", CLAIM_GROUPS)
    }

    pub fn name(&self) -> Option<&str> {
        self.claim("name", CLAIM_NAME).first().copied()
    }

    pub fn object_identifier(&self) -> Option<&str> {
        self.claim("objectidentifier", CLAIM_OBJECT_ID)
            .first()
            .copied()
    }
}

/// Validates a decoded (not base64) SAML `Response` at instant `now` (unix seconds).
///
/// `expected_request` is the ID of the pending AuthnRequest the caller looked up (see
/// [`peek_in_response_to`]); `None` means no pending request matched. With `None`, a response
/// without `InResponseTo` is accepted only if `allow_unsolicited` (IdP-initiated login).
/// CPU-bound and FFI-heavy: call it from `spawn_blocking`.
pub fn validate(
    xml: &[u8],
    idp: &IdpSettings,
    sp: &SpSettings,
    expected_request: Option<&str>,
    allow_unsolicited: bool,
    now: i64,
    skew_secs: i64,
) -> Result<Assertion, ValidateError> {
    // Gap 1 of samael: without certificates it would parse unverified XML. Fail closed.
    if idp.certificates_der.is_empty() {
        return Err(ValidateError::NoCertificate);
    }
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(ValidateError::TooLarge {
            got: xml.len(),
            max: MAX_RESPONSE_BYTES,
        });
    }
    let text = std::str::from_utf8(xml).map_err(|e| ValidateError::Malformed {
        reason: format!("not UTF-8 ({e})"),
    })?;
    let raw = precheck(text)?;
    let signed = verify_signed_part(text, &idp.certificates_der)?;
    let doc = parse(&signed).map_err(|e| ValidateError::Malformed {
        reason: format!("signed part: {}", parse_error(e).detail()),
    })?;
    decide(
        &doc,
        &raw,
        idp,
        sp,
        expected_request,
        allow_unsolicited,
        now,
        skew_secs,
    )
}

/// `Response/@InResponseTo` of a raw response, unverified: only to look up the pending request
/// before calling [`validate`], which then checks it against the signed value.
pub fn peek_in_response_to(xml: &[u8]) -> Option<String> {
    if xml.len() > MAX_RESPONSE_BYTES {
        return None;
    }
    let text = std::str::from_utf8(xml).ok()?;
    let doc = parse(text).ok()?;
    doc.root_element()
        .attribute("InResponseTo")
        .map(str::to_string)
}

fn parse(text: &str) -> Result<Document<'_>, roxmltree::Error> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options)
}

fn parse_error(e: roxmltree::Error) -> ValidateError {
    use roxmltree::Error as E;
    match e {
        E::DtdDetected => ValidateError::DtdForbidden {
            reason: "DOCTYPE with declarations".to_string(),
        },
        E::UnknownEntityReference(name, _) => ValidateError::DtdForbidden {
            reason: format!("entity reference &{name};"),
        },
        E::EntityReferenceLoop(_) | E::UnexpectedEntityCloseTag(_) => ValidateError::DtdForbidden {
            reason: e.to_string(),
        },
        other => ValidateError::Malformed {
            reason: other.to_string(),
        },
    }
}

/// What the pre-check learned from the raw (unverified) document.
struct Raw {
    response_id: String,
    destination: Option<String>,
    in_response_to: Option<String>,
    issuer: Option<String>,
    assertion_id: String,
}

fn is(node: Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(*c, ns, name))
}

fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(*c, ns, name))
}

/// All text below `node`, trimmed. Concatenating every text node means a comment injected into
/// signed text (`a@x.com<!---->.evil.test`) can never truncate the value.
fn text(node: Node) -> String {
    let joined: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    joined.trim().to_string()
}

fn qualified(node: Node) -> String {
    let tag = node.tag_name();
    match tag.namespace() {
        Some(ns) => format!("{{{ns}}}{}", tag.name()),
        None => tag.name().to_string(),
    }
}

fn missing(field: &str) -> ValidateError {
    ValidateError::MissingField {
        field: field.to_string(),
    }
}

fn precheck(xml: &str) -> Result<Raw, ValidateError> {
    let doc = parse(xml).map_err(parse_error)?;
    let root = doc.root_element();
    // roxmltree accepts a DOCTYPE without internal subset; a DOCTYPE can only sit in the prolog.
    if xml
        .get(..root.range().start)
        .is_some_and(|prolog| prolog.contains("<!DOCTYPE"))
    {
        return Err(ValidateError::DtdForbidden {
            reason: "DOCTYPE".to_string(),
        });
    }

    let mut assertions = Vec::new();
    let mut signatures = Vec::new();
    let mut encrypted = false;
    let mut stack = vec![(doc.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(ValidateError::Malformed {
                reason: format!("elements nested deeper than {MAX_DEPTH}"),
            });
        }
        if node.is_pi() {
            let target = node.pi().map(|pi| pi.target).unwrap_or_default();
            return Err(ValidateError::ProcessingInstruction {
                target: target.to_string(),
            });
        }
        if is(node, NS_ASSERTION, "Assertion") {
            assertions.push(node);
        } else if is(node, NS_ASSERTION, "EncryptedAssertion") {
            encrypted = true;
        } else if is(node, NS_DSIG, "Signature") {
            signatures.push(node);
        }
        stack.extend(node.children().map(|c| (c, depth + 1)));
    }

    if !is(root, NS_PROTOCOL, "Response") {
        return Err(ValidateError::NotAResponse {
            got: qualified(root),
        });
    }
    // An error Response usually has no assertion: report the IdP's status first. Unsigned, but
    // it can only lead to a rejection. saml-core-2.0-os §3.2.2: Status is required.
    let status = child(root, NS_PROTOCOL, "Status").ok_or_else(|| missing("Response/Status"))?;
    let code =
        child(status, NS_PROTOCOL, "StatusCode").ok_or_else(|| missing("Status/StatusCode"))?;
    let value = code.attribute("Value").unwrap_or_default();
    if value != STATUS_SUCCESS {
        return Err(ValidateError::Status {
            code: value.to_string(),
            sub_code: child(code, NS_PROTOCOL, "StatusCode")
                .and_then(|s| s.attribute("Value"))
                .map(str::to_string),
            message: child(status, NS_PROTOCOL, "StatusMessage").map(text),
        });
    }
    if encrypted {
        return Err(ValidateError::EncryptedAssertion);
    }
    // Exactly one Assertion anywhere: defeats XSW 3-5, where samael would pick the signed one
    // but we must not let a second, unsigned one exist for any other consumer.
    let assertion = match assertions.as_slice() {
        [one] => *one,
        more => return Err(ValidateError::AssertionCount { got: more.len() }),
    };
    if assertion.parent() != Some(root) {
        return Err(ValidateError::MisplacedAssertion {
            parent: assertion
                .parent_element()
                .map(|p| p.tag_name().name().to_string())
                .unwrap_or_default(),
        });
    }
    let assertion_id = assertion
        .attribute("ID")
        .ok_or_else(|| missing("Assertion/@ID"))?;
    if signatures.is_empty() {
        return Err(ValidateError::Unsigned);
    }
    for signature in &signatures {
        check_algorithms(*signature)?;
        check_reference(*signature)?;
    }

    // saml-core-2.0-os §3.2.2: ID is required on every protocol message.
    let response_id = root
        .attribute("ID")
        .ok_or_else(|| missing("Response/@ID"))?;
    Ok(Raw {
        response_id: response_id.to_string(),
        destination: root.attribute("Destination").map(str::to_string),
        in_response_to: root.attribute("InResponseTo").map(str::to_string),
        issuer: child(root, NS_ASSERTION, "Issuer").map(text),
        assertion_id: assertion_id.to_string(),
    })
}

/// Names the refused algorithm before xmlsec runs; samael enforces the same list again but
/// only reports "invalid signature".
fn check_algorithms(signature: Node) -> Result<(), ValidateError> {
    let signed_info =
        child(signature, NS_DSIG, "SignedInfo").ok_or_else(|| missing("Signature/SignedInfo"))?;
    let method = child(signed_info, NS_DSIG, "SignatureMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .unwrap_or_default();
    if !ALLOWED_ALGORITHMS
        .iter()
        .any(|a| a.signature_uri() == method)
    {
        return Err(ValidateError::SignatureAlgorithm {
            got: method.to_string(),
        });
    }
    for reference in children(signed_info, NS_DSIG, "Reference") {
        let digest = child(reference, NS_DSIG, "DigestMethod")
            .and_then(|m| m.attribute("Algorithm"))
            .unwrap_or_default();
        if !ALLOWED_ALGORITHMS.iter().any(|a| a.digest_uri() == digest) {
            return Err(ValidateError::DigestAlgorithm {
                got: digest.to_string(),
            });
        }
    }
    Ok(())
}

/// Transforms a SAML signature may use (saml-core-2.0-os §5.4.3-4): the enveloped-signature
/// transform and canonicalization. XPath, XSLT and base64 transforms could make the signed
/// bytes something other than the element, so they are refused.
const ALLOWED_TRANSFORMS: [&str; 6] = [
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
];

/// saml-core-2.0-os §5.4.2: a signature holds exactly one `Reference`, a same-document
/// reference to the ID of the element the signature sits in (the Response or the Assertion).
/// Wrapping attacks need the reference to point elsewhere; they stop here, before any crypto.
fn check_reference(signature: Node) -> Result<(), ValidateError> {
    let bad = |reason: String| ValidateError::SignatureReference { reason };
    let signed_info =
        child(signature, NS_DSIG, "SignedInfo").ok_or_else(|| missing("Signature/SignedInfo"))?;
    let mut references = children(signed_info, NS_DSIG, "Reference");
    let (Some(reference), None) = (references.next(), references.next()) else {
        return Err(bad(
            "it must hold exactly one Reference (saml-core-2.0-os §5.4.2)".to_string(),
        ));
    };
    let uri = reference.attribute("URI").unwrap_or_default();
    let parent = signature.parent_element();
    let parent_id = parent.and_then(|p| p.attribute("ID"));
    let enveloping =
        parent.is_some_and(|p| is(p, NS_PROTOCOL, "Response") || is(p, NS_ASSERTION, "Assertion"));
    if !enveloping || uri.strip_prefix('#').is_none_or(|id| Some(id) != parent_id) {
        return Err(bad(format!(
            "its Reference URI {uri:?} does not name the {} that holds it (ID {:?}), as \
             saml-core-2.0-os §5.4.2 requires",
            parent.map(|p| p.tag_name().name()).unwrap_or("document"),
            parent_id.unwrap_or_default()
        )));
    }
    if let Some(transforms) = child(reference, NS_DSIG, "Transforms") {
        for transform in children(transforms, NS_DSIG, "Transform") {
            let algorithm = transform.attribute("Algorithm").unwrap_or_default();
            if !ALLOWED_TRANSFORMS.contains(&algorithm) {
                return Err(bad(format!(
                    "the transform {algorithm} is not allowed; only enveloped-signature and \
                     canonicalization are (saml-core-2.0-os §5.4.4)"
                )));
            }
        }
    }
    Ok(())
}

/// samael initialises xmlsec lazily behind its own mutex, after libxml2 has already parsed; do
/// that once, on one thread, before any concurrent use: the first call triggers the init (the
/// empty certificate then fails to load, which is expected and ignored).
fn init_xmlsec_once() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let probe = format!(r#"<a><s:Signature xmlns:s="{NS_DSIG}"/></a>"#);
        let _ = XmlSec::reduce_xml_to_signed(
            &probe,
            &[CertificateDer::from(Vec::new())],
            ReduceMode::ValidateAndMarkNoAncestors,
        );
    });
}

/// Every `ds:Signature` must verify (samael fails the whole call otherwise) with the configured
/// certificates only: xmlsec gets the key preset, so a `KeyInfo` in the message is never used.
/// samael tries all certificates per signature but aborts on an xmlsec error (e.g. an EC key for
/// an RSA signature), so each configured certificate is tried on its own; the first that
/// verifies every signature wins (rollover: old and new certificate configured together).
///
/// Returns xmlsec's pre-digest bytes of the one verified reference (of the Response when both
/// the Response and its Assertion are signed): the canonical form of the signed element, exactly
/// as digested. Parsing those instead of a pruned copy of the document is samael's strictest
/// mode and its cheapest: no second and third parse of the fragment, no matching back onto
/// the tree, no re-serialisation (see BENCHMARKS.md).
fn verify_signed_part(text: &str, certificates: &[Vec<u8>]) -> Result<String, ValidateError> {
    init_xmlsec_once();
    let mut first_error = None;
    for der in certificates {
        let cert = [CertificateDer::from(der.clone())];
        match XmlSec::reduce_xml_to_signed_with_allowed_algorithms(
            text,
            &cert,
            ReduceMode::PreDigest,
            Some(&ALLOWED_ALGORITHMS),
        ) {
            Ok(signed) => return Ok(signed),
            // samael's errors are not Send: keep only our own, stringified, error.
            Err(e) => {
                first_error.get_or_insert(classify(&e));
            }
        }
    }
    Err(first_error.unwrap_or(ValidateError::NoCertificate))
}

fn classify(e: &CryptoError) -> ValidateError {
    let bad = |reason: String| ValidateError::BadSignature { reason };
    match e {
        CryptoError::InvalidSignature => {
            bad("it does not verify with the configured certificate".to_string())
        }
        CryptoError::CryptoProviderError(inner) => {
            match inner.downcast_ref::<XmlSecProviderError>() {
                Some(
                    p @ (XmlSecProviderError::XmlDuplicateIdAttribute { .. }
                    | XmlSecProviderError::XmlInvalidIdAttribute { .. }),
                ) => ValidateError::Malformed {
                    reason: p.to_string(),
                },
                // The signed bytes cannot be matched back onto the document, e.g. a comment
                // or other unsigned node was inserted into signed content.
                Some(p) => bad(p.to_string()),
                None => {
                    let reason = inner.to_string();
                    // samael's wrapper error type is private; its text is all we have.
                    if reason.contains("Failed to load") {
                        ValidateError::InvalidCertificate { reason }
                    } else {
                        bad(reason)
                    }
                }
            }
        }
        other => bad(other.to_string()),
    }
}

fn time_attr(node: Node, attr: &str) -> Result<Option<i64>, ValidateError> {
    node.attribute(attr)
        .map(|v| {
            // saml-core-2.0-os §1.3.3: xs:dateTime in UTC.
            chrono::DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.timestamp())
                .map_err(|e| ValidateError::Malformed {
                    reason: format!("{}/@{attr} = {v:?}: {e}", node.tag_name().name()),
                })
        })
        .transpose()
}

/// What one bearer SubjectConfirmation yields once it passed.
struct Bearer {
    not_on_or_after: i64,
    in_response_to: Option<String>,
}

/// saml-profiles-2.0-os §4.1.4.2/§4.1.4.3: Recipient = ACS URL, NotOnOrAfter in the future.
fn check_bearer(
    confirmation: Node,
    sp: &SpSettings,
    now: i64,
    skew: i64,
) -> Result<Bearer, ValidateError> {
    let data = child(confirmation, NS_ASSERTION, "SubjectConfirmationData")
        .ok_or_else(|| missing("bearer SubjectConfirmationData"))?;
    let recipient = data.attribute("Recipient");
    if recipient != Some(sp.acs_url.as_str()) {
        return Err(ValidateError::WrongRecipient {
            got: recipient.map(str::to_string),
            want: sp.acs_url.clone(),
        });
    }
    if let Some(not_before) = time_attr(data, "NotBefore")? {
        if not_before > now.saturating_add(skew) {
            return Err(ValidateError::NotYetValid { not_before, now });
        }
    }
    let not_on_or_after = time_attr(data, "NotOnOrAfter")?
        .ok_or_else(|| missing("SubjectConfirmationData/@NotOnOrAfter"))?;
    if not_on_or_after <= now.saturating_sub(skew) {
        return Err(ValidateError::Expired {
            element: "SubjectConfirmationData".to_string(),
            not_on_or_after,
            now,
        });
    }
    Ok(Bearer {
        not_on_or_after,
        in_response_to: data.attribute("InResponseTo").map(str::to_string),
    })
}

fn check_issuer(
    element: &str,
    got: Option<String>,
    idp: &IdpSettings,
) -> Result<(), ValidateError> {
    if got.as_deref() != Some(idp.entity_id.as_str()) {
        return Err(ValidateError::WrongIssuer {
            element: element.to_string(),
            got,
            want: idp.entity_id.clone(),
        });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn decide(
    doc: &Document,
    raw: &Raw,
    idp: &IdpSettings,
    sp: &SpSettings,
    expected_request: Option<&str>,
    allow_unsolicited: bool,
    now: i64,
    skew: i64,
) -> Result<Assertion, ValidateError> {
    // The signed part is rooted at the signed element: the Response when the whole Response is
    // signed (its assertion is then covered as a descendant), else the Assertion.
    let root = doc.root_element();
    let (response, assertion) = if is(root, NS_PROTOCOL, "Response") {
        let assertion = child(root, NS_ASSERTION, "Assertion").ok_or_else(|| {
            ValidateError::AssertionNotSigned {
                signed: "Response".to_string(),
            }
        })?;
        (Some(root), assertion)
    } else if is(root, NS_ASSERTION, "Assertion") {
        (None, root)
    } else {
        return Err(ValidateError::AssertionNotSigned {
            signed: root.tag_name().name().to_string(),
        });
    };
    let assertion_id = assertion.attribute("ID").unwrap_or_default();
    if assertion_id != raw.assertion_id {
        return Err(ValidateError::AssertionNotSigned {
            signed: format!("Assertion ID={assertion_id:?}"),
        });
    }
    if let Some(response) = response {
        if response.attribute("ID") != Some(raw.response_id.as_str()) {
            return Err(ValidateError::AssertionNotSigned {
                signed: "another Response".to_string(),
            });
        }
    }

    // Response-level values: signed if the Response is signed, else raw (reject-only).
    let response_issuer = match response {
        Some(r) => child(r, NS_ASSERTION, "Issuer").map(text),
        None => raw.issuer.clone(),
    };
    let destination = match response {
        Some(r) => r.attribute("Destination").map(str::to_string),
        None => raw.destination.clone(),
    };
    let response_irt = match response {
        Some(r) => r.attribute("InResponseTo").map(str::to_string),
        None => raw.in_response_to.clone(),
    };

    // saml-core-2.0-os §3.2.2: Response Issuer optional, but if present it must be the IdP.
    if response_issuer.is_some() {
        check_issuer("Response", response_issuer, idp)?;
    }
    // saml-profiles-2.0-os §4.1.4.2: Assertion Issuer required, Format omitted or entity.
    let issuer = child(assertion, NS_ASSERTION, "Issuer");
    check_issuer("Assertion", issuer.map(text), idp)?;
    if let Some(format) = issuer.and_then(|i| i.attribute("Format")) {
        if format != NAMEID_ENTITY {
            return Err(ValidateError::WrongIssuer {
                element: format!("Assertion (Issuer Format {format})"),
                got: issuer.map(text),
                want: idp.entity_id.clone(),
            });
        }
    }

    // saml-bindings-2.0-os §3.5.5.2: a signed Response MUST carry Destination; an unsigned one
    // may omit it, but if present it must match.
    if destination.as_deref() != Some(sp.acs_url.as_str())
        && (response.is_some() || destination.is_some())
    {
        return Err(ValidateError::WrongDestination {
            got: destination,
            want: sp.acs_url.clone(),
        });
    }

    let subject = child(assertion, NS_ASSERTION, "Subject").ok_or(ValidateError::NoSubject {
        reason: "no Subject".to_string(),
    })?;
    let name_id_node =
        child(subject, NS_ASSERTION, "NameID").ok_or_else(|| ValidateError::NoSubject {
            reason: if child(subject, NS_ASSERTION, "EncryptedID").is_some() {
                "encrypted NameID (EncryptedID) is not supported".to_string()
            } else {
                "no NameID".to_string()
            },
        })?;
    let name_id = text(name_id_node);
    if name_id.is_empty() {
        return Err(ValidateError::NoSubject {
            reason: "empty NameID".to_string(),
        });
    }

    // At least one bearer confirmation must pass; report the first one's failure otherwise.
    let mut bearer = Err(ValidateError::NoBearerConfirmation);
    for confirmation in children(subject, NS_ASSERTION, "SubjectConfirmation")
        .filter(|c| c.attribute("Method") == Some(CM_BEARER))
    {
        match check_bearer(confirmation, sp, now, skew) {
            Ok(ok) => {
                bearer = Ok(ok);
                break;
            }
            Err(e) if matches!(bearer, Err(ValidateError::NoBearerConfirmation)) => bearer = Err(e),
            Err(_) => {}
        }
    }
    let bearer = bearer?;

    // InResponseTo: the signed value (bearer data, else signed Response); any value present,
    // signed or not, must agree with it (saml-profiles-2.0-os §4.1.4.2-3).
    let in_response_to = bearer.in_response_to.clone().or_else(|| {
        response
            .and_then(|r| r.attribute("InResponseTo"))
            .map(str::to_string)
    });
    let all_irt = [bearer.in_response_to.as_deref(), response_irt.as_deref()];
    match expected_request {
        Some(want) => {
            if in_response_to.as_deref() != Some(want)
                || all_irt.iter().flatten().any(|got| *got != want)
            {
                return Err(ValidateError::UnknownRequest {
                    got: all_irt
                        .iter()
                        .flatten()
                        .find(|got| **got != want)
                        .map(|s| s.to_string()),
                    want: Some(want.to_string()),
                });
            }
        }
        None => {
            if let Some(got) = all_irt.iter().flatten().next() {
                return Err(ValidateError::UnknownRequest {
                    got: Some(got.to_string()),
                    want: None,
                });
            }
            // saml-profiles-2.0-os §4.1.5: unsolicited responses only if the tenant allows them.
            if !allow_unsolicited {
                return Err(ValidateError::Unsolicited);
            }
        }
    }

    // saml-core-2.0-os §2.5.1.2: NotBefore <= now < NotOnOrAfter, with skew.
    let conditions = child(assertion, NS_ASSERTION, "Conditions");
    let mut not_on_or_after = bearer.not_on_or_after;
    if let Some(conditions) = conditions {
        if let Some(not_before) = time_attr(conditions, "NotBefore")? {
            if not_before > now.saturating_add(skew) {
                return Err(ValidateError::NotYetValid { not_before, now });
            }
        }
        if let Some(limit) = time_attr(conditions, "NotOnOrAfter")? {
            if limit <= now.saturating_sub(skew) {
                return Err(ValidateError::Expired {
                    element: "assertion Conditions".to_string(),
                    not_on_or_after: limit,
                    now,
                });
            }
            not_on_or_after = not_on_or_after.min(limit);
        }
    }

    // saml-core-2.0-os §2.5.1.4: every AudienceRestriction must name us (any Audience in it);
    // saml-profiles-2.0-os §4.1.4.2 requires one, samael does not, so we do.
    let restrictions: Vec<Node> = conditions
        .into_iter()
        .flat_map(|c| children(c, NS_ASSERTION, "AudienceRestriction"))
        .collect();
    if restrictions.is_empty() {
        return Err(ValidateError::MissingAudience);
    }
    for restriction in &restrictions {
        let audiences: Vec<String> = children(*restriction, NS_ASSERTION, "Audience")
            .map(text)
            .collect();
        if !audiences.contains(&sp.entity_id) {
            return Err(ValidateError::WrongAudience {
                got: audiences,
                want: sp.entity_id.clone(),
            });
        }
    }

    let session_not_on_or_after = match child(assertion, NS_ASSERTION, "AuthnStatement") {
        Some(statement) => time_attr(statement, "SessionNotOnOrAfter")?,
        None => None,
    };

    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for attribute in children(assertion, NS_ASSERTION, "AttributeStatement")
        .flat_map(|s| children(s, NS_ASSERTION, "Attribute"))
    {
        let name = attribute.attribute("Name").unwrap_or_default().to_string();
        let values = children(attribute, NS_ASSERTION, "AttributeValue").map(text);
        match attributes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => existing.extend(values),
            None => attributes.push((name, values.collect())),
        }
    }

    Ok(Assertion {
        id: raw.assertion_id.clone(),
        response_id: raw.response_id.clone(),
        issuer: idp.entity_id.clone(),
        name_id,
        name_id_format: name_id_node.attribute("Format").map(str::to_string),
        session_not_on_or_after,
        not_on_or_after,
        in_response_to,
        attributes,
    })
}
