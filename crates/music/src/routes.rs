//! The music studio's JSON API under `/api/v1/music/`: an artist's profiles, releases and
//! tracks (audio arrives as a tus upload and is named here), track order, and for
//! everyone the streams and covers of public releases and the play counter. Handlers
//! parse, call [`crate::service`], and answer; errors are problem documents naming the
//! field at fault.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tutti_platform::serve::{self, Caching};
use tutti_platform::{Access, Identity, MaybeIdentity, Routes, StudioRoutes};
use tutti_web::{Json, Problem, Query};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::db::{self, Album, Artist, Track};
use crate::domain::{Licence, Lyrics};
use crate::error::MusicError;
use crate::jobs::cover_variant;
use crate::service::{self, AlbumInput, ArtistInput, Link, TrackInput, Who, must_be_artist};
use crate::unlock::Passes;
use crate::{ARTIST, Music};

/// Every page and API route of the studio.
pub fn routes(m: Music) -> StudioRoutes {
    crate::admin::routes(crate::share::routes(crate::subsonic::routes(
        crate::editor::routes(crate::pages::routes(Routes::new())),
    )))
    .merge(crate::unlock::routes::routes())
    .api(Access::Role(ARTIST), routes!(my_artists, create_artist))
    .api(Access::Role(ARTIST), routes!(update_artist, delete_artist))
    .api(Access::Role(ARTIST), routes!(create_album))
    .api(
        Access::Role(ARTIST),
        routes!(get_album, update_album, delete_album),
    )
    .api(Access::Role(ARTIST), routes!(add_track))
    .api(Access::Role(ARTIST), routes!(reorder))
    .api(Access::Role(ARTIST), routes!(update_track, delete_track))
    .api(Access::Role(ARTIST), routes!(replace_audio))
    .api(Access::Public, routes!(stream))
    .api(Access::Public, routes!(cover))
    .api(Access::Public, routes!(waveform))
    .api(Access::Public, routes!(count_play))
    .with_state(m)
}

/// An artist profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArtistView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub links: Vec<Link>,
    /// The public page.
    pub url: String,
}

pub fn artist_view(a: &Artist) -> ArtistView {
    ArtistView {
        id: a.id.clone(),
        slug: a.slug.clone(),
        name: a.name.clone(),
        bio: a.bio.clone(),
        links: serde_json::from_str(&a.links).unwrap_or_default(),
        url: format!("/music/{}", a.slug),
    }
}

/// A stream of a track.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamView {
    /// `opus` or `mp3`.
    pub format: String,
    pub media_type: String,
    pub url: String,
    pub size_bytes: i64,
}

/// A track, as its owner and the player see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackView {
    pub id: String,
    pub position: i64,
    pub title: String,
    pub credits: String,
    pub lyrics: Option<Lyrics>,
    /// 1 to 3 among the artist's featured tracks, 0 when not featured.
    pub featured: i64,
    /// `waiting`, `processing`, `ready` or `failed`.
    pub status: String,
    /// Percent of processing done.
    pub progress: i64,
    pub error: Option<String>,
    pub original_name: Option<String>,
    pub duration_ms: Option<i64>,
    /// ReplayGain 2.0 track gain (dB) the player applies to even out volume.
    pub track_gain_db: Option<f64>,
    pub track_peak: Option<f64>,
    pub streams: Vec<StreamView>,
    pub taken_down_reason: Option<String>,
}

pub async fn track_view(m: &Music, t: &Track) -> Result<TrackView, MusicError> {
    let renditions = db::renditions(m.platform.db.pool(), &t.id).await?;
    Ok(track_view_with(t, renditions))
}

