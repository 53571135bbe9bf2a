//! seatgate-desktop: the reference desktop client of the activation API. It asks for the work
//! email, opens the organisation's sign-in page in the system browser (or prints it), takes
//! the answer on a loopback redirect (RFC 8252) with PKCE (RFC 7636), verifies and stores the
//! signed licence, checks it in, and deactivates the device.
//!
//! A copy downloaded from a seatgate server carries that server's address and licence key in
//! a trailer appended to the executable, so it needs no configuration.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Full};
use seatgate::activation::{licence, s256, Activated, StartResponse};
use serde_json::{json, Value};
use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
#[command(
    name = "seatgate-desktop",
    version,
    about = "Activate a desktop product with your organisation's single sign-on"
)]
struct Cli {
    /// The seatgate server, e.g. https://licensing.example.com (default: the one this copy was
    /// downloaded from, or SEATGATE_SERVER).
    #[arg(long, env = "SEATGATE_SERVER", global = true)]
    server: Option<String>,
    /// Where the licence and the device id are kept (default: ~/.config/seatgate-desktop).
    #[arg(long, env = "SEATGATE_DESKTOP_HOME", global = true)]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in with your work email and activate this device.
    Activate {
        /// Your work email (asked for when not given).
        #[arg(long)]
        email: Option<String>,
        /// The product to activate.
        #[arg(long, default_value = "desktop")]
        product: String,
        /// Print the sign-in URL instead of opening the browser.
        #[arg(long)]
        no_browser: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Check the licence with the server and renew it (offline: the stored licence decides).
    Check,
    /// Show the stored licence, verified offline.
    Status,
    /// Give this device's seat back.
    Deactivate,
}

/// Appended to downloaded copies: JSON, its length (u32 LE), then this magic.
const TRAILER_MAGIC: &[u8; 8] = b"SGCONF01";

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    server: String,
    public_key: String,
    #[serde(flatten)]
    activated: Activated,
}

fn embedded_config() -> Option<Value> {
    let exe = std::env::current_exe().ok()?;
    let bytes = std::fs::read(exe).ok()?;
    let n = bytes.len();
    if n < 12 || &bytes[n - 8..] != TRAILER_MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(bytes[n - 12..n - 8].try_into().ok()?) as usize;
    let start = n.checked_sub(12 + len)?;
    serde_json::from_slice(&bytes[start..n - 12]).ok()
}

fn store_dir(cli: &Cli) -> PathBuf {
    cli.store.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".config/seatgate-desktop")
    })
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(data)
}

/// A stable id for this device, made once.
fn device_id(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("device-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_string());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    write_private(&path, id.as_bytes())?;
    Ok(id)
}

fn device_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this computer".into())
}

/// A failure with the sentence the person reads.
struct Failure {
    code: String,
    message: String,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }

    /// What the person reads for each error code the server can send.
    fn explained(self) -> String {
        let advice = match self.code.as_str() {
            "unknown_domain" => "Your organisation does not use single sign-on with this product. Check the email address, or activate with a license key.",
            "sso_not_active" => "Your organisation has not switched on single sign-on yet. Ask your IT administrator.",
            "invalid_email" => "That is not an email address.",
            "not_in_desktop_group" => "You are not in your organisation's group of desktop users. Ask your IT administrator to add you, then try again.",
            "no_seats_left" => "All licenses of your organisation are in use. Ask your IT administrator to free one.",
            "subscription_expired" => "Your organisation's subscription has expired. Ask your IT administrator.",
            "no_subscription" => "Your organisation has no subscription for this product.",
            "user_deactivated" => "Your account was deactivated by your organisation.",
            "device_limit_reached" => "You have activated too many devices. Deactivate one of them first.",
            "saml_invalid" => "Your organisation's sign-in answer was refused. Your IT administrator can see why on the IdP Integration page.",
            "transaction_expired" => "The sign-in took too long. Run the activation again.",
            "transaction_used" | "invalid_code" => "This sign-in was already used. Run the activation again.",
            "activation_revoked" => "This device's license was revoked.",
            "rate_limited" => "Too many attempts. Wait a minute and try again.",
            "network" => "The license server could not be reached.",
            _ => "",
        };
        if advice.is_empty() {
            format!("{} ({})", self.message, self.code)
        } else {
            format!("{advice}\n  ({}: {})", self.code, self.message)
        }
    }
}

