//! A synthetic participant on str0m (the `client` feature): it publishes Opus-shaped
//! audio and VP8-shaped video (optionally as two simulcast layers) and counts what it
//! receives from whom. The tests use it to prove forwarding, and `tutti-load meetings`
//! can drive rooms with it.
//!
//! Every frame carries a tag (`T`, the publisher's id, the layer) at byte 6, so a
//! receiver can tell whose frame it got and from which layer without decoding. The
//! bytes are not decodable media; the SFU never looks inside them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{ParticipantId, SfuError, SfuEvent, SfuEvents, SfuHandle};

/// How a synthetic participant connects and what it sends.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// ICE over TCP (RFC 4571) instead of UDP.
    pub tcp: bool,
    /// Send video as two simulcast layers, rids `h` and `l`.
    pub simulcast: bool,
    /// The RFC 6464 level put on audio packets (dBov, 0 loudest).
    pub audio_level: i8,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tcp: false,
            simulcast: true,
            audio_level: -30,
        }
    }
}

/// Layer tags in the frames: no simulcast, `h`, `l`.
pub const LAYER_NONE: u8 = 0;
pub const LAYER_HIGH: u8 = 1;
pub const LAYER_LOW: u8 = 2;

/// What a synthetic participant has seen.
#[derive(Debug, Clone, Default)]
pub struct ClientStats {
    pub connected: bool,
    /// Audio frames received, by publisher.
    pub audio: HashMap<ParticipantId, u64>,
    /// Video frames received, by publisher and layer tag.
    pub video: HashMap<(ParticipantId, u8), u64>,
    /// Frames whose tag names another publisher than the SFU said the track carries.
    pub misrouted: u64,
    /// Renegotiation offers received from the SFU.
    pub offers: u64,
    /// Keyframe requests received from the SFU.
    pub keyframe_requests: u64,
    /// The SFU's last word on whether this participant is speaking.
    pub speaking: bool,
    /// ICE restarts the SFU answered.
    pub ice_restarts: u64,
}

impl ClientStats {
    pub fn audio_from(&self, publisher: ParticipantId) -> u64 {
        self.audio.get(&publisher).copied().unwrap_or(0)
    }

    /// Video frames from `publisher`, any layer.
    pub fn video_from(&self, publisher: ParticipantId) -> u64 {
        self.video
            .iter()
            .filter(|((p, _), _)| *p == publisher)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn video_layer(&self, publisher: ParticipantId, layer: u8) -> u64 {
        self.video.get(&(publisher, layer)).copied().unwrap_or(0)
    }
}

/// A running synthetic participant.
pub struct TestClient {
    pub id: ParticipantId,
    stats: Arc<Mutex<ClientStats>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    restart: mpsc::UnboundedSender<()>,
}

enum Link {
    Udp(Arc<UdpSocket>),
    Tcp(OwnedWriteHalf),
}

impl TestClient {
    /// Joins `room` as `id`, offers one audio and one video track and starts sending.
    pub async fn join(
        sfu: &SfuHandle,
        room: &str,
        id: ParticipantId,
        options: ClientOptions,
    ) -> Result<TestClient, SfuError> {
        let events = sfu.join(room, id).await?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        let (inbound_tx, inbound) = mpsc::channel::<(SocketAddr, SocketAddr, Vec<u8>)>(1024);
        let link = if options.tcp {
            let mut server = sfu.addrs().tcp;
            if server.ip().is_unspecified() {
                server.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            let stream = TcpStream::connect(server).await?;
            let local = stream.local_addr()?;
            let (mut reader, writer) = stream.into_split();
            tokio::spawn(async move {
                loop {
                    let mut len = [0u8; 2];
                    if reader.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut data = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if reader.read_exact(&mut data).await.is_err()
                        || inbound_tx.send((server, local, data)).await.is_err()
                    {
                        return;
                    }
                }
            });
            let c = Candidate::builder()
                .tcp()
                .host(local)
                .tcptype(TcpType::Active)
                .build()
                .map_err(|e| SfuError::BadCandidate(e.to_string()))?;
            rtc.add_local_candidate(c);
            Link::Tcp(writer)
        } else {
            let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
            let local = socket.local_addr()?;
            let reader = socket.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 2048];
                while let Ok((n, from)) = reader.recv_from(&mut buf).await {
                    if inbound_tx
                        .send((from, local, buf[..n].to_vec()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            let c =
                Candidate::host(local, "udp").map_err(|e| SfuError::BadCandidate(e.to_string()))?;
            rtc.add_local_candidate(c);
            Link::Udp(socket)
        };
        let mut change = rtc.sdp_api();
        let stream = format!("s{id}");
        let audio = change.add_media(
            MediaKind::Audio,
            Direction::SendOnly,
            Some(stream.clone()),
            Some(format!("a{id}")),
            None,
        );
        let simulcast = options.simulcast.then(|| {
            let mut s = Simulcast::new();
            s.add_send_layer(SimulcastLayer::new("h"));
            s.add_send_layer(SimulcastLayer::new("l"));
            s
        });
        let video = change.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            Some(stream),
            Some(format!("v{id}")),
            simulcast,
        );
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| SfuError::Refused("nothing to offer".into()))?;
        let answer = sfu.offer(id, offer.to_sdp_string()).await?;
        let answer =
            SdpAnswer::from_sdp_string(&answer).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| SfuError::Refused(e.to_string()))?;
        let stats = Arc::new(Mutex::new(ClientStats::default()));
        let (stop, stopped) = oneshot::channel();
        let (restart, restarts) = mpsc::unbounded_channel();
        let runner = Runner {
            id,
            sfu: sfu.clone(),
            rtc,
            link,
            options,
            audio,
            video,
            stats: stats.clone(),
            tracks: HashMap::new(),
            keyframe_due: true,
            outbox: Vec::new(),
        };
        let task = tokio::spawn(runner.run(events, inbound, stopped, restarts));
        Ok(TestClient {
            id,
            stats,
            stop: Some(stop),
            task: Some(task),
            restart,
        })
    }

