//! Desktop activation by SSO. The app starts a transaction with the user's email, its device
//! and a PKCE challenge; we answer with an org-specific SAML login URL. The IdP's answer comes
//! back either relayed by the app (`complete`) or posted by the browser to our ACS, which then
//! hands a one-time code to the app's loopback redirect URI (`finish_in_browser`, redeemed by
//! `redeem`). Either way the same fail-closed SAML validation runs, then eligibility (active,
//! in the desktop users group, subscription live) and the seat grant; the app gets a signed
//! licence and the activation's own secret for `check` and `deactivate`.

pub mod admin;
pub mod download;
pub mod licence;
pub mod routes;

use crate::{
    model::Role,
    saml::sso::{self, Finished, Purpose, StartError, Via},
    server::{secrets::random_token, state::AppState},
    store::{
        activations::{Device, Grant, GrantRequest, NewMember, TransactionRow},
        integrations::IntegrationRow,
        StoreError,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A transaction (and its SAML request) is good for this long: the person may have to type a
/// password and pass MFA at their IdP.
pub const TRANSACTION_TTL_SECS: i64 = 600;
/// The loopback code must be redeemed quickly.
pub const CODE_TTL_SECS: i64 = 120;
/// The product a start request means when it names none.
pub const DEFAULT_PRODUCT: &str = "desktop";
/// Devices one person may have activated at once, unless the admin sets another limit.
pub const DEFAULT_DEVICE_LIMIT: i64 = 3;
/// The label the licence signing key is derived from the service secret with.
pub const LICENCE_KEY_LABEL: &[u8] = b"seatgate licence signing key v1";

/// An error the app can switch on: HTTP status, stable code, a sentence, and for SAML
/// refusals the validation category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            category: None,
            reason: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request", message)
    }

    fn internal(e: StoreError) -> ApiError {
        tracing::error!(error = %e, "activation storage failed");
        ApiError::new(
            500,
            "internal",
            "The server could not complete the request.",
        )
    }
}

/// `POST /api/v1/activations/sso/start`.
#[derive(Clone, Debug, Deserialize)]
pub struct StartRequest {
    pub email: String,
    #[serde(default)]
    pub product: Option<String>,
    pub device: DeviceInfo,
    pub code_challenge: String,
    #[serde(default)]
    pub code_challenge_method: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DeviceInfo {
    pub id: String,
    pub name: String,
    pub os: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StartResponse {
    pub transaction_id: String,
    pub login_url: String,
    pub relay_state: String,
    pub expires_at: i64,
    pub product: String,
}

/// What a successful activation hands the app (once).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Activated {
    pub activation_id: String,
    /// For `check` and `deactivate`; shown only this once, kept as a keyed hash.
    pub activation_secret: String,
    pub licence: String,
    pub licence_expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_expires_at: Option<i64>,
    pub product: String,
    pub email: String,
    pub account_name: String,
}

/// `POST /api/v1/activations/{id}/check` when the activation stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checked {
    pub status: &'static str,
    pub licence: String,
    pub licence_expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_expires_at: Option<i64>,
}

/// The S256 challenge of a verifier (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    valid_verifier(verifier) && bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

/// RFC 8252 §7.3: the loopback IP literal with a port, plain http, no credentials or fragment.
pub fn valid_loopback_uri(uri: &str) -> Result<url::Url, &'static str> {
    let u = url::Url::parse(uri).map_err(|_| "redirect_uri is not a URL")?;
    if u.scheme() != "http" {
        return Err("redirect_uri must be http://127.0.0.1:<port>/… or http://[::1]:<port>/…");
    }
    match u.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => {}
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => {}
        _ => return Err("redirect_uri must use the loopback address 127.0.0.1 or [::1]"),
    }
    if u.port().is_none() {
        return Err("redirect_uri must name the port the app listens on");
    }
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return Err("redirect_uri must not carry credentials or a fragment");
    }
    if uri.len() > 512 {
        return Err("redirect_uri is too long");
    }
    Ok(u)
}

