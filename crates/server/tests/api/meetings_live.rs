//! A running meeting over its socket (protocol v1), with real WebSocket clients: the host
//! comes in, writes in the chat; a guest with a pass waits until the host admits them,
//! then gets the chat as it was stored; the guest cannot use a host's powers; the host
//! ends the meeting for everyone and the meeting records when it ran.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::TokenScope;

use crate::helpers::*;

async fn host_token(app: &TestApp) -> String {
    app.user("host@example.test", &[MEMBER]).await;
    app.token("host@example.test", TokenScope::Api).await
}

async fn post(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> Value {
    let client = match token {
        Some(t) => with_token(t),
        None => reqwest::Client::new(),
    };
    let r = client
        .request(Method::POST, format!("{}{path}", app.base))
        .header("origin", &app.base)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {v}");
    v
}

#[tokio::test]
async fn a_guest_waits_for_the_host_and_finds_the_chat_as_it_was_said() {
    let app = spawn_app().await;
    let token = host_token(&app).await;
    let meeting = post(
        &app,
        Some(&token),
        "/api/v1/meetings",
        json!({"title": "Stand-up", "guests_allowed": true}),
    )
    .await;
    let code = meeting["code"].as_str().unwrap();
    let socket = format!("/meetings/join/{code}/socket");

    let mut host = open_socket(&app, &socket, Some(&token), None).await;
    send(&mut host, json!({"type": "hello", "version": 1})).await;
    let welcome = expect(&mut host, "welcome").await;
    assert_eq!(welcome["role"], "host", "{welcome}");
    let host_id = welcome["you"].as_u64().unwrap();
    let roster = expect(&mut host, "roster").await;
    assert_eq!(roster["participants"].as_array().unwrap().len(), 1);
    send(
        &mut host,
        json!({"type": "chat", "text": "  Morning, all  "}),
    )
    .await;
    let line = expect(&mut host, "chat").await;
    assert_eq!(line["line"]["text"], "Morning, all");
    assert_eq!(line["line"]["name"], roster["participants"][0]["name"]);

    // A guest's pass, then the waiting room.
    let refused = reqwest::Client::new()
        .post(format!("{}/api/v1/meetings/join/{code}/guests", app.base))
        .header("origin", &app.base)
        .json(&json!({"name": "   "}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "name"
    );
    let pass = post(
        &app,
        None,
        &format!("/api/v1/meetings/join/{code}/guests"),
        json!({"name": "Gil Guest"}),
    )
    .await;
    let mut guest = open_socket(
        &app,
        pass["socket_url"].as_str().unwrap(),
        None,
        pass["token"].as_str(),
    )
    .await;
    send(&mut guest, json!({"type": "hello", "version": 1})).await;
    expect(&mut guest, "waiting").await;
    let lobby = expect(&mut host, "lobby").await;
    let waiting = &lobby["waiting"][0];
    assert_eq!(waiting["name"], "Gil Guest", "{lobby}");
    // Waiting, the guest can say nothing to the meeting.
    send(&mut guest, json!({"type": "chat", "text": "let me in"})).await;
    let e = expect_error(&mut guest).await;
    assert_eq!(e["code"], "hello");

    send(
        &mut host,
        json!({"type": "admit", "participant": waiting["id"]}),
    )
    .await;
    expect(&mut guest, "admitted").await;
    let welcome = expect(&mut guest, "welcome").await;
    assert_eq!(welcome["role"], "guest");
    let history = expect(&mut guest, "chat_history").await;
    assert_eq!(history["lines"][0]["text"], "Morning, all", "{history}");
    let joined = expect(&mut host, "joined").await;
    assert_eq!(joined["participant"]["name"], "Gil Guest");

    // A guest has no host's powers, and nobody can unmute anybody.
    send(&mut guest, json!({"type": "mute", "participant": host_id})).await;
    assert_eq!(expect_error(&mut guest).await["code"], "not-host");
    send(
        &mut guest,
        json!({"type": "unmute", "participant": host_id}),
    )
    .await;
    assert_eq!(expect_error(&mut guest).await["code"], "message");

    send(&mut host, json!({"type": "end"})).await;
    expect(&mut guest, "ended").await;
    expect(&mut host, "ended").await;
}

/// The next `error` message.
async fn expect_error(ws: &mut Ws) -> Value {
    use futures::StreamExt as _;
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("an answer")
            .expect("the socket is open")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "error" {
                return v;
            }
        }
    }
}
