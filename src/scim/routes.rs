//! The SCIM HTTP edge under `/scim/v2`: bearer-token authentication, rate limit, body and
//! query parsing, dispatch to `service`, RFC 7644 §3.12 errors, and the request log.

use super::{
    discovery,
    error::ScimError,
    service::{self, Account, ListParams, Reply},
};
use crate::{
    server::state::AppState,
    store::{batched::Batched, scim_requests::ScimRequestRow},
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use serde_json::{json, Value};
use std::{collections::HashMap, sync::Mutex, time::Instant};

/// Largest SCIM request body: a group PUT with 10,000 members is about 600 KB.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
const CONTENT_TYPE: &str = "application/scim+json";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scim/v2", any(handle))
        .route("/scim/v2/{*rest}", any(handle))
}

/// A token bucket per business account: `rate` requests per second, bursts up to `burst`.
pub struct ScimLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl ScimLimiter {
    pub fn new(rate_per_sec: u32, burst: u32) -> ScimLimiter {
        ScimLimiter {
            rate: f64::from(rate_per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when the account has used its budget.
    pub fn take(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // keyed by client address on public endpoints: forget buckets that have refilled
        if buckets.len() > 10_000 {
            let full_after = self.burst / self.rate;
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() < full_after);
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        let elapsed = now.duration_since(*at).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / self.rate).ceil();
            // whole seconds for Retry-After, at least one
            Err((wait as u64).max(1))
        }
    }
}

fn error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = (status, e.to_json().to_string()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if e.status == 401 {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    res
}

fn reply_response(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut res = match r.body {
        Some(body) => (status, body.to_string()).into_response(),
        None => status.into_response(),
    };
    let h = res.headers_mut();
    if r.status != 204 {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    }
    if let Some(loc) = r.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc);
    }
    if let Some(tag) = r.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(header::ETAG, tag);
    }
    res
}

/// The business account whose live token the request carries, while SCIM is switched on.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, ScimError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ScimError::unauthorized("A bearer token is required."))?;
    // The token is looked up by its keyed hash (HMAC-SHA256): the database never sees the
    // token, and comparing hashes of unpredictable input leaks nothing through timing.
    let hash = state.secret.hash_token(token);
    let (owner, enabled) = state
        .db
        .scim_token_account(&hash, state.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "SCIM token lookup failed");
            ScimError::internal("The server could not complete the request.")
        })?
        .ok_or_else(|| ScimError::unauthorized("The bearer token is not valid."))?;
    if !enabled {
        return Err(ScimError::new(
            403,
            None,
            "SCIM support is switched off for this account (IdP Integration, step 5).",
        ));
    }
    Ok(owner)
}

fn list_params(query: Option<&str>) -> Result<ListParams, ScimError> {
    let mut p = ListParams::default();
    let int = |k: &str, v: &str| {
        v.trim().parse::<i64>().map_err(|_| {
            ScimError::invalid_value(format!("{k} must be an integer, not \u{201c}{v}\u{201d}."))
        })
    };
    // form decoding turns `+` into a space: Entra sends `filter=userName+eq+%22…%22`
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "filter" => p.filter = Some(v.into_owned()),
            "startindex" => p.start_index = Some(int("startIndex", &v)?),
            "count" => p.count = Some(int("count", &v)?),
            "attributes" => p.attributes = Some(v.into_owned()),
            "excludedattributes" => p.excluded = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(p)
}

async fn json_body(req: Request) -> Result<Value, ScimError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if let Some(ct) = ct.as_deref() {
        if ct != CONTENT_TYPE && ct != "application/json" {
            return Err(ScimError::new(
                415,
                None,
                format!("Content-Type {ct} is not accepted; send application/scim+json or application/json."),
            ));
        }
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ScimError::too_large(format!(
                "The request body is larger than {} MiB.",
                MAX_BODY_BYTES / 1024 / 1024
            ))
        })?;
    serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("The body is not valid JSON: {e}.")))
}

fn not_allowed(method: &Method, path: &str) -> ScimError {
    ScimError::new(405, None, format!("{method} is not supported on {path}."))
}

