//! The music studio's queries, one dialect for SQLite and PostgreSQL. Functions that run
//! one statement take any executor (the pool or a transaction); the rest say which they
//! need. Rows come back as they are stored; `service` turns them into views.

use serde::Serialize;
use sqlx::{Any, Executor};
use tutti_store::{Tx, now_ms};

use crate::error::MusicError;

type Result<T> = std::result::Result<T, MusicError>;

/// A statement built from this module's own column lists (never from input).
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}
pub(crate) use sql;

/// A column list with each column named through a table alias, for joins.
pub(crate) fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Artist {
    pub id: String,
    pub owner_id: String,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub links: String,
    pub picture_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const ARTIST_COLUMNS: &str =
    "id, owner_id, slug, name, bio, links, picture_key, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Album {
    pub id: String,
    pub artist_id: String,
    pub slug: String,
    pub title: String,
    pub kind: String,
    pub description: String,
    pub licence: String,
    pub release_at: i64,
    pub visibility: String,
    pub cover_key: Option<String>,
    pub downloads: String,
    pub taken_down_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const ALBUM_COLUMNS: &str = "id, artist_id, slug, title, kind, description, licence, \
    release_at, visibility, cover_key, downloads, taken_down_reason, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Track {
    pub id: String,
    pub album_id: String,
    pub position: i64,
    pub title: String,
    pub credits: String,
    pub lyrics: Option<String>,
    pub featured: i64,
    pub status: String,
    pub progress: i64,
    pub error: Option<String>,
    pub original_key: Option<String>,
    pub original_name: Option<String>,
    pub original_type: Option<String>,
    pub original_bytes: Option<i64>,
    pub audio_version: i64,
    pub duration_ms: Option<i64>,
    pub sample_rate: Option<i64>,
    pub channels: Option<i64>,
    pub bit_depth: Option<i64>,
    pub track_gain_db: Option<f64>,
    pub track_peak: Option<f64>,
    pub waveform: Option<String>,
    pub taken_down_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const TRACK_COLUMNS: &str = "id, album_id, position, title, credits, lyrics, featured, \
    status, progress, error, original_key, original_name, original_type, original_bytes, \
    audio_version, duration_ms, sample_rate, channels, bit_depth, track_gain_db, \
    track_peak, waveform, taken_down_reason, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Rendition {
    pub track_id: String,
    pub format: String,
    pub blob_key: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub bitrate_kbps: i64,
}

// ---- artists ----

pub async fn insert_artist<'c>(e: impl Executor<'c, Database = Any>, a: &Artist) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO music_artists ({ARTIST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&a.id)
    .bind(&a.owner_id)
    .bind(&a.slug)
    .bind(&a.name)
    .bind(&a.bio)
    .bind(&a.links)
    .bind(&a.picture_key)
    .bind(a.created_at)
    .bind(a.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn artist<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<Option<Artist>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ARTIST_COLUMNS} FROM music_artists WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn artist_by_slug<'c>(
    e: impl Executor<'c, Database = Any>,
    slug: &str,
) -> Result<Option<Artist>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ARTIST_COLUMNS} FROM music_artists WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(e)
    .await?)
}

pub async fn artists_of<'c>(
    e: impl Executor<'c, Database = Any>,
    owner_id: &str,
) -> Result<Vec<Artist>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ARTIST_COLUMNS} FROM music_artists WHERE owner_id = $1 ORDER BY name"
    ))
    .bind(owner_id)
    .fetch_all(e)
    .await?)
}

/// Every artist with at least one public release, by name.
pub async fn public_artists<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
) -> Result<Vec<Artist>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ARTIST_COLUMNS} FROM music_artists a WHERE EXISTS (\
         SELECT 1 FROM music_albums b WHERE b.artist_id = a.id AND {PUBLIC_ALBUM}) \
         ORDER BY name"
    ))
    .bind(now)
    .fetch_all(e)
    .await?)
}

