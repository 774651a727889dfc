//! The choir's JSON API under `/api/v1/choir/` (rooms, guest passes, the backing-track
//! library, the setlist, scheduled sessions) and the room's WebSocket. Handlers parse,
//! check who may do what, and answer problems naming the field at fault.

use std::time::Duration;

use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutti_platform::ws::{self, Peer, RoomKey, WebSocketUpgrade, Who};
use tutti_platform::{Access, Identity, MaybeIdentity, Role, Routes, StudioRoutes, uploads};
use tutti_store::NewJob;
use tutti_web::{Json, Problem};
use utoipa::ToSchema;
use utoipa_axum::routes;

use crate::db::{self, RoomRow};
use crate::error::ChoirError;
use crate::jobs::ConvertTrack;
use crate::{Choir, pages};

type Result<T> = std::result::Result<T, Problem>;

/// How long a guest pass to a room lasts: a long rehearsal, with a reconnect or two.
const GUEST_PASS: Duration = Duration::from_secs(12 * 3600);

/// Every page and API route of the studio.
pub fn routes(c: Choir) -> StudioRoutes {
    pages::routes(Routes::new())
        .page(
            Access::Public,
            Method::GET,
            "/choir/rooms/{id}/socket",
            socket,
        )
        .api(Access::Role(Role::MEMBER), routes!(my_rooms, create_room))
        .api(Access::Role(Role::MEMBER), routes!(delete_room))
        .api(Access::Public, routes!(guest_pass))
        .api(Access::Role(Role::MEMBER), routes!(add_track))
        .api(Access::Role(Role::MEMBER), routes!(add_image))
        .api(Access::Role(Role::MEMBER), routes!(add_song))
        .api(Access::Role(Role::MEMBER), routes!(add_session))
        .with_state(c)
}

/// A room as its API and pages describe it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomView {
    pub id: String,
    pub name: String,
    /// The room's page, to share.
    pub url: String,
    /// Its WebSocket (a path on this server).
    pub socket_url: String,
    pub has_password: bool,
    pub members_only: bool,
}

pub fn room_view(r: &RoomRow) -> RoomView {
    RoomView {
        id: r.id.clone(),
        name: r.name.clone(),
        url: format!("/choir/rooms/{}", r.id),
        socket_url: format!("/choir/rooms/{}/socket", r.id),
        has_password: r.password_hash.is_some(),
        members_only: r.members_only != 0,
    }
}

/// A new room.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoomInput {
    #[schema(pattern = "\\S", max_length = 120)]
    pub name: String,
    /// Asked of everyone who enters (checked by the server); none or empty: no password.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub password: Option<String>,
    /// Only signed-in people may enter.
    #[serde(default)]
    pub members_only: bool,
}

pub fn check_name(name: &str) -> std::result::Result<String, ChoirError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ChoirError::invalid("name", "A room needs a name."));
    }
    if name.chars().count() > 120 {
        return Err(ChoirError::invalid(
            "name",
            "A room's name has at most 120 characters.",
        ));
    }
    Ok(name.to_string())
}

/// The password's argon2 hash, or none for no password.
pub async fn hash_password(
    password: Option<&str>,
) -> std::result::Result<Option<String>, ChoirError> {
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if password.chars().count() > 200 {
        return Err(ChoirError::invalid(
            "password",
            "A room's password has at most 200 characters.",
        ));
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::PasswordHasher as _;
        argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| Some(h.to_string()))
            .map_err(ChoirError::internal)
    })
    .await
    .map_err(ChoirError::internal)?
}

