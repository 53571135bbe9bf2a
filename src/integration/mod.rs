//! The IdP Integration configurator: seven steps whose state is computed from stored facts
//! (`model::step::evaluate`), DNS-verified domains, activation, and the change log. Only
//! admins of the business account reach any of it.

pub mod domains;
pub mod saml_settings;

pub use crate::store::integrations::Confirmation;

use self::domains::CheckOutcome;
use crate::{
    accounts::{business::require_admin, internal},
    api::error::ApiError,
    model::{
        integration::{
            CertView, DomainStatus, DomainView, EventView, GroupMapping, IntegrationView, SamlView,
            ScimRequestView, ScimView, SsoAttemptView, StepView,
        },
        step::{self, Facts, Step},
        validate,
    },
    scim::service::{matched_group, MatchedBy},
    server::{
        clock::{format_time, format_time_seconds},
        secrets::random_token,
        state::AppState,
    },
    store::{
        business::MembershipRow,
        domains::{CheckRecord, DomainRow},
        idp_settings::CertificateRow,
        integrations::{IntegrationChange, IntegrationRow},
        users::UserRow,
        StoreError,
    },
};

const DEACTIVATE_FIRST: &str =
    "This change would leave a step incomplete while the integration is active. Deactivate the integration first.";

struct Ctx {
    member: MembershipRow,
    row: IntegrationRow,
    domains: Vec<DomainRow>,
    certificates: Vec<CertificateRow>,
    now: i64,
}

impl Ctx {
    fn facts(&self) -> Facts {
        facts(&self.row, &self.domains, &self.certificates, self.now)
    }
}

pub fn facts(
    row: &IntegrationRow,
    domains: &[DomainRow],
    certificates: &[CertificateRow],
    now: i64,
) -> Facts {
    Facts {
        active: row.active,
        domains_total: domains.len(),
        domains_verified: domains.iter().filter(|d| d.status == "verified").count(),
        app_registered: row.app_registered,
        admins_group_complete: !row.admins_group_name.is_empty() && !row.admins_group_id.is_empty(),
        desktop_group_complete: !row.desktop_group_name.is_empty()
            && !row.desktop_group_id.is_empty(),
        idp_entity_id_set: !row.idp_entity_id.is_empty(),
        idp_sso_url_set: !row.idp_sso_url.is_empty(),
        valid_certificates: certificates
            .iter()
            .filter(|c| c.not_before <= now && now < c.not_after)
            .count(),
        scim_enabled: row.scim_enabled,
        scim_confirmed: row.scim_confirmed,
        users_added: row.users_added,
        backup_login_set: row.backup_login_user_id.is_some(),
    }
}

async fn load(state: &AppState, user: &UserRow) -> Result<Ctx, ApiError> {
    let member = require_admin(state, user).await?;
    let row = state
        .db
        .integration(&member.business_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::Refused("Press Start Configuring first.".into()))?;
    let domains = state
        .db
        .domains_of(&member.business_id)
        .await
        .map_err(internal)?;
    let certificates = state
        .db
        .idp_certificates(&member.business_id)
        .await
        .map_err(internal)?;
    Ok(Ctx {
        member,
        row,
        domains,
        certificates,
        now: state.clock.now(),
    })
}

/// Refuses, while active, a change after which not every card would be green.
fn guard_active(before: &Facts, after: &Facts) -> Result<(), ApiError> {
    if before.active && !step::can_activate(after) {
        return Err(ApiError::Refused(DEACTIVATE_FIRST.into()));
    }
    Ok(())
}

async fn log(state: &AppState, ctx: &Ctx, user: &UserRow, what: String) -> Result<(), ApiError> {
    tracing::info!(business = %ctx.member.business_id, user = %user.id, change = %what, "IdP integration changed");
    state
        .db
        .record_integration_event(
            &ctx.member.business_id,
            Some(&user.id),
            &what,
            state.clock.now(),
        )
        .await
        .map_err(internal)
}

