//! Sharing public releases beyond their own pages: a player other sites embed (an album
//! or one track, in an `<iframe>`), oEmbed so a site that is given a link builds that
//! frame itself, an Atom feed of an artist's releases, a podcast feed of an album (RSS
//! with iTunes tags and MP3 enclosures), an M3U playlist, and the absolute addresses the
//! album and track pages put in their Open Graph tags and share panel. Deep links into
//! the player (`#track=3&time=1m20s`) are read by `music-player.js`, on the pages and in
//! the embedded player alike.
//!
//! Only what listeners may see now is shared: a draft, a scheduled release before its
//! time, and anything taken down answer 404 here, whoever asks (an owner previews on
//! the release's own page, never through another site).

use std::borrow::Cow;
use std::io;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use tutti_platform::{Access, AllowFraming, Page, Routes, Settings};
use tutti_web::{Problem, Query};

use crate::Music;
use crate::db::{self, Album, Artist, Rendition, Track};
use crate::domain::Licence;
use crate::error::MusicError;
use crate::jobs::COVER_SIZES;
use crate::pages::{moved, visible_release};
use crate::service::{self, Found};

/// The sharing routes, added to the studio's pages in [`crate::routes::routes`]. Each
/// path starts with a word [`crate::domain::RESERVED_SLUGS`] keeps from artists.
pub fn routes(r: Routes<Music>) -> Routes<Music> {
    let get = Method::GET;
    r.page(
        Access::Public,
        get.clone(),
        "/music/embed/albums/{id}",
        embed_album,
    )
    .page(
        Access::Public,
        get.clone(),
        "/music/embed/tracks/{id}",
        embed_track,
    )
    .page(Access::Public, get.clone(), "/music/oembed", oembed)
    .page(
        Access::Public,
        get.clone(),
        "/music/feeds/artists/{slug}",
        artist_feed,
    )
    .page(
        Access::Public,
        get.clone(),
        "/music/feeds/albums/{id}",
        album_podcast,
    )
    .page(
        Access::Public,
        get,
        "/music/playlists/albums/{id}",
        album_playlist,
    )
}

// ---- sizes and addresses ----

/// The embedded player's width in CSS pixels (it also fits narrower frames).
const EMBED_WIDTH: u32 = 480;
/// A one-track player: cover, titles, controls, waveform and the link back here.
const TRACK_EMBED_HEIGHT: u32 = 224;
/// An album's player grows by one row per track up to this many; the rest scroll.
const ALBUM_EMBED_ROWS: usize = 6;
const ALBUM_EMBED_ROW: u32 = 42;
/// Releases an artist's feed lists, newest first: readers only look for what is new.
const FEED_ENTRIES: usize = 50;
/// How long caches and feed readers may keep a feed, a playlist or an oEmbed answer.
const SHARED_MAX_AGE: &str = "public, max-age=300";

/// The frame's size for one track (`None`) or an album of `tracks` tracks.
fn embed_size(tracks: Option<usize>) -> (u32, u32) {
    match tracks {
        None => (EMBED_WIDTH, TRACK_EMBED_HEIGHT),
        Some(n) => {
            let rows = n.clamp(1, ALBUM_EMBED_ROWS) as u32;
            (EMBED_WIDTH, TRACK_EMBED_HEIGHT + rows * ALBUM_EMBED_ROW)
        }
    }
}

/// The `<iframe>` another site pastes to show the player at `src`.
pub fn iframe(src: &str, title: &str, (width, height): (u32, u32)) -> String {
    format!(
        "<iframe src=\"{}\" width=\"{width}\" height=\"{height}\" title=\"{}\" \
         style=\"border:0\" loading=\"lazy\" allow=\"autoplay\"></iframe>",
        html_escape(src),
        html_escape(title)
    )
}

fn artist_path(artist: &Artist) -> String {
    format!("/music/{}", artist.slug)
}

fn album_path(artist: &Artist, album: &Album) -> String {
    format!("/music/{}/{}", artist.slug, album.slug)
}

fn track_path(artist: &Artist, album: &Album, track: &Track) -> String {
    format!("/music/{}/{}/{}", artist.slug, album.slug, track.position)
}

/// The stream the player and [`crate::routes::track_view`] name: the audio version in
/// the query makes a replaced track a new address, so caches never mix the two.
fn stream_path(track: &Track, format: &str) -> String {
    format!(
        "/api/v1/music/tracks/{}/stream?format={format}&v={}",
        track.id, track.audio_version
    )
}

fn cover_url(settings: &Settings, album: &Album, size: u32) -> Option<String> {
    album
        .cover_key
        .as_ref()
        .map(|key| settings.link(&crate::editor::cover_url(&album.id, key, size)))
}