fn api_failure(status: u16, body: &Value) -> Failure {
    Failure::new(
        body.get("code")
            .and_then(Value::as_str)
            .unwrap_or("http_error"),
        body.get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("The server answered {status}.")),
    )
}

/// A minimal HTTP/1.1 client: one request per connection, http or https (Web PKI roots).
async fn request(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), Failure> {
    let net = |e: String| Failure::new("network", e);
    let u = url::Url::parse(url).map_err(|e| net(format!("{url}: {e}")))?;
    let host = u
        .host_str()
        .ok_or_else(|| net("no host".into()))?
        .to_string();
    let port = u.port_or_known_default().unwrap_or(80);
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, u.authority())
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("seatgate-desktop/", env!("CARGO_PKG_VERSION")),
        );
    if body.is_some() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    if let Some(b) = bearer {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(payload)))
        .map_err(|e| net(e.to_string()))?;
    let tcp = tokio::time::timeout(
        Duration::from_secs(15),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| net(format!("connecting to {host}:{port} timed out")))?
    .map_err(|e| net(format!("{host}:{port}: {e}")))?;
    let res = if u.scheme() == "https" {
        use tokio_rustls::rustls;
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| net(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| net(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| net(e.to_string()))?;
        send(tls, req).await
    } else {
        send(tcp, req).await
    }
    .map_err(net)?;
    Ok(res)
}

async fn send<S>(io: S, req: http::Request<Full<bytes::Bytes>>) -> Result<(u16, Value), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let res = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req))
        .await
        .map_err(|_| "the server did not answer in time".to_string())?
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    Ok((status, value))
}

struct Config {
    server: String,
    /// Pinned by the download, when there is one.
    public_key: Option<Vec<u8>>,
}

fn config(cli: &Cli) -> Result<Config, Failure> {
    let embedded = embedded_config();
    let server = cli
        .server
        .clone()
        .or_else(|| {
            embedded
                .as_ref()
                .and_then(|c| c.get("server")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| {
            Failure::new(
                "no_server",
                "No server is configured: pass --server https://… or download the app from your organisation's link.",
            )
        })?;
    let public_key = embedded
        .as_ref()
        .and_then(|c| c.get("public_key")?.as_str().map(str::to_string))
        .and_then(|k| URL_SAFE_NO_PAD.decode(k).ok());
    Ok(Config {
        server: server.trim_end_matches('/').to_string(),
        public_key,
    })
}

async fn server_key(cfg: &Config) -> Result<Vec<u8>, Failure> {
    let (status, jwks) = request(
        "GET",
        &format!("{}/api/v1/licences/keys", cfg.server),
        None,
        None,
    )
    .await?;
    if status != 200 {
        return Err(api_failure(status, &jwks));
    }
    let key = licence::public_key_from_jwks(&jwks).ok_or_else(|| {
        Failure::new("bad_server", "The server publishes no Ed25519 licence key.")
    })?;
    if let Some(pinned) = &cfg.public_key {
        if *pinned != key {
            return Err(Failure::new(
                "bad_server",
                "The server's licence key is not the one this copy of the app was issued with.",
            ));
        }
    }
    Ok(key)
}

fn open_browser(url: &str) -> bool {
    let candidates: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["explorer"]
    } else {
        &["xdg-open"]
    };
    candidates.iter().any(|c| {
        std::process::Command::new(c)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    })
}

/// Waits for the browser's redirect to the loopback listener; answers it with a page and
/// returns the query pairs.
async fn wait_for_redirect(
    listener: tokio::net::TcpListener,
    state: &str,
) -> Result<Vec<(String, String)>, Failure> {
    loop {
        let (mut sock, _) = listener
            .accept()
            .await
            .map_err(|e| Failure::new("network", e.to_string()))?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut n = 0;
        // the request line and headers; the redirect is a GET without a body
        while n < buf.len() {
            let Ok(Ok(m)) =
                tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf[n..])).await
            else {
                break;
            };
            if m == 0 {
                break;
            }
            n += m;
            if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/");
        let pairs: Vec<(String, String)> = url::Url::parse(&format!("http://loopback{target}"))
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("state") != Some(state) {
            // not our redirect (a favicon, a stale tab): ignore it
            let _ = sock
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let (title, text) = if get("error").is_some() {
            (
                "Activation failed",
                get("error_description")
                    .unwrap_or("The activation failed.")
                    .to_string(),
            )
        } else {
            (
                "Activation complete",
                "You can close this window and return to the app.".to_string(),
            )
        };
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto\">\
             <h1 data-testid=\"activation-result\">{t}</h1><p>{m}</p></body></html>",
            t = esc(title),
            m = esc(&text)
        );
        let _ = sock
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                )
                .as_bytes(),
            )
            .await;
        return Ok(pairs);
    }
}

