//! The recital studio through its API, as a speaker's page and a reviewer's browser use
//! it: a campaign and a text set up in the admin pages, a reading streamed in chunks that
//! arrive out of order and twice, its processing into cues and clips, validation by
//! other people, and an export. Hostile inputs each get a clear problem and change
//! nothing.

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tutti_accounts::TokenScope;
use tutti_media::AudioSpec;
use tutti_media::encode::Output;
use tutti_media::pcm::MemorySource;
use tutti_media::presets::Preset;
use tutti_media::transcode::{Target, transcode};

use crate::helpers::{Browser, REVIEWER, TestApp, problem, spawn_app, spawn_app_with, with_token};

/// A voice-like recording in WebM/Opus as MediaRecorder writes it: a tone that comes and
/// goes (syllables) with pauses between phrases.
pub fn recording(seconds: f32) -> Vec<u8> {
    let spec = AudioSpec::new(48_000, 1).unwrap();
    let n = (seconds * 48_000.0) as usize;
    let samples: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            let phrase = (t % 2.0) < 1.5;
            let syllable = (t * 4.0 * std::f32::consts::TAU).sin().abs();
            let tone = (t * 220.0 * std::f32::consts::TAU).sin();
            if phrase {
                0.4 * syllable * tone
            } else {
                0.0005 * tone
            }
        })
        .collect();
    let mut source = MemorySource::new(spec, samples);
    let out = Arc::new(Mutex::new(Vec::new()));
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let target = Target {
        preset: *Preset::by_name("speech-standard-webm").unwrap(),
        output: Output::stream(Shared(out.clone())),
    };
    transcode(&mut source, vec![target], None, &mut |_| {}).unwrap();
    out.lock().unwrap().clone()
}

pub fn digest(bytes: &[u8]) -> String {
    let sum = Sha256::digest(bytes);
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sum)
    )
}

/// A reviewer's browser that made a campaign with one pasted text; gives the campaign's
/// slug and the document's id.
async fn campaign(
    app: &TestApp,
    mode: &str,
    labels: &str,
    text: &str,
) -> (Browser, String, String) {
    let reviewer = app.signed_in("reviewer@example.test", &[REVIEWER]).await;
    let made = reviewer
        .form(
            "/recital/admin/campaigns",
            &[
                ("slug", "hebrew"),
                ("title", "Hebrew reading"),
                ("language", "he"),
                ("mode", mode),
                ("labels", labels),
                ("access", "open"),
            ],
        )
        .await;
    assert_eq!(
        made.status(),
        StatusCode::SEE_OTHER,
        "{}",
        made.text().await.unwrap()
    );
    let pasted = reviewer
        .form(
            "/recital/admin/c/hebrew/paste",
            &[("title", "שלום"), ("language", "he"), ("text", text)],
        )
        .await;
    assert_eq!(pasted.status(), StatusCode::SEE_OTHER);
    let c: Value = reviewer
        .api(Method::GET, "/api/v1/recital/campaigns/hebrew", None)
        .await
        .json()
        .await
        .unwrap();
    let doc = c["documents"][0]["id"].as_str().unwrap().to_string();
    (reviewer, "hebrew".into(), doc)
}

const TEXT: &str = "שלום לכולם. היום נקרא טקסט קצר.\nצה\"ל הוא צבא ההגנה לישראל. ד\"ר כהן הגיע!";

struct Speaker {
    client: Client,
    base: String,
}

