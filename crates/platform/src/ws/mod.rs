//! WebSockets for the studios (choir rooms, meetings): an authenticated upgrade, then a
//! [`Connection`] the studio reads from and writes to without caring about keep-alive,
//! slow clients, limits or shutdown.
//!
//! A studio declares its socket route like any other, through [`crate::Routes`], with
//! [`crate::Access::Public`]: the access layer only knows signed-in identities, while a
//! socket may also be opened by a guest holding a token for one room. The check happens in
//! the handler's arguments instead, and cannot be skipped since [`upgrade`] needs a
//! [`Peer`]:
//!
//! ```ignore
//! async fn socket(ws: WebSocketUpgrade, peer: Peer, Path(id): Path<String>) -> Response {
//!     ws::upgrade(ws, peer, RoomKey::new("choir", &id), |mut conn| async move {
//!         while let Some(message) = conn.recv().await {
//!             let _ = conn.send(message); // never waits: a full queue drops the client
//!         }
//!     })
//! }
//! // Routes::new().page(Access::Public, Method::GET, "/choir/rooms/{id}/socket", socket)
//! ```
//!
//! - [`Peer`] (an extractor) refuses a handshake whose `Origin` is neither `public_url`'s
//!   origin nor the `Host` it was sent to (cross-site WebSocket hijacking; browsers
//!   always send `Origin` on a handshake, other clients may leave it out), then takes the
//!   identity the gate resolved (session cookie or bearer token) or, failing that, a
//!   guest token from the `guest` query parameter ([`Hub::guest_token`] makes them). No
//!   identity and no valid token is a 401 before any upgrade.
//! - [`upgrade`] refuses a guest whose token is for another room (403), a person already
//!   holding `websocket.max_per_user` sockets (429) and any upgrade once the server stops
//!   (503); then it runs the studio's handler with the [`Connection`].
//! - Each socket has a bounded outgoing queue (`websocket.queue` messages).
//!   [`Connection::send`] never waits: when the queue is full the client is not keeping
//!   up, and it is disconnected with close code 1008 ([`close::TOO_SLOW`]) instead of
//!   letting memory grow: its queue is freed at once, and it has `websocket.timeout_secs`
//!   to read through what the network already holds up to that close frame. The server
//!   pings every `websocket.ping_secs`; a client from which nothing (not even a pong)
//!   arrives for `websocket.timeout_secs` is dropped.
//! - When the server stops, every socket gets a close frame 1001 "going away"
//!   ([`Hub::shutdown`], called by the server when its stop token fires).
//! - Metrics: `tutti_ws_open_sockets` (gauge), `tutti_ws_messages_total{direction="in"|"out"}`,
//!   `tutti_ws_slow_clients_dropped_total`, `tutti_ws_refused_total{reason}`.
//!
//! Guest tokens are signed with a server secret generated on first use and kept in the
//! database (`platform_secrets`, name `ws-guest`), so every node behind one database
//! accepts every node's tokens. Deleting that row invalidates all outstanding guest
//! links; a new secret is made on the next use.

pub mod guest;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocket;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use futures_util::{SinkExt as _, Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tutti_store::Db;
use tutti_web::Problem;

pub use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocketUpgrade};
pub use guest::{Guest, GuestError};

use crate::access::Role;
use crate::identity::{Gate, Identity};
use crate::{Platform, PlatformError};

/// The close codes the platform sends (RFC 6455 §7.4.1).
pub mod close {
    /// The handler finished.
    pub const NORMAL: u16 = 1000;
    /// The server is stopping, or the client stopped answering pings.
    pub const GOING_AWAY: u16 = 1001;
    /// The client did not read its messages fast enough and its queue filled.
    pub const TOO_SLOW: u16 = 1008;
}

/// How long a closing socket gets to send its close frame and hear the answer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// The name of the guest-token key in `platform_secrets`.
const SECRET_NAME: &str = "ws-guest";

