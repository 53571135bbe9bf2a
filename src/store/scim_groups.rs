//! `scim_groups` and `scim_group_members`: groups provisioned by the IdP. Members live in their
//! own table (a desktop-users group can hold tens of thousands of people), never in the
//! document.

use super::{scim_users::placeholders, with_pool, with_writer, Db, StoreResult};
use sqlx::Connection as _;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScimGroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    /// The SCIM document as stored (no `id`, `meta` or `members`).
    pub doc: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

const SELECT: &str =
    "select id, display_name, external_id, doc, created_at, updated_at, version from scim_groups";

#[derive(Clone, Copy, Debug)]
pub enum GroupKey<'a> {
    Id(&'a str),
    DisplayName(&'a str),
    ExternalId(&'a str),
}

/// One membership change, applied in order inside a transaction.
#[derive(Clone, Debug)]
pub enum MemberEdit {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
}

impl Db {
    /// Creates the group with its first members in one transaction.
    pub async fn insert_scim_group(
        &self,
        business_id: &str,
        row: &ScimGroupRow,
        members: &[String],
    ) -> StoreResult<()> {
        with_writer!(self, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "insert into scim_groups (id, business_id, display_name, display_name_key, external_id, doc, \
                 created_at, updated_at, version) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&row.id)
            .bind(business_id)
            .bind(&row.display_name)
            .bind(row.display_name.to_lowercase())
            .bind(&row.external_id)
            .bind(&row.doc)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(row.version)
            .execute(&mut *tx)
            .await?;
            for chunk in members.chunks(500) {
                let values = (0..chunk.len())
                    .map(|i| format!("($1, ${})", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "insert into scim_group_members (group_id, user_id) values {values} on conflict do nothing"
                );
                let mut q = sqlx::query(&sql).bind(&row.id);
                for m in chunk {
                    q = q.bind(m);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn scim_groups_by(
        &self,
        business_id: &str,
        key: GroupKey<'_>,
    ) -> StoreResult<Vec<ScimGroupRow>> {
        let (column, value) = match key {
            GroupKey::Id(v) => ("id", v.to_string()),
            GroupKey::DisplayName(v) => ("display_name_key", v.to_lowercase()),
            GroupKey::ExternalId(v) => ("external_id", v.to_string()),
        };
        let sql = format!("{SELECT} where business_id = $1 and {column} = $2 order by id");
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ScimGroupRow>(&sql)
                .bind(business_id)
                .bind(&value)
                .fetch_all(p)
                .await
        })?)
    }

    pub async fn scim_group(
        &self,
        business_id: &str,
        id: &str,
    ) -> StoreResult<Option<ScimGroupRow>> {
        Ok(self
            .scim_groups_by(business_id, GroupKey::Id(id))
            .await?
            .into_iter()
            .next())
    }

    pub async fn scim_groups_page(
        &self,
        business_id: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<ScimGroupRow>> {
        let sql = format!("{SELECT} where business_id = $1 order by id limit $2 offset $3");
        Ok(with_pool!(self, |p| {
            sqlx::query_as::<_, ScimGroupRow>(&sql)
                .bind(business_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await
        })?)
    }

    pub async fn count_scim_groups(&self, business_id: &str) -> StoreResult<i64> {
        let row: (i64,) = with_pool!(self, |p| {
            sqlx::query_as("select count(*) from scim_groups where business_id = $1")
                .bind(business_id)
                .fetch_one(p)
                .await
        })?;
        Ok(row.0)
    }

    /// Members of a group: (user id, userName), in id order.
    pub async fn scim_group_members(&self, group_id: &str) -> StoreResult<Vec<(String, String)>> {
        Ok(with_pool!(self, |p| {
            sqlx::query_as(
                "select u.id, u.user_name from scim_group_members m join scim_users u on u.id = m.user_id \
                 where m.group_id = $1 order by u.id",
            )
            .bind(group_id)
            .fetch_all(p)
            .await
        })?)
    }

    /// Replaces the document (when still at `expected_version`) and applies member edits, in
    /// one transaction. False when the group is gone or was changed meanwhile.
    pub async fn update_scim_group(
        &self,
        business_id: &str,
        row: &ScimGroupRow,
        expected_version: i64,
        edits: &[MemberEdit],
    ) -> StoreResult<bool> {
        with_writer!(self, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "update scim_groups set display_name = $3, display_name_key = $4, external_id = $5, doc = $6, \
                 updated_at = $7, version = $8 where business_id = $1 and id = $2 and version = $9",
            )
            .bind(business_id)
            .bind(&row.id)
            .bind(&row.display_name)
            .bind(row.display_name.to_lowercase())
            .bind(&row.external_id)
            .bind(&row.doc)
            .bind(row.updated_at)
            .bind(row.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n != 1 {
                return Ok(false);
            }
            for edit in edits {
                match edit {
                    MemberEdit::RemoveAll => {
                        sqlx::query("delete from scim_group_members where group_id = $1")
                            .bind(&row.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    MemberEdit::Add(ids) => {
                        for chunk in ids.chunks(500) {
                            let values = (0..chunk.len())
                                .map(|i| format!("($1, ${})", i + 2))
                                .collect::<Vec<_>>()
                                .join(", ");
                            let sql = format!(
                                "insert into scim_group_members (group_id, user_id) values {values} \
                                 on conflict do nothing"
                            );
                            let mut q = sqlx::query(&sql).bind(&row.id);
                            for m in chunk {
                                q = q.bind(m);
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                    MemberEdit::Remove(ids) => {
                        for chunk in ids.chunks(500) {
                            let marks = placeholders(2, chunk.len());
                            let sql = format!(
                                "delete from scim_group_members where group_id = $1 and user_id in ({marks})"
                            );
                            let mut q = sqlx::query(&sql).bind(&row.id);
                            for m in chunk {
                                q = q.bind(m);
                            }
                            q.execute(&mut *tx).await?;
                        }
                    }
                }
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn delete_scim_group(&self, business_id: &str, id: &str) -> StoreResult<bool> {
        let n = with_writer!(self, |p| {
            sqlx::query("delete from scim_groups where business_id = $1 and id = $2")
                .bind(business_id)
                .bind(id)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }
}
