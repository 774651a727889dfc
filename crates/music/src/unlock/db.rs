//! Queries of download codes, their redemptions and private links, in the one dialect
//! SQLite and PostgreSQL share. Each table's rows go with their release through
//! `ON DELETE CASCADE`, so deleting a release needs nothing from here.

use serde::Serialize;
use sqlx::{Any, Executor};

use super::CodeState;
use crate::error::MusicError;

type Result<T> = std::result::Result<T, MusicError>;

/// A download code as stored: its hash, never the code.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DownloadCode {
    pub id: String,
    pub album_id: String,
    pub code_hash: String,
    pub hint: String,
    pub uses: i64,
    pub max_uses: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

impl DownloadCode {
    /// Where the code stands at `now`; a revoked code says so before anything else.
    pub fn state(&self, now: i64) -> CodeState {
        if self.revoked_at.is_some() {
            CodeState::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            CodeState::Expired
        } else if self.uses >= self.max_uses {
            CodeState::UsedUp
        } else {
            CodeState::Live
        }
    }
}

const CODE_COLUMNS: &str =
    "id, album_id, code_hash, hint, uses, max_uses, expires_at, revoked_at, created_at";

/// A redemption with the hint of its code, as the artist's log shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Redemption {
    pub id: String,
    pub code_id: String,
    pub hint: String,
    pub signed_in: bool,
    pub redeemed_at: i64,
}

/// A private link as stored: its token's hash, never the token.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ListenLink {
    pub id: String,
    pub album_id: String,
    pub token_hash: String,
    pub label: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub visits: i64,
    pub created_at: i64,
}

impl ListenLink {
    /// Whether the link still opens its release at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

const LINK_COLUMNS: &str =
    "id, album_id, token_hash, label, expires_at, revoked_at, visits, created_at";

/// A statement built from this module's own column lists (never from input).
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

// ---- codes ----

pub async fn insert_code<'c>(e: impl Executor<'c, Database = Any>, c: &DownloadCode) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO music_download_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&c.id)
    .bind(&c.album_id)
    .bind(&c.code_hash)
    .bind(&c.hint)
    .bind(c.uses)
    .bind(c.max_uses)
    .bind(c.expires_at)
    .bind(c.revoked_at)
    .bind(c.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn code<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<DownloadCode>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CODE_COLUMNS} FROM music_download_codes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn code_by_hash<'c>(
    e: impl Executor<'c, Database = Any>,
    hash: &str,
) -> Result<Option<DownloadCode>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CODE_COLUMNS} FROM music_download_codes WHERE code_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(e)
    .await?)
}

/// A release's codes, newest first.
pub async fn codes_of<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
) -> Result<Vec<DownloadCode>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CODE_COLUMNS} FROM music_download_codes WHERE album_id = $1 \
         ORDER BY created_at DESC, hint"
    ))
    .bind(album_id)
    .fetch_all(e)
    .await?)
}

/// Whether a release has a code someone could still redeem.
pub async fn has_live_codes<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
    now: i64,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM music_download_codes WHERE album_id = $1 AND revoked_at IS NULL \
         AND uses < max_uses AND (expires_at IS NULL OR expires_at > $2) LIMIT 1",
    )
    .bind(album_id)
    .bind(now)
    .fetch_optional(e)
    .await?;
    Ok(found.is_some())
}

/// Takes one use of a live code; false when it is revoked, expired or used up. One
/// conditional statement, so of two redemptions racing for the last use exactly one
/// changes the row (PostgreSQL re-checks the condition on the locked row; SQLite has
/// one writer at a time).
pub async fn take_use<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE music_download_codes SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL \
         AND uses < max_uses AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_code<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE music_download_codes SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

// ---- redemptions ----

pub async fn insert_redemption<'c>(
    e: impl Executor<'c, Database = Any>,
    r: &Redemption,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO music_redemptions (id, code_id, signed_in, redeemed_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&r.id)
    .bind(&r.code_id)
    .bind(i64::from(r.signed_in))
    .bind(r.redeemed_at)
    .execute(e)
    .await?;
    Ok(())
}

/// Redemptions shown on one page at most, newest first.
const REDEMPTIONS_SHOWN: i64 = 500;

/// A release's latest redemptions, newest first.
pub async fn redemptions_of<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
) -> Result<Vec<Redemption>> {
    let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT r.id, r.code_id, c.hint, r.signed_in, r.redeemed_at FROM music_redemptions r \
         JOIN music_download_codes c ON c.id = r.code_id WHERE c.album_id = $1 \
         ORDER BY r.redeemed_at DESC, r.id DESC LIMIT $2",
    )
    .bind(album_id)
    .bind(REDEMPTIONS_SHOWN)
    .fetch_all(e)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code_id, hint, signed_in, redeemed_at)| Redemption {
            id,
            code_id,
            hint,
            signed_in: signed_in != 0,
            redeemed_at,
        })
        .collect())
}

// ---- private links ----

pub async fn insert_link<'c>(e: impl Executor<'c, Database = Any>, l: &ListenLink) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO music_listen_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&l.id)
    .bind(&l.album_id)
    .bind(&l.token_hash)
    .bind(&l.label)
    .bind(l.expires_at)
    .bind(l.revoked_at)
    .bind(l.visits)
    .bind(l.created_at)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn link<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<ListenLink>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {LINK_COLUMNS} FROM music_listen_links WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn link_by_hash<'c>(
    e: impl Executor<'c, Database = Any>,
    hash: &str,
) -> Result<Option<ListenLink>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {LINK_COLUMNS} FROM music_listen_links WHERE token_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(e)
    .await?)
}

/// A release's private links, newest first.
pub async fn links_of<'c>(
    e: impl Executor<'c, Database = Any>,
    album_id: &str,
) -> Result<Vec<ListenLink>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {LINK_COLUMNS} FROM music_listen_links WHERE album_id = $1 \
         ORDER BY created_at DESC, id"
    ))
    .bind(album_id)
    .fetch_all(e)
    .await?)
}

pub async fn count_visit<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<()> {
    sqlx::query("UPDATE music_listen_links SET visits = visits + 1 WHERE id = $1")
        .bind(id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn revoke_link<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE music_listen_links SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}
