use reqwest::{Method, StatusCode};
use serde_json::json;
use tutti_accounts::Role;
use tutti_accounts::admin;

use crate::helpers::*;

#[tokio::test]
async fn the_first_person_becomes_admin_through_the_one_time_setup_link() {
    let app = spawn_app().await;
    let home = app.anonymous().get("/").await.text().await.unwrap();
    assert!(
        home.contains("one-time link"),
        "the home page says how to get in"
    );

    // The start made one link and logged it; starting again makes none while it is open.
    assert!(matches!(
        admin::setup_on_start(app.platform()).await.unwrap(),
        admin::Setup::LinkOpen { .. }
    ));
    // `tutti admin setup-link` replaces it: the first stops working.
    let first = admin::fresh_setup_link(app.platform()).await.unwrap();
    let link = admin::fresh_setup_link(app.platform()).await.unwrap();
    let path = link
        .strip_prefix(&app.base)
        .expect("link on this server")
        .to_string();
    let browser = app.anonymous();
    let replaced = first.strip_prefix(&app.base).unwrap();
    assert_eq!(browser.get(replaced).await.status(), StatusCode::GONE);
    assert_eq!(browser.get(&path).await.status(), StatusCode::OK);

    let short = browser
        .form(
            &path,
            &[
                ("email", "first@example.test"),
                ("name", "First"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 10 characters")
    );

    let done = browser
        .form(
            &path,
            &[
                ("email", "first@example.test"),
                ("name", "First"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let cookie = done.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let me = browser
        .api(Method::GET, "/api/v1/me", None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(me["email"], "first@example.test");
    assert_eq!(me["roles"], json!(["admin"]));

    let again = app
        .anonymous()
        .form(
            &path,
            &[
                ("email", "second@example.test"),
                ("name", "Second"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::BAD_REQUEST,
        "a setup link works once"
    );
    assert_eq!(
        admin::setup_on_start(app.platform()).await.unwrap(),
        admin::Setup::Done
    );
    let refused =
        tutti_web::Problem::from(admin::fresh_setup_link(app.platform()).await.unwrap_err());
    assert_eq!(refused.status, 409);
}

#[tokio::test]
async fn a_person_signs_in_with_a_password_and_signs_out() {
    let app = spawn_app().await;
    app.user("dana@example.test", &[SPEAKER]).await;
    let mut browser = app.anonymous();

    let wrong = browser
        .form(
            "/login",
            &[
                ("email", "dana@example.test"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("email or password is wrong")
    );
    let unknown = browser
        .form(
            "/login",
            &[("email", "nobody@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    let next = browser
        .form(
            "/login",
            &[
                ("email", "Dana@Example.test"),
                ("password", PASSWORD),
                ("next", "/admin/jobs"),
            ],
        )
        .await;
    assert_eq!(
        next.headers()["location"],
        "/admin/jobs",
        "returns where sign-in started"
    );
    let profile = browser.get("/profile").await.text().await.unwrap();
    assert!(profile.contains("dana@example.test") && profile.contains("Speaker"));
    browser.csrf = csrf_of(&profile).unwrap();

    let out = browser.form("/logout", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = browser.get("/profile").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()["location"], "/login?next=%2Fprofile");
}

#[tokio::test]
async fn a_role_granted_before_sign_up_applies_when_the_invitation_is_accepted() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let granted = admin
        .api(
            Method::PUT,
            "/api/v1/admin/users/reader@example.test/roles/speaker",
            None,
        )
        .await;
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);
    let people = admin
        .api(Method::GET, "/api/v1/admin/users", None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let waiting = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "reader@example.test")
        .unwrap();
    assert_eq!(waiting["id"], serde_json::Value::Null, "not signed up yet");
    assert_eq!(waiting["roles"], json!(["speaker"]));

    let invited = admin
        .api(
            Method::POST,
            "/api/v1/admin/invitations",
            Some(json!({"email": "reader@example.test"})),
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CREATED);
    let invited: serde_json::Value = invited.json().await.unwrap();
    assert_eq!(invited["mailed"], false, "no SMTP here");
    let link = invited["link"].as_str().unwrap();

    // Without SMTP the message is held for an admin, link included.
    let held = admin
        .api(Method::GET, "/api/v1/admin/outbox?status=held", None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(
        held.as_array()
            .unwrap()
            .iter()
            .any(|m| m["link"] == link && m["to_email"] == "reader@example.test")
    );
    let outbox_page = admin.get("/admin/outbox").await.text().await.unwrap();
    let secret = link.rsplit('/').next().unwrap();
    assert!(
        outbox_page.contains(secret),
        "the admin sees the link to pass on"
    );

    let path = link.strip_prefix(&app.base).unwrap();
    let mut reader = app.anonymous();
    let page = reader.get(path).await.text().await.unwrap();
    assert!(page.contains("reader@example.test"));
    let accepted = reader
        .form(path, &[("name", "Reader"), ("password", PASSWORD)])
        .await;
    assert_eq!(
        accepted.status(),
        StatusCode::SEE_OTHER,
        "accepting signs the person in"
    );
    reader.csrf = csrf_of(&reader.get("/profile").await.text().await.unwrap()).unwrap();
    let me = reader
        .api(Method::GET, "/api/v1/me", None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["speaker"]));
    assert_eq!(me["name"], "Reader");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_link_and_old_sessions_end() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let mut dana = app.signed_in("dana@example.test", &[]).await;

    let asked = app
        .anonymous()
        .form("/password/forgot", &[("email", "dana@example.test")])
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let unknown = app
        .anonymous()
        .form("/password/forgot", &[("email", "nobody@example.test")])
        .await;
    assert_eq!(
        unknown.status(),
        StatusCode::OK,
        "does not reveal who has an account"
    );

    let held = admin
        .api(Method::GET, "/api/v1/admin/outbox?status=held", None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let messages = held.as_array().unwrap();
    assert_eq!(messages.len(), 1, "only the real account gets a message");
    let link = messages[0]["link"].as_str().unwrap();
    let path = link.strip_prefix(&app.base).unwrap();

    let reset = app
        .anonymous()
        .form(path, &[("password", "a brand new passphrase")])
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        dana.get("/profile").await.status(),
        StatusCode::SEE_OTHER,
        "old session ended"
    );
    dana.sign_in("dana@example.test", "a brand new passphrase")
        .await;
    let reused = app
        .anonymous()
        .form(path, &[("password", "yet another passphrase")])
        .await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let refused = admin
        .api(
            Method::DELETE,
            "/api/v1/admin/users/admin@example.test/roles/admin",
            None,
        )
        .await;
    let body = problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(body["field"], "role");
    admin
        .api(
            Method::PUT,
            "/api/v1/admin/users/second@example.test/roles/admin",
            None,
        )
        .await;
    app.user("second@example.test", &[]).await;
    let allowed = admin
        .api(
            Method::DELETE,
            "/api/v1/admin/users/admin@example.test/roles/admin",
            None,
        )
        .await;
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
}

/// A server where anyone may sign up, with its first administrator (sign-up waits for
/// one), and that administrator's browser.
async fn open_for_sign_up() -> (TestApp, Browser) {
    let app = spawn_app_with(|s| s.signup = tutti_accounts::Signup::Open).await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    (app, admin)
}

/// The outbox as the admin API lists it, newest first.
async fn outbox(admin: &Browser) -> Vec<serde_json::Value> {
    admin
        .api(Method::GET, "/api/v1/admin/outbox", None)
        .await
        .json()
        .await
        .unwrap()
}

/// The messages to `email`, newest first.
async fn mail_to(admin: &Browser, email: &str) -> Vec<serde_json::Value> {
    outbox(admin)
        .await
        .into_iter()
        .filter(|m| m["to_email"] == email)
        .collect()
}

/// The path of the link a message carries, on this server.
fn link_path(app: &TestApp, message: &serde_json::Value) -> String {
    message["link"]
        .as_str()
        .unwrap_or_else(|| panic!("the message carries its link: {message}"))
        .strip_prefix(&app.base)
        .expect("the link is on this server")
        .to_string()
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(bind)
        .fetch_one(app.platform().db.pool())
        .await
        .unwrap()
}

const USERS_WITH_EMAIL: &str = "SELECT COUNT(*) FROM users WHERE email = $1";

#[tokio::test]
async fn a_volunteer_signs_up_verifies_the_email_and_lands_where_they_came_from() {
    let (app, admin) = open_for_sign_up().await;
    let join = "/recital/c/x/join";
    let mut volunteer = app.anonymous();

    let login = volunteer
        .get("/login?next=%2Frecital%2Fc%2Fx%2Fjoin")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        login.contains(r#"href="/signup?next=&#x2f;recital&#x2f;c&#x2f;x&#x2f;join""#),
        "the sign-in page offers sign-up, keeping where to go: {login}"
    );
    let page = volunteer
        .get("/signup?next=%2Frecital%2Fc%2Fx%2Fjoin")
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains(r#"name="next" value="&#x2f;recital&#x2f;c&#x2f;x&#x2f;join""#),
        "{page}"
    );
    assert!(page.contains(r#"action="/signup""#) && page.contains(r#"name="csrf""#));

    let sent = volunteer
        .form(
            "/signup",
            &[
                ("email", "Vol@Example.test"),
                ("name", "Volunteer"),
                ("password", PASSWORD),
                ("next", join),
            ],
        )
        .await;
    assert_eq!(
        sent.status(),
        StatusCode::SEE_OTHER,
        "a reload sends nothing"
    );
    assert_eq!(sent.headers()["location"], "/signup/sent");
    let check = volunteer.get("/signup/sent").await.text().await.unwrap();
    assert!(check.contains("Check your mail"), "{check}");
    assert_eq!(
        count(&app, USERS_WITH_EMAIL, "vol@example.test").await,
        0,
        "no account until the email is verified"
    );

    let mail = mail_to(&admin, "vol@example.test").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["status"], "held", "no SMTP here");
    let path = link_path(&app, &mail[0]);
    assert!(path.starts_with("/signup/verify/"), "{path}");
    assert!(
        mail[0]["body"]
            .as_str()
            .unwrap()
            .contains("within 24 hours"),
        "{}",
        mail[0]["body"]
    );
    let stored: String = sqlx::query_scalar(
        "SELECT token_hash FROM one_time_links WHERE purpose = 'signup' AND email = $1",
    )
    .bind("vol@example.test")
    .fetch_one(app.platform().db.pool())
    .await
    .unwrap();
    let secret = path.rsplit('/').next().unwrap();
    assert_ne!(stored, secret, "only the link's hash is stored");

    // Before the email is verified, the password does not sign in, and says why.
    let early = volunteer
        .form(
            "/login",
            &[("email", "vol@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    let early = early.text().await.unwrap();
    assert!(early.contains("is not verified yet"), "{early}");
    assert!(
        early.contains(r#"action="/signup/resend""#),
        "offers the link again"
    );
    let wrong = volunteer
        .form(
            "/login",
            &[
                ("email", "vol@example.test"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !wrong.text().await.unwrap().contains("is not verified yet"),
        "only the right password learns of the sign-up"
    );

    // Opening the link shows one button; pressing it makes the account and signs in.
    let confirm = volunteer.get(&path).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    assert!(confirm.text().await.unwrap().contains("vol@example.test"));
    let done = volunteer.form(&path, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers()["location"],
        join,
        "back where they came from"
    );
    assert!(done.headers().contains_key("set-cookie"), "signed in");
    let profile = volunteer.get("/profile").await;
    assert_eq!(profile.status(), StatusCode::OK);
    volunteer.csrf = csrf_of(&profile.text().await.unwrap()).unwrap();
    let me: serde_json::Value = volunteer
        .api(Method::GET, "/api/v1/me", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "vol@example.test");
    assert_eq!(me["name"], "Volunteer");

    // The link worked once, and its copy in the outbox is gone.
    let again = app.anonymous().form(&path, &[]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a link works once");
    assert_eq!(app.anonymous().get(&path).await.status(), StatusCode::GONE);
    let lapsed = &mail_to(&admin, "vol@example.test").await[0];
    assert_eq!(lapsed["status"], "lapsed");
    assert!(lapsed["link"].is_null(), "{lapsed}");
    assert!(!lapsed["body"].as_str().unwrap().contains(secret));
    let kept: Option<String> = sqlx::query_scalar(
        "SELECT signup_password_hash FROM one_time_links WHERE purpose = 'signup' AND email = $1",
    )
    .bind("vol@example.test")
    .fetch_one(app.platform().db.pool())
    .await
    .unwrap();
    assert_eq!(kept, None, "the used link keeps no password hash");

    // The password chosen at sign-up signs in from now on.
    app.anonymous().sign_in("vol@example.test", PASSWORD).await;

    // Both steps are in the audit log, with their values.
    let entries = tutti_platform::audit::newest(app.platform().db.pool(), 50)
        .await
        .unwrap();
    let requested = entries
        .iter()
        .find(|e| e.action == "signup-requested")
        .expect("the request is audited");
    let args = requested.args.0.as_ref().unwrap();
    assert_eq!(args["email"], "vol@example.test");
    assert!(args.contains_key("address") && !args.contains_key("variant"));
    let verified = entries
        .iter()
        .find(|e| e.action == "signup-verified")
        .expect("the verification is audited");
    assert_eq!(
        verified.args.0.as_ref().unwrap()["email"],
        "vol@example.test"
    );
    assert_eq!(verified.actor_email.as_deref(), Some("vol@example.test"));
    let audit = admin.get("/admin/audit").await.text().await.unwrap();
    assert!(
        audit.contains("Sign-up requested") && audit.contains("Sign-up confirmed"),
        "{audit}"
    );
}

#[tokio::test]
async fn a_waiting_sign_up_gets_a_new_link_and_the_old_one_stops_working() {
    let (app, admin) = open_for_sign_up().await;
    let browser = app.anonymous();
    let sent = browser
        .form(
            "/signup",
            &[("email", "late@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let first = link_path(&app, &mail_to(&admin, "late@example.test").await[0]);

    let resent = browser
        .form("/signup/resend", &[("email", "late@example.test")])
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(resent.headers()["location"], "/signup/sent");
    // Nobody waiting: the same answer, and no mail.
    let nobody = browser
        .form("/signup/resend", &[("email", "nobody@example.test")])
        .await;
    assert_eq!(nobody.status(), StatusCode::SEE_OTHER);
    assert!(mail_to(&admin, "nobody@example.test").await.is_empty());

    let mail = mail_to(&admin, "late@example.test").await;
    assert_eq!(mail.len(), 2, "{mail:?}");
    let second = link_path(&app, &mail[0]);
    assert_ne!(first, second);
    assert_eq!(mail[1]["status"], "lapsed", "the first link gave way");
    assert!(mail[1]["link"].is_null());
    assert_eq!(browser.get(&first).await.status(), StatusCode::GONE);

    let done = browser.form(&second, &[]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers()["location"],
        "/profile",
        "without a next path, the profile"
    );
    let name: String = sqlx::query_scalar("SELECT name FROM users WHERE email = $1")
        .bind("late@example.test")
        .fetch_one(app.platform().db.pool())
        .await
        .unwrap();
    assert_eq!(
        name, "late@example.test",
        "no name given: the email stands in"
    );
}

#[tokio::test]
async fn signing_up_with_an_email_that_has_an_account_answers_the_same_and_creates_nothing() {
    let (app, admin) = open_for_sign_up().await;
    app.user("dana@example.test", &[SPEAKER]).await;
    let taken = app
        .anonymous()
        .form(
            "/signup",
            &[
                ("email", "dana@example.test"),
                ("name", "Not Dana"),
                ("password", "an attacker's passphrase"),
            ],
        )
        .await;
    let fresh = app
        .anonymous()
        .form(
            "/signup",
            &[("email", "fresh@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(taken.status(), fresh.status());
    assert_eq!(taken.headers()["location"], fresh.headers()["location"]);
    assert_eq!(
        taken.text().await.unwrap(),
        fresh.text().await.unwrap(),
        "the answer does not tell who has an account"
    );

    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM one_time_links WHERE purpose = 'signup' AND email = $1",
            "dana@example.test"
        )
        .await,
        0,
        "no sign-up waits for an email with an account"
    );
    assert_eq!(count(&app, USERS_WITH_EMAIL, "dana@example.test").await, 1);
    // Its owner hears of it, with a way in if they forgot their password.
    let mail = mail_to(&admin, "dana@example.test").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let reset = link_path(&app, &mail[0]);
    assert!(reset.starts_with("/password/reset/"), "{reset}");
    assert!(
        mail[0]["body"]
            .as_str()
            .unwrap()
            .contains("already has an account"),
        "{}",
        mail[0]["body"]
    );
    // The account is as it was: its own password signs in, the one typed does not.
    let refused = app
        .anonymous()
        .form(
            "/login",
            &[
                ("email", "dana@example.test"),
                ("password", "an attacker's passphrase"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    app.anonymous().sign_in("dana@example.test", PASSWORD).await;
    let entries = tutti_platform::audit::newest(app.platform().db.pool(), 50)
        .await
        .unwrap();
    assert!(entries.iter().any(|e| {
        e.action == "signup-requested"
            && e.args.0.as_ref().is_some_and(|a| {
                a.get("variant").is_some_and(|v| v == "existing")
                    && a.get("email").is_some_and(|v| v == "dana@example.test")
            })
    }));

    // An account made while a sign-up waited: its link then changes nothing.
    let fresh_link = link_path(&app, &mail_to(&admin, "fresh@example.test").await[0]);
    app.user("fresh@example.test", &[]).await;
    let late = app.anonymous().form(&fresh_link, &[]).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(count(&app, USERS_WITH_EMAIL, "fresh@example.test").await, 1);
    app.anonymous()
        .sign_in("fresh@example.test", PASSWORD)
        .await;
}

#[tokio::test]
async fn sign_up_is_by_invitation_only_unless_the_admin_opens_it() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let browser = app.anonymous();
    let login = browser.get("/login").await.text().await.unwrap();
    assert!(!login.contains("/signup"), "no sign-up link: {login}");

    let page = browser.get("/signup").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(
        page.text().await.unwrap().contains("by invitation only"),
        "says why"
    );
    let refused = browser
        .form(
            "/signup",
            &[("email", "vol@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("by invitation only"));
    let resend = browser
        .form("/signup/resend", &[("email", "vol@example.test")])
        .await;
    assert_eq!(resend.status(), StatusCode::FORBIDDEN);
    assert!(mail_to(&admin, "vol@example.test").await.is_empty());
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM one_time_links WHERE email = $1",
            "vol@example.test"
        )
        .await,
        0
    );

    // Open, but the server has no administrator yet: a first sign-up would spoil the setup
    // link, so it waits.
    let fresh = spawn_app_with(|s| s.signup = tutti_accounts::Signup::Open).await;
    let early = fresh.anonymous().get("/signup").await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    assert!(early.text().await.unwrap().contains("first administrator"));
    let early = fresh
        .anonymous()
        .form(
            "/signup",
            &[("email", "vol@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    assert!(admin::needs_setup(fresh.platform()).await.unwrap());
}

#[tokio::test]
async fn a_sign_up_with_a_bad_email_or_password_names_the_field() {
    let (app, admin) = open_for_sign_up().await;
    let browser = app.anonymous();
    for (email, password, field) in [
        ("not an email", PASSWORD, "email"),
        ("vol@example.test", "short", "password"),
        ("vol@example.test", "", "password"),
    ] {
        let refused = browser
            .form(
                "/signup",
                &[
                    ("email", email),
                    ("name", "Vol"),
                    ("password", password),
                    ("next", "/recital/c/x/join"),
                ],
            )
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email} / {password}"
        );
        let html = refused.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"id="{field}-error""#)),
            "the problem sits beside {field}: {html}"
        );
        assert!(html.contains(&format!(r#"aria-describedby="{field}-error"#)));
        assert!(
            html.contains(r#"value="Vol""#)
                && html.contains(r#"value="&#x2f;recital&#x2f;c&#x2f;x&#x2f;join""#),
            "what was typed is kept"
        );
    }
    let long_name = "n".repeat(101);
    let refused = browser
        .form(
            "/signup",
            &[
                ("email", "vol@example.test"),
                ("name", &long_name),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(r#"id="name-error""#));
    assert!(mail_to(&admin, "vol@example.test").await.is_empty());
}

#[tokio::test]
async fn sign_ups_for_one_email_are_throttled() {
    let (app, admin) = open_for_sign_up().await;
    let browser = app.anonymous();
    for _ in 0..5 {
        let sent = browser
            .form(
                "/signup",
                &[("email", "flood@example.test"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    }
    let throttled = browser
        .form(
            "/signup",
            &[("email", "FLOOD@example.test"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    let resend = browser
        .form("/signup/resend", &[("email", "flood@example.test")])
        .await;
    assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS);
    let mail = mail_to(&admin, "flood@example.test").await;
    assert_eq!(mail.len(), 5);
    assert_eq!(
        mail.iter().filter(|m| m["status"] == "held").count(),
        1,
        "only the newest link waits"
    );
}
