//! How streams leave the server: with the date their copy was written (`Last-Modified`,
//! answered with 304 on `If-Modified-Since`), and, when an operator turns on presigned
//! streams with an S3 store, as a redirect to a short-lived URL of the store itself,
//! whose bytes are the stream's. A local store, which cannot sign, serves as before.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::music::{Artist, tone};
use crate::music_unlock::{release, settings};

#[tokio::test]
async fn streams_carry_their_date_and_redirect_to_the_store_when_asked() {
    let app = spawn_app_with(|s| {
        s.studios
            .insert("music".into(), json!({ "presigned_streams": true }));
    })
    .await;
    let artist = Artist::new(&app, "media@example.test").await;
    let dir = tempfile::tempdir().unwrap();
    let wav = tone("wav-16", dir.path(), "01 Hoppípolla.wav");
    let (album_id, tracks) = release(&artist, "media", &[wav]).await;
    settings(&artist, &album_id, "published", "none").await;
    let stream = tracks[0]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["format"] == "mp3")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let direct = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let first = direct.get(app.url(&stream)).send().await.unwrap();
    let s3 = std::env::var("TUTTI_TEST_BLOB_URL").is_ok_and(|u| u.starts_with("s3://"));
    if s3 {
        assert_eq!(first.status(), StatusCode::TEMPORARY_REDIRECT);
        let to = first.headers()["location"].to_str().unwrap().to_string();
        assert!(
            to.starts_with("http") && to.contains("X-Amz-Signature"),
            "{to}"
        );
        assert!(
            first.headers()["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("private")
        );
        let bytes = reqwest::get(&to).await.unwrap();
        assert_eq!(bytes.status(), StatusCode::OK);
        let body = bytes.bytes().await.unwrap();
        assert!(body.len() > 1000);
    } else {
        assert_eq!(first.status(), StatusCode::OK);
        let modified = first.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(httpdate::parse_http_date(&modified).is_ok(), "{modified}");
        let again = direct
            .get(app.url(&stream))
            .header("if-modified-since", &modified)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let old = direct
            .get(app.url(&stream))
            .header("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT")
            .send()
            .await
            .unwrap();
        assert_eq!(old.status(), StatusCode::OK);
    }
}
