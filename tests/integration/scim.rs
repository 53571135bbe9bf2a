//! The SCIM 2.0 server through the router: the Entra ID, Okta and PingOne request sequences
//! replayed in order (tests/fixtures/scim), every error status, isolation between accounts,
//! and what deprovisioning does to the product.

use crate::both;
use crate::support::{business_admin, verified_user, Backend, Client, Response, TestApp};
use axum::body::Body;
use http::Request;
use serde_json::{json, Value};
use std::collections::HashMap;

/// A business account with `domain` verified, SCIM on, and a bearer token.
async fn scim_account(app: &TestApp, admin: &str, org: &str, domain: &str) -> (Client, String) {
    let mut c = business_admin(app, admin, org).await;
    let change = |action: &'static str, fields: Vec<(&'static str, String)>| {
        let mut form = vec![("action".to_string(), action.to_string())];
        form.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
        form
    };
    for form in [
        change("start", vec![]),
        change("add_domain", vec![("domain", domain.to_string())]),
    ] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = c.call("integration/change", &pairs).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let v = c.call("integration", &[]).await.json();
    let d = v["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .find(|d| d["name"] == domain)
        .expect("domain")
        .clone();
    app.dns.set_txt(
        d["record_name"].as_str().expect("name"),
        &[d["record_value"].as_str().expect("value")],
    );
    let r = c
        .call(
            "integration/change",
            &[("action", "verify_domain"), ("domain", domain)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.call("integration/scim_token", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token: String = serde_json::from_str(&r.body).expect("token");
    (c, token)
}

/// The account a token belongs to.
async fn business_of(app: &TestApp, token: &str) -> String {
    app.state
        .db
        .scim_token_owner(&app.state.secret.hash_token(token), app.state.clock.now())
        .await
        .expect("lookup")
        .expect("owner")
}

/// Percent-encodes a query value the way Okta does (everything but RFC 3986 unreserved), or
/// with `+` for spaces the way Entra has been seen to.
fn encode(value: &str, plus: bool) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if plus => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn wire_path(path: &str, plus: bool) -> String {
    match path.split_once('?') {
        None => path.to_string(),
        Some((p, q)) => {
            let pairs: Vec<String> = q
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => format!("{k}={}", encode(v, plus)),
                    None => kv.to_string(),
                })
                .collect();
            format!("{p}?{}", pairs.join("&"))
        }
    }
}

async fn scim(
    c: &mut Client,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Response {
    scim_with(c, token, method, path, body, &[]).await
}

async fn scim_with(
    c: &mut Client,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/scim/v2{path}"))
        .header("authorization", format!("Bearer {token}"));
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/scim+json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
    c.send(req.body(body).expect("request")).await
}

fn ids_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// What the fixture's notes require beyond the status, step by step.
fn check_notes(idp: &str, step: &str, r: &Response, ids: &HashMap<String, String>) {
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    };
    let id = |k: &str| ids.get(k).cloned().unwrap_or_default();
    let (alice, bob, group) = (id("alice_id"), id("bob_id"), id("group_id"));
    let total = |n: i64| assert_eq!(v["totalResults"], n, "{idp}/{step}: {v}");
    match (idp, step) {
        ("entra", "07") | ("entra", "08") | ("pingone", "03") => {
            total(1);
            assert_eq!(v["Resources"][0]["id"], alice.as_str(), "{idp}/{step}");
        }
        ("entra", "09") | ("okta", "08") => {
            assert!(v["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].is_object());
            assert!(v.get("password").is_none(), "never echo a password");
        }
        ("entra", "14") => {
            assert_eq!(v["userName"], "alice.nguyen@example.com");
            assert_eq!(v["displayName"], "Ali Tran");
            assert_eq!(v["name"]["givenName"], "Ali");
            assert_eq!(v["name"]["familyName"], "Tran");
            assert_eq!(v["title"], "Staff Software Engineer");
            let emails = v["emails"].as_array().expect("emails");
            assert_eq!(emails.len(), 1, "exactly one work e-mail: {v}");
            assert_eq!(emails[0]["value"], "a.tran@example.com");
            let ent = &v["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
            assert_eq!(ent["department"], "Platform Engineering");
            assert_eq!(ent["employeeNumber"], "20042");
            assert_eq!(ent["manager"]["value"], bob.as_str());
            assert_eq!(v["active"], true);
        }
        ("entra", "17") | ("entra", "27") => {
            let g = if step == "17" {
                v.clone()
            } else {
                v["Resources"][0].clone()
            };
            assert_eq!(g["id"], group.as_str());
            assert!(g.get("members").is_none(), "{idp}/{step}: {g}");
        }
        ("entra", "19") | ("entra", "22") => total(1),
        ("entra", "21") | ("okta", "12") | ("okta", "14") => assert_eq!(v["active"], false),
        ("okta", "05") => {
            assert_eq!(v["scimType"], "uniqueness");
            assert_eq!(v["status"], "409");
        }
        ("okta", "10") => {
            assert_eq!(v["name"]["middleName"], "Mai");
            assert_eq!(v["displayName"], "Alice M. Nguyen");
        }
        ("okta", "15") => {
            total(2);
            assert_eq!(v["itemsPerPage"], 2);
        }
        ("okta", "19") | ("okta", "24") => assert_eq!(ids_of(&v["members"]), vec![alice.clone()]),
        ("okta", "22") | ("pingone", "14") => {
            let m = if idp == "okta" {
                &v["members"]
            } else {
                &v["Resources"][0]["members"]
            };
            assert_eq!(ids_of(m), sorted(&[&alice, &bob]));
        }
        ("okta", "25") => {
            total(1);
            assert_eq!(
                v["Resources"][0]["displayName"],
                "Parallels Desktop Engineering"
            );
        }
        ("pingone", "06") => {
            total(1);
            assert_eq!(v["Resources"][0]["active"], false);
        }
        ("pingone", "09") => assert_eq!(v["active"], false),
        ("pingone", "16") => assert_eq!(ids_of(&v["members"]), vec![alice.clone()]),
        ("pingone", "18") => {
            total(1);
            assert_eq!(v["Resources"][0]["id"], group.as_str());
        }
        ("pingone", "20") | ("pingone", "23") => total(0),
        ("pingone", "21") => {
            total(1);
            assert!(!ids_of(&v["Resources"][0]["members"]).contains(&alice));
        }
        _ => {}
    }
}

async fn replay(b: Backend, idp: &str, plus: bool) {
    let app = TestApp::new(b).await;
    let (mut c, token) = scim_account(&app, "admin@example.com", "Example", "example.com").await;
    let mut files: Vec<_> = std::fs::read_dir(format!("tests/fixtures/scim/{idp}"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut ids: HashMap<String, String> = HashMap::new();
    for file in files {
        let step: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let number = &name[..2];
        let subst = |s: &str| {
            ids.iter().fold(s.to_string(), |acc, (k, v)| {
                acc.replace(&format!("{{{k}}}"), v)
            })
        };
        let path = wire_path(&subst(step["path"].as_str().expect("path")), plus);
        let body = match &step["body"] {
            Value::Null => None,
            b => Some(serde_json::from_str::<Value>(&subst(&b.to_string())).expect("body")),
        };
        let headers: Vec<(String, String)> = step["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let method = step["method"].as_str().expect("method");
        let r = scim_with(&mut c, &token, method, &path, body.as_ref(), &headers).await;
        let want: Vec<u64> = match &step["expect"]["status"] {
            Value::Array(a) => a.iter().filter_map(Value::as_u64).collect(),
            s => vec![s.as_u64().expect("status")],
        };
        assert!(
            want.contains(&u64::from(r.status)),
            "{idp}/{name}: {method} {path} answered {} (want {want:?}): {}",
            r.status,
            r.body
        );
        if r.status == 204 {
            assert!(r.body.is_empty(), "{idp}/{name}: 204 has no body");
        } else {
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/scim+json"),
                "{idp}/{name}"
            );
            let v = r.json();
            if r.status >= 400 {
                assert_eq!(
                    v["schemas"][0],
                    "urn:ietf:params:scim:api:messages:2.0:Error"
                );
                assert_eq!(v["status"], r.status.to_string());
            } else if v["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:ListResponse" {
                let n = v["Resources"].as_array().expect("Resources").len();
                assert_eq!(v["itemsPerPage"], n, "{idp}/{name}");
                assert!(v["totalResults"].is_i64() && v["startIndex"].is_i64());
            }
        }
        if let Some(capture) = step["expect"]["capture"].as_object() {
            let v = r.json();
            for (k, pointer) in capture {
                let got = v
                    .pointer(pointer.as_str().expect("pointer"))
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{idp}/{name}: nothing at {pointer}: {v}"));
                ids.insert(k.clone(), got.to_string());
            }
        }
        check_notes(idp, number, &r, &ids);
    }
    // every request was logged for the admin
    let business = business_of(&app, &token).await;
    app.state.scim_log.flush().await;
    let log = app
        .state
        .db
        .scim_requests(&business, 1000)
        .await
        .expect("log");
    assert!(log.len() >= 20, "{} requests logged", log.len());
}

async fn entra_id_sequence_is_accepted(b: Backend) {
    replay(b, "entra", false).await;
}
both!(entra_id_sequence_is_accepted);

async fn entra_id_sequence_with_plus_encoded_filters_is_accepted(b: Backend) {
    replay(b, "entra", true).await;
}
both!(entra_id_sequence_with_plus_encoded_filters_is_accepted);

async fn okta_sequence_is_accepted(b: Backend) {
    replay(b, "okta", false).await;
}
both!(okta_sequence_is_accepted);

async fn pingone_sequence_is_accepted(b: Backend) {
    replay(b, "pingone", false).await;
}
both!(pingone_sequence_is_accepted);

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "active": true
    })
}

async fn create(c: &mut Client, token: &str, name: &str) -> String {
    let r = scim(c, token, "POST", "/Users", Some(&user(name))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r
        .header("location")
        .expect("location")
        .ends_with(r.json()["id"].as_str().expect("id")));
    r.json()["id"].as_str().expect("id").to_string()
}

async fn error_of(r: &Response) -> (u16, Value) {
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let v = r.json();
    assert_eq!(
        v["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(v["status"], r.status.to_string());
    (r.status, v)
}

async fn every_error_has_its_status_and_scim_type(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut c, token) = scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let alice = create(&mut c, &token, "alice@acme-corp.com").await;

    // authentication
    let mut anon = app.client();
    let r = anon
        .send(
            Request::get("/scim/v2/Users")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(error_of(&r).await.0, 401);
    assert!(r
        .header("www-authenticate")
        .expect("challenge")
        .starts_with("Bearer"));
    let r = scim(&mut c, "sgscim_not-a-token", "GET", "/Users", None).await;
    assert_eq!(error_of(&r).await.0, 401);

    struct Case {
        name: &'static str,
        method: &'static str,
        path: String,
        body: Option<Value>,
        headers: Vec<(&'static str, &'static str)>,
        status: u16,
        scim_type: Option<&'static str>,
        detail: &'static str,
    }
    let case = |name, method, path: &str, body, status, scim_type, detail| Case {
        name,
        method,
        path: path.to_string(),
        body,
        headers: vec![],
        status,
        scim_type,
        detail,
    };
    let patch = |ops: Value| {
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        )
    };
    let cases = vec![
        case(
            "duplicate userName, other case",
            "POST",
            "/Users",
            Some(user("ALICE@acme-corp.com")),
            409,
            Some("uniqueness"),
            "exists",
        ),
        case(
            "userName outside the verified domains",
            "POST",
            "/Users",
            Some(user("eve@evil.example")),
            400,
            Some("invalidValue"),
            "not a verified domain",
        ),
        case(
            "userName that is no email",
            "POST",
            "/Users",
            Some(user("just-a-name")),
            400,
            Some("invalidValue"),
            "not an email address",
        ),
        case(
            "missing userName",
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})),
            400,
            Some("invalidValue"),
            "userName",
        ),
        case(
            "unknown filter operator",
            "GET",
            "/Users?filter=userName%20xx%20%22a%22",
            None,
            400,
            Some("invalidFilter"),
            "",
        ),
        case(
            "unknown filter attribute",
            "GET",
            "/Users?filter=shoeSize%20eq%20%2242%22",
            None,
            400,
            Some("invalidFilter"),
            "",
        ),
        case(
            "bad paging value",
            "GET",
            "/Users?count=many",
            None,
            400,
            Some("invalidValue"),
            "count must be an integer",
        ),
        case(
            "unknown user",
            "GET",
            "/Users/nope",
            None,
            404,
            None,
            "No user with id nope",
        ),
        case(
            "unknown group",
            "DELETE",
            "/Groups/nope",
            None,
            404,
            None,
            "No group",
        ),
        case(
            "unknown endpoint",
            "GET",
            "/Widgets",
            None,
            404,
            None,
            "no SCIM endpoint",
        ),
        case(
            "method not allowed",
            "DELETE",
            "/Users",
            None,
            405,
            None,
            "not supported",
        ),
        case(
            "PATCH without Operations",
            "PATCH",
            &format!("/Users/{alice}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]})),
            400,
            Some("invalidSyntax"),
            "",
        ),
        case(
            "PATCH of a read-only attribute",
            "PATCH",
            &format!("/Users/{alice}"),
            patch(json!([{"op": "replace", "path": "id", "value": "x"}])),
            400,
            Some("mutability"),
            "",
        ),
        case(
            "PATCH with a bad boolean",
            "PATCH",
            &format!("/Users/{alice}"),
            patch(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            400,
            Some("invalidValue"),
            "",
        ),
        case(
            "PATCH remove without path",
            "PATCH",
            &format!("/Users/{alice}"),
            patch(json!([{"op": "remove"}])),
            400,
            Some("noTarget"),
            "",
        ),
        case(
            "group with an unknown member",
            "POST",
            "/Groups",
            Some(json!({"displayName": "G", "members": [{"value": "ghost"}]})),
            400,
            Some("invalidValue"),
            "Member ghost is not a user",
        ),
    ];
    for c2 in cases {
        let r = scim_with(
            &mut c,
            &token,
            c2.method,
            &c2.path,
            c2.body.as_ref(),
            &c2.headers,
        )
        .await;
        assert_eq!(r.status, c2.status, "{}: {}", c2.name, r.body);
        let (_, v) = error_of(&r).await;
        assert_eq!(v["scimType"].as_str(), c2.scim_type, "{}: {v}", c2.name);
        assert!(
            v["detail"].as_str().expect("detail").contains(c2.detail),
            "{}: {v}",
            c2.name
        );
    }

    // malformed JSON, wrong media type, oversized body
    let raw = |body: &str, ct: &str| {
        Request::post("/scim/v2/Users")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", ct)
            .body(Body::from(body.to_string()))
            .expect("req")
    };
    let r = c.send(raw("{\"userName\": ", "application/json")).await;
    let (s, v) = error_of(&r).await;
    assert_eq!((s, v["scimType"].as_str()), (400, Some("invalidSyntax")));
    let r = c
        .send(raw("userName=x", "application/x-www-form-urlencoded"))
        .await;
    assert_eq!(error_of(&r).await.0, 415);
    let big = format!("{{\"userName\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let r = c.send(raw(&big, "application/scim+json")).await;
    assert_eq!(error_of(&r).await.0, 413);

    // optimistic concurrency with ETags
    let r = scim(&mut c, &token, "GET", &format!("/Users/{alice}"), None).await;
    let tag = r.header("etag").expect("etag");
    assert_eq!(r.json()["meta"]["version"], tag.as_str());
    let deactivate = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    let r = scim_with(
        &mut c,
        &token,
        "PATCH",
        &format!("/Users/{alice}"),
        deactivate.as_ref(),
        &[("if-match", "W/\"999\"")],
    )
    .await;
    assert_eq!(error_of(&r).await.0, 412);
    let r = scim_with(
        &mut c,
        &token,
        "PATCH",
        &format!("/Users/{alice}"),
        deactivate.as_ref(),
        &[("if-match", tag.as_str())],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(
        r.header("etag").expect("etag"),
        tag,
        "a change makes a new version"
    );

    // refused requests are logged for the admin with their reason
    let business = business_of(&app, &token).await;
    app.state.scim_log.flush().await;
    let log = app
        .state
        .db
        .scim_requests(&business, 100)
        .await
        .expect("log");
    assert!(log.iter().any(|e| e.status == 400
        && e.error
            .as_deref()
            .is_some_and(|d| d.contains("eve@evil.example"))));
    assert!(log.iter().all(|e| !e.path.contains(&token)));
}
both!(every_error_has_its_status_and_scim_type);

async fn each_token_sees_only_its_own_account(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut a, token_a) = scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let (mut bc, token_b) = scim_account(&app, "admin@globex.com", "Globex", "globex.com").await;
    let alice = create(&mut a, &token_a, "alice@acme-corp.com").await;
    let r = scim(
        &mut a,
        &token_a,
        "POST",
        "/Groups",
        Some(&json!({"displayName": "Desktop", "members": [{"value": alice}]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let group = r.json()["id"].as_str().expect("id").to_string();

    assert_eq!(
        scim(&mut bc, &token_b, "GET", &format!("/Users/{alice}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        scim(&mut bc, &token_b, "GET", &format!("/Groups/{group}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        scim(
            &mut bc,
            &token_b,
            "DELETE",
            &format!("/Users/{alice}"),
            None
        )
        .await
        .status,
        404
    );
    let r = scim(&mut bc, &token_b, "GET", "/Users", None).await;
    assert_eq!(r.json()["totalResults"], 0);
    // B cannot put A's user in its own group, nor claim A's domain
    let r = scim(
        &mut bc,
        &token_b,
        "POST",
        "/Groups",
        Some(&json!({"displayName": "Mine", "members": [{"value": alice}]})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = scim(
        &mut bc,
        &token_b,
        "POST",
        "/Users",
        Some(&user("bob@acme-corp.com")),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // A's data is intact
    let r = scim(&mut a, &token_a, "GET", &format!("/Users/{alice}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["groups"][0]["value"], group.as_str());
    // a filter lookup (one query with the groups) renders the same groups as a GET
    let by_id = r.json()["groups"].clone();
    let user_name = r.json()["userName"].as_str().expect("userName").to_string();
    for filter in [
        format!("userName eq \"{}\"", user_name.to_uppercase()),
        format!("id eq \"{alice}\""),
    ] {
        let q: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let r = scim(&mut a, &token_a, "GET", &format!("/Users?filter={q}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["totalResults"], 1, "{filter}");
        assert_eq!(r.json()["Resources"][0]["groups"], by_id, "{filter}");
        assert_eq!(r.json()["Resources"][0]["groups"][0]["display"], "Desktop");
    }
    // and B's lookup of A's user finds nothing
    let q: String =
        url::form_urlencoded::byte_serialize(format!("userName eq \"{user_name}\"").as_bytes())
            .collect();
    let r = scim(
        &mut bc,
        &token_b,
        "GET",
        &format!("/Users?filter={q}"),
        None,
    )
    .await;
    assert_eq!(r.json()["totalResults"], 0);
}
both!(each_token_sees_only_its_own_account);

async fn scim_stops_when_switched_off(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut c, token) = scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    assert_eq!(
        scim(&mut c, &token, "GET", "/Users", None).await.status,
        200
    );
    let r = c.call("integration/change", &[("action", "scim")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = scim(&mut c, &token, "GET", "/Users", None).await;
    let (s, v) = error_of(&r).await;
    assert_eq!(s, 403);
    assert!(v["detail"]
        .as_str()
        .expect("detail")
        .contains("switched off"));
}
both!(scim_stops_when_switched_off);

async fn lists_page_filter_and_project(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut c, token) = scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&mut c, &token, &format!("user{n}@acme-corp.com")).await);
    }
    let r = scim(&mut c, &token, "GET", "/Users?startIndex=3&count=2", None).await;
    let v = r.json();
    assert_eq!(
        (
            v["totalResults"].as_i64(),
            v["startIndex"].as_i64(),
            v["itemsPerPage"].as_i64()
        ),
        (Some(5), Some(3), Some(2))
    );
    let page: Vec<&str> = v["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        page,
        vec![ids[2].as_str(), ids[3].as_str()],
        "stable creation order"
    );
    let r = scim(&mut c, &token, "GET", "/Users?count=0", None).await;
    assert_eq!(
        (
            r.json()["totalResults"].as_i64(),
            r.json()["itemsPerPage"].as_i64()
        ),
        (Some(5), Some(0))
    );

    // the RFC grammar, not only eq
    for (filter, want) in [
        ("userName sw \"user1\"", 1),
        (
            "userName co \"@acme\" and not (userName eq \"user0@acme-corp.com\")",
            4,
        ),
        (
            "(userName eq \"user1@acme-corp.com\") or (userName eq \"USER2@ACME-CORP.COM\")",
            2,
        ),
        ("emails[type eq \"work\" and value ew \"corp.com\"]", 5),
        ("emails.value pr", 5),
        ("meta.created ge \"2020-01-01T00:00:00Z\"", 5),
        ("userName eq \"nobody@acme-corp.com\"", 0),
    ] {
        let r = scim(
            &mut c,
            &token,
            "GET",
            &format!("/Users?filter={}", encode(filter, false)),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(r.json()["totalResults"], want, "{filter}");
    }
    // POST .search takes the same in a body
    let r = scim(&mut c, &token, "POST", "/Users/.search", Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"user\"", "count": 2, "attributes": ["userName"]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["totalResults"], 5);
    let first = &v["Resources"][0];
    assert!(
        first["userName"].is_string() && first["id"].is_string() && first.get("emails").is_none(),
        "{first}"
    );

    // attributes / excludedAttributes
    let r = scim(
        &mut c,
        &token,
        "GET",
        &format!("/Users/{}?excludedAttributes=emails,name", ids[0]),
        None,
    )
    .await;
    let v = r.json();
    assert!(v.get("emails").is_none() && v.get("name").is_none() && v["userName"].is_string());
}
both!(lists_page_filter_and_project);

async fn discovery_tells_the_truth(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut c, token) = scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let spc = scim(&mut c, &token, "GET", "/ServiceProviderConfig", None)
        .await
        .json();
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["sort"]["supported"], false);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    let types = scim(&mut c, &token, "GET", "/ResourceTypes", None)
        .await
        .json();
    assert_eq!(types["totalResults"], 2);
    let user_type = scim(&mut c, &token, "GET", "/ResourceTypes/User", None)
        .await
        .json();
    assert_eq!(user_type["endpoint"], "/Users");
    let schemas = scim(&mut c, &token, "GET", "/Schemas", None).await.json();
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:User"));
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    let user_schema = scim(
        &mut c,
        &token,
        "GET",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
    )
    .await
    .json();
    let user_name = user_schema["attributes"]
        .as_array()
        .expect("attrs")
        .iter()
        .find(|a| a["name"] == "userName")
        .expect("userName")
        .clone();
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["required"], true);
}
both!(discovery_tells_the_truth);

async fn deprovisioning_ends_the_persons_sessions_and_keeps_the_record(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, token) =
        scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let mut bob = verified_user(&app, "bob@acme-corp.com").await;
    assert!(
        bob.call("me", &[]).await.json().is_object(),
        "bob is signed in"
    );
    let id = create(&mut admin, &token, "bob@acme-corp.com").await;
    let r = scim(
        &mut admin,
        &token,
        "POST",
        "/Groups",
        Some(&json!({"displayName": "Desktop users", "members": [{"value": id}]})),
    )
    .await;
    let group = r.json()["id"].as_str().expect("id").to_string();

    // Okta's deactivation: replace without path
    let r = scim(&mut admin, &token, "PATCH", &format!("/Users/{id}"), Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        bob.call("me", &[]).await.json().is_null(),
        "bob's session ended"
    );
    let r = scim(&mut admin, &token, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!((r.status, r.json()["active"].clone()), (200, json!(false)));
    assert_eq!(
        r.json()["groups"][0]["value"],
        group.as_str(),
        "memberships kept while inactive"
    );

    // re-activation restores the user with the memberships
    let r = scim(&mut admin, &token, "PATCH", &format!("/Users/{id}"), Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}))).await;
    assert_eq!(r.json()["active"], true);
    let g = scim(&mut admin, &token, "GET", &format!("/Groups/{group}"), None)
        .await
        .json();
    assert_eq!(ids_of(&g["members"]), vec![id.clone()]);

    // DELETE: 404 afterwards, out of every group, the userName free again
    assert_eq!(
        scim(&mut admin, &token, "DELETE", &format!("/Users/{id}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        scim(&mut admin, &token, "GET", &format!("/Users/{id}"), None)
            .await
            .status,
        404
    );
    let g = scim(&mut admin, &token, "GET", &format!("/Groups/{group}"), None)
        .await
        .json();
    assert!(ids_of(&g["members"]).is_empty());
    let again = create(&mut admin, &token, "bob@acme-corp.com").await;
    assert_ne!(again, id);
}
both!(deprovisioning_ends_the_persons_sessions_and_keeps_the_record);

async fn a_flood_of_requests_gets_429_with_retry_after(b: Backend) {
    let mut app = TestApp::new(b).await;
    app.state.scim_limiter = std::sync::Arc::new(seatgate::scim::routes::ScimLimiter::new(1, 3));
    app.router = seatgate::server::router(app.state.clone());
    let (mut c, token) = scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(scim(&mut c, &token, "GET", "/Users", None).await);
    }
    assert!(statuses[..3].iter().all(|r| r.status == 200));
    let last = &statuses[4];
    assert_eq!(error_of(last).await.0, 429);
    assert!(
        last.header("retry-after")
            .expect("retry-after")
            .parse::<u64>()
            .expect("seconds")
            >= 1
    );
}
both!(a_flood_of_requests_gets_429_with_retry_after);

async fn the_configurator_shows_provisioning_and_how_groups_match(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, token) =
        scim_account(&app, "admin@acme-corp.com", "Acme", "acme-corp.com").await;
    let r = admin
        .call(
            "integration/change",
            &[
                ("action", "groups"),
                ("admins_group_name", "Portal Admins"),
                ("admins_group_id", "0b1c2d3e-aaaa-4bbb-8ccc-123456789abc"),
                ("desktop_group_name", "Desktop Users"),
                ("desktop_group_id", "okta-sends-no-id"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let alice = create(&mut admin, &token, "alice@acme-corp.com").await;
    // Entra: the group carries the object ID as externalId, under another name
    let r = scim(
        &mut admin,
        &token,
        "POST",
        "/Groups",
        Some(&json!({"displayName": "Renamed admins", "externalId": "0b1c2d3e-aaaa-4bbb-8ccc-123456789abc"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Okta: no ID, same name (a name differing only in case does not match)
    let r = scim(
        &mut admin,
        &token,
        "POST",
        "/Groups",
        Some(&json!({"displayName": "Desktop Users", "members": [{"value": alice}]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let _ = scim(&mut admin, &token, "GET", "/Users?filter=bad", None).await;

    app.state.scim_log.flush().await;
    let v = admin.call("integration", &[]).await.json();
    let admins = v["groups"]["admins_match"].as_str().expect("admins match");
    assert!(
        admins.contains("Renamed admins") && admins.contains("by its ID"),
        "{admins}"
    );
    let desktop = v["groups"]["desktop_match"]
        .as_str()
        .expect("desktop match");
    assert!(desktop.contains("by its name only"), "{desktop}");
    assert_eq!(
        (
            v["scim"]["users"].as_i64(),
            v["scim"]["active_users"].as_i64(),
            v["scim"]["groups"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );
    let requests = v["scim"]["requests"].as_array().expect("log");
    assert_eq!(requests[0]["status"], 400, "newest first: {}", requests[0]);
    assert!(requests[0]["error"].as_str().expect("error").len() > 5);
    assert!(requests
        .iter()
        .any(|r| r["method"] == "POST" && r["path"] == "/scim/v2/Groups" && r["status"] == 201));

    // and the page renders them for the admin
    let page = admin.get("/profile/business/idp_integration").await;
    assert!(page
        .body
        .contains("Provisioned: 1 users (1 active), 2 groups."));
    assert!(page.body.contains("matches by its ID"));
}
both!(the_configurator_shows_provisioning_and_how_groups_match);
