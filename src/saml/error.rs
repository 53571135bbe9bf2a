//! Why a SAML response was refused: one variant per failure, carrying what we got and what we wanted.

use std::fmt;

/// A refused SAML response. Every variant owns plain data (`Send + Sync`), so it can leave
/// `spawn_blocking`, be stored per attempt and be shown to the tenant's admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidateError {
    /// The decoded body is larger than we accept.
    TooLarge { got: usize, max: usize },
    /// Not UTF-8, not well-formed XML, nested too deep, or a value we cannot parse.
    Malformed { reason: String },
    /// A DOCTYPE, entity declaration or unknown entity reference (XXE, billion laughs).
    DtdForbidden { reason: String },
    /// A processing instruction other than the XML declaration.
    ProcessingInstruction { target: String },
    /// The root element is not `samlp:Response` ({namespace}local-name given).
    NotAResponse { got: String },
    /// The IdP sent an `EncryptedAssertion`; we do not support encrypted assertions.
    EncryptedAssertion,
    /// Not exactly one `Assertion` in the whole document (XSW 3-5 add a second one).
    AssertionCount { got: usize },
    /// The only `Assertion` is not a direct child of the `Response` (wrapped, XSW).
    MisplacedAssertion { parent: String },
    /// A required element or attribute is absent.
    MissingField { field: String },
    /// The IdP reported a non-success status (saml-core-2.0-os §3.2.2.2).
    Status {
        code: String,
        sub_code: Option<String>,
        message: Option<String>,
    },
    /// The document carries no XML signature at all.
    Unsigned,
    /// Signatures verify, but none covers the assertion.
    AssertionNotSigned { signed: String },
    /// A signature does not verify with any configured certificate, or the document was altered.
    BadSignature { reason: String },
    /// A signature whose shape SAML forbids: not exactly one `Reference`, a `Reference` that
    /// does not name the element holding the signature, or a transform other than
    /// enveloped-signature and canonicalization (saml-core-2.0-os §5.4.2-4).
    SignatureReference { reason: String },
    /// A `SignatureMethod` outside RSA/ECDSA with SHA-256/384/512.
    SignatureAlgorithm { got: String },
    /// A `DigestMethod` outside SHA-256/384/512.
    DigestAlgorithm { got: String },
    /// The IdP configuration holds no signing certificate: we never accept unverified XML.
    NoCertificate,
    /// A configured certificate cannot be loaded.
    InvalidCertificate { reason: String },
    /// `Issuer` of the `Response` or `Assertion` is not the configured IdP entity ID.
    WrongIssuer {
        element: String,
        got: Option<String>,
        want: String,
    },
    /// No `Audience` equals our SP entity ID.
    WrongAudience { got: Vec<String>, want: String },
    /// The assertion has no `AudienceRestriction`.
    MissingAudience,
    /// `Response/@Destination` is not our ACS URL.
    WrongDestination { got: Option<String>, want: String },
    /// No `SubjectConfirmation` with the bearer method.
    NoBearerConfirmation,
    /// Bearer `SubjectConfirmationData/@Recipient` is not our ACS URL.
    WrongRecipient { got: Option<String>, want: String },
    /// `InResponseTo` does not name the pending request we expected (or none was pending).
    UnknownRequest {
        got: Option<String>,
        want: Option<String>,
    },
    /// No `InResponseTo` while IdP-initiated login is disabled for this tenant.
    Unsolicited,
    /// `NotBefore` is later than now (plus skew).
    NotYetValid { not_before: i64, now: i64 },
    /// A `NotOnOrAfter` has passed (minus skew).
    Expired {
        element: String,
        not_on_or_after: i64,
        now: i64,
    },
    /// No usable `Subject/NameID`.
    NoSubject { reason: String },
}

