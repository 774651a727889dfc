//! The studio's editors for what the release editor only lists: a track's page (title,
//! credits, lyrics, number, featured place, and its audio replaced with a resumable
//! upload), a release's cover art and an artist's profile picture. Every form works
//! without JavaScript; a refused field re-shows the form with the error beside it.
//!
//! Pictures are stored in size variants under a prefix that is new for each upload
//! (`music/albums/{id}/cover-{new id}`), and their URLs carry that prefix's last part:
//! caches that keep a picture forever never show the old one, and the old variants are
//! deleted once the row names the new ones.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tutti_platform::serve::{self, Caching};
use tutti_platform::{Access, BodyLimit, Identity, MaybeIdentity, Page, Platform, Routes};
use tutti_store::new_id;
use tutti_web::{Form, Problem, Query};
use utoipa::IntoParams;
use utoipa_axum::routes;

use crate::db;
use crate::domain::Lyrics;
use crate::error::MusicError;
use crate::jobs::{COVER_SIZES, cover_variant, store_cover};
use crate::pages::{studio_album_page, studio_artist_page};
use crate::routes::artist_view;
use crate::service::{self, TrackInput, Who};
use crate::{ARTIST, Music};

/// The largest picture taken, before it is scaled down to its variants.
pub const MAX_PICTURE_BYTES: usize = 20 << 20;

/// The editors' page routes and the public picture route, added in
/// [`crate::routes::routes`].
pub fn routes(r: Routes<Music>) -> Routes<Music> {
    // Room for the multipart framing around the largest picture.
    let files = BodyLimit::Max(21 << 20);
    r.page(
        Access::Role(ARTIST),
        Method::GET,
        "/music/studio/tracks/{id}",
        track_editor,
    )
    .page(
        Access::Role(ARTIST),
        Method::POST,
        "/music/studio/tracks/{id}",
        track_save,
    )
    .page_with_limit(
        Access::Role(ARTIST),
        files,
        Method::POST,
        "/music/studio/albums/{id}/cover",
        cover_upload,
    )
    .page(
        Access::Role(ARTIST),
        Method::POST,
        "/music/studio/albums/{id}/cover/remove",
        cover_remove,
    )
    .page_with_limit(
        Access::Role(ARTIST),
        files,
        Method::POST,
        "/music/studio/artists/{id}/picture",
        picture_upload,
    )
    .page(
        Access::Role(ARTIST),
        Method::POST,
        "/music/studio/artists/{id}/picture/remove",
        picture_remove,
    )
    .api(Access::Public, routes!(picture))
}

/// The last part of a picture's prefix, which changes with every upload.
fn version_of(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The public URL of a release's cover at `size`, new for each cover uploaded.
pub fn cover_url(album_id: &str, key: &str, size: u32) -> String {
    format!(
        "/api/v1/music/albums/{album_id}/cover?size={size}&v={}",
        version_of(key)
    )
}

/// The public URL of an artist's picture at `size`, new for each picture uploaded.
pub fn picture_url(artist_id: &str, key: &str, size: u32) -> String {
    format!(
        "/api/v1/music/artists/{artist_id}/picture?size={size}&v={}",
        version_of(key)
    )
}

/// A refusal shown on the page that was posted, beside its field; anything else (not
/// found, a store failure) stays a problem and becomes the error page.
fn shown_or(page: &Page, e: MusicError) -> Result<Value, Problem> {
    match e {
        MusicError::Invalid { .. } | MusicError::Exists { .. } => {
            Ok(json!(page.shown(&Problem::from(e))))
        }
        other => Err(other.into()),
    }
}

// ---- the track editor ----

/// The track form as posted: every field text, so a bad number is the field's error
/// rather than the form's.
#[derive(Debug, Default, Deserialize)]
struct TrackForm {
    title: Option<String>,
    credits: Option<String>,
    lyrics: Option<String>,
    position: Option<String>,
    featured: Option<String>,
}

impl TrackForm {
    fn input(&self) -> Result<TrackInput, MusicError> {
        let number = |field: &str, raw: Option<&str>, rule: &str| {
            raw.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| MusicError::invalid(field, format!("`{s}` is not {rule}")))
                })
                .transpose()
        };
        Ok(TrackInput {
            upload_id: None,
            title: self.title.clone(),
            position: number(
                "position",
                self.position.as_deref(),
                "a track number: use a whole number from 1 to 10000",
            )?,
            credits: self.credits.clone(),
            lyrics: self.lyrics.clone(),
            featured: number(
                "featured",
                self.featured.as_deref(),
                "a featured place: use 1, 2 or 3, or none",
            )?,
        })
    }
}

async fn track_editor(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    track_page(&m, &page, Who::from(&identity), &id, None, None).await
}

