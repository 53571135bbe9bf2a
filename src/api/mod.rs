//! Server functions: the UI's only door to the server. Each body authorises first, calls
//! the domain (`accounts`), and converts; errors are `ApiError` with a fitting HTTP status.

#[cfg(feature = "ssr")]
mod ctx;
pub mod error;
pub mod integration;

pub use error::{ApiError, FieldError};

use crate::model::{BusinessGeneral, BusinessUsers, InvitationView, Me, Registered, Subscription};
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            match ctx::session(&state).await? {
                Some(s) => Ok(Some(
                    crate::accounts::business::me(&state, &s.user, &s.workspace).await?,
                )),
                None => Ok(None),
            }
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "signup")]
pub async fn signup(
    email: String,
    password: String,
    password_confirm: String,
) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let user =
                crate::accounts::signup(&state, &email, &password, &password_confirm).await?;
            ctx::start_session(&state, &user.id).await?;
            leptos_axum::redirect("/dashboard");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "signin")]
pub async fn signin(email: String, password: String, next: Option<String>) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let ip = ctx::client_ip()?;
            let user = crate::accounts::signin(&state, &email, &password, ip).await?;
            ctx::start_session(&state, &user.id).await?;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// Only local paths are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // browsers drop tabs and newlines from URLs ("/\t/evil.example" is "//evil.example"):
        // no whitespace or control characters at all
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_whitespace() || c.is_control())
                && n.len() < 512 =>
        {
            n.to_string()
        }
        _ => "/dashboard".to_string(),
    }
}

#[server(prefix = "/api", endpoint = "signout")]
pub async fn signout() -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            ctx::end_session(&state).await?;
            leptos_axum::redirect("/");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<String, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let user = crate::accounts::verify_email(&state, &token).await?;
            Ok(user.email)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<String, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            if s.user.email_verified_at.is_some() {
                return Ok("Your email address is already verified.".to_string());
            }
            crate::accounts::send_verification(&state, &s.user).await?;
            Ok(format!(
                "We sent a new verification link to {}.",
                s.user.email
            ))
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<String, ApiError> {
    ctx::finish(async {
        let state = ctx::state()?;
        crate::accounts::request_password_reset(&state, &email).await?;
        Ok("If an account exists for that address, we sent it a link to reset the password. Check your inbox.".to_string())
    }.await)
}

#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(
    token: String,
    password: String,
    password_confirm: String,
) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            crate::accounts::reset_password(&state, &token, &password, &password_confirm).await?;
            leptos_axum::redirect("/signin?reset=1");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "switch_workspace")]
pub async fn switch_workspace(workspace: String) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            let ws = match workspace.as_str() {
                "business" => "business",
                "personal" => "personal",
                _ => {
                    return Err(ApiError::field(
                        "workspace",
                        "Choose the personal or the business workspace.",
                    ))
                }
            };
            state
                .db
                .set_session_workspace(&s.token_hash, ws)
                .await
                .map_err(crate::accounts::internal)?;
            leptos_axum::redirect("/dashboard");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "register_key")]
pub async fn register_key(
    key: String,
    display_name: Option<String>,
    org_name: Option<String>,
    org_country: Option<String>,
    org_address: Option<String>,
    org_phone: Option<String>,
) -> Result<Registered, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            let org = crate::accounts::business::OrgForm {
                name: org_name.unwrap_or_default(),
                country: org_country.unwrap_or_default(),
                address: org_address.unwrap_or_default(),
                phone: org_phone.unwrap_or_default(),
            };
            let r = crate::accounts::business::register_key(
                &state,
                &s.user,
                &key,
                display_name.as_deref().unwrap_or(""),
                &org,
            )
            .await?;
            // show the business workspace and its licenses right away
            state
                .db
                .set_session_workspace(&s.token_hash, "business")
                .await
                .map_err(crate::accounts::internal)?;
            leptos_axum::redirect(if r.created_business {
                "/profile/business/licenses?registered=new"
            } else {
                "/profile/business/licenses?registered=1"
            });
            Ok(r)
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "business_general")]
pub async fn get_business_general() -> Result<BusinessGeneral, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::accounts::business::general(&state, &s.user).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "update_business_general")]
pub async fn update_business_general(
    org_name: String,
    org_country: Option<String>,
    org_address: Option<String>,
    org_phone: Option<String>,
) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            let org = crate::accounts::business::OrgForm {
                name: org_name,
                country: org_country.unwrap_or_default(),
                address: org_address.unwrap_or_default(),
                phone: org_phone.unwrap_or_default(),
            };
            crate::accounts::business::update_general(&state, &s.user, &org).await?;
            leptos_axum::redirect("/profile/business/general?saved=1");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "business_users")]
pub async fn get_business_users() -> Result<BusinessUsers, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::accounts::business::users(&state, &s.user).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "invite_user")]
pub async fn invite_user(email: String, role: String) -> Result<String, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::accounts::business::invite(&state, &s.user, &email, &role).await?;
            leptos_axum::redirect("/profile/business/users?invited=1");
            Ok(format!("Invitation sent to {}.", email.trim()))
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationView, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            crate::accounts::business::invitation(&state, &token).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::accounts::business::accept_invitation(&state, &s.user, &token).await?;
            state
                .db
                .set_session_workspace(&s.token_hash, "business")
                .await
                .map_err(crate::accounts::internal)?;
            leptos_axum::redirect("/dashboard");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "licenses")]
pub async fn get_licenses() -> Result<Vec<Subscription>, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::accounts::business::licenses(&state, &s.user).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "downloads")]
pub async fn get_downloads() -> Result<crate::model::Downloads, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            ctx::require_user(&state).await?;
            Ok(crate::activation::download::downloads(&state))
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "seat_holders")]
pub async fn get_seat_holders() -> Result<crate::model::SeatHolders, ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::activation::admin::seat_holders(&state, &s.user).await
        }
        .await,
    )
}

/// A plain form post from the Licenses page: back to it with a notice.
#[server(prefix = "/api", endpoint = "revoke_activation")]
pub async fn revoke_activation(activation_id: String) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::activation::admin::revoke(&state, &s.user, &activation_id).await?;
            leptos_axum::redirect("/profile/business/licenses?revoked=1");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "free_seat")]
pub async fn free_seat(license_key_id: String, user_id: String) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::activation::admin::free_seat(&state, &s.user, &license_key_id, &user_id).await?;
            leptos_axum::redirect("/profile/business/licenses?freed=1");
            Ok(())
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "set_device_limit")]
pub async fn set_device_limit(device_limit: String) -> Result<(), ApiError> {
    ctx::finish(
        async {
            let state = ctx::state()?;
            let s = ctx::require_user(&state).await?;
            crate::activation::admin::set_device_limit(&state, &s.user, &device_limit).await?;
            leptos_axum::redirect("/profile/business/licenses?limit=1");
            Ok(())
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/profile/business/users")),
            "/profile/business/users"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/dashboard");
        assert_eq!(safe_next(Some("//evil.example/")), "/dashboard");
        assert_eq!(safe_next(Some("/\\evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/dashboard");
        assert_eq!(
            safe_next(Some("/directdownload/pd?experience=sso")),
            "/directdownload/pd?experience=sso"
        );
        assert_eq!(safe_next(None), "/dashboard");
    }
}
