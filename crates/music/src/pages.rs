//! The music studio's server-rendered pages: for listeners the recent releases, search,
//! an artist's page, a release with its player and a track's page (readable without
//! JavaScript; the player script adds playback); for artists their studio: profiles,
//! releases, and a release's editor where files are dropped, uploaded, processed and
//! put in order.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tutti_platform::{Access, Identity, MaybeIdentity, Page, Routes};
use tutti_web::{Form, Problem, Query};

use crate::db::{self, Album, Artist};
use crate::domain::{Licence, Lyrics};
use crate::routes::{album_view, artist_view};
use crate::service::{self, AlbumInput, ArtistInput, Found, Link, Who, must_be_artist};
use crate::unlock::{self, Passes};
use crate::{ARTIST, Music};

/// `(name, source)` pairs of files embedded from one folder, named by their file name.
macro_rules! embedded {
    ($prefix:literal, $dir:literal: $($file:literal),* $(,)?) => {
        &[$((concat!($prefix, $file), include_str!(concat!($dir, $file)))),*]
    };
}

pub const TEMPLATES: &[(&str, &str)] = embedded!("music/", "../templates/":
    "home.html", "artist.html", "album.html", "track.html", "search.html",
    "studio.html", "studio_artist.html", "studio_album.html", "studio_stats.html",
    "apps.html", "admin.html",
    "embed.html", "share.html",
    "downloads.html", "redeem.html", "studio_unlock.html", "studio_unlocked.html",
    "studio_track.html",
);

pub const ASSETS: &[(&str, &str)] = embedded!("", "../assets/":
    "music.css", "music-api.js", "music-player.js", "music-studio.js", "music-editor.js",
);

/// The studio's page routes, added to the API routes in [`crate::routes::routes`].
pub fn routes(r: Routes<Music>) -> Routes<Music> {
    let get = Method::GET;
    let post = Method::POST;
    r.page(Access::Public, get.clone(), "/music", home)
        .page(Access::Public, get.clone(), "/music/search", search)
        .page(Access::Role(ARTIST), get.clone(), "/music/studio", studio)
        .page(
            Access::Role(ARTIST),
            post.clone(),
            "/music/studio",
            studio_create,
        )
        .page(
            Access::Role(ARTIST),
            get.clone(),
            "/music/studio/artists/{id}",
            studio_artist,
        )
        .page(
            Access::Role(ARTIST),
            post.clone(),
            "/music/studio/artists/{id}",
            studio_artist_save,
        )
        .page(
            Access::Role(ARTIST),
            get.clone(),
            "/music/studio/artists/{id}/stats",
            studio_stats,
        )
        .page(
            Access::Role(ARTIST),
            get.clone(),
            "/music/studio/albums/{id}",
            studio_album,
        )
        .page(
            Access::Role(ARTIST),
            post.clone(),
            "/music/studio/albums/{id}",
            studio_album_save,
        )
        .page(Access::Public, get.clone(), "/music/{artist}", artist_page)
        .page(
            Access::Public,
            get.clone(),
            "/music/{artist}/{album}",
            album_page,
        )
        .page(
            Access::Public,
            get.clone(),
            "/music/{artist}/{album}/{number}",
            track_page,
        )
}

/// An old address answering where the page is now: 301, as links and feed readers
/// expect of a permanent move.
pub(crate) fn moved(to: &str) -> Response {
    (
        axum::http::StatusCode::MOVED_PERMANENTLY,
        [(axum::http::header::LOCATION, to.to_string())],
    )
        .into_response()
}

