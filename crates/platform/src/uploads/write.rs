//! Receiving one PATCH body: bytes go to the store as they arrive and the offset moves
//! only when what it covers is durable, so a request cut anywhere, or a node that dies,
//! loses nothing that was acknowledged and leaves the upload ready for the next PATCH on
//! any node.
//!
//! - Object stores: bytes gather into parts of `part_bytes` (at least 5 MiB, S3's minimum);
//!   each stored part moves the offset. What is left when the body ends (or breaks off)
//!   is kept as a small *tail* object and counted too; the next PATCH reads the tail back
//!   and sends it at the head of the next part. Nothing of a body waits in memory beyond
//!   one part.
//! - Local folder: bytes are appended to the upload's file; a sync every `part_bytes`, and
//!   at the end, moves the offset.
//!
//! With `Upload-Checksum` nothing of the body counts until the whole body arrived and
//! matched: parts stored meanwhile are not recorded (a later PATCH overwrites them) and
//! the local file is cut back.
//!
//! The SHA-256 of the whole upload is computed on the way: its state after the durable
//! offset is saved with the offset, so the next PATCH, on any node, continues it.

use std::time::{Duration, Instant};

use std::collections::VecDeque;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};
use sha2::{Digest, Sha256};
use tutti_store::blobs::PartsKind;
use tutti_store::now_ms;

use super::checksum::{Expected, Running};
use super::db::{self, Part, Progress, UploadRow};
use crate::Platform;
use crate::error::PlatformError;

/// A body that sends nothing for this long is treated as broken off.
const IDLE: Duration = Duration::from_secs(60);
/// How often a request that is still receiving renews its lock.
const RENEW_EVERY: Duration = Duration::from_secs(15);

/// Bytes received and not yet stored, kept as the pieces they arrived in: no large
/// contiguous buffer is allocated (and none copied) per part.
#[derive(Default)]
struct Pending {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl Pending {
    fn push(&mut self, bytes: Bytes) {
        self.len += bytes.len();
        self.chunks.push_back(bytes);
    }

    /// The first `n` bytes (at most `len`), taken out.
    fn take(&mut self, n: usize) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut left = n.min(self.len);
        self.len -= left;
        while left > 0 {
            let mut chunk = self.chunks.pop_front().expect("len counts the chunks");
            if chunk.len() > left {
                let rest = chunk.split_off(left);
                self.chunks.push_front(rest);
            }
            left -= chunk.len();
            out.push(chunk);
        }
        out
    }

    fn all(&mut self) -> Vec<Bytes> {
        self.take(self.len)
    }
}

/// Feeds `chunks` to the hasher, leaving out their first `skip` bytes.
fn hash_from(hasher: &mut Sha256, chunks: &[Bytes], mut skip: usize) {
    for chunk in chunks {
        if skip >= chunk.len() {
            skip -= chunk.len();
        } else {
            hasher.update(&chunk[skip..]);
            skip = 0;
        }
    }
}

/// How a PATCH ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The durable offset is now this (all that arrived).
    Stored(i64),
    /// The body did not match its `Upload-Checksum`; nothing of it counts.
    ChecksumMismatch,
    /// The body ran past `Upload-Length`; what was durable before stays.
    TooLong,
    /// The body broke off before its checksum could be verified; nothing of it counts.
    Abandoned,
    /// Another request took the upload over (this one stalled past its lease).
    LostLock,
}

/// The blob key of the object holding an upload's tail.
pub fn tail_key(id: &str) -> String {
    format!("uploads/tails/{id}")
}

pub fn save_state(hasher: &Sha256) -> String {
    hex::encode(hasher.serialize().as_slice())
}

pub fn restore_state(state: &str) -> Result<Sha256, PlatformError> {
    let broken = || {
        PlatformError::Store(tutti_store::StoreError::Config(
            "an upload's saved checksum state is damaged".into(),
        ))
    };
    let bytes = hex::decode(state).map_err(|_| broken())?;
    let serialized = SerializedState::<Sha256>::try_from(bytes.as_slice()).map_err(|_| broken())?;
    Sha256::deserialize(&serialized).map_err(|_| broken())
}

pub fn fresh_state() -> String {
    save_state(&Sha256::new())
}

pub fn finish_hex(state: &str) -> Result<String, PlatformError> {
    Ok(hex::encode(restore_state(state)?.finalize()))
}

/// One PATCH at work, holding the upload's lock.
pub struct Writer {
    pub platform: Platform,
    pub row: UploadRow,
    pub token: String,
    pub part_bytes: usize,
    pub expire_ms: i64,
    last_renew: Instant,
}

enum Next {
    Data(bytes::Bytes),
    End,
    Broken,
}

impl Writer {
    pub fn new(
        platform: Platform,
        row: UploadRow,
        token: String,
        part_bytes: usize,
        expire_ms: i64,
    ) -> Writer {
        Writer {
            platform,
            row,
            token,
            part_bytes,
            expire_ms,
            last_renew: Instant::now(),
        }
    }

