use reqwest::{Method, StatusCode};
use serde_json::json;
use tutti_accounts::Role;

use crate::helpers::*;

#[tokio::test]
async fn bad_json_gets_a_problem_naming_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let post = |body: &'static str, content_type: &'static str| {
        admin
            .client
            .post(app.url("/api/v1/me/tokens"))
            .header("x-csrf-token", &admin.csrf)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let malformed = problem(
        post("{\"name\": ", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(malformed["type"], "urn:tutti:problem:malformed-json");
    let missing = problem(
        post("{}", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(missing["field"], "name");
    let wrong_type = problem(
        post("{\"name\": 5}", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong_type["field"], "name");
    let bad_scope = problem(
        post("{\"name\": \"x\", \"scope\": \"root\"}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad_scope["field"], "scope");
    let blank = problem(
        post("{\"name\": \"   \"}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(blank["field"], "name");
    problem(
        post("name=x", "text/plain").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;

    let tokens = admin
        .api(Method::GET, "/api/v1/me/tokens", None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(tokens, json!([]), "no token was made by any bad request");

    let role = admin
        .api(
            Method::PUT,
            "/api/v1/admin/users/a@example.test/roles/singer",
            None,
        )
        .await;
    let role = problem(role, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(role["field"], "role");
    assert!(
        role["detail"]
            .as_str()
            .unwrap()
            .contains("admin, speaker, reviewer, artist, member")
    );
    let email = problem(
        admin
            .api(
                Method::PUT,
                "/api/v1/admin/users/not-an-email/roles/speaker",
                None,
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(email["field"], "email");
    let count = problem(
        admin
            .api(
                Method::POST,
                "/api/v1/admin/jobs/selftest",
                Some(json!({"count": 0})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(count["field"], "count");
    let status = problem(
        admin
            .api(Method::GET, "/api/v1/admin/jobs?status=lost", None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(status["field"], "status");
    let limit = problem(
        admin
            .api(Method::GET, "/api/v1/admin/jobs?limit=many", None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(limit["field"], "limit");
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_huge_bodies_get_problems() {
    let app = spawn_app_with(|s| s.max_body_bytes = 64 * 1024).await;
    let client = reqwest::Client::new();
    problem(
        client
            .get(app.url("/api/v1/nothing-here"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        client.delete(app.url("/api/v1/me")).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(200 * 1024));
    let response = admin
        .client
        .post(app.url("/api/v1/me/tokens"))
        .header("x-csrf-token", &admin.csrf)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn a_problem_on_a_page_is_shown_as_a_page() {
    let app = spawn_app().await;
    let member = app.signed_in("member@example.test", &[MEMBER]).await;
    let page = member.get("/admin/users").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("needs the admin role") && html.contains("<html"),
        "{html}"
    );
    let missing = member.get("/no/such/page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