async fn change(
    state: &AppState,
    ctx: &Ctx,
    user: &UserRow,
    change: IntegrationChange<'_>,
    what: String,
) -> Result<(), ApiError> {
    state
        .db
        .change_integration(&ctx.member.business_id, change, state.clock.now())
        .await
        .map_err(internal)?;
    log(state, ctx, user, what).await
}

/// The page's data. Before "Start Configuring", only the business name and `started: false`.
pub async fn view(state: &AppState, user: &UserRow) -> Result<IntegrationView, ApiError> {
    let member = require_admin(state, user).await?;
    let Some(row) = state
        .db
        .integration(&member.business_id)
        .await
        .map_err(internal)?
    else {
        return Ok(IntegrationView {
            business_name: member.business_name,
            started: false,
            active: false,
            steps: Step::ALL
                .iter()
                .map(|s| StepView {
                    step: *s,
                    done: false,
                })
                .collect(),
            can_activate: false,
            domains: Vec::new(),
            app_registered: false,
            groups: GroupMapping::default(),
            saml: SamlView::default(),
            scim: ScimView::default(),
            users_added: false,
            backup_login: None,
            viewer_email: user.email.clone(),
            backup_candidates: Vec::new(),
            events: Vec::new(),
            sso_attempts: Vec::new(),
        });
    };
    let domains = state
        .db
        .domains_of(&member.business_id)
        .await
        .map_err(internal)?;
    let certificates = state
        .db
        .idp_certificates(&member.business_id)
        .await
        .map_err(internal)?;
    let now = state.clock.now();
    let f = facts(&row, &domains, &certificates, now);
    let done = step::evaluate(&f);
    let token = state
        .db
        .current_scim_token(&member.business_id)
        .await
        .map_err(internal)?;
    let (users, active_users) = state
        .db
        .count_scim_users(&member.business_id)
        .await
        .map_err(internal)?;
    let scim_groups = state
        .db
        .count_scim_groups(&member.business_id)
        .await
        .map_err(internal)?;
    let requests = state
        .db
        .scim_requests(&member.business_id, 50)
        .await
        .map_err(internal)?;
    let match_text = |m: Option<(crate::store::scim_groups::ScimGroupRow, MatchedBy)>| {
        m.map(|(g, by)| match by {
            MatchedBy::ExternalId => format!(
                "SCIM group \u{201c}{}\u{201d} matches by its ID.",
                g.display_name
            ),
            MatchedBy::DisplayName => format!(
                "SCIM group \u{201c}{}\u{201d} matches by its name only (the IdP sent no matching ID): renaming or reusing the name in the IdP changes who matches.",
                g.display_name
            ),
        })
    };
    let admins_match = match_text(
        matched_group(
            &state.db,
            &member.business_id,
            &row.admins_group_id,
            &row.admins_group_name,
        )
        .await
        .map_err(internal)?,
    );
    let desktop_match = match_text(
        matched_group(
            &state.db,
            &member.business_id,
            &row.desktop_group_id,
            &row.desktop_group_name,
        )
        .await
        .map_err(internal)?,
    );
    let sp = sp_urls(state, &member.business_id);
    let saml = SamlView {
        sp_entity_id: sp.entity_id,
        acs_url: sp.acs_url,
        sp_metadata_url: sp.metadata_url,
        idp_entity_id: row.idp_entity_id.clone(),
        idp_sso_url: row.idp_sso_url.clone(),
        certificates: certificates.iter().map(|c| cert_view(c, now)).collect(),
        allow_unsolicited: row.allow_unsolicited,
        sign_requests: row.sign_requests,
    };
    let scim = ScimView {
        enabled: row.scim_enabled,
        confirmed: row.scim_confirmed,
        base_url: state.settings.link("/scim/v2"),
        token_hint: token.as_ref().map(|t| format!("\u{2026}{}", t.hint)),
        token_created: token.map(|t| format_time(t.created_at)),
        users,
        active_users,
        groups: scim_groups,
        requests: requests
            .into_iter()
            .map(|r| ScimRequestView {
                at: format_time_seconds(r.at),
                method: r.method,
                path: r.path,
                status: u16::try_from(r.status).unwrap_or(0),
                error: r.error,
                duration_ms: format!("{:.1}", r.duration_us as f64 / 1000.0),
            })
            .collect(),
    };
    let candidates = state
        .db
        .password_members(&member.business_id)
        .await
        .map_err(internal)?;
    let backup_login = row.backup_login_user_id.as_ref().and_then(|id| {
        candidates
            .iter()
            .find(|(cid, _)| cid == id)
            .map(|(_, e)| e.clone())
    });
    let events = state
        .db
        .integration_events(&member.business_id, 50)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|e| EventView {
            at: format_time(e.at),
            who: e.who.unwrap_or_else(|| "seatgate".into()),
            what: e.what,
        })
        .collect();
    let sso_attempts = state
        .saml_log
        .newest(&member.business_id, 50)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|a| SsoAttemptView {
            at: format_time_seconds(a.at),
            xml_url: format!("/saml/{}/attempts/{}/xml", member.business_id, a.id),
            purpose: a.purpose,
            outcome: a.outcome,
            category: a.category,
            detail: a.detail,
            name_id: a.name_id,
            attributes: a
                .attributes
                .and_then(|j| serde_json::from_str::<Vec<(String, Vec<String>)>>(&j).ok())
                .map(|list| {
                    list.into_iter()
                        .map(|(k, v)| format!("{k}: {}", v.join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
        })
        .collect();
    Ok(IntegrationView {
        business_name: member.business_name,
        started: true,
        active: row.active,
        steps: Step::ALL
            .iter()
            .zip(done)
            .map(|(s, d)| StepView { step: *s, done: d })
            .collect(),
        can_activate: step::can_activate(&f) && !row.active,
        domains: domains.iter().map(domain_view).collect(),
        app_registered: row.app_registered,
        groups: GroupMapping {
            admins_group_name: row.admins_group_name,
            admins_group_id: row.admins_group_id,
            desktop_group_name: row.desktop_group_name,
            desktop_group_id: row.desktop_group_id,
            admins_match,
            desktop_match,
        },
        saml,
        scim,
        users_added: row.users_added,
        backup_login,
        viewer_email: user.email.clone(),
        backup_candidates: candidates.into_iter().map(|(_, e)| e).collect(),
        events,
        sso_attempts,
    })
}

fn domain_view(d: &DomainRow) -> DomainView {
    let status = match d.status.as_str() {
        "verified" => DomainStatus::Verified,
        "failed" => DomainStatus::Failed,
        _ if d.taken => DomainStatus::Taken,
        _ => DomainStatus::Pending,
    };
    DomainView {
        name: d.name.clone(),
        status,
        record_name: domains::record_name(&d.name),
        record_value: domains::record_value(&d.token),
        last_check: d.last_check_at.map(format_time),
        last_outcome: d
            .last_outcome
            .as_deref()
            .map(|c| domains::describe(c, &d.name)),
        found: d
            .last_found
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_default(),
    }
}

pub async fn start(state: &AppState, user: &UserRow) -> Result<(), ApiError> {
    let member = require_admin(state, user).await?;
    let now = state.clock.now();
    if state
        .db
        .integration(&member.business_id)
        .await
        .map_err(internal)?
        .is_none()
    {
        state
            .db
            .start_integration(&member.business_id, now)
            .await
            .map_err(internal)?;
        state
            .db
            .record_integration_event(
                &member.business_id,
                Some(&user.id),
                "Started configuring",
                now,
            )
            .await
            .map_err(internal)?;
    }
    Ok(())
}

pub async fn add_domain(state: &AppState, user: &UserRow, input: &str) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let name = domains::normalize(input).map_err(|m| ApiError::field("domain", m))?;
    let now = state.clock.now();
    // 16 random bytes, hex-free base64url: short enough to paste, long enough not to guess
    let token: String = random_token().chars().take(22).collect();
    match state
        .db
        .add_domain(&ctx.member.business_id, &name, &token, now, now + 60)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::field(
                "domain",
                format!("{name} is already in the list."),
            ))
        }
        Err(e) => return Err(internal(e)),
    }
    log(state, &ctx, user, format!("Added domain {name}")).await
}

