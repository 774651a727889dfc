//! The choir's server-rendered pages: the studio's home (your rooms, a new room, the
//! sessions coming up), a room's onboarding and live view, its management page (name,
//! password, members only, backing tracks, setlist, sessions), its recordings, and the
//! month calendar of every room's sessions. The live view's audio runs in the browser.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use time::{Date, Month, OffsetDateTime};
use tutti_platform::serve::{self, Caching};
use tutti_platform::{Access, Identity, MaybeIdentity, Page, Role, Routes};
use tutti_web::{Form, Problem, Query};

use crate::Choir;
use crate::db::{self, RoomRow};
use crate::error::ChoirError;
use crate::jobs::Stem;
use crate::routes::{
    RoomInput, SongInput, add_session_to, add_song_to, check_name, hash_password, image_view,
    may_manage, must_manage, parse_time, room_or_404, room_view, track_view,
};

/// `(name, source)` pairs of files embedded from one folder, named by their file name.
macro_rules! embedded {
    ($prefix:literal, $dir:literal: $($file:literal),* $(,)?) => {
        &[$((concat!($prefix, $file), include_str!(concat!($dir, $file)))),*]
    };
}

pub const TEMPLATES: &[(&str, &str)] = embedded!("choir/", "../templates/":
    "home.html", "manage.html", "recordings.html", "calendar.html", "join.html", "room.html",
);

pub const ASSETS: &[(&str, &str)] = embedded!("", "../assets/":
    "choir-audio.js", "choir-calibrate-worklet.js", "choir-calibrate.js", "choir-codec-worker.js", "choir-detector.js", "choir-engine.js", "choir-frame.js", "choir-io-worklet.js", "choir-join.js", "choir-manage.js", "choir-resample.js", "choir-room.js", "choir-ui.js", "choir.css",
);

pub fn routes(r: Routes<Choir>) -> Routes<Choir> {
    let (get, post) = (Method::GET, Method::POST);
    r.page(Access::Public, get.clone(), "/choir", home)
        .page(
            Access::Role(Role::MEMBER),
            post.clone(),
            "/choir/rooms",
            create_room,
        )
        .page(Access::Public, get.clone(), "/choir/calendar", calendar)
        .page(
            Access::Public,
            get.clone(),
            "/choir/calendar.ics",
            calendar_feed,
        )
        .page(
            Access::Public,
            get.clone(),
            "/choir/rooms/{id}/sessions.ics",
            room_feed,
        )
        .page(Access::Public, get.clone(), "/choir/rooms/{id}", room_page)
        .page(
            Access::Public,
            get.clone(),
            "/choir/rooms/{id}/join",
            join_page,
        )
        .page(
            Access::Role(Role::MEMBER),
            get.clone(),
            "/choir/rooms/{id}/manage",
            manage_page,
        )
        .page(
            Access::Role(Role::MEMBER),
            post.clone(),
            "/choir/rooms/{id}/manage",
            manage,
        )
        .page(
            Access::Public,
            get.clone(),
            "/choir/rooms/{id}/recordings",
            recordings_page,
        )
        .page(
            Access::Public,
            get.clone(),
            "/choir/rooms/{id}/recordings/{rec}/mix.ogg",
            recording_mix,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/choir/rooms/{id}/recordings/{rec}/stems/{singer}",
            recording_stem,
        )
        .page(
            Access::Public,
            get.clone(),
            "/choir/rooms/{id}/images/{image}",
            room_image,
        )
}

