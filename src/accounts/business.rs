//! Business accounts: registering license keys, organisation details, members and
//! invitations. Every function takes the acting user and checks what they may do.

use super::{internal, send};
use crate::{
    api::error::{ApiError, FieldError},
    model::{
        self, license_key, validate, BusinessGeneral, BusinessUsers, InvitationView, Member,
        PendingInvitation, Registered, Role, Subscription,
    },
    server::{
        clock::{format_date, format_time},
        mail::Mail,
        secrets::{random_token, sha256_hex},
        state::AppState,
    },
    store::{
        business::{MembershipRow, OrgDetails},
        license_keys::RegisterInto,
        users::UserRow,
        StoreError,
    },
};

pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;

/// What the organisation form sent (all optional until a new account needs them).
#[derive(Clone, Debug, Default)]
pub struct OrgForm {
    pub name: String,
    pub country: String,
    pub address: String,
    pub phone: String,
}

fn validate_org(form: &OrgForm) -> Result<OrgDetails, ApiError> {
    let mut errors = Vec::new();
    let mut take = |field: &str, r: Result<String, String>| match r {
        Ok(v) => v,
        Err(m) => {
            errors.push(FieldError {
                field: field.into(),
                message: m,
            });
            String::new()
        }
    };
    let d = OrgDetails {
        name: take(
            "org_name",
            validate::required_text(&form.name, "organisation name", 120),
        ),
        country: take(
            "org_country",
            validate::optional_text(&form.country, "country", 80),
        ),
        address: take(
            "org_address",
            validate::optional_text(&form.address, "address", 300),
        ),
        phone: take(
            "org_phone",
            validate::optional_text(&form.phone, "phone number", 40),
        ),
    };
    if errors.is_empty() {
        Ok(d)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

fn require_verified(user: &UserRow) -> Result<(), ApiError> {
    if user.email_verified_at.is_none() {
        return Err(ApiError::Forbidden(
            "Verify your email address first: open the link we emailed you (or ask for a new one on the dashboard).".into(),
        ));
    }
    Ok(())
}

async fn membership(state: &AppState, user: &UserRow) -> Result<Option<MembershipRow>, ApiError> {
    state.db.membership_of(&user.id).await.map_err(internal)
}

/// The user's business account, or 403/404 as appropriate.
pub async fn require_member(state: &AppState, user: &UserRow) -> Result<MembershipRow, ApiError> {
    membership(state, user)
        .await?
        .filter(|m| m.status == "active")
        .ok_or_else(|| {
            ApiError::NotFound(
                "You do not belong to a business account. Register a license key to create one."
                    .into(),
            )
        })
}

/// The user's business account, if they administer it.
pub async fn require_admin(state: &AppState, user: &UserRow) -> Result<MembershipRow, ApiError> {
    let m = require_member(state, user).await?;
    if m.role != Role::Admin.as_str() {
        tracing::warn!(user = %user.id, business = %m.business_id, "non-admin refused an admin page");
        return Err(ApiError::Forbidden(
            "Only an admin of this business account can do this.".into(),
        ));
    }
    require_verified(user)?;
    Ok(m)
}

/// "Register Key": the key goes to the user's business account, or to a new one created
/// with the organisation details, the user as its admin. Any refusal changes nothing.
pub async fn register_key(
    state: &AppState,
    user: &UserRow,
    key: &str,
    display_name: &str,
    org: &OrgForm,
) -> Result<Registered, ApiError> {
    require_verified(user)?;
    let canonical = license_key::parse(key).map_err(|e| ApiError::field("key", e.message()))?;
    let display_name = validate::optional_text(display_name, "subscription name", 80)
        .map_err(|m| ApiError::field("display_name", m))?;
    let member = membership(state, user).await?;
    let org =
        match &member {
            Some(m) if m.role != Role::Admin.as_str() => return Err(ApiError::Forbidden(
                "Only an admin of your business account can register keys. Ask one of its admins."
                    .into(),
            )),
            Some(_) => None,
            None => Some(validate_org(org)?),
        };
    let now = state.clock.now();
    let Some(row) = state
        .db
        .license_key_by_hash(&sha256_hex(&canonical))
        .await
        .map_err(internal)?
    else {
        tracing::info!(user = %user.id, "unknown license key entered");
        return Err(ApiError::field(
            "key",
            "This license key is not known. Check it against the key you received.",
        ));
    };
    if let Some(owner) = &row.business_id {
        let msg = if member.as_ref().map(|m| &m.business_id) == Some(owner) {
            "This license key is already registered to your business account."
        } else {
            "This license key is already registered to another business account."
        };
        return Err(ApiError::field("key", msg));
    }
    if row.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::field(
            "key",
            format!(
                "This license key expired on {}. Contact your vendor to renew it.",
                format_date(row.expires_at.unwrap_or(now) - 1)
            ),
        ));
    }
    let display = (!display_name.is_empty()).then_some(display_name.as_str());
    let into = match (&member, &org) {
        (Some(m), _) => RegisterInto::Existing {
            business_id: &m.business_id,
        },
        (None, Some(org)) => RegisterInto::New {
            org,
            admin_user_id: &user.id,
        },
        (None, None) => return Err(ApiError::Internal),
    };
    let result = state
        .db
        .register_license_key(&row.id, display, into, &user.id, now)
        .await;
    match result {
        Ok(Some(business_id)) => {
            let b = state.db.business(&business_id).await.map_err(internal)?;
            tracing::info!(user = %user.id, business = %business_id, key = %row.key_hint, "license key registered");
            Ok(Registered {
                business_name: b.name,
                created_business: member.is_none(),
            })
        }
        Ok(None) => Err(ApiError::field(
            "key",
            "This license key is already registered to another business account.",
        )),
        // the user joined a business account between our read and the write
        Err(StoreError::Conflict { .. }) => Err(ApiError::Refused(
            "You already belong to a business account. Reload the page.".into(),
        )),
        Err(e) => Err(internal(e)),
    }
}

