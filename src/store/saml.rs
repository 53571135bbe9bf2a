//! `saml_requests`, `saml_replay`, `saml_attempts`: the server-side state of SAML sign-in.

use super::{with_pool, with_writer, Db, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SamlRequestRow {
    pub id: String,
    pub business_id: String,
    pub binding_hash: String,
    pub purpose: String,
    pub user_id: Option<String>,
    pub expires_at: i64,
}

/// What `claim_and_remember` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The request is now used and the assertion recorded: the response may proceed.
    Fresh,
    /// The request was used (or expired) since it was read.
    RequestUsed,
    /// The assertion was seen before.
    Replay,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SamlAttemptRow {
    pub id: String,
    pub at: i64,
    pub purpose: String,
    pub outcome: String,
    pub category: Option<String>,
    pub detail: Option<String>,
    pub name_id: Option<String>,
    pub attributes: Option<String>,
    pub raw_xml: Option<String>,
}

impl Db {
    pub async fn insert_saml_request(&self, row: &SamlRequestRow, now: i64) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
                "insert into saml_requests (id, business_id, binding_hash, purpose, user_id, created_at, expires_at) \
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&row.id)
            .bind(&row.business_id)
            .bind(&row.binding_hash)
            .bind(&row.purpose)
            .bind(&row.user_id)
            .bind(now)
            .bind(row.expires_at)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Marks the pending request used (a refused response's): true for the one call that
    /// does; a second call, an expired or an unknown request gives false.
    pub async fn use_up_saml_request(
        &self,
        id: &str,
        business_id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let n = with_writer!(self, |p| {
            sqlx::query(
                "update saml_requests set used_at = $3 where id = $1 and business_id = $2 \
                 and used_at is null and expires_at > $3",
            )
            .bind(id)
            .bind(business_id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The pending request `id` of `business_id`, if it is unused and unexpired; reads only (a
    /// response is checked before its request is claimed, see `claim_and_remember`).
    pub async fn pending_saml_request(
        &self,
        id: &str,
        business_id: &str,
        now: i64,
    ) -> StoreResult<Option<SamlRequestRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, SamlRequestRow>(
                "select id, business_id, binding_hash, purpose, user_id, expires_at \
                 from saml_requests where id = $1 and business_id = $2 \
                 and used_at is null and expires_at > $3",
            )
            .bind(id)
            .bind(business_id)
            .bind(now)
            .fetch_optional(p)
            .await
        })?)
    }

    /// After a response is validated, in one round trip: claims the pending request `claim`
    /// names (once: only one caller flips `used_at`) and records the assertion ID in the replay
    /// cache. The two need no common transaction: either failing refuses the response, and what
    /// the other did then only makes the request or the assertion unusable, as it must be.
    pub async fn claim_and_remember(
        &self,
        business_id: &str,
        assertion_id: &str,
        expires_at: i64,
        claim: Option<&str>,
        now: i64,
    ) -> StoreResult<Claimed> {
        // $1 business, $2 assertion, $3 now, $4 request (null: none to claim), $5 expiry
        let (claimed, fresh) = match self {
            Db::Postgres(_) => {
                let (claimed, fresh): (i64, i64) = with_writer!(self, |p| {
                    sqlx::query_as(
                        "with claimed as (update saml_requests set used_at = $3 where id = $4 \
                         and business_id = $1 and used_at is null and expires_at > $3 returning 1), \
                         fresh as (insert into saml_replay (business_id, assertion_id, expires_at) \
                         values ($1, $2, $5) on conflict do nothing returning 1) \
                         select (select count(*) from claimed), (select count(*) from fresh)",
                    )
                    .bind(business_id)
                    .bind(assertion_id)
                    .bind(now)
                    .bind(claim)
                    .bind(expires_at)
                    .fetch_one(p)
                    .await
                })?;
                (claimed > 0, fresh > 0)
            }
            // one script, one hand-off to SQLite's thread: each statement answers with a row
            // when it changed one
            Db::Sqlite(_) => {
                let rows: Vec<(String,)> = with_writer!(self, |p| {
                    sqlx::query_as(
                        "update saml_requests set used_at = $3 where id = $4 and business_id = $1 \
                         and used_at is null and expires_at > $3 returning 'claimed'; \
                         insert into saml_replay (business_id, assertion_id, expires_at) \
                         values ($1, $2, $5) on conflict do nothing returning 'fresh'",
                    )
                    .bind(business_id)
                    .bind(assertion_id)
                    .bind(now)
                    .bind(claim)
                    .bind(expires_at)
                    .fetch_all(p)
                    .await
                })?;
                (
                    rows.iter().any(|(r,)| r == "claimed"),
                    rows.iter().any(|(r,)| r == "fresh"),
                )
            }
        };
        Ok(if claim.is_some() && !claimed {
            Claimed::RequestUsed
        } else if !fresh {
            Claimed::Replay
        } else {
            Claimed::Fresh
        })
    }

    /// Stores attempts `(business_id, attempt, expires_at)` in one transaction (the batched
    /// attempt log's writer).
    pub async fn record_saml_attempts(
        &self,
        rows: &[(String, SamlAttemptRow, i64)],
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            let mut tx = p.begin().await?;
            for (business_id, row, expires_at) in rows {
                sqlx::query(
                    "insert into saml_attempts (id, business_id, at, purpose, outcome, category, detail, name_id, \
                     attributes, raw_xml, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&row.id)
                .bind(business_id)
                .bind(row.at)
                .bind(&row.purpose)
                .bind(&row.outcome)
                .bind(&row.category)
                .bind(&row.detail)
                .bind(&row.name_id)
                .bind(&row.attributes)
                .bind(&row.raw_xml)
                .bind(*expires_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Newest first.
    pub async fn saml_attempts(
        &self,
        business_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<SamlAttemptRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, SamlAttemptRow>(
                "select id, at, purpose, outcome, category, detail, name_id, attributes, raw_xml \
                 from saml_attempts where business_id = $1 order by at desc, id desc limit $2",
            )
            .bind(business_id)
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    pub async fn saml_attempt(
        &self,
        business_id: &str,
        id: &str,
    ) -> StoreResult<Option<SamlAttemptRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, SamlAttemptRow>(
                "select id, at, purpose, outcome, category, detail, name_id, attributes, raw_xml \
                 from saml_attempts where business_id = $1 and id = $2",
            )
            .bind(business_id)
            .bind(id)
            .fetch_optional(p)
            .await
        })?)
    }

    /// Deletes expired pending requests, replay entries and attempts (with their raw XML).
    pub async fn prune_saml(&self, now: i64) -> StoreResult<()> {
        for sql in [
            "delete from saml_requests where expires_at < $1",
            "delete from saml_replay where expires_at < $1",
            "delete from saml_attempts where expires_at < $1",
        ] {
            with_pool!(self, |p| sqlx::query(sql)
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    /// The business account whose verified domain `domain` is, if its integration is active.
    pub async fn sso_account_for_domain(
        &self,
        domain: &str,
    ) -> StoreResult<Option<(String, bool)>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, (String, bool)>(
                "select d.business_id, coalesce(i.active, false) from domains d \
                 left join idp_integrations i on i.business_id = d.business_id \
                 where d.name = $1 and d.status = 'verified'",
            )
            .bind(domain)
            .fetch_optional(p)
            .await
        })?)
    }
}