fn licence_of(album: &Album) -> Licence {
    album.licence.parse().unwrap_or(Licence::AllRightsReserved)
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a public album page (`track: None`) or track page adds for sharing, from the
/// values [`crate::pages`] renders: `base` to make its Open Graph addresses absolute,
/// the page's own absolute `url`, the oEmbed discovery link, the player to embed and
/// its `<iframe>` to copy, the artist's feed, and for an album its podcast feed and
/// playlist.
pub fn page_links(
    settings: &Settings,
    artist: &Artist,
    release: &Value,
    track: Option<&Value>,
) -> Value {
    let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let album_id = str_of(&release["id"]);
    let (path, embed, title, size) = match track {
        Some(t) => (
            str_of(&t["url"]),
            format!("/music/embed/tracks/{}", str_of(&t["id"])),
            str_of(&t["title"]),
            embed_size(None),
        ),
        None => (
            str_of(&release["url"]),
            format!("/music/embed/albums/{album_id}"),
            str_of(&release["title"]),
            embed_size(Some(release["tracks"].as_array().map_or(0, Vec::len))),
        ),
    };
    let url = settings.link(&path);
    let embed = settings.link(&embed);
    json!({
        "base": settings.link(""),
        "url": url,
        "oembed": settings.link(&format!("/music/oembed?format=json&url={}", encode(&url))),
        "embed": embed,
        "iframe": iframe(&embed, &format!("{title} · {}", artist.name), size),
        "artist_feed": format!("/music/feeds/artists/{}", artist.slug),
        "podcast": track.is_none().then(|| format!("/music/feeds/albums/{album_id}")),
        "playlist": track.is_none().then(|| format!("/music/playlists/albums/{album_id}")),
    })
}

// ---- what may be shared ----

/// A release listeners see now, with its artist; `None` for anything else.
async fn public_release(m: &Music, id: &str) -> Result<Option<(Artist, Album)>, MusicError> {
    let pool = m.platform.db.pool();
    let Some(album) = db::album(pool, id).await? else {
        return Ok(None);
    };
    if !service::album_is_public(&album, tutti_store::now_ms()) {
        return Ok(None);
    }
    Ok(db::artist(pool, &album.artist_id)
        .await?
        .map(|artist| (artist, album)))
}

/// A track listeners may hear now: on a public release, and not taken down itself.
async fn public_track(m: &Music, id: &str) -> Result<Option<(Artist, Album, Track)>, MusicError> {
    let pool = m.platform.db.pool();
    let Some(track) = db::track(pool, id).await? else {
        return Ok(None);
    };
    if track.taken_down_reason.is_some() {
        return Ok(None);
    }
    Ok(public_release(m, &track.album_id)
        .await?
        .map(|(artist, album)| (artist, album, track)))
}

/// The tracks a feed or playlist lists: processed, not taken down, each with the MP3
/// copy, which every player and podcast app reads.
async fn playable(m: &Music, album: &Album) -> Result<Vec<(Track, Rendition)>, MusicError> {
    let pool = m.platform.db.pool();
    let mut out = Vec::new();
    for t in db::tracks_of(pool, &album.id).await? {
        if t.status != "ready" || t.taken_down_reason.is_some() {
            continue;
        }
        let mp3 = db::renditions(pool, &t.id)
            .await?
            .into_iter()
            .find(|r| r.format == "mp3");
        if let Some(mp3) = mp3 {
            out.push((t, mp3));
        }
    }
    Ok(out)
}

/// Who is found at a slug, following a rename; `None` when nobody is.
async fn artist_by_slug(m: &Music, slug: &str) -> Result<Option<Artist>, MusicError> {
    match service::artist_at(&m.platform, slug).await {
        Ok(Found::Here(a)) => Ok(Some(a)),
        Ok(Found::Moved(to)) => db::artist_by_slug(m.platform.db.pool(), &to).await,
        Err(MusicError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn album_by_slug(
    m: &Music,
    artist: &Artist,
    slug: &str,
) -> Result<Option<Album>, MusicError> {
    match service::album_at(&m.platform, artist, slug).await {
        Ok(Found::Here(a)) => Ok(Some(a)),
        Ok(Found::Moved(to)) => db::album_by_slug(m.platform.db.pool(), &artist.id, &to).await,
        Err(MusicError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A public release, or one of its tracks, that a link points at.
struct Shared {
    artist: Artist,
    album: Album,
    track: Option<Track>,
}

/// What a link to this site shows, when that is a public release or track: its album
/// and track pages (under old slugs too) and the embedded players. Links to other
/// sites, and to anything else here, are `None`.
async fn shared_at(m: &Music, link: &str) -> Result<Option<Shared>, MusicError> {
    let Ok(url) = url::Url::parse(link) else {
        return Ok(None);
    };
    let ours = &m.platform.settings.public_url;
    // The scheme may differ (a link copied as http from an https site is the same page).
    if url.host_str() != ours.host_str() || url.port() != ours.port() {
        return Ok(None);
    }
    let prefix = format!("{}/music/", ours.path().trim_end_matches('/'));
    let Some(rest) = url.path().strip_prefix(&prefix) else {
        return Ok(None);
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (artist, album, track) = match segments.as_slice() {
        ["embed", "albums", id] => match public_release(m, id).await? {
            Some((artist, album)) => (artist, album, None),
            None => return Ok(None),
        },
        ["embed", "tracks", id] => match public_track(m, id).await? {
            Some((artist, album, track)) => (artist, album, Some(track)),
            None => return Ok(None),
        },
        [artist_slug, album_slug, rest @ ..] if rest.len() <= 1 => {
            let Some(artist) = artist_by_slug(m, artist_slug).await? else {
                return Ok(None);
            };
            let Some(album) = album_by_slug(m, &artist, album_slug).await? else {
                return Ok(None);
            };
            if !service::album_is_public(&album, tutti_store::now_ms()) {
                return Ok(None);
            }
            let track = match rest.first() {
                None => None,
                Some(number) => {
                    let Ok(position) = number.parse::<i64>() else {
                        return Ok(None);
                    };
                    let found = db::tracks_of(m.platform.db.pool(), &album.id)
                        .await?
                        .into_iter()
                        .find(|t| t.position == position && t.taken_down_reason.is_none());
                    match found {
                        Some(t) => Some(t),
                        None => return Ok(None),
                    }
                }
            };
            (artist, album, track)
        }
        _ => return Ok(None),
    };
    Ok(Some(Shared {
        artist,
        album,
        track,
    }))
}

// ---- the embedded player ----

/// A page other sites may show in a frame.
fn framable(page: Result<Response, Problem>) -> Result<Response, Problem> {
    let mut page = page?;
    page.extensions_mut().insert(AllowFraming("*"));
    Ok(page)
}

async fn embed_album(
    State(m): State<Music>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let missing = || Problem::not_found(format!("there is no public release `{id}`"));
    let (artist, album) = public_release(&m, &id).await?.ok_or_else(missing)?;
    let release = visible_release(&m, None, &crate::unlock::Passes::default(), &artist, &album)
        .await?
        .ok_or_else(missing)?;
    let share = page_links(&m.platform.settings, &artist, &release, None);
    framable(page.render(
        "music/embed.html",
        json!({
            "release": release, "tracks": release["tracks"], "heading": release["title"],
            "share": share, "single": false,
        }),
    ))
}

async fn embed_track(
    State(m): State<Music>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let missing = || Problem::not_found(format!("there is no public track `{id}`"));
    let (artist, album, _) = public_track(&m, &id).await?.ok_or_else(missing)?;
    let release = visible_release(&m, None, &crate::unlock::Passes::default(), &artist, &album)
        .await?
        .ok_or_else(missing)?;
    let track = release["tracks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["id"] == id.as_str()))
        .cloned()
        .ok_or_else(missing)?;
    let share = page_links(&m.platform.settings, &artist, &release, Some(&track));
    framable(page.render(
        "music/embed.html",
        json!({
            "release": release, "heading": track["title"], "tracks": [track],
            "share": share, "single": true,
        }),
    ))
}

// ---- oEmbed ----

#[derive(Debug, Deserialize)]
struct OembedQuery {
    url: String,
    format: Option<String>,
    maxwidth: Option<u32>,
    maxheight: Option<u32>,
}

/// oEmbed (<https://oembed.com>) for album and track pages: a `rich` answer whose `html`
/// is the embedded player, sized within `maxwidth` × `maxheight`. JSON only.
async fn oembed(
    State(m): State<Music>,
    page: Page,
    Query(q): Query<OembedQuery>,
) -> Result<Response, Problem> {
    let format = q.format.as_deref().unwrap_or("json");
    if format != "json" {
        return Err(Problem::new(
            StatusCode::NOT_IMPLEMENTED,
            "oembed-format",
            format!("oEmbed answers here in JSON only, not `{format}`: ask with format=json"),
        ));
    }
    let shared = shared_at(&m, &q.url).await?.ok_or_else(|| {
        Problem::not_found(format!(
            "`{}` is not the address of a public release or track of this site",
            q.url
        ))
    })?;
    let Shared {
        artist,
        album,
        track,
    } = shared;
    let settings = &m.platform.settings;
    let (embed, title, size) = match &track {
        Some(t) => (
            format!("/music/embed/tracks/{}", t.id),
            t.title.clone(),
            embed_size(None),
        ),
        None => {
            let tracks = db::tracks_of(m.platform.db.pool(), &album.id)
                .await?
                .iter()
                .filter(|t| t.taken_down_reason.is_none())
                .count();
            (
                format!("/music/embed/albums/{}", album.id),
                album.title.clone(),
                embed_size(Some(tracks)),
            )
        }
    };
    let width = q.maxwidth.map_or(size.0, |w| w.min(size.0));
    let height = q.maxheight.map_or(size.1, |h| h.min(size.1));
    let mut src = settings.link(&embed);
    // A link into the player (`#track=2&time=30s`) starts the embedded one there too.
    if let Some(fragment) = url::Url::parse(&q.url).ok().and_then(|u| deep_link(&u)) {
        src = format!("{src}#{fragment}");
    }
    let mut answer = json!({
        "version": "1.0",
        "type": "rich",
        "provider_name": page.t("app-name"),
        "provider_url": settings.link("/"),
        "title": title,
        "author_name": artist.name,
        "author_url": settings.link(&artist_path(&artist)),
        "html": iframe(&src, &format!("{title} · {}", artist.name), (width, height)),
        "width": width,
        "height": height,
        "cache_age": 3600,
    });
    let fits = q
        .maxwidth
        .unwrap_or(u32::MAX)
        .min(q.maxheight.unwrap_or(u32::MAX));
    if let Some(side) = COVER_SIZES
        .iter()
        .copied()
        .filter(|s| *s <= fits.min(600))
        .max()
        && let Some(cover) = cover_url(settings, &album, side)
    {
        answer["thumbnail_url"] = json!(cover);
        answer["thumbnail_width"] = json!(side);
        answer["thumbnail_height"] = json!(side);
    }
    Ok(shared_response(
        answer.to_string(),
        "application/json; charset=utf-8",
    ))
}

/// A link's fragment when it is a deep link into the player, and nothing else: only
/// `track`, `time` and `t` pairs of digits and unit letters are passed on to a frame.
fn deep_link(url: &url::Url) -> Option<String> {
    let fragment = url.fragment()?;
    let safe = !fragment.is_empty()
        && fragment.split('&').all(|pair| match pair.split_once('=') {
            Some(("track" | "time" | "t", value)) => {
                !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"hms.".contains(&b))
            }
            _ => false,
        });
    safe.then(|| fragment.to_string())
}

// ---- feeds and the playlist ----

/// A feed, playlist or oEmbed answer: public, briefly cached, and readable by scripts
/// on other sites (web feed readers, oEmbed consumers running in a browser).
fn shared_response(body: impl Into<Body>, media_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, media_type),
            (header::CACHE_CONTROL, SHARED_MAX_AGE),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body.into(),
    )
        .into_response()
}

/// An artist's public releases as an Atom feed, newest first. A renamed artist's old
/// address answers 301 to the new one, which feed readers follow and remember.
async fn artist_feed(
    State(m): State<Music>,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let artist = match service::artist_at(&m.platform, &slug).await? {
        Found::Here(a) => a,
        Found::Moved(to) => return Ok(moved(&format!("/music/feeds/artists/{to}"))),
    };
    let pool = m.platform.db.pool();
    let now = tutti_store::now_ms();
    let mut releases = Vec::new();
    for album in db::albums_of(pool, &artist.id).await? {
        if releases.len() == FEED_ENTRIES {
            break;
        }
        if service::album_is_public(&album, now) {
            let tracks: Vec<Track> = db::tracks_of(pool, &album.id)
                .await?
                .into_iter()
                .filter(|t| t.taken_down_reason.is_none())
                .collect();
            releases.push((album, tracks));
        }
    }
    // As the artist's page: someone with nothing public is not shown to exist.
    if releases.is_empty() {
        return Err(Problem::not_found(format!("there is no artist `{slug}`")));
    }
    let body = atom(&m.platform.settings, &artist, &releases).map_err(MusicError::internal)?;
    Ok(shared_response(body, "application/atom+xml; charset=utf-8"))
}

/// A release as a podcast: one episode per ready track, in album order.
async fn album_podcast(
    State(m): State<Music>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (artist, album) = public_release(&m, &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no public release `{id}`")))?;
    let items = playable(&m, &album).await?;
    let body =
        podcast(&m.platform.settings, &artist, &album, &items).map_err(MusicError::internal)?;
    Ok(shared_response(body, "application/rss+xml; charset=utf-8"))
}

/// A release as an M3U playlist of its MP3 streams, for desktop and network players.
async fn album_playlist(
    State(m): State<Music>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (artist, album) = public_release(&m, &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no public release `{id}`")))?;
    let items = playable(&m, &album).await?;
    let mut response = shared_response(
        m3u(&m.platform.settings, &artist, &album, &items),
        "audio/x-mpegurl; charset=utf-8",
    );
    // Slugs are ASCII letters, digits and hyphens: safe in a quoted file name.
    if let Ok(name) = format!("inline; filename=\"{}.m3u\"", album.slug).parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, name);
    }
    Ok(response)
}

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";
const ITUNES_NS: &str = "http://www.itunes.com/dtds/podcast-1.0.dtd";

/// A permanent id for a feed, entry or episode, the same whatever the server's address:
/// our ids are UUIDs kept without hyphens. Anything else falls back to `page`.
fn urn(id: &str, page: &str) -> String {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!(
            "urn:uuid:{}-{}-{}-{}-{}",
            &id[..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..]
        )
    } else {
        page.to_string()
    }
}

fn datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn rfc3339(ms: i64) -> String {
    datetime(ms).format(&Rfc3339).unwrap_or_default()
}

fn rfc2822(ms: i64) -> String {
    datetime(ms).format(&Rfc2822).unwrap_or_default()
}

/// Seconds, rounded, as players and podcast apps count a track's length.
fn seconds(ms: i64) -> i64 {
    (ms + 500) / 1000
}

/// When a release last changed for its readers: its release time (a scheduled release
/// is new when it comes out), or a later edit.
fn entry_updated(album: &Album) -> i64 {
    album.release_at.max(album.updated_at)
}

/// An Atom feed (RFC 4287) of releases: each entry links to the release's page and
/// carries its cover (Media RSS thumbnail, and in the content), licence (RFC 4946 link
/// and `rights`) and track list.
fn atom(
    settings: &Settings,
    artist: &Artist,
    releases: &[(Album, Vec<Track>)],
) -> io::Result<Vec<u8>> {
    let page = settings.link(&artist_path(artist));
    let updated = releases
        .iter()
        .map(|(a, _)| entry_updated(a))
        .max()
        .unwrap_or(artist.updated_at);
    let mut x = Xml::new()?;
    x.open("feed", &[("xmlns", ATOM_NS), ("xmlns:media", MEDIA_NS)])?;
    x.text("id", &[], &urn(&artist.id, &page))?;
    x.text("title", &[], &artist.name)?;
    if !artist.bio.is_empty() {
        x.text("subtitle", &[], &artist.bio)?;
    }
    x.empty(
        "link",
        &[("rel", "alternate"), ("type", "text/html"), ("href", &page)],
    )?;
    let own = settings.link(&format!("/music/feeds/artists/{}", artist.slug));
    x.empty(
        "link",
        &[
            ("rel", "self"),
            ("type", "application/atom+xml"),
            ("href", &own),
        ],
    )?;
    x.text("updated", &[], &rfc3339(updated))?;
    x.open("author", &[])?;
    x.text("name", &[], &artist.name)?;
    x.text("uri", &[], &page)?;
    x.close("author")?;
    x.text("generator", &[], "Tutti")?;
    for (album, tracks) in releases {
        let page = settings.link(&album_path(artist, album));
        let licence = licence_of(album);
        let cover = cover_url(settings, album, 600);
        x.open("entry", &[])?;
        x.text("id", &[], &urn(&album.id, &page))?;
        x.text("title", &[], &album.title)?;
        x.empty(
            "link",
            &[("rel", "alternate"), ("type", "text/html"), ("href", &page)],
        )?;
        if let Some(deed) = licence.url() {
            x.empty(
                "link",
                &[("rel", "license"), ("type", "text/html"), ("href", deed)],
            )?;
        }
        x.text("published", &[], &rfc3339(album.release_at))?;
        x.text("updated", &[], &rfc3339(entry_updated(album)))?;
        x.text("rights", &[], licence.label())?;
        x.empty("category", &[("term", &album.kind)])?;
        if !album.description.is_empty() {
            x.text("summary", &[], &album.description)?;
        }
        let content = entry_html(album, tracks, licence, cover.as_deref());
        x.text("content", &[("type", "html")], &content)?;
        if let Some(cover) = &cover {
            x.empty(
                "media:thumbnail",
                &[("url", cover), ("width", "600"), ("height", "600")],
            )?;
        }
        x.close("entry")?;
    }
    x.close("feed")?;
    Ok(x.finish())
}

/// The HTML of a feed entry: the cover, the description, the tracks and the licence.
fn entry_html(album: &Album, tracks: &[Track], licence: Licence, cover: Option<&str>) -> String {
    let mut html = String::new();
    if let Some(cover) = cover {
        html.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\" width=\"300\" height=\"300\"></p>",
            html_escape(cover),
            html_escape(&album.title)
        ));
    }
    for paragraph in album
        .description
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
    {
        html.push_str(&format!("<p>{}</p>", html_escape(paragraph.trim())));
    }
    if !tracks.is_empty() {
        html.push_str("<ol>");
        for t in tracks {
            let length = t
                .duration_ms
                .map(seconds)
                .map_or(String::new(), |s| format!(" ({}:{:02})", s / 60, s % 60));
            html.push_str(&format!("<li>{}{length}</li>", html_escape(&t.title)));
        }
        html.push_str("</ol>");
    }
    match licence.url() {
        Some(deed) => html.push_str(&format!(
            "<p><a rel=\"license\" href=\"{deed}\">{}</a></p>",
            licence.label()
        )),
        None => html.push_str(&format!("<p>{}</p>", licence.label())),
    }
    html
}

/// A podcast feed (RSS 2.0 with Apple's iTunes tags) of a release's tracks. Each
/// enclosure's `length` is the stored size of the MP3 copy its address serves.
fn podcast(
    settings: &Settings,
    artist: &Artist,
    album: &Album,
    items: &[(Track, Rendition)],
) -> io::Result<Vec<u8>> {
    let page = settings.link(&album_path(artist, album));
    let licence = licence_of(album);
    let mut x = Xml::new()?;
    x.open(
        "rss",
        &[
            ("version", "2.0"),
            ("xmlns:itunes", ITUNES_NS),
            ("xmlns:atom", ATOM_NS),
        ],
    )?;
    x.open("channel", &[])?;
    x.text("title", &[], &album.title)?;
    x.text("link", &[], &page)?;
    let own = settings.link(&format!("/music/feeds/albums/{}", album.id));
    x.empty(
        "atom:link",
        &[
            ("href", &own),
            ("rel", "self"),
            ("type", "application/rss+xml"),
        ],
    )?;
    let description = if album.description.trim().is_empty() {
        format!("{} · {}", album.title, artist.name)
    } else {
        album.description.clone()
    };
    x.text("description", &[], &description)?;
    x.text("copyright", &[], licence.label())?;
    x.text("pubDate", &[], &rfc2822(album.release_at))?;
    x.text("generator", &[], "Tutti")?;
    x.text("itunes:author", &[], &artist.name)?;
    // An album is heard in order: apps that know `serial` list episode 1 first.
    x.text("itunes:type", &[], "serial")?;
    x.text("itunes:explicit", &[], "false")?;
    x.empty("itunes:category", &[("text", "Music")])?;
    if let Some(cover) = cover_url(settings, album, 1200) {
        x.empty("itunes:image", &[("href", &cover)])?;
        x.open("image", &[])?;
        x.text("url", &[], &cover)?;
        x.text("title", &[], &album.title)?;
        x.text("link", &[], &page)?;
        x.close("image")?;
    }
    for (track, mp3) in items {
        let track_page = settings.link(&track_path(artist, album, track));
        x.open("item", &[])?;
        x.text("title", &[], &track.title)?;
        x.text("link", &[], &track_page)?;
        x.text(
            "guid",
            &[("isPermaLink", "false")],
            &urn(&track.id, &track_page),
        )?;
        // All came out together; a second apart keeps album order in apps that sort
        // by date rather than by episode number.
        let at = album.release_at + (track.position - 1).max(0) * 1000;
        x.text("pubDate", &[], &rfc2822(at))?;
        if !track.credits.trim().is_empty() {
            x.text("description", &[], &track.credits)?;
        }
        x.empty(
            "enclosure",
            &[
                ("url", &settings.link(&stream_path(track, "mp3"))),
                ("length", &mp3.size_bytes.to_string()),
                ("type", &mp3.media_type),
            ],
        )?;
        if let Some(ms) = track.duration_ms {
            x.text("itunes:duration", &[], &seconds(ms).to_string())?;
        }
        x.text("itunes:episode", &[], &track.position.to_string())?;
        x.text("itunes:episodeType", &[], "full")?;
        x.text("itunes:explicit", &[], "false")?;
        x.close("item")?;
    }
    x.close("channel")?;
    x.close("rss")?;
    Ok(x.finish())
}

/// An extended M3U playlist: each track's length in seconds (-1 when unknown),
/// `Artist - Title`, and its absolute MP3 address.
fn m3u(
    settings: &Settings,
    artist: &Artist,
    album: &Album,
    items: &[(Track, Rendition)],
) -> String {
    let mut out = format!("#EXTM3U\n#PLAYLIST:{}\n", one_line(&album.title));
    for (track, _) in items {
        let length = track.duration_ms.map_or(-1, seconds);
        out.push_str(&format!(
            "#EXTINF:{length},{} - {}\n{}\n",
            one_line(&artist.name),
            one_line(&track.title),
            settings.link(&stream_path(track, "mp3"))
        ));
    }
    out
}

/// Text for a line-based format: a line break or other control character in a title
/// would start a line the player reads as an address.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Text for HTML, in content or a quoted attribute.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text XML 1.0 can carry: escaping cannot make most control characters legal (a
/// title pasted from elsewhere may hold one), so they are dropped.
fn xml_chars(s: &str) -> Cow<'_, str> {
    let legal = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if s.chars().all(legal) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|c| legal(*c)).collect())
    }
}

