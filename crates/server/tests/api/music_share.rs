//! A listener shares a published album beyond its page: another site embeds its player
//! (the embed is framable, the album page is not), asks oEmbed what to show for the
//! album's and a track's address, a feed reader follows the artist's Atom feed, a
//! podcast app the album's feed (whose enclosure sizes are what the streams send), and
//! a desktop player its M3U playlist. A draft is shared by none of them.

use std::process::Command;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::music::{Artist, tone, with_ffmpeg};

/// One XML element as read back: name, attributes, text.
type Element = (String, Vec<(String, String)>, String);

/// Every element of a document, in order; panics unless it is well-formed XML.
fn elements(xml: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}"));
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let attributes = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        let value = a.normalized_value(XmlVersion::Implicit1_0).unwrap();
                        (a.key.as_ref().to_string(), value.into_owned())
                    })
                    .collect();
                let empty = matches!(event, Event::Empty(_));
                out.push((e.name().as_ref().to_string(), attributes, String::new()));
                if !empty {
                    open.push(out.len() - 1);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = open.last() {
                    out[i].2.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match &**r {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => r.resolve_char_ref().unwrap().expect("a known entity"),
                };
                if let Some(&i) = open.last() {
                    out[i].2.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    out
}

fn attribute<'a>(e: &'a Element, name: &str) -> &'a str {
    e.1.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("<{}> has no {name}", e.0))
}

fn texts(all: &[Element], name: &str) -> Vec<String> {
    all.iter()
        .filter(|e| e.0 == name)
        .map(|e| e.2.clone())
        .collect()
}

/// The `frame-ancestors` sources of a response's Content-Security-Policy.
fn frame_ancestors(r: &reqwest::Response) -> String {
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("frame-ancestors "))
        .unwrap_or_else(|| panic!("no frame-ancestors in {csp}"))
        .to_string()
}

