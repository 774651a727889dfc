use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::Role;

use crate::helpers::*;

#[tokio::test]
async fn an_admin_queues_self_test_jobs_watches_them_finish_and_retries_a_failure() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let queued = admin
        .api(
            Method::POST,
            "/api/v1/admin/jobs/selftest",
            Some(json!({"count": 5, "sleep_ms": 10})),
        )
        .await;
    assert_eq!(queued.status(), StatusCode::CREATED);
    let ids: Vec<String> = queued.json::<Value>().await.unwrap()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list: Value = admin
            .api(Method::GET, "/api/v1/admin/jobs?status=done", None)
            .await
            .json()
            .await
            .unwrap();
        // The daily retention job may have run too: count the self-tests.
        let done = list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "platform.selftest")
            .count();
        if done == 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs did not finish: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let id = &ids[0];
    tutti_store::sqlx::query(
        "UPDATE jobs SET status = 'failed', last_error = 'disk full' WHERE id = $1",
    )
    .bind(id)
    .execute(app.platform().db.pool())
    .await
    .unwrap();
    let failed: Value = admin
        .api(Method::GET, "/api/v1/admin/jobs?status=failed", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        failed["jobs"][0]["last_error"], "disk full",
        "admins see the error"
    );
    let page = admin
        .get("/admin/jobs?status=failed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("disk full") && page.contains("Retry"));
    let retried = admin
        .api(
            Method::POST,
            &format!("/api/v1/admin/jobs/{id}/retry"),
            None,
        )
        .await;
    assert_eq!(retried.status(), StatusCode::NO_CONTENT);
    let not_failed = admin
        .api(
            Method::POST,
            &format!("/api/v1/admin/jobs/{}/retry", ids[1]),
            None,
        )
        .await;
    problem(not_failed, StatusCode::NOT_FOUND).await;
}
