//! `tutti-load choir`: N singers in R choir rooms, each one guest with one WebSocket
//! speaking the choir's wire protocol v1 (`tutti_choir::protocol`), with real Opus both
//! ways. Each room's first singer leads (`lead`, then `start` once everyone joined); the
//! server spreads the others over the buckets behind the leader. Every singer sends its
//! own pre-encoded voice (a fundamental and vibrato of its own) a batch at a time
//! (default 600 ms, ten 60 ms packets) on a fixed clock, open loop: batch `k` of a singer
//! is due at `start + offset + k × batch` whatever happened before, stamped with the
//! position it sang along to (`end = server clock − delay − playout − latency`, each
//! batch starting where the last ended). Mix frames are counted, never decoded, except by
//! the probe.
//!
//! **Measured** over a window after a warm-up (long enough for the song to reach the last
//! bucket): every event of the window, on the server's clock as estimated by `ping`/`pong`
//! (the round trip with the least delay of eight).
//!
//! - **Response latency** (`p50_ms` … `p99_ms`): for each mix frame, its arrival minus the
//!   moment it became due on the server, `end + delay` of the listener's bucket (the
//!   server cannot mix position `p` before its clock reaches `p + delay`).
//! - **`late_fraction`**: over 60 ms packets, (mix packets that arrived after their
//!   play-out deadline + mix packets that never arrived though their deadline passed +
//!   voice packets the server answered `late` or `lagging` for + voice packets sent a
//!   whole batch or more after they were due) ÷ (mix packets expected + voice packets
//!   sent). A mix packet covering `[e − 2880, e)` is played from `e − 2880 + delay +
//!   playout` (the page plays its bucket's mix `--playout-ms` behind the position it was
//!   sent for, its jitter buffer), and is late if it arrives after that.
//! - **Protocol errors** (`errors`): failed guest sign-ups and WebSocket handshakes, every
//!   `error` message from the server (counted by its `code`), frames that do not parse or
//!   go backwards, and connections the server closed or dropped before we did. Counted
//!   over the whole run, set-up included.
//! - **Throughput**: binary and text bytes each way in the window, per second.
//! - **Correctness probe**: in room 0 the leader sings a test tone (`--probe-hz`, peak
//!   `--probe-level`), on for the first half of every 2.4 s and off for the second, and a
//!   listener (in the last bucket) decodes its mix. The probe finds the gate's position
//!   (the lag that best matches the tone's envelope to the leader's stamps) and the
//!   tone's level where it is on, and passes when the lag is the codec's delay (the
//!   encoder's lookahead, once on the way in and once on the way out) within
//!   `--probe-offset-tolerance-ms`, the level is the server's gain rule within
//!   `--probe-tolerance` (the leader's boost × automatic gain `((1+2)/(n+2))^0.5` for `n`
//!   voices × the console's global volume, see `tutti_choir::domain`), and the tone is
//!   (nearly) absent where the gate is off.
//!
//! With `--server-pid`, the server's CPU over the window (utime + stime of
//! `/proc/PID/stat`, all threads, and per thread name) and RSS at its end are in the
//! summary too; with `--json` the summary is the last line, one JSON object.

pub mod audio;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use clap::Args;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use opus_pure::OpusDecoder;
use reqwest::{StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tutti_choir::protocol::{Frame, Kind, MAX_PACKETS};
use url::Url;

use self::audio::{Codec, FRAME, Gate, RATE, VoiceParams};
use crate::clients::{HttpUser, error_kind};
use crate::run::{Output, parse_duration};
use crate::stats::{Latencies, Percentiles, round3};
use crate::ws::{self, Socket};

/// Where the choir's API lives.
pub const API: &str = "/api/v1/choir";
/// Buckets in a room (`tutti_choir::domain::BUCKETS`); listeners sit in the last.
pub const BUCKETS: usize = 6;
/// The server's gain rule, as `tutti_choir::domain` documents it (restated here, so the
/// probe checks the server against the rule rather than against its own code): the
/// leader's voice is mixed this much louder…
pub const LEADER_BOOST: f64 = 2.0;
/// …and automatic gain scales `n` voices by `((1 + PHANTOM) / (n + PHANTOM))^0.5`.
pub const PHANTOM_VOICES: f64 = 2.0;
/// The probe's gate: 2.4 s, the tone on for the first half.
pub const PROBE_PERIOD: u64 = 2 * RATE + RATE * 2 / 5;
/// Pings when estimating the server's clock; the one with the shortest round trip counts.
const CLOCK_PINGS: usize = 8;
/// How long a joining client waits for `welcome` and each `pong`.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);

/// The choir scenario's options.
#[derive(Debug, Clone, Args)]
pub struct ChoirArgs {
    /// The server's address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: Url,
    /// Singers in all, spread over the rooms in turn (the first of each room leads).
    #[arg(long, default_value_t = 50)]
    pub singers: usize,
    /// Rooms to create (with --token); ignored when rooms are given with --room.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// An existing room's id to sing in (repeat for several) instead of creating rooms.
    #[arg(long = "room", value_name = "ID")]
    pub room_ids: Vec<String>,
    /// A bearer token of an account with the `member` role, to create the rooms
    /// (`tutti admin create-token`).
    #[arg(long, env = "TUTTI_LOAD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The rooms' password (set on the rooms created, given by every guest).
    #[arg(long)]
    pub room_password: Option<String>,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Seconds between the song's start and the measurement: the song reaches the last
    /// bucket (15 s behind the leader's) only after this.
    #[arg(long, default_value_t = 16.0)]
    pub warmup: f64,
    /// Milliseconds of voice per message (a multiple of 60; browsers send 600).
    #[arg(long, default_value_t = 600)]
    pub batch_ms: u64,
    /// The singers' simulated audio latency (microphone and speakers), in ms.
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
    /// How far behind the position it was sent for a page plays its mix (its jitter
    /// buffer), in ms: a mix packet arriving later than that is late.
    #[arg(long, default_value_t = 200)]
    pub playout_ms: u64,
    /// Seconds of each singer's voice encoded at start and looped (rounded up to whole
    /// batches).
    #[arg(long, default_value_t = 3.0)]
    pub voice_seconds: f64,
    /// Distinct voices encoded, shared in turn [default: one per singer].
    #[arg(long)]
    pub voices: Option<usize>,
    /// A folder keeping the encoded voices between runs (a ramp encodes each voice once);
    /// each file is named by everything its packets depend on.
    #[arg(long, value_name = "DIR")]
    pub voice_cache: Option<std::path::PathBuf>,
    /// The voices' Opus bitrate (VBR), bits per second.
    #[arg(long, default_value_t = 50_000)]
    pub bitrate: i32,
    /// The voices' Opus complexity, 0 to 10.
    #[arg(long, default_value_t = 10)]
    pub complexity: i32,
    /// A metronome in every room's song, beats per minute.
    #[arg(long)]
    pub bpm: Option<u32>,
    /// Guests joining at once while the rooms fill.
    #[arg(long, default_value_t = 32)]
    pub connect_concurrency: usize,
    /// Distinct source addresses in 127.0.0.0/8 the singers connect from, shared in turn
    /// [default: one per singer; 0 for the system's choice]. Only for a server on loopback.
    #[arg(long)]
    pub sources: Option<usize>,
    /// A guest sign-up or handshake not answered in this time fails.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// No probe listener and no test tone.
    #[arg(long)]
    pub no_probe: bool,
    /// The probe's test tone, Hz.
    #[arg(long, default_value_t = 660.0)]
    pub probe_hz: f64,
    /// The probe's test tone's peak level as sung (before the server's gain).
    #[arg(long, default_value_t = 0.25)]
    pub probe_level: f64,
    /// How far the tone's level in the mix may be from the gain rule's, as a share.
    #[arg(long, default_value_t = 0.25)]
    pub probe_tolerance: f64,
    /// How far the tone's place in the mix may be from the leader's stamps plus the
    /// codec's delay, in ms.
    #[arg(long, default_value_t = 10.0)]
    pub probe_offset_tolerance_ms: f64,
    /// The server's process id: its CPU over the window and its RSS go in the summary.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print JSON objects, one per line: the pre-encoding, the set-up, and the summary
    /// last.
    #[arg(long)]
    pub json: bool,
}

impl ChoirArgs {
    /// Refuses options no run could use.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.singers > 0, "--singers must be at least 1");
        anyhow::ensure!(
            !self.room_ids.is_empty() || self.rooms > 0,
            "--rooms must be at least 1"
        );
        anyhow::ensure!(
            !self.room_ids.is_empty() || self.token.is_some(),
            "creating rooms needs --token (an API token of an account with the member role, \
             from `tutti admin create-token`); or name existing rooms with --room ID"
        );
        anyhow::ensure!(
            self.rooms() <= self.singers,
            "{} rooms need at least as many singers (one leads each)",
            self.rooms()
        );
        let per_batch = self.batch_packets();
        anyhow::ensure!(
            self.batch_ms.is_multiple_of(60) && (1..=MAX_PACKETS as u64).contains(&per_batch),
            "--batch-ms must be a multiple of 60 ms between 60 and {} (whole 60 ms packets, at \
             most {MAX_PACKETS} a message)",
            60 * MAX_PACKETS
        );
        anyhow::ensure!(
            self.seconds > 0.0 && self.seconds.is_finite(),
            "--seconds must be above 0"
        );
        anyhow::ensure!(
            self.warmup >= 0.0 && self.warmup.is_finite(),
            "--warmup must be 0 or more"
        );
        anyhow::ensure!(
            self.voice_seconds > 0.0 && self.voice_seconds <= 60.0,
            "--voice-seconds must be between 0 and 60"
        );
        anyhow::ensure!(
            (0..=10).contains(&self.complexity),
            "--complexity goes from 0 to 10"
        );
        anyhow::ensure!(
            (6_000..=510_000).contains(&self.bitrate),
            "--bitrate goes from 6000 to 510000 (Opus)"
        );
        anyhow::ensure!(
            self.probe_hz > 100.0 && self.probe_hz < 4_000.0,
            "--probe-hz must be between 100 and 4000"
        );
        anyhow::ensure!(
            self.probe_level > 0.0 && self.probe_level <= 0.5,
            "--probe-level must be above 0 and at most 0.5 (the leader's boost doubles it)"
        );
        anyhow::ensure!(
            self.connect_concurrency > 0,
            "--connect-concurrency must be at least 1"
        );
        Ok(())
    }

    pub fn rooms(&self) -> usize {
        if self.room_ids.is_empty() {
            self.rooms
        } else {
            self.room_ids.len()
        }
    }

    /// Opus packets in one voice message.
    pub fn batch_packets(&self) -> u64 {
        self.batch_ms / 60
    }

    fn batch(&self) -> Duration {
        Duration::from_millis(self.batch_ms)
    }

    /// Packets of each singer's looped voice: whole batches covering --voice-seconds.
    pub fn voice_packets(&self) -> usize {
        let per_batch = self.batch_packets() as usize;
        let packets = (self.voice_seconds * 1000.0 / 60.0).ceil() as usize;
        packets.div_ceil(per_batch).max(1) * per_batch
    }

    fn codec(&self) -> Codec {
        Codec {
            bitrate: self.bitrate,
            complexity: self.complexity,
        }
    }

    fn gate(&self) -> Gate {
        Gate {
            freq: self.probe_hz,
            level: self.probe_level,
            period: PROBE_PERIOD,
        }
    }

    fn ms(ms: u64) -> u64 {
        ms * RATE / 1000
    }
}