pub async fn update_artist<'c>(e: impl Executor<'c, Database = Any>, a: &Artist) -> Result<()> {
    sqlx::query(
        "UPDATE music_artists SET slug = $2, name = $3, bio = $4, links = $5, \
         picture_key = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(&a.id)
    .bind(&a.slug)
    .bind(&a.name)
    .bind(&a.bio)
    .bind(&a.links)
    .bind(&a.picture_key)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_artist(tx: &mut Tx, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM music_old_slugs WHERE target_id = $1 OR scope = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM music_artists WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---- old slugs ----

/// Keeps `slug` answering for `target_id` after a rename (`scope` is the artist of an
/// album slug, '' for artist slugs). A slug taken back by its owner stops redirecting.
pub async fn remember_slug(
    tx: &mut Tx,
    kind: &str,
    scope: &str,
    slug: &str,
    target_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO music_old_slugs (kind, scope, slug, target_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, scope, slug) DO UPDATE SET target_id = EXCLUDED.target_id",
    )
    .bind(kind)
    .bind(scope)
    .bind(slug)
    .bind(target_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn forget_slug(tx: &mut Tx, kind: &str, scope: &str, slug: &str) -> Result<()> {
    sqlx::query("DELETE FROM music_old_slugs WHERE kind = $1 AND scope = $2 AND slug = $3")
        .bind(kind)
        .bind(scope)
        .bind(slug)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn old_slug<'c>(
    e: impl Executor<'c, Database = Any>,
    kind: &str,
    scope: &str,
    slug: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT target_id FROM music_old_slugs WHERE kind = $1 AND scope = $2 AND slug = $3",
    )
    .bind(kind)
    .bind(scope)
    .bind(slug)
    .fetch_optional(e)
    .await?)
}

// ---- albums ----

/// The condition (on alias `b`, `$1` = now) that listeners see an album.
pub const PUBLIC_ALBUM: &str = "b.taken_down_reason IS NULL AND (b.visibility = 'published' \
    OR (b.visibility = 'scheduled' AND b.release_at <= $1))";

pub async fn insert_album<'c>(e: impl Executor<'c, Database = Any>, a: &Album) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO music_albums ({ALBUM_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&a.id)
    .bind(&a.artist_id)
    .bind(&a.slug)
    .bind(&a.title)
    .bind(&a.kind)
    .bind(&a.description)
    .bind(&a.licence)
    .bind(a.release_at)
    .bind(&a.visibility)
    .bind(&a.cover_key)
    .bind(&a.downloads)
    .bind(&a.taken_down_reason)
    .bind(a.created_at)
    .bind(a.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn album<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<Option<Album>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn album_by_slug<'c>(
    e: impl Executor<'c, Database = Any>,
    artist_id: &str,
    slug: &str,
) -> Result<Option<Album>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums WHERE artist_id = $1 AND slug = $2"
    ))
    .bind(artist_id)
    .bind(slug)
    .fetch_optional(e)
    .await?)
}

/// An artist's releases, newest first.
pub async fn albums_of<'c>(
    e: impl Executor<'c, Database = Any>,
    artist_id: &str,
) -> Result<Vec<Album>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums WHERE artist_id = $1 \
         ORDER BY release_at DESC, title"
    ))
    .bind(artist_id)
    .fetch_all(e)
    .await?)
}

/// Public releases, newest first.
pub async fn recent_albums<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Album>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums b WHERE {PUBLIC_ALBUM} \
         ORDER BY release_at DESC, title LIMIT $2 OFFSET $3"
    ))
    .bind(now)
    .bind(limit)
    .bind(offset)
    .fetch_all(e)
    .await?)
}

pub async fn update_album<'c>(e: impl Executor<'c, Database = Any>, a: &Album) -> Result<()> {
    sqlx::query(
        "UPDATE music_albums SET slug = $2, title = $3, kind = $4, description = $5, \
         licence = $6, release_at = $7, visibility = $8, cover_key = $9, downloads = $10, \
         taken_down_reason = $11, updated_at = $12 WHERE id = $1",
    )
    .bind(&a.id)
    .bind(&a.slug)
    .bind(&a.title)
    .bind(&a.kind)
    .bind(&a.description)
    .bind(&a.licence)
    .bind(a.release_at)
    .bind(&a.visibility)
    .bind(&a.cover_key)
    .bind(&a.downloads)
    .bind(&a.taken_down_reason)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_album(tx: &mut Tx, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM music_old_slugs WHERE target_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM music_albums WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---- tracks ----

pub async fn insert_track<'c>(e: impl Executor<'c, Database = Any>, t: &Track) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO music_tracks ({TRACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
         $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
    ))
    .bind(&t.id)
    .bind(&t.album_id)
    .bind(t.position)
    .bind(&t.title)
    .bind(&t.credits)
    .bind(&t.lyrics)
    .bind(t.featured)
    .bind(&t.status)
    .bind(t.progress)
    .bind(&t.error)
    .bind(&t.original_key)
    .bind(&t.original_name)
    .bind(&t.original_type)
    .bind(t.original_bytes)
    .bind(t.audio_version)
    .bind(t.duration_ms)
    .bind(t.sample_rate)
    .bind(t.channels)
    .bind(t.bit_depth)
    .bind(t.track_gain_db)
    .bind(t.track_peak)
    .bind(&t.waveform)
    .bind(&t.taken_down_reason)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn track<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<Option<Track>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {TRACK_COLUMNS} FROM music_tracks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

/// An album's tracks in order.
pub async fn tracks_of<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
) -> Result<Vec<Track>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {TRACK_COLUMNS} FROM music_tracks WHERE album_id = $1 ORDER BY position, created_at"
    ))
    .bind(album_id)
    .fetch_all(e)
    .await?)
}

