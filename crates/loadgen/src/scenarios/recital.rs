//! `tutti-load recital`: many volunteers reading aloud at once. Each simulated speaker
//! signs in, consents to the campaign's agreement, opens a recording session on a
//! document and streams ONE WebM/Opus recording as MediaRecorder does: consecutive byte
//! slices of the file (the first holds the header), one every `--chunk-seconds` at real
//! time, each acknowledged only once durable; meanwhile it marks where each sentence
//! ended, and at the end it closes the session keeping the last sentence.
//!
//! The timeline is open loop per speaker: chunk `k` is due when its audio would have been
//! recorded (`start + (k + 1) × chunk seconds`, the last at the recording's end) and its
//! acknowledgement latency counts from that due time, so a slow server shows as latency
//! (and as later chunks queueing behind it, as in a browser's upload queue), never as a
//! lower rate. Speakers start spread over the first chunk period. A chunk that meets a
//! network error, a 5xx or a 429 is sent again with backoff; the server must answer a
//! repeat with 200 or 201 (it acknowledges the same bytes twice). After `end`, each session
//! is read back and its stored chunks compared with the acknowledged ones: any difference
//! is a lost chunk. With `--wait-processing`, the sessions are then polled until processed
//! and the backlog's processing rate reported in "× real time".
//!
//! Cheap for the generator: one task per speaker, the recording and its chunk digests made
//! once and shared (`Bytes` slices), samples sent to one collector over a channel.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use bytes::Bytes;
use clap::Args;
use futures_util::StreamExt as _;
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::clients::{HttpUser, error_kind};
use crate::run::{ClientArgs, LoadArgs, Output, parse_duration};
use crate::stats::{Latencies, Percentiles, round3};

/// Where the recital studio's API lives.
pub const API: &str = "/api/v1/recital";
/// What Chrome's MediaRecorder says its chunks are.
pub const WEBM_OPUS: &str = "audio/webm;codecs=opus";
/// The preset the generated recording is encoded with: Opus in WebM, mono 48 kHz.
pub const PRESET: &str = "speech-light-webm";
/// The number of a session's first chunk.
pub const FIRST_SEQ: u64 = 0;
/// A sentence shorter than this at the end of the recording gets no segment of its own.
const LAST_SENTENCE_MIN_S: f64 = 0.5;
/// Session reads in flight at once while checking and while waiting for processing.
const POLL_CONCURRENCY: usize = 8;

/// The recital scenario's options: the shared client options and its own.
#[derive(Debug, Clone, Args)]
pub struct RecitalArgs {
    #[command(flatten)]
    pub clients: ClientArgs,
    /// The campaign's slug.
    #[arg(long)]
    pub campaign: String,
    /// The document the speakers read [default: the campaign's first].
    #[arg(long)]
    pub document: Option<String>,
    /// The recording to stream (as MediaRecorder makes it: WebM/Opus) [default: a
    /// speech-like signal encoded with the speech-light-webm preset at start].
    #[arg(long)]
    pub media: Option<PathBuf>,
    /// The chunks' Content-Type.
    #[arg(long, default_value = WEBM_OPUS)]
    pub content_type: String,
    /// Seconds of audio in each chunk (MediaRecorder's timeslice); one is sent this often.
    #[arg(long, default_value_t = 2.0)]
    pub chunk_seconds: f64,
    /// Seconds each sentence takes to read: a segment is posted this often.
    #[arg(long, default_value_t = 4.0)]
    pub seconds_per_sentence: f64,
    /// Length of the generated recording [default: 60].
    #[arg(long, conflicts_with_all = ["duration", "media"])]
    pub recording_seconds: Option<f64>,
    /// Length of the generated recording as a duration (90s, 2m), instead of
    /// --recording-seconds.
    #[arg(long, value_parser = parse_duration, conflicts_with = "media")]
    pub duration: Option<Duration>,
    /// After every session ended, wait until all are processed and report the
    /// processing rate (audio seconds per wall second).
    #[arg(long)]
    pub wait_processing: bool,
    /// Stop waiting for processing after this long; sessions not processed by then
    /// count as timed out.
    #[arg(long, default_value = "60m", value_parser = parse_duration)]
    pub processing_timeout: Duration,
    /// Least time between two reads of one session while waiting for processing.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Session reads per second at most while waiting, so that polling does not slow
    /// the processing it measures.
    #[arg(long, default_value_t = 100.0)]
    pub poll_rate: f64,
    /// Times a chunk is sent again after a network error, 5xx or 429 before it counts
    /// as failed.
    #[arg(long, default_value_t = 5)]
    pub max_retries: u32,
    /// Consents and session creations sent at once before streaming starts.
    #[arg(long, default_value_t = 16)]
    pub setup_concurrency: usize,
    /// Print JSON objects, one per line: the sign-ins, the setup, and the summary last.
    #[arg(long)]
    pub json: bool,
}

impl RecitalArgs {
    /// Refuses options no run could use.
    pub fn check(&self) -> anyhow::Result<()> {
        self.clients.check()?;
        anyhow::ensure!(
            self.chunk_seconds >= 0.1 && self.chunk_seconds.is_finite(),
            "--chunk-seconds must be at least 0.1"
        );
        anyhow::ensure!(
            self.seconds_per_sentence > 0.0 && self.seconds_per_sentence.is_finite(),
            "--seconds-per-sentence must be above 0"
        );
        anyhow::ensure!(
            self.recording_seconds() >= 1.0 && self.recording_seconds().is_finite(),
            "the recording must last at least 1 s"
        );
        anyhow::ensure!(self.poll_rate > 0.0, "--poll-rate must be above 0");
        Ok(())
    }

    /// How long the generated recording lasts.
    pub fn recording_seconds(&self) -> f64 {
        match (self.recording_seconds, self.duration) {
            (Some(s), _) => s,
            (None, Some(d)) => d.as_secs_f64(),
            (None, None) => 60.0,
        }
    }
}

// --- the recording ---------------------------------------------------------------------

/// One chunk as every speaker sends it: a slice of the recording and its digest, made
/// once.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub bytes: Bytes,
    /// `sha-256=:…:` (RFC 9530), the `Content-Digest` header's value.
    pub digest: HeaderValue,
    /// When it is sent, counted from the recording's start: when its audio is recorded.
    pub due: Duration,
}

/// The recording every speaker streams, cut into chunks once.
#[derive(Debug, Clone)]
pub struct Recording {
    pub bytes: Bytes,
    pub seconds: f64,
    pub chunk_seconds: f64,
    pub chunks: Arc<[Chunk]>,
    /// Where it came from, for the summary.
    pub source: String,
}

impl Recording {
    /// `bytes`, lasting `seconds`, cut into chunks of `chunk_seconds` of audio each.
    pub fn new(bytes: Bytes, seconds: f64, chunk_seconds: f64, source: String) -> Recording {
        let ranges = slice_ranges(bytes.len(), seconds, chunk_seconds);
        let dues = chunk_dues(ranges.len(), seconds, chunk_seconds);
        let chunks = ranges
            .into_iter()
            .zip(dues)
            .map(|(range, due)| {
                let bytes = bytes.slice(range);
                Chunk {
                    digest: content_digest(&bytes),
                    bytes,
                    due,
                }
            })
            .collect();
        Recording {
            bytes,
            seconds,
            chunk_seconds,
            chunks,
            source,
        }
    }

    /// The recording `--media` names, or a generated one.
    pub fn from_args(args: &RecitalArgs) -> anyhow::Result<Recording> {
        match &args.media {
            Some(path) => {
                let info = tutti_media::probe::probe_path(path)
                    .with_context(|| format!("could not read {}", path.display()))?;
                anyhow::ensure!(
                    info.duration_seconds > 0.0,
                    "{} holds no audio",
                    path.display()
                );
                let bytes = std::fs::read(path)
                    .with_context(|| format!("could not read {}", path.display()))?;
                Ok(Recording::new(
                    bytes.into(),
                    info.duration_seconds,
                    args.chunk_seconds,
                    path.display().to_string(),
                ))
            }
            None => {
                let seconds = args.recording_seconds();
                let bytes = generate(seconds)?;
                Ok(Recording::new(
                    bytes.into(),
                    seconds,
                    args.chunk_seconds,
                    format!("generated speech-like signal, {PRESET}"),
                ))
            }
        }
    }
}