pub async fn remove_domain(state: &AppState, user: &UserRow, name: &str) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let Some(d) = ctx.domains.iter().find(|d| d.name == name) else {
        return Err(ApiError::NotFound(format!("{name} is not in the list.")));
    };
    let before = ctx.facts();
    let mut after = before.clone();
    after.domains_total -= 1;
    if d.status == "verified" {
        after.domains_verified -= 1;
    }
    if before.active && after.domains_verified == 0 {
        return Err(ApiError::Refused(
            "This is the last verified domain of an active integration. Deactivate the integration first.".into(),
        ));
    }
    guard_active(&before, &after)?;
    state
        .db
        .remove_domain(&ctx.member.business_id, name)
        .await
        .map_err(internal)?;
    log(state, &ctx, user, format!("Removed domain {name}")).await
}

/// "Verify": looks the TXT record up now and stores what was found.
pub async fn verify_domain(
    state: &AppState,
    user: &UserRow,
    name: &str,
) -> Result<DomainStatus, ApiError> {
    let ctx = load(state, user).await?;
    let Some(d) = ctx.domains.iter().find(|d| d.name == name) else {
        return Err(ApiError::NotFound(format!("{name} is not in the list.")));
    };
    if d.status == "verified" {
        return Ok(DomainStatus::Verified);
    }
    let status = check_domain(state, d, true).await?;
    if status == DomainStatus::Verified {
        log(state, &ctx, user, format!("Verified domain {name}")).await?;
    }
    Ok(status)
}

