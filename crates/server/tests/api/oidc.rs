//! Sign-in with OpenID Connect against a stand-in provider that only publishes its
//! metadata (and refuses every code): enough to see what Tutti sends it and how the
//! callback is guarded. The whole flow with a real provider is in `tests/e2e`.

use axum::Json;
use axum::routing::{get, post};
use reqwest::{Client, StatusCode, redirect};
use serde_json::json;
use tutti_accounts::OidcSettings;

use crate::helpers::*;

/// A provider on a free port whose token endpoint refuses every code; returns its issuer.
async fn stand_in_provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let metadata = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let metadata = metadata.clone();
                async move { Json(metadata) }
            }),
        )
        .route("/jwks", get(|| async { Json(json!({"keys": []})) }))
        .route(
            "/token",
            post(|| async {
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_grant"})),
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

/// A browser with its own cookie jar that does not ask for HTML, so refusals stay
/// problem documents.
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_callback_only_finishes_a_sign_in_started_in_the_same_browser() {
    let issuer = stand_in_provider().await;
    let app = spawn_app_with(|s| {
        s.oidc = Some(OidcSettings {
            issuer: issuer.clone(),
            client_id: "tutti".into(),
            client_secret: "tutti-secret".into(),
            name: "Stand-in".into(),
            scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
        });
    })
    .await;

    // The victim's browser starts a sign-in.
    let victim = browser();
    let started = victim
        .get(app.url("/auth/oidc/start?next=/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let cookie = started.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let location = url::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{issuer}/authorize"))
    );
    let query = |key: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {key} in {location}"))
    };
    let scopes = query("scope");
    assert_eq!(
        scopes.split(' ').filter(|s| *s == "openid").count(),
        1,
        "openid once: {scopes}"
    );
    assert!(scopes.contains("email") && scopes.contains("profile"));
    let state = query("state");
    assert!(
        cookie.starts_with(&format!("tutti_oidc_state={state};"))
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age=600"),
        "{cookie}"
    );

    // An attacker's browser holding that state (or a victim opening an attacker's
    // callback link) has no matching cookie: refused, and the sign-in is not used up.
    let callback = format!("/auth/oidc/callback?code=attacker-code&state={state}");
    let refused = browser().get(app.url(&callback)).send().await.unwrap();
    let body = problem(refused, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["field"], "state", "{body}");
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oidc_logins WHERE state = $1")
        .bind(&state)
        .fetch_one(app.platform().db.pool())
        .await
        .unwrap();
    assert_eq!(waiting, 1);

    // An answer naming another issuer (RFC 9207) is refused, and the cookie cleared.
    let mixed_up = victim
        .get(app.url(&format!("{callback}&iss=https://evil.example")))
        .send()
        .await
        .unwrap();
    let cleared = mixed_up.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cleared.starts_with("tutti_oidc_state=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let body = problem(mixed_up, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["field"], "iss", "{body}");

    // The same browser, started again, gets past the binding to the provider (which
    // refuses the code here).
    let again = victim
        .get(app.url("/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(again.headers()["location"].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let finished = victim
        .get(app.url(&format!(
            "/auth/oidc/callback?code=some-code&state={state}&iss={issuer}"
        )))
        .send()
        .await
        .unwrap();
    let body = problem(finished, StatusCode::BAD_GATEWAY).await;
    assert_eq!(body["type"], "urn:tutti:problem:identity-provider-refused");
}