/// An image the leader shows the room: for whoever may hear the room.
async fn room_image(
    State(c): State<Choir>,
    MaybeIdentity(identity): MaybeIdentity,
    Path((id, image)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let room = room_or_404(&c, &id).await?;
    must_hear(&c, &headers, identity.as_ref(), &room).await?;
    let image = db::image(c.platform.db.pool(), &room.id, &image)
        .await?
        .ok_or_else(|| Problem::not_found("There is no such image."))?;
    serve::blob(
        &c.platform.blobs,
        &image.blob_key,
        &image.content_type,
        Caching::Private,
        &headers,
    )
    .await
}

fn signed_in_name(identity: Option<&Identity>) -> Option<String> {
    identity.map(|i| i.user.name.clone())
}

/// Who may hear a password room's recordings: its managers, and whoever entered its
/// password (their pass is kept as a cookie); anyone [`must_see`] lets in, otherwise.
async fn must_hear(
    c: &Choir,
    headers: &HeaderMap,
    identity: Option<&Identity>,
    room: &RoomRow,
) -> Result<(), ChoirError> {
    must_see(identity, room)?;
    if room.password_hash.is_none()
        || may_manage(identity, room)
        || crate::routes::holds_pass(c, headers, &room.id).await
    {
        return Ok(());
    }
    Err(ChoirError::forbidden(
        "password",
        "This room's recordings are for those who know its password: join the room first.",
    ))
}

/// Who may see a room's page and recordings: anyone, but signed-in people only for a
/// members-only room. (A room's password guards its live connection and recordings.)
fn must_see(identity: Option<&Identity>, room: &RoomRow) -> Result<(), ChoirError> {
    if room.members_only != 0 && identity.is_none() {
        return Err(ChoirError::forbidden(
            "members-only",
            "Only signed-in people may enter this room. Sign in first.",
        ));
    }
    Ok(())
}

async fn home(
    State(c): State<Choir>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
) -> Result<Response, Problem> {
    let pool = c.platform.db.pool();
    let member = identity.as_ref().is_some_and(|i| i.has(&Role::MEMBER));
    let rooms = match &identity {
        Some(i) => db::rooms_of(pool, &i.user.id).await?,
        None => Vec::new(),
    };
    let now = tutti_store::now_ms();
    let coming = upcoming(&c, identity.as_ref(), now, now + 14 * 86_400_000).await?;
    page.render(
        "choir/home.html",
        json!({
            "member": member,
            "rooms": rooms.iter().map(room_view).collect::<Vec<_>>(),
            "sessions": coming,
            "live_rooms": c.live.rooms(),
        }),
    )
}

/// Sessions in `[from, to)` the viewer may see, as the pages list them.
async fn upcoming(
    c: &Choir,
    identity: Option<&Identity>,
    from: i64,
    to: i64,
) -> Result<Vec<serde_json::Value>, ChoirError> {
    let mut out = Vec::new();
    for (s, room_name) in db::sessions(c.platform.db.pool(), None, from, to).await? {
        if identity.is_none() {
            let room = db::room(c.platform.db.pool(), &s.room_id).await?;
            if room.is_none_or(|r| r.members_only != 0) {
                continue;
            }
        }
        out.push(json!({
            "id": s.id, "title": s.title, "room_id": s.room_id, "room_name": room_name,
            "starts_at": iso(s.starts_at), "ends_at": iso(s.ends_at),
            "day": day_of(s.starts_at),
        }));
    }
    Ok(out)
}

fn iso(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The UTC day of month of a time.
fn day_of(ms: i64) -> u8 {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .map(|t| t.day())
        .unwrap_or(1)
}

#[derive(Debug, Deserialize)]
struct NewRoomForm {
    name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    members_only: Option<String>,
}

async fn create_room(
    State(c): State<Choir>,
    page: Page,
    identity: Identity,
    Form(form): Form<NewRoomForm>,
) -> Result<Response, Problem> {
    let input = RoomInput {
        name: form.name.clone(),
        password: form.password.clone(),
        members_only: form.members_only.is_some(),
    };
    match crate::routes::create(&c, &identity, &input).await {
        Ok(room) => Ok(Redirect::to(&format!("/choir/rooms/{}/manage", room.id)).into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            let rooms = db::rooms_of(c.platform.db.pool(), &identity.user.id).await?;
            page.render(
                "choir/home.html",
                json!({
                    "member": true,
                    "rooms": rooms.iter().map(room_view).collect::<Vec<_>>(),
                    "sessions": Vec::<serde_json::Value>::new(),
                    "error": page.shown(&problem),
                    "form": { "name": form.name, "members_only": form.members_only.is_some() },
                }),
            )
        }
    }
}

/// The context both the room's pages share.
async fn room_context(
    c: &Choir,
    identity: Option<&Identity>,
    room: &RoomRow,
) -> Result<serde_json::Value, ChoirError> {
    let pool = c.platform.db.pool();
    let tracks: Vec<_> = db::tracks(pool, &room.id)
        .await?
        .into_iter()
        .filter(|t| t.status == "ready")
        .map(|t| {
            json!({ "id": t.id, "name": t.name,
                "seconds": t.duration_ms.unwrap_or(0) / 1000 })
        })
        .collect();
    let setlist: Vec<_> = db::setlist(pool, &room.id)
        .await?
        .into_iter()
        .map(|s| {
            json!({ "id": s.id, "title": s.title, "bpm": s.bpm,
                "beats_per_repeat": s.beats_per_repeat, "repeats": s.repeats,
                "track": s.track_id, "lyrics": s.lyrics })
        })
        .collect();
    let images: Vec<_> = db::images(pool, &room.id)
        .await?
        .iter()
        .map(image_view)
        .collect();
    let view = room_view(room);
    Ok(json!({
        "images": images,
        "room": view,
        "room_url": view.url,
        "join_url": format!("/choir/rooms/{}/join", room.id),
        "socket_url": view.socket_url,
        "recordings_url": format!("/choir/rooms/{}/recordings", room.id),
        "manage_url": may_manage(identity, room).then(|| format!("/choir/rooms/{}/manage", room.id)),
        "guests_url": format!("/api/v1/choir/rooms/{}/guests", room.id),
        "signed_in": identity.is_some(),
        "account_name": signed_in_name(identity),
        "csrf": identity.map(Identity::csrf).unwrap_or_default(),
        "tracks": tracks,
        "setlist": setlist,
    }))
}

async fn room_page(
    State(c): State<Choir>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    render_room(&c, &page, identity.as_ref(), &id, "choir/room.html").await
}

async fn join_page(
    State(c): State<Choir>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    render_room(&c, &page, identity.as_ref(), &id, "choir/join.html").await
}

/// The live room and its onboarding share who may see them and their context.
async fn render_room(
    c: &Choir,
    page: &Page,
    identity: Option<&Identity>,
    id: &str,
    template: &str,
) -> Result<Response, Problem> {
    let room = room_or_404(c, id).await?;
    must_see(identity, &room)?;
    let context = room_context(c, identity, &room).await?;
    page.render(template, context)
}

async fn manage_context(c: &Choir, room: &RoomRow) -> Result<serde_json::Value, ChoirError> {
    let pool = c.platform.db.pool();
    let tracks: Vec<_> = db::tracks(pool, &room.id)
        .await?
        .iter()
        .map(track_view)
        .collect();
    let setlist = db::setlist(pool, &room.id).await?;
    let images: Vec<_> = db::images(pool, &room.id)
        .await?
        .iter()
        .map(image_view)
        .collect();
    let now = tutti_store::now_ms();
    let sessions: Vec<_> = db::sessions(pool, Some(&room.id), now - 86_400_000, i64::MAX)
        .await?
        .into_iter()
        .map(|(s, _)| {
            json!({ "id": s.id, "title": s.title,
            "starts_at": iso(s.starts_at), "ends_at": iso(s.ends_at) })
        })
        .collect();
    Ok(json!({
        "room": room_view(room),
        "tracks": tracks,
        "images": images,
        "setlist": setlist,
        "sessions": sessions,
    }))
}

async fn manage_page(
    State(c): State<Choir>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    page.render("choir/manage.html", manage_context(&c, &room).await?)
}

/// One form on the management page; `action` says which.
#[derive(Debug, Deserialize)]
struct ManageForm {
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    clear_password: Option<String>,
    #[serde(default)]
    members_only: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    bpm: Option<String>,
    #[serde(default)]
    beats_per_repeat: Option<String>,
    #[serde(default)]
    repeats: Option<String>,
    #[serde(default)]
    track_id: Option<String>,
    #[serde(default)]
    lyrics: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    id: String,
}

fn number(field: &str, value: &Option<String>) -> Result<Option<i64>, ChoirError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ChoirError::invalid(field, format!("`{v}` is not a whole number."))),
    }
}

