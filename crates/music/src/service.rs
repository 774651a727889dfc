//! What the routes, pages and command line share: creating, editing and deleting
//! artists, releases and tracks with their owner's rights checked, taking uploads as a
//! track's audio and queueing its processing, resolving public addresses (old slugs
//! answer with where they moved) and removing every blob of what is deleted.

use serde::{Deserialize, Serialize};
use tutti_platform::{Identity, Platform, uploads};
use tutti_store::{NewJob, new_id, now_ms};
use utoipa::ToSchema;

use crate::db::{self, Album, Artist, Track};
use crate::domain::{
    Licence, Lyrics, Slug, Visibility, is_public, text_field, title_from_file_name,
};
use crate::error::MusicError;
use crate::jobs::ProcessTrack;
use crate::{ARTIST, Music};

type Result<T> = std::result::Result<T, MusicError>;

/// Who acts: their account, and whether they may act on anyone's music (admins, and
/// the command line).
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub user_id: &'a str,
    pub admin: bool,
}

impl<'a> From<&'a Identity> for Who<'a> {
    fn from(identity: &'a Identity) -> Who<'a> {
        Who {
            user_id: &identity.user.id,
            admin: identity.is_admin(),
        }
    }
}

/// Refuses people without the `artist` role.
pub fn must_be_artist(identity: &Identity) -> Result<()> {
    if identity.has(&ARTIST) {
        Ok(())
    } else {
        Err(MusicError::forbidden(
            "not-an-artist",
            "publishing music needs the artist role; ask an administrator for it",
        ))
    }
}

/// A link on an artist's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    #[schema(max_length = 80)]
    pub label: String,
    #[schema(
        pattern = "^https?://[A-Za-z][A-Za-z0-9-]*(\\.[A-Za-z][A-Za-z0-9-]*)*(:[0-9]{1,4})?([/?#][!-~]*)?$"
    )]
    pub url: String,
}

/// An artist profile as typed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ArtistInput {
    #[schema(pattern = "\\S", max_length = 200)]
    pub name: String,
    /// Made from the name when left out or empty.
    #[schema(pattern = "^([a-z0-9]+(-[a-z0-9]+)*)?$", max_length = 64)]
    pub slug: Option<String>,
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub bio: String,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub links: Vec<Link>,
}

fn check_links(links: &[Link]) -> Result<String> {
    if links.len() > 20 {
        return Err(MusicError::invalid(
            "links",
            "an artist can show at most 20 links",
        ));
    }
    for (i, link) in links.iter().enumerate() {
        let ok = url::Url::parse(&link.url)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok {
            return Err(MusicError::invalid(
                &format!("links.{i}.url"),
                format!("`{}` is not an http(s) address", link.url),
            ));
        }
        if link.label.chars().count() > 80 {
            return Err(MusicError::invalid(
                &format!("links.{i}.label"),
                "a link's label can be at most 80 characters",
            ));
        }
    }
    serde_json::to_string(links).map_err(MusicError::internal)
}

fn check_bio(bio: &str) -> Result<String> {
    if bio.chars().count() > 10_000 {
        return Err(MusicError::invalid(
            "bio",
            "a bio can be at most 10000 characters",
        ));
    }
    Ok(bio.trim().to_string())
}

/// The slug asked for, or one made from `name` that is still free.
async fn free_artist_slug(p: &Platform, asked: Option<&str>, name: &str) -> Result<Slug> {
    if let Some(raw) = asked.filter(|s| !s.trim().is_empty()) {
        let slug = Slug::parse("slug", raw.trim())?;
        if db::artist_by_slug(p.db.pool(), slug.as_str())
            .await?
            .is_some()
        {
            return Err(MusicError::exists(
                "slug",
                format!("the address `{slug}` is taken; choose another"),
            ));
        }
        return Ok(slug);
    }
    let base = Slug::from_name(name, "artist");
    for candidate in base.candidates() {
        if db::artist_by_slug(p.db.pool(), &candidate).await?.is_none() {
            return Slug::parse("slug", &candidate);
        }
    }
    Err(MusicError::exists(
        "slug",
        "every address made from that name is taken; choose one",
    ))
}

