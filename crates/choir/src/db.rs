//! The choir's queries, one dialect for SQLite and PostgreSQL. Each function runs one
//! statement on the pool; rows come back as stored.

use serde::Serialize;
use sqlx::AnyPool;
use tutti_store::{new_id, now_ms};

use crate::error::ChoirError;

type Result<T> = std::result::Result<T, ChoirError>;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RoomRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub members_only: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const ROOM: &str = "id, owner_id, name, password_hash, members_only, created_at, updated_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TrackRow {
    pub id: String,
    pub room_id: String,
    pub name: String,
    pub status: String,
    pub error: Option<String>,
    pub upload_key: String,
    pub pcm_key: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
}

const TRACK: &str =
    "id, room_id, name, status, error, upload_key, pcm_key, duration_ms, created_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SongRow {
    pub id: String,
    pub room_id: String,
    pub position: i64,
    pub title: String,
    pub bpm: Option<i64>,
    pub beats_per_repeat: Option<i64>,
    pub repeats: Option<i64>,
    pub track_id: Option<String>,
    pub lyrics: String,
    pub created_at: i64,
}

const SONG: &str = "id, room_id, position, title, bpm, beats_per_repeat, repeats, track_id, \
    lyrics, created_at";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub room_id: String,
    pub title: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RecordingRow {
    pub id: String,
    pub room_id: String,
    pub status: String,
    pub error: Option<String>,
    pub started_at: i64,
    pub length_samples: Option<i64>,
    pub mix_key: Option<String>,
    pub stems: String,
    pub progress: i64,
    pub created_at: i64,
}

const RECORDING: &str = "id, room_id, status, error, started_at, length_samples, mix_key, \
    stems, progress, created_at";

macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

pub async fn create_room(
    pool: &AnyPool,
    owner: &str,
    name: &str,
    password_hash: Option<&str>,
    members_only: bool,
) -> Result<RoomRow> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO choir_rooms (id, owner_id, name, password_hash, members_only, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(owner)
    .bind(name)
    .bind(password_hash)
    .bind(members_only as i64)
    .bind(now)
    .execute(pool)
    .await?;
    room(pool, &id)
        .await?
        .ok_or_else(|| ChoirError::internal("a room just made is gone"))
}

pub async fn room(pool: &AnyPool, id: &str) -> Result<Option<RoomRow>> {
    Ok(
        sqlx::query_as(sql!("SELECT {ROOM} FROM choir_rooms WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Rooms someone owns, newest first.
pub async fn rooms_of(pool: &AnyPool, owner: &str) -> Result<Vec<RoomRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ROOM} FROM choir_rooms WHERE owner_id = $1 ORDER BY created_at DESC, id"
    ))
    .bind(owner)
    .fetch_all(pool)
    .await?)
}

pub async fn update_room(
    pool: &AnyPool,
    id: &str,
    name: &str,
    password_hash: Option<Option<&str>>,
    members_only: bool,
) -> Result<()> {
    let now = now_ms();
    match password_hash {
        Some(hash) => {
            sqlx::query(
                "UPDATE choir_rooms SET name = $2, password_hash = $3, members_only = $4, \
                 updated_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(name)
            .bind(hash)
            .bind(members_only as i64)
            .bind(now)
            .execute(pool)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE choir_rooms SET name = $2, members_only = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(name)
            .bind(members_only as i64)
            .bind(now)
            .execute(pool)
            .await?
        }
    };
    Ok(())
}

pub async fn delete_room(pool: &AnyPool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM choir_rooms WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn add_track(pool: &AnyPool, room: &str, name: &str, upload_key: &str) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO choir_tracks (id, room_id, name, status, upload_key, created_at) \
         VALUES ($1, $2, $3, 'waiting', $4, $5)",
    )
    .bind(&id)
    .bind(room)
    .bind(name)
    .bind(upload_key)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(id)
}

