//! Live rooms, shaped the way choir and meetings will use them: everyone in a room hears
//! every text and binary message anyone sends, the sender too (so a client knows its
//! message went round). Members sign in as usual or follow a guest link that a member
//! asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tutti_platform::Platform;
use tutti_platform::ws::{self, Connection, Message, Peer, RoomKey, Sender, WebSocketUpgrade};
use tutti_web::{Json, Problem};
use utoipa::ToSchema;

/// The members of each open room, by connection id.
#[derive(Clone, Default)]
pub struct Rooms(Arc<Mutex<HashMap<RoomKey, HashMap<u64, Sender>>>>);

pub fn room_key(id: &str) -> RoomKey {
    RoomKey::new("rehearsal", id)
}

/// `GET /rehearsal/rooms/{id}/socket`
pub async fn socket(rooms: Rooms, ws: WebSocketUpgrade, peer: Peer, id: String) -> Response {
    ws::upgrade(ws, peer, room_key(&id), move |conn| rooms.join(conn))
}

impl Rooms {
    async fn join(self, mut conn: Connection) {
        let room = conn.room().clone();
        self.0
            .lock()
            .unwrap()
            .entry(room.clone())
            .or_default()
            .insert(conn.id(), conn.sender());
        // Sent once the member is in the list, so a client that waits for it knows it
        // will hear everything said from then on.
        let _ = conn.send(format!("welcome {}", conn.who().name()));
        while let Some(message) = conn.recv().await {
            self.broadcast(&room, message);
        }
        let mut rooms = self.0.lock().unwrap();
        if let Some(members) = rooms.get_mut(&room) {
            members.remove(&conn.id());
            if members.is_empty() {
                rooms.remove(&room);
            }
        }
    }

    fn broadcast(&self, room: &RoomKey, message: Message) {
        let rooms = self.0.lock().unwrap();
        for member in rooms.get(room).into_iter().flat_map(|m| m.values()) {
            // A member too slow for its queue is disconnected by the platform; the rest
            // carry on.
            let _ = member.send(message.clone());
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewGuest {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GuestLink {
    /// For the socket's `?guest=` parameter.
    pub token: String,
}

#[utoipa::path(post, path = "/rehearsal/rooms/{id}/guests", tag = "rehearsal",
    summary = "A link that lets a guest without an account into the room",
    params(("id" = String, Path)), request_body = NewGuest,
    responses((status = 201, body = GuestLink)))]
pub async fn invite_guest(
    State(p): State<Platform>,
    Path(id): Path<String>,
    Json(body): Json<NewGuest>,
) -> Result<(StatusCode, Json<GuestLink>), Problem> {
    let token = p
        .sockets
        .guest_token(&room_key(&id), &body.name, Duration::from_secs(3600))
        .await?;
    Ok((StatusCode::CREATED, Json(GuestLink { token })))
}
