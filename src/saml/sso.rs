//! SAML sign-in ("Continue with SSO") and Test SSO: the AuthnRequest (HTTP-Redirect binding)
//! and the ACS decision, with pending requests bound to the browser, a replay cache and a
//! record of every attempt. Validation itself is `validate::validate`.

use super::{
    error::ValidateError,
    validate::{self, Assertion, IdpSettings, SpSettings},
};
use crate::{
    model::Role,
    scim::service::Standing,
    server::{secrets::random_token, state::AppState},
    store::{
        integrations::{IntegrationRow, SsoSettings},
        saml::{Claimed, SamlAttemptRow, SamlRequestRow, SignInMember, SignInWrite},
        Flush, StoreError,
    },
};
use base64::Engine as _;

/// A pending request is good for this long (the person may have to type a password and MFA).
pub const REQUEST_TTL_SECS: i64 = 600;
/// How long SSO attempts (with their sealed raw XML) are kept for the admin.
pub const ATTEMPT_RETENTION_SECS: i64 = 7 * 24 * 3600;
/// The cookie binding a pending request to the browser that started it.
pub const BINDING_COOKIE: &str = "sg_saml";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    /// From the configurator: shows the outcome, creates no session.
    Test,
    /// Desktop activation (`activation::start`): the assertion grants a seat, never a session.
    Activation,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "signin",
            Purpose::Test => "test",
            Purpose::Activation => "activation",
        }
    }
}

/// Why SSO cannot start; each has a plain message for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    InvalidEmail,
    UnknownDomain,
    NotActive,
    NotConfigured,
    Internal,
}

impl StartError {
    pub fn code(&self) -> &'static str {
        match self {
            StartError::InvalidEmail => "invalid_email",
            StartError::UnknownDomain => "unknown_domain",
            StartError::NotActive => "sso_not_active",
            StartError::NotConfigured => "sso_not_configured",
            StartError::Internal => "internal",
        }
    }
}

fn internal(e: StoreError) -> StartError {
    tracing::error!(error = %e, "SSO start failed");
    StartError::Internal
}

/// Where to send the browser, and the cookie value that binds the request to it.
pub struct Started {
    pub redirect_url: String,
    pub binding: String,
    /// The AuthnRequest's ID, which the response's InResponseTo must name.
    pub request_id: String,
}

/// How a response reaches `finish`.
#[derive(Clone, Copy, Debug)]
pub enum Via<'a> {
    /// Posted by a browser to the ACS, with the binding cookie if it has one. Activation
    /// requests are not bound to a browser (the desktop app proves itself with PKCE).
    Browser(Option<&'a str>),
    /// Relayed by the desktop app for its own transaction: InResponseTo must name this request.
    App { request_id: &'a str },
}

/// The SSO settings of the account that signs in people of `email`'s domain: a verified
/// domain of an account whose integration is active. One query when all is well.
pub async fn settings_for_email(state: &AppState, email: &str) -> Result<SsoSettings, StartError> {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(StartError::InvalidEmail);
    };
    if local.is_empty() || domain.is_empty() || email.len() > 254 {
        return Err(StartError::InvalidEmail);
    }
    match state
        .db
        .sso_settings_for_domain(domain)
        .await
        .map_err(internal)?
    {
        Some(s) if s.integration.active => Ok(s),
        Some(_) => Err(StartError::NotActive),
        // say why: an unknown domain, or one whose account has not started configuring
        None => match state
            .db
            .sso_account_for_domain(domain)
            .await
            .map_err(internal)?
        {
            None => Err(StartError::UnknownDomain),
            Some(_) => Err(StartError::NotActive),
        },
    }
}

/// A new AuthnRequest for `business_id`, stored as pending and bound to a fresh cookie nonce.
pub async fn start(
    state: &AppState,
    business_id: &str,
    purpose: Purpose,
    user_id: Option<&str>,
) -> Result<Started, StartError> {
    let settings = state
        .db
        .sso_settings(business_id)
        .await
        .map_err(internal)?
        .ok_or(StartError::NotConfigured)?;
    start_with_settings(state, &settings, purpose, user_id).await
}

