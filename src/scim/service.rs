//! The SCIM operations of one business account: request values in, status and body out. No
//! HTTP here (`routes.rs` is the edge); storage goes through `store`.

use super::{
    error::ScimError,
    filter::{self, Filter},
    patch::{self, MemberChange},
    project::project,
    schema::{ResourceKind, CORE_GROUP},
};
use crate::store::{
    scim_groups::{GroupKey, MemberEdit, ScimGroupRow},
    scim_users::{ScimUserRow, UserKey},
    Db, StoreError,
};
use serde_json::{json, Map, Value};

pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Largest page (and filter result) we return; `ServiceProviderConfig` says so.
pub const MAX_RESULTS: i64 = 1000;
/// Page size when the client names none.
pub const DEFAULT_COUNT: i64 = 100;

/// The account a request acts on.
pub struct Account<'a> {
    pub db: &'a Db,
    pub business_id: &'a str,
    /// `https://…/scim/v2`, for `meta.location` and `$ref`.
    pub base_url: &'a str,
    pub now: i64,
}

/// What the edge sends back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub location: Option<String>,
    pub etag: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: Some(body),
            location: None,
            etag: None,
        }
    }

    fn resource(status: u16, body: Value) -> Reply {
        let location = body["meta"]["location"].as_str().map(str::to_string);
        let etag = body["meta"]["version"].as_str().map(str::to_string);
        Reply {
            status,
            body: Some(body),
            location,
            etag,
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            location: None,
            etag: None,
        }
    }
}

/// Query parameters of a list or search (RFC 7644 §3.4.2).
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

fn store_err(e: StoreError) -> ScimError {
    match e {
        StoreError::Conflict { .. } => ScimError::uniqueness("A resource with this value exists."),
        StoreError::NotFound => ScimError::not_found("Resource not found."),
        StoreError::Db(e) => {
            tracing::error!(error = %e, "SCIM storage failed");
            ScimError::internal("The server could not complete the request.")
        }
    }
}

