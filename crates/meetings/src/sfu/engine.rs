//! The sans-I/O core: rooms of participants, one str0m `Rtc` each, and the forwarding
//! between them. It reads no socket and no clock: the driver feeds it packets and the
//! time, and it hands packets back through a [`Transmitter`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid, Rid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::mpsc::UnboundedSender;

use super::{ForwardedTrack, Layer, ParticipantId, PublishedTrack, SfuError, SfuEvent};

/// How the core sends a packet: the driver's sockets, or a test's vector.
pub trait Transmitter {
    fn send(&mut self, proto: Protocol, source: SocketAddr, destination: SocketAddr, data: &[u8]);
}

/// No more than one keyframe request per publisher track and layer in this time.
const KEYFRAME_THROTTLE: Duration = Duration::from_millis(500);
/// A subscriber's estimate per simulcast video track under which it gets the low layer,
/// and over which it goes back to the high one (the gap keeps it from flapping).
const LOW_LAYER_BELOW: Bitrate = Bitrate::kbps(400);
const HIGH_LAYER_ABOVE: Bitrate = Bitrate::kbps(600);
/// Where the bandwidth estimate starts, and what it probes towards per video track.
const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(2_000);
const DESIRED_PER_VIDEO: u64 = 900;
/// Audio louder than this (dBov) counts as speaking, for this long after the packet.
const SPEAKING_DBOV: i8 = -50;
const SPEAKING_HOLD: Duration = Duration::from_millis(600);
/// How long an idle engine may sleep.
const IDLE: Duration = Duration::from_millis(100);

/// Counts for metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SfuStats {
    pub rooms: usize,
    pub participants: usize,
    /// Tracks received from publishers.
    pub published_tracks: usize,
    /// Publisher tracks being sent to a subscriber, counted once per subscriber.
    pub forwarded_tracks: usize,
}

/// The engine: every room of the process.
pub struct Sfu {
    candidates: Vec<Candidate>,
    participants: HashMap<ParticipantId, Participant>,
    rooms: HashMap<Arc<str>, Vec<ParticipantId>>,
    /// Which participant a remote address belongs to, learned from `Rtc::accepts`.
    routes: HashMap<(Protocol, SocketAddr), ParticipantId>,
    work: VecDeque<Work>,
    renegotiate: Vec<ParticipantId>,
}

struct Participant {
    room: Arc<str>,
    events: UnboundedSender<SfuEvent>,
    rtc: Option<Rtc>,
    /// Candidates the browser trickled before its offer arrived.
    early_candidates: Vec<Candidate>,
    connected: bool,
    pending: Option<SdpPendingOffer>,
    next_timeout: Instant,
    muted_audio: bool,
    muted_video: bool,
    published: Vec<Published>,
    forwards: Vec<Forward>,
    preferred: Vec<(ParticipantId, Layer)>,
    estimate_layer: Layer,
    speaking: bool,
    loud_until: Option<Instant>,
    loudest: i8,
}

struct Published {
    mid: Mid,
    kind: MediaKind,
    rids: Vec<Rid>,
    stream_id: String,
    track_id: String,
    keyframe_requested: Vec<(Option<Rid>, Instant)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FwdState {
    /// Waiting for the next renegotiation.
    ToOpen,
    /// In an offer the browser has not answered yet.
    Negotiating,
    Open,
    /// To be removed in the next renegotiation.
    ToStop,
    Stopping,
}

struct Forward {
    publisher: ParticipantId,
    source: Mid,
    kind: MediaKind,
    /// The publisher's simulcast rids (empty without simulcast).
    rids: Vec<Rid>,
    stream_id: String,
    track_id: String,
    state: FwdState,
    mid: Option<Mid>,
    /// The layer being sent; `None` until the first frame (video: the first keyframe).
    current: Option<Option<Rid>>,
    /// Added to the publisher's RTP time, so a layer switch continues the timeline.
    offset: i64,
    last_sent: Option<(u64, Instant)>,
    last_keyframe_ask: Option<Instant>,
}

// Frames stay inline: the queue's slots are reused, where a Box would allocate per frame.
#[allow(clippy::large_enum_variant)]
enum Work {
    Opened(ParticipantId, Mid),
    Closed(ParticipantId, Mid),
    Gone(ParticipantId),
    Media(ParticipantId, MediaData),
    Keyframe {
        publisher: ParticipantId,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    },
}

impl Sfu {
    /// An engine whose participants are reached at `candidates` (the driver's sockets).
    pub fn new(candidates: Vec<Candidate>) -> Sfu {
        Sfu {
            candidates,
            participants: HashMap::new(),
            rooms: HashMap::new(),
            routes: HashMap::new(),
            work: VecDeque::new(),
            renegotiate: Vec::new(),
        }
    }