/// One DNS check of a pending (or failed) domain, stored. `manual` checks revive failed domains.
pub async fn check_domain(
    state: &AppState,
    d: &DomainRow,
    manual: bool,
) -> Result<DomainStatus, ApiError> {
    let outcome = CheckOutcome::from_answer(
        state.dns.txt(&domains::record_name(&d.name)).await,
        &d.token,
    );
    let now = state.clock.now();
    let next = domains::next_check(d.added_at, d.attempts, now);
    let found = serde_json::to_string(&outcome.found()).unwrap_or_else(|_| "[]".into());
    let (status, code) = match (&outcome, next) {
        (CheckOutcome::Verified, _) => ("verified", "verified"),
        (_, None) if !manual => ("failed", outcome.code()),
        _ => ("pending", outcome.code()),
    };
    let record = CheckRecord {
        status,
        outcome: code,
        found: &found,
        next_check_at: next.unwrap_or(now + 3600),
    };
    match state.db.record_domain_check(&d.id, record, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            // another account verified the name first: our claim stays pending, marked taken
            let record = CheckRecord {
                status: "pending",
                outcome: "taken",
                found: &found,
                next_check_at: next.unwrap_or(now + 3600),
            };
            state
                .db
                .record_domain_check(&d.id, record, now)
                .await
                .map_err(internal)?;
            tracing::warn!(domain = %d.name, business = %d.business_id, "domain already verified by another business account");
            return Ok(DomainStatus::Taken);
        }
        Err(e) => return Err(internal(e)),
    }
    tracing::info!(domain = %d.name, business = %d.business_id, outcome = code, "domain checked");
    Ok(match status {
        "verified" => DomainStatus::Verified,
        "failed" => DomainStatus::Failed,
        _ if d.taken => DomainStatus::Taken,
        _ => DomainStatus::Pending,
    })
}