/// As `start`, with the account's settings already read.
pub async fn start_with_settings(
    state: &AppState,
    settings: &SsoSettings,
    purpose: Purpose,
    user_id: Option<&str>,
) -> Result<Started, StartError> {
    let (pending, started) = prepare(state, settings, purpose, user_id, None).await?;
    state
        .db
        .insert_saml_request(&pending, state.clock.now())
        .await
        .map_err(internal)?;
    Ok(started)
}

/// A new AuthnRequest and the pending request to store for it — the caller stores it (an
/// activation stores it with its transaction, in one round trip). The RelayState is the
/// caller's, or the request ID when `None`.
pub async fn prepare(
    state: &AppState,
    settings: &SsoSettings,
    purpose: Purpose,
    user_id: Option<&str>,
    relay_state: Option<&str>,
) -> Result<(SamlRequestRow, Started), StartError> {
    let row = &settings.integration;
    let business_id = row.business_id.as_str();
    if row.idp_sso_url.is_empty()
        || row.idp_entity_id.is_empty()
        || settings.certificates_der_base64.is_empty()
    {
        return Err(StartError::NotConfigured);
    }
    let now = state.clock.now();
    // 128 random bits; samael's own "id-{u32}" would be guessable
    let id = format!(
        "_{}",
        state
            .secret
            .hash_token(&random_token())
            .get(..32)
            .unwrap_or("0")
    );
    let binding = random_token();
    let pending = SamlRequestRow {
        id: id.clone(),
        business_id: business_id.to_string(),
        binding_hash: state.secret.hash_token(&binding),
        purpose: purpose.as_str().to_string(),
        user_id: user_id.map(str::to_string),
        expires_at: now + REQUEST_TTL_SECS,
    };
    let urls = crate::integration::sp_urls(state, business_id);
    let request = samael::schema::AuthnRequest {
        id: id.clone(),
        version: "2.0".into(),
        issue_instant: chrono::DateTime::from_timestamp(now, 0).unwrap_or_default(),
        destination: Some(row.idp_sso_url.clone()),
        assertion_consumer_service_url: Some(urls.acs_url),
        protocol_binding: Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST".into()),
        issuer: Some(samael::schema::Issuer {
            value: Some(urls.entity_id),
            ..Default::default()
        }),
        ..Default::default()
    };
    let relay = relay_state.unwrap_or(&id);
    let url = if row.sign_requests {
        let (key, _) = super::signing::ensure_key(state, business_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the SP signing key");
                StartError::Internal
            })?;
        request.signed_redirect(relay, &key)
    } else {
        request.redirect(relay)
    };
    let url = url
        .map_err(|e| {
            tracing::error!(error = %e, "building the AuthnRequest failed");
            StartError::Internal
        })?
        .ok_or(StartError::NotConfigured)?;
    Ok((
        pending,
        Started {
            redirect_url: url.to_string(),
            binding,
            request_id: id,
        },
    ))
}

/// How an ACS attempt ended, for the person and for the record.
#[derive(Debug)]
pub enum Finished {
    /// A session for `user_id` in the business workspace, opened: `session` is its cookie's
    /// token; `admin` says whether the IdP put the person in the admins group.
    SignedIn {
        user_id: String,
        admin: bool,
        session: SessionToken,
    },
    /// Test SSO passed: who the IdP said it was.
    Tested { name_id: String },
    /// A valid answer to a desktop activation request: who, and their signed groups. The
    /// seat is `activation`'s decision.
    Asserted {
        request_id: String,
        email: String,
        groups: Vec<String>,
        object_id: Option<String>,
        /// The account's settings as this validation read them.
        integration: Box<IntegrationRow>,
        account_name: String,
    },
}

