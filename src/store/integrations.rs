//! `idp_integrations`: the configurator's stored facts, one row per business account.

use super::{with_pool, Db, StoreError, StoreResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IntegrationRow {
    pub business_id: String,
    pub started_at: i64,
    pub app_registered: bool,
    pub admins_group_name: String,
    pub admins_group_id: String,
    pub desktop_group_name: String,
    pub desktop_group_id: String,
    pub idp_entity_id: String,
    pub idp_sso_url: String,
    pub scim_enabled: bool,
    pub scim_confirmed: bool,
    pub users_added: bool,
    pub backup_login_user_id: Option<String>,
    pub active: bool,
    pub activated_at: Option<i64>,
    pub updated_at: i64,
    /// IdP-initiated sign-in accepted (never for desktop activation).
    pub allow_unsolicited: bool,
    /// Devices one person may have activated at once.
    pub device_limit: i64,
    /// AuthnRequests are signed with the account's SP key.
    pub sign_requests: bool,
}

/// An account's SSO settings as the start and the ACS read them (see `Db::sso_settings`).
#[derive(Debug, Clone)]
pub struct SsoSettings {
    pub integration: IntegrationRow,
    pub certificates_der_base64: Vec<String>,
    pub verified_domains: Vec<String>,
    /// The products the account holds subscriptions for.
    pub products: Vec<String>,
    /// The business account's name (licences carry it).
    pub account_name: String,
}

#[derive(sqlx::FromRow)]
struct SsoRow {
    #[sqlx(flatten)]
    integration: IntegrationRow,
    certificates_json: String,
    domains_json: String,
    products_json: String,
    account_name: Option<String>,
}

const COLUMNS: &str = "business_id, started_at, app_registered, admins_group_name, admins_group_id, \
     desktop_group_name, desktop_group_id, idp_entity_id, idp_sso_url, scim_enabled, scim_confirmed, \
     users_added, backup_login_user_id, active, activated_at, updated_at, allow_unsolicited, device_limit, sign_requests";

/// The configurator's yes/no settings: the confirmations of steps 2 and 6, and whether
/// IdP-initiated sign-in is accepted (step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    AppRegistered,
    UsersAdded,
    AllowUnsolicited,
    SignRequests,
}

impl Confirmation {
    fn column(self) -> &'static str {
        match self {
            Confirmation::AppRegistered => "app_registered",
            Confirmation::UsersAdded => "users_added",
            Confirmation::AllowUnsolicited => "allow_unsolicited",
            Confirmation::SignRequests => "sign_requests",
        }
    }
}

/// One change to the stored facts.
#[derive(Clone, Debug)]
pub enum IntegrationChange<'a> {
    Confirm(Confirmation, bool),
    Groups {
        admins_name: &'a str,
        admins_id: &'a str,
        desktop_name: &'a str,
        desktop_id: &'a str,
    },
    BackupLogin(&'a str),
    Active(bool),
}

impl Db {
    /// The account's SP signing key (sealed PKCS#8) and certificate (base64 DER), if made.
    pub async fn sp_signing_key(&self, business_id: &str) -> StoreResult<Option<(String, String)>> {
        let row: Option<(Option<String>, Option<String>)> = with_pool!(self, |p| {
            sqlx::query_as(
                "select sp_key_sealed, sp_cert_der from idp_integrations where business_id = $1",
            )
            .bind(business_id)
            .fetch_optional(p)
            .await
        })?;
        Ok(row.and_then(|(k, c)| Some((k?, c?))))
    }

