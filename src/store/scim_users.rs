//! `scim_users`: users provisioned by the IdP over SCIM, stored as their SCIM document plus the
//! columns that lookups, uniqueness and paging need.

use super::{with_pool, with_writer, Db, Sqlite, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScimUserRow {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The SCIM document as stored (no `id`, `meta` or `groups`).
    pub doc: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

const SELECT: &str =
    "select id, user_name, external_id, active, doc, created_at, updated_at, version \
     from scim_users";

#[derive(sqlx::FromRow)]
struct WithGroups {
    #[sqlx(flatten)]
    user: ScimUserRow,
    groups_json: String,
}

/// Which indexed column a lookup uses.
#[derive(Clone, Copy, Debug)]
pub enum UserKey<'a> {
    Id(&'a str),
    UserName(&'a str),
    ExternalId(&'a str),
}

/// See `Db::scim_standing`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScimPerson {
    pub id: String,
    pub active: bool,
    pub deleted: bool,
}

impl Db {
    pub async fn insert_scim_user(&self, business_id: &str, row: &ScimUserRow) -> StoreResult<()> {
        with_writer!(self, |p| {
            sqlx::query(
                "insert into scim_users (id, business_id, user_name, user_name_key, external_id, active, doc, \
                 created_at, updated_at, version) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&row.id)
            .bind(business_id)
            .bind(&row.user_name)
            .bind(row.user_name.to_lowercase())
            .bind(&row.external_id)
            .bind(row.active)
            .bind(&row.doc)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(row.version)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Live (not deleted) users matching `key`.
    pub async fn scim_users_by(
        &self,
        business_id: &str,
        key: UserKey<'_>,
    ) -> StoreResult<Vec<ScimUserRow>> {
        let (column, value) = match key {
            UserKey::Id(v) => ("id", v.to_string()),
            UserKey::UserName(v) => ("user_name_key", v.to_lowercase()),
            UserKey::ExternalId(v) => ("external_id", v.to_string()),
        };
        let sql = by_column_sql(column);
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ScimUserRow>(&sql)
                .bind(business_id)
                .bind(&value)
                .fetch_all(p)
                .await
        })?)
    }

    /// As `scim_users_by`, each user with their groups (id, name) ordered by group id, in one
    /// round trip: lookups by `userName` are what IdPs send most.
    pub async fn scim_users_with_groups_by(
        &self,
        business_id: &str,
        key: UserKey<'_>,
    ) -> StoreResult<Vec<(ScimUserRow, Vec<(String, String)>)>> {
        let (column, value) = match key {
            UserKey::Id(v) => ("id", v.to_string()),
            UserKey::UserName(v) => ("user_name_key", v.to_lowercase()),
            UserKey::ExternalId(v) => ("external_id", v.to_string()),
        };
        let groups = match self {
            Db::Sqlite(_) => {
                "(select json_group_array(json_array(gid, gname)) from (select g.id as gid,                  g.display_name as gname from scim_group_members m join scim_groups g on g.id = m.group_id                  where m.user_id = scim_users.id order by g.id))"
            }
            Db::Postgres(_) => {
                "(select coalesce(json_agg(json_build_array(g.id, g.display_name) order by g.id)::text, '[]')                  from scim_group_members m join scim_groups g on g.id = m.group_id where m.user_id = scim_users.id)"
            }
        };
        let sql = format!(
            "select id, user_name, external_id, active, doc, created_at, updated_at, version,              {groups} as groups_json from scim_users              where business_id = $1 and {column} = $2 and deleted_at is null order by id"
        );
        let rows: Vec<WithGroups> = with_pool!(self, |p| {
            sqlx::query_as::<_, WithGroups>(&sql)
                .bind(business_id)
                .bind(&value)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let groups: Vec<(String, String)> =
                    serde_json::from_str(&r.groups_json).unwrap_or_default();
                (r.user, groups)
            })
            .collect())
    }

    /// A person's standing in `business_id`'s directory, in one round trip: the provisioned
    /// user whose userName is `user_name` (case-insensitively; a live one before a deleted one,
    /// whom the IdP deleted and has not provisioned again) and, when the group mapped as (`group_id`, `group_name`) is provisioned, whether
    /// they belong to it. The group is matched as `scim::service::matched_group` does: by
    /// externalId (trimmed), else by displayName, case-sensitively. `None`: not provisioned.
    pub async fn scim_standing(
        &self,
        business_id: &str,
        user_name: &str,
        group_id: &str,
        group_name: &str,
    ) -> StoreResult<Option<(ScimPerson, Option<bool>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            person: ScimPerson,
            groups: i64,
            in_group: i64,
        }
        let row = with_pool!(self, |p| {
            sqlx::query_as::<_, Row>(
                // the live person (at most one), else a deleted one: each branch has its own
                // partial index, where one query over both states read the whole table
                "with person as (select id, active, deleted from (\
                   select id, active, false as deleted from scim_users \
                   where business_id = $1 and user_name_key = $2 and deleted_at is null \
                   union all \
                   select id, active, true as deleted from scim_users \
                   where business_id = $1 and user_name_key = $2 and deleted_at is not null) u \
                 order by deleted, id limit 1), \
                 grp as (select c.id from (\
                   select g.id, 0 as rank from scim_groups g \
                   where g.business_id = $1 and $3 <> '' and g.external_id = $3 \
                   union all \
                   select g.id, 1 as rank from scim_groups g \
                   where g.business_id = $1 and $4 <> '' and g.display_name_key = $5 \
                   and g.display_name = $4) c order by c.rank, c.id limit 1) \
                 select person.id, person.active, person.deleted, \
                 (select count(*) from grp) as groups, \
                 (select count(*) from scim_group_members m join grp on m.group_id = grp.id \
                  where m.user_id = person.id) as in_group \
                 from person",
            )
            .bind(business_id)
            .bind(user_name.to_lowercase())
            .bind(group_id.trim())
            .bind(if group_name.trim().is_empty() {
                ""
            } else {
                group_name
            })
            .bind(group_name.to_lowercase())
            .fetch_optional(p)
            .await
        })?;
        Ok(row.map(|r| (r.person, (r.groups > 0).then_some(r.in_group > 0))))
    }

    pub async fn scim_user(&self, business_id: &str, id: &str) -> StoreResult<Option<ScimUserRow>> {
        Ok(self
            .scim_users_by(business_id, UserKey::Id(id))
            .await?
            .into_iter()
            .next())
    }

    /// One page of live users in id order (ids are time-ordered UUIDv7, so the order is stable).
    pub async fn scim_users_page(
        &self,
        business_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<ScimUserRow>> {
        let sql = page_sql();
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ScimUserRow>(&sql)
                .bind(business_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await
        })?)
    }

    pub async fn count_scim_users(&self, business_id: &str) -> StoreResult<(i64, i64)> {
        let row: (i64, Option<i64>) = with_pool!(self, |p| {
            sqlx::query_as(
                "select count(*), sum(case when active then 1 else 0 end) from scim_users \
                 where business_id = $1 and deleted_at is null",
            )
            .bind(business_id)
            .fetch_one(p)
            .await
        })?;
        Ok((row.0, row.1.unwrap_or(0)))
    }

    /// Replaces the stored document when the version is still `expected_version`; false when
    /// the user is gone or was changed meanwhile.
    pub async fn update_scim_user(
        &self,
        business_id: &str,
        row: &ScimUserRow,
        expected_version: i64,
    ) -> StoreResult<bool> {
        let n = with_writer!(self, |p| {
            sqlx::query(
                "update scim_users set user_name = $3, user_name_key = $4, external_id = $5, active = $6, \
                 doc = $7, updated_at = $8, version = $9 \
                 where business_id = $1 and id = $2 and version = $10 and deleted_at is null",
            )
            .bind(business_id)
            .bind(&row.id)
            .bind(&row.user_name)
            .bind(row.user_name.to_lowercase())
            .bind(&row.external_id)
            .bind(row.active)
            .bind(&row.doc)
            .bind(row.updated_at)
            .bind(row.version)
            .bind(expected_version)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Marks the user deleted (the record stays) and takes it out of every group.
    pub async fn delete_scim_user(
        &self,
        business_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        with_writer!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "update scim_users set deleted_at = $3, active = $4, updated_at = $3 \
                 where business_id = $1 and id = $2 and deleted_at is null",
            )
            .bind(business_id)
            .bind(id)
            .bind(now)
            .bind(false)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("delete from scim_group_members where user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Of `ids`, those that are live users of the account.
    pub async fn existing_scim_user_ids(
        &self,
        business_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(500) {
            let marks = placeholders(2, chunk.len());
            let sql = format!(
                "select id from scim_users where business_id = $1 and deleted_at is null and id in ({marks})"
            );
            let rows: Vec<(String,)> = with_pool!(self, |p| {
                let mut q = sqlx::query_as(&sql).bind(business_id);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(p).await
            })?;
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }

    /// The groups of each of `user_ids`: (user id, group id, group display name).
    pub async fn scim_groups_of_users(
        &self,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String, String)>> {
        let mut out = Vec::new();
        for chunk in user_ids.chunks(500) {
            let marks = placeholders(1, chunk.len());
            let sql = format!(
                "select m.user_id, g.id, g.display_name from scim_group_members m \
                 join scim_groups g on g.id = m.group_id where m.user_id in ({marks}) order by g.id"
            );
            let rows: Vec<(String, String, String)> = with_pool!(self, |p| {
                let mut q = sqlx::query_as(&sql);
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(p).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// Ends the portal sessions of the person a deprovisioned SCIM user stands for.
    pub async fn revoke_sessions_for_email(&self, email: &str) -> StoreResult<u64> {
        Ok(with_writer!(self, |p| {
            sqlx::query(
                "delete from sessions where user_id in (select id from users where lower(email) = $1)",
            )
            .bind(email.to_lowercase())
            .execute(p)
            .await
            .map(|r| r.rows_affected())
        })?)
    }
}

fn by_column_sql(column: &str) -> String {
    format!("{SELECT} where business_id = $1 and {column} = $2 and deleted_at is null order by id")
}

/// The page's ids come from the (business_id, id) index alone, so a deep OFFSET skips index
/// entries, not documents; only the page's rows are read.
fn page_sql() -> String {
    format!(
        "{SELECT} where id in (select id from scim_users where business_id = $1 and deleted_at is null \
         order by id limit $2 offset $3) order by id"
    )
}

impl Db {
    /// The plans of the `userName eq` lookup and of a deep list page, for BENCHMARKS.md.
    pub async fn explain_scim_queries(&self, business_id: &str) -> StoreResult<Vec<String>> {
        let lookup = by_column_sql("user_name_key");
        let page = page_sql();
        let mut out = Vec::new();
        match self {
            Db::Sqlite(Sqlite { read, .. }) => {
                let mut lane = read.get().await?;
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("explain query plan {lookup}"))
                        .bind(business_id)
                        .bind("user050000@example.com")
                        .fetch_all(&mut *lane)
                        .await?;
                out.push(format!("-- userName eq: {lookup}"));
                out.extend(rows.into_iter().map(|r| r.3));
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(&format!("explain query plan {page}"))
                        .bind(business_id)
                        .bind(100_i64)
                        .bind(90_000_i64)
                        .fetch_all(&mut *lane)
                        .await?;
                out.push(format!("-- page at 90,000: {page}"));
                out.extend(rows.into_iter().map(|r| r.3));
                lane.settle(false);
            }
            Db::Postgres(pg) => {
                let mut lane = pg.get().await?;
                let rows: Vec<(String,)> = sqlx::query_as(&format!("explain analyze {lookup}"))
                    .bind(business_id)
                    .bind("user050000@example.com")
                    .fetch_all(&mut *lane)
                    .await?;
                out.push(format!("-- userName eq: {lookup}"));
                out.extend(rows.into_iter().map(|r| r.0));
                let rows: Vec<(String,)> = sqlx::query_as(&format!("explain analyze {page}"))
                    .bind(business_id)
                    .bind(100_i64)
                    .bind(90_000_i64)
                    .fetch_all(&mut *lane)
                    .await?;
                out.push(format!("-- page at 90,000: {page}"));
                out.extend(rows.into_iter().map(|r| r.0));
                lane.settle(false);
            }
        }
        Ok(out)
    }
}

/// `$first, $first+1, …` for `n` values.
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
