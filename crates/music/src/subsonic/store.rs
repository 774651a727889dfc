//! The queries behind the Subsonic API: the public library as apps browse it (only
//! public releases and their ready tracks), and each listener's own stars, playlists
//! and app password. One dialect for SQLite and PostgreSQL, as in [`crate::db`].

use std::collections::HashMap;

use sqlx::{Any, Executor};
use tutti_store::Tx;

use crate::db::{
    ALBUM_COLUMNS, ARTIST_COLUMNS, Album, Artist, PUBLIC_ALBUM, TRACK_COLUMNS, Track, qualified,
    sql,
};
use crate::error::MusicError;

type Result<T> = std::result::Result<T, MusicError>;

/// The condition (aliases `t` and `b`, `$1` = now) that apps see a track.
const PUBLIC_TRACK: &str = "t.status = 'ready' AND t.taken_down_reason IS NULL";

/// `$first, $first+1, …` for an `IN` list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every artist with a public release, with how many they have.
pub async fn artists<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
) -> Result<Vec<(Artist, i64)>> {
    let rows: Vec<ArtistCount> = sqlx::query_as(sql!(
        "SELECT {cols}, (SELECT COUNT(*) FROM music_albums b WHERE b.artist_id = a.id \
         AND {PUBLIC_ALBUM}) AS album_count FROM music_artists a WHERE EXISTS (\
         SELECT 1 FROM music_albums b WHERE b.artist_id = a.id AND {PUBLIC_ALBUM}) \
         ORDER BY a.name",
        cols = qualified("a", ARTIST_COLUMNS)
    ))
    .bind(now)
    .fetch_all(e)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.artist, r.album_count))
        .collect())
}

#[derive(sqlx::FromRow)]
struct ArtistCount {
    #[sqlx(flatten)]
    artist: Artist,
    album_count: i64,
}

/// An artist's public releases, newest first.
pub async fn albums_of<'c>(
    e: impl Executor<'c, Database = Any>,
    artist_id: &str,
    now: i64,
) -> Result<Vec<Album>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums b WHERE b.artist_id = $2 AND {PUBLIC_ALBUM} \
         ORDER BY b.release_at DESC, b.title"
    ))
    .bind(now)
    .bind(artist_id)
    .fetch_all(e)
    .await?)
}

/// A public release.
pub async fn album<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<Option<Album>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums b WHERE b.id = $2 AND {PUBLIC_ALBUM}"
    ))
    .bind(now)
    .bind(id)
    .fetch_optional(e)
    .await?)
}

/// The ready tracks of a release, in order.
pub async fn tracks_of<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
) -> Result<Vec<Track>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {TRACK_COLUMNS} FROM music_tracks t WHERE t.album_id = $1 AND {PUBLIC_TRACK} \
         ORDER BY t.position, t.created_at"
    ))
    .bind(album_id)
    .fetch_all(e)
    .await?)
}

/// A public track, with its release.
pub async fn track<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<Option<Track>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {cols} FROM music_tracks t JOIN music_albums b ON b.id = t.album_id \
         WHERE t.id = $2 AND {PUBLIC_TRACK} AND {PUBLIC_ALBUM}",
        cols = qualified("t", TRACK_COLUMNS)
    ))
    .bind(now)
    .bind(id)
    .fetch_optional(e)
    .await?)
}

/// Public tracks among `ids`, in no particular order.
pub async fn tracks<'c>(
    e: impl Executor<'c, Database = Any>,
    ids: &[String],
    now: i64,
) -> Result<Vec<Track>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql!(
        "SELECT {cols} FROM music_tracks t JOIN music_albums b ON b.id = t.album_id \
         WHERE t.id IN ({list}) AND {PUBLIC_TRACK} AND {PUBLIC_ALBUM}",
        cols = qualified("t", TRACK_COLUMNS),
        list = placeholders(2, ids.len())
    );
    let mut q = sqlx::query_as(sql).bind(now);
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(e).await?)
}

/// The rows of `query` for `ids`, where `{list}` in it stands for the ids' placeholders
/// (`$1, $2, …`); no query at all for no ids.
async fn for_ids<'c, T>(
    e: impl Executor<'c, Database = Any>,
    query: &str,
    ids: &[String],
) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sqlx::AssertSqlSafe(query.replace("{list}", &placeholders(1, ids.len())));
    let mut q = sqlx::query_as::<_, T>(sql);
    for id in ids {
        q = q.bind(id);
    }
    Ok(q.fetch_all(e).await?)
}

