//! The studio's editors as an artist's browser uses them, with plain forms and a session:
//! a track's words and synced lyrics edited on its page, a release's cover and an
//! artist's picture uploaded as file forms. A new picture is a new address and leaves no
//! file of the old one; what is not an image is refused on the page and changes nothing.

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app};
use crate::music::{Artist, tone};

/// A square picture of one colour, as a camera or an editor would save it.
fn png(dir: &Path, name: &str, colour: &str) -> Vec<u8> {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s=400x400"))
        .args(["-frames:v", "1"])
        .arg(&out)
        .status()
        .expect("ffmpeg makes the picture fixtures (tests/setup.sh installs it)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// Posts one file in a `multipart/form-data` form, as a browser sends a file form whose
/// action carries the session's CSRF token.
async fn post_file(
    browser: &Browser,
    action: &str,
    field: &str,
    file_name: &str,
    media_type: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let boundary = "----tutti-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
         filename=\"{file_name}\"\r\nContent-Type: {media_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let csrf: String = url::form_urlencoded::byte_serialize(browser.csrf.as_bytes()).collect();
    browser
        .request(Method::POST, &format!("{action}?csrf={csrf}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// An artist with a published one-track release, and their signed-in browser.
struct Studio {
    api: Artist,
    browser: Browser,
    artist: Value,
    album_id: String,
    track_id: String,
    _dir: tempfile::TempDir,
}

async fn studio(app: &TestApp, email: &str, name: &str) -> Studio {
    let api = Artist::new(app, email).await;
    let mut browser = app.anonymous();
    browser.sign_in(email, PASSWORD).await;
    let artist = api
        .json(Method::POST, "/artists", Some(json!({"name": name})))
        .await;
    let album = api
        .json(
            Method::POST,
            &format!("/artists/{}/albums", artist["id"].as_str().unwrap()),
            Some(json!({"title": "Night Songs", "release_at": "2020-01-01",
                "visibility": "published"})),
        )
        .await;
    let album_id = album["id"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let wav = tone("wav-16", dir.path(), "01 Dusk.wav");
    let upload = api
        .upload("01 Dusk.wav", &std::fs::read(&wav).unwrap())
        .await;
    let track = api
        .json(
            Method::POST,
            &format!("/albums/{album_id}/tracks"),
            Some(json!({"upload_id": upload})),
        )
        .await;
    api.until_settled(&album_id).await;
    Studio {
        api,
        browser,
        artist,
        album_id,
        track_id: track["id"].as_str().unwrap().to_string(),
        _dir: dir,
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The blob keys stored under a folder.
async fn keys(app: &TestApp, prefix: &str) -> Vec<String> {
    app.running()
        .app
        .blobs
        .list(prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect()
}

#[tokio::test]
async fn an_artist_edits_a_track_and_its_synced_lyrics_on_its_page() {
    let app = spawn_app().await;
    let s = studio(&app, "ada@example.test", "Ada").await;
    let editor = format!("/music/studio/tracks/{}", s.track_id);

    // The release editor links each track to its editor.
    let release = s
        .browser
        .get(&format!("/music/studio/albums/{}", s.album_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(release.contains(&format!("href=\"{editor}\"")), "{release}");

    let page = s.browser.get(&editor).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"track-form\"") && html.contains("id=\"audio-file\""));

    // Another artist's track is not found, and anyone else is not let in.
    let other = studio(&app, "bo@example.test", "Bo").await;
    assert_eq!(
        other.browser.get(&editor).await.status(),
        StatusCode::NOT_FOUND
    );
    let listener = app.signed_in("lis@example.test", &[]).await;
    assert_eq!(listener.get(&editor).await.status(), StatusCode::FORBIDDEN);

    let saved = s
        .browser
        .form(
            &editor,
            &[
                ("title", "Dusk (Night Version)"),
                ("credits", "Words and music by Ada"),
                (
                    "lyrics",
                    "[00:00.50] The light goes\n[00:01.20] and the song stays",
                ),
                ("position", "1"),
                ("featured", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&saved),
        format!("/music/studio/albums/{}", s.album_id)
    );

    let album = s
        .api
        .json(Method::GET, &format!("/albums/{}", s.album_id), None)
        .await;
    let track = &album["tracks"][0];
    assert_eq!(track["title"], "Dusk (Night Version)");
    assert_eq!(track["credits"], "Words and music by Ada");
    assert_eq!(track["featured"], 1);
    assert_eq!(track["lyrics"]["kind"], "synced");
    assert_eq!(track["lyrics"]["lines"][1]["start_ms"], 1200);
    assert_eq!(track["lyrics"]["lines"][1]["text"], "and the song stays");

    let public = app
        .anonymous()
        .get(&format!(
            "/music/{}/night-songs/1",
            s.artist["slug"].as_str().unwrap()
        ))
        .await;
    assert_eq!(public.status(), StatusCode::OK);
    let public = public.text().await.unwrap();
    assert!(public.contains("Dusk (Night Version)") && public.contains("and the song stays"));
    assert!(public.contains("Words and music by Ada"));

    // The editor shows the lyrics as they were typed, times included.
    let again = s.browser.get(&editor).await.text().await.unwrap();
    assert!(again.contains("[00:01.20]and the song stays"), "{again}");

    // A title too long is shown beside its field, with what was typed kept.
    let long = "x".repeat(301);
    let refused = s
        .browser
        .form(&editor, &[("title", &long), ("credits", "Kept as typed")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"track-title-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("Kept as typed"));
    let unchanged = s
        .api
        .json(Method::GET, &format!("/albums/{}", s.album_id), None)
        .await;
    assert_eq!(unchanged["tracks"][0]["title"], "Dusk (Night Version)");
    assert_eq!(unchanged["tracks"][0]["credits"], "Words and music by Ada");

    // A number that is not one is the number's error.
    let refused = s.browser.form(&editor, &[("position", "first")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("id=\"track-position-error\"")
    );
}

#[tokio::test]
async fn a_new_cover_is_a_new_address_and_leaves_no_file_of_the_old_one() {
    let app = spawn_app().await;
    let s = studio(&app, "ada@example.test", "Ada").await;
    let dir = tempfile::tempdir().unwrap();
    let action = format!("/music/studio/albums/{}/cover", s.album_id);
    let folder = format!("music/albums/{}", s.album_id);
    let cover_url = || async {
        s.api
            .json(Method::GET, &format!("/albums/{}", s.album_id), None)
            .await["cover_url"]
            .clone()
    };

    // Without the session's token the form is refused.
    let red = png(dir.path(), "red.png", "red");
    let forged = s
        .browser
        .request(Method::POST, &action)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let sent = post_file(&s.browser, &action, "cover", "red.png", "image/png", &red).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let first = cover_url().await;
    let first = first.as_str().expect("the release has a cover").to_string();
    let image = app.anonymous().get(&first).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    let first_keys = keys(&app, &folder).await;
    assert_eq!(first_keys.len(), 4, "{first_keys:?}");

    let blue = png(dir.path(), "blue.png", "blue");
    let sent = post_file(&s.browser, &action, "cover", "blue.png", "image/png", &blue).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let second = cover_url().await.as_str().unwrap().to_string();
    assert_ne!(first, second);
    let second_keys = keys(&app, &folder).await;
    assert_eq!(second_keys.len(), 4, "{second_keys:?}");
    assert!(first_keys.iter().all(|k| !second_keys.contains(k)));
    let image = app.anonymous().get(&second).await;
    assert_eq!(image.headers()["content-type"], "image/jpeg");

    // Text is not a picture: said on the page, and the cover stays.
    let refused = post_file(
        &s.browser,
        &action,
        "cover",
        "notes.txt",
        "image/png",
        b"these are liner notes, not a picture",
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"cover-file-error\""), "{html}");
    assert!(html.contains("notes.txt is not a JPEG, PNG or WebP image"));
    assert_eq!(cover_url().await, second);
    assert_eq!(keys(&app, &folder).await, second_keys);

    let removed = s.browser.form(&format!("{action}/remove"), &[]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(cover_url().await, Value::Null);
    assert!(keys(&app, &folder).await.is_empty());
}

#[tokio::test]
async fn an_artist_picture_shows_on_their_page() {
    let app = spawn_app().await;
    let s = studio(&app, "ada@example.test", "Ada & Co").await;
    let id = s.artist["id"].as_str().unwrap();
    let slug = s.artist["slug"].as_str().unwrap();
    let anonymous = app.anonymous();
    let none = anonymous
        .get(&format!("/api/v1/music/artists/{id}/picture"))
        .await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);

    let dir = tempfile::tempdir().unwrap();
    let picture = png(dir.path(), "me.png", "green");
    let action = format!("/music/studio/artists/{id}/picture");
    let sent = post_file(
        &s.browser,
        &action,
        "picture",
        "me.png",
        "image/png",
        &picture,
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let first = keys(&app, &format!("music/artists/{id}")).await;
    assert_eq!(first.len(), 4, "{first:?}");

    let page = anonymous.get(&format!("/music/{slug}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let at = html
        .find("class=\"artist-picture\" src=\"")
        .expect("the artist page shows the picture")
        + "class=\"artist-picture\" src=\"".len();
    let src = html[at..at + html[at..].find('"').unwrap()]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(
        src.starts_with(&format!("/api/v1/music/artists/{id}/picture?size=300&v=")),
        "{src}"
    );
    assert!(html.contains("alt=\"Ada &amp; Co\""), "{html}");
    let image = anonymous.get(&src).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/jpeg");

    // Sizes outside what the API describes are refused, as its schema says.
    for size in ["0", "10001", "-3"] {
        let wrong = anonymous
            .get(&format!("/api/v1/music/artists/{id}/picture?size={size}"))
            .await;
        assert_eq!(
            wrong.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "size {size}"
        );
    }
    for size in ["1", "10000"] {
        let right = anonymous
            .get(&format!("/api/v1/music/artists/{id}/picture?size={size}"))
            .await;
        assert_eq!(right.status(), StatusCode::OK, "size {size}");
    }

    // A new picture replaces the old one's files.
    let other = png(dir.path(), "me2.png", "yellow");
    let sent = post_file(
        &s.browser,
        &action,
        "picture",
        "me2.png",
        "image/png",
        &other,
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let second = keys(&app, &format!("music/artists/{id}")).await;
    assert_eq!(second.len(), 4);
    assert!(first.iter().all(|k| !second.contains(k)));
}
