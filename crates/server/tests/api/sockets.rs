//! Live connections told with a real WebSocket client (tokio-tungstenite) against the
//! rehearsal studio's rooms, where every message anyone sends is heard by everyone in the
//! room: a crowd signed in every way there is, a reader who falls behind, the ways in that
//! are refused, keep-alive, and a server that stops under its open sockets.

use std::future::Future;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tutti_accounts::TokenScope;
use tutti_platform::ws::Hub;

use crate::helpers::*;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any one expected event may take on a busy machine before the test gives up.
const WAIT: Duration = Duration::from_secs(30);

/// What a client shows to be let in.
#[derive(Clone, Copy)]
enum Pass<'a> {
    /// A browser's session cookie (with its page's `Origin`, as browsers send).
    Cookie(&'a Browser),
    /// A script's API token, no `Origin`.
    Bearer(&'a str),
    /// A guest link's token (from a browser, so with `Origin`).
    Guest(&'a str),
    Nothing,
}

fn socket_request(app: &TestApp, room: &str, pass: Pass<'_>, origin: Option<&str>) -> Request {
    let base = app.base.replacen("http", "ws", 1);
    let mut url = format!("{base}/rehearsal/rooms/{room}/socket");
    if let Pass::Guest(token) = pass {
        url = format!("{url}?guest={token}");
    }
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    match pass {
        Pass::Cookie(browser) => {
            let cookie = browser.cookie_header();
            assert!(!cookie.is_empty(), "the browser holds a session cookie");
            headers.insert("cookie", HeaderValue::from_str(&cookie).unwrap());
        }
        Pass::Bearer(token) => {
            let value = format!("Bearer {token}");
            headers.insert("authorization", HeaderValue::from_str(&value).unwrap());
        }
        Pass::Guest(_) | Pass::Nothing => {}
    }
    let origin = origin.or(match pass {
        Pass::Cookie(_) | Pass::Guest(_) => Some(app.base.as_str()),
        Pass::Bearer(_) | Pass::Nothing => None,
    });
    if let Some(origin) = origin {
        headers.insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    request
}

async fn try_open(
    app: &TestApp,
    room: &str,
    pass: Pass<'_>,
    origin: Option<&str>,
) -> Result<Ws, WsError> {
    let request = socket_request(app, room, pass, origin);
    timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the handshake is answered")
        .map(|(ws, _)| ws)
}

/// A socket in `room`, once the room has counted it in (it says welcome).
async fn open(app: &TestApp, room: &str, pass: Pass<'_>) -> Ws {
    let mut ws = try_open(app, room, pass, None)
        .await
        .expect("the upgrade is accepted");
    let welcome = next_message(&mut ws).await;
    assert!(
        matches!(&welcome, Message::Text(t) if t.starts_with("welcome ")),
        "the room greets a newcomer: {welcome:?}"
    );
    ws
}

/// The status and problem document of a refused handshake.
fn refusal(result: Result<Ws, WsError>) -> (StatusCode, Option<Value>) {
    match result {
        Ok(_) => panic!("the upgrade should have been refused"),
        Err(WsError::Http(response)) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok());
            (status, body)
        }
        Err(other) => panic!("the handshake failed instead of being answered: {other}"),
    }
}

/// The next text or binary message; pings are answered by reading and skipped.
async fn next_message(ws: &mut Ws) -> Message {
    loop {
        let message = timeout(WAIT, ws.next())
            .await
            .expect("a message arrives")
            .expect("the socket is open")
            .expect("the socket reads");
        match message {
            Message::Text(_) | Message::Binary(_) => return message,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(frame) => panic!("the socket closed while a message was due: {frame:?}"),
        }
    }
}

/// Reads until the server's close frame: its code and reason, and the text and binary
/// messages that came before it.
async fn close_of(ws: &mut Ws) -> (u16, String, Vec<Message>) {
    let read = async {
        let mut before = Vec::new();
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    // Reading on is what sends the reply that completes the closing
                    // handshake, as a browser does; the server waits for it.
                    while let Some(Ok(_)) = ws.next().await {}
                    return (u16::from(frame.code), frame.reason.to_string(), before);
                }
                Some(Ok(Message::Close(None))) => panic!("the close frame carries no code"),
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => before.push(message),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket broke before its close frame: {e}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    };
    timeout(WAIT, read).await.expect("the server closes")
}

fn hub(app: &TestApp) -> &Hub {
    &app.running.as_ref().unwrap().app.platform.sockets
}

/// Waits, with a generous limit, until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        sleep(Duration::from_millis(20)).await;
    }
}

