//! A release as one ZIP archive. The blob store's chunks go to a writer thread that
//! builds the archive in an anonymous temporary file (gone when closed), so a release
//! is never held in memory whole; the finished file is then streamed with its length
//! known. Audio and JPEG do not compress further: every entry is stored as it is.

use std::io::{Seek, SeekFrom, Write};

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tutti_store::Blobs;
use zip::write::SimpleFileOptions;

use super::DownloadFile;
use crate::error::MusicError;

/// Chunks that may wait between the blob store and the writer thread: reading runs at
/// most this far ahead of writing.
const QUEUE: usize = 8;
/// Bytes per chunk of the finished archive sent to the listener.
const CHUNK: usize = 64 * 1024;

/// What the reader hands the writer thread.
enum Piece {
    /// A new entry of this name and size starts.
    Start {
        name: String,
        size: u64,
    },
    Bytes(Bytes),
}

/// A finished archive in its temporary file.
pub struct Archive {
    file: tokio::fs::File,
    pub size: u64,
}

/// Writes `files` (archive name, blob) into a new archive, each entry dated `modified`.
pub async fn write(
    blobs: &Blobs,
    files: &[(String, DownloadFile)],
    modified: zip::DateTime,
) -> Result<Archive, MusicError> {
    let (tx, rx) = mpsc::channel::<Piece>(QUEUE);
    let writer = tokio::task::spawn_blocking(move || build(rx, modified));
    let fed = feed(blobs, files, &tx).await;
    drop(tx);
    let written = writer.await.map_err(MusicError::internal)?;
    // A writer that failed (a full disk) makes the reader fail too; its error is the
    // cause worth logging.
    let file = match (fed, written) {
        (_, Err(e)) => return Err(MusicError::internal(format!("writing an archive: {e}"))),
        (Err(e), Ok(_)) => return Err(e),
        (Ok(()), Ok(file)) => file,
    };
    let size = file.metadata().map_err(MusicError::internal)?.len();
    Ok(Archive {
        file: tokio::fs::File::from_std(file),
        size,
    })
}

async fn feed(
    blobs: &Blobs,
    files: &[(String, DownloadFile)],
    tx: &mpsc::Sender<Piece>,
) -> Result<(), MusicError> {
    let gone = |_| MusicError::internal("the archive writer stopped");
    for (name, file) in files {
        tx.send(Piece::Start {
            name: name.clone(),
            size: file.size,
        })
        .await
        .map_err(gone)?;
        let mut chunks = blobs.get_stream(&file.blob_key).await?;
        while let Some(chunk) = chunks.next().await {
            tx.send(Piece::Bytes(chunk?)).await.map_err(gone)?;
        }
    }
    Ok(())
}

/// The writer thread: entries as they come, then the central directory.
fn build(mut rx: mpsc::Receiver<Piece>, modified: zip::DateTime) -> Result<std::fs::File, String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let mut zip = zip::ZipWriter::new(tempfile::tempfile().map_err(|e| text(&e))?);
    while let Some(piece) = rx.blocking_recv() {
        match piece {
            Piece::Start { name, size } => {
                let options = SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored)
                    .last_modified_time(modified)
                    .large_file(size >= u64::from(u32::MAX));
                zip.start_file(name, options).map_err(|e| text(&e))?;
            }
            Piece::Bytes(bytes) => zip.write_all(&bytes).map_err(|e| text(&e))?,
        }
    }
    let mut file = zip.finish().map_err(|e| text(&e))?;
    file.flush().map_err(|e| text(&e))?;
    file.seek(SeekFrom::Start(0)).map_err(|e| text(&e))?;
    Ok(file)
}

impl Archive {
    /// The archive as a response body, read from its file a chunk at a time.
    pub fn into_body(self) -> Body {
        let chunks = futures::stream::unfold(Some(self.file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                // The error ends the body; nothing more is read.
                Err(e) => Some((Err::<Bytes, std::io::Error>(e), None)),
            }
        });
        Body::from_stream(chunks)
    }
}

/// A ZIP timestamp for Unix milliseconds (ZIP counts from 1980, in local time with no
/// zone: UTC is written).
pub fn zip_time(ms: i64) -> zip::DateTime {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}
