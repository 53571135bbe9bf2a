//! Browser sessions: a random token in an HttpOnly cookie, its keyed hash in the database,
//! with an absolute and an idle lifetime.

use super::state::AppState;
use crate::store::{sessions::SessionRow, users::UserRow};
use http::{header, HeaderMap, HeaderValue};

pub const COOKIE: &str = "seatgate_session";
/// Under https the `__Host-` prefix pins the cookie to our origin (no Domain, Path=/, Secure).
pub const COOKIE_SECURE: &str = "__Host-seatgate_session";
/// Write `last_seen_at` at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Clone, Debug)]
pub struct CurrentSession {
    pub token_hash: String,
    pub workspace: String,
    pub user: UserRow,
}

pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies {
        COOKIE_SECURE
    } else {
        COOKIE
    }
}

/// The session token from the request's cookies.
pub fn token_from_headers(state: &AppState, headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, cookie_name(state))
}

/// A cookie's value from the request (at most 128 characters, never empty).
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Loads the live session of the request, if any; expired ones are deleted.
pub async fn load(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, crate::store::StoreError> {
    let Some(token) = token_from_headers(state, headers) else {
        return Ok(None);
    };
    let token_hash = state.secret.hash_token(&token);
    let Some(row) = state.db.session(&token_hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if !is_live(&row, now, state.settings.session_idle_secs) {
        state.db.delete_session(&token_hash).await?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY_SECS {
        state.db.touch_session(&token_hash, now).await?;
    }
    let user = state.db.user_by_id(&row.user_id).await?;
    Ok(Some(CurrentSession {
        token_hash,
        workspace: row.workspace,
        user,
    }))
}

/// A session lives until its absolute expiry and while it is used within the idle lifetime.
pub fn is_live(row: &SessionRow, now: i64, idle_secs: i64) -> bool {
    now < row.expires_at && now - row.last_seen_at < idle_secs
}

/// Starts a session for the user; returns the Set-Cookie value.
pub async fn start(
    state: &AppState,
    user_id: &str,
) -> Result<HeaderValue, crate::store::StoreError> {
    let token = super::secrets::random_token();
    let now = state.clock.now();
    let expires = now + state.settings.session_secs;
    state
        .db
        .create_session(&state.secret.hash_token(&token), user_id, now, expires)
        .await?;
    Ok(set_cookie(state, &token, state.settings.session_secs))
}

pub fn set_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

pub fn clear_cookie(state: &AppState) -> HeaderValue {
    set_cookie(state, "", 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(created: i64, last_seen: i64, expires: i64) -> SessionRow {
        SessionRow {
            token_hash: "h".into(),
            user_id: "u".into(),
            workspace: "personal".into(),
            created_at: created,
            last_seen_at: last_seen,
            expires_at: expires,
        }
    }

    #[test]
    fn sessions_end_at_the_absolute_or_the_idle_limit() {
        let idle = 3600;
        assert!(is_live(&row(0, 0, 10_000), 100, idle), "fresh session");
        assert!(!is_live(&row(0, 0, 10_000), 3600, idle), "idle for an hour");
        assert!(
            is_live(&row(0, 9_000, 10_000), 9_500, idle),
            "kept alive by use"
        );
        assert!(
            !is_live(&row(0, 9_990, 10_000), 10_000, idle),
            "absolute lifetime over"
        );
    }
}
