//! The pages of unlocking, all plain forms that work without JavaScript: redeeming a
//! download code (`/music/redeem`), a private link's page (`/music/listen/{token}`),
//! and on a release's studio page the codes and links with their forms. What the album
//! and track pages show of downloads is built here too ([`downloads_view`]).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tutti_platform::{Access, Identity, MaybeIdentity, Page, Routes};
use tutti_web::{Form, Problem};

use super::{CodeBatch, LinkInput, Offer, Passes, db};
use crate::db::{self as music_db, Album};
use crate::error::MusicError;
use crate::service::{self, Who};
use crate::{ARTIST, Music};

/// The unlocking pages, added to the studio's in [`super::routes::routes`].
pub fn routes(r: Routes<Music>) -> Routes<Music> {
    r.page(Access::Public, Method::GET, "/music/redeem", redeem_form)
        .page(Access::Public, Method::POST, "/music/redeem", redeem)
        .page(Access::Public, Method::GET, "/music/listen/{token}", listen)
        .page(
            Access::Role(ARTIST),
            Method::POST,
            "/music/studio/albums/{id}/unlock",
            studio_unlock,
        )
}

/// What the album and track pages offer to download (`formats`, best first), and
/// whether to ask for a code instead (`code_form`: nothing is offered, and the release
/// has codes someone could still redeem).
pub async fn downloads_view(
    m: &Music,
    identity: Option<&Identity>,
    passes: &Passes,
    album: &Album,
) -> Result<Value, MusicError> {
    let offer = super::offer(m, identity, passes, album).await?;
    let formats: Vec<&str> = offer.formats().iter().map(|f| f.id()).collect();
    let code_form = offer == Offer::Nothing
        && album.taken_down_reason.is_none()
        && db::has_live_codes(m.platform.db.pool(), &album.id, tutti_store::now_ms()).await?;
    Ok(json!({ "formats": formats, "code_form": code_form }))
}

/// A release's codes, their log and its private links, for its studio page.
pub async fn studio_view(m: &Music, album: &Album) -> Result<Value, MusicError> {
    let pool = m.platform.db.pool();
    let now = tutti_store::now_ms();
    let codes: Vec<Value> = db::codes_of(pool, &album.id)
        .await?
        .iter()
        .map(|c| {
            json!({
                "id": c.id, "hint": c.hint, "uses": c.uses, "max_uses": c.max_uses,
                "expires_at": c.expires_at, "created_at": c.created_at,
                "state": c.state(now).id(), "revoked": c.revoked_at.is_some(),
            })
        })
        .collect();
    let redemptions: Vec<Value> = db::redemptions_of(pool, &album.id)
        .await?
        .iter()
        .map(|r| json!({"at": r.redeemed_at, "hint": r.hint, "signed_in": r.signed_in}))
        .collect();
    let links: Vec<Value> = db::links_of(pool, &album.id)
        .await?
        .iter()
        .map(|l| {
            json!({
                "id": l.id, "label": l.label, "visits": l.visits, "expires_at": l.expires_at,
                "created_at": l.created_at, "live": l.is_live(now),
                "revoked": l.revoked_at.is_some(),
            })
        })
        .collect();
    Ok(json!({
        "codes": codes, "redemptions": redemptions, "links": links,
        "max_codes": super::MAX_CODES_PER_BATCH, "max_uses": super::MAX_USES_PER_CODE,
        "max_code_days": super::MAX_CODE_DAYS, "max_link_days": super::MAX_LINK_DAYS,
        "max_label": super::MAX_LABEL,
    }))
}

async fn redeem_form(page: Page) -> Result<Response, Problem> {
    page.render("music/redeem.html", json!({}))
}

#[derive(Debug, Deserialize)]
struct RedeemForm {
    #[serde(default)]
    code: String,
}