// --- the schedule ----------------------------------------------------------------------

/// The server's clock as this machine sees it: `clock` (48 kHz samples) at `local`.
#[derive(Debug, Clone, Copy)]
pub struct ServerClock {
    pub local: Instant,
    pub clock: f64,
}

impl ServerClock {
    /// The server's clock at `t`, in samples.
    pub fn at(&self, t: Instant) -> f64 {
        let seconds = if t >= self.local {
            t.duration_since(self.local).as_secs_f64()
        } else {
            -self.local.duration_since(t).as_secs_f64()
        };
        self.clock + seconds * RATE as f64
    }

    pub fn now(&self) -> f64 {
        self.at(Instant::now())
    }
}

/// One singer's voice stream since it last (re)started: frame `k` ends at
/// `first_end + k × batch` and starts where frame `k − 1` ended, and carries the looped
/// voice's packets from `k × batch` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoicePlan {
    pub first_end: u64,
    /// Packets per frame.
    pub batch: u64,
    /// Packets in the looped voice.
    pub voice: usize,
}

impl VoicePlan {
    /// A stream whose first frame is sent when the server's clock is `now`: it ends at
    /// the position the singer heard then (`now − delay − playout`) minus their
    /// `latency`, on the 60 ms grid.
    pub fn starting(
        now: f64,
        delay: u64,
        playout: u64,
        latency: u64,
        batch: u64,
        voice: usize,
    ) -> VoicePlan {
        let heard = (now.max(0.0) as u64).saturating_sub(delay + playout + latency);
        let first_end = (heard - heard % FRAME as u64).max(batch * FRAME as u64);
        VoicePlan {
            first_end,
            batch,
            voice,
        }
    }

    pub fn end(&self, k: u64) -> u64 {
        self.first_end + k * self.batch * FRAME as u64
    }

    pub fn start(&self, k: u64) -> u64 {
        self.end(k) - self.batch * FRAME as u64
    }

    /// Indices into the looped voice of frame `k`'s packets.
    pub fn packets(&self, k: u64) -> impl Iterator<Item = usize> + use<> {
        let (batch, voice) = (self.batch, self.voice as u64);
        (0..batch).map(move |j| ((k * batch + j) % voice) as usize)
    }
}

/// When singer `i` of `n` sends within each batch: spread by the golden ratio, so
/// sends never bunch, whatever `n`.
pub fn stagger(i: usize, batch: Duration) -> Duration {
    const PHI_INVERSE: f64 = 0.618_033_988_749_895;
    batch.mul_f64((i as f64 * PHI_INVERSE).fract())
}

/// The first due time at or after `now` on the schedule `base + k × batch`.
pub fn next_due(base: Instant, batch: Duration, now: Instant) -> Instant {
    if now <= base {
        return base;
    }
    let behind = now.duration_since(base).as_secs_f64() / batch.as_secs_f64();
    base + batch.mul_f64(behind.ceil())
}

/// Mix packets as one listener counted them in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MixCounts {
    pub frames: u64,
    pub packets: u64,
    /// Arrived after their play-out deadline.
    pub late: u64,
    /// Never arrived though their deadline passed (a gap, or a stalled stream at the
    /// window's end).
    pub missing: u64,
}

/// One listener's bucket mix as it arrives: where it should continue, and what the window
/// counted. Positions are the server's clock; a packet ending at `e` is due on the server
/// at `e + delay` and played from `e − 2880 + delay + playout`.
#[derive(Debug, Clone, Default)]
pub struct MixTrack {
    next: Option<u64>,
    /// Counting packets ending after this position; none outside the window.
    from: Option<u64>,
    pub counts: MixCounts,
}

/// A mix frame starting before the previous one ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap;

impl MixTrack {
    /// The listener's bucket (or delay) changed: the stream starts afresh.
    pub fn restart(&mut self) {
        self.next = None;
    }

    /// The window opens at server clock `now`: packets the listener plays from now on
    /// count.
    pub fn begin(&mut self, now: f64, delay: u64, playout: u64) {
        let heard = (now.max(0.0) as u64).saturating_sub(delay + playout);
        self.from = Some(heard - heard % FRAME as u64);
    }

    /// A frame of `packets` packets ending at `end` arrived at server clock `arrival`;
    /// its response latency in samples when the window counts it.
    pub fn frame(
        &mut self,
        end: u64,
        packets: u64,
        arrival: f64,
        delay: u64,
        playout: u64,
    ) -> Result<Option<f64>, Overlap> {
        let frame = FRAME as u64;
        let start = end.saturating_sub(packets * frame);
        let counted = |e: u64| self.from.is_some_and(|from| e > from);
        let mut overlap = false;
        if let Some(next) = self.next {
            if start > next {
                let missing = (next / frame + 1..=start / frame)
                    .filter(|k| counted(k * frame))
                    .count();
                self.counts.missing += missing as u64;
            } else if start < next {
                overlap = true;
            }
        }
        if overlap && std::env::var_os("TUTTI_LOAD_DEBUG").is_some() {
            eprintln!(
                "overlap: frame [{start}, {end}) after one ending at {:?}",
                self.next
            );
        }
        if overlap {
            // A repeat of what came already: counted once, as the error it is.
            return Err(Overlap);
        }
        self.next = Some(end);
        let mut any = false;
        for j in 0..packets {
            let e = start + (j + 1) * frame;
            if !counted(e) {
                continue;
            }
            any = true;
            self.counts.packets += 1;
            if arrival > (e - frame + delay + playout) as f64 {
                self.counts.late += 1;
            }
        }
        if any {
            self.counts.frames += 1;
        }
        Ok(any.then(|| arrival - (end + delay) as f64))
    }

    /// The window closes at server clock `now`: packets whose play-out deadline passed
    /// without them arriving are missing; nothing counts after this.
    pub fn finish(&mut self, now: f64, delay: u64, playout: u64) {
        let Some(from) = self.from.take() else {
            return;
        };
        let frame = FRAME as u64;
        let due_until = (now.max(0.0) as u64 + frame).saturating_sub(delay + playout);
        let have = self.next.unwrap_or(from).max(from);
        if due_until > have {
            self.counts.missing += (due_until - have) / frame;
        }
    }
}

// --- the clients -----------------------------------------------------------------------

/// Whether a participant sings or only listens, as `join` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Singer,
    Listener,
}

impl Part {
    fn as_str(self) -> &'static str {
        match self {
            Part::Singer => "singer",
            Part::Listener => "listener",
        }
    }
}

/// What the run shares with every client.
struct Ctx {
    clock: ServerClock,
    /// The schedule's origin; each singer is offset within a batch.
    epoch: Instant,
    measuring: AtomicBool,
    batch: Duration,
    batch_packets: u64,
    latency: u64,
    playout: u64,
    totals: Mutex<Totals>,
    /// Where the probe leader's current stream starts on the timeline.
    probe_leader_start: Mutex<Option<u64>>,
}

/// Counted across clients: latencies and errors.
#[derive(Default)]
struct Totals {
    latency: Latencies,
    send_lag: Latencies,
    errors: BTreeMap<String, u64>,
}

impl Ctx {
    fn error(&self, kind: impl Into<String>) {
        let mut t = self.totals.lock().expect("totals");
        *t.errors.entry(kind.into()).or_default() += 1;
    }

    fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }
}

/// Voice traffic of one singer in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VoiceCounts {
    pub frames: u64,
    pub packets: u64,
    /// Packets in frames the server answered `late` or `lagging` for.
    pub late: u64,
    /// Packets in frames sent a whole batch or more after they were due.
    pub late_sends: u64,
}

/// Bytes in the window, binary and text, each way.
#[derive(Debug, Clone, Copy, Default)]
struct Traffic {
    up: u64,
    down: u64,
}

/// One participant's state, shared by its two tasks and the run.
#[derive(Default)]
struct ClientState {
    you: Option<u64>,
    bucket: Option<usize>,
    delays: Vec<u64>,
    health_delay: Option<u64>,
    song_started: bool,
    /// The delay the voice stream follows; a change restarts it.
    plan_delay: Option<u64>,
    generation: u64,
    track: MixTrack,
    /// The delay the mix track follows.
    track_delay: Option<u64>,
    voice: VoiceCounts,
    traffic: Traffic,
    min_margin_ms: Option<i64>,
    lagging_reports: u64,
    streaming: bool,
}

impl ClientState {
    fn delay(&self) -> Option<u64> {
        match self.bucket {
            Some(b) if b < self.delays.len() => Some(self.delays[b]),
            _ => self.health_delay,
        }
    }
}

struct Client {
    index: usize,
    part: Part,
    closing: AtomicBool,
    state: Mutex<ClientState>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Client {
    fn state(&self) -> std::sync::MutexGuard<'_, ClientState> {
        self.state.lock().expect("client state")
    }
}

enum Command {
    Text(String),
    Close,
}

/// When the voice stream (re)starts: the plan's generation and delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StreamPlan {
    generation: u64,
    delay: u64,
}

/// What the probe listener heard (decoded) in the window, and the room as it saw it.
#[derive(Default)]
struct Ear {
    decoder: Option<OpusDecoder>,
    /// Contiguous runs of decoded mix: (timeline position of the first sample, samples).
    pieces: Vec<(u64, Vec<f32>)>,
    /// Everyone in the room: id → (sings, bucket, lagging).
    roster: BTreeMap<u64, (bool, usize, bool)>,
    auto_gain: Option<bool>,
    global_volume: Option<f64>,
    song_start: Option<u64>,
}

impl Ear {
    fn hear(&mut self, frame: &Frame) {
        let decoder = self
            .decoder
            .get_or_insert_with(|| OpusDecoder::new(RATE as i32, 1).expect("a mono decoder"));
        let start = frame.end - (frame.packets.len() * FRAME) as u64;
        let continues = self
            .pieces
            .last()
            .is_some_and(|(s, pcm)| s + pcm.len() as u64 == start);
        if !continues {
            self.pieces.push((start, Vec::new()));
        }
        let pcm = &mut self.pieces.last_mut().expect("a piece").1;
        for packet in &frame.packets {
            let at = pcm.len();
            pcm.resize(at + FRAME, 0.0);
            if decoder.decode(packet, FRAME, &mut pcm[at..]).is_err() {
                pcm[at..].fill(0.0);
            }
        }
    }

    fn roster_singer(&mut self, v: &Value) {
        let Some(id) = v["id"].as_u64() else { return };
        let sings = v["part"].as_str() == Some("singer");
        let bucket = v["bucket"].as_u64().unwrap_or(0) as usize;
        let lagging = v["lagging"].as_bool().unwrap_or(false);
        self.roster.insert(id, (sings, bucket, lagging));
    }
}

/// A guest's way in: its token and socket.
async fn guest(
    user: &HttpUser,
    room: &str,
    name: &str,
    password: Option<&str>,
) -> Result<Url, String> {
    let mut body = json!({ "name": name });
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    let mut attempts = 0;
    let response = loop {
        let response = user
            .client
            .post(user.url(&format!("{API}/rooms/{room}/guests")))
            .header(header::ORIGIN, user.base.origin().ascii_serialization())
            .header(header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("guest: {}", error_kind(&e)))?;
        let status = response.status();
        let busy =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        if busy && attempts < 5 {
            attempts += 1;
            tokio::time::sleep(Duration::from_millis(200 << attempts)).await;
            continue;
        }
        if status != StatusCode::OK && status != StatusCode::CREATED {
            return Err(format!("guest: status {}", status.as_u16()));
        }
        break response;
    };
    let value: Value = response
        .json()
        .await
        .map_err(|_| "guest: not JSON".to_string())?;
    let token = value["token"]
        .as_str()
        .ok_or_else(|| "guest: no token".to_string())?;
    socket_url(&user.base, room, value["socket_url"].as_str(), token)
        .ok_or_else(|| "guest: bad socket_url".to_string())
}

/// The socket's address: `socket_url` as the server gave it (absolute or a path), else
/// `/choir/rooms/{room}/socket`, with `guest=<token>` in its query, as `ws://`.
pub fn socket_url(base: &Url, room: &str, given: Option<&str>, token: &str) -> Option<Url> {
    let path = given.map_or_else(|| format!("/choir/rooms/{room}/socket"), str::to_string);
    let mut url = base.join(&path).ok()?;
    if !url.query_pairs().any(|(k, _)| k == "guest") {
        url.query_pairs_mut().append_pair("guest", token);
    }
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return None,
    };
    url.set_scheme(scheme).ok()?;
    Some(url)
}

/// A participant just joined: its socket, its id, messages read while joining, and (when
/// it pinged) the server's clock.
struct Joined {
    socket: Socket,
    you: u64,
    early: Vec<Message>,
    /// The server's clock, and the round trip (s) of the ping that told it.
    clock: Option<(f64, ServerClock)>,
}

fn handshake_kind(e: &anyhow::Error) -> String {
    for cause in e.chain() {
        if let Some(t) = cause.downcast_ref::<tungstenite::Error>() {
            return match t {
                tungstenite::Error::Http(r) => format!("handshake: status {}", r.status().as_u16()),
                _ => "handshake: failed".into(),
            };
        }
    }
    "handshake: connect".into()
}

/// Signs a guest up, opens its socket, joins, waits for `welcome` and, with `pings`,
/// estimates the server's clock.
async fn join(
    args: &ChoirArgs,
    room: &str,
    name: &str,
    part: Part,
    source: Option<IpAddr>,
    pings: usize,
) -> Result<Joined, String> {
    let user = HttpUser::new(&args.url, source, args.timeout).map_err(|_| "client".to_string())?;
    let url = guest(&user, room, name, args.room_password.as_deref()).await?;
    let origin = args.url.origin().ascii_serialization();
    let mut socket = tokio::time::timeout(args.timeout, ws::connect(&url, source, None, &origin))
        .await
        .map_err(|_| "handshake: timeout".to_string())?
        .map_err(|e| handshake_kind(&e))?;
    let seat = format!("load-{}-{name}", std::process::id());
    let hello = json!({ "type": "join", "name": name, "part": part.as_str(), "seat": seat });
    socket
        .send(Message::text(hello.to_string()))
        .await
        .map_err(|_| "join: send".to_string())?;
    let mut early = Vec::new();
    let you = loop {
        let message = next_message(&mut socket).await?;
        if let Message::Text(t) = &message
            && let Ok(v) = serde_json::from_str::<Value>(t)
        {
            match v["type"].as_str() {
                Some("welcome") => break v["you"].as_u64().ok_or("welcome: no id")?,
                Some("error") => {
                    return Err(format!("join: error {}", v["code"].as_str().unwrap_or("?")));
                }
                _ => {}
            }
        }
        early.push(message);
    };
    let mut best: Option<(f64, ServerClock)> = None;
    let origin_time = Instant::now();
    for _ in 0..pings {
        let sent = Instant::now();
        let ping = json!({ "type": "ping", "sent": sent.duration_since(origin_time).as_secs_f64() * 1000.0 });
        socket
            .send(Message::text(ping.to_string()))
            .await
            .map_err(|_| "ping: send".to_string())?;
        loop {
            let message = next_message(&mut socket).await?;
            if let Message::Text(t) = &message
                && let Ok(v) = serde_json::from_str::<Value>(t)
                && v["type"].as_str() == Some("pong")
            {
                let back = Instant::now();
                let clock = v["clock"].as_f64().ok_or("pong: no clock")?;
                let rtt = back.duration_since(sent).as_secs_f64();
                let estimate = ServerClock {
                    local: sent + back.duration_since(sent) / 2,
                    clock,
                };
                if best.is_none_or(|(r, _)| rtt < r) {
                    best = Some((rtt, estimate));
                }
                break;
            }
            early.push(message);
        }
    }
    Ok(Joined {
        socket,
        you,
        early,
        clock: best,
    })
}

async fn next_message(socket: &mut Socket) -> Result<Message, String> {
    match tokio::time::timeout(HANDSHAKE_WAIT, socket.next()).await {
        Err(_) => Err("join: no answer".into()),
        Ok(None) => Err("join: closed".into()),
        Ok(Some(Err(_))) => Err("join: socket error".into()),
        Ok(Some(Ok(m))) => Ok(m),
    }
}

