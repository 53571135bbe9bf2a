//! `domains`: email domains claimed by business accounts and their DNS verification.

use super::{new_id, with_pool, Db, StoreResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DomainRow {
    pub id: String,
    pub business_id: String,
    pub name: String,
    pub token: String,
    pub status: String,
    pub added_at: i64,
    pub verified_at: Option<i64>,
    pub last_check_at: Option<i64>,
    pub last_outcome: Option<String>,
    pub last_found: Option<String>,
    pub attempts: i64,
    pub next_check_at: i64,
    /// Another account has this name verified.
    pub taken: bool,
}

const SELECT: &str = "select d.id, d.business_id, d.name, d.token, d.status, d.added_at, d.verified_at, \
     d.last_check_at, d.last_outcome, d.last_found, d.attempts, d.next_check_at, \
     exists (select 1 from domains o where o.name = d.name and o.status = 'verified' and o.business_id <> d.business_id) as taken \
     from domains d";

/// The result of one check, to store.
pub struct CheckRecord<'a> {
    pub status: &'a str,
    pub outcome: &'a str,
    pub found: &'a str,
    pub next_check_at: i64,
}

impl Db {
    pub async fn domains_of(&self, business_id: &str) -> StoreResult<Vec<DomainRow>> {
        let sql = format!("{SELECT} where d.business_id = $1 order by d.added_at, d.name");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, DomainRow>(&sql)
            .bind(business_id)
            .fetch_all(p)
            .await)?)
    }

    pub async fn domain(&self, business_id: &str, name: &str) -> StoreResult<Option<DomainRow>> {
        let sql = format!("{SELECT} where d.business_id = $1 and d.name = $2");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, DomainRow>(&sql)
            .bind(business_id)
            .bind(name)
            .fetch_optional(p)
            .await)?)
    }

    /// Pending domains whose next check is due.
    pub async fn domains_due(&self, now: i64, limit: i64) -> StoreResult<Vec<DomainRow>> {
        let sql = format!("{SELECT} where d.status = 'pending' and d.next_check_at <= $1 order by d.next_check_at limit $2");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, DomainRow>(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// `Conflict` when this account already lists the name.
    pub async fn add_domain(
        &self,
        business_id: &str,
        name: &str,
        token: &str,
        now: i64,
        next_check_at: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "insert into domains (id, business_id, name, token, status, added_at, next_check_at) \
             values ($1, $2, $3, $4, 'pending', $5, $6)"
        )
        .bind(new_id())
        .bind(business_id)
        .bind(name)
        .bind(token)
        .bind(now)
        .bind(next_check_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn remove_domain(&self, business_id: &str, name: &str) -> StoreResult<u64> {
        Ok(with_pool!(self, |p| sqlx::query(
            "delete from domains where business_id = $1 and name = $2"
        )
        .bind(business_id)
        .bind(name)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// Stores a check. Marking `verified` fails with `Conflict` when another account verified
    /// the name first (the partial unique index decides, so two racing checks cannot both win).
    pub async fn record_domain_check(
        &self,
        id: &str,
        check: CheckRecord<'_>,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "update domains set status = $2, last_outcome = $3, last_found = $4, last_check_at = $5, \
             attempts = attempts + 1, next_check_at = $6, \
             verified_at = case when $2 = 'verified' then coalesce(verified_at, $5) else verified_at end \
             where id = $1"
        )
        .bind(id)
        .bind(check.status)
        .bind(check.outcome)
        .bind(check.found)
        .bind(now)
        .bind(check.next_check_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
