//! The meeting's wire protocol, version 1: one WebSocket per participant carries the
//! signalling for their WebRTC connection to the SFU, the roster, chat, raised hands, the
//! host's actions and the notes; media itself goes over WebRTC.
//!
//! **Text frames** are JSON objects with a `type` ([`ClientMessage`], [`ServerMessage`]).
//! Unknown fields are ignored, so a newer page talks to an older server.
//!
//! **Binary frames** start with one byte naming their channel:
//!
//! | first byte | rest |
//! | --- | --- |
//! | `0x59`, ASCII `Y` ([`CHANNEL_NOTES`]) | one y-protocols message (sync step 1, step 2, update, or awareness), as `y-websocket` sends it |
//!
//! A session, at `GET /meetings/join/{code}/socket` (a guest adds `?guest=<pass>`, the
//! pass from `POST /api/v1/meetings/join/{code}/guests` with the name to show, given when
//! the host allows guests):
//!
//! 1. The client sends `hello` with the version it speaks. If the meeting is locked, or
//!    the person is a guest or outside the team while the waiting room is on, the server
//!    answers `waiting` and nothing else until a host admits them (`admitted`) or turns
//!    them away (`removed`).
//! 2. Admitted, the client gets `welcome` (who they are, their role, the ICE servers
//!    with any TURN credentials, whether recording is on), `roster` and `chat_history`,
//!    then the notes' sync step 1 on the notes channel.
//! 3. Media: the client sends an `offer` with its SDP (its microphone, camera and
//!    screen as send-only transceivers, simulcast `h`/`l` for video); the server answers
//!    `answer`. When others' tracks appear or go, the server sends its own `offer` and
//!    the client answers with `answer`; `tracks` says whose each `mid` is. Trickled
//!    candidates go both ways as `candidate`. A client whose network changed sends a new
//!    `offer` with fresh ICE credentials (an ICE restart).
//! 4. Changes arrive as `joined`, `left`, `participant` (mute state, hand, screen),
//!    `speaking`, `chat`, `lobby` (to hosts: who waits), `locked`, `recording`; refusals
//!    as `error` with a stable `code`.
//! 5. The host ends the meeting for everyone with `end`: everyone gets `ended` and the
//!    socket closes with code 4001.
//!
//! Close codes: 4001 the meeting ended, 4003 removed by a host, 4004 no such meeting,
//! 4008 no `hello` in time, 4009 a newer version is needed; the platform's own are 1001
//! (server stopping, or no answer to pings) and 1008 (a client too slow to read).

use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;

/// The first byte of a binary frame carrying the notes' Yjs messages.
pub const CHANNEL_NOTES: u8 = crate::notes::FRAME_TAG;

/// A participant of this run of the meeting (not an account id: a guest has one too, and
/// the same person in two tabs has two).
pub type ParticipantId = u64;

/// The largest text frame taken: an SDP offer with simulcast and a screen is ~10 kB.
pub const MAX_TEXT: usize = 64 * 1024;
/// The longest chat message, in characters.
pub const MAX_CHAT: usize = 2000;

/// What a participant is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Created the meeting, or manages its team: may mute others, remove, lock, admit,
    /// record and end.
    Host,
    /// A signed-in member (of the team, for a team meeting).
    Member,
    /// Joined with a display name and no account.
    Guest,
}

impl Role {
    pub fn hosts(self) -> bool {
        self == Role::Host
    }
}

/// Where a video track comes from, so the page lays out camera tiles and a shared screen
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Microphone,
    Camera,
    Screen,
}

/// A simulcast layer a subscriber asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    High,
    Low,
}

/// What a client says, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First message: the version the page speaks.
    Hello {
        version: u32,
    },
    /// The client's SDP offer: its first, a renegotiation or an ICE restart.
    Offer {
        sdp: String,
    },
    /// The client's answer to the server's offer.
    Answer {
        sdp: String,
    },
    /// A trickled ICE candidate (`a=candidate:` line without the `a=`); empty ends them.
    Candidate {
        candidate: String,
    },
    /// What the participant sends: muted microphone or camera, sharing a screen, and
    /// which `mid` carries what.
    Media {
        audio_muted: bool,
        video_muted: bool,
        #[serde(default)]
        sources: Vec<TrackSource>,
    },
    /// Asks for another participant's video at this simulcast layer.
    Layer {
        participant: ParticipantId,
        layer: Layer,
    },
    Chat {
        text: String,
    },
    Hand {
        raised: bool,
    },
    /// Host: mute someone's microphone. There is no unmute: only they can unmute.
    Mute {
        participant: ParticipantId,
    },
    /// Host: remove someone and keep them out of this run of the meeting.
    Remove {
        participant: ParticipantId,
    },
    /// Host: let in one participant from the waiting room, or all (`participant` absent).
    Admit {
        #[serde(default)]
        participant: Option<ParticipantId>,
    },
    /// Host: nobody new gets in without being admitted.
    Lock {
        locked: bool,
    },
    /// Host: start or stop recording.
    Record {
        on: bool,
    },
    /// Host: end the meeting for everyone.
    End,
    /// Keeps the socket alive through proxies; answered with `pong`.
    Ping,
}

/// One of a participant's tracks: what its `mid` carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TrackSource {
    pub mid: String,
    pub source: Source,
}

/// A participant as everyone sees them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Participant {
    pub id: ParticipantId,
    pub name: String,
    pub role: Role,
    pub audio_muted: bool,
    pub video_muted: bool,
    /// Muted by a host: they may unmute themselves, the host cannot.
    pub muted_by_host: bool,
    pub screen: bool,
    pub hand: bool,
}