async fn manage(
    State(c): State<Choir>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<ManageForm>,
) -> Result<Response, Problem> {
    let room = room_or_404(&c, &id).await?;
    must_manage(&identity, &room)?;
    let pool = c.platform.db.pool();
    let here = format!("/choir/rooms/{}/manage", room.id);
    let outcome: Result<Option<String>, ChoirError> = async {
        match form.action.as_str() {
            "settings" => {
                let name = check_name(&form.name)?;
                let password = if form.clear_password.is_some() {
                    Some(None)
                } else {
                    match form.password.as_deref().filter(|p| !p.is_empty()) {
                        Some(p) => Some(hash_password(Some(p)).await?),
                        None => None,
                    }
                };
                db::update_room(
                    pool,
                    &room.id,
                    &name,
                    password.as_ref().map(|p| p.as_deref()),
                    form.members_only.is_some(),
                )
                .await?;
                Ok(None)
            }
            "song" => {
                let song = SongInput {
                    title: form.title.clone(),
                    bpm: number("bpm", &form.bpm)?,
                    beats_per_repeat: number("beats_per_repeat", &form.beats_per_repeat)?,
                    repeats: number("repeats", &form.repeats)?,
                    track_id: form.track_id.clone(),
                    lyrics: form.lyrics.clone(),
                };
                add_song_to(&c, &room, &song).await?;
                Ok(None)
            }
            "delete-song" => {
                db::delete_song(pool, &room.id, &form.id).await?;
                Ok(None)
            }
            "session" => {
                let starts = parse_time("starts_at", &local_to_rfc3339(&form.starts_at))?;
                let ends = parse_time("ends_at", &local_to_rfc3339(&form.ends_at))?;
                add_session_to(&c, &room, &form.title, starts, ends).await?;
                Ok(None)
            }
            "delete-session" => {
                db::delete_session(pool, &room.id, &form.id).await?;
                Ok(None)
            }
            "delete-track" => {
                if let Some(t) = db::track(pool, &form.id).await?
                    && t.room_id == room.id
                {
                    db::delete_track(pool, &t.id).await?;
                    let _ = c.platform.blobs.delete(&t.upload_key).await;
                    if let Some(k) = t.pcm_key {
                        let _ = c.platform.blobs.delete(&k).await;
                    }
                }
                Ok(None)
            }
            "delete-image" => {
                if let Some(i) = db::image(pool, &room.id, &form.id).await? {
                    db::delete_image(pool, &room.id, &i.id).await?;
                    let _ = c.platform.blobs.delete(&i.blob_key).await;
                }
                Ok(None)
            }
            "delete-recording" => {
                if let Some(r) = db::recording(pool, &form.id).await?
                    && r.room_id == room.id
                {
                    db::delete_recording(pool, &room.id, &r.id).await?;
                    crate::routes::delete_recording_files(&c, &r.id).await;
                }
                Ok(Some(format!("/choir/rooms/{}/recordings", room.id)))
            }
            "delete-room" => {
                crate::routes::delete(&c, &room).await?;
                Ok(Some("/choir".to_string()))
            }
            other => Err(ChoirError::invalid(
                "action",
                format!("`{other}` is not something this page does."),
            )),
        }
    }
    .await;
    match outcome {
        Ok(to) => Ok(Redirect::to(&to.unwrap_or(here)).into_response()),
        Err(e) => {
            let problem = Problem::from(e);
            let room = room_or_404(&c, &id).await?;
            let mut context = manage_context(&c, &room).await?;
            context["error"] = serde_json::to_value(page.shown(&problem)).unwrap_or_default();
            context["failed"] = json!(form.action);
            page.render("choir/manage.html", context)
        }
    }
}

