//! Accounts: sign-up, sign-in (rate-limited), emailed links (verification, password reset),
//! business accounts, license key registration and invitations. Framework-free: functions
//! of (state, input) that answer wire types or `ApiError`; server functions call them.

pub mod business;
pub mod passwords;

use crate::{
    api::error::ApiError,
    model::validate,
    server::{mail::Mail, security::ClientIp, state::AppState},
    store::{
        email_tokens::{TokenPurpose, TokenState},
        users::UserRow,
        StoreError,
    },
};

/// Verification links live a day, reset links an hour.
pub const VERIFY_TTL_SECS: i64 = 24 * 3600;
pub const RESET_TTL_SECS: i64 = 3600;
/// Sign-in throttling: failures counted over this window…
pub const SIGNIN_WINDOW_SECS: i64 = 15 * 60;
/// …at most this many per email address…
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
/// …and this many per client address.
pub const MAX_FAILURES_PER_IP: i64 = 20;

/// Logs a store failure and hides it from the client.
pub fn internal(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "store error");
    ApiError::Internal
}

fn email_field(email: &str) -> Result<String, ApiError> {
    validate::normalize_email(email).map_err(|m| ApiError::field("email", m))
}

fn new_password(password: &str, confirm: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Err(m) = validate::check_password(password) {
        errors.push(crate::api::error::FieldError {
            field: "password".into(),
            message: m,
        });
    } else if password != confirm {
        errors.push(crate::api::error::FieldError {
            field: "password_confirm".into(),
            message: "The passwords do not match.".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

pub async fn signup(
    state: &AppState,
    email: &str,
    password: &str,
    confirm: &str,
) -> Result<UserRow, ApiError> {
    let email_res = email_field(email);
    let pw_res = new_password(password, confirm);
    match (email_res, pw_res) {
        (Ok(email), Ok(())) => {
            let hash = passwords::hash(password.to_string()).await?;
            let user = match state.db.create_user(&email, &hash, state.clock.now()).await {
                Ok(u) => u,
                Err(StoreError::Conflict { .. }) => return Err(ApiError::field(
                    "email",
                    "An account with this email already exists. Sign in, or reset your password.",
                )),
                Err(e) => return Err(internal(e)),
            };
            tracing::info!(user = %user.id, "account created");
            // signing up signs in with the new password
            state
                .db
                .record_sign_in(&user.id, state.clock.now())
                .await
                .map_err(internal)?;
            send_verification(state, &user).await?;
            Ok(user)
        }
        (a, b) => {
            let mut errors = Vec::new();
            for e in [a.err(), b.err()].into_iter().flatten() {
                if let ApiError::Invalid(f) = e {
                    errors.extend(f);
                }
            }
            Err(ApiError::Invalid(errors))
        }
    }
}

/// A new one-time token for an emailed link; the user's older links of that kind stop working.
async fn issue_email_token(
    state: &AppState,
    user: &UserRow,
    purpose: TokenPurpose,
    ttl_secs: i64,
) -> Result<String, ApiError> {
    let now = state.clock.now();
    let token = crate::server::secrets::random_token();
    state
        .db
        .void_email_tokens(&user.id, purpose, now)
        .await
        .map_err(internal)?;
    state
        .db
        .create_email_token(
            &state.secret.hash_token(&token),
            &user.id,
            purpose,
            now,
            now + ttl_secs,
        )
        .await
        .map_err(internal)?;
    Ok(token)
}

/// Mails a fresh verification link (older links stop working).
pub async fn send_verification(state: &AppState, user: &UserRow) -> Result<(), ApiError> {
    let token = issue_email_token(state, user, TokenPurpose::VerifyEmail, VERIFY_TTL_SECS).await?;
    let link = state.settings.link(&format!("/verify-email?token={token}"));
    send(state, Mail {
        to: user.email.clone(),
        subject: "Verify your email address for Seatgate".into(),
        body: format!(
            "Hello,\n\nplease confirm that {} is your email address by opening this link:\n\n{link}\n\n\
             The link works once and expires in 24 hours. If you did not sign up, ignore this message.\n",
            user.email
        ),
    })
    .await
}

pub async fn send(state: &AppState, mail: Mail) -> Result<(), ApiError> {
    state.mailer.send(mail).await.map_err(|e| {
        tracing::error!(error = %e, "could not send mail");
        ApiError::Refused(
            "We could not send the email just now. Please try again in a moment.".into(),
        )
    })
}

pub async fn verify_email(state: &AppState, token: &str) -> Result<UserRow, ApiError> {
    let now = state.clock.now();
    let user_id = consume(state, token, TokenPurpose::VerifyEmail, now).await?;
    state
        .db
        .mark_email_verified(&user_id, now)
        .await
        .map_err(internal)?;
    state.db.user_by_id(&user_id).await.map_err(internal)
}

async fn consume(
    state: &AppState,
    token: &str,
    purpose: TokenPurpose,
    now: i64,
) -> Result<String, ApiError> {
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::Refused(
            "This link is incomplete. Open the link from the email again.".into(),
        ));
    }
    match state.db.consume_email_token(&state.secret.hash_token(token), purpose, now).await.map_err(internal)? {
        Ok(user_id) => Ok(user_id),
        Err(TokenState::Unknown) => Err(ApiError::Refused(
            "This link is not valid. Open the most recent link we emailed you, or ask for a new one.".into(),
        )),
        Err(TokenState::Used) => Err(ApiError::Refused("This link was already used. Ask for a new one if you need it.".into())),
        Err(TokenState::Expired) => Err(ApiError::Refused("This link has expired. Ask for a new one.".into())),
    }
}

fn rate_key_email(email_lc: &str) -> String {
    format!("email:{email_lc}")
}

fn rate_key_ip(ip: &ClientIp) -> Option<String> {
    ip.0.map(|ip| format!("ip:{ip}"))
}

async fn check_rate(state: &AppState, key: &str, max: i64, now: i64) -> Result<(), ApiError> {
    let (count, oldest) = state
        .db
        .signin_failures_since(key, now - SIGNIN_WINDOW_SECS)
        .await
        .map_err(internal)?;
    if count >= max {
        let retry = (oldest.unwrap_or(now) + SIGNIN_WINDOW_SECS - now).max(1) as u64;
        let minutes = retry.div_ceil(60);
        return Err(ApiError::RateLimited {
            message: format!(
                "Too many failed sign-in attempts. Try again in {minutes} minute{}, or reset your password.",
                if minutes == 1 { "" } else { "s" }
            ),
            retry_after_secs: retry,
        });
    }
    Ok(())
}

/// Checks the password, refusing while the email or the client address is throttled.
pub async fn signin(
    state: &AppState,
    email: &str,
    password: &str,
    ip: ClientIp,
) -> Result<UserRow, ApiError> {
    let email = email_field(email)?;
    if password.is_empty() {
        return Err(ApiError::field("password", "Enter your password."));
    }
    let now = state.clock.now();
    let email_key = rate_key_email(&email);
    let ip_key = rate_key_ip(&ip);
    check_rate(state, &email_key, MAX_FAILURES_PER_EMAIL, now).await?;
    if let Some(k) = &ip_key {
        check_rate(state, k, MAX_FAILURES_PER_IP, now).await?;
    }
    let user = state.db.user_by_email(&email).await.map_err(internal)?;
    // While the organisation signs in with SSO, only its backup login may use a password.
    if crate::saml::sso::password_sign_in_refused(
        state,
        &email,
        user.as_ref().map(|u| u.id.as_str()),
    )
    .await
    .map_err(internal)?
    {
        return Err(ApiError::Refused(
            "Your organisation signs in with single sign-on: use Continue with SSO.".into(),
        ));
    }
    // Unknown emails cost the same work as known ones, so timing does not tell them apart.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = passwords::verify(password.to_string(), stored).await?;
    match (ok, user) {
        (true, Some(user)) => {
            state
                .db
                .clear_signin_failures(&email_key)
                .await
                .map_err(internal)?;
            state
                .db
                .record_sign_in(&user.id, now)
                .await
                .map_err(internal)?;
            Ok(user)
        }
        _ => {
            state
                .db
                .record_signin_failure(&email_key, now)
                .await
                .map_err(internal)?;
            if let Some(k) = &ip_key {
                state
                    .db
                    .record_signin_failure(k, now)
                    .await
                    .map_err(internal)?;
            }
            tracing::info!(ip = ?ip.0, "failed sign-in");
            Err(ApiError::Refused(
                "The email or the password is not correct.".into(),
            ))
        }
    }
}

/// Always answers the same, whether or not the address has an account.
pub async fn request_password_reset(state: &AppState, email: &str) -> Result<(), ApiError> {
    let email = email_field(email)?;
    let Some(user) = state.db.user_by_email(&email).await.map_err(internal)? else {
        tracing::info!("password reset asked for an unknown address");
        return Ok(());
    };
    let token =
        issue_email_token(state, &user, TokenPurpose::ResetPassword, RESET_TTL_SECS).await?;
    let link = state
        .settings
        .link(&format!("/reset-password?token={token}"));
    send(state, Mail {
        to: user.email.clone(),
        subject: "Reset your Seatgate password".into(),
        body: format!(
            "Hello,\n\nsomeone (hopefully you) asked to reset the password of {}. To choose a new password, open:\n\n{link}\n\n\
             The link works once and expires in one hour. If you did not ask for this, ignore this message.\n",
            user.email
        ),
    })
    .await
}

/// Sets a new password from a reset link; every existing session is signed out.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &str,
    confirm: &str,
) -> Result<UserRow, ApiError> {
    new_password(password, confirm)?;
    let now = state.clock.now();
    let user_id = consume(state, token, TokenPurpose::ResetPassword, now).await?;
    let hash = passwords::hash(password.to_string()).await?;
    state
        .db
        .set_password_hash(&user_id, &hash)
        .await
        .map_err(internal)?;
    // the link reached the mailbox, so the address is proven too
    state
        .db
        .mark_email_verified(&user_id, now)
        .await
        .map_err(internal)?;
    state
        .db
        .delete_sessions_of_user(&user_id)
        .await
        .map_err(internal)?;
    state
        .db
        .clear_signin_failures(&rate_key_email(
            &state
                .db
                .user_by_id(&user_id)
                .await
                .map_err(internal)?
                .email_lc,
        ))
        .await
        .map_err(internal)?;
    tracing::info!(user = %user_id, "password reset");
    state.db.user_by_id(&user_id).await.map_err(internal)
}