pub(crate) fn date_of(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

fn duration_of(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return String::new() };
    let s = (ms + 500) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A release as the public pages list it.
fn release_card(artist: &Artist, a: &Album) -> Value {
    let licence: Licence = a.licence.parse().unwrap_or(Licence::AllRightsReserved);
    json!({
        "title": a.title, "kind": a.kind, "url": format!("/music/{}/{}", artist.slug, a.slug),
        "artist": artist.name, "artist_url": format!("/music/{}", artist.slug),
        "date": date_of(a.release_at),
        "cover": a.cover_key.as_ref().map(|key| crate::editor::cover_url(&a.id, key, 300)),
        "licence": licence.label(),
    })
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

async fn home(
    State(m): State<Music>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Query(q): Query<PageQuery>,
) -> Result<Response, Problem> {
    let pool = m.platform.db.pool();
    let n = q.page.unwrap_or(1).clamp(1, 10_000);
    let per = 24;
    let albums = db::recent_albums(pool, tutti_store::now_ms(), per + 1, (n - 1) * per).await?;
    let more = albums.len() as i64 > per;
    let mut cards = Vec::new();
    for a in albums.iter().take(per as usize) {
        if let Some(artist) = db::artist(pool, &a.artist_id).await? {
            cards.push(release_card(&artist, a));
        }
    }
    let artist = identity.as_ref().is_some_and(|i| i.has(&ARTIST));
    page.render(
        "music/home.html",
        json!({
            "releases": cards, "artist": artist, "page": n,
            "next": more.then_some(n + 1), "previous": (n > 1).then_some(n - 1),
        }),
    )
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(
    State(m): State<Music>,
    page: Page,
    Query(q): Query<SearchQuery>,
) -> Result<Response, Problem> {
    let query = q.q.unwrap_or_default();
    let found = service::search(&m.platform, &query, 50).await?;
    let artists: Vec<Value> = found
        .artists
        .iter()
        .map(|a| json!({"name": a.name, "url": format!("/music/{}", a.slug)}))
        .collect();
    let albums: Vec<Value> = found
        .albums
        .iter()
        .map(|(artist, a)| release_card(artist, a))
        .collect();
    let tracks: Vec<Value> = found
        .tracks
        .iter()
        .map(|(artist, album, t)| {
            json!({
                "title": t.title, "artist": artist.name, "album": album.title,
                "url": format!("/music/{}/{}/{}", artist.slug, album.slug, t.position),
            })
        })
        .collect();
    page.render(
        "music/search.html",
        json!({"q": query, "artists": artists, "albums": albums, "tracks": tracks}),
    )
}

/// The artist at the address, or a 301 to where it moved (`rest` is what follows the
/// artist's slug in the path).
async fn find_artist(
    m: &Music,
    slug: &str,
    rest: &str,
) -> Result<Result<Artist, Response>, Problem> {
    Ok(match service::artist_at(&m.platform, slug).await? {
        Found::Here(a) => Ok(a),
        Found::Moved(to) => Err(moved(&format!("/music/{to}{rest}"))),
    })
}

async fn artist_page(
    State(m): State<Music>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let artist = match find_artist(&m, &slug, "").await? {
        Ok(a) => a,
        Err(moved) => return Ok(moved),
    };
    let pool = m.platform.db.pool();
    let now = tutti_store::now_ms();
    let owner = identity
        .as_ref()
        .is_some_and(|i| i.is_admin() || i.user.id == artist.owner_id);
    let mut albums = Vec::new();
    let mut singles = Vec::new();
    let mut public_ids = Vec::new();
    for a in db::albums_of(pool, &artist.id).await? {
        if !service::album_is_public(&a, now) {
            continue;
        }
        public_ids.push(a.id.clone());
        let card = release_card(&artist, &a);
        if a.kind == "single" {
            singles.push(card);
        } else {
            albums.push(card);
        }
    }
    let mut featured = Vec::new();
    for t in db::featured_of(pool, &artist.id).await? {
        if !public_ids.contains(&t.album_id) || t.taken_down_reason.is_some() {
            continue;
        }
        if let Some(a) = db::album(pool, &t.album_id).await? {
            featured.push(json!({
                "title": t.title, "album": a.title,
                "url": format!("/music/{}/{}/{}", artist.slug, a.slug, t.position),
            }));
        }
    }
    if albums.is_empty() && singles.is_empty() && !owner {
        return Err(Problem::not_found(format!("there is no artist `{slug}`")));
    }
    page.render(
        "music/artist.html",
        json!({
            "artist": artist_view(&artist), "albums": albums, "singles": singles,
            "featured": featured, "owner": owner,
            "picture": artist.picture_key.as_ref()
                .map(|key| crate::editor::picture_url(&artist.id, key, 300)),
        }),
    )
}

/// A release as the album and track pages show it, or `None` when the viewer may not
/// see it (not public, not theirs, and no private link of it in `passes`).
pub(crate) async fn visible_release(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    artist: &Artist,
    album: &Album,
) -> Result<Option<Value>, Problem> {
    let public = service::album_is_public(album, tutti_store::now_ms());
    let owner = service::may_preview(&m.platform, identity.map(Who::from), album).await?;
    let private_link = !public && !owner && passes.listens(m, album).await?;
    if !public && !owner && !private_link {
        return Ok(None);
    }
    let view = album_view(m, artist, album).await?;
    let tracks: Vec<Value> = view
        .tracks
        .iter()
        .filter(|t| t.taken_down_reason.is_none() || (!public && owner))
        .map(|t| {
            json!({
                "id": t.id, "position": t.position, "title": t.title, "credits": t.credits,
                "duration": duration_of(t.duration_ms), "duration_ms": t.duration_ms,
                "status": t.status, "gain": t.track_gain_db, "peak": t.track_peak,
                "streams": t.streams,
                "waveform": format!("/api/v1/music/tracks/{}/waveform", t.id),
                "lyrics": t.lyrics.as_ref().map(Lyrics::text),
                "url": format!("/music/{}/{}/{}", artist.slug, album.slug, t.position),
            })
        })
        .collect();
    let licence: Licence = album.licence.parse().unwrap_or(Licence::AllRightsReserved);
    Ok(Some(json!({
        "id": view.id, "title": view.title, "kind": view.kind,
        "description": view.description, "date": date_of(view.release_at),
        "licence": {"label": licence.label(), "url": licence.url(), "id": licence.id()},
        "cover": view.cover_url, "public": public, "tracks": tracks,
        "url": view.url, "artist": {"name": artist.name, "url": format!("/music/{}", artist.slug)},
        "taken_down": album.taken_down_reason, "private_link": private_link,
        "downloads": unlock::pages::downloads_view(m, identity, passes, album).await?,
    })))
}

async fn album_page(
    State(m): State<Music>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path((artist_slug, album_slug)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let artist = match find_artist(&m, &artist_slug, &format!("/{album_slug}")).await? {
        Ok(a) => a,
        Err(moved) => return Ok(moved),
    };
    let album = match service::album_at(&m.platform, &artist, &album_slug).await? {
        Found::Here(a) => a,
        Found::Moved(to) => {
            return Ok(moved(&format!("/music/{}/{to}", artist.slug)));
        }
    };
    let Some(release) = visible_release(&m, identity.as_ref(), &passes, &artist, &album).await?
    else {
        return Err(Problem::not_found(format!(
            "{} has no release `{album_slug}`",
            artist.name
        )));
    };
    let share = crate::share::page_links(&m.platform.settings, &artist, &release, None);
    page.render(
        "music/album.html",
        json!({ "release": release, "share": share }),
    )
}

async fn track_page(
    State(m): State<Music>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path((artist_slug, album_slug, number)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let rest = format!("/{album_slug}/{number}");
    let artist = match find_artist(&m, &artist_slug, &rest).await? {
        Ok(a) => a,
        Err(moved) => return Ok(moved),
    };
    let album = match service::album_at(&m.platform, &artist, &album_slug).await? {
        Found::Here(a) => a,
        Found::Moved(to) => {
            return Ok(moved(&format!("/music/{}/{to}/{number}", artist.slug)));
        }
    };
    let missing = || Problem::not_found(format!("{} has no track {number} here", artist.name));
    let Some(release) = visible_release(&m, identity.as_ref(), &passes, &artist, &album).await?
    else {
        return Err(missing());
    };
    let position: i64 = number.parse().map_err(|_| missing())?;
    let track = release["tracks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["position"] == position))
        .cloned()
        .ok_or_else(missing)?;
    let full = db::tracks_of(m.platform.db.pool(), &album.id)
        .await?
        .into_iter()
        .find(|t| t.position == position);
    let lyrics: Option<Lyrics> = full
        .as_ref()
        .and_then(|t| t.lyrics.as_deref())
        .and_then(|l| serde_json::from_str(l).ok());
    let synced = match &lyrics {
        Some(Lyrics::Synced { lines }) => lines
            .iter()
            .map(|l| json!({"start_ms": l.start_ms, "text": l.text}))
            .collect(),
        _ => Vec::new(),
    };
    let share = crate::share::page_links(&m.platform.settings, &artist, &release, Some(&track));
    page.render(
        "music/track.html",
        json!({
            "release": release, "track": track, "share": share,
            "lyrics": lyrics.as_ref().map(Lyrics::text), "synced": synced,
        }),
    )
}

// ---- the artist's studio ----

async fn studio(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
) -> Result<Response, Problem> {
    let artists = db::artists_of(m.platform.db.pool(), &identity.user.id).await?;
    let views: Vec<_> = artists.iter().map(artist_view).collect();
    page.render("music/studio.html", json!({ "artists": views }))
}

#[derive(Debug, Deserialize)]
struct ArtistForm {
    name: String,
    slug: Option<String>,
    bio: Option<String>,
    /// One link per line: `label https://…` or just the address.
    links: Option<String>,
}

fn links_of(raw: Option<&str>) -> Vec<Link> {
    raw.unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.rsplit_once(' ') {
            Some((label, url)) => Link {
                label: label.trim().to_string(),
                url: url.trim().to_string(),
            },
            None => Link {
                label: l.to_string(),
                url: l.to_string(),
            },
        })
        .collect()
}

impl ArtistForm {
    fn input(&self) -> ArtistInput {
        ArtistInput {
            name: self.name.clone(),
            slug: self.slug.clone(),
            bio: self.bio.clone().unwrap_or_default(),
            links: links_of(self.links.as_deref()),
        }
    }
}

async fn studio_create(
    State(m): State<Music>,
    identity: Identity,
    Form(form): Form<ArtistForm>,
) -> Result<Response, Problem> {
    must_be_artist(&identity)?;
    let a = service::create_artist(&m.platform, &identity.user.id, &form.input()).await?;
    Ok(Redirect::to(&format!("/music/studio/artists/{}", a.id)).into_response())
}

async fn studio_artist(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    studio_artist_page(&m, &page, Who::from(&identity), &id, None).await
}

/// The artist editor, with `error` (a problem as [`Page::shown`] gives it) beside its
/// field and a 422 when a form of it was refused.
pub(crate) async fn studio_artist_page(
    m: &Music,
    page: &Page,
    who: Who<'_>,
    id: &str,
    error: Option<Value>,
) -> Result<Response, Problem> {
    let artist = service::owned_artist(&m.platform, who, id).await?;
    let releases: Vec<Value> = db::albums_of(m.platform.db.pool(), &artist.id)
        .await?
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "title": a.title, "kind": a.kind, "visibility": a.visibility,
                "date": date_of(a.release_at),
                "public": service::album_is_public(a, tutti_store::now_ms()),
                "taken_down": a.taken_down_reason,
            })
        })
        .collect();
    let links: Vec<Link> = serde_json::from_str(&artist.links).unwrap_or_default();
    let links_text = links
        .iter()
        .map(|l| format!("{} {}", l.label, l.url))
        .collect::<Vec<_>>()
        .join("\n");
    let picture = artist
        .picture_key
        .as_ref()
        .map(|key| crate::editor::picture_url(&artist.id, key, 300));
    refused_with(
        page.render(
            "music/studio_artist.html",
            json!({
                "artist": artist_view(&artist), "links_text": links_text, "releases": releases,
                "licences": licences(), "picture": picture, "error": error,
            }),
        ),
        error.is_some(),
    )
}

/// A page re-shown because a form of it was refused answers 422, so scripts and tests
/// tell it from a plain view.
fn refused_with(page: Result<Response, Problem>, refused: bool) -> Result<Response, Problem> {
    let mut response = page?;
    if refused {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

fn licences() -> Vec<Value> {
    Licence::ALL
        .iter()
        .map(|l| json!({"id": l.id(), "label": l.label()}))
        .collect()
}

#[derive(Debug, Deserialize)]
struct ReleaseForm {
    title: String,
    slug: Option<String>,
    kind: Option<String>,
    description: Option<String>,
    licence: Option<String>,
    release_at: Option<String>,
    visibility: Option<String>,
    downloads: Option<String>,
}

impl ReleaseForm {
    fn input(&self) -> AlbumInput {
        AlbumInput {
            title: self.title.clone(),
            slug: self.slug.clone(),
            kind: self.kind.clone(),
            description: self.description.clone().unwrap_or_default(),
            licence: self.licence.clone(),
            release_at: self.release_at.clone(),
            visibility: self.visibility.clone(),
            downloads: self.downloads.clone(),
        }
    }
}

fn from_form<T: serde::de::DeserializeOwned>(form: Value) -> Result<T, Problem> {
    serde_json::from_value(form).map_err(|e| Problem::invalid("form", e.to_string()))
}

/// One form for the artist's page: save the profile, add a release, or delete.
async fn studio_artist_save(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<Value>,
) -> Result<Response, Problem> {
    let who = Who::from(&identity);
    let action = form["action"].as_str().unwrap_or("save").to_string();
    match action.as_str() {
        "release" => {
            let f: ReleaseForm = from_form(form)?;
            let album = service::create_album(&m.platform, who, &id, &f.input()).await?;
            Ok(Redirect::to(&format!("/music/studio/albums/{}", album.id)).into_response())
        }
        "delete" => {
            service::delete_artist(&m.platform, who, &id).await?;
            Ok(Redirect::to("/music/studio").into_response())
        }
        _ => {
            let f: ArtistForm = from_form(form)?;
            service::update_artist(&m.platform, who, &id, &f.input()).await?;
            Ok(Redirect::to(&format!("/music/studio/artists/{id}?saved=1")).into_response())
        }
    }
}

async fn studio_album(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    studio_album_page(&m, &page, Who::from(&identity), &id, None).await
}

/// The release editor, with `error` (a problem as [`Page::shown`] gives it) beside its
/// field and a 422 when a form of it was refused.
pub(crate) async fn studio_album_page(
    m: &Music,
    page: &Page,
    who: Who<'_>,
    id: &str,
    error: Option<Value>,
) -> Result<Response, Problem> {
    let (artist, album) = service::owned_album(&m.platform, who, id).await?;
    let view = album_view(m, &artist, &album).await?;
    let release_at = time::OffsetDateTime::from_unix_timestamp(album.release_at.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    refused_with(
        page.render(
            "music/studio_album.html",
            json!({
                "artist": artist_view(&artist), "album": view, "release_at": release_at,
                "licences": licences(), "unlock": unlock::pages::studio_view(m, &album).await?,
                "error": error,
            }),
        ),
        error.is_some(),
    )
}

async fn studio_album_save(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<Value>,
) -> Result<Response, Problem> {
    let who = Who::from(&identity);
    if form["action"].as_str() == Some("delete") {
        let (artist, _) = service::owned_album(&m.platform, who, &id).await?;
        service::delete_album(&m.platform, who, &id).await?;
        return Ok(Redirect::to(&format!("/music/studio/artists/{}", artist.id)).into_response());
    }
    let f: ReleaseForm = from_form(form)?;
    service::update_album(&m.platform, who, &id, &f.input()).await?;
    Ok(Redirect::to(&format!("/music/studio/albums/{id}?saved=1")).into_response())
}

/// Days the play chart covers.
const CHART_DAYS: i64 = 30;

/// The artist's own play counts: per track in total, and per day over the last 30 days
/// as a bar chart. Counts only; nothing about who listened.
async fn studio_stats(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let artist = service::owned_artist(&m.platform, Who::from(&identity), &id).await?;
    let pool = m.platform.db.pool();
    let today = time::OffsetDateTime::now_utc().date();
    let first = today - time::Duration::days(CHART_DAYS - 1);
    let per_day = db::plays_of_artist(pool, &artist.id, &first.to_string()).await?;
    let totals = db::play_totals(pool, &artist.id).await?;
    let mut days: Vec<(String, i64)> = (0..CHART_DAYS)
        .map(|i| ((first + time::Duration::days(i)).to_string(), 0))
        .collect();
    for (day, _, plays) in &per_day {
        if let Some(d) = days.iter_mut().find(|(d, _)| d == day) {
            d.1 += plays;
        }
    }
    let most = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars: Vec<Value> = days
        .iter()
        .enumerate()
        .map(|(i, (day, n))| {
            let h = (*n as f64 / most as f64 * 100.0).round();
            json!({"x": i * 10, "y": 100.0 - h, "h": h, "day": day, "plays": n})
        })
        .collect();
    let mut tracks = Vec::new();
    for album in db::albums_of(pool, &artist.id).await? {
        for t in db::tracks_of(pool, &album.id).await? {
            let plays = totals
                .iter()
                .find(|(id, _)| *id == t.id)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            tracks.push(json!({"title": t.title, "album": album.title, "plays": plays}));
        }
    }
    page.render(
        "music/studio_stats.html",
        json!({
            "artist": artist_view(&artist), "bars": bars, "tracks": tracks,
            "total": days.iter().map(|(_, n)| n).sum::<i64>(), "most": most,
            "first": first.to_string(), "last": today.to_string(),
        }),
    )
}