async fn dispatch(state: &AppState, business_id: &str, req: Request) -> Result<Reply, ScimError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let if_match = if_match.as_deref();
    let base = format!("{}/scim/v2", state.settings.public_url);
    let acct = Account {
        db: &state.db,
        business_id,
        base_url: &base,
        now: state.clock.now(),
    };
    let rest = path.trim_start_matches("/scim/v2").trim_matches('/');
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let params = || list_params(query.as_deref());
    let ok = |v: Value| Reply {
        status: 200,
        body: Some(v),
        location: None,
        etag: None,
    };
    let list = |items: Vec<Value>| {
        json!({
            "schemas": [service::LIST_SCHEMA],
            "totalResults": items.len(),
            "startIndex": 1,
            "itemsPerPage": items.len(),
            "Resources": items,
        })
    };
    let find = |items: Vec<Value>, id: &str, what: &str| {
        items
            .into_iter()
            .find(|v| v["id"] == id)
            .map(ok)
            .ok_or_else(|| ScimError::not_found(format!("No {what} {id}.")))
    };
    match (segments.as_slice(), &method) {
        (["ServiceProviderConfig"], &Method::GET) => {
            Ok(ok(discovery::service_provider_config(&base)))
        }
        (["ResourceTypes"], &Method::GET) => Ok(ok(list(discovery::resource_types(&base)))),
        (["ResourceTypes", id], &Method::GET) => {
            find(discovery::resource_types(&base), id, "resource type")
        }
        (["Schemas"], &Method::GET) => Ok(ok(list(discovery::schemas(&base)))),
        (["Schemas", id], &Method::GET) => find(discovery::schemas(&base), id, "schema"),
        (["Users"], &Method::GET) => service::list_users(&acct, &params()?).await,
        (["Users"], &Method::POST) => service::create_user(&acct, &json_body(req).await?).await,
        (["Users", ".search"], &Method::POST) => {
            service::list_users(&acct, &service::search_params(&json_body(req).await?)?).await
        }
        (["Users", id], &Method::GET) => service::get_user(&acct, id, &params()?).await,
        (["Users", id], &Method::PUT) => {
            service::replace_user(&acct, id, &json_body(req).await?, if_match).await
        }
        (["Users", id], &Method::PATCH) => {
            service::patch_user(&acct, id, &json_body(req).await?, if_match).await
        }
        (["Users", id], &Method::DELETE) => service::delete_user(&acct, id, if_match).await,
        (["Groups"], &Method::GET) => service::list_groups(&acct, &params()?).await,
        (["Groups"], &Method::POST) => service::create_group(&acct, &json_body(req).await?).await,
        (["Groups", ".search"], &Method::POST) => {
            service::list_groups(&acct, &service::search_params(&json_body(req).await?)?).await
        }
        (["Groups", id], &Method::GET) => service::get_group(&acct, id, &params()?).await,
        (["Groups", id], &Method::PUT) => {
            service::replace_group(&acct, id, &json_body(req).await?, if_match).await
        }
        (["Groups", id], &Method::PATCH) => {
            service::patch_group(&acct, id, &json_body(req).await?, if_match).await
        }
        (["Groups", id], &Method::DELETE) => service::delete_group(&acct, id, if_match).await,
        ([".search"], &Method::POST) => {
            service::search_all(&acct, &service::search_params(&json_body(req).await?)?).await
        }
        (
            ["ServiceProviderConfig"]
            | ["ResourceTypes", ..]
            | ["Schemas", ..]
            | ["Users", ..]
            | ["Groups", ..]
            | [".search"],
            _,
        ) => Err(not_allowed(&method, &path)),
        _ => Err(ScimError::not_found(format!(
            "There is no SCIM endpoint at {path}."
        ))),
    }
}

async fn handle(State(state): State<AppState>, req: Request<Body>) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path: String = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .chars()
        .take(1000)
        .collect();
    let business_id = match authenticate(&state, req.headers()).await {
        Ok(b) => b,
        Err(e) => {
            tracing::info!(%method, %path, status = e.status, detail = %e.detail, "SCIM request refused");
            return error_response(&e);
        }
    };
    if let Err(wait) = state.scim_limiter.take(&business_id) {
        let e = ScimError::rate_limited(format!("Too many requests; retry in {wait} s."));
        let mut res = error_response(&e);
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        log(
            &state,
            &business_id,
            &method,
            &path,
            429,
            Some(&e.detail),
            started,
        )
        .await;
        return res;
    }
    let (res, status, error) = match dispatch(&state, &business_id, req).await {
        Ok(reply) => {
            let status = reply.status;
            (reply_response(reply), status, None)
        }
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(%method, %path, detail = %e.detail, "SCIM request failed");
            } else {
                tracing::info!(%method, %path, status = e.status, detail = %e.detail, "SCIM request refused");
            }
            (error_response(&e), e.status, Some(e.detail))
        }
    };
    log(
        &state,
        &business_id,
        &method,
        &path,
        status,
        error.as_deref(),
        started,
    )
    .await;
    res
}

async fn log(
    state: &AppState,
    business_id: &str,
    method: &str,
    path: &str,
    status: u16,
    error: Option<&str>,
    started: Instant,
) {
    let row = ScimRequestRow {
        at: state.clock.now(),
        method: method.to_string(),
        path: path.to_string(),
        status: i32::from(status),
        error: error.map(str::to_string),
        duration_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
    };
    state.scim_log.record(business_id, row);
}

/// Writes the request log in the background, in batches: the IdP does not wait for it, and a
/// full sync costs one log transaction per batch instead of one per request. Under overload
/// entries are dropped rather than slowing the IdP down (and the drop is logged).
#[derive(Clone)]
pub struct ScimLog(Batched<(String, ScimRequestRow)>);

impl ScimLog {
    const QUEUE: usize = 10_000;
    const BATCH: usize = 500;

    pub fn start(db: crate::store::Db) -> ScimLog {
        ScimLog(Batched::start(
            "SCIM request log",
            Self::QUEUE,
            Self::BATCH,
            move |rows: Vec<(String, ScimRequestRow)>| {
                let db = db.clone();
                async move {
                    if let Err(e) = db.record_scim_requests(&rows).await {
                        tracing::warn!(error = %e, entries = rows.len(), "recording SCIM requests failed");
                    }
                }
            },
        ))
    }

    fn record(&self, business_id: &str, row: ScimRequestRow) {
        self.0.try_record((business_id.to_string(), row));
    }

    /// Waits until every entry queued so far is written (tests, benchmarks, shutdown).
    pub async fn flush(&self) {
        self.0.flush().await
    }
}
