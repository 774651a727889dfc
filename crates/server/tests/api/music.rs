//! The music studio through its API and pages, as an artist's editor and a listener's
//! browser use them: a profile and a release made, audio of every format uploaded with
//! tus and processed into streams with loudness and a waveform, publishing, public pages
//! with ranged streams, renames that keep old addresses answering, and deletion that
//! leaves no file behind. Hostile input gets a clear problem and changes nothing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tutti_accounts::TokenScope;
use tutti_media::AudioSpec;
use tutti_media::encode::Output;
use tutti_media::pcm::MemorySource;
use tutti_media::presets::Preset;
use tutti_media::transcode::{Target, transcode};

use crate::helpers::{TestApp, problem, spawn_app, tus_upload, with_token};
use crate::rehearsal::ARTIST;

/// Two seconds of a chord, stereo 44.1 kHz, encoded with a media engine preset.
pub(crate) fn tone(preset: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let spec = AudioSpec::new(44_100, 2).unwrap();
    let samples: Vec<f32> = (0..88_200)
        .flat_map(|i| {
            let t = i as f32 / 44_100.0;
            let s = 0.3 * (t * 440.0 * std::f32::consts::TAU).sin()
                + 0.2 * (t * 660.0 * std::f32::consts::TAU).sin();
            [s, s * 0.8]
        })
        .collect();
    let path = dir.join(name);
    let mut source = MemorySource::new(spec, samples);
    let target = Target {
        preset: *Preset::by_name(preset).unwrap(),
        output: Output::seekable(std::fs::File::create(&path).unwrap()),
    };
    transcode(&mut source, vec![target], None, &mut |_| {}).unwrap();
    path
}

/// A file ffmpeg converts from a WAV (AIFF and M4A, which the engine reads but does not
/// write).
pub(crate) fn with_ffmpeg(wav: &Path, out: &Path, args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(wav)
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg makes the AIFF and M4A fixtures (tests/setup.sh installs it)");
    assert!(status.success());
}

/// An artist's API client, as the studio's editor uses it (shared with `music_share`).
pub(crate) struct Artist {
    pub(crate) client: Client,
    token: String,
    app_base: String,
}

