//! A small studio the tests plug in through the same registration point the real studios
//! use: its own migration, template, messages, roles and routes at every access level.
//! It stands for the studios to come (it declares the roles they will) so the platform's
//! rules can be tested on routes no platform code knows about.

pub mod rooms;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tutti_platform::ws::{Peer, WebSocketUpgrade};
use tutti_platform::{
    Access, Identity, Mounted, NavEntry, Page, Platform, PlatformError, Role, Routes, Studio,
};
use tutti_web::{Json, Problem};
use utoipa::ToSchema;
use utoipa_axum::routes;

pub use tutti_music::ARTIST;
pub use tutti_recital::{REVIEWER, SPEAKER};
/// Members are the platform's own role now; the rehearsal room still stands for the
/// studios that use it.
pub const MEMBER: Role = Role::MEMBER;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("tests/api/rehearsal/migrations");

pub struct Rehearsal {
    settings: RehearsalSettings,
}

/// `[studios.rehearsal]`: what a studio's own settings look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RehearsalSettings {
    /// Shown on the room's page.
    pub motto: String,
    /// Notes the room keeps.
    pub max_notes: u32,
}

impl Default for RehearsalSettings {
    fn default() -> Self {
        RehearsalSettings {
            motto: "Warm up first.".into(),
            max_notes: 100,
        }
    }
}

impl Rehearsal {
    /// Reads its section as the server's list does for a real studio.
    pub fn new(settings: &tutti_server::Settings) -> anyhow::Result<Rehearsal> {
        Ok(Rehearsal {
            settings: settings.studio("rehearsal")?,
        })
    }
}

impl Studio for Rehearsal {
    fn name(&self) -> &'static str {
        "rehearsal"
    }

    fn migrations(&self) -> Option<&'static sqlx::migrate::Migrator> {
        Some(&MIGRATIONS)
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "rehearsal/room.html",
            r#"{% extends "base.html" %}{% block main %}<h1>{{ t("rehearsal") }}</h1><p id="who">{{ viewer.email }}</p><p id="motto">{{ motto }}</p>{% endblock %}"#,
        )]
    }

    fn messages(&self) -> &'static [(&'static str, &'static str)] {
        &[
            (
                "en",
                "rehearsal = Rehearsal\nrehearsal-about = A room to try things.\n",
            ),
            (
                "he",
                "rehearsal = חזרה\nrehearsal-about = חדר לנסות דברים.\n",
            ),
        ]
    }

    fn nav(&self) -> Option<NavEntry> {
        Some(NavEntry {
            href: "/rehearsal",
            label: "rehearsal",
            about: "rehearsal-about",
        })
    }

    fn settings(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.settings).ok()
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let rooms = rooms::Rooms::default();
        let motto = self.settings.motto.clone();
        let room = move |page: Page| room(page, motto.clone());
        // Public to the access layer: `Peer` admits members and guests itself.
        let socket = move |ws: WebSocketUpgrade, peer: Peer, Path(id): Path<String>| {
            rooms::socket(rooms.clone(), ws, peer, id)
        };
        let routes = Routes::new()
            .page(Access::Role(SPEAKER), Method::GET, "/rehearsal", room)
            .page(
                Access::Public,
                Method::GET,
                "/rehearsal/rooms/{id}/socket",
                socket,
            )
            .api(Access::SignedIn, routes!(list_notes))
            .api(Access::Role(MEMBER), routes!(add_note))
            .api(Access::Role(MEMBER), routes!(rooms::invite_guest))
            .with_state(platform.clone());
        Ok(Mounted::routes(routes))
    }
}

async fn room(page: Page, motto: String) -> Result<Response, Problem> {
    page.render("rehearsal/room.html", serde_json::json!({ "motto": motto }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Note {
    pub id: String,
    pub author_email: String,
    pub body: String,
}

#[utoipa::path(get, path = "/rehearsal/notes", tag = "rehearsal", summary = "The room's notes",
    responses((status = 200, body = Vec<Note>)))]
async fn list_notes(State(p): State<Platform>) -> Result<Json<Vec<Note>>, Problem> {
    let notes = sqlx::query_as("SELECT id, author_email, body FROM rehearsal_notes ORDER BY id")
        .fetch_all(p.db.pool())
        .await?;
    Ok(Json(notes))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNote {
    pub body: String,
}

#[utoipa::path(post, path = "/rehearsal/notes", tag = "rehearsal", request_body = NewNote,
    summary = "Add a note", responses((status = 201, body = Note)))]
async fn add_note(
    State(p): State<Platform>,
    identity: Identity,
    Json(body): Json<NewNote>,
) -> Result<(StatusCode, Json<Note>), Problem> {
    let note = Note {
        id: tutti_store::new_id(),
        author_email: identity.user.email.clone(),
        body: body.body,
    };
    sqlx::query("INSERT INTO rehearsal_notes (id, author_email, body) VALUES ($1, $2, $3)")
        .bind(&note.id)
        .bind(&note.author_email)
        .bind(&note.body)
        .execute(p.db.pool())
        .await?;
    Ok((StatusCode::CREATED, Json(note)))
}