/// The sum of a metric's series (all label sets), 0 before it is first recorded.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn guest_link(app: &TestApp, host: &Browser, room: &str, name: &str) -> String {
    let path = format!("/api/v1/rehearsal/rooms/{room}/guests");
    let made = host
        .api(Method::POST, &path, Some(json!({ "name": name })))
        .await;
    assert_eq!(made.status(), StatusCode::CREATED, "{}", app.base);
    let body: Value = made.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_crowd_signed_in_every_way_hears_every_text_and_binary_message() {
    let app = spawn_app().await;
    let room = "tuesday";
    let per_person = hub(&app).settings().max_per_user;
    let mut crowd: Vec<Ws> = Vec::new();
    for i in 0..5 {
        let singer = app.signed_in(&format!("singer{i}@example.test"), &[]).await;
        for _ in 0..per_person {
            crowd.push(open(&app, room, Pass::Cookie(&singer)).await);
        }
    }
    for i in 0..3 {
        let email = format!("script{i}@example.test");
        app.user(&email, &[]).await;
        let token = app.token(&email, TokenScope::Api).await;
        for _ in 0..per_person {
            crowd.push(open(&app, room, Pass::Bearer(&token)).await);
        }
    }
    let conductor = app.signed_in("conductor@example.test", &[MEMBER]).await;
    for name in ["Ada", "Grace", "Alan", "Edsger"] {
        let token = guest_link(&app, &conductor, room, name).await;
        crowd.push(open(&app, room, Pass::Guest(&token)).await);
    }
    let n = crowd.len();
    assert_eq!(hub(&app).open(), n);
    assert!(metric(&app, "tutti_ws_open_sockets").await >= n as f64);
    let (sent_before, received_before) = (
        metric(&app, "tutti_ws_messages_total{direction=\"out\"}").await,
        metric(&app, "tutti_ws_messages_total{direction=\"in\"}").await,
    );

    // Everyone says something in text and in binary before anyone listens: the room
    // keeps it all, since what each one hears fits its queue.
    assert!(2 * n < hub(&app).settings().queue);
    let text = |i: usize| format!("hello from {i}");
    let binary = |i: usize| vec![(i / 256) as u8, (i % 256) as u8, 0xff];
    for (i, ws) in crowd.iter_mut().enumerate() {
        ws.send(Message::text(text(i))).await.unwrap();
        ws.send(Message::binary(binary(i))).await.unwrap();
    }
    let mut expected_texts: Vec<String> = (0..n).map(text).collect();
    let mut expected_binaries: Vec<Vec<u8>> = (0..n).map(binary).collect();
    expected_texts.sort();
    expected_binaries.sort();
    let heard = futures::future::join_all(crowd.iter_mut().map(|ws| async move {
        let (mut texts, mut binaries) = (Vec::new(), Vec::new());
        for _ in 0..2 * n {
            match next_message(ws).await {
                Message::Text(t) => texts.push(t.to_string()),
                Message::Binary(b) => binaries.push(b.to_vec()),
                other => panic!("unexpected {other:?}"),
            }
        }
        texts.sort();
        binaries.sort();
        (texts, binaries)
    }))
    .await;
    for (i, (texts, binaries)) in heard.into_iter().enumerate() {
        assert_eq!(texts, expected_texts, "client {i} heard every text");
        assert_eq!(binaries, expected_binaries, "client {i} heard every binary");
    }
    assert!(
        metric(&app, "tutti_ws_messages_total{direction=\"in\"}").await
            >= received_before + (2 * n) as f64
    );
    assert!(
        metric(&app, "tutti_ws_messages_total{direction=\"out\"}").await
            >= sent_before + (2 * n * n) as f64
    );

    // Everyone leaves cleanly and the server lets go of every socket.
    for ws in &mut crowd {
        ws.close(None).await.unwrap();
    }
    for ws in &mut crowd {
        while let Some(Ok(_)) = timeout(WAIT, ws.next()).await.unwrap() {}
    }
    let app = &app;
    eventually("every socket to be let go", || async move {
        hub(app).open() == 0
    })
    .await;
}

