//! Server functions of the IdP Integration configurator. Each one authorises (admins of the
//! business account only, checked in `integration::*`) and, on success, sends the browser back
//! to the page, which the server renders again from the stored facts.

// A server function's arguments are the fields of its form, not a call signature to slim down.
#![allow(clippy::too_many_arguments)]

use super::error::ApiError;
use crate::model::integration::IntegrationView;
use leptos::prelude::*;

pub const PAGE: &str = "/profile/business/idp_integration";

#[server(prefix = "/api", endpoint = "integration")]
pub async fn get_integration() -> Result<IntegrationView, ApiError> {
    use super::ctx;
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::integration::view(&state, &s.user).await
        }
        .await,
    )
}

/// Every configurator form posts here: `action` names the change, the other fields carry it.
#[server(prefix = "/api", endpoint = "integration/change")]
pub async fn change_integration(
    action: String,
    domain: Option<String>,
    done: Option<String>,
    admins_group_name: Option<String>,
    admins_group_id: Option<String>,
    desktop_group_name: Option<String>,
    desktop_group_id: Option<String>,
    backup_login: Option<String>,
) -> Result<(), ApiError> {
    use super::ctx;
    use crate::integration as i;
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            let u = &s.user;
            let domain = domain.unwrap_or_default();
            // an unchecked check box is absent from the form
            let checked = done.is_some_and(|v| !v.is_empty() && v != "false");
            let anchor = match action.as_str() {
                "start" => i::start(&state, u).await.map(|_| ""),
                "add_domain" => i::add_domain(&state, u, &domain).await.map(|_| "#step-1"),
                "remove_domain" => i::remove_domain(&state, u, &domain)
                    .await
                    .map(|_| "#step-1"),
                "verify_domain" => i::verify_domain(&state, u, &domain)
                    .await
                    .map(|_| "#step-1"),
                "app_registered" => i::set_app_registered(&state, u, checked)
                    .await
                    .map(|_| "#step-2"),
                "groups" => i::set_groups(
                    &state,
                    u,
                    i::GroupsForm {
                        admins_name: admins_group_name.as_deref().unwrap_or(""),
                        admins_id: admins_group_id.as_deref().unwrap_or(""),
                        desktop_name: desktop_group_name.as_deref().unwrap_or(""),
                        desktop_id: desktop_group_id.as_deref().unwrap_or(""),
                    },
                )
                .await
                .map(|_| "#step-3"),
                "users_added" => i::set_users_added(&state, u, checked)
                    .await
                    .map(|_| "#step-6"),
                "backup_login" => {
                    i::set_backup_login(&state, u, backup_login.as_deref().unwrap_or(""))
                        .await
                        .map(|_| "#step-7")
                }
                "activate" => i::activate(&state, u).await.map(|_| ""),
                "deactivate" => i::deactivate(&state, u).await.map(|_| ""),
                other => Err(ApiError::BadRequest(format!(
                    "Unknown configurator action \u{201c}{other}\u{201d}."
                ))),
            }?;
            leptos_axum::redirect(&format!("{PAGE}{anchor}"));
            Ok(())
        }
        .await,
    )
}