pub async fn create_artist(p: &Platform, owner_id: &str, input: &ArtistInput) -> Result<Artist> {
    let name = text_field("name", &input.name, 200)?;
    let links = check_links(&input.links)?;
    let bio = check_bio(&input.bio)?;
    let slug = free_artist_slug(p, input.slug.as_deref(), &name).await?;
    let now = now_ms();
    let artist = Artist {
        id: new_id(),
        owner_id: owner_id.to_string(),
        slug: slug.as_str().to_string(),
        name,
        bio,
        links,
        picture_key: None,
        created_at: now,
        updated_at: now,
    };
    db::insert_artist(p.db.pool(), &artist)
        .await
        .map_err(|e| taken_or(e, "slug", &artist.slug))?;
    Ok(artist)
}

/// A unique-key failure as the field's error; anything else as it was.
fn taken_or(e: MusicError, field: &str, value: &str) -> MusicError {
    let unique =
        matches!(&e, MusicError::Store(s) if s.to_string().to_lowercase().contains("unique"));
    if unique {
        MusicError::exists(field, format!("`{value}` is taken; choose another"))
    } else {
        e
    }
}

/// An artist its owner (or an admin) may change; others get "not found".
pub async fn owned_artist(p: &Platform, who: Who<'_>, id: &str) -> Result<Artist> {
    db::artist(p.db.pool(), id)
        .await?
        .filter(|a| who.admin || a.owner_id == who.user_id)
        .ok_or_else(|| MusicError::not_found(format!("you have no artist `{id}`")))
}

/// Renames keep the old address answering with a redirect.
pub async fn update_artist(
    p: &Platform,
    who: Who<'_>,
    id: &str,
    input: &ArtistInput,
) -> Result<Artist> {
    let mut artist = owned_artist(p, who, id).await?;
    let name = text_field("name", &input.name, 200)?;
    let links = check_links(&input.links)?;
    let bio = check_bio(&input.bio)?;
    let old_slug = artist.slug.clone();
    let new_slug = match input.slug.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() && s != old_slug => free_artist_slug(p, Some(s), &name)
            .await?
            .as_str()
            .to_string(),
        _ => old_slug.clone(),
    };
    artist.name = name;
    artist.links = links;
    artist.bio = bio;
    artist.slug = new_slug.clone();
    let mut tx = p.db.begin().await?;
    if new_slug != old_slug {
        db::remember_slug(&mut tx, "artist", "", &old_slug, &artist.id).await?;
        db::forget_slug(&mut tx, "artist", "", &new_slug).await?;
    }
    db::update_artist(&mut *tx, &artist)
        .await
        .map_err(|e| taken_or(e, "slug", &new_slug))?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(artist)
}

/// Deletes an artist with every release, track and file of theirs.
pub async fn delete_artist(p: &Platform, who: Who<'_>, id: &str) -> Result<()> {
    let artist = owned_artist(p, who, id).await?;
    for album in db::albums_of(p.db.pool(), &artist.id).await? {
        remove_album_files(p, &album).await?;
    }
    remove_prefix(p, &format!("music/artists/{}", artist.id)).await?;
    let mut tx = p.db.begin().await?;
    db::delete_artist(&mut tx, &artist.id).await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(())
}

/// Deletes every blob in the folder `prefix` (no trailing slash).
async fn remove_prefix(p: &Platform, prefix: &str) -> Result<()> {
    for blob in p.blobs.list(prefix).await? {
        p.blobs.delete(&blob.key).await?;
    }
    Ok(())
}