fn text_field(value: &str, name: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{name} must be 1 to {max} printable characters."
        )));
    }
    Ok(v.to_string())
}

fn valid_product(p: &str) -> bool {
    (1..=40).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn start_error(e: StartError) -> ApiError {
    match e {
        StartError::InvalidEmail => {
            ApiError::new(400, "invalid_email", "This is not an email address.")
        }
        StartError::UnknownDomain => ApiError::new(
            404,
            "unknown_domain",
            "No organisation signs in with SSO for this email domain.",
        ),
        StartError::NotActive | StartError::NotConfigured => ApiError::new(
            409,
            "sso_not_active",
            "Your organisation has not switched on single sign-on yet.",
        ),
        StartError::Internal => ApiError::new(
            500,
            "internal",
            "The server could not start the activation.",
        ),
    }
}

/// Starts an activation: a transaction and the org-specific login URL.
pub async fn start(
    state: &AppState,
    req: &StartRequest,
    client_ip: Option<&str>,
) -> Result<StartResponse, ApiError> {
    let product = req
        .product
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_PRODUCT)
        .to_string();
    if !valid_product(&product) {
        return Err(ApiError::invalid(
            "product must be 1 to 40 letters, digits, '-' or '_'.",
        ));
    }
    let device = (
        text_field(&req.device.id, "device.id", 128)?,
        text_field(&req.device.name, "device.name", 100)?,
        text_field(&req.device.os, "device.os", 100)?,
    );
    match req.code_challenge_method.as_deref().unwrap_or("S256") {
        "S256" => {}
        _ => {
            return Err(ApiError::invalid(
                "code_challenge_method must be S256 (plain is not accepted).",
            ))
        }
    }
    let challenge = req.code_challenge.trim();
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).is_err() {
        return Err(ApiError::invalid(
            "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters).",
        ));
    }
    let redirect_uri = match req.redirect_uri.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => Some(
            valid_loopback_uri(u)
                .map_err(ApiError::invalid)?
                .to_string(),
        ),
        None => None,
    };
    let settings = sso::settings_for_email(state, &req.email)
        .await
        .map_err(start_error)?;
    let business_id = settings.integration.business_id.clone();
    if !settings.products.contains(&product) {
        return Err(ApiError::new(
            403,
            "no_subscription",
            format!("Your organisation has no subscription for {product}."),
        ));
    }
    let id = random_token();
    let (pending, started) = sso::prepare(state, &settings, Purpose::Activation, None, Some(&id))
        .await
        .map_err(start_error)?;
    let now = state.clock.now();
    let expires_at = now + TRANSACTION_TTL_SECS.min(sso::REQUEST_TTL_SECS);
    let row = TransactionRow {
        id: id.clone(),
        business_id,
        request_id: started.request_id,
        email_lc: req.email.trim().to_lowercase(),
        product: product.clone(),
        device_id: device.0,
        device_name: device.1,
        device_os: device.2,
        code_challenge: challenge.to_string(),
        redirect_uri,
        created_at: now,
        expires_at,
        used_at: None,
        code_expires_at: None,
        result_sealed: None,
        redeemed_at: None,
    };
    // the pending request and the transaction, in one round trip
    state
        .db
        .insert_activation_start(&pending, &row, client_ip)
        .await
        .map_err(ApiError::internal)?;
    Ok(StartResponse {
        transaction_id: id.clone(),
        login_url: started.redirect_url,
        relay_state: id,
        expires_at,
        product,
    })
}

/// The transaction, if it can still be completed.
fn usable(txn: Option<TransactionRow>, now: i64) -> Result<TransactionRow, ApiError> {
    let txn = txn.ok_or_else(|| {
        ApiError::new(
            404,
            "transaction_not_found",
            "No such activation transaction.",
        )
    })?;
    if txn.used_at.is_some() {
        return Err(ApiError::new(
            409,
            "transaction_used",
            "This activation was already completed or attempted. Start again from the app.",
        ));
    }
    if txn.expires_at <= now {
        return Err(ApiError::new(
            410,
            "transaction_expired",
            "The activation took too long. Start again from the app.",
        ));
    }
    Ok(txn)
}