/// A new session's cookie token; never printed.
pub struct SessionToken(pub String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

/// A refused attempt: the category the admin sees, and a sentence.
#[derive(Debug, Clone)]
pub struct Refused {
    pub category: String,
    pub detail: String,
    pub purpose: Purpose,
}

impl Refused {
    fn new(category: &str, detail: impl Into<String>, purpose: Purpose) -> Refused {
        Refused {
            category: category.into(),
            detail: detail.into(),
            purpose,
        }
    }

    /// What the person in the browser is told (no internals).
    pub fn public_message(&self) -> &'static str {
        match self.category.as_str() {
            "domain_not_verified" => {
                "Your identity provider signed you in with an address outside your organisation's verified domains."
            }
            "member_of_other_business" => "This email address belongs to another business account.",
            "user_deactivated" => "Your account has been deactivated by your organisation.",
            "expired" | "not_yet_valid" => {
                "The sign-in took too long or the clocks disagree. Start again from the sign-in page."
            }
            "unknown_request" | "browser_mismatch" | "unsolicited" | "replay" => {
                "This sign-in link was already used or did not start here. Start again from the sign-in page."
            }
            "internal" => "The server could not complete the sign-in. Try again in a moment.",
            _ => {
                "Your identity provider's answer could not be accepted. Your administrator can see why on the IdP Integration page."
            }
        }
    }
}

fn store_refusal(e: StoreError, purpose: Purpose) -> Refused {
    tracing::error!(error = %e, "SSO storage failed");
    Refused::new(
        "internal",
        "The server could not complete the sign-in.",
        purpose,
    )
}

/// The ACS: validates the IdP's response for `business_id`, then signs the person in (or
/// reports the test). Every attempt is recorded, refused or not.
pub async fn finish(
    state: &AppState,
    business_id: &str,
    saml_response: &str,
    via: Via<'_>,
    skew_secs: i64,
) -> Result<Finished, Refused> {
    let now = state.clock.now();
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let xml = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes());
    let raw = xml.as_deref().unwrap_or(saml_response.as_bytes()).to_vec();
    let mut progress = Progress {
        purpose: match via {
            Via::Browser(_) => Purpose::SignIn,
            Via::App { .. } => Purpose::Activation,
        },
        claim: None,
    };
    let result = decide(
        state,
        business_id,
        xml.ok(),
        via,
        now,
        skew_secs,
        &mut progress,
    )
    .await;
    let purpose = progress.purpose;
    if let (Err(_), Some(request_id)) = (&result, progress.claim) {
        if let Err(e) = state
            .db
            .use_up_saml_request(&request_id, business_id, now)
            .await
        {
            tracing::warn!(error = %e, "using up the request of a refused response failed");
        }
    }
    let (outcome, category, detail, name_id, attributes) = match &result {
        Ok((f, a)) => (
            "ok",
            None,
            Some(match f {
                Finished::SignedIn { admin: true, .. } => {
                    "Signed in as business account admin".to_string()
                }
                Finished::SignedIn { admin: false, .. } => {
                    "Signed in without admin rights".to_string()
                }
                Finished::Tested { .. } => "Test SSO passed".to_string(),
                Finished::Asserted { .. } => {
                    "Identity confirmed for desktop activation".to_string()
                }
            }),
            Some(a.name_id.clone()),
            serde_json::to_string(&a.attributes).ok(),
        ),
        Err((r, a)) => (
            "refused",
            Some(r.category.clone()),
            Some(r.detail.clone()),
            a.as_ref().map(|a| a.name_id.clone()),
            a.as_ref()
                .and_then(|a| serde_json::to_string(&a.attributes).ok()),
        ),
    };
    let attempt = SamlAttemptRow {
        id: uuid::Uuid::now_v7().to_string(),
        at: now,
        purpose: purpose.as_str().into(),
        outcome: outcome.into(),
        category,
        detail,
        name_id,
        attributes,
        // personal data: sealed with the server key, deleted with the attempt
        raw_xml: Some(state.secret.seal(&raw)),
    };
    state
        .saml_log
        .record(business_id, attempt, now + ATTEMPT_RETENTION_SECS)
        .await;
    match result {
        Ok((f, _)) => Ok(f),
        Err((r, _)) => {
            tracing::info!(business = business_id, category = %r.category, detail = %r.detail, "SSO refused");
            Err(r)
        }
    }
}

/// What `decide` learnt on the way, for `finish`.
struct Progress {
    /// From the pending request the response answers, once it is found.
    purpose: Purpose,
    /// The pending request a browser's response answers: read before validation, claimed
    /// after it (then `None`); still here when the response is refused, `finish` uses it up.
    claim: Option<String>,
}

