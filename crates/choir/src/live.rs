//! The live rooms of this process: one task per room owns its [`Mixer`] (nothing else
//! touches a room's audio, so it needs no lock), fed by the sockets of the people in it
//! through one bounded queue, and ticking each time the mix gains a whole 60 ms packet
//! (every [`FRAME`] samples of the server's clock) to send each bucket's mix.
//!
//! - A socket's first message is `join`. The person's place is keyed by who they are (the
//!   account, or the guest link's name) and the `seat` their page keeps for the browser
//!   session, so a dropped connection that comes back keeps its bucket; a seat left
//!   without a socket for [`GRACE`] is given up (and its decoder freed).
//! - Control messages are applied by the room task in arrival order and answered by
//!   broadcasting what changed (`singer`, `left`, `song`, `console`, …): the full roster
//!   goes to a newcomer, and to everyone only when leading a song reshuffles the buckets.
//! - Each tick, each occupied bucket's mix is encoded once ([`Mixer::tick`]) and the same
//!   bytes are queued for everyone in the bucket.
//! - What the recording gains is handed to the [`Recorder`], which writes it to the blob
//!   store as it comes.
//! - A room with nobody connected for [`GRACE`] ends its task and frees its buffers.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tutti_platform::ws::{Connection, Message, Sender, Utf8Bytes};

use crate::domain::{BUCKETS, Part, Recorded, RoomError, SingerId, SongSetup};
use crate::mixer::{FRAME, MONITOR, MixError, Mixer};
use crate::protocol::{ClientMessage, Frame, ServerMessage, SingerView, SongView, VERSION};
use crate::recorder::{Recorder, Segment};
use crate::timeline::{Clock, SAMPLE_RATE};

/// How long after a packet's end is due the room ticks: the clock's microseconds are
/// rounded, and the timer's granularity is a millisecond.
const TICK_SLACK: Duration = Duration::from_micros(1500);
/// How long a seat is kept for a dropped connection to come back, and a room with nobody
/// connected keeps its song.
pub const GRACE: Duration = Duration::from_secs(30);
/// Ticks between two health messages to one person (about a second).
const HEALTH_TICKS: u64 = 16;
/// Commands waiting for one room's task.
const QUEUE: usize = 4096;
/// Longest chat message or lyrics, in characters.
const MAX_CHAT: usize = 2000;
const MAX_LYRICS: usize = 10_000;

/// The server's clock in 48 kHz samples since the Unix epoch, advancing with the
/// monotonic clock (a jump of the wall clock does not move a running song).
#[derive(Debug, Clone, Copy)]
pub struct ServerClock {
    origin: Instant,
    origin_samples: u64,
}

impl Default for ServerClock {
    fn default() -> ServerClock {
        ServerClock::new()
    }
}

impl ServerClock {
    pub fn new() -> ServerClock {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        ServerClock {
            origin: Instant::now(),
            origin_samples: (since.as_micros() * SAMPLE_RATE as u128 / 1_000_000) as u64,
        }
    }

    pub fn now(&self) -> Clock {
        let elapsed = self.origin.elapsed().as_micros();
        self.origin_samples + (elapsed * SAMPLE_RATE as u128 / 1_000_000) as u64
    }

    /// When this clock reads `at` (or its start, for an earlier `at`).
    pub fn instant_at(&self, at: Clock) -> Instant {
        let samples = at.saturating_sub(self.origin_samples) as u128;
        let micros = samples * 1_000_000 / SAMPLE_RATE as u128;
        self.origin + Duration::from_micros(micros as u64)
    }
}

/// A backing track being loaded: its samples, or why not (shown to the leader).
pub type Loading = std::pin::Pin<Box<dyn Future<Output = Result<Arc<[f32]>, String>> + Send>>;

/// Backing tracks by id, as mono 48 kHz samples, for a `lead`.
pub trait Tracks: Send + Sync {
    /// The samples of `id` in `room`.
    fn load(&self, room: String, id: String) -> Loading;
}

