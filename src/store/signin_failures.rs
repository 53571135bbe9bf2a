//! `signin_failures`: failed sign-ins per email and per client address, for rate limiting
//! that holds across instances sharing the database.

use super::{new_id, with_pool, Db, StoreResult};

impl Db {
    pub async fn record_signin_failure(&self, key: &str, now: i64) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "insert into signin_failures (id, key, at) values ($1, $2, $3)"
        )
        .bind(new_id())
        .bind(key)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Failures for `key` since `since`, and the oldest of them (to say when it frees up).
    pub async fn signin_failures_since(
        &self,
        key: &str,
        since: i64,
    ) -> StoreResult<(i64, Option<i64>)> {
        let row: (i64, Option<i64>) = with_pool!(self, |p| sqlx::query_as(
            "select count(*), min(at) from signin_failures where key = $1 and at > $2"
        )
        .bind(key)
        .bind(since)
        .fetch_one(p)
        .await)?;
        Ok(row)
    }

    pub async fn clear_signin_failures(&self, key: &str) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "delete from signin_failures where key = $1"
        )
        .bind(key)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn prune_signin_failures(&self, before: i64) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "delete from signin_failures where at <= $1"
        )
        .bind(before)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