async fn remove_track_files(p: &Platform, track: &Track) -> Result<()> {
    if let Some(key) = &track.original_key {
        p.blobs.delete(key).await?;
    }
    remove_prefix(p, &format!("music/tracks/{}", track.id)).await
}

async fn remove_album_files(p: &Platform, album: &Album) -> Result<()> {
    for track in db::tracks_of(p.db.pool(), &album.id).await? {
        remove_track_files(p, &track).await?;
    }
    remove_prefix(p, &format!("music/albums/{}", album.id)).await
}

/// What an address resolves to: the thing, or the address it moved to.
pub enum Found<T> {
    Here(T),
    Moved(String),
}

/// The artist at `slug`, or where a renamed artist's page is now.
pub async fn artist_at(p: &Platform, slug: &str) -> Result<Found<Artist>> {
    if let Some(a) = db::artist_by_slug(p.db.pool(), slug).await? {
        return Ok(Found::Here(a));
    }
    if let Some(id) = db::old_slug(p.db.pool(), "artist", "", slug).await?
        && let Some(a) = db::artist(p.db.pool(), &id).await?
    {
        return Ok(Found::Moved(a.slug));
    }
    Err(MusicError::not_found(format!(
        "there is no artist `{slug}`"
    )))
}

/// The album at `slug` of `artist`, or the slug a renamed album has now.
pub async fn album_at(p: &Platform, artist: &Artist, slug: &str) -> Result<Found<Album>> {
    if let Some(a) = db::album_by_slug(p.db.pool(), &artist.id, slug).await? {
        return Ok(Found::Here(a));
    }
    if let Some(id) = db::old_slug(p.db.pool(), "album", &artist.id, slug).await?
        && let Some(a) = db::album(p.db.pool(), &id).await?
    {
        return Ok(Found::Moved(a.slug));
    }
    Err(MusicError::not_found(format!(
        "{} has no release `{slug}`",
        artist.name
    )))
}

/// Whether listeners see the album now.
pub fn album_is_public(album: &Album, now: i64) -> bool {
    let visibility = album.visibility.parse().unwrap_or(Visibility::Draft);
    is_public(
        visibility,
        album.release_at,
        album.taken_down_reason.is_some(),
        now,
    )
}

/// Whether `who` sees the album although it is not public: its owner and admins.
pub async fn may_preview(p: &Platform, who: Option<Who<'_>>, album: &Album) -> Result<bool> {
    let Some(who) = who else { return Ok(false) };
    if who.admin {
        return Ok(true);
    }
    Ok(db::artist(p.db.pool(), &album.artist_id)
        .await?
        .is_some_and(|a| a.owner_id == who.user_id))
}

/// A release as typed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AlbumInput {
    #[schema(pattern = "\\S", max_length = 200)]
    pub title: String,
    /// Made from the title when left out or empty.
    #[schema(pattern = "^([a-z0-9]+(-[a-z0-9]+)*)?$", max_length = 64)]
    pub slug: Option<String>,
    /// `album` (the default) or `single`.
    #[schema(pattern = "^(album|single)$")]
    pub kind: Option<String>,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub description: String,
    /// A licence id such as `cc-by-4.0`; all rights reserved when left out.
    #[schema(
        pattern = "^(all-rights-reserved|cc0-1\\.0|cc-by-4\\.0|cc-by-sa-4\\.0|cc-by-nd-4\\.0|cc-by-nc-4\\.0|cc-by-nc-sa-4\\.0|cc-by-nc-nd-4\\.0)$"
    )]
    pub licence: Option<String>,
    /// The release date and time (RFC 3339; a bare date `YYYY-MM-DD` is taken as
    /// midnight UTC); now when left out or empty. (The pattern leaves out days 29 to 31,
    /// which the server takes too: a regular expression cannot know month lengths.)
    #[schema(
        pattern = "^$|^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
    )]
    pub release_at: Option<String>,
    /// `draft` (the default), `scheduled` or `published`.
    #[schema(pattern = "^(draft|scheduled|published)$")]
    pub visibility: Option<String>,
    /// What listeners may download: `none` (the default), `original` or `renditions`.
    #[schema(pattern = "^(none|original|renditions)$")]
    pub downloads: Option<String>,
}

