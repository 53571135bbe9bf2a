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
    idp_entity_id: Option<String>,
    idp_sso_url: Option<String>,
    certificate: Option<String>,
    fingerprint: Option<String>,
    metadata_xml: Option<String>,
    metadata_url: Option<String>,
    enabled: Option<String>,
) -> Result<(), ApiError> {
    use super::ctx;
    use crate::integration::{self as i, Confirmation};
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            let u = &s.user;
            let domain = domain.unwrap_or_default();
            // an unchecked check box is absent from the form
            let on = |v: Option<String>| v.is_some_and(|v| !v.is_empty() && v != "false");
            let checked = on(done);
            match action.as_str() {
                "start" => i::start(&state, u).await,
                "add_domain" => i::add_domain(&state, u, &domain).await,
                "remove_domain" => i::remove_domain(&state, u, &domain).await,
                "verify_domain" => i::verify_domain(&state, u, &domain).await.map(|_| ()),
                "app_registered" => {
                    i::set_confirmation(&state, u, Confirmation::AppRegistered, checked).await
                }
                "groups" => {
                    i::set_groups(
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
                }
                "allow_unsolicited" => {
                    i::set_confirmation(&state, u, Confirmation::AllowUnsolicited, checked).await
                }
                "sign_requests" => {
                    i::set_confirmation(&state, u, Confirmation::SignRequests, checked).await
                }
                "users_added" => {
                    i::set_confirmation(&state, u, Confirmation::UsersAdded, checked).await
                }
                "backup_login" => {
                    i::set_backup_login(&state, u, backup_login.as_deref().unwrap_or("")).await
                }
                "saml" => {
                    i::set_saml_endpoint(
                        &state,
                        u,
                        idp_entity_id.as_deref().unwrap_or(""),
                        idp_sso_url.as_deref().unwrap_or(""),
                    )
                    .await
                }
                "add_certificate" => {
                    i::add_certificate(&state, u, certificate.as_deref().unwrap_or("")).await
                }
                "remove_certificate" => {
                    i::remove_certificate(&state, u, fingerprint.as_deref().unwrap_or("")).await
                }
                "import_metadata" => {
                    let xml = metadata_xml.as_deref().unwrap_or("").trim();
                    let url = metadata_url.as_deref().unwrap_or("").trim();
                    if xml.is_empty() && !url.is_empty() {
                        i::import_metadata_url(&state, u, url).await
                    } else {
                        i::import_metadata(&state, u, xml).await
                    }
                }
                "scim" => i::set_scim(&state, u, on(enabled), checked).await,
                "activate" => i::activate(&state, u).await,
                "deactivate" => i::deactivate(&state, u).await,
                other => Err(ApiError::BadRequest(format!(
                    "Unknown configurator action \u{201c}{other}\u{201d}."
                ))),
            }?;
            // Back to the page itself, rendered again from the stored facts. No `#step-N` anchor:
            // a change of fragment alone would not reload the page in the browser.
            leptos_axum::redirect(PAGE);
            Ok(())
        }
        .await,
    )
}

/// A new SCIM bearer token, answered once (only its hash is kept).
#[server(prefix = "/api", endpoint = "integration/scim_token")]
pub async fn regenerate_scim_token(revoke_now: Option<String>) -> Result<String, ApiError> {
    use super::ctx;
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            let revoke = revoke_now.is_some_and(|v| !v.is_empty() && v != "false");
            crate::integration::regenerate_scim_token(&state, &s.user, revoke).await
        }
        .await,
    )
}