impl Artist {
    pub(crate) async fn new(app: &TestApp, email: &str) -> Artist {
        app.user(email, &[ARTIST]).await;
        let token = app.token(email, TokenScope::Api).await;
        Artist {
            client: with_token(&token),
            token,
            app_base: app.url(""),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut r = self
            .client
            .request(method, format!("{}/api/v1/music{path}", self.app_base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub(crate) async fn json(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Uploads bytes with tus in two PATCHes and returns the upload's id.
    pub(crate) async fn upload(&self, name: &str, bytes: &[u8]) -> String {
        tus_upload(&self.app_base, &self.token, "music", name, bytes).await
    }

    pub(crate) async fn until_settled(&self, album: &str) -> Value {
        let mut a = Value::Null;
        for _ in 0..600 {
            a = self
                .json(Method::GET, &format!("/albums/{album}"), None)
                .await;
            let settled = a["tracks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["status"] == "ready" || t["status"] == "failed");
            if settled {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the tracks of {album} were not processed in 60 s: {a:#}");
    }
}

#[tokio::test]
async fn an_artist_publishes_an_album_of_every_format_and_listeners_stream_it() {
    let app = spawn_app().await;
    let artist = Artist::new(&app, "ada@example.test").await;

    // Only artists publish; fixed pages' names are not slugs.
    app.user("lis@example.test", &[]).await;
    let listener = with_token(&app.token("lis@example.test", TokenScope::Api).await);
    let refused = listener
        .post(app.url("/api/v1/music/artists"))
        .json(&json!({"name": "Lis"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let reserved = artist
        .call(
            Method::POST,
            "/artists",
            Some(json!({"name": "Search", "slug": "search"})),
        )
        .await;
    assert_eq!(
        problem(reserved, StatusCode::CONFLICT).await["field"],
        "slug"
    );

    let profile = artist
        .json(
            Method::POST,
            "/artists",
            Some(json!({"name": "Sigur Rós", "bio": "From Reykjavík.",
                "links": [{"label": "Site", "url": "https://example.org"}]})),
        )
        .await;
    assert_eq!(profile["slug"], "sigur-ros");
    let taken = artist
        .call(
            Method::POST,
            "/artists",
            Some(json!({"name": "Other", "slug": "sigur-ros"})),
        )
        .await;
    assert_eq!(problem(taken, StatusCode::CONFLICT).await["field"], "slug");
    let bad_licence = artist
        .call(
            Method::POST,
            &format!("/artists/{}/albums", profile["id"].as_str().unwrap()),
            Some(json!({"title": "Takk", "licence": "gpl"})),
        )
        .await;
    assert_eq!(
        problem(bad_licence, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "licence"
    );
    let album = artist
        .json(
            Method::POST,
            &format!("/artists/{}/albums", profile["id"].as_str().unwrap()),
            Some(json!({"title": "Takk…", "licence": "cc-by-sa-4.0", "release_at": "2026-09-12"})),
        )
        .await;
    assert_eq!(album["slug"], "takk");
    assert_eq!(album["visibility"], "draft");
    let album_id = album["id"].as_str().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let wav = tone("wav-16", dir.path(), "01 Glósóli.wav");
    let files = vec![
        wav.clone(),
        tone("flac-16", dir.path(), "02 Hoppípolla.flac"),
        tone("mp3-128", dir.path(), "03 Með blóðnasir.mp3"),
        tone("music-stream", dir.path(), "04 Sé lest.ogg"),
        tone("speech-standard", dir.path(), "05 Opus.opus"),
    ];
    let aiff = dir.path().join("06 Sæglópur.aiff");
    with_ffmpeg(&wav, &aiff, &[]);
    let m4a = dir.path().join("07 Mílanó.m4a");
    with_ffmpeg(&wav, &m4a, &["-c:a", "aac", "-b:a", "128k"]);
    let not_audio = dir.path().join("08 Notes.mp3");
    std::fs::write(&not_audio, b"these are my liner notes, not audio").unwrap();
    let mut files = files;
    files.extend([aiff, m4a, not_audio]);
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let id = artist.upload(name, &std::fs::read(path).unwrap()).await;
        let track = artist
            .json(
                Method::POST,
                &format!("/albums/{album_id}/tracks"),
                Some(json!({"upload_id": id})),
            )
            .await;
        // The job worker may already have picked it up when the answer is written.
        assert!(
            track["status"] == "waiting" || track["status"] == "processing",
            "{track}"
        );
    }
    // The same upload cannot become a second track.
    let settled = artist.until_settled(&album_id).await;
    let tracks = settled["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 8);
    for t in &tracks[..7] {
        assert_eq!(t["status"], "ready", "{t}");
        let ms = t["duration_ms"].as_i64().unwrap();
        assert!((1990..=2060).contains(&ms), "{}: {ms} ms", t["title"]);
        assert!(t["track_gain_db"].is_number(), "{t}");
        let formats: Vec<&str> = t["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["format"].as_str().unwrap())
            .collect();
        assert_eq!(formats, ["mp3", "opus"]);
    }
    assert_eq!(tracks[0]["title"], "Glósóli", "titles from file names");
    let broken = &tracks[7];
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["error"].as_str().unwrap().contains("08 Notes.mp3"),
        "{broken}"
    );

    // A draft is the artist's only.
    let page = "/music/sigur-ros/takk".to_string();
    let anonymous = Client::new();
    let hidden = anonymous.get(app.url(&page)).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let track_id = tracks[0]["id"].as_str().unwrap();
    let stream = format!("/api/v1/music/tracks/{track_id}/stream?format=opus");
    assert_eq!(
        anonymous
            .get(app.url(&stream))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Reorder, drop the broken one, publish.
    let broken_id = broken["id"].as_str().unwrap();
    artist
        .json(Method::DELETE, &format!("/tracks/{broken_id}"), None)
        .await;
    let mut order: Vec<String> = tracks[..7]
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    order.swap(0, 1);
    let bad_order = artist
        .call(
            Method::PUT,
            &format!("/albums/{album_id}/order"),
            Some(json!({"tracks": order[..3]})),
        )
        .await;
    problem(bad_order, StatusCode::CONFLICT).await;
    let reordered = artist
        .json(
            Method::PUT,
            &format!("/albums/{album_id}/order"),
            Some(json!({"tracks": order})),
        )
        .await;
    assert_eq!(reordered["tracks"][0]["title"], "Hoppípolla");
    artist
        .json(
            Method::PUT,
            &format!("/albums/{album_id}"),
            Some(json!({"title": "Takk…", "licence": "cc-by-sa-4.0",
                "release_at": "2026-09-12", "visibility": "published"})),
        )
        .await;

    let html = anonymous.get(app.url(&page)).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("Hoppípolla") && html.contains("CC BY-SA 4.0"));
    assert!(html.contains("music.album"));
    let home = anonymous.get(app.url("/music")).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("Takk…"));
    let found = anonymous
        .get(app.url("/music/search?q=hopp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains("Hoppípolla"), "search finds the track");

    // Streams answer ranges; the waveform and the play counter are public.
    let ranged = anonymous
        .get(app.url(&stream))
        .header("range", "bytes=10-109")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert!(
        ranged.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("audio/ogg")
    );
    assert!(ranged.headers().contains_key("etag"));
    assert_eq!(ranged.bytes().await.unwrap().len(), 100);
    let beyond = anonymous
        .get(app.url(&stream))
        .header("range", "bytes=99999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let peaks: Value = anonymous
        .get(app.url(&format!("/api/v1/music/tracks/{track_id}/waveform")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(peaks["peaks"].as_array().unwrap().len() > 100);
    let played = anonymous
        .post(app.url(&format!("/api/v1/music/tracks/{track_id}/plays")))
        .send()
        .await
        .unwrap();
    assert_eq!(played.status(), StatusCode::NO_CONTENT);
    // The count is the artist's to see, on their stats page only.
    let mut owner = app.anonymous();
    owner
        .sign_in("ada@example.test", crate::helpers::PASSWORD)
        .await;
    let stats = owner
        .get(&format!(
            "/music/studio/artists/{}/stats",
            profile["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stats.status(), StatusCode::OK);
    let stats = stats.text().await.unwrap();
    assert!(
        stats.contains("<rect") && stats.contains(">1</td>"),
        "{stats}"
    );
    let other = app.signed_in("eve@example.test", &[ARTIST]).await;
    let foreign = other
        .get(&format!(
            "/music/studio/artists/{}/stats",
            profile["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // Renames keep the old addresses answering.
    artist
        .json(
            Method::PUT,
            &format!("/artists/{}", profile["id"].as_str().unwrap()),
            Some(json!({"name": "Sigur Rós", "slug": "sigurros"})),
        )
        .await;
    let no_follow = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = no_follow.get(app.url(&page)).send().await.unwrap();
    assert_eq!(moved.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(moved.headers()["location"], "/music/sigurros/takk");

    // Deleting the release leaves no file of it.
    let blobs = &app.running().app.blobs;
    assert!(
        !blobs
            .list(&format!("music/tracks/{track_id}"))
            .await
            .unwrap()
            .is_empty()
    );
    artist
        .json(Method::DELETE, &format!("/albums/{album_id}"), None)
        .await;
    assert!(blobs.list("music").await.unwrap().is_empty());
    assert!(
        blobs.list("uploads").await.unwrap().is_empty(),
        "the originals went too"
    );
    let gone = anonymous
        .get(app.url("/music/sigurros/takk"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}
