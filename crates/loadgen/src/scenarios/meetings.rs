//! `tutti-load meetings`: rooms of synthetic participants in the meetings studio, each a
//! WebRTC client on str0m (no browser) signalled over the meeting's WebSocket
//! (protocol v1).
//!
//! Per room, a member account (`--token`) creates an instant meeting that allows guests
//! and joins it as host; the other `--size - 1` participants ask for guest passes, wait in
//! the waiting room and are admitted by the host's client as soon as it hears of them
//! (`lobby`). Everyone offers one send-only Opus track and one send-only VP8 track,
//! answers the server's renegotiation offers (which add everyone else's tracks) and so
//! subscribes to everyone.
//!
//! Media: a voice-like signal Opus-encoded once (20 ms frames, `--audio-bitrate`) and
//! looped; video from an IVF file of VP8 (`--video`, see bench/meetings.sh) looped at its
//! frame rate, skipping to the next keyframe when the server asks for one; without
//! `--video`, VP8-shaped frames that are not decodable (the SFU never decodes).
//!
//! Measured over `--seconds` after `--warmup`, all in this one process: every frame sent
//! is remembered by (publisher, kind, RTP timestamp) with its send time; a frame received
//! is looked up there, which gives its one-way latency, and counts against the frames its
//! publisher sent in the window. Loss is 1 - received / expected over every
//! (subscriber, publisher, kind) among the participants that got in, so a track never
//! forwarded counts as lost; `forwarded_tracks` is how many of those delivered at least
//! one frame, of `expected_tracks` in full rooms (someone who never got in is an error).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use futures_util::{SinkExt as _, StreamExt as _};
use opus_pure::{Application, OpusEncoder};
use reqwest::{StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output as RtcOutput, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::clients::HttpUser;
use crate::run::{Output, parse_duration};
use crate::scenarios::choir::audio::VoiceParams;
use crate::stats::{Latencies, Percentiles, round3};
use crate::ws::{self, Socket};

const API: &str = "/api/v1";
/// Opus at 48 kHz, 20 ms a frame.
const AUDIO_FRAME: usize = 960;
const AUDIO_MS: u64 = 20;
/// Seconds of voice encoded and looped.
const VOICE_SECONDS: usize = 3;
/// How long a sent frame is remembered for the receivers to find.
const REMEMBER: Duration = Duration::from_secs(10);
/// After the window, frames sent in it still in flight get this long to arrive.
const GRACE: Duration = Duration::from_millis(700);
const AUDIO: u8 = 0;
const VIDEO: u8 = 1;

/// The options of `tutti-load meetings`.
#[derive(Debug, Clone, Args)]
pub struct MeetingsArgs {
    /// The server's address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: Url,
    /// Meetings to run at once.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Participants per meeting: one host and the rest guests.
    #[arg(long, default_value_t = 6)]
    pub size: usize,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Seconds between everyone having joined and the measurement (ICE, DTLS and the
    /// renegotiations that add the others' tracks).
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// A bearer token of an account with the `member` role, which creates and hosts the
    /// meetings (`tutti admin create-token`).
    #[arg(long, env = "TUTTI_LOAD_TOKEN", hide_env_values = true)]
    pub token: String,
    /// An IVF file of VP8 to send as everyone's camera, looped [default: VP8-shaped
    /// frames at 30 fps, not decodable].
    #[arg(long, value_name = "FILE")]
    pub video: Option<PathBuf>,
    /// The voice's Opus bitrate, bits per second.
    #[arg(long, default_value_t = 32_000)]
    pub audio_bitrate: i32,
    /// Participants joining at once.
    #[arg(long, default_value_t = 16)]
    pub connect_concurrency: usize,
    /// Distinct source addresses in 127.0.0.0/8 the participants connect from, shared in
    /// turn [default: one per participant; 0 for the system's choice].
    #[arg(long)]
    pub sources: Option<usize>,
    /// A request, a handshake or the waiting room not done in this time fails.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// The server's process id: its CPU over the window goes in the summary.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print JSON objects, one per line: the set-up, then the summary last.
    #[arg(long)]
    pub json: bool,
}

impl MeetingsArgs {
    /// Refuses options no run could use.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.rooms > 0, "--rooms must be at least 1");
        anyhow::ensure!(self.size >= 2, "--size must be at least 2");
        anyhow::ensure!(
            self.seconds > 0.0 && self.seconds.is_finite(),
            "--seconds must be above 0"
        );
        anyhow::ensure!(
            self.warmup >= 0.0 && self.warmup.is_finite(),
            "--warmup must be 0 or more"
        );
        Ok(())
    }
}

// --- media ----------------------------------------------------------------------------

/// One video frame to send.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    pub data: Vec<u8>,
    pub key: bool,
}

/// What every participant sends, made once.
#[derive(Debug)]
pub struct Media {
    pub audio: Vec<Vec<u8>>,
    pub video: Vec<VideoFrame>,
    /// Video frames a second.
    pub fps: f64,
}

impl Media {
    fn next_keyframe(&self, from: usize) -> usize {
        (0..self.video.len())
            .map(|i| (from + i) % self.video.len())
            .find(|&i| self.video[i].key)
            .unwrap_or(from % self.video.len())
    }

