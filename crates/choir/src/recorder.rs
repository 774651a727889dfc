//! Writes recordings to the blob store while they are sung, so a crash keeps what was
//! recorded: the rooms hand their [`Segment`]s to one task that gathers about
//! [`SEGMENT`] of audio per stream and stores it as one blob, then, when the song ends,
//! marks the recording sung and queues the job that makes its files (`jobs`).
//!
//! Blobs, under `choir/recordings/<id>/`: `mix/<seq>` and `stems/<singer>/<seq>`, each an
//! 8-byte little-endian start (samples after the song's start) followed by 16-bit
//! little-endian mono 48 kHz samples; `stems/<singer>/name` holds the singer's name.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;
use tutti_platform::Platform;

use crate::db;
use crate::domain::SingerId;
use crate::timeline::{Clock, SAMPLE_RATE};

/// Audio gathered per stream before it is written: what a crash can lose at most.
pub const SEGMENT: Clock = 2 * SAMPLE_RATE;
/// Recordings stop growing after an hour.
pub const MAX_LENGTH: Clock = 3600 * SAMPLE_RATE;

/// What a room hands to the recorder.
#[derive(Debug)]
pub enum Segment {
    Begin {
        id: String,
        room: String,
    },
    Mix {
        id: String,
        at: Clock,
        samples: Vec<f32>,
    },
    Stem {
        id: String,
        singer: SingerId,
        name: String,
        at: Clock,
        samples: Vec<f32>,
    },
    /// The song ended (`length` known) or was cut short.
    End {
        id: String,
        length: Option<Clock>,
    },
}

/// The handle rooms send to; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Segment>,
}

impl Recorder {
    /// Starts the task writing to `platform`'s blob store; `finished` is called with each
    /// recording sung to its end (to queue its job).
    pub fn start(
        platform: Platform,
        finished: impl Fn(String) -> futures_util::future::BoxFuture<'static, ()> + Send + 'static,
    ) -> Recorder {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(platform, rx, finished));
        Recorder { tx }
    }

    pub fn send(&self, segment: Segment) {
        if self.tx.send(segment).is_err() {
            tracing::error!("the choir recorder has stopped; a recording segment is lost");
        }
    }
}

/// The folder of a recording's blobs (listed without a trailing slash).
pub fn prefix(id: &str) -> String {
    format!("choir/recordings/{id}")
}

/// One stream's audio waiting to be written.
#[derive(Default)]
struct Pending {
    at: Clock,
    samples: Vec<i16>,
    seq: u32,
}

struct Open {
    mix: Pending,
    stems: HashMap<SingerId, Pending>,
    /// Where the mix reached, for a recording cut short.
    end: Clock,
}

async fn run(
    platform: Platform,
    mut rx: mpsc::UnboundedReceiver<Segment>,
    finished: impl Fn(String) -> futures_util::future::BoxFuture<'static, ()>,
) {
    let mut open: HashMap<String, Open> = HashMap::new();
    while let Some(segment) = rx.recv().await {
        match segment {
            Segment::Begin { id, room } => {
                if let Err(e) = db::begin_recording(platform.db.pool(), &id, &room).await {
                    tracing::error!(recording = %id, error = %e, "could not note a recording");
                }
                open.insert(
                    id,
                    Open {
                        mix: Pending::default(),
                        stems: HashMap::new(),
                        end: 0,
                    },
                );
            }
            Segment::Mix { id, at, samples } => {
                let Some(o) = open.get_mut(&id) else { continue };
                o.end = o.end.max(at + samples.len() as u64);
                let key = format!("{}/mix/", prefix(&id));
                add(&platform, &key, &mut o.mix, at, &samples).await;
            }
            Segment::Stem {
                id,
                singer,
                name,
                at,
                samples,
            } => {
                let Some(o) = open.get_mut(&id) else { continue };
                let key = format!("{}/stems/{singer}/", prefix(&id));
                let pending = o.stems.entry(singer).or_insert_with(|| {
                    let name_key = format!("{key}name");
                    let platform = platform.clone();
                    let name = Bytes::from(name.clone().into_bytes());
                    tokio::spawn(async move {
                        if let Err(e) = platform.blobs.put(&name_key, name).await {
                            tracing::error!(error = %e, "could not store a stem's name");
                        }
                    });
                    Pending::default()
                });
                add(&platform, &key, pending, at, &samples).await;
            }
            Segment::End { id, length } => {
                let Some(mut o) = open.remove(&id) else {
                    continue;
                };
                flush(&platform, &format!("{}/mix/", prefix(&id)), &mut o.mix).await;
                for (singer, pending) in &mut o.stems {
                    flush(
                        &platform,
                        &format!("{}/stems/{singer}/", prefix(&id)),
                        pending,
                    )
                    .await;
                }
                let length = length.unwrap_or(o.end).min(MAX_LENGTH);
                match db::recording_sung(platform.db.pool(), &id, Some(length as i64)).await {
                    Ok(()) => finished(id).await,
                    Err(e) => {
                        tracing::error!(recording = %id, error = %e, "could not end a recording")
                    }
                }
            }
        }
    }
}

/// Adds samples starting at `at` to a stream, writing what was gathered first when they
/// do not follow on, and whenever a segment's worth is gathered.
async fn add(platform: &Platform, key: &str, p: &mut Pending, at: Clock, samples: &[f32]) {
    if at >= MAX_LENGTH {
        return;
    }
    if !p.samples.is_empty() && p.at + p.samples.len() as u64 != at {
        flush(platform, key, p).await;
    }
    if p.samples.is_empty() {
        p.at = at;
    }
    p.samples.extend(
        samples
            .iter()
            .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16),
    );
    if p.samples.len() as u64 >= SEGMENT {
        flush(platform, key, p).await;
    }
}

async fn flush(platform: &Platform, key: &str, p: &mut Pending) {
    if p.samples.is_empty() {
        return;
    }
    let mut bytes = BytesMut::with_capacity(8 + 2 * p.samples.len());
    bytes.put_u64_le(p.at);
    for s in &p.samples {
        bytes.put_i16_le(*s);
    }
    let key = format!("{key}{:08}", p.seq);
    p.seq += 1;
    p.samples.clear();
    if let Err(e) = platform.blobs.put(&key, bytes.freeze()).await {
        tracing::error!(key, error = %e, "could not store a recording segment");
    }
}

/// A stored segment read back: its start and samples.
pub fn parse(bytes: &[u8]) -> Option<(Clock, Vec<f32>)> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    if rest.len() % 2 != 0 {
        return None;
    }
    let at = u64::from_le_bytes(*head);
    let samples = rest
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32767.0)
        .collect();
    Some((at, samples))
}
