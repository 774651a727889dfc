//! Resumable uploads for every studio, over the [tus 1.0 protocol](https://tus.io/protocols/resumable-upload)
//! (core, creation, termination, checksum and expiration extensions), so `tus-js-client`
//! and Uppy work unchanged against `/api/v1/uploads`.
//!
//! **How bytes are kept.** An upload is written straight to the blob store as it arrives:
//! on S3 (or GCS, Azure) as a multipart upload whose id and part tags live in the
//! `uploads` / `upload_parts` tables, on a local folder as an append file. The offset a
//! client is told only ever moves to a durable point ([`write`]), so any node can take
//! the next PATCH and a restart loses nothing acknowledged. A PATCH runs in a task of its
//! own: a client that vanishes mid-body still leaves the upload consistent and unlocked.
//!
//! **Finished uploads.** When the last byte is stored the parts are joined into one blob
//! at `uploads/files/<id>`, with its size and SHA-256 (computed while streaming). A studio
//! claims it with [`take`], which hands it over at most once, and then owns the blob at
//! that key (keep it there, or copy it and delete it). A client names the studio an
//! upload is meant for in the `studio` key of `Upload-Metadata`; a studio finds the
//! finished uploads meant for it with [`finished_for`] (for instance from a periodic
//! job), or is told the id by its own client after the upload ends.
//!
//! **Limits.** [`UploadSettings`]: the largest upload (`max_bytes`, announced as
//! `Tus-Max-Size`), the bytes one person's unfinished and untaken uploads may hold
//! (`quota_bytes`, reserved from `Upload-Length` at creation), and how long an upload
//! may sit unfinished (`expire_hours`) before the [`ExpireUploads`] job removes it with
//! its parts.
//!
//! **Small files in one request.** `POST /api/v1/uploads/form` takes one file in a
//! `multipart/form-data` body ([`form`]): streamed to the store with
//! [`tutti_store::Blobs::put_stream`], checked against an `Upload-Checksum` when given,
//! and then a finished upload like any other. Not resumable: larger files go through tus.
//!
//! **Browsers.** Scripts in a signed-in page send their session's CSRF token as
//! `X-CSRF-Token` on POST, PATCH and DELETE, form uploads included (tus-js-client:
//! `headers`); API clients send `Authorization: Bearer <token>` instead.

mod checksum;
mod db;
mod expire;
mod form;
mod tus;
mod write;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tutti_store::StoredBlob;
use tutti_web::Problem;
use utoipa::ToSchema;

pub use expire::{EXPIRE, ExpireUploads, expire_now};

use crate::Platform;
use crate::error::PlatformError;
use crate::studio::Mounted;

/// S3 takes at most this many parts in one upload.
const MAX_PARTS: u64 = 10_000;
const MIB: u64 = 1024 * 1024;

/// The `[uploads]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// The largest single upload, in bytes (announced as `Tus-Max-Size`).
    pub max_bytes: u64,
    /// Bytes one person's unfinished and not yet taken uploads may hold together.
    pub quota_bytes: u64,
    /// Hours an unfinished upload is kept after its last PATCH.
    pub expire_hours: u64,
    /// Size of the parts written to an object store (at least 5 MiB), in MiB. Also how
    /// often a local upload is synced and its offset moved.
    pub part_mib: u64,
}

impl Default for UploadSettings {
    fn default() -> Self {
        UploadSettings {
            max_bytes: 4 * 1024 * MIB,
            quota_bytes: 10 * 1024 * MIB,
            expire_hours: 24,
            part_mib: 8,
        }
    }
}

impl UploadSettings {
    /// What is wrong with the settings, each naming the setting.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.part_mib < 5 || self.part_mib > 1024 {
            problems.push(
                "uploads.part_mib must be between 5 and 1024 (S3 refuses parts under 5 MiB)".into(),
            );
        } else if self.max_bytes > self.part_mib * MIB * MAX_PARTS {
            problems.push(format!(
                "uploads.max_bytes may be at most {} with uploads.part_mib = {} (an upload has \
                 at most {MAX_PARTS} parts); raise part_mib or lower max_bytes",
                self.part_mib * MIB * MAX_PARTS,
                self.part_mib
            ));
        }
        if self.max_bytes == 0 {
            problems.push("uploads.max_bytes must be above 0".into());
        }
        if self.expire_hours == 0 {
            problems.push("uploads.expire_hours must be at least 1".into());
        }
        problems
    }

    fn part_bytes(&self) -> usize {
        (self.part_mib.clamp(5, 1024) * MIB) as usize
    }

    fn expire_ms(&self) -> i64 {
        (self.expire_hours.max(1) * 3_600_000) as i64
    }
}

/// What the upload routes share.
#[derive(Clone)]
pub struct Uploads {
    platform: Platform,
    settings: Arc<UploadSettings>,
}