pub(crate) fn saml_error(r: &sso::Refused) -> ApiError {
    match r.category.as_str() {
        "user_deactivated" => ApiError::new(403, "user_deactivated", r.public_message()),
        "member_of_other_business" => {
            ApiError::new(403, "member_of_other_business", r.public_message())
        }
        "internal" => ApiError::new(
            500,
            "internal",
            "The server could not complete the activation.",
        ),
        // the detail (what we got, what we expected) is for the admin's SSO attempts
        _ => ApiError {
            category: Some(r.category.clone()),
            ..ApiError::new(401, "saml_invalid", r.public_message())
        },
    }
}

fn bad_verifier() -> ApiError {
    ApiError::new(
        400,
        "invalid_code_verifier",
        "code_verifier does not match the code_challenge this transaction started with.",
    )
}

fn not_set_up() -> ApiError {
    ApiError::new(409, "sso_not_active", "Single sign-on is not set up.")
}

/// Completion (a): the app relays the IdP's response with its `code_verifier`.
pub async fn complete(
    state: &AppState,
    transaction_id: &str,
    saml_response: &str,
    relay_state: Option<&str>,
    code_verifier: &str,
) -> Result<Activated, ApiError> {
    let now = state.clock.now();
    // the transaction is found by its id, so the RelayState must be that id
    if relay_state.is_some_and(|rs| !rs.is_empty() && rs != transaction_id) {
        return Err(ApiError::invalid(
            "RelayState does not belong to this transaction.",
        ));
    }
    // the transaction is claimed (used once) only by the app holding its code_verifier: one
    // statement when all is well, and a read to say precisely why when it is not
    let claimed = if valid_verifier(code_verifier) {
        state
            .db
            .claim_activation_transaction(transaction_id, &s256(code_verifier), now)
            .await
            .map_err(ApiError::internal)?
    } else {
        None
    };
    let txn = match claimed {
        Some(txn) => txn,
        None => {
            let txn = state
                .db
                .activation_transaction(transaction_id)
                .await
                .map_err(ApiError::internal)?;
            let txn = usable(txn, now)?;
            if !pkce_matches(code_verifier, &txn.code_challenge) {
                return Err(bad_verifier());
            }
            // a concurrent completion won the race
            return Err(ApiError::new(
                409,
                "transaction_used",
                "This activation was already completed or attempted. Start again from the app.",
            ));
        }
    };
    let outcome = sso::finish(
        state,
        &txn.business_id,
        saml_response,
        Via::App {
            request_id: &txn.request_id,
        },
        state.settings.saml_skew_secs,
    )
    .await;
    match outcome {
        Ok(Finished::Asserted {
            email,
            groups,
            object_id,
            integration,
            account_name,
            ..
        }) => {
            grant(
                state,
                &integration,
                &account_name,
                &txn,
                &email,
                &groups,
                object_id.as_deref(),
            )
            .await
        }
        Ok(_) => Err(ApiError::new(500, "internal", "Unexpected SSO outcome.")),
        Err(r) => Err(saml_error(&r)),
    }
}

