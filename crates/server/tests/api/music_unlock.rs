//! Unlocking a release, as listeners and artists meet it: downloads the artist offers
//! (a track's original byte for byte, or a streaming copy, and the whole release as one
//! ZIP), download codes that work as often as they allow and no more (even when two
//! listeners race for the last use), withdrawn and expired codes refused, the artist's
//! redemption log, and private links that open a draft to whoever holds one until it is
//! withdrawn or expires. Deleting the release leaves none of it behind.

use std::io::Read;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tutti_store::Db;

use crate::helpers::{PASSWORD, TestApp, problem, spawn_app};
use crate::music::{Artist, tone};

/// A release of `artist` with the files at `paths` uploaded and processed; returns the
/// release's id and its tracks.
pub(crate) async fn release(
    artist: &Artist,
    slug: &str,
    paths: &[std::path::PathBuf],
) -> (String, Value) {
    let profile = artist
        .json(
            Method::POST,
            "/artists",
            Some(json!({"name": "Sigur Rós", "slug": slug})),
        )
        .await;
    let album = artist
        .json(
            Method::POST,
            &format!("/artists/{}/albums", profile["id"].as_str().unwrap()),
            Some(json!({"title": "Takk…", "slug": "takk"})),
        )
        .await;
    let album_id = album["id"].as_str().unwrap().to_string();
    for path in paths {
        let name = path.file_name().unwrap().to_str().unwrap();
        let id = artist.upload(name, &std::fs::read(path).unwrap()).await;
        artist
            .json(
                Method::POST,
                &format!("/albums/{album_id}/tracks"),
                Some(json!({"upload_id": id})),
            )
            .await;
    }
    let settled = artist.until_settled(&album_id).await;
    for t in settled["tracks"].as_array().unwrap() {
        assert_eq!(t["status"], "ready", "{t}");
    }
    (album_id, settled["tracks"].clone())
}

/// Publishes (or keeps as a draft) with this download choice.
pub(crate) async fn settings(artist: &Artist, album_id: &str, visibility: &str, downloads: &str) {
    artist
        .json(
            Method::PUT,
            &format!("/albums/{album_id}"),
            Some(json!({"title": "Takk…", "visibility": visibility, "downloads": downloads})),
        )
        .await;
}

