//! Wire types of the IdP Integration page.

use super::step::Step;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationView {
    pub business_name: String,
    /// False until "Start Configuring".
    pub started: bool,
    pub active: bool,
    pub steps: Vec<StepView>,
    pub can_activate: bool,
    pub domains: Vec<DomainView>,
    pub app_registered: bool,
    pub groups: GroupMapping,
    pub saml: SamlView,
    pub scim: ScimView,
    pub users_added: bool,
    pub backup_login: Option<String>,
    /// The signed-in admin: the backup login's default.
    pub viewer_email: String,
    /// Members who may be the backup login: they signed in with a password at least once.
    pub backup_candidates: Vec<String>,
    pub events: Vec<EventView>,
    /// The latest ACS attempts (sign-ins and Test SSO), newest first.
    pub sso_attempts: Vec<SsoAttemptView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepView {
    pub step: Step,
    pub done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    Pending,
    Verified,
    Failed,
    /// Pending here, but verified by another business account first.
    Taken,
}

impl DomainStatus {
    pub fn label(self) -> &'static str {
        match self {
            DomainStatus::Pending => "Pending verification",
            DomainStatus::Verified => "Verified",
            DomainStatus::Failed => "Verification failed",
            DomainStatus::Taken => "Taken by another business account",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainView {
    pub name: String,
    pub status: DomainStatus,
    /// The TXT record to publish.
    pub record_name: String,
    pub record_value: String,
    /// Time and words of the last check, if any.
    pub last_check: Option<String>,
    pub last_outcome: Option<String>,
    /// TXT values found at the record name by the last check.
    pub found: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMapping {
    pub admins_group_name: String,
    pub admins_group_id: String,
    pub desktop_group_name: String,
    pub desktop_group_id: String,
    /// How a provisioned SCIM group matches each mapping, in words (None: no SCIM group yet).
    pub admins_match: Option<String>,
    pub desktop_match: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub at: String,
    pub who: String,
    pub what: String,
}

/// Step 4: what we show (ours, read-only) and what the admin gave us (the IdP's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlView {
    pub sp_entity_id: String,
    pub acs_url: String,
    pub sp_metadata_url: String,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub certificates: Vec<CertView>,
    /// IdP-initiated (unsolicited) sign-in accepted.
    pub allow_unsolicited: bool,
    /// AuthnRequests signed with our SP key (its certificate is in our SP metadata).
    pub sign_requests: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertView {
    pub subject: String,
    pub issuer: String,
    pub fingerprint: String,
    pub valid_from: String,
    pub valid_until: String,
    pub expired: bool,
    /// Expires within 30 days.
    pub expires_soon: bool,
}

/// Step 5.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimView {
    pub enabled: bool,
    pub confirmed: bool,
    pub base_url: String,
    /// The last characters of the current token, if one was generated.
    pub token_hint: Option<String>,
    pub token_created: Option<String>,
    /// Provisioned so far: users (of which active) and groups.
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    /// The latest SCIM requests, newest first.
    pub requests: Vec<ScimRequestView>,
}

/// One logged SCIM request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimRequestView {
    pub at: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub error: Option<String>,
    pub duration_ms: String,
}

/// One SSO attempt at our ACS, for the admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoAttemptView {
    pub at: String,
    /// "signin" or "test".
    pub purpose: String,
    /// "ok" or "refused".
    pub outcome: String,
    pub category: Option<String>,
    pub detail: Option<String>,
    pub name_id: Option<String>,
    /// `name: value, value; …`
    pub attributes: String,
    /// Download of the raw XML (decrypted for the admin).
    pub xml_url: String,
}