/// Background re-checks of pending domains, with back-off (see `domains::next_check`).
pub async fn recheck_due_domains(state: &AppState) -> Result<usize, ApiError> {
    let due = state
        .db
        .domains_due(state.clock.now(), 50)
        .await
        .map_err(internal)?;
    for d in &due {
        let status = check_domain(state, d, false).await?;
        if status == DomainStatus::Verified {
            state
                .db
                .record_integration_event(
                    &d.business_id,
                    None,
                    &format!("Verified domain {} (background check)", d.name),
                    state.clock.now(),
                )
                .await
                .map_err(internal)?;
        }
    }
    Ok(due.len())
}

/// Steps 2 and 6: the admin confirms (or withdraws) what they did in the IdP.
pub async fn set_confirmation(
    state: &AppState,
    user: &UserRow,
    which: Confirmation,
    done: bool,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let before = ctx.facts();
    let mut after = before.clone();
    let what = match which {
        Confirmation::AppRegistered => {
            after.app_registered = done;
            if done {
                "Confirmed the enterprise app is registered"
            } else {
                "Unchecked the enterprise app registration"
            }
        }
        Confirmation::UsersAdded => {
            after.users_added = done;
            if done {
                "Confirmed users are added to the groups"
            } else {
                "Unchecked users added to the groups"
            }
        }
        Confirmation::AllowUnsolicited => {
            if done {
                "Allowed IdP-initiated sign-in"
            } else {
                "Refused IdP-initiated sign-in"
            }
        }
        Confirmation::SignRequests => {
            if done {
                // the key exists before the IdP is told requests are signed
                crate::saml::signing::ensure_key(state, &ctx.member.business_id)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "making the SP signing key");
                        ApiError::Internal
                    })?;
                "Turned on signed authentication requests"
            } else {
                "Turned off signed authentication requests"
            }
        }
    };
    guard_active(&before, &after)?;
    change(
        state,
        &ctx,
        user,
        IntegrationChange::Confirm(which, done),
        what.into(),
    )
    .await
}

pub struct GroupsForm<'a> {
    pub admins_name: &'a str,
    pub admins_id: &'a str,
    pub desktop_name: &'a str,
    pub desktop_id: &'a str,
}

pub async fn set_groups(
    state: &AppState,
    user: &UserRow,
    form: GroupsForm<'_>,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let mut errors = Vec::new();
    let mut take = |field: &str, what: &str, v: &str| match validate::required_text(v, what, 256) {
        Ok(v) => v,
        Err(m) => {
            errors.push(crate::api::error::FieldError {
                field: field.into(),
                message: m,
            });
            String::new()
        }
    };
    // names are compared exactly (case-sensitive), so they are kept as typed, only trimmed
    let admins_name = take(
        "admins_group_name",
        "name of the admins group",
        form.admins_name,
    );
    let admins_id = take("admins_group_id", "ID of the admins group", form.admins_id);
    let desktop_name = take(
        "desktop_group_name",
        "name of the desktop users group",
        form.desktop_name,
    );
    let desktop_id = take(
        "desktop_group_id",
        "ID of the desktop users group",
        form.desktop_id,
    );
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    if admins_id == desktop_id {
        return Err(ApiError::field(
            "desktop_group_id",
            "The two groups must be different groups (their IDs are equal).",
        ));
    }
    change(
        state,
        &ctx,
        user,
        IntegrationChange::Groups { admins_name: &admins_name, admins_id: &admins_id, desktop_name: &desktop_name, desktop_id: &desktop_id },
        format!("Mapped groups: admins \u{201c}{admins_name}\u{201d} ({admins_id}), desktop users \u{201c}{desktop_name}\u{201d} ({desktop_id})"),
    )
    .await
}

