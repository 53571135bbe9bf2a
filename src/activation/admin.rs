//! The admin's side of activations (Licenses page): who holds a seat, on which devices, when
//! each last checked in; revoking a device, freeing a seat, the per-user device limit.

use crate::{
    accounts::{
        business::{require_admin, require_member},
        internal,
    },
    api::error::ApiError,
    model::{DeviceView, Role, SeatHolder, SeatHolders},
    server::{clock::format_time, state::AppState},
    store::{activations::ActivationRow, users::UserRow},
};

/// Revoked devices listed under the holders.
const RECENT_REVOKED: usize = 20;
pub const MAX_DEVICE_LIMIT: i64 = 100;

fn device_view(a: &ActivationRow) -> DeviceView {
    DeviceView {
        activation_id: a.id.clone(),
        email: a.email.clone(),
        name: a.device_name.clone(),
        os: a.device_os.clone(),
        activated: format_time(a.created_at),
        last_check: format_time(a.last_check_at),
        ended: a.revoked_reason.as_deref().map(|r| {
            format!(
                "{} ({})",
                ended_because(r),
                a.revoked_at.map(format_time).unwrap_or_default()
            )
        }),
    }
}

/// Why an activation ended, for the admin.
fn ended_because(reason: &str) -> &'static str {
    match reason {
        "deprovisioned" => "Deprovisioned by the IdP (SCIM)",
        "removed_from_group" => "Removed from the desktop users group (SCIM)",
        "revoked_by_admin" => "Revoked by an admin",
        "seat_freed" => "Seat freed by an admin",
        "deactivated" => "Deactivated on the device",
        "replaced" => "Activated again on the same device",
        _ => "Ended",
    }
}

pub async fn seat_holders(state: &AppState, user: &UserRow) -> Result<SeatHolders, ApiError> {
    let m = require_member(state, user).await?;
    let is_admin = m.role == Role::Admin.as_str();
    let device_limit = state
        .db
        .device_limit(&m.business_id)
        .await
        .map_err(internal)?;
    let download_url = state.settings.link("/directdownload/pd?experience=sso");
    if !is_admin {
        return Ok(SeatHolders {
            download_url,
            is_admin,
            device_limit,
            holders: vec![],
            revoked: vec![],
        });
    }
    let keys = state
        .db
        .subscriptions_of(&m.business_id)
        .await
        .map_err(internal)?;
    let seats = state.db.seats_of(&m.business_id).await.map_err(internal)?;
    let activations = state
        .db
        .activations_of(&m.business_id, 5_000)
        .await
        .map_err(internal)?;
    let holders = seats
        .into_iter()
        .map(|s| SeatHolder {
            product: keys
                .iter()
                .find(|k| k.id == s.license_key_id)
                .map(|k| k.product.clone())
                .unwrap_or_default(),
            devices: activations
                .iter()
                .filter(|a| {
                    a.revoked_at.is_none()
                        && a.user_id == s.user_id
                        && a.license_key_id == s.license_key_id
                })
                .map(device_view)
                .collect(),
            license_key_id: s.license_key_id,
            user_id: s.user_id,
            email: s.email,
            assigned: format_time(s.assigned_at),
        })
        .collect();
    let revoked = activations
        .iter()
        .filter(|a| a.revoked_at.is_some())
        .take(RECENT_REVOKED)
        .map(device_view)
        .collect();
    Ok(SeatHolders {
        download_url,
        is_admin,
        device_limit,
        holders,
        revoked,
    })
}

/// Ends one device's activation; its next check reports it revoked.
pub async fn revoke(state: &AppState, user: &UserRow, activation_id: &str) -> Result<(), ApiError> {
    let m = require_admin(state, user).await?;
    let row = state
        .db
        .activation(activation_id)
        .await
        .map_err(internal)?
        .filter(|a| a.business_id == m.business_id)
        .ok_or_else(|| ApiError::NotFound("No such activation.".into()))?;
    if row.revoked_at.is_none() {
        state
            .db
            .revoke_activation(&row.id, "revoked_by_admin", state.clock.now())
            .await
            .map_err(internal)?;
        tracing::info!(business = %m.business_id, activation = %row.id, by = %user.id, "activation revoked by an admin");
    }
    Ok(())
}

/// Frees a person's seat: all their devices on that subscription are revoked.
pub async fn free_seat(
    state: &AppState,
    user: &UserRow,
    license_key_id: &str,
    user_id: &str,
) -> Result<(), ApiError> {
    let m = require_admin(state, user).await?;
    let n = state
        .db
        .free_seat(&m.business_id, license_key_id, user_id, state.clock.now())
        .await
        .map_err(internal)?;
    if n == 0 {
        return Err(ApiError::NotFound(
            "This person holds no seat of that subscription.".into(),
        ));
    }
    tracing::info!(business = %m.business_id, user = %user_id, by = %user.id, "seat freed by an admin");
    Ok(())
}

pub async fn set_device_limit(
    state: &AppState,
    user: &UserRow,
    limit: &str,
) -> Result<i64, ApiError> {
    let m = require_admin(state, user).await?;
    let limit: i64 = limit
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_DEVICE_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::field(
                "device_limit",
                format!("Enter a whole number from 1 to {MAX_DEVICE_LIMIT}."),
            )
        })?;
    if state
        .db
        .integration(&m.business_id)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(ApiError::Refused(
            "Start the IdP Integration first: the device limit belongs to it.".into(),
        ));
    }
    state
        .db
        .set_device_limit(&m.business_id, limit)
        .await
        .map_err(internal)?;
    Ok(limit)
}
