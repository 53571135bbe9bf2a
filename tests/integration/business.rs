//! License keys, business accounts, invitations and who may see what.

use crate::both;
use crate::support::{
    business_admin, invitation_token, joined_member, verified_user, Backend, TestApp, PASSWORD,
};

async fn registering_a_key_creates_the_business_account(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = verified_user(&app, "admin@acme.example").await;
    let key = app.issue_key(25, Some("2027-06-30")).await;

    let missing_org = c.call("register_key", &[("key", &key)]).await;
    assert_eq!(missing_org.status, 400);
    assert_eq!(
        missing_org.field_message("org_name").as_deref(),
        Some("Enter the organisation name.")
    );

    let typed = key.to_lowercase().replace('-', " ");
    let r = c
        .call(
            "register_key",
            &[
                ("key", &typed),
                ("display_name", "Design team"),
                ("org_name", "Acme Corp"),
                ("org_country", "Norway"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["business_name"], "Acme Corp");
    assert_eq!(r.json()["created_business"], true);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/profile/business/licenses?registered=new")
    );

    let me = c.call("me", &[]).await.json();
    assert_eq!(me["business"]["name"], "Acme Corp");
    assert_eq!(me["business"]["role"], "admin");
    assert_eq!(me["business"]["has_subscription"], true);
    assert_eq!(me["workspace"], "business");

    let subs = c.call("licenses", &[]).await.json();
    assert_eq!(subs[0]["display_name"], "Design team");
    assert_eq!(subs[0]["seats_total"], 25);
    assert_eq!(subs[0]["seats_used"], 0);
    assert_eq!(subs[0]["expires"], "2027-06-30");

    // a second key joins the same account without asking for the organisation again
    let key2 = app.issue_key(5, None).await;
    let r = c.call("register_key", &[("key", &key2)]).await;
    assert_eq!(r.json()["created_business"], false);
    assert_eq!(
        c.call("licenses", &[])
            .await
            .json()
            .as_array()
            .expect("list")
            .len(),
        2
    );

    let lines = seatgate::licensing::keys::list(&app.state.db)
        .await
        .expect("list");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Acme Corp") && l.contains("0/25") && l.contains("2027-06-30")),
        "{lines:?}"
    );
}
both!(registering_a_key_creates_the_business_account);

async fn bad_keys_get_clear_messages_and_change_nothing(b: Backend) {
    let app = TestApp::new(b).await;
    let mut acme = business_admin(&app, "admin@acme.example", "Acme Corp").await;
    let mut c = verified_user(&app, "ceo@globex.example").await;
    let good = app.issue_key(3, None).await;

    // one typo: caught by the checksum before any lookup
    let mut chars: Vec<char> = good.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    let typo: String = chars.into_iter().collect();
    let r = c
        .call("register_key", &[("key", &typo), ("org_name", "Globex")])
        .await;
    assert!(
        r.field_message("key")
            .expect("key message")
            .contains("typo"),
        "{}",
        r.body
    );

    let r = c
        .call(
            "register_key",
            &[("key", "ABCDE-12345"), ("org_name", "Globex")],
        )
        .await;
    assert!(r
        .field_message("key")
        .expect("key message")
        .contains("25 letters and digits"));

    let unknown = seatgate::licensing::keys::generate();
    let r = c
        .call("register_key", &[("key", &unknown), ("org_name", "Globex")])
        .await;
    assert!(r
        .field_message("key")
        .expect("key message")
        .contains("not known"));

    let expiring = app.issue_key(3, Some("2026-01-20")).await;
    app.state.clock.advance(10 * 24 * 3600);
    // ten idle days ended both sessions: sign in again
    assert_eq!(
        c.call(
            "signin",
            &[("email", "ceo@globex.example"), ("password", PASSWORD)]
        )
        .await
        .status,
        200
    );
    assert_eq!(
        acme.call(
            "signin",
            &[("email", "admin@acme.example"), ("password", PASSWORD)]
        )
        .await
        .status,
        200
    );
    let r = c
        .call(
            "register_key",
            &[("key", &expiring), ("org_name", "Globex")],
        )
        .await;
    assert!(
        r.field_message("key")
            .expect("key message")
            .contains("expired on 2026-01-20"),
        "{}",
        r.body
    );

    let r = acme.call("register_key", &[("key", &good)]).await;
    assert_eq!(r.status, 200);
    let r = c
        .call("register_key", &[("key", &good), ("org_name", "Globex")])
        .await;
    assert_eq!(
        r.field_message("key").as_deref(),
        Some("This license key is already registered to another business account.")
    );
    let r = acme.call("register_key", &[("key", &good)]).await;
    assert!(r
        .field_message("key")
        .expect("message")
        .contains("already registered to your business account"));

    // nothing changed for the refused user: no business account was created
    assert_eq!(
        c.call("me", &[]).await.json()["business"],
        serde_json::Value::Null
    );
}
both!(bad_keys_get_clear_messages_and_change_nothing);

