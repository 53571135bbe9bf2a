//! `email_tokens`: one-time links sent by mail (email verification, password reset).

use super::{with_pool, Db, StoreResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
}

/// Why a token could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    Unknown,
    Used,
    Expired,
}

impl Db {
    pub async fn create_email_token(
        &self,
        token_hash: &str,
        user_id: &str,
        purpose: TokenPurpose,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "insert into email_tokens (token_hash, user_id, purpose, created_at, expires_at) values ($1, $2, $3, $4, $5)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Marks the token used and returns its user, atomically: a token works once.
    pub async fn consume_email_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> StoreResult<Result<String, TokenState>> {
        let claimed: Option<(String,)> = with_pool!(self, |p| sqlx::query_as(
            "update email_tokens set used_at = $3 \
             where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3 \
             returning user_id"
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(p)
        .await)?;
        if let Some((user_id,)) = claimed {
            return Ok(Ok(user_id));
        }
        let row: Option<(Option<i64>, i64)> = with_pool!(self, |p| {
            sqlx::query_as(
            "select used_at, expires_at from email_tokens where token_hash = $1 and purpose = $2"
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(p)
        .await
        })?;
        Ok(Err(match row {
            None => TokenState::Unknown,
            Some((Some(_), _)) => TokenState::Used,
            Some((None, _)) => TokenState::Expired,
        }))
    }

    /// Voids the user's other unused tokens of this purpose (a new link replaces the old).
    pub async fn void_email_tokens(
        &self,
        user_id: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "update email_tokens set used_at = $3 where user_id = $1 and purpose = $2 and used_at is null"
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