/// The `[websocket]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketSettings {
    /// Sockets one person (or one guest name in one room) may hold open at once.
    pub max_per_user: usize,
    /// Messages waiting to be sent to one client before it counts as too slow and is
    /// disconnected.
    pub queue: usize,
    /// Seconds between pings to each client.
    pub ping_secs: u64,
    /// Seconds without any frame from a client (pongs count) before it is dropped.
    pub timeout_secs: u64,
    /// Largest message a client may send, in bytes.
    pub max_message_bytes: usize,
}

impl Default for SocketSettings {
    fn default() -> Self {
        SocketSettings {
            max_per_user: 8,
            queue: 256,
            ping_secs: 20,
            timeout_secs: 60,
            max_message_bytes: 1 << 20,
        }
    }
}

impl SocketSettings {
    /// The rules these settings break, each a sentence naming the setting.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_per_user == 0 {
            problems.push("websocket.max_per_user must be at least 1".to_string());
        }
        if self.queue == 0 {
            problems.push("websocket.queue must be at least 1 (messages)".to_string());
        }
        if self.ping_secs == 0 {
            problems.push("websocket.ping_secs must be at least 1".to_string());
        }
        if self.timeout_secs <= self.ping_secs {
            problems.push(format!(
                "websocket.timeout_secs = {} must be more than websocket.ping_secs = {}, or \
                 live clients would be dropped between two pings",
                self.timeout_secs, self.ping_secs
            ));
        }
        if self.max_message_bytes < 1024 {
            problems.push("websocket.max_message_bytes must be at least 1024".to_string());
        }
        problems
    }
}

/// Names one room across studios, e.g. `choir:tuesday-rehearsal`; guest tokens are
/// scoped to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomKey(String);