/// After the ACS accepted an activation response in the browser: eligibility and seat, then
/// a one-time code for the app (or the error) on its loopback redirect URI.
pub async fn complete_in_browser(
    state: &AppState,
    row: &IntegrationRow,
    request_id: &str,
    email: &str,
    groups: &[String],
    object_id: Option<&str>,
) -> Result<(TransactionRow, String), (Option<TransactionRow>, ApiError)> {
    let now = state.clock.now();
    let txn = state
        .db
        .activation_transaction_by_request(request_id)
        .await
        .map_err(|e| (None, ApiError::internal(e)))?;
    let txn = usable(txn, now).map_err(|e| (None, e))?;
    if txn.redirect_uri.is_none() {
        return Err((
            Some(txn),
            ApiError::invalid(
                "This activation is completed by the desktop app, not in the browser.",
            ),
        ));
    }
    if !state
        .db
        .use_activation_transaction(&txn.id, now)
        .await
        .map_err(|e| (None, ApiError::internal(e)))?
    {
        return Err((
            Some(txn),
            ApiError::new(
                409,
                "transaction_used",
                "This activation was already completed.",
            ),
        ));
    }
    // the pending request was this account's, and so is its transaction; fail closed if not
    if row.business_id != txn.business_id {
        return Err((
            Some(txn),
            ApiError::new(
                500,
                "internal",
                "The activation belongs to another account.",
            ),
        ));
    }
    // refusals the browser can report now; the seat waits for the app's proof (PKCE)
    if let Err(e) = eligible(state, row, email, groups).await {
        return Err((Some(txn), e));
    }
    let identity = Identity {
        email: email.to_string(),
        groups: groups.to_vec(),
        object_id: object_id.map(str::to_string),
    };
    let code = random_token();
    // who the IdP vouched for, sealed until the app redeems the code
    let sealed = state
        .secret
        .seal(&serde_json::to_vec(&identity).unwrap_or_default());
    state
        .db
        .set_activation_code(
            &txn.id,
            &state.secret.hash_token(&code),
            now + CODE_TTL_SECS,
            &sealed,
        )
        .await
        .map_err(|e| (Some(txn.clone()), ApiError::internal(e)))?;
    Ok((txn, code))
}

/// The validated identity a loopback code stands for.
#[derive(Serialize, Deserialize)]
struct Identity {
    email: String,
    groups: Vec<String>,
    object_id: Option<String>,
}

/// Completion (b), second half: the app redeems the loopback code with its `code_verifier`.
pub async fn redeem(
    state: &AppState,
    code: &str,
    code_verifier: &str,
) -> Result<Activated, ApiError> {
    let now = state.clock.now();
    let bad = || ApiError::new(400, "invalid_code", "The code is unknown, used or expired.");
    let txn = state
        .db
        .activation_transaction_by_code(&state.secret.hash_token(code.trim()))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(bad)?;
    let sealed = state
        .db
        .redeem_activation_code(&txn.id, now)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(bad)?;
    let identity: Identity = state
        .secret
        .open(&sealed)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| ApiError::new(500, "internal", "The activation result is unreadable."))?;
    if !pkce_matches(code_verifier, &txn.code_challenge) {
        // the code is burnt, and nothing was granted
        return Err(bad_verifier());
    }
    let settings = state
        .db
        .sso_settings(&txn.business_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_set_up)?;
    grant(
        state,
        &settings.integration,
        &settings.account_name,
        &txn,
        &identity.email,
        &identity.groups,
        identity.object_id.as_deref(),
    )
    .await
}

/// Is the person eligible: active and in the desktop users group. With SCIM on, the
/// provisioned directory decides for people it holds; otherwise the signed `groups`.
async fn eligible(
    state: &AppState,
    row: &IntegrationRow,
    email: &str,
    groups: &[String],
) -> Result<(), ApiError> {
    use crate::scim::service::Standing;
    let business_id = row.business_id.as_str();
    let outside = || {
        ApiError::new(
            403,
            "not_in_desktop_group",
            "You are not in your organisation's desktop users group. Ask your administrator to add you.",
        )
    };
    if row.scim_enabled {
        let standing = crate::scim::service::standing(
            &state.db,
            business_id,
            email,
            &row.desktop_group_id,
            &row.desktop_group_name,
        )
        .await
        .map_err(ApiError::internal)?;
        match standing {
            // deleted by the IdP (DELETE is deprovisioning): not back through the claims
            Standing::Deactivated => {
                return Err(ApiError::new(
                    403,
                    "user_deactivated",
                    "Your account has been deactivated by your organisation.",
                ))
            }
            Standing::Active {
                in_group: Some(true),
            } => return Ok(()),
            Standing::Active {
                in_group: Some(false),
            } => return Err(outside()),
            // the group is not provisioned, or neither is the person: the signed claims decide
            Standing::Active { in_group: None } | Standing::Unknown => {}
        }
    }
    let member = groups.iter().any(|g| {
        (!row.desktop_group_id.is_empty() && *g == row.desktop_group_id)
            || (!row.desktop_group_name.is_empty() && *g == row.desktop_group_name)
    });
    if member {
        Ok(())
    } else {
        Err(outside())
    }
}

