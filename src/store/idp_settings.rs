//! `idp_certificates` and `scim_tokens`, plus the SAML/SCIM columns of `idp_integrations`.

use super::{new_id, with_pool, Db, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CertificateRow {
    pub der_base64: String,
    pub fingerprint: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScimTokenRow {
    pub hint: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl Db {
    pub async fn idp_certificates(&self, business_id: &str) -> StoreResult<Vec<CertificateRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, CertificateRow>(
            "select der_base64, fingerprint, subject, issuer, not_before, not_after from idp_certificates \
             where business_id = $1 order by added_at, fingerprint"
        )
        .bind(business_id)
        .fetch_all(p)
        .await
        })?)
    }

    /// `Conflict` when this certificate is already listed.
    pub async fn add_idp_certificate(
        &self,
        business_id: &str,
        c: &CertificateRow,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "insert into idp_certificates (id, business_id, der_base64, fingerprint, subject, issuer, not_before, not_after, added_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(new_id())
        .bind(business_id)
        .bind(&c.der_base64)
        .bind(&c.fingerprint)
        .bind(&c.subject)
        .bind(&c.issuer)
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn remove_idp_certificate(
        &self,
        business_id: &str,
        fingerprint: &str,
    ) -> StoreResult<u64> {
        Ok(with_pool!(self, |p| sqlx::query(
            "delete from idp_certificates where business_id = $1 and fingerprint = $2"
        )
        .bind(business_id)
        .bind(fingerprint)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?)
    }

    pub async fn set_idp_endpoint(
        &self,
        business_id: &str,
        entity_id: &str,
        sso_url: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "update idp_integrations set idp_entity_id = $2, idp_sso_url = $3, updated_at = $4 where business_id = $1"
        )
        .bind(business_id)
        .bind(entity_id)
        .bind(sso_url)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn set_scim(
        &self,
        business_id: &str,
        enabled: bool,
        confirmed: bool,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "update idp_integrations set scim_enabled = $2, scim_confirmed = $3, updated_at = $4 where business_id = $1"
        )
        .bind(business_id)
        .bind(enabled)
        .bind(confirmed)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The newest token (the one shown), if any.
    pub async fn current_scim_token(&self, business_id: &str) -> StoreResult<Option<ScimTokenRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ScimTokenRow>(
            "select hint, created_at, expires_at from scim_tokens where business_id = $1 and expires_at is null \
             order by created_at desc limit 1"
        )
        .bind(business_id)
        .fetch_optional(p)
        .await
        })?)
    }

    /// Stores a new token; older live tokens expire at `old_expires_at` (now = revoked at once).
    pub async fn replace_scim_token(
        &self,
        business_id: &str,
        token_hash: &str,
        hint: &str,
        now: i64,
        old_expires_at: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query("update scim_tokens set expires_at = $2 where business_id = $1 and (expires_at is null or expires_at > $2)")
                .bind(business_id)
                .bind(old_expires_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query("insert into scim_tokens (id, business_id, token_hash, hint, created_at) values ($1, $2, $3, $4, $5)")
                .bind(new_id())
                .bind(business_id)
                .bind(token_hash)
                .bind(hint)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// The business account a SCIM bearer token belongs to, if it is live at `now`.
    pub async fn scim_token_owner(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = with_pool!(self, |p| {
            sqlx::query_as(
            "select business_id from scim_tokens where token_hash = $1 and (expires_at is null or expires_at > $2)"
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(p)
        .await
        })?;
        Ok(row.map(|(b,)| b))
    }

    /// For a SCIM request, in one query: the account of a live token and whether SCIM support
    /// is on for it.
    pub async fn scim_token_account(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<(String, bool)>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "select t.business_id, coalesce(i.scim_enabled, false) from scim_tokens t \
                 left join idp_integrations i on i.business_id = t.business_id \
                 where t.token_hash = $1 and (t.expires_at is null or t.expires_at > $2)",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(p)
            .await
        })?)
    }
}