/// A track's view from renditions already read (a whole release's in one query).
fn track_view_with(t: &Track, renditions: Vec<db::Rendition>) -> TrackView {
    let streams = renditions
        .into_iter()
        .map(|r| StreamView {
            url: format!(
                "/api/v1/music/tracks/{}/stream?format={}&v={}",
                t.id, r.format, t.audio_version
            ),
            format: r.format,
            media_type: r.media_type,
            size_bytes: r.size_bytes,
        })
        .collect();
    TrackView {
        id: t.id.clone(),
        position: t.position,
        title: t.title.clone(),
        credits: t.credits.clone(),
        lyrics: t
            .lyrics
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok()),
        featured: t.featured,
        status: t.status.clone(),
        progress: t.progress,
        error: t.error.clone(),
        original_name: t.original_name.clone(),
        duration_ms: t.duration_ms,
        track_gain_db: t.track_gain_db,
        track_peak: t.track_peak,
        streams,
        taken_down_reason: t.taken_down_reason.clone(),
    }
}

/// A release with its tracks.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlbumView {
    pub id: String,
    pub artist_id: String,
    pub slug: String,
    pub title: String,
    /// `album` or `single`.
    pub kind: String,
    pub description: String,
    pub licence: String,
    pub licence_label: String,
    /// Milliseconds since the epoch.
    pub release_at: i64,
    /// `draft`, `scheduled` or `published`.
    pub visibility: String,
    /// Whether listeners see it now.
    pub public: bool,
    pub downloads: String,
    pub cover_url: Option<String>,
    pub taken_down_reason: Option<String>,
    /// The public page.
    pub url: String,
    pub tracks: Vec<TrackView>,
}

pub async fn album_view(m: &Music, artist: &Artist, a: &Album) -> Result<AlbumView, MusicError> {
    let pool = m.platform.db.pool();
    let mut renditions = db::renditions_of_album(pool, &a.id).await?;
    let tracks = db::tracks_of(pool, &a.id)
        .await?
        .iter()
        .map(|t| track_view_with(t, renditions.remove(&t.id).unwrap_or_default()))
        .collect();
    let licence: Licence = a.licence.parse().unwrap_or(Licence::AllRightsReserved);
    Ok(AlbumView {
        id: a.id.clone(),
        artist_id: a.artist_id.clone(),
        slug: a.slug.clone(),
        title: a.title.clone(),
        kind: a.kind.clone(),
        description: a.description.clone(),
        licence: licence.id().into(),
        licence_label: licence.label().into(),
        release_at: a.release_at,
        visibility: a.visibility.clone(),
        public: service::album_is_public(a, tutti_store::now_ms()),
        downloads: a.downloads.clone(),
        cover_url: a
            .cover_key
            .as_ref()
            .map(|key| crate::editor::cover_url(&a.id, key, 600)),
        taken_down_reason: a.taken_down_reason.clone(),
        url: format!("/music/{}/{}", artist.slug, a.slug),
        tracks,
    })
}

#[utoipa::path(get, path = "/music/artists", tag = "music",
    summary = "Your artist profiles",
    responses((status = 200, body = Vec<ArtistView>)))]
async fn my_artists(
    State(m): State<Music>,
    identity: Identity,
) -> Result<Json<Vec<ArtistView>>, Problem> {
    let artists = db::artists_of(m.platform.db.pool(), &identity.user.id).await?;
    Ok(Json(artists.iter().map(artist_view).collect()))
}