    fn bitrates_kbps(&self) -> (f64, f64) {
        let audio: usize = self.audio.iter().map(Vec::len).sum();
        let video: usize = self.video.iter().map(|f| f.data.len()).sum();
        let audio_s = self.audio.len() as f64 * AUDIO_MS as f64 / 1000.0;
        let video_s = self.video.len() as f64 / self.fps;
        (
            round3(audio as f64 * 8.0 / audio_s / 1000.0),
            round3(video as f64 * 8.0 / video_s / 1000.0),
        )
    }
}

/// The frames of an IVF file (32-byte header, then a 12-byte header before each frame)
/// and its frame rate; refuses anything but VP8.
pub fn parse_ivf(bytes: &[u8]) -> anyhow::Result<(Vec<VideoFrame>, f64)> {
    anyhow::ensure!(
        bytes.len() >= 32 && &bytes[..4] == b"DKIF",
        "not an IVF file"
    );
    anyhow::ensure!(&bytes[8..12] == b"VP80", "the IVF file is not VP8");
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let header_len = usize::from(u16::from_le_bytes([bytes[6], bytes[7]])).max(32);
    let (rate, scale) = (u32_at(16), u32_at(20));
    let fps = if rate > 0 && scale > 0 {
        f64::from(rate) / f64::from(scale)
    } else {
        30.0
    };
    // Files written with a millisecond timebase say 1000/1: the frame count and the
    // last timestamp tell the real rate then.
    let mut frames = Vec::new();
    let mut at = header_len;
    let mut last_pts = 0u64;
    while at + 12 <= bytes.len() {
        let len = u32_at(at) as usize;
        last_pts = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().expect("8 bytes"));
        let start = at + 12;
        anyhow::ensure!(start + len <= bytes.len(), "the IVF file is cut short");
        let data = bytes[start..start + len].to_vec();
        // VP8's frame tag: bit 0 of the first byte is 0 on a keyframe.
        let key = data.first().is_some_and(|b| b & 1 == 0);
        frames.push(VideoFrame { data, key });
        at = start + len;
    }
    anyhow::ensure!(!frames.is_empty(), "the IVF file has no frames");
    anyhow::ensure!(frames[0].key, "the IVF file does not start with a keyframe");
    let fps = if fps > 120.0 && last_pts > 0 && frames.len() > 1 {
        (frames.len() - 1) as f64 * fps / last_pts as f64
    } else {
        fps
    };
    Ok((frames, fps.clamp(1.0, 120.0)))
}

/// VP8-shaped frames (a keyframe every 3 s at 30 fps, ~300 kbit/s) for runs without an
/// IVF file: the SFU reads only the keyframe bit.
fn placeholder_video() -> Vec<VideoFrame> {
    (0..90)
        .map(|i| {
            let key = i == 0;
            let mut data = vec![if key { 0x10 } else { 0x11 }, 0, 0, 0x9d, 0x01, 0x2a];
            data.resize(if key { 6000 } else { 1100 }, 0x5a);
            VideoFrame { data, key }
        })
        .collect()
}

/// Three seconds of a sung vowel as 20 ms Opus frames.
fn encode_voice(bitrate: i32) -> Vec<Vec<u8>> {
    let pcm = VoiceParams::for_singer(0, 1000.0).synthesize(48_000 * VOICE_SECONDS);
    let mut encoder = OpusEncoder::new(48_000, 1, Application::Voip)
        .expect("a mono 48 kHz encoder is always possible");
    encoder.bitrate_bps = bitrate;
    let mut scratch = vec![0u8; 1500];
    pcm.chunks_exact(AUDIO_FRAME)
        .map(|block| {
            let len = encoder
                .encode(block, AUDIO_FRAME, &mut scratch)
                .expect("a 20 ms mono block encodes");
            scratch[..len].to_vec()
        })
        .collect()
}

fn load_media(args: &MeetingsArgs) -> anyhow::Result<Media> {
    let (video, fps) = match &args.video {
        Some(path) => read_ivf(path)?,
        None => (placeholder_video(), 30.0),
    };
    Ok(Media {
        audio: encode_voice(args.audio_bitrate),
        video,
        fps,
    })
}

fn read_ivf(path: &Path) -> anyhow::Result<(Vec<VideoFrame>, f64)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_ivf(&bytes).with_context(|| format!("reading {}", path.display()))
}

// --- what everyone shares -------------------------------------------------------------

/// A publisher: its room (the run's number) and its id there, which is the meeting's
/// own (every meeting numbers its participants from 1).
type Publisher = (usize, u64);

/// The frames one publisher sent on one track, by RTP timestamp.
#[derive(Debug, Default)]
struct SentTrack {
    at: HashMap<u32, Instant>,
    order: VecDeque<(u32, Instant)>,
    in_window: u64,
}