/// Checks `given` against the room's password (none set: anything passes).
pub async fn check_password(
    room: &RoomRow,
    given: Option<&str>,
) -> std::result::Result<(), ChoirError> {
    let Some(hash) = room.password_hash.clone() else {
        return Ok(());
    };
    let given = given.unwrap_or_default().to_string();
    if given.is_empty() {
        return Err(ChoirError::Password(
            "This room has a password; ask whoever shared the link.".into(),
        ));
    }
    let ok = tokio::task::spawn_blocking(move || {
        use argon2::password_hash::PasswordVerifier as _;
        argon2::password_hash::phc::PasswordHash::new(&hash)
            .map(|parsed| {
                argon2::Argon2::default()
                    .verify_password(given.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(ChoirError::internal)?;
    if ok {
        Ok(())
    } else {
        Err(ChoirError::Password(
            "That is not the room's password.".into(),
        ))
    }
}

pub async fn room_or_404(c: &Choir, id: &str) -> std::result::Result<RoomRow, ChoirError> {
    db::room(c.platform.db.pool(), id)
        .await?
        .ok_or_else(|| ChoirError::not_found("There is no such choir room."))
}

/// The owner and administrators manage a room.
pub fn may_manage(identity: Option<&Identity>, room: &RoomRow) -> bool {
    identity.is_some_and(|i| i.user.id == room.owner_id || i.has(&Role::ADMIN))
}

pub fn must_manage(identity: &Identity, room: &RoomRow) -> std::result::Result<(), ChoirError> {
    if may_manage(Some(identity), room) {
        Ok(())
    } else {
        Err(ChoirError::forbidden(
            "not-owner",
            "Only the room's owner or an administrator may change it.",
        ))
    }
}

pub async fn create(
    c: &Choir,
    identity: &Identity,
    input: &RoomInput,
) -> std::result::Result<RoomRow, ChoirError> {
    let name = check_name(&input.name)?;
    let hash = hash_password(input.password.as_deref()).await?;
    let room = db::create_room(
        c.platform.db.pool(),
        &identity.user.id,
        &name,
        hash.as_deref(),
        input.members_only,
    )
    .await?;
    tracing::info!(room = %room.id, "choir room created");
    Ok(room)
}

#[utoipa::path(get, path = "/choir/rooms", tag = "choir",
    summary = "The choir rooms you own",
    responses((status = 200, body = Vec<RoomView>)))]
async fn my_rooms(State(c): State<Choir>, identity: Identity) -> Result<Json<Vec<RoomView>>> {
    let rooms = db::rooms_of(c.platform.db.pool(), &identity.user.id)
        .await
        .map_err(Problem::from)?;
    Ok(Json(rooms.iter().map(room_view).collect()))
}

#[utoipa::path(post, path = "/choir/rooms", tag = "choir",
    summary = "Create a choir room (members and administrators)",
    request_body = RoomInput,
    responses((status = 201, body = RoomView), (status = 422, body = Problem)))]
async fn create_room(
    State(c): State<Choir>,
    identity: Identity,
    Json(input): Json<RoomInput>,
) -> Result<(StatusCode, Json<RoomView>)> {
    let room = create(&c, &identity, &input).await?;
    Ok((StatusCode::CREATED, Json(room_view(&room))))
}

#[utoipa::path(delete, path = "/choir/rooms/{id}", tag = "choir",
    summary = "Delete a room with its tracks, setlist, sessions and recordings",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_room(
    State(c): State<Choir>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    delete(&c, &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a room, then its files (the rows go with the room).
pub async fn delete(c: &Choir, room: &RoomRow) -> std::result::Result<(), ChoirError> {
    let p = &c.platform;
    let tracks = db::tracks(p.db.pool(), &room.id).await?;
    let images = db::images(p.db.pool(), &room.id).await?;
    let recordings = db::recordings(p.db.pool(), &room.id).await?;
    db::delete_room(p.db.pool(), &room.id).await?;
    for i in images {
        let _ = p.blobs.delete(&i.blob_key).await;
    }
    for t in tracks {
        let _ = p.blobs.delete(&t.upload_key).await;
        if let Some(k) = t.pcm_key {
            let _ = p.blobs.delete(&k).await;
        }
    }
    for r in recordings {
        delete_recording_files(c, &r.id).await;
    }
    Ok(())
}

/// Removes a recording's blobs (segments and files); a blob left behind is only space.
pub async fn delete_recording_files(c: &Choir, id: &str) {
    let blobs = &c.platform.blobs;
    for blob in blobs
        .list(&crate::recorder::prefix(id))
        .await
        .unwrap_or_default()
    {
        let _ = blobs.delete(&blob.key).await;
    }
}

/// Asking to enter a room as a guest (or, for a room with a password, as anyone).
#[derive(Debug, Deserialize, ToSchema)]
pub struct GuestInput {
    /// The name the others see.
    #[schema(pattern = "\\S", max_length = 80)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub password: Option<String>,
}

/// A pass into one room's live connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuestPass {
    /// Sent as `?guest=` on the WebSocket.
    pub token: String,
    pub socket_url: String,
}

#[utoipa::path(post, path = "/choir/rooms/{id}/guests", tag = "choir",
    summary = "A pass into a room's live connection, for a name (checks the room's password)",
    params(("id" = String, Path)), request_body = GuestInput,
    responses((status = 200, body = GuestPass), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn guest_pass(
    State(c): State<Choir>,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
    Json(input): Json<GuestInput>,
) -> Result<Response> {
    let room = room_or_404(&c, &id).await?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(Problem::invalid(
            "name",
            "Give the name the others will see (at most 80 characters).",
        ));
    }
    if room.members_only != 0 && identity.is_none() {
        return Err(ChoirError::forbidden(
            "members-only",
            "Only signed-in people may enter this room. Sign in first.",
        )
        .into());
    }
    if input
        .password
        .as_ref()
        .is_some_and(|p| p.chars().count() > 200)
    {
        return Err(Problem::invalid(
            "password",
            "A room's password has at most 200 characters.",
        ));
    }
    if !may_manage(identity.as_ref(), &room) {
        check_password(&room, input.password.as_deref()).await?;
    }
    let token = c
        .platform
        .sockets
        .guest_token(&RoomKey::new("choir", &room.id), name, GUEST_PASS)
        .await
        .map_err(Problem::from)?;
    // Whoever knows a password room's password may hear its recordings too: the pass,
    // kept as a cookie, shows it to the recordings pages.
    let cookie = room.password_hash.is_some().then(|| {
        tutti_platform::page::cookie(
            &c.platform,
            &pass_cookie(&c, &room.id),
            &token,
            GUEST_PASS.as_secs() as i64,
        )
    });
    let pass = Json(GuestPass {
        token,
        socket_url: format!("/choir/rooms/{}/socket", room.id),
    });
    Ok(match cookie {
        Some(v) => ([(axum::http::header::SET_COOKIE, v)], pass).into_response(),
        None => pass.into_response(),
    })
}

/// The cookie holding someone's pass into a password room (see [`guest_pass`]).
pub fn pass_cookie(c: &Choir, room: &str) -> String {
    c.platform
        .settings
        .cookie_name(&format!("choir-pass-{room}"))
}

/// Whether these request headers carry a valid pass into `room`.
pub async fn holds_pass(c: &Choir, headers: &axum::http::HeaderMap, room: &str) -> bool {
    let Some(token) = tutti_platform::identity::cookie_of(headers, &pass_cookie(c, room)) else {
        return false;
    };
    c.platform
        .sockets
        .verify_guest(&token)
        .await
        .is_ok_and(|g| g.room == RoomKey::new("choir", room))
}

#[derive(Debug, Deserialize)]
struct SocketQuery {
    guest: Option<String>,
}

/// The room's live connection. Members of an open room come on their session; a room
/// with a password needs a pass from [`guest_pass`] (its owner excepted), and a
/// members-only room a signed-in person.
async fn socket(
    State(c): State<Choir>,
    ws: WebSocketUpgrade,
    peer: Peer,
    Path(id): Path<String>,
    AxumQuery(query): AxumQuery<SocketQuery>,
) -> Response {
    let room = match room_or_404(&c, &id).await {
        Ok(r) => r,
        Err(e) => return Problem::from(e).into_response(),
    };
    let key = match peer.who() {
        Who::Member(identity) => {
            if room.password_hash.is_some() && !may_manage(Some(identity), &room) {
                let pass = match &query.guest {
                    Some(token) => c.platform.sockets.verify_guest(token).await,
                    None => Err(ChoirError::Password(
                        "This room has a password: enter it on the room's page first.".into(),
                    )
                    .into()),
                };
                match pass {
                    Ok(g) if g.room == RoomKey::new("choir", &room.id) => {}
                    Ok(_) => {
                        return Problem::forbidden("This pass is for another room.")
                            .with_field("guest")
                            .into_response();
                    }
                    Err(p) => return p.into_response(),
                }
            }
            format!("user:{}", identity.user.id)
        }
        Who::Guest(guest) => {
            if room.members_only != 0 {
                return Problem::from(ChoirError::forbidden(
                    "members-only",
                    "Only signed-in people may enter this room.",
                ))
                .into_response();
            }
            format!("guest:{}", guest.name)
        }
    };
    let live = c.live.clone();
    let room_id = room.id.clone();
    ws::upgrade(
        ws,
        peer,
        RoomKey::new("choir", &room.id),
        move |conn| async move {
            live.serve(room_id, key, conn).await;
        },
    )
}

/// A backing track for the room's library: a finished upload (`/api/v1/uploads`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BackingTrackInput {
    #[schema(min_length = 1, max_length = 100)]
    pub upload_id: String,
    /// Shown in the leader's list; the file's name when left out.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackingTrackView {
    pub id: String,
    pub name: String,
    /// `waiting`, `ready` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
}

pub fn track_view(t: &db::TrackRow) -> BackingTrackView {
    BackingTrackView {
        id: t.id.clone(),
        name: t.name.clone(),
        status: t.status.clone(),
        error: t.error.clone(),
        duration_ms: t.duration_ms,
    }
}

#[utoipa::path(post, path = "/choir/rooms/{id}/tracks", tag = "choir",
    summary = "Add an uploaded audio file (any format) to the room's backing tracks",
    params(("id" = String, Path)), request_body = BackingTrackInput,
    responses((status = 201, body = BackingTrackView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_track(
    State(c): State<Choir>,
    identity: Identity,
    Path(id): Path<String>,
    Json(input): Json<BackingTrackInput>,
) -> Result<(StatusCode, Json<BackingTrackView>)> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    let p = &c.platform;
    let upload = uploads::get(p, &input.upload_id, &identity.user.id)
        .await
        .map_err(Problem::from)?;
    let name = upload_name(input.name.as_deref(), &upload, "track")?;
    let blob = uploads::take(p, &input.upload_id, &identity.user.id)
        .await
        .map_err(Problem::from)?;
    let track_id = db::add_track(p.db.pool(), &room.id, &name, &blob.key).await?;
    let job = NewJob::typed::<ConvertTrack>(&track_id).map_err(|e| Problem::internal(&e))?;
    p.queue.enqueue(job).await.map_err(Problem::from)?;
    p.queue.notify();
    let track = db::track(p.db.pool(), &track_id)
        .await?
        .ok_or_else(|| Problem::internal(&"a track just added is gone"))?;
    Ok((StatusCode::CREATED, Json(track_view(&track))))
}

/// What an upload is called in the room: the name given (at most [`MAX_NAME`]
/// characters), or else its file's name, shortened to fit.
fn upload_name(given: Option<&str>, upload: &uploads::Upload, fallback: &str) -> Result<String> {
    if let Some(name) = given.map(str::trim).filter(|n| !n.is_empty()) {
        if name.chars().count() > MAX_NAME {
            return Err(Problem::invalid(
                "name",
                format!("A name has at most {MAX_NAME} characters."),
            ));
        }
        return Ok(name.to_string());
    }
    Ok(upload
        .metadata
        .get("filename")
        .map(|f| f.trim().chars().take(MAX_NAME).collect::<String>())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| fallback.to_string()))
}

/// Longest name of a track or an image.
const MAX_NAME: usize = 200;
/// Largest image a room keeps: a photographed page of a score fits.
const MAX_IMAGE: i64 = 20 * 1024 * 1024;

/// An image for the room's slides: a finished upload (`/api/v1/uploads`) of a PNG, JPEG,
/// GIF or WebP picture.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImageInput {
    #[schema(min_length = 1, max_length = 100)]
    pub upload_id: String,
    /// Shown in the leader's list; the file's name when left out.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub id: String,
    pub name: String,
    pub content_type: String,
    /// Where the room's pages show it from (what a leader's `lyrics` message names).
    pub url: String,
}