/// An XML document being written, indented. quick-xml escapes every text and
/// attribute value; [`xml_chars`] has taken out what no escape can carry.
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn new() -> io::Result<Xml> {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        Ok(Xml(writer))
    }

    fn tag<'a>(name: &'a str, attributes: &[(&str, &str)]) -> BytesStart<'a> {
        let mut tag = BytesStart::new(name);
        for (key, value) in attributes {
            tag.push_attribute((*key, xml_chars(value).as_ref()));
        }
        tag
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.0.write_event(Event::Start(Xml::tag(name, attributes)))
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.0.write_event(Event::End(BytesEnd::new(name)))
    }

    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
        self.0.write_event(Event::Empty(Xml::tag(name, attributes)))
    }

    /// An element holding only `text`.
    fn text(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.open(name, attributes)?;
        self.0
            .write_event(Event::Text(BytesText::new(&xml_chars(text))))?;
        self.close(name)
    }

    fn finish(self) -> Vec<u8> {
        let mut bytes = self.0.into_inner();
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            public_url: "https://music.example/".parse().unwrap(),
            trust_proxy_headers: false,
        }
    }

    fn artist() -> Artist {
        Artist {
            id: "0193c3b1a2b37c4d8e9fa0b1c2d3e4f5".into(),
            owner_id: "u".into(),
            slug: "ada".into(),
            name: "Ada & <the> \"Waves\"".into(),
            bio: String::new(),
            links: "[]".into(),
            picture_key: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn album() -> Album {
        Album {
            id: "0193c3b1a2b37c4d8e9fa0b1c2d3e4f6".into(),
            artist_id: artist().id,
            slug: "tones".into(),
            title: "Tones\u{1}]]> & <b>bold</b>".into(),
            kind: "album".into(),
            description: "First.\n\nSecond & last.".into(),
            licence: "cc-by-4.0".into(),
            release_at: 1_790_000_000_000,
            visibility: "published".into(),
            cover_key: Some("music/covers/x".into()),
            downloads: "none".into(),
            taken_down_reason: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn track(position: i64, title: &str) -> (Track, Rendition) {
        let t = Track {
            id: format!("0193c3b1a2b37c4d8e9fa0b1c2d3e4{position:02}"),
            album_id: album().id,
            position,
            title: title.into(),
            credits: String::new(),
            lyrics: None,
            featured: 0,
            status: "ready".into(),
            progress: 100,
            error: None,
            original_key: None,
            original_name: None,
            original_type: None,
            original_bytes: None,
            audio_version: 2,
            duration_ms: Some(81_400),
            sample_rate: None,
            channels: None,
            bit_depth: None,
            track_gain_db: None,
            track_peak: None,
            waveform: None,
            taken_down_reason: None,
            created_at: 0,
            updated_at: 0,
        };
        let r = Rendition {
            track_id: t.id.clone(),
            format: "mp3".into(),
            blob_key: "k".into(),
            media_type: "audio/mpeg".into(),
            size_bytes: 12_345,
            bitrate_kbps: 128,
        };
        (t, r)
    }

    /// An element's name, attributes and text.
    type Element = (String, Vec<(String, String)>, String);

    /// Every element, read back with quick-xml's reader.
    fn parse(xml: &[u8]) -> Vec<Element> {
        use quick_xml::XmlVersion;
        let mut reader = quick_xml::Reader::from_str(std::str::from_utf8(xml).unwrap());
        let mut out: Vec<Element> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        loop {
            let event = reader.read_event().expect("well-formed XML");
            match &event {
                Event::Start(e) | Event::Empty(e) => {
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            let value = a.normalized_value(XmlVersion::Implicit1_0).unwrap();
                            (a.key.as_ref().to_string(), value.into_owned())
                        })
                        .collect();
                    out.push((e.name().as_ref().to_string(), attrs, String::new()));
                    if matches!(event, Event::Start(_)) {
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
        out
    }

    #[test]
    fn a_podcast_feed_survives_hostile_titles_and_names_each_mp3_with_its_size() {
        let items = vec![track(1, "One <&> \u{7}"), track(2, "Two")];
        let xml = podcast(&settings(), &artist(), &album(), &items).unwrap();
        let elements = parse(&xml);
        let text = |name: &str| {
            elements
                .iter()
                .filter(|e| e.0 == name)
                .map(|e| e.2.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(text("title")[0], "Tones]]> & <b>bold</b>");
        assert_eq!(text("title")[2], "One <&> ");
        assert_eq!(text("itunes:author"), ["Ada & <the> \"Waves\""]);
        assert_eq!(text("itunes:duration"), ["81", "81"]);
        assert_eq!(text("itunes:episode"), ["1", "2"]);
        let enclosures: Vec<_> = elements.iter().filter(|e| e.0 == "enclosure").collect();
        assert_eq!(enclosures.len(), 2);
        let attr = |e: &Element, k: &str| e.1.iter().find(|a| a.0 == k).unwrap().1.clone();
        assert_eq!(
            attr(enclosures[0], "url"),
            "https://music.example/api/v1/music/tracks/0193c3b1a2b37c4d8e9fa0b1c2d3e401/stream?format=mp3&v=2"
        );
        assert_eq!(attr(enclosures[0], "length"), "12345");
        assert_eq!(attr(enclosures[0], "type"), "audio/mpeg");
        assert_eq!(
            text("guid")[0],
            "urn:uuid:0193c3b1-a2b3-7c4d-8e9f-a0b1c2d3e401"
        );
    }

    #[test]
    fn an_atom_entry_links_the_release_with_its_cover_and_licence() {
        let tracks = vec![track(1, "One").0];
        let xml = atom(&settings(), &artist(), &[(album(), tracks)]).unwrap();
        let elements = parse(&xml);
        let links: Vec<_> = elements
            .iter()
            .filter(|e| e.0 == "link")
            .map(|e| e.1.clone())
            .collect();
        assert!(
            links
                .iter()
                .any(|l| l.contains(&("rel".into(), "alternate".into()))
                    && l.contains(&(
                        "href".into(),
                        "https://music.example/music/ada/tones".into()
                    )))
        );
        assert!(links.iter().any(|l| l.contains(&(
            "href".into(),
            "https://creativecommons.org/licenses/by/4.0/".into()
        ))));
        let content = &elements.iter().find(|e| e.0 == "content").unwrap().2;
        assert!(content.contains("<img src=\"https://music.example/api/v1/music/albums/"));
        assert!(content.contains("<p>Second &amp; last.</p>"), "{content}");
        assert!(content.contains("<li>One (1:21)</li>"), "{content}");
        let published = &elements.iter().find(|e| e.0 == "published").unwrap().2;
        assert!(published.starts_with("2026-09-21T"), "{published}");
    }

    #[test]
    fn a_playlist_has_one_line_per_field_whatever_the_titles_hold() {
        let items = vec![track(1, "One\nhttps://evil.example/x.mp3"), track(2, "Two")];
        let list = m3u(&settings(), &artist(), &album(), &items);
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines[0], "#EXTM3U");
        assert_eq!(
            lines[2],
            "#EXTINF:81,Ada & <the> \"Waves\" - One https://evil.example/x.mp3"
        );
        assert!(lines[3].starts_with("https://music.example/api/v1/music/tracks/"));
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn only_player_positions_pass_from_a_link_into_a_frame() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            deep_link(&url("https://m.example/music/a/b#track=2&time=1m20s")).as_deref(),
            Some("track=2&time=1m20s")
        );
        assert_eq!(deep_link(&url("https://m.example/music/a/b")), None);
        assert_eq!(
            deep_link(&url("https://m.example/music/a/b#track=2&x=<script>")),
            None
        );
        assert_eq!(deep_link(&url("https://m.example/music/a/b#time=")), None);
    }

    #[test]
    fn the_iframe_to_paste_escapes_its_title() {
        let html = iframe(
            "https://m.example/music/embed/albums/1",
            "A \"B\" <C>",
            (480, 300),
        );
        assert_eq!(
            html,
            "<iframe src=\"https://m.example/music/embed/albums/1\" width=\"480\" \
             height=\"300\" title=\"A &quot;B&quot; &lt;C&gt;\" style=\"border:0\" \
             loading=\"lazy\" allow=\"autoplay\"></iframe>"
        );
        assert_eq!(embed_size(Some(40)), embed_size(Some(ALBUM_EMBED_ROWS)));
    }
}
