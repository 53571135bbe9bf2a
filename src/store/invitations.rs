//! `invitations`: a business admin invites an email address to join the account.

use super::{new_id, with_pool, Db, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub business_id: String,
    pub business_name: String,
    pub email_lc: String,
    pub role: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

const SELECT: &str = "select i.id, i.business_id, b.name as business_name, i.email_lc, i.role, \
     i.created_at, i.expires_at, i.accepted_at \
     from invitations i join business_accounts b on b.id = i.business_id";

impl Db {
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invitation(
        &self,
        business_id: &str,
        email_lc: &str,
        role: &str,
        token_hash: &str,
        invited_by: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "insert into invitations (id, business_id, email_lc, role, token_hash, invited_by, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(new_id())
        .bind(business_id)
        .bind(email_lc)
        .bind(role)
        .bind(token_hash)
        .bind(invited_by)
        .bind(now)
        .bind(expires_at)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// A new invitation to the same address replaces older pending ones.
    pub async fn void_pending_invitations(
        &self,
        business_id: &str,
        email_lc: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "update invitations set expires_at = $3 where business_id = $1 and email_lc = $2 and accepted_at is null and expires_at > $3"
        )
        .bind(business_id)
        .bind(email_lc)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn invitation_by_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<InvitationRow>> {
        let sql = format!("{SELECT} where i.token_hash = $1");
        Ok(with_pool!(self, |p| sqlx::query_as::<_, InvitationRow>(
            &sql
        )
        .bind(token_hash)
        .fetch_optional(p)
        .await)?)
    }

    pub async fn pending_invitations(
        &self,
        business_id: &str,
        now: i64,
    ) -> StoreResult<Vec<InvitationRow>> {
        let sql = format!(
            "{SELECT} where i.business_id = $1 and i.accepted_at is null and i.expires_at > $2 order by i.created_at"
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, InvitationRow>(
            &sql
        )
        .bind(business_id)
        .bind(now)
        .fetch_all(p)
        .await)?)
    }

    /// Accepts an invitation: marks it used and adds the member, in one transaction.
    /// Returns false when someone else used it first.
    pub async fn accept_invitation(
        &self,
        invitation_id: &str,
        business_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> StoreResult<bool> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let claimed = sqlx::query(
                "update invitations set accepted_at = $2, accepted_by = $3 where id = $1 and accepted_at is null and expires_at > $2"
            )
            .bind(invitation_id)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                return Ok(false);
            }
            sqlx::query(
                "insert into memberships (business_id, user_id, role, status, created_at) values ($1, $2, $3, 'active', $4)"
            )
            .bind(business_id)
            .bind(user_id)
            .bind(role)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
