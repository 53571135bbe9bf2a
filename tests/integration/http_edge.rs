//! What every response carries: security headers, CSRF refusal, health endpoints, pages.

use crate::both;
use crate::support::{verified_user, Backend, TestApp, PASSWORD};
use axum::body::Body;
use http::Request;

async fn pages_carry_security_headers_and_a_matching_script_nonce(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    let page = c.get("/signup").await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP");
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the nonce"
    );
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(
        page.header("strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
    assert!(
        page.body.contains("Do not reuse your corporate"),
        "sign-up warns about the IdP password"
    );
    assert!(
        page.body.contains("<label for=\"field-email\""),
        "fields are labelled"
    );
    assert_eq!(
        page.header("cache-control").as_deref(),
        Some("no-store"),
        "pages are never cached"
    );
}
both!(pages_carry_security_headers_and_a_matching_script_nonce);

async fn cross_site_posts_are_refused(b: Backend) {
    let app = TestApp::new(b).await;
    let _ = verified_user(&app, "ada@example.com").await;
    let mut c = app.client();
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let req = Request::post("/api/signin")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value)
            .body(Body::from(format!(
                "email=ada%40example.com&password={}",
                PASSWORD.replace(' ', "+")
            )))
            .expect("request");
        let r = c.send(req).await;
        assert_eq!(r.status, 403, "{name}: {value}");
        assert!(c.cookie.is_none(), "no session from a cross-site post");
    }
    // the same request from our own origin works
    let req = Request::post("/api/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", crate::support::PUBLIC_URL)
        .body(Body::from(format!(
            "email=ada%40example.com&password={}",
            PASSWORD.replace(' ', "+")
        )))
        .expect("request");
    assert_eq!(c.send(req).await.status, 200);
}
both!(cross_site_posts_are_refused);

async fn health_and_readiness(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    let r = c.get("/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    let r = c.get("/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ready"));
    app.state.db.close().await;
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 503, "closed database: not ready");
}
both!(health_and_readiness);

async fn malformed_and_oversized_requests_are_client_errors(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    let req = Request::post("/api/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("%%%garbage=%zz"))
        .expect("request");
    let r = c.send(req).await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    let big = format!("email={}&password=x", "a".repeat(300 * 1024));
    let req = Request::post("/api/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", big.len().to_string())
        .body(Body::from(big))
        .expect("request");
    assert_eq!(c.send(req).await.status, 413);
    let r = c.get("/no/such/page").await;
    assert_eq!(r.status, 404);
}
both!(malformed_and_oversized_requests_are_client_errors);

/// Building a router generates the route list by running the app with resource loading
/// suppressed by a process-wide flag; a page rendering meanwhile used to wait forever for its
/// data (leptos-rs/leptos#4773). Routers built while pages render must not stall them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_routers_are_built() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let app = TestApp::new(Backend::Sqlite).await;
    let stop = Arc::new(AtomicBool::new(false));
    let builder = {
        let (stop, state) = (stop.clone(), app.state.clone());
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            let _entered = runtime.enter();
            let mut built = 0u32;
            while !stop.load(Ordering::Relaxed) {
                drop(seatgate::server::router(state.clone()));
                built += 1;
            }
            built
        })
    };
    let mut c = app.client();
    for i in 0..100 {
        let page = tokio::time::timeout(std::time::Duration::from_secs(10), c.get("/signin"))
            .await
            .unwrap_or_else(|_| panic!("render {i} stalled while routers were being built"));
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Continue with SSO"), "{}", page.body);
    }
    stop.store(true, Ordering::Relaxed);
    let built = builder.join().expect("builder");
    assert!(built > 0, "routers were built during the renders");
}