    /// Stores a new SP key unless the account has one already (concurrent first uses keep the
    /// first); `false` when one was there.
    pub async fn set_sp_signing_key(
        &self,
        business_id: &str,
        key_sealed: &str,
        cert_der_b64: &str,
    ) -> StoreResult<bool> {
        let n = with_pool!(self, |p| {
            sqlx::query(
                "update idp_integrations set sp_key_sealed = $2, sp_cert_der = $3 \
                 where business_id = $1 and sp_key_sealed is null",
            )
            .bind(business_id)
            .bind(key_sealed)
            .bind(cert_der_b64)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    pub async fn integration(&self, business_id: &str) -> StoreResult<Option<IntegrationRow>> {
        let sql = format!("select {COLUMNS} from idp_integrations where business_id = $1");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, IntegrationRow>(
            &sql
        )
        .bind(business_id)
        .fetch_optional(p)
        .await)?)
    }

    /// What SSO needs of an account, in one round trip: its integration, the IdP's signing
    /// certificates (oldest first), its verified domain names, the products it subscribes to
    /// and its name.
    pub async fn sso_settings(&self, business_id: &str) -> StoreResult<Option<SsoSettings>> {
        self.sso_settings_where("i.business_id = $1", business_id)
            .await
    }

    /// As `sso_settings`, for the account whose verified domain is `domain` (the start of a
    /// sign-in or an activation: the person's address names the account).
    pub async fn sso_settings_for_domain(&self, domain: &str) -> StoreResult<Option<SsoSettings>> {
        self.sso_settings_where(
            "i.business_id = (select d.business_id from domains d where d.name = $1 \
             and d.status = 'verified')",
            domain,
        )
        .await
    }

    async fn sso_settings_where(
        &self,
        filter: &str,
        arg: &str,
    ) -> StoreResult<Option<SsoSettings>> {
        let (certs, domains, products) = match self {
            Db::Sqlite(_) => (
                "(select json_group_array(der_base64 order by added_at, fingerprint) \
                 from idp_certificates c where c.business_id = i.business_id)",
                "(select json_group_array(name order by name) from domains d \
                 where d.business_id = i.business_id and d.status = 'verified')",
                "(select json_group_array(distinct product) from license_keys k \
                 where k.business_id = i.business_id)",
            ),
            Db::Postgres(_) => (
                "(select coalesce(json_agg(der_base64 order by added_at, fingerprint)::text, '[]') \
                 from idp_certificates c where c.business_id = i.business_id)",
                "(select coalesce(json_agg(name order by name)::text, '[]') from domains d \
                 where d.business_id = i.business_id and d.status = 'verified')",
                "(select coalesce(json_agg(distinct product)::text, '[]') from license_keys k \
                 where k.business_id = i.business_id)",
            ),
        };
        let sql = format!(
            "select {COLUMNS}, {certs} as certificates_json, {domains} as domains_json, \
             {products} as products_json, \
             (select a.name from business_accounts a where a.id = i.business_id) as account_name \
             from idp_integrations i where {filter}"
        );
        let row = with_pool!(self, |p| sqlx::query_as::<_, SsoRow>(&sql)
            .bind(arg)
            .fetch_optional(p)
            .await)?;
        let Some(r) = row else { return Ok(None) };
        // the database built these arrays; failing to read one is a store error, not "none"
        let decode = |json: &str| -> StoreResult<Vec<String>> {
            serde_json::from_str(json).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
        };
        Ok(Some(SsoSettings {
            certificates_der_base64: decode(&r.certificates_json)?,
            verified_domains: decode(&r.domains_json)?,
            products: decode(&r.products_json)?,
            account_name: r.account_name.unwrap_or_default(),
            integration: r.integration,
        }))
    }

    /// "Start Configuring": creates the row once; starting again changes nothing.
    pub async fn start_integration(&self, business_id: &str, now: i64) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "insert into idp_integrations (business_id, started_at, updated_at) values ($1, $2, $2) \
             on conflict (business_id) do nothing"
        )
        .bind(business_id)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn change_integration(
        &self,
        business_id: &str,
        change: IntegrationChange<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let affected = match change {
            IntegrationChange::Confirm(which, v) => {
                // the column name comes from a closed enum, never from input
                let sql = format!(
                    "update idp_integrations set {} = $2, updated_at = $3 where business_id = $1",
                    which.column()
                );
                with_pool!(self, |p| {
                    sqlx::query(&sql)
                        .bind(business_id)
                        .bind(v)
                        .bind(now)
                        .execute(p)
                        .await
                        .map(|r| r.rows_affected())
                })?
            }
            IntegrationChange::Groups {
                admins_name,
                admins_id,
                desktop_name,
                desktop_id,
            } => with_pool!(self, |p| {
                sqlx::query(
                "update idp_integrations set admins_group_name = $2, admins_group_id = $3, \
                 desktop_group_name = $4, desktop_group_id = $5, updated_at = $6 where business_id = $1"
            )
            .bind(business_id)
            .bind(admins_name)
            .bind(admins_id)
            .bind(desktop_name)
            .bind(desktop_id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            })?,
            IntegrationChange::BackupLogin(user_id) => with_pool!(self, |p| {
                sqlx::query(
                "update idp_integrations set backup_login_user_id = $2, updated_at = $3 where business_id = $1"
            )
            .bind(business_id)
            .bind(user_id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            })?,
            IntegrationChange::Active(v) => with_pool!(self, |p| {
                sqlx::query(
                "update idp_integrations set active = $2, activated_at = case when $2 then $3 else activated_at end, \
                 updated_at = $3 where business_id = $1"
            )
            .bind(business_id)
            .bind(v)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
            })?,
        };
        if affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