/// The track editor; after a refused save, with what was typed and the error.
async fn track_page(
    m: &Music,
    page: &Page,
    who: Who<'_>,
    id: &str,
    typed: Option<&TrackForm>,
    error: Option<Value>,
) -> Result<Response, Problem> {
    let (artist, album, track) = service::owned_track(&m.platform, who, id).await?;
    let lyrics = track
        .lyrics
        .as_deref()
        .and_then(|l| serde_json::from_str::<Lyrics>(l).ok())
        .map(|l| l.to_lrc())
        .unwrap_or_default();
    let form = match typed {
        Some(f) => json!({
            "title": f.title.clone().unwrap_or_default(),
            "credits": f.credits.clone().unwrap_or_default(),
            "lyrics": f.lyrics.clone().unwrap_or_default(),
            "position": f.position.clone().unwrap_or_default(),
            "featured": f.featured.clone().unwrap_or_default(),
        }),
        None => json!({
            "title": track.title, "credits": track.credits, "lyrics": lyrics,
            "position": track.position.to_string(), "featured": track.featured.to_string(),
        }),
    };
    let mut response = page.render(
        "music/studio_track.html",
        json!({
            "artist": artist_view(&artist),
            "album": {"id": album.id, "title": album.title},
            "track": {
                "id": track.id, "title": track.title, "status": track.status,
                "progress": track.progress, "error": track.error,
                "original_name": track.original_name,
            },
            "form": form, "error": error,
        }),
    )?;
    if error.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn track_save(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<TrackForm>,
) -> Result<Response, Problem> {
    let who = Who::from(&identity);
    let saved = match form.input() {
        Ok(input) => service::update_track(&m.platform, who, &id, &input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(track) => {
            Ok(Redirect::to(&format!("/music/studio/albums/{}", track.album_id)).into_response())
        }
        Err(e) => {
            let error = shown_or(&page, e)?;
            track_page(&m, &page, who, &id, Some(&form), Some(error)).await
        }
    }
}

// ---- pictures: release covers and artist pictures ----

/// The image in the form's `field`, checked to be JPEG, PNG or WebP by its first bytes
/// (what the browser says of its type is not to be trusted).
async fn picture_of(
    multipart: Result<Multipart, MultipartRejection>,
    field: &str,
) -> Result<Vec<u8>, MusicError> {
    let choose = || MusicError::invalid(field, "choose a JPEG, PNG or WebP image to upload");
    let mut multipart =
        multipart.map_err(|_| MusicError::invalid(field, "send the image in a file form"))?;
    loop {
        let part = multipart
            .next_field()
            .await
            .map_err(|e| MusicError::invalid(field, format!("the form was cut short: {e}")))?;
        let Some(part) = part else {
            return Err(choose());
        };
        if part.name() != Some(field) {
            continue;
        }
        let name = part.file_name().unwrap_or("the file").to_string();
        let bytes = part
            .bytes()
            .await
            .map_err(|e| MusicError::invalid(field, format!("the form was cut short: {e}")))?;
        if bytes.is_empty() {
            return Err(choose());
        }
        if bytes.len() > MAX_PICTURE_BYTES {
            return Err(MusicError::invalid(
                field,
                format!("{name} is larger than 20 MB; choose a smaller image"),
            ));
        }
        let image = bytes.starts_with(&[0xFF, 0xD8, 0xFF])
            || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
            || (bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP");
        if !image {
            return Err(MusicError::invalid(
                field,
                format!("{name} is not a JPEG, PNG or WebP image"),
            ));
        }
        return Ok(bytes.to_vec());
    }
}

/// Deletes the size variants [`store_cover`] made under `prefix`. By exact key: the
/// blob store lists folders, and a cover's variants sit beside other files of its album.
async fn remove_variants(p: &Platform, prefix: &str) -> Result<(), MusicError> {
    for size in COVER_SIZES {
        p.blobs.delete(&cover_variant(prefix, *size)).await?;
    }
    Ok(())
}

/// Stores `picture`'s variants under a new prefix beginning `base`, returning it; a
/// picture that cannot be decoded leaves nothing behind and is `field`'s error.
async fn store_new(
    p: &Platform,
    base: &str,
    picture: &[u8],
    field: &str,
) -> Result<String, MusicError> {
    let prefix = format!("{base}-{}", new_id());
    match store_cover(p, &prefix, picture).await {
        Ok(key) => Ok(key),
        Err(e) => {
            remove_variants(p, &prefix).await?;
            Err(match e {
                MusicError::Invalid { .. } => MusicError::invalid(
                    field,
                    "the image could not be read; save it again as JPEG, PNG or WebP",
                ),
                other => other,
            })
        }
    }
}

/// Makes the uploaded picture the album's cover and deletes the old one's variants.
async fn set_cover(
    m: &Music,
    who: Who<'_>,
    id: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(), MusicError> {
    let p = &m.platform;
    service::owned_album(p, who, id).await?;
    let picture = picture_of(multipart, "cover").await?;
    let key = store_new(p, &format!("music/albums/{id}/cover"), &picture, "cover").await?;
    // Read again after the slow part, so an edit saved meanwhile is not undone.
    let (_, mut album) = service::owned_album(p, who, id).await?;
    let old = album.cover_key.replace(key);
    db::update_album(p.db.pool(), &album).await?;
    if let Some(old) = old {
        remove_variants(p, &old).await?;
    }
    Ok(())
}

async fn cover_upload(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    let who = Who::from(&identity);
    match set_cover(&m, who, &id, multipart).await {
        Ok(()) => Ok(Redirect::to(&format!("/music/studio/albums/{id}?saved=1")).into_response()),
        Err(e) => {
            let error = shown_or(&page, e)?;
            studio_album_page(&m, &page, who, &id, Some(error)).await
        }
    }
}

async fn cover_remove(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let p = &m.platform;
    let (_, mut album) = service::owned_album(p, Who::from(&identity), &id).await?;
    if let Some(old) = album.cover_key.take() {
        db::update_album(p.db.pool(), &album).await?;
        remove_variants(p, &old).await?;
    }
    Ok(Redirect::to(&format!("/music/studio/albums/{id}")).into_response())
}

/// Makes the uploaded picture the artist's and deletes the old one's variants.
async fn set_picture(
    m: &Music,
    who: Who<'_>,
    id: &str,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(), MusicError> {
    let p = &m.platform;
    service::owned_artist(p, who, id).await?;
    let picture = picture_of(multipart, "picture").await?;
    let key = store_new(
        p,
        &format!("music/artists/{id}/picture"),
        &picture,
        "picture",
    )
    .await?;
    let mut artist = service::owned_artist(p, who, id).await?;
    let old = artist.picture_key.replace(key);
    db::update_artist(p.db.pool(), &artist).await?;
    if let Some(old) = old {
        remove_variants(p, &old).await?;
    }
    Ok(())
}

async fn picture_upload(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    let who = Who::from(&identity);
    match set_picture(&m, who, &id, multipart).await {
        Ok(()) => Ok(Redirect::to(&format!("/music/studio/artists/{id}?saved=1")).into_response()),
        Err(e) => {
            let error = shown_or(&page, e)?;
            studio_artist_page(&m, &page, who, &id, Some(error)).await
        }
    }
}

async fn picture_remove(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let p = &m.platform;
    let mut artist = service::owned_artist(p, Who::from(&identity), &id).await?;
    if let Some(old) = artist.picture_key.take() {
        db::update_artist(p.db.pool(), &artist).await?;
        remove_variants(p, &old).await?;
    }
    Ok(Redirect::to(&format!("/music/studio/artists/{id}")).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PictureQuery {
    /// Pixels per side wanted (600 when left out); the nearest stored size at or above
    /// it is sent.
    #[param(minimum = 1, maximum = 10000)]
    pub size: Option<i64>,
    /// The picture's version (pages' links carry it, so a new picture is a new URL).
    pub v: Option<String>,
}

#[utoipa::path(get, path = "/music/artists/{id}/picture", tag = "music",
    summary = "An artist's profile picture, square, in the size asked for",
    description = "Shown when the artist's page is: once they have a public release \
        (to their owner and admins always).",
    params(("id" = String, Path), PictureQuery),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn picture(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
    Query(q): Query<PictureQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let size = q.size.unwrap_or(600);
    if !(1..=10_000).contains(&size) {
        return Err(Problem::invalid(
            "size",
            format!("{size} is not a picture size: ask for 1 to 10000 pixels"),
        ));
    }
    let p = &m.platform;
    let missing = || Problem::not_found(format!("artist `{id}` has no picture"));
    let artist = db::artist(p.db.pool(), &id).await?.ok_or_else(missing)?;
    let now = tutti_store::now_ms();
    let public = db::albums_of(p.db.pool(), &artist.id)
        .await?
        .iter()
        .any(|a| service::album_is_public(a, now));
    let owner = identity
        .as_ref()
        .is_some_and(|i| i.is_admin() || i.user.id == artist.owner_id);
    let Some(prefix) = artist.picture_key.as_deref().filter(|_| public || owner) else {
        return Err(missing());
    };
    let key = cover_variant(prefix, size as u32);
    let caching = if public {
        Caching::Immutable
    } else {
        Caching::Private
    };
    serve::blob(&p.blobs, &key, "image/jpeg", caching, &headers).await
}
