//! `activation_transactions`, `activations`, `seat_assignments`: desktop activation by SSO.
//! A seat is counted under its subscription's write lock, in the transaction that grants it
//! (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the subscription's row, locked by the seat counter
//! as a new seat's last step, or `SELECT … FOR UPDATE` on the product's keys on the locking
//! path), so concurrent activations never hand out more seats than a subscription has.

use super::{on_lane, with_pool, with_writer, Db, Flush, StoreError, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TransactionRow {
    pub id: String,
    pub business_id: String,
    pub request_id: String,
    pub email_lc: String,
    pub product: String,
    pub device_id: String,
    pub device_name: String,
    pub device_os: String,
    pub code_challenge: String,
    pub redirect_uri: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub code_expires_at: Option<i64>,
    pub result_sealed: Option<String>,
    pub redeemed_at: Option<i64>,
}

const TXN_COLUMNS: &str =
    "id, business_id, request_id, email_lc, product, device_id, device_name, \
     device_os, code_challenge, redirect_uri, created_at, expires_at, used_at, code_expires_at, \
     result_sealed, redeemed_at";

/// The device a grant is for.
#[derive(Clone, Debug)]
pub struct Device<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub os: &'a str,
}

/// What a grant asks for.
pub struct GrantRequest<'a> {
    pub business_id: &'a str,
    pub product: &'a str,
    pub user_id: &'a str,
    pub device: Device<'a>,
    pub activation_id: &'a str,
    pub secret_hash: &'a str,
    pub device_limit: i64,
    pub now: i64,
    /// A person seen for the first time: `user_id` is created as a member of the account
    /// (role user) with the seat, in its transaction, so a refused grant stores no new person.
    pub new_member: Option<NewMember<'a>>,
}

#[derive(Clone, Copy, Debug)]
pub struct NewMember<'a> {
    pub email: &'a str,
    pub object_id: Option<&'a str>,
}

/// How a grant ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Granted {
        license_key_id: String,
        /// The subscription's end, if it has one.
        expires_at: Option<i64>,
        /// This user already held the seat (another device, or a re-activation).
        seat_was_held: bool,
    },
    NoSubscription,
    Expired,
    NoSeats,
    DeviceLimit {
        limit: i64,
    },
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ActivationRow {
    pub id: String,
    pub business_id: String,
    pub license_key_id: String,
    pub user_id: String,
    pub email: String,
    pub product: String,
    pub device_id: String,
    pub device_name: String,
    pub device_os: String,
    pub secret_hash: String,
    pub created_at: i64,
    pub last_check_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub subscription_expires_at: Option<i64>,
    pub account_name: String,
}

const ACTIVATION_SELECT: &str = "select a.id, a.business_id, a.license_key_id, a.user_id, u.email, \
     k.product, a.device_id, a.device_name, a.device_os, a.secret_hash, a.created_at, \
     a.last_check_at, a.revoked_at, a.revoked_reason, k.expires_at as subscription_expires_at, \
     b.name as account_name from activations a join users u on u.id = a.user_id \
     join license_keys k on k.id = a.license_key_id join business_accounts b on b.id = a.business_id";

/// A seat holder of a subscription.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SeatRow {
    pub license_key_id: String,
    pub user_id: String,
    pub email: String,
    pub assigned_at: i64,
}

#[derive(sqlx::FromRow)]
struct KeyCount {
    id: String,
    seats: i64,
    expires_at: Option<i64>,
    used: i64,
    holds: i64,
    others: i64,
    same_device: i64,
}