type Decision = Result<(Finished, Assertion), (Refused, Option<Box<Assertion>>)>;

fn kept(a: Assertion) -> Option<Box<Assertion>> {
    Some(Box::new(a))
}

async fn decide(
    state: &AppState,
    business_id: &str,
    xml: Option<Vec<u8>>,
    via: Via<'_>,
    now: i64,
    skew_secs: i64,
    progress: &mut Progress,
) -> Decision {
    let p = progress.purpose;
    let refuse = |c: &str, d: String| Err((Refused::new(c, d, p), None));
    let Some(xml) = xml else {
        return refuse("malformed", "SAMLResponse is not base64.".into());
    };
    // the account's settings, certificates and verified domains, in one query
    let (row, certs, verified, account_name) = match state.db.sso_settings(business_id).await {
        Ok(Some(s)) => (
            s.integration,
            s.certificates_der_base64,
            s.verified_domains,
            s.account_name,
        ),
        Ok(None) => {
            return refuse(
                "not_configured",
                "This business account has no IdP integration.".into(),
            )
        }
        Err(e) => return Err((store_refusal(e, p), None)),
    };
    let xml = std::sync::Arc::new(xml);
    let expected = match via {
        // The app's transaction names its request, and claiming that transaction (once, with
        // PKCE) is what makes the response usable once: no unverified peek and no pending-request
        // lookup. The signed InResponseTo must name exactly this request.
        Via::App { request_id } => Some(request_id.to_string()),
        Via::Browser(binding) => {
            match browser_request(
                state,
                business_id,
                &xml,
                binding,
                row.allow_unsolicited,
                now,
                progress,
            )
            .await
            {
                Ok(expected) => expected,
                Err(r) => return Err((r, None)),
            }
        }
    };
    let p = progress.purpose;
    let urls = crate::integration::sp_urls(state, business_id);
    let idp = IdpSettings {
        entity_id: row.idp_entity_id.clone(),
        certificates_der: certs
            .iter()
            .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
            .collect(),
    };
    let sp = SpSettings {
        entity_id: urls.entity_id,
        acs_url: urls.acs_url,
    };
    let unsolicited = expected.is_none();
    let answered = expected.clone();
    // XML and signature work is CPU-bound: off the async workers
    let validated = tokio::task::spawn_blocking(move || {
        let result = validate::validate(
            &xml,
            &idp,
            &sp,
            expected.as_deref(),
            unsolicited,
            now,
            skew_secs,
        );
        // a request was expected and the response names none, not even unsigned: IdP-initiated
        let idp_initiated = matches!(result, Err(ValidateError::UnknownRequest { got: None, .. }))
            && validate::peek_in_response_to(&xml).is_none();
        (result, idp_initiated)
    })
    .await;
    let a = match validated {
        Ok((Ok(a), _)) => a,
        Ok((Err(_), true)) if matches!(via, Via::App { .. }) => {
            return refuse(
                "unsolicited",
                "An IdP-initiated response can never activate a device.".into(),
            )
        }
        Ok((Err(e), _)) => return Err((refusal_of(&e, p), None)),
        Err(e) => {
            tracing::error!(error = %e, "SAML validation task failed");
            return refuse("internal", "Validation did not complete.".into());
        }
    };
    let email = a.name_id.trim().to_lowercase();
    let domain_verified = email
        .rsplit_once('@')
        .is_some_and(|(_, d)| verified.iter().any(|v| v == d));
    // With SCIM on, the provisioned directory is authoritative: a deprovisioned person cannot
    // sign in, and admin rights follow membership of the admins group as SCIM last set it.
    // Someone the IdP has not provisioned yet falls back to the signed `groups` attribute.
    // Read before the claim, so that a sign-in can write all at once.
    let standing = if p == Purpose::SignIn && domain_verified && row.scim_enabled {
        match crate::scim::service::standing(
            &state.db,
            business_id,
            &email,
            &row.admins_group_id,
            &row.admins_group_name,
        )
        .await
        {
            Ok(standing) => standing,
            Err(e) => return Err((store_refusal(e, p), kept(a))),
        }
    } else {
        Standing::Unknown
    };
    let admin = admin_rights(&standing, &a, &row);
    if p == Purpose::SignIn && domain_verified {
        if let Some(admin) = admin {
            let at_once = sign_in_at_once(
                state,
                business_id,
                &a,
                &email,
                admin,
                progress,
                now,
                skew_secs,
            )
            .await;
            match at_once {
                AtOnce::Done(Ok(f)) => return Ok((f, a)),
                AtOnce::Done(Err(r)) => return Err((r, kept(a))),
                AtOnce::Declined => {}
            }
        }
    }
    // the pending request claimed and the assertion remembered, in one round trip. The app's
    // completion need not wait for this commit's log flush: its assertion answers only its
    // own transaction's request, the transaction is claimed once with PKCE, and the seat's
    // commit, which waits, flushes this one too (`Flush`).
    let flush = match via {
        Via::App { .. } => Flush::Later,
        Via::Browser(_) => Flush::Wait,
    };
    let claimed = state
        .db
        .claim_and_remember(
            business_id,
            &a.id,
            a.not_on_or_after + skew_secs,
            progress.claim.as_deref(),
            now,
            flush,
        )
        .await;
    match claimed {
        Ok(claimed) => {
            if let Some(r) = claim_refusal(claimed, progress, &a, p) {
                return Err((r, kept(a)));
            }
        }
        Err(e) => return Err((store_refusal(e, p), kept(a))),
    }
    if !domain_verified {
        return Err((
            Refused::new(
                "domain_not_verified",
                format!(
                    "NameID {} is not an email address in a verified domain of this account ({}).",
                    a.name_id,
                    verified.join(", ")
                ),
                p,
            ),
            kept(a),
        ));
    }
    if p == Purpose::Test {
        return Ok((
            Finished::Tested {
                name_id: a.name_id.clone(),
            },
            a,
        ));
    }
    if p == Purpose::Activation {
        let Some(request_id) = answered else {
            return Err((
                Refused::new(
                    "unsolicited",
                    "An IdP-initiated response can never activate a device.",
                    p,
                ),
                kept(a),
            ));
        };
        let groups = a.groups().iter().map(|g| g.to_string()).collect();
        let object_id = a.object_identifier().map(str::to_string);
        return Ok((
            Finished::Asserted {
                request_id,
                email,
                groups,
                object_id,
                integration: Box::new(row),
                account_name,
            },
            a,
        ));
    }
    let Some(admin) = admin else {
        return Err((
            Refused::new(
                "user_deactivated",
                format!("{email} is deprovisioned (SCIM active=false)."),
                p,
            ),
            kept(a),
        ));
    };
    let role = if admin { Role::Admin } else { Role::User };
    let signed_in =
        match ensure_member(state, business_id, &email, role, a.object_identifier(), now).await {
            Ok(user_id) => {
                open_session(state, &user_id, now)
                    .await
                    .map(|session| Finished::SignedIn {
                        user_id,
                        admin,
                        session,
                    })
            }
            Err(r) => Err(r),
        };
    match signed_in {
        Ok(f) => Ok((f, a)),
        Err(r) => Err((Refused { purpose: p, ..r }, kept(a))),
    }
}

