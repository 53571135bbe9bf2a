//! `scim_requests`: every authenticated SCIM request (method, path, status, error, duration)
//! for the admin, kept for a bounded time. Bodies are never stored.

use super::{with_pool, with_writer, Db, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScimRequestRow {
    pub at: i64,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub error: Option<String>,
    pub duration_us: i64,
}

impl Db {
    /// Several entries in one transaction.
    pub async fn record_scim_requests(&self, rows: &[(String, ScimRequestRow)]) -> StoreResult<()> {
        with_writer!(self, |p| {
            let mut tx = p.begin().await?;
            for (business_id, row) in rows {
                sqlx::query(
                    "insert into scim_requests (id, business_id, at, method, path, status, error, duration_us) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(business_id)
                .bind(row.at)
                .bind(&row.method)
                .bind(&row.path)
                .bind(row.status)
                .bind(&row.error)
                .bind(row.duration_us)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Newest first.
    pub async fn scim_requests(
        &self,
        business_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<ScimRequestRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ScimRequestRow>(
                "select at, method, path, status, error, duration_us from scim_requests \
                 where business_id = $1 order by at desc, id desc limit $2",
            )
            .bind(business_id)
            .bind(limit)
            .fetch_all(p)
            .await
        })?)
    }

    pub async fn prune_scim_requests(&self, before: i64) -> StoreResult<u64> {
        Ok(with_pool!(self, |p| {
            sqlx::query("delete from scim_requests where at < $1")
                .bind(before)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}
