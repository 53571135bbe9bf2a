//! "Continue with SSO" end to end through the router: the AuthnRequest, the IdP's signed answer
//! (our test IdP), the ACS, the session and its rights; password sign-in while SSO is active;
//! Test SSO; and refusals recorded for the admin.

use crate::both;
use crate::saml_idp::{keys, Tpl, IDP};
use crate::support::{business_admin, verified_user, Backend, Client, Response, TestApp, PASSWORD};
use axum::body::Body;
use base64::Engine as _;
use http::Request;
use serde_json::Value;

pub(crate) const DOMAIN: &str = "acme-corp.com";
pub(crate) const SSO_URL: &str = "https://idp.example.test/sso";

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

async fn change(c: &mut Client, fields: &[(&str, &str)]) {
    let r = c.call("integration/change", fields).await;
    assert_eq!(r.status, 200, "{fields:?}: {}", r.body);
}

/// An account with all seven steps done and the integration active; returns the admin and
/// the business id.
pub(crate) async fn active_account(app: &TestApp) -> (Client, String) {
    // the test IdP's certificate starts today: move the clock there
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    app.state
        .clock
        .advance(real_now + 3600 - app.state.clock.now());
    let mut admin = business_admin(app, &format!("admin@{DOMAIN}"), "Acme").await;
    change(&mut admin, &[("action", "start")]).await;
    change(&mut admin, &[("action", "add_domain"), ("domain", DOMAIN)]).await;
    let v = admin.call("integration", &[]).await.json();
    let d = &v["domains"][0];
    app.dns.set_txt(
        d["record_name"].as_str().expect("name"),
        &[d["record_value"].as_str().expect("value")],
    );
    change(
        &mut admin,
        &[("action", "verify_domain"), ("domain", DOMAIN)],
    )
    .await;
    change(
        &mut admin,
        &[("action", "app_registered"), ("done", "true")],
    )
    .await;
    change(
        &mut admin,
        &[
            ("action", "groups"),
            ("admins_group_name", "SG-Admins"),
            ("admins_group_id", "g-admins"),
            ("desktop_group_name", "SG-Desktop"),
            ("desktop_group_id", "g-desktop"),
        ],
    )
    .await;
    change(
        &mut admin,
        &[
            ("action", "saml"),
            ("idp_entity_id", IDP),
            ("idp_sso_url", SSO_URL),
        ],
    )
    .await;
    change(
        &mut admin,
        &[
            ("action", "add_certificate"),
            ("certificate", &pem(&keys().0.cert_der)),
        ],
    )
    .await;
    change(&mut admin, &[("action", "scim")]).await;
    change(&mut admin, &[("action", "users_added"), ("done", "true")]).await;
    change(
        &mut admin,
        &[
            ("action", "backup_login"),
            ("backup_login", &format!("admin@{DOMAIN}")),
        ],
    )
    .await;
    change(&mut admin, &[("action", "activate")]).await;
    let v = admin.call("integration", &[]).await.json();
    assert_eq!(v["active"], true, "{v}");
    let business = v["saml"]["sp_entity_id"]
        .as_str()
        .expect("entity")
        .rsplit('/')
        .next()
        .expect("id")
        .to_string();
    (admin, business)
}

pub(crate) async fn post_form(c: &mut Client, path: &str, form: &[(&str, &str)]) -> Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let req = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", crate::support::PUBLIC_URL)
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request");
    c.send(req).await
}

/// The IdP URL of our hand-over page (a page, not a redirect: see `saml::routes`).
fn idp_url(r: &Response) -> url::Url {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("http-equiv=\"refresh\""), "{}", r.body);
    let href = r
        .body
        .split("data-testid=\"idp-url\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the IdP link")
        .replace("&amp;", "&");
    url::Url::parse(&href).expect("url")
}

