//! The choir's background work: converting an uploaded backing track to the mono
//! 48 kHz samples the mixer reads, and making a sung recording's files from the segments
//! the recorder stored (the mix as Ogg Opus, each singer's aligned stem as FLAC), and a
//! sweep finishing recordings a crash left open.

use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tutti_media::encode::{Output, encoder_for};
use tutti_media::pcm::{AudioSpec, PcmSink, PcmSource};
use tutti_media::presets::Preset;
use tutti_media::resample::convert;
use tutti_platform::Platform;
use tutti_store::{JobError, JobRun, NewJob, Schedule, TypedJob, Worker};

use crate::error::ChoirError;
use crate::recorder::{self, prefix};
use crate::timeline::SAMPLE_RATE;
use crate::{Choir, db};

/// Blocks of samples the encoders are fed.
const BLOCK: usize = 4800;

pub fn register(worker: Worker, choir: &Choir) -> Worker {
    worker
        .register_typed(ConvertTrack(choir.platform.clone()))
        .register_typed(MakeRecording(choir.platform.clone()))
        .register_typed(Sweep(choir.platform.clone()))
        .schedule(
            "choir.sweep",
            Schedule::every(Duration::from_secs(15 * 60)),
            NewJob::typed::<Sweep>(&()).expect("a unit payload serializes"),
        )
}

fn retry(e: ChoirError) -> JobError {
    match e {
        ChoirError::Media(detail) | ChoirError::Invalid { detail, .. } => JobError::Abort(detail),
        other => JobError::Retry(other.to_string()),
    }
}

fn media(e: tutti_media::MediaError) -> ChoirError {
    ChoirError::Media(e.to_string())
}

pub fn track_key(id: &str) -> String {
    format!("choir/tracks/{id}.pcm")
}

/// Collects mono samples as 16-bit little-endian bytes.
struct Pcm16(Arc<Mutex<Vec<u8>>>);

impl PcmSink for Pcm16 {
    fn write(&mut self, samples: &[f32]) -> tutti_media::Result<()> {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for &s in samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            out.extend_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }

    fn finish(&mut self) -> tutti_media::Result<()> {
        Ok(())
    }
}

/// Decodes any audio file to mono 48 kHz, as 16-bit little-endian samples.
pub fn to_pcm16(bytes: Vec<u8>, ext: Option<&str>) -> Result<Vec<u8>, ChoirError> {
    let mut source = tutti_media::decode::Decoder::open_bytes(bytes, ext).map_err(media)?;
    let spec = source.spec();
    let out = Arc::new(Mutex::new(Vec::new()));
    let target = AudioSpec::new(SAMPLE_RATE as u32, 1).map_err(media)?;
    let mut sink = convert(spec, target, Box::new(Pcm16(out.clone()))).map_err(media)?;
    while let Some(block) = source.read().map_err(media)? {
        sink.write(block).map_err(media)?;
    }
    sink.finish().map_err(media)?;
    drop(sink);
    let bytes = std::mem::take(&mut *out.lock().unwrap_or_else(|e| e.into_inner()));
    if bytes.is_empty() {
        return Err(ChoirError::Media("the file holds no audio".into()));
    }
    Ok(bytes)
}

pub struct ConvertTrack(pub Platform);

impl TypedJob for ConvertTrack {
    const KIND: &'static str = "choir.track";
    type Payload = String;
    type Output = ();