/// Whether the person gets admin rights: the directory's word when SCIM provisioned them (an
/// admins group not provisioned yet gives none), else the signed `groups` attribute, matched
/// by the group's ID or name. `None`: SCIM deprovisioned them.
fn admin_rights(standing: &Standing, a: &Assertion, row: &IntegrationRow) -> Option<bool> {
    match standing {
        Standing::Deactivated => None,
        Standing::Active { in_group } => Some(in_group.unwrap_or(false)),
        Standing::Unknown => Some(a.groups().iter().any(|g| {
            (!row.admins_group_id.is_empty() && *g == row.admins_group_id.as_str())
                || (!row.admins_group_name.is_empty() && *g == row.admins_group_name.as_str())
        })),
    }
}

/// The refusal a failed claim means, if it failed; a claimed request leaves `progress`.
fn claim_refusal(
    claimed: Claimed,
    progress: &mut Progress,
    a: &Assertion,
    p: Purpose,
) -> Option<Refused> {
    match claimed {
        Claimed::Fresh => {
            progress.claim = None;
            None
        }
        Claimed::RequestUsed => {
            let request_id = progress.claim.take().unwrap_or_default();
            Some(Refused::new(
                "unknown_request",
                format!("InResponseTo {request_id} names a request that was used while this response was checked (the same sign-in posted twice at once?)."),
                p,
            ))
        }
        Claimed::Replay => {
            progress.claim = None;
            Some(Refused::new(
                "replay",
                format!("Assertion {} was used before.", a.id),
                p,
            ))
        }
    }
}