/// The participant's sending side: commands (lead, start, close) as they come, and its
/// voice on its fixed schedule once it knows its delay.
async fn sing(
    mut sink: SplitSink<Socket, Message>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut plans: watch::Receiver<Option<StreamPlan>>,
    voice: Option<Packets>,
    probe_leader: bool,
    client: Arc<Client>,
    ctx: Arc<Ctx>,
) {
    let base = ctx.epoch + stagger(client.index, ctx.batch);
    let mut due = base;
    let mut stream: Option<(u64, VoicePlan, u64)> = None;
    let mut out = Vec::with_capacity(8 * 1024);
    let mut listening = true;
    loop {
        let plan = *plans.borrow();
        let singing = voice.is_some() && plan.is_some();
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(Command::Text(text)) => {
                    let len = text.len() as u64;
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                    if ctx.measuring() {
                        client.state().traffic.up += len;
                    }
                }
                Some(Command::Close) | None => {
                    client.closing.store(true, Ordering::SeqCst);
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
            changed = plans.changed(), if listening => {
                // The listening side ended: the plan stays as it was.
                listening = changed.is_ok();
            },
            () = tokio::time::sleep_until(due), if singing => {
                let (Some(plan), Some(voice)) = (plan, voice.as_ref()) else { continue };
                let restart = stream.is_none_or(|(generation, _, _)| generation != plan.generation);
                if restart {
                    due = next_due(base, ctx.batch, Instant::now());
                    tokio::time::sleep_until(due).await;
                    let vp = VoicePlan::starting(
                        ctx.clock.at(due),
                        plan.delay,
                        ctx.playout,
                        ctx.latency,
                        ctx.batch_packets,
                        voice.len(),
                    );
                    if probe_leader {
                        *ctx.probe_leader_start.lock().expect("probe") = Some(vp.start(0));
                    }
                    stream = Some((plan.generation, vp, 0));
                    client.state().streaming = true;
                }
                let Some((_, vp, k)) = stream.as_mut() else { continue };
                let packets: Vec<&[u8]> = vp.packets(*k).map(|i| voice[i].as_ref()).collect();
                out.clear();
                // A run's first frame says so: the server starts a fresh decoder for it.
                let kind = if *k == 0 { Kind::Start } else { Kind::Voice };
                Frame::write(kind, vp.end(*k), &packets, &mut out);
                let lag = Instant::now().saturating_duration_since(due);
                let len = out.len() as u64;
                if sink.send(Message::binary(out.clone())).await.is_err() {
                    break;
                }
                if ctx.measuring() {
                    let mut s = client.state();
                    s.voice.frames += 1;
                    s.voice.packets += ctx.batch_packets;
                    if lag >= ctx.batch {
                        s.voice.late_sends += ctx.batch_packets;
                    }
                    s.traffic.up += len;
                    drop(s);
                    ctx.totals.lock().expect("totals").send_lag.record(lag);
                }
                *k += 1;
                due += ctx.batch;
            }
        }
    }
}

/// The participant's listening side: control messages (its bucket and delay, errors,
/// health) and mix frames, counted against their deadlines.
async fn listen(
    mut stream: SplitStream<Socket>,
    early: Vec<Message>,
    plans: watch::Sender<Option<StreamPlan>>,
    ear: Option<Arc<Mutex<Ear>>>,
    client: Arc<Client>,
    ctx: Arc<Ctx>,
) {
    for message in early {
        heard(message, &plans, ear.as_deref(), &client, &ctx);
    }
    loop {
        match stream.next().await {
            Some(Ok(Message::Close(frame))) => {
                if !client.closing.load(Ordering::SeqCst) {
                    let code = frame.map_or(0, |f| u16::from(f.code));
                    ctx.error(format!("closed by the server ({code})"));
                }
                break;
            }
            Some(Ok(message)) => heard(message, &plans, ear.as_deref(), &client, &ctx),
            Some(Err(_)) | None => {
                if !client.closing.load(Ordering::SeqCst) {
                    ctx.error("connection dropped");
                }
                break;
            }
        }
    }
}

fn heard(
    message: Message,
    plans: &watch::Sender<Option<StreamPlan>>,
    ear: Option<&Mutex<Ear>>,
    client: &Client,
    ctx: &Ctx,
) {
    match message {
        Message::Binary(bytes) => mix(&bytes, ear, client, ctx),
        Message::Text(text) => {
            if ctx.measuring() {
                client.state().traffic.down += text.len() as u64;
            }
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                ctx.error("text frame not JSON");
                return;
            };
            control(&v, plans, ear, client, ctx);
        }
        _ => {}
    }
}

fn mix(bytes: &[u8], ear: Option<&Mutex<Ear>>, client: &Client, ctx: &Ctx) {
    let arrival = ctx.clock.now();
    let frame = match Frame::parse(bytes) {
        Ok(f) => f,
        Err(_) => {
            ctx.error("frame does not parse");
            return;
        }
    };
    match frame.kind {
        Kind::Mix => {}
        Kind::Voice | Kind::Start => {
            ctx.error("voice frame from the server");
            return;
        }
        // The leader's monitor mix of soloed voices (kind 3, newer than some servers):
        // nobody is soloed here.
        #[allow(unreachable_patterns)]
        _ => return,
    }
    let mut s = client.state();
    let Some(delay) = s.delay() else { return };
    if s.track_delay != Some(delay) {
        // A new bucket (leading reshuffles them before the song starts): its stream
        // starts afresh.
        s.track.restart();
        s.track_delay = Some(delay);
    }
    let counted = s.track.frame(
        frame.end,
        frame.packets.len() as u64,
        arrival,
        delay,
        ctx.playout,
    );
    let measuring = ctx.measuring();
    if measuring {
        s.traffic.down += bytes.len() as u64;
    }
    drop(s);
    match counted {
        Ok(Some(latency)) => {
            ctx.totals
                .lock()
                .expect("totals")
                .latency
                .record(Duration::from_secs_f64(latency.max(0.0) / RATE as f64));
            if let Some(ear) = ear {
                ear.lock().expect("ear").hear(&frame);
            }
        }
        Ok(None) => {}
        Err(Overlap) => {
            static SHOWN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            if std::env::var_os("TUTTI_LOAD_DEBUG").is_some()
                && SHOWN.fetch_add(1, Ordering::Relaxed) < 20
            {
                eprintln!(
                    "overlap: client {} end {} packets {} arrival {:.0}",
                    client.index,
                    frame.end,
                    frame.packets.len(),
                    arrival
                );
            }
            ctx.error("mix frame overlaps the last")
        }
    }
}

fn control(
    v: &Value,
    plans: &watch::Sender<Option<StreamPlan>>,
    ear: Option<&Mutex<Ear>>,
    client: &Client,
    ctx: &Ctx,
) {
    let mut s = client.state();
    match v["type"].as_str().unwrap_or("") {
        "welcome" => s.you = v["you"].as_u64(),
        "roster" => {
            let you = s.you;
            for singer in v["singers"].as_array().into_iter().flatten() {
                if singer["id"].as_u64() == you && you.is_some() {
                    s.bucket = singer["bucket"].as_u64().map(|b| b as usize);
                }
                if let Some(ear) = ear {
                    ear.lock().expect("ear").roster_singer(singer);
                }
            }
        }
        "singer" => {
            let singer = &v["singer"];
            if singer["id"].as_u64() == s.you && s.you.is_some() {
                s.bucket = singer["bucket"].as_u64().map(|b| b as usize);
            }
            if let Some(ear) = ear {
                ear.lock().expect("ear").roster_singer(singer);
            }
        }
        "left" => {
            if let (Some(ear), Some(id)) = (ear, v["id"].as_u64()) {
                ear.lock().expect("ear").roster.remove(&id);
            }
        }
        "song" => {
            let song = &v["song"];
            s.delays = song["delays"]
                .as_array()
                .map(|d| d.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            s.song_started = song["start"].is_u64();
            if let Some(ear) = ear {
                ear.lock().expect("ear").song_start = song["start"].as_u64();
            }
        }
        "console" => {
            if let Some(ear) = ear {
                let mut e = ear.lock().expect("ear");
                e.auto_gain = v["console"]["auto_gain"].as_bool();
                e.global_volume = v["console"]["global_volume"].as_f64();
            }
        }
        "health" => {
            s.bucket = v["bucket"].as_u64().map(|b| b as usize).or(s.bucket);
            s.health_delay = v["delay"].as_u64();
            // A listener sends no voice, so its margin means nothing.
            if ctx.measuring() && client.part == Part::Singer {
                if let Some(m) = v["margin_ms"].as_i64() {
                    s.min_margin_ms = Some(s.min_margin_ms.map_or(m, |x| x.min(m)));
                }
                if v["lagging"].as_bool() == Some(true) {
                    s.lagging_reports += 1;
                }
            }
        }
        "error" => {
            let code = v["code"].as_str().unwrap_or("unknown").to_string();
            if ctx.measuring() && matches!(code.as_str(), "late" | "lagging") {
                s.voice.late += ctx.batch_packets;
            }
            drop(s);
            ctx.error(format!("error: {code}"));
            return;
        }
        _ => {}
    }
    // The stream follows the bucket's delay once the song runs; a new delay restarts it
    // (and the mix stream with it).
    let delay = s.delay();
    if s.song_started
        && let Some(delay) = delay
        && s.plan_delay != Some(delay)
    {
        s.plan_delay = Some(delay);
        s.generation += 1;
        let plan = StreamPlan {
            generation: s.generation,
            delay,
        };
        drop(s);
        let _ = plans.send(Some(plan));
    }
}

// --- the probe -------------------------------------------------------------------------

/// What the probe found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeSummary {
    pub pass: bool,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub freq_hz: f64,
    /// The tone's level where the gate is on, and what the gain rule expects.
    pub level: f64,
    pub expected_level: f64,
    /// `level / expected_level − 1`.
    pub level_error: f64,
    /// The tone's level where the gate is off (should be near 0).
    pub off_level: f64,
    /// How much later than the leader stamped it the tone is in the mix, and what the
    /// codec's delay makes it.
    pub offset_ms: f64,
    pub expected_offset_ms: f64,
    /// Voices the gain rule counts (the room's singers in buckets before the probe's).
    pub voices: usize,
    pub bucket: Option<usize>,
    /// Seconds of mix analysed.
    pub analysed_s: f64,
}

