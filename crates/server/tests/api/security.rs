//! Hardening stories: one-time links and the last admin hold under concurrent requests,
//! sign-in is throttled and audited, links leave the outbox once they stop waiting, tokens
//! expire, delegate tokens keep their hands off credentials, every form carries its CSRF
//! token, and `/metrics` is not for everyone.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::{Value, json};
use tutti_accounts::admin::{self, Actor};
use tutti_accounts::{Role, TokenScope};

use crate::helpers::*;

/// A script's client: no cookies, no redirects followed, no `text/html` (so problems
/// stay problem documents).
fn plain() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(bind)
        .fetch_one(app.platform().db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn one_invitation_redeemed_eight_times_at_once_makes_one_account() {
    let app = spawn_app().await;
    let link = admin::invite(app.platform(), "new@example.test", &[SPEAKER], Actor::Cli)
        .await
        .unwrap()
        .expect("an invitation link");
    let url = link.clone();
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (url, start) = (url.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let client = plain();
            start.wait().await;
            client
                .post(&url)
                .form(&[
                    ("name", format!("Newcomer {i}")),
                    ("password", PASSWORD.into()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(won, 1, "exactly one redemption wins: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::BAD_REQUEST),
        "the others are told the link is used: {statuses:?}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE email = $1",
            "new@example.test"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = $1",
            "invite-link-used"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    app.user("ada@example.test", &[Role::ADMIN]).await;
    app.user("bo@example.test", &[Role::ADMIN]).await;
    for round in 0..5 {
        let (a, b) = (app.platform().clone(), app.platform().clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move {
                admin::revoke_role(&a, "ada@example.test", Role::ADMIN, Actor::Cli).await
            }),
            tokio::spawn(async move {
                admin::revoke_role(&b, "bo@example.test", Role::ADMIN, Actor::Cli).await
            }),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(
            ra.is_ok() != rb.is_ok(),
            "round {round}: exactly one demotion passes: {ra:?} {rb:?}"
        );
        let refused = tutti_web::Problem::from(ra.err().or(rb.err()).unwrap());
        assert_eq!(refused.status, 409);
        assert_eq!(refused.field.as_deref(), Some("role"));
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM role_grants WHERE role = $1",
                "admin"
            )
            .await,
            1,
            "round {round}"
        );
        for email in ["ada@example.test", "bo@example.test"] {
            admin::grant_role(app.platform(), email, Role::ADMIN, Actor::Cli)
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn sign_in_is_throttled_then_the_right_password_works_after_the_window() {
    let app = spawn_app_with(|s| {
        s.limits.window_secs = 3;
        s.limits.per_account = 3;
    })
    .await;
    app.user("dana@example.test", &[]).await;
    let client = plain();
    let attempt = |password: &'static str| {
        client
            .post(app.url("/login"))
            .form(&[("email", "Dana@example.test"), ("password", password)])
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("not the password").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = attempt(PASSWORD).await.unwrap();
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&wait), "Retry-After: {wait}");
    let body = problem(throttled, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "urn:tutti:problem:too-many-requests");
    assert_eq!(body["field"], "email");

    // Another account is not held back by Dana's.
    app.user("noa@example.test", &[]).await;
    let noa = client
        .post(app.url("/login"))
        .form(&[("email", "noa@example.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(noa.status(), StatusCode::SEE_OTHER);

    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(
        attempt(PASSWORD).await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "after the window the right password works"
    );
}

#[tokio::test]
async fn a_client_address_is_throttled_and_a_browser_sees_a_page_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.limits.per_address = 2;
    })
    .await;
    let browser = app.anonymous();
    for email in ["a@example.test", "b@example.test"] {
        let failed = browser
            .form(
                "/login",
                &[("email", email), ("password", "whatever it is")],
            )
            .await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    let page = browser
        .form(
            "/login",
            &[("email", "c@example.test"), ("password", "whatever it is")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers().contains_key("retry-after"));
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Link redemptions and reset requests count against the same address.
    let reset = plain()
        .post(app.url("/password/forgot"))
        .form(&[("email", "a@example.test")])
        .send()
        .await
        .unwrap();
    problem(reset, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn failed_sign_ins_are_in_the_audit_log_with_the_email_typed() {
    let app = spawn_app().await;
    app.user("dana@example.test", &[]).await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let long = format!("{}@example.test", "x".repeat(400));
    for email in ["dana@example.test", "nobody@example.test", long.as_str()] {
        let failed = plain()
            .post(app.url("/login"))
            .form(&[("email", email), ("password", "not the password")])
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    let audit: Value = admin
        .api(Method::GET, "/api/v1/admin/audit", None)
        .await
        .json()
        .await
        .unwrap();
    let failed: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sign-in-failed")
        .collect();
    assert_eq!(failed.len(), 3, "{audit}");
    let emails: Vec<&str> = failed
        .iter()
        .map(|e| e["actor_email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"dana@example.test"), "{emails:?}");
    assert!(emails.contains(&"nobody@example.test"), "{emails:?}");
    assert!(
        emails.iter().all(|e| e.chars().count() <= 254),
        "the email typed is capped: {emails:?}"
    );
    assert!(failed.iter().all(|e| e["actor_id"].is_null()));
    assert!(
        failed[0]["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{}",
        failed[0]
    );
}

#[tokio::test]
async fn signed_in_people_can_use_every_form_because_each_carries_the_csrf_token() {
    let app = spawn_app().await;
    let mut dana = app.signed_in("dana@example.test", &[]).await;

    let forgot = dana.get("/password/forgot").await.text().await.unwrap();
    assert_eq!(csrf_of(&forgot).as_deref(), Some(dana.csrf.as_str()));
    let asked = dana
        .form("/password/forgot", &[("email", "dana@example.test")])
        .await;
    assert_eq!(asked.status(), StatusCode::OK);

    let link = admin::invite(app.platform(), "noa@example.test", &[], Actor::Cli)
        .await
        .unwrap()
        .unwrap();
    let path = link.strip_prefix(&app.base).unwrap();
    let page = dana.get(path).await.text().await.unwrap();
    let from_page = csrf_of(&page).expect("the invitation form carries the token");
    assert_eq!(from_page, dana.csrf);
    // Submitted exactly as the page would, with the token the page holds.
    dana.csrf = from_page;
    let accepted = dana
        .form(path, &[("name", "Noa"), ("password", PASSWORD)])
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_outbox_keeps_a_link_only_while_its_message_waits() {
    let app = spawn_app().await;
    let admin_browser = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let outbox = || async {
        admin_browser
            .api(Method::GET, "/api/v1/admin/outbox", None)
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };
    let message_to = |messages: &[Value], email: &str| {
        messages
            .iter()
            .find(|m| m["to_email"] == email)
            .cloned()
            .unwrap_or_else(|| panic!("no message to {email}: {messages:?}"))
    };

    // Passed on by hand: the link goes.
    let passed = admin::invite(app.platform(), "passed@example.test", &[], Actor::Cli)
        .await
        .unwrap()
        .unwrap();
    let held = message_to(&outbox().await, "passed@example.test");
    assert_eq!(held["status"], "held");
    assert_eq!(held["link"], passed.as_str());
    let id = held["id"].as_str().unwrap();
    let done = admin_browser
        .form(&format!("/admin/outbox/{id}/done"), &[])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let secret = passed.rsplit('/').next().unwrap();
    let after = message_to(&outbox().await, "passed@example.test");
    assert_eq!(after["status"], "passed-on");
    assert!(after["link"].is_null(), "{after}");
    let body = after["body"].as_str().unwrap();
    assert!(
        !body.contains(secret) && body.contains("[link removed]"),
        "{body}"
    );
    let page = admin_browser
        .get("/admin/outbox")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(secret), "the page no longer shows it");

    // Used by its person before anyone marked it: it lapses.
    let used = admin::invite(app.platform(), "used@example.test", &[], Actor::Cli)
        .await
        .unwrap()
        .unwrap();
    let accepted = plain()
        .post(&used)
        .form(&[("name", "Used"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let lapsed = message_to(&outbox().await, "used@example.test");
    assert_eq!(lapsed["status"], "lapsed");
    assert!(lapsed["link"].is_null(), "{lapsed}");

    // Expired: the periodic sweep cuts it out.
    app.user("forgetful@example.test", &[]).await;
    admin::request_password_reset(app.platform(), "forgetful@example.test")
        .await
        .unwrap();
    sqlx::query("UPDATE one_time_links SET expires_at = 1 WHERE purpose = 'reset'")
        .execute(app.platform().db.pool())
        .await
        .unwrap();
    let report = tutti_accounts::sweep::sweep(&app.platform().db)
        .await
        .unwrap();
    assert!(report.outbox.scrubbed >= 1, "{report:?}");
    let expired = message_to(&outbox().await, "forgetful@example.test");
    assert_eq!(expired["status"], "lapsed");
    assert!(expired["link"].is_null(), "{expired}");
}

#[tokio::test]
async fn the_sweep_deletes_expired_sessions_links_and_sign_ins() {
    let app = spawn_app().await;
    let p = app.platform();
    let mut dana = app.signed_in("dana@example.test", &[]).await;
    app.user("old@example.test", &[]).await;
    let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind("old@example.test")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    tutti_accounts::db::create_session(&p.db, &user_id, 1)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE user_id = $1")
        .bind(&user_id)
        .execute(p.db.pool())
        .await
        .unwrap();
    admin::invite(p, "later@example.test", &[], Actor::Cli)
        .await
        .unwrap();
    sqlx::query("UPDATE one_time_links SET expires_at = 1 WHERE email = $1")
        .bind("later@example.test")
        .execute(p.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO oidc_logins (state, nonce, pkce_verifier, next_path, created_at) \
         VALUES ('stale', 'n', 'v', '/', 1)",
    )
    .execute(p.db.pool())
    .await
    .unwrap();

    let report = tutti_accounts::sweep::sweep(&p.db).await.unwrap();
    assert_eq!(report.expired.sessions, 1, "{report:?}");
    assert!(report.expired.links >= 1, "{report:?}");
    assert_eq!(report.expired.oidc_logins, 1, "{report:?}");
    // The live session is untouched.
    dana.csrf = csrf_of(&dana.get("/profile").await.text().await.unwrap()).unwrap();
    assert!(!dana.csrf.is_empty());
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM one_time_links WHERE email = $1",
            "later@example.test"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_token_past_its_expiry_is_refused() {
    let app = spawn_app().await;
    let dana = app.signed_in("dana@example.test", &[SPEAKER]).await;
    let created: Value = dana
        .api(
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "for a day", "expires_in_days": 1})),
        )
        .await
        .json()
        .await
        .unwrap();
    let expires_at = created["expires_at"].as_i64().expect("an expiry");
    let now = tutti_store::now_ms();
    assert!((expires_at - now - 86_400_000).abs() < 60_000, "{created}");
    let script = with_token(created["token"].as_str().unwrap());
    let me = script.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind(now - 1)
        .bind(created["id"].as_str().unwrap())
        .execute(app.platform().db.pool())
        .await
        .unwrap();
    let refused = script.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(
        problem(refused, StatusCode::UNAUTHORIZED).await["type"],
        "urn:tutti:problem:invalid-token"
    );

    let forever = dana
        .api(
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "forever"})),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(forever["expires_at"].is_null(), "{forever}");
    let zero = dana
        .api(
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "never", "expires_in_days": 0})),
        )
        .await;
    assert_eq!(
        problem(zero, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "expires_in_days"
    );
}

#[tokio::test]
async fn a_delegate_token_expires_by_default_and_cannot_touch_credentials() {
    let app = spawn_app().await;
    app.user("system@example.test", &[Role::ADMIN]).await;
    app.user("speaker@example.test", &[SPEAKER]).await;
    let secret = app.token("system@example.test", TokenScope::Delegate).await;
    let expires_at: i64 = sqlx::query_scalar(
        "SELECT expires_at FROM api_tokens WHERE scope = 'delegate' AND name = 'test'",
    )
    .fetch_one(app.platform().db.pool())
    .await
    .unwrap();
    let in_days = (expires_at - tutti_store::now_ms()) as f64 / 86_400_000.0;
    assert!((29.9..=30.0).contains(&in_days), "{in_days}");

    let delegate = with_token(&secret);
    let as_speaker = |method: Method, path: &str| {
        delegate
            .request(method, app.url(path))
            .header("x-tutti-on-behalf-of", "speaker@example.test")
    };
    let mint = as_speaker(Method::POST, "/api/v1/me/tokens")
        .json(&json!({"name": "mine forever"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(mint, StatusCode::FORBIDDEN).await["field"],
        "x-tutti-on-behalf-of"
    );
    let own = app.token("speaker@example.test", TokenScope::Api).await;
    let own_id: String = sqlx::query_scalar(
        "SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1",
    )
    .bind("speaker@example.test")
    .fetch_one(app.platform().db.pool())
    .await
    .unwrap();
    let revoke = as_speaker(Method::DELETE, &format!("/api/v1/me/tokens/{own_id}"))
        .send()
        .await
        .unwrap();
    problem(revoke, StatusCode::FORBIDDEN).await;
    let still = with_token(&own)
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK, "the speaker's token lives");
    // Their name is not a credential.
    let renamed = as_speaker(Method::PATCH, "/api/v1/me")
        .json(&json!({"name": "Speaker S."}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_ask_for_their_token_or_a_local_client() {
    let app = spawn_app_with(|s| {
        s.metrics_token = Some("metrics-token-0123456789".into());
    })
    .await;
    let without = plain().get(app.url("/metrics")).send().await.unwrap();
    assert!(without.headers().contains_key("www-authenticate"));
    problem(without, StatusCode::UNAUTHORIZED).await;
    let wrong = with_token("metrics-token-9876543210")
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    problem(wrong, StatusCode::UNAUTHORIZED).await;
    let right = with_token("metrics-token-0123456789")
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("tutti_jobs"));

    // Without a token only this machine is answered: behind a trusted proxy, a client
    // elsewhere is refused.
    let local = spawn_app_with(|s| s.trust_proxy_headers = true).await;
    let here = plain().get(local.url("/metrics")).send().await.unwrap();
    assert_eq!(here.status(), StatusCode::OK);
    let elsewhere = plain()
        .get(local.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    problem(elsewhere, StatusCode::FORBIDDEN).await;
}
