//! Wire types shared by the server and the browser: what server functions return, plus the
//! pure validation rules both halves agree on. Imports nothing of ours.

pub mod integration;
pub mod license_key;
pub mod step;
pub mod validate;

use serde::{Deserialize, Serialize};

/// Role of a member inside a business account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::User => "User",
        }
    }
}

/// Which workspace the dashboard shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workspace {
    Personal,
    Business,
}

/// The signed-in user as the UI needs to know them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub email_verified: bool,
    pub workspace: Workspace,
    pub business: Option<MyBusiness>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyBusiness {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// True once at least one license key is registered to the account.
    pub has_subscription: bool,
}

impl Me {
    pub fn is_business_admin(&self) -> bool {
        matches!(&self.business, Some(b) if b.role == Role::Admin)
    }
}

/// Organisation details (Business Profile → General).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessGeneral {
    pub name: String,
    pub country: String,
    pub address: String,
    pub phone: String,
    pub created: String,
    pub can_edit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub email: String,
    pub role: Role,
    pub status: String,
    pub last_sign_in: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub email: String,
    pub role: Role,
    pub invited: String,
    pub expires: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessUsers {
    pub members: Vec<Member>,
    pub invitations: Vec<PendingInvitation>,
    pub can_invite: bool,
}

/// One registered license key: a per-user subscription to a product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub display_name: String,
    pub product: String,
    pub key_hint: String,
    pub seats_total: i64,
    pub seats_used: i64,
    pub expires: Option<String>,
    pub expired: bool,
    pub registered: String,
}

/// Who holds the seats of the account's subscriptions, and on which devices (admins only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatHolders {
    /// The link admins send to employees (absolute).
    pub download_url: String,
    pub is_admin: bool,
    pub device_limit: i64,
    pub holders: Vec<SeatHolder>,
    /// The last devices whose activation ended, newest first.
    pub revoked: Vec<DeviceView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatHolder {
    pub license_key_id: String,
    pub product: String,
    pub user_id: String,
    pub email: String,
    pub assigned: String,
    pub devices: Vec<DeviceView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub activation_id: String,
    pub email: String,
    pub name: String,
    pub os: String,
    pub activated: String,
    pub last_check: String,
    /// Why it ended, for revoked ones.
    pub ended: Option<String>,
}

/// The desktop app downloads offered to signed-in people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downloads {
    pub server_url: String,
    pub builds: Vec<DesktopBuild>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopBuild {
    pub file: String,
    pub label: String,
    pub url: String,
    pub size_mb: String,
}

/// What an invitation link shows before it is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub business_name: String,
    pub email: String,
    pub role: Role,
}

/// Outcome of registering a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub business_name: String,
    pub created_business: bool,
}

/// What the sign-in page says when "Continue with SSO" cannot start (`sso_error` codes).
pub fn sso_error_message(code: &str) -> &'static str {
    match code {
        "invalid_email" => "Enter your work email address.",
        "unknown_domain" => {
            "Single sign-on is not set up for this email domain. Sign in with your password, or ask your administrator."
        }
        "sso_not_active" => {
            "Your organisation has not switched single sign-on on yet. Sign in with your password."
        }
        "sso_not_configured" => "Single sign-on for your organisation is not fully configured yet.",
        _ => "Single sign-on could not start. Try again in a moment.",
    }
}
