//! `business_accounts` and `memberships`: organisations and who belongs to them.

use super::{new_id, on_lane, with_pool, with_writer, Db, StoreError, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BusinessRow {
    pub id: String,
    pub name: String,
    pub country: String,
    pub address: String,
    pub phone: String,
    pub created_at: i64,
}

/// Organisation details as entered in a form.
#[derive(Clone, Debug, Default)]
pub struct OrgDetails {
    pub name: String,
    pub country: String,
    pub address: String,
    pub phone: String,
}

/// A user as SAML sign-in sees them: their membership, role and IdP object id, if any.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SsoMember {
    pub user_id: String,
    pub email_lc: String,
    pub business_id: Option<String>,
    pub role: Option<String>,
    pub idp_object_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FoundMember {
    found_by: String,
    #[sqlx(flatten)]
    member: SsoMember,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MembershipRow {
    pub business_id: String,
    pub business_name: String,
    pub role: String,
    pub status: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub email: String,
    pub role: String,
    pub status: String,
    pub last_sign_in_at: Option<i64>,
}

/// A user the IdP vouched for (no password: the IdP proved the address) and their
/// membership: `$1` id, `$2` email, `$3` email_lc, `$4` now, `$5` last sign-in, `$6`
/// business, `$7` role, `$8` IdP object id. PostgreSQL: one statement. SQLite: one script
/// (one round trip to its worker thread), run inside a transaction.
const SSO_MEMBER_PG: &str =
    "with u as (insert into users (id, email, email_lc, password_hash, email_verified_at, \
     created_at, last_sign_in_at) values ($1, $2, $3, '!sso', $4, $4, $5) returning id) \
     insert into memberships (business_id, user_id, role, status, created_at, idp_object_id) \
     select $6, u.id, $7, 'active', $4, $8 from u";
const SSO_MEMBER_SQLITE: &str =
    "insert into users (id, email, email_lc, password_hash, email_verified_at, created_at, \
     last_sign_in_at) values ($1, $2, $3, '!sso', $4, $4, $5); \
     insert into memberships (business_id, user_id, role, status, created_at, idp_object_id) \
     values ($6, $1, $7, 'active', $4, $8)";

impl Db {
    pub async fn business(&self, id: &str) -> StoreResult<BusinessRow> {
        with_pool!(self, |p| sqlx::query_as::<_, BusinessRow>(
            "select id, name, country, address, phone, created_at from business_accounts where id = $1"
        )
        .bind(id)
        .fetch_optional(p)
        .await)?
        .ok_or(StoreError::NotFound)
    }

    pub async fn update_business(&self, id: &str, d: &OrgDetails) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query(
            "update business_accounts set name = $2, country = $3, address = $4, phone = $5 where id = $1"
        )
        .bind(id)
        .bind(&d.name)
        .bind(&d.country)
        .bind(&d.address)
        .bind(&d.phone)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The business account a user belongs to, if any.
    pub async fn membership_of(&self, user_id: &str) -> StoreResult<Option<MembershipRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, MembershipRow>(
            "select m.business_id, b.name as business_name, m.role, m.status \
             from memberships m join business_accounts b on b.id = m.business_id where m.user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(p)
        .await
        })?)
    }

    pub async fn members(&self, business_id: &str) -> StoreResult<Vec<MemberRow>> {
        Ok(with_pool!(self, |p| sqlx::query_as::<_, MemberRow>(
            "select u.email, m.role, m.status, u.last_sign_in_at \
             from memberships m join users u on u.id = m.user_id \
             where m.business_id = $1 order by m.created_at, u.email_lc"
        )
        .bind(business_id)
        .fetch_all(p)
        .await)?)
    }

    /// Adds a user to a business; `Conflict` when they already belong to one.
    pub async fn add_member(
        &self,
        business_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
            "insert into memberships (business_id, user_id, role, status, created_at) values ($1, $2, $3, 'active', $4)"
        )
        .bind(business_id)
        .bind(user_id)
        .bind(role)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// First sight of a person the IdP vouched for: the user (no password: "!sso" never
    /// verifies; the IdP proved the address) and their membership with its role and IdP object
    /// id, in one transaction, so a failure leaves neither (the sign-in time is stamped with
    /// the session, `start_sso_session`). `Conflict` when the address or the object id is taken (`constraint`
    /// names which).
    pub async fn create_sso_member(
        &self,
        business_id: &str,
        email: &str,
        role: &str,
        object_id: Option<&str>,
        now: i64,
    ) -> StoreResult<String> {
        let id = new_id();
        let email_lc = email.to_lowercase();
        macro_rules! member {
            ($sql:expr) => {
                sqlx::query($sql)
                    .bind(&id)
                    .bind(email)
                    .bind(&email_lc)
                    .bind(now)
                    .bind(None::<i64>)
                    .bind(business_id)
                    .bind(role)
                    .bind(object_id)
            };
        }
        match self {
            // one statement, so one round trip, and atomic by itself
            Db::Postgres(pg) => {
                on_lane!(pg, |p| member!(SSO_MEMBER_PG).execute(p).await)?;
            }
            Db::Sqlite(sqlite) => {
                on_lane!(sqlite.write, |p| {
                    let mut tx = p.begin().await?;
                    member!(SSO_MEMBER_SQLITE).execute(&mut *tx).await?;
                    tx.commit().await
                })?;
            }
        }
        Ok(id)
    }

    /// Both lookups of a sign-in in one round trip: the member of `business_id` the IdP knows
    /// by `object_id` (when given), and the user with the address `email_lc` with their
    /// membership of any account.
    pub async fn sso_members(
        &self,
        business_id: &str,
        object_id: Option<&str>,
        email_lc: &str,
    ) -> StoreResult<(Option<SsoMember>, Option<SsoMember>)> {
        let rows: Vec<FoundMember> = with_pool!(self, |p| {
            sqlx::query_as::<_, FoundMember>(
                "select 'object' as found_by, u.id as user_id, u.email_lc, m.business_id, m.role, \
                 m.idp_object_id from memberships m join users u on u.id = m.user_id \
                 where m.business_id = $1 and m.idp_object_id = $2 \
                 union all \
                 select 'email' as found_by, u.id as user_id, u.email_lc, m.business_id, m.role, \
                 m.idp_object_id from users u left join memberships m on m.user_id = u.id \
                 where u.email_lc = $3",
            )
            .bind(business_id)
            .bind(object_id)
            .bind(email_lc)
            .fetch_all(p)
            .await
        })?;
        let mut by_object = None;
        let mut by_email = None;
        for row in rows {
            let slot = if row.found_by == "object" {
                &mut by_object
            } else {
                &mut by_email
            };
            if slot.is_none() {
                *slot = Some(row.member);
            }
        }
        Ok((by_object, by_email))
    }

    pub async fn set_member_object_id(
        &self,
        business_id: &str,
        user_id: &str,
        object_id: &str,
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
                "update memberships set idp_object_id = $3 where business_id = $1 and user_id = $2",
            )
            .bind(business_id)
            .bind(user_id)
            .bind(object_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn set_member_role(
        &self,
        business_id: &str,
        user_id: &str,
        role: &str,
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query("update memberships set role = $3 where business_id = $1 and user_id = $2")
                .bind(business_id)
                .bind(user_id)
                .bind(role)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub(crate) fn new_business_id() -> String {
        new_id()
    }
}

impl Db {
    /// Members who have signed in with a password at least once: (user id, email).
    pub async fn password_members(&self, business_id: &str) -> StoreResult<Vec<(String, String)>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, (String, String)>(
            "select u.id, u.email from memberships m join users u on u.id = m.user_id \
             where m.business_id = $1 and m.status = 'active' and u.last_sign_in_at is not null order by u.email_lc"
        )
        .bind(business_id)
        .fetch_all(p)
        .await
        })?)
    }
}
