//! The choir's rooms and live connection, with real WebSocket clients singing real Opus:
//! rooms and guest passes (passwords checked by the server, members-only rooms), a
//! leader whose tone a follower one bucket later hears at the right place while the
//! leader does not hear themself, and the song's recording made into a file that holds
//! the tone.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use opus_pure::{Application, OpusDecoder, OpusEncoder};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use tutti_accounts::TokenScope;
use tutti_choir::protocol::{Frame, Kind};

use crate::helpers::*;

const RATE: f64 = 48_000.0;
const FRAME: usize = 2880;

async fn member_token(app: &TestApp, email: &str) -> String {
    app.user(email, &[MEMBER]).await;
    app.token(email, TokenScope::Api).await
}

async fn create_room(app: &TestApp, token: &str, body: Value) -> Value {
    let response = with_token(token)
        .post(app.url("/api/v1/choir/rooms"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn guest_pass(app: &TestApp, room: &str, body: Value) -> reqwest::Response {
    app.anonymous()
        .api(
            Method::POST,
            &format!("/api/v1/choir/rooms/{room}/guests"),
            Some(body),
        )
        .await
}

/// A socket into `room`: on a bearer token, or on a guest pass.
async fn open(app: &TestApp, room: &str, bearer: Option<&str>, guest: Option<&str>) -> Ws {
    open_socket(app, &format!("/choir/rooms/{room}/socket"), bearer, guest).await
}

/// Joins and returns (singer id, the server's clock at welcome, when it arrived).
async fn join(ws: &mut Ws, name: &str, part: &str) -> (u64, u64, Instant) {
    send(
        ws,
        json!({"type": "join", "name": name, "part": part, "seat": name}),
    )
    .await;
    let welcome = expect(ws, "welcome").await;
    assert_eq!(welcome["version"], 1);
    assert_eq!(welcome["frame"], FRAME);
    (
        welcome["you"].as_u64().unwrap(),
        welcome["clock"].as_u64().unwrap(),
        Instant::now(),
    )
}

fn tone(freq: f64, level: f64, from: u64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = (from + i as u64) as f64 / RATE;
            (level * (std::f64::consts::TAU * freq * t).sin()) as f32
        })
        .collect()
}

/// Energy at `freq` relative to the block's (Goertzel), and the block's RMS.
fn tone_level(samples: &[f32], freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / RATE;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s = x as f64 + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    (power.sqrt() * 2.0 / samples.len() as f64).min(10.0)
}

/// Mix frames collected by one listener: decoded samples by timeline position.
#[derive(Default)]
struct Heard {
    decoder: Option<OpusDecoder>,
    blocks: Vec<(u64, Vec<f32>)>,
}

impl Heard {
    fn take(&mut self, bytes: &[u8]) {
        let frame = Frame::parse(bytes).expect("a well-formed mix frame");
        if frame.kind != Kind::Mix {
            return;
        }
        let decoder = self
            .decoder
            .get_or_insert_with(|| OpusDecoder::new(48_000, 1).unwrap());
        let n = frame.packets.len();
        let mut at = frame.end - (n * FRAME) as u64;
        for p in frame.packets {
            let mut pcm = vec![0.0f32; FRAME];
            let got = decoder.decode(p, FRAME, &mut pcm).unwrap();
            assert_eq!(got, FRAME);
            self.blocks.push((at, pcm));
            at += FRAME as u64;
        }
    }

    /// The tone's level over `[from, to)`, from whole packets inside it.
    fn level(&self, freq: f64, from: u64, to: u64) -> Option<f64> {
        let inside: Vec<f32> = self
            .blocks
            .iter()
            .filter(|(at, _)| *at >= from && at + FRAME as u64 <= to)
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        (!inside.is_empty()).then(|| tone_level(&inside, freq))
    }
}

/// Reads everything `ws` receives for `for_`, answering pings, into `heard`.
async fn listen(ws: &mut Ws, heard: &mut Heard, for_: Duration) -> Vec<Value> {
    let end = Instant::now() + for_;
    let mut texts = Vec::new();
    while let Ok(Some(message)) =
        timeout(end.saturating_duration_since(Instant::now()), ws.next()).await
    {
        match message.unwrap() {
            Message::Binary(b) => heard.take(&b),
            Message::Text(t) => texts.push(serde_json::from_str(&t).unwrap()),
            _ => {}
        }
    }
    texts
}

#[tokio::test]
async fn rooms_guest_passes_and_passwords() {
    let app = spawn_app().await;
    let owner = member_token(&app, "owner@example.com").await;
    // Only members create rooms.
    app.user("listener@example.com", &[]).await;
    let plain = app.token("listener@example.com", TokenScope::Api).await;
    let refused = with_token(&plain)
        .post(app.url("/api/v1/choir/rooms"))
        .json(&json!({"name": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let bad = with_token(&owner)
        .post(app.url("/api/v1/choir/rooms"))
        .json(&json!({"name": "  "}))
        .send()
        .await
        .unwrap();
    let refusal = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refusal["field"], "name");

    let room = create_room(&app, &owner, json!({"name": "Tuesday", "password": "sing"})).await;
    let id = room["id"].as_str().unwrap();
    assert_eq!(room["has_password"], true);
    let listed: Value = with_token(&owner)
        .get(app.url("/api/v1/choir/rooms"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], id);

    // Sessions end after they start; setlist songs name the room's own tracks.
    let backwards = with_token(&owner)
        .post(app.url(&format!("/api/v1/choir/rooms/{id}/sessions")))
        .json(
            &json!({"title": "Dress", "starts_at": "2026-12-24T20:00:00Z",
            "ends_at": "2026-12-24T18:00:00+00:00"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(backwards, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "ends_at"
    );
    let session = with_token(&owner)
        .post(app.url(&format!("/api/v1/choir/rooms/{id}/sessions")))
        .json(
            &json!({"title": "Dress", "starts_at": "2026-12-24T18:00:00+01:00",
            "ends_at": "2026-12-24T20:00:00+01:00"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::CREATED);
    let calendar = app
        .anonymous()
        .get("/choir/calendar?month=2026-12")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        calendar.contains("Dress"),
        "the session is on the month calendar"
    );
    for feed in [
        "/choir/calendar.ics".to_string(),
        format!("/choir/rooms/{id}/sessions.ics"),
    ] {
        let ics = app.anonymous().get(&feed).await;
        assert_eq!(ics.status(), StatusCode::OK, "{feed}");
        assert!(
            ics.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/calendar")
        );
        let ics = ics.text().await.unwrap();
        assert!(
            ics.contains("BEGIN:VEVENT") && ics.contains("Dress"),
            "{feed}: {ics}"
        );
        assert!(
            ics.contains("DTSTART:20261224T170000Z"),
            "{feed} in UTC: {ics}"
        );
    }
    let song = with_token(&owner)
        .post(app.url(&format!("/api/v1/choir/rooms/{id}/setlist")))
        .json(&json!({"title": "Canon", "bpm": 90, "track_id": "elsewhere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(song.status(), StatusCode::NOT_FOUND);

    // The room's pages render for anyone with the link.
    for path in [
        format!("/choir/rooms/{id}"),
        format!("/choir/rooms/{id}/join"),
    ] {
        let page = app.anonymous().get(&path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let html = page.text().await.unwrap();
        assert!(html.contains("choir-"), "{path} loads the choir scripts");
    }

    // The server checks the password.
    let wrong = guest_pass(&app, id, json!({"name": "Ana", "password": "hum"})).await;
    assert_eq!(
        problem(wrong, StatusCode::FORBIDDEN).await["field"],
        "password"
    );
    let none = guest_pass(&app, id, json!({"name": "Ana"})).await;
    assert_eq!(
        problem(none, StatusCode::FORBIDDEN).await["field"],
        "password"
    );
    let recordings = format!("/choir/rooms/{id}/recordings");
    let locked = app.anonymous().get(&recordings).await;
    assert_eq!(
        locked.status(),
        StatusCode::FORBIDDEN,
        "a password room's recordings need its password"
    );
    let pass = guest_pass(&app, id, json!({"name": "Ana", "password": "sing"})).await;
    assert_eq!(pass.status(), StatusCode::OK);
    let cookie = pass.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let pass: Value = pass.json().await.unwrap();
    let opened = reqwest::Client::new()
        .get(app.url(&recordings))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        opened.status(),
        StatusCode::OK,
        "the pass kept as a cookie opens them"
    );
    let elsewhere = create_room(&app, &owner, json!({"name": "Friday", "password": "hum"})).await;
    let other = reqwest::Client::new()
        .get(app.url(&format!(
            "/choir/rooms/{}/recordings",
            elsewhere["id"].as_str().unwrap()
        )))
        .header(
            reqwest::header::COOKIE,
            cookie.replace(id, elsewhere["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::FORBIDDEN,
        "and only those of its own room"
    );
    let mut ws = open(&app, id, None, pass["token"].as_str()).await;
    let (you, _, _) = join(&mut ws, "", "singer").await;
    let roster = expect(&mut ws, "roster").await;
    assert_eq!(roster["singers"][0]["id"], you);
    assert_eq!(
        roster["singers"][0]["name"], "Ana",
        "a guest is named by their pass"
    );

    // A members-only room gives no guest passes.
    let closed = create_room(&app, &owner, json!({"name": "Ours", "members_only": true})).await;
    let refused = guest_pass(&app, closed["id"].as_str().unwrap(), json!({"name": "Bo"})).await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:members-only"
    );
    let missing = guest_pass(&app, "no-such-room", json!({"name": "Bo"})).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// A 1×1 PNG.
const PIXEL: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

#[tokio::test]
async fn a_room_keeps_images_for_its_slides_and_names_tracks_after_their_files() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let owner = member_token(&app, "slides@example.com").await;
    let room = create_room(&app, &owner, json!({"name": "Slides", "password": "la"})).await;
    let id = room["id"].as_str().unwrap();
    let base = app.url("");
    let add = |kind: &'static str, upload: String| {
        with_token(&owner)
            .post(app.url(&format!("/api/v1/choir/rooms/{id}/{kind}")))
            .json(&json!({ "upload_id": upload }))
            .send()
    };

    // A file that is no picture is refused, and stays the uploader's.
    let text = tus_upload(&base, &owner, "choir", "notes.txt", b"not a picture at all").await;
    for _ in 0..2 {
        let refused = add("images", text.clone()).await.unwrap();
        let refusal = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(refusal["field"], "upload_id");
    }

    let png = base64::engine::general_purpose::STANDARD
        .decode(PIXEL)
        .unwrap();
    let upload = tus_upload(&base, &owner, "choir", "score page 1.png", &png).await;
    let added = add("images", upload).await.unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let image: Value = added.json().await.unwrap();
    assert_eq!(image["name"], "score page 1.png");
    assert_eq!(image["content_type"], "image/png");
    let url = image["url"].as_str().unwrap();

    // The leader picks it on the room's page; it shows to those who know the password.
    let visitor = app.anonymous();
    let page = visitor.get(&format!("/choir/rooms/{id}")).await;
    assert!(page.text().await.unwrap().contains("score page 1.png"));
    assert_eq!(visitor.get(url).await.status(), StatusCode::FORBIDDEN);
    let pass = visitor
        .api(
            Method::POST,
            &format!("/api/v1/choir/rooms/{id}/guests"),
            Some(json!({"name": "Cy", "password": "la"})),
        )
        .await;
    assert_eq!(pass.status(), StatusCode::OK);
    let shown = visitor.get(url).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(shown.headers()["content-type"], "image/png");
    assert_eq!(shown.bytes().await.unwrap().as_ref(), png.as_slice());

    // A track named after a long file name gets the name, shortened.
    let long = format!("{}.wav", "a".repeat(300));
    let upload = tus_upload(&base, &owner, "choir", &long, b"RIFF....WAVE").await;
    let track = add("tracks", upload).await.unwrap();
    assert_eq!(track.status(), StatusCode::CREATED);
    let track: Value = track.json().await.unwrap();
    assert_eq!(track["name"].as_str().unwrap().chars().count(), 200);
}

#[tokio::test]
async fn a_follower_hears_the_leader_in_time_and_the_song_is_recorded() {
    let app = spawn_app().await;
    let owner = member_token(&app, "lead@example.com").await;
    let room = create_room(&app, &owner, json!({"name": "Canon"})).await;
    let id = room["id"].as_str().unwrap();

    let mut leader = open(&app, id, Some(&owner), None).await;
    let (leader_id, clock, at) = join(&mut leader, "Lea", "singer").await;
    let pass: Value = guest_pass(&app, id, json!({"name": "Fin"}))
        .await
        .json()
        .await
        .unwrap();
    let mut follower = open(&app, id, None, pass["token"].as_str()).await;
    join(&mut follower, "", "singer").await;

    send(&mut leader, json!({"type": "lead"})).await;
    let song = loop {
        let song = expect(&mut leader, "song").await;
        if song["song"]["leader"] == leader_id {
            break song;
        }
    };
    let delays: Vec<u64> = song["song"]["delays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    send(&mut leader, json!({"type": "record", "on": true})).await;
    send(&mut leader, json!({"type": "start"})).await;
    let started = loop {
        let s = expect(&mut leader, "song").await;
        if let Some(start) = s["song"]["start"].as_u64() {
            assert_eq!(
                s["song"]["recording"], true,
                "everyone sees recording is on"
            );
            break start;
        }
    };

    // The leader sings a 440 Hz tone for 1.8 s from the song's start, stamped with the
    // positions it hears (its latency taken as nothing), in three frames of ten packets.
    let server_now = |at: Instant| clock + (at.elapsed().as_secs_f64() * RATE) as u64;
    let mut encoder = OpusEncoder::new(48_000, 1, Application::Audio).unwrap();
    encoder.bitrate_bps = 64_000;
    let mut written = started - started % FRAME as u64;
    let sung_from = written;
    for _ in 0..3 {
        let end = written + 10 * FRAME as u64;
        // Wait until the leader hears `end` (its read position is the clock minus its
        // delay).
        while server_now(at).saturating_sub(delays[0]) < end {
            sleep(Duration::from_millis(20)).await;
        }
        let pcm = tone(440.0, 0.3, written, 10 * FRAME);
        let packets: Vec<Vec<u8>> = pcm
            .chunks(FRAME)
            .map(|c| {
                let mut out = vec![0; 4000];
                let n = encoder.encode(c, FRAME, &mut out).unwrap();
                out.truncate(n);
                out
            })
            .collect();
        let refs: Vec<&[u8]> = packets.iter().map(|p| p.as_slice()).collect();
        let mut bytes = Vec::new();
        Frame::write(Kind::Voice, end, &refs, &mut bytes);
        leader.send(Message::Binary(bytes.into())).await.unwrap();
        written = end;
    }
    let sung_to = written;
    send(&mut leader, json!({"type": "stop"})).await;

    // The follower, one bucket later, hears the tone where it was sung; the leader does
    // not hear themself.
    let mut heard = Heard::default();
    let mut own = Heard::default();
    let wait_until = sung_to + delays[1] + 2 * FRAME as u64;
    let mut texts = Vec::new();
    while server_now(at) < wait_until {
        texts.extend(listen(&mut follower, &mut heard, Duration::from_millis(200)).await);
        listen(&mut leader, &mut own, Duration::from_millis(50)).await;
    }
    let margin = 2 * FRAME as u64;
    let during = heard
        .level(440.0, sung_from + margin, sung_to - margin)
        .expect("the follower received the song");
    let before = heard.level(440.0, sung_from - 20 * FRAME as u64, sung_from);
    assert!(
        during > 0.15,
        "the follower hears the leader's tone (level {during:.3})"
    );
    if let Some(before) = before {
        assert!(before < 0.02, "nothing before the song (level {before:.3})");
    }
    if let Some(self_heard) = own.level(440.0, sung_from + margin, sung_to - margin) {
        assert!(
            self_heard < 0.02,
            "the leader does not hear themself (level {self_heard:.3})"
        );
    }

    // The recording: announced to the room, then made into a file holding the tone.
    let recorded = match texts.iter().find(|t| t["type"] == "recorded") {
        Some(r) => r.clone(),
        None => expect(&mut follower, "recorded").await,
    };
    let rec = recorded["id"].as_str().unwrap().to_string();
    let browser = app.signed_in("viewer@example.com", &[]).await;
    let deadline = Instant::now() + WAIT;
    let page = loop {
        let page = browser
            .get(&format!("/choir/rooms/{id}/recordings"))
            .await
            .text()
            .await
            .unwrap();
        if page.contains(&format!("id=\"{rec}\" data-status=\"ready\"")) {
            break page;
        }
        let card = page.split("id=\"recordings\"").nth(1).unwrap_or(&page);
        assert!(
            Instant::now() < deadline,
            "the recording's files are made: {}",
            &card[..card.len().min(1500)]
        );
        sleep(Duration::from_millis(300)).await;
    };
    assert!(page.contains("<audio"));
    let ogg = browser
        .get(&format!("/choir/rooms/{id}/recordings/{rec}/mix.ogg"))
        .await;
    assert_eq!(ogg.status(), StatusCode::OK);
    let bytes = ogg.bytes().await.unwrap().to_vec();
    let mut source = tutti_media::decode::Decoder::open_bytes(bytes, Some("ogg")).unwrap();
    let samples = tutti_media::pcm::read_all(&mut source).unwrap();
    let rate = 48_000usize;
    // The tone was sung from the song's start (the leader began at the packet holding it).
    assert!(sung_from <= started);
    let tone_part = &samples[rate / 10..rate];
    assert!(
        tone_level(tone_part, 440.0) > 0.1,
        "the recording holds the tone where it was sung"
    );
}
