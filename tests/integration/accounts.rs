//! Sign-up, email verification, sign-in, rate limits, password reset, sessions.

use crate::both;
use crate::support::{verified_user, Backend, TestApp, PASSWORD};

async fn signup_sends_a_verification_link_that_works_once(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    let r = c
        .call(
            "signup",
            &[
                ("email", "  Ada@Example.COM "),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("location").as_deref(), Some("/dashboard"));
    assert!(c.cookie.is_some(), "signed in after sign-up");

    let me = c.call("me", &[]).await.json();
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["email_verified"], false);

    let link = app
        .smtp
        .link("ada@example.com", "/verify-email")
        .expect("a verification mail arrived over SMTP");
    let token = link.split("token=").nth(1).expect("token");
    let r = c.call("verify_email", &[("token", token)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), "ada@example.com");
    assert_eq!(c.call("me", &[]).await.json()["email_verified"], true);

    let again = c.call("verify_email", &[("token", token)]).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already used"), "{}", again.body);

    let bogus = c
        .call("verify_email", &[("token", "not-a-real-token")])
        .await;
    assert!(bogus.body.contains("not valid"), "{}", bogus.body);
}
both!(signup_sends_a_verification_link_that_works_once);

async fn signup_refuses_bad_input_field_by_field(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    let r = c
        .call(
            "signup",
            &[
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r
        .field_message("email")
        .expect("email message")
        .contains("name@example.com"));
    assert!(r
        .field_message("password")
        .expect("password message")
        .contains("at least"));

    let r = c
        .call(
            "signup",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("password_confirm", "another long password"),
            ],
        )
        .await;
    assert_eq!(
        r.field_message("password_confirm").as_deref(),
        Some("The passwords do not match.")
    );

    // a missing field is a clear 4xx, not a 500
    let r = c.call("signup", &[("email", "ada@example.com")]).await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    assert!(c.cookie.is_none(), "nothing signed in");
}
both!(signup_refuses_bad_input_field_by_field);

