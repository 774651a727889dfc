//! The choir's wire protocol, version 1, over one WebSocket per participant.
//!
//! **Binary frames** carry audio, both ways, in the same layout (all integers big-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | protocol version, `1` |
//! | 1 | kind: `1` a singer's voice (client to server), `2` the mix heard (server to client), `3` the leader's monitor mix of soloed voices (server to leader), `4` a voice frame that starts a fresh run (client to server) |
//! | 8 | `end`: the timeline position (48 kHz samples on the server's clock) just after the last sample |
//! | 2 | number of Opus packets that follow, at most [`MAX_PACKETS`] |
//! | 2 + n, per packet | its length `n` (at most [`MAX_PACKET`]), then the packet: mono, 48 kHz, 60 ms |
//!
//! A voice frame's `end` is the position of the audio the singer was *hearing* when they
//! sang its last sample: their read position minus their measured audio latency. Voice
//! frames follow on from each other (each starts where the last ended), because Opus
//! carries state from packet to packet. The first frame from a fresh encoder (after
//! push-to-talk, a bucket change or a reconnect) is sent as kind `4`: the server starts a
//! fresh decoder and takes it. A kind `1` frame that does not follow on is answered
//! `{"type":"error","code":"discontinuous"}`, and the client starts a fresh run. A mix
//! frame's `end` is the read position it ends at.
//!
//! **Text frames** are JSON objects with a `type` ([`ClientMessage`], [`ServerMessage`]).
//!
//! A session, at `GET /choir/rooms/{id}/socket` (a guest adds `?guest=<pass>` from
//! `POST /api/v1/choir/rooms/{id}/guests`):
//!
//! 1. The client sends `join` within 10 s (else close code 4008). The server answers
//!    `welcome` (its clock, the sample rate, samples per packet), then `roster` (everyone),
//!    `song`, `console` and, when set, `lyrics`.
//! 2. The client keeps its estimate of the server's clock with `ping`/`pong`, and hears
//!    timeline position `clock - delay`, where `delay` is its bucket's (in `song.delays`
//!    and in `health`, sent about once a second).
//! 3. The server sends the bucket's mix about every 60 ms as binary frames; a singer sends
//!    voice frames (typically 600 ms each) stamped as described above.
//! 4. Changes arrive as `singer`, `left`, `song`, `console`, `lyrics`, `cue`, `chat`,
//!    `recorded` and `reset`; refusals as `error` with a stable `code` (`discontinuous`,
//!    `future`, `lagging`, `not-leader`, `removed`, `bucket`, `no-song`, `setup`, `frame`,
//!    `audio`, `track`, `message`).
//!
//! Close codes: 4000 the same seat opened elsewhere, 4003 removed by the leader, 4008 no
//! `join` in time; the platform's own are 1001 (server stopping, or no answer to pings)
//! and 1008 (a client too slow to read its messages).

use serde::{Deserialize, Serialize};

use crate::domain::{Console, Part, SingerId};
use crate::timeline::Clock;

pub const VERSION: u8 = 1;
/// Packets in one frame: ten 60 ms packets make the 600 ms a browser sends at a time, with
/// room to catch up.
pub const MAX_PACKETS: usize = 32;
/// The largest Opus packet there is (RFC 6716 §3.2.1 allows at most 1275 bytes per frame,
/// times three frames of 20 ms in a 60 ms packet).
pub const MAX_PACKET: usize = 3 * 1275;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Voice = 1,
    Mix = 2,
    Monitor = 3,
    /// A voice frame from a fresh encoder: it need not follow on from the last.
    Start = 4,
}

impl Kind {
    /// Whether a singer sends it.
    pub fn is_voice(self) -> bool {
        matches!(self, Kind::Voice | Kind::Start)
    }
}

/// One audio frame, borrowing its packets from the message it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: Kind,
    pub end: Clock,
    pub packets: Vec<&'a [u8]>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("the frame is {0} bytes, shorter than its header")]
    Short(usize),
    #[error("protocol version {0} is not spoken here (this server speaks {VERSION})")]
    Version(u8),
    #[error("frame kind {0} is unknown")]
    Kind(u8),
    #[error("{0} packets in one frame; at most {MAX_PACKETS}")]
    TooManyPackets(usize),
    #[error("packet {index} claims {len} bytes; at most {MAX_PACKET}, within the frame")]
    Packet { index: usize, len: usize },
    #[error("{0} bytes follow the last packet")]
    Trailing(usize),
}

