//! Writes of one blob that outlive a request and a process: resumable uploads. The store
//! keeps the bytes; the caller keeps, in its database, what is needed to go on (the
//! upload id, and on object stores each part's tag), so any node can take the next
//! piece and a restart loses nothing that was acknowledged.
//!
//! - On object stores ([`PartsKind::Multipart`]) it is the store's own multipart upload:
//!   parts numbered from 0, each durable once [`Blobs::parts_put`] returns, joined by
//!   [`Blobs::parts_complete`]. Every part but the last must be at least 5 MiB.
//! - On a local folder ([`PartsKind::File`]) it is one append file under
//!   `<root>/.incomplete/`, written through [`AppendFile`]; whatever was synced is
//!   durable, and [`Blobs::parts_complete`] renames it into place.

use std::path::PathBuf;

use std::io::{Seek, SeekFrom, Write};

use bytes::Bytes;
use object_store::PutPayload;

use super::{Blobs, parse_key};
use crate::error::{Result, StoreError};
use crate::new_id;

/// Where resumable writes keep their bytes until they are complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartsKind {
    /// The object store's multipart upload (S3, GCS, Azure).
    Multipart,
    /// An append file beside a local folder's blobs.
    File,
}

impl PartsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartsKind::Multipart => "multipart",
            PartsKind::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<PartsKind> {
        match s {
            "multipart" => Some(PartsKind::Multipart),
            "file" => Some(PartsKind::File),
            _ => None,
        }
    }
}

/// The folder of a local store's append files.
const INCOMPLETE: &str = ".incomplete";

impl Blobs {
    /// How this store keeps resumable writes; `None` when it can do neither.
    pub fn parts_kind(&self) -> Option<PartsKind> {
        if self.multipart.is_some() {
            Some(PartsKind::Multipart)
        } else if self.local_root.is_some() {
            Some(PartsKind::File)
        } else {
            None
        }
    }

    fn unsupported(&self) -> StoreError {
        StoreError::Config(format!(
            "the blob store {} cannot keep resumable uploads: use a local folder or an S3, GCS \
             or Azure store",
            self.description
        ))
    }

    /// Starts a resumable write of the blob `key`; returns its upload id.
    pub async fn parts_begin(&self, key: &str) -> Result<String> {
        let path = parse_key(key)?;
        if let Some(store) = &self.multipart {
            return Ok(store.create_multipart(&path).await?);
        }
        let Some(root) = &self.local_root else {
            return Err(self.unsupported());
        };
        let id = new_id();
        let dir = root.join(INCOMPLETE);
        let file = dir.join(&id);
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            std::fs::File::create(&file)?.sync_all()?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        Ok(id)
    }

    /// Stores part `index` (from 0) of a multipart write, given as the pieces it arrived in
    /// (no copy is made); durable when it returns. The
    /// returned tag goes to [`Blobs::parts_complete`] in index order. Putting an index again
    /// replaces that part.
    pub async fn parts_put(
        &self,
        key: &str,
        upload_id: &str,
        index: usize,
        data: Vec<Bytes>,
    ) -> Result<String> {
        let Some(store) = &self.multipart else {
            return Err(self.unsupported());
        };
        let data: PutPayload = data.into_iter().collect();
        let len = data.content_length() as u64;
        let part = store
            .put_part(&parse_key(key)?, &upload_id.to_string(), index, data)
            .await?;
        metrics::counter!("tutti_blob_bytes_written_total").increment(len);
        Ok(part.content_id)
    }

    /// Opens a local write's append file at `offset`, cutting off anything past it (bytes
    /// a broken request wrote but nobody acknowledged).
    pub async fn append_open(&self, upload_id: &str, offset: u64) -> Result<AppendFile> {
        let path = self.append_path(upload_id)?;
        let file = blocking(move || {
            let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
            file.set_len(offset)?;
            file.seek(SeekFrom::Start(offset))?;
            Ok(file)
        })
        .await?;
        Ok(AppendFile {
            file: Some(file),
            len: offset,
            synced: offset,
        })
    }