/// Artists by id (any: the caller only asks for those of public things).
pub async fn artists_by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    ids: &[String],
) -> Result<HashMap<String, Artist>> {
    let query = format!("SELECT {ARTIST_COLUMNS} FROM music_artists WHERE id IN ({{list}})");
    let rows: Vec<Artist> = for_ids(e, &query, ids).await?;
    Ok(rows.into_iter().map(|a| (a.id.clone(), a)).collect())
}

/// Albums by id (any visibility; the caller picked ids of public tracks).
pub async fn albums_by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    ids: &[String],
) -> Result<HashMap<String, Album>> {
    let query = format!("SELECT {ALBUM_COLUMNS} FROM music_albums WHERE id IN ({{list}})");
    let rows: Vec<Album> = for_ids(e, &query, ids).await?;
    Ok(rows.into_iter().map(|a| (a.id.clone(), a)).collect())
}

/// How many ready tracks each release has and how long they last (ms).
pub async fn album_sizes<'c>(
    e: impl Executor<'c, Database = Any>,
    album_ids: &[String],
) -> Result<HashMap<String, (i64, i64)>> {
    let query = format!(
        "SELECT t.album_id, COUNT(*), CAST(COALESCE(SUM(t.duration_ms), 0) AS BIGINT) \
         FROM music_tracks t WHERE t.album_id IN ({{list}}) AND {PUBLIC_TRACK} \
         GROUP BY t.album_id"
    );
    let rows: Vec<(String, i64, i64)> = for_ids(e, &query, album_ids).await?;
    Ok(rows.into_iter().map(|(id, n, ms)| (id, (n, ms))).collect())
}

/// All plays of each of `track_ids`.
pub async fn play_counts<'c>(
    e: impl Executor<'c, Database = Any>,
    track_ids: &[String],
) -> Result<HashMap<String, i64>> {
    let query = "SELECT track_id, CAST(SUM(plays) AS BIGINT) FROM music_plays \
         WHERE track_id IN ({list}) GROUP BY track_id";
    let rows: Vec<(String, i64)> = for_ids(e, query, track_ids).await?;
    Ok(rows.into_iter().collect())
}

/// The orders `getAlbumList2` offers that the library can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumOrder {
    Newest,
    Random,
    Frequent,
    Recent,
    ByName,
    ByArtist,
    Starred,
    /// Release years from..to (either way round, as the API allows).
    ByYear(i32, i32),
}

/// A page of public releases in the order asked; `user_id` is for `Starred`.
pub async fn album_list<'c>(
    e: impl Executor<'c, Database = Any>,
    order: AlbumOrder,
    user_id: &str,
    now: i64,
    size: i64,
    offset: i64,
) -> Result<Vec<Album>> {
    let cols = qualified("b", ALBUM_COLUMNS);
    let plays = "(SELECT COALESCE(SUM(p.plays), 0) FROM music_plays p JOIN music_tracks t \
                 ON t.id = p.track_id WHERE t.album_id = b.id)";
    let last_played = "(SELECT MAX(p.day) FROM music_plays p JOIN music_tracks t \
                       ON t.id = p.track_id WHERE t.album_id = b.id)";
    let (filter, order_by) = match order {
        AlbumOrder::Newest => (String::new(), "b.release_at DESC, b.title".to_string()),
        AlbumOrder::Random => (String::new(), "RANDOM()".to_string()),
        AlbumOrder::Frequent => (String::new(), format!("{plays} DESC, b.title")),
        AlbumOrder::Recent => (
            format!(" AND {last_played} IS NOT NULL"),
            format!("{last_played} DESC, b.title"),
        ),
        AlbumOrder::ByName => (String::new(), "LOWER(b.title), b.title".to_string()),
        AlbumOrder::ByArtist => (
            String::new(),
            "(SELECT LOWER(a.name) FROM music_artists a WHERE a.id = b.artist_id), \
             LOWER(b.title)"
                .to_string(),
        ),
        AlbumOrder::Starred => (
            " AND EXISTS (SELECT 1 FROM music_stars s WHERE s.user_id = $4 AND s.kind = 'album' \
             AND s.item_id = b.id)"
                .to_string(),
            "b.title".to_string(),
        ),
        AlbumOrder::ByYear(from, to) => {
            let (lo, hi) = (from.min(to), from.max(to));
            let start = year_start_ms(lo);
            let end = year_start_ms(hi + 1);
            let dir = if from > to { "DESC" } else { "ASC" };
            (
                format!(" AND b.release_at >= {start} AND b.release_at < {end}"),
                format!("b.release_at {dir}, b.title"),
            )
        }
    };
    // `$4 = $4` keeps the listener's id referenced in every order, so one list of binds
    // fits them all (PostgreSQL refuses a bind its statement never names).
    let sql = sql!(
        "SELECT {cols} FROM music_albums b WHERE {PUBLIC_ALBUM}{filter} \
         AND ($4 = $4) ORDER BY {order_by} LIMIT $2 OFFSET $3"
    );
    Ok(sqlx::query_as(sql)
        .bind(now)
        .bind(size)
        .bind(offset)
        .bind(user_id)
        .fetch_all(e)
        .await?)
}