const HEADER: usize = 1 + 1 + 8 + 2;

impl<'a> Frame<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        if bytes.len() < HEADER {
            return Err(FrameError::Short(bytes.len()));
        }
        if bytes[0] != VERSION {
            return Err(FrameError::Version(bytes[0]));
        }
        let kind = match bytes[1] {
            1 => Kind::Voice,
            2 => Kind::Mix,
            3 => Kind::Monitor,
            4 => Kind::Start,
            k => return Err(FrameError::Kind(k)),
        };
        let end = u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes"));
        let count = u16::from_be_bytes([bytes[10], bytes[11]]) as usize;
        if count > MAX_PACKETS {
            return Err(FrameError::TooManyPackets(count));
        }
        let mut packets = Vec::with_capacity(count);
        let mut rest = &bytes[HEADER..];
        for index in 0..count {
            let bad = |len| FrameError::Packet { index, len };
            let [a, b, tail @ ..] = rest else {
                return Err(bad(0));
            };
            let len = u16::from_be_bytes([*a, *b]) as usize;
            if len > MAX_PACKET || len > tail.len() {
                return Err(bad(len));
            }
            packets.push(&tail[..len]);
            rest = &tail[len..];
        }
        if !rest.is_empty() {
            return Err(FrameError::Trailing(rest.len()));
        }
        Ok(Frame { kind, end, packets })
    }

    /// The frame as bytes, appended to `out` (so a sender reuses one buffer).
    pub fn write(kind: Kind, end: Clock, packets: &[&[u8]], out: &mut Vec<u8>) {
        out.push(VERSION);
        out.push(kind as u8);
        out.extend_from_slice(&end.to_be_bytes());
        out.extend_from_slice(&(packets.len() as u16).to_be_bytes());
        for p in packets {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
    }
}

/// What a client says, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message: whether they sing, the name to show (a guest's is the one on their
    /// link; empty keeps the account's) and `seat`, a random string the page keeps for
    /// the browser session, so a dropped connection comes back to the same place.
    Join {
        #[serde(default)]
        name: String,
        part: Part,
        #[serde(default)]
        seat: String,
    },
    /// Asks for the server's clock; `sent` is the client's own time, echoed back.
    Ping {
        sent: f64,
    },
    /// Move to another bucket (0 to 5).
    Move {
        bucket: usize,
    },
    /// Lead the next song (taking the lead from someone else is a "seize", which the
    /// page confirms first).
    Lead {
        #[serde(default)]
        bpm: Option<u32>,
        #[serde(default)]
        beats_per_repeat: Option<u32>,
        #[serde(default)]
        repeats: Option<u32>,
        /// A backing track from the room's library, by id.
        #[serde(default)]
        track: Option<String>,
    },
    Start,
    /// From the leader, the song ends where their voice ends; from anyone else it halts.
    Stop,
    /// The leader records the next songs, or stops recording.
    Record {
        on: bool,
    },
    Console(Console),
    /// The leader sets a voice's volume (0 to 2) and whether it is soloed.
    Voice {
        singer: SingerId,
        mic_volume: f32,
        soloed: bool,
    },
    /// The leader removes someone for the rest of this session.
    Remove {
        singer: SingerId,
    },
    /// Sing again after being told of lag.
    Retry,
    Chat {
        text: String,
    },
    /// The leader shows lyrics (one line per line) or an image (a URL on this server).
    Lyrics {
        text: String,
        #[serde(default)]
        image: Option<String>,
    },
    /// The leader reached lyric line `line` at timeline position `at` (what they heard
    /// then); every page highlights it when its own playback reaches `at`.
    Cue {
        line: u32,
        at: Clock,
    },
}

/// One person in the room as the pages show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingerView {
    pub id: SingerId,
    pub name: String,
    pub part: Part,
    pub bucket: usize,
    pub mic_volume: f32,
    pub soloed: bool,
    pub lagging: bool,
}