pub fn image_view(i: &db::ImageRow) -> ImageView {
    ImageView {
        id: i.id.clone(),
        name: i.name.clone(),
        content_type: i.content_type.clone(),
        url: format!("/choir/rooms/{}/images/{}", i.room_id, i.id),
    }
}

/// The picture type of an image file by its first bytes, if browsers show it.
pub fn image_type(head: &[u8]) -> Option<&'static str> {
    match head {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

#[utoipa::path(post, path = "/choir/rooms/{id}/images", tag = "choir",
    summary = "Add an image (PNG, JPEG, GIF or WebP) the leader can show the room",
    params(("id" = String, Path)), request_body = ImageInput,
    responses((status = 201, body = ImageView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn add_image(
    State(c): State<Choir>,
    identity: Identity,
    Path(id): Path<String>,
    Json(input): Json<ImageInput>,
) -> Result<(StatusCode, Json<ImageView>)> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    let p = &c.platform;
    let upload = uploads::get(p, &input.upload_id, &identity.user.id)
        .await
        .map_err(Problem::from)?;
    let name = upload_name(input.name.as_deref(), &upload, "image")?;
    if upload.length > MAX_IMAGE {
        return Err(Problem::invalid(
            "upload_id",
            format!(
                "An image has at most {} MiB; this one has {:.1}.",
                MAX_IMAGE >> 20,
                upload.length as f64 / 1048576.0
            ),
        ));
    }
    // Looked at before the upload is taken, so a file that is no picture stays the user's.
    let content_type = match &upload.blob_key {
        Some(key) => {
            let head = p.blobs.get_range(key, 0..16).await.unwrap_or_default();
            image_type(&head)
        }
        None => None,
    };
    let Some(content_type) = content_type else {
        return Err(Problem::invalid(
            "upload_id",
            "That upload is not a finished PNG, JPEG, GIF or WebP picture.",
        ));
    };
    let blob = uploads::take(p, &input.upload_id, &identity.user.id)
        .await
        .map_err(Problem::from)?;
    let image = db::add_image(p.db.pool(), &room.id, &name, content_type, &blob.key).await?;
    Ok((StatusCode::CREATED, Json(image_view(&image))))
}

/// A song of the room's setlist.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SongInput {
    #[schema(pattern = "\\S", max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(minimum = 20, maximum = 400)]
    pub bpm: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 64)]
    pub beats_per_repeat: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 16)]
    pub repeats: Option<i64>,
    /// A backing track of this room.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub track_id: Option<String>,
    /// One line per line; `[m:ss]` at a line's start times it from the song's start.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub lyrics: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

