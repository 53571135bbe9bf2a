//! The IdP Integration configurator: steps, DNS-verified domains, activation, isolation.

use crate::both;
use crate::support::{business_admin, verified_user, Backend, Client, TestApp, PASSWORD};
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
    acme.call(
        "invite_user",
        &[("email", "bob@acme-corp.com"), ("role", "user")],
    )
    .await;
    let token = app
        .smtp
        .link("bob@acme-corp.com", "/invitations/accept")
        .expect("mail")
        .split("token=")
        .nth(1)
        .expect("t")
        .to_string();
    let mut bob = verified_user(&app, "bob@acme-corp.com").await;
    assert_eq!(
        bob.call("accept_invitation", &[("token", &token)])
            .await
            .status,
        200
    );
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