#[tokio::test]
async fn a_reader_who_falls_behind_is_dropped_and_the_room_carries_on() {
    let app = spawn_app_with(|s| s.websocket.queue = 8).await;
    let room = "drill";
    let singer = app.signed_in("singer@example.test", &[]).await;
    let mut talker = open(&app, room, Pass::Cookie(&singer)).await;
    let listener_email = "listener@example.test";
    app.user(listener_email, &[]).await;
    let token = app.token(listener_email, TokenScope::Api).await;
    let mut listener = open(&app, room, Pass::Bearer(&token)).await;
    let dozer = app.signed_in("dozer@example.test", &[]).await;
    // Reads its welcome, then nothing: its queue fills once the network buffers have.
    let mut slow = open(&app, room, Pass::Cookie(&dozer)).await;
    assert_eq!(hub(&app).open(), 3);
    let dropped_before = metric(&app, "tutti_ws_slow_clients_dropped_total").await;

    // Large messages, in lockstep with the two who read, so only the slow one falls
    // behind; the network's buffers take megabytes before its queue fills.
    const CHUNK: usize = 256 * 1024;
    const MOST_ROUNDS: usize = 2000;
    let said = |round: usize| Message::binary(vec![(round % 251) as u8; CHUNK]);
    let mut rounds = 0;
    while rounds < MOST_ROUNDS {
        talker.send(said(rounds)).await.unwrap();
        for (who, ws) in [("talker", &mut talker), ("listener", &mut listener)] {
            assert!(
                next_message(ws).await == said(rounds),
                "{who} hears {rounds}"
            );
        }
        rounds += 1;
        if rounds % 8 == 0
            && metric(&app, "tutti_ws_slow_clients_dropped_total").await > dropped_before
        {
            break;
        }
    }
    assert!(
        rounds < MOST_ROUNDS,
        "the slow reader was still queued after {} MB",
        (MOST_ROUNDS * CHUNK) >> 20
    );

    // The others never notice.
    for _ in 0..32 {
        talker
            .send(Message::binary(vec![0xee; 1000]))
            .await
            .unwrap();
        for ws in [&mut talker, &mut listener] {
            assert_eq!(next_message(ws).await, Message::binary(vec![0xee; 1000]));
        }
    }

    // The slow one, reading again at last, and only after a few seconds (a poor link is
    // slow to drain; longer than the 2 s an ordinary close frame gets), gets through what
    // was already on its way, in order, then the server's reason for hanging up. Nothing
    // said after that reaches it.
    sleep(Duration::from_secs(3)).await;
    let (code, reason, backlog) = close_of(&mut slow).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("too slow"), "{reason}");
    assert!(backlog.len() < rounds, "{} of {rounds}", backlog.len());
    for (i, message) in backlog.iter().enumerate() {
        assert!(*message == said(i), "message {i} of the backlog");
    }
    let app = &app;
    eventually("the slow socket to be let go", || async move {
        hub(app).open() == 2
    })
    .await;
}

#[tokio::test]
async fn a_socket_needs_a_pass_for_this_room_from_this_site() {
    let app = spawn_app().await;
    let member = app.signed_in("member@example.test", &[MEMBER]).await;

    let (status, body) = refusal(try_open(&app, "a", Pass::Nothing, None).await);
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no identity, no guest link"
    );
    if let Some(body) = body {
        assert_eq!(body["status"], 401);
    }
    let (status, body) = refusal(try_open(&app, "a", Pass::Guest("made.up"), None).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a made-up guest link");
    if let Some(body) = body {
        assert_eq!(body["field"], "guest");
    }
    let (status, _) = refusal(try_open(&app, "a", Pass::Bearer("not-a-token"), None).await);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a made-up API token");

    let for_b = guest_link(&app, &member, "b", "Ada").await;
    let (status, body) = refusal(try_open(&app, "a", Pass::Guest(&for_b), None).await);
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a guest link for another room"
    );
    if let Some(body) = body {
        assert_eq!(body["field"], "guest");
    }
    open(&app, "b", Pass::Guest(&for_b)).await;

    // A page on another site cannot ride the visitor's session cookie into a room.
    for elsewhere in ["https://evil.example", "null"] {
        let (status, body) =
            refusal(try_open(&app, "a", Pass::Cookie(&member), Some(elsewhere)).await);
        assert_eq!(status, StatusCode::FORBIDDEN, "Origin {elsewhere}");
        if let Some(body) = body {
            assert_eq!(body["field"], "Origin");
        }
    }
    open(&app, "a", Pass::Cookie(&member)).await;
    for (reason, at_least) in [
        ("unauthenticated", 1.0),
        ("guest", 1.0),
        ("other-room", 1.0),
        ("origin", 2.0),
    ] {
        let series = format!("tutti_ws_refused_total{{reason=\"{reason}\"}}");
        assert!(metric(&app, &series).await >= at_least, "{series}");
    }
}