impl ValidateError {
    /// A stable snake_case code for logs, metrics and the admin UI.
    pub fn category(&self) -> &'static str {
        use ValidateError::*;
        match self {
            TooLarge { .. } => "too_large",
            Malformed { .. } => "malformed",
            DtdForbidden { .. } => "dtd_forbidden",
            ProcessingInstruction { .. } => "processing_instruction",
            NotAResponse { .. } => "not_a_response",
            EncryptedAssertion => "encrypted_assertion",
            AssertionCount { .. } => "assertion_count",
            MisplacedAssertion { .. } => "misplaced_assertion",
            MissingField { .. } => "missing_field",
            Status { .. } => "status",
            Unsigned => "unsigned",
            AssertionNotSigned { .. } => "assertion_not_signed",
            BadSignature { .. } => "bad_signature",
            SignatureReference { .. } => "signature_reference",
            SignatureAlgorithm { .. } => "signature_algorithm",
            DigestAlgorithm { .. } => "digest_algorithm",
            NoCertificate => "no_certificate",
            InvalidCertificate { .. } => "invalid_certificate",
            WrongIssuer { .. } => "wrong_issuer",
            WrongAudience { .. } => "wrong_audience",
            MissingAudience => "missing_audience",
            WrongDestination { .. } => "wrong_destination",
            NoBearerConfirmation => "no_bearer_confirmation",
            WrongRecipient { .. } => "wrong_recipient",
            UnknownRequest { .. } => "unknown_request",
            Unsolicited => "unsolicited",
            NotYetValid { .. } => "not_yet_valid",
            Expired { .. } => "expired",
            NoSubject { .. } => "no_subject",
        }
    }

    /// One sentence for the tenant's admin: what was wrong and what we expected.
    pub fn detail(&self) -> String {
        use ValidateError::*;
        match self {
            TooLarge { got, max } => {
                format!("The SAML response is {got} bytes; responses larger than {max} bytes are refused.")
            }
            Malformed { reason } => format!("The SAML response is not valid XML: {reason}."),
            DtdForbidden { reason } => format!(
                "The SAML response contains a DTD or entity ({reason}); these are refused to prevent XXE and entity-expansion attacks."
            ),
            ProcessingInstruction { target } => format!(
                "The SAML response contains the processing instruction <?{target}?>; only the XML declaration is allowed."
            ),
            NotAResponse { got } => format!(
                "Expected a <Response> in namespace urn:oasis:names:tc:SAML:2.0:protocol, got the root element {got}."
            ),
            EncryptedAssertion => "The IdP sent an encrypted assertion; encrypted assertions are not supported, please turn assertion encryption off in the IdP.".to_string(),
            AssertionCount { got } => format!(
                "The SAML response contains {got} assertions; exactly one is required."
            ),
            MisplacedAssertion { parent } => format!(
                "The assertion is inside <{parent}> instead of directly inside <Response>."
            ),
            MissingField { field } => format!("The SAML response lacks the required {field}."),
            Status { code, sub_code, message } => format!(
                "The IdP reported the status {code}{}{}.",
                sub_code.as_ref().map(|s| format!(" ({s})")).unwrap_or_default(),
                message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
            ),
            Unsigned => "The SAML response is not signed; the IdP must sign the assertion or the response.".to_string(),
            AssertionNotSigned { signed } => format!(
                "The signature covers <{signed}> but not the assertion; the IdP must sign the assertion or the whole response."
            ),
            BadSignature { reason } => format!(
                "A signature in the SAML response is invalid ({reason}); check that the IdP certificate configured here is the current one."
            ),
            SignatureReference { reason } => format!(
                "A signature in the SAML response has a shape SAML does not allow: {reason}; such signatures are how XML signature wrapping attacks work."
            ),
            SignatureAlgorithm { got } => format!(
                "The signature algorithm {got} is not allowed{}; use RSA or ECDSA with SHA-256, SHA-384 or SHA-512.",
                if got.contains("sha1") { " (SHA-1 is refused)" } else { "" }
            ),
            DigestAlgorithm { got } => format!(
                "The digest algorithm {got} is not allowed{}; use SHA-256, SHA-384 or SHA-512.",
                if got.contains("sha1") { " (SHA-1 is refused)" } else { "" }
            ),
            NoCertificate => "No IdP signing certificate is configured, so no response can be verified; upload the IdP metadata or certificate.".to_string(),
            InvalidCertificate { reason } => {
                format!("A configured IdP certificate cannot be used: {reason}.")
            }
            WrongIssuer { element, got, want } => format!(
                "The {element} was issued by {}, but this connection expects the IdP entity ID {want}.",
                opt(got)
            ),
            WrongAudience { got, want } => format!(
                "The assertion is meant for {}, but our SP entity ID is {want}; set the Audience / Entity ID in the IdP to it.",
                if got.is_empty() { "no audience".to_string() } else { got.join(", ") }
            ),
            MissingAudience => "The assertion has no AudienceRestriction; the IdP must name our SP entity ID as audience.".to_string(),
            WrongDestination { got, want } => format!(
                "The response was sent to {}, but our ACS URL is {want}.",
                opt(got)
            ),
            NoBearerConfirmation => "The assertion has no bearer SubjectConfirmation (saml-profiles-2.0-os §4.1.4.2).".to_string(),
            WrongRecipient { got, want } => format!(
                "The assertion's Recipient is {}, but our ACS URL is {want}.",
                opt(got)
            ),
            UnknownRequest { got, want } => match want {
                Some(want) => format!(
                    "The response answers the request {}, but we expected {want}; the login may have been started in another tab or has expired.",
                    opt(got)
                ),
                None => format!(
                    "The response answers the request {}, which is not pending here (expired, already used, or started elsewhere).",
                    opt(got)
                ),
            },
            Unsolicited => "The IdP started this login (no InResponseTo), and IdP-initiated login is turned off for this connection; start the login from our sign-in page.".to_string(),
            NotYetValid { not_before, now } => format!(
                "The assertion is not valid before {}, and it is now {}; check the clocks.",
                ts(*not_before),
                ts(*now)
            ),
            Expired { element, not_on_or_after, now } => format!(
                "The {element} expired at {}, and it is now {}.",
                ts(*not_on_or_after),
                ts(*now)
            ),
            NoSubject { reason } => format!("The assertion names no usable subject: {reason}."),
        }
    }
}

fn opt(value: &Option<String>) -> String {
    value
        .as_ref()
        .map_or_else(|| "(none)".to_string(), |v| format!("\"{v}\""))
}

fn ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || secs.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.category(), self.detail())
    }
}

impl std::error::Error for ValidateError {}