pub async fn track(pool: &AnyPool, id: &str) -> Result<Option<TrackRow>> {
    Ok(
        sqlx::query_as(sql!("SELECT {TRACK} FROM choir_tracks WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn tracks(pool: &AnyPool, room: &str) -> Result<Vec<TrackRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {TRACK} FROM choir_tracks WHERE room_id = $1 ORDER BY created_at, id"
    ))
    .bind(room)
    .fetch_all(pool)
    .await?)
}

pub async fn track_done(
    pool: &AnyPool,
    id: &str,
    outcome: std::result::Result<(&str, i64), &str>,
) -> Result<()> {
    match outcome {
        Ok((key, duration_ms)) => sqlx::query(
            "UPDATE choir_tracks SET status = 'ready', pcm_key = $2, duration_ms = $3, \
             error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(key)
        .bind(duration_ms),
        Err(error) => {
            sqlx::query("UPDATE choir_tracks SET status = 'failed', error = $2 WHERE id = $1")
                .bind(id)
                .bind(error)
        }
    }
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn delete_track(pool: &AnyPool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM choir_tracks WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ImageRow {
    pub id: String,
    pub room_id: String,
    pub name: String,
    pub content_type: String,
    pub blob_key: String,
    pub created_at: i64,
}

const IMAGE: &str = "id, room_id, name, content_type, blob_key, created_at";

pub async fn add_image(
    pool: &AnyPool,
    room: &str,
    name: &str,
    content_type: &str,
    blob_key: &str,
) -> Result<ImageRow> {
    let row = ImageRow {
        id: new_id(),
        room_id: room.to_string(),
        name: name.to_string(),
        content_type: content_type.to_string(),
        blob_key: blob_key.to_string(),
        created_at: now_ms(),
    };
    sqlx::query(
        "INSERT INTO choir_images (id, room_id, name, content_type, blob_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&row.id)
    .bind(&row.room_id)
    .bind(&row.name)
    .bind(&row.content_type)
    .bind(&row.blob_key)
    .bind(row.created_at)
    .execute(pool)
    .await?;
    Ok(row)
}

pub async fn image(pool: &AnyPool, room: &str, id: &str) -> Result<Option<ImageRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {IMAGE} FROM choir_images WHERE id = $1 AND room_id = $2"
    ))
    .bind(id)
    .bind(room)
    .fetch_optional(pool)
    .await?)
}

pub async fn images(pool: &AnyPool, room: &str) -> Result<Vec<ImageRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {IMAGE} FROM choir_images WHERE room_id = $1 ORDER BY created_at, id"
    ))
    .bind(room)
    .fetch_all(pool)
    .await?)
}

pub async fn delete_image(pool: &AnyPool, room: &str, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM choir_images WHERE id = $1 AND room_id = $2")
        .bind(id)
        .bind(room)
        .execute(pool)
        .await?;
    Ok(())
}

pub struct SongInput<'a> {
    pub title: &'a str,
    pub bpm: Option<i64>,
    pub beats_per_repeat: Option<i64>,
    pub repeats: Option<i64>,
    pub track_id: Option<&'a str>,
    pub lyrics: &'a str,
}

pub async fn add_song(pool: &AnyPool, room: &str, song: &SongInput<'_>) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO choir_setlist (id, room_id, position, title, bpm, beats_per_repeat, \
         repeats, track_id, lyrics, created_at) VALUES ($1, $2, (SELECT COALESCE(MAX(position), \
         0) + 1 FROM choir_setlist WHERE room_id = $2), $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(room)
    .bind(song.title)
    .bind(song.bpm)
    .bind(song.beats_per_repeat)
    .bind(song.repeats)
    .bind(song.track_id)
    .bind(song.lyrics)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(id)
}

pub async fn setlist(pool: &AnyPool, room: &str) -> Result<Vec<SongRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {SONG} FROM choir_setlist WHERE room_id = $1 ORDER BY position, id"
    ))
    .bind(room)
    .fetch_all(pool)
    .await?)
}