/// An artist's featured tracks, in their featured order.
pub async fn featured_of<'c>(
    e: impl Executor<'c, Database = Any>,
    artist_id: &str,
) -> Result<Vec<Track>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {cols} FROM music_tracks t JOIN music_albums b ON b.id = t.album_id \
         WHERE b.artist_id = $1 AND t.featured > 0 ORDER BY t.featured",
        cols = qualified("t", TRACK_COLUMNS)
    ))
    .bind(artist_id)
    .fetch_all(e)
    .await?)
}

/// Title, credits, lyrics, position and featured place, as edited.
pub async fn update_track_fields<'c>(
    e: impl Executor<'c, Database = Any>,
    t: &Track,
) -> Result<()> {
    sqlx::query(
        "UPDATE music_tracks SET title = $2, credits = $3, lyrics = $4, position = $5, \
         featured = $6, taken_down_reason = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(&t.id)
    .bind(&t.title)
    .bind(&t.credits)
    .bind(&t.lyrics)
    .bind(t.position)
    .bind(t.featured)
    .bind(&t.taken_down_reason)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

/// New audio for a track: the original's key and a new version; processing starts over.
pub async fn set_track_audio(
    tx: &mut Tx,
    id: &str,
    key: &str,
    name: &str,
    media_type: &str,
    bytes: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE music_tracks SET original_key = $2, original_name = $3, original_type = $4, \
         original_bytes = $5, audio_version = audio_version + 1, status = 'waiting', progress = 0, \
         error = NULL, updated_at = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(key)
    .bind(name)
    .bind(media_type)
    .bind(bytes)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where processing of audio `version` stands; a newer version's row is left alone.
pub async fn set_track_status<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    version: i64,
    status: &str,
    progress: i64,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE music_tracks SET status = $3, progress = $4, error = $5, updated_at = $6 \
         WHERE id = $1 AND audio_version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(status)
    .bind(progress)
    .bind(error)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

/// The title read from a file's tags, for a track whose title was still the one made
/// from its file name.
pub async fn fill_from_tags<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    title: &str,
) -> Result<()> {
    sqlx::query("UPDATE music_tracks SET title = $2 WHERE id = $1")
        .bind(id)
        .bind(title)
        .execute(e)
        .await?;
    Ok(())
}

/// What processing learnt about a track's audio.
#[derive(Debug, Clone)]
pub struct Processed {
    pub duration_ms: i64,
    pub sample_rate: i64,
    pub channels: i64,
    pub bit_depth: Option<i64>,
    pub track_gain_db: Option<f64>,
    pub track_peak: Option<f64>,
    pub waveform: String,
}

/// Stores processing's results and renditions, only if the audio is still the version
/// that was processed (a replacement meanwhile starts its own job); true when stored.
pub async fn finish_track(
    tx: &mut Tx,
    id: &str,
    version: i64,
    made: &Processed,
    renditions: &[Rendition],
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE music_tracks SET status = 'ready', progress = 100, error = NULL, duration_ms = $3, \
         sample_rate = $4, channels = $5, bit_depth = $6, track_gain_db = $7, track_peak = $8, \
         waveform = $9, updated_at = $10 WHERE id = $1 AND audio_version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(made.duration_ms)
    .bind(made.sample_rate)
    .bind(made.channels)
    .bind(made.bit_depth)
    .bind(made.track_gain_db)
    .bind(made.track_peak)
    .bind(&made.waveform)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM music_renditions WHERE track_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for r in renditions {
        sqlx::query(
            "INSERT INTO music_renditions (track_id, format, blob_key, media_type, size_bytes, \
             bitrate_kbps, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(&r.format)
        .bind(&r.blob_key)
        .bind(&r.media_type)
        .bind(r.size_bytes)
        .bind(r.bitrate_kbps)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

pub async fn renditions<'c>(
    e: impl Executor<'c, Database = Any>,
    track_id: &str,
) -> Result<Vec<Rendition>> {
    Ok(sqlx::query_as(
        "SELECT track_id, format, blob_key, media_type, size_bytes, bitrate_kbps \
         FROM music_renditions WHERE track_id = $1 ORDER BY format",
    )
    .bind(track_id)
    .fetch_all(e)
    .await?)
}

/// The renditions of every track of a release, by track, in one read.
pub async fn renditions_of_album<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
) -> Result<std::collections::HashMap<String, Vec<Rendition>>> {
    let rows: Vec<Rendition> = sqlx::query_as(
        "SELECT r.track_id, r.format, r.blob_key, r.media_type, r.size_bytes, r.bitrate_kbps \
         FROM music_renditions r JOIN music_tracks t ON t.id = r.track_id \
         WHERE t.album_id = $1 ORDER BY r.track_id, r.format",
    )
    .bind(album_id)
    .fetch_all(e)
    .await?;
    let mut by_track = std::collections::HashMap::<String, Vec<Rendition>>::new();
    for r in rows {
        by_track.entry(r.track_id.clone()).or_default().push(r);
    }
    Ok(by_track)
}

pub async fn delete_track<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM music_tracks WHERE id = $1")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

// ---- plays ----

/// Counts one play of a track on `day` (UTC, `YYYY-MM-DD`).
pub async fn count_play<'c>(
    e: impl Executor<'c, Database = Any>,
    track_id: &str,
    day: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO music_plays (track_id, day, plays) VALUES ($1, $2, 1) \
         ON CONFLICT (track_id, day) DO UPDATE SET plays = music_plays.plays + 1",
    )
    .bind(track_id)
    .bind(day)
    .execute(e)
    .await?;
    Ok(())
}

/// Plays of an artist's tracks per day and track, oldest day first.
pub async fn plays_of_artist<'c>(
    e: impl Executor<'c, Database = Any>,
    artist_id: &str,
    since_day: &str,
) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT p.day, p.track_id, p.plays FROM music_plays p \
         JOIN music_tracks t ON t.id = p.track_id JOIN music_albums b ON b.id = t.album_id \
         WHERE b.artist_id = $1 AND p.day >= $2 ORDER BY p.day, p.track_id",
    )
    .bind(artist_id)
    .bind(since_day)
    .fetch_all(e)
    .await?)
}