    /// Puts a participant in a room; it receives every track published there from now on.
    pub fn join(
        &mut self,
        room: &str,
        id: ParticipantId,
        events: UnboundedSender<SfuEvent>,
        now: Instant,
    ) -> Result<(), SfuError> {
        if self.participants.contains_key(&id) {
            return Err(SfuError::AlreadyJoined(id));
        }
        let room: Arc<str> = match self.rooms.get_key_value(room) {
            Some((k, _)) => k.clone(),
            None => Arc::from(room),
        };
        let members = self.rooms.entry(room.clone()).or_default();
        let mut forwards = Vec::new();
        for other in members.iter() {
            if let Some(p) = self.participants.get(other) {
                forwards.extend(p.published.iter().map(|t| Forward::new(*other, t)));
            }
        }
        members.push(id);
        self.participants.insert(
            id,
            Participant {
                room,
                events,
                rtc: None,
                early_candidates: Vec::new(),
                connected: false,
                pending: None,
                next_timeout: now + IDLE,
                muted_audio: false,
                muted_video: false,
                published: Vec::new(),
                forwards,
                preferred: Vec::new(),
                estimate_layer: Layer::High,
                speaking: false,
                loud_until: None,
                loudest: -127,
            },
        );
        Ok(())
    }

    /// Applies the browser's offer and returns the answer.
    pub fn offer(
        &mut self,
        id: ParticipantId,
        sdp: &str,
        now: Instant,
        out: &mut dyn Transmitter,
    ) -> Result<String, SfuError> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))?;
        if !p.rtc.as_ref().is_some_and(Rtc::is_alive) {
            let mut rtc = new_rtc(now);
            for c in &self.candidates {
                rtc.add_local_candidate(c.clone());
            }
            for c in p.early_candidates.drain(..) {
                rtc.add_remote_candidate(c);
            }
            p.rtc = Some(rtc);
            p.connected = false;
            p.pending = None;
            for f in &mut p.forwards {
                f.reset();
            }
        }
        let rtc = p.rtc.as_mut().expect("made above");
        let answer = rtc.sdp_api().accept_offer(offer);
        // Our own offer, if any, is rolled back by str0m: its tracks wait for the next one.
        p.pending = None;
        for f in &mut p.forwards {
            match f.state {
                FwdState::Negotiating => {
                    f.state = FwdState::ToOpen;
                    f.mid = None;
                }
                FwdState::Stopping => f.state = FwdState::ToStop,
                _ => {}
            }
        }
        self.renegotiate.push(id);
        let result = answer
            .map(|a| a.to_sdp_string())
            .map_err(|e| SfuError::Refused(e.to_string()));
        self.drain(id, now, out);
        self.settle(now, out);
        result
    }

    /// Applies the browser's answer to our last [`SfuEvent::SdpOffer`].
    pub fn answer(
        &mut self,
        id: ParticipantId,
        sdp: &str,
        now: Instant,
        out: &mut dyn Transmitter,
    ) -> Result<(), SfuError> {
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))?;
        let (Some(rtc), Some(pending)) = (p.rtc.as_mut(), p.pending.take()) else {
            return Err(SfuError::NoPendingOffer);
        };
        let result = rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| SfuError::Refused(e.to_string()));
        if result.is_ok() {
            for f in &mut p.forwards {
                if f.state == FwdState::Negotiating {
                    f.state = FwdState::Open;
                }
            }
            p.forwards.retain(|f| f.state != FwdState::Stopping);
        } else {
            // The browser refused our change: offer it again from the start.
            for f in &mut p.forwards {
                match f.state {
                    FwdState::Negotiating => {
                        f.state = FwdState::ToOpen;
                        f.mid = None;
                    }
                    FwdState::Stopping => f.state = FwdState::ToStop,
                    _ => {}
                }
            }
        }
        self.renegotiate.push(id);
        self.drain(id, now, out);
        self.settle(now, out);
        result
    }

    /// Adds an ICE candidate the browser trickled (`candidate:…`, with or without `a=`).
    /// An empty string (end of candidates) and mDNS names are ignored.
    pub fn candidate(
        &mut self,
        id: ParticipantId,
        cand: &str,
        now: Instant,
        out: &mut dyn Transmitter,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))?;
        let line = cand.trim().trim_start_matches("a=");
        if line.is_empty() || line.contains(".local ") {
            return Ok(());
        }
        let c =
            Candidate::from_sdp_string(line).map_err(|e| SfuError::BadCandidate(e.to_string()))?;
        match p.rtc.as_mut() {
            Some(rtc) => rtc.add_remote_candidate(c),
            None => {
                p.early_candidates.push(c);
                return Ok(());
            }
        }
        self.drain(id, now, out);
        self.settle(now, out);
        Ok(())
    }

    /// Stops (or resumes) forwarding a participant's audio and video.
    pub fn set_muted(
        &mut self,
        id: ParticipantId,
        audio: bool,
        video: bool,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant(id))?;
        p.muted_audio = audio;
        p.muted_video = video;
        if audio && p.speaking {
            p.speaking = false;
            p.loud_until = None;
            p.emit(SfuEvent::Speaking {
                speaking: false,
                level: -127,
            });
        }
        Ok(())
    }

    /// The most `subscriber` wants of `publisher`'s simulcast video; the bandwidth
    /// estimate may still lower it.
    pub fn set_preferred_layer(
        &mut self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        layer: Layer,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(&subscriber)
            .ok_or(SfuError::UnknownParticipant(subscriber))?;
        p.preferred.retain(|(who, _)| *who != publisher);
        p.preferred.push((publisher, layer));
        Ok(())
    }

    /// Takes a participant out of its room and forgets it; the room goes with its last
    /// participant.
    pub fn leave(&mut self, id: ParticipantId, now: Instant, out: &mut dyn Transmitter) {
        let Some(mut p) = self.participants.remove(&id) else {
            return;
        };
        if let Some(rtc) = p.rtc.as_mut() {
            rtc.disconnect();
        }
        if let Some(members) = self.rooms.get_mut(&p.room) {
            members.retain(|m| *m != id);
            if members.is_empty() {
                self.rooms.remove(&p.room);
            }
        }
        self.routes.retain(|_, who| *who != id);
        self.work.push_back(Work::Gone(id));
        self.settle(now, out);
    }

    /// A packet from the network.
    pub fn receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
        out: &mut dyn Transmitter,
    ) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source,
                destination,
                contents,
            },
        );
        let accepts = |p: &Participant| p.rtc.as_ref().is_some_and(|r| r.accepts(&input));
        let known = self
            .routes
            .get(&(proto, source))
            .copied()
            .filter(|id| self.participants.get(id).is_some_and(accepts));
        let id = match known {
            Some(id) => id,
            None => {
                let Some((id, _)) = self.participants.iter().find(|(_, p)| accepts(p)) else {
                    return;
                };
                let id = *id;
                self.routes.insert((proto, source), id);
                id
            }
        };
        let Some(rtc) = self.participants.get_mut(&id).and_then(|p| p.rtc.as_mut()) else {
            return;
        };
        if let Err(e) = rtc.handle_input(input) {
            tracing::debug!(participant = id, error = %e, "sfu: input refused");
        }
        self.drain(id, now, out);
        self.settle(now, out);
    }

    /// Moves every participant whose timer is due.
    pub fn timeout(&mut self, now: Instant, out: &mut dyn Transmitter) {
        let due: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| p.rtc.is_some() && p.next_timeout <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(rtc) = self.participants.get_mut(&id).and_then(|p| p.rtc.as_mut())
                && let Err(e) = rtc.handle_input(Input::Timeout(now))
            {
                tracing::debug!(participant = id, error = %e, "sfu: timeout refused");
            }
            self.drain(id, now, out);
        }
        for p in self.participants.values_mut() {
            if p.speaking && p.loud_until.is_none_or(|t| t <= now) {
                p.speaking = false;
                p.emit(SfuEvent::Speaking {
                    speaking: false,
                    level: p.loudest,
                });
            }
        }
        self.settle(now, out);
    }

    /// When [`Sfu::timeout`] next has something to do.
    pub fn next_timeout(&self, now: Instant) -> Instant {
        let mut next = now + IDLE;
        for p in self.participants.values() {
            if p.rtc.is_some() {
                next = next.min(p.next_timeout);
            }
            if p.speaking
                && let Some(t) = p.loud_until
            {
                next = next.min(t);
            }
        }
        next
    }

    pub fn stats(&self) -> SfuStats {
        SfuStats {
            rooms: self.rooms.len(),
            participants: self.participants.len(),
            published_tracks: self.participants.values().map(|p| p.published.len()).sum(),
            forwarded_tracks: self
                .participants
                .values()
                .map(|p| {
                    p.forwards
                        .iter()
                        .filter(|f| f.state == FwdState::Open)
                        .count()
                })
                .sum(),
        }
    }

    /// How many participants a room has (0 for a room that does not exist).
    pub fn room_size(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, Vec::len)
    }

    /// Polls one participant's `Rtc` until it has nothing more to say.
    fn drain(&mut self, id: ParticipantId, now: Instant, out: &mut dyn Transmitter) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        p.drain(id, now, out, &mut self.work, &mut self.renegotiate);
    }

    /// Runs the consequences of whatever just happened until there are none left:
    /// frames fanned out, keyframes asked for, tracks added and renegotiated.
    fn settle(&mut self, now: Instant, out: &mut dyn Transmitter) {
        loop {
            while let Some(w) = self.work.pop_front() {
                self.apply(w, now, out);
            }
            if self.renegotiate.is_empty() {
                break;
            }
            let mut ids = std::mem::take(&mut self.renegotiate);
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                self.negotiate(id, now, out);
            }
            if self.work.is_empty() && self.renegotiate.is_empty() {
                break;
            }
        }
    }

    fn apply(&mut self, w: Work, now: Instant, out: &mut dyn Transmitter) {
        match w {
            Work::Media(publisher, data) => self.fan_out(publisher, &data, now, out),
            Work::Keyframe {
                publisher,
                mid,
                rid,
                kind,
            } => {
                let Some(p) = self.participants.get_mut(&publisher) else {
                    return;
                };
                if p.ask_keyframe(mid, rid, kind, now) {
                    self.drain(publisher, now, out);
                }
            }
            Work::Opened(publisher, mid) => {
                let Some(p) = self.participants.get(&publisher) else {
                    return;
                };
                let Some(track) = p.published.iter().find(|t| t.mid == mid) else {
                    return;
                };
                let forward = Forward::new(publisher, track);
                let Some(members) = self.rooms.get(&p.room) else {
                    return;
                };
                for sub in members.iter().filter(|m| **m != publisher) {
                    if let Some(s) = self.participants.get_mut(sub) {
                        s.forwards.push(forward.clone_fresh());
                        self.renegotiate.push(*sub);
                    }
                }
            }
            Work::Closed(publisher, mid) => {
                for (id, s) in self.participants.iter_mut() {
                    if s.stop_forwards(|f| f.publisher == publisher && f.source == mid) {
                        self.renegotiate.push(*id);
                    }
                }
            }
            Work::Gone(publisher) => {
                for (id, s) in self.participants.iter_mut() {
                    if s.stop_forwards(|f| f.publisher == publisher) {
                        self.renegotiate.push(*id);
                    }
                }
            }
        }
    }

    fn fan_out(
        &mut self,
        publisher: ParticipantId,
        data: &MediaData,
        now: Instant,
        out: &mut dyn Transmitter,
    ) {
        let Some(room) = self.participants.get(&publisher).map(|p| p.room.clone()) else {
            return;
        };
        let Some(members) = self.rooms.get(&room) else {
            return;
        };
        let Sfu {
            participants,
            work,
            renegotiate,
            ..
        } = self;
        for sub in members.iter().filter(|m| **m != publisher) {
            let Some(s) = participants.get_mut(sub) else {
                continue;
            };
            if s.write(*sub, publisher, data, now, work) {
                s.drain(*sub, now, out, work, renegotiate);
            }
        }
    }

    /// Sends a participant an offer for the tracks it should start or stop receiving.
    fn negotiate(&mut self, id: ParticipantId, now: Instant, out: &mut dyn Transmitter) {
        let Sfu {
            participants,
            work,
            renegotiate,
            ..
        } = self;
        let Some(p) = participants.get_mut(&id) else {
            return;
        };
        if !p.connected || p.pending.is_some() {
            return;
        }
        if !p
            .forwards
            .iter()
            .any(|f| matches!(f.state, FwdState::ToOpen | FwdState::ToStop))
        {
            return;
        }
        let videos = p
            .forwards
            .iter()
            .filter(|f| f.kind == MediaKind::Video)
            .count() as u64;
        let Some(rtc) = p.rtc.as_mut() else {
            return;
        };
        desire(rtc, videos);
        p.drain(id, now, out, work, renegotiate);
        let Some(rtc) = p.rtc.as_mut() else {
            return;
        };
        let mut change = rtc.sdp_api();
        for f in &mut p.forwards {
            match f.state {
                FwdState::ToOpen => {
                    let stream = format!("{}-{}", f.publisher, f.stream_id);
                    let track = format!("{}-{}", f.publisher, f.source);
                    let mid = change.add_media(
                        f.kind,
                        Direction::SendOnly,
                        Some(stream),
                        Some(track),
                        None,
                    );
                    f.mid = Some(mid);
                    f.state = FwdState::Negotiating;
                }
                FwdState::ToStop => {
                    if let Some(mid) = f.mid {
                        change.stop_media(mid);
                    }
                    f.state = FwdState::Stopping;
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            p.forwards.retain(|f| f.state != FwdState::Stopping);
            return;
        }
        let Some((offer, pending)) = change.apply() else {
            return;
        };
        p.pending = Some(pending);
        let tracks = p
            .forwards
            .iter()
            .filter(|f| matches!(f.state, FwdState::Negotiating | FwdState::Open))
            .filter_map(|f| {
                Some(ForwardedTrack {
                    mid: f.mid?.to_string(),
                    publisher: f.publisher,
                    source_mid: f.source.to_string(),
                    kind: f.kind.into(),
                    stream_id: f.stream_id.clone(),
                    track_id: f.track_id.clone(),
                })
            })
            .collect();
        p.emit(SfuEvent::SdpOffer {
            sdp: offer.to_sdp_string(),
            tracks,
        });
        p.drain(id, now, out, work, renegotiate);
    }
}

/// One participant's PeerConnection: Opus, then H.264 constrained baseline before VP8
/// (the order str0m answers and offers in), BWE on, ICE lite (the SFU has fixed
/// addresses and only answers checks).
fn new_rtc(now: Instant) -> Rtc {
    let mut config = Rtc::builder()
        .set_ice_lite(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_bwe(Some(INITIAL_ESTIMATE));
    config
        .codec_config()
        .add_h264(108.into(), Some(109.into()), true, 0x42e01f);
    config.enable_vp8(true).build(now)
}

impl Participant {
    fn emit(&self, e: SfuEvent) {
        // A live room that stopped listening is leaving; nothing to do.
        let _ = self.events.send(e);
    }

    fn drain(
        &mut self,
        id: ParticipantId,
        now: Instant,
        out: &mut dyn Transmitter,
        work: &mut VecDeque<Work>,
        renegotiate: &mut Vec<ParticipantId>,
    ) {
        loop {
            let Some(rtc) = self.rtc.as_mut() else {
                return;
            };
            if !rtc.is_alive() {
                self.rtc = None;
                self.connected = false;
                self.pending = None;
                self.published.clear();
                for f in &mut self.forwards {
                    f.reset();
                }
                work.push_back(Work::Gone(id));
                self.emit(SfuEvent::Disconnected);
                return;
            }
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => out.send(t.proto, t.source, t.destination, &t.contents),
                Ok(Output::Event(e)) => self.on_event(id, e, now, work, renegotiate),
                Err(e) => {
                    tracing::info!(participant = id, error = %e, "sfu: connection failed");
                    rtc.disconnect();
                }
            }
        }
    }

    fn on_event(
        &mut self,
        id: ParticipantId,
        e: Event,
        now: Instant,
        work: &mut VecDeque<Work>,
        renegotiate: &mut Vec<ParticipantId>,
    ) {
        match e {
            Event::Connected => {
                self.connected = true;
                self.emit(SfuEvent::Connected);
                renegotiate.push(id);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.emit(SfuEvent::IceRestartNeeded);
            }
            Event::MediaAdded(m) if m.direction.is_receiving() => {
                self.publish(id, m.mid, m.kind, m.simulcast.map(|s| s.recv), work);
            }
            Event::MediaChanged(m) => {
                let known = self.published.iter().any(|t| t.mid == m.mid);
                if known && !m.direction.is_receiving() {
                    self.published.retain(|t| t.mid != m.mid);
                    work.push_back(Work::Closed(id, m.mid));
                    self.emit_published();
                } else if !known && m.direction.is_receiving() {
                    let kind = self
                        .rtc
                        .as_ref()
                        .and_then(|r| r.media(m.mid))
                        .map(|x| x.kind());
                    if let Some(kind) = kind {
                        self.publish(id, m.mid, kind, None, work);
                    }
                }
            }
            Event::MediaData(d) => self.received(id, d, now, work),
            Event::KeyframeRequest(req) => {
                if let Some(f) = self.forwards.iter().find(|f| f.mid == Some(req.mid)) {
                    work.push_back(Work::Keyframe {
                        publisher: f.publisher,
                        mid: f.source,
                        rid: f.current.flatten(),
                        kind: req.kind,
                    });
                }
            }
            Event::EgressBitrateEstimate(
                BweKind::Twcc { estimate, .. } | BweKind::Remb { estimate, .. },
            ) => {
                let videos = self
                    .forwards
                    .iter()
                    .filter(|f| f.kind == MediaKind::Video && !f.rids.is_empty())
                    .count()
                    .max(1);
                let per_track = Bitrate::bps(estimate.as_u64() / videos as u64);
                if per_track < LOW_LAYER_BELOW {
                    self.estimate_layer = Layer::Low;
                } else if per_track > HIGH_LAYER_ABOVE {
                    self.estimate_layer = Layer::High;
                }
            }
            _ => {}
        }
    }

    fn publish(
        &mut self,
        id: ParticipantId,
        mid: Mid,
        kind: MediaKind,
        rids: Option<Vec<str0m::media::SimulcastLayer>>,
        work: &mut VecDeque<Work>,
    ) {
        let Some(rtc) = self.rtc.as_mut() else {
            return;
        };
        let (stream_id, track_id) = rtc
            .media(mid)
            .map(|m| (m.stream_id().to_owned(), m.track_id().to_owned()))
            .unwrap_or_default();
        self.published.push(Published {
            mid,
            kind,
            rids: rids
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.rid)
                .collect(),
            stream_id,
            track_id,
            keyframe_requested: Vec::new(),
        });
        work.push_back(Work::Opened(id, mid));
        self.emit_published();
    }

    fn emit_published(&self) {
        let tracks = self
            .published
            .iter()
            .map(|t| PublishedTrack {
                mid: t.mid.to_string(),
                kind: t.kind.into(),
                stream_id: t.stream_id.clone(),
                track_id: t.track_id.clone(),
                rids: t.rids.iter().map(|r| r.to_string()).collect(),
            })
            .collect();
        self.emit(SfuEvent::Published { tracks });
    }

    /// A frame from this participant's browser.
    fn received(
        &mut self,
        id: ParticipantId,
        d: MediaData,
        now: Instant,
        work: &mut VecDeque<Work>,
    ) {
        let Some(track) = self.published.iter().find(|t| t.mid == d.mid) else {
            return;
        };
        match track.kind {
            MediaKind::Audio => {
                if self.muted_audio {
                    return;
                }
                if let Some(level) = d.ext_vals.audio_level {
                    self.loudest = self.loudest.max(level);
                    if level >= SPEAKING_DBOV && d.ext_vals.voice_activity != Some(false) {
                        self.loud_until = Some(now + SPEAKING_HOLD);
                        if !self.speaking {
                            self.speaking = true;
                            self.emit(SfuEvent::Speaking {
                                speaking: true,
                                level,
                            });
                        }
                    } else if !self.speaking {
                        self.loudest = level;
                    }
                }
            }
            MediaKind::Video => {
                if self.muted_video {
                    return;
                }
                if !d.contiguous {
                    work.push_back(Work::Keyframe {
                        publisher: id,
                        mid: d.mid,
                        rid: d.rid,
                        kind: KeyframeRequestKind::Pli,
                    });
                }
            }
        }
        work.push_back(Work::Media(id, d));
    }

    /// Asks the browser for a keyframe unless one was asked for a moment ago.
    fn ask_keyframe(
        &mut self,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
        now: Instant,
    ) -> bool {
        let Some(track) = self.published.iter_mut().find(|t| t.mid == mid) else {
            return false;
        };
        if let Some((_, at)) = track.keyframe_requested.iter_mut().find(|(r, _)| *r == rid) {
            if now.saturating_duration_since(*at) < KEYFRAME_THROTTLE {
                return false;
            }
            *at = now;
        } else {
            track.keyframe_requested.push((rid, now));
        }
        let Some(mut writer) = self.rtc.as_mut().and_then(|r| r.writer(mid)) else {
            return false;
        };
        let kind = if writer.is_request_keyframe_possible(kind) {
            kind
        } else if writer.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
            KeyframeRequestKind::Pli
        } else {
            KeyframeRequestKind::Fir
        };
        if let Err(e) = writer.request_keyframe(rid, kind) {
            tracing::debug!(error = %e, "sfu: keyframe request refused");
        }
        true
    }

    /// Sends another participant's frame on the matching track, if this participant
    /// should get it now. True when the `Rtc` was touched (and must be drained).
    fn write(
        &mut self,
        me: ParticipantId,
        publisher: ParticipantId,
        data: &MediaData,
        now: Instant,
        work: &mut VecDeque<Work>,
    ) -> bool {
        let preferred = self
            .preferred
            .iter()
            .find(|(who, _)| *who == publisher)
            .map_or(Layer::High, |(_, l)| *l)
            .min(self.estimate_layer);
        let Some(f) = self
            .forwards
            .iter_mut()
            .find(|f| f.publisher == publisher && f.source == data.mid)
        else {
            return false;
        };
        let (FwdState::Open, Some(mid)) = (f.state, f.mid) else {
            return false;
        };
        let video = f.kind == MediaKind::Video;
        let want = f.wanted_rid(preferred);
        let on_current = f.current == Some(data.rid);
        if data.rid != want {
            // Not the layer this subscriber should have: keep the old one flowing until
            // the wanted one brings a keyframe.
            if f.current != Some(want) {
                f.ask_keyframe(me, publisher, want, now, work);
            }
            if !on_current {
                return false;
            }
        } else if !on_current {
            if video && !data.is_keyframe() {
                f.ask_keyframe(me, publisher, want, now, work);
                return false;
            }
            f.switch_to(data);
        }
        let time = f.out_time(data);
        let Some(rtc) = self.rtc.as_mut() else {
            return false;
        };
        let Some(writer) = rtc.writer(mid) else {
            return false;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return false;
        };
        if let Err(e) = writer.write(pt, data.network_time, time, data.data.clone()) {
            tracing::debug!(participant = me, error = %e, "sfu: write refused");
        }
        true
    }

    /// Marks the forwards `which` picks for removal; true when a renegotiation is due.
    fn stop_forwards(&mut self, which: impl Fn(&Forward) -> bool) -> bool {
        let mut changed = false;
        self.forwards.retain_mut(|f| {
            if !which(f) {
                return true;
            }
            match f.state {
                FwdState::ToOpen => {
                    changed = true;
                    false
                }
                FwdState::Negotiating | FwdState::Open => {
                    f.state = FwdState::ToStop;
                    changed = true;
                    true
                }
                FwdState::ToStop | FwdState::Stopping => true,
            }
        });
        changed
    }
}