async fn unverified_users_cannot_register_keys(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    c.call(
        "signup",
        &[
            ("email", "new@acme.example"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await;
    let key = app.issue_key(3, None).await;
    let r = c
        .call("register_key", &[("key", &key), ("org_name", "Acme")])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Verify your email"), "{}", r.body);
    let anonymous = app
        .client()
        .call("register_key", &[("key", &key), ("org_name", "Acme")])
        .await;
    assert_eq!(anonymous.status, 401);
}
both!(unverified_users_cannot_register_keys);

async fn an_invited_user_signs_up_and_joins_through_the_emailed_link(b: Backend) {
    let app = TestApp::new(b).await;
    let mut admin = business_admin(&app, "admin@acme.example", "Acme Corp").await;
    let r = admin
        .call(
            "invite_user",
            &[("email", "Bob@Acme.example"), ("role", "user")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let users = admin.call("business_users", &[]).await.json();
    assert_eq!(users["invitations"][0]["email"], "bob@acme.example");

    let token = invitation_token(&app, "bob@acme.example");

    // someone else cannot use Bob's invitation
    let mut eve = verified_user(&app, "eve@evil.example").await;
    let r = eve.call("accept_invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("This invitation is for bob@acme.example"),
        "{}",
        r.body
    );

    let mut bob = app.client();
    bob.call(
        "signup",
        &[
            ("email", "bob@acme.example"),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ],
    )
    .await;
    let view = bob.call("invitation", &[("token", &token)]).await.json();
    assert_eq!(view["business_name"], "Acme Corp");
    let r = bob.call("accept_invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let me = bob.call("me", &[]).await.json();
    assert_eq!(me["business"]["name"], "Acme Corp");
    assert_eq!(me["business"]["role"], "user");
    assert_eq!(
        me["email_verified"], true,
        "the invitation link proved the address"
    );

    let again = bob.call("accept_invitation", &[("token", &token)]).await;
    assert_eq!(again.status, 409);
    let members = admin.call("business_users", &[]).await.json();
    let emails: Vec<&str> = members["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["email"].as_str())
        .collect();
    assert_eq!(emails, ["admin@acme.example", "bob@acme.example"]);
    assert_eq!(members["invitations"].as_array().expect("list").len(), 0);
}
both!(an_invited_user_signs_up_and_joins_through_the_emailed_link);

async fn invitations_are_refused_for_members_and_expire(b: Backend) {
    let app = TestApp::new(b).await;
    let mut acme = business_admin(&app, "admin@acme.example", "Acme Corp").await;
    business_admin(&app, "admin@globex.example", "Globex").await;
    let r = acme
        .call(
            "invite_user",
            &[("email", "admin@globex.example"), ("role", "user")],
        )
        .await;
    assert!(r
        .field_message("email")
        .expect("message")
        .contains("another business account"));
    let r = acme
        .call(
            "invite_user",
            &[("email", "admin@acme.example"), ("role", "user")],
        )
        .await;
    assert!(r
        .field_message("email")
        .expect("message")
        .contains("already a member"));
    let r = acme
        .call(
            "invite_user",
            &[("email", "x@acme.example"), ("role", "owner")],
        )
        .await;
    assert!(r.field_message("role").is_some());

    acme.call(
        "invite_user",
        &[("email", "late@acme.example"), ("role", "admin")],
    )
    .await;
    let token = invitation_token(&app, "late@acme.example");
    app.state.clock.advance(8 * 24 * 3600);
    let mut late = verified_user(&app, "late@acme.example").await;
    let r = late.call("accept_invitation", &[("token", &token)]).await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("expired"), "{}", r.body);
}
both!(invitations_are_refused_for_members_and_expire);

async fn members_see_only_their_own_account_and_only_admins_administer(b: Backend) {
    let app = TestApp::new(b).await;
    let mut acme = business_admin(&app, "admin@acme.example", "Acme Corp").await;
    let mut globex = business_admin(&app, "admin@globex.example", "Globex").await;
    let mut bob = joined_member(&app, &mut acme, "bob@acme.example").await;

    let g = globex.call("business_users", &[]).await.json();
    assert_eq!(g["members"].as_array().expect("list").len(), 1);
    assert!(!g.to_string().contains("acme"), "{g}");
    assert!(!globex.call("licenses", &[]).await.body.contains("Acme"));
    assert_eq!(
        globex.call("business_general", &[]).await.json()["name"],
        "Globex"
    );

    // a plain member reads but does not administer
    assert_eq!(
        bob.call("business_general", &[]).await.json()["can_edit"],
        false
    );
    let r = bob
        .call("update_business_general", &[("org_name", "Hijacked")])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        bob.call(
            "invite_user",
            &[("email", "x@acme.example"), ("role", "admin")]
        )
        .await
        .status,
        403
    );
    assert_eq!(bob.call("integration", &[]).await.status, 403);
    assert_eq!(
        bob.call("business_users", &[]).await.json()["can_invite"],
        false
    );
    let key = app.issue_key(1, None).await;
    assert_eq!(bob.call("register_key", &[("key", &key)]).await.status, 403);

    // the admin edits, with field-level validation
    let r = acme
        .call("update_business_general", &[("org_name", "  ")])
        .await;
    assert_eq!(
        r.field_message("org_name").as_deref(),
        Some("Enter the organisation name.")
    );
    let r = acme
        .call(
            "update_business_general",
            &[("org_name", "Acme Group"), ("org_country", "Norway")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        bob.call("business_general", &[]).await.json()["name"],
        "Acme Group"
    );
    assert_eq!(
        acme.call("integration", &[]).await.json()["business_name"],
        "Acme Group"
    );

    // a user without a business account sees none
    let mut loner = verified_user(&app, "solo@example.com").await;
    assert_eq!(loner.call("business_users", &[]).await.status, 404);
    assert_eq!(loner.call("integration", &[]).await.status, 404);
}
both!(members_see_only_their_own_account_and_only_admins_administer);

async fn the_idp_integration_page_is_for_admins_only(b: Backend) {
    let app = TestApp::new(b).await;
    let mut admin = business_admin(&app, "admin@acme.example", "Acme Corp").await;
    let page = admin.get("/profile/business/idp_integration").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Connect the identity provider of Acme Corp"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">IdP Integration<"), "menu item present");

    let mut anonymous = app.client();
    let page = anonymous.get("/profile/business/idp_integration").await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/signin?next=/profile/business/idp_integration")
    );

    let mut loner = verified_user(&app, "solo@example.com").await;
    let page = loner.get("/profile/business/idp_integration").await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Connect the identity provider"));
    let dash = loner.get("/dashboard").await;
    assert!(
        !dash.body.contains("IdP Integration"),
        "no menu item without a registered key"
    );
}
both!(the_idp_integration_page_is_for_admins_only);

async fn workspace_switcher_remembers_the_choice(b: Backend) {
    let app = TestApp::new(b).await;
    let mut admin = business_admin(&app, "admin@acme.example", "Acme Corp").await;
    assert_eq!(admin.call("me", &[]).await.json()["workspace"], "business");
    let r = admin
        .call("switch_workspace", &[("workspace", "personal")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(admin.call("me", &[]).await.json()["workspace"], "personal");
    let r = admin
        .call("switch_workspace", &[("workspace", "somebody-elses")])
        .await;
    assert_eq!(r.status, 400);
    let mut loner = verified_user(&app, "solo@example.com").await;
    loner
        .call("switch_workspace", &[("workspace", "business")])
        .await;
    assert_eq!(
        loner.call("me", &[]).await.json()["workspace"],
        "personal",
        "no business account to show"
    );
}
both!(workspace_switcher_remembers_the_choice);