#[derive(Debug, Default)]
struct Ctx {
    /// The measurement's start and end, set once everyone is in and warmed up.
    window: OnceLock<(Instant, Instant)>,
    sent: Mutex<HashMap<(Publisher, u8), SentTrack>>,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Ctx {
    fn in_window(&self, t: Instant) -> bool {
        self.window.get().is_some_and(|(a, b)| t >= *a && t < *b)
    }

    fn error(&self, kind: impl Into<String>) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(kind.into()).or_default() += 1;
        }
    }

    fn sent(&self, publisher: Publisher, kind: u8, ts: u32, now: Instant) {
        let window = self.in_window(now);
        let Ok(mut sent) = self.sent.lock() else {
            return;
        };
        let track = sent.entry((publisher, kind)).or_default();
        while let Some(&(old, t)) = track.order.front() {
            if now.duration_since(t) < REMEMBER {
                break;
            }
            track.order.pop_front();
            track.at.remove(&old);
        }
        track.at.insert(ts, now);
        track.order.push_back((ts, now));
        if window {
            track.in_window += 1;
        }
    }

    fn sent_at(&self, publisher: Publisher, kind: u8, ts: u32) -> Option<Instant> {
        let sent = self.sent.lock().ok()?;
        sent.get(&(publisher, kind))?.at.get(&ts).copied()
    }

    fn sent_in_window(&self, publisher: Publisher, kind: u8) -> u64 {
        self.sent
            .lock()
            .ok()
            .and_then(|s| s.get(&(publisher, kind)).map(|t| t.in_window))
            .unwrap_or(0)
    }
}

/// What one participant received of frames sent in the window.
#[derive(Debug, Default)]
struct Received {
    frames: HashMap<(u64, u8), u64>,
    latency: [Latencies; 2],
    /// Frames whose (publisher, timestamp) no publisher sent: a mix-up, or a timestamp
    /// the server rewrote.
    unknown: u64,
    offers: u64,
    keyframe_requests: u64,
}

/// One participant as the run knows it once it is in.
struct Seat {
    id: u64,
    room: usize,
    connected: watch::Receiver<bool>,
    received: Arc<Mutex<Received>>,
}

// --- one participant ------------------------------------------------------------------

/// How a participant reaches its meeting's socket.
enum Entry {
    Host { token: String },
    Guest { pass: String },
}

struct Join {
    url: Url,
    source: Option<IpAddr>,
    entry: Entry,
}

/// Creates an instant meeting that lets guests in; returns its code.
async fn create_meeting(user: &HttpUser, token: &str, k: usize) -> anyhow::Result<String> {
    let response = user
        .client
        .post(user.url(&format!("{API}/meetings")))
        .bearer_auth(token)
        .header(header::ACCEPT, "application/json")
        .json(&json!({
            "title": format!("load meeting {k} ({})", std::process::id()),
            "guests_allowed": true,
        }))
        .send()
        .await
        .context("creating a meeting")?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    anyhow::ensure!(
        status == StatusCode::CREATED,
        "creating meeting {k} answered {status}: {text}"
    );
    let value: Value = serde_json::from_str(&text).context("the new meeting is not JSON")?;
    value["code"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("the new meeting has no code: {text}"))
}

/// A guest's socket address for meeting `code`.
async fn guest_pass(user: &HttpUser, code: &str, name: &str) -> Result<Url, String> {
    let response = user
        .client
        .post(user.url(&format!("{API}/meetings/join/{code}/guests")))
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, user.base.origin().ascii_serialization())
        .json(&json!({ "name": name }))
        .send()
        .await
        .map_err(|e| format!("guest-pass:{}", crate::clients::error_kind(&e)))?;
    let status = response.status();
    let value: Value = response
        .json()
        .await
        .map_err(|_| "guest-pass:body".to_string())?;
    if status != StatusCode::OK {
        return Err(format!("guest-pass:status {}", status.as_u16()));
    }
    let (Some(token), Some(path)) = (value["token"].as_str(), value["socket_url"].as_str()) else {
        return Err("guest-pass:shape".into());
    };
    let mut url = socket_url(&user.base, path);
    url.query_pairs_mut().append_pair("guest", token);
    Ok(url)
}

fn socket_url(base: &Url, path: &str) -> Url {
    let mut url = base.join(path).unwrap_or_else(|_| base.clone());
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let _ = url.set_scheme(scheme);
    url
}

async fn send_json(socket: &mut Socket, value: Value) -> Result<(), String> {
    socket
        .send(Message::text(value.to_string()))
        .await
        .map_err(|_| "socket-send".to_string())
}

/// Opens the socket and waits to be in (`welcome`), letting in whoever waits when this is
/// the host. Returns the socket and the participant's id.
async fn enter(join: &Join, origin: &str, timeout: Duration) -> Result<(Socket, u64), String> {
    let bearer = match &join.entry {
        Entry::Host { token } => Some(token.as_str()),
        Entry::Guest { .. } => None,
    };
    let url = match &join.entry {
        Entry::Host { .. } => join.url.clone(),
        Entry::Guest { pass } => Url::parse(pass).map_err(|_| "guest-url".to_string())?,
    };
    let mut socket = tokio::time::timeout(
        timeout,
        ws::connect_with(&url, join.source, None, bearer, origin),
    )
    .await
    .map_err(|_| "handshake:timeout".to_string())?
    .map_err(|e| {
        let text = format!("{e:#}");
        match text.find("HTTP error: ") {
            Some(at) => format!("handshake:{}", &text[at + 12..(at + 15).min(text.len())]),
            None => "handshake".to_string(),
        }
    })?;
    send_json(&mut socket, json!({"type": "hello", "version": 1})).await?;
    // Guests wait for the host, who may itself still be joining.
    let deadline = tokio::time::Instant::now() + timeout * 3;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| "welcome:timeout".to_string())?;
        let text = match message {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => return Err("welcome:closed".into()),
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Err("welcome:socket".into()),
        };
        let value: Value = serde_json::from_str(&text).map_err(|_| "welcome:json".to_string())?;
        match value["type"].as_str() {
            Some("welcome") => {
                let id = value["you"].as_u64().ok_or("welcome:shape")?;
                return Ok((socket, id));
            }
            Some("error") => {
                return Err(format!(
                    "protocol:{}",
                    value["code"].as_str().unwrap_or("?")
                ));
            }
            Some("removed") | Some("ended") => return Err("welcome:refused".into()),
            _ => {}
        }
    }
}

