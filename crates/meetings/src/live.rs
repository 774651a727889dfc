//! The running meetings of this process: one task per meeting owns its rules
//! ([`Room`]), its notes document ([`NotesRoom`]) and its participants' sockets, and
//! drives the SFU for them. Sockets only read and forward; everything that changes the
//! meeting happens in order on its task, so no lock is held across an await.
//!
//! A meeting's task starts with its first socket and stops when nobody is in or waiting:
//! the notes are folded into one snapshot and the meeting's end is recorded. Chat lines
//! are stored before they are sent to anyone, so the history the next arrival gets is
//! what everyone saw.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes};
use tokio::sync::{OnceCell, mpsc, oneshot};
use tutti_platform::ws::{Connection, Sender};
use tutti_store::Db;

use crate::db::{self, MeetingRow};
use crate::notes::{self, NotesRoom};
use crate::protocol::{
    self, ClientMessage, ErrorCode, IceServer, ParticipantId, ServerMessage, Source, Track, VERSION,
};
use crate::room::{Arrival, Entrant, Room, RoomError};
use crate::sfu::{self, ForwardedTrack, SfuEvent, SfuHandle, SfuSettings, TrackKind};

/// Close codes of the protocol (see `protocol`).
pub mod close {
    pub const ENDED: u16 = 4001;
    pub const REMOVED: u16 = 4003;
    pub const NO_HELLO: u16 = 4008;
    pub const VERSION: u16 = 4009;
}

/// How long a socket has to say `hello`.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// Chat lines a newcomer is sent.
const HISTORY: i64 = 200;

/// Every running meeting of this process, and the SFU they share.
#[derive(Clone)]
pub struct Live {
    inner: Arc<LiveInner>,
}

struct LiveInner {
    db: Db,
    settings: SfuSettings,
    /// Started on the first call, so a server nobody meets in opens no media ports.
    sfu: OnceCell<SfuHandle>,
    rooms: Mutex<HashMap<String, mpsc::UnboundedSender<Command>>>,
    /// Participant ids, unique across this process's meetings (the SFU's key).
    ids: Arc<AtomicU64>,
}

enum Command {
    Arrive {
        entrant: Entrant,
        sender: Sender,
        reply: oneshot::Sender<Result<ParticipantId, RoomError>>,
    },
    Text(ParticipantId, ClientMessage),
    Notes(ParticipantId, Vec<u8>),
    Sfu(ParticipantId, SfuEvent),
    Gone(ParticipantId),
}

impl Live {
    pub fn new(db: Db, settings: SfuSettings) -> Live {
        Live {
            inner: Arc::new(LiveInner {
                db,
                settings,
                sfu: OnceCell::new(),
                rooms: Mutex::new(HashMap::new()),
                ids: Arc::new(AtomicU64::new(1)),
            }),
        }
    }

    /// The SFU, started on first use.
    pub async fn sfu(&self) -> Result<&SfuHandle, sfu::SfuError> {
        self.inner
            .sfu
            .get_or_try_init(|| SfuHandle::start(&self.inner.settings))
            .await
    }

    /// How many meetings are running.
    pub fn running(&self) -> usize {
        self.inner.rooms.lock().expect("rooms lock").len()
    }