#[utoipa::path(post, path = "/music/artists", tag = "music",
    summary = "Create an artist profile",
    description = "The slug is made from the name when left out; slugs of fixed pages \
        (search, feeds, embed …) are refused.",
    request_body = ArtistInput,
    responses((status = 201, body = ArtistView), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_artist(
    State(m): State<Music>,
    identity: Identity,
    Json(body): Json<ArtistInput>,
) -> Result<(StatusCode, Json<ArtistView>), Problem> {
    must_be_artist(&identity)?;
    let a = service::create_artist(&m.platform, &identity.user.id, &body).await?;
    Ok((StatusCode::CREATED, Json(artist_view(&a))))
}

#[utoipa::path(put, path = "/music/artists/{id}", tag = "music",
    summary = "Change an artist profile (a new slug keeps the old one redirecting)",
    params(("id" = String, Path)), request_body = ArtistInput,
    responses((status = 200, body = ArtistView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_artist(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<ArtistInput>,
) -> Result<Json<ArtistView>, Problem> {
    let a = service::update_artist(&m.platform, Who::from(&identity), &id, &body).await?;
    Ok(Json(artist_view(&a)))
}

#[utoipa::path(delete, path = "/music/artists/{id}", tag = "music",
    summary = "Delete an artist with all their releases and files",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_artist(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    service::delete_artist(&m.platform, Who::from(&identity), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/music/artists/{id}/albums", tag = "music",
    summary = "Create a release (album or single) for an artist",
    params(("id" = String, Path)), request_body = AlbumInput,
    responses((status = 201, body = AlbumView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_album(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<AlbumInput>,
) -> Result<(StatusCode, Json<AlbumView>), Problem> {
    let who = Who::from(&identity);
    let album = service::create_album(&m.platform, who, &id, &body).await?;
    let artist = service::owned_artist(&m.platform, who, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(album_view(&m, &artist, &album).await?),
    ))
}

#[utoipa::path(get, path = "/music/albums/{id}", tag = "music",
    summary = "One of your releases with its tracks and their processing",
    params(("id" = String, Path)),
    responses((status = 200, body = AlbumView), (status = 404, body = Problem)))]
async fn get_album(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<AlbumView>, Problem> {
    let (artist, album) = service::owned_album(&m.platform, Who::from(&identity), &id).await?;
    Ok(Json(album_view(&m, &artist, &album).await?))
}

#[utoipa::path(put, path = "/music/albums/{id}", tag = "music",
    summary = "Change a release: words, licence, date, visibility (publish, schedule, unpublish)",
    params(("id" = String, Path)), request_body = AlbumInput,
    responses((status = 200, body = AlbumView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_album(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<AlbumInput>,
) -> Result<Json<AlbumView>, Problem> {
    let who = Who::from(&identity);
    let album = service::update_album(&m.platform, who, &id, &body).await?;
    let (artist, _) = service::owned_album(&m.platform, who, &id).await?;
    Ok(Json(album_view(&m, &artist, &album).await?))
}

#[utoipa::path(delete, path = "/music/albums/{id}", tag = "music",
    summary = "Delete a release with its tracks and files",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_album(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    service::delete_album(&m.platform, Who::from(&identity), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/music/albums/{id}/tracks", tag = "music",
    summary = "Add a track from a finished upload; it is processed in the background",
    description = "Upload the file with tus at /api/v1/uploads first (metadata `filename`, \
        `studio: music`). The title comes from the file's tags (or its name) unless given.",
    params(("id" = String, Path)), request_body = NewTrackBody,
    responses((status = 201, body = TrackView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_track(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<NewTrackBody>,
) -> Result<(StatusCode, Json<TrackView>), Problem> {
    let input = TrackInput {
        upload_id: Some(body.upload_id),
        title: body.title,
        position: body.position,
        credits: body.credits,
        lyrics: body.lyrics,
        featured: body.featured,
    };
    let t = service::add_track(&m, Who::from(&identity), &id, &input).await?;
    Ok((StatusCode::CREATED, Json(track_view(&m, &t).await?)))
}

/// A new track: its audio, and what is typed about it (as in [`TrackInput`]).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTrackBody {
    /// A finished upload (tus, at `/api/v1/uploads`) holding the audio.
    pub upload_id: String,
    /// Left out or blank: from the file's tags (or its name).
    #[schema(max_length = 300)]
    pub title: Option<String>,
    /// Its number on the release, from 1; after the last track when left out.
    #[schema(minimum = 1, maximum = 10000)]
    pub position: Option<i64>,
    #[schema(max_length = 5000)]
    pub credits: Option<String>,
    /// Plain text, or LRC lines (`[mm:ss.xx] words`) for synced lyrics.
    #[schema(max_length = 50000)]
    pub lyrics: Option<String>,
    /// 1 to 3: its place among the artist's featured tracks; 0 for none.
    #[schema(minimum = 0, maximum = 3)]
    pub featured: Option<i64>,
}

/// The tracks of a release in their new order.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderBody {
    pub tracks: Vec<String>,
}

#[utoipa::path(put, path = "/music/albums/{id}/order", tag = "music",
    summary = "Renumber a release's tracks in the order given",
    params(("id" = String, Path)), request_body = OrderBody,
    responses((status = 200, body = AlbumView), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn reorder(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<OrderBody>,
) -> Result<Json<AlbumView>, Problem> {
    let who = Who::from(&identity);
    service::reorder(&m.platform, who, &id, &body.tracks).await?;
    let (artist, album) = service::owned_album(&m.platform, who, &id).await?;
    Ok(Json(album_view(&m, &artist, &album).await?))
}

#[utoipa::path(patch, path = "/music/tracks/{id}", tag = "music",
    summary = "Change a track's title, number, credits, lyrics or featured place",
    params(("id" = String, Path)), request_body = TrackInput,
    responses((status = 200, body = TrackView), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn update_track(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<TrackInput>,
) -> Result<Json<TrackView>, Problem> {
    let t = service::update_track(&m.platform, Who::from(&identity), &id, &body).await?;
    Ok(Json(track_view(&m, &t).await?))
}

#[utoipa::path(delete, path = "/music/tracks/{id}", tag = "music",
    summary = "Delete a track and its files",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_track(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    service::delete_track(&m.platform, Who::from(&identity), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A finished upload to become a track's audio.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AudioBody {
    pub upload_id: String,
}

#[utoipa::path(put, path = "/music/tracks/{id}/audio", tag = "music",
    summary = "Replace a track's audio, keeping its address, number and play counts",
    params(("id" = String, Path)), request_body = AudioBody,
    responses((status = 200, body = TrackView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_audio(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<AudioBody>,
) -> Result<Json<TrackView>, Problem> {
    let t = service::replace_audio(&m, Who::from(&identity), &id, &body.upload_id).await?;
    Ok(Json(track_view(&m, &t).await?))
}

/// A track and its release when the viewer may hear it: public, or theirs.
pub async fn audible(
    m: &Music,
    identity: Option<&Identity>,
    track_id: &str,
) -> Result<(Album, Track), MusicError> {
    audible_with(m, identity, &Passes::default(), track_id).await
}

/// [`audible`], or opened by a private link whose grant `passes` carries.
pub async fn audible_with(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    track_id: &str,
) -> Result<(Album, Track), MusicError> {
    let p = &m.platform;
    let missing = || MusicError::not_found(format!("there is no track `{track_id}`"));
    let track = db::track(p.db.pool(), track_id)
        .await?
        .ok_or_else(missing)?;
    let album = db::album(p.db.pool(), &track.album_id)
        .await?
        .ok_or_else(missing)?;
    let public = service::album_is_public(&album, tutti_store::now_ms())
        && track.taken_down_reason.is_none();
    if public
        || service::may_preview(p, identity.map(Who::from), &album).await?
        || (track.taken_down_reason.is_none() && passes.listens(m, &album).await?)
    {
        Ok((album, track))
    } else {
        Err(missing())
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// `opus` (the default) or `mp3`.
    #[param(pattern = "^(opus|mp3)$")]
    pub format: Option<String>,
    /// The audio version (the player's links carry it, so a replaced track is a new URL).
    pub v: Option<i64>,
}

#[utoipa::path(get, path = "/music/tracks/{id}/stream", tag = "music",
    summary = "A track's stream (byte ranges for seeking and resuming)",
    params(("id" = String, Path), StreamQuery),
    responses((status = 200, content_type = "audio/ogg", body = Vec<u8>),
        (status = 206, content_type = "audio/ogg", body = Vec<u8>),
        (status = 404, body = Problem), (status = 416, body = Problem),
        (status = 422, body = Problem)))]
async fn stream(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path(id): Path<String>,
    Query(q): Query<StreamQuery>,
    // The request itself, not a copy of its headers: players send a range per second.
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    let headers = request.headers();
    let format = q.format.as_deref().unwrap_or("opus");
    if let Some(r) = m.streams.get(&id, format) {
        match m
            .media(&r.blob_key, &r.media_type, Caching::Immutable, headers)
            .await
        {
            // Its file was replaced a moment ago: ask the database where the new one is.
            Err(p) if p.status == StatusCode::NOT_FOUND.as_u16() => {}
            answer => return answer,
        }
    }
    let (album, track) = audible_with(&m, identity.as_ref(), &passes, &id).await?;
    if !matches!(format, "opus" | "mp3") {
        return Err(Problem::invalid(
            "format",
            format!("`{format}` is not a stream we make: ask for opus or mp3"),
        ));
    }
    let renditions = db::renditions(m.platform.db.pool(), &track.id).await?;
    let Some(r) = renditions.iter().find(|r| r.format == format) else {
        return Err(Problem::conflict(
            "not-ready",
            "the track is still being processed; try again in a moment",
        ));
    };
    // Shared caches must not keep what only its owner or a private link may hear.
    let caching = if service::album_is_public(&album, tutti_store::now_ms())
        && track.taken_down_reason.is_none()
    {
        m.streams.remember_public(r);
        Caching::Immutable
    } else {
        Caching::Private
    };
    m.media(&r.blob_key, &r.media_type, caching, headers).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverQuery {
    /// Pixels per side wanted; the nearest stored size at or above it is sent.
    pub size: Option<u32>,
    /// The cover's version (pages' links carry it, so a new cover is a new URL).
    pub v: Option<String>,
}

#[utoipa::path(get, path = "/music/albums/{id}/cover", tag = "music",
    summary = "A release's cover art, square, in the size asked for",
    params(("id" = String, Path), CoverQuery),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>),
        (status = 404, body = Problem)))]
async fn cover(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path(id): Path<String>,
    Query(q): Query<CoverQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let p = &m.platform;
    let missing = || Problem::not_found(format!("release `{id}` has no cover"));
    let album = db::album(p.db.pool(), &id).await?.ok_or_else(missing)?;
    let public = service::album_is_public(&album, tutti_store::now_ms());
    let visible = public
        || service::may_preview(p, identity.as_ref().map(Who::from), &album).await?
        || passes.listens(&m, &album).await?;
    let Some(prefix) = album.cover_key.as_deref().filter(|_| visible) else {
        return Err(missing());
    };
    let key = cover_variant(prefix, q.size.unwrap_or(600));
    let caching = if public {
        Caching::Immutable
    } else {
        Caching::Private
    };
    serve::blob(&p.blobs, &key, "image/jpeg", caching, &headers).await
}

#[utoipa::path(post, path = "/music/tracks/{id}/plays", tag = "music",
    summary = "Count a play of a public track (sent by the player after a few seconds)",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn count_play(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let (_, track) = audible(&m, identity.as_ref(), &id).await?;
    service::count_play(&m.platform, &track.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/music/tracks/{id}/waveform", tag = "music",
    summary = "A track's waveform: pairs of low and high peaks over its length",
    params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn waveform(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    use axum::response::IntoResponse;
    let (album, track) = audible_with(&m, identity.as_ref(), &passes, &id).await?;
    let caching = if service::album_is_public(&album, tutti_store::now_ms()) {
        "public, max-age=300"
    } else {
        "private, max-age=300"
    };
    let Some(peaks) = track.waveform else {
        return Err(Problem::conflict(
            "not-ready",
            "the track is still being processed; try again in a moment",
        ));
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (axum::http::header::CACHE_CONTROL, caching),
        ],
        peaks,
    )
        .into_response())
}