/// The byte ranges of the chunks of a `len`-byte file lasting `seconds`: consecutive,
/// covering the file, each about `chunk_seconds` of audio (the file's bytes per second ×
/// chunk seconds; the container is walked by the server, so any split works). A last
/// piece shorter than a twentieth of a chunk is added to the one before.
pub fn slice_ranges(len: usize, seconds: f64, chunk_seconds: f64) -> Vec<Range<usize>> {
    let count = chunk_count(seconds, chunk_seconds);
    let per_chunk = len as f64 / seconds * chunk_seconds;
    let mut ranges = Vec::with_capacity(count);
    let mut start = 0;
    for k in 1..=count {
        let end = if k == count {
            len
        } else {
            ((k as f64 * per_chunk).round() as usize).clamp(start, len)
        };
        if end > start {
            ranges.push(start..end);
            start = end;
        }
    }
    ranges
}

/// How many chunks a recording of `seconds` makes.
fn chunk_count(seconds: f64, chunk_seconds: f64) -> usize {
    ((seconds / chunk_seconds - 0.05).ceil() as usize).max(1)
}

/// When each of `count` chunks is due, from the recording's start: chunk `k` when its
/// audio ends (`(k + 1) × chunk_seconds`), the last when the recording stops.
pub fn chunk_dues(count: usize, seconds: f64, chunk_seconds: f64) -> Vec<Duration> {
    (0..count)
        .map(|k| {
            let at = if k + 1 == count {
                seconds
            } else {
                (k + 1) as f64 * chunk_seconds
            };
            Duration::from_secs_f64(at)
        })
        .collect()
}

/// Where each sentence read ends, in milliseconds from the recording's start: one every
/// `per_sentence` seconds, and one at the end for a last sentence cut short, at most
/// `sentences`.
pub fn segment_ends(seconds: f64, per_sentence: f64, sentences: usize) -> Vec<u64> {
    let mut ends = Vec::new();
    let mut j = 1;
    while j as f64 * per_sentence <= seconds + 1e-9 && ends.len() < sentences {
        ends.push((j as f64 * per_sentence * 1000.0).round() as u64);
        j += 1;
    }
    let read = ends.last().map_or(0.0, |&ms| ms as f64 / 1000.0);
    if seconds - read >= LAST_SENTENCE_MIN_S && ends.len() < sentences {
        ends.push((seconds * 1000.0).round() as u64);
    }
    ends
}

/// Speaker `i`'s start within the first chunk period: the golden-ratio sequence, so any
/// number of speakers is spread evenly (and the same way every run).
pub fn start_offset(i: usize, period: Duration) -> Duration {
    const PHI_INVERSE: f64 = 0.618_033_988_749_895;
    period.mul_f64((i as f64 * PHI_INVERSE).fract())
}

/// The `Content-Digest` of `bytes`: `sha-256=:<base64>:` (RFC 9530).
pub fn content_digest(bytes: &[u8]) -> HeaderValue {
    let b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes));
    HeaderValue::from_str(&format!("sha-256=:{b64}:")).expect("base64 is a header value")
}

/// A writer into memory the encoder can own while we keep a handle on its bytes.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("one writer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Encodes `seconds` of [`speech_like`] audio with the [`PRESET`] preset, written front to
/// back as MediaRecorder writes (the Segment's size unknown, no cues).
pub fn generate(seconds: f64) -> anyhow::Result<Vec<u8>> {
    let preset = tutti_media::presets::Preset::by_name(PRESET)?;
    let spec = tutti_media::AudioSpec::new(48_000, 1)?;
    let buffer = SharedBuffer::default();
    let out = tutti_media::encode::Output::stream(buffer.clone());
    let mut encoder: Box<dyn tutti_media::PcmSink> =
        tutti_media::encode::encoder_for(preset, spec, out)?;
    let mut voice = SpeechLike::new(spec.sample_rate, 0x5EED_2024);
    let total = (seconds * f64::from(spec.sample_rate)).round() as usize;
    let mut block = vec![0.0f32; 4800];
    let mut done = 0;
    while done < total {
        let n = block.len().min(total - done);
        voice.fill(&mut block[..n]);
        encoder.write(&block[..n])?;
        done += n;
    }
    encoder.finish()?;
    drop(encoder);
    let bytes = std::mem::take(&mut *buffer.0.lock().expect("one writer"));
    Ok(bytes)
}

/// SplitMix64: a tiny deterministic generator for the synthetic voice.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Vowels' first two formants (Hz): a, e, i, o, u.
const VOWELS: [(f64, f64); 5] = [
    (750.0, 1200.0),
    (500.0, 1800.0),
    (300.0, 2300.0),
    (500.0, 900.0),
    (320.0, 800.0),
];

/// A speech-like signal, so the server's checks see something like a voice: syllables of
/// a voiced source (harmonics of a gliding pitch shaped by two vowel formants and a third
/// fixed one) with some fricative onsets, grouped into words and sentences with pauses
/// between them, over a faint noise floor.
struct SpeechLike {
    rate: f64,
    random: SplitMix,
    /// Samples left in the current syllable or pause.
    left: usize,
    length: usize,
    voiced: bool,
    /// Harmonic amplitudes of the current syllable.
    harmonics: Vec<f64>,
    f0: f64,
    f0_step: f64,
    phase: f64,
    gain: f64,
    /// Samples of fricative noise at the syllable's start.
    fricative: usize,
    last_noise: f64,
    syllables_left_in_word: u32,
    words_left_in_sentence: u32,
    sentence_f0: f64,
}

impl SpeechLike {
    fn new(rate: u32, seed: u64) -> SpeechLike {
        SpeechLike {
            rate: f64::from(rate),
            random: SplitMix(seed),
            left: 0,
            length: 1,
            voiced: false,
            harmonics: Vec::with_capacity(64),
            f0: 150.0,
            f0_step: 0.0,
            phase: 0.0,
            gain: 0.0,
            fricative: 0,
            last_noise: 0.0,
            syllables_left_in_word: 0,
            words_left_in_sentence: 0,
            sentence_f0: 150.0,
        }
    }

    /// Starts the next syllable or pause.
    fn next_part(&mut self) {
        let r = &mut self.random;
        if self.voiced {
            // A syllable just ended: a pause between words or sentences, or none.
            let pause = if self.syllables_left_in_word > 0 {
                0.0
            } else if self.words_left_in_sentence > 0 {
                r.range(0.04, 0.14)
            } else {
                r.range(0.45, 0.8)
            };
            self.voiced = false;
            if pause > 0.0 {
                self.length = (pause * self.rate) as usize;
                self.left = self.length;
                return;
            }
        }
        if self.words_left_in_sentence == 0 {
            self.words_left_in_sentence = r.range(6.0, 12.0) as u32;
            self.sentence_f0 = r.range(110.0, 190.0);
        }
        if self.syllables_left_in_word == 0 {
            self.syllables_left_in_word = r.range(1.0, 4.0) as u32;
            self.words_left_in_sentence -= 1;
        }
        self.syllables_left_in_word -= 1;
        let seconds = r.range(0.12, 0.28);
        self.length = (seconds * self.rate) as usize;
        self.left = self.length;
        self.voiced = true;
        // Pitch glides within the syllable and falls over the sentence.
        let start = self.sentence_f0 * r.range(0.9, 1.12);
        let end = start * r.range(0.88, 1.05);
        self.f0 = start;
        self.f0_step = (end - start) / self.length as f64;
        self.sentence_f0 *= 0.985;
        self.gain = r.range(0.5, 1.0);
        self.fricative = if r.range(0.0, 1.0) < 0.3 {
            (r.range(0.03, 0.07) * self.rate) as usize
        } else {
            0
        };
        let (f1, f2) = VOWELS[(r.next() % VOWELS.len() as u64) as usize];
        let formants = [(f1, 90.0), (f2, 120.0), (2600.0, 200.0)];
        self.harmonics.clear();
        let mut total = 0.0;
        let count = (3800.0 / start) as usize;
        for h in 1..=count {
            let f = h as f64 * start;
            let shape: f64 = formants
                .iter()
                .map(|(centre, width)| (-((f - centre) / width).powi(2)).exp())
                .sum();
            let a = (shape + 0.03) / (h as f64).sqrt();
            total += a;
            self.harmonics.push(a);
        }
        for a in &mut self.harmonics {
            *a /= total;
        }
    }

