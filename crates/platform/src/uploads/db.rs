//! The uploads' queries. Every write that moves an upload forward is fenced by the lock
//! token of the request holding it, so a request that lost its lock (it stalled past the
//! lease and another node took over) cannot move the offset.

use sqlx::AssertSqlSafe;
use tutti_store::{Db, now_ms};

use crate::error::PlatformError;

/// How long a request holds an upload without renewing its lock.
pub const LOCK_MS: i64 = 60_000;

pub const RECEIVING: &str = "receiving";
pub const COMPLETE: &str = "complete";
pub const TAKEN: &str = "taken";

/// One row of `uploads`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: String,
    pub length_bytes: i64,
    pub offset_bytes: i64,
    pub metadata: String,
    pub studio: Option<String>,
    pub blob_key: String,
    pub storage: String,
    pub storage_id: String,
    pub parts: i64,
    pub tail_bytes: i64,
    pub hash_state: String,
    pub sha256: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    pub taken_at: Option<i64>,
}

const COLUMNS: &str = "id, owner_id, length_bytes, offset_bytes, metadata, studio, blob_key, \
     storage, storage_id, parts, tail_bytes, hash_state, sha256, status, created_at, \
     updated_at, expires_at, completed_at, taken_at";

pub async fn insert(db: &Db, row: &UploadRow) -> Result<(), PlatformError> {
    sqlx::query(
        "INSERT INTO uploads (id, owner_id, length_bytes, offset_bytes, metadata, studio, \
         blob_key, storage, storage_id, parts, tail_bytes, hash_state, sha256, status, \
         created_at, updated_at, expires_at, completed_at, taken_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19)",
    )
    .bind(&row.id)
    .bind(&row.owner_id)
    .bind(row.length_bytes)
    .bind(row.offset_bytes)
    .bind(&row.metadata)
    .bind(&row.studio)
    .bind(&row.blob_key)
    .bind(&row.storage)
    .bind(&row.storage_id)
    .bind(row.parts)
    .bind(row.tail_bytes)
    .bind(&row.hash_state)
    .bind(&row.sha256)
    .bind(&row.status)
    .bind(row.created_at)
    .bind(row.updated_at)
    .bind(row.expires_at)
    .bind(row.completed_at)
    .bind(row.taken_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<UploadRow>, PlatformError> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// Bytes an owner's uploads hold or have reserved (their declared lengths), not counting
/// ones studios took over, optionally leaving one upload out.
pub async fn reserved_bytes(
    db: &Db,
    owner_id: &str,
    except: Option<&str>,
) -> Result<i64, PlatformError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(length_bytes), 0) AS BIGINT) FROM uploads \
         WHERE owner_id = $1 AND status IN ('receiving', 'complete') AND id <> $2",
    )
    .bind(owner_id)
    .bind(except.unwrap_or(""))
    .fetch_one(db.pool())
    .await?)
}