/// What the gain rule says the probe hears: the leader's `level`, boosted, scaled for
/// `voices` voices when automatic gain is on, at the console's global volume.
pub fn expected_level(level: f64, voices: usize, auto_gain: bool, global_volume: f64) -> f64 {
    let auto = if auto_gain && voices > 0 {
        ((1.0 + PHANTOM_VOICES) / (voices as f64 + PHANTOM_VOICES)).sqrt()
    } else {
        1.0
    };
    level * LEADER_BOOST * auto * global_volume
}

fn analyse(
    args: &ChoirArgs,
    ear: &Ear,
    leader_start: Option<u64>,
    bucket: Option<usize>,
) -> ProbeSummary {
    let gate = args.gate();
    let lookahead = args.codec().encoder().lookahead() as f64;
    let expected_offset_ms = 2.0 * lookahead / RATE as f64 * 1000.0;
    let voices = bucket.map_or(0, |b| {
        ear.roster
            .values()
            .filter(|(sings, at, lagging)| *sings && *at < b && !*lagging)
            .count()
    });
    let expected = expected_level(
        gate.level,
        voices,
        ear.auto_gain.unwrap_or(true),
        ear.global_volume.unwrap_or(1.0),
    );
    let mut summary = ProbeSummary {
        pass: false,
        reason: None,
        freq_hz: gate.freq,
        level: 0.0,
        expected_level: round6(expected),
        level_error: 0.0,
        off_level: 0.0,
        offset_ms: 0.0,
        expected_offset_ms: round3(expected_offset_ms),
        voices,
        bucket,
        analysed_s: 0.0,
    };
    let Some(leader_start) = leader_start else {
        summary.reason = Some("the probe leader never sang".into());
        return summary;
    };
    // The longest stretch heard after the leader's stream (and the song) began.
    let from = leader_start.max(ear.song_start.unwrap_or(0));
    let best = ear
        .pieces
        .iter()
        .filter_map(|(start, pcm)| {
            let skip = from.saturating_sub(*start) as usize;
            (skip < pcm.len()).then(|| (start + skip as u64, &pcm[skip..]))
        })
        .max_by_key(|(_, pcm)| pcm.len());
    let Some((start, pcm)) = best else {
        summary.reason = Some("the probe heard no mix after the song reached it".into());
        return summary;
    };
    summary.analysed_s = round3(pcm.len() as f64 / RATE as f64);
    if (pcm.len() as u64) < 2 * gate.period {
        summary.reason = Some(format!(
            "only {} s of mix heard; two gate periods ({} s) needed",
            summary.analysed_s,
            2 * gate.period / RATE
        ));
        return summary;
    }
    let first = start as i64 - leader_start as i64;
    let Some(lag) = audio::gate_lag(pcm, first, &gate, (RATE / 2) as i64) else {
        summary.reason = Some("no gate found".into());
        return summary;
    };
    let (on, off) = audio::gated_levels(pcm, first, &gate, lag.round() as i64, (RATE / 50) as i64);
    summary.level = round6(on);
    summary.off_level = round6(off);
    summary.level_error = round6(if expected > 0.0 {
        on / expected - 1.0
    } else {
        0.0
    });
    summary.offset_ms = round3(lag / RATE as f64 * 1000.0);
    let mut reasons = Vec::new();
    if summary.level_error.abs() > args.probe_tolerance {
        reasons.push(format!(
            "level {:.4} is not {:.4} ± {:.0}%",
            on,
            expected,
            args.probe_tolerance * 100.0
        ));
    }
    if (summary.offset_ms - expected_offset_ms).abs() > args.probe_offset_tolerance_ms {
        reasons.push(format!(
            "the tone is {} ms after its stamps, not {:.1} ± {} ms",
            summary.offset_ms, expected_offset_ms, args.probe_offset_tolerance_ms
        ));
    }
    if off > 0.1 * on.max(1e-9) {
        reasons.push(format!(
            "the tone is heard where the leader was silent ({off:.4})"
        ));
    }
    if bucket != Some(BUCKETS - 1) {
        reasons.push(format!(
            "the probe listener sat in bucket {bucket:?}, not the last"
        ));
    }
    summary.pass = reasons.is_empty();
    summary.reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    summary
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

// --- the server's process --------------------------------------------------------------

/// CPU seconds (user + system) of `/proc/<path>/stat`, assuming 100 ticks a second.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

pub(crate) fn process_cpu(pid: &str) -> Option<f64> {
    cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU seconds of each of a process's threads, summed by thread name.
fn thread_cpu(pid: u32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map(|(name, _)| name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-'))
            .unwrap_or("?")
            .to_string();
        *out.entry(name).or_default() += cpu_seconds(&stat).unwrap_or(0.0);
    }
    out
}

fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

// --- the run ---------------------------------------------------------------------------

/// One looped voice: its 60 ms Opus packets, shared by the singers who sing it.
pub type Packets = Arc<[Bytes]>;

/// The voices, encoded once.
#[derive(Debug, Clone, Serialize)]
pub struct PreEncodeSummary {
    pub voices: usize,
    pub seconds_each: f64,
    pub took_s: f64,
    pub kbps: f64,
}

impl fmt::Display for PreEncodeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pre-encoded {} voices of {} s in {} s ({} kbps on average)",
            self.voices, self.seconds_each, self.took_s, self.kbps
        )
    }
}

/// The rooms filled.
#[derive(Debug, Clone, Serialize)]
pub struct SetupSummary {
    pub rooms: usize,
    pub singers: usize,
    pub failed: usize,
    pub took_s: f64,
    pub clock_rtt_ms: f64,
}

impl fmt::Display for SetupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} singers joined {} rooms in {} s ({} failed)",
            self.singers, self.rooms, self.took_s, self.failed
        )
    }
}

/// Packets counted towards `late_fraction`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LateCounts {
    pub mix: MixCounts,
    pub voice: VoiceCounts,
}

impl LateCounts {
    /// Late, missing or late-sent packets over all expected (see the module's doc).
    pub fn fraction(&self) -> f64 {
        let bad = self.mix.late + self.mix.missing + self.voice.late + self.voice.late_sends;
        let all = self.mix.packets + self.mix.missing + self.voice.packets;
        if all == 0 {
            0.0
        } else {
            bad as f64 / all as f64
        }
    }
}

/// The run's result; with `--json` the last line.
#[derive(Debug, Clone, Serialize)]
pub struct ChoirSummary {
    pub scenario: &'static str,
    pub url: String,
    /// Singers connected (of `singers_planned`).
    pub singers: usize,
    pub singers_planned: usize,
    /// Singers sending their voice when the window opened.
    pub singers_streaming: usize,
    pub listeners: usize,
    pub rooms: usize,
    pub seconds: f64,
    pub warmup_s: f64,
    pub batch_ms: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub late_fraction: f64,
    pub late: LateCounts,
    /// Mix frames' response latency, from due on the server to arrival.
    #[serde(flatten)]
    pub latency: Percentiles,
    pub mix_frames: u64,
    /// How late the generator sent its voice frames (its own lateness, or the server not
    /// reading).
    pub send_lag_p99_ms: f64,
    pub up_bytes_per_s: f64,
    pub down_bytes_per_s: f64,
    pub up_kbps_per_singer: f64,
    pub down_kbps_per_participant: f64,
    /// The worst `health.margin_ms` any singer was told in the window.
    pub min_margin_ms: Option<i64>,
    pub lagging_reports: u64,
    pub pre_encode_s: f64,
    pub connect_s: f64,
    pub probe: Option<ProbeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_ms_per_singer_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_rss_mib: Option<f64>,
    /// The server's CPU in the window by thread name, % of one core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_threads: Option<BTreeMap<String, f64>>,
    pub load_cpu_percent: Option<f64>,
}

