use crate::helpers::TestServer;

#[tokio::test]
async fn requests_and_jobs_are_counted_for_prometheus() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await.status(), 200);
    assert_eq!(server.get("/no/such/page").await.status(), 404);

    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"tutti_http_requests_total{method="GET",route="/healthz",status="200"}"#,
        r#"tutti_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"tutti_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.005"}"#,
        r#"tutti_jobs{status="queued"}"#,
        r#"tutti_jobs{status="failed"}"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("route=\"/no/such/page\""),
        "raw paths must not become labels"
    );
}
