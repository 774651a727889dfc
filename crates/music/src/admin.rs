//! Taking music down: an administrator hides any release or track at once, with a
//! reason the artist sees in their studio, and can put it back. Every take-down and
//! restoration is in the audit log. The page lists releases newest first, with a filter.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use tutti_platform::{Access, Identity, Page, Routes, audit};
use tutti_web::{Form, Problem, Query};

use crate::Music;
use crate::db::{self, ALBUM_COLUMNS, Album, sql};
use crate::error::MusicError;

/// The studio's admin tab.
pub const PATH: &str = "/music/admin";

pub fn routes(r: Routes<Music>) -> Routes<Music> {
    r.page(Access::admin(), Method::GET, PATH, list)
        .page(
            Access::admin(),
            Method::POST,
            "/music/admin/albums/{id}",
            album_action,
        )
        .page(
            Access::admin(),
            Method::POST,
            "/music/admin/tracks/{id}",
            track_action,
        )
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    q: Option<String>,
}

async fn releases(m: &Music, filter: &str) -> Result<Vec<Album>, MusicError> {
    let like = db::like_pattern(filter);
    Ok(sqlx::query_as(sql!(
        "SELECT {ALBUM_COLUMNS} FROM music_albums WHERE LOWER(title) LIKE $1 ESCAPE '\\' \
         OR artist_id IN (SELECT id FROM music_artists WHERE LOWER(name) LIKE $1 ESCAPE '\\') \
         ORDER BY created_at DESC LIMIT 100"
    ))
    .bind(like)
    .fetch_all(m.platform.db.pool())
    .await?)
}

async fn list(
    State(m): State<Music>,
    page: Page,
    Query(q): Query<ListQuery>,
) -> Result<Response, Problem> {
    let filter = q.q.unwrap_or_default();
    let pool = m.platform.db.pool();
    let mut rows = Vec::new();
    for album in releases(&m, filter.trim()).await? {
        let artist = db::artist(pool, &album.artist_id).await?;
        let tracks = db::tracks_of(pool, &album.id).await?;
        rows.push(json!({
            "id": album.id,
            "title": album.title,
            "artist": artist.as_ref().map(|a| a.name.clone()),
            "url": artist.as_ref().map(|a| format!("/music/{}/{}", a.slug, album.slug)),
            "visibility": album.visibility,
            "taken_down": album.taken_down_reason,
            "tracks": tracks.iter().map(|t| json!({
                "id": t.id,
                "position": t.position,
                "title": t.title,
                "taken_down": t.taken_down_reason,
            })).collect::<Vec<_>>(),
        }));
    }
    page.render("music/admin.html", json!({ "releases": rows, "q": filter }))
}

#[derive(Debug, Deserialize)]
struct TakeDownForm {
    /// `take-down` or `restore`.
    action: String,
    reason: Option<String>,
}

/// The reason to store: a non-empty one to take down, none to restore.
fn reason_of(form: &TakeDownForm) -> Result<Option<String>, MusicError> {
    match form.action.as_str() {
        "take-down" => {
            let reason = form.reason.as_deref().unwrap_or("").trim();
            if reason.is_empty() || reason.chars().count() > 500 {
                return Err(MusicError::invalid(
                    "reason",
                    "say why in 1 to 500 characters: the artist reads it",
                ));
            }
            Ok(Some(reason.to_string()))
        }
        "restore" => Ok(None),
        other => Err(MusicError::invalid(
            "action",
            format!("`{other}` is not an action here: take-down or restore"),
        )),
    }
}

fn entry(identity: &Identity, what: &str, id: &str, reason: &Option<String>) -> audit::AuditEntry {
    let (action, detail) = match reason {
        Some(r) => ("music-taken-down", format!("took down {what} {id}: {r}")),
        None => ("music-restored", format!("restored {what} {id}")),
    };
    identity
        .audit(action, detail)
        .arg(what, id.to_string())
        .arg("reason", reason.clone().unwrap_or_default())
}

async fn album_action(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<TakeDownForm>,
) -> Result<Response, Problem> {
    let reason = reason_of(&form)?;
    let mut tx = m.platform.db.begin().await?;
    let mut album = db::album(&mut *tx, &id)
        .await?
        .ok_or_else(|| MusicError::not_found(format!("there is no release `{id}`")))?;
    album.taken_down_reason = reason.clone();
    album.updated_at = tutti_store::now_ms();
    db::update_album(&mut *tx, &album).await?;
    audit::record(&mut *tx, entry(&identity, "release", &id, &reason))
        .await
        .map_err(MusicError::from)?;
    tx.commit().await.map_err(MusicError::from)?;
    Ok(Redirect::to(PATH).into_response())
}

async fn track_action(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<TakeDownForm>,
) -> Result<Response, Problem> {
    let reason = reason_of(&form)?;
    let mut tx = m.platform.db.begin().await?;
    let mut track = db::track(&mut *tx, &id)
        .await?
        .ok_or_else(|| MusicError::not_found(format!("there is no track `{id}`")))?;
    track.taken_down_reason = reason.clone();
    track.updated_at = tutti_store::now_ms();
    db::update_track_fields(&mut *tx, &track).await?;
    audit::record(&mut *tx, entry(&identity, "track", &id, &reason))
        .await
        .map_err(MusicError::from)?;
    tx.commit().await.map_err(MusicError::from)?;
    Ok(Redirect::to(PATH).into_response())
}
