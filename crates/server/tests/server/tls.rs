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
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="),
        "browsers are told to keep to https"
    );
    assert_eq!(response.text().await.unwrap(), "ok");

    // Over https the session cookie takes the __Host- prefix.
    let login = server
        .client
        .post(server.url("/login"))
        .form(&[("email", "nobody@example.test"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
    tutti_accounts::admin::create_user(
        &server.running.app.accounts,
        "dana@example.test",
        "",
        Some("correct horse battery"),
        &[],
        tutti_accounts::admin::Actor::Cli,
    )
    .await
    .unwrap();
    let login = server
        .client
        .post(server.url("/login"))
        .form(&[
            ("email", "dana@example.test"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-tutti_session=")
            && cookie.contains("; Secure")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let profile = server
        .client
        .get(server.url("/profile"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200, "the prefixed cookie is the session");

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