impl RoomKey {
    pub fn new(studio: &str, room: &str) -> RoomKey {
        RoomKey(format!("{studio}:{room}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The sockets of this process: limits, guest tokens, metrics and shutdown. One per
/// server, in [`Platform::sockets`]; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    db: Db,
    settings: SocketSettings,
    secret: tokio::sync::OnceCell<Vec<u8>>,
    per_user: Mutex<HashMap<String, usize>>,
    stop: CancellationToken,
    tracker: TaskTracker,
    next_id: AtomicU64,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("settings", &self.inner.settings)
            .field("open", &self.open())
            .finish_non_exhaustive()
    }
}

impl Hub {
    pub fn new(db: Db, settings: SocketSettings) -> Hub {
        Hub {
            inner: Arc::new(HubInner {
                db,
                settings,
                secret: tokio::sync::OnceCell::new(),
                per_user: Mutex::new(HashMap::new()),
                stop: CancellationToken::new(),
                tracker: TaskTracker::new(),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    pub fn settings(&self) -> &SocketSettings {
        &self.inner.settings
    }

    /// Sockets open in this process right now.
    pub fn open(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Whether the server is stopping (new upgrades are refused).
    pub fn is_stopping(&self) -> bool {
        self.inner.stop.is_cancelled()
    }

    /// A token admitting `name` as a guest to `room` for `valid_for`, to put in a link as
    /// `?guest=<token>`.
    pub async fn guest_token(
        &self,
        room: &RoomKey,
        name: &str,
        valid_for: Duration,
    ) -> Result<String, PlatformError> {
        let expires_at = tutti_store::now_ms() / 1000 + valid_for.as_secs() as i64;
        self.guest_token_until(room, name, expires_at).await
    }

    /// [`Hub::guest_token`] with the expiry as Unix seconds.
    pub async fn guest_token_until(
        &self,
        room: &RoomKey,
        name: &str,
        expires_at: i64,
    ) -> Result<String, PlatformError> {
        let secret = self.secret().await?;
        Ok(guest::sign(secret, room, name, expires_at))
    }

    /// The guest a token admits, or the problem to answer.
    pub async fn verify_guest(&self, token: &str) -> Result<Guest, Problem> {
        let secret = self.secret().await.map_err(Problem::from)?;
        guest::verify(secret, token, tutti_store::now_ms() / 1000).map_err(|e| {
            let detail = match e {
                GuestError::Expired => "This guest link has expired. Ask for a new one.",
                GuestError::Malformed | GuestError::BadSignature => {
                    "This guest link is not valid. Ask for a new one."
                }
            };
            refused("guest");
            Problem::new(StatusCode::UNAUTHORIZED, "guest-token", detail).with_field("guest")
        })
    }

    async fn secret(&self) -> Result<&[u8], PlatformError> {
        self.inner
            .secret
            .get_or_try_init(|| load_secret(&self.inner.db))
            .await
            .map(Vec::as_slice)
    }

    /// Sends every open socket a close frame 1001 "going away" and refuses new ones.
    pub fn close_all(&self) {
        self.inner.stop.cancel();
        self.inner.tracker.close();
    }

    /// [`Hub::close_all`], then waits up to `grace` for every socket to finish closing.
    pub async fn shutdown(&self, grace: Duration) {
        self.close_all();
        if tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.open(),
                "sockets still closing after {} s",
                grace.as_secs()
            );
        }
    }

    fn reserve(&self, who: &Who) -> Option<Slot> {
        let key = who.limit_key();
        let mut counts = self.inner.per_user.lock().expect("socket counts lock");
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= self.inner.settings.max_per_user {
            return None;
        }
        *n += 1;
        Some(Slot {
            hub: self.clone(),
            key,
        })
    }
}

/// The guest-token key, made once and shared by every node through the database.
async fn load_secret(db: &Db) -> Result<Vec<u8>, PlatformError> {
    crate::server_secret(db, SECRET_NAME).await
}

/// One socket counted against its owner's limit until dropped.
struct Slot {
    hub: Hub,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.hub.inner.per_user.lock().expect("socket counts lock");
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Who is on the other end of a socket.
#[derive(Debug, Clone)]
pub enum Who {
    /// Someone signed in (session cookie or API token).
    Member(Identity),
    /// A guest on a token for one room.
    Guest(Guest),
}

impl Who {
    /// The name to show to the others in the room.
    pub fn name(&self) -> &str {
        match self {
            Who::Member(identity) => &identity.user.name,
            Who::Guest(guest) => &guest.name,
        }
    }

    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Who::Member(identity) => Some(identity),
            Who::Guest(_) => None,
        }
    }

    fn limit_key(&self) -> String {
        match self {
            Who::Member(identity) => format!("user:{}", identity.user.id),
            Who::Guest(guest) => format!("guest:{}:{}", guest.room, guest.name),
        }
    }
}

/// The authenticated other end of a socket handshake, for [`upgrade`]. Extracting it
/// checks the `Origin` and requires a signed-in identity or a valid guest token
/// (`?guest=`); it answers 403 or 401 otherwise.
pub struct Peer {
    who: Who,
    hub: Hub,
}

impl Peer {
    pub fn who(&self) -> &Who {
        &self.who
    }

    /// Refuses guests and people without `role` (admins hold every role).
    pub fn require(&self, role: &Role) -> Result<(), Problem> {
        match &self.who {
            Who::Member(identity) => identity.require(role).map_err(Problem::from),
            Who::Guest(_) => Err(Problem::forbidden(format!(
                "This needs an account with the {role} role; a guest link is not enough."
            ))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let Some(gate) = parts.extensions.get::<Gate>().cloned() else {
            return Err(
                Problem::internal(&"a socket route is not behind the platform's gate")
                    .into_response(),
            );
        };
        if let Err(problem) = check_origin(&gate.platform, &parts.headers) {
            refused("origin");
            return Err(problem.into_response());
        }
        let hub = gate.platform.sockets.clone();
        if let Some(identity) = parts
            .extensions
            .get::<Option<Identity>>()
            .cloned()
            .flatten()
        {
            return Ok(Peer {
                who: Who::Member(identity),
                hub,
            });
        }
        let token = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "guest")
                .map(|(_, v)| v.into_owned())
        });
        match token {
            Some(token) => match hub.verify_guest(&token).await {
                Ok(guest) => Ok(Peer {
                    who: Who::Guest(guest),
                    hub,
                }),
                Err(problem) => Err(problem.into_response()),
            },
            None => {
                refused("unauthenticated");
                Err(Problem::unauthorized().into_response())
            }
        }
    }
}

/// A handshake must come from a page of this site: its `Origin`, when the client sends
/// one, is `public_url`'s origin or the `Host` it was sent to.
fn check_origin(p: &Platform, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("(not text)");
    let public = p.settings.public_url.origin().ascii_serialization();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    if origin == public || (host.is_some() && bare == host) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "Live connections must come from this site's pages, not from {origin}."
        ))
        .with_field("Origin"))
    }
}