/// All plays of each track of an artist.
pub async fn play_totals<'c>(
    e: impl Executor<'c, Database = Any>,
    artist_id: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT p.track_id, CAST(SUM(p.plays) AS BIGINT) FROM music_plays p \
         JOIN music_tracks t ON t.id = p.track_id JOIN music_albums b ON b.id = t.album_id \
         WHERE b.artist_id = $1 GROUP BY p.track_id",
    )
    .bind(artist_id)
    .fetch_all(e)
    .await?)
}

/// A case-insensitive `LIKE … ESCAPE '\\'` pattern matching text that holds `needle`.
pub(crate) fn like_pattern(needle: &str) -> String {
    format!(
        "%{}%",
        needle
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Artists, public releases and their tracks whose name or title holds `needle`.
pub async fn search<'c, E>(e: E, needle: &str, now: i64, limit: i64) -> Result<Found>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let like = like_pattern(needle);
    let artists = sqlx::query_as(sql!(
        "SELECT {ARTIST_COLUMNS} FROM music_artists a WHERE LOWER(a.name) LIKE $2 ESCAPE '\\' \
         AND EXISTS (SELECT 1 FROM music_albums b WHERE b.artist_id = a.id AND {PUBLIC_ALBUM}) \
         ORDER BY a.name LIMIT $3"
    ))
    .bind(now)
    .bind(&like)
    .bind(limit)
    .fetch_all(e)
    .await?;
    let albums = sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums b WHERE LOWER(b.title) LIKE $2 ESCAPE '\\' \
         AND {PUBLIC_ALBUM} ORDER BY b.release_at DESC LIMIT $3"
    ))
    .bind(now)
    .bind(&like)
    .bind(limit)
    .fetch_all(e)
    .await?;
    let tracks = sqlx::query_as(sql!(
        "SELECT {cols} FROM music_tracks t JOIN music_albums b ON b.id = t.album_id \
         WHERE LOWER(t.title) LIKE $2 ESCAPE '\\' AND t.taken_down_reason IS NULL \
         AND {PUBLIC_ALBUM} ORDER BY t.title LIMIT $3",
        cols = qualified("t", TRACK_COLUMNS)
    ))
    .bind(now)
    .bind(&like)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(Found {
        artists,
        albums,
        tracks,
    })
}

/// What a search found.
pub struct Found {
    pub artists: Vec<Artist>,
    pub albums: Vec<Album>,
    pub tracks: Vec<Track>,
}
