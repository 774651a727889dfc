use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = reqwest::get(app.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["blobs"], "ok");

    app.platform()
        .blobs
        .put("test/metrics-probe", vec![0u8; 1000])
        .await
        .unwrap();
    reqwest::get(app.url("/")).await.unwrap();
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tutti_http_requests_total"), "{metrics}");
    assert!(metrics.contains("tutti_http_request_duration_seconds"));
    assert!(metrics.contains("tutti_jobs"));
    assert!(metrics.contains("tutti_blob_bytes_written_total"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_api_from_the_code() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["info"]["title"], "Tutti");
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/me",
        "/api/v1/me/tokens",
        "/api/v1/admin/users",
        "/api/v1/admin/users/{email}/roles/{role}",
        "/api/v1/admin/jobs",
        "/api/v1/admin/audit",
    ] {
        assert!(paths.contains_key(path), "{path} in {:?}", paths.keys());
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}