/// Every live room of this process.
#[derive(Clone)]
pub struct Live {
    inner: Arc<LiveInner>,
}

struct LiveInner {
    clock: ServerClock,
    rooms: Mutex<HashMap<String, mpsc::Sender<Command>>>,
    recorder: Recorder,
    tracks: Arc<dyn Tracks>,
}

enum Command {
    Join {
        conn: u64,
        key: String,
        singer: SingerId,
        name: String,
        part: Part,
        sender: Sender,
        reply: oneshot::Sender<Result<(), RoomError>>,
    },
    Control {
        singer: SingerId,
        conn: u64,
        message: Control,
    },
    Voice {
        singer: SingerId,
        conn: u64,
        bytes: Bytes,
    },
    Gone {
        singer: SingerId,
        conn: u64,
    },
}

/// A control message after the socket's task did the slow part (loading a track).
enum Control {
    Client(ClientMessage),
    Lead {
        setup: SongSetup,
        track: Option<String>,
    },
}

impl Live {
    pub fn new(recorder: Recorder, tracks: Arc<dyn Tracks>) -> Live {
        Live {
            inner: Arc::new(LiveInner {
                clock: ServerClock::new(),
                rooms: Mutex::new(HashMap::new()),
                recorder,
                tracks,
            }),
        }
    }

    pub fn clock(&self) -> &ServerClock {
        &self.inner.clock
    }

    /// How many rooms are live.
    pub fn rooms(&self) -> usize {
        self.inner.rooms.lock().expect("rooms lock").len()
    }

    /// The queue of `room`'s task, starting the task if it is not running.
    fn room(&self, room: &str) -> mpsc::Sender<Command> {
        let mut rooms = self.inner.rooms.lock().expect("rooms lock");
        if let Some(tx) = rooms.get(room)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        rooms.insert(room.to_string(), tx.clone());
        let task = RoomTask::new(self.clone(), room.to_string());
        tokio::spawn(task.run(rx));
        tx
    }

    /// Ends a room's task if nothing new arrived for it meanwhile; true when it ended.
    fn retire(&self, room: &str, rx: &mpsc::Receiver<Command>) -> bool {
        let mut rooms = self.inner.rooms.lock().expect("rooms lock");
        if !rx.is_empty() {
            return false;
        }
        rooms.remove(room);
        true
    }