/// Milliseconds since the epoch from RFC 3339 or a bare date.
pub fn parse_release(raw: &str) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    let raw = raw.trim();
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(raw, &format) {
        return Ok(d.midnight().assume_utc().unix_timestamp() * 1000);
    }
    Err(MusicError::invalid(
        "release_at",
        format!("`{raw}` is not a date: use 2026-12-24 or 2026-12-24T18:00:00+01:00"),
    ))
}

struct CheckedAlbum {
    title: String,
    kind: String,
    description: String,
    licence: String,
    release_at: i64,
    visibility: String,
    downloads: String,
}

fn check_album(input: &AlbumInput, now: i64) -> Result<CheckedAlbum> {
    let title = text_field("title", &input.title, 200)?;
    let kind = match input.kind.as_deref().unwrap_or("album") {
        k @ ("album" | "single") => k.to_string(),
        other => {
            return Err(MusicError::invalid(
                "kind",
                format!("`{other}` is not a kind of release: use album or single"),
            ));
        }
    };
    if input.description.chars().count() > 20_000 {
        return Err(MusicError::invalid(
            "description",
            "a description can be at most 20000 characters",
        ));
    }
    let licence: Licence = input
        .licence
        .as_deref()
        .unwrap_or("all-rights-reserved")
        .parse()?;
    let release_at = match input.release_at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => parse_release(raw)?,
        None => now,
    };
    let visibility: Visibility = input.visibility.as_deref().unwrap_or("draft").parse()?;
    let downloads = match input.downloads.as_deref().unwrap_or("none") {
        d @ ("none" | "original" | "renditions") => d.to_string(),
        other => {
            return Err(MusicError::invalid(
                "downloads",
                format!("`{other}` is not a download choice: use none, original or renditions"),
            ));
        }
    };
    Ok(CheckedAlbum {
        title,
        kind,
        description: input.description.trim().to_string(),
        licence: licence.id().to_string(),
        release_at,
        visibility: visibility.as_str().to_string(),
        downloads,
    })
}

async fn free_album_slug(
    p: &Platform,
    artist: &Artist,
    asked: Option<&str>,
    title: &str,
    except: Option<&str>,
) -> Result<Slug> {
    let taken = |a: &Option<Album>| a.as_ref().is_some_and(|a| Some(a.id.as_str()) != except);
    if let Some(raw) = asked.filter(|s| !s.trim().is_empty()) {
        let slug = Slug::parse("slug", raw.trim())?;
        if taken(&db::album_by_slug(p.db.pool(), &artist.id, slug.as_str()).await?) {
            return Err(MusicError::exists(
                "slug",
                format!("{} already has a release at `{slug}`", artist.name),
            ));
        }
        return Ok(slug);
    }
    let base = Slug::from_name(title, "release");
    for candidate in base.candidates() {
        if !taken(&db::album_by_slug(p.db.pool(), &artist.id, &candidate).await?) {
            return Slug::parse("slug", &candidate);
        }
    }
    Err(MusicError::exists(
        "slug",
        "every address made from that title is taken; choose one",
    ))
}

pub async fn create_album(
    p: &Platform,
    who: Who<'_>,
    artist_id: &str,
    input: &AlbumInput,
) -> Result<Album> {
    let artist = owned_artist(p, who, artist_id).await?;
    let now = now_ms();
    let c = check_album(input, now)?;
    let slug = free_album_slug(p, &artist, input.slug.as_deref(), &c.title, None).await?;
    let album = Album {
        id: new_id(),
        artist_id: artist.id.clone(),
        slug: slug.as_str().to_string(),
        title: c.title,
        kind: c.kind,
        description: c.description,
        licence: c.licence,
        release_at: c.release_at,
        visibility: c.visibility,
        cover_key: None,
        downloads: c.downloads,
        taken_down_reason: None,
        created_at: now,
        updated_at: now,
    };
    db::insert_album(p.db.pool(), &album)
        .await
        .map_err(|e| taken_or(e, "slug", &album.slug))?;
    Ok(album)
}