impl Db {
    /// An activation's start: its pending SAML request and its transaction, in one round trip
    /// (PostgreSQL: one statement; SQLite: one script on the writer — should the second insert
    /// fail, the first leaves only a pending request that nobody can answer and that expires).
    pub async fn insert_activation_start(
        &self,
        request: &super::saml::SamlRequestRow,
        row: &TransactionRow,
        client_ip: Option<&str>,
    ) -> StoreResult<()> {
        const REQUEST: &str = "insert into saml_requests (id, business_id, binding_hash, purpose, \
             user_id, created_at, expires_at) values ($14, $15, $16, $17, $18, $12, $19)";
        const TRANSACTION: &str =
            "insert into activation_transactions (id, business_id, request_id, \
             email_lc, product, device_id, device_name, device_os, code_challenge, redirect_uri, \
             client_ip, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
        let sql = match self {
            Db::Postgres(_) => format!("with r as ({REQUEST}) {TRANSACTION}"),
            Db::Sqlite(_) => format!("{REQUEST}; {TRANSACTION}"),
        };
        with_writer!(self, |p| {
            sqlx::query(&sql)
                .bind(&row.id)
                .bind(&row.business_id)
                .bind(&row.request_id)
                .bind(&row.email_lc)
                .bind(&row.product)
                .bind(&row.device_id)
                .bind(&row.device_name)
                .bind(&row.device_os)
                .bind(&row.code_challenge)
                .bind(&row.redirect_uri)
                .bind(client_ip)
                .bind(row.created_at)
                .bind(row.expires_at)
                .bind(&request.id)
                .bind(&request.business_id)
                .bind(&request.binding_hash)
                .bind(&request.purpose)
                .bind(&request.user_id)
                .bind(request.expires_at)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn activation_transaction(&self, id: &str) -> StoreResult<Option<TransactionRow>> {
        self.activation_transaction_where("id", id).await
    }

    pub async fn activation_transaction_by_request(
        &self,
        request_id: &str,
    ) -> StoreResult<Option<TransactionRow>> {
        self.activation_transaction_where("request_id", request_id)
            .await
    }

    pub async fn activation_transaction_by_code(
        &self,
        code_hash: &str,
    ) -> StoreResult<Option<TransactionRow>> {
        self.activation_transaction_where("code_hash", code_hash)
            .await
    }

    /// By one of the unique columns `id`, `request_id`, `code_hash` (never from input).
    async fn activation_transaction_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> StoreResult<Option<TransactionRow>> {
        let sql = format!("select {TXN_COLUMNS} from activation_transactions where {column} = $1");
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, TransactionRow>(&sql)
                .bind(value)
                .fetch_optional(p)
                .await
        })?)
    }

    /// The app's completion claims its transaction in one statement: marks it used, once, if
    /// it is unused, unexpired and was started with `code_challenge`; the row when it did.
    /// `None` says nothing about why (the caller reads the row to tell).
    ///
    /// On PostgreSQL the claim does not wait for its log flush (`Flush::Later`): the seat's
    /// commit, which waits, comes after it and flushes it too; a server that dies before
    /// leaves at worst a transaction the app may complete again, with nothing granted.
    pub async fn claim_activation_transaction(
        &self,
        id: &str,
        code_challenge: &str,
        now: i64,
    ) -> StoreResult<Option<TransactionRow>> {
        let flush = match self {
            Db::Postgres(_) => Flush::Later.pg_condition(),
            Db::Sqlite(_) => "true",
        };
        let sql = format!(
            "update activation_transactions set used_at = $2 where id = $1 and used_at is null \
             and expires_at > $2 and code_challenge = $3 and {flush} returning {TXN_COLUMNS}"
        );
        Ok(with_writer!(self, |p| {
            sqlx::query_as::<_, TransactionRow>(&sql)
                .bind(id)
                .bind(now)
                .bind(code_challenge)
                .fetch_optional(p)
                .await
        })?)
    }