impl Speaker {
    async fn new(app: &TestApp, email: &str) -> Speaker {
        app.user(email, &[]).await;
        let token = app.token(email, TokenScope::Api).await;
        Speaker {
            client: with_token(&token),
            base: app.url("/api/v1/recital"),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, body).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    async fn consent(&self, slug: &str) {
        self.json(
            Method::POST,
            &format!("/campaigns/{slug}/consent"),
            Some(json!({"version": 1})),
        )
        .await;
    }

    async fn put(&self, session: &str, part: i64, seq: i64, bytes: &[u8]) -> reqwest::Response {
        self.client
            .put(format!(
                "{}/sessions/{session}/chunks/{seq}?part={part}",
                self.base
            ))
            .header("content-type", "audio/webm;codecs=opus")
            .header("content-digest", digest(bytes))
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// A whole long-form reading: a session on `doc`, `seconds` of audio in `pieces`
    /// chunks, the given sentences (by reading order) ending at the given times, ended
    /// and processed. Gives the session's id.
    async fn read(&self, doc: &str, seconds: f32, pieces: usize, ends: &[(usize, i64)]) -> String {
        let session = self
            .json(Method::POST, "/sessions", Some(json!({"document_id": doc})))
            .await;
        let id = session["id"].as_str().unwrap().to_string();
        let document = self
            .json(Method::GET, &format!("/documents/{doc}"), None)
            .await;
        for (seq, chunk) in slices(&recording(seconds), pieces).iter().enumerate() {
            let stored = self.put(&id, 0, seq as i64, chunk).await;
            assert_eq!(stored.status(), StatusCode::CREATED);
        }
        let segments: Vec<Value> = ends
            .iter()
            .map(|(i, end_ms)| json!({"sentence_id": document["sentences"][*i]["id"], "end_ms": end_ms}))
            .collect();
        self.json(
            Method::POST,
            &format!("/sessions/{id}/segments"),
            Some(json!(segments)),
        )
        .await;
        self.json(
            Method::POST,
            &format!("/sessions/{id}/end"),
            Some(json!({"keep_last": true})),
        )
        .await;
        assert_eq!(self.until_processed(&id).await["state"], "processed");
        id
    }

    async fn until_processed(&self, session: &str) -> Value {
        for _ in 0..300 {
            let s = self
                .json(Method::GET, &format!("/sessions/{session}"), None)
                .await;
            if s["state"] == "processed" || s["state"] == "discarded" || !s["error"].is_null() {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("session {session} was not processed in 30 s");
    }
}

fn slices(bytes: &[u8], n: usize) -> Vec<Vec<u8>> {
    bytes
        .chunks(bytes.len().div_ceil(n))
        .map(<[u8]>::to_vec)
        .collect()
}

#[tokio::test]
async fn a_speaker_reads_three_sentences_out_of_order_and_gets_three_cues() {
    let app = spawn_app().await;
    let (_reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;

    // The document is readable before joining; recording needs consent.
    let document = dana
        .json(Method::GET, &format!("/documents/{doc}"), None)
        .await;
    assert_eq!(document["dir"], "rtl");
    let sentences: Vec<String> = document["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sentences.len(), 4, "{document}");
    let refused = dana
        .call(Method::POST, "/sessions", Some(json!({"document_id": doc})))
        .await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:consent-needed"
    );
    dana.consent(&slug).await;

    let session = dana
        .call(Method::POST, "/sessions", Some(json!({"document_id": doc})))
        .await;
    assert_eq!(session.status(), StatusCode::CREATED);
    let id = session.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let audio = recording(7.0);
    let chunks = slices(&audio, 4);
    // Out of order, and the second one twice.
    for seq in [1usize, 0, 3, 1, 2] {
        let r = dana.put(&id, 0, seq as i64, &chunks[seq]).await;
        assert!(
            r.status() == StatusCode::CREATED || r.status() == StatusCode::OK,
            "{}",
            r.status()
        );
    }
    let again = dana.put(&id, 0, 1, &chunks[1]).await;
    assert_eq!(again.status(), StatusCode::OK);
    let other_bytes = dana.put(&id, 0, 1, &chunks[2]).await;
    assert_eq!(
        problem(other_bytes, StatusCode::CONFLICT).await["type"],
        "urn:tutti:problem:chunk-conflict"
    );

    // A sentence read again after "previous" replaces its first end.
    let segments = json!([
        {"sentence_id": sentences[0], "end_ms": 1500},
        {"sentence_id": sentences[1], "end_ms": 2600},
        {"sentence_id": sentences[1], "end_ms": 3400},
        {"sentence_id": sentences[2], "end_ms": 5200},
        {"sentence_id": sentences[3], "end_ms": 6500},
    ]);
    dana.json(
        Method::POST,
        &format!("/sessions/{id}/segments"),
        Some(segments),
    )
    .await;
    let ended = dana
        .json(
            Method::POST,
            &format!("/sessions/{id}/end"),
            Some(json!({"keep_last": false})),
        )
        .await;
    assert!(ended["state"] == "ended" || ended["state"] == "processed");
    // Ending twice is harmless.
    dana.json(
        Method::POST,
        &format!("/sessions/{id}/end"),
        Some(json!({"keep_last": false})),
    )
    .await;
    let late = dana.put(&id, 0, 4, &chunks[0]).await;
    assert_eq!(
        problem(late, StatusCode::CONFLICT).await["type"],
        "urn:tutti:problem:session-ended"
    );

    let done = dana.until_processed(&id).await;
    assert_eq!(done["state"], "processed", "{done}");
    let duration = done["duration_ms"].as_i64().unwrap();
    assert!(
        (duration - 5200).abs() < 60,
        "cut after the last kept sentence: {duration}"
    );
    assert!(done["verdict"]["ok"].is_boolean());
    // The recorder's own bytes are kept, joined into the part's recording.
    let kept = app
        .running()
        .app
        .blobs
        .get(&format!("recital/sessions/{id}/original/00000.webm"))
        .await
        .unwrap();
    assert!(kept[..] == audio[..], "the original is the chunks joined");
    let vtt = dana
        .call(Method::GET, &format!("/sessions/{id}/transcript.vtt"), None)
        .await;
    assert_eq!(vtt.status(), StatusCode::OK);
    assert!(
        vtt.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/vtt")
    );
    let cues = tutti_media::vtt::parse(&vtt.text().await.unwrap()).unwrap();
    let spans: Vec<(u128, u128)> = cues
        .iter()
        .map(|c| (c.start.as_millis(), c.end.as_millis()))
        .collect();
    assert_eq!(spans, [(0, 1500), (1500, 3400), (3400, 5200)]);
    assert_eq!(cues[0].text, "שלום לכולם.");

    // Audio streams with ranges; someone else sees nothing.
    let ranged = dana
        .client
        .get(format!("{}/sessions/{id}/audio", dana.base))
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.bytes().await.unwrap().len(), 100);
    let eve = Speaker::new(&app, "eve@example.test").await;
    for path in [
        format!("/sessions/{id}"),
        format!("/sessions/{id}/transcript.vtt"),
        format!("/sessions/{id}/audio"),
    ] {
        problem(
            eve.call(Method::GET, &path, None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    let foreign = eve.put(&id, 0, 9, &chunks[0]).await;
    problem(foreign, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn hostile_chunks_get_clear_problems_and_store_nothing() {
    let app = spawn_app_with(|s| {
        s.studios
            .insert("recital".into(), json!({ "max_chunk_bytes": 50_000 }));
    })
    .await;
    let (_reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let s = dana
        .json(Method::POST, "/sessions", Some(json!({"document_id": doc})))
        .await;
    let id = s["id"].as_str().unwrap();
    let audio = recording(3.0);

    let not_audio = dana.put(id, 0, 0, b"<html>hello</html>").await;
    assert_eq!(
        problem(not_audio, StatusCode::UNSUPPORTED_MEDIA_TYPE).await["field"],
        "body"
    );
    let big = vec![0x1a, 0x45, 0xdf, 0xa3]
        .into_iter()
        .chain(std::iter::repeat_n(0, 60_000))
        .collect::<Vec<u8>>();
    problem(
        dana.put(id, 0, 0, &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let damaged = dana
        .client
        .put(format!("{}/sessions/{id}/chunks/0", dana.base))
        .header("content-type", "audio/webm")
        .header("content-digest", digest(b"other bytes"))
        .body(audio.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(damaged, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "Content-Digest"
    );
    let no_digest = dana
        .client
        .put(format!("{}/sessions/{id}/chunks/0", dana.base))
        .body(audio.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(no_digest, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "Content-Digest"
    );
    let negative = dana.put(id, 0, -1, &audio).await;
    assert!(negative.status().is_client_error());
    let unknown = dana
        .call(
            Method::POST,
            &format!("/sessions/{id}/segments"),
            Some(json!([{"sentence_id": "nope", "end_ms": 100}])),
        )
        .await;
    assert_eq!(
        problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "0.sentence_id"
    );
    let view = dana
        .json(Method::GET, &format!("/sessions/{id}"), None)
        .await;
    assert_eq!(view["chunks"], 0, "nothing was stored: {view}");
}

#[tokio::test]
async fn other_people_validate_clips_and_an_export_contains_them() {
    let app = spawn_app().await;
    let (reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let id = dana.read(&doc, 4.0, 2, &[(0, 1800), (1, 3800)]).await;

    // Nobody validates their own clips.
    assert_eq!(
        dana.call(
            Method::GET,
            &format!("/campaigns/{slug}/validation/next"),
            None
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    let mut voted = Vec::new();
    for email in ["ana@example.test", "ben@example.test"] {
        let v = Speaker::new(&app, email).await;
        v.consent(&slug).await;
        loop {
            let next = v
                .call(
                    Method::GET,
                    &format!("/campaigns/{slug}/validation/next"),
                    None,
                )
                .await;
            if next.status() == StatusCode::NO_CONTENT {
                break;
            }
            let clip: Value = next.json().await.unwrap();
            let cid = clip["clip_id"].as_str().unwrap().to_string();
            let audio = v
                .call(Method::GET, &format!("/clips/{cid}/audio"), None)
                .await;
            assert_eq!(audio.status(), StatusCode::OK);
            let result = v
                .json(
                    Method::POST,
                    &format!("/clips/{cid}/votes"),
                    Some(json!({"valid": true})),
                )
                .await;
            voted.push((cid, result["status"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(voted.len(), 4, "two clips, two voters: {voted:?}");
    assert!(voted[2..].iter().all(|(_, s)| s == "valid"), "{voted:?}");

    let asked = reviewer
        .api(
            Method::POST,
            "/api/v1/recital/campaigns/hebrew/exports",
            Some(json!({"format": "audiofolder"})),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let export: Value = asked.json().await.unwrap();
    let status_url = export["status_url"].as_str().unwrap().to_string();
    let mut row = Value::Null;
    for _ in 0..300 {
        row = reviewer
            .api(Method::GET, &status_url, None)
            .await
            .json()
            .await
            .unwrap();
        if row["state"] == "done" || row["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(row["state"], "done", "{row}");
    let download = reviewer
        .get(&format!(
            "/recital/admin/exports/{}/download",
            export["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    let bytes = download.bytes().await.unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut metadata = String::new();
    let mut oggs = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path.ends_with("metadata.csv") {
            entry.read_to_string(&mut metadata).unwrap();
        }
        if path.ends_with(".ogg") {
            oggs += 1;
        }
    }
    assert_eq!(oggs, 2);
    assert!(metadata.contains("שלום לכולם."), "{metadata}");
    assert!(!metadata.contains("dana@example.test"));
    // The exported session is published now.
    let published = dana
        .json(Method::GET, &format!("/sessions/{id}"), None)
        .await;
    assert_eq!(published["state"], "published");
}

#[tokio::test]
async fn a_new_agreement_asks_again_and_a_text_in_a_wrong_encoding_is_refused() {
    let app = spawn_app().await;
    let (reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let stale = dana
        .call(
            Method::POST,
            &format!("/campaigns/{slug}/consent"),
            Some(json!({"version": 7})),
        )
        .await;
    assert_eq!(
        problem(stale, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "version"
    );
    let changed = reviewer
        .form(
            "/recital/admin/c/hebrew/agreement",
            &[("text", "A new agreement.")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let refused = dana
        .call(Method::POST, "/sessions", Some(json!({"document_id": doc})))
        .await;
    let p = problem(refused, StatusCode::FORBIDDEN).await;
    assert!(p["detail"].as_str().unwrap().contains("changed"), "{p}");
    dana.json(
        Method::POST,
        &format!("/campaigns/{slug}/consent"),
        Some(json!({"version": 2})),
    )
    .await;
    dana.json(Method::POST, "/sessions", Some(json!({"document_id": doc})))
        .await;

    // "שלום" in Windows-1255 is not UTF-8.
    let cp1255 = vec![0xf9, 0xec, 0xe5, 0xed, b'.', b'\n'];
    let before = reviewer
        .api(Method::GET, "/api/v1/recital/campaigns/hebrew", None)
        .await
        .json::<Value>()
        .await
        .unwrap()["documents"]
        .as_array()
        .unwrap()
        .len();
    let upload = reviewer
        .client
        .post(format!(
            "{}/recital/admin/c/hebrew/documents/file?name=old.txt",
            reviewer.base
        ))
        .header("x-csrf-token", &reviewer.csrf)
        .header("content-type", "application/octet-stream")
        .body(cp1255)
        .send()
        .await
        .unwrap();
    let p = problem(upload, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["detail"].as_str().unwrap().contains("UTF-8"), "{p}");
    let after = reviewer
        .api(Method::GET, "/api/v1/recital/campaigns/hebrew", None)
        .await
        .json::<Value>()
        .await
        .unwrap()["documents"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn clip_takes_follow_the_labels_and_a_discarded_take_leaves_no_audio() {
    let app = spawn_app().await;
    let (_reviewer, slug, doc) = campaign(&app, "clip", "joy,anger", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let prompt = dana
        .json(
            Method::GET,
            &format!("/campaigns/{slug}/prompts/next"),
            None,
        )
        .await;
    assert_eq!(prompt["label"], "joy");
    let sentence = prompt["sentence_id"].as_str().unwrap().to_string();
    let missing_label = dana
        .call(
            Method::POST,
            "/sessions",
            Some(json!({"document_id": doc, "sentence_id": sentence})),
        )
        .await;
    assert_eq!(
        problem(missing_label, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "label"
    );
    let take = dana
        .json(
            Method::POST,
            "/sessions",
            Some(json!({"document_id": doc, "sentence_id": sentence, "label": "joy"})),
        )
        .await;
    let id = take["id"].as_str().unwrap().to_string();
    let audio = recording(2.5);
    assert_eq!(
        dana.put(&id, 0, 0, &audio).await.status(),
        StatusCode::CREATED
    );
    dana.json(
        Method::POST,
        &format!("/sessions/{id}/end"),
        Some(json!({"keep_last": true})),
    )
    .await;
    let done = dana.until_processed(&id).await;
    assert_eq!(done["state"], "processed", "{done}");
    assert!(done["verdict"]["problems"].is_array());
    // The same sentence is next with the other label.
    let next = dana
        .json(
            Method::GET,
            &format!("/campaigns/{slug}/prompts/next"),
            None,
        )
        .await;
    assert_eq!(
        (
            next["sentence_id"].as_str().unwrap(),
            next["label"].as_str().unwrap()
        ),
        (sentence.as_str(), "anger")
    );

    let discarded = dana
        .json(Method::DELETE, &format!("/sessions/{id}"), None)
        .await;
    assert_eq!(discarded["state"], "discarded");
    for _ in 0..100 {
        let audio = dana
            .call(Method::GET, &format!("/sessions/{id}/audio"), None)
            .await;
        if audio.status() == StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let blobs = &app.running().app.blobs;
    let mut left = Vec::new();
    for _ in 0..100 {
        left = blobs.list(&format!("recital/sessions/{id}")).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left.is_empty(), "the take's audio is gone: {left:?}");
}

#[tokio::test]
async fn speakers_see_their_standing_download_their_data_and_delete_their_recordings() {
    let app = spawn_app().await;
    let (_reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let mut ids = Vec::new();
    for (email, seconds) in [("dana@example.test", 4.0), ("omer@example.test", 2.0)] {
        let s = Speaker::new(&app, email).await;
        s.consent(&slug).await;
        let end = (seconds * 1000.0) as i64 - 100;
        let id = s.read(&doc, seconds, 1, &[(0, end)]).await;
        ids.push((s, id));
    }
    let (omer, omer_session) = &ids[1];
    let stats = omer.json(Method::GET, "/me/stats", None).await;
    assert_eq!(stats["standing"]["rank"], 2, "{stats}");
    let gap = stats["standing"]["to_next_rank_ms"].as_i64().unwrap();
    assert!((1900..=2100).contains(&gap), "{stats}");
    assert_eq!(stats["days"].as_array().unwrap().len(), 1);

    // Nobody is named on the leaderboard until they choose to be.
    let anonymous = app
        .anonymous()
        .client
        .get(app.url("/api/v1/recital/leaderboard"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(anonymous.as_array().unwrap().len(), 2);
    assert!(
        anonymous
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"].is_null()),
        "{anonymous}"
    );
    let r = omer
        .call(
            Method::PUT,
            "/me/profile",
            Some(json!({"public_name": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let named: Value = omer.json(Method::GET, "/leaderboard", None).await;
    assert_eq!(named[1]["name"], "omer@example.test", "{named}");
    assert!(named[0]["name"].is_null());

    let archive = omer.call(Method::GET, "/me/archive", None).await;
    assert_eq!(archive.status(), StatusCode::OK);
    let bytes = archive.bytes().await.unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let names: Vec<String> = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "profile.json",
        "session.json",
        "audio.ogg",
        "transcript.vtt",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(want)),
            "{want} in {names:?}"
        );
    }

    let deleted = omer.json(Method::DELETE, "/me/recordings", None).await;
    assert_eq!(deleted["sessions"], 1);
    let blobs = &app.running().app.blobs;
    let mut left = vec![];
    for _ in 0..100 {
        left = blobs
            .list(&format!("recital/sessions/{omer_session}"))
            .await
            .unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left.is_empty(), "{left:?}");
    let after = omer.json(Method::GET, "/me/stats", None).await;
    assert_eq!(after["recorded_ms"], 0);
}

#[tokio::test]
async fn reviewers_correct_reported_sentences_and_every_page_renders() {
    let app = spawn_app().await;
    let (reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let mut dana = app.anonymous();
    app.user("dana@example.test", &[]).await;
    dana.sign_in("dana@example.test", crate::helpers::PASSWORD)
        .await;
    let join = dana.get(&format!("/recital/c/{slug}/join")).await;
    assert_eq!(join.status(), StatusCode::OK);
    let joined = dana
        .form(
            &format!("/recital/c/{slug}/join"),
            &[
                ("version", "1"),
                ("agree", "true"),
                ("year_of_birth", "1990"),
                ("gender", ""),
                ("accent", ""),
            ],
        )
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let unticked = dana
        .form(&format!("/recital/c/{slug}/join"), &[("version", "1")])
        .await;
    assert_eq!(unticked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for path in [
        "/recital".to_string(),
        format!("/recital/c/{slug}"),
        format!("/recital/c/{slug}/read/{doc}"),
        format!("/recital/c/{slug}/validate"),
        "/recital/sessions".to_string(),
        "/recital/me".to_string(),
        "/recital/leaderboard".to_string(),
    ] {
        let page = dana.get(&path).await;
        let status = page.status();
        let body = page.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    assert_eq!(
        dana.get("/recital/admin").await.status(),
        StatusCode::FORBIDDEN
    );

    let document: Value = dana
        .api(
            Method::GET,
            &format!("/api/v1/recital/documents/{doc}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let sentence = document["sentences"][1]["id"].as_str().unwrap().to_string();
    let reported = dana
        .api(
            Method::POST,
            &format!("/api/v1/recital/sentences/{sentence}/reports"),
            Some(json!({"reason": "misspelled", "note": "a typo"})),
        )
        .await;
    assert_eq!(reported.status(), StatusCode::CREATED);
    let admin = reviewer
        .get("/recital/admin/c/hebrew")
        .await
        .text()
        .await
        .unwrap();
    assert!(admin.contains("a typo"), "the report is listed");
    for path in [
        "/recital/admin".to_string(),
        format!("/recital/admin/c/hebrew/documents/{doc}"),
    ] {
        assert_eq!(reviewer.get(&path).await.status(), StatusCode::OK, "{path}");
    }
    let back = format!("/recital/admin/c/hebrew/documents/{doc}");
    let fixed = reviewer
        .form(
            "/recital/admin/c/hebrew/fix",
            &[
                ("sentence_id", &sentence),
                ("text", "היום נקרא טקסט קצר מאוד."),
                ("back", &back),
            ],
        )
        .await;
    assert_eq!(fixed.status(), StatusCode::SEE_OTHER);
    assert!(
        fixed.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&back)
    );
    let after: Value = dana
        .api(
            Method::GET,
            &format!("/api/v1/recital/documents/{doc}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["sentences"][1]["text"], "היום נקרא טקסט קצר מאוד.");
    let admin = reviewer
        .get("/recital/admin/c/hebrew")
        .await
        .text()
        .await
        .unwrap();
    assert!(!admin.contains("a typo"), "the report is closed");
    let retired = reviewer
        .form(
            "/recital/admin/c/hebrew/retire",
            &[("sentence_id", &sentence)],
        )
        .await;
    assert_eq!(retired.status(), StatusCode::SEE_OTHER);
    let after: Value = dana
        .api(
            Method::GET,
            &format!("/api/v1/recital/documents/{doc}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["sentences"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn deleting_an_account_removes_its_recordings_audio() {
    let app = spawn_app().await;
    let (_reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let id = dana.read(&doc, 3.0, 1, &[(0, 2500)]).await;

    let mut browser = app.anonymous();
    browser
        .sign_in("dana@example.test", crate::helpers::PASSWORD)
        .await;
    let unconfirmed = browser
        .form("/profile/delete", &[("password", crate::helpers::PASSWORD)])
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = browser
        .form(
            "/profile/delete",
            &[("password", "not it"), ("confirm", "delete")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = browser
        .form(
            "/profile/delete",
            &[
                ("password", crate::helpers::PASSWORD),
                ("confirm", "delete"),
            ],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    let blobs = &app.running().app.blobs;
    let mut left = vec![];
    for _ in 0..100 {
        left = blobs.list(&format!("recital/sessions/{id}")).await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(left.is_empty(), "{left:?}");
    let refused = app
        .anonymous()
        .form(
            "/login",
            &[
                ("email", "dana@example.test"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
        .await;
    assert_ne!(
        refused.status(),
        StatusCode::SEE_OTHER,
        "the account is gone"
    );
    assert_eq!(
        dana.call(Method::GET, "/me/stats", None).await.status(),
        StatusCode::UNAUTHORIZED,
        "its tokens went with it"
    );

    // The last administrator keeps their account.
    let admin = app
        .signed_in("root@example.test", &[tutti_platform::Role::ADMIN])
        .await;
    let kept = admin
        .form(
            "/profile/delete",
            &[
                ("password", crate::helpers::PASSWORD),
                ("confirm", "delete"),
            ],
        )
        .await;
    assert!(kept.status().is_client_error(), "{}", kept.status());
}

#[tokio::test]
async fn a_clip_reported_twice_leaves_the_validation_queue() {
    let app = spawn_app().await;
    let (_reviewer, slug, doc) = campaign(&app, "clip", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let prompt = dana
        .json(
            Method::GET,
            &format!("/campaigns/{slug}/prompts/next"),
            None,
        )
        .await;
    let take = dana
        .json(
            Method::POST,
            "/sessions",
            Some(json!({"document_id": doc, "sentence_id": prompt["sentence_id"]})),
        )
        .await;
    let id = take["id"].as_str().unwrap().to_string();
    assert_eq!(
        dana.put(&id, 0, 0, &recording(2.5)).await.status(),
        StatusCode::CREATED
    );
    dana.json(
        Method::POST,
        &format!("/sessions/{id}/end"),
        Some(json!({"keep_last": true})),
    )
    .await;
    assert_eq!(dana.until_processed(&id).await["state"], "processed");
    let mut listeners = Vec::new();
    for email in ["ana@example.test", "ben@example.test", "gil@example.test"] {
        let v = Speaker::new(&app, email).await;
        v.consent(&slug).await;
        listeners.push(v);
    }
    let next = |v: &Speaker| {
        let path = format!("/campaigns/{slug}/validation/next");
        let v = v.client.get(format!("{}{path}", v.base));
        async move { v.send().await.unwrap() }
    };
    for (i, v) in listeners[..2].iter().enumerate() {
        let clip: Value = next(v).await.json().await.unwrap();
        let bad = v
            .call(
                Method::POST,
                &format!("/clips/{}/reports", clip["clip_id"].as_str().unwrap()),
                Some(json!({"reason": "not-a-reason"})),
            )
            .await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let reported = v
            .json(
                Method::POST,
                &format!("/clips/{}/reports", clip["clip_id"].as_str().unwrap()),
                Some(json!({"reason": "noise"})),
            )
            .await;
        assert_eq!(reported["reports"], i + 1);
        assert_eq!(
            next(v).await.status(),
            StatusCode::NO_CONTENT,
            "a reporter skips it"
        );
    }
    assert_eq!(
        next(&listeners[2]).await.status(),
        StatusCode::NO_CONTENT,
        "twice reported, it waits for nobody's vote"
    );
}

#[tokio::test]
async fn chunks_sent_at_once_are_each_stored_once() {
    let app = spawn_app().await;
    let (_reviewer, slug, doc) = campaign(&app, "long-form", "", TEXT).await;
    let dana = Speaker::new(&app, "dana@example.test").await;
    dana.consent(&slug).await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let s = dana
            .json(Method::POST, "/sessions", Some(json!({"document_id": doc})))
            .await;
        sessions.push(s["id"].as_str().unwrap().to_string());
    }
    let audio = recording(3.0);
    let pieces = slices(&audio, 6);

    // The same chunk eight times at once: one stores it, the others hear it is there.
    let same =
        futures::future::join_all((0..8).map(|_| dana.put(&sessions[0], 0, 0, &pieces[0]))).await;
    let mut codes: Vec<u16> = same.iter().map(|r| r.status().as_u16()).collect();
    codes.sort();
    assert_eq!(codes, [200, 200, 200, 200, 200, 200, 200, 201]);

    // Other bytes under one number at once: exactly one wins, the rest conflict.
    let mut rivals = pieces[0].clone();
    rivals.push(0);
    let raced = futures::future::join_all([
        dana.put(&sessions[1], 0, 0, &pieces[0]),
        dana.put(&sessions[1], 0, 0, &rivals),
    ])
    .await;
    let mut codes: Vec<u16> = raced.iter().map(|r| r.status().as_u16()).collect();
    codes.sort();
    assert_eq!(codes, [201, 409]);

    // Every chunk of every session at once: all stored, in their own sessions. The first
    // session keeps its single chunk (it is the count checked below), and chunk 0 was
    // already raced in the second, so both skips leave out what is already there.
    let dana = &dana;
    let sends = sessions.iter().skip(1).flat_map(|s| {
        pieces
            .iter()
            .enumerate()
            .skip(1)
            .map(move |(seq, piece)| dana.put(s, 0, seq as i64, piece))
    });
    let all = futures::future::join_all(sends).await;
    assert!(all.iter().all(|r| r.status() == StatusCode::CREATED));
    for (i, s) in sessions.iter().enumerate() {
        let view = dana
            .json(Method::GET, &format!("/sessions/{s}"), None)
            .await;
        // The first has its raced chunk, the second that and the rest, the third the rest.
        let expected = [1, pieces.len(), pieces.len() - 1][i];
        assert_eq!(view["chunks"], expected, "session {i}: {view}");
    }
}