/// Continue with SSO: returns the pending request's id (the RelayState we set).
async fn start_sso(c: &mut Client, email: &str) -> String {
    let r = post_form(c, "/sso/start", &[("email", email)]).await;
    let location = idp_url(&r);
    assert!(location.as_str().starts_with(SSO_URL), "{location}");
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert!(pairs.iter().any(|(k, _)| k == "SAMLRequest"));
    let cookie = r.header("set-cookie").expect("binding cookie");
    assert!(
        cookie.starts_with("sg_saml=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    pairs
        .into_iter()
        .find(|(k, _)| k == "RelayState")
        .expect("RelayState")
        .1
}

pub(crate) fn response_for(
    app: &TestApp,
    business: &str,
    request_id: &str,
    email: &str,
    groups: &[&str],
) -> Tpl {
    let now = app.state.clock.now();
    let sp = format!("{}/saml/{business}", crate::support::PUBLIC_URL);
    let acs = format!("{sp}/acs");
    let mut t = Tpl {
        response_id: format!("_r{}", uuid::Uuid::new_v4().simple()),
        assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
        destination: Some(acs.clone()),
        recipient: acs,
        audience: Some(sp),
        response_irt: Some(request_id.to_string()),
        scd_irt: Some(request_id.to_string()),
        name_id: email.to_string(),
        not_before: now - 60,
        not_on_or_after: now + 300,
        scd_not_on_or_after: now + 300,
        ..Tpl::default()
    };
    t.attributes = vec![
        ("displayname".into(), vec!["Test Person".into()]),
        (
            "groups".into(),
            groups.iter().map(|g| g.to_string()).collect(),
        ),
        ("name".into(), vec![email.to_string()]),
        ("objectidentifier".into(), vec![format!("oid-{email}")]),
    ];
    t
}

pub(crate) async fn post_acs(c: &mut Client, business: &str, xml: &str) -> Response {
    let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
    post_form(
        c,
        &format!("/saml/{business}/acs"),
        &[("SAMLResponse", &b64), ("RelayState", "x")],
    )
    .await
}

/// A refusal as the person sees it: a plain error page and nobody signed in; and `want`, its
/// category, on record for the admin.
async fn assert_refused(
    app: &TestApp,
    c: &mut Client,
    business: &str,
    r: Response,
    want: &str,
    name: &str,
) {
    assert_eq!(r.status, 403, "{name}: {}", r.body);
    assert!(
        r.body.contains("data-testid=\"sso-error\""),
        "{name}: a plain error page"
    );
    assert!(me(c).await.is_null(), "{name}: nobody signed in");
    let last = last_attempt(app, business).await;
    assert_eq!(
        last.category.as_deref(),
        Some(want),
        "{name}: {:?}",
        last.detail
    );
}

/// The newest SSO attempt on record for `business`.
async fn last_attempt(app: &TestApp, business: &str) -> seatgate::store::saml::SamlAttemptRow {
    let mut newest = app
        .state
        .saml_log
        .newest(business, 1)
        .await
        .expect("attempts");
    assert!(!newest.is_empty(), "no attempt on record");
    newest.remove(0)
}

async fn me(c: &mut Client) -> Value {
    c.call("me", &[]).await.json()
}

async fn sso_signs_in_admins_and_desktop_users_with_their_rights(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;

    // a member of the admins group (matched by ID) gets an admin session
    let mut alice = app.client();
    let request = start_sso(&mut alice, &format!("Alice@{DOMAIN}")).await;
    let t = response_for(
        &app,
        &business,
        &request,
        &format!("alice@{DOMAIN}"),
        &["g-admins", "g-desktop"],
    );
    let signed = t.signed();
    let r = post_acs(&mut alice, &business, &signed).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location").as_deref(), Some("/dashboard"));
    let m = me(&mut alice).await;
    assert_eq!(m["email"], format!("alice@{DOMAIN}"));
    assert_eq!(m["workspace"], "business", "{m}");
    assert_eq!(m["business"]["role"], "admin", "{m}");
    assert_eq!(alice.call("integration", &[]).await.status, 200);

    // the same response again: the request is spent
    let r = post_acs(&mut alice, &business, &signed).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // the same assertion ID answering a new request: the replay cache refuses it
    let mut again = app.client();
    let request2 = start_sso(&mut again, &format!("alice@{DOMAIN}")).await;
    let mut t2 = response_for(
        &app,
        &business,
        &request2,
        &format!("alice@{DOMAIN}"),
        &["g-admins"],
    );
    t2.assertion_id = t.assertion_id.clone();
    let r = post_acs(&mut again, &business, &t2.signed()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(me(&mut again).await.is_null());

    // a desktop user only (matched by name) signs in without admin rights
    let mut bob = app.client();
    let request = start_sso(&mut bob, &format!("bob@{DOMAIN}")).await;
    let t = response_for(
        &app,
        &business,
        &request,
        &format!("bob@{DOMAIN}"),
        &["SG-Desktop"],
    );
    let r = post_acs(&mut bob, &business, &t.signed()).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let m = me(&mut bob).await;
    assert_eq!(m["business"]["role"], "user", "{m}");
    assert_eq!(bob.call("integration", &[]).await.status, 403);

    // the attempts are on record for the admin
    let attempts = app
        .state
        .saml_log
        .newest(&business, 10)
        .await
        .expect("attempts");
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[1].category.as_deref(), Some("replay"));
    assert_eq!(attempts[2].category.as_deref(), Some("unknown_request"));
    assert!(
        attempts
            .iter()
            .all(|a| a.raw_xml.as_deref().is_some_and(|x| !x.contains("alice"))),
        "raw XML is sealed"
    );
    let opened = app
        .state
        .secret
        .open(attempts[0].raw_xml.as_deref().expect("sealed"))
        .expect("opens");
    assert!(String::from_utf8_lossy(&opened).contains(&format!("bob@{DOMAIN}")));
    let page = admin.get("/profile/business/idp_integration").await;
    assert!(page.body.contains("SSO attempts") && page.body.contains("replay"));
    let dl = admin
        .get(&format!("/saml/{business}/attempts/{}/xml", attempts[0].id))
        .await;
    assert_eq!(dl.status, 200);
    assert!(dl.body.contains("bob@"));
    assert_eq!(
        bob.get(&format!("/saml/{business}/attempts/{}/xml", attempts[0].id))
            .await
            .status,
        404,
        "not for non-admins"
    );
}
both!(sso_signs_in_admins_and_desktop_users_with_their_rights);

async fn sso_refusals_are_specific_and_sign_nobody_in(b: Backend) {
    let app = TestApp::new(b).await;
    let (_admin, business) = active_account(&app).await;
    let email = format!("carol@{DOMAIN}");

    struct Case {
        name: &'static str,
        edit: fn(&mut Tpl),
        want: &'static str,
    }
    let cases = [
        Case {
            name: "wrong audience",
            edit: |t| t.audience = Some("https://other.example/sp".into()),
            want: "wrong_audience",
        },
        Case {
            name: "wrong issuer",
            edit: |t| t.issuer = "https://evil.example/idp".into(),
            want: "wrong_issuer",
        },
        Case {
            name: "wrong recipient",
            edit: |t| t.recipient = "https://evil.example/acs".into(),
            want: "wrong_recipient",
        },
        Case {
            name: "expired",
            edit: |t| {
                t.not_on_or_after -= 3600;
                t.scd_not_on_or_after -= 3600;
                t.not_before -= 3600;
            },
            want: "expired",
        },
        Case {
            name: "outside the verified domains",
            edit: |t| t.name_id = "carol@elsewhere.example".into(),
            want: "domain_not_verified",
        },
    ];
    for case in cases {
        let mut c = app.client();
        let request = start_sso(&mut c, &email).await;
        let mut t = response_for(&app, &business, &request, &email, &["g-admins"]);
        (case.edit)(&mut t);
        let r = post_acs(&mut c, &business, &t.signed()).await;
        assert_refused(&app, &mut c, &business, r, case.want, case.name).await;
        // the refused response used its request up: a good answer to it is refused too
        let good = response_for(&app, &business, &request, &email, &["g-admins"]);
        let r = post_acs(&mut c, &business, &good.signed()).await;
        assert_refused(&app, &mut c, &business, r, "unknown_request", case.name).await;
    }

    // signed by another key
    let mut c = app.client();
    let request = start_sso(&mut c, &email).await;
    let t = response_for(&app, &business, &request, &email, &[]);
    let r = post_acs(&mut c, &business, &t.signed_with(&keys().1)).await;
    assert_eq!(r.status, 403);
    let last = &last_attempt(&app, &business).await;
    assert_eq!(last.category.as_deref(), Some("bad_signature"));

    // the response in another browser than the one that started
    let mut starter = app.client();
    let request = start_sso(&mut starter, &email).await;
    let t = response_for(&app, &business, &request, &email, &[]);
    let mut thief = app.client();
    let r = post_acs(&mut thief, &business, &t.signed()).await;
    assert_eq!(r.status, 403);
    let last = &last_attempt(&app, &business).await;
    assert_eq!(last.category.as_deref(), Some("browser_mismatch"));

    // IdP-initiated (no InResponseTo) is refused
    let mut t = response_for(&app, &business, "x", &email, &[]);
    t.response_irt = None;
    t.scd_irt = None;
    let r = post_acs(&mut app.client(), &business, &t.signed()).await;
    assert_eq!(r.status, 403);
    let last = &last_attempt(&app, &business).await;
    assert_eq!(last.category.as_deref(), Some("unsolicited"));

    // unknown domains and inactive integrations get a clear message, nothing else
    let r = post_form(
        &mut app.client(),
        "/sso/start",
        &[("email", "dave@unknown.example")],
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .expect("loc")
        .contains("sso_error=unknown_domain"));
    let page = app.client().get("/signin?sso_error=unknown_domain").await;
    assert!(page
        .body
        .contains("Single sign-on is not set up for this email domain"));
}
both!(sso_refusals_are_specific_and_sign_nobody_in);

async fn password_sign_in_is_refused_for_sso_domains_except_the_backup_login(b: Backend) {
    let app = TestApp::new(b).await;
    // a domain user who had a password before SSO was switched on
    let _erin = verified_user(&app, &format!("erin@{DOMAIN}")).await;
    let (_admin, _business) = active_account(&app).await;
    let signin = |email: String| {
        let mut c = app.client();
        async move {
            c.call(
                "signin",
                &[("email", email.as_str()), ("password", PASSWORD)],
            )
            .await
        }
    };
    let r = signin(format!("erin@{DOMAIN}")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("use Continue with SSO"), "{}", r.body);
    let r = signin(format!("admin@{DOMAIN}")).await;
    assert_eq!(r.status, 200, "the backup login keeps working: {}", r.body);
}
both!(password_sign_in_is_refused_for_sso_domains_except_the_backup_login);

async fn test_sso_reports_without_a_session(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let r = post_form(&mut admin, "/sso/test", &[]).await;
    let location = idp_url(&r);
    let request = location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .expect("relay")
        .1
        .to_string();
    // the admin's browser now carries the binding cookie instead of the session in this
    // test client; a real browser keeps both (different paths)
    let t = response_for(
        &app,
        &business,
        &request,
        &format!("admin@{DOMAIN}"),
        &["g-admins"],
    );
    let r = post_acs(&mut admin, &business, &t.signed()).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r
        .header("location")
        .expect("loc")
        .ends_with("?sso_test=passed"));
    let last = &last_attempt(&app, &business).await;
    assert_eq!(
        (last.purpose.as_str(), last.outcome.as_str()),
        ("test", "ok")
    );
}
both!(test_sso_reports_without_a_session);

async fn idp_initiated_sign_in_only_when_the_admin_allows_it(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let email = format!("frank@{DOMAIN}");
    let unsolicited = || {
        let mut t = response_for(&app, &business, "none", &email, &["g-desktop"]);
        t.response_irt = None;
        t.scd_irt = None;
        t.signed()
    };
    let xml = unsolicited();
    let mut c = app.client();
    assert_eq!(post_acs(&mut c, &business, &xml).await.status, 403);
    assert!(me(&mut c).await.is_null());

    change(
        &mut admin,
        &[("action", "allow_unsolicited"), ("done", "true")],
    )
    .await;
    let v = admin.call("integration", &[]).await.json();
    assert_eq!(v["saml"]["allow_unsolicited"], true);
    let xml = unsolicited();
    let r = post_acs(&mut c, &business, &xml).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(me(&mut c).await["business"]["role"], "user");
    // the same assertion a second time is a replay
    let mut other = app.client();
    assert_eq!(post_acs(&mut other, &business, &xml).await.status, 403);
    let last = &last_attempt(&app, &business).await;
    assert_eq!(last.category.as_deref(), Some("replay"));
}
both!(idp_initiated_sign_in_only_when_the_admin_allows_it);

async fn with_scim_on_the_directory_decides_rights_and_deprovisioning(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    // SCIM back on (a token first), while active: step 5 stays green once confirmed
    let r = admin.call("integration/scim_token", &[]).await;
    let token: String = serde_json::from_str(&r.body).expect("token");
    change(&mut admin, &[("action", "deactivate")]).await;
    change(
        &mut admin,
        &[("action", "scim"), ("enabled", "true"), ("done", "true")],
    )
    .await;
    change(&mut admin, &[("action", "activate")]).await;

    let scim = |method: &'static str, path: String, body: serde_json::Value| {
        let token = token.clone();
        let mut c = app.client();
        async move {
            let req = Request::builder()
                .method(method)
                .uri(format!("/scim/v2{path}"))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/scim+json")
                .body(Body::from(body.to_string()))
                .expect("request");
            c.send(req).await
        }
    };
    let grace = format!("grace@{DOMAIN}");
    let r = scim(
        "POST",
        "/Users".into(),
        serde_json::json!({"userName": grace, "active": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_string();
    // the admins group as Entra provisions it: externalId = the ID of step 3
    let r = scim(
        "POST",
        "/Groups".into(),
        serde_json::json!({"displayName": "Portal admins", "externalId": "g-admins", "members": [{"value": id}]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // the SAML groups attribute says nothing; SCIM membership makes Grace an admin
    let mut c = app.client();
    let request = start_sso(&mut c, &grace).await;
    let t = response_for(&app, &business, &request, &grace, &[]);
    assert_eq!(post_acs(&mut c, &business, &t.signed()).await.status, 303);
    assert_eq!(me(&mut c).await["business"]["role"], "admin");

    // deprovisioned: her session ends and she cannot sign in again
    let r = scim(
        "PATCH",
        format!("/Users/{id}"),
        serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(me(&mut c).await.is_null());
    let mut c = app.client();
    let request = start_sso(&mut c, &grace).await;
    let t = response_for(&app, &business, &request, &grace, &["g-admins"]);
    let r = post_acs(&mut c, &business, &t.signed()).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("deactivated by your organisation"));
    let last = &last_attempt(&app, &business).await;
    assert_eq!(last.category.as_deref(), Some("user_deactivated"));
}
both!(with_scim_on_the_directory_decides_rights_and_deprovisioning);

async fn signed_authn_requests_verify_with_the_certificate_in_our_metadata(b: Backend) {
    let app = TestApp::new(b).await;
    let (mut admin, business) = active_account(&app).await;
    let md = admin.get(&format!("/saml/{business}/metadata")).await.body;
    assert!(
        md.contains("AuthnRequestsSigned=\"false\"") && !md.contains("X509Certificate"),
        "{md}"
    );

    // turned on: a key is made and its certificate published
    let r = admin
        .call(
            "integration/change",
            &[("action", "sign_requests"), ("done", "true")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let md = admin.get(&format!("/saml/{business}/metadata")).await.body;
    assert!(md.contains("AuthnRequestsSigned=\"true\""), "{md}");
    let cert_b64 = md
        .split("<ds:X509Certificate>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the signing certificate");
    let cert = openssl::x509::X509::from_der(
        &base64::engine::general_purpose::STANDARD
            .decode(cert_b64)
            .expect("base64"),
    )
    .expect("a certificate");
    let public = cert.public_key().expect("key");
    assert!(
        app.state
            .db
            .sp_signing_key(&business)
            .await
            .expect("db")
            .is_some_and(|(sealed, _)| !sealed.contains("PRIVATE")),
        "sealed at rest"
    );

    // the redirect carries SigAlg and a Signature over the query before it (bindings §3.4.4.1)
    let mut carol = app.client();
    let r = post_form(
        &mut carol,
        "/sso/start",
        &[("email", &format!("carol@{DOMAIN}"))],
    )
    .await;
    let url = idp_url(&r);
    let query = url.query().expect("query").to_string();
    let (signed_part, signature) = query.split_once("&Signature=").expect("signed");
    assert!(signed_part.starts_with("SAMLRequest=") && signed_part.contains("&RelayState="));
    assert!(
        signed_part
            .ends_with("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"),
        "{signed_part}"
    );
    let signature: String = url::form_urlencoded::parse(format!("s={signature}").as_bytes())
        .next()
        .expect("pair")
        .1
        .into_owned();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .expect("base64");
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public)
            .expect("verifier");
    verifier.update(signed_part.as_bytes()).expect("update");
    assert!(
        verifier.verify(&signature).expect("verify"),
        "the signature verifies with the published certificate"
    );
    let mut tampered =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &public)
            .expect("verifier");
    tampered
        .update(
            signed_part
                .replace("RelayState=", "RelayState=x")
                .as_bytes(),
        )
        .expect("update");
    assert!(!tampered.verify(&signature).expect("verify"));

    // sign-in completes as before
    let request = url
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .expect("relay")
        .1
        .into_owned();
    let t = response_for(
        &app,
        &business,
        &request,
        &format!("carol@{DOMAIN}"),
        &["g-desktop"],
    );
    let r = post_acs(&mut carol, &business, &t.signed()).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // off again: unsigned requests; the same key comes back when turned on again
    let r = admin
        .call("integration/change", &[("action", "sign_requests")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_form(
        &mut app.client(),
        "/sso/start",
        &[("email", &format!("dan@{DOMAIN}"))],
    )
    .await;
    assert!(idp_url(&r).query_pairs().all(|(k, _)| k != "Signature"));
    assert!(admin
        .get(&format!("/saml/{business}/metadata"))
        .await
        .body
        .contains("AuthnRequestsSigned=\"false\""));
    let r = admin
        .call(
            "integration/change",
            &[("action", "sign_requests"), ("done", "true")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        admin
            .get(&format!("/saml/{business}/metadata"))
            .await
            .body
            .contains(cert_b64),
        "the key is kept"
    );
}
both!(signed_authn_requests_verify_with_the_certificate_in_our_metadata);

async fn people_are_matched_by_their_idp_object_id_before_their_email(b: Backend) {
    let app = TestApp::new(b).await;
    let (_admin, business) = active_account(&app).await;
    let sign_in = |email: String, oid: &'static str| {
        let app = &app;
        let business = business.clone();
        async move {
            let mut c = app.client();
            let request = start_sso(&mut c, &email).await;
            let mut t = response_for(app, &business, &request, &email, &["g-desktop"]);
            for (name, values) in t.attributes.iter_mut() {
                if name == "objectidentifier" {
                    *values = vec![oid.to_string()];
                }
            }
            let r = post_acs(&mut c, &business, &t.signed()).await;
            (r, c)
        }
    };
    let (r, mut first) = sign_in(format!("erin@{DOMAIN}"), "obj-erin").await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(me(&mut first).await["email"], format!("erin@{DOMAIN}"));
    let id = app
        .state
        .db
        .user_by_email(&format!("erin@{DOMAIN}"))
        .await
        .expect("db")
        .expect("erin")
        .id;

    // the IdP renames Erin: same object, new address; same account, address follows
    let (r, mut renamed) = sign_in(format!("erin.smith@{DOMAIN}"), "obj-erin").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let m = me(&mut renamed).await;
    assert_eq!(m["email"], format!("erin.smith@{DOMAIN}"), "{m}");
    let now_named = app
        .state
        .db
        .user_by_email(&format!("erin.smith@{DOMAIN}"))
        .await
        .expect("db")
        .expect("renamed");
    assert_eq!(now_named.id, id, "the same account");
    assert!(app
        .state
        .db
        .user_by_email(&format!("erin@{DOMAIN}"))
        .await
        .expect("db")
        .is_none());

    // another IdP object presenting Erin's (new) address is not Erin
    let (r, mut other) = sign_in(format!("erin.smith@{DOMAIN}"), "obj-someone-else").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(me(&mut other).await.is_null());
    assert_eq!(
        last_attempt(&app, &business).await.category.as_deref(),
        Some("object_id_mismatch")
    );

    // a rename onto an address another member holds is refused, not merged
    let (r, _) = sign_in(format!("fred@{DOMAIN}"), "obj-fred").await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (r, _) = sign_in(format!("fred@{DOMAIN}"), "obj-erin").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        last_attempt(&app, &business).await.category.as_deref(),
        Some("email_conflict")
    );
}
both!(people_are_matched_by_their_idp_object_id_before_their_email);

/// A sign-in through the ACS for `email` with `groups`, in a browser of its own.
async fn sign_in_as(
    app: &TestApp,
    business: &str,
    email: &str,
    groups: &[&str],
) -> (Response, Client) {
    let mut c = app.client();
    let request = start_sso(&mut c, email).await;
    let t = response_for(app, business, &request, email, groups);
    let r = post_acs(&mut c, business, &t.signed()).await;
    (r, c)
}

async fn returning_members_sign_in_again_and_their_rights_follow_the_idp(b: Backend) {
    let app = TestApp::new(b).await;
    let (_admin, business) = active_account(&app).await;
    let henry = format!("henry@{DOMAIN}");
    let user = |email: String| {
        let db = app.state.db.clone();
        async move { db.user_by_email(&email).await.expect("db").expect("user") }
    };

    // first sight: an admin, the user stored with their sign-in time
    let (r, mut first) = sign_in_as(&app, &business, &henry, &["g-admins"]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(me(&mut first).await["business"]["role"], "admin");
    let stored = user(henry.clone()).await;
    assert_eq!(stored.last_sign_in_at, Some(app.state.clock.now()));

    // back later, unchanged at the IdP: the same account, a second session beside the first
    app.state.clock.advance(120);
    let (r, mut second) = sign_in_as(&app, &business, &henry, &["g-admins"]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let m = me(&mut second).await;
    assert_eq!(m["business"]["role"], "admin", "{m}");
    assert_eq!(m["email"], henry, "{m}");
    let again = user(henry.clone()).await;
    assert_eq!(again.id, stored.id, "the same account");
    assert_eq!(again.last_sign_in_at, Some(app.state.clock.now()));
    assert_eq!(
        me(&mut first).await["email"],
        henry,
        "the first session lives on"
    );

    // out of the admins group at the IdP: the next sign-in has no admin rights, and stays so
    for _ in 0..2 {
        let (r, mut c) = sign_in_as(&app, &business, &henry, &["g-desktop"]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(me(&mut c).await["business"]["role"], "user");
        assert_eq!(c.call("integration", &[]).await.status, 403);
    }

    // someone new signing in from two browsers at the same moment: both get in, as one person
    let ivy = format!("ivy@{DOMAIN}");
    let ((r1, mut c1), (r2, mut c2)) = tokio::join!(
        sign_in_as(&app, &business, &ivy, &["g-desktop"]),
        sign_in_as(&app, &business, &ivy, &["g-desktop"]),
    );
    assert_eq!(
        (r1.status, r2.status),
        (303, 303),
        "{} / {}",
        r1.body,
        r2.body
    );
    assert_eq!(me(&mut c1).await["email"], ivy);
    assert_eq!(me(&mut c2).await["email"], ivy);
    let members = app.state.db.members(&business).await.expect("members");
    assert_eq!(
        members.iter().filter(|m| m.email == ivy).count(),
        1,
        "one membership"
    );
}
both!(returning_members_sign_in_again_and_their_rights_follow_the_idp);
