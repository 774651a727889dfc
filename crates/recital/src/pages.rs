//! The recital's server-rendered pages: campaigns to join, the join form (agreement,
//! demographics, microphone check), reading and recording, validation, a speaker's
//! sessions and replay, and the reviewers' campaign admin (texts, reports, speakers,
//! processing, exports, charts). Scripts only add what needs a browser API.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tutti_platform::serve::{self, Caching};
use tutti_platform::{Access, BodyLimit, Identity, MaybeIdentity, Page, Routes};
use tutti_store::TypedJob;
use tutti_web::{Form, Json, Problem, Query};

use crate::db::{self, Campaign, NewCampaign};
use crate::domain::{
    Labels, Mode, QUESTIONS, ReportReason, SessionState, SpeakerAccess, direction, parse_language,
};
use crate::error::RecitalError;
use crate::export::Format as ExportFormat;
use crate::routes::{document_view, parse_format, prompt, session_view};
use crate::service::{self, Actor, Import};
use crate::text::{self, Format};
use crate::{REVIEWER, Recital};

/// `(name, source)` pairs of files embedded from one folder, named by their file name.
macro_rules! embedded {
    ($prefix:literal, $dir:literal: $($file:literal),* $(,)?) => {
        &[$((concat!($prefix, $file), include_str!(concat!($dir, $file)))),*]
    };
}

pub const TEMPLATES: &[(&str, &str)] = embedded!("recital/", "../templates/":
    "home.html", "campaign.html", "sessions.html", "me.html", "leaderboard.html",
    "admin.html", "admin_campaign.html", "admin_document.html",
    "join.html", "read.html", "clip.html", "validate.html", "replay.html",
);

pub const ASSETS: &[(&str, &str)] = embedded!("", "../assets/":
    "recital.css", "recital-admin.js", "recital-api.js", "recital-clip.js",
    "recital-meter-worklet.js", "recital-meter.js", "recital-miccheck.js", "recital-read.js",
    "recital-recorder.js", "recital-replay.js", "recital-ui.js", "recital-validate.js",
);

/// The studio's page routes, added to the API routes in [`crate::routes::routes`].
pub fn routes(r: Routes<Recital>, import_limit: usize) -> Routes<Recital> {
    let get = Method::GET;
    let post = Method::POST;
    r.page(Access::Public, get.clone(), "/recital", home)
        .page(
            Access::Public,
            get.clone(),
            "/recital/c/{slug}",
            campaign_page,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/c/{slug}/join",
            join_page,
        )
        .page(
            Access::SignedIn,
            post.clone(),
            "/recital/c/{slug}/join",
            join,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/invite/{token}",
            invite,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/c/{slug}/read/{document}",
            read_page,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/c/{slug}/record",
            clip_page,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/c/{slug}/validate",
            validate_page,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/sessions",
            sessions_page,
        )
        .page(
            Access::SignedIn,
            get.clone(),
            "/recital/sessions/{id}",
            replay_page,
        )
        .page(Access::SignedIn, get.clone(), "/recital/me", me_page)
        .page(
            Access::SignedIn,
            post.clone(),
            "/recital/me/{action}",
            me_action,
        )
        .page(
            Access::Public,
            get.clone(),
            "/recital/leaderboard",
            board_page,
        )
        .page(Access::Role(REVIEWER), get.clone(), "/recital/admin", admin)
        .page(
            Access::Role(REVIEWER),
            post.clone(),
            "/recital/admin/campaigns",
            create_campaign,
        )
        .page(
            Access::Role(REVIEWER),
            get.clone(),
            "/recital/admin/c/{slug}",
            admin_campaign,
        )
        .page(
            Access::Role(REVIEWER),
            post.clone(),
            "/recital/admin/c/{slug}/{action}",
            admin_action,
        )
        .page(
            Access::Role(REVIEWER),
            get.clone(),
            "/recital/admin/c/{slug}/documents/{id}",
            admin_document,
        )
        .page_with_limit(
            Access::Role(REVIEWER),
            BodyLimit::Max(import_limit),
            post.clone(),
            "/recital/admin/c/{slug}/documents/file",
            import_file,
        )
        .page(
            Access::Role(REVIEWER),
            get,
            "/recital/admin/exports/{id}/download",
            download_export,
        )
}

