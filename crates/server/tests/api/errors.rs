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
            .contains("admin, member, speaker, reviewer, artist")
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

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_browser_gets_an_error_page_and_an_api_client_a_problem_for_a_missing_page() {
    let app = spawn_app().await;
    let browser = app.anonymous();
    let page = browser.get("/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&page).starts_with("text/html"), "{page:?}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Page not found</h1>"), "{html}");
    assert!(!html.contains("Not Found</h1>"));
    assert!(html.contains(r#"href="/""#), "a way home");

    let hebrew = browser
        .request(Method::GET, "/no/such/page")
        .header("accept-language", "he")
        .send()
        .await
        .unwrap();
    assert_eq!(hebrew.status(), StatusCode::NOT_FOUND);
    assert!(
        hebrew
            .text()
            .await
            .unwrap()
            .contains("<h1>הדף לא נמצא</h1>")
    );

    let api = reqwest::Client::new()
        .get(app.url("/no/such/page"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let body = problem(api, StatusCode::NOT_FOUND).await;
    assert_eq!(body["status"], 404);
    let api_path = browser.get("/api/v1/no-such-thing").await;
    problem(api_path, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_form_without_its_csrf_token_gets_an_error_page_in_the_browser() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("dana@example.test", &[Role::ADMIN]).await;
    browser.csrf = String::new();
    let refused = browser
        .form("/admin/jobs/selftest", &[("count", "1")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(content_type(&refused).starts_with("text/html"));
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("<h1>You can&#x27;t do that here</h1>")
            || html.contains("<h1>You can't do that here</h1>"),
        "{html}"
    );
    assert!(html.contains("CSRF"), "the detail says why: {html}");

    // A script sending JSON keeps its problem document.
    let script = browser
        .client
        .post(app.url("/api/v1/admin/jobs/selftest"))
        .json(&json!({"count": 1}))
        .send()
        .await
        .unwrap();
    problem(script, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn unauthenticated_answers_say_how_to_authenticate() {
    let app = spawn_app().await;
    let api = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.headers()["www-authenticate"], r#"Bearer realm="tutti""#);
    problem(api, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn the_design_page_is_for_administrators() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let page = admin.get("/design").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"class="field-error""#) && html.contains("stack-table"));
    let member = app.signed_in("dana@example.test", &[]).await;
    assert_eq!(member.get("/design").await.status(), StatusCode::FORBIDDEN);
}