pub async fn add_song_to(
    c: &Choir,
    room: &RoomRow,
    s: &SongInput,
) -> std::result::Result<String, ChoirError> {
    let title = s.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ChoirError::invalid(
            "title",
            "A song needs a title (at most 200 characters).",
        ));
    }
    let within = |v: Option<i64>, field: &str, lo: i64, hi: i64| match v {
        Some(v) if !(lo..=hi).contains(&v) => Err(ChoirError::invalid(
            field,
            format!("{field} goes from {lo} to {hi}."),
        )),
        _ => Ok(()),
    };
    within(s.bpm, "bpm", 20, 400)?;
    within(s.beats_per_repeat, "beats_per_repeat", 1, 64)?;
    within(s.repeats, "repeats", 1, 16)?;
    // Rounds need a tempo and both numbers; a song missing one is kept as typed, and
    // leading it says what is missing (the leader may add it on the room page).
    if s.lyrics.chars().count() > 10_000 {
        return Err(ChoirError::invalid(
            "lyrics",
            "Lyrics have at most 10,000 characters.",
        ));
    }
    let track = s.track_id.as_deref().filter(|t| !t.is_empty());
    if let Some(t) = track {
        let found = db::track(c.platform.db.pool(), t).await?;
        if found.is_none_or(|t| t.room_id != room.id) {
            return Err(ChoirError::NotFound(
                "That backing track is not in this room's library.".into(),
            ));
        }
    }
    db::add_song(
        c.platform.db.pool(),
        &room.id,
        &db::SongInput {
            title,
            bpm: s.bpm,
            beats_per_repeat: s.beats_per_repeat,
            repeats: s.repeats,
            track_id: track,
            lyrics: &s.lyrics,
        },
    )
    .await
}

