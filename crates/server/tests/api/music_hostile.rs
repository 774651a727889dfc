//! Files that are not what they claim, as an artist might drop them on a release: an
//! empty file, one cut off after its first bytes, a text file named like a song, and an
//! upload announcing a terabyte. Each gets a clear error (the upload refused, or the
//! track marked failed with a reason the editor shows) and none of them stops the good
//! track beside it from being processed.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{problem, spawn_app};
use crate::music::{Artist, tone};

#[tokio::test]
async fn hostile_uploads_get_clear_errors_and_do_not_block_the_others() {
    let app = spawn_app().await;
    let artist = Artist::new(&app, "hostile@example.test").await;
    let profile = artist
        .json(Method::POST, "/artists", Some(json!({"name": "Hostile"})))
        .await;
    let album = artist
        .json(
            Method::POST,
            &format!("/artists/{}/albums", profile["id"].as_str().unwrap()),
            Some(json!({"title": "Mixed Bag"})),
        )
        .await;
    let album_id = album["id"].as_str().unwrap().to_string();

    // A terabyte announced: refused before a byte is sent, with the limit named.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let huge = artist
        .client
        .post(app.url("/api/v1/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", (1u64 << 40).to_string())
        .header(
            "upload-metadata",
            format!("filename {},studio {}", b64("huge.wav"), b64("music")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = problem(huge, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");

    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(tone("wav-16", dir.path(), "good.wav")).unwrap();
    let opus = std::fs::read(tone("music-stream", dir.path(), "cut.opus")).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("01 Good.wav", good),
        ("02 Empty.flac", Vec::new()),
        ("03 Cut Off.opus", opus[..opus.len().min(200)].to_vec()),
        (
            "04 Notes.mp3",
            b"these are my lyrics, not audio\n".repeat(40),
        ),
    ];
    for (name, bytes) in &files {
        let id = if bytes.is_empty() {
            // tus: a zero-length upload is complete once created.
            let created = artist
                .client
                .post(app.url("/api/v1/uploads"))
                .header("tus-resumable", "1.0.0")
                .header("upload-length", "0")
                .header(
                    "upload-metadata",
                    format!("filename {},studio {}", b64(name), b64("music")),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::CREATED);
            let location = created.headers()["location"].to_str().unwrap().to_string();
            location.rsplit('/').next().unwrap().to_string()
        } else {
            artist.upload(name, bytes).await
        };
        let added = artist
            .call(
                Method::POST,
                &format!("/albums/{album_id}/tracks"),
                Some(json!({"upload_id": id})),
            )
            .await;
        // Refused at once (an empty file) or taken and failed in processing: both say why.
        if !added.status().is_success() {
            let body = problem(added, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(
                !body["detail"].as_str().unwrap().is_empty(),
                "{name}: {body}"
            );
        }
    }
    let settled = artist.until_settled(&album_id).await;
    let tracks = settled["tracks"].as_array().unwrap();
    let good = tracks.iter().find(|t| t["title"] == "Good").unwrap();
    assert_eq!(good["status"], "ready", "{good}");
    for t in tracks.iter().filter(|t| t["title"] != "Good") {
        assert_eq!(t["status"], "failed", "{t}");
        let error = t["error"].as_str().unwrap_or("");
        assert!(error.len() > 10, "a failed track says why: {t}");
    }
    // The text file at least was taken, and failed as not audio.
    assert!(
        tracks
            .iter()
            .any(|t| t["title"] == "Notes" && t["status"] == "failed"),
        "{settled:#}"
    );
}
