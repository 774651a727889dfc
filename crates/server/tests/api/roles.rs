//! The role matrix, derived from the routes' own declarations: every route that is not
//! public is called with no session, with a session holding every other role, and with
//! the role; only the last gets past the access check. A route a studio adds is in the
//! matrix without anyone listing it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::Role;
use tutti_platform::{Access, RouteDecl};

use crate::helpers::*;

/// A concrete path for a declared one: placeholders become a value no row has.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "no-such-id"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(browser: &Browser, route: &RouteDecl) -> reqwest::Response {
    let path = concrete(&route.path);
    let mut request = if route.page {
        browser.request(route.method.clone(), &path)
    } else {
        browser
            .client
            .request(route.method.clone(), format!("{}{path}", browser.base))
    };
    if !browser.csrf.is_empty() {
        request = request.header("x-csrf-token", &browser.csrf);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn only_the_right_role_passes_each_declared_route() {
    let app = spawn_app().await;
    let declared = app.running.as_ref().unwrap().app.route_declarations();
    let roles: Vec<Role> = app
        .running
        .as_ref()
        .unwrap()
        .app
        .platform
        .roles
        .all()
        .iter()
        .map(|d| d.role.clone())
        .collect();
    assert!(
        declared.iter().any(|d| d.path == "/rehearsal"),
        "a plugged-in studio's routes are declared too"
    );
    let nobody = app.anonymous();
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let mut checked = 0;
    for route in declared.iter().filter(|d| d.access != Access::Public) {
        let label = format!("{} {}", route.method, route.path);
        let anonymous = call(&nobody, route).await.status();
        let expected = if route.method == Method::GET && route.page {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(anonymous, expected, "{label} without a session");

        if let Access::Role(role) = &route.access {
            let others: Vec<Role> = roles
                .iter()
                .filter(|r| *r != role && **r != Role::ADMIN)
                .cloned()
                .collect();
            let email = format!("lacks-{role}-{checked}@example.test");
            let lacking = app.signed_in(&email, &others).await;
            let status = call(&lacking, route).await.status();
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{label} without the {role} role"
            );
        }

        let allowed = call(&admin, route).await.status();
        assert!(
            allowed != StatusCode::UNAUTHORIZED && allowed != StatusCode::FORBIDDEN,
            "{label} with the role: {allowed}"
        );
        checked += 1;
    }
    assert!(
        checked > 20,
        "only {checked} protected routes were declared"
    );
}

#[tokio::test]
async fn a_studio_plugs_in_with_its_roles_pages_api_and_tables() {
    let app = spawn_app().await;
    let home = app.anonymous().get("/").await.text().await.unwrap();
    assert!(
        home.contains(r#"rehearsal">Rehearsal</a>"#),
        "the home page lists the studio"
    );

    let speaker = app.signed_in("speaker@example.test", &[SPEAKER]).await;
    let room = speaker.get("/rehearsal").await;
    assert_eq!(room.status(), StatusCode::OK);
    let html = room.text().await.unwrap();
    assert!(
        html.contains("speaker@example.test"),
        "the studio's page knows who asks"
    );
    assert!(html.contains("Rehearsal"), "the studio's messages render");
    let denied = speaker
        .api(
            Method::POST,
            "/api/v1/rehearsal/notes",
            Some(json!({"body": "hi"})),
        )
        .await;
    problem(denied, StatusCode::FORBIDDEN).await;

    let member = app.signed_in("member@example.test", &[MEMBER]).await;
    let added = member
        .api(
            Method::POST,
            "/api/v1/rehearsal/notes",
            Some(json!({"body": "in tune"})),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let notes: Value = speaker
        .api(Method::GET, "/api/v1/rehearsal/notes", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notes[0]["body"], "in tune");
    assert_eq!(notes[0]["author_email"], "member@example.test");

    let openapi: Value = app
        .anonymous()
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        openapi["paths"]["/api/v1/rehearsal/notes"]["post"].is_object(),
        "the studio's API is described"
    );
}

#[tokio::test]
async fn roles_nobody_declared_are_refused() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let refused = admin
        .api(
            Method::PUT,
            "/api/v1/admin/users/dana@example.test/roles/boss",
            None,
        )
        .await;
    let body = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["field"], "role");
    let detail = body["detail"].as_str().unwrap();
    for role in ["admin", "speaker", "reviewer", "artist", "member"] {
        assert!(detail.contains(role), "the error names {role}: {detail}");
    }
}

#[tokio::test]
async fn a_form_without_the_session_csrf_token_or_from_another_site_is_refused() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("dana@example.test", &[]).await;
    let token = std::mem::take(&mut browser.csrf);

    let missing = browser
        .request(Method::POST, "/profile/name")
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = browser
        .request(Method::POST, "/profile/name")
        .form(&[("name", "Forged"), ("csrf", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let api = browser
        .client
        .patch(app.url("/api/v1/me"))
        .json(&json!({"name": "Forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(api, StatusCode::FORBIDDEN).await["field"], "csrf");
    let elsewhere = browser
        .request(Method::POST, "/profile/name")
        .header("origin", "https://evil.example")
        .form(&[("name", "Forged"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);

    let me: Value = browser
        .client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "dana@example.test", "nothing changed");
    let ok = browser
        .request(Method::POST, "/profile/name")
        .form(&[("name", "Dana"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
}