/// A participant's media loop: its WebRTC connection, its socket, what it sends.
struct Peer {
    id: u64,
    room: usize,
    host: bool,
    rtc: Rtc,
    udp: Arc<UdpSocket>,
    local: SocketAddr,
    socket: Socket,
    ctx: Arc<Ctx>,
    media: Arc<Media>,
    audio_mid: Mid,
    video_mid: Mid,
    pending: Option<SdpPendingOffer>,
    /// Which publisher each mid we receive carries, as `tracks` said.
    tracks: HashMap<String, u64>,
    received: Arc<Mutex<Received>>,
    connected: watch::Sender<bool>,
    keyframe_due: bool,
    video_at: usize,
}

impl Peer {
    async fn start(
        id: u64,
        room: usize,
        host: bool,
        mut socket: Socket,
        ctx: Arc<Ctx>,
        media: Arc<Media>,
    ) -> Result<(Peer, watch::Receiver<bool>, Arc<Mutex<Received>>), String> {
        let ip = socket
            .get_ref()
            .local_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let udp = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(|_| "udp-bind".to_string())?;
        let local = udp.local_addr().map_err(|_| "udp-bind".to_string())?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(Instant::now());
        let candidate = Candidate::host(local, "udp").map_err(|_| "candidate".to_string())?;
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let stream = format!("p{id}");
        let audio_mid = change.add_media(
            MediaKind::Audio,
            Direction::SendOnly,
            Some(stream.clone()),
            Some(format!("a{id}")),
            None,
        );
        let video_mid = change.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            Some(stream),
            Some(format!("v{id}")),
            None,
        );
        let (offer, pending) = change.apply().ok_or("offer")?;
        send_json(
            &mut socket,
            json!({"type": "offer", "sdp": offer.to_sdp_string()}),
        )
        .await?;
        let (connected, connected_rx) = watch::channel(false);
        let received = Arc::new(Mutex::new(Received::default()));
        let peer = Peer {
            id,
            room,
            host,
            rtc,
            udp: Arc::new(udp),
            local,
            socket,
            ctx,
            media,
            audio_mid,
            video_mid,
            pending: Some(pending),
            tracks: HashMap::new(),
            received: received.clone(),
            connected,
            keyframe_due: false,
            video_at: 0,
        };
        Ok((peer, connected_rx, received))
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut audio = tokio::time::interval(Duration::from_millis(AUDIO_MS));
        audio.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut video = tokio::time::interval(Duration::from_secs_f64(1.0 / self.media.fps));
        video.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let started = Instant::now();
        let mut buf = vec![0u8; 2048];
        let udp = self.udp.clone();
        let (mut audio_n, mut video_n) = (0u64, 0u64);
        loop {
            let timeout = self.pump();
            if !self.rtc.is_alive() {
                self.ctx.error("webrtc:closed");
                return;
            }
            tokio::select! {
                _ = stop.changed() => {
                    let _ = self.socket.close(None).await;
                    return;
                }
                received = udp.recv_from(&mut buf) => {
                    if let Ok((n, from)) = received
                        && let Ok(contents) = buf[..n].try_into()
                    {
                        let input = Input::Receive(Instant::now(), Receive {
                            proto: Protocol::Udp,
                            source: from,
                            destination: self.local,
                            contents,
                        });
                        let _ = self.rtc.handle_input(input);
                    }
                }
                message = self.socket.next() => {
                    if !self.on_message(message).await {
                        return;
                    }
                }
                _ = audio.tick() => {
                    self.send_audio(audio_n);
                    audio_n += 1;
                }
                _ = video.tick() => {
                    // The timeline follows the clock, so a skipped tick is a gap, not a
                    // squeeze.
                    let k = (started.elapsed().as_secs_f64() * self.media.fps) as u64;
                    video_n = video_n.max(k);
                    self.send_video(video_n);
                    video_n += 1;
                }
                _ = tokio::time::sleep_until(timeout.into()) => {
                    let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
                }
            }
        }
    }

    /// Handles one socket message; false when the socket is gone.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> bool {
        let text = match message {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => {
                self.ctx.error("socket:closed");
                return false;
            }
            Some(Ok(_)) => return true,
            Some(Err(_)) => {
                self.ctx.error("socket:error");
                return false;
            }
        };
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            self.ctx.error("protocol:json");
            return true;
        };
        match value["type"].as_str() {
            Some("answer") => {
                let sdp = value["sdp"].as_str().unwrap_or_default();
                match (self.pending.take(), SdpAnswer::from_sdp_string(sdp)) {
                    (Some(pending), Ok(answer)) => {
                        if self.rtc.sdp_api().accept_answer(pending, answer).is_err() {
                            self.ctx.error("sdp:answer");
                        }
                    }
                    _ => self.ctx.error("sdp:answer"),
                }
            }
            Some("offer") => {
                let sdp = value["sdp"].as_str().unwrap_or_default();
                let answer = SdpOffer::from_sdp_string(sdp)
                    .ok()
                    .and_then(|offer| self.rtc.sdp_api().accept_offer(offer).ok());
                match answer {
                    Some(answer) => {
                        self.with_received(|r| r.offers += 1);
                        let answer = json!({"type": "answer", "sdp": answer.to_sdp_string()});
                        if let Err(kind) = send_json(&mut self.socket, answer).await {
                            self.ctx.error(kind);
                            return false;
                        }
                    }
                    None => self.ctx.error("sdp:offer"),
                }
            }
            Some("tracks") => {
                self.tracks = value["tracks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| {
                        Some((t["mid"].as_str()?.to_string(), t["participant"].as_u64()?))
                    })
                    .collect();
            }
            Some("lobby") if self.host => {
                let waiting = value["waiting"].as_array().is_some_and(|w| !w.is_empty());
                if waiting
                    && let Err(kind) = send_json(&mut self.socket, json!({"type": "admit"})).await
                {
                    self.ctx.error(kind);
                    return false;
                }
            }
            Some("error") => {
                let code = value["code"].as_str().unwrap_or("?");
                self.ctx.error(format!("protocol:{code}"));
            }
            Some("removed") | Some("ended") => {
                self.ctx.error("protocol:removed");
                return false;
            }
            _ => {}
        }
        true
    }

    fn with_received(&self, f: impl FnOnce(&mut Received)) {
        if let Ok(mut r) = self.received.lock() {
            f(&mut r);
        }
    }

    /// Drains the `Rtc`, sending what it wants sent; returns when it next wants the time.
    fn pump(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(RtcOutput::Timeout(t)) => return t,
                Ok(RtcOutput::Transmit(t)) => {
                    // A full socket buffer drops the packet, as a network would.
                    let _ = self.udp.try_send_to(&t.contents, t.destination);
                }
                Ok(RtcOutput::Event(e)) => self.on_event(e),
                Err(_) => {
                    self.ctx.error("webrtc:error");
                    self.rtc.disconnect();
                    return Instant::now();
                }
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                let _ = self.connected.send(true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.ctx.error("webrtc:disconnected");
            }
            Event::KeyframeRequest(_) => {
                self.keyframe_due = true;
                self.with_received(|r| r.keyframe_requests += 1);
            }
            Event::MediaData(data) => {
                let now = Instant::now();
                let Some(&publisher) = self.tracks.get(&data.mid.to_string()) else {
                    self.with_received(|r| r.unknown += 1);
                    return;
                };
                let kind = match self.rtc.media(data.mid).map(|m| m.kind()) {
                    Some(MediaKind::Audio) => AUDIO,
                    Some(MediaKind::Video) => VIDEO,
                    None => return,
                };
                let ts = data.time.numer() as u32;
                let sent = self.ctx.sent_at((self.room, publisher), kind, ts);
                let ctx = self.ctx.clone();
                self.with_received(|r| match sent {
                    Some(at) if ctx.in_window(at) => {
                        *r.frames.entry((publisher, kind)).or_default() += 1;
                        r.latency[usize::from(kind)].record(now.saturating_duration_since(at));
                    }
                    Some(_) => {}
                    None => r.unknown += 1,
                });
            }
            _ => {}
        }
    }

    fn payload_type(&mut self, mid: Mid, codec: Codec) -> Option<str0m::format::PayloadParams> {
        let writer = self.rtc.writer(mid)?;
        writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .cloned()
    }

    fn send_audio(&mut self, n: u64) {
        let Some(params) = self.payload_type(self.audio_mid, Codec::Opus) else {
            return;
        };
        let data = self.media.audio[n as usize % self.media.audio.len()].clone();
        let ts = n * AUDIO_FRAME as u64;
        let now = Instant::now();
        let Some(writer) = self.rtc.writer(self.audio_mid) else {
            return;
        };
        let time = MediaTime::new(ts, Frequency::FORTY_EIGHT_KHZ);
        if writer
            .audio_level(-20, true)
            .write(params.pt(), now, time, data)
            .is_ok()
        {
            self.ctx.sent((self.room, self.id), AUDIO, ts as u32, now);
        }
    }

    fn send_video(&mut self, n: u64) {
        let Some(params) = self.payload_type(self.video_mid, Codec::Vp8) else {
            return;
        };
        if std::mem::take(&mut self.keyframe_due) {
            self.video_at = self.media.next_keyframe(self.video_at);
        }
        let frame = &self.media.video[self.video_at % self.media.video.len()];
        self.video_at = (self.video_at + 1) % self.media.video.len();
        let ts = (n as f64 * 90_000.0 / self.media.fps) as u64;
        let now = Instant::now();
        let data = frame.data.clone();
        let Some(writer) = self.rtc.writer(self.video_mid) else {
            return;
        };
        let time = MediaTime::new(ts, Frequency::NINETY_KHZ);
        if writer.write(params.pt(), now, time, data).is_ok() {
            self.ctx.sent((self.room, self.id), VIDEO, ts as u32, now);
        }
    }
}