    /// Serves one socket in `room` until it closes. `key` names who is connected (an
    /// account or a guest link), so a seat cannot be taken over by somebody else.
    pub async fn serve(&self, room: String, key: String, mut conn: Connection) {
        let Some(join) = first_join(&mut conn).await else {
            return;
        };
        let (name, part, seat) = join;
        let name = match name.trim() {
            "" => conn.who().name().to_string(),
            n => n.chars().take(80).collect(),
        };
        let singer = seat_id(&key, &seat);
        let id = conn.id();
        let mut tx = self.room(&room);
        let mut answer = None;
        // A room task that ended just as we found it is started again, once.
        for _ in 0..2 {
            let (reply, rx) = oneshot::channel();
            let join = Command::Join {
                conn: id,
                key: key.clone(),
                singer,
                name: name.clone(),
                part,
                sender: conn.sender(),
                reply,
            };
            if tx.send(join).await.is_ok()
                && let Ok(a) = rx.await
            {
                answer = Some(a);
                break;
            }
            tx = self.room(&room);
        }
        match answer {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                let _ = conn.send(error_message(&e));
                conn.close(4003, "removed");
                return;
            }
            None => {
                conn.close(1011, "the room could not be opened");
                return;
            }
        }
        while let Some(message) = conn.recv().await {
            let command = match message {
                Message::Binary(bytes) => Command::Voice {
                    singer,
                    conn: id,
                    bytes,
                },
                Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Ping { sent }) => {
                        let clock = self.inner.clock.now();
                        let _ = conn.send(text_of(&ServerMessage::Pong { sent, clock }));
                        continue;
                    }
                    Ok(ClientMessage::Join { .. }) => {
                        let _ = conn.send(problem("joined", "You are in the room already."));
                        continue;
                    }
                    Ok(ClientMessage::Lead {
                        bpm,
                        beats_per_repeat,
                        repeats,
                        track,
                    }) => match self
                        .setup(&room, bpm, beats_per_repeat, repeats, &track)
                        .await
                    {
                        Ok(setup) => Command::Control {
                            singer,
                            conn: id,
                            message: Control::Lead { setup, track },
                        },
                        Err(message) => {
                            let _ = conn.send(problem("track", &message));
                            continue;
                        }
                    },
                    Ok(message) => Command::Control {
                        singer,
                        conn: id,
                        message: Control::Client(message),
                    },
                    Err(e) => {
                        let _ = conn.send(problem("message", &format!("Not understood: {e}")));
                        continue;
                    }
                },
                _ => continue,
            };
            if tx.send(command).await.is_err() {
                break;
            }
        }
        let _ = tx.send(Command::Gone { singer, conn: id }).await;
    }

    async fn setup(
        &self,
        room: &str,
        bpm: Option<u32>,
        beats_per_repeat: Option<u32>,
        repeats: Option<u32>,
        track: &Option<String>,
    ) -> Result<SongSetup, String> {
        let backing = match track {
            Some(id) if !id.is_empty() => {
                Some(self.inner.tracks.load(room.to_string(), id.clone()).await?)
            }
            _ => None,
        };
        let rounds = match (beats_per_repeat, repeats) {
            (Some(b), Some(r)) if b > 0 && r > 0 => Some(crate::domain::Rounds {
                beats_per_repeat: b,
                repeats: r,
            }),
            (None, None) | (Some(0), _) | (_, Some(0)) => None,
            _ => return Err("rounds need both beats per repeat and repeats".to_string()),
        };
        Ok(SongSetup {
            bpm: bpm.filter(|&b| b > 0),
            rounds,
            backing,
        })
    }
}

/// Waits (at most 10 s) for the socket's `join`.
async fn first_join(conn: &mut Connection) -> Option<(String, Part, String)> {
    let wait = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = conn.recv().await {
            if let Message::Text(text) = message {
                match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Join { name, part, seat }) => {
                        return Some((name, part, seat));
                    }
                    Ok(_) => {
                        let _ = conn.send(problem("join-first", "Send join first."));
                    }
                    Err(e) => {
                        let _ = conn.send(problem("message", &format!("Not understood: {e}")));
                    }
                }
            }
        }
        None
    });
    match wait.await {
        Ok(join) => join,
        Err(_) => {
            conn.close(4008, "no join in time");
            None
        }
    }
}

/// A stable id for (who, seat), below 2^53 so pages read it exactly as a JSON number.
fn seat_id(key: &str, seat: &str) -> SingerId {
    let digest = Sha256::digest(format!("{key}\n{seat}").as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (n >> 11).max(1)
}

fn text_of(message: &ServerMessage) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(message).expect("server messages serialize"),
    ))
}

fn problem(code: &str, message: &str) -> Message {
    text_of(&ServerMessage::Error {
        code: code.to_string(),
        message: message.to_string(),
    })
}

fn error_code(e: &RoomError) -> &'static str {
    match e {
        RoomError::Unknown => "unknown",
        RoomError::Removed => "removed",
        RoomError::NotLeader => "not-leader",
        RoomError::Listening => "listening",
        RoomError::Lagging => "lagging",
        RoomError::Discontinuous { .. } => "discontinuous",
        RoomError::FromTheFuture => "future",
        RoomError::NoSuchBucket => "bucket",
        RoomError::NoSong => "no-song",
        RoomError::Setup(_) => "setup",
    }
}

fn error_message(e: &RoomError) -> Message {
    problem(error_code(e), &e.to_string())
}

struct Member {
    conn: u64,
    key: String,
    /// None while the connection is gone; the seat is kept until `since + GRACE`.
    sender: Option<Sender>,
    since: Instant,
}