pub async fn set_backup_login(
    state: &AppState,
    user: &UserRow,
    email: &str,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let email = validate::normalize_email(email).map_err(|m| ApiError::field("backup_login", m))?;
    let candidates = state
        .db
        .password_members(&ctx.member.business_id)
        .await
        .map_err(internal)?;
    let Some((id, shown)) = candidates
        .into_iter()
        .find(|(_, e)| e.to_lowercase() == email)
    else {
        return Err(ApiError::field(
            "backup_login",
            "Choose a user of this business account who has signed in with a password at least once.",
        ));
    };
    change(
        state,
        &ctx,
        user,
        IntegrationChange::BackupLogin(&id),
        format!("Set the backup login to {shown}"),
    )
    .await
}

pub async fn activate(state: &AppState, user: &UserRow) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let f = ctx.facts();
    if f.active {
        return Ok(());
    }
    // the page only enables the button when all seven are green; the server checks again
    let missing: Vec<String> = Step::ALL
        .iter()
        .zip(step::evaluate(&f))
        .filter(|(_, done)| !done)
        .map(|(s, _)| format!("{}. {}", s.number(), s.title()))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::Refused(format!(
            "Complete every step before activating. Still to do: {}.",
            missing.join("; ")
        )));
    }
    change(
        state,
        &ctx,
        user,
        IntegrationChange::Active(true),
        "Activated the integration".into(),
    )
    .await
}

pub async fn deactivate(state: &AppState, user: &UserRow) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    if !ctx.row.active {
        return Ok(());
    }
    change(
        state,
        &ctx,
        user,
        IntegrationChange::Active(false),
        "Deactivated the integration".into(),
    )
    .await
}

/// Runs CPU-bound parsing on tokio's blocking pool.
async fn off_worker<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "parsing task failed");
        ApiError::Internal
    })
}

/// Our side of the SAML exchange for one business account (derived from `--public-url`).
pub struct SpUrls {
    pub entity_id: String,
    pub acs_url: String,
    pub metadata_url: String,
}

pub fn sp_urls(state: &AppState, business_id: &str) -> SpUrls {
    SpUrls {
        entity_id: state.settings.link(&format!("/saml/{business_id}")),
        acs_url: state.settings.link(&format!("/saml/{business_id}/acs")),
        metadata_url: state
            .settings
            .link(&format!("/saml/{business_id}/metadata")),
    }
}

fn cert_view(c: &CertificateRow, now: i64) -> CertView {
    CertView {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        fingerprint: c.fingerprint.clone(),
        valid_from: crate::server::clock::format_date(c.not_before),
        valid_until: crate::server::clock::format_date(c.not_after),
        expired: c.not_after <= now,
        expires_soon: c.not_after > now && c.not_after - now <= saml_settings::EXPIRY_WARNING_SECS,
    }
}

pub async fn set_saml_endpoint(
    state: &AppState,
    user: &UserRow,
    entity_id: &str,
    sso_url: &str,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let mut errors = Vec::new();
    let entity_id = saml_settings::check_entity_id(entity_id)
        .map_err(|m| {
            errors.push(crate::api::error::FieldError {
                field: "idp_entity_id".into(),
                message: m,
            })
        })
        .unwrap_or_default();
    let sso_url = saml_settings::check_sso_url(sso_url)
        .map_err(|m| {
            errors.push(crate::api::error::FieldError {
                field: "idp_sso_url".into(),
                message: m,
            })
        })
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    state
        .db
        .set_idp_endpoint(
            &ctx.member.business_id,
            &entity_id,
            &sso_url,
            state.clock.now(),
        )
        .await
        .map_err(internal)?;
    log(
        state,
        &ctx,
        user,
        format!("Set the IdP entity ID to {entity_id} and the SSO URL to {sso_url}"),
    )
    .await
}