    fn fill(&mut self, out: &mut [f32]) {
        for sample in out {
            if self.left == 0 {
                self.next_part();
            }
            let noise = self.random.range(-1.0, 1.0);
            let mut v = noise * 0.0005;
            if self.voiced {
                let at = self.length - self.left;
                // Raised-cosine attack and release of 25 ms.
                let edge = (0.025 * self.rate) as usize;
                let ramp = |n: usize| {
                    if n >= edge {
                        1.0
                    } else {
                        0.5 - 0.5 * (std::f64::consts::PI * n as f64 / edge as f64).cos()
                    }
                };
                let envelope = ramp(at).min(ramp(self.left)) * self.gain;
                if at < self.fricative {
                    // High-passed noise: a hiss before the vowel.
                    v += (noise - self.last_noise) * 0.08 * envelope;
                } else {
                    self.phase += std::f64::consts::TAU * self.f0 / self.rate;
                    if self.phase > std::f64::consts::TAU {
                        self.phase -= std::f64::consts::TAU;
                    }
                    // sin(hθ) for every harmonic by the Chebyshev recurrence.
                    let (s1, c1) = self.phase.sin_cos();
                    let (mut prev, mut cur) = (0.0, s1);
                    let mut voice = 0.0;
                    for a in &self.harmonics {
                        voice += a * cur;
                        let next = 2.0 * c1 * cur - prev;
                        prev = cur;
                        cur = next;
                    }
                    v += voice * 0.5 * envelope;
                }
                self.f0 += self.f0_step;
            }
            self.last_noise = noise;
            self.left -= 1;
            *sample = v as f32;
        }
    }
}

// --- the speakers ----------------------------------------------------------------------

/// What every speaker reads and sends, decided once before streaming.
#[derive(Debug, Clone)]
pub struct Plan {
    pub campaign: String,
    pub document: Value,
    pub agreement_version: Value,
    pub sentences: Arc<[Value]>,
    /// Each sentence's end in ms from the recording's start, one segment each.
    pub segment_ends: Arc<[u64]>,
    pub recording: Recording,
    pub content_type: HeaderValue,
    pub max_retries: u32,
}

/// A JSON id as it goes into a path: a string without its quotes, a number as written.
pub fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn api(path: &str) -> String {
    format!("{API}{path}")
}

/// Sends `request` expecting JSON and one of `expected`; returns the body.
async fn json_call(request: RequestBuilder, expected: &[StatusCode]) -> Result<Value, String> {
    let response = request
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| error_kind(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| error_kind(&e))?;
    if !expected.contains(&status) {
        return Err(format!("status {}", status.as_u16()));
    }
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&body).map_err(|_| "not JSON".to_string())
}

/// Reads the campaign and its document as the first speaker's browser does, and decides
/// the plan.
pub async fn plan(
    user: &HttpUser,
    args: &RecitalArgs,
    recording: Recording,
) -> anyhow::Result<Plan> {
    let slug = &args.campaign;
    let campaign = json_call(
        user.api_get(&api(&format!("/campaigns/{slug}"))),
        &[StatusCode::OK],
    )
    .await
    .map_err(|e| anyhow::anyhow!("GET campaign {slug}: {e}"))?;
    let agreement_version = campaign["agreement"]["version"].clone();
    anyhow::ensure!(
        !agreement_version.is_null(),
        "campaign {slug} has no agreement version: {campaign}"
    );
    let document = match &args.document {
        Some(id) => Value::String(id.clone()),
        None => campaign["documents"]
            .get(0)
            .and_then(|d| d.get("id"))
            .cloned()
            .with_context(|| {
                format!("campaign {slug} has no document; import one or pass --document")
            })?,
    };
    let doc = json_call(
        user.api_get(&api(&format!("/documents/{}", id_text(&document)))),
        &[StatusCode::OK],
    )
    .await
    .map_err(|e| anyhow::anyhow!("GET document {}: {e}", id_text(&document)))?;
    let sentences: Vec<Value> = doc["sentences"]
        .as_array()
        .map(|all| all.iter().filter_map(|s| s.get("id").cloned()).collect())
        .unwrap_or_default();
    anyhow::ensure!(
        !sentences.is_empty(),
        "document {} has no sentences",
        id_text(&document)
    );
    let ends = segment_ends(
        recording.seconds,
        args.seconds_per_sentence,
        sentences.len(),
    );
    let wanted = segment_ends(recording.seconds, args.seconds_per_sentence, usize::MAX);
    if ends.len() < wanted.len() {
        eprintln!(
            "note: document {} has {} sentences, the recording would read {}; the last {} \
             s of audio get no segment",
            id_text(&document),
            sentences.len(),
            wanted.len(),
            round3(recording.seconds - *ends.last().unwrap_or(&0) as f64 / 1000.0)
        );
    }
    Ok(Plan {
        campaign: slug.clone(),
        document,
        agreement_version,
        sentences: sentences.into(),
        segment_ends: ends.into(),
        content_type: HeaderValue::from_str(&args.content_type)
            .context("--content-type is not a header value")?,
        recording,
        max_retries: args.max_retries,
    })
}

/// A speaker ready to stream: signed in, consented, its session open.
#[derive(Debug, Clone)]
pub struct Speaker {
    pub index: usize,
    pub user: HttpUser,
    pub session: String,
}

/// Consents and opens a session for user `index`.
async fn set_up(
    index: usize,
    user: HttpUser,
    plan: &Plan,
) -> (usize, HttpUser, Result<String, String>) {
    let consent = user
        .request(
            Method::POST,
            &api(&format!("/campaigns/{}/consent", plan.campaign)),
        )
        .json(&json!({ "version": plan.agreement_version }));
    let result = async {
        json_call(
            consent,
            &[StatusCode::OK, StatusCode::CREATED, StatusCode::NO_CONTENT],
        )
        .await
        .map_err(|e| format!("consent: {e}"))?;
        let create = user
            .request(Method::POST, &api("/sessions"))
            .json(&json!({ "document_id": plan.document }));
        let session = json_call(create, &[StatusCode::CREATED])
            .await
            .map_err(|e| format!("session: {e}"))?;
        match session.get("id") {
            Some(id) if !id.is_null() => Ok(id_text(id)),
            _ => Err("session: no id".to_string()),
        }
    }
    .await;
    (index, user, result)
}

/// The setup before streaming, reported on its own line.
#[derive(Debug, Clone, Serialize)]
pub struct SetupSummary {
    pub campaign: String,
    pub document: String,
    pub sentences: usize,
    pub segments_per_session: usize,
    pub speakers: usize,
    pub ok: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub elapsed_s: f64,
}

impl fmt::Display for SetupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "setup: {} speakers consented and opened sessions on document {} of {} ({} sentences, {} segments each) in {} s, {} errors {:?}",
            self.ok,
            self.document,
            self.campaign,
            self.sentences,
            self.segments_per_session,
            self.elapsed_s,
            self.errors,
            self.errors_by_kind
        )
    }
}