fn year_start_ms(year: i32) -> i64 {
    let year = year.clamp(-9999, 9999);
    time::Date::from_calendar_date(year, time::Month::January, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .unwrap_or(0)
}

/// What `search3` found: a page of each kind. An empty needle matches everything
/// (apps page through the whole library that way to keep an offline copy).
pub struct Found {
    pub artists: Vec<Artist>,
    pub albums: Vec<Album>,
    pub tracks: Vec<Track>,
}

/// Case-insensitive substring search over names and titles, one page per kind.
pub async fn search<'c, E>(e: E, needle: &str, now: i64, pages: [(i64, i64); 3]) -> Result<Found>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let like = crate::db::like_pattern(needle);
    let [
        (artist_count, artist_offset),
        (album_count, album_offset),
        (song_count, song_offset),
    ] = pages;
    let artists = sqlx::query_as(sql!(
        "SELECT {ARTIST_COLUMNS} FROM music_artists a WHERE LOWER(a.name) LIKE $2 ESCAPE '\\' \
         AND EXISTS (SELECT 1 FROM music_albums b WHERE b.artist_id = a.id AND {PUBLIC_ALBUM}) \
         ORDER BY a.name, a.id LIMIT $3 OFFSET $4"
    ))
    .bind(now)
    .bind(&like)
    .bind(artist_count)
    .bind(artist_offset)
    .fetch_all(e)
    .await?;
    let albums = sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums b WHERE LOWER(b.title) LIKE $2 ESCAPE '\\' \
         AND {PUBLIC_ALBUM} ORDER BY b.title, b.id LIMIT $3 OFFSET $4"
    ))
    .bind(now)
    .bind(&like)
    .bind(album_count)
    .bind(album_offset)
    .fetch_all(e)
    .await?;
    let tracks = sqlx::query_as(sql!(
        "SELECT {cols} FROM music_tracks t JOIN music_albums b ON b.id = t.album_id \
         WHERE LOWER(t.title) LIKE $2 ESCAPE '\\' AND {PUBLIC_TRACK} AND {PUBLIC_ALBUM} \
         ORDER BY t.title, t.id LIMIT $3 OFFSET $4",
        cols = qualified("t", TRACK_COLUMNS)
    ))
    .bind(now)
    .bind(&like)
    .bind(song_count)
    .bind(song_offset)
    .fetch_all(e)
    .await?;
    Ok(Found {
        artists,
        albums,
        tracks,
    })
}

/// `size` public tracks picked at random.
pub async fn random_tracks<'c>(
    e: impl Executor<'c, Database = Any>,
    now: i64,
    size: i64,
) -> Result<Vec<Track>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {cols} FROM music_tracks t JOIN music_albums b ON b.id = t.album_id \
         WHERE {PUBLIC_TRACK} AND {PUBLIC_ALBUM} ORDER BY RANDOM() LIMIT $2",
        cols = qualified("t", TRACK_COLUMNS)
    ))
    .bind(now)
    .bind(size)
    .fetch_all(e)
    .await?)
}

// ---- stars ----