async fn activate(
    cli: &Cli,
    email: Option<String>,
    product: &str,
    no_browser: bool,
    timeout: u64,
) -> Result<(), Failure> {
    let cfg = config(cli)?;
    let key = server_key(&cfg).await?;
    let dir = store_dir(cli);
    std::fs::create_dir_all(&dir).map_err(|e| Failure::new("store", e.to_string()))?;
    let email = match email {
        Some(e) => e,
        None => {
            print!("Work email: ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Failure::new("input", e.to_string()))?;
            line.trim().to_string()
        }
    };
    let mut raw = [0u8; 48];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let verifier = URL_SAFE_NO_PAD.encode(raw);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::new("network", e.to_string()))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::new("network", e.to_string()))?
        .port();
    let body = json!({
        "email": email,
        "product": product,
        "device": {
            "id": device_id(&dir).map_err(|e| Failure::new("store", e.to_string()))?,
            "name": device_name(),
            "os": format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        },
        "code_challenge": s256(&verifier),
        "code_challenge_method": "S256",
        "redirect_uri": format!("http://127.0.0.1:{port}/callback"),
    });
    let (status, res) = request(
        "POST",
        &format!("{}/api/v1/activations/sso/start", cfg.server),
        None,
        Some(&body),
    )
    .await?;
    if status != 201 {
        return Err(api_failure(status, &res));
    }
    let started: StartResponse =
        serde_json::from_value(res).map_err(|e| Failure::new("bad_server", e.to_string()))?;
    println!("Sign in with your organisation's account to activate {product}.");
    if no_browser || !open_browser(&started.login_url) {
        println!("Open this address in your browser:");
    } else {
        println!("Your browser should open; if it does not, open this address:");
    }
    println!("LOGIN_URL {}", started.login_url);
    let _ = std::io::stdout().flush();
    let pairs = tokio::time::timeout(
        Duration::from_secs(timeout),
        wait_for_redirect(listener, &started.transaction_id),
    )
    .await
    .map_err(|_| Failure::new("transaction_expired", "No sign-in arrived in time."))??;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(code) = get("error") {
        let mut message = get("error_description").unwrap_or_default();
        if let Some(c) = get("category") {
            message = format!("{message} [{c}]");
        }
        return Err(Failure { code, message });
    }
    let code =
        get("code").ok_or_else(|| Failure::new("bad_server", "The redirect carried no code."))?;
    let (status, res) = request(
        "POST",
        &format!("{}/api/v1/activations/sso/token", cfg.server),
        None,
        Some(&json!({ "code": code, "code_verifier": verifier })),
    )
    .await?;
    if status != 201 {
        return Err(api_failure(status, &res));
    }
    let activated: Activated =
        serde_json::from_value(res).map_err(|e| Failure::new("bad_server", e.to_string()))?;
    let now = chrono::Utc::now().timestamp();
    let claims = licence::verify(&activated.licence, &key, now)
        .map_err(|e| Failure::new("bad_licence", e.to_string()))?;
    save(&dir, &cfg.server, &key, &activated)?;
    println!(
        "LICENSED {} for {} ({}); works offline until {}.",
        claims.product,
        claims.email,
        claims.acct_name,
        when(claims.exp)
    );
    Ok(())
}