/// An album its owner (or an admin) may change, with its artist.
pub async fn owned_album(p: &Platform, who: Who<'_>, id: &str) -> Result<(Artist, Album)> {
    let album = db::album(p.db.pool(), id)
        .await?
        .ok_or_else(|| MusicError::not_found(format!("you have no release `{id}`")))?;
    let artist = owned_artist(p, who, &album.artist_id)
        .await
        .map_err(|_| MusicError::not_found(format!("you have no release `{id}`")))?;
    Ok((artist, album))
}

pub async fn update_album(
    p: &Platform,
    who: Who<'_>,
    id: &str,
    input: &AlbumInput,
) -> Result<Album> {
    let (artist, mut album) = owned_album(p, who, id).await?;
    let c = check_album(input, album.release_at)?;
    let old_slug = album.slug.clone();
    let new_slug = match input.slug.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() && s != old_slug => {
            free_album_slug(p, &artist, Some(s), &c.title, Some(&album.id))
                .await?
                .as_str()
                .to_string()
        }
        _ => old_slug.clone(),
    };
    album.slug = new_slug.clone();
    album.title = c.title;
    album.kind = c.kind;
    album.description = c.description;
    album.licence = c.licence;
    album.release_at = c.release_at;
    album.visibility = c.visibility;
    album.downloads = c.downloads;
    let mut tx = p.db.begin().await?;
    if new_slug != old_slug {
        db::remember_slug(&mut tx, "album", &artist.id, &old_slug, &album.id).await?;
        db::forget_slug(&mut tx, "album", &artist.id, &new_slug).await?;
    }
    db::update_album(&mut *tx, &album)
        .await
        .map_err(|e| taken_or(e, "slug", &new_slug))?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(album)
}

/// Deletes a release with its tracks and every file of theirs.
pub async fn delete_album(p: &Platform, who: Who<'_>, id: &str) -> Result<()> {
    let (_, album) = owned_album(p, who, id).await?;
    remove_album_files(p, &album).await?;
    let mut tx = p.db.begin().await?;
    db::delete_album(&mut tx, &album.id).await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(())
}

/// A track its owner (or an admin) may change, with its album and artist.
pub async fn owned_track(p: &Platform, who: Who<'_>, id: &str) -> Result<(Artist, Album, Track)> {
    let track = db::track(p.db.pool(), id)
        .await?
        .ok_or_else(|| MusicError::not_found(format!("you have no track `{id}`")))?;
    let (artist, album) = owned_album(p, who, &track.album_id)
        .await
        .map_err(|_| MusicError::not_found(format!("you have no track `{id}`")))?;
    Ok((artist, album, track))
}

/// Takes a finished upload of `who`'s as a track's new audio and queues its
/// processing; returns the original's file name.
async fn take_audio(
    music: &Music,
    who: Who<'_>,
    track_id: &str,
    upload_id: &str,
) -> Result<String> {
    let p = &music.platform;
    let upload = uploads::get(p, upload_id, who.user_id).await?;
    let name = upload
        .metadata
        .get("filename")
        .or_else(|| upload.metadata.get("name"))
        .cloned()
        .unwrap_or_else(|| "audio".to_string());
    let media_type = upload
        .metadata
        .get("filetype")
        .or_else(|| upload.metadata.get("type"))
        .cloned()
        .unwrap_or_default();
    let blob = uploads::take(p, upload_id, who.user_id).await?;
    attach_audio(p, track_id, &blob.key, &name, &media_type, blob.size as i64).await?;
    Ok(name)
}

