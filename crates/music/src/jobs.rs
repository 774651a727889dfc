//! The music studio's background work, in the platform's job queue: processing a
//! track's audio (`music.track`): renditions, loudness, waveform, duration, and the
//! album's cover from the file's embedded picture when the album has none. A job can be
//! killed at any point and run again: outputs go to keys named by the track and its
//! audio version, and the row only takes them if that version is still current.

use std::time::Duration;

use tokio::sync::watch;
use tutti_media::image::{ImageFormat, variants};
use tutti_store::{JobError, JobRun, TypedJob, Worker};

use crate::Music;
use crate::db::{self, Processed, Rendition};
use crate::domain::title_from_file_name;
use crate::error::MusicError;
use crate::process;

/// Sizes (pixels per side) of the cover and picture variants pages and apps ask for.
pub const COVER_SIZES: &[u32] = &[96, 300, 600, 1200];

/// Adds the studio's jobs to a worker.
pub fn register(worker: Worker, music: &Music) -> Worker {
    worker.register_typed(ProcessTrack(music.clone()))
}

fn retry(e: MusicError) -> JobError {
    match e {
        MusicError::Media(detail) | MusicError::Invalid { detail, .. } => JobError::Abort(detail),
        other => JobError::Retry(other.to_string()),
    }
}

/// Where a track's files of one audio version live.
pub fn track_prefix(track_id: &str, version: i64) -> String {
    format!("music/tracks/{track_id}/v{version}/")
}

/// Makes a track's streaming copies, loudness and waveform from its current original.
pub struct ProcessTrack(pub Music);

impl TypedJob for ProcessTrack {
    const KIND: &'static str = "music.track";
    type Payload = String;
    type Output = ();

    fn timeout() -> Duration {
        Duration::from_secs(60 * 60)
    }

    fn max_attempts() -> i64 {
        4
    }

    async fn run(&self, track_id: String, run: &JobRun) -> Result<(), JobError> {
        let p = &self.0.platform;
        let Some(track) = db::track(p.db.pool(), &track_id).await.map_err(retry)? else {
            return Ok(());
        };
        if track.status == "ready" {
            return Ok(());
        }
        match process_track(&self.0, &track, run).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let shown = match &e {
                    MusicError::Media(detail) => format!(
                        "{} could not be read as audio: {detail}",
                        track.original_name.as_deref().unwrap_or("the file")
                    ),
                    _ => "processing failed on the server; it is retried".to_string(),
                };
                let status = if matches!(e, MusicError::Media(_)) {
                    "failed"
                } else {
                    "waiting"
                };
                let _ = db::set_track_status(
                    p.db.pool(),
                    &track.id,
                    track.audio_version,
                    status,
                    0,
                    Some(&shown),
                )
                .await;
                tracing::warn!(track = %track.id, error = %e, "music processing failed");
                Err(retry(e))
            }
        }
    }
}