struct RoomTask {
    live: Live,
    id: String,
    mixer: Mixer,
    members: HashMap<SingerId, Member>,
    banned: HashSet<String>,
    lyrics: (String, Option<String>),
    track: Option<String>,
    /// The recording being made, if any.
    recording: Option<String>,
    ticks: u64,
    empty_since: Option<Instant>,
}

impl RoomTask {
    fn new(live: Live, id: String) -> RoomTask {
        RoomTask {
            live,
            id,
            mixer: Mixer::default(),
            members: HashMap::new(),
            banned: HashSet::new(),
            lyrics: (String::new(), None),
            track: None,
            recording: None,
            ticks: 0,
            empty_since: None,
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let tick = tokio::time::sleep_until(self.next_tick());
        tokio::pin!(tick);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(c) => self.command(c),
                    None => break,
                },
                () = &mut tick => {
                    self.tick();
                    tick.as_mut().reset(self.next_tick());
                    if self.idle() && self.live.retire(&self.id, &rx) {
                        break;
                    }
                }
            }
        }
        self.finish_recording();
        tracing::debug!(room = %self.id, "choir room closed");
    }

    fn now(&self) -> Clock {
        self.live.inner.clock.now()
    }

    /// Just after the next moment a bucket's mix gains a whole packet. Every bucket's delay
    /// differs by a whole number of packets, so one moment serves them all, and a mix
    /// frame leaves as soon as it can be heard rather than up to a packet later.
    fn next_tick(&self) -> tokio::time::Instant {
        let clock = self.live.inner.clock;
        let now = clock.now();
        let phase = self.mixer.room.delay_of_bucket(0) % FRAME as u64;
        let next = (now.saturating_sub(phase) / FRAME as u64 + 1) * FRAME as u64 + phase;
        tokio::time::Instant::from_std(clock.instant_at(next) + TICK_SLACK)
    }

    /// Nobody connected for [`GRACE`].
    fn idle(&mut self) -> bool {
        let connected = self.members.values().any(|m| m.sender.is_some());
        if connected {
            self.empty_since = None;
            return false;
        }
        let since = *self.empty_since.get_or_insert_with(Instant::now);
        since.elapsed() >= GRACE
    }

    fn command(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Join {
                conn,
                key,
                singer,
                name,
                part,
                sender,
                reply,
            } => {
                if self.banned.contains(&key) {
                    let _ = reply.send(Err(RoomError::Removed));
                    return;
                }
                match self.mixer.room.join(singer, &name, part, now) {
                    Ok(_) => {}
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return;
                    }
                }
                if let Some(old) = self.members.get(&singer).and_then(|m| m.sender.clone()) {
                    old.close(4000, "opened again elsewhere");
                }
                self.members.insert(
                    singer,
                    Member {
                        conn,
                        key,
                        sender: Some(sender.clone()),
                        since: Instant::now(),
                    },
                );
                let _ = reply.send(Ok(()));
                self.welcome(singer, &sender, now);
                self.broadcast_singer(singer);
            }
            Command::Control {
                singer,
                conn,
                message,
            } => {
                if !self.is_current(singer, conn) {
                    return;
                }
                let _ = self.mixer.room.seen(singer, now);
                if let Err(e) = self.control(singer, message, now) {
                    self.send_to(singer, error_message(&e));
                }
            }
            Command::Voice {
                singer,
                conn,
                bytes,
            } => {
                if !self.is_current(singer, conn) {
                    return;
                }
                self.voice(singer, &bytes, now);
            }
            Command::Gone { singer, conn } => {
                if let Some(m) = self.members.get_mut(&singer)
                    && m.conn == conn
                {
                    m.sender = None;
                    m.since = Instant::now();
                }
            }
        }
    }

    fn is_current(&self, singer: SingerId, conn: u64) -> bool {
        self.members
            .get(&singer)
            .is_some_and(|m| m.conn == conn && m.sender.is_some())
    }

    fn voice(&mut self, singer: SingerId, bytes: &[u8], now: Clock) {
        let frame = match Frame::parse(bytes) {
            Ok(f) => f,
            Err(e) => {
                self.send_to(singer, problem("frame", &e.to_string()));
                return;
            }
        };
        let was_lagging = self.mixer.room.singer(singer).is_some_and(|s| s.lagging);
        let due = self.mixer.due(now);
        self.send_audio(due);
        match self.mixer.voice(singer, &frame, now) {
            Ok(crate::domain::Sung::Heard) => {}
            Ok(crate::domain::Sung::Late) => {
                let lagging = self.mixer.room.singer(singer).is_some_and(|s| s.lagging);
                if lagging && !was_lagging {
                    self.broadcast_singer(singer);
                    self.send_to(singer, error_message(&RoomError::Lagging));
                }
            }
            // Once told, a lagging singer's audio is dropped without more messages.
            Err(MixError::Room(RoomError::Lagging)) => {}
            Err(MixError::Room(e)) => self.send_to(singer, error_message(&e)),
            Err(e) => self.send_to(singer, problem("audio", &e.to_string())),
        }
        self.drain_recording();
    }

    fn control(&mut self, singer: SingerId, message: Control, now: Clock) -> Result<(), RoomError> {
        let room = &mut self.mixer.room;
        match message {
            Control::Lead { setup, track } => {
                room.lead(singer, setup)?;
                self.track = track;
                self.drain_recording();
                self.broadcast(&ServerMessage::Roster {
                    singers: self.roster(),
                });
                self.broadcast_song();
            }
            Control::Client(message) => match message {
                ClientMessage::Join { .. }
                | ClientMessage::Ping { .. }
                | ClientMessage::Lead { .. } => {}
                ClientMessage::Move { bucket } => {
                    room.move_to(singer, bucket)?;
                    self.broadcast_singer(singer);
                }
                ClientMessage::Start => {
                    let recording = room.recording;
                    room.start(singer, now)?;
                    if recording {
                        self.begin_recording();
                    }
                    self.broadcast_song();
                }
                ClientMessage::Stop => {
                    room.stop(singer, now)?;
                    self.broadcast_song();
                }
                ClientMessage::Record { on } => {
                    if room.leader() != Some(singer) {
                        return Err(RoomError::NotLeader);
                    }
                    room.recording = on;
                    self.broadcast_song();
                }
                ClientMessage::Console(console) => {
                    room.set_console(singer, console)?;
                    self.broadcast(&ServerMessage::Console { console });
                }
                ClientMessage::Voice {
                    singer: who,
                    mic_volume,
                    soloed,
                } => {
                    room.set_voice(singer, who, mic_volume, soloed)?;
                    self.broadcast_singer(who);
                }
                ClientMessage::Remove { singer: who } => {
                    self.mixer.remove(singer, who)?;
                    if let Some(m) = self.members.remove(&who) {
                        self.banned.insert(m.key);
                        if let Some(s) = m.sender {
                            let _ = s.send(error_message(&RoomError::Removed));
                            s.close(4003, "removed by the leader");
                        }
                    }
                    self.broadcast(&ServerMessage::Left { id: who });
                }
                ClientMessage::Retry => {
                    room.retry(singer)?;
                    self.broadcast_singer(singer);
                }
                ClientMessage::Chat { text } => {
                    let text: String = text.trim().chars().take(MAX_CHAT).collect();
                    if text.is_empty() {
                        return Ok(());
                    }
                    let name = room
                        .singer(singer)
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    self.broadcast(&ServerMessage::Chat {
                        from: singer,
                        name,
                        text,
                    });
                }
                ClientMessage::Lyrics { text, image } => {
                    if room.leader() != Some(singer) {
                        return Err(RoomError::NotLeader);
                    }
                    let text: String = text.chars().take(MAX_LYRICS).collect();
                    let image = image.filter(|i| i.starts_with('/') && !i.starts_with("//"));
                    self.lyrics = (text.clone(), image.clone());
                    self.broadcast(&ServerMessage::Lyrics { text, image });
                }
                ClientMessage::Cue { line, at } => {
                    if room.leader() != Some(singer) {
                        return Err(RoomError::NotLeader);
                    }
                    if at > now {
                        return Err(RoomError::FromTheFuture);
                    }
                    self.broadcast(&ServerMessage::Cue { line, at });
                }
            },
        }
        Ok(())
    }

    fn tick(&mut self) {
        let now = self.now();
        self.ticks += 1;
        // Seats whose connection did not come back are given up.
        let expired: Vec<SingerId> = self
            .members
            .iter()
            .filter(|(_, m)| m.sender.is_none() && m.since.elapsed() >= GRACE)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.members.remove(&id);
            self.mixer.leave(id);
            self.broadcast(&ServerMessage::Left { id });
        }
        // Someone connected is active, singing or not: the socket's keep-alive tells a
        // vanished one, and a listener sends nothing else.
        for (&id, m) in &self.members {
            if m.sender.is_some() {
                let _ = self.mixer.room.seen(id, now);
            }
        }
        let had_song = self.mixer.room.song().is_some() || self.mixer.room.leader().is_some();
        let audio = self.mixer.tick(now);
        if had_song && self.mixer.room.song().is_none() && self.mixer.room.leader().is_none() {
            self.broadcast(&ServerMessage::Reset);
            self.broadcast_song();
        }
        self.drain_recording();
        self.send_audio(audio);
        // Health, spread over the ticks so each person hears about once a second.
        let turn = self.ticks % HEALTH_TICKS;
        for (&id, m) in &self.members {
            if id % HEALTH_TICKS != turn {
                continue;
            }
            let (Some(sender), Some(s)) = (&m.sender, self.mixer.room.singer(id)) else {
                continue;
            };
            let health = ServerMessage::Health {
                bucket: s.bucket,
                delay: self.mixer.room.delay_of_bucket(s.bucket),
                margin_ms: s.margin * 1000 / SAMPLE_RATE as i64,
                lagging: s.lagging,
            };
            let _ = sender.send(text_of(&health));
        }
    }

    /// Queues each bucket's encoded mix for everyone in it (the same bytes for all).
    fn send_audio(&self, audio: Vec<crate::mixer::BucketAudio>) {
        if audio.is_empty() {
            return;
        }
        let leader = self.mixer.room.leader();
        let frames: Vec<(usize, Message)> = audio
            .into_iter()
            .map(|a| (a.bucket, Message::Binary(Bytes::from(a.frame))))
            .collect();
        for (&id, m) in &self.members {
            let Some(sender) = &m.sender else { continue };
            let Some(s) = self.mixer.room.singer(id) else {
                continue;
            };
            for (bucket, frame) in &frames {
                let to_leader = *bucket == MONITOR && leader == Some(id);
                if *bucket == s.bucket || to_leader {
                    let _ = sender.send(frame.clone());
                }
            }
        }
    }

    fn welcome(&self, singer: SingerId, sender: &Sender, now: Clock) {
        let _ = sender.send(text_of(&ServerMessage::Welcome {
            version: VERSION,
            you: singer,
            clock: now,
            sample_rate: SAMPLE_RATE,
            frame: FRAME,
        }));
        let _ = sender.send(text_of(&ServerMessage::Roster {
            singers: self.roster(),
        }));
        let _ = sender.send(text_of(&ServerMessage::Song {
            song: self.song_view(),
        }));
        let _ = sender.send(text_of(&ServerMessage::Console {
            console: self.mixer.room.console(),
        }));
        if !self.lyrics.0.is_empty() || self.lyrics.1.is_some() {
            let _ = sender.send(text_of(&ServerMessage::Lyrics {
                text: self.lyrics.0.clone(),
                image: self.lyrics.1.clone(),
            }));
        }
    }

    fn roster(&self) -> Vec<SingerView> {
        self.mixer.room.singers().map(view).collect()
    }

    fn song_view(&self) -> SongView {
        let room = &self.mixer.room;
        let setup = room.setup();
        let song = room.song();
        SongView {
            leader: room.leader(),
            bpm: setup.bpm,
            beats_per_repeat: setup.rounds.map(|r| r.beats_per_repeat),
            repeats: setup.rounds.map(|r| r.repeats),
            track: self.track.clone(),
            start: song.map(|s| s.0),
            end: song.and_then(|s| s.1),
            recording: room.recording_now(),
            delays: (0..BUCKETS).map(|b| room.delay_of_bucket(b)).collect(),
        }
    }

    fn broadcast_song(&self) {
        self.broadcast(&ServerMessage::Song {
            song: self.song_view(),
        });
    }

    fn broadcast_singer(&self, singer: SingerId) {
        if let Some(s) = self.mixer.room.singer(singer) {
            self.broadcast(&ServerMessage::Singer { singer: view(s) });
        }
    }

    fn broadcast(&self, message: &ServerMessage) {
        let message = text_of(message);
        for m in self.members.values() {
            if let Some(s) = &m.sender {
                let _ = s.send(message.clone());
            }
        }
    }

    fn send_to(&self, singer: SingerId, message: Message) {
        if let Some(s) = self.members.get(&singer).and_then(|m| m.sender.as_ref()) {
            let _ = s.send(message);
        }
    }

    fn begin_recording(&mut self) {
        self.finish_recording();
        let id = tutti_store::new_id();
        self.live.inner.recorder.send(Segment::Begin {
            id: id.clone(),
            room: self.id.clone(),
        });
        self.recording = Some(id);
    }

    /// The song was replaced or the room closed before the recording's natural end.
    fn finish_recording(&mut self) {
        self.drain_recording();
        if let Some(id) = self.recording.take() {
            self.live
                .inner
                .recorder
                .send(Segment::End { id, length: None });
        }
    }

    fn drain_recording(&mut self) {
        for r in self.mixer.room.drain_recorded() {
            let Some(id) = self.recording.clone() else {
                continue;
            };
            let segment = match r {
                Recorded::Mix { at, samples } => Segment::Mix { id, at, samples },
                Recorded::Stem {
                    singer,
                    name,
                    at,
                    samples,
                } => Segment::Stem {
                    id,
                    singer,
                    name,
                    at,
                    samples,
                },
                Recorded::Finished { length } => {
                    self.recording = None;
                    let url = format!("/choir/rooms/{}/recordings#{id}", self.id);
                    self.live.inner.recorder.send(Segment::End {
                        id: id.clone(),
                        length: Some(length),
                    });
                    self.broadcast(&ServerMessage::Recorded { id, url });
                    self.broadcast_song();
                    continue;
                }
            };
            self.live.inner.recorder.send(segment);
        }
    }
}