    /// Marks the transaction used, once: `false` when it was already used or has expired.
    pub async fn use_activation_transaction(&self, id: &str, now: i64) -> StoreResult<bool> {
        let n = with_writer!(self, |p| {
            sqlx::query(
                "update activation_transactions set used_at = $2 where id = $1 and used_at is null and expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Loopback path: the one-time code and the sealed identity it redeems.
    pub async fn set_activation_code(
        &self,
        id: &str,
        code_hash: &str,
        code_expires_at: i64,
        result_sealed: &str,
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
                "update activation_transactions set code_hash = $2, code_expires_at = $3, \
                 result_sealed = $4 where id = $1",
            )
            .bind(id)
            .bind(code_hash)
            .bind(code_expires_at)
            .bind(result_sealed)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Redeems the code once and hands back the sealed result, which is deleted with it.
    pub async fn redeem_activation_code(&self, id: &str, now: i64) -> StoreResult<Option<String>> {
        let sealed = with_writer!(self, |p| {
            sqlx::query_scalar::<_, Option<String>>(
                "select result_sealed from activation_transactions where id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await
        })?
        .flatten();
        let n = with_writer!(self, |p| {
            sqlx::query(
                "update activation_transactions set redeemed_at = $2, result_sealed = null \
                 where id = $1 and redeemed_at is null and code_expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        // only the one request that flipped `redeemed_at` gets the result
        Ok(if n == 1 { sealed } else { None })
    }

    /// The seat and the activation, in one transaction holding the subscription's lock.
    pub async fn grant_seat(&self, g: &GrantRequest<'_>) -> StoreResult<Grant> {
        match self {
            Db::Postgres(pg) => on_lane!(pg, |p| grant_seat_pg(p, g).await),
            Db::Sqlite(sqlite) => on_lane!(sqlite.write, |p| grant_seat_sqlite(p, g).await),
        }
    }

    pub async fn activation(&self, id: &str) -> StoreResult<Option<ActivationRow>> {
        let sql = format!("{ACTIVATION_SELECT} where a.id = $1");
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ActivationRow>(&sql)
                .bind(id)
                .fetch_optional(p)
                .await
        })?)
    }

    /// Records a check; coarse (once a minute) so that frequent checks stay reads.
    pub async fn touch_activation(&self, id: &str, now: i64) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
                "update activations set last_check_at = $2 where id = $1 and last_check_at < $2",
            )
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Revokes the given activations and frees the seats of users left without an active
    /// device on that subscription. Returns how many activations it revoked.
    async fn revoke_where(
        &self,
        filter: &str,
        args: &[&str],
        reason: &str,
        now: i64,
    ) -> StoreResult<u64> {
        self.revoke_and_free(filter, args, reason, now, None).await
    }

    /// `revoke_where` under the subscriptions' locks (SQLite: `BEGIN IMMEDIATE`; PostgreSQL:
    /// the subscriptions' rows, in id order), so a grant in flight is either seen or waits: a
    /// device never stays active without its seat. (On PostgreSQL a new seat's grant writes
    /// its activation and its seat in one transaction that the revocation cannot see until it
    /// commits, and its seat waits for the revocation's lock.) `free` also deletes that
    /// (subscription, user) seat whatever the devices.
    async fn revoke_and_free(
        &self,
        filter: &str,
        args: &[&str],
        reason: &str,
        now: i64,
        free: Option<(&str, &str)>,
    ) -> StoreResult<u64> {
        let sqlite = matches!(self, Db::Sqlite(_));
        let n = args.len();
        let lock = format!(
            "select id from license_keys where id in (select license_key_id from activations \
             where revoked_at is null and ({filter})) or id = ${k} order by id for no key update",
            k = n + 1
        );
        let revoke = format!(
            "update activations set revoked_at = ${t}, revoked_reason = ${r} \
             where revoked_at is null and ({filter}) returning license_key_id, user_id",
            t = n + 1,
            r = n + 2
        );
        let release = "delete from seat_assignments where license_key_id = $1 and user_id = $2 \
             and not exists (select 1 from activations a where a.license_key_id = $1 \
             and a.user_id = $2 and a.revoked_at is null)";
        // On PostgreSQL a grant that commits between the locks and the revocation can add a
        // device on a subscription not locked yet, and freeing seats waits for their stripes
        // (migration 0012), which grants in flight may hold: should that ever close a cycle,
        // PostgreSQL breaks the deadlock by failing one side, and the revocation is simply
        // run again. The subscriptions are locked FOR NO KEY UPDATE, so the foreign-key checks
        // of grants in flight (FOR KEY SHARE) do not wait for them.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let done: Result<u64, sqlx::Error> = with_writer!(self, |p| async {
                let mut tx = if sqlite {
                    p.begin_with("BEGIN IMMEDIATE").await?
                } else {
                    p.begin().await?
                };
                if !sqlite {
                    let mut q = sqlx::query_scalar::<_, String>(&lock);
                    for a in args {
                        q = q.bind(*a);
                    }
                    q.bind(free.map(|(k, _)| k).unwrap_or(""))
                        .fetch_all(&mut *tx)
                        .await?;
                }
                let mut q = sqlx::query_as::<_, (String, String)>(&revoke);
                for a in args {
                    q = q.bind(*a);
                }
                let mut pairs = q.bind(now).bind(reason).fetch_all(&mut *tx).await?;
                let revoked = pairs.len() as u64;
                pairs.sort();
                pairs.dedup();
                for (key, user) in &pairs {
                    sqlx::query(release)
                        .bind(key)
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut freed = 0;
                if let Some((key, user)) = free {
                    freed = sqlx::query(
                        "delete from seat_assignments where license_key_id = $1 and user_id = $2",
                    )
                    .bind(key)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(revoked + freed)
            }
            .await);
            match done {
                Err(sqlx::Error::Database(e))
                    if attempt < 3 && e.code().as_deref() == Some("40P01") =>
                {
                    tracing::warn!(attempt, "revocation met a deadlock; running it again");
                }
                done => return Ok(done?),
            }
        }
    }

    /// One device, by its owner or an admin.
    pub async fn revoke_activation(&self, id: &str, reason: &str, now: i64) -> StoreResult<u64> {
        self.revoke_where("id = $1", &[id], reason, now).await
    }

    /// Every device of one person in one account (deprovisioning, "free seat").
    pub async fn revoke_user_activations(
        &self,
        business_id: &str,
        email_lc: &str,
        reason: &str,
        now: i64,
    ) -> StoreResult<u64> {
        self.revoke_where(
            "business_id = $1 and user_id in (select id from users where email_lc = $2)",
            &[business_id, email_lc],
            reason,
            now,
        )
        .await
    }

    /// Frees one person's seat of one subscription, with all their devices on it.
    pub async fn free_seat(
        &self,
        business_id: &str,
        license_key_id: &str,
        user_id: &str,
        now: i64,
    ) -> StoreResult<u64> {
        // only this account's subscriptions
        let owned = with_pool!(self, |p| {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from license_keys where id = $1 and business_id = $2",
            )
            .bind(license_key_id)
            .bind(business_id)
            .fetch_one(p)
            .await
        })?;
        if owned == 0 {
            return Ok(0);
        }
        self.revoke_and_free(
            "business_id = $1 and license_key_id = $2 and user_id = $3",
            &[business_id, license_key_id, user_id],
            "seat_freed",
            now,
            Some((license_key_id, user_id)),
        )
        .await
    }

    /// With SCIM on: revokes the devices of provisioned people who are deactivated, deleted,
    /// or (when the desktop group is provisioned) no longer in it.
    pub async fn revoke_ineligible_activations(
        &self,
        business_id: &str,
        desktop_group_id: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let gone = "business_id = $1 and user_id in (select u.id from users u join scim_users s \
             on s.business_id = $1 and s.user_name_key = u.email_lc \
             where s.active = false or s.deleted_at is not null) \
             and user_id not in (select u.id from users u join scim_users s \
             on s.business_id = $1 and s.user_name_key = u.email_lc \
             where s.active = true and s.deleted_at is null)";
        let mut n = self
            .revoke_where(gone, &[business_id], "deprovisioned", now)
            .await?;
        if let Some(group) = desktop_group_id {
            let outside = "business_id = $1 and user_id in (select u.id from users u join scim_users s \
                 on s.business_id = $1 and s.user_name_key = u.email_lc and s.deleted_at is null \
                 where not exists (select 1 from scim_group_members m where m.group_id = $2 and m.user_id = s.id))";
            n += self
                .revoke_where(outside, &[business_id, group], "removed_from_group", now)
                .await?;
        }
        Ok(n)
    }

    pub async fn seats_of(&self, business_id: &str) -> StoreResult<Vec<SeatRow>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, SeatRow>(
                "select s.license_key_id, s.user_id, u.email, s.assigned_at from seat_assignments s \
                 join users u on u.id = s.user_id join license_keys k on k.id = s.license_key_id \
                 where k.business_id = $1 order by u.email_lc",
            )
            .bind(business_id)
            .fetch_all(p)
            .await
        })?)
    }

    /// The account's activations, newest first (active and the last revoked ones).
    pub async fn activations_of(
        &self,
        business_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<ActivationRow>> {
        let sql = format!(
            "{ACTIVATION_SELECT} where a.business_id = $1 order by (a.revoked_at is null) desc, a.created_at desc limit $2"
        );
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ActivationRow>(&sql)
                .bind(business_id)
                .bind(limit)
                .fetch_all(p)
                .await
        })?)
    }

    pub async fn device_limit(&self, business_id: &str) -> StoreResult<i64> {
        Ok(with_pool!(self, |p| {
            sqlx::query_scalar::<_, i64>(
                "select device_limit from idp_integrations where business_id = $1",
            )
            .bind(business_id)
            .fetch_optional(p)
            .await
        })?
        .unwrap_or(3))
    }

    pub async fn set_device_limit(&self, business_id: &str, limit: i64) -> StoreResult<()> {
        with_pool!(self, |p| {
            sqlx::query("update idp_integrations set device_limit = $2 where business_id = $1")
                .bind(business_id)
                .bind(limit)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Sealed identities of loopback codes that expired unredeemed are of no further use.
    pub async fn clear_expired_activation_codes(&self, now: i64) -> StoreResult<u64> {
        Ok(with_pool!(self, |p| {
            sqlx::query(
                "update activation_transactions set result_sealed = null \
                 where result_sealed is not null and code_expires_at < $1",
            )
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?)
    }

    /// Old transactions (used or not) go after a day.
    pub async fn prune_activation_transactions(&self, before: i64) -> StoreResult<u64> {
        Ok(with_pool!(self, |p| {
            sqlx::query("delete from activation_transactions where expires_at < $1")
                .bind(before)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}

/// The seat grant on SQLite: `BEGIN IMMEDIATE` on the one writer connection holds the
/// database's write lock, so the counts and the writes see every other grant. Each round trip
/// to SQLite's worker thread costs a thread hand-off, so the writes go in one script (sqlx
/// runs every statement of a query; `$N` names the same argument in each): the counts, then
/// a first-seen person, the seat and the activation — four round trips with begin and
/// commit, where one per statement took seven.
async fn grant_seat_sqlite(
    p: &mut sqlx::SqliteConnection,
    g: &GrantRequest<'_>,
) -> StoreResult<Grant> {
    // per subscription: seats used, whether this person holds one, their other active
    // devices, and whether this device is active (to be replaced);
    // $1 business, $2 product, $3 user, $4 device
    const COUNTS: &str = "select k.id, k.seats, k.expires_at, \
         k.seats_used as used, \
         (select count(*) from seat_assignments s where s.license_key_id = k.id and s.user_id = $3) as holds, \
         (select count(*) from activations a where a.license_key_id = k.id and a.user_id = $3 \
          and a.revoked_at is null and a.device_id <> $4) as others, \
         (select count(*) from activations a where a.license_key_id = k.id and a.user_id = $3 \
          and a.revoked_at is null and a.device_id = $4) as same_device \
         from license_keys k where k.business_id = $1 and k.product = $2 \
         order by k.registered_at, k.id";
    // $1 subscription, $2 user, $3 now, $4 take a seat, $5 device, $6 replace this device's
    // activation, $7 activation, $8 business, $9 device name, $10 device OS, $11 secret hash
    const WRITES: &str = "insert into seat_assignments (license_key_id, user_id, assigned_at) \
         select $1, $2, $3 where $4; \
         update activations set revoked_at = $3, revoked_reason = 'replaced' \
         where $6 and license_key_id = $1 and user_id = $2 and device_id = $5 and revoked_at is null; \
         insert into activations (id, business_id, license_key_id, user_id, device_id, device_name, \
         device_os, secret_hash, created_at, last_check_at) values ($7, $8, $1, $2, $5, $9, $10, $11, $3, $3)";
    // first, a first-seen person (as `create_sso_member`, role user): $12 email, $13 email_lc,
    // $14 IdP object id — stored only with a seat, as `seatgate_grant_seat` does
    const MEMBER: &str = "insert into users (id, email, email_lc, password_hash, \
         email_verified_at, created_at, last_sign_in_at) values ($2, $12, $13, '!sso', $3, $3, null); \
         insert into memberships (business_id, user_id, role, status, created_at, idp_object_id) \
         values ($8, $2, 'user', 'active', $3, $14);";
    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
    let keys: Vec<KeyCount> = sqlx::query_as(COUNTS)
        .bind(g.business_id)
        .bind(g.product)
        .bind(g.user_id)
        .bind(g.device.id)
        .fetch_all(&mut *tx)
        .await?;
    let (key, held) = match choose(&keys, g) {
        Ok(chosen) => chosen,
        Err(refused) => return Ok(refused),
    };
    let writes = match g.new_member {
        Some(_) => std::borrow::Cow::Owned(format!("{MEMBER} {WRITES}")),
        None => std::borrow::Cow::Borrowed(WRITES),
    };
    let mut q = sqlx::query(&writes)
        .bind(&key.id)
        .bind(g.user_id)
        .bind(g.now)
        .bind(!held)
        .bind(g.device.id)
        .bind(key.same_device > 0)
        .bind(g.activation_id)
        .bind(g.business_id)
        .bind(g.device.name)
        .bind(g.device.os)
        .bind(g.secret_hash);
    if let Some(m) = g.new_member {
        q = q
            .bind(m.email)
            .bind(m.email.to_lowercase())
            .bind(m.object_id);
    }
    q.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Grant::Granted {
        license_key_id: key.id.clone(),
        expires_at: key.expires_at,
        seat_was_held: held,
    })
}

/// The subscription a grant takes its seat from (and whether the person already holds it
/// there), or why none: the oldest live subscription where they hold a seat, else the oldest
/// with a free one, within the device limit. `seatgate_grant_seat` decides the same way.
fn choose<'k>(keys: &'k [KeyCount], g: &GrantRequest<'_>) -> Result<(&'k KeyCount, bool), Grant> {
    if keys.is_empty() {
        return Err(Grant::NoSubscription);
    }
    let live: Vec<&KeyCount> = keys
        .iter()
        .filter(|k| k.expires_at.is_none_or(|e| e > g.now))
        .collect();
    if live.is_empty() {
        return Err(Grant::Expired);
    }
    let (key, held) = match live.iter().find(|k| k.holds > 0) {
        Some(k) => (*k, true),
        None => match live.iter().find(|k| k.used < k.seats) {
            Some(k) => (*k, false),
            None => return Err(Grant::NoSeats),
        },
    };
    if key.others >= g.device_limit {
        return Err(Grant::DeviceLimit {
            limit: g.device_limit,
        });
    }
    Ok((key, held))
}

/// The seat grant on PostgreSQL: one call of `seatgate_grant` (migrations 0011, 0012), all on
/// the server, so no lock is held across a network round trip. A new seat is decided without
/// the subscriptions' locks and taken from one of the subscription's 16 seat stripes with
/// room, skipping those that grants in flight hold, so grants of one subscription commit side
/// by side; when every stripe with room is held, the server's locking path
/// (`seatgate_grant_seat`) waits for one and decides alone. Should a seat insert still find
/// its stripe full (SQLSTATE `SG001`, the stripes' own guard) the server undoes the statement
/// and the grant runs once more on the locking path.
/// So does a grant PostgreSQL broke a deadlock with (40P01: two first-seen people the IdP gave
/// one object id, each waiting for the other's rows); the locking path then says why.
async fn grant_seat_pg(p: &mut sqlx::PgConnection, g: &GrantRequest<'_>) -> StoreResult<Grant> {
    match grant_seat_pg_once(&mut *p, g, true).await {
        Err(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some("SG001") | Some("40P01")) =>
        {
            tracing::debug!(
                business = g.business_id,
                "seat taken meanwhile; granting under the subscriptions' locks"
            );
            grant_seat_pg_once(p, g, false).await
        }
        done => done,
    }
    .map_err(StoreError::from)
}

async fn grant_seat_pg_once(
    p: &mut sqlx::PgConnection,
    g: &GrantRequest<'_>,
    fast: bool,
) -> Result<Grant, sqlx::Error> {
    let (outcome, license_key_id, expires_at, held): (
        String,
        Option<String>,
        Option<i64>,
        Option<bool>,
    ) = sqlx::query_as(
        "select outcome, license_key_id, expires_at, seat_was_held from seatgate_grant(\
         $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(g.business_id)
    .bind(g.product)
    .bind(g.user_id)
    .bind(g.device.id)
    .bind(g.device.name)
    .bind(g.device.os)
    .bind(g.activation_id)
    .bind(g.secret_hash)
    .bind(g.device_limit)
    .bind(g.now)
    .bind(g.new_member.map(|m| m.email))
    .bind(g.new_member.map(|m| m.email.to_lowercase()))
    .bind(g.new_member.and_then(|m| m.object_id))
    .bind(fast)
    .fetch_one(p)
    .await?;
    Ok(match (outcome.as_str(), license_key_id) {
        ("granted", Some(license_key_id)) => Grant::Granted {
            license_key_id,
            expires_at,
            seat_was_held: held.unwrap_or(false),
        },
        ("no_subscription", _) => Grant::NoSubscription,
        ("expired", _) => Grant::Expired,
        ("no_seats", _) => Grant::NoSeats,
        ("device_limit", _) => Grant::DeviceLimit {
            limit: g.device_limit,
        },
        (other, _) => {
            return Err(sqlx::Error::Protocol(format!(
                "seatgate_grant answered {other:?}"
            )))
        }
    })
}