/// Consents and opens a session for every user, `concurrency` at a time.
pub async fn set_up_all(
    users: Vec<HttpUser>,
    plan: &Plan,
    concurrency: usize,
) -> (Vec<Speaker>, SetupSummary) {
    let started = Instant::now();
    let count = users.len();
    let mut done: Vec<_> = futures_util::stream::iter(
        users
            .into_iter()
            .enumerate()
            .map(|(i, user)| set_up(i, user, plan)),
    )
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    done.sort_by_key(|(i, ..)| *i);
    let mut speakers = Vec::with_capacity(count);
    let mut errors_by_kind = BTreeMap::new();
    for (index, user, result) in done {
        match result {
            Ok(session) => speakers.push(Speaker {
                index,
                user,
                session,
            }),
            Err(kind) => *errors_by_kind.entry(kind).or_insert(0) += 1,
        }
    }
    let summary = SetupSummary {
        campaign: plan.campaign.clone(),
        document: id_text(&plan.document),
        sentences: plan.sentences.len(),
        segments_per_session: plan.segment_ends.len(),
        speakers: count,
        ok: speakers.len() as u64,
        errors: (count - speakers.len()) as u64,
        errors_by_kind,
        elapsed_s: round3(started.elapsed().as_secs_f64()),
    };
    (speakers, summary)
}

/// How one chunk's upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOutcome {
    /// The acknowledging status (201 stored, 200 already stored), or why it failed.
    pub result: Result<StatusCode, String>,
    /// Attempts after the first.
    pub retries: u32,
}

/// Whether an answer or a failure is worth sending the chunk again for.
fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// Wait before retry `n` (from 0): the server's `Retry-After` if it sent one, else
/// 200 ms doubling up to 3.2 s.
fn backoff(n: u32, retry_after: Option<Duration>) -> Duration {
    retry_after.unwrap_or_else(|| Duration::from_millis(200 << n.min(4)))
}

/// Uploads chunk `seq` of `session`, again after network errors, 5xx and 429 (at most
/// `max_retries` times). A first answer must be 201 (or 200: already stored); a repeat
/// must be 200 or 201, since the server may have stored the bytes whose answer was lost.
pub async fn put_chunk(
    user: &HttpUser,
    session: &str,
    seq: u64,
    chunk: &Chunk,
    content_type: &HeaderValue,
    max_retries: u32,
) -> ChunkOutcome {
    let path = api(&format!("/sessions/{session}/chunks/{seq}"));
    let mut retries = 0;
    loop {
        let sent = user
            .request(Method::PUT, &path)
            .header(header::CONTENT_TYPE, content_type.clone())
            .header("content-digest", chunk.digest.clone())
            .header(header::ACCEPT, "application/json")
            .body(chunk.bytes.clone())
            .send()
            .await;
        let (kind, retry_after) = match sent {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s.clamp(1, 10)));
                match response.bytes().await {
                    Err(e) => (error_kind(&e), None),
                    Ok(_) if status == StatusCode::CREATED || status == StatusCode::OK => {
                        return ChunkOutcome {
                            result: Ok(status),
                            retries,
                        };
                    }
                    Ok(_) if retryable(status) => {
                        (format!("status {}", status.as_u16()), retry_after)
                    }
                    Ok(_) => {
                        let again = if retries > 0 { " on retry" } else { "" };
                        return ChunkOutcome {
                            result: Err(format!("status {}{again}", status.as_u16())),
                            retries,
                        };
                    }
                }
            }
            Err(e) => (error_kind(&e), None),
        };
        if retries >= max_retries {
            return ChunkOutcome {
                result: Err(kind),
                retries,
            };
        }
        tokio::time::sleep(backoff(retries, retry_after)).await;
        retries += 1;
    }
}

/// What a speaker's task reports to the collector as it goes.
#[derive(Debug)]
enum Sample {
    Chunk {
        latency: Duration,
        lag: Duration,
        outcome: ChunkOutcome,
    },
    Segment {
        latency: Duration,
        outcome: Result<(), String>,
    },
    End {
        latency: Duration,
        outcome: Result<(), String>,
    },
    Check {
        stored: Option<u64>,
        lost: Option<u64>,
        outcome: Result<(), String>,
    },
}

/// The chunks a session holds, as `GET /sessions/{id}` reports them: a count, or a list
/// of their numbers (or of objects with a `seq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Count(u64),
    Seqs(BTreeSet<u64>),
}

impl Stored {
    /// Reads the `chunks` field.
    pub fn parse(chunks: &Value) -> Option<Stored> {
        match chunks {
            Value::Number(n) => n.as_u64().map(Stored::Count),
            Value::Array(items) => {
                let seqs: Option<BTreeSet<u64>> = items
                    .iter()
                    .map(|item| item.as_u64().or_else(|| item.get("seq")?.as_u64()))
                    .collect();
                Some(seqs.map_or(Stored::Count(items.len() as u64), Stored::Seqs))
            }
            _ => None,
        }
    }

    /// How many chunks the session holds, for the summary's total.
    pub fn count(&self) -> u64 {
        match self {
            Stored::Count(n) => *n,
            Stored::Seqs(s) => s.len() as u64,
        }
    }

    /// Chunks that differ from the acknowledged ones: acknowledged but not stored, or
    /// stored but never acknowledged.
    pub fn lost(&self, acknowledged: &BTreeSet<u64>) -> u64 {
        match self {
            Stored::Count(n) => n.abs_diff(acknowledged.len() as u64),
            Stored::Seqs(s) => s.symmetric_difference(acknowledged).count() as u64,
        }
    }
}

/// Reads a session back.
async fn get_session(user: &HttpUser, session: &str) -> Result<Value, String> {
    json_call(
        user.api_get(&api(&format!("/sessions/{session}"))),
        &[StatusCode::OK],
    )
    .await
}

/// A speaker after streaming.
#[derive(Debug)]
struct Finished {
    speaker: Speaker,
    /// When its `end` was acknowledged; `None` when it was not.
    ended: Option<Instant>,
}

/// One speaker's whole recording: chunks and segments on the timeline from `start`, then
/// `end`, then the session read back.
async fn speak(
    speaker: Speaker,
    plan: Arc<Plan>,
    start: Instant,
    tx: mpsc::UnboundedSender<Sample>,
) -> Finished {
    let user = &speaker.user;
    let session = speaker.session.as_str();
    let chunks = async {
        let mut acknowledged = BTreeSet::new();
        for (k, chunk) in plan.recording.chunks.iter().enumerate() {
            let due = start + chunk.due;
            tokio::time::sleep_until(due).await;
            let lag = Instant::now().saturating_duration_since(due);
            let seq = FIRST_SEQ + k as u64;
            let outcome = put_chunk(
                user,
                session,
                seq,
                chunk,
                &plan.content_type,
                plan.max_retries,
            )
            .await;
            if outcome.result.is_ok() {
                acknowledged.insert(seq);
            }
            let latency = Instant::now().saturating_duration_since(due);
            let _ = tx.send(Sample::Chunk {
                latency,
                lag,
                outcome,
            });
        }
        acknowledged
    };
    let segments = async {
        let path = api(&format!("/sessions/{session}/segments"));
        for (sentence, &end_ms) in plan.sentences.iter().zip(plan.segment_ends.iter()) {
            let due = start + Duration::from_millis(end_ms);
            tokio::time::sleep_until(due).await;
            let body = json!([{ "sentence_id": sentence, "end_ms": end_ms }]);
            let outcome = json_call(
                user.request(Method::POST, &path).json(&body),
                &[StatusCode::OK],
            )
            .await
            .map(|_| ());
            let latency = Instant::now().saturating_duration_since(due);
            let _ = tx.send(Sample::Segment { latency, outcome });
        }
    };
    let (acknowledged, ()) = tokio::join!(chunks, segments);

    let sent = Instant::now();
    let outcome = json_call(
        user.request(Method::POST, &api(&format!("/sessions/{session}/end")))
            .json(&json!({ "keep_last": true })),
        &[StatusCode::OK],
    )
    .await
    .map(|_| ());
    let ended = outcome.is_ok().then(Instant::now);
    let _ = tx.send(Sample::End {
        latency: sent.elapsed(),
        outcome,
    });

    let check = match get_session(user, session).await {
        Ok(view) => match Stored::parse(&view["chunks"]) {
            Some(stored) => Sample::Check {
                stored: Some(stored.count()),
                lost: Some(stored.lost(&acknowledged)),
                outcome: Ok(()),
            },
            None => Sample::Check {
                stored: None,
                lost: None,
                outcome: Err("no chunks field".into()),
            },
        },
        Err(kind) => Sample::Check {
            stored: None,
            lost: None,
            outcome: Err(kind),
        },
    };
    let _ = tx.send(check);
    Finished { speaker, ended }
}

