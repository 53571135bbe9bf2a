//! The IdP Integration configurator: steps, DNS-verified domains, activation, isolation.

use crate::both;
use crate::support::{business_admin, joined_member, Backend, Client, TestApp, PASSWORD};
use serde_json::Value;

async fn change(c: &mut Client, action: &str, fields: &[(&str, &str)]) -> crate::support::Response {
    let mut form = vec![("action", action)];
    form.extend_from_slice(fields);
    c.call("integration/change", &form).await
}

async fn view(c: &mut Client) -> Value {
    let r = c.call("integration", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn steps(v: &Value) -> Vec<bool> {
    v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["done"].as_bool().expect("bool"))
        .collect()
}

fn domain<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing: {v}"))
}

/// Adds a domain and returns (record name, record value) to publish.
async fn add(c: &mut Client, name: &str) -> (String, String) {
    let r = change(c, "add_domain", &[("domain", name)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(c).await;
    let d = v["domains"]
        .as_array()
        .expect("domains")
        .last()
        .expect("the added domain");
    (
        d["record_name"].as_str().expect("name").into(),
        d["record_value"].as_str().expect("value").into(),
    )
}

async fn started_admin(app: &TestApp, email: &str, org: &str) -> Client {
    let mut c = business_admin(app, email, org).await;
    let before = view(&mut c).await;
    assert_eq!(before["started"], false);
    let r = change(&mut c, "start", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/profile/business/idp_integration")
    );
    c
}

async fn a_verified_domain_turns_step_one_green(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    let v = view(&mut c).await;
    assert_eq!(steps(&v), [false, false, false, false, false, false, false]);
    assert_eq!(v["events"][0]["what"], "Started configuring");

    let (name, value) = add(&mut c, " Acme-Corp.COM. ").await;
    assert_eq!(name, "_seatgate-verification.acme-corp.com");
    assert!(value.starts_with("seatgate-verification="));
    assert_eq!(
        domain(&view(&mut c).await, "acme-corp.com")["status"],
        "pending"
    );

    // several TXT records at the name: ours among them is enough
    app.dns.set_txt(&name, &["v=spf1 -all", &value]);
    let r = change(&mut c, "verify_domain", &[("domain", "acme-corp.com")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&mut c).await;
    let d = domain(&v, "acme-corp.com");
    assert_eq!(d["status"], "verified");
    assert!(d["last_check"].as_str().expect("time").contains("UTC"));
    assert!(steps(&v)[0], "step 1 green");
    let whats: Vec<&str> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["what"].as_str())
        .collect();
    assert!(
        whats.contains(&"Verified domain acme-corp.com")
            && whats.contains(&"Added domain acme-corp.com"),
        "{whats:?}"
    );
    assert_eq!(v["events"][0]["who"], "admin@acme-corp.com");

    // a second, pending domain turns the card grey again while inactive
    add(&mut c, "acme-corp.org").await;
    assert!(!steps(&view(&mut c).await)[0]);
}
both!(a_verified_domain_turns_step_one_green);

async fn failed_lookups_say_what_was_found(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    let (name, _) = add(&mut c, "acme-corp.com").await;

    let r = change(&mut c, "verify_domain", &[("domain", "acme-corp.com")]).await;
    assert_eq!(r.status, 200);
    let v = view(&mut c).await;
    let d = domain(&v, "acme-corp.com");
    assert_eq!(d["status"], "pending");
    assert!(
        d["last_outcome"]
            .as_str()
            .expect("outcome")
            .contains("No TXT record found"),
        "{d}"
    );

    app.dns
        .set_txt(&name, &["seatgate-verification=someone-elses-token"]);
    change(&mut c, "verify_domain", &[("domain", "acme-corp.com")]).await;
    let v = view(&mut c).await;
    let d = domain(&v, "acme-corp.com");
    assert_eq!(d["status"], "pending");
    assert!(
        d["last_outcome"]
            .as_str()
            .expect("outcome")
            .contains("none has the expected value"),
        "{d}"
    );
    assert_eq!(d["found"][0], "seatgate-verification=someone-elses-token");

    app.dns.mute(true);
    let r = change(&mut c, "verify_domain", &[("domain", "acme-corp.com")]).await;
    assert_eq!(
        r.status, 200,
        "a DNS timeout is not a server error: {}",
        r.body
    );
    let v = view(&mut c).await;
    assert_eq!(
        domain(&v, "acme-corp.com")["last_outcome"],
        "Could not reach DNS, try again."
    );
}
both!(failed_lookups_say_what_was_found);

async fn bad_domains_are_refused_by_field(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    for (input, why) in [
        ("gmail.com", "consumer mail"),
        ("co.uk", "public suffix"),
        ("not a domain", "domain only"),
        ("", "Enter a domain"),
    ] {
        let r = change(&mut c, "add_domain", &[("domain", input)]).await;
        assert_eq!(r.status, 400, "{input}");
        assert!(
            r.field_message("domain").expect("message").contains(why),
            "{input}: {}",
            r.body
        );
    }
    add(&mut c, "acme-corp.com").await;
    let r = change(&mut c, "add_domain", &[("domain", "ACME-corp.com")]).await;
    assert!(r
        .field_message("domain")
        .expect("message")
        .contains("already in the list"));
}
both!(bad_domains_are_refused_by_field);

async fn the_first_account_to_verify_a_domain_wins(b: Backend) {
    let app = TestApp::new(b).await;
    let mut squatter = started_admin(&app, "boss@squat.example.com", "Squatters").await;
    let mut owner = started_admin(&app, "it@acme-corp.com", "Acme").await;

    // the squatter claims the domain but cannot prove control: the claim blocks nobody
    let (name, squat_value) = add(&mut squatter, "acme-corp.com").await;
    let (_, owner_value) = add(&mut owner, "acme-corp.com").await;
    app.dns.set_txt(&name, &[&owner_value]);
    change(
        &mut squatter,
        "verify_domain",
        &[("domain", "acme-corp.com")],
    )
    .await;
    change(&mut owner, "verify_domain", &[("domain", "acme-corp.com")]).await;
    assert_eq!(
        domain(&view(&mut owner).await, "acme-corp.com")["status"],
        "verified"
    );
    assert_eq!(
        domain(&view(&mut squatter).await, "acme-corp.com")["status"],
        "taken"
    );

    // even publishing its own token later cannot take a verified domain away
    app.dns.set_txt(&name, &[&owner_value, &squat_value]);
    let r = change(
        &mut squatter,
        "verify_domain",
        &[("domain", "acme-corp.com")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&mut squatter).await;
    assert_eq!(domain(&v, "acme-corp.com")["status"], "taken");
    assert_eq!(
        domain(&v, "acme-corp.com")["last_outcome"],
        "Another business account verified this domain first."
    );
    assert!(!steps(&v)[0]);
    assert_eq!(
        domain(&view(&mut owner).await, "acme-corp.com")["status"],
        "verified"
    );
}
both!(the_first_account_to_verify_a_domain_wins);

async fn pending_domains_are_rechecked_in_the_background_then_given_up(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    let (name, value) = add(&mut c, "acme-corp.com").await;
    add(&mut c, "acme-corp.net").await;

    app.state.clock.advance(61);
    assert_eq!(
        seatgate::integration::recheck_due_domains(&app.state)
            .await
            .expect("recheck"),
        2
    );
    app.dns.set_txt(&name, &[&value]);
    // not due yet: the second attempt waits longer (back-off)
    assert_eq!(
        seatgate::integration::recheck_due_domains(&app.state)
            .await
            .expect("recheck"),
        0
    );
    app.state.clock.advance(121);
    seatgate::integration::recheck_due_domains(&app.state)
        .await
        .expect("recheck");

    c.call(
        "signin",
        &[("email", "admin@acme-corp.com"), ("password", PASSWORD)],
    )
    .await;
    let v = view(&mut c).await;
    assert_eq!(domain(&v, "acme-corp.com")["status"], "verified");
    assert!(v["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(
            |e| e["what"] == "Verified domain acme-corp.com (background check)"
                && e["who"] == "seatgate"
        ));

    app.state.clock.advance(73 * 3600);
    seatgate::integration::recheck_due_domains(&app.state)
        .await
        .expect("recheck");
    c.call(
        "signin",
        &[("email", "admin@acme-corp.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        domain(&view(&mut c).await, "acme-corp.net")["status"],
        "failed",
        "given up after 72 hours"
    );
}
both!(pending_domains_are_rechecked_in_the_background_then_given_up);

async fn steps_two_three_six_and_seven_turn_green_on_their_inputs(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;

    assert_eq!(
        change(&mut c, "app_registered", &[("done", "true")])
            .await
            .status,
        200
    );
    assert_eq!(
        change(&mut c, "users_added", &[("done", "true")])
            .await
            .status,
        200
    );

    let r = change(
        &mut c,
        "groups",
        &[
            ("admins_group_name", "SG-Admins"),
            ("admins_group_id", ""),
            ("desktop_group_name", ""),
            ("desktop_group_id", "g2"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.field_message("admins_group_id").is_some()
            && r.field_message("desktop_group_name").is_some()
    );
    let r = change(
        &mut c,
        "groups",
        &[
            ("admins_group_name", "SG-Admins"),
            ("admins_group_id", "g1"),
            ("desktop_group_name", "SG-Desktop"),
            ("desktop_group_id", "g1"),
        ],
    )
    .await;
    assert!(r
        .field_message("desktop_group_id")
        .expect("message")
        .contains("different groups"));
    let r = change(
        &mut c,
        "groups",
        &[
            ("admins_group_name", " SG-Admins "),
            ("admins_group_id", "0f9c-admins"),
            ("desktop_group_name", "SG-Desktop"),
            ("desktop_group_id", "7a1e-desktop"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = change(
        &mut c,
        "backup_login",
        &[("backup_login", "nobody@acme-corp.com")],
    )
    .await;
    assert!(r
        .field_message("backup_login")
        .expect("message")
        .contains("signed in with a password"));
    let r = change(
        &mut c,
        "backup_login",
        &[("backup_login", "Admin@Acme-Corp.com")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let v = view(&mut c).await;
    assert_eq!(steps(&v), [false, true, true, false, false, true, true]);
    assert_eq!(
        v["groups"]["admins_group_name"], "SG-Admins",
        "kept as typed, trimmed"
    );
    assert_eq!(v["backup_login"], "admin@acme-corp.com");

    // unchecking turns the card grey again (the integration is not active)
    change(&mut c, "app_registered", &[]).await;
    assert!(!steps(&view(&mut c).await)[1]);

    // activation needs every card green; the server says what is left
    let r = change(&mut c, "activate", &[]).await;
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains("1. Organisation's domains") && r.body.contains("4. SAML integration"),
        "{}",
        r.body
    );
    assert_eq!(view(&mut c).await["active"], false);

    let r = change(&mut c, "launch_missiles", &[]).await;
    assert_eq!(r.status, 400);
}
both!(steps_two_three_six_and_seven_turn_green_on_their_inputs);

async fn only_admins_of_the_account_reach_the_configurator(b: Backend) {
    let app = TestApp::new(b).await;
    let mut acme = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    add(&mut acme, "acme-corp.com").await;
    let mut globex = business_admin(&app, "admin@globex.com", "Globex").await;

    // another account's admin sees and changes only their own (not started) configuration
    let g = view(&mut globex).await;
    assert_eq!(g["business_name"], "Globex");
    assert_eq!(g["started"], false);
    assert!(!g.to_string().contains("acme-corp.com"));
    let r = change(&mut globex, "remove_domain", &[("domain", "acme-corp.com")]).await;
    assert_eq!(r.status, 409, "not started: {}", r.body);
    change(&mut globex, "start", &[]).await;
    let r = change(&mut globex, "remove_domain", &[("domain", "acme-corp.com")]).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        domain(&view(&mut acme).await, "acme-corp.com")["status"],
        "pending",
        "untouched"
    );

    // a plain member of Acme gets nothing
    let mut bob = joined_member(&app, &mut acme, "bob@acme-corp.com").await;
    let r = bob.call("integration", &[]).await;
    assert_eq!(r.status, 403);
    assert!(!r.body.contains("acme-corp.com"));
    assert_eq!(
        change(&mut bob, "add_domain", &[("domain", "evil.com")])
            .await
            .status,
        403
    );
    assert_eq!(change(&mut bob, "start", &[]).await.status, 403);
    let page = bob.get("/profile/business/idp_integration").await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains("_seatgate-verification"));

    // nor does anyone signed out
    assert_eq!(app.client().call("integration", &[]).await.status, 401);
}
both!(only_admins_of_the_account_reach_the_configurator);

async fn the_page_shows_grey_and_green_cards(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    let (name, value) = add(&mut c, "acme-corp.com").await;
    app.dns.set_txt(&name, &[&value]);
    change(&mut c, "verify_domain", &[("domain", "acme-corp.com")]).await;
    let page = c.get("/profile/business/idp_integration").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("1 of 7 steps done"), "progress shown");
    assert!(
        page.body.contains(r#"id="step-1" class="step step-done""#),
        "step 1 green"
    );
    assert!(
        page.body.contains(r#"id="step-2" class="step step-todo""#),
        "step 2 grey"
    );
    assert!(page.body.contains("Activate Integration"));
    assert!(
        page.body.contains("displayname") && page.body.contains("objectidentifier"),
        "attribute mapping shown"
    );
}
both!(the_page_shows_grey_and_green_cards);

fn okta_metadata() -> String {
    std::fs::read_to_string("tests/fixtures/saml/okta/metadata.xml").expect("fixture")
}

async fn the_saml_step_takes_metadata_or_typed_settings(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    let v = view(&mut c).await;
    let sp_entity = v["saml"]["sp_entity_id"]
        .as_str()
        .expect("sp entity")
        .to_string();
    assert!(
        sp_entity.starts_with("http://seatgate.test/saml/"),
        "{sp_entity}"
    );
    assert_eq!(v["saml"]["acs_url"], format!("{sp_entity}/acs"));

    // our SP metadata, for the IdP
    let md = c
        .get(&format!(
            "{}/metadata",
            sp_entity.trim_start_matches("http://seatgate.test")
        ))
        .await;
    assert_eq!(md.status, 200);
    assert!(md
        .header("content-type")
        .expect("type")
        .contains("samlmetadata+xml"));
    assert!(md.body.contains(&format!(r#"entityID="{sp_entity}""#)));
    assert_eq!(c.get("/saml/no-such-account/metadata").await.status, 404);

    // typed settings are checked field by field
    let r = change(
        &mut c,
        "saml",
        &[
            ("idp_entity_id", "has space"),
            ("idp_sso_url", "http://idp.example.com/sso"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.field_message("idp_entity_id").is_some()
            && r.field_message("idp_sso_url")
                .expect("url")
                .contains("https")
    );
    let r = change(
        &mut c,
        "add_certificate",
        &[("certificate", "not a certificate")],
    )
    .await;
    assert!(
        r.field_message("certificate")
            .expect("message")
            .contains("not"),
        "{}",
        r.body
    );
    let ping = std::fs::read_to_string("tests/fixtures/saml/ping/metadata.xml").expect("fixture");
    let r = change(&mut c, "import_metadata", &[("metadata_xml", &ping)]).await;
    assert_eq!(
        r.status, 400,
        "Ping's only certificate expired in 2024: {}",
        r.body
    );
    assert!(
        r.field_message("metadata_xml")
            .expect("message")
            .contains("expired"),
        "{}",
        r.body
    );
    assert!(!steps(&view(&mut c).await)[3]);

    // metadata from a real Okta tenant fills entity ID, SSO URL and certificate
    let r = change(
        &mut c,
        "import_metadata",
        &[("metadata_xml", &okta_metadata())],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&mut c).await;
    assert_eq!(
        v["saml"]["idp_entity_id"],
        "http://www.okta.com/exkdoocxa1VmjpXmX697"
    );
    assert!(v["saml"]["idp_sso_url"]
        .as_str()
        .expect("url")
        .starts_with("https://"));
    let cert = &v["saml"]["certificates"][0];
    assert_eq!(cert["expired"], false);
    assert_eq!(cert["fingerprint"].as_str().expect("fp").len(), 95);
    assert!(steps(&v)[3], "step 4 green");

    // the same certificate again is refused; removing it turns the card grey
    let der = crate::support::okta_certificate();
    let r = change(&mut c, "add_certificate", &[("certificate", &der)]).await;
    assert!(r
        .field_message("certificate")
        .expect("message")
        .contains("already"));
    let fp = cert["fingerprint"].as_str().expect("fp").to_string();
    assert_eq!(
        change(&mut c, "remove_certificate", &[("fingerprint", &fp)])
            .await
            .status,
        200
    );
    assert!(!steps(&view(&mut c).await)[3]);
    // a PEM pasted by hand works too
    let pem = format!("-----BEGIN CERTIFICATE-----\n{der}\n-----END CERTIFICATE-----");
    assert_eq!(
        change(&mut c, "add_certificate", &[("certificate", &pem)])
            .await
            .status,
        200
    );
    assert!(steps(&view(&mut c).await)[3]);
}
both!(the_saml_step_takes_metadata_or_typed_settings);

async fn scim_tokens_are_shown_once_and_replaced_with_a_grace_period(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    let v = view(&mut c).await;
    assert_eq!(v["scim"]["enabled"], true, "SCIM support is on by default");
    assert_eq!(v["scim"]["base_url"], "http://seatgate.test/scim/v2");
    assert!(!steps(&v)[4]);

    let r = change(&mut c, "scim", &[("enabled", "true"), ("done", "true")]).await;
    assert!(r
        .field_message("done")
        .expect("message")
        .contains("Generate the bearer token"));

    let first = c.call("integration/scim_token", &[]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first: String = serde_json::from_str(&first.body).expect("token");
    assert!(first.starts_with("sgscim_") && first.len() > 40);
    let v = view(&mut c).await;
    assert!(
        !v.to_string().contains(&first),
        "the token is never shown again"
    );
    assert!(first.ends_with(
        v["scim"]["token_hint"]
            .as_str()
            .expect("hint")
            .trim_start_matches('\u{2026}')
    ));
    let owner = |t: &str| {
        let hash = app.state.secret.hash_token(t);
        let db = app.state.db.clone();
        let now = app.state.clock.now();
        async move { db.scim_token_owner(&hash, now).await.expect("lookup") }
    };
    let business = owner(&first).await.expect("first token works");

    assert_eq!(
        change(&mut c, "scim", &[("enabled", "true"), ("done", "true")])
            .await
            .status,
        200
    );
    assert!(steps(&view(&mut c).await)[4]);

    // regenerating keeps the old token working for the grace period…
    let second: String =
        serde_json::from_str(&c.call("integration/scim_token", &[]).await.body).expect("token");
    assert_eq!(owner(&second).await.as_deref(), Some(business.as_str()));
    assert!(
        owner(&first).await.is_some(),
        "old token still valid during the grace period"
    );
    app.state.clock.advance(24 * 3600 + 1);
    assert!(
        owner(&first).await.is_none(),
        "old token expired after 24 hours"
    );
    // …unless revoked at once
    c.call(
        "signin",
        &[("email", "admin@acme-corp.com"), ("password", PASSWORD)],
    )
    .await;
    let third: String = serde_json::from_str(
        &c.call("integration/scim_token", &[("revoke_now", "true")])
            .await
            .body,
    )
    .expect("token");
    assert!(owner(&second).await.is_none(), "revoked at once");
    assert!(owner(&third).await.is_some());

    // switching SCIM off also turns the card green
    assert_eq!(change(&mut c, "scim", &[]).await.status, 200);
    let v = view(&mut c).await;
    assert_eq!(v["scim"]["enabled"], false);
    assert!(steps(&v)[4]);
}
both!(scim_tokens_are_shown_once_and_replaced_with_a_grace_period);

/// Completes all seven steps for `domain`.
async fn complete_all_steps(app: &TestApp, c: &mut Client, email: &str, domain: &str) {
    let (name, value) = add(c, domain).await;
    app.dns.set_txt(&name, &[&value]);
    change(c, "verify_domain", &[("domain", domain)]).await;
    change(c, "app_registered", &[("done", "true")]).await;
    change(
        c,
        "groups",
        &[
            ("admins_group_name", "SG-Admins"),
            ("admins_group_id", "g-admins"),
            ("desktop_group_name", "SG-Desktop"),
            ("desktop_group_id", "g-desktop"),
        ],
    )
    .await;
    assert_eq!(
        change(c, "import_metadata", &[("metadata_xml", &okta_metadata())])
            .await
            .status,
        200
    );
    change(c, "scim", &[]).await;
    change(c, "users_added", &[("done", "true")]).await;
    assert_eq!(
        change(c, "backup_login", &[("backup_login", email)])
            .await
            .status,
        200
    );
}

async fn activation_needs_all_seven_and_guards_the_active_integration(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = started_admin(&app, "admin@acme-corp.com", "Acme").await;
    complete_all_steps(&app, &mut c, "admin@acme-corp.com", "acme-corp.com").await;
    let v = view(&mut c).await;
    assert_eq!(steps(&v), [true; 7]);
    assert_eq!(v["can_activate"], true);

    assert_eq!(change(&mut c, "activate", &[]).await.status, 200);
    let v = view(&mut c).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["events"][0]["what"], "Activated the integration");

    // while active, changes that would grey a card are refused…
    for (action, fields) in [
        ("app_registered", vec![]),
        ("users_added", vec![]),
        ("scim", vec![("enabled", "true")]),
        ("remove_domain", vec![("domain", "acme-corp.com")]),
    ] {
        let r = change(&mut c, action, &fields).await;
        assert_eq!(r.status, 409, "{action}: {}", r.body);
        assert!(
            r.body.contains("Deactivate the integration first"),
            "{action}: {}",
            r.body
        );
    }
    let fp = view(&mut c).await["saml"]["certificates"][0]["fingerprint"]
        .as_str()
        .expect("fp")
        .to_string();
    assert_eq!(
        change(&mut c, "remove_certificate", &[("fingerprint", &fp)])
            .await
            .status,
        409
    );
    // …but a new domain may wait for verification without greying the card
    add(&mut c, "acme-corp.org").await;
    let v = view(&mut c).await;
    assert!(steps(&v)[0]);
    assert_eq!(domain(&v, "acme-corp.org")["status"], "pending");

    assert_eq!(change(&mut c, "deactivate", &[]).await.status, 200);
    assert_eq!(view(&mut c).await["active"], false);
    assert_eq!(
        change(&mut c, "app_registered", &[]).await.status,
        200,
        "allowed once inactive"
    );
    let r = change(&mut c, "activate", &[]).await;
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains("2. Register the enterprise app"),
        "{}",
        r.body
    );
}
both!(activation_needs_all_seven_and_guards_the_active_integration);

async fn the_backup_login_defaults_to_the_signed_in_admin(b: Backend) {
    let app = TestApp::new(b).await;
    let mut zed = started_admin(&app, "zed@acme-corp.com", "Acme").await;
    joined_member(&app, &mut zed, "amy@acme-corp.com").await;

    let v = view(&mut zed).await;
    assert_eq!(
        v["backup_candidates"],
        serde_json::json!(["amy@acme-corp.com", "zed@acme-corp.com"])
    );
    assert_eq!(v["viewer_email"], "zed@acme-corp.com");
    let page = zed.get("/profile/business/idp_integration").await;
    assert!(
        page.body
            .contains(r#"<option value="zed@acme-corp.com" selected"#),
        "the admin is preselected"
    );
    assert!(!page
        .body
        .contains(r#"<option value="amy@acme-corp.com" selected"#));
}
both!(the_backup_login_defaults_to_the_signed_in_admin);