fn refused(reason: &'static str) {
    metrics::counter!("tutti_ws_refused_total", "reason" => reason).increment(1);
}

/// Accepts the handshake and runs `handler` with the connection, or answers why not: a
/// guest token for another room (403), too many sockets for this person (429), the server
/// stopping (503). The socket closes when the handler returns.
pub fn upgrade<F, Fut>(ws: WebSocketUpgrade, peer: Peer, room: RoomKey, handler: F) -> Response
where
    F: FnOnce(Connection) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Peer { who, hub } = peer;
    if hub.is_stopping() {
        refused("stopping");
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            "The server is restarting. Reconnect in a moment.",
        )
        .into_response();
    }
    if let Who::Guest(guest) = &who
        && guest.room != room
    {
        refused("other-room");
        return Problem::forbidden("This guest link is for another room.")
            .with_field("guest")
            .into_response();
    }
    let Some(slot) = hub.reserve(&who) else {
        refused("limit");
        let max = hub.settings().max_per_user;
        return Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-sockets",
            format!(
                "You already have {max} live connections open (the most allowed). Close a \
                 tab or window and try again."
            ),
        )
        .into_response();
    };
    let max = hub.settings().max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            let tracker = hub.inner.tracker.clone();
            tracker.track_future(drive(hub, socket, who, room, slot, handler))
        })
}

/// Why [`Sender::send`] did not queue a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The queue was full: the client is being disconnected as too slow.
    #[error("the client is too slow; it is being disconnected")]
    Slow,
    /// The socket is closed or closing.
    #[error("the socket is closed")]
    Closed,
}

struct Shared {
    /// Fired to end the socket now, with `farewell` as its close frame.
    kill: CancellationToken,
    closing: AtomicBool,
    farewell: Mutex<Option<CloseFrame>>,
}

fn frame(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    }
}

/// Queues messages for one socket; cheap to clone, e.g. into a room's member list.
#[derive(Clone)]
pub struct Sender {
    tx: mpsc::Sender<Message>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Sender {
    /// Queues a text or binary message without waiting. A full queue means the client is
    /// not reading: it is disconnected with close code 1008 and this answers
    /// [`SendError::Slow`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(SendError::Closed);
        }
        match self.tx.try_send(message.into()) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                if self.end_now(close::TOO_SLOW, "too slow: messages were not read in time") {
                    metrics::counter!("tutti_ws_slow_clients_dropped_total").increment(1);
                    tracing::info!("dropped a websocket client whose queue was full");
                }
                Err(SendError::Slow)
            }
            Err(TrySendError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// Closes the socket after the messages already queued, with this code and reason.
    pub fn close(&self, code: u16, reason: &str) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Err(TrySendError::Full(_)) =
            self.tx.try_send(Message::Close(Some(frame(code, reason))))
        {
            *self.shared.farewell.lock().expect("farewell lock") = Some(frame(code, reason));
            self.shared.kill.cancel();
        }
    }

    /// Whether the socket is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire) || self.tx.is_closed()
    }

    /// Marks the socket closing and ends it at once; false when it was closing already.
    fn end_now(&self, code: u16, reason: &str) -> bool {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return false;
        }
        *self.shared.farewell.lock().expect("farewell lock") = Some(frame(code, reason));
        self.shared.kill.cancel();
        true
    }
}

