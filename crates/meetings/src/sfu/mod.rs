//! The selective forwarding unit: carries a meeting's audio and video between its
//! participants, and nothing else (no roster, chat or permissions: the live room owns
//! those and tells the SFU what to do).
//!
//! # How a room's media flows
//! Each participant has one WebRTC PeerConnection (one str0m [`str0m::Rtc`], BUNDLE, ICE
//! lite on our side) that carries everything it sends and everything it receives:
//! - **Publishing.** The browser offers its tracks (microphone, camera as simulcast with
//!   two layers, rids `h` and `l`, and optionally a screen share as one more video
//!   track); [`SfuHandle::offer`] returns the answer. Every track the SFU receives is
//!   announced to the participant as [`SfuEvent::Published`] (mid, kind, msid), so the
//!   live room can tell the others which track is the camera and which the screen.
//! - **Subscribing.** For every track published by someone else in the same room, the SFU
//!   adds a send-only m-line to the subscriber's PeerConnection and sends a renegotiation
//!   offer ([`SfuEvent::SdpOffer`], with the list of tracks the subscriber will receive,
//!   by its own mids); the browser replies through [`SfuHandle::answer`]. Rooms never see
//!   each other's media.
//! - **Forwarding.** The SFU works at str0m's *frame* level: a publisher's RTP is
//!   depacketized once per track into frames (`Arc<[u8]>`, shared, never copied), and
//!   each subscriber's str0m instance packetizes them again with its own sequence
//!   numbers, SSRCs, RTX history and payload descriptors. That costs one packetization
//!   per subscriber, but makes every switch correct by construction: changing simulcast
//!   layer, dropping a muted participant's audio or starting a late subscriber never
//!   leaves sequence gaps that the browser would treat as loss, and str0m answers the
//!   subscriber's NACKs from its own send buffer. RTP mode would save the
//!   re-packetization but push sequence, timestamp and VP8 picture-id rewriting into
//!   our code; the frame API is what str0m's authors use for their own SFU.
//! - **Keyframes.** A subscriber that starts, switches layer or reports loss (PLI/FIR)
//!   gets nothing on a video track until the next keyframe; the SFU asks the publisher
//!   for one, at most once per 500 ms per track and layer.
//! - **Simulcast.** Each subscriber gets one layer of each simulcast track: the high one
//!   (`h`) unless its bandwidth estimate (str0m's TWCC estimator) per video track falls
//!   below about 400 kbit/s, or it asked for less with
//!   [`SfuHandle::set_preferred_layer`]. The switch happens on a keyframe of the new
//!   layer; until then the old layer keeps flowing.
//! - **Mute** is enforced here: while [`SfuHandle::set_muted`] says so, a participant's
//!   audio (or video) is not forwarded to anyone, whatever its browser sends. Only the
//!   live room decides who may unmute.
//! - **Speaking.** The RFC 6464 audio level each browser puts in its RTP header extension
//!   drives [`SfuEvent::Speaking`], sent when a participant starts or stops speaking.
//!
//! # Settings
//! [`SfuSettings`] is the `[studios.meetings.sfu]` part of the studio's settings: `bind`
//! (default `127.0.0.1:0`; UDP and ICE-TCP share its port, port 0 picks one, or a free
//! one from `port_range`), `public_addresses` (the addresses browsers should reach, for
//! a server behind 1:1 NAT; when empty, the bind address or, when binding `0.0.0.0`,
//! every local interface address) and `turn` (a coturn server with `use-auth-secret`:
//! [`turn_credentials`] makes the time-limited credentials the page hands to the
//! browser's `RTCPeerConnection`).
//!
//! # What the signalling must send
//! All SDP and candidates travel as plain strings, as the browser produces them:
//! 1. [`SfuHandle::join`] when the participant enters the room (the receiver it returns
//!    carries every [`SfuEvent`] for that participant; forward them to its socket).
//! 2. The browser's offer (`pc.localDescription.sdp`) to [`SfuHandle::offer`], and the
//!    returned answer back to the browser. The same call handles every later offer of
//!    the browser: a new or stopped track, a screen share, or an ICE restart
//!    (`createOffer({iceRestart: true})` after [`SfuEvent::IceRestartNeeded`]).
//! 3. Each `icecandidate` of the browser (`candidate.candidate`) to
//!    [`SfuHandle::candidate`]. The SFU's own candidates are all in its SDP; it trickles
//!    none.
//! 4. Each [`SfuEvent::SdpOffer`] to the browser, and its answer to
//!    [`SfuHandle::answer`]. On a clash (both sides offering at once) the SFU yields: it
//!    drops its own offer, answers the browser's and offers again afterwards, so the
//!    browser must ignore an SFU offer that arrives while it has an offer of its own
//!    outstanding.
//! 5. [`SfuHandle::leave`] when the participant leaves or its socket closes; a room
//!    whose last participant left is forgotten.
//!
//! Browsers should prefer H.264 (`setCodecPreferences`); the SFU offers and answers
//! H.264 constrained baseline (profile-level-id 42e01f, packetization-mode 1) before VP8,
//! and forwards whatever codec a publisher sends.