/// What `sign_in_at_once` did.
enum AtOnce {
    /// Signed in, or refused by the claim (the request was used meanwhile, or a replay).
    Done(Result<Finished, Refused>),
    /// Nothing written: the general path decides (it claims first, then brings the member's
    /// record up to date or refuses).
    Declined,
}

/// The common sign-in in one write: when the person is a member of this account whose record
/// needs no change (address, role and object id as the IdP says), or is seen for the first
/// time, one round trip claims the request, records the assertion, stores a first-seen member
/// (or stamps a known one's sign-in time) and opens the session (`Db::sign_in_at_once`).
#[allow(clippy::too_many_arguments)]
async fn sign_in_at_once(
    state: &AppState,
    business_id: &str,
    a: &Assertion,
    email: &str,
    admin: bool,
    progress: &mut Progress,
    now: i64,
    skew_secs: i64,
) -> AtOnce {
    let role = if admin { Role::Admin } else { Role::User };
    let object_id = a
        .object_identifier()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let (by_object, by_email) = match state.db.sso_members(business_id, object_id, email).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "member lookup for a one-write sign-in failed");
            return AtOnce::Declined;
        }
    };
    let new_id;
    let (user_id, member) = match by_object.or(by_email) {
        None => {
            new_id = crate::store::new_id();
            (
                new_id.as_str(),
                SignInMember::New {
                    email,
                    role: role.as_str(),
                    object_id,
                },
            )
        }
        Some(m)
            if m.email_lc == email
                && m.business_id.as_deref() == Some(business_id)
                && m.role.as_deref() == Some(role.as_str())
                && (object_id.is_none() || m.idp_object_id.as_deref() == object_id) =>
        {
            new_id = m.user_id;
            (new_id.as_str(), SignInMember::Known)
        }
        // renamed, of another account, another object, another role, no object id yet
        Some(_) => return AtOnce::Declined,
    };
    let token = random_token();
    let hash = state.secret.hash_token(&token);
    let write = SignInWrite {
        business_id,
        assertion_id: &a.id,
        assertion_expires_at: a.not_on_or_after + skew_secs,
        claim: progress.claim.as_deref(),
        user_id,
        member,
        session_hash: &hash,
        session_expires_at: now + state.settings.session_secs,
        now,
    };
    let p = Purpose::SignIn;
    let (claimed, opened) = match state.db.sign_in_at_once(&write).await {
        Ok(done) => done,
        // a first-seen member's address or object id taken meanwhile: nothing was written
        Err(StoreError::Conflict { .. }) => return AtOnce::Declined,
        Err(e) => return AtOnce::Done(Err(store_refusal(e, p))),
    };
    if let Some(r) = claim_refusal(claimed, progress, a, p) {
        return AtOnce::Done(Err(r));
    }
    if !opened {
        // the known member's user row went away between the read and the write
        return AtOnce::Done(Err(Refused::new(
            "internal",
            format!("The account of {email} was removed during sign-in."),
            p,
        )));
    }
    AtOnce::Done(Ok(Finished::SignedIn {
        user_id: user_id.to_string(),
        admin,
        session: SessionToken(token),
    }))
}

/// A business-workspace session for a member the IdP just vouched for, with their sign-in
/// time stamped: the cookie's token.
async fn open_session(state: &AppState, user_id: &str, now: i64) -> Result<SessionToken, Refused> {
    let token = random_token();
    let hash = state.secret.hash_token(&token);
    state
        .db
        .start_sso_session(&hash, user_id, now, now + state.settings.session_secs)
        .await
        .map_err(|e| store_refusal(e, Purpose::SignIn))?;
    Ok(SessionToken(token))
}