/// One open socket, as its handler sees it: who is there, in which room, a way to send
/// (never waiting) and the messages they send (text and binary; pings and closes are
/// handled here). Also a [`Stream`] of those messages.
pub struct Connection {
    id: u64,
    who: Who,
    room: RoomKey,
    sender: Sender,
    incoming: mpsc::Receiver<Message>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("room", &self.room)
            .field("who", &self.who.name())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Unique among this process's sockets.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn who(&self) -> &Who {
        &self.who
    }

    pub fn room(&self) -> &RoomKey {
        &self.room
    }

    /// See [`Sender::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.sender.send(message)
    }

    /// A handle to send from elsewhere (a room broadcasting to its members).
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// The next text or binary message; `None` once the socket has closed.
    pub async fn recv(&mut self) -> Option<Message> {
        self.incoming.recv().await
    }

    /// See [`Sender::close`].
    pub fn close(&self, code: u16, reason: &str) {
        self.sender.close(code, reason);
    }
}

impl Stream for Connection {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.incoming.poll_recv(cx)
    }
}

/// How a socket's pumping ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The handler closed it (its close frame is sent).
    Closed,
    /// The client sent a close frame.
    ClientClosed,
    /// Reading or writing failed: the connection is gone.
    Broken,
    /// Nothing arrived for `timeout_secs`.
    TimedOut,
    /// Ended from outside: a full queue, or a close that did not fit in it.
    Killed,
    /// The server is stopping.
    Shutdown,
}

async fn drive<F, Fut>(hub: Hub, socket: WebSocket, who: Who, room: RoomKey, slot: Slot, handler: F)
where
    F: FnOnce(Connection) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let settings = hub.settings().clone();
    let (out_tx, mut out_rx) = mpsc::channel(settings.queue);
    let (in_tx, in_rx) = mpsc::channel(settings.queue);
    let shared = Arc::new(Shared {
        kill: CancellationToken::new(),
        closing: AtomicBool::new(false),
        farewell: Mutex::new(None),
    });
    let sender = Sender {
        tx: out_tx,
        shared: shared.clone(),
    };
    let connection = Connection {
        id: hub.inner.next_id.fetch_add(1, Ordering::Relaxed),
        who,
        room,
        sender: sender.clone(),
        incoming: in_rx,
    };
    metrics::gauge!("tutti_ws_open_sockets").increment(1.0);
    let handler = tokio::spawn(async move {
        handler(connection).await;
        sender.close(close::NORMAL, "");
    });
    let end = pump(&hub, socket, &mut out_rx, in_tx, &shared, &settings).await;
    shared.closing.store(true, Ordering::Release);
    drop(out_rx);
    drop(slot);
    metrics::gauge!("tutti_ws_open_sockets").decrement(1.0);
    tracing::debug!(?end, "websocket closed");
    // The handler now reads `None` and finishes on its own; a panic in it is logged.
    if end == End::Shutdown {
        let _ = tokio::time::timeout(CLOSE_WAIT, handler).await;
    }
}