/// Makes the blob at `key` a track's audio and queues its processing, in one
/// transaction (the web upload and the command-line import both end here).
pub async fn attach_audio(
    p: &Platform,
    track_id: &str,
    key: &str,
    name: &str,
    media_type: &str,
    bytes: i64,
) -> Result<()> {
    let mut tx = p.db.begin().await?;
    db::set_track_audio(&mut tx, track_id, key, name, media_type, bytes).await?;
    p.queue
        .enqueue_in(
            &mut tx,
            NewJob::typed::<ProcessTrack>(&track_id.to_string()).map_err(MusicError::internal)?,
        )
        .await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    p.queue.notify();
    Ok(())
}

/// A track as its owner adds or edits it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TrackInput {
    /// A finished upload (tus) holding the audio: given as `upload_id` of the body that
    /// adds a track (`NewTrackBody` in the routes), ignored by edits.
    #[serde(skip)]
    pub upload_id: Option<String>,
    /// Left out or blank: from the file's tags (or its name) when adding, unchanged
    /// when editing.
    #[schema(max_length = 300)]
    pub title: Option<String>,
    /// Its number on the release, from 1; after the last track when left out.
    #[schema(minimum = 1, maximum = 10000)]
    pub position: Option<i64>,
    #[schema(max_length = 5000)]
    pub credits: Option<String>,
    /// Plain text, or LRC lines (`[mm:ss.xx] words`) for synced lyrics; empty removes.
    #[schema(max_length = 50000)]
    pub lyrics: Option<String>,
    /// 1 to 3: its place among the artist's featured tracks; 0 takes it off.
    #[schema(minimum = 0, maximum = 3)]
    pub featured: Option<i64>,
}

/// Adds a track from an upload; tags fill in what was not typed once processing reads
/// them.
pub async fn add_track(
    music: &Music,
    who: Who<'_>,
    album_id: &str,
    input: &TrackInput,
) -> Result<Track> {
    let p = &music.platform;
    let (_, album) = owned_album(p, who, album_id).await?;
    let Some(upload_id) = input.upload_id.as_deref() else {
        return Err(MusicError::invalid(
            "upload_id",
            "upload the audio first (tus, at /api/v1/uploads) and send its id",
        ));
    };
    let existing = db::tracks_of(p.db.pool(), &album.id).await?;
    if album.kind == "single" && !existing.is_empty() {
        return Err(MusicError::exists(
            "album",
            "a single has one track; replace its audio instead",
        ));
    }
    let upload = uploads::get(p, upload_id, who.user_id).await?;
    let file_name = upload
        .metadata
        .get("filename")
        .cloned()
        .unwrap_or_else(|| "Untitled".into());
    let track = new_track(&album, &existing, input, &file_name)?;
    db::insert_track(p.db.pool(), &track).await?;
    if let Err(e) = take_audio(music, who, &track.id, upload_id).await {
        db::delete_track(p.db.pool(), &track.id).await?;
        return Err(e);
    }
    db::track(p.db.pool(), &track.id)
        .await?
        .ok_or_else(|| MusicError::internal("a new track vanished"))
}

/// A track row of `album` not yet stored, numbered after `existing` unless `input` says.
pub fn new_track(
    album: &Album,
    existing: &[Track],
    input: &TrackInput,
    file_name: &str,
) -> Result<Track> {
    let title = match input.title.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => text_field("title", t, 300)?,
        None => title_from_file_name(file_name),
    };
    if input.featured.is_some_and(|f| !(0..=3).contains(&f)) {
        return Err(MusicError::invalid(
            "featured",
            "an artist features at most three tracks: use 1, 2 or 3 (0 takes it off)",
        ));
    }
    let position = input
        .position
        .unwrap_or_else(|| existing.iter().map(|t| t.position).max().unwrap_or(0) + 1);
    if !(1..=10_000).contains(&position) {
        return Err(MusicError::invalid(
            "position",
            "a track number runs from 1 to 10000",
        ));
    }
    let now = now_ms();
    Ok(Track {
        id: new_id(),
        album_id: album.id.clone(),
        position,
        title,
        credits: check_credits(input.credits.as_deref())?,
        lyrics: check_lyrics(input.lyrics.as_deref())?,
        featured: 0,
        status: "waiting".into(),
        progress: 0,
        error: None,
        original_key: None,
        original_name: None,
        original_type: None,
        original_bytes: None,
        audio_version: 0,
        duration_ms: None,
        sample_rate: None,
        channels: None,
        bit_depth: None,
        track_gain_db: None,
        track_peak: None,
        waveform: None,
        taken_down_reason: None,
        created_at: now,
        updated_at: now,
    })
}