/// A listener's stars of one kind (`artist`, `album`, `track`): item id → when.
pub async fn stars<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    kind: &str,
) -> Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT item_id, starred_at FROM music_stars WHERE user_id = $1 AND kind = $2",
    )
    .bind(user_id)
    .bind(kind)
    .fetch_all(e)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A listener's starred albums and tracks in one read, each by id with when.
pub async fn all_stars<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<(HashMap<String, i64>, HashMap<String, i64>)> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, item_id, starred_at FROM music_stars WHERE user_id = $1 \
         AND kind IN ('album', 'track')",
    )
    .bind(user_id)
    .fetch_all(e)
    .await?;
    let (mut albums, mut tracks) = (HashMap::new(), HashMap::new());
    for (kind, id, at) in rows {
        if kind == "album" {
            albums.insert(id, at);
        } else {
            tracks.insert(id, at);
        }
    }
    Ok((albums, tracks))
}

pub async fn star<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    kind: &str,
    item_id: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO music_stars (user_id, kind, item_id, starred_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, kind, item_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(kind)
    .bind(item_id)
    .bind(at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn unstar<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    kind: &str,
    item_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM music_stars WHERE user_id = $1 AND kind = $2 AND item_id = $3")
        .bind(user_id)
        .bind(kind)
        .bind(item_id)
        .execute(e)
        .await?;
    Ok(())
}

// ---- playlists ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Playlist {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub comment: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn playlists_of<'c>(
    e: impl Executor<'c, Database = Any>,
    owner_id: &str,
) -> Result<Vec<Playlist>> {
    Ok(sqlx::query_as(
        "SELECT id, owner_id, name, comment, created_at, updated_at FROM music_playlists \
         WHERE owner_id = $1 ORDER BY LOWER(name), id",
    )
    .bind(owner_id)
    .fetch_all(e)
    .await?)
}

pub async fn playlist<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    owner_id: &str,
) -> Result<Option<Playlist>> {
    Ok(sqlx::query_as(
        "SELECT id, owner_id, name, comment, created_at, updated_at FROM music_playlists \
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(owner_id)
    .fetch_optional(e)
    .await?)
}

/// The track ids of a playlist, in order (public or not: the caller filters).
pub async fn entries<'c>(
    e: impl Executor<'c, Database = Any>,
    playlist_id: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT track_id FROM music_playlist_entries WHERE playlist_id = $1 ORDER BY position",
    )
    .bind(playlist_id)
    .fetch_all(e)
    .await?)
}

/// Writes a playlist and replaces its entries, in one transaction.
pub async fn save_playlist(tx: &mut Tx, list: &Playlist, tracks: &[String]) -> Result<()> {
    sqlx::query(
        "INSERT INTO music_playlists (id, owner_id, name, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = $3, \
         comment = $4, updated_at = $6",
    )
    .bind(&list.id)
    .bind(&list.owner_id)
    .bind(&list.name)
    .bind(&list.comment)
    .bind(list.created_at)
    .bind(list.updated_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM music_playlist_entries WHERE playlist_id = $1")
        .bind(&list.id)
        .execute(&mut **tx)
        .await?;
    for (i, track) in tracks.iter().enumerate() {
        sqlx::query(
            "INSERT INTO music_playlist_entries (playlist_id, position, track_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(&list.id)
        .bind(i as i64)
        .bind(track)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn delete_playlist<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    owner_id: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM music_playlists WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner_id)
        .execute(e)
        .await?;
    Ok(done.rows_affected() > 0)
}

// ---- app passwords ----

/// A listener's sealed app password and when it was made.
pub async fn app_password<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Option<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT sealed, created_at FROM music_app_passwords WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(e)
            .await?,
    )
}

pub async fn set_app_password<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    sealed: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO music_app_passwords (user_id, sealed, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET sealed = $2, created_at = $3",
    )
    .bind(user_id)
    .bind(sealed)
    .bind(at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_app_password<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM music_app_passwords WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Everything of a listener's own (stars, playlists, app password), when their account
/// goes.
pub async fn forget_listener(tx: &mut Tx, user_id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM music_stars WHERE user_id = $1",
        "DELETE FROM music_playlists WHERE owner_id = $1",
        "DELETE FROM music_app_passwords WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut **tx).await?;
    }
    Ok(())
}