fn shown(page: &Page, e: RecitalError) -> serde_json::Value {
    let problem = Problem::from(e);
    json!(page.shown(&problem))
}

async fn home(
    State(r): State<Recital>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
) -> Result<Response, Problem> {
    let mut campaigns = Vec::new();
    for c in db::campaigns(r.platform.db.pool()).await? {
        if !c.accepting {
            continue;
        }
        let joined = match &identity {
            Some(i) => db::speaker(r.platform.db.pool(), &c.id, &i.user.id)
                .await?
                .is_some_and(|s| s.consent_version.is_some()),
            None => false,
        };
        campaigns.push(json!({
            "slug": c.slug, "title": c.title, "description": c.description,
            "mode": c.mode, "languages": c.languages, "labels": c.labels.as_slice(),
            "open": c.access == SpeakerAccess::Open, "joined": joined,
        }));
    }
    let reviewer = identity.as_ref().is_some_and(|i| i.has(&REVIEWER));
    page.render(
        "recital/home.html",
        json!({ "campaigns": campaigns, "reviewer": reviewer }),
    )
}

async fn campaign_page(
    State(r): State<Recital>,
    page: Page,
    MaybeIdentity(identity): MaybeIdentity,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let speaker = match &identity {
        Some(i) => db::speaker(r.platform.db.pool(), &c.id, &i.user.id).await?,
        None => None,
    };
    let consented = speaker.as_ref().and_then(|s| s.consent_version);
    let documents: Vec<_> = db::documents(r.platform.db.pool(), &c.id)
        .await?
        .into_iter()
        .filter(|d| d.public != 0 || identity.as_ref().is_some_and(|i| i.has(&REVIEWER)))
        .collect();
    page.render(
        "recital/campaign.html",
        json!({
            "campaign": campaign_json(&c),
            "documents": documents,
            "consented": consented == Some(c.agreement_version),
            "outdated": consented.is_some_and(|v| v != c.agreement_version),
            "muted": speaker.and_then(|s| s.muted_reason),
            "signed_in": identity.is_some(),
            "reviewer": identity.as_ref().is_some_and(|i| i.has(&REVIEWER)),
        }),
    )
}

fn campaign_json(c: &Campaign) -> serde_json::Value {
    json!({
        "slug": c.slug, "title": c.title, "description": c.description,
        "mode": c.mode, "languages": c.languages, "labels": c.labels.as_slice(),
        "agreement_text": c.agreement_text, "agreement_version": c.agreement_version,
        "asks": c.asks, "access": c.access, "licence": c.licence, "accepting": c.accepting,
    })
}

fn years() -> Vec<i32> {
    let this = time::OffsetDateTime::now_utc().year();
    (1900..=this - 13).rev().collect()
}

async fn render_join(
    r: &Recital,
    page: &Page,
    identity: &Identity,
    c: &Campaign,
    invite: Option<&str>,
    error: Option<serde_json::Value>,
) -> Result<Response, Problem> {
    let speaker = db::speaker(r.platform.db.pool(), &c.id, &identity.user.id).await?;
    let mut campaign = campaign_json(c);
    campaign["consented_version"] = json!(speaker.as_ref().and_then(|s| s.consent_version));
    let profile = speaker.map(|s| s.demographics()).unwrap_or_default();
    let mut response = page.render(
        "recital/join.html",
        json!({
            "campaign": campaign, "profile": profile, "error": error, "years": years(),
            "invite": invite,
        }),
    )?;
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct InviteQuery {
    invite: Option<String>,
}

async fn join_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path(slug): Path<String>,
    Query(q): Query<InviteQuery>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    render_join(&r, &page, &identity, &c, q.invite.as_deref(), None).await
}

#[derive(Debug, Deserialize)]
struct JoinForm {
    #[allow(dead_code)]
    csrf: String,
    version: i64,
    agree: Option<String>,
    year_of_birth: Option<String>,
    gender: Option<String>,
    accent: Option<String>,
    invite: Option<String>,
}