async fn store_certificate(
    state: &AppState,
    ctx: &Ctx,
    user: &UserRow,
    cert: saml_settings::Certificate,
) -> Result<bool, ApiError> {
    let row = CertificateRow {
        der_base64: cert.der_base64,
        fingerprint: cert.fingerprint.clone(),
        subject: cert.subject.clone(),
        issuer: cert.issuer,
        not_before: cert.not_before,
        not_after: cert.not_after,
    };
    match state
        .db
        .add_idp_certificate(&ctx.member.business_id, &row, state.clock.now())
        .await
    {
        Ok(()) => {
            log(
                state,
                ctx,
                user,
                format!(
                    "Added IdP certificate {} ({})",
                    cert.fingerprint, cert.subject
                ),
            )
            .await?;
            Ok(true)
        }
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(internal(e)),
    }
}

pub async fn add_certificate(
    state: &AppState,
    user: &UserRow,
    input: &str,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let now = state.clock.now();
    let input = input.to_string();
    let cert = off_worker(move || saml_settings::parse_certificate(&input, now))
        .await?
        .map_err(|m| ApiError::field("certificate", m))?;
    if !store_certificate(state, &ctx, user, cert).await? {
        return Err(ApiError::field(
            "certificate",
            "This certificate is already in the list.",
        ));
    }
    Ok(())
}

pub async fn remove_certificate(
    state: &AppState,
    user: &UserRow,
    fingerprint: &str,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let before = ctx.facts();
    let Some(c) = ctx
        .certificates
        .iter()
        .find(|c| c.fingerprint == fingerprint)
    else {
        return Err(ApiError::NotFound(
            "This certificate is not in the list.".into(),
        ));
    };
    let was_valid = c.not_before <= ctx.now && ctx.now < c.not_after;
    let after = Facts {
        valid_certificates: before.valid_certificates - usize::from(was_valid),
        ..before.clone()
    };
    guard_active(&before, &after)?;
    state
        .db
        .remove_idp_certificate(&ctx.member.business_id, fingerprint)
        .await
        .map_err(internal)?;
    log(
        state,
        &ctx,
        user,
        format!("Removed IdP certificate {fingerprint}"),
    )
    .await
}

/// Fetches the IdP's metadata once from `url` (see `server::fetch` for the guards) and imports
/// it as if uploaded.
pub async fn import_metadata_url(
    state: &AppState,
    user: &UserRow,
    url: &str,
) -> Result<(), ApiError> {
    // authorise before any outbound request
    let ctx = load(state, user).await?;
    let xml = state.fetcher.fetch(url).await.map_err(|m| {
        tracing::info!(business = %ctx.member.business_id, url, reason = %m, "metadata fetch refused");
        ApiError::field("metadata_url", m)
    })?;
    import_metadata(state, user, &xml)
        .await
        .map_err(|e| match e {
            ApiError::Invalid(fields) => ApiError::Invalid(
                fields
                    .into_iter()
                    .map(|mut f| {
                        f.field = "metadata_url".into();
                        f
                    })
                    .collect(),
            ),
            other => other,
        })
}

/// Fills entity ID, SSO URL and certificates from the IdP's metadata XML. Expired
/// certificates in it are skipped (and named); at least one must be valid.
pub async fn import_metadata(state: &AppState, user: &UserRow, xml: &str) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    let now = state.clock.now();
    let xml = xml.to_string();
    // XML and X.509 parsing run on a blocking thread, not on the async workers
    let (md, parsed) = off_worker(move || {
        saml_settings::parse_metadata(&xml).map(|md| {
            let parsed: Vec<_> = md
                .certificates
                .iter()
                .map(|c| saml_settings::parse_certificate(c, now))
                .collect();
            (md, parsed)
        })
    })
    .await?
    .map_err(|m| ApiError::field("metadata_xml", m))?;
    let entity_id = saml_settings::check_entity_id(&md.entity_id)
        .map_err(|m| ApiError::field("metadata_xml", m))?;
    let sso_url = saml_settings::check_sso_url(&md.sso_url)
        .map_err(|m| ApiError::field("metadata_xml", format!("SSO URL {}: {m}", md.sso_url)))?;
    let mut valid = Vec::new();
    let mut refused = Vec::new();
    for p in parsed {
        match p {
            Ok(cert) => valid.push(cert),
            Err(m) => refused.push(m),
        }
    }
    if valid.is_empty() {
        return Err(ApiError::field(
            "metadata_xml",
            format!(
                "The metadata holds no usable signing certificate: {}",
                refused.join(" ")
            ),
        ));
    }
    state
        .db
        .set_idp_endpoint(&ctx.member.business_id, &entity_id, &sso_url, now)
        .await
        .map_err(internal)?;
    log(
        state,
        &ctx,
        user,
        format!("Imported IdP metadata for {entity_id}"),
    )
    .await?;
    for cert in valid {
        store_certificate(state, &ctx, user, cert).await?;
    }
    Ok(())
}