mod driver;
mod engine;
mod turn;

#[cfg(feature = "client")]
pub mod client;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

pub use driver::{SfuAddrs, SfuEvents, SfuHandle};
pub use engine::{Sfu, SfuStats, Transmitter};
pub use str0m::net::Protocol;
pub use turn::{IceServer, turn_credentials};

/// Who a participant is to the SFU: the live room's id for one person in one meeting.
pub type ParticipantId = u64;

/// What can go wrong when the live room drives the SFU.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("participant {0} is not in a room")]
    UnknownParticipant(ParticipantId),
    #[error("participant {0} is already in a room")]
    AlreadyJoined(ParticipantId),
    #[error("the session description could not be read: {0}")]
    BadSdp(String),
    #[error("the session description was refused: {0}")]
    Refused(String),
    #[error("the ICE candidate could not be read: {0}")]
    BadCandidate(String),
    #[error("there is no offer of ours waiting for this answer")]
    NoPendingOffer,
    #[error("the media sockets could not be opened: {0}")]
    Io(#[from] std::io::Error),
    #[error("the SFU has stopped")]
    Stopped,
}

/// One of the two simulcast layers a subscriber can receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// rid `l`: half resolution, for weak connections and small tiles.
    Low,
    /// rid `h`: full resolution.
    High,
}

impl Layer {
    /// The rid browsers are asked to send this layer under.
    pub fn rid(self) -> &'static str {
        match self {
            Layer::High => "h",
            Layer::Low => "l",
        }
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    Audio,
    Video,
}

impl From<str0m::media::MediaKind> for TrackKind {
    fn from(k: str0m::media::MediaKind) -> Self {
        match k {
            str0m::media::MediaKind::Audio => TrackKind::Audio,
            str0m::media::MediaKind::Video => TrackKind::Video,
        }
    }
}

/// A track a participant sends, as its own PeerConnection names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedTrack {
    /// The m-line in the publisher's PeerConnection.
    pub mid: String,
    pub kind: TrackKind,
    /// The msid the browser gave it (`stream.id`, `track.id`), which tells a camera from
    /// a screen share.
    pub stream_id: String,
    pub track_id: String,
    /// Simulcast rids, empty without simulcast.
    pub rids: Vec<String>,
}

/// A track a participant receives: which of its own mids carries whose track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardedTrack {
    /// The m-line in the subscriber's PeerConnection (`transceiver.mid` in `ontrack`).
    pub mid: String,
    pub publisher: ParticipantId,
    /// The publisher's mid and msid for this track ([`PublishedTrack`]).
    pub source_mid: String,
    pub kind: TrackKind,
    pub stream_id: String,
    pub track_id: String,
}

/// What the SFU tells the live room about one participant's connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SfuEvent {
    /// A renegotiation offer to pass to the browser; its answer goes to
    /// [`SfuHandle::answer`]. `tracks` is everything the participant receives once it
    /// has applied this offer.
    SdpOffer {
        sdp: String,
        tracks: Vec<ForwardedTrack>,
    },
    /// ICE and DTLS are up: media flows.
    Connected,
    /// The connection is gone for good (ICE timed out or DTLS closed); a new offer starts
    /// a fresh one.
    Disconnected,
    /// ICE lost its path; the browser should re-offer with `iceRestart: true`.
    IceRestartNeeded,
    /// The tracks the participant now sends (all of them, after every change).
    Published { tracks: Vec<PublishedTrack> },
    /// The participant started or stopped speaking; `level` is the loudest audio level
    /// in the last moment, in dBov (0 is the loudest, -127 silence).
    Speaking { speaking: bool, level: i8 },
}

/// `[studios.meetings.sfu]`: where the SFU listens and what it tells browsers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SfuSettings {
    /// The address of the UDP socket and the ICE-TCP listener (same port for both).
    pub bind: SocketAddr,
    /// Addresses to advertise instead of the bound one (the public address of a server
    /// behind 1:1 NAT).
    pub public_addresses: Vec<IpAddr>,
    /// When `bind` has port 0: the first free port in this range, inclusive, rather
    /// than one the system picks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_range: Option<PortRange>,
    /// A TURN server for browsers that reach neither UDP nor TCP directly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<TurnSettings>,
}

impl Default for SfuSettings {
    fn default() -> Self {
        SfuSettings {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            public_addresses: Vec::new(),
            port_range: None,
            turn: None,
        }
    }
}

/// Inclusive range of ports to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub min: u16,
    pub max: u16,
}

/// A coturn server configured with `use-auth-secret` and `static-auth-secret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TurnSettings {
    /// `turn:` / `turns:` URLs handed to browsers.
    pub urls: Vec<String>,
    /// The shared secret (coturn's `static-auth-secret`).
    pub secret: String,
    /// How long credentials work, in seconds.
    pub ttl_seconds: u64,
}

impl Default for TurnSettings {
    fn default() -> Self {
        TurnSettings {
            urls: Vec::new(),
            secret: String::new(),
            ttl_seconds: 86_400,
        }
    }
}