fn iso(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// RFC 7644 §3.14: a stale `If-Match` is 412.
fn check_if_match(if_match: Option<&str>, version: i64) -> Result<(), ScimError> {
    match if_match {
        None => Ok(()),
        Some(h) if h.trim() == "*" => Ok(()),
        Some(h) => {
            let want = etag(version);
            let strong = format!("\"{version}\"");
            if h.split(',')
                .map(str::trim)
                .any(|t| t == want || t == strong)
            {
                Ok(())
            } else {
                Err(ScimError::new(
                    412,
                    None,
                    format!("The resource changed: its version is now {want}."),
                ))
            }
        }
    }
}

fn parse_doc(doc: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(doc) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The stored part of a document: without what the server computes.
fn strip_computed(doc: &mut Value, kind: ResourceKind) {
    if let Some(m) = doc.as_object_mut() {
        m.remove("id");
        m.remove("meta");
        match kind {
            ResourceKind::User => m.remove("groups"),
            ResourceKind::Group => m.remove("members"),
        };
    }
}

fn meta(
    acct: &Account,
    kind: &str,
    path: &str,
    id: &str,
    created: i64,
    updated: i64,
    version: i64,
) -> Value {
    json!({
        "resourceType": kind,
        "created": iso(created),
        "lastModified": iso(updated),
        "location": format!("{}/{path}/{id}", acct.base_url),
        "version": etag(version),
    })
}

fn render_user(acct: &Account, row: &ScimUserRow, groups: &[(String, String)]) -> Value {
    let mut m = parse_doc(&row.doc);
    m.insert("id".into(), json!(row.id));
    if !groups.is_empty() {
        let list: Vec<Value> = groups
            .iter()
            .map(|(id, name)| {
                json!({"value": id, "display": name, "$ref": format!("{}/Groups/{id}", acct.base_url), "type": "direct"})
            })
            .collect();
        m.insert("groups".into(), Value::Array(list));
    }
    m.insert(
        "meta".into(),
        meta(
            acct,
            "User",
            "Users",
            &row.id,
            row.created_at,
            row.updated_at,
            row.version,
        ),
    );
    Value::Object(m)
}

async fn render_users(acct: &Account<'_>, rows: &[ScimUserRow]) -> Result<Vec<Value>, ScimError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let memberships = acct
        .db
        .scim_groups_of_users(&ids)
        .await
        .map_err(store_err)?;
    Ok(rows
        .iter()
        .map(|row| {
            let groups: Vec<(String, String)> = memberships
                .iter()
                .filter(|(u, _, _)| *u == row.id)
                .map(|(_, g, n)| (g.clone(), n.clone()))
                .collect();
            render_user(acct, row, &groups)
        })
        .collect())
}

async fn render_group(
    acct: &Account<'_>,
    row: &ScimGroupRow,
    with_members: bool,
) -> Result<Value, ScimError> {
    let mut m = parse_doc(&row.doc);
    m.insert("id".into(), json!(row.id));
    if with_members {
        let members = acct
            .db
            .scim_group_members(&row.id)
            .await
            .map_err(store_err)?;
        let list: Vec<Value> = members
            .into_iter()
            .map(|(id, name)| {
                json!({"value": id, "display": name, "$ref": format!("{}/Users/{id}", acct.base_url), "type": "User"})
            })
            .collect();
        m.insert("members".into(), Value::Array(list));
    }
    m.insert(
        "meta".into(),
        meta(
            acct,
            "Group",
            "Groups",
            &row.id,
            row.created_at,
            row.updated_at,
            row.version,
        ),
    );
    Ok(Value::Object(m))
}

/// Whether `members` will be part of the answer (so worth loading).
fn wants_members(p: &ListParams) -> bool {
    let named = |list: &Option<String>| {
        list.as_deref().is_some_and(|l| {
            l.split(',').any(|a| {
                a.trim().eq_ignore_ascii_case("members")
                    || a.trim().to_ascii_lowercase().starts_with("members.")
            })
        })
    };
    if p.attributes.is_some() {
        return named(&p.attributes);
    }
    !named(&p.excluded)
}

fn list_response(resources: Vec<Value>, total: i64, start: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0.
fn paging(p: &ListParams) -> (i64, i64) {
    let start = p.start_index.unwrap_or(1).max(1);
    let count = p.count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_RESULTS);
    (start, count)
}

fn parse_filter(p: &ListParams, kind: ResourceKind) -> Result<Option<Filter>, ScimError> {
    match p.filter.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => {
            let f = filter::parse(text)?;
            f.validate(kind.schema())?;
            Ok(Some(f))
        }
    }
}

/// An `attr eq "value"` conjunct on an indexed attribute, used to fetch candidates by index
/// before the whole filter is evaluated on them.
fn indexed_eq<'f>(f: &'f Filter, names: &[&str]) -> Option<(String, &'f str)> {
    f.conjuncts().into_iter().find_map(|c| {
        let (path, value) = c.simple_eq()?;
        let name = names.iter().find(|n| path.is(n))?;
        Some((name.to_string(), value))
    })
}

fn page<T>(mut items: Vec<T>, start: i64, count: i64) -> Vec<T> {
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(count).unwrap_or(0);
    if skip >= items.len() {
        return Vec::new();
    }
    items.drain(..skip);
    items.truncate(take);
    items
}

// ---------- Users ----------