// --- the run --------------------------------------------------------------------------

/// What a run measured: the summary, last line of `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingsSummary {
    pub scenario: &'static str,
    pub rooms: usize,
    pub size: usize,
    /// Participants that got in (`welcome`).
    pub participants: usize,
    /// Participants whose WebRTC connection came up.
    pub connected: usize,
    /// (subscriber, publisher, kind) in the rooms, and of those the ones that delivered
    /// at least one frame sent in the window.
    pub expected_tracks: usize,
    pub forwarded_tracks: usize,
    pub frames_expected: u64,
    pub frames_received: u64,
    /// 1 - received / expected, over every track between participants that got in (the
    /// others show in `errors` and as tracks not forwarded).
    pub loss: f64,
    pub audio_loss: f64,
    pub video_loss: f64,
    /// One-way latency (send to receive, through the server), audio and video together.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub audio_latency: Percentiles,
    pub video_latency: Percentiles,
    /// Frames received whose sender or timestamp no participant knew.
    pub unknown_frames: u64,
    pub offers: u64,
    pub keyframe_requests: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub seconds: f64,
    pub audio_kbps: f64,
    pub video_kbps: f64,
    pub setup_s: f64,
    /// The server's CPU over the window (with --server-pid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_percent: Option<f64>,
    /// Server CPU milliseconds per forwarded track per second: what a track costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_ms_per_track_second: Option<f64>,
    /// This generator's CPU over the window, percent of one core.
    pub load_cpu_percent: Option<f64>,
}