pub async fn delete_song(pool: &AnyPool, room: &str, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM choir_setlist WHERE room_id = $1 AND id = $2")
        .bind(room)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn add_session(
    pool: &AnyPool,
    room: &str,
    title: &str,
    starts_at: i64,
    ends_at: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO choir_sessions (id, room_id, title, starts_at, ends_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(room)
    .bind(title)
    .bind(starts_at)
    .bind(ends_at)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(id)
}

pub async fn delete_session(pool: &AnyPool, room: &str, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM choir_sessions WHERE room_id = $1 AND id = $2")
        .bind(room)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Sessions overlapping `[from, to)`, of one room or of every room, soonest first.
pub async fn sessions(
    pool: &AnyPool,
    room: Option<&str>,
    from: i64,
    to: i64,
) -> Result<Vec<(SessionRow, String)>> {
    let rows: Vec<(String, String, String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT s.id, s.room_id, s.title, s.starts_at, s.ends_at, s.created_at, r.name \
         FROM choir_sessions s JOIN choir_rooms r ON r.id = s.room_id \
         WHERE s.starts_at < $2 AND s.ends_at > $1 AND ($3 = '' OR s.room_id = $3) \
         ORDER BY s.starts_at, s.id",
    )
    .bind(from)
    .bind(to)
    .bind(room.unwrap_or(""))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, room_id, title, starts_at, ends_at, created_at, name)| {
                (
                    SessionRow {
                        id,
                        room_id,
                        title,
                        starts_at,
                        ends_at,
                        created_at,
                    },
                    name,
                )
            },
        )
        .collect())
}

pub async fn begin_recording(pool: &AnyPool, id: &str, room: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO choir_recordings (id, room_id, status, started_at, created_at) \
         VALUES ($1, $2, 'recording', $3, $3)",
    )
    .bind(id)
    .bind(room)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// The song ended: its length is known and the files can be made.
pub async fn recording_sung(pool: &AnyPool, id: &str, length: Option<i64>) -> Result<()> {
    sqlx::query(
        "UPDATE choir_recordings SET status = 'processing', length_samples = $2 \
         WHERE id = $1 AND status = 'recording'",
    )
    .bind(id)
    .bind(length)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn recording_progress(pool: &AnyPool, id: &str, percent: i64) -> Result<()> {
    sqlx::query("UPDATE choir_recordings SET progress = $2 WHERE id = $1")
        .bind(id)
        .bind(percent)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn recording_done(
    pool: &AnyPool,
    id: &str,
    outcome: std::result::Result<(&str, &str), &str>,
) -> Result<()> {
    match outcome {
        Ok((mix_key, stems)) => sqlx::query(
            "UPDATE choir_recordings SET status = 'ready', mix_key = $2, stems = $3, \
             progress = 100, error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(mix_key)
        .bind(stems),
        Err(error) => {
            sqlx::query("UPDATE choir_recordings SET status = 'failed', error = $2 WHERE id = $1")
                .bind(id)
                .bind(error)
        }
    }
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn recording(pool: &AnyPool, id: &str) -> Result<Option<RecordingRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {RECORDING} FROM choir_recordings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

pub async fn recordings(pool: &AnyPool, room: &str) -> Result<Vec<RecordingRow>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {RECORDING} FROM choir_recordings WHERE room_id = $1 \
         ORDER BY started_at DESC, id"
    ))
    .bind(room)
    .fetch_all(pool)
    .await?)
}

/// Recordings a crash left in `recording`: their segments are kept, so they are finished.
pub async fn unfinished_recordings(pool: &AnyPool, before: i64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM choir_recordings WHERE status = 'recording' AND started_at < $1",
    )
    .bind(before)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub async fn delete_recording(pool: &AnyPool, room: &str, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM choir_recordings WHERE room_id = $1 AND id = $2")
        .bind(room)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