/// Eligibility, the seat and the licence for the person the IdP vouched for.
async fn grant(
    state: &AppState,
    row: &IntegrationRow,
    account_name: &str,
    txn: &TransactionRow,
    email: &str,
    groups: &[String],
    object_id: Option<&str>,
) -> Result<Activated, ApiError> {
    let now = state.clock.now();
    eligible(state, row, email, groups).await?;
    let object_id = object_id.map(str::trim).filter(|o| !o.is_empty());
    // a known member is brought up to date; a first-seen one is created with the seat
    let known = sso::find_member(state, &txn.business_id, email, None::<Role>, object_id, now)
        .await
        .map_err(|r| saml_error(&r))?;
    let (user_id, new_member) = match known {
        Some(user_id) => (user_id, None),
        None => (crate::store::new_id(), Some(NewMember { email, object_id })),
    };
    let device_limit = row.device_limit;
    let activation_id = uuid::Uuid::now_v7().to_string();
    let secret = random_token();
    let outcome = state
        .db
        .grant_seat(&GrantRequest {
            business_id: &txn.business_id,
            product: &txn.product,
            user_id: &user_id,
            device: Device {
                id: &txn.device_id,
                name: &txn.device_name,
                os: &txn.device_os,
            },
            activation_id: &activation_id,
            secret_hash: &state.secret.hash_token(&secret),
            device_limit,
            now,
            new_member,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => saml_error(&sso::member_not_created(e, object_id)),
            e => ApiError::internal(e),
        })?;
    let subscription_expires_at = match outcome {
        Grant::Granted { expires_at, .. } => expires_at,
        Grant::NoSubscription => {
            return Err(ApiError::new(
                403,
                "no_subscription",
                format!("Your organisation has no subscription for {}.", txn.product),
            ))
        }
        Grant::Expired => {
            return Err(ApiError::new(
                403,
                "subscription_expired",
                "Your organisation's subscription has expired.",
            ))
        }
        Grant::NoSeats => {
            return Err(ApiError::new(
                409,
                "no_seats_left",
                "All seats of your organisation's subscription are taken. Ask your administrator for a seat.",
            ))
        }
        Grant::DeviceLimit { limit } => {
            return Err(ApiError::new(
                409,
                "device_limit_reached",
                format!("You already use this product on {limit} devices. Deactivate one first."),
            ))
        }
    };
    let claims = licence::Claims {
        iss: state.settings.public_url.clone(),
        act: activation_id.clone(),
        acct: txn.business_id.clone(),
        acct_name: account_name.to_string(),
        sub: user_id,
        email: email.to_string(),
        dev: txn.device_id.clone(),
        product: txn.product.clone(),
        iat: now,
        exp: licence_expiry(state, now, subscription_expires_at),
        sub_exp: subscription_expires_at,
    };
    tracing::info!(business = %txn.business_id, activation = %activation_id, product = %txn.product, "device activated");
    Ok(Activated {
        activation_id,
        activation_secret: secret,
        licence: state.licence_signer.sign(&claims),
        licence_expires_at: claims.exp,
        subscription_expires_at,
        product: txn.product.clone(),
        email: email.to_string(),
        account_name: account_name.to_string(),
    })
}

fn licence_expiry(state: &AppState, now: i64, subscription_end: Option<i64>) -> i64 {
    let grace = now + state.settings.licence_grace_secs;
    subscription_end.map_or(grace, |end| end.min(grace))
}