pub async fn general(state: &AppState, user: &UserRow) -> Result<BusinessGeneral, ApiError> {
    let m = require_member(state, user).await?;
    let b = state.db.business(&m.business_id).await.map_err(internal)?;
    Ok(BusinessGeneral {
        name: b.name,
        country: b.country,
        address: b.address,
        phone: b.phone,
        created: format_date(b.created_at),
        can_edit: m.role == Role::Admin.as_str(),
    })
}

pub async fn update_general(
    state: &AppState,
    user: &UserRow,
    form: &OrgForm,
) -> Result<(), ApiError> {
    let m = require_admin(state, user).await?;
    let d = validate_org(form)?;
    state
        .db
        .update_business(&m.business_id, &d)
        .await
        .map_err(internal)?;
    tracing::info!(user = %user.id, business = %m.business_id, "organisation details updated");
    Ok(())
}

pub async fn users(state: &AppState, user: &UserRow) -> Result<BusinessUsers, ApiError> {
    let m = require_member(state, user).await?;
    let is_admin = m.role == Role::Admin.as_str();
    let members = state
        .db
        .members(&m.business_id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|r| Member {
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::User),
            status: r.status,
            last_sign_in: r.last_sign_in_at.map(format_time),
        })
        .collect();
    let invitations = if is_admin {
        state
            .db
            .pending_invitations(&m.business_id, state.clock.now())
            .await
            .map_err(internal)?
            .into_iter()
            .map(|i| PendingInvitation {
                email: i.email_lc,
                role: Role::parse(&i.role).unwrap_or(Role::User),
                invited: format_time(i.created_at),
                expires: format_time(i.expires_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(BusinessUsers {
        members,
        invitations,
        can_invite: is_admin,
    })
}

pub async fn invite(
    state: &AppState,
    user: &UserRow,
    email: &str,
    role: &str,
) -> Result<(), ApiError> {
    let m = require_admin(state, user).await?;
    let email = validate::normalize_email(email).map_err(|e| ApiError::field("email", e))?;
    let role = Role::parse(role).ok_or_else(|| ApiError::field("role", "Choose Admin or User."))?;
    if let Some(existing) = state.db.user_by_email(&email).await.map_err(internal)? {
        if let Some(em) = state
            .db
            .membership_of(&existing.id)
            .await
            .map_err(internal)?
        {
            let msg = if em.business_id == m.business_id {
                "This person is already a member of your business account."
            } else {
                "This person already belongs to another business account."
            };
            return Err(ApiError::field("email", msg));
        }
    }
    let now = state.clock.now();
    let token = random_token();
    state
        .db
        .void_pending_invitations(&m.business_id, &email, now)
        .await
        .map_err(internal)?;
    state
        .db
        .create_invitation(
            &m.business_id,
            &email,
            role.as_str(),
            &state.secret.hash_token(&token),
            &user.id,
            now,
            now + INVITATION_TTL_SECS,
        )
        .await
        .map_err(internal)?;
    let link = state
        .settings
        .link(&format!("/invitations/accept?token={token}"));
    send(state, Mail {
        to: email.clone(),
        subject: format!("{} invites you to their business account on Seatgate", m.business_name),
        body: format!(
            "Hello,\n\n{} invites you to join the business account \"{}\" as {}.\n\n\
             To accept, open this link and sign in (or sign up) with this email address ({email}):\n\n{link}\n\n\
             The invitation expires in 7 days.\n",
            user.email,
            m.business_name,
            role.label()
        ),
    })
    .await?;
    tracing::info!(user = %user.id, business = %m.business_id, "invitation sent");
    Ok(())
}

async fn live_invitation(
    state: &AppState,
    token: &str,
) -> Result<crate::store::invitations::InvitationRow, ApiError> {
    let invalid = || {
        ApiError::NotFound(
            "This invitation link is not valid. Ask the admin who invited you for a new one."
                .into(),
        )
    };
    if token.is_empty() || token.len() > 128 {
        return Err(invalid());
    }
    let inv = state
        .db
        .invitation_by_token(&state.secret.hash_token(token))
        .await
        .map_err(internal)?
        .ok_or_else(invalid)?;
    if inv.accepted_at.is_some() {
        return Err(ApiError::Refused(
            "This invitation was already accepted.".into(),
        ));
    }
    if inv.expires_at <= state.clock.now() {
        return Err(ApiError::Refused(
            "This invitation has expired. Ask the admin who invited you for a new one.".into(),
        ));
    }
    Ok(inv)
}

pub async fn invitation(state: &AppState, token: &str) -> Result<InvitationView, ApiError> {
    let inv = live_invitation(state, token).await?;
    Ok(InvitationView {
        business_name: inv.business_name,
        email: inv.email_lc,
        role: Role::parse(&inv.role).unwrap_or(Role::User),
    })
}

/// Accepting needs the invited address: the signed-in account must have that email. The
/// token came to that mailbox, so accepting also proves the address.
pub async fn accept_invitation(
    state: &AppState,
    user: &UserRow,
    token: &str,
) -> Result<String, ApiError> {
    let inv = live_invitation(state, token).await?;
    if user.email_lc != inv.email_lc {
        return Err(ApiError::Forbidden(format!(
            "This invitation is for {}. You are signed in as {}: sign out and sign in (or sign up) with the invited address.",
            inv.email_lc, user.email
        )));
    }
    if state
        .db
        .membership_of(&user.id)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Err(ApiError::Refused(
            "You already belong to a business account.".into(),
        ));
    }
    let now = state.clock.now();
    state
        .db
        .mark_email_verified(&user.id, now)
        .await
        .map_err(internal)?;
    match state
        .db
        .accept_invitation(&inv.id, &inv.business_id, &user.id, &inv.role, now)
        .await
    {
        Ok(true) => {
            tracing::info!(user = %user.id, business = %inv.business_id, "invitation accepted");
            Ok(inv.business_name)
        }
        Ok(false) => Err(ApiError::Refused(
            "This invitation was already accepted.".into(),
        )),
        Err(StoreError::Conflict { .. }) => Err(ApiError::Refused(
            "You already belong to a business account.".into(),
        )),
        Err(e) => Err(internal(e)),
    }
}

pub async fn licenses(state: &AppState, user: &UserRow) -> Result<Vec<Subscription>, ApiError> {
    let m = require_member(state, user).await?;
    let now = state.clock.now();
    Ok(state
        .db
        .subscriptions_of(&m.business_id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|k| Subscription {
            display_name: k
                .display_name
                .clone()
                .unwrap_or_else(|| product_label(&k.product)),
            product: k.product,
            key_hint: k.key_hint,
            seats_total: k.seats,
            seats_used: k.seats_used,
            expires: k.expires_at.map(|e| format_date(e - 1)),
            expired: k.expires_at.is_some_and(|e| e <= now),
            registered: k.registered_at.map(format_date).unwrap_or_default(),
        })
        .collect())
}

fn product_label(product: &str) -> String {
    format!("{product} subscription")
}

/// Summary the UI needs about the user (nav, dashboard).
pub async fn me(state: &AppState, user: &UserRow, workspace: &str) -> Result<model::Me, ApiError> {
    let business = match membership(state, user)
        .await?
        .filter(|m| m.status == "active")
    {
        Some(m) => {
            let has_subscription = !state
                .db
                .subscriptions_of(&m.business_id)
                .await
                .map_err(internal)?
                .is_empty();
            Some(model::MyBusiness {
                id: m.business_id,
                name: m.business_name,
                role: Role::parse(&m.role).unwrap_or(Role::User),
                has_subscription,
            })
        }
        None => None,
    };
    let workspace = if workspace == "business" && business.is_some() {
        model::Workspace::Business
    } else {
        model::Workspace::Personal
    };
    Ok(model::Me {
        email: user.email.clone(),
        email_verified: user.email_verified_at.is_some(),
        workspace,
        business,
    })
}