#[utoipa::path(post, path = "/choir/rooms/{id}/setlist", tag = "choir",
    summary = "Add a song to the room's setlist",
    params(("id" = String, Path)), request_body = SongInput,
    responses((status = 201, body = Created), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_song(
    State(c): State<Choir>,
    identity: Identity,
    Path(id): Path<String>,
    Json(input): Json<SongInput>,
) -> Result<(StatusCode, Json<Created>)> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    let id = add_song_to(&c, &room, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A scheduled session of a room.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SessionInput {
    #[schema(pattern = "\\S", max_length = 200)]
    pub title: String,
    /// RFC 3339, e.g. `2026-12-24T18:00:00+01:00`.
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn parse_time(field: &str, value: &str) -> std::result::Result<i64, ChoirError> {
    time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            ChoirError::invalid(
                field,
                "Give a date and time such as 2026-12-24T18:00:00+01:00.",
            )
        })
}

pub async fn add_session_to(
    c: &Choir,
    room: &RoomRow,
    title: &str,
    starts_at: i64,
    ends_at: i64,
) -> std::result::Result<String, ChoirError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ChoirError::invalid(
            "title",
            "A session needs a title (at most 200 characters).",
        ));
    }
    if ends_at < starts_at {
        return Err(ChoirError::invalid(
            "ends_at",
            "A session cannot end before it starts.",
        ));
    }
    if ends_at - starts_at > 24 * 3600 * 1000 {
        return Err(ChoirError::invalid(
            "ends_at",
            "A session lasts at most a day.",
        ));
    }
    db::add_session(c.platform.db.pool(), &room.id, title, starts_at, ends_at).await
}

#[utoipa::path(post, path = "/choir/rooms/{id}/sessions", tag = "choir",
    summary = "Schedule a session of the room (shown on the choir calendar)",
    params(("id" = String, Path)), request_body = SessionInput,
    responses((status = 201, body = Created), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_session(
    State(c): State<Choir>,
    identity: Identity,
    Path(id): Path<String>,
    Json(input): Json<SessionInput>,
) -> Result<(StatusCode, Json<Created>)> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    let starts_at = parse_time("starts_at", &input.starts_at)?;
    let ends_at = parse_time("ends_at", &input.ends_at)?;
    let id = add_session_to(&c, &room, &input.title, starts_at, ends_at).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}
