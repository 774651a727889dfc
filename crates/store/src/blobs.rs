//! One blob store for every studio: a folder on the local disk by default, or any object
//! store `object_store` understands (`s3://`, `gs://`, `az://`) at scale. Keys are
//! slash-separated paths such as `recital/takes/<id>/chunk-0003.webm`.
//!
//! Large bodies never sit whole in memory: [`Blobs::put_stream`] writes a stream in parts
//! (an S3 multipart upload, or a staged local file) while computing its SHA-256, and
//! refuses it before it becomes visible when the checksum is not the one expected. Writes
//! that outlive a request (resumable uploads) go through [`parts`]: the caller keeps the
//! upload id and part tags in its database, so any node can continue.

mod memory;
mod parts;

pub use memory::Served;
pub use parts::{AppendFile, PartsKind};

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// Handle to the configured blob store; cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// The same store's low-level multipart API (S3, GCS, Azure), for resumable writes.
    multipart: Option<Arc<dyn MultipartStore>>,
    /// The folder of a local store, where resumable writes keep their append files.
    local_root: Option<PathBuf>,
    description: String,
    /// An S3 store's URL signer and the key prefix of the blob URL, so a client can be
    /// sent to fetch a blob straight from the store.
    signer: Option<(Arc<dyn Signer>, Path)>,
    /// Served blobs held whole in memory, when turned on ([`Blobs::with_memory_cache`]).
    memory: Option<Arc<memory::Memory>>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("description", &self.description)
            .field("multipart", &self.multipart.is_some())
            .finish_non_exhaustive()
    }
}

/// A blob written from a stream: its key, size and SHA-256 (lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct StoredBlob {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// A checksum a client announced for what it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Sha256([u8; 32]),
}

impl Checksum {
    /// A SHA-256 given as 64 hex digits.
    pub fn sha256_hex(hex_digits: &str) -> Option<Checksum> {
        let bytes = hex::decode(hex_digits.trim()).ok()?;
        Some(Checksum::Sha256(bytes.try_into().ok()?))
    }

    /// A SHA-256 given as raw bytes (e.g. decoded from base64).
    pub fn sha256_bytes(bytes: &[u8]) -> Option<Checksum> {
        Some(Checksum::Sha256(bytes.try_into().ok()?))
    }

    pub fn hex(&self) -> String {
        match self {
            Checksum::Sha256(d) => hex::encode(d),
        }
    }
}

/// A stored blob's size and key, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub key: String,
    pub size: u64,
}

