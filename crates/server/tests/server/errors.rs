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

/// An address or headers too long for the server are refused with a problem document, like
/// any other bad request, not a bare status line (hyper reads heads far past these bounds
/// so that the router answers them).
#[tokio::test]
async fn an_oversized_address_or_header_is_a_problem_document() {
    let server = TestServer::start().await;
    let long_address = format!("/{}", "a".repeat(20_000));
    let body = problem(server.get(&long_address).await, 414).await;
    assert_eq!(body["type"], "urn:tutti:problem:uri-too-long");

    let response = server
        .client
        .get(server.url("/"))
        .header("x-big", "a".repeat(1_000_000))
        .send()
        .await
        .unwrap();
    let body = problem(response, 431).await;
    assert_eq!(body["type"], "urn:tutti:problem:headers-too-large");
    assert_eq!(body["field"], "x-big");

    // Ordinary requests still pass.
    assert_eq!(server.get("/healthz").await.status(), 200);
}