/// Takes the upload's lock if nobody holds it (or their lease ran out). With `offset`, only
/// while the upload is still receiving at exactly that offset.
pub async fn lock(
    db: &Db,
    id: &str,
    token: &str,
    offset: Option<i64>,
) -> Result<bool, PlatformError> {
    let now = db.backend().now_ms_sql();
    let free = format!(
        "UPDATE uploads SET lock_token = $1, lock_until = {now} + {LOCK_MS} \
         WHERE id = $2 AND (lock_token IS NULL OR lock_until < {now})"
    );
    let done = match offset {
        None => {
            sqlx::query(AssertSqlSafe(free))
                .bind(token)
                .bind(id)
                .execute(db.pool())
                .await?
        }
        Some(offset) => {
            let sql = format!("{free} AND status = 'receiving' AND offset_bytes = $3");
            sqlx::query(AssertSqlSafe(sql))
                .bind(token)
                .bind(id)
                .bind(offset)
                .execute(db.pool())
                .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Extends the lease; false when the lock is no longer this request's.
pub async fn renew(db: &Db, id: &str, token: &str) -> Result<bool, PlatformError> {
    let now = db.backend().now_ms_sql();
    let sql = format!(
        "UPDATE uploads SET lock_until = {now} + {LOCK_MS} WHERE id = $1 AND lock_token = $2"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(token)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unlock(db: &Db, id: &str, token: &str) -> Result<(), PlatformError> {
    sqlx::query(
        "UPDATE uploads SET lock_token = NULL, lock_until = NULL \
         WHERE id = $1 AND lock_token = $2",
    )
    .bind(id)
    .bind(token)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A part an object store holds.
#[derive(Debug, Clone)]
pub struct Part {
    pub index: i64,
    pub etag: String,
    pub size: i64,
}

/// What a request made durable, to record in one transaction.
#[derive(Debug, Clone)]
pub struct Progress {
    pub offset: i64,
    pub parts: i64,
    pub tail: i64,
    pub hash_state: String,
    pub new_parts: Vec<Part>,
    pub expires_at: i64,
}

/// Records progress under the request's lock (and renews it); false when the lock is gone,
/// in which case nothing was recorded.
pub async fn advance(
    db: &Db,
    id: &str,
    token: &str,
    progress: &Progress,
) -> Result<bool, PlatformError> {
    let mut tx = db.begin().await?;
    let now = db.backend().now_ms_sql();
    let sql = format!(
        "UPDATE uploads SET offset_bytes = $1, parts = $2, tail_bytes = $3, hash_state = $4, \
         updated_at = $5, expires_at = $6, lock_until = {now} + {LOCK_MS} \
         WHERE id = $7 AND lock_token = $8 AND status = 'receiving'"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(progress.offset)
        .bind(progress.parts)
        .bind(progress.tail)
        .bind(&progress.hash_state)
        .bind(now_ms())
        .bind(progress.expires_at)
        .bind(id)
        .bind(token)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for part in &progress.new_parts {
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1 AND part = $2")
            .bind(id)
            .bind(part.index)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO upload_parts (upload_id, part, etag, size_bytes) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(part.index)
        .bind(&part.etag)
        .bind(part.size)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(true)
}

/// The parts of an upload, in order.
pub async fn parts(db: &Db, id: &str, below: i64) -> Result<Vec<Part>, PlatformError> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT part, etag, size_bytes FROM upload_parts WHERE upload_id = $1 AND part < $2 \
         ORDER BY part",
    )
    .bind(id)
    .bind(below)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(index, etag, size)| Part { index, etag, size })
        .collect())
}

/// Marks a fully received upload complete with its checksum.
pub async fn complete(db: &Db, id: &str, sha256: &str) -> Result<bool, PlatformError> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE uploads SET status = 'complete', sha256 = $1, completed_at = $2, updated_at = $2 \
         WHERE id = $3 AND status = 'receiving' AND offset_bytes = length_bytes",
    )
    .bind(sha256)
    .bind(now)
    .bind(id)
    .execute(db.pool())
    .await?;
    if done.rows_affected() == 1 {
        sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
            .bind(id)
            .execute(db.pool())
            .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// Hands a complete upload to a studio: at most once.
pub async fn take(db: &Db, id: &str, owner_id: &str) -> Result<bool, PlatformError> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE uploads SET status = 'taken', taken_at = $1, updated_at = $1 \
         WHERE id = $2 AND owner_id = $3 AND status = 'complete'",
    )
    .bind(now)
    .bind(id)
    .bind(owner_id)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(db: &Db, id: &str) -> Result<(), PlatformError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM upload_parts WHERE upload_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(())
}

/// Unfinished uploads past their expiry that nobody is writing to, oldest first.
pub async fn expired(db: &Db, limit: i64) -> Result<Vec<UploadRow>, PlatformError> {
    let now = db.backend().now_ms_sql();
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE status = 'receiving' AND expires_at < {now} \
         AND (lock_token IS NULL OR lock_until < {now}) ORDER BY expires_at LIMIT $1"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(db.pool())
        .await?)
}

/// Complete uploads meant for `studio` that no studio has taken yet, oldest first.
pub async fn finished_for(
    db: &Db,
    studio: &str,
    limit: i64,
) -> Result<Vec<UploadRow>, PlatformError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads WHERE studio = $1 AND status = 'complete' \
         ORDER BY completed_at, id LIMIT $2"
    );
    Ok(sqlx::query_as(AssertSqlSafe(sql))
        .bind(studio)
        .bind(limit.clamp(1, 1000))
        .fetch_all(db.pool())
        .await?)
}