async fn get(client: &Client, app: &TestApp, path: &str) -> reqwest::Response {
    client.get(app.url(path)).send().await.unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn listeners_download_what_the_artist_offers_and_a_release_as_one_zip() {
    let app = spawn_app().await;
    let artist = Artist::new(&app, "ada@example.test").await;
    let dir = tempfile::tempdir().unwrap();
    let wav = tone("wav-16", dir.path(), "01 Glósóli.wav");
    // The second track carries the cover, as files from a shop often do.
    let jpg = dir.path().join("cover.jpg");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=320x320",
        ])
        .args(["-frames:v", "1"])
        .arg(&jpg)
        .status()
        .unwrap();
    assert!(made.success());
    let mp3 = dir.path().join("02 Hoppípolla.mp3");
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&wav)
        .arg("-i")
        .arg(&jpg)
        .args([
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
        ])
        .args([
            "-c:v",
            "copy",
            "-id3v2_version",
            "3",
            "-disposition:v",
            "attached_pic",
        ])
        .arg(&mp3)
        .status()
        .unwrap();
    assert!(made.success());
    let (album_id, tracks) = release(&artist, "sigur-ros", &[wav.clone(), mp3.clone()]).await;
    let first = tracks[0]["id"].as_str().unwrap().to_string();
    settings(&artist, &album_id, "published", "none").await;

    // Offered nothing: the release is there, its downloads are not.
    let anonymous = Client::new();
    let download = |format: &str| format!("/api/v1/music/tracks/{first}/download?format={format}");
    let refused = get(&anonymous, &app, &download("original")).await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:downloads-off"
    );
    let zip_of = |format: &str| format!("/api/v1/music/albums/{album_id}/download?format={format}");
    problem(
        get(&anonymous, &app, &zip_of("mp3")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let page = get(&anonymous, &app, "/music/sigur-ros/takk")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("/download?format="), "no download buttons");

    // The originals: the uploaded bytes under their own name.
    settings(&artist, &album_id, "published", "original").await;
    let original = get(&anonymous, &app, &download("original")).await;
    assert_eq!(original.status(), StatusCode::OK);
    assert_eq!(
        header(&original, "content-disposition"),
        "attachment; filename=\"01 Gl_s_li.wav\"; filename*=UTF-8''01%20Gl%C3%B3s%C3%B3li.wav"
    );
    assert!(header(&original, "cache-control").starts_with("private"));
    assert_eq!(
        original.bytes().await.unwrap().to_vec(),
        std::fs::read(&wav).unwrap()
    );
    let copy = get(&anonymous, &app, &download("mp3")).await;
    assert_eq!(copy.status(), StatusCode::OK);
    assert_eq!(header(&copy, "content-type"), "audio/mpeg");
    assert!(header(&copy, "content-disposition").ends_with("''01%20Gl%C3%B3s%C3%B3li.mp3"));
    let ranged = anonymous
        .get(app.url(&download("opus")))
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(&ranged.bytes().await.unwrap()[..], b"OggS");
    let unknown = get(&anonymous, &app, &download("flac")).await;
    assert_eq!(
        problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "format"
    );
    let page = get(&anonymous, &app, "/music/sigur-ros/takk")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&zip_of("original")),
        "album page offers the ZIP"
    );
    let track_page = get(&anonymous, &app, "/music/sigur-ros/takk/1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        track_page.contains(&download("mp3")),
        "track page offers its files"
    );

    // The whole release: every track numbered, the cover, nothing compressed.
    let zipped = get(&anonymous, &app, &zip_of("original")).await;
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(header(&zipped, "content-type"), "application/zip");
    assert!(
        header(&zipped, "content-disposition").contains("Sigur%20R%C3%B3s%20-%20Takk"),
        "{}",
        header(&zipped, "content-disposition")
    );
    let bytes = zipped.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["01 Glósóli.wav", "02 Hoppípolla.mp3", "cover.jpg"],
        "{names:?}"
    );
    for (i, path) in [&wav, &mp3].into_iter().enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let mut inside = Vec::new();
        entry.read_to_end(&mut inside).unwrap();
        assert_eq!(inside, std::fs::read(path).unwrap(), "{:?}", entry.name());
    }
    let mut cover = Vec::new();
    archive
        .by_name("cover.jpg")
        .unwrap()
        .read_to_end(&mut cover)
        .unwrap();
    assert_eq!(&cover[..2], [0xFF, 0xD8], "a JPEG");
    let copies = get(&anonymous, &app, &zip_of("opus"))
        .await
        .bytes()
        .await
        .unwrap();
    let copies = zip::ZipArchive::new(std::io::Cursor::new(copies.to_vec())).unwrap();
    let names: Vec<String> = copies
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["01 Glósóli.opus", "02 Hoppípolla.opus", "cover.jpg"]
    );

    // The streaming copies only.
    settings(&artist, &album_id, "published", "renditions").await;
    let refused = get(&anonymous, &app, &download("original")).await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:format-not-offered"
    );
    assert_eq!(
        get(&anonymous, &app, &download("mp3")).await.status(),
        StatusCode::OK
    );
    let best = get(
        &anonymous,
        &app,
        &format!("/api/v1/music/tracks/{first}/download"),
    )
    .await;
    assert_eq!(
        header(&best, "content-type"),
        "audio/mpeg",
        "the best offered"
    );

    // A draft offers nothing to listeners, and does not say it exists.
    settings(&artist, &album_id, "draft", "original").await;
    problem(
        get(&anonymous, &app, &download("original")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        get(&anonymous, &app, &zip_of("original")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let own = artist
        .client
        .get(app.url(&zip_of("original")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        own.status(),
        StatusCode::OK,
        "the artist downloads their draft"
    );
}

#[tokio::test]
async fn download_codes_work_as_often_as_they_allow_and_the_artist_sees_their_use() {
    let app = spawn_app().await;
    let artist = Artist::new(&app, "ada@example.test").await;
    let dir = tempfile::tempdir().unwrap();
    let wav = tone("wav-16", dir.path(), "01 Glósóli.wav");
    let (album_id, tracks) = release(&artist, "sigur-ros", std::slice::from_ref(&wav)).await;
    let track = tracks[0]["id"].as_str().unwrap().to_string();
    settings(&artist, &album_id, "published", "none").await;
    let download = format!("/api/v1/music/tracks/{track}/download?format=original");

    let bad = artist
        .call(
            Method::POST,
            &format!("/albums/{album_id}/codes"),
            Some(json!({"count": 501})),
        )
        .await;
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "count"
    );
    let made = artist
        .json(
            Method::POST,
            &format!("/albums/{album_id}/codes"),
            Some(json!({"count": 5, "uses": 1, "expires_in_days": 30})),
        )
        .await;
    let made = made.as_array().unwrap();
    assert_eq!(made.len(), 5);
    let code = |i: usize| made[i]["code"].as_str().unwrap().to_string();
    let id = |i: usize| made[i]["id"].as_str().unwrap().to_string();
    assert_eq!(code(0).len(), 14, "{}", code(0));
    let listed = artist
        .json(Method::GET, &format!("/albums/{album_id}/codes"), None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 5);
    assert!(listed[0].get("code").is_none(), "codes are shown only once");
    assert_eq!(listed[0]["state"], "live");

    // A listener redeems a code: this browser now downloads, another does not.
    let listener = app.anonymous();
    let redeem = |browser: &crate::helpers::Browser, code: String| {
        let url = format!("{}/api/v1/music/redeem", browser.base);
        let client = browser.client.clone();
        async move {
            client
                .post(url)
                .json(&json!({ "code": code }))
                .send()
                .await
                .unwrap()
        }
    };
    let typed = code(0).to_lowercase().replace('-', " ");
    let redeemed = redeem(&listener, typed).await;
    assert_eq!(redeemed.status(), StatusCode::OK);
    let redeemed: Value = redeemed.json().await.unwrap();
    assert_eq!(redeemed["album_id"], album_id.as_str());
    let original = listener.get(&download).await;
    assert_eq!(original.status(), StatusCode::OK);
    assert_eq!(
        original.bytes().await.unwrap().to_vec(),
        std::fs::read(&wav).unwrap()
    );
    let zipped = listener
        .get(&format!("/api/v1/music/albums/{album_id}/download"))
        .await;
    assert_eq!(zipped.status(), StatusCode::OK);
    let other = Client::new();
    problem(get(&other, &app, &download).await, StatusCode::FORBIDDEN).await;
    // An API client sends the grant itself.
    let with_grant = get(&other, &app, redeemed["download_url"].as_str().unwrap()).await;
    assert_eq!(with_grant.status(), StatusCode::OK);
    let forged = format!(
        "{download}&grant={album_id}.-.99999999999999.{}",
        "0".repeat(32)
    );
    problem(get(&other, &app, &forged).await, StatusCode::FORBIDDEN).await;

    // Used once, it is used up.
    let again = redeem(&app.anonymous(), code(0)).await;
    assert_eq!(
        problem(again, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:code-used-up"
    );
    // Two listeners race for a code's one use: exactly one wins.
    let (a, b) = (app.anonymous(), app.anonymous());
    let (first, second) = tokio::join!(redeem(&a, code(1)), redeem(&b, code(1)));
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::FORBIDDEN]);

    // Withdrawn, expired and unknown codes are refused, each saying why.
    let revoked = artist
        .json(Method::POST, &format!("/codes/{}/revoke", id(2)), None)
        .await;
    assert_eq!(revoked["state"], "revoked");
    let refused = redeem(&app.anonymous(), code(2)).await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:code-revoked"
    );
    let db = &app.running().app.db;
    sqlx::query("UPDATE music_download_codes SET expires_at = 1 WHERE id = $1")
        .bind(id(3))
        .execute(db.pool())
        .await
        .unwrap();
    let refused = redeem(&app.anonymous(), code(3)).await;
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["type"],
        "urn:tutti:problem:code-expired"
    );
    problem(
        redeem(&app.anonymous(), "ABCD-EFGH-JKMN".into()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let blank = redeem(&app.anonymous(), "  ".into()).await;
    assert_eq!(
        problem(blank, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "code"
    );

    // Without JavaScript: the album page asks for a code, the redeem page answers.
    let page = listener
        .get("/music/sigur-ros/takk")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("/api/v1/music/albums/") && page.contains("download?format=original"),
        "a redeemed browser sees the downloads"
    );
    let fresh = app.anonymous();
    let page = fresh
        .get("/music/sigur-ros/takk")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"action="/music/redeem""#), "the code form");
    let wrong = fresh
        .form("/music/redeem", &[("code", "ABCD-EFGH-JKMN")])
        .await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("no such download code")
    );
    let signed_in = app.signed_in("lis@example.test", &[]).await;
    let page = signed_in.form("/music/redeem", &[("code", &code(4))]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!(
        "/api/v1/music/tracks/{track}/download?format=original"
    )));
    assert_eq!(signed_in.get(&download).await.status(), StatusCode::OK);

    // The log: when, which code, signed in or not; nothing else.
    let log = artist
        .json(
            Method::GET,
            &format!("/albums/{album_id}/redemptions"),
            None,
        )
        .await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["signed_in"], true, "newest first");
    assert_eq!(log[0]["hint"], code(4)[..4]);
    assert!(log[1..].iter().all(|r| r["signed_in"] == false));
    assert!(log.iter().all(|r| r.as_object().unwrap().len() == 4));
    let mut owner = app.anonymous();
    owner.sign_in("ada@example.test", PASSWORD).await;
    let studio = owner
        .get(&format!("/music/studio/albums/{album_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        studio.contains(&format!("{}…", &code(0)[..4])),
        "hints listed"
    );
    assert!(studio.contains(r#"id="redemptions""#));

    // Codes made and withdrawn from the studio page, without JavaScript.
    let made = owner
        .form(
            &format!("/music/studio/albums/{album_id}/unlock"),
            &[
                ("action", "codes"),
                ("count", "3"),
                ("uses", "2"),
                ("days", ""),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(header(&made, "cache-control"), "no-store");
    let html = made.text().await.unwrap();
    assert_eq!(html.matches("<li><code>").count(), 3, "{html}");
    let withdrawn = owner
        .form(
            &format!("/music/studio/albums/{album_id}/unlock"),
            &[("action", "revoke-code"), ("target", &id(4))],
        )
        .await;
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    let listed = artist
        .json(Method::GET, &format!("/albums/{album_id}/codes"), None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 8);
    let foreign = app
        .signed_in("eve@example.test", &[crate::rehearsal::ARTIST])
        .await;
    let refused = foreign
        .api(
            Method::POST,
            &format!("/api/v1/music/codes/{}/revoke", id(1)),
            None,
        )
        .await;
    problem(refused, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_private_link_opens_a_draft_until_it_is_withdrawn_or_expires() {
    let app = spawn_app().await;
    let artist = Artist::new(&app, "ada@example.test").await;
    let dir = tempfile::tempdir().unwrap();
    let wav = tone("wav-16", dir.path(), "01 Glósóli.wav");
    let (album_id, tracks) = release(&artist, "sigur-ros", &[wav]).await;
    let track = tracks[0]["id"].as_str().unwrap().to_string();
    let stream = format!("/api/v1/music/tracks/{track}/stream?format=opus");
    let waveform = format!("/api/v1/music/tracks/{track}/waveform");

    // A draft is nobody else's.
    let nobody = app.anonymous();
    assert_eq!(
        nobody.get("/music/sigur-ros/takk").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(nobody.get(&stream).await.status(), StatusCode::NOT_FOUND);

    let bad = artist
        .call(
            Method::POST,
            &format!("/albums/{album_id}/links"),
            Some(json!({"days": 91})),
        )
        .await;
    assert_eq!(
        problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
        "days"
    );
    let link = artist
        .json(
            Method::POST,
            &format!("/albums/{album_id}/links"),
            Some(json!({"days": 7, "label": "For the press"})),
        )
        .await;
    let url = link["url"].as_str().unwrap();
    let path = &url[url.find("/music/listen/").unwrap()..];
    assert!(
        path.len() > "/music/listen/".len() + 40,
        "a long token: {path}"
    );

    // Whoever holds the link sees the page and plays the tracks.
    let guest = app.anonymous();
    let page = guest.get(path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    assert_eq!(header(&page, "cache-control"), "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Takk…") && html.contains("Glósóli"));
    assert!(html.contains("private link"), "says how it is seen");
    let played = guest
        .request(Method::GET, &stream)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(played.status(), StatusCode::PARTIAL_CONTENT);
    assert!(header(&played, "cache-control").starts_with("private"));
    assert_eq!(guest.get(&waveform).await.status(), StatusCode::OK);
    assert_eq!(
        guest.get("/music/sigur-ros/takk/1").await.status(),
        StatusCode::OK
    );
    // Listening is not downloading.
    let download = format!("/api/v1/music/tracks/{track}/download?format=original");
    problem(guest.get(&download).await, StatusCode::FORBIDDEN).await;
    // The link opens this release only; without it, nothing.
    assert_eq!(nobody.get(&stream).await.status(), StatusCode::NOT_FOUND);
    let guessed = format!("/music/listen/{}", "ab".repeat(32));
    assert_eq!(nobody.get(&guessed).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        nobody.get("/music/listen/short").await.status(),
        StatusCode::NOT_FOUND
    );

    // Visits are counted, for the artist only.
    assert_eq!(app.anonymous().get(path).await.status(), StatusCode::OK);
    let links = artist
        .json(Method::GET, &format!("/albums/{album_id}/links"), None)
        .await;
    assert_eq!(links[0]["visits"], 2);
    assert_eq!(links[0]["label"], "For the press");
    assert!(
        links[0].get("url").is_none(),
        "the address is shown only once"
    );
    let mut owner = app.anonymous();
    owner.sign_in("ada@example.test", PASSWORD).await;
    let studio = owner
        .get(&format!("/music/studio/albums/{album_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(studio.contains("For the press") && studio.contains(r#"id="links""#));

    // An expired link, and a withdrawn one, are gone; so are the streams they opened.
    let made = owner
        .form(
            &format!("/music/studio/albums/{album_id}/unlock"),
            &[("action", "link"), ("days", "3"), ("label", "Radio")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap().replace("&#x2f;", "/");
    let at = html.find("/music/listen/").unwrap();
    let second: String = html[at..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(app.anonymous().get(&second).await.status(), StatusCode::OK);
    let db = &app.running().app.db;
    sqlx::query("UPDATE music_listen_links SET expires_at = 1 WHERE label = 'Radio'")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(
        app.anonymous().get(&second).await.status(),
        StatusCode::NOT_FOUND
    );
    artist
        .json(
            Method::POST,
            &format!("/links/{}/revoke", links[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        app.anonymous().get(path).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(guest.get(&stream).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(guest.get(path).await.status(), StatusCode::NOT_FOUND);

    // Deleting the release takes its codes, their log and its links along.
    let made = artist
        .json(
            Method::POST,
            &format!("/albums/{album_id}/codes"),
            Some(json!({"count": 2})),
        )
        .await;
    let redeemed = app
        .anonymous()
        .client
        .post(app.url("/api/v1/music/redeem"))
        .json(&json!({"code": made[0]["code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), StatusCode::OK);
    for table in [
        "music_download_codes",
        "music_redemptions",
        "music_listen_links",
    ] {
        assert!(count(db, table).await > 0, "{table}");
    }
    artist
        .json(Method::DELETE, &format!("/albums/{album_id}"), None)
        .await;
    for table in [
        "music_download_codes",
        "music_redemptions",
        "music_listen_links",
    ] {
        assert_eq!(count(db, table).await, 0, "{table}");
    }
}
