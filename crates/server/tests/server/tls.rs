use crate::helpers::{TestServer, test_settings};

#[tokio::test]
async fn with_a_certificate_the_server_speaks_https() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();

    let server = TestServer::start_with(|s| {
        s.tls_cert = Some(cert.clone());
        s.tls_key = Some(key.clone());
    })
    .await;
    assert_eq!(server.running.url.scheme(), "https");
    let response = server.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");

    let plain = format!("http://{}/healthz", server.running.addr);
    assert!(
        server.client.get(plain).send().await.is_err(),
        "plain HTTP must not be served on the TLS port"
    );
    server.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_certificate_that_is_not_pem_stops_the_start_with_its_name() {
    let (mut settings, _db, _blobs, dir) = test_settings().await;
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    settings.tls_cert = Some(cert);
    settings.tls_key = Some(dir.path().join("missing-key.pem"));
    let err = format!(
        "{:#}",
        tutti_server::spawn_for_tests(settings).await.err().unwrap()
    );
    assert!(err.contains("tls_key"), "{err}");
    assert!(err.contains("missing-key.pem"), "{err}");
}
