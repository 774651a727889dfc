use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::{Role, TokenScope};

use crate::helpers::*;

#[tokio::test]
async fn a_token_is_shown_once_works_as_its_owner_and_stops_when_revoked() {
    let app = spawn_app().await;
    let dana = app.signed_in("dana@example.test", &[SPEAKER]).await;
    let created = dana
        .api(
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "laptop script"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("tutti_"));

    let listed = dana
        .api(Method::GET, "/api/v1/me/tokens", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("laptop script") && !listed.contains(&secret),
        "the secret is never shown again"
    );

    let script = with_token(&secret);
    let me: Value = script
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "dana@example.test");
    // Token calls need no CSRF token: no cookie is involved.
    let renamed = script
        .patch(app.url("/api/v1/me"))
        .json(&json!({"name": "Dana R."}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);

    let id = created["id"].as_str().unwrap();
    let revoked = dana
        .api(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None)
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = script.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(
        problem(after, StatusCode::UNAUTHORIZED).await["type"],
        "urn:tutti:problem:invalid-token"
    );
    let again = dana
        .api(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), None)
        .await;
    problem(again, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_delegate_token_acts_for_a_named_user_and_every_call_is_audited() {
    let app = spawn_app().await;
    app.user("system@example.test", &[Role::ADMIN]).await;
    app.user("speaker@example.test", &[SPEAKER]).await;
    app.user("other-admin@example.test", &[Role::ADMIN]).await;
    let delegate = with_token(&app.token("system@example.test", TokenScope::Delegate).await);

    let me: Value = delegate
        .get(app.url("/api/v1/me"))
        .header("x-tutti-on-behalf-of", "Speaker@Example.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "speaker@example.test");
    assert_eq!(me["roles"], json!(["speaker"]));
    assert_eq!(me["acting_for_them"], "system@example.test");

    // Acting as the speaker, the admin's powers are gone.
    let admin_only = delegate
        .get(app.url("/api/v1/admin/users"))
        .header("x-tutti-on-behalf-of", "speaker@example.test")
        .send()
        .await
        .unwrap();
    problem(admin_only, StatusCode::FORBIDDEN).await;

    let on_admin = delegate
        .get(app.url("/api/v1/me"))
        .header("x-tutti-on-behalf-of", "other-admin@example.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(on_admin, StatusCode::FORBIDDEN).await["field"],
        "x-tutti-on-behalf-of"
    );
    let nobody = delegate
        .get(app.url("/api/v1/me"))
        .header("x-tutti-on-behalf-of", "nobody@example.test")
        .send()
        .await
        .unwrap();
    problem(nobody, StatusCode::NOT_FOUND).await;
    let garbage = delegate
        .get(app.url("/api/v1/me"))
        .header("x-tutti-on-behalf-of", "not an email")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(garbage, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "x-tutti-on-behalf-of"
    );

    let audit: Value = delegate
        .get(app.url("/api/v1/admin/audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let delegated: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "delegated-request")
        .collect();
    assert_eq!(
        delegated.len(),
        2,
        "the two calls that acted for the speaker: {audit}"
    );
    for entry in delegated {
        assert_eq!(entry["actor_email"], "system@example.test");
        assert_eq!(entry["on_behalf_of_email"], "speaker@example.test");
        assert!(entry["token_id"].is_string());
    }
}

#[tokio::test]
async fn only_delegate_tokens_of_admins_may_act_for_others() {
    let app = spawn_app().await;
    app.user("speaker@example.test", &[SPEAKER]).await;
    app.user("admin@example.test", &[Role::ADMIN]).await;
    let plain = with_token(&app.token("admin@example.test", TokenScope::Api).await);
    let refused = plain
        .get(app.url("/api/v1/me"))
        .header("x-tutti-on-behalf-of", "speaker@example.test")
        .send()
        .await
        .unwrap();
    problem(refused, StatusCode::FORBIDDEN).await;

    let speaker = app.signed_in("reviewer@example.test", &[REVIEWER]).await;
    let denied = speaker
        .api(
            Method::POST,
            "/api/v1/me/tokens",
            Some(json!({"name": "x", "scope": "delegate"})),
        )
        .await;
    assert_eq!(
        problem(denied, StatusCode::FORBIDDEN).await["field"],
        "scope"
    );
}