/// A forwarded track as a subscriber sees it: the `mid` in the server's SDP, whose it is
/// and what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Track {
    pub mid: String,
    pub participant: ParticipantId,
    pub source: Source,
}

/// A chat message as kept with the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ChatLine {
    pub from: Option<ParticipantId>,
    pub name: String,
    pub text: String,
    /// RFC 3339.
    pub at: String,
}

/// A STUN or TURN server for the browser's `RTCPeerConnection`, in the shape its
/// `iceServers` takes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Someone in the waiting room, as hosts see them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Waiting {
    pub id: ParticipantId,
    pub name: String,
}

/// What the server says, as JSON text frames.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        version: u32,
        you: ParticipantId,
        role: Role,
        title: String,
        ice_servers: Vec<IceServer>,
        locked: bool,
        recording: bool,
    },
    /// In the waiting room until a host admits them.
    Waiting,
    Admitted,
    Roster {
        participants: Vec<Participant>,
    },
    Joined {
        participant: Participant,
    },
    Left {
        id: ParticipantId,
    },
    /// A participant's state changed (mute, hand, screen).
    Participant {
        participant: Participant,
    },
    /// Who is speaking now (audio level above the threshold), replacing the last list.
    Speaking {
        ids: Vec<ParticipantId>,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Candidate {
        candidate: String,
    },
    /// The forwarded tracks in the server's current SDP.
    Tracks {
        tracks: Vec<Track>,
    },
    ChatHistory {
        lines: Vec<ChatLine>,
    },
    Chat {
        line: ChatLine,
    },
    /// To hosts: who is waiting now.
    Lobby {
        waiting: Vec<Waiting>,
    },
    Locked {
        locked: bool,
    },
    Recording {
        on: bool,
    },
    /// A host muted your microphone; unmuting is yours to do.
    Muted,
    Removed,
    Ended,
    Pong,
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// Stable reasons a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not JSON, an unknown `type`, or a field of the wrong shape.
    Message,
    /// Only a host may do that.
    NotHost,
    /// No such participant in the meeting.
    Participant,
    /// The SDP was refused by the SFU.
    Sdp,
    /// Too long, or empty.
    Chat,
    /// The client must say `hello` first.
    Hello,
    /// The server could not do it (storage or SFU failure); try again.
    Unavailable,
}

impl ServerMessage {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages serialise")
    }
}

impl ClientMessage {
    /// Reads a text frame, saying what is wrong with one that is refused.
    pub fn parse(text: &str) -> Result<ClientMessage, ServerMessage> {
        if text.len() > MAX_TEXT {
            return Err(ServerMessage::error(
                ErrorCode::Message,
                format!("the message is {} bytes; at most {MAX_TEXT}", text.len()),
            ));
        }
        serde_json::from_str(text)
            .map_err(|e| ServerMessage::error(ErrorCode::Message, e.to_string()))
    }
}

/// A binary frame split into its channel and contents.
pub fn split_binary(bytes: &[u8]) -> Result<(u8, &[u8]), ServerMessage> {
    match bytes.split_first() {
        Some((&CHANNEL_NOTES, rest)) => Ok((CHANNEL_NOTES, rest)),
        Some((c, _)) => Err(ServerMessage::error(
            ErrorCode::Message,
            format!("binary channel {c} is unknown; this server speaks {CHANNEL_NOTES} (notes)"),
        )),
        None => Err(ServerMessage::error(
            ErrorCode::Message,
            "an empty binary frame",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_read_as_the_docs_spell_them() {
        let m = ClientMessage::parse(r#"{"type":"hello","version":1}"#).unwrap();
        assert_eq!(m, ClientMessage::Hello { version: 1 });
        let m = ClientMessage::parse(r#"{"type":"admit"}"#).unwrap();
        assert_eq!(m, ClientMessage::Admit { participant: None });
        let m = ClientMessage::parse(r#"{"type":"mute","participant":7,"extra":true}"#).unwrap();
        assert_eq!(m, ClientMessage::Mute { participant: 7 });
        let m = ClientMessage::parse(
            r#"{"type":"media","audio_muted":true,"video_muted":false,"sources":[{"mid":"2","source":"screen"}]}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Media {
                audio_muted: true,
                video_muted: false,
                sources: vec![TrackSource {
                    mid: "2".into(),
                    source: Source::Screen
                }]
            }
        );
    }

    #[test]
    fn a_refused_message_says_why() {
        for bad in [
            "not json",
            r#"{"type":"unmute","participant":1}"#,
            r#"{"type":"mute","participant":"x"}"#,
        ] {
            match ClientMessage::parse(bad) {
                Err(ServerMessage::Error { code, message }) => {
                    assert_eq!(code, ErrorCode::Message);
                    assert!(!message.is_empty());
                }
                other => panic!("{bad} gave {other:?}"),
            }
        }
        let long = format!(r#"{{"type":"chat","text":"{}"}}"#, "a".repeat(MAX_TEXT));
        assert!(ClientMessage::parse(&long).is_err());
    }

    #[test]
    fn server_messages_carry_their_type() {
        let json = ServerMessage::Left { id: 3 }.to_json();
        assert_eq!(json, r#"{"type":"left","id":3}"#);
        let json = ServerMessage::error(ErrorCode::NotHost, "only hosts").to_json();
        assert_eq!(
            json,
            r#"{"type":"error","code":"not-host","message":"only hosts"}"#
        );
    }

    #[test]
    fn binary_frames_name_their_channel() {
        let frame = crate::notes::frame(&[0, 1, 2]);
        assert_eq!(
            split_binary(&frame).unwrap(),
            (CHANNEL_NOTES, &[0u8, 1, 2][..])
        );
        assert!(split_binary(&[]).is_err());
        assert!(split_binary(&[9, 1]).is_err());
    }
}