// --- what a run measured ---------------------------------------------------------------

/// Chunk uploads, counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChunkCounts {
    /// Chunks on the speakers' timelines.
    pub scheduled: u64,
    /// Chunks sent at least once.
    pub sent: u64,
    /// Chunks the server acknowledged (200 or 201).
    pub acknowledged: u64,
    /// Of those, acknowledged with 200 (already stored): a repeat whose first answer was
    /// lost, or a server that saw the chunk before.
    pub already_stored: u64,
    /// Repeated uploads (attempts after the first).
    pub retries: u64,
    /// Chunks that needed at least one repeat.
    pub retried_chunks: u64,
    /// Chunks never acknowledged.
    pub failed: u64,
}

/// Requests of one kind besides chunks (segments, ends), counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpSummary {
    pub requests: u64,
    pub errors: u64,
    #[serde(flatten)]
    pub latency: Percentiles,
}

/// What the recording was.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingSummary {
    pub source: String,
    pub bytes: usize,
    pub seconds: f64,
    pub chunk_seconds: f64,
    pub chunks: usize,
    pub chunk_bytes_mean: f64,
}

/// The backlog's processing after every session ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessingSummary {
    /// Sessions waited for (those whose `end` was acknowledged).
    pub sessions: u64,
    pub processed: u64,
    /// Sessions whose `error` was set, or that were discarded.
    pub failed: u64,
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Neither processed nor failed when --processing-timeout ran out.
    pub timed_out: u64,
    /// Audio seconds of the processed sessions.
    pub audio_s: f64,
    /// From the last `end` acknowledged to the last session seen processed.
    pub wall_s: f64,
    /// From the first `end` acknowledged to the last session seen processed.
    pub since_first_end_s: f64,
    /// `audio_s / wall_s`: how many times faster than real time the backlog was
    /// processed (`None` when nothing was processed).
    pub x_real_time: Option<f64>,
    /// The same window by the server's clock, when its sessions report `ended_at` and
    /// `processed_at` (Unix ms): from the last end to the last processing, free of the
    /// polling's delay.
    pub server_wall_s: Option<f64>,
    /// `audio_s / server_wall_s`.
    pub server_x_real_time: Option<f64>,
    /// The processed sessions' lengths as the server measured them (`duration_ms`).
    pub server_audio_s: Option<f64>,
    pub polls: u64,
    pub poll_errors: u64,
}

/// The run's result, printed last (with `--json` as one object on one line).
#[derive(Debug, Clone, Serialize)]
pub struct RecitalSummary {
    pub scenario: String,
    pub url: String,
    pub campaign: String,
    pub document: String,
    pub users: usize,
    pub sources: usize,
    /// Speakers that streamed (set up without error).
    pub speakers: usize,
    pub recording: RecordingSummary,
    /// From the first chunk due to the last session read back.
    pub duration_s: f64,
    pub chunks: ChunkCounts,
    /// Chunk acknowledgement latency, from each chunk's due time to its final answer.
    pub chunk_ack: Percentiles,
    /// How late the generator itself sent chunks after their due time.
    pub send_lag_p99_ms: f64,
    pub segments: OpSummary,
    pub ends: OpSummary,
    /// Failures by what failed and why, e.g. `chunk: status 503`.
    pub errors_by_kind: BTreeMap<String, u64>,
    pub sessions_checked: u64,
    /// Chunks the sessions hold, as read back after `end`.
    pub chunks_stored: u64,
    /// Chunks whose acknowledgement and the session's record differ.
    pub lost_chunks: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing: Option<ProcessingSummary>,
}

impl fmt::Display for RecitalSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.chunks;
        writeln!(
            f,
            "recital: {} speakers ({} users from {} addresses) streaming {} s of {} in {} chunks of {} s, over {} s",
            self.speakers,
            self.users,
            self.sources,
            self.recording.seconds,
            self.recording.source,
            self.recording.chunks,
            self.recording.chunk_seconds,
            self.duration_s
        )?;
        writeln!(
            f,
            "  chunks: {} scheduled, {} sent, {} acknowledged ({} already stored), {} retries over {} chunks, {} failed",
            c.scheduled,
            c.sent,
            c.acknowledged,
            c.already_stored,
            c.retries,
            c.retried_chunks,
            c.failed
        )?;
        writeln!(
            f,
            "  chunk acknowledgement from due time: {}",
            self.chunk_ack
        )?;
        writeln!(
            f,
            "  segments: {} requests, {} errors: {}",
            self.segments.requests, self.segments.errors, self.segments.latency
        )?;
        writeln!(
            f,
            "  ends: {} requests, {} errors: {}",
            self.ends.requests, self.ends.errors, self.ends.latency
        )?;
        writeln!(
            f,
            "  sessions read back: {}, chunks stored {}, lost chunks {}",
            self.sessions_checked, self.chunks_stored, self.lost_chunks
        )?;
        if self.errors_by_kind.is_empty() {
            writeln!(f, "  errors: none")?;
        } else {
            let kinds: Vec<String> = self
                .errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind}: {n}"))
                .collect();
            writeln!(f, "  errors: {}", kinds.join(", "))?;
        }
        write!(f, "  generator send lag p99: {} ms", self.send_lag_p99_ms)?;
        if let Some(p) = &self.processing {
            write!(
                f,
                "\n  processing: {} of {} sessions processed, {} failed {:?}, {} timed out; {} s of audio in {} s after the last end: {}× real time",
                p.processed,
                p.sessions,
                p.failed,
                p.failures_by_kind,
                p.timed_out,
                p.audio_s,
                p.wall_s,
                p.x_real_time.map_or("–".to_string(), |x| x.to_string())
            )?;
            if let (Some(wall), Some(x)) = (p.server_wall_s, p.server_x_real_time) {
                write!(f, " (by the server's clock: {wall} s, {x}× real time)")?;
            }
        }
        Ok(())
    }
}

/// Counts the speakers' samples as they arrive.
#[derive(Default)]
struct Collector {
    chunks: ChunkCounts,
    chunk_ack: Latencies,
    send_lag: Latencies,
    segments: (u64, u64, Latencies),
    ends: (u64, u64, Latencies),
    errors_by_kind: BTreeMap<String, u64>,
    checked: u64,
    stored: u64,
    lost: u64,
}

impl Collector {
    fn error(&mut self, what: &str, kind: String) {
        *self
            .errors_by_kind
            .entry(format!("{what}: {kind}"))
            .or_insert(0) += 1;
    }

    fn record(&mut self, sample: Sample) {
        match sample {
            Sample::Chunk {
                latency,
                lag,
                outcome,
            } => {
                self.chunks.sent += 1;
                self.send_lag.record(lag);
                self.chunks.retries += u64::from(outcome.retries);
                if outcome.retries > 0 {
                    self.chunks.retried_chunks += 1;
                }
                match outcome.result {
                    Ok(status) => {
                        self.chunks.acknowledged += 1;
                        if status == StatusCode::OK {
                            self.chunks.already_stored += 1;
                        }
                        self.chunk_ack.record(latency);
                    }
                    Err(kind) => {
                        self.chunks.failed += 1;
                        self.error("chunk", kind);
                    }
                }
            }
            Sample::Segment { latency, outcome } => {
                self.segments.0 += 1;
                self.segments.2.record(latency);
                if let Err(kind) = outcome {
                    self.segments.1 += 1;
                    self.error("segment", kind);
                }
            }
            Sample::End { latency, outcome } => {
                self.ends.0 += 1;
                self.ends.2.record(latency);
                if let Err(kind) = outcome {
                    self.ends.1 += 1;
                    self.error("end", kind);
                }
            }
            Sample::Check {
                stored,
                lost,
                outcome,
            } => match outcome {
                Ok(()) => {
                    self.checked += 1;
                    self.stored += stored.unwrap_or(0);
                    self.lost += lost.unwrap_or(0);
                }
                Err(kind) => self.error("session read", kind),
            },
        }
    }
}

