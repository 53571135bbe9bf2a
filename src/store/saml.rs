//! `saml_requests`, `saml_replay`, `saml_attempts`: the server-side state of SAML sign-in.

use super::{on_lane, with_pool, with_writer, Db, Flush, StoreResult};
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

/// Everything a sign-in writes, for `Db::sign_in_at_once`.
#[derive(Debug)]
pub struct SignInWrite<'a> {
    pub business_id: &'a str,
    pub assertion_id: &'a str,
    /// Until when the replay cache keeps the assertion ID.
    pub assertion_expires_at: i64,
    /// The pending request the response answers (`None`: an IdP-initiated response).
    pub claim: Option<&'a str>,
    /// The member's user id (a new one on first sight).
    pub user_id: &'a str,
    pub member: SignInMember<'a>,
    /// The keyed hash of the session's cookie token.
    pub session_hash: &'a str,
    pub session_expires_at: i64,
    pub now: i64,
}

/// Who `Db::sign_in_at_once` signs in.
#[derive(Debug)]
pub enum SignInMember<'a> {
    /// A member of the account whose record needs no change.
    Known,
    /// First sight: the user (no password: the IdP proved the address) and their membership.
    New {
        email: &'a str,
        role: &'a str,
        object_id: Option<&'a str>,
    },
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

/// The claim of a pending request and the replay-cache entry of an assertion, the start of
/// every post-validation write (`claim_and_remember`, `sign_in_at_once`). Parameters: $1
/// business, $2 assertion, $3 now, $4 request (null: none to claim), $5 replay expiry. The
/// assertion is remembered only when the request was claimed (or there was none): a response
/// whose request was used meanwhile is refused, and can answer no other.
/// PostgreSQL: the CTEs `claimed` and `fresh`.
const CLAIM_PG: &str = "with claimed as (update saml_requests set used_at = $3 \
    where id = $4 and business_id = $1 and used_at is null and expires_at > $3 \
    returning 1), \
    fresh as (insert into saml_replay (business_id, assertion_id, expires_at) \
    select $1, $2, $5 where $4::text is null or exists (select 1 from claimed) \
    on conflict do nothing returning 1)";
/// SQLite: rows 'claimed' and 'fresh' when they changed one; each later statement runs only
/// if the one before it changed a row.
const CLAIM_SQLITE: &str = "update saml_requests set used_at = $3 where id = $4 \
    and business_id = $1 and used_at is null and expires_at > $3 returning 'claimed'; \
    insert into saml_replay (business_id, assertion_id, expires_at) \
    select $1, $2, $5 where $4 is null or changes() = 1 \
    on conflict do nothing returning 'fresh'";