fn view(s: &crate::domain::Singer) -> SingerView {
    SingerView {
        id: s.id,
        name: s.name.clone(),
        part: s.part,
        bucket: s.bucket,
        mic_volume: s.mic_volume,
        soloed: s.soloed,
        lagging: s.lagging,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_stable_and_fit_a_javascript_number() {
        let a = seat_id("user:1", "seat-a");
        assert_eq!(a, seat_id("user:1", "seat-a"));
        assert_ne!(a, seat_id("user:2", "seat-a"));
        assert_ne!(a, seat_id("user:1", "seat-b"));
        assert!(a < 1 << 53);
    }

    #[test]
    fn the_clock_counts_samples_since_the_epoch() {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let clock = ServerClock::new().now();
        assert!(clock / SAMPLE_RATE >= seconds && clock / SAMPLE_RATE <= seconds + 60);
    }

    #[test]
    fn a_position_maps_to_the_moment_the_clock_reads_it() {
        let clock = ServerClock::new();
        let at = clock.now() + 7;
        let later = clock.instant_at(at + SAMPLE_RATE) - clock.instant_at(at);
        assert_eq!(later, Duration::from_secs(1));
        assert!(clock.instant_at(at) >= clock.origin);
        assert_eq!(clock.instant_at(0), clock.origin);
    }
}