    /// Runs one participant's socket until it closes.
    pub async fn serve(&self, meeting: MeetingRow, entrant: Entrant, mut conn: Connection) {
        match hello(&mut conn).await {
            Some(v) if v == VERSION => {}
            Some(v) => {
                let _ = conn.send(text(&ServerMessage::error(
                    ErrorCode::Hello,
                    format!("this server speaks version {VERSION}, not {v}: reload the page"),
                )));
                conn.close(close::VERSION, "version");
                return;
            }
            None => return,
        }
        let sfu = match self.sfu().await {
            Ok(s) => s.clone(),
            Err(e) => {
                tracing::error!(error = %e, "meetings: the SFU could not start");
                let _ = conn.send(text(&ServerMessage::error(
                    ErrorCode::Unavailable,
                    "calls are not available on this server right now",
                )));
                conn.close(1011, "sfu");
                return;
            }
        };
        let (reply, answer) = oneshot::channel();
        let arrive = Command::Arrive {
            entrant,
            sender: conn.sender(),
            reply,
        };
        let Some(room) = self.room_for(&meeting, sfu, arrive) else {
            return;
        };
        let id = match answer.await {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => {
                let _ = conn.send(text(&room_error(&e)));
                let code = match e {
                    RoomError::Removed => close::REMOVED,
                    RoomError::Ended => close::ENDED,
                    _ => 1008,
                };
                conn.close(code, "refused");
                return;
            }
            Err(_) => return,
        };
        while let Some(message) = conn.recv().await {
            let command = match message {
                Message::Text(t) => match ClientMessage::parse(&t) {
                    Ok(m) => Command::Text(id, m),
                    Err(problem) => {
                        let _ = conn.send(text(&problem));
                        continue;
                    }
                },
                Message::Binary(b) => match protocol::split_binary(&b) {
                    Ok((_, payload)) => Command::Notes(id, payload.to_vec()),
                    Err(problem) => {
                        let _ = conn.send(text(&problem));
                        continue;
                    }
                },
                _ => continue,
            };
            if room.send(command).is_err() {
                break;
            }
        }
        let _ = room.send(Command::Gone(id));
    }

    /// The meeting's task, started if it is not running; `first` is its first command.
    fn room_for(
        &self,
        meeting: &MeetingRow,
        sfu: SfuHandle,
        first: Command,
    ) -> Option<mpsc::UnboundedSender<Command>> {
        let mut rooms = self.inner.rooms.lock().expect("rooms lock");
        if let Some(tx) = rooms.get(&meeting.id)
            && !tx.is_closed()
        {
            let tx = tx.clone();
            return tx.send(first).ok().map(|_| tx);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(first).ok()?;
        rooms.insert(meeting.id.clone(), tx.clone());
        let task = RoomTask {
            live: self.clone(),
            meeting: meeting.clone(),
            sfu,
            room: Room::numbered_by(self.inner.ids.clone()),
            notes: None,
            conns: HashMap::new(),
            speaking: HashSet::new(),
            commands: tx.clone(),
        };
        tokio::spawn(task.run(rx));
        Some(tx)
    }

    fn forget(&self, meeting: &str, tx: &mpsc::UnboundedSender<Command>) {
        let mut rooms = self.inner.rooms.lock().expect("rooms lock");
        if rooms.get(meeting).is_some_and(|t| t.same_channel(tx)) {
            rooms.remove(meeting);
        }
    }
}

/// Waits for `hello`; `None` when the socket closed or said nothing in time.
async fn hello(conn: &mut Connection) -> Option<u32> {
    let wait = tokio::time::timeout(HELLO_WITHIN, async {
        while let Some(message) = conn.recv().await {
            let Message::Text(t) = message else { continue };
            match ClientMessage::parse(&t) {
                Ok(ClientMessage::Hello { version }) => return Some(version),
                Ok(_) => {
                    let _ = conn.send(text(&ServerMessage::error(
                        ErrorCode::Hello,
                        "say hello first",
                    )));
                }
                Err(problem) => {
                    let _ = conn.send(text(&problem));
                }
            }
        }
        None
    });
    match wait.await {
        Ok(v) => v,
        Err(_) => {
            conn.close(close::NO_HELLO, "no hello in time");
            None
        }
    }
}

fn text(message: &ServerMessage) -> Message {
    Message::Text(Utf8Bytes::from(message.to_json()))
}

fn room_error(e: &RoomError) -> ServerMessage {
    let code = match e {
        RoomError::NotHost => ErrorCode::NotHost,
        RoomError::NoSuchParticipant(_) => ErrorCode::Participant,
        RoomError::EmptyChat | RoomError::LongChat(_) => ErrorCode::Chat,
        RoomError::Removed | RoomError::Ended | RoomError::NoName => ErrorCode::Message,
    };
    ServerMessage::error(code, e.to_string())
}

/// One participant's socket and media, as the room task knows them.
struct Conn {
    sender: Sender,
    /// What each of their own mids carries, as their page said.
    sources: HashMap<String, Source>,
    /// What they receive, as the SFU last offered it.
    forwarded: Vec<ForwardedTrack>,
    /// Whether the SFU knows them (they are in, not waiting).
    joined: bool,
}

struct RoomTask {
    live: Live,
    meeting: MeetingRow,
    sfu: SfuHandle,
    room: Room,
    /// Opened when the first participant comes in.
    notes: Option<NotesRoom>,
    conns: HashMap<ParticipantId, Conn>,
    speaking: HashSet<ParticipantId>,
    /// For the SFU event pumps.
    commands: mpsc::UnboundedSender<Command>,
}

impl RoomTask {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        while let Some(command) = rx.recv().await {
            match command {
                Command::Arrive {
                    entrant,
                    sender,
                    reply,
                } => self.arrive(entrant, sender, reply).await,
                Command::Text(id, m) => {
                    if let Err(e) = self.message(id, m).await {
                        self.send(id, &e);
                    }
                }
                Command::Notes(id, bytes) => self.notes(id, &bytes).await,
                Command::Sfu(id, event) => self.sfu_event(id, event),
                Command::Gone(id) => self.gone(id).await,
            }
            if self.room.ended() || (self.room.is_empty() && self.conns.is_empty()) {
                break;
            }
        }
        self.live.forget(&self.meeting.id, &self.commands);
        for (id, c) in self.conns.drain() {
            if c.joined {
                self.sfu.leave(id).await;
            }
            c.sender.close(close::ENDED, "ended");
        }
        if let Some(notes) = self.notes.take()
            && let Err(e) = notes.close().await
        {
            tracing::warn!(meeting = %self.meeting.id, error = %e, "meetings: could not fold the notes");
        }
        let pool = self.live.inner.db.pool();
        if let Err(e) = db::mark_ended(pool, &self.meeting.id, now_ms()).await {
            tracing::warn!(meeting = %self.meeting.id, error = %e, "meetings: could not record the end");
        }
    }

