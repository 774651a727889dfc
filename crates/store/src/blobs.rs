//! One blob store for every studio: a folder on the local disk by default, or any object
//! store `object_store` understands (`s3://`, `gs://`, `az://`) at scale. Keys are
//! slash-separated paths such as `recital/takes/<id>/chunk-0003.webm`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Result, StoreError};

/// Handle to the configured blob store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    description: String,
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
                description: format!("local folder {}", root.display()),
            });
        }
        let url = url::Url::parse(location).map_err(|e| {
            StoreError::Config(format!("blob URL {location:?} is not a valid URL: {e}"))
        })?;
        let (store, prefix) = object_store::parse_url_opts(&url, options.iter())?;
        let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            Arc::from(store)
        } else {
            Arc::new(PrefixStore::new(store, prefix))
        };
        Ok(Blobs {
            store,
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
        self.store
            .put(&parse_key(key)?, PutPayload::from_bytes(bytes))
            .await?;
        metrics::counter!("tutti_blob_bytes_written_total").increment(len);
        Ok(())
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

    /// Deletes a blob; deleting one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
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

fn parse_key(key: &str) -> Result<Path> {
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