async fn process_track(music: &Music, track: &db::Track, run: &JobRun) -> Result<(), MusicError> {
    let p = &music.platform;
    let Some(original_key) = track.original_key.clone() else {
        return Err(MusicError::Media("the track has no audio yet".into()));
    };
    let version = track.audio_version;
    db::set_track_status(p.db.pool(), &track.id, version, "processing", 0, None).await?;
    let work = tempfile::tempdir().map_err(MusicError::internal)?;
    let ext = track
        .original_name
        .as_deref()
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let original = work.path().join(format!("original.{ext}"));
    let bytes = p.blobs.get(&original_key).await?;
    tokio::fs::write(&original, &bytes)
        .await
        .map_err(MusicError::internal)?;
    drop(bytes);

    // Progress goes to the row at most twice a second while the encoders run.
    let (progress_tx, mut progress_rx) = watch::channel(0i64);
    let dir = work.path().to_path_buf();
    let input = original.clone();
    let work_done = run.blocking(move |_| {
        process::run(&input, &dir, &mut |pct| {
            progress_tx.send_if_modified(|old| {
                let changed = *old != pct;
                *old = pct;
                changed
            });
        })
    });
    tokio::pin!(work_done);
    let made = loop {
        tokio::select! {
            done = &mut work_done => break done,
            changed = progress_rx.changed() => {
                if changed.is_ok() {
                    let pct = *progress_rx.borrow_and_update();
                    let _ = db::set_track_status(p.db.pool(), &track.id, version, "processing", pct, None).await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
    .map_err(|e| MusicError::Internal(e.to_string()))??;

    let prefix = track_prefix(&track.id, version);
    let mut renditions = Vec::new();
    for r in &made.renditions {
        let key = format!("{prefix}{}", r.file_name);
        let bytes = tokio::fs::read(&r.path)
            .await
            .map_err(MusicError::internal)?;
        let size = bytes.len() as i64;
        p.blobs.put(&key, bytes).await?;
        renditions.push(Rendition {
            track_id: track.id.clone(),
            format: r.format.to_string(),
            blob_key: key,
            media_type: r.media_type.to_string(),
            size_bytes: size,
            bitrate_kbps: r.bitrate_kbps,
        });
    }
    let album = db::album(p.db.pool(), &track.album_id).await?;
    if let (Some(album), Some(cover)) = (&album, &made.probe.cover)
        && album.cover_key.is_none()
    {
        // A picture that cannot be read leaves the album without a cover, not the track
        // without its audio.
        if let Ok(key) =
            store_cover(p, &format!("music/albums/{}/cover", album.id), &cover.data).await
        {
            let mut album = album.clone();
            album.cover_key = Some(key);
            db::update_album(p.db.pool(), &album).await?;
        }
    }
    let processed = Processed {
        duration_ms: made.duration_ms,
        sample_rate: i64::from(made.probe.sample_rate),
        channels: i64::from(made.probe.channels),
        bit_depth: made.probe.bits_per_sample.map(i64::from),
        track_gain_db: made.track_gain_db,
        track_peak: made.track_peak,
        waveform: serde_json::to_string(&made.peaks).map_err(MusicError::internal)?,
    };
    let mut tx = p.db.begin().await?;
    let current = db::finish_track(&mut tx, &track.id, version, &processed, &renditions).await?;
    if current
        && let Some(title) = made
            .probe
            .tags
            .title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        && track
            .original_name
            .as_deref()
            .map(title_from_file_name)
            .as_deref()
            == Some(&track.title)
    {
        db::fill_from_tags(&mut *tx, &track.id, title.trim()).await?;
    }
    run.finish_in(&mut tx, None)
        .await
        .map_err(|e| MusicError::Internal(e.to_string()))?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    if current {
        // Files of earlier versions are no longer referenced.
        for blob in p.blobs.list(&format!("music/tracks/{}", track.id)).await? {
            if !blob.key.starts_with(&prefix) {
                p.blobs.delete(&blob.key).await?;
            }
        }
    } else {
        // Replaced or deleted meanwhile: what this run wrote belongs to nothing.
        for r in &renditions {
            p.blobs.delete(&r.blob_key).await?;
        }
    }
    Ok(())
}

/// Stores the size variants of a picture under `prefix` (`{prefix}-{size}.jpg`) and
/// returns `prefix`, which pages and apps complete with the size they want.
pub async fn store_cover(
    p: &tutti_platform::Platform,
    prefix: &str,
    picture: &[u8],
) -> Result<String, MusicError> {
    let picture = picture.to_vec();
    let made =
        tokio::task::spawn_blocking(move || variants(&picture, COVER_SIZES, &[ImageFormat::Jpeg]))
            .await
            .map_err(MusicError::internal)?
            .map_err(|e| MusicError::invalid("picture", e.to_string()))?;
    for v in made {
        p.blobs
            .put(
                &format!("{prefix}-{}.{}", v.size, v.format.extension()),
                v.bytes,
            )
            .await?;
    }
    Ok(prefix.to_string())
}

/// The variant of a stored picture nearest above `size` (or the largest).
pub fn cover_variant(prefix: &str, size: u32) -> String {
    let pick = COVER_SIZES
        .iter()
        .copied()
        .find(|s| *s >= size)
        .unwrap_or(*COVER_SIZES.last().unwrap_or(&600));
    format!("{prefix}-{pick}.jpg")
}