/// For a response posted by a browser: the pending request its InResponseTo names — it must
/// be this account's, unused, unexpired and, unless it is an activation's, this browser's; it
/// also tells the purpose. `None`: an IdP-initiated response the admin allows. The request is
/// read here and left in `progress.claim`: `decide` claims it once the response is valid,
/// `finish` uses it up if the response is refused.
async fn browser_request(
    state: &AppState,
    business_id: &str,
    xml: &std::sync::Arc<Vec<u8>>,
    binding: Option<&str>,
    allow_unsolicited: bool,
    now: i64,
    progress: &mut Progress,
) -> Result<Option<String>, Refused> {
    let p = progress.purpose;
    // parsing is CPU work on untrusted input: off the async workers, like validation
    let peek = {
        let xml = xml.clone();
        tokio::task::spawn_blocking(move || validate::peek_in_response_to(&xml))
            .await
            .ok()
            .flatten()
    };
    let Some(request_id) = peek else {
        return if allow_unsolicited {
            Ok(None)
        } else {
            Err(Refused::new(
                "unsolicited",
                "The response answers no request of ours, and IdP-initiated sign-in is off for this account.",
                p,
            ))
        };
    };
    let pending = match state
        .db
        .pending_saml_request(&request_id, business_id, now)
        .await
    {
        Ok(Some(pending)) => {
            progress.claim = Some(pending.id.clone());
            pending
        }
        Ok(None) => {
            return Err(Refused::new(
                "unknown_request",
                format!("InResponseTo {request_id} names no pending request of this account (unknown, used or expired)."),
                p,
            ))
        }
        Err(e) => return Err(store_refusal(e, p)),
    };
    progress.purpose = match pending.purpose.as_str() {
        "signin" => Purpose::SignIn,
        "test" => Purpose::Test,
        "activation" => Purpose::Activation,
        other => {
            return Err(Refused::new(
                "unknown_request",
                format!(
                "InResponseTo {request_id} names a pending request of unknown purpose {other:?}."
            ),
                p,
            ))
        }
    };
    // activation requests are bound to the app's transaction by PKCE, not to a browser
    let bound = progress.purpose == Purpose::Activation
        || binding.is_some_and(|b| state.secret.hash_token(b) == pending.binding_hash);
    if !bound {
        return Err(Refused::new(
            "browser_mismatch",
            "The response arrived in a browser other than the one that started the sign-in.",
            progress.purpose,
        ));
    }
    Ok(Some(pending.id))
}

fn refusal_of(e: &ValidateError, p: Purpose) -> Refused {
    Refused::new(e.category(), e.detail(), p)
}

/// The user the IdP vouched for, as a member of `business_id`: found by the IdP's object id
/// (`objectidentifier`) first — an address renamed at the IdP keeps its account — then by
/// email, created on first sight (no password: the IdP proved the address), with `role`.
async fn ensure_member(
    state: &AppState,
    business_id: &str,
    email: &str,
    role: Role,
    object_id: Option<&str>,
    now: i64,
) -> Result<String, Refused> {
    let object_id = object_id.map(str::trim).filter(|o| !o.is_empty());
    if let Some(user_id) =
        find_member(state, business_id, email, Some(role), object_id, now).await?
    {
        return Ok(user_id);
    }
    // first sight: the user, their membership and object id, at once
    match state
        .db
        .create_sso_member(business_id, email, role.as_str(), object_id, now)
        .await
    {
        Ok(user_id) => Ok(user_id),
        Err(e) => Err(member_not_created(e, object_id)),
    }
}

/// Why a first-seen member could not be stored.
pub(crate) fn member_not_created(e: StoreError, object_id: Option<&str>) -> Refused {
    match e {
        StoreError::Conflict { constraint } if constraint.contains("object_id") => {
            object_id_taken(object_id.unwrap_or_default())
        }
        e => store_refusal(e, Purpose::SignIn),
    }
}