fn when(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn save(dir: &Path, server: &str, key: &[u8], a: &Activated) -> Result<(), Failure> {
    let stored = Stored {
        server: server.to_string(),
        public_key: URL_SAFE_NO_PAD.encode(key),
        activated: a.clone(),
    };
    let text = serde_json::to_vec_pretty(&stored).unwrap_or_default();
    write_private(&dir.join("licence.json"), &text)
        .map_err(|e| Failure::new("store", e.to_string()))
}

fn load(dir: &Path) -> Result<(Stored, Vec<u8>), Failure> {
    let text = std::fs::read(dir.join("licence.json")).map_err(|_| {
        Failure::new(
            "not_activated",
            "This device is not activated. Run `seatgate-desktop activate`.",
        )
    })?;
    let stored: Stored = serde_json::from_slice(&text)
        .map_err(|e| Failure::new("store", format!("the stored licence is unreadable: {e}")))?;
    let key = URL_SAFE_NO_PAD
        .decode(&stored.public_key)
        .map_err(|e| Failure::new("store", e.to_string()))?;
    Ok((stored, key))
}

async fn check(cli: &Cli) -> Result<(), Failure> {
    let dir = store_dir(cli);
    let (mut stored, key) = load(&dir)?;
    let now = chrono::Utc::now().timestamp();
    let url = format!(
        "{}/api/v1/activations/{}/check",
        stored.server, stored.activated.activation_id
    );
    match request(
        "POST",
        &url,
        Some(&stored.activated.activation_secret),
        None,
    )
    .await
    {
        Ok((200, res)) => {
            let licence = res
                .get("licence")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let claims = licence::verify(licence, &key, now)
                .map_err(|e| Failure::new("bad_licence", e.to_string()))?;
            if claims.act != stored.activated.activation_id {
                return Err(Failure::new(
                    "bad_licence",
                    "The server renewed a licence for another activation.",
                ));
            }
            stored.activated.licence = licence.to_string();
            stored.activated.licence_expires_at = claims.exp;
            save(&dir, &stored.server.clone(), &key, &stored.activated)?;
            println!(
                "VALID {} for {}; renewed until {}.",
                claims.product,
                claims.email,
                when(claims.exp)
            );
            Ok(())
        }
        // the server is there but cannot answer now: like being offline
        Ok((status, res)) if status >= 500 || status == 429 => {
            offline(&stored, &key, now, api_failure(status, &res))
        }
        Ok((status, res)) => {
            let failure = api_failure(status, &res);
            if matches!(
                failure.code.as_str(),
                "activation_revoked" | "subscription_expired" | "invalid_activation_secret"
            ) {
                // the licence is over: forget it
                let _ = std::fs::remove_file(dir.join("licence.json"));
                let reason = res.get("reason").and_then(Value::as_str).unwrap_or("");
                println!("REVOKED {} {reason}", failure.code);
            }
            Err(failure)
        }
        Err(f) => offline(&stored, &key, now, f),
    }
}

/// The server could not say: the stored licence decides until it expires.
fn offline(stored: &Stored, key: &[u8], now: i64, f: Failure) -> Result<(), Failure> {
    match licence::verify(&stored.activated.licence, key, now) {
        Ok(claims) => {
            println!(
                "OFFLINE {} for {}: the server could not be asked ({}); the licence works until {}.",
                claims.product,
                claims.email,
                f.message,
                when(claims.exp)
            );
            Ok(())
        }
        Err(e) => Err(Failure::new(
            "bad_licence",
            format!("{e}; and {}", f.message),
        )),
    }
}

fn status(cli: &Cli) -> Result<(), Failure> {
    let (stored, key) = load(&store_dir(cli))?;
    let claims = licence::verify(
        &stored.activated.licence,
        &key,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| Failure::new("bad_licence", e.to_string()))?;
    println!(
        "VALID {} for {} ({}), device {}; works offline until {}.",
        claims.product,
        claims.email,
        claims.acct_name,
        claims.dev,
        when(claims.exp)
    );
    Ok(())
}

async fn deactivate(cli: &Cli) -> Result<(), Failure> {
    let dir = store_dir(cli);
    let (stored, _) = load(&dir)?;
    let url = format!(
        "{}/api/v1/activations/{}",
        stored.server, stored.activated.activation_id
    );
    let (status, res) = request(
        "DELETE",
        &url,
        Some(&stored.activated.activation_secret),
        None,
    )
    .await?;
    if status != 204 {
        return Err(api_failure(status, &res));
    }
    let _ = std::fs::remove_file(dir.join("licence.json"));
    println!("DEACTIVATED this device; its seat is free.");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Activate {
            email,
            product,
            no_browser,
            timeout,
        } => activate(&cli, email.clone(), product, *no_browser, *timeout).await,
        Command::Check => check(&cli).await,
        Command::Status => status(&cli),
        Command::Deactivate => deactivate(&cli).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("ERROR {}", f.code.clone());
            eprintln!("{}", f.explained());
            ExitCode::from(2)
        }
    }
}