/// `datetime-local` inputs send `2026-12-24T18:00` without a zone: taken as UTC unless
/// the page's script added the browser's offset.
fn local_to_rfc3339(value: &str) -> String {
    let v = value.trim();
    let has_zone = v.ends_with('Z') || v[v.len().saturating_sub(6)..].contains(['+', '-']);
    match (v.len(), has_zone) {
        (16, false) => format!("{v}:00Z"),
        (19, false) => format!("{v}Z"),
        _ => v.to_string(),
    }
}

async fn recordings_page(
    State(c): State<Choir>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let room = room_or_404(&c, &id).await?;
    must_hear(&c, &headers, identity.as_ref(), &room).await?;
    let manager = may_manage(identity.as_ref(), &room);
    let recordings: Vec<_> = db::recordings(c.platform.db.pool(), &room.id)
        .await?
        .into_iter()
        .map(|r| {
            let stems: Vec<Stem> = serde_json::from_str(&r.stems).unwrap_or_default();
            let base = format!("/choir/rooms/{}/recordings/{}", room.id, r.id);
            json!({
                "id": r.id, "status": r.status, "error": r.error, "progress": r.progress,
                "started_at": iso(r.started_at),
                "seconds": r.length_samples.map(|l| l / crate::SAMPLE_RATE as i64),
                "mix_url": r.mix_key.as_ref().map(|_| format!("{base}/mix.ogg")),
                "stems": stems.iter().map(|s| json!({
                    "name": s.name, "url": format!("{base}/stems/{}", s.singer),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    page.render(
        "choir/recordings.html",
        json!({
            "room": room_view(&room),
            "recordings": recordings,
            "manager": manager,
            "signed_in": identity.is_some(),
        }),
    )
}

async fn recording_of(
    c: &Choir,
    headers: &HeaderMap,
    identity: Option<&Identity>,
    id: &str,
    rec: &str,
) -> Result<(RoomRow, db::RecordingRow), ChoirError> {
    let room = room_or_404(c, id).await?;
    must_hear(c, headers, identity, &room).await?;
    let r = db::recording(c.platform.db.pool(), rec)
        .await?
        .filter(|r| r.room_id == room.id)
        .ok_or_else(|| ChoirError::not_found("There is no such recording."))?;
    Ok((room, r))
}

async fn recording_mix(
    State(c): State<Choir>,
    MaybeIdentity(identity): MaybeIdentity,
    Path((id, rec)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (_, r) = recording_of(&c, &headers, identity.as_ref(), &id, &rec).await?;
    let key = r
        .mix_key
        .ok_or_else(|| Problem::not_found("This recording's files are not made yet."))?;
    serve::blob(
        &c.platform.blobs,
        &key,
        "audio/ogg",
        Caching::Private,
        &headers,
    )
    .await
}

/// A singer's stem: for the room's owner (post-production), not for everyone.
async fn recording_stem(
    State(c): State<Choir>,
    identity: Identity,
    Path((id, rec, singer)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (room, r) = recording_of(&c, &headers, Some(&identity), &id, &rec).await?;
    must_manage(&identity, &room)?;
    let stems: Vec<Stem> = serde_json::from_str(&r.stems).unwrap_or_default();
    let stem = stems
        .iter()
        .find(|s| s.singer == singer)
        .ok_or_else(|| Problem::not_found("There is no such stem."))?;
    let mut response = serve::blob(
        &c.platform.blobs,
        &stem.key,
        "audio/flac",
        Caching::Private,
        &headers,
    )
    .await?;
    let file = format!("{}-{}.flac", r.id, safe_file_name(&stem.name));
    if let Ok(v) = format!("attachment; filename=\"{file}\"").parse() {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

fn safe_file_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if s.trim_matches('-').is_empty() {
        "singer".to_string()
    } else {
        s
    }
}

/// Sessions from this long ago on are in the feeds (calendar apps keep older ones).
const FEED_PAST_MS: i64 = 30 * 86_400_000;

/// Every open room's sessions, for a calendar app (which signs in as nobody, so
/// members-only rooms stay out).
async fn calendar_feed(State(c): State<Choir>) -> Result<Response, Problem> {
    feed(&c, None, "Choir").await
}

/// One room's sessions, for whoever may see the room.
async fn room_feed(
    State(c): State<Choir>,
    MaybeIdentity(identity): MaybeIdentity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let room = room_or_404(&c, &id).await?;
    must_see(identity.as_ref(), &room)?;
    feed(&c, Some(&room), &room.name).await
}

async fn feed(c: &Choir, room: Option<&RoomRow>, name: &str) -> Result<Response, Problem> {
    let pool = c.platform.db.pool();
    let from = tutti_store::now_ms() - FEED_PAST_MS;
    let mut rows = Vec::new();
    for (s, room_name) in db::sessions(pool, room.map(|r| r.id.as_str()), from, i64::MAX).await? {
        if room.is_none()
            && db::room(pool, &s.room_id)
                .await?
                .is_none_or(|r| r.members_only != 0)
        {
            continue;
        }
        rows.push((s, room_name));
    }
    let settings = &c.platform.settings;
    let entries: Vec<_> = rows
        .iter()
        .map(|(s, room_name)| crate::ics::Entry {
            session: s,
            room_name,
            join_url: settings.link(&format!("/choir/rooms/{}/join", s.room_id)),
        })
        .collect();
    let host = settings.public_url.host_str().unwrap_or("tutti");
    let body = crate::ics::calendar(name, host, &entries);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/calendar; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
}

/// The month calendar: weeks of days, each with the sessions starting then (UTC).
async fn calendar(
    State(c): State<Choir>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Query(q): Query<MonthQuery>,
) -> Result<Response, Problem> {
    let today = OffsetDateTime::now_utc().date();
    let first = match q.month.as_deref() {
        Some(m) => parse_month(m)
            .ok_or_else(|| Problem::invalid("month", "Give a month as YYYY-MM, e.g. 2026-12."))?,
        None => Date::from_calendar_date(today.year(), today.month(), 1)
            .map_err(|e| Problem::internal(&e))?,
    };
    let next = next_month(first);
    let prev = prev_month(first);
    let ms = |d: Date| d.midnight().assume_utc().unix_timestamp() * 1000;
    let sessions = upcoming(&c, identity.as_ref(), ms(first), ms(next)).await?;
    // Weeks start on Monday; blanks before the 1st.
    let lead = first.weekday().number_days_from_monday() as usize;
    let days = first.month().length(first.year()) as usize;
    let mut cells: Vec<serde_json::Value> = vec![serde_json::Value::Null; lead];
    for d in 1..=days {
        let on: Vec<_> = sessions
            .iter()
            .filter(|s| s["day"] == json!(d))
            .cloned()
            .collect();
        let date = first
            .replace_day(d as u8)
            .map_err(|e| Problem::internal(&e))?;
        cells.push(json!({ "day": d, "today": date == today, "sessions": on }));
    }
    while !cells.len().is_multiple_of(7) {
        cells.push(serde_json::Value::Null);
    }
    let weeks: Vec<Vec<serde_json::Value>> = cells.chunks(7).map(|w| w.to_vec()).collect();
    page.render(
        "choir/calendar.html",
        json!({
            "month": format!("{:04}-{:02}", first.year(), first.month() as u8),
            "prev": format!("{:04}-{:02}", prev.year(), prev.month() as u8),
            "next": format!("{:04}-{:02}", next.year(), next.month() as u8),
            "weeks": weeks,
            "sessions": sessions,
        }),
    )
}

fn parse_month(m: &str) -> Option<Date> {
    let (y, mo) = m.trim().split_once('-')?;
    let month = Month::try_from(mo.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, 1).ok()
}

fn next_month(d: Date) -> Date {
    let (y, m) = match d.month() {
        Month::December => (d.year() + 1, Month::January),
        m => (d.year(), m.next()),
    };
    Date::from_calendar_date(y, m, 1).unwrap_or(d)
}

fn prev_month(d: Date) -> Date {
    let (y, m) = match d.month() {
        Month::January => (d.year() - 1, Month::December),
        m => (d.year(), m.previous()),
    };
    Date::from_calendar_date(y, m, 1).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_years() {
        let dec = parse_month("2026-12").unwrap();
        assert_eq!(next_month(dec), parse_month("2027-01").unwrap());
        assert_eq!(prev_month(parse_month("2027-01").unwrap()), dec);
        assert!(parse_month("2026-13").is_none());
        assert!(parse_month("soon").is_none());
    }

    #[test]
    fn local_times_without_a_zone_are_utc() {
        assert_eq!(local_to_rfc3339("2026-12-24T18:00"), "2026-12-24T18:00:00Z");
        assert_eq!(
            local_to_rfc3339("2026-12-24T18:00:00+01:00"),
            "2026-12-24T18:00:00+01:00"
        );
    }
}