/// The upload routes and the expiry job, for the server to mount beside the studios.
pub fn mount(platform: &Platform, settings: UploadSettings) -> Mounted {
    let state = Uploads {
        platform: platform.clone(),
        settings: Arc::new(settings),
    };
    let routes = tus::routes()
        .merge(form::routes(&state.settings))
        .with_state(state);
    let job_platform = platform.clone();
    Mounted {
        routes,
        jobs: Some(Arc::new(move |worker: tutti_store::Worker| {
            worker.periodic(
                ExpireUploads(job_platform.clone()),
                tutti_store::Schedule::every_minutes(15),
            )
        })),
        identity: None,
        forget: None,
    }
}

/// An upload as its owner and the studios see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    pub id: String,
    pub owner_id: String,
    /// `receiving`, `complete` (waiting for a studio) or `taken`.
    pub status: String,
    /// The declared `Upload-Length`.
    pub length: i64,
    /// Bytes durably received.
    pub offset: i64,
    /// `Upload-Metadata`, decoded.
    pub metadata: BTreeMap<String, String>,
    /// The studio the client meant it for (`studio` in `Upload-Metadata`).
    pub studio: Option<String>,
    /// Where the finished blob is (once complete).
    pub blob_key: Option<String>,
    /// SHA-256 of the whole upload, lower-case hex (once complete).
    pub sha256: Option<String>,
    pub created_at: i64,
    /// When an unfinished upload is removed (Unix milliseconds).
    pub expires_at: Option<i64>,
    pub completed_at: Option<i64>,
}

impl From<&db::UploadRow> for Upload {
    fn from(row: &db::UploadRow) -> Upload {
        let receiving = row.status == db::RECEIVING;
        Upload {
            id: row.id.clone(),
            owner_id: row.owner_id.clone(),
            status: row.status.clone(),
            length: row.length_bytes,
            offset: row.offset_bytes,
            metadata: serde_json::from_str(&row.metadata).unwrap_or_default(),
            studio: row.studio.clone(),
            blob_key: (!receiving).then(|| row.blob_key.clone()),
            sha256: row.sha256.clone(),
            created_at: row.created_at,
            expires_at: receiving.then_some(row.expires_at),
            completed_at: row.completed_at,
        }
    }
}

fn not_found() -> PlatformError {
    PlatformError::not_found("id", "There is no upload with that id.")
}

/// An upload of `owner_id`'s (others' uploads do not exist for them).
pub async fn get(p: &Platform, upload_id: &str, owner_id: &str) -> Result<Upload, PlatformError> {
    let row = owned(p, upload_id, owner_id).await?;
    Ok(Upload::from(&row))
}

async fn owned(
    p: &Platform,
    upload_id: &str,
    owner_id: &str,
) -> Result<db::UploadRow, PlatformError> {
    db::get(&p.db, upload_id)
        .await?
        .filter(|row| row.owner_id == owner_id)
        .ok_or_else(not_found)
}

/// Hands a finished upload of `owner_id`'s to the calling studio, at most once: the blob
/// at the returned key is the studio's from now on (and no longer counts towards the
/// owner's upload quota). Refused while the upload is unfinished, and for an upload that
/// was already taken.
pub async fn take(
    p: &Platform,
    upload_id: &str,
    owner_id: &str,
) -> Result<StoredBlob, PlatformError> {
    let mut row = owned(p, upload_id, owner_id).await?;
    if row.status == db::RECEIVING && row.offset_bytes == row.length_bytes {
        tus::ensure_finished(p, &row).await?;
        row = owned(p, upload_id, owner_id).await?;
    }
    match row.status.as_str() {
        db::RECEIVING => Err(PlatformError::invalid(
            "upload",
            format!(
                "The upload is not finished: {} of {} bytes arrived.",
                row.offset_bytes, row.length_bytes
            ),
        )),
        db::COMPLETE if db::take(&p.db, upload_id, owner_id).await? => Ok(StoredBlob {
            key: row.blob_key,
            size: row.length_bytes as u64,
            sha256: row.sha256.unwrap_or_default(),
        }),
        _ => Err(PlatformError::Problem(
            Problem::conflict(
                "upload-taken",
                "This upload was already handed to a studio.",
            )
            .with_field("upload"),
        )),
    }
}

/// Finished uploads whose client named `studio` in `Upload-Metadata`, not yet taken,
/// oldest first (at most `limit`, 1 to 1000): a studio's periodic job can pick them up.
pub async fn finished_for(
    p: &Platform,
    studio: &str,
    limit: i64,
) -> Result<Vec<Upload>, PlatformError> {
    Ok(db::finished_for(&p.db, studio, limit)
        .await?
        .iter()
        .map(Upload::from)
        .collect())
}