impl fmt::Display for ChoirSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "choir: {} singers ({} streaming) and {} listeners in {} rooms, {} s measured after {} s",
            self.singers,
            self.singers_streaming,
            self.listeners,
            self.rooms,
            self.seconds,
            self.warmup_s
        )?;
        writeln!(
            f,
            "  mix latency from due: {} ({} frames)",
            self.latency, self.mix_frames
        )?;
        writeln!(
            f,
            "  late: {:.4}% (mix {} late, {} missing of {}; voice {} late, {} sent late of {})",
            self.late_fraction * 100.0,
            self.late.mix.late,
            self.late.mix.missing,
            self.late.mix.packets + self.late.mix.missing,
            self.late.voice.late,
            self.late.voice.late_sends,
            self.late.voice.packets
        )?;
        let kinds: Vec<String> = self
            .errors_by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        writeln!(f, "  errors: {} {}", self.errors, kinds.join(", "))?;
        writeln!(
            f,
            "  traffic: up {:.0} B/s ({:.1} kbps a singer), down {:.0} B/s ({:.1} kbps each)",
            self.up_bytes_per_s,
            self.up_kbps_per_singer,
            self.down_bytes_per_s,
            self.down_kbps_per_participant
        )?;
        if let Some(cpu) = self.server_cpu_percent {
            writeln!(
                f,
                "  server: {cpu}% of a core, {} ms CPU per singer-second, RSS {} MiB",
                self.server_cpu_ms_per_singer_second.unwrap_or(0.0),
                self.server_rss_mib.unwrap_or(0.0)
            )?;
        }
        match &self.probe {
            Some(p) => write!(
                f,
                "  probe: {} (level {} of {}, off {}, offset {} ms of {} ms, {} voices, {} s){}",
                if p.pass { "pass" } else { "FAIL" },
                p.level,
                p.expected_level,
                p.off_level,
                p.offset_ms,
                p.expected_offset_ms,
                p.voices,
                p.analysed_s,
                p.reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            None => write!(f, "  probe: off"),
        }
    }
}

/// Who joins: participant `i` of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub index: usize,
    pub room: usize,
    pub part: Part,
    pub leads: bool,
    pub name: String,
}

/// The singers spread over `rooms` in turn (singer `r < rooms` leads room `r`), and the
/// probe's listener in room 0; leaders first, so each room's first singer is its leader.
pub fn seats(singers: usize, rooms: usize, probe: bool) -> Vec<Seat> {
    let mut out: Vec<Seat> = (0..singers)
        .map(|i| Seat {
            index: i,
            room: i % rooms,
            part: Part::Singer,
            leads: i < rooms,
            name: format!("load singer {i}"),
        })
        .collect();
    if probe {
        out.push(Seat {
            index: singers,
            room: 0,
            part: Part::Listener,
            leads: false,
            name: "load probe".into(),
        });
    }
    out
}