    pub async fn receive(
        &mut self,
        body: Body,
        check: Option<Expected>,
    ) -> Result<Outcome, PlatformError> {
        match PartsKind::parse(&self.row.storage) {
            Some(PartsKind::Multipart) => self.receive_parts(body, check).await,
            Some(PartsKind::File) => self.receive_file(body, check).await,
            None => Err(PlatformError::Store(tutti_store::StoreError::Config(
                format!(
                    "upload {} names an unknown storage {:?}",
                    self.row.id, self.row.storage
                ),
            ))),
        }
    }

    /// The next piece of the body; renews the lock now and then. `Err` only for a lost lock.
    async fn next(&mut self, body: &mut Body) -> Result<Next, Outcome> {
        loop {
            if self.last_renew.elapsed() >= RENEW_EVERY {
                match db::renew(&self.platform.db, &self.row.id, &self.token).await {
                    Ok(true) => self.last_renew = Instant::now(),
                    Ok(false) => return Err(Outcome::LostLock),
                    Err(e) => tracing::warn!(error = %e, "could not renew an upload's lock"),
                }
            }
            let frame = match tokio::time::timeout(IDLE, body.frame()).await {
                Err(_) => return Ok(Next::Broken),
                Ok(None) => return Ok(Next::End),
                Ok(Some(Err(_))) => return Ok(Next::Broken),
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data()
                && !data.is_empty()
            {
                return Ok(Next::Data(data));
            }
        }
    }

    /// Records progress; false when the lock was lost.
    async fn advance(
        &mut self,
        offset: u64,
        parts: usize,
        tail: usize,
        hasher: &Sha256,
        new_parts: Vec<Part>,
    ) -> Result<bool, PlatformError> {
        let progress = Progress {
            offset: offset as i64,
            parts: parts as i64,
            tail: tail as i64,
            hash_state: save_state(hasher),
            new_parts,
            expires_at: now_ms() + self.expire_ms,
        };
        let kept = db::advance(&self.platform.db, &self.row.id, &self.token, &progress).await?;
        if kept {
            self.last_renew = Instant::now();
            self.row.offset_bytes = progress.offset;
            self.row.parts = progress.parts;
            self.row.tail_bytes = progress.tail;
            self.row.hash_state = progress.hash_state;
            self.row.expires_at = progress.expires_at;
        }
        Ok(kept)
    }

    async fn receive_parts(
        &mut self,
        mut body: Body,
        check: Option<Expected>,
    ) -> Result<Outcome, PlatformError> {
        let blobs = self.platform.blobs.clone();
        let id = self.row.id.clone();
        let key = self.row.blob_key.clone();
        let upload_id = self.row.storage_id.clone();
        let length = self.row.length_bytes as u64;
        let part_bytes = self.part_bytes;
        let db_parts = self.row.parts as usize;
        let db_tail = self.row.tail_bytes as usize;
        // Bytes in stored parts, and the parts' count.
        let mut in_parts = (self.row.offset_bytes - self.row.tail_bytes) as u64;
        let mut parts = db_parts;
        let mut hasher = restore_state(&self.row.hash_state)?;
        let mut pending = Pending::default();
        if db_tail > 0 {
            let tail = blobs.get(&tail_key(&id)).await?;
            if tail.len() != db_tail {
                return Err(PlatformError::Store(tutti_store::StoreError::Config(
                    format!(
                        "the tail of upload {id} holds {} bytes, not {db_tail}",
                        tail.len()
                    ),
                )));
            }
            pending.push(tail);
        }
        // The head of `pending` that the hasher (and the tail object) already cover.
        let mut hashed = db_tail;
        let mut staged: Vec<Part> = Vec::new();
        let mut running = check.as_ref().map(Running::new);
        let mut broke = false;
        loop {
            let chunk = match self.next(&mut body).await {
                Err(outcome) => return Ok(outcome),
                Ok(Next::End) => break,
                Ok(Next::Broken) => {
                    broke = true;
                    break;
                }
                Ok(Next::Data(chunk)) => chunk,
            };
            if in_parts + (pending.len + chunk.len()) as u64 > length {
                return Ok(Outcome::TooLong);
            }
            if let Some(r) = &mut running {
                r.update(&chunk);
            }
            pending.push(chunk);
            while pending.len >= part_bytes {
                let part = pending.take(part_bytes);
                hash_from(&mut hasher, &part, hashed);
                hashed = 0;
                let etag = blobs.parts_put(&key, &upload_id, parts, part).await?;
                let stored = Part {
                    index: parts as i64,
                    etag,
                    size: part_bytes as i64,
                };
                parts += 1;
                in_parts += part_bytes as u64;
                if running.is_none() {
                    if !self
                        .advance(in_parts, parts, 0, &hasher, vec![stored])
                        .await?
                    {
                        return Ok(Outcome::LostLock);
                    }
                } else {
                    staged.push(stored);
                }
            }
        }
        if let (Some(expected), Some(running)) = (&check, running) {
            if broke {
                return Ok(Outcome::Abandoned);
            }
            if !running.matches(expected) {
                return Ok(Outcome::ChecksumMismatch);
            }
        }
        let received = in_parts + pending.len as u64;
        if received == length {
            if pending.len > 0 || parts == 0 {
                let size = pending.len;
                let last = pending.all();
                hash_from(&mut hasher, &last, hashed);
                let etag = blobs.parts_put(&key, &upload_id, parts, last).await?;
                staged.push(Part {
                    index: parts as i64,
                    etag,
                    size: size as i64,
                });
                parts += 1;
            }
            if !self.advance(length, parts, 0, &hasher, staged).await? {
                return Ok(Outcome::LostLock);
            }
            return Ok(Outcome::Stored(length as i64));
        }
        if parts != db_parts || pending.len != db_tail {
            let tail = pending.len;
            if tail > 0 {
                let chunks = pending.all();
                hash_from(&mut hasher, &chunks, hashed);
                blobs.put_chunks(&tail_key(&id), chunks).await?;
            }
            if !self.advance(received, parts, tail, &hasher, staged).await? {
                return Ok(Outcome::LostLock);
            }
        }
        Ok(Outcome::Stored(received as i64))
    }

    async fn receive_file(
        &mut self,
        mut body: Body,
        check: Option<Expected>,
    ) -> Result<Outcome, PlatformError> {
        let blobs = self.platform.blobs.clone();
        let length = self.row.length_bytes as u64;
        let start = self.row.offset_bytes as u64;
        let mut file = blobs.append_open(&self.row.storage_id, start).await?;
        let mut hasher = restore_state(&self.row.hash_state)?;
        let mut committed = start;
        let mut running = check.as_ref().map(Running::new);
        let mut broke = false;
        loop {
            let chunk = match self.next(&mut body).await {
                Err(outcome) => return Ok(outcome),
                Ok(Next::End) => break,
                Ok(Next::Broken) => {
                    broke = true;
                    break;
                }
                Ok(Next::Data(chunk)) => chunk,
            };
            if file.len() + chunk.len() as u64 > length {
                file.truncate(committed).await?;
                return Ok(Outcome::TooLong);
            }
            if let Some(r) = &mut running {
                r.update(&chunk);
            }
            hasher.update(&chunk);
            file.write(chunk).await?;
            if running.is_none() && file.len() - committed >= self.part_bytes as u64 {
                let len = file.sync().await?;
                if !self.advance(len, 0, 0, &hasher, Vec::new()).await? {
                    return Ok(Outcome::LostLock);
                }
                committed = len;
            }
        }
        if let (Some(expected), Some(running)) = (&check, running) {
            let outcome = if broke {
                Outcome::Abandoned
            } else if !running.matches(expected) {
                Outcome::ChecksumMismatch
            } else {
                Outcome::Stored(0)
            };
            if outcome != Outcome::Stored(0) {
                file.truncate(start).await?;
                return Ok(outcome);
            }
        }
        if file.len() > committed {
            let len = file.sync().await?;
            if !self.advance(len, 0, 0, &hasher, Vec::new()).await? {
                return Ok(Outcome::LostLock);
            }
        }
        Ok(Outcome::Stored(file.len() as i64))
    }
}

/// Joins a fully received upload into its blob and marks it complete. Safe to run again
/// after a crash half-way: a join already done is recognised by the blob's size.
pub async fn finish(p: &Platform, row: &UploadRow) -> Result<(), PlatformError> {
    let joined = match PartsKind::parse(&row.storage) {
        Some(PartsKind::Multipart) => {
            let tags = db::parts(&p.db, &row.id, row.parts)
                .await?
                .into_iter()
                .map(|part| part.etag)
                .collect();
            p.blobs
                .parts_complete(&row.blob_key, &row.storage_id, tags)
                .await
        }
        _ => {
            p.blobs
                .parts_complete(&row.blob_key, &row.storage_id, Vec::new())
                .await
        }
    };
    let size = p.blobs.size(&row.blob_key).await?;
    if size != Some(row.length_bytes as u64) {
        return Err(match joined {
            Err(e) => e.into(),
            Ok(()) => PlatformError::Store(tutti_store::StoreError::Config(format!(
                "upload {} was joined into {size:?} bytes, not {}",
                row.id, row.length_bytes
            ))),
        });
    }
    if row.tail_bytes > 0 || PartsKind::parse(&row.storage) == Some(PartsKind::Multipart) {
        p.blobs.delete(&tail_key(&row.id)).await?;
    }
    db::complete(&p.db, &row.id, &finish_hex(&row.hash_state)?).await?;
    Ok(())
}