#[tokio::test]
async fn one_person_holds_at_most_max_per_user_sockets() {
    let app = spawn_app_with(|s| s.websocket.max_per_user = 2).await;
    let singer = app.signed_in("singer@example.test", &[]).await;
    let mut first = open(&app, "a", Pass::Cookie(&singer)).await;
    let _second = open(&app, "b", Pass::Cookie(&singer)).await;
    let (status, body) = refusal(try_open(&app, "a", Pass::Cookie(&singer), None).await);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    if let Some(body) = body {
        assert_eq!(body["type"], "urn:tutti:problem:too-many-sockets");
    }
    // Someone else is not held back by it.
    let other = app.signed_in("other@example.test", &[]).await;
    let _theirs = open(&app, "a", Pass::Cookie(&other)).await;

    // Closing a tab frees its place.
    first.close(None).await.unwrap();
    while let Some(Ok(_)) = timeout(WAIT, first.next()).await.unwrap() {}
    let (app, singer) = (&app, &singer);
    eventually("the closed socket's place to be freed", || async move {
        try_open(app, "a", Pass::Cookie(singer), None).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn stopping_the_server_says_going_away_to_every_socket() {
    let mut app = spawn_app().await;
    let room = "finale";
    let singer = app.signed_in("singer@example.test", &[MEMBER]).await;
    let email = "script@example.test";
    app.user(email, &[]).await;
    let token = app.token(email, TokenScope::Api).await;
    let guest = guest_link(&app, &singer, room, "Ada").await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(open(&app, room, Pass::Cookie(&singer)).await);
        sockets.push(open(&app, room, Pass::Bearer(&token)).await);
    }
    sockets.push(open(&app, room, Pass::Guest(&guest)).await);

    let stopped = app.stop();
    for ws in &mut sockets {
        let (code, reason, _) = close_of(ws).await;
        assert_eq!(code, 1001, "{reason}");
    }
    // A newcomer while it stops is turned away, by the server (503) or by a closed port.
    match try_open(&app, room, Pass::Bearer(&token), None).await {
        Err(WsError::Io(_)) => {}
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 503),
        other => panic!("a socket opened on a stopping server: {other:?}"),
    }
    timeout(WAIT, stopped)
        .await
        .expect("the server stops once its sockets have closed")
        .unwrap();
    assert!(
        matches!(
            try_open(&app, room, Pass::Bearer(&token), None).await,
            Err(WsError::Io(_))
        ),
        "nothing listens any more"
    );
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_and_a_silent_one_is_dropped() {
    const PING_SECS: u64 = 1;
    const TIMEOUT_SECS: u64 = 4;
    let app = spawn_app_with(|s| {
        s.websocket.ping_secs = PING_SECS;
        s.websocket.timeout_secs = TIMEOUT_SECS;
    })
    .await;
    let room = "quiet";
    let singer = app.signed_in("singer@example.test", &[]).await;
    let mut lively = open(&app, room, Pass::Cookie(&singer)).await;
    let email = "script@example.test";
    app.user(email, &[]).await;
    let token = app.token(email, TokenScope::Api).await;
    // After its welcome this one never touches its socket, so it never answers a ping.
    let mut silent = open(&app, room, Pass::Bearer(&token)).await;

    // Reading is what answers pings (tungstenite replies to each one it reads).
    let mut pings = 0u64;
    let watch = async {
        loop {
            tokio::select! {
                message = lively.next() => match message {
                    Some(Ok(Message::Ping(_))) => pings += 1,
                    Some(Ok(Message::Close(frame))) => panic!("the lively client was closed: {frame:?}"),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => panic!("the lively client broke: {e}"),
                    None => panic!("the lively client ended"),
                },
                // More pings than fit in timeout_secs: the lively one has outlived it.
                _ = sleep(Duration::from_millis(50)) => {
                    if pings > TIMEOUT_SECS / PING_SECS && hub(&app).open() == 1 {
                        return;
                    }
                }
            }
        }
    };
    timeout(WAIT, watch)
        .await
        .expect("the silent client is dropped while the lively one stays");

    lively.send(Message::text("still here")).await.unwrap();
    assert_eq!(next_message(&mut lively).await, Message::text("still here"));

    // What the server sent the silent one after its welcome, read off the wire (a
    // WebSocket client would try to answer the pings and fail on the closed connection
    // before reaching the close frame): pings, then close 1001.
    let mut wire = Vec::new();
    timeout(WAIT, silent.get_mut().read_to_end(&mut wire))
        .await
        .expect("the server hung up")
        .expect("the connection ends cleanly");
    let closes = control_frames(&wire)
        .into_iter()
        .filter(|(opcode, _)| *opcode == 0x8)
        .collect::<Vec<_>>();
    assert_eq!(closes.len(), 1, "one close frame: {wire:?}");
    let payload = &closes[0].1;
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1001);
    assert_eq!(&payload[2..], b"no answer to pings");
}

/// The (opcode, payload) of each frame a server wrote, for control frames and other
/// short unmasked ones.
fn control_frames(wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 2 <= wire.len() {
        let opcode = wire[at] & 0x0f;
        let len = usize::from(wire[at + 1] & 0x7f);
        assert!(len < 126, "only short frames are expected here");
        let payload = wire[at + 2..(at + 2 + len).min(wire.len())].to_vec();
        frames.push((opcode, payload));
        at += 2 + len;
    }
    frames
}