async fn create_rooms(args: &ChoirArgs) -> anyhow::Result<Vec<String>> {
    if !args.room_ids.is_empty() {
        return Ok(args.room_ids.clone());
    }
    let token = args
        .token
        .as_deref()
        .context("--token is needed to create rooms")?;
    let user = HttpUser::new(&args.url, None, args.timeout)?;
    let mut ids = Vec::new();
    for k in 0..args.rooms {
        let body = json!({
            "name": format!("load room {k} ({})", std::process::id()),
            "password": args.room_password,
            "members_only": false,
        });
        let response = user
            .client
            .post(user.url(&format!("{API}/rooms")))
            .bearer_auth(token)
            .header(header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .context("creating a room")?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        anyhow::ensure!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "creating room {k} answered {status}: {text}"
        );
        let value: Value = serde_json::from_str(&text).context("the new room is not JSON")?;
        let id = match &value["id"] {
            Value::String(s) => s.clone(),
            Value::Null => anyhow::bail!("the new room has no id: {text}"),
            other => other.to_string(),
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Packets as stored in the voice cache: each a 2-byte big-endian length, then itself.
fn pack(packets: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

fn unpack(mut bytes: &[u8]) -> Option<Vec<Bytes>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let [a, b, rest @ ..] = bytes else {
            return None;
        };
        let len = u16::from_be_bytes([*a, *b]) as usize;
        out.push(Bytes::copy_from_slice(rest.get(..len)?));
        bytes = &rest[len..];
    }
    Some(out)
}

/// `make()`'s packets, read from `cache/name` when there and of `packets` packets, else
/// made and stored there.
fn cached(
    cache: Option<&std::path::Path>,
    name: &str,
    packets: usize,
    make: impl FnOnce() -> Vec<Vec<u8>>,
) -> Packets {
    let path = cache.map(|c| c.join(name));
    if let Some(found) = path
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| unpack(&b))
        .filter(|v| v.len() == packets)
    {
        return found.into();
    }
    let made: Vec<Bytes> = make().into_iter().map(Bytes::from).collect();
    if let Some(path) = path {
        let _ = std::fs::write(path, pack(&made));
    }
    made.into()
}

fn pre_encode(args: &ChoirArgs, count: usize) -> (Vec<Packets>, Option<Packets>, PreEncodeSummary) {
    let started = std::time::Instant::now();
    let codec = args.codec();
    let packets = args.voice_packets();
    let samples = packets * FRAME;
    let cache = args.voice_cache.as_deref();
    if let Some(c) = cache {
        let _ = std::fs::create_dir_all(c);
    }
    let key = format!(
        "v1-{}bps-c{}-{}p-{}hz",
        args.bitrate, args.complexity, packets, args.probe_hz
    );
    let voices: Vec<Packets> = (0..count)
        .map(|n| {
            cached(cache, &format!("voice-{n}-{key}.opus"), packets, || {
                codec.encode(&VoiceParams::for_singer(n, args.probe_hz).synthesize(samples))
            })
        })
        .collect();
    let tone = (!args.no_probe).then(|| {
        let gate = args.gate();
        let name = format!(
            "tone-v1-{}hz-{}-{}bps-c{}.opus",
            gate.freq, gate.level, args.bitrate, args.complexity
        );
        cached(cache, &name, gate.period as usize / FRAME, || {
            codec.encode(&gate.synthesize())
        })
    });
    let bytes: usize = voices.iter().flat_map(|v| v.iter()).map(Bytes::len).sum();
    let seconds_each = samples as f64 / RATE as f64;
    let summary = PreEncodeSummary {
        voices: count,
        seconds_each: round3(seconds_each),
        took_s: round3(started.elapsed().as_secs_f64()),
        kbps: round3(bytes as f64 * 8.0 / 1000.0 / (seconds_each * count.max(1) as f64)),
    };
    (voices, tone, summary)
}

/// Fills the rooms, runs the song, measures the window, and prints the summary last.
pub async fn run(args: ChoirArgs) -> anyhow::Result<ChoirSummary> {
    args.check()?;
    let out = Output { json: args.json };
    let probe = !args.no_probe;
    let voice_count = args.voices.unwrap_or(args.singers).clamp(1, args.singers);
    eprintln!("pre-encoding {voice_count} voices…");
    let (voices, tone, pre) = pre_encode(&args, voice_count);
    out.print("pre-encode", &pre);

    let rooms = create_rooms(&args).await?;
    let seats = seats(args.singers, rooms.len(), probe);
    let sources = crate::sources::assign(&args.url, seats.len(), args.sources);
    eprintln!(
        "{} singers joining {} rooms at {}…",
        args.singers,
        rooms.len(),
        args.url
    );
    let setup_started = Instant::now();

    // The first leader alone, to learn the server's clock.
    let first = join(
        &args,
        &rooms[0],
        &seats[0].name,
        Part::Singer,
        sources[0],
        CLOCK_PINGS,
    )
    .await
    .map_err(|e| anyhow::anyhow!("the first singer could not join room {}: {e}", rooms[0]))?;
    let (rtt, clock) = first
        .clock
        .context("the server answered no ping with a pong")?;
    let ctx = Arc::new(Ctx {
        clock,
        epoch: Instant::now() + Duration::from_millis(50),
        measuring: AtomicBool::new(false),
        batch: args.batch(),
        batch_packets: args.batch_packets(),
        latency: ChoirArgs::ms(args.latency_ms),
        playout: ChoirArgs::ms(args.playout_ms),
        totals: Mutex::new(Totals::default()),
        probe_leader_start: Mutex::new(None),
    });
    let ear: Option<Arc<Mutex<Ear>>> = probe.then(|| Arc::new(Mutex::new(Ear::default())));
    let mut clients: Vec<Arc<Client>> = Vec::new();
    let mut tasks = Vec::new();
    let mut leaders: Vec<Arc<Client>> = Vec::new();
    let mut probe_client: Option<Arc<Client>> = None;

    let mut start_client = |seat: &Seat, joined: Joined| {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let client = Arc::new(Client {
            index: seat.index,
            part: seat.part,
            closing: AtomicBool::new(false),
            state: Mutex::new(ClientState {
                you: Some(joined.you),
                ..ClientState::default()
            }),
            commands,
        });
        let (sink, stream) = joined.socket.split();
        let (plan_tx, plan_rx) = watch::channel(None);
        let probe_leader = probe && seat.leads && seat.room == 0;
        let voice = match seat.part {
            Part::Listener => None,
            Part::Singer if probe_leader => tone.clone(),
            Part::Singer => Some(voices[seat.index % voices.len()].clone()),
        };
        let my_ear = (seat.part == Part::Listener).then(|| ear.clone()).flatten();
        tasks.push(tokio::spawn(sing(
            sink,
            command_rx,
            plan_rx,
            voice,
            probe_leader,
            client.clone(),
            ctx.clone(),
        )));
        tasks.push(tokio::spawn(listen(
            stream,
            joined.early,
            plan_tx,
            my_ear,
            client.clone(),
            ctx.clone(),
        )));
        if seat.leads {
            leaders.push(client.clone());
        }
        if seat.part == Part::Listener {
            probe_client = Some(client.clone());
        }
        clients.push(client);
    };
    start_client(&seats[0], first);

    let mut failed = 0;
    // Leaders first (each room's first singer), then everyone else, then the probe.
    let groups: [Vec<&Seat>; 3] = [
        seats[1..].iter().filter(|s| s.leads).collect(),
        seats
            .iter()
            .filter(|s| !s.leads && s.part == Part::Singer)
            .collect(),
        seats.iter().filter(|s| s.part == Part::Listener).collect(),
    ];
    for group in groups {
        let mut joins = futures_util::stream::iter(group.into_iter().map(|seat| {
            let args = &args;
            let room = &rooms[seat.room];
            let source = sources[seat.index];
            async move {
                (
                    seat,
                    join(args, room, &seat.name, seat.part, source, 0).await,
                )
            }
        }))
        .buffer_unordered(args.connect_concurrency);
        while let Some((seat, joined)) = joins.next().await {
            match joined {
                Ok(joined) => start_client(seat, joined),
                Err(kind) => {
                    failed += 1;
                    ctx.error(kind);
                }
            }
        }
    }
    let connected_singers = clients.iter().filter(|c| c.part == Part::Singer).count();
    let setup = SetupSummary {
        rooms: rooms.len(),
        singers: connected_singers,
        failed,
        took_s: round3(setup_started.elapsed().as_secs_f64()),
        clock_rtt_ms: round3(rtt * 1000.0),
    };
    out.print("setup", &setup);

    // Each room's leader leads and starts the song.
    let lead = match args.bpm {
        Some(bpm) => json!({ "type": "lead", "bpm": bpm }),
        None => json!({ "type": "lead" }),
    };
    for leader in &leaders {
        let _ = leader.commands.send(Command::Text(lead.to_string()));
        let _ = leader
            .commands
            .send(Command::Text(json!({ "type": "start" }).to_string()));
    }
    // Until every singer streams (at most 10 s), then the warm-up.
    let wait_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < wait_until
        && clients
            .iter()
            .filter(|c| c.part == Part::Singer)
            .any(|c| !c.state().streaming)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("song started; warming up for {} s…", args.warmup);
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;

    // The window.
    let streaming = clients
        .iter()
        .filter(|c| c.part == Part::Singer && c.state().streaming)
        .count();
    let pid = args.server_pid.map(|p| p.to_string());
    let server_cpu0 = pid.as_deref().and_then(process_cpu);
    let threads0 = args.server_pid.map(thread_cpu);
    let load_cpu0 = process_cpu("self");
    let window_start = Instant::now();
    let now = ctx.clock.now();
    for c in &clients {
        let mut s = c.state();
        if let Some(delay) = s.delay() {
            s.track.begin(now, delay, ctx.playout);
        }
        s.voice = VoiceCounts::default();
        s.traffic = Traffic::default();
    }
    {
        let mut t = ctx.totals.lock().expect("totals");
        t.latency = Latencies::default();
        t.send_lag = Latencies::default();
    }
    ctx.measuring.store(true, Ordering::SeqCst);
    eprintln!("choir: measuring for {} s…", args.seconds);
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    ctx.measuring.store(false, Ordering::SeqCst);
    let window = window_start.elapsed().as_secs_f64();
    let now = ctx.clock.now();
    let server_cpu1 = pid.as_deref().and_then(process_cpu);
    let threads1 = args.server_pid.map(thread_cpu);
    let load_cpu1 = process_cpu("self");
    let rss = args.server_pid.and_then(rss_mib);

    let mut late = LateCounts::default();
    let mut traffic = Traffic::default();
    let (mut min_margin, mut lagging_reports) = (None::<i64>, 0);
    for c in &clients {
        let mut s = c.state();
        if let Some(delay) = s.delay() {
            s.track.finish(now, delay, ctx.playout);
        }
        let m = s.track.counts;
        late.mix.frames += m.frames;
        late.mix.packets += m.packets;
        late.mix.late += m.late;
        late.mix.missing += m.missing;
        late.voice.frames += s.voice.frames;
        late.voice.packets += s.voice.packets;
        late.voice.late += s.voice.late;
        late.voice.late_sends += s.voice.late_sends;
        traffic.up += s.traffic.up;
        traffic.down += s.traffic.down;
        if let Some(m) = s.min_margin_ms {
            min_margin = Some(min_margin.map_or(m, |x| x.min(m)));
        }
        lagging_reports += s.lagging_reports;
    }

    // Everyone leaves.
    for c in &clients {
        let _ = c.commands.send(Command::Close);
    }
    let closing = futures_util::future::join_all(tasks);
    let _ = tokio::time::timeout(Duration::from_secs(5), closing).await;

    let probe_summary = ear.as_ref().map(|ear| {
        let leader_start = *ctx.probe_leader_start.lock().expect("probe");
        let bucket = probe_client.as_ref().and_then(|c| c.state().bucket);
        analyse(&args, &ear.lock().expect("ear"), leader_start, bucket)
    });

    let totals = ctx.totals.lock().expect("totals");
    let errors: u64 = totals.errors.values().sum();
    let listeners = clients.len() - connected_singers;
    let per_second = |b: u64| round3(b as f64 / window);
    let server_cpu = match (server_cpu0, server_cpu1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let server_threads = match (threads0, threads1) {
        (Some(a), Some(b)) => Some(
            b.iter()
                .map(|(name, cpu)| {
                    let before = a.get(name).copied().unwrap_or(0.0);
                    (name.clone(), round3((cpu - before) / window * 100.0))
                })
                .filter(|(_, pct)| *pct > 0.0)
                .collect(),
        ),
        _ => None,
    };
    let summary = ChoirSummary {
        scenario: "choir",
        url: args.url.to_string(),
        singers: connected_singers,
        singers_planned: args.singers,
        singers_streaming: streaming,
        listeners,
        rooms: rooms.len(),
        seconds: round3(window),
        warmup_s: args.warmup,
        batch_ms: args.batch_ms,
        errors,
        errors_by_kind: totals.errors.clone(),
        late_fraction: round6(late.fraction()),
        late,
        latency: totals.latency.percentiles(),
        mix_frames: late.mix.frames,
        send_lag_p99_ms: round3(totals.send_lag.quantile_ms(0.99)),
        up_bytes_per_s: per_second(traffic.up),
        down_bytes_per_s: per_second(traffic.down),
        up_kbps_per_singer: round3(
            traffic.up as f64 * 8.0 / 1000.0 / window / connected_singers.max(1) as f64,
        ),
        down_kbps_per_participant: round3(
            traffic.down as f64 * 8.0 / 1000.0 / window / clients.len().max(1) as f64,
        ),
        min_margin_ms: min_margin,
        lagging_reports,
        pre_encode_s: pre.took_s,
        connect_s: setup.took_s,
        probe: probe_summary,
        server_cpu_percent: server_cpu.map(|c| round3(c / window * 100.0)),
        server_cpu_ms_per_singer_second: server_cpu
            .map(|c| round3(c * 1000.0 / (window * connected_singers.max(1) as f64))),
        server_rss_mib: rss.map(round3),
        server_threads,
        load_cpu_percent: match (load_cpu0, load_cpu1) {
            (Some(a), Some(b)) => Some(round3((b - a) / window * 100.0)),
            _ => None,
        },
    };
    drop(totals);
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
        choir: ChoirArgs,
    }

    fn args(extra: &[&str]) -> Result<ChoirArgs, clap::Error> {
        Cli::try_parse_from(["t"].iter().chain(extra.iter()).copied()).map(|c| c.choir)
    }

    #[test]
    fn options_are_checked() {
        let ok = args(&["--singers", "20", "--rooms", "2", "--token", "t"]).unwrap();
        ok.check().unwrap();
        assert_eq!(ok.batch_packets(), 10);
        assert_eq!(ok.voice_packets(), 50, "3 s is five batches");
        assert!(
            args(&["--singers", "20"]).unwrap().check().is_err(),
            "no token, no rooms"
        );
        args(&["--room", "r1", "--room", "r2"])
            .unwrap()
            .check()
            .unwrap();
        let odd = args(&["--token", "t", "--batch-ms", "500"]).unwrap();
        assert!(
            odd.check()
                .unwrap_err()
                .to_string()
                .contains("multiple of 60")
        );
        let big = args(&["--token", "t", "--batch-ms", "6000"]).unwrap();
        assert!(big.check().is_err());
        let crowded = args(&["--token", "t", "--singers", "2", "--rooms", "3"]).unwrap();
        assert!(crowded.check().is_err());
    }

    #[test]
    fn voice_frames_follow_on_and_loop_the_voice() {
        let plan = VoicePlan::starting(48_000.0 * 100.0 + 17.0, 144_000, 9_600, 4_800, 10, 50);
        assert_eq!(plan.first_end % FRAME as u64, 0, "on the packet grid");
        assert!(plan.first_end <= 48_000 * 100 - 144_000 - 9_600 - 4_800);
        assert!(plan.first_end + FRAME as u64 > 48_000 * 100 - 144_000 - 9_600 - 4_800);
        for k in 1..20 {
            assert_eq!(
                plan.start(k),
                plan.end(k - 1),
                "frame {k} starts where {} ended",
                k - 1
            );
        }
        let first: Vec<usize> = plan.packets(0).collect();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        let fifth: Vec<usize> = plan.packets(5).collect();
        assert_eq!(fifth, first, "50 packets loop after five frames");
        let odd = VoicePlan::starting(1e7, 0, 0, 0, 10, 40);
        let third: Vec<usize> = odd.packets(3).collect();
        assert_eq!(third, vec![30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
        assert_eq!(odd.packets(4).next(), Some(0));
        // Early in the server's life a stream cannot start before the timeline does.
        assert_eq!(VoicePlan::starting(10.0, 144_000, 0, 0, 10, 50).start(0), 0);
    }

    #[test]
    fn the_schedule_is_fixed_and_spread() {
        let batch = Duration::from_millis(600);
        let base = Instant::now();
        assert_eq!(next_due(base, batch, base), base);
        assert_eq!(
            next_due(base, batch, base + Duration::from_millis(601)),
            base + Duration::from_millis(1200)
        );
        assert_eq!(
            next_due(base, batch, base + Duration::from_millis(1200)),
            base + Duration::from_millis(1200)
        );
        let offsets: Vec<Duration> = (0..100).map(|i| stagger(i, batch)).collect();
        assert!(offsets.iter().all(|o| *o < batch));
        let mut sorted = offsets.clone();
        sorted.sort();
        let widest = sorted.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(
            widest < Duration::from_millis(20),
            "evenly spread: {widest:?}"
        );
    }

    #[test]
    fn mix_packets_are_late_after_their_play_out_deadline_and_gaps_are_missing() {
        let (delay, playout, f) = (144_000u64, 9_600u64, FRAME as u64);
        let mut t = MixTrack::default();
        let now = 10_000_000.0;
        t.begin(now, delay, playout);
        let from = t.from.unwrap();
        // Frames before the window do not count.
        assert_eq!(t.frame(from, 1, now, delay, playout), Ok(None));
        // Due at end + delay, arriving 5 ms after: on time, latency 240 samples.
        let e = from + f;
        assert_eq!(
            t.frame(e, 1, (e + delay + 240) as f64, delay, playout),
            Ok(Some(240.0))
        );
        // Arriving after its play-out (start + delay + playout): late.
        let e2 = e + f;
        let late_at = (e2 - f + delay + playout + 1) as f64;
        assert!(t.frame(e2, 1, late_at, delay, playout).unwrap().is_some());
        assert_eq!(t.counts.late, 1);
        // Two packets never came; then a frame of two packets.
        let e5 = e2 + 4 * f;
        t.frame(e5, 2, (e5 + delay) as f64, delay, playout).unwrap();
        assert_eq!(t.counts.missing, 2);
        assert_eq!(t.counts.packets, 4);
        assert_eq!(t.counts.frames, 3);
        // Going back is an error.
        assert_eq!(
            t.frame(e5 - f, 1, (e5 + delay) as f64, delay, playout),
            Err(Overlap)
        );
        // The window closes three packets' deadlines after the last arrival.
        t.finish((e5 + 3 * f - f + delay + playout) as f64, delay, playout);
        assert_eq!(t.counts.missing, 5);
        // Nothing counts afterwards.
        assert_eq!(t.frame(e5 + 10 * f, 1, 0.0, delay, playout), Ok(None));
        let counts = LateCounts {
            mix: t.counts,
            voice: VoiceCounts {
                frames: 1,
                packets: 10,
                late: 0,
                late_sends: 10,
            },
        };
        // (1 late + 5 missing + 10 sent late) of (4 + 5 + 10).
        assert!((counts.fraction() - 16.0 / 19.0).abs() < 1e-9);
        assert_eq!(LateCounts::default().fraction(), 0.0);
    }

    #[test]
    fn a_stalled_stream_is_missing_from_the_start_of_the_window() {
        let (delay, playout, f) = (432_000u64, 9_600u64, FRAME as u64);
        let mut t = MixTrack::default();
        t.begin(20_000_000.0, delay, playout);
        t.finish(20_000_000.0 + 48_000.0, delay, playout);
        assert!((16..=17).contains(&t.counts.missing), "{:?}", t.counts);
        let _ = f;
    }

    #[test]
    fn the_gain_rule_and_the_seats() {
        assert!((expected_level(0.25, 1, true, 1.0) - 0.5).abs() < 1e-12);
        assert!((expected_level(0.25, 4, true, 1.0) - 0.5 * 0.5f64.sqrt()).abs() < 1e-12);
        assert!((expected_level(0.25, 4, false, 1.5) - 0.75).abs() < 1e-12);
        let s = seats(7, 3, true);
        assert_eq!(s.len(), 8);
        assert_eq!(
            s.iter()
                .filter(|s| s.leads)
                .map(|s| s.room)
                .collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(s[6].room, 0);
        assert_eq!(s[7].part, Part::Listener);
        let names: std::collections::BTreeSet<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names.len(),
            8,
            "a name each (the server limits sockets per name)"
        );
    }

    #[test]
    fn encoded_voices_are_kept_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let packets = vec![vec![1u8, 2, 3], vec![], vec![9; 300]];
        let made = cached(Some(dir.path()), "v.opus", 3, || packets.clone());
        let again = cached(Some(dir.path()), "v.opus", 3, || {
            panic!("read from the cache")
        });
        assert_eq!(made, again);
        assert_eq!(again[2].len(), 300);
        // A file of another length is made again.
        let longer = cached(Some(dir.path()), "v.opus", 4, || vec![vec![0u8]; 4]);
        assert_eq!(longer.len(), 4);
        assert!(unpack(&[0, 5, 1]).is_none());
    }

    #[test]
    fn socket_addresses_carry_the_guest_token() {
        let base = Url::parse("http://127.0.0.1:8080/").unwrap();
        let made = socket_url(&base, "r1", None, "tok").unwrap();
        assert_eq!(
            made.as_str(),
            "ws://127.0.0.1:8080/choir/rooms/r1/socket?guest=tok"
        );
        let given =
            socket_url(&base, "r1", Some("/choir/rooms/r1/socket?guest=abc"), "tok").unwrap();
        assert_eq!(
            given.as_str(),
            "ws://127.0.0.1:8080/choir/rooms/r1/socket?guest=abc"
        );
        let absolute = socket_url(&base, "r1", Some("ws://h:1/x"), "t").unwrap();
        assert_eq!(absolute.as_str(), "ws://h:1/x?guest=t");
    }

    #[test]
    fn the_summary_is_one_json_object_with_the_benchmark_fields() {
        let summary = ChoirSummary {
            scenario: "choir",
            url: "http://x/".into(),
            singers: 10,
            singers_planned: 10,
            singers_streaming: 10,
            listeners: 1,
            rooms: 1,
            seconds: 30.0,
            warmup_s: 16.0,
            batch_ms: 600,
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            late_fraction: 0.0,
            late: LateCounts::default(),
            latency: Percentiles::default(),
            mix_frames: 0,
            send_lag_p99_ms: 0.0,
            up_bytes_per_s: 0.0,
            down_bytes_per_s: 0.0,
            up_kbps_per_singer: 0.0,
            down_kbps_per_participant: 0.0,
            min_margin_ms: None,
            lagging_reports: 0,
            pre_encode_s: 0.0,
            connect_s: 0.0,
            probe: Some(analyse(
                &args(&["--token", "t"]).unwrap(),
                &Ear::default(),
                None,
                Some(5),
            )),
            server_cpu_percent: Some(12.5),
            server_cpu_ms_per_singer_second: Some(1.0),
            server_rss_mib: None,
            server_threads: None,
            load_cpu_percent: None,
        };
        let line = serde_json::to_string(&summary).unwrap();
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        for key in [
            "singers",
            "errors",
            "late_fraction",
            "p99_ms",
            "probe",
            "server_cpu_percent",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {line}");
        }
        assert_eq!(v["probe"]["pass"], false);
        assert!(
            v["probe"]["reason"]
                .as_str()
                .unwrap()
                .contains("never sang")
        );
        assert!(v.get("server_rss_mib").is_none());
        assert!(summary.to_string().contains("probe: FAIL"));
    }

    #[test]
    fn the_probe_passes_on_a_mix_that_follows_the_rule_and_fails_on_silence() {
        let a = args(&["--token", "t"]).unwrap();
        let gate = a.gate();
        let lookahead = 2 * a.codec().encoder().lookahead() as u64;
        let mut ear = Ear::default();
        // Three voices before the probe's bucket, one beside it, one lagging.
        for (id, bucket, lagging) in [
            (1, 0, false),
            (2, 1, false),
            (3, 4, false),
            (4, 5, false),
            (5, 2, true),
        ] {
            ear.roster.insert(id, (true, bucket, lagging));
        }
        let level = expected_level(gate.level, 3, true, 1.0);
        let leader_start = 1_000_000u64;
        let start = leader_start + 7 * FRAME as u64;
        let pcm: Vec<f32> = (0..3 * gate.period)
            .map(|i| {
                let at = (start + i) as i64 - leader_start as i64 - lookahead as i64;
                if gate.on(at) {
                    (level * (std::f64::consts::TAU * gate.freq * i as f64 / RATE as f64).sin())
                        as f32
                } else {
                    0.0
                }
            })
            .collect();
        ear.pieces.push((start, pcm));
        let found = analyse(&a, &ear, Some(leader_start), Some(5));
        assert!(found.pass, "{found:?}");
        assert_eq!(found.voices, 3);
        assert!(
            (found.offset_ms - found.expected_offset_ms).abs() < 2.0,
            "{found:?}"
        );
        let mut silent = Ear::default();
        silent
            .pieces
            .push((start, vec![0.0; 3 * gate.period as usize]));
        let found = analyse(&a, &silent, Some(leader_start), Some(5));
        assert!(!found.pass, "{found:?}");
    }
}