/// The activation, if `secret` is its own.
async fn authorised(
    state: &AppState,
    id: &str,
    secret: &str,
) -> Result<crate::store::activations::ActivationRow, ApiError> {
    use subtle::ConstantTimeEq as _;
    let unauthorised = || {
        ApiError::new(
            401,
            "invalid_activation_secret",
            "Unknown activation or wrong activation secret.",
        )
    };
    let row = state
        .db
        .activation(id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(unauthorised)?;
    let given = state.secret.hash_token(secret);
    if !bool::from(given.as_bytes().ct_eq(row.secret_hash.as_bytes())) {
        return Err(unauthorised());
    }
    Ok(row)
}

/// Is the activation still valid? If so, a renewed licence.
pub async fn check(state: &AppState, id: &str, secret: &str) -> Result<Checked, ApiError> {
    let now = state.clock.now();
    let row = authorised(state, id, secret).await?;
    if row.revoked_at.is_some() {
        let reason = row.revoked_reason.clone().unwrap_or_default();
        return Err(ApiError {
            message: revoked_message(&reason).to_string(),
            reason: Some(reason),
            ..ApiError::new(403, "activation_revoked", "")
        });
    }
    if row.subscription_expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::new(
            403,
            "subscription_expired",
            "Your organisation's subscription has expired.",
        ));
    }
    // at most once a minute per device: frequent checks stay reads
    if row.last_check_at < now - 60 {
        state
            .db
            .touch_activation(&row.id, now)
            .await
            .map_err(ApiError::internal)?;
    }
    let claims = licence::Claims {
        iss: state.settings.public_url.clone(),
        act: row.id.clone(),
        acct: row.business_id.clone(),
        acct_name: row.account_name.clone(),
        sub: row.user_id.clone(),
        email: row.email.clone(),
        dev: row.device_id.clone(),
        product: row.product.clone(),
        iat: now,
        exp: licence_expiry(state, now, row.subscription_expires_at),
        sub_exp: row.subscription_expires_at,
    };
    Ok(Checked {
        status: "active",
        licence: state.licence_signer.sign(&claims),
        licence_expires_at: claims.exp,
        subscription_expires_at: row.subscription_expires_at,
    })
}

pub fn revoked_message(reason: &str) -> &'static str {
    match reason {
        "deprovisioned" => "Your organisation has deprovisioned your account.",
        "removed_from_group" => "You were removed from your organisation's desktop users group.",
        "revoked_by_admin" | "seat_freed" => {
            "Your administrator has revoked this device's licence."
        }
        "deactivated" => "This device was deactivated.",
        "replaced" => "This device was activated again; this activation was replaced.",
        _ => "This activation is no longer valid.",
    }
}

/// The app gives its seat back (this device only).
pub async fn deactivate(state: &AppState, id: &str, secret: &str) -> Result<(), ApiError> {
    let row = authorised(state, id, secret).await?;
    if row.revoked_at.is_none() {
        state
            .db
            .revoke_activation(&row.id, "deactivated", state.clock.now())
            .await
            .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// With SCIM on, a directory change may end people's eligibility: revoke what it ended.
pub async fn after_directory_change(state: &crate::store::Db, business_id: &str, now: i64) {
    let result = async {
        let Some(row) = state.integration(business_id).await? else {
            return Ok(0);
        };
        if !row.scim_enabled {
            return Ok(0);
        }
        let group = crate::scim::service::matched_group(
            state,
            business_id,
            &row.desktop_group_id,
            &row.desktop_group_name,
        )
        .await?;
        state
            .revoke_ineligible_activations(
                business_id,
                group.as_ref().map(|(g, _)| g.id.as_str()),
                now,
            )
            .await
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            business = business_id,
            revoked = n,
            "activations revoked after a directory change"
        ),
        Err(e) => {
            tracing::error!(error = %e, business = business_id, "revoking ineligible activations failed")
        }
    }
}
