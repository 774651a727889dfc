//! Removing uploads nobody finished: their parts (an aborted multipart upload, the tail
//! object) or their append file, then their rows. Runs every 15 minutes on one node.

use serde::{Deserialize, Serialize};
use tutti_store::blobs::PartsKind;
use tutti_store::{JobError, JobRun, TypedJob, new_id};

use super::db;
use super::write::tail_key;
use crate::Platform;
use crate::error::PlatformError;

/// The job's kind.
pub const EXPIRE: &str = "platform.uploads.expire";

/// The periodic job: [`expire_now`].
pub struct ExpireUploads(pub Platform);

/// What one run removed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Expired {
    pub removed: u64,
}

impl TypedJob for ExpireUploads {
    const KIND: &'static str = EXPIRE;
    type Payload = ();
    type Output = Expired;

    async fn run(&self, _: (), _run: &JobRun) -> Result<Expired, JobError> {
        let removed = expire_now(&self.0)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        Ok(Expired { removed })
    }
}

/// Removes every unfinished upload past its expiry that no request is writing to;
/// returns how many.
pub async fn expire_now(p: &Platform) -> Result<u64, PlatformError> {
    let mut removed = 0;
    loop {
        let batch = db::expired(&p.db, 100).await?;
        if batch.is_empty() {
            return Ok(removed);
        }
        let mut progressed = false;
        for row in batch {
            let token = new_id();
            if !db::lock(&p.db, &row.id, &token, None).await? {
                continue;
            }
            // An upload begun on another kind of store (before `tutti admin move`) has
            // nothing here to free; anything else that fails is tried again next time
            // (its lock keeps this run from picking it up again).
            if stored_here(p, &row)
                && let Err(e) = discard(p, &row).await
            {
                tracing::warn!(upload = %row.id, error = %e, "could not free an expired upload's parts");
                continue;
            }
            db::delete(&p.db, &row.id).await?;
            removed += 1;
            progressed = true;
            tracing::info!(upload = %row.id, owner = %row.owner_id, "removed an expired upload");
        }
        if !progressed {
            return Ok(removed);
        }
    }
}

/// Whether an unfinished upload's bytes are in this server's kind of store (a move from
/// a local folder to S3, or back, leaves uploads begun before it behind).
pub(super) fn stored_here(p: &Platform, row: &db::UploadRow) -> bool {
    p.blobs.parts_kind().map(|k| k.as_str()) == Some(row.storage.as_str())
}

/// Frees what the store holds for an unfinished upload.
pub(super) async fn discard(p: &Platform, row: &db::UploadRow) -> Result<(), PlatformError> {
    p.blobs.parts_abort(&row.blob_key, &row.storage_id).await?;
    if PartsKind::parse(&row.storage) == Some(PartsKind::Multipart) {
        p.blobs.delete(&tail_key(&row.id)).await?;
    }
    Ok(())
}
