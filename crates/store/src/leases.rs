//! Named exclusive leases in the database: at most one holder at a time, until an expiry
//! on the database's clock. Taking one is a single conditional upsert (it succeeds when the
//! lease is free, expired, or already ours, and renews it), so any number of nodes can race
//! for it on SQLite or PostgreSQL and exactly one wins. A holder that dies loses the lease
//! when it expires; one that is done gives it back with [`release`].
//!
//! The job queue's orphan sweep holds [`crate::jobs::SWEEP_LEASE`]; other singletons (a
//! room's owner node, a cleanup) can take their own names.

use std::time::Duration;

use sqlx::AssertSqlSafe;

use crate::db::Db;
use crate::error::Result;

/// Takes or renews the lease `name` for `holder` for `ttl` from now (database clock).
/// Returns false, changing nothing, while someone else holds it unexpired.
pub async fn try_acquire(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
    let now = db.backend().now_ms_sql();
    let sql = format!(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, {now} + $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
         expires_at = excluded.expires_at \
         WHERE leases.holder = excluded.holder OR leases.expires_at <= {now}"
    );
    let taken = sqlx::query(AssertSqlSafe(sql))
        .bind(name)
        .bind(holder)
        .bind(ttl.as_millis().min(i64::MAX as u128) as i64)
        .execute(db.pool())
        .await?;
    Ok(taken.rows_affected() == 1)
}

/// Gives the lease back if `holder` still has it; returns whether it did.
pub async fn release(db: &Db, name: &str, holder: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Who holds the lease now, if anyone holds it unexpired.
pub async fn holder(db: &Db, name: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT holder FROM leases WHERE name = $1 AND expires_at > {}",
        db.backend().now_ms_sql()
    );
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(db.pool())
        .await?)
}
