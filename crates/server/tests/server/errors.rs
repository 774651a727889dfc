use crate::helpers::{TestServer, problem};

#[tokio::test]
async fn an_unknown_address_is_a_not_found_problem() {
    let server = TestServer::start().await;
    let body = problem(server.get("/no/such/page").await, 404).await;
    assert_eq!(body["type"], "urn:tutti:problem:not-found");
}

#[tokio::test]
async fn a_wrong_method_is_a_problem_that_keeps_the_allow_header() {
    let server = TestServer::start().await;
    let response = server
        .client
        .delete(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let allow = response.headers().get("allow").cloned();
    let body = problem(response, 405).await;
    assert_eq!(body["type"], "urn:tutti:problem:method-not-allowed");
    assert!(allow.unwrap().to_str().unwrap().contains("GET"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_it_is_read() {
    let server = TestServer::start_with(|s| s.max_body_bytes = 1024).await;
    let response = server
        .client
        .post(server.url("/api/v1/anything"))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    let body = problem(response, 413).await;
    assert_eq!(body["type"], "urn:tutti:problem:body-too-large");
}
