//! The role matrix: every route that needs a role (or a session) is called with no
//! session, with a session lacking the role, and with the role; only the last succeeds.
//! Studios add their routes to `protected_routes`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::{Role, admin};
use tutti_store::jobs::NewJob;

use crate::helpers::*;

enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

struct Route {
    method: Method,
    path: String,
    body: Body,
    /// None: any signed-in person may call it.
    role: Option<Role>,
}

fn route(method: Method, path: impl Into<String>, body: Body, role: Option<Role>) -> Route {
    Route {
        method,
        path: path.into(),
        body,
        role,
    }
}

fn form(fields: &[(&'static str, &str)]) -> Body {
    Body::Form(fields.iter().map(|(k, v)| (*k, v.to_string())).collect())
}

async fn failed_job(app: &TestApp) -> String {
    let queue = &app.platform().queue;
    let id = queue
        .enqueue(NewJob::new("test.never-runs", &json!({})).unwrap())
        .await
        .unwrap();
    sqlx_update(app, &id).await;
    id
}

async fn sqlx_update(app: &TestApp, id: &str) {
    tutti_store::sqlx::query(
        "UPDATE jobs SET status = 'failed', last_error = 'test' WHERE id = $1",
    )
    .bind(id)
    .execute(app.platform().db.pool())
    .await
    .unwrap();
}

async fn protected_routes(app: &TestApp) -> Vec<Route> {
    let api_failed = failed_job(app).await;
    let page_failed = failed_job(app).await;
    admin::invite(app.platform(), "held@example.test", &[], admin::Actor::Cli)
        .await
        .unwrap();
    let held = app.platform().mailer.list(Some("held"), 10).await.unwrap();
    let held_id = held[0].id.clone();
    let admin = Some(Role::Admin);
    vec![
        // Signed in, any role.
        route(Method::GET, "/profile", Body::None, None),
        route(
            Method::POST,
            "/profile/name",
            form(&[("name", "Renamed")]),
            None,
        ),
        route(
            Method::POST,
            "/profile/tokens",
            form(&[("name", "matrix")]),
            None,
        ),
        route(Method::GET, "/api/v1/me", Body::None, None),
        route(
            Method::PATCH,
            "/api/v1/me",
            Body::Json(json!({"name": "Renamed"})),
            None,
        ),
        route(Method::GET, "/api/v1/me/tokens", Body::None, None),
        route(
            Method::POST,
            "/api/v1/me/tokens",
            Body::Json(json!({"name": "matrix"})),
            None,
        ),
        // Administrators.
        route(Method::GET, "/admin/users", Body::None, admin),
        route(Method::GET, "/admin/jobs", Body::None, admin),
        route(Method::GET, "/admin/audit", Body::None, admin),
        route(Method::GET, "/admin/outbox", Body::None, admin),
        route(
            Method::POST,
            "/admin/roles/grant",
            form(&[("email", "x@example.test"), ("role", "speaker")]),
            admin,
        ),
        route(
            Method::POST,
            "/admin/roles/revoke",
            form(&[("email", "x@example.test"), ("role", "speaker")]),
            admin,
        ),
        route(
            Method::POST,
            "/admin/invitations",
            form(&[("email", "inv@example.test"), ("role", "member")]),
            admin,
        ),
        route(
            Method::POST,
            "/admin/jobs/selftest",
            form(&[("count", "1"), ("sleep_ms", "0")]),
            admin,
        ),
        route(
            Method::POST,
            format!("/admin/jobs/{page_failed}/retry"),
            form(&[]),
            admin,
        ),
        route(
            Method::POST,
            format!("/admin/outbox/{held_id}/done"),
            form(&[]),
            admin,
        ),
        route(Method::GET, "/api/v1/admin/users", Body::None, admin),
        route(
            Method::PUT,
            "/api/v1/admin/users/y@example.test/roles/artist",
            Body::None,
            admin,
        ),
        route(
            Method::DELETE,
            "/api/v1/admin/users/y@example.test/roles/artist",
            Body::None,
            admin,
        ),
        route(
            Method::POST,
            "/api/v1/admin/invitations",
            Body::Json(json!({"email": "api-inv@example.test", "roles": ["member"]})),
            admin,
        ),
        route(Method::GET, "/api/v1/admin/jobs", Body::None, admin),
        route(
            Method::POST,
            "/api/v1/admin/jobs/selftest",
            Body::Json(json!({"count": 1})),
            admin,
        ),
        route(
            Method::POST,
            format!("/api/v1/admin/jobs/{api_failed}/retry"),
            Body::None,
            admin,
        ),
        route(Method::GET, "/api/v1/admin/audit", Body::None, admin),
        route(Method::GET, "/api/v1/admin/outbox", Body::None, admin),
    ]
}

async fn call(browser: &Browser, route: &Route) -> reqwest::Response {
    let is_api = route.path.starts_with("/api/");
    let mut request = if is_api {
        browser.client.request(
            route.method.clone(),
            format!("{}{}", browser.base, route.path),
        )
    } else {
        browser.request(route.method.clone(), &route.path)
    };
    if !browser.csrf.is_empty() {
        request = request.header("x-csrf-token", &browser.csrf);
    }
    request = match &route.body {
        Body::None => request,
        Body::Json(v) => request.json(v),
        Body::Form(fields) => request.form(fields),
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn only_the_right_role_opens_each_protected_route() {
    let app = spawn_app().await;
    let routes = protected_routes(&app).await;
    let nobody = app.anonymous();
    let member = app
        .signed_in(
            "member@example.test",
            &[Role::Member, Role::Speaker, Role::Reviewer, Role::Artist],
        )
        .await;
    let admin = app.signed_in("admin@example.test", &[Role::Admin]).await;

    for route in &routes {
        let label = format!("{} {}", route.method, route.path);
        let anonymous = call(&nobody, route).await.status();
        let expected = if route.method == Method::GET && !route.path.starts_with("/api/") {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(anonymous, expected, "{label} without a session");

        if let Some(role) = route.role {
            let lacking = call(&member, route).await.status();
            assert_eq!(
                lacking,
                StatusCode::FORBIDDEN,
                "{label} without the {role} role"
            );
        }

        let allowed = call(&admin, route).await.status();
        assert!(
            allowed.is_success() || allowed.is_redirection(),
            "{label} with the role: {allowed}"
        );
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