async fn oembed(client: &Client, app_url: &str, url: &str, extra: &str) -> reqwest::Response {
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    client
        .get(format!("{app_url}/music/oembed?url={encoded}{extra}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_published_album_is_shared_as_a_player_oembed_feeds_and_a_playlist() {
    let app = spawn_app().await;
    let artist = Artist::new(&app, "ada@example.test").await;
    let profile = artist
        .json(
            Method::POST,
            "/artists",
            Some(json!({"name": "Ada & The Tones"})),
        )
        .await;
    let artist_id = profile["id"].as_str().unwrap().to_string();
    let slug = profile["slug"].as_str().unwrap().to_string();
    let album = artist
        .json(
            Method::POST,
            &format!("/artists/{artist_id}/albums"),
            Some(json!({"title": "Two <Tones>", "licence": "cc-by-4.0",
                "release_at": "2026-09-12", "description": "Sines & chords."})),
        )
        .await;
    let album_id = album["id"].as_str().unwrap().to_string();
    let draft = artist
        .json(
            Method::POST,
            &format!("/artists/{artist_id}/albums"),
            Some(json!({"title": "Unfinished"})),
        )
        .await;

    // Track 1 is an MP3 carrying its cover (the album's cover comes from it), track 2 a WAV.
    let dir = tempfile::tempdir().unwrap();
    let cover = dir.path().join("cover.png");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("color=c=0x3366cc:s=200x200:d=1")
        .args(["-frames:v", "1"])
        .arg(&cover)
        .status()
        .expect("ffmpeg makes the cover (tests/setup.sh installs it)");
    assert!(made.success());
    let wav = tone("wav-16", dir.path(), "02 Second.wav");
    let mp3 = dir.path().join("01 First.mp3");
    let cover_arg = cover.to_str().unwrap();
    with_ffmpeg(
        &wav,
        &mp3,
        &[
            "-i",
            cover_arg,
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-c:v",
            "mjpeg",
            "-id3v2_version",
            "3",
            "-disposition:v",
            "attached_pic",
        ],
    );
    for path in [&mp3, &wav] {
        let name = path.file_name().unwrap().to_str().unwrap();
        let upload = artist.upload(name, &std::fs::read(path).unwrap()).await;
        artist
            .json(
                Method::POST,
                &format!("/albums/{album_id}/tracks"),
                Some(json!({"upload_id": upload})),
            )
            .await;
    }
    let settled = artist.until_settled(&album_id).await;
    let tracks = settled["tracks"].as_array().unwrap().clone();
    assert!(tracks.iter().all(|t| t["status"] == "ready"), "{settled:#}");
    assert!(
        settled["cover_url"].is_string(),
        "the MP3's picture: {settled:#}"
    );

    let anonymous = Client::new();
    let base = app.url("");
    let page_url = app.url(&format!("/music/{slug}/two-tones"));
    let track_url = format!("{page_url}/2");
    let draft_url = app.url(&format!("/music/{slug}/unfinished"));

    // Before publishing nothing is shared.
    assert_eq!(
        oembed(&anonymous, &base, &page_url, "").await.status(),
        StatusCode::NOT_FOUND
    );
    let hidden = anonymous
        .get(app.url(&format!("/music/embed/albums/{album_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);

    artist
        .json(
            Method::PUT,
            &format!("/albums/{album_id}"),
            Some(json!({"title": "Two <Tones>", "licence": "cc-by-4.0",
                "release_at": "2026-09-12", "description": "Sines & chords.",
                "visibility": "published"})),
        )
        .await;

    // The album page: Open Graph with absolute addresses, and the oEmbed discovery link.
    let page = anonymous.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        frame_ancestors(&page),
        "'none'",
        "the page itself is not framed"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    // Values in pages are escaped, `/` too.
    let html = page.text().await.unwrap().replace("&#x2f;", "/");
    assert!(
        html.contains(r#"<meta property="og:type" content="music.album">"#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"<meta property="og:url" content="{page_url}">"#)));
    assert!(html.contains(&format!(
        r#"<meta property="og:image" content="{base}/api/v1/music/albums/{album_id}/cover"#
    )));
    assert!(html.contains(&format!(
        r#"<meta property="music:musician" content="{base}/music/{slug}">"#
    )));
    assert!(html.contains(&format!(
        r#"<meta property="music:song" content="{track_url}">"#
    )));
    let encoded: String = url::form_urlencoded::byte_serialize(page_url.as_bytes()).collect();
    assert!(
        html.contains(&format!(
            r#"<link rel="alternate" type="application/json+oembed" href="{base}/music/oembed?format=json&amp;url={encoded}""#
        )),
        "the oEmbed discovery link: {html}"
    );
    assert!(html.contains(&format!(r#"href="/music/feeds/albums/{album_id}""#)));
    assert!(html.contains(&format!(r#"href="/music/playlists/albums/{album_id}""#)));
    assert!(
        html.contains("&lt;iframe src=&quot;"),
        "the code to copy is shown as text"
    );
    let song = anonymous
        .get(&track_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(song.contains(r#"<meta property="og:type" content="music.song">"#));
    assert!(song.contains(r#"<meta property="music:duration" content="2">"#));
    assert!(song.contains(&format!(
        r#"<meta property="music:album" content="{page_url}">"#
    )));
    let mp3_of_2 = format!(
        "{base}/api/v1/music/tracks/{}/stream?format=mp3",
        tracks[1]["id"].as_str().unwrap()
    );
    assert!(
        song.contains(&format!(
            r#"<meta property="og:audio" content="{}"#,
            mp3_of_2.replace('&', "&amp;")
        )),
        "{song}"
    );

    // The embedded player may be framed by any site.
    let embed = anonymous
        .get(app.url(&format!("/music/embed/albums/{album_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(embed.status(), StatusCode::OK);
    assert_eq!(frame_ancestors(&embed), "*");
    assert!(!embed.headers().contains_key("x-frame-options"));
    let player = embed.text().await.unwrap().replace("&#x2f;", "/");
    assert!(player.contains(r#"src="/assets/music-player.js""#));
    assert!(player.contains("Two &lt;Tones&gt;") && player.contains("data-player"));
    assert_eq!(player.matches(r#"<li class="track""#).count(), 2);
    assert!(!player.contains("<script>"), "no inline script");
    let one = anonymous
        .get(app.url(&format!(
            "/music/embed/tracks/{}",
            tracks[1]["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(frame_ancestors(&one), "*");
    assert_eq!(
        one.text()
            .await
            .unwrap()
            .matches(r#"<li class="track""#)
            .count(),
        1
    );

    // oEmbed for the album: a rich answer holding that player.
    let answer = oembed(&anonymous, &base, &page_url, "&format=json").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["version"], "1.0");
    assert_eq!(answer["type"], "rich");
    assert_eq!(answer["title"], "Two <Tones>");
    assert_eq!(answer["author_name"], "Ada & The Tones");
    assert_eq!(answer["author_url"], app.url(&format!("/music/{slug}")));
    assert_eq!(answer["provider_name"], "Tutti");
    let html = answer["html"].as_str().unwrap();
    assert!(
        html.starts_with(&format!(
            r#"<iframe src="{base}/music/embed/albums/{album_id}""#
        )),
        "{html}"
    );
    assert!(html.contains("title=\"Two &lt;Tones&gt; · Ada &amp; The Tones\""));
    assert!(answer["width"].as_u64().unwrap() > 0 && answer["height"].as_u64().unwrap() > 0);
    // The cover's address carries its version, so a new cover is a new URL.
    assert!(
        answer["thumbnail_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "{base}/api/v1/music/albums/{album_id}/cover?size=600&v="
            )),
        "{answer}"
    );
    let thumbnail = anonymous
        .get(answer["thumbnail_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(thumbnail.status(), StatusCode::OK);

    // …sized to fit, and for a track with a deep link, that track's player from there.
    let small: Value = oembed(
        &anonymous,
        &base,
        &format!("{track_url}#time=1s"),
        "&maxwidth=320&maxheight=120",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(small["width"], 320);
    assert_eq!(small["height"], 120);
    assert_eq!(small["title"], "Second");
    assert_eq!(small["thumbnail_width"], 96);
    assert!(
        small["html"].as_str().unwrap().contains(&format!(
            "/music/embed/tracks/{}#time=1s\"",
            tracks[1]["id"].as_str().unwrap()
        )),
        "{small}"
    );
    // Unknown, foreign and draft addresses are not found; XML is not made.
    for url in [
        draft_url.clone(),
        format!("{page_url}/9"),
        "https://elsewhere.example/music/a/b".to_string(),
        app.url("/music/nobody/nothing"),
        "not a url".to_string(),
    ] {
        let r = oembed(&anonymous, &base, &url, "").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{url}");
    }
    let xml = oembed(&anonymous, &base, &page_url, "&format=xml").await;
    assert_eq!(xml.status(), StatusCode::NOT_IMPLEMENTED);
    for path in [
        format!("/music/embed/albums/{}", draft["id"].as_str().unwrap()),
        format!("/music/feeds/albums/{}", draft["id"].as_str().unwrap()),
        format!("/music/playlists/albums/{}", draft["id"].as_str().unwrap()),
    ] {
        let r = anonymous.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // The artist's Atom feed lists the release, linked, with its cover and licence.
    let artist_page = anonymous
        .get(app.url(&format!("/music/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(artist_page.contains(&format!(
        r#"<link rel="alternate" type="application/atom+xml" href="/music/feeds/artists/{slug}""#
    )));
    let feed = anonymous
        .get(app.url(&format!("/music/feeds/artists/{slug}")))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let feed = elements(&feed.text().await.unwrap());
    assert_eq!(feed[0].0, "feed");
    assert_eq!(texts(&feed, "title"), ["Ada & The Tones", "Two <Tones>"]);
    let entries = feed.iter().filter(|e| e.0 == "entry").count();
    assert_eq!(entries, 1, "the draft is not in the feed");
    let links: Vec<&Element> = feed.iter().filter(|e| e.0 == "link").collect();
    assert!(
        links
            .iter()
            .any(|l| attribute(l, "rel") == "alternate" && attribute(l, "href") == page_url)
    );
    assert!(links.iter().any(|l| attribute(l, "rel") == "license"
        && attribute(l, "href") == "https://creativecommons.org/licenses/by/4.0/"));
    assert_eq!(texts(&feed, "rights"), ["CC BY 4.0"]);
    let thumbnail = feed.iter().find(|e| e.0 == "media:thumbnail").unwrap();
    assert!(attribute(thumbnail, "url").starts_with(&format!("{base}/api/v1/music/albums/")));

    // The podcast feed: one episode per track, each enclosure as long as its stream.
    let podcast = anonymous
        .get(app.url(&format!("/music/feeds/albums/{album_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(podcast.status(), StatusCode::OK);
    let podcast = elements(&podcast.text().await.unwrap());
    assert_eq!(podcast[0].0, "rss");
    assert_eq!(texts(&podcast, "itunes:author"), ["Ada & The Tones"]);
    assert_eq!(
        texts(&podcast, "itunes:explicit"),
        ["false", "false", "false"]
    );
    assert!(podcast.iter().any(|e| e.0 == "itunes:image"));
    assert_eq!(texts(&podcast, "itunes:duration"), ["2", "2"]);
    let enclosures: Vec<&Element> = podcast.iter().filter(|e| e.0 == "enclosure").collect();
    assert_eq!(enclosures.len(), 2);
    for (enclosure, track) in enclosures.iter().zip(&tracks) {
        assert_eq!(attribute(enclosure, "type"), "audio/mpeg");
        let url = attribute(enclosure, "url");
        assert!(
            url.starts_with(&format!(
                "{base}/api/v1/music/tracks/{}/stream?format=mp3&v=",
                track["id"].as_str().unwrap()
            )),
            "{url}"
        );
        let served = anonymous.get(url).send().await.unwrap();
        assert_eq!(served.status(), StatusCode::OK);
        let bytes = served.bytes().await.unwrap();
        assert_eq!(
            attribute(enclosure, "length"),
            bytes.len().to_string(),
            "{url}"
        );
    }

    // The playlist: every track with its length and an absolute address.
    let playlist = anonymous
        .get(app.url(&format!("/music/playlists/albums/{album_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(playlist.status(), StatusCode::OK);
    assert!(
        playlist.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("audio/x-mpegurl")
    );
    let playlist = playlist.text().await.unwrap();
    let lines: Vec<&str> = playlist.lines().collect();
    assert_eq!(lines[0], "#EXTM3U");
    let entries: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("#EXTINF:"))
        .collect();
    assert_eq!(
        entries,
        [
            "#EXTINF:2,Ada & The Tones - First",
            "#EXTINF:2,Ada & The Tones - Second"
        ]
    );
    for track in &tracks {
        let stream = format!(
            "{base}/api/v1/music/tracks/{}/stream?format=mp3",
            track["id"].as_str().unwrap()
        );
        assert!(
            lines.iter().any(|l| l.starts_with(&stream)),
            "{stream} in {playlist}"
        );
    }
}
