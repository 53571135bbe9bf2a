//! `users`: sign-in identities (email + argon2id hash).

use super::{new_id, with_pool, with_writer, Db, StoreError, StoreResult};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub email_lc: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
}

const COLUMNS: &str =
    "id, email, email_lc, password_hash, email_verified_at, created_at, last_sign_in_at";

impl Db {
    /// Creates a user; `Conflict` when the email (case-insensitively) is taken.
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<UserRow> {
        let id = new_id();
        let email_lc = email.to_lowercase();
        with_pool!(self, |p| {
            sqlx::query(
            "insert into users (id, email, email_lc, password_hash, created_at) values ($1, $2, $3, $4, $5)"
        )
        .bind(&id)
        .bind(email)
        .bind(&email_lc)
        .bind(password_hash)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(UserRow {
            id,
            email: email.to_string(),
            email_lc,
            password_hash: password_hash.to_string(),
            email_verified_at: None,
            created_at: now,
            last_sign_in_at: None,
        })
    }

    pub async fn user_by_email(&self, email_lc: &str) -> StoreResult<Option<UserRow>> {
        let sql = format!("select {COLUMNS} from users where email_lc = $1");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, UserRow>(&sql)
            .bind(email_lc)
            .fetch_optional(p)
            .await)?)
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<UserRow> {
        let sql = format!("select {COLUMNS} from users where id = $1");
        with_pool!(self, |p| sqlx::query_as::<_, UserRow>(&sql)
            .bind(id)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// A new address for the user (the IdP renamed them); `Conflict` when another user has it.
    pub async fn change_email(&self, user_id: &str, email: &str) -> StoreResult<()> {
        with_writer!(self, |p| sqlx::query(
            "update users set email = $2, email_lc = $3 where id = $1"
        )
        .bind(user_id)
        .bind(email)
        .bind(email.to_lowercase())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn mark_email_verified(&self, user_id: &str, now: i64) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "update users set email_verified_at = coalesce(email_verified_at, $2) where id = $1"
        )
        .bind(user_id)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn set_password_hash(&self, user_id: &str, hash: &str) -> StoreResult<()> {
        with_pool!(self, |p| sqlx::query(
            "update users set password_hash = $2 where id = $1"
        )
        .bind(user_id)
        .bind(hash)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn record_sign_in(&self, user_id: &str, now: i64) -> StoreResult<()> {
        with_writer!(self, |p| sqlx::query(
            "update users set last_sign_in_at = $2 where id = $1"
        )
        .bind(user_id)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