/// Redeems a typed code; the same page shows what it unlocked, or why it did not.
async fn redeem(
    State(m): State<Music>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Form(form): Form<RedeemForm>,
) -> Result<Response, Problem> {
    let r = match super::redeem(&m, identity.as_ref(), &form.code).await {
        Ok(r) => r,
        Err(e) => {
            let problem = match Problem::from(e) {
                // Beside the field, in the page's language (`problem-not-found-code`).
                p if p.status == 404 => p.with_field("code"),
                p => p,
            };
            let status = problem.status_code();
            let html = page.render(
                "music/redeem.html",
                json!({"error": page.shown(&problem), "code": form.code}),
            )?;
            return Ok((status, html).into_response());
        }
    };
    let tracks: Vec<Value> = music_db::tracks_of(m.platform.db.pool(), &r.album.id)
        .await?
        .iter()
        .filter(|t| t.status == "ready" && t.taken_down_reason.is_none())
        .map(|t| json!({"id": t.id, "position": t.position, "title": t.title}))
        .collect();
    let public = service::album_is_public(&r.album, tutti_store::now_ms());
    let mut html = page.render(
        "music/redeem.html",
        json!({
            "redeemed": {
                "id": r.album.id, "title": r.album.title, "artist": r.artist.name,
                "url": public.then(|| format!("/music/{}/{}", r.artist.slug, r.album.slug)),
                "expires_at": r.expires_at, "tracks": tracks,
                "formats": Offer::Everything.formats().iter().map(|f| f.id()).collect::<Vec<_>>(),
            }
        }),
    )?;
    html.headers_mut().append(header::SET_COOKIE, r.cookie);
    Ok(html)
}

/// A private link's page: the release as its page shows it, and a cookie that lets
/// this browser stream it. The address is the secret, so the page is neither cached
/// nor named to other sites.
async fn listen(
    State(m): State<Music>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let visit = super::visit(&m, &token).await?;
    // This request has no cookie yet: it carries the grant just made.
    let passes = passes.with(super::GrantKind::Listen, &visit.album.id, &visit.token);
    let release =
        crate::pages::visible_release(&m, identity.as_ref(), &passes, &visit.artist, &visit.album)
            .await?
            .ok_or_else(|| Problem::not_found("this private link does not work (any more)"))?;
    let mut response = page.render("music/album.html", json!({ "release": release }))?;
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, visit.cookie);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// The forms of a release's codes and links: `action` says which.
#[derive(Debug, Deserialize)]
struct UnlockForm {
    action: String,
    count: Option<String>,
    uses: Option<String>,
    days: Option<String>,
    label: Option<String>,
    /// The code or link revoked.
    target: Option<String>,
}

/// A number typed in a form, empty as none; `field` names it in the error.
fn number(field: &str, raw: Option<&str>) -> Result<Option<i64>, Problem> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| Problem::invalid(field, format!("`{s}` is not a whole number"))),
    }
}

async fn studio_unlock(
    State(m): State<Music>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
    Form(form): Form<UnlockForm>,
) -> Result<Response, Problem> {
    let who = Who::from(&identity);
    let (artist, album) = service::owned_album(&m.platform, who, &id).await?;
    let back = format!("/music/studio/albums/{}", album.id);
    let target = form.target.as_deref().unwrap_or("");
    match form.action.as_str() {
        "codes" => {
            let batch = CodeBatch {
                count: number("count", form.count.as_deref())?.unwrap_or(1),
                uses: number("uses", form.uses.as_deref())?,
                expires_in_days: number("expires_in_days", form.days.as_deref())?,
            };
            let made = super::create_codes(&m, who, &album.id, &batch).await?;
            let codes: Vec<&str> = made.iter().map(|(_, code)| code.as_str()).collect();
            page.render(
                "music/studio_unlocked.html",
                json!({
                    "album": {"id": album.id, "title": album.title}, "artist": artist.name,
                    "codes": codes, "codes_text": codes.join("\n"),
                    "uses": batch.uses.unwrap_or(1),
                    "expires_at": made.first().and_then(|(row, _)| row.expires_at),
                }),
            )
        }
        "link" => {
            let input = LinkInput {
                days: number("days", form.days.as_deref())?.unwrap_or(7),
                label: form.label.clone().unwrap_or_default(),
            };
            let (link, token) = super::create_link(&m, who, &album.id, &input).await?;
            page.render(
                "music/studio_unlocked.html",
                json!({
                    "album": {"id": album.id, "title": album.title}, "artist": artist.name,
                    "link": m.platform.settings.link(&super::link_path(&token)),
                    "label": link.label, "expires_at": link.expires_at,
                }),
            )
        }
        "revoke-code" => {
            super::revoke_code(&m, who, target).await?;
            Ok(Redirect::to(&format!("{back}#download-codes")).into_response())
        }
        "revoke-link" => {
            super::revoke_link(&m, who, target).await?;
            Ok(Redirect::to(&format!("{back}#private-links")).into_response())
        }
        other => Err(Problem::invalid(
            "action",
            format!("`{other}` is not something this form does"),
        )),
    }
    .map(no_store)
}

/// Pages showing a secret once are not kept by the browser's cache.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
