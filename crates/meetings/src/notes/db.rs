//! The notes tables: a meeting's updates in the order they were taken, and its snapshot.

use sqlx::{Any, Executor};
use tutti_store::{Db, now_ms};

use super::NotesError;

/// What is stored of one meeting's notes, oldest first.
pub struct Stored {
    /// `(seq of the last update folded in, the state as one update)`.
    pub snapshot: Option<(i64, Vec<u8>)>,
    /// `(seq, update)` after the snapshot, in order.
    pub updates: Vec<(i64, Vec<u8>)>,
    pub since_snapshot: usize,
}

/// Reads the updates before the snapshot: a compaction landing between the two reads then
/// only makes some updates redundant (they are skipped), where the other order could miss
/// the ones it folded in.
pub async fn load<'c>(
    e: impl Executor<'c, Database = Any> + Copy,
    meeting_id: &str,
) -> Result<Stored, NotesError> {
    let updates: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, data FROM meeting_note_updates WHERE meeting_id = $1 ORDER BY seq",
    )
    .bind(meeting_id)
    .fetch_all(e)
    .await?;
    let snapshot: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, data FROM meeting_note_snapshots WHERE meeting_id = $1")
            .bind(meeting_id)
            .fetch_optional(e)
            .await?;
    let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
    let updates: Vec<_> = updates
        .into_iter()
        .filter(|(seq, _)| *seq > after)
        .collect();
    Ok(Stored {
        since_snapshot: updates.len(),
        snapshot,
        updates,
    })
}

/// Appends one update; a seq already taken (a second writer) fails rather than mixing in.
pub async fn append(db: &Db, meeting_id: &str, seq: i64, data: &[u8]) -> Result<(), NotesError> {
    let mut w = db.write().await?;
    sqlx::query(
        "INSERT INTO meeting_note_updates (meeting_id, seq, data, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(meeting_id)
    .bind(seq)
    .bind(data.to_vec())
    .bind(now_ms())
    .execute(&mut *w)
    .await?;
    Ok(())
}

/// Makes `state` the snapshot as of update `upto` and drops the updates it covers, in one
/// transaction so a crash leaves either the old rows or the new ones.
pub async fn compact(db: &Db, meeting_id: &str, upto: i64, state: &[u8]) -> Result<(), NotesError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO meeting_note_snapshots (meeting_id, seq, data, updated_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (meeting_id) DO UPDATE SET seq = excluded.seq, data = excluded.data, \
         updated_at = excluded.updated_at",
    )
    .bind(meeting_id)
    .bind(upto)
    .bind(state.to_vec())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM meeting_note_updates WHERE meeting_id = $1 AND seq <= $2")
        .bind(meeting_id)
        .bind(upto)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn forget(db: &Db, meeting_id: &str) -> Result<(), NotesError> {
    let mut tx = db.begin().await?;
    for sql in [
        "DELETE FROM meeting_note_updates WHERE meeting_id = $1",
        "DELETE FROM meeting_note_snapshots WHERE meeting_id = $1",
    ] {
        sqlx::query(sql).bind(meeting_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