async fn emails_are_unique_whatever_their_case(b: Backend) {
    let app = TestApp::new(b).await;
    verified_user(&app, "ada@example.com").await;
    let mut c = app.client();
    let r = c
        .call(
            "signup",
            &[
                ("email", "ADA@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r
        .field_message("email")
        .expect("message")
        .contains("already exists"));
}
both!(emails_are_unique_whatever_their_case);

async fn sign_in_and_out(b: Backend) {
    let app = TestApp::new(b).await;
    verified_user(&app, "ada@example.com").await;
    let mut c = app.client();
    assert_eq!(c.call("me", &[]).await.json(), serde_json::Value::Null);

    let wrong = c
        .call(
            "signin",
            &[
                ("email", "ada@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 409);
    assert!(wrong.body.contains("not correct"));
    assert!(c.cookie.is_none());

    let ok = c
        .call(
            "signin",
            &[
                ("email", "Ada@Example.com"),
                ("password", PASSWORD),
                ("next", "/profile/business/users"),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        ok.header("location").as_deref(),
        Some("/profile/business/users")
    );
    let cookie = ok.header("set-cookie").expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: no Secure flag"
    );
    assert_eq!(c.call("me", &[]).await.json()["email"], "ada@example.com");

    let open_redirect = c
        .call(
            "signin",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(
        open_redirect.header("location").as_deref(),
        Some("/dashboard")
    );

    let stolen = c.cookie.clone();
    let out = c.call("signout", &[]).await;
    assert_eq!(out.status, 200);
    assert!(c.cookie.is_none());
    // the old cookie no longer opens a session
    c.cookie = stolen;
    assert_eq!(c.call("me", &[]).await.json(), serde_json::Value::Null);
}
both!(sign_in_and_out);

async fn failed_sign_ins_are_throttled_per_email_then_released(b: Backend) {
    let app = TestApp::new(b).await;
    verified_user(&app, "ada@example.com").await;
    let mut c = app.client();
    for _ in 0..5 {
        let r = c
            .call(
                "signin",
                &[
                    ("email", "ada@example.com"),
                    ("password", "wrong password!"),
                ],
            )
            .await;
        assert_eq!(r.status, 409);
    }
    // even the right password is refused while throttled, with a clear message and Retry-After
    let r = c
        .call(
            "signin",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(
        r.body.contains("Too many failed sign-in attempts"),
        "{}",
        r.body
    );
    assert!(
        r.header("retry-after")
            .expect("retry-after")
            .parse::<u64>()
            .expect("seconds")
            > 0
    );

    app.state.clock.advance(15 * 60 + 1);
    let r = c
        .call(
            "signin",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 200, "released after the window: {}", r.body);
}
both!(failed_sign_ins_are_throttled_per_email_then_released);

async fn failed_sign_ins_are_throttled_per_client_address(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = app.client();
    for i in 0..20 {
        let r = c
            .call(
                "signin",
                &[
                    ("email", &format!("u{i}@example.com")),
                    ("password", "whatever pass"),
                ],
            )
            .await;
        assert_eq!(r.status, 409);
    }
    let r = c
        .call(
            "signin",
            &[
                ("email", "fresh@example.com"),
                ("password", "whatever pass"),
            ],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let mut other = app.client();
    other.ip = "203.0.113.77".parse().expect("ip");
    let r = other
        .call(
            "signin",
            &[
                ("email", "fresh@example.com"),
                ("password", "whatever pass"),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "another address is not throttled");
}
both!(failed_sign_ins_are_throttled_per_client_address);

async fn password_reset_by_emailed_link_signs_out_everywhere(b: Backend) {
    let app = TestApp::new(b).await;
    let mut old_browser = verified_user(&app, "ada@example.com").await;
    let mut c = app.client();
    let r = c
        .call("forgot_password", &[("email", "ada@example.com")])
        .await;
    assert_eq!(r.status, 200);
    let unknown = c
        .call("forgot_password", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(
        unknown.body, r.body,
        "the answer does not tell whether an account exists"
    );
    assert!(app.smtp.to("nobody@example.com").is_empty());

    let link = app
        .smtp
        .link("ada@example.com", "/reset-password")
        .expect("reset mail");
    let token = link.split("token=").nth(1).expect("token").to_string();
    let short = c
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 400);
    let new_pw = "a brand new password";
    let r = c
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("password", new_pw),
                ("password_confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("location").as_deref(), Some("/signin?reset=1"));

    assert_eq!(
        old_browser.call("me", &[]).await.json(),
        serde_json::Value::Null,
        "old sessions ended"
    );
    let old = c
        .call(
            "signin",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(old.status, 409);
    let new = c
        .call(
            "signin",
            &[("email", "ada@example.com"), ("password", new_pw)],
        )
        .await;
    assert_eq!(new.status, 200);
    let reuse = c
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("password", new_pw),
                ("password_confirm", new_pw),
            ],
        )
        .await;
    assert_eq!(reuse.status, 409, "a reset link works once");
}
both!(password_reset_by_emailed_link_signs_out_everywhere);

async fn reset_links_expire_after_an_hour(b: Backend) {
    let app = TestApp::new(b).await;
    verified_user(&app, "ada@example.com").await;
    let mut c = app.client();
    c.call("forgot_password", &[("email", "ada@example.com")])
        .await;
    let link = app
        .smtp
        .link("ada@example.com", "/reset-password")
        .expect("reset mail");
    let token = link.split("token=").nth(1).expect("token").to_string();
    app.state.clock.advance(3601);
    let r = c
        .call(
            "reset_password",
            &[
                ("token", &token),
                ("password", "a brand new password"),
                ("password_confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("expired"), "{}", r.body);
}
both!(reset_links_expire_after_an_hour);

async fn sessions_end_when_idle(b: Backend) {
    let app = TestApp::new(b).await;
    let mut c = verified_user(&app, "ada@example.com").await;
    app.state.clock.advance(11 * 3600);
    assert_eq!(
        c.call("me", &[]).await.json()["email"],
        "ada@example.com",
        "used within the idle limit"
    );
    app.state.clock.advance(12 * 3600);
    assert_eq!(
        c.call("me", &[]).await.json(),
        serde_json::Value::Null,
        "idle for 12 hours: signed out"
    );
}
both!(sessions_end_when_idle);