pub async fn list_users(acct: &Account<'_>, p: &ListParams) -> Result<Reply, ScimError> {
    let (start, count) = paging(p);
    let kind = ResourceKind::User;
    let Some(f) = parse_filter(p, kind)? else {
        // the count and the page are independent: ask both at once
        let (counted, rows) = tokio::join!(acct.db.count_scim_users(acct.business_id), async {
            if count == 0 {
                Ok(Vec::new())
            } else {
                acct.db
                    .scim_users_page(acct.business_id, start - 1, count)
                    .await
            }
        });
        let (total, _) = counted.map_err(store_err)?;
        let rows = rows.map_err(store_err)?;
        let items = render_users(acct, &rows).await?;
        let items = items
            .iter()
            .map(|r| project(r, p.attributes.as_deref(), p.excluded.as_deref(), kind))
            .collect();
        return Ok(Reply::ok(list_response(items, total, start)));
    };
    let rendered = match indexed_eq(&f, &["id", "userName", "externalId"]) {
        Some((name, value)) => {
            let key = match name.as_str() {
                "id" => UserKey::Id(value),
                "userName" => UserKey::UserName(value),
                _ => UserKey::ExternalId(value),
            };
            // the users with their groups in one query
            acct.db
                .scim_users_with_groups_by(acct.business_id, key)
                .await
                .map_err(store_err)?
                .iter()
                .map(|(row, groups)| render_user(acct, row, groups))
                .collect()
        }
        // no index applies: evaluate on every user of the account
        None => {
            let rows = acct
                .db
                .scim_users_page(acct.business_id, 0, i64::from(u32::MAX))
                .await
                .map_err(store_err)?;
            render_users(acct, &rows).await?
        }
    };
    let matched: Vec<Value> = rendered
        .into_iter()
        .filter(|r| f.matches(r, kind.schema()))
        .collect();
    let total = i64::try_from(matched.len()).unwrap_or(i64::MAX);
    let items = page(matched, start, count)
        .iter()
        .map(|r| project(r, p.attributes.as_deref(), p.excluded.as_deref(), kind))
        .collect();
    Ok(Reply::ok(list_response(items, total, start)))
}

async fn load_user(acct: &Account<'_>, id: &str) -> Result<ScimUserRow, ScimError> {
    acct.db
        .scim_user(acct.business_id, id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ScimError::not_found(format!("No user with id {id}.")))
}

pub async fn get_user(acct: &Account<'_>, id: &str, p: &ListParams) -> Result<Reply, ScimError> {
    let row = load_user(acct, id).await?;
    let r = render_users(acct, std::slice::from_ref(&row)).await?;
    let body = r.into_iter().next().unwrap_or(Value::Null);
    let mut reply = Reply::resource(
        200,
        project(
            &body,
            p.attributes.as_deref(),
            p.excluded.as_deref(),
            ResourceKind::User,
        ),
    );
    reply.etag = Some(etag(row.version));
    Ok(reply)
}

/// The columns of a user document, checked: userName in one of the account's verified domains.
async fn user_row_from(
    acct: &Account<'_>,
    doc: &Value,
    id: String,
    default_active: bool,
) -> Result<ScimUserRow, ScimError> {
    let user_name = doc["userName"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required and must be a string."))?
        .to_string();
    check_domain(acct, &user_name).await?;
    Ok(ScimUserRow {
        id,
        external_id: doc["externalId"].as_str().map(str::to_string),
        active: doc["active"].as_bool().unwrap_or(default_active),
        doc: doc.to_string(),
        user_name,
        created_at: acct.now,
        updated_at: acct.now,
        version: 1,
    })
}

async fn check_domain(acct: &Account<'_>, user_name: &str) -> Result<(), ScimError> {
    let domains = acct
        .db
        .domains_of(acct.business_id)
        .await
        .map_err(store_err)?;
    let verified: Vec<String> = domains
        .into_iter()
        .filter(|d| d.status == "verified")
        .map(|d| d.name)
        .collect();
    let domain = user_name
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('.').to_lowercase());
    match domain {
        Some(d) if verified.contains(&d) => Ok(()),
        Some(d) => Err(ScimError::invalid_value(format!(
            "userName {user_name} is in domain {d}, which is not a verified domain of this account ({}).",
            if verified.is_empty() { "none verified yet".to_string() } else { verified.join(", ") }
        ))),
        None => Err(ScimError::invalid_value(format!(
            "userName {user_name} is not an email address in one of this account's verified domains."
        ))),
    }
}