/// Replaces a track's audio, keeping its address, number and play counts.
pub async fn replace_audio(
    music: &Music,
    who: Who<'_>,
    track_id: &str,
    upload_id: &str,
) -> Result<Track> {
    let p = &music.platform;
    let (_, _, old) = owned_track(p, who, track_id).await?;
    take_audio(music, who, &old.id, upload_id).await?;
    if let Some(key) = &old.original_key {
        p.blobs.delete(key).await?;
    }
    db::track(p.db.pool(), track_id)
        .await?
        .ok_or_else(|| MusicError::not_found(format!("you have no track `{track_id}`")))
}

fn check_credits(raw: Option<&str>) -> Result<String> {
    let credits = raw.unwrap_or("").trim();
    if credits.chars().count() > 5_000 {
        return Err(MusicError::invalid(
            "credits",
            "credits can be at most 5000 characters",
        ));
    }
    Ok(credits.to_string())
}

fn check_lyrics(raw: Option<&str>) -> Result<Option<String>> {
    let raw = raw.unwrap_or("");
    if raw.chars().count() > 50_000 {
        return Err(MusicError::invalid(
            "lyrics",
            "lyrics can be at most 50000 characters",
        ));
    }
    Lyrics::parse(raw)
        .map(|l| serde_json::to_string(&l).map_err(MusicError::internal))
        .transpose()
}

/// Edits a track's words, number and featured place (what is left out stays).
pub async fn update_track(
    p: &Platform,
    who: Who<'_>,
    track_id: &str,
    input: &TrackInput,
) -> Result<Track> {
    let (artist, _, mut track) = owned_track(p, who, track_id).await?;
    if let Some(title) = input.title.as_deref().filter(|t| !t.trim().is_empty()) {
        track.title = text_field("title", title, 300)?;
    }
    if input.credits.is_some() {
        track.credits = check_credits(input.credits.as_deref())?;
    }
    if input.lyrics.is_some() {
        track.lyrics = check_lyrics(input.lyrics.as_deref())?;
    }
    if let Some(position) = input.position {
        if !(1..=10_000).contains(&position) {
            return Err(MusicError::invalid(
                "position",
                "a track number runs from 1 to 10000",
            ));
        }
        track.position = position;
    }
    let mut tx = p.db.begin().await?;
    if let Some(place) = input.featured {
        if !(0..=3).contains(&place) {
            return Err(MusicError::invalid(
                "featured",
                "an artist features at most three tracks: use 1, 2 or 3 (0 takes it off)",
            ));
        }
        if place > 0 {
            // The place is this track's now; whoever held it steps down.
            for other in db::featured_of(&mut *tx, &artist.id).await? {
                if other.featured == place && other.id != track.id {
                    let mut other = other;
                    other.featured = 0;
                    db::update_track_fields(&mut *tx, &other).await?;
                }
            }
        }
        track.featured = place;
    }
    db::update_track_fields(&mut *tx, &track).await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(track)
}

