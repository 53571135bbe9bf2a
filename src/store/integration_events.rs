//! `integration_events`: the configurator's change log (who, when, what).

use super::{with_pool, Db, StoreResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRow {
    pub at: i64,
    pub who: Option<String>,
    pub what: String,
}

impl Db {
    pub async fn record_integration_event(
        &self,
        business_id: &str,
        user_id: Option<&str>,
        what: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "insert into integration_events (id, business_id, user_id, at, what) values ($1, $2, $3, $4, $5)"
        )
        // time-ordered ids keep events of the same second in the order they happened
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(business_id)
        .bind(user_id)
        .bind(now)
        .bind(what)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Newest first.
    pub async fn integration_events(
        &self,
        business_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<EventRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, EventRow>(
            "select e.at, u.email as who, e.what from integration_events e left join users u on u.id = e.user_id \
             where e.business_id = $1 order by e.at desc, e.id desc limit $2"
        )
        .bind(business_id)
        .bind(limit)
        .fetch_all(p)
        .await
        })?)
    }
}