    fn append_path(&self, upload_id: &str) -> Result<PathBuf> {
        let Some(root) = &self.local_root else {
            return Err(self.unsupported());
        };
        if upload_id.is_empty() || !upload_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(StoreError::Config(format!(
                "{upload_id:?} is not a local upload id"
            )));
        }
        Ok(root.join(INCOMPLETE).join(upload_id))
    }

    /// Joins the parts (`tags` in index order; ignored for local files) into the blob `key`;
    /// durable and visible when it returns.
    pub async fn parts_complete(
        &self,
        key: &str,
        upload_id: &str,
        tags: Vec<String>,
    ) -> Result<()> {
        let path = parse_key(key)?;
        let _forgetting = self.forgetting(key);
        if let Some(store) = &self.multipart {
            let parts = tags
                .into_iter()
                .map(|content_id| object_store::multipart::PartId { content_id })
                .collect();
            store
                .complete_multipart(&path, &upload_id.to_string(), parts)
                .await?;
            return Ok(());
        }
        let from = self.append_path(upload_id)?;
        let root = self.local_root.clone().expect("append_path checked it");
        let to = path.parts().fold(root, |dir, part| dir.join(part.as_ref()));
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let parent = to.parent().expect("a key has a folder").to_path_buf();
            std::fs::create_dir_all(&parent)?;
            std::fs::File::open(&from)?.sync_all()?;
            std::fs::rename(&from, &to)?;
            std::fs::File::open(&parent)?.sync_all()?;
            std::fs::File::open(from.parent().expect("in .incomplete"))?.sync_all()
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    /// Abandons a resumable write and frees what it stored; one already gone is not an
    /// error.
    pub async fn parts_abort(&self, key: &str, upload_id: &str) -> Result<()> {
        if let Some(store) = &self.multipart {
            return match store
                .abort_multipart(&parse_key(key)?, &upload_id.to_string())
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            };
        }
        match tokio::fs::remove_file(self.append_path(upload_id)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Runs file work on the blocking pool, so it is finished (not merely started) when the
/// future returns: a file dropped after an error has nothing still in flight that could
/// land after the next request reopened it.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
        .map_err(StoreError::Io)
}

/// A local resumable write's file, open for appending.
#[derive(Debug)]
pub struct AppendFile {
    file: Option<std::fs::File>,
    len: u64,
    synced: u64,
}

impl AppendFile {
    async fn with<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut std::fs::File) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Io(std::io::Error::other("an earlier write failed")))?;
        let (file, result) = blocking(move || {
            let result = work(&mut file);
            Ok((file, result))
        })
        .await?;
        self.file = Some(file);
        result.map_err(StoreError::Io)
    }

    /// Appends bytes (written when this returns, durable only after [`AppendFile::sync`]).
    pub async fn write(&mut self, bytes: Bytes) -> Result<()> {
        let len = bytes.len() as u64;
        self.with(move |f| f.write_all(&bytes)).await?;
        self.len += len;
        Ok(())
    }

    /// Makes everything written so far durable; returns the durable length.
    pub async fn sync(&mut self) -> Result<u64> {
        self.with(|f| f.sync_data()).await?;
        metrics::counter!("tutti_blob_bytes_written_total").increment(self.len - self.synced);
        self.synced = self.len;
        Ok(self.len)
    }

    /// Cuts the file back to `len` (dropping bytes that must not count) and syncs.
    pub async fn truncate(&mut self, len: u64) -> Result<()> {
        self.with(move |f| {
            f.set_len(len)?;
            f.seek(SeekFrom::Start(len))?;
            f.sync_data()
        })
        .await?;
        self.len = len;
        self.synced = self.synced.min(len);
        Ok(())
    }

    /// Bytes in the file, durable or not.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