fn op_summary((requests, errors, latency): &(u64, u64, Latencies)) -> OpSummary {
    OpSummary {
        requests: *requests,
        errors: *errors,
        latency: latency.percentiles(),
    }
}

/// Polls the ended sessions until each is processed or failed (or the timeout), at most
/// `poll_rate` reads per second and each session at most once per `poll_interval`.
async fn wait_processing(
    finished: &[Finished],
    seconds: f64,
    args: &RecitalArgs,
) -> ProcessingSummary {
    let mut summary = ProcessingSummary::default();
    let ended: Vec<(&Speaker, Instant)> = finished
        .iter()
        .filter_map(|f| f.ended.map(|at| (&f.speaker, at)))
        .collect();
    summary.sessions = ended.len() as u64;
    let (Some(first_end), Some(last_end)) = (
        ended.iter().map(|(_, at)| *at).min(),
        ended.iter().map(|(_, at)| *at).max(),
    ) else {
        return summary;
    };
    eprintln!(
        "waiting for {} sessions to be processed (at most {:?})…",
        ended.len(),
        args.processing_timeout
    );
    let deadline = Instant::now() + args.processing_timeout;
    let mut pending: Vec<&Speaker> = ended.iter().map(|(s, _)| *s).collect();
    let mut last_processed: Option<Instant> = None;
    // By the server's clock (Unix ms): the last end, the last processing, audio lengths.
    let mut server_last_end: Option<i64> = None;
    let mut server_last_processed: Option<i64> = None;
    let mut server_audio_ms: Option<i64> = None;
    let spacing = Duration::from_secs_f64(1.0 / args.poll_rate);
    while !pending.is_empty() && Instant::now() < deadline {
        let round = Instant::now();
        let reads = pending.iter().enumerate().map(|(i, speaker)| async move {
            tokio::time::sleep_until(round + spacing * i as u32).await;
            let view = get_session(&speaker.user, &speaker.session).await;
            (*speaker, view, Instant::now())
        });
        let answers: Vec<_> = futures_util::stream::iter(reads)
            .buffer_unordered(POLL_CONCURRENCY)
            .collect()
            .await;
        let mut still = Vec::new();
        for (speaker, view, at) in answers {
            summary.polls += 1;
            let view = match view {
                Ok(view) => view,
                Err(_) => {
                    summary.poll_errors += 1;
                    still.push(speaker);
                    continue;
                }
            };
            let state = view["state"].as_str().unwrap_or_default();
            let error = &view["error"];
            if let Some(ended) = view["ended_at"].as_i64() {
                server_last_end = Some(server_last_end.map_or(ended, |l| l.max(ended)));
            }
            if !error.is_null() || state == "discarded" {
                summary.failed += 1;
                let kind = match error {
                    Value::String(s) => s.chars().take(80).collect(),
                    Value::Null => format!("state {state}"),
                    other => other.get("type").and_then(Value::as_str).map_or_else(
                        || other.to_string().chars().take(80).collect(),
                        String::from,
                    ),
                };
                *summary.failures_by_kind.entry(kind).or_insert(0) += 1;
            } else if state == "processed" || state == "published" {
                summary.processed += 1;
                summary.audio_s += seconds;
                last_processed = Some(last_processed.map_or(at, |l: Instant| l.max(at)));
                if let Some(done) = view["processed_at"].as_i64() {
                    server_last_processed =
                        Some(server_last_processed.map_or(done, |l| l.max(done)));
                }
                if let Some(ms) = view["duration_ms"].as_i64() {
                    server_audio_ms = Some(server_audio_ms.unwrap_or(0) + ms);
                }
            } else {
                still.push(speaker);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep_until((round + args.poll_interval).min(deadline)).await;
        }
    }
    summary.timed_out = pending.len() as u64;
    summary.audio_s = round3(summary.audio_s);
    if let Some(last) = last_processed {
        let wall = last.saturating_duration_since(last_end).as_secs_f64();
        summary.wall_s = round3(wall);
        summary.since_first_end_s = round3(last.saturating_duration_since(first_end).as_secs_f64());
        summary.x_real_time = (wall > 0.0).then(|| round3(summary.audio_s / wall));
    }
    if let (Some(end), Some(done)) = (server_last_end, server_last_processed) {
        let wall = (done - end).max(0) as f64 / 1000.0;
        summary.server_wall_s = Some(round3(wall));
        summary.server_x_real_time = (wall > 0.0).then(|| round3(summary.audio_s / wall));
    }
    summary.server_audio_s = server_audio_ms.map(|ms| round3(ms as f64 / 1000.0));
    summary
}

/// Streams every speaker's recording on its timeline, reads the sessions back, and (with
/// `--wait-processing`) waits for the backlog; the summary of it all.
pub async fn stream(
    speakers: Vec<Speaker>,
    plan: Plan,
    args: &RecitalArgs,
    users: usize,
    sources: usize,
) -> RecitalSummary {
    let plan = Arc::new(plan);
    let recording = plan.recording.clone();
    let period = Duration::from_secs_f64(recording.chunk_seconds);
    let streaming = speakers.len();
    // A little lead so that every task is spawned before the first chunk is due.
    let t0 = Instant::now() + Duration::from_millis(200 + streaming as u64 / 4);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tasks: Vec<_> = speakers
        .into_iter()
        .map(|speaker| {
            let start = t0 + start_offset(speaker.index, period);
            tokio::spawn(speak(speaker, plan.clone(), start, tx.clone()))
        })
        .collect();
    drop(tx);
    eprintln!(
        "recital: {streaming} speakers streaming {} s each in {} chunks…",
        recording.seconds,
        recording.chunks.len()
    );
    let mut collector = Collector::default();
    while let Some(sample) = rx.recv().await {
        collector.record(sample);
    }
    let mut finished = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(f) => finished.push(f),
            Err(e) => collector.error("speaker", format!("task failed: {e}")),
        }
    }
    let duration = Instant::now().saturating_duration_since(t0);
    collector.chunks.scheduled = (streaming * recording.chunks.len()) as u64;
    let processing = if args.wait_processing {
        Some(wait_processing(&finished, recording.seconds, args).await)
    } else {
        None
    };
    RecitalSummary {
        scenario: "recital".into(),
        url: args.clients.url.to_string(),
        campaign: plan.campaign.clone(),
        document: id_text(&plan.document),
        users,
        sources,
        speakers: streaming,
        recording: RecordingSummary {
            source: recording.source.clone(),
            bytes: recording.bytes.len(),
            seconds: round3(recording.seconds),
            chunk_seconds: recording.chunk_seconds,
            chunks: recording.chunks.len(),
            chunk_bytes_mean: round3(recording.bytes.len() as f64 / recording.chunks.len() as f64),
        },
        duration_s: round3(duration.as_secs_f64()),
        chunk_ack: collector.chunk_ack.percentiles(),
        send_lag_p99_ms: round3(collector.send_lag.quantile_ms(0.99)),
        segments: op_summary(&collector.segments),
        ends: op_summary(&collector.ends),
        chunks: collector.chunks,
        errors_by_kind: collector.errors_by_kind,
        sessions_checked: collector.checked,
        chunks_stored: collector.stored,
        lost_chunks: collector.lost,
        processing,
    }
}

