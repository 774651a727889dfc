//! Group commit for chunks. A chunk is acknowledged only once its row (which holds its
//! bytes until the session is processed) is committed,
//! and at a thousand speakers that is hundreds of commits a second; on SQLite each would
//! wait for every other writer in turn. Rows of chunks arriving together are written by
//! one task as one statement, ahead of the other writers' queue, so an acknowledgement
//! waits for one commit however many speakers are streaming.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tutti_store::Db;

use crate::db::{self, Chunk};
use crate::error::RecitalError;

/// Rows per statement: 9 values each, far below either database's parameter limit (and
/// at most a few megabytes of audio).
const MOST_ROWS: usize = 256;

struct Pending {
    session_id: String,
    chunk: Chunk,
    data: Bytes,
    done: oneshot::Sender<Result<bool, String>>,
}

/// The writer of chunk rows, started on first use (inside the server's runtime).
#[derive(Clone)]
pub struct ChunkLog {
    db: Db,
    writer: Arc<OnceLock<mpsc::UnboundedSender<Pending>>>,
}

impl ChunkLog {
    pub fn new(db: Db) -> ChunkLog {
        ChunkLog {
            db,
            writer: Arc::default(),
        }
    }

    /// Inserts the row with its bytes unless `(session, part, seq)` is there already;
    /// true when this call inserted it. Returns once the row is committed.
    pub async fn insert(
        &self,
        session_id: &str,
        chunk: Chunk,
        data: Bytes,
    ) -> Result<bool, RecitalError> {
        let writer = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_rows(self.db.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        writer
            .send(Pending {
                session_id: session_id.to_string(),
                chunk,
                data,
                done,
            })
            .map_err(|_| RecitalError::internal("the chunk writer has stopped"))?;
        answer
            .await
            .map_err(|_| RecitalError::internal("the chunk writer has stopped"))?
            .map_err(RecitalError::internal)
    }
}

/// Takes what has queued up, writes it as one statement, answers each request; ends when
/// every [`ChunkLog`] is gone.
async fn write_rows(db: Db, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::with_capacity(MOST_ROWS);
    while rx.recv_many(&mut batch, MOST_ROWS).await > 0 {
        let rows: Vec<(&str, &Chunk, &[u8])> = batch
            .iter()
            .map(|p| (p.session_id.as_str(), &p.chunk, &p.data[..]))
            .collect();
        let written = match db.write_ahead().await {
            Ok(mut conn) => db::insert_chunks(&mut *conn, &rows).await,
            Err(e) => Err(e.into()),
        };
        match written {
            Ok(inserted) => {
                // Two requests with the same row in one batch: the first inserted it.
                let mut inserted: HashSet<(String, i64, i64, String)> =
                    inserted.into_iter().collect();
                for p in batch.drain(..) {
                    let key = (p.session_id, p.chunk.part, p.chunk.seq, p.chunk.sha256);
                    let _ = p.done.send(Ok(inserted.remove(&key)));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for p in batch.drain(..) {
                    let _ = p.done.send(Err(message.clone()));
                }
            }
        }
    }
}