/// Tells BWE how much it is worth probing for: enough for every video track at the
/// high layer.
fn desire(rtc: &mut Rtc, videos: u64) {
    let desired = Bitrate::kbps(100 + DESIRED_PER_VIDEO * videos.max(1));
    rtc.bwe().set_bitrate(Bitrate::ZERO, desired);
}

impl Forward {
    fn new(publisher: ParticipantId, t: &Published) -> Forward {
        Forward {
            publisher,
            source: t.mid,
            kind: t.kind,
            rids: t.rids.clone(),
            stream_id: t.stream_id.clone(),
            track_id: t.track_id.clone(),
            state: FwdState::ToOpen,
            mid: None,
            current: None,
            offset: 0,
            last_sent: None,
            last_keyframe_ask: None,
        }
    }

    fn clone_fresh(&self) -> Forward {
        Forward {
            publisher: self.publisher,
            source: self.source,
            kind: self.kind,
            rids: self.rids.clone(),
            stream_id: self.stream_id.clone(),
            track_id: self.track_id.clone(),
            state: FwdState::ToOpen,
            mid: None,
            current: None,
            offset: 0,
            last_sent: None,
            last_keyframe_ask: None,
        }
    }

    /// Back to the start, for a new PeerConnection.
    fn reset(&mut self) {
        self.state = FwdState::ToOpen;
        self.mid = None;
        self.current = None;
        self.offset = 0;
        self.last_sent = None;
    }