/// Prepares the recording, signs the speakers in, sets them up, streams, and prints the
/// summary last.
pub async fn run(args: RecitalArgs) -> anyhow::Result<RecitalSummary> {
    args.check()?;
    let out = Output { json: args.json };
    let started = std::time::Instant::now();
    let recording = Recording::from_args(&args)?;
    eprintln!(
        "recording: {} s, {} bytes ({}), {} chunks of ~{} bytes, made in {:.2} s",
        round3(recording.seconds),
        recording.bytes.len(),
        recording.source,
        recording.chunks.len(),
        recording.bytes.len() / recording.chunks.len(),
        started.elapsed().as_secs_f64()
    );
    let users = args.clients.signed_in_users(&out).await?;
    run_with_users(users, recording, &args, &out).await
}

/// Everything after the sign-ins (separate so tests can bring their own users).
pub async fn run_with_users(
    users: Vec<HttpUser>,
    recording: Recording,
    args: &RecitalArgs,
    out: &Output,
) -> anyhow::Result<RecitalSummary> {
    let count = users.len();
    let sources = LoadArgs::source_count(&users);
    let first = users.first().context("no users")?;
    let plan = plan(first, args, recording).await?;
    let (speakers, setup) = set_up_all(users, &plan, args.setup_concurrency).await;
    out.print("setup", &setup);
    anyhow::ensure!(
        !speakers.is_empty(),
        "no speaker could consent and open a session: {:?}",
        setup.errors_by_kind
    );
    let summary = stream(speakers, plan, args, count, sources).await;
    out.print("summary", &summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        recital: RecitalArgs,
    }

    fn args(extra: &[&str]) -> RecitalArgs {
        let mut all = vec!["t", "--password", "x", "--campaign", "load"];
        all.extend_from_slice(extra);
        Cli::parse_from(all).recital
    }

    #[test]
    fn slices_cover_the_file_in_order() {
        for (len, seconds, chunk) in [(180_000, 60.0, 2.0), (1000, 7.0, 2.0), (5, 60.0, 2.0)] {
            let ranges = slice_ranges(len, seconds, chunk);
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, len);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            assert!(ranges.iter().all(|r| !r.is_empty()));
        }
        let ranges = slice_ranges(180_000, 60.0, 2.0);
        assert_eq!(ranges.len(), 30);
        assert!(ranges.iter().all(|r| r.len() == 6000), "{ranges:?}");
        // 7 s in 2 s chunks: three whole ones and a 1 s one.
        let ranges = slice_ranges(7000, 7.0, 2.0);
        assert_eq!(ranges.len(), 4);
        assert_eq!(ranges[3].len(), 1000);
        // A sliver over the whole chunks (the codec's padding) joins the last chunk.
        assert_eq!(slice_ranges(6010, 6.01, 2.0).len(), 3);
    }

    #[test]
    fn chunks_are_due_when_their_audio_ends_and_speakers_spread_out() {
        let dues = chunk_dues(4, 7.0, 2.0);
        let secs: Vec<f64> = dues.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(secs, [2.0, 4.0, 6.0, 7.0]);

        let period = Duration::from_secs(2);
        let mut offsets: Vec<Duration> = (0..1000).map(|i| start_offset(i, period)).collect();
        assert!(offsets.iter().all(|o| *o < period));
        offsets.sort();
        // Evenly spread: no two thousandths of the period hold more than a few starts.
        let widest_gap = offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(widest_gap < Duration::from_millis(10), "{widest_gap:?}");
        assert_ne!(start_offset(1, period), start_offset(2, period));

        assert_eq!(segment_ends(60.0, 4.0, 100).len(), 15);
        assert_eq!(*segment_ends(60.0, 4.0, 100).last().unwrap(), 60_000);
        assert_eq!(segment_ends(10.0, 4.0, 100), [4000, 8000, 10_000]);
        assert_eq!(segment_ends(8.3, 4.0, 100), [4000, 8000]);
        assert_eq!(segment_ends(60.0, 4.0, 3), [4000, 8000, 12_000]);
    }

    #[test]
    fn digests_and_stored_chunks() {
        // RFC 9530's example: "hello" (no newline) … here the empty input's SHA-256.
        assert_eq!(
            content_digest(b""),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
        let acked: BTreeSet<u64> = [0, 1, 2, 3].into();
        assert_eq!(Stored::parse(&json!(4)).unwrap().lost(&acked), 0);
        assert_eq!(Stored::parse(&json!(3)).unwrap().lost(&acked), 1);
        let seqs = Stored::parse(&json!([0, 1, 3, 5])).unwrap();
        assert_eq!(seqs.count(), 4);
        assert_eq!(seqs.lost(&acked), 2, "2 missing and 5 unacknowledged");
        let objects = Stored::parse(&json!([{"seq": 0}, {"seq": 1}])).unwrap();
        assert_eq!(objects, Stored::Seqs([0, 1].into()));
        assert_eq!(Stored::parse(&json!(null)), None);
    }

    #[test]
    fn options() {
        let a = args(&[]);
        a.check().unwrap();
        assert_eq!(a.recording_seconds(), 60.0);
        assert_eq!(a.chunk_seconds, 2.0);
        assert_eq!(args(&["--duration", "2m"]).recording_seconds(), 120.0);
        assert_eq!(
            args(&["--recording-seconds", "20"]).recording_seconds(),
            20.0
        );
        assert!(
            Cli::try_parse_from([
                "t",
                "--password",
                "x",
                "--campaign",
                "c",
                "--media",
                "f.webm",
                "--duration",
                "5s"
            ])
            .is_err()
        );
        assert!(args(&["--chunk-seconds", "0"]).check().is_err());
    }

    /// The generated recording, cut into 2 s chunks: the chunks join (as the server joins
    /// them) into the whole recording, and each begins about 2 s after the one before.
    #[test]
    fn generated_chunks_join_into_the_recording_two_seconds_apart() {
        let seconds = 9.0;
        let bytes = generate(seconds).unwrap();
        let recording = Recording::new(bytes.clone().into(), seconds, 2.0, "test".into());
        assert_eq!(recording.chunks.len(), 5);
        let joined: Vec<u8> = recording
            .chunks
            .iter()
            .flat_map(|c| c.bytes.iter().copied())
            .collect();
        assert_eq!(joined, bytes);
        assert!(bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]), "EBML header");

        let info = tutti_media::probe::probe_bytes(bytes, Some("webm")).unwrap();
        assert_eq!((info.sample_rate, info.channels), (48_000, 1));
        assert!((info.duration_seconds - seconds).abs() < 0.1, "{info:?}");

        let parts = recording
            .chunks
            .iter()
            .map(|c| tutti_media::concat::ChunkSource::Bytes(c.bytes.to_vec()))
            .collect();
        let joined = tutti_media::concat::join(parts).unwrap();
        let starts: Vec<f64> = joined
            .boundaries()
            .iter()
            .map(|b| b.expect("WebM offsets are known") as f64 / 48_000.0)
            .collect();
        for (k, start) in starts.iter().enumerate() {
            let expected = k as f64 * 2.0;
            assert!(
                (start - expected).abs() < 0.3,
                "chunk {k} starts at {start} s, not about {expected} s: {starts:?}"
            );
        }
    }

    #[test]
    fn the_voice_has_pauses_and_stays_in_range() {
        let mut voice = SpeechLike::new(48_000, 1);
        let mut samples = vec![0.0f32; 48_000 * 10];
        voice.fill(&mut samples);
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05 && peak < 1.0, "peak {peak}");
        // 20 ms windows: some silent (pauses), most not.
        let quiet = samples
            .chunks(960)
            .filter(|w| w.iter().all(|s| s.abs() < 0.002))
            .count();
        assert!(quiet > 10 && quiet < 250, "{quiet} quiet windows of 500");
    }
    /// A stand-in for the recital API, as the brief describes it: it checks every
    /// chunk's digest, answers the first upload of chunk 1 of every session with 503,
    /// "loses" chunk 2 of one session (acknowledges it without keeping it), and calls a
    /// session processed 300 ms after its end.
    mod mock {
        use std::collections::{BTreeMap, HashMap};
        use std::sync::{Arc, Mutex};

        use axum::body::Bytes;
        use axum::extract::{Path, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::routing::{get, post, put};
        use axum::{Json, Router};
        use serde_json::{Value, json};
        use tokio::time::Instant;

        #[derive(Default)]
        pub struct Session {
            pub chunks: BTreeMap<u64, Vec<u8>>,
            pub refused_once: bool,
            pub segments: Vec<Value>,
            pub ended: Option<Instant>,
        }

        #[derive(Default)]
        pub struct Server {
            pub sessions: HashMap<String, Session>,
            pub consents: u64,
        }

        pub type Shared = Arc<Mutex<Server>>;
        pub const LOSSY: &str = "s2";

        pub fn router(state: Shared) -> Router {
            Router::new()
                .route("/api/v1/recital/campaigns/{slug}", get(campaign))
                .route("/api/v1/recital/campaigns/{slug}/consent", post(consent))
                .route("/api/v1/recital/documents/{id}", get(document))
                .route("/api/v1/recital/sessions", post(create))
                .route("/api/v1/recital/sessions/{id}", get(session))
                .route("/api/v1/recital/sessions/{id}/chunks/{seq}", put(chunk))
                .route("/api/v1/recital/sessions/{id}/segments", post(segments))
                .route("/api/v1/recital/sessions/{id}/end", post(end))
                .with_state(state)
        }

        async fn campaign(Path(slug): Path<String>) -> Json<Value> {
            Json(json!({
                "slug": slug, "title": "Load", "mode": "long-form",
                "agreement": {"version": 3, "text": "I agree."},
                "documents": [{"id": "doc-1", "title": "T", "language": "en", "sentences": 5}]
            }))
        }

        async fn consent(State(s): State<Shared>, Json(body): Json<Value>) -> StatusCode {
            if body != json!({"version": 3}) {
                return StatusCode::CONFLICT;
            }
            s.lock().unwrap().consents += 1;
            StatusCode::OK
        }

        async fn document(Path(id): Path<String>) -> Json<Value> {
            let sentences: Vec<Value> = (1..=5)
                .map(|n| json!({"id": format!("t{n}"), "text": "Words.", "paragraph": 0}))
                .collect();
            Json(
                json!({"id": id, "title": "T", "language": "en", "dir": "ltr", "sentences": sentences}),
            )
        }

        async fn create(
            State(s): State<Shared>,
            Json(body): Json<Value>,
        ) -> (StatusCode, Json<Value>) {
            assert_eq!(body["document_id"], "doc-1");
            let mut s = s.lock().unwrap();
            let id = format!("s{}", s.sessions.len());
            s.sessions.insert(id.clone(), Session::default());
            (
                StatusCode::CREATED,
                Json(json!({"id": id, "state": "recording"})),
            )
        }

        async fn chunk(
            State(s): State<Shared>,
            Path((id, seq)): Path<(String, u64)>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            assert_eq!(headers["content-type"], super::WEBM_OPUS);
            if headers["content-digest"] != super::content_digest(&body) {
                return StatusCode::BAD_REQUEST;
            }
            let mut s = s.lock().unwrap();
            let session = s.sessions.get_mut(&id).unwrap();
            if seq == 1 && !session.refused_once {
                session.refused_once = true;
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            if id == LOSSY && seq == 2 {
                return StatusCode::CREATED;
            }
            match session.chunks.get(&seq) {
                Some(kept) if kept[..] == body[..] => StatusCode::OK,
                Some(_) => StatusCode::CONFLICT,
                None => {
                    session.chunks.insert(seq, body.to_vec());
                    StatusCode::CREATED
                }
            }
        }

        async fn segments(
            State(s): State<Shared>,
            Path(id): Path<String>,
            Json(body): Json<Vec<Value>>,
        ) -> StatusCode {
            let mut s = s.lock().unwrap();
            s.sessions.get_mut(&id).unwrap().segments.extend(body);
            StatusCode::OK
        }

        async fn end(
            State(s): State<Shared>,
            Path(id): Path<String>,
            Json(body): Json<Value>,
        ) -> StatusCode {
            assert_eq!(body, json!({"keep_last": true}));
            s.lock().unwrap().sessions.get_mut(&id).unwrap().ended = Some(Instant::now());
            StatusCode::OK
        }

        async fn session(State(s): State<Shared>, Path(id): Path<String>) -> Json<Value> {
            let s = s.lock().unwrap();
            let session = &s.sessions[&id];
            // Unix ms of the end, as the server's clock would say.
            let ended_at = session.ended.map(|at| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                now - at.elapsed().as_millis() as i64
            });
            let processed = session
                .ended
                .is_some_and(|at| at.elapsed().as_millis() >= 300);
            let state = match (session.ended, processed) {
                (None, _) => "recording",
                (Some(_), false) => "ended",
                (Some(_), true) => "processed",
            };
            Json(json!({
                "id": id, "state": state,
                "duration_ms": processed.then_some(3000),
                "chunks": session.chunks.len(), "error": null,
                "ended_at": ended_at,
                "processed_at": if processed { ended_at.map(|e| e + 300) } else { None },
            }))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn speakers_stream_retry_and_find_the_lost_chunk() {
        let state = mock::Shared::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let router = mock::router(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let url = format!("http://127.0.0.1:{port}");
        let a = args(&[
            "--url",
            &url,
            "--users",
            "3",
            "--recording-seconds",
            "3",
            "--chunk-seconds",
            "1",
            "--seconds-per-sentence",
            "1",
            "--wait-processing",
            "--poll-interval",
            "100ms",
        ]);
        a.check().unwrap();
        let recording = Recording::from_args(&a).unwrap();
        let whole = recording.bytes.clone();
        let users = a.clients.http_users().unwrap();
        let out = Output { json: true };
        let summary = run_with_users(users, recording, &a, &out).await.unwrap();

        assert_eq!(summary.speakers, 3);
        assert_eq!(summary.sources, 3, "each speaker from its own address");
        let c = &summary.chunks;
        assert_eq!(
            (c.scheduled, c.sent, c.acknowledged, c.failed),
            (9, 9, 9, 0),
            "{summary}"
        );
        assert_eq!(
            (c.retries, c.retried_chunks, c.already_stored),
            (3, 3, 0),
            "{summary}"
        );
        assert!(summary.chunk_ack.p50_ms > 0.0);
        assert_eq!(summary.lost_chunks, 1, "{summary}");
        assert_eq!(summary.chunks_stored, 8);
        assert_eq!(summary.sessions_checked, 3);
        assert_eq!((summary.segments.requests, summary.segments.errors), (9, 0));
        assert_eq!((summary.ends.requests, summary.ends.errors), (3, 0));
        assert!(summary.errors_by_kind.is_empty(), "{summary}");
        let p = summary.processing.as_ref().unwrap();
        assert_eq!(
            (p.sessions, p.processed, p.failed, p.timed_out),
            (3, 3, 0, 0)
        );
        assert_eq!(p.audio_s, 9.0);
        assert!(p.wall_s >= 0.2 && p.x_real_time.unwrap() > 0.0, "{p:?}");
        let server_wall = p.server_wall_s.unwrap();
        assert!((0.25..0.35).contains(&server_wall), "{p:?}");
        assert_eq!(p.server_audio_s, Some(9.0));
        assert!(p.server_x_real_time.unwrap() > 20.0, "{p:?}");

        let server = state.lock().unwrap();
        assert_eq!(server.consents, 3);
        for (id, session) in &server.sessions {
            let ends: Vec<u64> = session
                .segments
                .iter()
                .map(|s| s["end_ms"].as_u64().unwrap())
                .collect();
            assert_eq!(ends, [1000, 2000, 3000], "{id}");
            assert_eq!(session.segments[0]["sentence_id"], "t1");
            if id != mock::LOSSY {
                let joined: Vec<u8> = session.chunks.values().flatten().copied().collect();
                assert_eq!(joined, whole, "{id} holds the whole recording");
            }
        }
    }
}
