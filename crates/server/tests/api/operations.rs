use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use tutti_accounts::Role;

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

async fn openapi(app: &TestApp) -> Value {
    reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_openapi_document_describes_the_api_from_the_code() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
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

/// The document is Tutti's (licence, how to authenticate) and every operation, the test
/// studio's included, says what it does, who may call it and that its errors are problem
/// documents; what the server refuses, the document refuses too.
#[tokio::test]
async fn every_operation_is_described() {
    let app = spawn_app().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["info"]["license"]["identifier"], "AGPL-3.0-or-later");
    assert!(doc["info"].get("contact").is_none());
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("Bearer")
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let here = format!("{method} {path}");
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(!summary.trim().is_empty(), "{here} has no summary");
            for (code, answer) in op["responses"].as_object().unwrap() {
                if code.starts_with('4') || code.starts_with('5') || code == "default" {
                    let content = answer["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{here} {code}"
                    );
                }
            }
            assert!(op["responses"]["default"].is_object(), "{here}");
            if op.get("security").is_some() {
                assert!(op["responses"]["401"].is_object(), "{here}");
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let placeholder = format!("{{{}}}", param["name"].as_str().unwrap());
                    assert!(
                        path.contains(&placeholder),
                        "{here}: a query parameter described as a path one: {param}"
                    );
                }
            }
        }
    }
    assert!(operations > 15, "{operations} operations");

    // Who may call what comes from the route declarations.
    assert!(doc["paths"]["/api/v1/me"]["get"]["security"].is_array());
    assert!(
        doc["paths"]["/api/v1/uploads"]["options"]
            .get("security")
            .is_none()
    );
    // Operations on one path declared apart (tus) are all there.
    let upload = doc["paths"]["/api/v1/uploads/{id}"].as_object().unwrap();
    for method in ["head", "get", "patch", "delete"] {
        assert!(
            upload.contains_key(method),
            "{method} in {:?}",
            upload.keys()
        );
    }
    // Roles are the declared ones; bodies refuse unknown fields, as the server does.
    let roles = doc["components"]["schemas"]["Role"]["enum"]
        .as_array()
        .unwrap();
    assert!(roles.contains(&Value::from("admin")) && roles.contains(&Value::from("speaker")));
    assert_eq!(
        doc["components"]["schemas"]["CreateToken"]["additionalProperties"],
        false
    );
    // Typed names are described by the rule the server applies to them.
    for schema in ["UpdateMe", "CreateToken"] {
        assert_eq!(
            doc["components"]["schemas"][schema]["properties"]["name"]["pattern"],
            tutti_web::text::SINGLE_LINE_PATTERN,
            "{schema}"
        );
    }
    let limit = doc["paths"]["/api/v1/admin/audit"]["get"]["parameters"][0].clone();
    assert_eq!(
        (limit["in"].as_str(), limit["schema"]["maximum"].as_i64()),
        (Some("query"), Some(1000))
    );
}

#[tokio::test]
async fn a_list_limit_outside_the_documented_range_is_refused() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    for path in [
        "/api/v1/admin/audit?limit=1001",
        "/api/v1/admin/jobs?limit=0",
    ] {
        let refused = admin.api(reqwest::Method::GET, path, None).await;
        let body = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["field"], "limit", "{path}");
    }
    let fine = admin
        .api(reqwest::Method::GET, "/api/v1/admin/audit?limit=1000", None)
        .await;
    assert_eq!(fine.status(), StatusCode::OK);
}