impl fmt::Display for MeetingsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "meetings: {} rooms of {}, {} in, {} connected, over {} s",
            self.rooms, self.size, self.participants, self.connected, self.seconds
        )?;
        writeln!(
            f,
            "  forwarded tracks {} of {}; frames {} of {} (loss {:.4}%, audio {:.4}%, video {:.4}%)",
            self.forwarded_tracks,
            self.expected_tracks,
            self.frames_received,
            self.frames_expected,
            self.loss * 100.0,
            self.audio_loss * 100.0,
            self.video_loss * 100.0
        )?;
        writeln!(f, "  audio latency: {}", self.audio_latency)?;
        writeln!(f, "  video latency: {}", self.video_latency)?;
        if let Some(cpu) = self.server_cpu_percent {
            writeln!(
                f,
                "  server CPU {cpu}% of a core, {} ms per forwarded track-second",
                self.server_cpu_ms_per_track_second.unwrap_or(0.0)
            )?;
        }
        write!(
            f,
            "  errors {} {:?}; offers {}, keyframe requests {}, unknown frames {}",
            self.errors,
            self.errors_by_kind,
            self.offers,
            self.keyframe_requests,
            self.unknown_frames
        )
    }
}

/// How the rooms filled.
#[derive(Debug, Clone, Serialize)]
struct SetupSummary {
    rooms: usize,
    participants: usize,
    joined: usize,
    setup_s: f64,
    audio_kbps: f64,
    video_kbps: f64,
    video_frames: usize,
    fps: f64,
}

impl fmt::Display for SetupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} participants in {} rooms after {} s (audio {} kbit/s, video {} kbit/s at {} fps)",
            self.joined,
            self.participants,
            self.rooms,
            self.setup_s,
            self.audio_kbps,
            self.video_kbps,
            self.fps
        )
    }
}

fn ratio_loss(received: u64, expected: u64) -> f64 {
    if expected == 0 {
        return 0.0;
    }
    (1.0 - received as f64 / expected as f64).max(0.0)
}