/// `ensure_member` short of creating: the member's user id, brought up to date (address
/// renamed at the IdP, role, object id, membership of this account), or `None` on first
/// sight — the caller creates them (an activation does so inside its seat transaction).
pub(crate) async fn find_member(
    state: &AppState,
    business_id: &str,
    email: &str,
    role: Option<Role>,
    object_id: Option<&str>,
    now: i64,
) -> Result<Option<String>, Refused> {
    let p = Purpose::SignIn;
    let db = &state.db;
    let object_id = object_id.map(str::trim).filter(|o| !o.is_empty());
    let (by_object, by_email) = db
        .sso_members(business_id, object_id, email)
        .await
        .map_err(|e| store_refusal(e, p))?;
    let member = match by_object {
        Some(m) => {
            if m.email_lc != email {
                match db.change_email(&m.user_id, email).await {
                    Ok(()) => tracing::info!(
                        business = business_id,
                        user = %m.user_id,
                        "the IdP renamed a member; their address follows"
                    ),
                    Err(StoreError::Conflict { .. }) => {
                        return Err(Refused::new(
                            "email_conflict",
                            format!(
                                "The IdP's object {} was {} and is now {email}, which another account already uses.",
                                object_id.unwrap_or_default(),
                                m.email_lc
                            ),
                            p,
                        ))
                    }
                    Err(e) => return Err(store_refusal(e, p)),
                }
            }
            Some(m)
        }
        None => by_email,
    };
    let Some(member) = member else {
        return Ok(None);
    };
    match member.business_id.as_deref() {
        Some(b) if b != business_id => {
            return Err(Refused::new(
                "member_of_other_business",
                format!("{email} is a member of another business account."),
                p,
            ))
        }
        Some(_) => {
            if let (Some(oid), Some(known)) = (object_id, member.idp_object_id.as_deref()) {
                if known != oid {
                    // the address now belongs to another IdP object: not the same person
                    return Err(Refused::new(
                        "object_id_mismatch",
                        format!(
                            "{email} belongs to IdP object {known} here, but the IdP signed in object {oid}."
                        ),
                        p,
                    ));
                }
            }
            if let Some(role) = role.filter(|r| member.role.as_deref() != Some(r.as_str())) {
                db.set_member_role(business_id, &member.user_id, role.as_str())
                    .await
                    .map_err(|e| store_refusal(e, p))?
            }
        }
        None => db
            .add_member(
                business_id,
                &member.user_id,
                role.unwrap_or(Role::User).as_str(),
                now,
            )
            .await
            .map_err(|e| store_refusal(e, p))?,
    }
    if let (Some(oid), None) = (object_id, member.idp_object_id.as_deref()) {
        set_object_id(state, business_id, &member.user_id, oid).await?;
    }
    Ok(Some(member.user_id))
}

fn object_id_taken(oid: &str) -> Refused {
    Refused::new(
        "object_id_mismatch",
        format!("IdP object {oid} already belongs to another member of this account."),
        Purpose::SignIn,
    )
}

async fn set_object_id(
    state: &AppState,
    business_id: &str,
    user_id: &str,
    oid: &str,
) -> Result<(), Refused> {
    match state
        .db
        .set_member_object_id(business_id, user_id, oid)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict { .. }) => Err(object_id_taken(oid)),
        Err(e) => Err(store_refusal(e, Purpose::SignIn)),
    }
}

/// Password sign-in is refused for addresses of an organisation that signs in with SSO,
/// except for its backup login, which must keep working when the IdP does not.
pub async fn password_sign_in_refused(
    state: &AppState,
    email: &str,
    user_id: Option<&str>,
) -> Result<bool, StoreError> {
    let Some((_, domain)) = email
        .trim()
        .to_lowercase()
        .rsplit_once('@')
        .map(|(l, d)| (l.to_string(), d.to_string()))
    else {
        return Ok(false);
    };
    let Some((business, true)) = state.db.sso_account_for_domain(&domain).await? else {
        return Ok(false);
    };
    let backup = state
        .db
        .integration(&business)
        .await?
        .and_then(|i| i.backup_login_user_id);
    Ok(backup.is_none() || backup.as_deref() != user_id)
}
