//! `sessions`: signed-in browsers. Only a keyed hash of the cookie token is stored.

use super::{with_pool, with_writer, Db, StoreResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub workspace: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl Db {
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.create_session_in(token_hash, user_id, "personal", now, expires_at)
            .await
    }

    /// A session that starts in `workspace` ("personal" or "business").
    pub async fn create_session_in(
        &self,
        token_hash: &str,
        user_id: &str,
        workspace: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
            "insert into sessions (token_hash, user_id, workspace, created_at, last_seen_at, expires_at) \
             values ($1, $2, $5, $3, $3, $4)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(workspace)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// A session in the business workspace for a person the IdP just vouched for, with their
    /// sign-in time stamped, in one round trip.
    pub async fn start_sso_session(
        &self,
        token_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        // $1 token hash, $2 user, $3 now, $4 expiry
        macro_rules! session {
            () => {
                "insert into sessions (token_hash, user_id, workspace, created_at, last_seen_at, \
                 expires_at) values ($1, $2, 'business', $3, $3, $4)"
            };
        }
        let sql = match self {
            Db::Postgres(_) => concat!(
                "with stamped as (update users set last_sign_in_at = $3 where id = $2) ",
                session!()
            ),
            // one script, one hand-off to SQLite's thread
            Db::Sqlite(_) => concat!(
                "update users set last_sign_in_at = $3 where id = $2; ",
                session!()
            ),
        };
        with_writer!(self, |p| {
            sqlx::query(sql)
                .bind(token_hash)
                .bind(user_id)
                .bind(now)
                .bind(expires_at)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, SessionRow>(
            "select token_hash, user_id, workspace, created_at, last_seen_at, expires_at from sessions where token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(p)
        .await
        })?)
    }

    pub async fn touch_session(&self, token_hash: &str, now: i64) -> StoreResult<()> {
        with_writer!(self, |p| sqlx::query(
            "update sessions set last_seen_at = $2 where token_hash = $1"
        )
        .bind(token_hash)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn set_session_workspace(
        &self,
        token_hash: &str,
        workspace: &str,
    ) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "update sessions set workspace = $2 where token_hash = $1"
        )
        .bind(token_hash)
        .bind(workspace)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "delete from sessions where token_hash = $1"
        )
        .bind(token_hash)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Signs a user out everywhere (after a password reset).
    pub async fn delete_sessions_of_user(&self, user_id: &str) -> StoreResult<u64> {
        let r = with_pool!(self, |p| sqlx::query(
            "delete from sessions where user_id = $1"
        )
        .bind(user_id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(r)
    }

    /// Removes sessions past their absolute or idle lifetime.
    pub async fn prune_sessions(&self, now: i64, idle_cutoff: i64) -> StoreResult<u64> {
        let r = with_pool!(self, |p| sqlx::query(
            "delete from sessions where expires_at <= $1 or last_seen_at <= $2"
        )
        .bind(now)
        .bind(idle_cutoff)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(r)
    }
}