/// The song as everyone sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SongView {
    pub leader: Option<SingerId>,
    pub bpm: Option<u32>,
    pub beats_per_repeat: Option<u32>,
    pub repeats: Option<u32>,
    pub track: Option<String>,
    /// Timeline positions of the song's start and end, once known.
    pub start: Option<Clock>,
    pub end: Option<Clock>,
    /// Whether this song (or the next, before one starts) is recorded.
    pub recording: bool,
    /// How far behind the server's clock each bucket hears, in samples.
    pub delays: Vec<Clock>,
}

/// What the server says, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        version: u8,
        you: SingerId,
        /// The server's clock when this was sent; the client adds half its round trip.
        clock: Clock,
        sample_rate: u64,
        /// Samples per Opus packet, both ways.
        frame: usize,
    },
    Pong {
        sent: f64,
        clock: Clock,
    },
    /// Everyone, sent after `welcome`; then only changes (`singer`, `left`), so a big
    /// room's list is not sent again on every change.
    Roster {
        singers: Vec<SingerView>,
    },
    /// Someone joined or changed (bucket, volume, solo, lag).
    Singer {
        singer: SingerView,
    },
    Left {
        id: SingerId,
    },
    Song {
        song: SongView,
    },
    Console {
        console: Console,
    },
    /// To one singer, about once a second: their place and how early their audio
    /// arrives (negative when late), for the network health meter.
    Health {
        bucket: usize,
        delay: Clock,
        margin_ms: i64,
        lagging: bool,
    },
    Chat {
        from: SingerId,
        name: String,
        text: String,
    },
    Lyrics {
        text: String,
        image: Option<String>,
    },
    Cue {
        line: u32,
        at: Clock,
    },
    /// A finished recording was stored; `url` is its page.
    Recorded {
        id: String,
        url: String,
    },
    /// Nobody was active, so the song, the leader and the mix were reset.
    Reset,
    /// A refusal; `code` is stable, `message` is for people.
    Error {
        code: String,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_as_written() {
        let packets: [&[u8]; 3] = [b"abc", b"", &[7; 300]];
        let mut bytes = Vec::new();
        Frame::write(Kind::Voice, 123_456_789, &packets, &mut bytes);
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!(frame.kind, Kind::Voice);
        assert_eq!(frame.end, 123_456_789);
        assert_eq!(frame.packets, packets);
    }

    #[test]
    fn malformed_frames_say_what_is_wrong() {
        let mut ok = Vec::new();
        Frame::write(Kind::Mix, 5, &[b"xy"], &mut ok);
        assert_eq!(Frame::parse(&ok[..5]), Err(FrameError::Short(5)));
        let mut v = ok.clone();
        v[0] = 9;
        assert_eq!(Frame::parse(&v), Err(FrameError::Version(9)));
        let mut k = ok.clone();
        k[1] = 5;
        assert_eq!(Frame::parse(&k), Err(FrameError::Kind(5)));
        let truncated = &ok[..ok.len() - 1];
        assert_eq!(
            Frame::parse(truncated),
            Err(FrameError::Packet { index: 0, len: 2 })
        );
        let mut trailing = ok.clone();
        trailing.push(0);
        assert_eq!(Frame::parse(&trailing), Err(FrameError::Trailing(1)));
        let mut many = ok.clone();
        many[10..12].copy_from_slice(&(MAX_PACKETS as u16 + 1).to_be_bytes());
        assert_eq!(
            Frame::parse(&many),
            Err(FrameError::TooManyPackets(MAX_PACKETS + 1))
        );
    }

    #[test]
    fn control_messages_are_tagged_json() {
        let join: ClientMessage =
            serde_json::from_str(r#"{"type":"join","name":"Ana","part":"singer"}"#).unwrap();
        assert_eq!(
            join,
            ClientMessage::Join {
                name: "Ana".into(),
                part: Part::Singer,
                seat: String::new(),
            }
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"join","name":"A"}"#).is_err());
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"fly"}"#).is_err());
        let welcome = ServerMessage::Welcome {
            version: VERSION,
            you: 7,
            clock: 48_000,
            sample_rate: 48_000,
            frame: 2880,
        };
        assert_eq!(
            serde_json::to_value(&welcome).unwrap()["type"],
            serde_json::json!("welcome")
        );
    }
}