    fn send(&self, id: ParticipantId, message: &ServerMessage) {
        if let Some(c) = self.conns.get(&id) {
            let _ = c.sender.send(text(message));
        }
    }

    /// To everyone in (not those waiting), but `except`.
    fn broadcast(&self, message: &ServerMessage, except: Option<ParticipantId>) {
        let m = text(message);
        for (id, c) in &self.conns {
            if Some(*id) != except && c.joined {
                let _ = c.sender.send(m.clone());
            }
        }
    }

    fn tell_hosts_who_waits(&self) {
        let lobby = ServerMessage::Lobby {
            waiting: self.room.waiting(),
        };
        for host in self.room.hosts() {
            self.send(host, &lobby);
        }
    }

    async fn arrive(
        &mut self,
        entrant: Entrant,
        sender: Sender,
        reply: oneshot::Sender<Result<ParticipantId, RoomError>>,
    ) {
        let (id, arrival) = match self.room.arrive(entrant) {
            Ok(a) => a,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        self.conns.insert(
            id,
            Conn {
                sender,
                sources: HashMap::new(),
                forwarded: Vec::new(),
                joined: false,
            },
        );
        let _ = reply.send(Ok(id));
        match arrival {
            Arrival::Waiting => {
                self.send(id, &ServerMessage::Waiting);
                self.tell_hosts_who_waits();
            }
            Arrival::In => self.enter(id).await,
        }
    }

    /// Someone is in: the SFU, the roster, the chat history and the notes.
    async fn enter(&mut self, id: ParticipantId) {
        if self.notes.is_none() {
            match NotesRoom::open(&self.live.inner.db, &self.meeting.id).await {
                Ok(n) => self.notes = Some(n),
                Err(e) => {
                    tracing::error!(meeting = %self.meeting.id, error = %e, "meetings: notes could not open");
                }
            }
            if self.meeting.started_at.is_none() {
                let pool = self.live.inner.db.pool();
                if let Err(e) = db::mark_started(pool, &self.meeting.id, now_ms()).await {
                    tracing::warn!(error = %e, "meetings: could not record the start");
                }
                self.meeting.started_at = Some(now_ms());
            }
        }
        match self.sfu.join(&self.meeting.id, id).await {
            Ok(mut events) => {
                let commands = self.commands.clone();
                tokio::spawn(async move {
                    while let Some(e) = events.recv().await {
                        if commands.send(Command::Sfu(id, e)).is_err() {
                            break;
                        }
                    }
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "meetings: the SFU refused a participant");
                self.send(
                    id,
                    &ServerMessage::error(ErrorCode::Unavailable, "media could not start"),
                );
            }
        }
        if let Some(c) = self.conns.get_mut(&id) {
            c.joined = true;
        }
        let role = self
            .room
            .participant(id)
            .map(|p| p.role)
            .expect("entered participants are in the room");
        let ice: Vec<IceServer> = self
            .sfu
            .ice_servers(&format!("meeting-{id}"))
            .into_iter()
            .map(|s| IceServer {
                urls: s.urls,
                username: Some(s.username),
                credential: Some(s.credential),
            })
            .collect();
        self.send(
            id,
            &ServerMessage::Welcome {
                version: VERSION,
                you: id,
                role,
                title: self.meeting.title.clone(),
                ice_servers: ice,
                locked: self.room.locked(),
                recording: self.room.recording(),
            },
        );
        self.send(
            id,
            &ServerMessage::Roster {
                participants: self.room.roster(),
            },
        );
        let pool = self.live.inner.db.pool();
        match db::chat_lines(pool, &self.meeting.id, HISTORY).await {
            Ok(lines) => self.send(id, &ServerMessage::ChatHistory { lines }),
            Err(e) => tracing::warn!(error = %e, "meetings: chat history unreadable"),
        }
        if let Some(n) = &self.notes
            && let Some(c) = self.conns.get(&id)
        {
            for m in n.greet() {
                let _ = c.sender.send(Message::Binary(notes::frame(&m).into()));
            }
        }
        if let Some(p) = self.room.participant(id).cloned() {
            self.broadcast(&ServerMessage::Joined { participant: p }, Some(id));
        }
        if role.hosts() {
            self.send(
                id,
                &ServerMessage::Lobby {
                    waiting: self.room.waiting(),
                },
            );
        }
    }

    async fn message(&mut self, id: ParticipantId, m: ClientMessage) -> Result<(), ServerMessage> {
        if !self.room.is_in(id) {
            // Waiting: nothing but the wait.
            return match m {
                ClientMessage::Ping => {
                    self.send(id, &ServerMessage::Pong);
                    Ok(())
                }
                _ => Err(ServerMessage::error(
                    ErrorCode::Hello,
                    "you are in the waiting room until a host lets you in",
                )),
            };
        }
        let sfu_error = |e: sfu::SfuError| ServerMessage::error(ErrorCode::Sdp, e.to_string());
        match m {
            ClientMessage::Hello { .. } => {}
            ClientMessage::Ping => self.send(id, &ServerMessage::Pong),
            ClientMessage::Offer { sdp } => {
                let answer = self.sfu.offer(id, sdp).await.map_err(sfu_error)?;
                self.send(id, &ServerMessage::Answer { sdp: answer });
            }
            ClientMessage::Answer { sdp } => self.sfu.answer(id, sdp).await.map_err(sfu_error)?,
            ClientMessage::Candidate { candidate } => {
                if !candidate.is_empty() {
                    self.sfu.candidate(id, candidate).await.map_err(sfu_error)?;
                }
            }
            ClientMessage::Media {
                audio_muted,
                video_muted,
                sources,
            } => {
                let screen = sources.iter().any(|s| s.source == Source::Screen);
                let p = self
                    .room
                    .set_media(id, audio_muted, video_muted, screen)
                    .map_err(|e| room_error(&e))?
                    .clone();
                self.sfu
                    .set_muted(id, !self.room.forwards_audio(id), video_muted)
                    .await
                    .map_err(sfu_error)?;
                let changed = self.conns.get_mut(&id).is_some_and(|c| {
                    let new: HashMap<String, Source> =
                        sources.into_iter().map(|s| (s.mid, s.source)).collect();
                    let changed = c.sources != new;
                    c.sources = new;
                    changed
                });
                self.broadcast(&ServerMessage::Participant { participant: p }, None);
                if changed {
                    // Subscribers learn which of their tracks is now a screen.
                    let others: Vec<ParticipantId> =
                        self.conns.keys().copied().filter(|o| *o != id).collect();
                    for other in others {
                        self.send_tracks(other);
                    }
                }
            }
            ClientMessage::Layer { participant, layer } => {
                let layer = match layer {
                    protocol::Layer::High => sfu::Layer::High,
                    protocol::Layer::Low => sfu::Layer::Low,
                };
                self.sfu
                    .set_preferred_layer(id, participant, layer)
                    .await
                    .map_err(sfu_error)?;
            }
            ClientMessage::Chat { text: t } => {
                let line = self
                    .room
                    .chat(id, &t, now_rfc3339())
                    .map_err(|e| room_error(&e))?;
                let pool = self.live.inner.db.pool();
                db::add_chat_line(pool, &self.meeting.id, self.room.account(id), &line)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "meetings: chat not stored");
                        ServerMessage::error(
                            ErrorCode::Unavailable,
                            "the message was not stored; send it again",
                        )
                    })?;
                self.broadcast(&ServerMessage::Chat { line }, None);
            }
            ClientMessage::Hand { raised } => {
                let p = self
                    .room
                    .hand(id, raised)
                    .map_err(|e| room_error(&e))?
                    .clone();
                self.broadcast(&ServerMessage::Participant { participant: p }, None);
            }
            ClientMessage::Mute { participant } => {
                let p = self
                    .room
                    .mute(id, participant)
                    .map_err(|e| room_error(&e))?
                    .clone();
                self.sfu
                    .set_muted(participant, true, p.video_muted)
                    .await
                    .map_err(sfu_error)?;
                self.send(participant, &ServerMessage::Muted);
                self.broadcast(&ServerMessage::Participant { participant: p }, None);
            }
            ClientMessage::Remove { participant } => {
                let was_in = self.room.is_in(participant);
                self.room
                    .remove(id, participant)
                    .map_err(|e| room_error(&e))?;
                self.send(participant, &ServerMessage::Removed);
                if let Some(c) = self.conns.remove(&participant) {
                    c.sender.close(close::REMOVED, "removed");
                }
                if was_in {
                    self.left(participant).await;
                } else {
                    self.tell_hosts_who_waits();
                }
            }
            ClientMessage::Admit { participant } => {
                let admitted = self
                    .room
                    .admit(id, participant)
                    .map_err(|e| room_error(&e))?;
                for a in admitted {
                    self.send(a, &ServerMessage::Admitted);
                    self.enter(a).await;
                }
                self.tell_hosts_who_waits();
            }
            ClientMessage::Lock { locked } => {
                self.room.lock(id, locked).map_err(|e| room_error(&e))?;
                self.broadcast(&ServerMessage::Locked { locked }, None);
            }
            ClientMessage::Record { .. } => {
                // Checked as a host action, but the server does not record meetings yet.
                if !self.room.participant(id).is_some_and(|p| p.role.hosts()) {
                    return Err(room_error(&RoomError::NotHost));
                }
                return Err(ServerMessage::error(
                    ErrorCode::Unavailable,
                    "this server does not record meetings yet",
                ));
            }
            ClientMessage::End => {
                self.room.end(id).map_err(|e| room_error(&e))?;
                let ended = text(&ServerMessage::Ended);
                for c in self.conns.values() {
                    let _ = c.sender.send(ended.clone());
                    c.sender.close(close::ENDED, "ended");
                }
            }
        }
        Ok(())
    }

    /// A subscriber's tracks, each named for whose it is and what it carries.
    fn send_tracks(&self, id: ParticipantId) {
        let Some(c) = self.conns.get(&id) else { return };
        let tracks = c
            .forwarded
            .iter()
            .map(|t| Track {
                mid: t.mid.clone(),
                participant: t.publisher,
                source: self
                    .conns
                    .get(&t.publisher)
                    .and_then(|p| p.sources.get(&t.source_mid).copied())
                    .unwrap_or(match t.kind {
                        TrackKind::Audio => Source::Microphone,
                        TrackKind::Video => Source::Camera,
                    }),
            })
            .collect();
        self.send(id, &ServerMessage::Tracks { tracks });
    }

    fn sfu_event(&mut self, id: ParticipantId, event: SfuEvent) {
        match event {
            SfuEvent::SdpOffer { sdp, tracks } => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.forwarded = tracks;
                }
                self.send_tracks(id);
                self.send(id, &ServerMessage::Offer { sdp });
            }
            SfuEvent::Speaking { speaking, .. } => {
                let changed = if speaking {
                    self.speaking.insert(id)
                } else {
                    self.speaking.remove(&id)
                };
                if changed {
                    let mut ids: Vec<ParticipantId> = self.speaking.iter().copied().collect();
                    ids.sort_unstable();
                    self.broadcast(&ServerMessage::Speaking { ids }, None);
                }
            }
            SfuEvent::Connected => tracing::debug!(participant = id, "meetings: media connected"),
            SfuEvent::Disconnected => {
                tracing::debug!(participant = id, "meetings: media disconnected")
            }
            SfuEvent::IceRestartNeeded => {
                tracing::debug!(participant = id, "meetings: ICE restart needed")
            }
            SfuEvent::Published { .. } => {}
        }
    }

    async fn notes(&mut self, id: ParticipantId, bytes: &[u8]) {
        if !self.room.is_in(id) {
            return;
        }
        let Some(n) = self.notes.as_mut() else {
            self.send(
                id,
                &ServerMessage::error(ErrorCode::Unavailable, "the notes are not available"),
            );
            return;
        };
        match n.receive(id, bytes).await {
            Ok(out) => {
                if let Some(c) = self.conns.get(&id) {
                    for m in &out.reply {
                        let _ = c.sender.send(Message::Binary(notes::frame(m).into()));
                    }
                }
                for m in &out.broadcast {
                    let frame = Message::Binary(notes::frame(m).into());
                    for (other, c) in &self.conns {
                        if *other != id && c.joined {
                            let _ = c.sender.send(frame.clone());
                        }
                    }
                }
            }
            Err(e) => {
                let code = if e.is_client_fault() {
                    ErrorCode::Message
                } else {
                    ErrorCode::Unavailable
                };
                self.send(id, &ServerMessage::error(code, e.to_string()));
            }
        }
    }

    async fn gone(&mut self, id: ParticipantId) {
        let was_in = self.room.leave(id);
        self.conns.remove(&id);
        if was_in {
            self.left(id).await;
        } else {
            self.tell_hosts_who_waits();
        }
    }

    /// After someone in left (or was removed): the SFU, the notes' cursors, the roster.
    async fn left(&mut self, id: ParticipantId) {
        self.room.leave(id);
        self.sfu.leave(id).await;
        if self.speaking.remove(&id) {
            let ids = self.speaking.iter().copied().collect();
            self.broadcast(&ServerMessage::Speaking { ids }, None);
        }
        if let Some(gone) = self.notes.as_mut().and_then(|n| n.leave(id)) {
            let frame = Message::Binary(notes::frame(&gone).into());
            for c in self.conns.values().filter(|c| c.joined) {
                let _ = c.sender.send(frame.clone());
            }
        }
        self.broadcast(&ServerMessage::Left { id }, None);
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