/// Deprovisioning (RFC 7643 `active` false, or DELETE): end the person's portal sessions and
/// revoke their desktop activations, which frees their seat.
async fn deprovisioned(acct: &Account<'_>, user_name: &str) -> Result<(), ScimError> {
    let n = acct
        .db
        .revoke_sessions_for_email(user_name)
        .await
        .map_err(store_err)?;
    let devices = acct
        .db
        .revoke_user_activations(
            acct.business_id,
            &user_name.to_lowercase(),
            "deprovisioned",
            acct.now,
        )
        .await
        .map_err(store_err)?;
    tracing::info!(
        business = acct.business_id,
        sessions = n,
        devices,
        "SCIM user deprovisioned"
    );
    Ok(())
}

pub async fn create_user(acct: &Account<'_>, body: &Value) -> Result<Reply, ScimError> {
    let doc = patch::coerce_put(body, ResourceKind::User)?;
    // POST without `active` creates an active user (Entra and Okta always send it)
    let row = user_row_from(acct, &doc, uuid::Uuid::now_v7().to_string(), true).await?;
    match acct.db.insert_scim_user(acct.business_id, &row).await {
        Err(StoreError::Conflict { .. }) => {
            return Err(ScimError::uniqueness(format!(
                "A user with userName {} exists.",
                row.user_name
            )))
        }
        other => other.map_err(store_err)?,
    }
    Ok(Reply::resource(201, render_user(acct, &row, &[])))
}

async fn save_user(
    acct: &Account<'_>,
    before: &ScimUserRow,
    mut row: ScimUserRow,
) -> Result<Reply, ScimError> {
    row.created_at = before.created_at;
    row.version = before.version + 1;
    match acct
        .db
        .update_scim_user(acct.business_id, &row, before.version)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return Err(ScimError::new(
                409,
                None,
                "The user was changed by another request; read it again and retry.",
            ))
        }
        Err(StoreError::Conflict { .. }) => {
            return Err(ScimError::uniqueness(format!(
                "A user with userName {} exists.",
                row.user_name
            )))
        }
        Err(e) => return Err(store_err(e)),
    }
    if before.active && !row.active {
        // a rename in the same request: the person signed in under the old name
        deprovisioned(acct, &before.user_name).await?;
        if !before.user_name.eq_ignore_ascii_case(&row.user_name) {
            deprovisioned(acct, &row.user_name).await?;
        }
    }
    let r = render_users(acct, std::slice::from_ref(&row)).await?;
    Ok(Reply::resource(
        200,
        r.into_iter().next().unwrap_or(Value::Null),
    ))
}