impl Claimed {
    /// What the claim's two counts mean; `claim_given`: a request was named.
    fn of(claim_given: bool, claimed: bool, fresh: bool) -> Claimed {
        if claim_given && !claimed {
            Claimed::RequestUsed
        } else if !fresh {
            Claimed::Replay
        } else {
            Claimed::Fresh
        }
    }
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
    /// `flush`: see `Flush` (the desktop app's completion, whose seat commits later).
    pub async fn claim_and_remember(
        &self,
        business_id: &str,
        assertion_id: &str,
        expires_at: i64,
        claim: Option<&str>,
        now: i64,
        flush: Flush,
    ) -> StoreResult<Claimed> {
        // $1 business, $2 assertion, $3 now, $4 request (null: none to claim), $5 expiry
        let (claimed, fresh) = match self {
            Db::Postgres(_) => {
                let sql = format!(
                    "{CLAIM_PG} select (select count(*) from claimed), \
                     (select count(*) from fresh) where {}",
                    flush.pg_condition()
                );
                let (claimed, fresh): (i64, i64) = with_writer!(self, |p| {
                    sqlx::query_as(&sql)
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
                    sqlx::query_as(CLAIM_SQLITE)
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
        Ok(Claimed::of(claim.is_some(), claimed, fresh))
    }

    /// A sign-in whose reads are done, written in one round trip (one commit on PostgreSQL,
    /// one transaction on SQLite): claims the pending request `claim` names, records the
    /// assertion in the replay cache, and — only if both held — stores a first-seen member or
    /// stamps a known one's sign-in time, and opens the session. `Ok((claimed, opened))`:
    /// `opened` is false when the claim failed, or when a known member's user row is gone.
    /// `Conflict` when a first-seen member's address or object id was taken meanwhile: then
    /// nothing was written (the statement, or the transaction, is undone as a whole).
    pub async fn sign_in_at_once(&self, w: &SignInWrite<'_>) -> StoreResult<(Claimed, bool)> {
        // $1 business, $2 assertion, $3 now, $4 request (null: none to claim), $5 replay
        // expiry, $6 user, $7 session hash, $8 session expiry; first sight: $9 email,
        // $10 email_lc, $11 role, $12 object id
        const SESSION_COLUMNS: &str =
            "sessions (token_hash, user_id, workspace, created_at, last_seen_at, expires_at)";
        const COUNTS_PG: &str = " select (select count(*) from claimed), \
            (select count(*) from fresh), (select count(*) from opened)";
        let sql = match (self, &w.member) {
            (Db::Postgres(_), SignInMember::Known) => format!(
                "{CLAIM_PG}, stamped as (update users set last_sign_in_at = $3 where id = $6 \
                 and exists (select 1 from fresh) returning id), \
                 opened as (insert into {SESSION_COLUMNS} \
                 select $7, id, 'business', $3, $3, $8 from stamped returning 1){COUNTS_PG}"
            ),
            (Db::Postgres(_), SignInMember::New { .. }) => format!(
                "{CLAIM_PG}, u as (insert into users (id, email, email_lc, password_hash, \
                 email_verified_at, created_at, last_sign_in_at) \
                 select $6, $9, $10, '!sso', $3, $3, $3 where exists (select 1 from fresh) \
                 returning id), \
                 m as (insert into memberships (business_id, user_id, role, status, created_at, \
                 idp_object_id) select $1, id, $11, 'active', $3, $12 from u), \
                 opened as (insert into {SESSION_COLUMNS} \
                 select $7, id, 'business', $3, $3, $8 from u returning 1){COUNTS_PG}"
            ),
            (Db::Sqlite(_), SignInMember::Known) => format!(
                "{CLAIM_SQLITE}; update users set last_sign_in_at = $3 where id = $6 \
                 and changes() = 1; \
                 insert into {SESSION_COLUMNS} select $7, $6, 'business', $3, $3, $8 \
                 where changes() = 1 returning 'opened'"
            ),
            (Db::Sqlite(_), SignInMember::New { .. }) => format!(
                "{CLAIM_SQLITE}; insert into users (id, email, email_lc, password_hash, \
                 email_verified_at, created_at, last_sign_in_at) \
                 select $6, $9, $10, '!sso', $3, $3, $3 where changes() = 1; \
                 insert into memberships (business_id, user_id, role, status, created_at, \
                 idp_object_id) select $1, $6, $11, 'active', $3, $12 where changes() = 1; \
                 insert into {SESSION_COLUMNS} select $7, $6, 'business', $3, $3, $8 \
                 where changes() = 1 returning 'opened'"
            ),
        };
        // a statement takes exactly the parameters it names
        macro_rules! bound {
            ($q:expr) => {{
                let q = $q
                    .bind(w.business_id)
                    .bind(w.assertion_id)
                    .bind(w.now)
                    .bind(w.claim)
                    .bind(w.assertion_expires_at)
                    .bind(w.user_id)
                    .bind(w.session_hash)
                    .bind(w.session_expires_at);
                match &w.member {
                    SignInMember::Known => q,
                    SignInMember::New {
                        email,
                        role,
                        object_id,
                    } => q
                        .bind(*email)
                        .bind(email.to_lowercase())
                        .bind(*role)
                        .bind(*object_id),
                }
            }};
        }
        let (claimed, fresh, opened) = match self {
            Db::Postgres(pg) => {
                let (claimed, fresh, opened): (i64, i64, i64) =
                    on_lane!(pg, |p| bound!(sqlx::query_as(&sql)).fetch_one(p).await)?;
                (claimed > 0, fresh > 0, opened > 0)
            }
            Db::Sqlite(sqlite) => {
                let rows: Vec<(String,)> = on_lane!(sqlite.write, |p| {
                    async {
                        let mut tx = p.begin().await?;
                        let rows = bound!(sqlx::query_as(&sql)).fetch_all(&mut *tx).await?;
                        tx.commit().await?;
                        Ok::<_, sqlx::Error>(rows)
                    }
                    .await
                })?;
                let has = |what: &str| rows.iter().any(|(r,)| r == what);
                (has("claimed"), has("fresh"), has("opened"))
            }
        };
        Ok((Claimed::of(w.claim.is_some(), claimed, fresh), opened))
    }

    /// Stores attempts `(business_id, attempt, expires_at)` in one transaction (the batched
    /// attempt log's writer); on PostgreSQL in one statement, whatever their number.
    ///
    /// On PostgreSQL the commit does not wait for its log flush (`synchronous_commit = off`
    /// for this transaction only): the attempts are the admin's record for debugging, not
    /// state anything depends on, and the next commit that waits — a sign-in's — flushes them
    /// too. A crash of the database server or of the machine can lose the attempts of its
    /// last moments (PostgreSQL's `wal_writer_delay`, 200 ms by default, thrice at most); it
    /// cannot lose or corrupt anything else. Sign-ins no longer queue behind the log's
    /// flushes (BENCHMARKS.md).
    pub async fn record_saml_attempts(
        &self,
        rows: &[(String, SamlAttemptRow, i64)],
    ) -> StoreResult<()> {
        match self {
            Db::Postgres(pg) => {
                macro_rules! column {
                    ($f:expr) => {
                        rows.iter().map($f).collect::<Vec<_>>()
                    };
                }
                on_lane!(pg, |p| async {
                    let mut tx = p.begin().await?;
                    sqlx::query("set local synchronous_commit = off")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "insert into saml_attempts (id, business_id, at, purpose, outcome, \
                         category, detail, name_id, attributes, raw_xml, expires_at) \
                         select * from unnest($1::text[], $2::text[], $3::int8[], $4::text[], \
                         $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                         $11::int8[])",
                    )
                    .bind(column!(|(_, r, _)| r.id.as_str()))
                    .bind(column!(|(b, _, _)| b.as_str()))
                    .bind(column!(|(_, r, _)| r.at))
                    .bind(column!(|(_, r, _)| r.purpose.as_str()))
                    .bind(column!(|(_, r, _)| r.outcome.as_str()))
                    .bind(column!(|(_, r, _)| r.category.as_deref()))
                    .bind(column!(|(_, r, _)| r.detail.as_deref()))
                    .bind(column!(|(_, r, _)| r.name_id.as_deref()))
                    .bind(column!(|(_, r, _)| r.attributes.as_deref()))
                    .bind(column!(|(_, r, _)| r.raw_xml.as_deref()))
                    .bind(column!(|(_, _, e)| *e))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                }
                .await)?;
            }
            // one transaction on the one writer (a single statement over a JSON batch measured
            // no faster)
            Db::Sqlite(sqlite) => {
                on_lane!(sqlite.write, |p| async {
                    let mut tx = p.begin().await?;
                    for (business_id, row, expires_at) in rows {
                        sqlx::query(
                            "insert into saml_attempts (id, business_id, at, purpose, outcome, \
                             category, detail, name_id, attributes, raw_xml, expires_at) \
                             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
                    tx.commit().await
                }
                .await)?;
            }
        }
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