pub async fn set_scim(
    state: &AppState,
    user: &UserRow,
    enabled: bool,
    confirmed: bool,
) -> Result<(), ApiError> {
    let ctx = load(state, user).await?;
    if enabled
        && confirmed
        && state
            .db
            .current_scim_token(&ctx.member.business_id)
            .await
            .map_err(internal)?
            .is_none()
    {
        return Err(ApiError::field(
            "done",
            "Generate the bearer token and enter it in your IdP first.",
        ));
    }
    let before = ctx.facts();
    guard_active(
        &before,
        &Facts {
            scim_enabled: enabled,
            scim_confirmed: confirmed,
            ..before.clone()
        },
    )?;
    state
        .db
        .set_scim(
            &ctx.member.business_id,
            enabled,
            confirmed && enabled,
            state.clock.now(),
        )
        .await
        .map_err(internal)?;
    let what = match (enabled, confirmed) {
        (false, _) => "Turned SCIM support off".to_string(),
        (true, true) => "Turned SCIM support on and confirmed the IdP configuration".to_string(),
        (true, false) => "Turned SCIM support on".to_string(),
    };
    log(state, &ctx, user, what).await
}

/// How long a replaced SCIM token keeps working, so the IdP can be updated without a gap.
pub const SCIM_TOKEN_GRACE_SECS: i64 = 24 * 3600;

/// A new SCIM bearer token, shown this once. The previous one stays valid for the grace
/// period, or stops at once when `revoke_now`.
pub async fn regenerate_scim_token(
    state: &AppState,
    user: &UserRow,
    revoke_now: bool,
) -> Result<String, ApiError> {
    let ctx = load(state, user).await?;
    let token = format!("sgscim_{}", random_token());
    let hint: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let now = state.clock.now();
    let old_until = if revoke_now {
        now
    } else {
        now + SCIM_TOKEN_GRACE_SECS
    };
    state
        .db
        .replace_scim_token(
            &ctx.member.business_id,
            &state.secret.hash_token(&token),
            &hint,
            now,
            old_until,
        )
        .await
        .map_err(internal)?;
    let what = if revoke_now {
        "Generated a new SCIM token; previous tokens revoked at once"
    } else {
        "Generated a new SCIM token; previous tokens valid for 24 more hours"
    };
    log(state, &ctx, user, what.into()).await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_that_greys_a_card_is_refused_only_while_active() {
        let green = Facts {
            active: true,
            domains_total: 1,
            domains_verified: 1,
            app_registered: true,
            admins_group_complete: true,
            desktop_group_complete: true,
            idp_entity_id_set: true,
            idp_sso_url_set: true,
            valid_certificates: 1,
            scim_enabled: false,
            scim_confirmed: false,
            users_added: true,
            backup_login_set: true,
        };
        let greyer = Facts {
            app_registered: false,
            ..green.clone()
        };
        assert!(guard_active(&green, &greyer).is_err());
        let inactive = Facts {
            active: false,
            ..green.clone()
        };
        assert!(guard_active(
            &inactive,
            &Facts {
                active: false,
                ..greyer
            }
        )
        .is_ok());
        assert!(guard_active(&green, &green).is_ok());
    }
}