pub async fn replace_user(
    acct: &Account<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Reply, ScimError> {
    let before = load_user(acct, id).await?;
    check_if_match(if_match, before.version)?;
    let doc = patch::coerce_put(body, ResourceKind::User)?;
    // PUT replaces the whole resource: an absent `active` is cleared, i.e. false
    let row = user_row_from(acct, &doc, before.id.clone(), false).await?;
    save_user(acct, &before, row).await
}

pub async fn patch_user(
    acct: &Account<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Reply, ScimError> {
    let before = load_user(acct, id).await?;
    check_if_match(if_match, before.version)?;
    let mut doc = Value::Object(parse_doc(&before.doc));
    doc["id"] = json!(before.id);
    let effects = patch::apply(&mut doc, body, ResourceKind::User)?;
    if !effects.changed {
        let r = render_users(acct, std::slice::from_ref(&before)).await?;
        return Ok(Reply::resource(
            200,
            r.into_iter().next().unwrap_or(Value::Null),
        ));
    }
    strip_computed(&mut doc, ResourceKind::User);
    let row = user_row_from(acct, &doc, before.id.clone(), before.active).await?;
    save_user(acct, &before, row).await
}

pub async fn delete_user(
    acct: &Account<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<Reply, ScimError> {
    let before = load_user(acct, id).await?;
    check_if_match(if_match, before.version)?;
    if !acct
        .db
        .delete_scim_user(acct.business_id, id, acct.now)
        .await
        .map_err(store_err)?
    {
        return Err(ScimError::not_found(format!("No user with id {id}.")));
    }
    deprovisioned(acct, &before.user_name).await?;
    Ok(Reply::no_content())
}

// ---------- Groups ----------

pub async fn list_groups(acct: &Account<'_>, p: &ListParams) -> Result<Reply, ScimError> {
    let (start, count) = paging(p);
    let kind = ResourceKind::Group;
    let with_members = wants_members(p);
    let Some(f) = parse_filter(p, kind)? else {
        let total = acct
            .db
            .count_scim_groups(acct.business_id)
            .await
            .map_err(store_err)?;
        let rows = if count == 0 {
            Vec::new()
        } else {
            acct.db
                .scim_groups_page(acct.business_id, start - 1, count)
                .await
                .map_err(store_err)?
        };
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let g = render_group(acct, row, with_members).await?;
            items.push(project(
                &g,
                p.attributes.as_deref(),
                p.excluded.as_deref(),
                kind,
            ));
        }
        return Ok(Reply::ok(list_response(items, total, start)));
    };
    let rows = match indexed_eq(&f, &["id", "displayName", "externalId"]) {
        Some((name, value)) => {
            let key = match name.as_str() {
                "id" => GroupKey::Id(value),
                "displayName" => GroupKey::DisplayName(value),
                _ => GroupKey::ExternalId(value),
            };
            acct.db
                .scim_groups_by(acct.business_id, key)
                .await
                .map_err(store_err)?
        }
        None => acct
            .db
            .scim_groups_page(acct.business_id, 0, i64::from(u32::MAX))
            .await
            .map_err(store_err)?,
    };
    // the filter may test members (Entra's membership check), so evaluate with them
    let filter_needs_members = p
        .filter
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("members"));
    let mut matched = Vec::new();
    for row in &rows {
        let g = render_group(acct, row, filter_needs_members || with_members).await?;
        if f.matches(&g, kind.schema()) {
            matched.push(g);
        }
    }
    let total = i64::try_from(matched.len()).unwrap_or(i64::MAX);
    let items = page(matched, start, count)
        .iter()
        .map(|g| {
            let mut g = g.clone();
            if !with_members {
                if let Some(m) = g.as_object_mut() {
                    m.remove("members");
                }
            }
            project(&g, p.attributes.as_deref(), p.excluded.as_deref(), kind)
        })
        .collect();
    Ok(Reply::ok(list_response(items, total, start)))
}

async fn load_group(acct: &Account<'_>, id: &str) -> Result<ScimGroupRow, ScimError> {
    acct.db
        .scim_group(acct.business_id, id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ScimError::not_found(format!("No group with id {id}.")))
}

pub async fn get_group(acct: &Account<'_>, id: &str, p: &ListParams) -> Result<Reply, ScimError> {
    let row = load_group(acct, id).await?;
    let g = render_group(acct, &row, wants_members(p)).await?;
    Ok(Reply::resource(
        200,
        project(
            &g,
            p.attributes.as_deref(),
            p.excluded.as_deref(),
            ResourceKind::Group,
        ),
    ))
}

/// The member ids a document names; every one must be a live user of this account.
async fn member_ids(acct: &Account<'_>, ids: Vec<String>) -> Result<Vec<String>, ScimError> {
    if ids.is_empty() {
        return Ok(ids);
    }
    let known = acct
        .db
        .existing_scim_user_ids(acct.business_id, &ids)
        .await
        .map_err(store_err)?;
    if let Some(missing) = ids.iter().find(|id| !known.contains(id)) {
        return Err(ScimError::invalid_value(format!(
            "Member {missing} is not a user of this account (nested groups are not supported)."
        )));
    }
    Ok(ids)
}

fn doc_members(doc: &Value) -> Vec<String> {
    let mut ids: Vec<String> = doc["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    ids
}

fn group_row_from(doc: &Value, id: String, now: i64) -> Result<ScimGroupRow, ScimError> {
    let display_name = doc["displayName"]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ScimError::invalid_value("displayName is required and must be a string."))?
        .to_string();
    let mut stored = doc.clone();
    strip_computed(&mut stored, ResourceKind::Group);
    if let Some(m) = stored.as_object_mut() {
        m.insert("schemas".into(), json!([CORE_GROUP]));
    }
    Ok(ScimGroupRow {
        id,
        display_name,
        external_id: doc["externalId"].as_str().map(str::to_string),
        doc: stored.to_string(),
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

fn name_taken(name: &str) -> ScimError {
    ScimError::uniqueness(format!("A group named {name} exists."))
}

pub async fn create_group(acct: &Account<'_>, body: &Value) -> Result<Reply, ScimError> {
    let doc = patch::coerce_put(body, ResourceKind::Group)?;
    let members = member_ids(acct, doc_members(&doc)).await?;
    let row = group_row_from(&doc, uuid::Uuid::now_v7().to_string(), acct.now)?;
    match acct
        .db
        .insert_scim_group(acct.business_id, &row, &members)
        .await
    {
        Err(StoreError::Conflict { .. }) => return Err(name_taken(&row.display_name)),
        other => other.map_err(store_err)?,
    }
    Ok(Reply::resource(201, render_group(acct, &row, true).await?))
}

async fn save_group(
    acct: &Account<'_>,
    before: &ScimGroupRow,
    mut row: ScimGroupRow,
    edits: &[MemberEdit],
) -> Result<(), ScimError> {
    row.created_at = before.created_at;
    row.version = before.version + 1;
    match acct
        .db
        .update_scim_group(acct.business_id, &row, before.version, edits)
        .await
    {
        Ok(true) => {
            // a member removed from the desktop users group loses their devices
            crate::activation::after_directory_change(acct.db, acct.business_id, acct.now).await;
            Ok(())
        }
        Ok(false) => Err(ScimError::new(
            409,
            None,
            "The group was changed by another request; read it again and retry.",
        )),
        Err(StoreError::Conflict { .. }) => Err(name_taken(&row.display_name)),
        Err(e) => Err(store_err(e)),
    }
}

pub async fn replace_group(
    acct: &Account<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Reply, ScimError> {
    let before = load_group(acct, id).await?;
    check_if_match(if_match, before.version)?;
    let doc = patch::coerce_put(body, ResourceKind::Group)?;
    // PUT replaces members too (ignoring them is the Okta Push Groups bug)
    let members = member_ids(acct, doc_members(&doc)).await?;
    let mut row = group_row_from(&doc, before.id.clone(), acct.now)?;
    row.updated_at = acct.now;
    save_group(
        acct,
        &before,
        row,
        &[MemberEdit::RemoveAll, MemberEdit::Add(members)],
    )
    .await?;
    let after = load_group(acct, id).await?;
    Ok(Reply::resource(
        200,
        render_group(acct, &after, true).await?,
    ))
}

pub async fn patch_group(
    acct: &Account<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Reply, ScimError> {
    let before = load_group(acct, id).await?;
    check_if_match(if_match, before.version)?;
    let mut doc = Value::Object(parse_doc(&before.doc));
    doc["id"] = json!(before.id);
    let effects = patch::apply(&mut doc, body, ResourceKind::Group)?;
    let mut edits = Vec::new();
    for change in effects.members {
        match change {
            MemberChange::Add(ids) => edits.push(MemberEdit::Add(member_ids(acct, ids).await?)),
            // removing someone who is not a member is not an error
            MemberChange::Remove(ids) => edits.push(MemberEdit::Remove(ids)),
            MemberChange::RemoveAll => edits.push(MemberEdit::RemoveAll),
            MemberChange::Replace(ids) => {
                let ids = member_ids(acct, ids).await?;
                edits.push(MemberEdit::RemoveAll);
                edits.push(MemberEdit::Add(ids));
            }
        }
    }
    if effects.changed || !edits.is_empty() {
        let mut row = group_row_from(&doc, before.id.clone(), acct.now)?;
        row.updated_at = acct.now;
        save_group(acct, &before, row, &edits).await?;
    }
    // Microsoft recommends 204 for group PATCH: the member list can be huge
    Ok(Reply::no_content())
}

pub async fn delete_group(
    acct: &Account<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<Reply, ScimError> {
    let before = load_group(acct, id).await?;
    check_if_match(if_match, before.version)?;
    if !acct
        .db
        .delete_scim_group(acct.business_id, id)
        .await
        .map_err(store_err)?
    {
        return Err(ScimError::not_found(format!("No group with id {id}.")));
    }
    crate::activation::after_directory_change(acct.db, acct.business_id, acct.now).await;
    Ok(Reply::no_content())
}

/// `POST /.search` at the root: users, then groups (RFC 7644 §3.4.3).
pub async fn search_all(acct: &Account<'_>, p: &ListParams) -> Result<Reply, ScimError> {
    let (start, count) = paging(p);
    let all = ListParams {
        start_index: Some(1),
        count: Some(MAX_RESULTS),
        ..p.clone()
    };
    let users = list_users(acct, &all).await;
    let groups = list_groups(acct, &all).await;
    let mut items = Vec::new();
    let mut total = 0;
    for r in [users, groups] {
        // a filter naming an attribute only one type has is an error for the other type
        let Ok(reply) = r else { continue };
        let body = reply.body.unwrap_or(Value::Null);
        total += body["totalResults"].as_i64().unwrap_or(0);
        if let Some(list) = body["Resources"].as_array() {
            items.extend(list.iter().cloned());
        }
    }
    Ok(Reply::ok(list_response(
        page(items, start, count),
        total,
        start,
    )))
}

/// `filter`, `attributes` and paging of a `POST …/.search` body (RFC 7644 §3.4.3).
pub fn search_params(body: &Value) -> Result<ListParams, ScimError> {
    let list = |key: &str| -> Option<String> {
        match &body[key] {
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    };
    let int = |key: &str| -> Result<Option<i64>, ScimError> {
        match &body[key] {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("{key} must be an integer."))),
        }
    };
    Ok(ListParams {
        filter: body["filter"].as_str().map(str::to_string),
        start_index: int("startIndex")?,
        count: int("count")?,
        attributes: list("attributes"),
        excluded: list("excludedAttributes"),
    })
}

/// How a provisioned group was recognised as a mapped group of step 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedBy {
    /// Its `externalId` equals the ID the admin entered (Entra sends the object ID).
    ExternalId,
    /// No group carries the ID; its `displayName` equals the entered name exactly (Okta
    /// sends no ID).
    DisplayName,
}

/// A person's standing in the SCIM directory, as sign-in and activation read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The IdP has not provisioned them.
    Unknown,
    /// `active:false`, or deleted by the IdP (DELETE is deprovisioning).
    Deactivated,
    /// Provisioned and active; `in_group` says whether they are in the mapped group (`None`:
    /// that group is not provisioned).
    Active { in_group: Option<bool> },
}

/// The standing of `email` in `business_id`'s directory, and their membership of the group
/// mapped as (`group_id`, `group_name`).
pub async fn standing(
    db: &Db,
    business_id: &str,
    email: &str,
    group_id: &str,
    group_name: &str,
) -> Result<Standing, StoreError> {
    // one query: the person, the mapped group and the membership
    let Some((person, in_group)) = db
        .scim_standing(business_id, email, group_id, group_name)
        .await?
    else {
        return Ok(Standing::Unknown);
    };
    if person.deleted || !person.active {
        return Ok(Standing::Deactivated);
    }
    Ok(Standing::Active { in_group })
}

/// The SCIM group that stands for the mapping (`id`, `name`) of step 3, if one is provisioned.
pub async fn matched_group(
    db: &Db,
    business_id: &str,
    id: &str,
    name: &str,
) -> Result<Option<(ScimGroupRow, MatchedBy)>, StoreError> {
    if !id.trim().is_empty() {
        if let Some(g) = db
            .scim_groups_by(business_id, GroupKey::ExternalId(id.trim()))
            .await?
            .into_iter()
            .next()
        {
            return Ok(Some((g, MatchedBy::ExternalId)));
        }
    }
    if name.trim().is_empty() {
        return Ok(None);
    }
    // the index is case-insensitive; the mapping is case-sensitive
    Ok(db
        .scim_groups_by(business_id, GroupKey::DisplayName(name))
        .await?
        .into_iter()
        .find(|g| g.display_name == name)
        .map(|g| (g, MatchedBy::DisplayName)))
}