impl Blobs {
    /// Opens the store named by `location`: a plain path or `file://` URL for local disk,
    /// otherwise an object-store URL whose path part, if any, becomes a key prefix.
    /// `options` are object_store configuration keys such as `aws_endpoint`.
    pub fn open(location: &str, options: &BTreeMap<String, String>) -> Result<Blobs> {
        let is_url = location.contains("://");
        if !is_url || location.starts_with("file://") {
            let root = PathBuf::from(location.trim_start_matches("file://"));
            std::fs::create_dir_all(&root)?;
            let root = root.canonicalize()?;
            // fsync so a blob the server acknowledged survives a power cut.
            let fs = LocalFileSystem::new_with_prefix(&root)?.with_fsync(true);
            return Ok(Blobs {
                store: Arc::new(fs),
                multipart: None,
                description: format!("local folder {}", root.display()),
                local_root: Some(root),
                signer: None,
                memory: None,
            });
        }
        let url = url::Url::parse(location).map_err(|e| {
            StoreError::Config(format!("blob URL {location:?} is not a valid URL: {e}"))
        })?;
        let (scheme, _) = ObjectStoreScheme::parse(&url).map_err(|e| {
            StoreError::Config(format!("blob URL {location:?} names no known store: {e}"))
        })?;
        let mut signer: Option<(Arc<dyn Signer>, Path)> = None;
        let (store, multipart) = match scheme {
            ObjectStoreScheme::AmazonS3 => {
                let mut builder = object_store::aws::AmazonS3Builder::new().with_url(url.as_str());
                for (key, value) in options {
                    if let Ok(k) = key.to_ascii_lowercase().parse() {
                        builder = builder.with_config(k, value);
                    }
                }
                let (_, prefix) = ObjectStoreScheme::parse(&url).map_err(|e| {
                    StoreError::Config(format!("blob URL {location:?} names no known store: {e}"))
                })?;
                signer = Some((Arc::new(builder.clone().build()?), prefix));
                with_prefix(builder.build()?, &url)?
            }
            ObjectStoreScheme::GoogleCloudStorage => {
                let mut builder =
                    object_store::gcp::GoogleCloudStorageBuilder::new().with_url(url.as_str());
                for (key, value) in options {
                    if let Ok(k) = key.to_ascii_lowercase().parse() {
                        builder = builder.with_config(k, value);
                    }
                }
                with_prefix(builder.build()?, &url)?
            }
            ObjectStoreScheme::MicrosoftAzure => {
                let mut builder =
                    object_store::azure::MicrosoftAzureBuilder::new().with_url(url.as_str());
                for (key, value) in options {
                    if let Ok(k) = key.to_ascii_lowercase().parse() {
                        builder = builder.with_config(k, value);
                    }
                }
                with_prefix(builder.build()?, &url)?
            }
            _ => {
                let (store, prefix) = object_store::parse_url_opts(&url, options.iter())?;
                let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
                    Arc::from(store)
                } else {
                    Arc::new(PrefixStore::new(store, prefix))
                };
                (store, None)
            }
        };
        Ok(Blobs {
            store,
            multipart,
            signer,
            memory: None,
            local_root: None,
            description: format!(
                "{}://{}{}",
                url.scheme(),
                url.host_str().unwrap_or(""),
                url.path()
            ),
        })
    }

    /// Where the blobs live, for logs and `tutti config` (never includes credentials).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The underlying store, for streaming and multipart uploads of large objects.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Writes a whole blob; returns once it is durable.
    pub async fn put(&self, key: &str, bytes: impl Into<Bytes>) -> Result<()> {
        let bytes: Bytes = bytes.into();
        let len = bytes.len() as u64;
        let _forgetting = self.forgetting(key);
        self.store
            .put(&parse_key(key)?, PutPayload::from_bytes(bytes))
            .await?;
        metrics::counter!("tutti_blob_bytes_written_total").increment(len);
        Ok(())
    }

    /// Writes a whole blob given in pieces (sent as they are, not joined); returns once it
    /// is durable.
    pub async fn put_chunks(&self, key: &str, chunks: Vec<Bytes>) -> Result<()> {
        let payload: PutPayload = chunks.into_iter().collect();
        let len = payload.content_length() as u64;
        let _forgetting = self.forgetting(key);
        self.store.put(&parse_key(key)?, payload).await?;
        metrics::counter!("tutti_blob_bytes_written_total").increment(len);
        Ok(())
    }

    /// Writes a stream as one blob in parts of a few MiB (never holding it whole), computing
    /// its SHA-256 on the way. When `expected` is given and differs, the write is abandoned
    /// before the blob becomes visible and [`StoreError::ChecksumMismatch`] is returned; a
    /// stream error abandons it too. Returns once the blob is durable (a fsynced file and
    /// folder, or a completed multipart upload).
    pub async fn put_stream<S, E>(
        &self,
        key: &str,
        stream: S,
        expected: Option<Checksum>,
    ) -> Result<StoredBlob>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = parse_key(key)?;
        let _forgetting = self.forgetting(key);
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, STREAM_PART_BYTES);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(StoreError::Incoming(e.into().to_string()));
                }
            };
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if let Err(e) = writer.wait_for_capacity(STREAM_PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.put(chunk);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let actual = Checksum::Sha256(digest);
        if let Some(expected) = expected
            && expected != actual
        {
            let _ = writer.abort().await;
            return Err(StoreError::ChecksumMismatch {
                expected: expected.hex(),
                actual: actual.hex(),
            });
        }
        writer.finish().await?;
        metrics::counter!("tutti_blob_bytes_written_total").increment(size);
        Ok(StoredBlob {
            key: key.to_string(),
            size,
            sha256: actual.hex(),
        })
    }

    /// Reads a blob as a stream of chunks, for bodies too large to hold.
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<futures::stream::BoxStream<'static, Result<Bytes>>> {
        let result = self
            .store
            .get(&parse_key(key)?)
            .await
            .map_err(not_found(key))?;
        Ok(result.into_stream().map_err(StoreError::from).boxed())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let result = self
            .store
            .get(&parse_key(key)?)
            .await
            .map_err(not_found(key))?;
        Ok(result.bytes().await?)
    }

    /// A byte range of a blob, for HTTP range requests and streaming players.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        self.store
            .get_range(&parse_key(key)?, range)
            .await
            .map_err(not_found(key))
    }

    /// The blob's size, or `None` when there is no such blob.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        match self.store.head(&parse_key(key)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The blob's size and when it was written (ms since the epoch), `None` when there is
    /// no such blob: what a `Last-Modified` answer needs.
    pub async fn meta(&self, key: &str) -> Result<Option<(u64, i64)>> {
        match self.store.head(&parse_key(key)?).await {
            Ok(meta) => Ok(Some((meta.size, meta.last_modified.timestamp_millis()))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A URL that fetches the blob straight from the store for `ttl`, for stores that can
    /// sign one (S3); `None` for the others, which must be served through the server.
    pub async fn presigned_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<url::Url>> {
        let Some((signer, prefix)) = &self.signer else {
            return Ok(None);
        };
        let key = parse_key(key)?;
        let full: Path = prefix.parts().chain(key.parts()).collect();
        Ok(Some(
            signer.signed_url(http::Method::GET, &full, ttl).await?,
        ))
    }

    /// Deletes a blob; deleting one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        let _forgetting = self.forgetting(key);
        match self.store.delete(&parse_key(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob under a prefix, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<BlobInfo>> {
        let prefix = if prefix.is_empty() {
            None
        } else {
            Some(parse_key(prefix)?)
        };
        let mut items: Vec<BlobInfo> = self
            .store
            .list(prefix.as_ref())
            .map_ok(|m| BlobInfo {
                key: m.location.to_string(),
                size: m.size,
            })
            .try_collect()
            .await?;
        items.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(items)
    }

    /// Proves the store answers (credentials, bucket, network) without writing anything.
    pub async fn ping(&self) -> Result<()> {
        self.store
            .list_with_delimiter(Some(&Path::from(".tutti")))
            .await?;
        Ok(())
    }
}

/// Parts of [`Blobs::put_stream`]: above S3's 5 MiB minimum, few enough in flight that a
/// stream costs at most a few tens of MiB of memory.
const STREAM_PART_BYTES: usize = 8 * 1024 * 1024;
const STREAM_PARTS_IN_FLIGHT: usize = 2;

/// One concrete store seen both as an object store and as a multipart store, under the
/// URL's path as key prefix.
#[allow(clippy::type_complexity)]
fn with_prefix<T: ObjectStore + MultipartStore>(
    store: T,
    url: &url::Url,
) -> Result<(Arc<dyn ObjectStore>, Option<Arc<dyn MultipartStore>>)> {
    let (_, prefix) = ObjectStoreScheme::parse(url)
        .map_err(|e| StoreError::Config(format!("blob URL {url} names no known store: {e}")))?;
    if prefix.as_ref().is_empty() {
        let store = Arc::new(store);
        Ok((store.clone(), Some(store)))
    } else {
        let store = Arc::new(PrefixStore::new(store, prefix));
        Ok((store.clone(), Some(store)))
    }
}

pub(crate) fn parse_key(key: &str) -> Result<Path> {
    if key.is_empty() || key.starts_with('/') || key.ends_with('/') {
        return Err(StoreError::Config(format!(
            "blob key {key:?} must be a relative path like \"studio/item/file\""
        )));
    }
    Path::parse(key)
        .map_err(|e| StoreError::Config(format!("blob key {key:?} is not a valid path: {e}")))
}

fn not_found(key: &str) -> impl FnOnce(object_store::Error) -> StoreError + '_ {
    move |e| match e {
        object_store::Error::NotFound { .. } => StoreError::BlobNotFound(key.to_string()),
        e => StoreError::Blob(e),
    }
}