    async fn run(&self, id: String, _run: &JobRun) -> Result<(), JobError> {
        let p = &self.0;
        let Some(track) = db::track(p.db.pool(), &id).await.map_err(retry)? else {
            return Ok(());
        };
        let bytes = p
            .blobs
            .get(&track.upload_key)
            .await
            .map_err(|e| retry(e.into()))?;
        let ext = track
            .name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        let converted =
            tokio::task::spawn_blocking(move || to_pcm16(bytes.to_vec(), ext.as_deref()))
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
        match converted {
            Ok(pcm) => {
                let duration_ms = (pcm.len() as u64 / 2 * 1000 / SAMPLE_RATE) as i64;
                let key = track_key(&id);
                p.blobs.put(&key, pcm).await.map_err(|e| retry(e.into()))?;
                db::track_done(p.db.pool(), &id, Ok((&key, duration_ms)))
                    .await
                    .map_err(retry)?;
                Ok(())
            }
            Err(ChoirError::Media(detail)) => {
                let shown = format!("{} could not be read as audio: {detail}", track.name);
                db::track_done(p.db.pool(), &id, Err(&shown))
                    .await
                    .map_err(retry)?;
                Err(JobError::Abort(shown))
            }
            Err(e) => Err(retry(e)),
        }
    }
}

/// One stem as the recordings page lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stem {
    pub singer: String,
    pub name: String,
    pub key: String,
}

pub struct MakeRecording(pub Platform);

impl TypedJob for MakeRecording {
    const KIND: &'static str = "choir.recording";
    type Payload = String;
    type Output = ();

    fn timeout() -> Duration {
        Duration::from_secs(60 * 60)
    }

    async fn run(&self, id: String, _run: &JobRun) -> Result<(), JobError> {
        let p = &self.0;
        let Some(row) = db::recording(p.db.pool(), &id).await.map_err(retry)? else {
            return Ok(());
        };
        if row.status == "ready" {
            return Ok(());
        }
        let made = make_recording(p, &row).await;
        match made {
            Ok(()) => Ok(()),
            Err(e @ ChoirError::Media(_)) => {
                let _ = db::recording_done(p.db.pool(), &id, Err(&e.to_string())).await;
                Err(retry(e))
            }
            Err(e) => Err(retry(e)),
        }
    }
}

/// The segments under `prefix`, oldest first, read back.
async fn segments(p: &Platform, prefix: &str) -> Result<Vec<(u64, Vec<f32>)>, ChoirError> {
    let mut keys: Vec<String> = p
        .blobs
        .list(prefix)
        .await?
        .into_iter()
        .map(|b| b.key)
        .filter(|k| {
            k.rsplit('/')
                .next()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let bytes = p.blobs.get(&key).await?;
        if let Some(segment) = recorder::parse(&bytes) {
            out.push(segment);
        }
    }
    Ok(out)
}

/// Encodes segments laid out on one track of `length` samples (silence between them)
/// with `preset`, returning the file's bytes.
fn encode(
    segments: Vec<(u64, Vec<f32>)>,
    length: u64,
    preset: &str,
) -> Result<Vec<u8>, ChoirError> {
    let spec = AudioSpec::new(SAMPLE_RATE as u32, 1).map_err(media)?;
    let preset = Preset::by_name(preset).copied().map_err(media)?;
    let buffer = SharedBuffer::default();
    let out_spec = preset.output_spec(spec);
    let encoder = encoder_for(&preset, out_spec, Output::stream(buffer.clone())).map_err(media)?;
    let mut sink = convert(spec, out_spec, encoder).map_err(media)?;
    let silence = vec![0.0f32; BLOCK];
    let mut at = 0u64;
    let pad = |sink: &mut Box<dyn PcmSink>, to: u64, at: &mut u64| -> Result<(), ChoirError> {
        while *at < to {
            let n = ((to - *at) as usize).min(BLOCK);
            sink.write(&silence[..n]).map_err(media)?;
            *at += n as u64;
        }
        Ok(())
    };
    for (start, samples) in segments {
        if start + samples.len() as u64 <= at || start >= length {
            continue;
        }
        pad(&mut sink, start, &mut at)?;
        let skip = (at - start) as usize;
        let keep = ((length - at) as usize).min(samples.len() - skip);
        for block in samples[skip..skip + keep].chunks(BLOCK) {
            sink.write(block).map_err(media)?;
        }
        at += keep as u64;
    }
    pad(&mut sink, length.max(SAMPLE_RATE / 10), &mut at)?;
    sink.finish().map_err(media)?;
    drop(sink);
    Ok(buffer.take())
}

/// An in-memory file the encoders write to (a recording's files are a few MB).
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Cursor<Vec<u8>>>>);