async fn pump(
    hub: &Hub,
    socket: WebSocket,
    out_rx: &mut mpsc::Receiver<Message>,
    in_tx: mpsc::Sender<Message>,
    shared: &Shared,
    settings: &SocketSettings,
) -> End {
    let (mut sink, mut stream) = socket.split();
    let ping_every = Duration::from_secs(settings.ping_secs);
    let silence = Duration::from_secs(settings.timeout_secs);
    let end = {
        let writer = async {
            let start = tokio::time::Instant::now() + ping_every;
            let mut ping = tokio::time::interval_at(start, ping_every);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    message = out_rx.recv() => match message {
                        Some(Message::Close(frame)) => {
                            let _ = sink.send(Message::Close(frame)).await;
                            return End::Closed;
                        }
                        Some(message) => {
                            if sink.send(message).await.is_err() {
                                return End::Broken;
                            }
                            metrics::counter!("tutti_ws_messages_total", "direction" => "out")
                                .increment(1);
                        }
                        None => return End::Closed,
                    },
                    _ = ping.tick() => {
                        if sink.send(Message::Ping(Default::default())).await.is_err() {
                            return End::Broken;
                        }
                    }
                }
            }
        };
        let reader = async {
            loop {
                match tokio::time::timeout(silence, stream.next()).await {
                    Err(_) => return End::TimedOut,
                    Ok(None | Some(Err(_))) => return End::Broken,
                    Ok(Some(Ok(message))) => match message {
                        Message::Text(_) | Message::Binary(_) => {
                            metrics::counter!("tutti_ws_messages_total", "direction" => "in")
                                .increment(1);
                            // A handler that stopped reading gets nothing more; a slow
                            // one holds the socket's reading back, not memory.
                            let _ = in_tx.send(message).await;
                        }
                        Message::Close(_) => return End::ClientClosed,
                        Message::Ping(_) | Message::Pong(_) => {}
                    },
                }
            }
        };
        tokio::select! {
            end = writer => end,
            end = reader => end,
            _ = hub.inner.stop.cancelled() => End::Shutdown,
            _ = shared.kill.cancelled() => End::Killed,
        }
    };
    let farewell = match end {
        End::Shutdown => Some(frame(close::GOING_AWAY, "going away")),
        End::TimedOut => Some(frame(close::GOING_AWAY, "no answer to pings")),
        End::Killed => shared.farewell.lock().expect("farewell lock").take(),
        End::Closed | End::ClientClosed | End::Broken => None,
    };
    if end == End::Broken {
        return end;
    }
    if end == End::Killed {
        // What is still queued will never be sent: free it now, not after the wait below.
        out_rx.close();
        while out_rx.try_recv().is_ok() {}
        // A client that fell behind is usually still reading, only slowly, and its close
        // frame sits behind everything the network already holds for it. CLOSE_WAIT is far
        // too short for that (it would mostly see the connection cut, 1006, never 1008), so
        // it gets the patience a silent client gets; a stopping server cuts it short.
        if let Some(farewell) = farewell {
            tokio::select! {
                _ = tokio::time::timeout(silence, sink.send(Message::Close(Some(farewell)))) => {}
                _ = hub.inner.stop.cancelled() => {}
            }
        }
        return end;
    }
    if let Some(farewell) = farewell {
        let _ = tokio::time::timeout(CLOSE_WAIT, sink.send(Message::Close(Some(farewell)))).await;
    }
    // The closing handshake: flush our close (or the reply to theirs), then wait briefly
    // for the client's close before dropping the connection.
    let _ = tokio::time::timeout(CLOSE_WAIT, sink.flush()).await;
    if end != End::ClientClosed {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_are_valid_and_mistakes_are_named() {
        assert!(SocketSettings::default().problems().is_empty());
        let wrong = SocketSettings {
            max_per_user: 0,
            queue: 0,
            ping_secs: 30,
            timeout_secs: 30,
            max_message_bytes: 10,
        };
        let problems = wrong.problems().join("\n");
        for key in ["max_per_user", "queue", "timeout_secs", "max_message_bytes"] {
            assert!(problems.contains(key), "{key}: {problems}");
        }
    }

    #[test]
    fn room_keys_name_their_studio() {
        assert_eq!(RoomKey::new("choir", "tue").as_str(), "choir:tue");
    }
}
