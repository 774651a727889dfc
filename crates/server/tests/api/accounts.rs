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
