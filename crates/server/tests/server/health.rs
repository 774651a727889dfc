use serde_json::json;

use crate::helpers::{TestServer, problem};

#[tokio::test]
async fn a_running_server_is_live_and_ready() {
    let server = TestServer::start().await;
    let live = server.get("/healthz").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.text().await.unwrap(), "ok");

    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap(),
        json!({ "database": "ok", "blobs": "ok" })
    );
    server.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn losing_the_database_makes_the_server_unready_but_still_live() {
    let server = TestServer::start().await;
    server.running.app.db.close().await;

    let body = problem(server.get("/readyz").await, 503).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("database"), "{detail}");
    assert!(
        !detail.contains("blob"),
        "only what failed is named: {detail}"
    );
    assert_eq!(server.get("/healthz").await.status(), 200);

    // Requests that need the database are told to come back, not that the server broke.
    let client = reqwest::Client::new();
    let api = client
        .get(server.url("/api/v1/me"))
        .bearer_auth("tutti_not-checked-without-a-database")
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["retry-after"], "5");
    let body = problem(api, 503).await;
    assert_eq!(body["type"], "urn:tutti:problem:database-unavailable");
    let page = client
        .get(server.url("/"))
        .header("accept", "text/html")
        .header("cookie", "tutti_session=some-session")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503);
    assert_eq!(page.headers()["retry-after"], "5");
    assert!(page.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn the_api_is_described_under_the_product_name() {
    let server = TestServer::start().await;
    let response = server.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "Tutti");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
}

#[tokio::test]
async fn the_shared_assets_are_served() {
    let server = TestServer::start().await;
    let css = server.get("/assets/tutti.css").await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}