async fn join(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path(slug): Path<String>,
    Form(form): Form<JoinForm>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let outcome = async {
        if form.agree.is_none() {
            return Err(RecitalError::invalid(
                "agree",
                "tick the box to say you agree, or leave the campaign",
            ));
        }
        let year = match form.year_of_birth.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(y) => Some(y.parse::<i32>().map_err(|_| {
                RecitalError::invalid("year_of_birth", format!("`{y}` is not a year"))
            })?),
        };
        let demographics =
            service::demographics(year, form.gender.as_deref(), form.accent.as_deref())?;
        let invited = match form.invite.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => service::check_invite(&r.platform, &c, token).await?,
            None => false,
        };
        service::consent(
            &r.platform,
            &c,
            &identity,
            form.version,
            invited,
            Some(demographics),
        )
        .await
    }
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/recital/c/{}", c.slug)).into_response()),
        Err(e) => {
            let error = shown(&page, e);
            render_join(
                &r,
                &page,
                &identity,
                &c,
                form.invite.as_deref(),
                Some(error),
            )
            .await
        }
    }
}

/// An invitation link: `/recital/invite/{slug}~{token}` opens the join form with it.
async fn invite(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let (slug, secret) = token.split_once('~').unwrap_or(("", ""));
    let c = db::campaign_by_slug(r.platform.db.pool(), slug).await?;
    match c {
        Some(c) if service::check_invite(&r.platform, &c, secret).await? => {
            render_join(&r, &page, &identity, &c, Some(secret), None).await
        }
        _ => Err(Problem::new(
            StatusCode::GONE,
            "link-expired",
            "this invitation link is not valid (any more); ask for a new one",
        )),
    }
}

/// The campaign, once the person may record in it; otherwise the join form is next.
async fn consented(
    r: &Recital,
    identity: &Identity,
    slug: &str,
) -> Result<Result<Campaign, Response>, Problem> {
    let c = service::campaign(&r.platform, slug).await?;
    let speaker = db::speaker(r.platform.db.pool(), &c.id, &identity.user.id).await?;
    if speaker.and_then(|s| s.consent_version) == Some(c.agreement_version) {
        Ok(Ok(c))
    } else {
        Ok(Err(
            Redirect::to(&format!("/recital/c/{}/join", c.slug)).into_response()
        ))
    }
}

async fn read_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path((slug, document)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let c = match consented(&r, &identity, &slug).await? {
        Ok(c) => c,
        Err(redirect) => return Ok(redirect),
    };
    let doc = document_view(&r, &identity, &document).await?;
    if doc.campaign != c.slug {
        return Err(Problem::not_found(format!(
            "there is no document `{document}` here"
        )));
    }
    let mut paragraphs: Vec<Vec<serde_json::Value>> = Vec::new();
    for s in &doc.sentences {
        let p = s.paragraph.max(0) as usize;
        while paragraphs.len() <= p {
            paragraphs.push(Vec::new());
        }
        paragraphs[p].push(json!({ "id": s.id, "text": s.text }));
    }
    paragraphs.retain(|p| !p.is_empty());
    page.render(
        "recital/read.html",
        json!({
            "campaign": { "slug": c.slug, "title": c.title },
            "document": {
                "id": doc.id, "title": doc.title, "language": doc.language, "dir": doc.dir,
                "position": doc.position, "paragraphs": paragraphs,
            },
        }),
    )
}

async fn clip_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let c = match consented(&r, &identity, &slug).await? {
        Ok(c) => c,
        Err(redirect) => return Ok(redirect),
    };
    let next = prompt(&r, &identity, &c, &[]).await?;
    let reasons: Vec<&str> = ReportReason::ALL.iter().map(|r| r.as_str()).collect();
    page.render(
        "recital/clip.html",
        json!({
            "campaign": { "slug": c.slug, "title": c.title, "labels": c.labels.as_slice() },
            "prompt": next, "reasons": reasons,
        }),
    )
}

async fn validate_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    if service::may_validate(&r.platform, &c, &identity)
        .await
        .is_err()
    {
        return Ok(Redirect::to(&format!("/recital/c/{}/join", c.slug)).into_response());
    }
    page.render(
        "recital/validate.html",
        json!({ "campaign": { "slug": c.slug, "title": c.title } }),
    )
}