    fn wanted_rid(&self, layer: Layer) -> Option<Rid> {
        if self.kind != MediaKind::Video || self.rids.is_empty() {
            return self.rids.first().copied();
        }
        let named = self
            .rids
            .iter()
            .find(|r| r.to_string() == layer.rid())
            .copied();
        named.or_else(|| match layer {
            Layer::High => self.rids.first().copied(),
            Layer::Low => self.rids.last().copied(),
        })
    }

    fn ask_keyframe(
        &mut self,
        _me: ParticipantId,
        publisher: ParticipantId,
        rid: Option<Rid>,
        now: Instant,
        work: &mut VecDeque<Work>,
    ) {
        if self.kind != MediaKind::Video {
            return;
        }
        if self
            .last_keyframe_ask
            .is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_THROTTLE)
        {
            return;
        }
        self.last_keyframe_ask = Some(now);
        work.push_back(Work::Keyframe {
            publisher,
            mid: self.source,
            rid,
            kind: KeyframeRequestKind::Pli,
        });
    }

    /// Starts sending `data`'s layer, continuing the outgoing timeline where the
    /// previous layer left it.
    fn switch_to(&mut self, data: &MediaData) {
        let incoming = data.time.numer() as i64;
        self.offset = match self.last_sent {
            Some((sent, at)) => {
                let elapsed = data.network_time.saturating_duration_since(at);
                let ticks = (elapsed.as_secs_f64() * f64::from(data.time.denom())) as i64;
                (sent as i64)
                    .wrapping_add(ticks.max(1))
                    .wrapping_sub(incoming)
            }
            None => 0,
        };
        self.current = Some(data.rid);
    }

    fn out_time(&mut self, data: &MediaData) -> MediaTime {
        let t = (data.time.numer() as i64).wrapping_add(self.offset) as u64;
        self.last_sent = Some((t, data.network_time));
        MediaTime::new(t, data.time.frequency())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sink(usize);

    impl Transmitter for Sink {
        fn send(&mut self, _: Protocol, _: SocketAddr, _: SocketAddr, _: &[u8]) {
            self.0 += 1;
        }
    }

    fn browser_like_offer(now: Instant) -> String {
        // VP8 first, as Chrome offers it.
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host("127.0.0.1:5000".parse().unwrap(), "udp").unwrap());
        let mut change = rtc.sdp_api();
        change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        change.apply().unwrap().0.to_sdp_string()
    }

    fn engine() -> Sfu {
        Sfu::new(vec![
            Candidate::host("127.0.0.1:4000".parse().unwrap(), "udp").unwrap(),
        ])
    }

    #[test]
    fn the_answer_puts_h264_constrained_baseline_before_vp8() {
        let now = Instant::now();
        let mut sfu = engine();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        sfu.join("r", 1, tx, now).unwrap();
        let answer = sfu
            .offer(1, &browser_like_offer(now), now, &mut Sink(0))
            .unwrap();
        let video = answer.lines().find(|l| l.starts_with("m=video")).unwrap();
        let first_pt = video.split_whitespace().nth(3).unwrap();
        let rtpmap = format!("a=rtpmap:{first_pt} ");
        let codec = answer.lines().find(|l| l.starts_with(&rtpmap)).unwrap();
        assert!(codec.contains("H264/90000"), "{codec}");
        let fmtp = format!("a=fmtp:{first_pt} ");
        let params = answer.lines().find(|l| l.starts_with(&fmtp)).unwrap();
        assert!(params.contains("profile-level-id=42e01f"), "{params}");
        assert!(params.contains("packetization-mode=1"), "{params}");
        assert!(answer.contains("VP8/90000"), "VP8 stays acceptable");
    }

    #[test]
    fn bad_input_is_refused_and_changes_nothing() {
        let now = Instant::now();
        let mut sfu = engine();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        assert!(matches!(
            sfu.offer(9, "v=0", now, &mut Sink(0)),
            Err(SfuError::BadSdp(_)) | Err(SfuError::UnknownParticipant(9))
        ));
        sfu.join("r", 1, tx.clone(), now).unwrap();
        assert!(matches!(
            sfu.join("r", 1, tx, now),
            Err(SfuError::AlreadyJoined(1))
        ));
        assert!(matches!(
            sfu.offer(1, "not sdp", now, &mut Sink(0)),
            Err(SfuError::BadSdp(_))
        ));
        assert!(matches!(
            sfu.answer(1, &browser_like_offer(now), now, &mut Sink(0)),
            Err(SfuError::NoPendingOffer) | Err(SfuError::BadSdp(_))
        ));
        assert!(matches!(
            sfu.candidate(1, "candidate:nonsense", now, &mut Sink(0)),
            Err(SfuError::BadCandidate(_))
        ));
        // End of candidates and mDNS names are not errors.
        sfu.candidate(1, "", now, &mut Sink(0)).unwrap();
        sfu.candidate(
            1,
            "candidate:1 1 udp 2122260223 abc.local 5000 typ host",
            now,
            &mut Sink(0),
        )
        .unwrap();
        assert_eq!(sfu.stats().participants, 1);
        assert_eq!(sfu.room_size("r"), 1);
        sfu.leave(1, now, &mut Sink(0));
        assert_eq!(sfu.stats(), SfuStats::default());
    }
}
