//! `license_keys`: per-user subscriptions issued by the vendor and registered by customers.

use super::{business::OrgDetails, new_id, with_pool, Db, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LicenseKeyRow {
    pub id: String,
    pub key_hint: String,
    pub product: String,
    pub seats: i64,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub business_id: Option<String>,
    pub business_name: Option<String>,
    pub display_name: Option<String>,
    pub registered_at: Option<i64>,
    pub seats_used: i64,
}

/// The subscriptions with their seats used: SQLite keeps the count in the subscription's row
/// (migration 0008), PostgreSQL in its 16 seat stripes (0012).
macro_rules! select_keys {
    ($used:literal) => {
        concat!(
            "select k.id, k.key_hint, k.product, k.seats, k.expires_at, k.created_at, \
             k.business_id, b.name as business_name, k.display_name, k.registered_at, ",
            $used,
            " as seats_used from license_keys k left join business_accounts b on b.id = k.business_id"
        )
    };
}
const SELECT_SQLITE: &str = select_keys!("k.seats_used");
const SELECT_PG: &str = select_keys!(
    "(select coalesce(sum(st.used), 0)::bigint from seat_stripes st where st.license_key_id = k.id)"
);

fn select(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(_) => SELECT_SQLITE,
        Db::Postgres(_) => SELECT_PG,
    }
}

/// Where a registration puts the key.
pub enum RegisterInto<'a> {
    Existing {
        business_id: &'a str,
    },
    New {
        org: &'a OrgDetails,
        admin_user_id: &'a str,
    },
}

impl Db {
    pub async fn insert_license_key(
        &self,
        key_hash: &str,
        key_hint: &str,
        product: &str,
        seats: i64,
        expires_at: Option<i64>,
        now: i64,
    ) -> StoreResult<String> {
        let id = new_id();
        with_pool!(self, |p| {
            sqlx::query(
            "insert into license_keys (id, key_hash, key_hint, product, seats, expires_at, created_at) values ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&id)
        .bind(key_hash)
        .bind(key_hint)
        .bind(product)
        .bind(seats)
        .bind(expires_at)
        .bind(now)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    pub async fn license_keys(&self) -> StoreResult<Vec<LicenseKeyRow>> {
        let sql = format!("{} order by k.created_at, k.id", select(self));
        Ok(with_pool!(self, |p| sqlx::query_as::<_, LicenseKeyRow>(
            &sql
        )
        .fetch_all(p)
        .await)?)
    }

    pub async fn license_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<LicenseKeyRow>> {
        let sql = format!("{} where k.key_hash = $1", select(self));
        Ok(with_pool!(self, |p| sqlx::query_as::<_, LicenseKeyRow>(
            &sql
        )
        .bind(key_hash)
        .fetch_optional(p)
        .await)?)
    }

    pub async fn subscriptions_of(&self, business_id: &str) -> StoreResult<Vec<LicenseKeyRow>> {
        let sql = format!(
            "{} where k.business_id = $1 order by k.registered_at, k.id",
            select(self)
        );
        Ok(with_pool!(self, |p| sqlx::query_as::<_, LicenseKeyRow>(
            &sql
        )
        .bind(business_id)
        .fetch_all(p)
        .await)?)
    }

    /// Registers an unregistered key, creating the business account (with the user as its
    /// admin) when asked, all in one transaction. Returns the business id, or `None` when the
    /// key was registered by someone else in the meantime (nothing is changed then).
    pub async fn register_license_key(
        &self,
        key_id: &str,
        display_name: Option<&str>,
        into: RegisterInto<'_>,
        user_id: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        with_pool!(self, |p| {
            let mut tx = p.begin().await?;
            let business_id = match &into {
                RegisterInto::Existing { business_id } => business_id.to_string(),
                RegisterInto::New { org, admin_user_id } => {
                    let id = Db::new_business_id();
                    sqlx::query(
                        "insert into business_accounts (id, name, country, address, phone, created_at) values ($1, $2, $3, $4, $5, $6)"
                    )
                    .bind(&id)
                    .bind(&org.name)
                    .bind(&org.country)
                    .bind(&org.address)
                    .bind(&org.phone)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "insert into memberships (business_id, user_id, role, status, created_at) values ($1, $2, 'admin', 'active', $3)"
                    )
                    .bind(&id)
                    .bind(admin_user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            let claimed = sqlx::query(
                "update license_keys set business_id = $2, display_name = $3, registered_at = $4, registered_by = $5 \
                 where id = $1 and business_id is null"
            )
            .bind(key_id)
            .bind(&business_id)
            .bind(display_name)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed != 1 {
                // dropping the transaction rolls back the new business account
                return Ok(None);
            }
            tx.commit().await?;
            Ok(Some(business_id))
        })
    }
}