async fn sessions_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
) -> Result<Response, Problem> {
    let mut sessions = Vec::new();
    for s in db::sessions_of(r.platform.db.pool(), &identity.user.id).await? {
        let title = db::document(r.platform.db.pool(), &s.document_id)
            .await?
            .map(|d| d.title)
            .unwrap_or_default();
        let view = session_view(&r, &s).await?;
        sessions.push(json!({ "session": view, "document_title": title }));
    }
    page.render("recital/sessions.html", json!({ "sessions": sessions }))
}

async fn replay_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let s = service::visible_session(&r.platform, &identity, &id).await?;
    let view = session_view(&r, &s).await?;
    let doc = db::document(r.platform.db.pool(), &s.document_id).await?;
    let campaign = db::campaign_by_id(r.platform.db.pool(), &s.campaign_id).await?;
    let language = doc.as_ref().map(|d| d.language.clone()).unwrap_or_default();
    let cues: Vec<serde_json::Value> = match &s.media {
        Some(m) if matches!(s.state, SessionState::Processed | SessionState::Published) => {
            let vtt = r.platform.blobs.get(&m.vtt).await?;
            let text = String::from_utf8_lossy(&vtt).into_owned();
            tutti_media::vtt::parse(&text)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({
                        "index": i, "start_ms": c.start.as_millis() as u64,
                        "end_ms": c.end.as_millis() as u64, "text": c.text,
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    };
    page.render(
        "recital/replay.html",
        json!({
            "session": {
                "id": view.id, "state": view.state, "duration_ms": view.duration_ms,
                "audio_url": view.audio_url, "audio_mp3_url": view.audio_mp3_url,
                "transcript_url": view.transcript_url, "verdict": view.verdict,
                "error": view.error,
                "document_title": doc.map(|d| d.title).unwrap_or_default(),
                "campaign_title": campaign.map(|c| c.title).unwrap_or_default(),
                "dir": direction(&language), "language": language, "cues": cues,
            },
        }),
    )
}

async fn admin(State(r): State<Recital>, page: Page) -> Result<Response, Problem> {
    admin_view(&r, &page, None, None).await
}

async fn admin_view(
    r: &Recital,
    page: &Page,
    error: Option<serde_json::Value>,
    form: Option<&CampaignForm>,
) -> Result<Response, Problem> {
    let mut campaigns = Vec::new();
    for c in db::campaigns(r.platform.db.pool()).await? {
        let counts = db::session_counts(r.platform.db.pool(), &c.id).await?;
        let ms: i64 = counts.iter().map(|(_, _, ms)| ms).sum();
        let sessions: i64 = counts.iter().map(|(_, n, _)| n).sum();
        campaigns.push(json!({
            "campaign": campaign_json(&c), "sessions": sessions, "hours": hours(ms),
        }));
    }
    let mut response = page.render(
        "recital/admin.html",
        json!({
            "campaigns": campaigns, "error": error,
            "form": form.map(|f| json!({
                "slug": f.slug, "title": f.title, "language": f.language, "mode": f.mode,
                "labels": f.labels, "access": f.access,
            })),
            "modes": ["long-form", "clip"], "accesses": ["open", "approved", "invite"],
        }),
    )?;
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

fn hours(ms: i64) -> String {
    format!("{:.2}", ms as f64 / 3_600_000.0)
}

/// The fields of a new campaign, as the admin form and the command line give them.
#[derive(Debug, Deserialize, Default)]
pub struct CampaignForm {
    #[serde(default)]
    pub csrf: String,
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub language: String,
    pub mode: String,
    #[serde(default)]
    pub labels: String,
    #[serde(default)]
    pub access: String,
    #[serde(default)]
    pub agreement: String,
    #[serde(default)]
    pub licence: String,
    #[serde(default)]
    pub asks: Vec<String>,
}

/// The agreement a campaign starts with when none is written.
pub const DEFAULT_AGREEMENT: &str = "I agree that my recordings, the texts I read and the \
    answers I give are kept and published as part of this campaign's speech dataset under its \
    licence. My name and email are never published; I can delete my recordings at any time.";

impl CampaignForm {
    /// Checks the fields and makes the campaign to store.
    pub fn parse(&self) -> Result<NewCampaign, RecitalError> {
        let slug = crate::domain::Slug::parse(self.slug.trim())?;
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(RecitalError::invalid(
                "title",
                "give the campaign a title of one line, at most 200 characters",
            ));
        }
        let mut languages = Vec::new();
        for l in self
            .language
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            languages.push(parse_language("language", l)?);
        }
        if languages.is_empty() {
            return Err(RecitalError::invalid(
                "language",
                "name the language people read in, e.g. he or en",
            ));
        }
        let mode: Mode = self.mode.trim().parse()?;
        let labels = Labels::parse(&self.labels)?;
        let access: SpeakerAccess = match self.access.trim() {
            "" => SpeakerAccess::Approved,
            a => a.parse()?,
        };
        for a in &self.asks {
            if !QUESTIONS.contains(&a.as_str()) {
                return Err(RecitalError::invalid(
                    "asks",
                    format!(
                        "`{a}` is not a question we ask; use {}",
                        QUESTIONS.join(", ")
                    ),
                ));
            }
        }
        let agreement = self.agreement.trim();
        Ok(NewCampaign {
            slug: slug.as_str().to_string(),
            title: title.to_string(),
            description: self.description.trim().to_string(),
            languages,
            mode,
            labels,
            agreement_text: if agreement.is_empty() {
                DEFAULT_AGREEMENT.to_string()
            } else {
                agreement.to_string()
            },
            asks: if self.asks.is_empty() {
                QUESTIONS.iter().map(|q| q.to_string()).collect()
            } else {
                self.asks.clone()
            },
            access,
            licence: match self.licence.trim() {
                "" => "CC0-1.0".to_string(),
                l => l.to_string(),
            },
        })
    }
}

async fn create_campaign(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Form(form): Form<CampaignForm>,
) -> Result<Response, Problem> {
    let outcome = async {
        let new = form.parse()?;
        service::create_campaign(&r.platform, Actor::Person(&identity), new).await
    }
    .await;
    match outcome {
        Ok(c) => Ok(Redirect::to(&format!("/recital/admin/c/{}", c.slug)).into_response()),
        Err(e) => {
            let error = shown(&page, e);
            admin_view(&r, &page, Some(error), Some(&form)).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct AdminQuery {
    notice: Option<String>,
}

async fn admin_campaign(
    State(r): State<Recital>,
    page: Page,
    Path(slug): Path<String>,
    Query(q): Query<AdminQuery>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    admin_campaign_view(&r, &page, &c, q.notice.as_deref(), None).await
}

/// One bar of a chart: its label, value and height in percent of the tallest.
#[derive(Debug, Serialize)]
struct Bar {
    label: String,
    value: String,
    percent: f64,
}

async fn admin_campaign_view(
    r: &Recital,
    page: &Page,
    c: &Campaign,
    notice: Option<&str>,
    error: Option<serde_json::Value>,
) -> Result<Response, Problem> {
    let pool = r.platform.db.pool();
    let counts = db::session_counts(pool, &c.id).await?;
    let clips = db::clip_counts(pool, &c.id).await?;
    let days = db::hours_per_day(pool, Some(&c.id), None).await?;
    let tallest = days.iter().map(|d| d.ms).max().unwrap_or(1).max(1);
    let chart: Vec<Bar> = days
        .iter()
        .map(|d| Bar {
            label: day_label(d.day),
            value: hours(d.ms),
            percent: (d.ms as f64 / tallest as f64 * 100.0).max(1.0),
        })
        .collect();
    let mut sessions = Vec::new();
    for s in db::campaign_sessions(pool, &c.id, 200).await? {
        sessions.push(json!({
            "id": s.id, "state": s.state, "user_id": s.user_id, "error": s.error,
            "duration": s.duration_ms.map(hours), "created_at": s.created_at,
            "ok": s.verdict.as_ref().map(|v| v.ok),
        }));
    }
    let speakers = db::speakers(pool, &c.id).await?;
    let documents = db::documents(pool, &c.id).await?;
    let reports = db::open_reports(pool, &c.id).await?;
    let exports = db::exports(pool, &c.id).await?;
    let approved = db::approved_emails(pool, &c.id).await?;
    let invite = format!(
        "/recital/invite/{}~{}",
        c.slug,
        service::invite_token(&r.platform, c).await?
    );
    let total_ms: i64 = counts.iter().map(|(_, _, ms)| ms).sum();
    let mut response = page.render(
        "recital/admin_campaign.html",
        json!({
            "campaign": campaign_json(c),
            "counts": counts.iter().map(|(state, n, ms)| json!({"state": state, "n": n, "hours": hours(*ms)})).collect::<Vec<_>>(),
            "clips": clips.iter().map(|(status, n)| json!({"status": status, "n": n})).collect::<Vec<_>>(),
            "total_hours": hours(total_ms),
            "chart": chart, "sessions": sessions, "speakers": speakers, "documents": documents,
            "reports": reports, "exports": exports, "approved": approved,
            "invite": r.platform.settings.link(&invite),
            "formats": ExportFormat::ALL.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            "notice": notice, "error": error,
        }),
    )?;
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

fn day_label(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|d| d.date().to_string())
        .unwrap_or_default()
}

/// Every admin form of a campaign page posts here with its own fields.
#[derive(Debug, Deserialize)]
struct ActionForm {
    #[allow(dead_code)]
    csrf: String,
    /// Where to go afterwards, when not the campaign page (a document's page).
    back: Option<String>,
    text: Option<String>,
    title: Option<String>,
    language: Option<String>,
    url: Option<String>,
    list: Option<String>,
    email: Option<String>,
    session_id: Option<String>,
    sentence_id: Option<String>,
    user_id: Option<String>,
    reason: Option<String>,
    format: Option<String>,
    all: Option<String>,
    document_id: Option<String>,
    public: Option<String>,
}

fn need<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, RecitalError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| RecitalError::invalid(field, format!("fill in {field}")))
}

async fn admin_action(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Path((slug, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let actor = Actor::Person(&identity);
    let p = &r.platform;
    let outcome: Result<&str, RecitalError> = async {
        match action.as_str() {
            "paste" => {
                let text = need(&form.text, "text")?;
                let lang = form
                    .language
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| c.language().to_string());
                let list = form.list.is_some();
                let (paragraphs, found_title) = if list {
                    (vec![text::sentence_list(text.as_bytes())?], None)
                } else {
                    let t = text::import(text.as_bytes(), Format::Plain, &lang)?;
                    (service::paragraphs_of(&t), t.title)
                };
                service::add_document(
                    p,
                    actor,
                    &c,
                    Import {
                        title: form.title.as_deref(),
                        language: Some(&lang),
                        source: "pasted",
                        public: true,
                        paragraphs,
                        found_title,
                    },
                )
                .await?;
                Ok("imported")
            }
            "fetch" => {
                let raw = need(&form.url, "url")?;
                let url = url::Url::parse(raw).map_err(|e| {
                    RecitalError::invalid("url", format!("`{raw}` is not a URL: {e}"))
                })?;
                let policy = text::FetchPolicy {
                    max_bytes: r.settings.max_import_bytes,
                    timeout: std::time::Duration::from_secs(r.settings.fetch_timeout_seconds),
                    allow_private: r.settings.fetch_private_addresses,
                };
                let (bytes, format) = text::fetch(&url, &policy).await?;
                let lang = form
                    .language
                    .clone()
                    .filter(|l| !l.trim().is_empty())
                    .unwrap_or_else(|| c.language().to_string());
                let t = text::import(&bytes, format, &lang)?;
                service::add_document(
                    p,
                    actor,
                    &c,
                    Import {
                        title: form.title.as_deref(),
                        language: Some(&lang),
                        source: url.as_str(),
                        public: true,
                        paragraphs: service::paragraphs_of(&t),
                        found_title: t.title,
                    },
                )
                .await?;
                Ok("imported")
            }
            "approve" => {
                let email = need(&form.email, "email")?;
                if !email.contains('@') || email.chars().any(char::is_whitespace) {
                    return Err(RecitalError::invalid(
                        "email",
                        format!("`{email}` is not an email"),
                    ));
                }
                db::approve_email(p.db.pool(), &c.id, email, Some(&identity.user.id)).await?;
                Ok("approved")
            }
            "retry" => {
                let id = need(&form.session_id, "session_id")?;
                let key = format!("{}:{id}", <crate::jobs::ProcessSession as TypedJob>::KIND);
                let job: Option<String> =
                    sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
                        .bind(&key)
                        .fetch_optional(p.db.pool())
                        .await?;
                if let Some(job) = job {
                    p.queue.retry(&job).await?;
                    p.queue.notify();
                }
                db::set_session_error(p.db.pool(), id, None).await?;
                Ok("retried")
            }
            "fix" => {
                let id = need(&form.sentence_id, "sentence_id")?;
                let text = need(&form.text, "text")?;
                db::fix_sentence(p.db.pool(), id, text).await?;
                db::resolve_reports(p.db.pool(), id, "fixed").await?;
                Ok("fixed")
            }
            "retire" => {
                let id = need(&form.sentence_id, "sentence_id")?;
                db::retire_sentence(p.db.pool(), id).await?;
                db::resolve_reports(p.db.pool(), id, "retired").await?;
                Ok("retired")
            }
            "keep" => {
                let id = need(&form.sentence_id, "sentence_id")?;
                db::resolve_reports(p.db.pool(), id, "kept").await?;
                Ok("kept")
            }
            "mute" => {
                let user = need(&form.user_id, "user_id")?;
                let reason = need(&form.reason, "reason")?;
                db::set_muted(p.db.pool(), &c.id, user, Some(reason)).await?;
                Ok("muted")
            }
            "unmute" => {
                let user = need(&form.user_id, "user_id")?;
                db::set_muted(p.db.pool(), &c.id, user, None).await?;
                Ok("unmuted")
            }
            "export" => {
                let format = parse_format(need(&form.format, "format")?)?;
                service::request_export(p, actor, &c, format, form.all.is_some()).await?;
                Ok("export-queued")
            }
            "agreement" => {
                let text = need(&form.text, "text")?;
                db::update_agreement(p.db.pool(), &c.id, text).await?;
                Ok("agreement-changed")
            }
            "close" => {
                db::set_accepting(p.db.pool(), &c.id, false).await?;
                Ok("closed")
            }
            "open" => {
                db::set_accepting(p.db.pool(), &c.id, true).await?;
                Ok("opened")
            }
            "document" => {
                let id = need(&form.document_id, "document_id")?;
                let title = need(&form.title, "title")?;
                let doc = db::document(p.db.pool(), id)
                    .await?
                    .filter(|d| d.campaign_id == c.id)
                    .ok_or_else(|| RecitalError::invalid("document_id", "no such document here"))?;
                db::set_document(p.db.pool(), &doc.id, title, form.public.is_some()).await?;
                Ok("saved")
            }
            other => Err(RecitalError::not_found(format!(
                "there is no action `{other}`"
            ))),
        }
    }
    .await;
    // A document's page sends its forms back to itself; only such a path is followed.
    let back = form
        .back
        .as_deref()
        .filter(|b| b.starts_with(&format!("/recital/admin/c/{}/documents/", c.slug)))
        .filter(|b| !b.contains("//") && !b.contains('?'))
        .map(str::to_string)
        .unwrap_or_else(|| format!("/recital/admin/c/{}", c.slug));
    match outcome {
        Ok(notice) => Ok(Redirect::to(&format!("{back}?notice={notice}")).into_response()),
        Err(RecitalError::NotFound { detail }) => Err(Problem::not_found(detail)),
        Err(e) => {
            let error = shown(&page, e);
            admin_campaign_view(&r, &page, &c, None, Some(error)).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct FileQuery {
    name: String,
    title: Option<String>,
    language: Option<String>,
    list: Option<bool>,
}

/// The file form's script sends the file's bytes here (`X-CSRF-Token`, `?name=`).
async fn import_file(
    State(r): State<Recital>,
    identity: Identity,
    Path(slug): Path<String>,
    Query(q): Query<FileQuery>,
    body: Bytes,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let doc = service::import_file(
        &r,
        Actor::Person(&identity),
        &c,
        service::TextFile {
            name: &q.name,
            bytes: &body,
            title: q.title.as_deref().filter(|t| !t.trim().is_empty()),
            language: q.language.as_deref().filter(|l| !l.trim().is_empty()),
            as_list: q.list.unwrap_or(false),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

async fn download_export(
    State(r): State<Recital>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let e = db::export(r.platform.db.pool(), &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no export `{id}`")))?;
    let Some(key) = e.blob_key else {
        return Err(Problem::conflict(
            "not-ready",
            "the export is not written yet; its page shows how far it got",
        ));
    };
    let mut response = serve::blob(
        &r.platform.blobs,
        &key,
        "application/gzip",
        Caching::Private,
        &headers,
    )
    .await?;
    let name = key.rsplit('/').next().unwrap_or("export.tar.gz");
    if let Ok(v) = format!("attachment; filename=\"{name}\"").parse() {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Bars for a chart of recorded time per day, scaled to the tallest.
fn day_bars(days: &[service::DayTotal]) -> Vec<Bar> {
    let tallest = days.iter().map(|d| d.ms).max().unwrap_or(1).max(1);
    days.iter()
        .map(|d| Bar {
            label: day_label(d.day),
            value: format!("{:.1}", d.ms as f64 / 60_000.0),
            percent: (d.ms as f64 / tallest as f64 * 100.0).max(1.0),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
struct MeQuery {
    notice: Option<String>,
}

async fn me_page(
    State(r): State<Recital>,
    page: Page,
    identity: Identity,
    Query(q): Query<MeQuery>,
) -> Result<Response, Problem> {
    let stats = service::my_stats(&r.platform, &identity.user.id).await?;
    page.render(
        "recital/me.html",
        json!({
            "stats": stats,
            "minutes": format!("{:.1}", stats.recorded_ms as f64 / 60_000.0),
            "to_next_minutes": stats.standing.to_next_rank_ms.map(|ms| format!("{:.1}", ms as f64 / 60_000.0)),
            "chart": day_bars(&stats.days),
            "notice": q.notice,
        }),
    )
}

#[derive(Debug, Deserialize)]
struct MeForm {
    #[allow(dead_code)]
    csrf: String,
    public_name: Option<String>,
    confirm: Option<String>,
}

async fn me_action(
    State(r): State<Recital>,
    identity: Identity,
    Path(action): Path<String>,
    Form(form): Form<MeForm>,
) -> Result<Response, Problem> {
    let notice = match action.as_str() {
        "profile" => {
            db::set_public_name(
                r.platform.db.pool(),
                &identity.user.id,
                form.public_name.is_some(),
            )
            .await?;
            "saved"
        }
        "delete-recordings" => {
            if form.confirm.as_deref() != Some("delete") {
                return Err(Problem::invalid(
                    "confirm",
                    "tick the box to confirm that every recording is to be deleted",
                ));
            }
            service::discard_all(&r.platform, &identity.user.id).await?;
            "deleted"
        }
        other => return Err(Problem::not_found(format!("there is no action `{other}`"))),
    };
    Ok(Redirect::to(&format!("/recital/me?notice={notice}")).into_response())
}

async fn board_page(State(r): State<Recital>, page: Page) -> Result<Response, Problem> {
    let rows = service::leaderboard(&r.platform, r.settings.leaderboard_size as usize).await?;
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|b| {
            json!({
                "rank": b.rank, "name": b.name, "sessions": b.sessions,
                "minutes": format!("{:.1}", b.recorded_ms as f64 / 60_000.0),
            })
        })
        .collect();
    page.render("recital/leaderboard.html", json!({ "rows": rows }))
}

async fn admin_document(
    State(r): State<Recital>,
    page: Page,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<AdminQuery>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let doc = db::document(r.platform.db.pool(), &id)
        .await?
        .filter(|d| d.campaign_id == c.id)
        .ok_or_else(|| Problem::not_found(format!("{slug} has no document `{id}`")))?;
    let sentences = db::sentences(r.platform.db.pool(), &doc.id).await?;
    page.render(
        "recital/admin_document.html",
        json!({
            "campaign": campaign_json(&c), "document": doc,
            "dir": direction(&doc.language), "sentences": sentences, "notice": q.notice,
        }),
    )
}

#[cfg(test)]
mod tests {
    /// A file added to templates/ or assets/ but not to the lists would 404 or 500.
    #[test]
    fn every_template_and_asset_is_embedded() {
        for (dir, list, prefix) in [
            ("templates", super::TEMPLATES, "recital/"),
            ("assets", super::ASSETS, ""),
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(path).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                let wanted = format!("{prefix}{name}");
                assert!(
                    list.iter().any(|(n, _)| *n == wanted),
                    "{wanted} is not embedded"
                );
            }
        }
    }
}
