//! Copying blobs from one store to another as streams, with each blob's SHA-256 taken on
//! the way: what backups, restores and moves between machines are made of. A blob is
//! never held whole in memory: it flows through in the chunks the source gives, and a
//! large one goes to the target as a multipart upload, which (like a small `put`) only
//! appears under its key once complete, so an interrupted copy leaves nothing half-written.

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStoreExt as _, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::Blobs;
use crate::error::{Result, StoreError};

/// Blobs up to this size go to the target in one `put`; larger ones as a multipart
/// upload in parts of this size (S3 wants parts of at least 5 MiB).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// What a copy or a hash saw: the blob's size and the hex SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub size: u64,
    pub sha256: String,
}

/// Lower-case hex, as checksums are written in manifests and printed.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Streams the blob `key` of `from` into `to` under `to_key`, calling `progress` with
/// the bytes of every chunk that passed, and returns its size and SHA-256.
pub async fn copy_blob(
    from: &Blobs,
    key: &str,
    to: &Blobs,
    to_key: &str,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Digest> {
    let source = blob_path(key)?;
    let target = blob_path(to_key)?;
    let mut stream = from
        .inner()
        .get(&source)
        .await
        .map_err(|e| not_found(e, key))?
        .into_stream();
    let mut hasher = Sha256::new();
    let mut size = 0u64;

    // Small blobs (most of them) in one put: fill a buffer up to one part.
    let mut head = BytesMut::new();
    let mut rest: Option<Bytes> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
        progress(chunk.len() as u64);
        if head.len() + chunk.len() > PART_BYTES {
            rest = Some(chunk);
            break;
        }
        head.extend_from_slice(&chunk);
    }
    let Some(rest) = rest else {
        to.inner()
            .put(&target, PutPayload::from_bytes(head.freeze()))
            .await?;
        return Ok(Digest {
            size,
            sha256: hex(&hasher.finalize()),
        });
    };

    let upload = to.inner().put_multipart(&target).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    writer.put(head.freeze());
    writer.put(rest);
    let streamed: Result<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            progress(chunk.len() as u64);
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            writer.put(chunk);
        }
        Ok(())
    }
    .await;
    match streamed {
        Ok(()) => {
            writer.finish().await?;
        }
        Err(e) => {
            let _ = writer.abort().await;
            return Err(e);
        }
    }
    Ok(Digest {
        size,
        sha256: hex(&hasher.finalize()),
    })
}

/// Reads a blob to its end and returns its size and SHA-256, chunk by chunk.
pub async fn hash_blob(blobs: &Blobs, key: &str) -> Result<Digest> {
    let mut stream = blobs
        .inner()
        .get(&blob_path(key)?)
        .await
        .map_err(|e| not_found(e, key))?
        .into_stream();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    Ok(Digest {
        size,
        sha256: hex(&hasher.finalize()),
    })
}

/// True when the store holds no blob at all (it lists at most one).
pub async fn is_empty(blobs: &Blobs) -> Result<bool> {
    let first = blobs.inner().list(None).next().await;
    match first {
        None => Ok(true),
        Some(item) => item.map(|_| false).map_err(StoreError::from),
    }
}

fn blob_path(key: &str) -> Result<Path> {
    Path::parse(key)
        .map_err(|e| StoreError::Config(format!("blob key {key:?} is not a valid path: {e}")))
}

fn not_found(e: object_store::Error, key: &str) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::BlobNotFound(key.to_string()),
        e => StoreError::Blob(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestBlobs;

    #[tokio::test]
    async fn small_and_multipart_blobs_copy_with_their_checksums() {
        let (a, b) = (TestBlobs::new(), TestBlobs::new());
        let (from, to) = (a.open(), b.open());
        assert!(is_empty(&to).await.unwrap());
        let big: Vec<u8> = (0..PART_BYTES * 2 + 12345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        from.put("x/small.txt", &b"hello"[..]).await.unwrap();
        from.put("x/big.bin", big.clone()).await.unwrap();

        let seen = std::sync::atomic::AtomicU64::new(0);
        let count = |n: u64| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        };
        let small = copy_blob(&from, "x/small.txt", &to, "x/small.txt", &count)
            .await
            .unwrap();
        assert_eq!(small.size, 5);
        assert_eq!(
            small.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let copied = copy_blob(&from, "x/big.bin", &to, "y/big.bin", &count)
            .await
            .unwrap();
        assert_eq!(copied.size, big.len() as u64);
        assert_eq!(copied.sha256, hex(&Sha256::digest(&big)));
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::Relaxed),
            5 + big.len() as u64
        );
        assert_eq!(to.get("y/big.bin").await.unwrap(), big);
        assert_eq!(hash_blob(&to, "y/big.bin").await.unwrap(), copied);
        assert!(!is_empty(&to).await.unwrap());

        let missing = copy_blob(&from, "x/none", &to, "x/none", &count).await;
        assert!(
            matches!(missing, Err(StoreError::BlobNotFound(_))),
            "{missing:?}"
        );
    }
}