pub async fn run(args: MeetingsArgs) -> anyhow::Result<MeetingsSummary> {
    args.check()?;
    let out = Output { json: args.json };
    let media = Arc::new(load_media(&args)?);
    let ctx = Arc::new(Ctx::default());
    let total = args.rooms * args.size;
    let sources = crate::sources::assign(&args.url, total, args.sources);
    let origin = args.url.origin().ascii_serialization();
    let setup_started = Instant::now();
    eprintln!("{} meetings of {} at {}…", args.rooms, args.size, args.url);

    let creator = HttpUser::new(&args.url, sources[0], args.timeout)?;
    let mut codes = Vec::new();
    for k in 0..args.rooms {
        codes.push(create_meeting(&creator, &args.token, k).await?);
    }

    // Hosts first, so that guests find someone to admit them.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (seat_tx, mut seat_rx) = mpsc::unbounded_channel::<Seat>();
    let mut tasks = Vec::new();
    let order: Vec<(usize, usize)> = (0..args.size)
        .flat_map(|i| (0..args.rooms).map(move |room| (room, i)))
        .collect();
    let gate = Arc::new(tokio::sync::Semaphore::new(args.connect_concurrency.max(1)));
    for (n, (room, i)) in order.into_iter().enumerate() {
        let source = sources[n];
        let user = HttpUser::new(&args.url, source, args.timeout)?;
        let code = codes[room].clone();
        let token = args.token.clone();
        let (ctx, media, origin) = (ctx.clone(), media.clone(), origin.clone());
        let (seat_tx, stop) = (seat_tx.clone(), stop_rx.clone());
        let timeout = args.timeout;
        let permit = gate.clone().acquire_owned().await?;
        if i == 0 {
            // A host's socket must be up before its guests queue.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tasks.push(tokio::spawn(async move {
            let entry = if i == 0 {
                Entry::Host { token }
            } else {
                match guest_pass(&user, &code, &format!("Guest {room}-{i}")).await {
                    Ok(url) => Entry::Guest {
                        pass: url.to_string(),
                    },
                    Err(kind) => {
                        ctx.error(kind);
                        return;
                    }
                }
            };
            let join = Join {
                url: socket_url(&user.base, &format!("/meetings/join/{code}/socket")),
                source,
                entry,
            };
            let entered = enter(&join, &origin, timeout).await;
            drop(permit);
            let (socket, id) = match entered {
                Ok(x) => x,
                Err(kind) => {
                    ctx.error(kind);
                    return;
                }
            };
            let (peer, connected, received) =
                match Peer::start(id, room, i == 0, socket, ctx.clone(), media).await {
                    Ok(x) => x,
                    Err(kind) => {
                        ctx.error(kind);
                        return;
                    }
                };
            let _ = seat_tx.send(Seat {
                id,
                room,
                connected,
                received,
            });
            // The run counts seats until every sender is gone.
            drop(seat_tx);
            peer.run(stop).await;
        }));
    }
    drop(seat_tx);

    // Everyone in (or failed), then connected (or given up on).
    let mut seats = Vec::new();
    while let Some(seat) = seat_rx.recv().await {
        seats.push(seat);
    }
    let connect_deadline = tokio::time::Instant::now() + args.timeout;
    for seat in &mut seats {
        let _ = tokio::time::timeout_at(connect_deadline, seat.connected.wait_for(|c| *c)).await;
    }
    let setup_s = round3(setup_started.elapsed().as_secs_f64());
    let (audio_kbps, video_kbps) = media.bitrates_kbps();
    out.print(
        "setup",
        &SetupSummary {
            rooms: args.rooms,
            participants: total,
            joined: seats.len(),
            setup_s,
            audio_kbps,
            video_kbps,
            video_frames: media.video.len(),
            fps: round3(media.fps),
        },
    );

    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds);
    ctx.window.set((start, end)).ok();
    let server_pid = args.server_pid.map(|p| p.to_string());
    let cpu_at = |pid: &str| crate::scenarios::choir::process_cpu(pid);
    let server_before = server_pid.as_deref().and_then(cpu_at);
    let load_before = cpu_at("self");
    tokio::time::sleep_until(end.into()).await;
    let server_after = server_pid.as_deref().and_then(cpu_at);
    let load_after = cpu_at("self");
    tokio::time::sleep(GRACE).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }

    // Everything measured, track by track.
    let mut by_room: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for seat in &seats {
        by_room.entry(seat.room).or_default().push(seat.id);
    }
    let mut latency = [Latencies::default(), Latencies::default()];
    let (mut expected, mut received_sum) = ([0u64; 2], [0u64; 2]);
    let (mut expected_tracks, mut forwarded_tracks) = (0, 0);
    let (mut unknown, mut offers, mut keyframe_requests) = (0, 0, 0);
    for seat in &seats {
        let r = seat
            .received
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        for kind in [AUDIO, VIDEO] {
            latency[usize::from(kind)].add(&r.latency[usize::from(kind)]);
            for &publisher in &by_room[&seat.room] {
                if publisher == seat.id {
                    continue;
                }
                expected_tracks += 1;
                expected[usize::from(kind)] += ctx.sent_in_window((seat.room, publisher), kind);
                let got = r.frames.get(&(publisher, kind)).copied().unwrap_or(0);
                received_sum[usize::from(kind)] += got;
                if got > 0 {
                    forwarded_tracks += 1;
                }
            }
        }
        unknown += r.unknown;
        offers += r.offers;
        keyframe_requests += r.keyframe_requests;
    }
    let connected = seats.iter().filter(|s| *s.connected.borrow()).count();
    let mut all = latency[0].clone();
    all.add(&latency[1]);
    let overall = all.percentiles();
    let errors_by_kind = ctx.errors.lock().map(|e| e.clone()).unwrap_or_default();
    let window_s = args.seconds;
    let server_cpu_s = server_before.zip(server_after).map(|(a, b)| round3(b - a));
    let summary = MeetingsSummary {
        scenario: "meetings",
        rooms: args.rooms,
        size: args.size,
        participants: seats.len(),
        connected,
        // Every pair in a full room, whether or not both got in.
        expected_tracks: expected_tracks.max(args.rooms * args.size * (args.size - 1) * 2),
        forwarded_tracks,
        frames_expected: expected.iter().sum(),
        frames_received: received_sum.iter().sum(),
        loss: round6(ratio_loss(received_sum.iter().sum(), expected.iter().sum())),
        audio_loss: round6(ratio_loss(received_sum[0], expected[0])),
        video_loss: round6(ratio_loss(received_sum[1], expected[1])),
        p50_ms: overall.p50_ms,
        p99_ms: overall.p99_ms,
        max_ms: overall.max_ms,
        audio_latency: latency[0].percentiles(),
        video_latency: latency[1].percentiles(),
        unknown_frames: unknown,
        offers,
        keyframe_requests,
        errors: errors_by_kind.values().sum(),
        errors_by_kind,
        seconds: window_s,
        audio_kbps,
        video_kbps,
        setup_s,
        server_cpu_s,
        server_cpu_percent: server_cpu_s.map(|s| round3(s / window_s * 100.0)),
        server_cpu_ms_per_track_second: server_cpu_s
            .filter(|_| forwarded_tracks > 0)
            .map(|s| round6(s * 1000.0 / (forwarded_tracks as f64 * window_s))),
        load_cpu_percent: load_before
            .zip(load_after)
            .map(|(a, b)| round3((b - a) / window_s * 100.0)),
    };
    out.print("summary", &summary);
    Ok(summary)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: MeetingsArgs,
    }

    fn ivf(frames: &[&[u8]], rate: u32, scale: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"DKIF");
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(b"VP80");
        b.extend_from_slice(&320u16.to_le_bytes());
        b.extend_from_slice(&240u16.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&scale.to_le_bytes());
        b.extend_from_slice(&(frames.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            b.extend_from_slice(&(f.len() as u32).to_le_bytes());
            b.extend_from_slice(&(i as u64).to_le_bytes());
            b.extend_from_slice(f);
        }
        b
    }

    #[test]
    fn ivf_frames_their_keyframes_and_rate_are_read() {
        let file = ivf(&[&[0x10, 1, 2], &[0x11, 3], &[0x11], &[0x30, 9]], 30, 1);
        let (frames, fps) = parse_ivf(&file).unwrap();
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[0].data, [0x10, 1, 2]);
        assert_eq!(
            frames.iter().map(|f| f.key).collect::<Vec<_>>(),
            [true, false, false, true]
        );
        assert_eq!(fps, 30.0);
        let media = Media {
            audio: vec![vec![0; 80]],
            video: frames,
            fps,
        };
        assert_eq!(media.next_keyframe(1), 3);
        assert_eq!(media.next_keyframe(3), 3);

        let mut cut = file.clone();
        cut.truncate(cut.len() - 1);
        assert!(parse_ivf(&cut).is_err());
        let mut vp9 = file.clone();
        vp9[8..12].copy_from_slice(b"VP90");
        assert!(parse_ivf(&vp9).is_err());
        assert!(
            parse_ivf(&ivf(&[&[0x11]], 30, 1)).is_err(),
            "no keyframe first"
        );
    }

    #[test]
    fn the_voice_is_opus_at_about_its_bitrate() {
        let voice = encode_voice(32_000);
        assert_eq!(voice.len(), VOICE_SECONDS * 50);
        let media = Media {
            audio: voice,
            video: placeholder_video(),
            fps: 30.0,
        };
        let (audio, video) = media.bitrates_kbps();
        assert!((16.0..48.0).contains(&audio), "{audio} kbit/s");
        assert!((200.0..400.0).contains(&video), "{video} kbit/s");
    }

    #[test]
    fn frames_sent_are_found_by_timestamp_and_counted_in_the_window() {
        let ctx = Ctx::default();
        let t0 = Instant::now();
        ctx.sent((0, 7), AUDIO, 960, t0);
        ctx.window
            .set((t0 + Duration::from_millis(1), t0 + Duration::from_secs(1)))
            .unwrap();
        ctx.sent((0, 7), AUDIO, 1920, t0 + Duration::from_millis(20));
        ctx.sent((0, 7), AUDIO, 2880, t0 + Duration::from_secs(2));
        assert_eq!(ctx.sent_at((0, 7), AUDIO, 960), Some(t0));
        assert_eq!(ctx.sent_at((0, 7), VIDEO, 960), None);
        assert_eq!(ctx.sent_in_window((0, 7), AUDIO), 1);
        assert_eq!(ctx.sent_in_window((1, 7), AUDIO), 0, "another room's 7");
        ctx.sent((0, 7), AUDIO, 3840, t0 + REMEMBER + Duration::from_secs(1));
        assert_eq!(
            ctx.sent_at((0, 7), AUDIO, 960),
            None,
            "forgotten after a while"
        );
        assert!((ratio_loss(99, 100) - 0.01).abs() < 1e-9);
        assert_eq!(ratio_loss(0, 0), 0.0);
    }

    #[test]
    fn options_are_checked() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["x", "--token", "t"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|c| c.args)
        };
        let a = parse(&[]).unwrap();
        assert_eq!((a.rooms, a.size), (1, 6));
        a.check().unwrap();
        assert!(parse(&["--size", "1"]).unwrap().check().is_err());
        assert!(parse(&["--rooms", "0"]).unwrap().check().is_err());
        assert!(parse(&["--seconds", "0"]).unwrap().check().is_err());
        assert!(Cli::try_parse_from(["x"]).is_err(), "a token is needed");
    }
}