/// Numbers an album's tracks 1, 2, 3 … in the order given (every track, once).
pub async fn reorder(p: &Platform, who: Who<'_>, album_id: &str, ids: &[String]) -> Result<()> {
    let (_, album) = owned_album(p, who, album_id).await?;
    let tracks = db::tracks_of(p.db.pool(), &album.id).await?;
    let mut given: Vec<&str> = ids.iter().map(String::as_str).collect();
    given.sort_unstable();
    let mut have: Vec<&str> = tracks.iter().map(|t| t.id.as_str()).collect();
    have.sort_unstable();
    if given != have {
        // The list is well formed but does not match the release as it is now (a track
        // was added or removed meanwhile): a conflict, not a malformed request.
        return Err(MusicError::exists(
            "tracks",
            "send every track of the release once, in the new order",
        ));
    }
    let mut tx = p.db.begin().await?;
    for (i, id) in ids.iter().enumerate() {
        if let Some(mut t) = tracks.iter().find(|t| &t.id == id).cloned() {
            t.position = i as i64 + 1;
            db::update_track_fields(&mut *tx, &t).await?;
        }
    }
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(())
}

/// Deletes a track and every file of it.
pub async fn delete_track(p: &Platform, who: Who<'_>, track_id: &str) -> Result<()> {
    let (_, _, track) = owned_track(p, who, track_id).await?;
    remove_track_files(p, &track).await?;
    db::delete_track(p.db.pool(), &track.id).await?;
    Ok(())
}

/// Counts a play of a public track (a listener's player, or a Subsonic scrobble).
pub async fn count_play(p: &Platform, track_id: &str) -> Result<()> {
    let today = time::OffsetDateTime::now_utc().date().to_string();
    db::count_play(&mut *p.db.write().await?, track_id, &today).await
}

/// What a search found, each with what its links need.
pub struct SearchResults {
    pub artists: Vec<Artist>,
    pub albums: Vec<(Artist, Album)>,
    pub tracks: Vec<(Artist, Album, Track)>,
}

/// Public artists, releases and tracks whose name or title holds the words.
pub async fn search(p: &Platform, query: &str, limit: i64) -> Result<SearchResults> {
    let query = query.trim();
    let mut out = SearchResults {
        artists: Vec::new(),
        albums: Vec::new(),
        tracks: Vec::new(),
    };
    if query.is_empty() {
        return Ok(out);
    }
    if query.chars().count() > 200 {
        return Err(MusicError::invalid(
            "q",
            "search for at most 200 characters",
        ));
    }
    let pool = p.db.pool();
    let found = db::search(pool, query, now_ms(), limit).await?;
    out.artists = found.artists;
    for a in found.albums {
        if let Some(artist) = db::artist(pool, &a.artist_id).await? {
            out.albums.push((artist, a));
        }
    }
    for t in found.tracks {
        if let Some(album) = db::album(pool, &t.album_id).await?
            && let Some(artist) = db::artist(pool, &album.artist_id).await?
        {
            out.tracks.push((artist, album, t));
        }
    }
    Ok(out)
}

/// Deletes what the studio keeps of a person whose account goes: the artist profiles
/// they own (with every file of their music) and what they kept as a listener (stars,
/// playlists, app password).
pub struct Forgetter(pub Platform);

#[async_trait::async_trait]
impl tutti_platform::Forget for Forgetter {
    async fn forget(
        &self,
        user_id: &str,
    ) -> std::result::Result<(), tutti_platform::PlatformError> {
        let fail = |e: MusicError| tutti_platform::PlatformError::Problem(e.into());
        let who = Who {
            user_id,
            admin: false,
        };
        for artist in db::artists_of(self.0.db.pool(), user_id)
            .await
            .map_err(fail)?
        {
            delete_artist(&self.0, who, &artist.id)
                .await
                .map_err(fail)?;
        }
        let mut tx = self.0.db.begin().await.map_err(|e| fail(e.into()))?;
        crate::subsonic::store::forget_listener(&mut tx, user_id)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(|e| fail(e.into()))?;
        Ok(())
    }
}