impl SharedBuffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(self.0.lock().unwrap_or_else(|e| e.into_inner()).get_mut())
    }
}

impl std::io::Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn make_recording(p: &Platform, row: &db::RecordingRow) -> Result<(), ChoirError> {
    let base = prefix(&row.id);
    let mix = segments(p, &format!("{base}/mix")).await?;
    let length = row
        .length_samples
        .map(|l| l.max(0) as u64)
        .or_else(|| mix.last().map(|(at, s)| at + s.len() as u64))
        .unwrap_or(0);
    let ogg = tokio::task::spawn_blocking(move || encode(mix, length, "music-stream"))
        .await
        .map_err(ChoirError::internal)??;
    let mix_key = format!("{base}/mix.ogg");
    p.blobs.put(&mix_key, ogg).await?;
    db::recording_progress(p.db.pool(), &row.id, 50).await?;
    // Each singer's stem, aligned to the song's start.
    let mut singers: Vec<String> = p
        .blobs
        .list(&format!("{base}/stems"))
        .await?
        .into_iter()
        .filter_map(|b| {
            let rest = b.key.strip_prefix(&format!("{base}/stems/"))?.to_string();
            rest.split_once('/').map(|(s, _)| s.to_string())
        })
        .collect();
    singers.sort();
    singers.dedup();
    let mut stems = Vec::new();
    for (i, singer) in singers.iter().enumerate() {
        let dir = format!("{base}/stems/{singer}");
        let name = match p.blobs.get(&format!("{dir}/name")).await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => format!("singer {}", i + 1),
        };
        let parts = segments(p, &dir).await?;
        let flac = tokio::task::spawn_blocking(move || encode(parts, length, "flac-16"))
            .await
            .map_err(ChoirError::internal)??;
        let key = format!("{base}/stem-{singer}.flac");
        p.blobs.put(&key, flac).await?;
        stems.push(Stem {
            singer: singer.clone(),
            name,
            key,
        });
        let percent = 50 + 50 * (i as i64 + 1) / singers.len() as i64;
        db::recording_progress(p.db.pool(), &row.id, percent.min(99)).await?;
    }
    let stems_json = serde_json::to_string(&stems).map_err(ChoirError::internal)?;
    db::recording_done(p.db.pool(), &row.id, Ok((&mix_key, &stems_json))).await?;
    // The segments are now in the files.
    for blob in p.blobs.list(&base).await? {
        let keep = blob.key == mix_key || stems.iter().any(|s| s.key == blob.key);
        if !keep {
            let _ = p.blobs.delete(&blob.key).await;
        }
    }
    Ok(())
}

/// Finishes recordings a crash left open: their segments were stored as they came.
pub struct Sweep(pub Platform);

impl TypedJob for Sweep {
    const KIND: &'static str = "choir.sweep";
    type Payload = ();
    type Output = usize;

    async fn run(&self, _: (), _run: &JobRun) -> Result<usize, JobError> {
        let p = &self.0;
        // Longer than any recording runs (an hour at most).
        let before = tutti_store::now_ms() - 2 * 3600 * 1000;
        let ids = db::unfinished_recordings(p.db.pool(), before)
            .await
            .map_err(retry)?;
        for id in &ids {
            db::recording_sung(p.db.pool(), id, None)
                .await
                .map_err(retry)?;
            queue_recording(p, id).await.map_err(retry)?;
        }
        Ok(ids.len())
    }
}

/// Queues the job that makes a sung recording's files.
pub async fn queue_recording(p: &Platform, id: &str) -> Result<(), ChoirError> {
    let job = NewJob::typed::<MakeRecording>(&id.to_string()).map_err(ChoirError::internal)?;
    p.queue.enqueue(job).await?;
    p.queue.notify();
    Ok(())
}
