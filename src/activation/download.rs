//! The link an admin sends to employees, `/directdownload/pd?experience=sso`: after signing in
//! they get the reference desktop client builds this server has, each pre-configured for SSO
//! activation against this server (its URL and licence key ride in a trailer appended to the
//! executable, which the client reads at start).

use crate::{
    model::{DesktopBuild, Downloads},
    server::{session, state::AppState},
};
use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::path::PathBuf;

/// The client's file name prefix: `seatgate-desktop` (this server's platform) and
/// `seatgate-desktop-<os>-<arch>[.exe]` (other builds an operator put next to it).
pub const CLIENT_PREFIX: &str = "seatgate-desktop";
/// Marks the configuration trailer (see the client).
pub const TRAILER_MAGIC: &[u8; 8] = b"SGCONF01";

fn is_client_file(name: &str) -> bool {
    name == CLIENT_PREFIX
        || name == "seatgate-desktop.exe"
        || (name.starts_with("seatgate-desktop-")
            && !name.ends_with(".d")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
}

fn label(name: &str) -> String {
    if name == CLIENT_PREFIX {
        return format!(
            "{} {} (the platform this server runs on)",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
    }
    name.trim_start_matches("seatgate-desktop-")
        .trim_end_matches(".exe")
        .replace('-', " ")
}

/// The builds in the client folder, by file name.
pub fn builds(dir: &std::path::Path) -> Vec<DesktopBuild> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<DesktopBuild> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let meta = e.metadata().ok()?;
            (meta.is_file() && is_client_file(&name)).then(|| DesktopBuild {
                label: label(&name),
                url: format!("/directdownload/files/{name}"),
                size_mb: format!("{:.1} MB", meta.len() as f64 / 1_048_576.0),
                file: name,
            })
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

pub fn downloads(state: &AppState) -> Downloads {
    Downloads {
        server_url: state.settings.public_url.clone(),
        builds: state
            .settings
            .client_dir
            .as_deref()
            .map(builds)
            .unwrap_or_default(),
    }
}

/// The configuration appended to a downloaded client.
pub fn trailer(state: &AppState) -> Vec<u8> {
    let config = serde_json::json!({
        "server": state.settings.public_url,
        "public_key": URL_SAFE_NO_PAD.encode(state.licence_signer.public_key()),
        "experience": "sso",
    });
    let json = config.to_string().into_bytes();
    let mut out = json.clone();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(TRAILER_MAGIC);
    out
}

/// `GET /directdownload/files/{file}`: signed-in people only.
pub async fn file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match session::load(&state, &headers).await {
        Ok(Some(_)) => {}
        _ => return (StatusCode::UNAUTHORIZED, "Sign in to download the app.").into_response(),
    }
    let Some(dir) = state.settings.client_dir.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "No desktop client builds on this server.",
        )
            .into_response();
    };
    if !is_client_file(&file) {
        return (StatusCode::NOT_FOUND, "No such build.").into_response();
    }
    let path: PathBuf = dir.join(&file);
    let (opened, size) = match tokio::fs::File::open(&path).await {
        Ok(f) => match f.metadata().await {
            Ok(m) if m.is_file() => (f, m.len()),
            _ => return (StatusCode::NOT_FOUND, "No such build.").into_response(),
        },
        Err(_) => return (StatusCode::NOT_FOUND, "No such build.").into_response(),
    };
    // streamed, the configuration trailer after the file: a build is never held in memory
    let tail = bytes::Bytes::from(trailer(&state));
    let length = size + tail.len() as u64;
    let stream = futures_util::StreamExt::chain(
        tokio_util::io::ReaderStream::new(opened),
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(tail) }),
    );
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_client_builds_are_offered() {
        assert!(is_client_file("seatgate-desktop"));
        assert!(is_client_file("seatgate-desktop-windows-x86_64.exe"));
        assert!(!is_client_file("seatgate-desktop.d"));
        assert!(!is_client_file("seatgate"));
        assert!(!is_client_file("../secret.key"));
        assert!(!is_client_file("seatgate-desktop-../../x"));
        assert_eq!(label("seatgate-desktop-macos-aarch64"), "macos aarch64");
    }
}
