//! Blobs that are served again and again (music streams, covers) kept whole in memory, so
//! a player's byte range becomes a slice of bytes already held: no file open, `stat` or
//! S3 round trip per request. The cache is bounded by bytes, keeps the blobs asked for
//! most (quick_cache's scan-resistant policy, so one listener's long scan does not push
//! out what everyone plays) and forgets a key whenever this process writes or deletes it.
//!
//! Keys are written once in practice (a replaced track gets a new key), so a copy cannot
//! go stale on one server; several servers sharing one S3 store each forget only their
//! own writes, which is why callers resolve keys from the database and never serve a key
//! the database no longer names.

use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::Blobs;
use crate::error::{Result, StoreError};

/// A blob about to be served: what the validators need, and its bytes when held.
#[derive(Debug, Clone)]
pub struct Served {
    pub size: u64,
    /// When it was written, ms since the epoch (`Last-Modified`).
    pub written_ms: i64,
    /// The whole blob, when the memory cache holds it; read ranges from the store otherwise.
    pub bytes: Option<Bytes>,
}

#[derive(Clone)]
struct Held {
    bytes: Bytes,
    written_ms: i64,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<String, Held> for ByBytes {
    fn weight(&self, key: &String, held: &Held) -> u64 {
        (key.len() + held.bytes.len()).max(1) as u64
    }
}

pub(crate) struct Memory {
    cache: Cache<String, Held, ByBytes>,
    /// Larger blobs are streamed from the store: one long recording must not empty the
    /// cache of a whole album.
    largest: u64,
}

impl Memory {
    fn new(budget_bytes: u64) -> Memory {
        // A typical served blob (a few minutes of Opus or MP3) is a few MB.
        let estimated_items = (budget_bytes / (2 * 1024 * 1024)).clamp(16, 100_000) as usize;
        Memory {
            cache: Cache::with_weighter(estimated_items, budget_bytes, ByBytes),
            largest: (budget_bytes / 8).min(MAX_ENTRY_BYTES),
        }
    }
}

/// No single blob above this is held, whatever the budget.
const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;

impl Blobs {
    /// Keeps served blobs in memory up to `budget_bytes` in all (0 keeps none).
    pub fn with_memory_cache(mut self, budget_bytes: u64) -> Blobs {
        self.memory = (budget_bytes > 0).then(|| std::sync::Arc::new(Memory::new(budget_bytes)));
        self
    }

    /// A blob to answer a request with: its size and write time, and its bytes when the
    /// memory cache holds it or now took it in; `None` when there is no such blob.
    /// Concurrent first requests for one key read it from the store once.
    pub async fn for_serving(&self, key: &str) -> Result<Option<Served>> {
        if let Some(memory) = &self.memory
            && let Some(held) = memory.cache.get(key)
        {
            return Ok(Some(held.into()));
        }
        let Some((size, written_ms)) = self.meta(key).await? else {
            return Ok(None);
        };
        let Some(memory) = self.memory.as_ref().filter(|m| size <= m.largest) else {
            return Ok(Some(Served {
                size,
                written_ms,
                bytes: None,
            }));
        };
        let load = async {
            let bytes = self.get(key).await?;
            Ok::<_, StoreError>(Held { bytes, written_ms })
        };
        match memory.cache.get_or_insert_async(key, load).await {
            Ok(held) => Ok(Some(held.into())),
            Err(StoreError::BlobNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Drops this process's copy of `key` now and again when the guard goes, for a write
    /// or delete that runs while the guard lives: a reader that loaded the old bytes
    /// during the write must not leave them held after it.
    pub(crate) fn forgetting<'a>(&'a self, key: &'a str) -> Forgetting<'a> {
        let guard = Forgetting { blobs: self, key };
        guard.forget();
        guard
    }
}

/// See [`Blobs::forgetting`]; forgets on every way out, errors included.
pub(crate) struct Forgetting<'a> {
    blobs: &'a Blobs,
    key: &'a str,
}

impl Forgetting<'_> {
    fn forget(&self) {
        if let Some(memory) = &self.blobs.memory {
            memory.cache.remove(self.key);
        }
    }
}

impl Drop for Forgetting<'_> {
    fn drop(&mut self) {
        self.forget();
    }
}

impl From<Held> for Served {
    fn from(held: Held) -> Served {
        Served {
            size: held.bytes.len() as u64,
            written_ms: held.written_ms,
            bytes: Some(held.bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A blob folder with a memory cache of `budget` bytes (the folder lives as long as
    /// the returned guard).
    fn cached_folder(budget: u64) -> (tempfile::TempDir, Blobs) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(&dir.path().display().to_string(), &BTreeMap::new())
            .unwrap()
            .with_memory_cache(budget);
        (dir, blobs)
    }

    #[tokio::test]
    async fn held_blobs_are_forgotten_when_rewritten_or_deleted() {
        let (_dir, blobs) = cached_folder(1024 * 1024);
        assert!(blobs.for_serving("a/b").await.unwrap().is_none());
        blobs
            .put("a/b", Bytes::from_static(b"first"))
            .await
            .unwrap();
        let served = blobs.for_serving("a/b").await.unwrap().unwrap();
        assert_eq!(served.bytes.as_deref(), Some(&b"first"[..]));
        assert_eq!(served.size, 5);
        blobs
            .put("a/b", Bytes::from_static(b"second"))
            .await
            .unwrap();
        let served = blobs.for_serving("a/b").await.unwrap().unwrap();
        assert_eq!(served.bytes.as_deref(), Some(&b"second"[..]));
        blobs.delete("a/b").await.unwrap();
        assert!(blobs.for_serving("a/b").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn blobs_above_the_entry_limit_are_read_from_the_store() {
        let (_dir, blobs) = cached_folder(8 * 100);
        blobs.put("big", vec![7u8; 101]).await.unwrap();
        blobs.put("small", vec![7u8; 99]).await.unwrap();
        let big = blobs.for_serving("big").await.unwrap().unwrap();
        assert_eq!((big.size, big.bytes), (101, None));
        let small = blobs.for_serving("small").await.unwrap().unwrap();
        assert_eq!(small.bytes.map(|b| b.len()), Some(99));
    }
}