    pub fn stats(&self) -> ClientStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Re-offers with new ICE credentials, as a browser does when its network changes.
    pub fn restart_ice(&self) {
        let _ = self.restart.send(());
    }

    /// Waits until `what` holds of the stats, for at most `limit`; false if it never did.
    pub async fn wait_for(&self, limit: Duration, what: impl Fn(&ClientStats) -> bool) -> bool {
        let end = Instant::now() + limit;
        loop {
            if what(&self.stats()) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops sending and closes the connection (the SFU notices by itself only on
    /// timeout; call [`SfuHandle::leave`] too).
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct Runner {
    id: ParticipantId,
    sfu: SfuHandle,
    rtc: Rtc,
    link: Link,
    options: ClientOptions,
    audio: Mid,
    video: Mid,
    stats: Arc<Mutex<ClientStats>>,
    /// Which publisher each of our receiving mids carries, as the SFU said.
    tracks: HashMap<Mid, ParticipantId>,
    keyframe_due: bool,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
}

impl Runner {
    async fn run(
        mut self,
        mut events: SfuEvents,
        mut inbound: mpsc::Receiver<(SocketAddr, SocketAddr, Vec<u8>)>,
        mut stopped: oneshot::Receiver<()>,
        mut restarts: mpsc::UnboundedReceiver<()>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut n: u64 = 0;
        loop {
            let timeout = self.pump();
            if !self.flush().await || !self.rtc.is_alive() {
                return;
            }
            tokio::select! {
                _ = &mut stopped => return,
                Some((from, to, data)) = inbound.recv() => {
                    let proto = if self.options.tcp { Protocol::Tcp } else { Protocol::Udp };
                    if let Ok(contents) = data.as_slice().try_into() {
                        let input = Input::Receive(Instant::now(), Receive { proto, source: from, destination: to, contents });
                        let _ = self.rtc.handle_input(input);
                    }
                }
                event = events.recv() => match event {
                    Some(SfuEvent::SdpOffer { sdp, tracks }) => {
                        if let Some(answer) = self.accept(&sdp, &tracks) {
                            let _ = self.sfu.answer(self.id, answer).await;
                        }
                    }
                    Some(SfuEvent::Connected) => self.with_stats(|s| s.connected = true),
                    Some(SfuEvent::Speaking { speaking, .. }) => self.with_stats(|s| s.speaking = speaking),
                    Some(_) => {}
                    None => return,
                },
                Some(()) = restarts.recv() => {
                    if self.restart_ice().await {
                        self.with_stats(|s| s.ice_restarts += 1);
                    }
                }
                _ = tick.tick() => {
                    n += 1;
                    self.send_audio(n);
                    if n.is_multiple_of(2) {
                        self.pump();
                        self.send_video(n / 2);
                    }
                }
                _ = tokio::time::sleep_until(timeout.into()) => {
                    let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
                }
            }
        }
    }

    async fn restart_ice(&mut self) -> bool {
        let mut change = self.rtc.sdp_api();
        change.ice_restart(true);
        let Some((offer, pending)) = change.apply() else {
            return false;
        };
        self.pump();
        let Ok(answer) = self.sfu.offer(self.id, offer.to_sdp_string()).await else {
            return false;
        };
        let Ok(answer) = SdpAnswer::from_sdp_string(&answer) else {
            return false;
        };
        self.rtc.sdp_api().accept_answer(pending, answer).is_ok()
    }

    fn with_stats(&self, f: impl FnOnce(&mut ClientStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    fn accept(&mut self, sdp: &str, tracks: &[super::ForwardedTrack]) -> Option<String> {
        let offer = SdpOffer::from_sdp_string(sdp).ok()?;
        let answer = self.rtc.sdp_api().accept_offer(offer).ok()?;
        self.tracks = tracks
            .iter()
            .map(|t| (Mid::from(t.mid.as_str()), t.publisher))
            .collect();
        self.with_stats(|s| s.offers += 1);
        Some(answer.to_sdp_string())
    }

    /// Drains the `Rtc`; returns when it next wants the time.
    fn pump(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return t,
                Ok(Output::Transmit(t)) => self.outbox.push((t.destination, t.contents.to_vec())),
                Ok(Output::Event(e)) => self.on_event(e),
                Err(_) => {
                    self.rtc.disconnect();
                    return Instant::now();
                }
            }
        }
    }

    async fn flush(&mut self) -> bool {
        for (to, data) in self.outbox.drain(..) {
            match &mut self.link {
                Link::Udp(socket) => {
                    let _ = socket.try_send_to(&data, to);
                }
                Link::Tcp(writer) => {
                    let Ok(len) = u16::try_from(data.len()) else {
                        continue;
                    };
                    if writer.write_all(&len.to_be_bytes()).await.is_err()
                        || writer.write_all(&data).await.is_err()
                    {
                        return false;
                    }
                }
            }
        }
        true
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::MediaData(d) => {
                let Some(tag) = d.data.get(6..16) else {
                    return;
                };
                if tag[0] != b'T' {
                    return;
                }
                let mut id = [0u8; 8];
                id.copy_from_slice(&tag[1..9]);
                let publisher = u64::from_le_bytes(id);
                let layer = tag[9];
                let kind = self.rtc.media(d.mid).map(|m| m.kind());
                let misrouted = self.tracks.get(&d.mid) != Some(&publisher);
                self.with_stats(|s| {
                    if misrouted {
                        s.misrouted += 1;
                    }
                    match kind {
                        Some(MediaKind::Audio) => *s.audio.entry(publisher).or_default() += 1,
                        Some(MediaKind::Video) => {
                            *s.video.entry((publisher, layer)).or_default() += 1
                        }
                        None => {}
                    }
                });
            }
            Event::KeyframeRequest(_) => {
                self.keyframe_due = true;
                self.with_stats(|s| s.keyframe_requests += 1);
            }
            _ => {}
        }
    }

    fn frame(&self, first: u8, len: usize, layer: u8, n: u64) -> Vec<u8> {
        let mut f = Vec::with_capacity(len);
        f.extend_from_slice(&[first, 0, 0, 0x9d, 0x01, 0x2a, b'T']);
        f.extend_from_slice(&self.id.to_le_bytes());
        f.push(layer);
        f.extend_from_slice(&n.to_le_bytes());
        f.resize(len.max(f.len()), 0x5a);
        f
    }

    fn send_audio(&mut self, n: u64) {
        let data = self.frame(0xfc, 60, LAYER_NONE, n);
        let level = self.options.audio_level;
        let Some(writer) = self.rtc.writer(self.audio) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return;
        };
        let time = MediaTime::from_millis(n * 20).rebase(str0m::media::Frequency::FORTY_EIGHT_KHZ);
        let _ = writer
            .audio_level(level, true)
            .write(pt, Instant::now(), time, data);
    }

    fn send_video(&mut self, n: u64) {
        let key = self.keyframe_due || n.is_multiple_of(75);
        self.keyframe_due = false;
        let layers: &[(Option<&str>, u8)] = if self.options.simulcast {
            &[(Some("h"), LAYER_HIGH), (Some("l"), LAYER_LOW)]
        } else {
            &[(None, LAYER_NONE)]
        };
        for (rid, tag) in layers {
            let len = match (key, *tag) {
                (true, LAYER_LOW) => 1500,
                (true, _) => 4000,
                (false, LAYER_LOW) => 300,
                (false, _) => 900,
            };
            let data = self.frame(if key { 0x10 } else { 0x11 }, len, *tag, n);
            let Some(writer) = self.rtc.writer(self.video) else {
                return;
            };
            let Some(pt) = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::Vp8)
                .map(|p| p.pt())
            else {
                return;
            };
            let writer = match rid {
                Some(r) => writer.rid(Rid::from(*r)),
                None => writer,
            };
            let time = MediaTime::from_90khz(n * 3600);
            let _ = writer.write(pt, Instant::now(), time, data);
            self.pump();
        }
    }
}
