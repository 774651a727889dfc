//! The recital's JSON API under `/api/v1/recital/`: campaigns and consent, documents,
//! recording sessions (chunks, segments, end), transcripts and audio, reports, validation
//! and exports. Handlers parse, call [`crate::service`], and answer; errors are problem
//! documents naming the field at fault.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutti_platform::serve::{self, Caching};
use tutti_platform::{Access, BodyLimit, Identity, Routes, StudioRoutes};
use tutti_web::{Json, Problem, Query};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use crate::db::{self, Campaign, DocumentSummary, Session};
use crate::domain::{Mode, ReportReason, SessionState, SpeakerAccess, Verdict, direction};
use crate::error::RecitalError;
use crate::service::{self, NewSegment, Start, Stored};
use crate::{REVIEWER, Recital};

/// Every page and API route of the studio.
pub fn routes(r: Recital) -> StudioRoutes {
    let chunk_limit = (r.settings.max_chunk_bytes as usize).saturating_add(1024);
    let import_limit = (r.settings.max_import_bytes as usize).saturating_add(1024);
    let pages = crate::pages::routes(Routes::new(), import_limit);
    pages
        .api(Access::SignedIn, routes!(list_campaigns))
        .api(Access::SignedIn, routes!(get_campaign))
        .api(Access::SignedIn, routes!(consent))
        .api(Access::SignedIn, routes!(get_document))
        .api(Access::SignedIn, routes!(set_position))
        .api(Access::SignedIn, routes!(next_prompt))
        .api(Access::SignedIn, routes!(list_sessions, start_session))
        .api(Access::SignedIn, routes!(get_session, discard_session))
        .api_with_limit(
            Access::SignedIn,
            BodyLimit::Max(chunk_limit),
            routes!(put_chunk),
        )
        .api(Access::SignedIn, routes!(post_segments))
        .api(Access::SignedIn, routes!(end_session))
        .api(Access::SignedIn, routes!(transcript))
        .api(Access::SignedIn, routes!(session_audio))
        .api(Access::SignedIn, routes!(report_sentence))
        .api(Access::SignedIn, routes!(next_clip))
        .api(Access::SignedIn, routes!(clip_audio))
        .api(Access::SignedIn, routes!(vote))
        .api(Access::SignedIn, routes!(report_clip))
        .api(Access::SignedIn, routes!(my_stats))
        .api(Access::SignedIn, routes!(set_profile))
        .api(Access::SignedIn, routes!(my_archive))
        .api(Access::SignedIn, routes!(delete_my_recordings))
        .api(Access::Public, routes!(leaderboard))
        .api(Access::Role(REVIEWER), routes!(request_export))
        .api(Access::Role(REVIEWER), routes!(get_export))
        .with_state(r)
}

/// A campaign as speakers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub mode: Mode,
    pub languages: Vec<String>,
    pub labels: Vec<String>,
    pub access: SpeakerAccess,
    /// Whether it takes recordings now.
    pub accepting: bool,
    pub agreement: Agreement,
    /// The agreement version this person consented to, if any.
    pub consented_version: Option<i64>,
    /// The demographic questions it asks.
    pub asks: Vec<String>,
    pub documents: Vec<DocumentSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Agreement {
    pub version: i64,
    pub text: String,
}

async fn campaign_view(
    r: &Recital,
    c: &Campaign,
    identity: &Identity,
) -> Result<CampaignView, Problem> {
    let speaker = db::speaker(r.platform.db.pool(), &c.id, &identity.user.id)
        .await
        .map_err(Problem::from)?;
    let documents = db::documents(r.platform.db.pool(), &c.id)
        .await
        .map_err(Problem::from)?;
    let documents = if identity.has(&REVIEWER) {
        documents
    } else {
        documents.into_iter().filter(|d| d.public != 0).collect()
    };
    Ok(CampaignView {
        slug: c.slug.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        mode: c.mode,
        languages: c.languages.clone(),
        labels: c.labels.as_slice().to_vec(),
        access: c.access,
        accepting: c.accepting,
        agreement: Agreement {
            version: c.agreement_version,
            text: c.agreement_text.clone(),
        },
        consented_version: speaker.and_then(|s| s.consent_version),
        asks: c.asks.clone(),
        documents,
    })
}

#[utoipa::path(get, path = "/recital/campaigns", tag = "recital",
    summary = "Campaigns taking recordings",
    responses((status = 200, body = Vec<CampaignView>)))]
async fn list_campaigns(
    State(r): State<Recital>,
    identity: Identity,
) -> Result<Json<Vec<CampaignView>>, Problem> {
    let mut out = Vec::new();
    for c in db::campaigns(r.platform.db.pool()).await? {
        if c.accepting || identity.has(&REVIEWER) {
            out.push(campaign_view(&r, &c, &identity).await?);
        }
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/recital/campaigns/{slug}", tag = "recital",
    summary = "A campaign: its agreement, questions and documents",
    params(("slug" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem)))]
async fn get_campaign(
    State(r): State<Recital>,
    identity: Identity,
    Path(slug): Path<String>,
) -> Result<Json<CampaignView>, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    Ok(Json(campaign_view(&r, &c, &identity).await?))
}

/// Consent to a campaign's agreement, with optional demographics.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsentBody {
    /// The agreement version read (the campaign's current one).
    pub version: i64,
    /// Year of birth; absent or null = prefer not to say.
    pub year_of_birth: Option<i32>,
    /// female, male, non-binary or other; absent, null or "" = prefer not to say.
    pub gender: Option<String>,
    /// Accent or dialect, free text; absent = prefer not to say.
    pub accent: Option<String>,
    /// The invitation token of an invite-only campaign.
    pub invite: Option<String>,
}

/// A speaker's standing after consenting.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub version: i64,
    /// When the consent to this version was given (Unix ms).
    pub at: i64,
}

#[utoipa::path(post, path = "/recital/campaigns/{slug}/consent", tag = "recital",
    summary = "Consent to a campaign's agreement",
    description = "Records the agreement version and the time; consenting again to the same \
        version changes nothing, and a new version must be consented to again before recording.",
    params(("slug" = String, Path)), request_body = ConsentBody,
    responses((status = 200, body = ConsentView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn consent(
    State(r): State<Recital>,
    identity: Identity,
    Path(slug): Path<String>,
    Json(body): Json<ConsentBody>,
) -> Result<Json<ConsentView>, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let invited = match &body.invite {
        Some(token) => service::check_invite(&r.platform, &c, token).await?,
        None => false,
    };
    let asked = body.year_of_birth.is_some() || body.gender.is_some() || body.accent.is_some();
    let demographics = if asked {
        Some(service::demographics(
            body.year_of_birth,
            body.gender.as_deref(),
            body.accent.as_deref(),
        )?)
    } else {
        None
    };
    let speaker = service::consent(
        &r.platform,
        &c,
        &identity,
        body.version,
        invited,
        demographics,
    )
    .await?;
    Ok(Json(ConsentView {
        version: speaker.consent_version.unwrap_or(body.version),
        at: speaker.consent_at.unwrap_or_default(),
    }))
}

/// One sentence of a document.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentenceView {
    pub id: String,
    pub text: String,
    /// Which paragraph it is in, from 0.
    pub paragraph: i64,
}

/// A document to read, its sentences in reading order.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub title: String,
    pub language: String,
    /// `rtl` or `ltr`: the way its script runs.
    pub dir: String,
    pub campaign: String,
    /// The sentence this person reached last time.
    pub position: Option<String>,
    pub sentences: Vec<SentenceView>,
}

/// The document if this person may read it: public ones to anyone signed in, the others
/// to the campaign's speakers and reviewers.
pub async fn readable_document(
    r: &Recital,
    identity: &Identity,
    id: &str,
) -> Result<(db::Document, Campaign), RecitalError> {
    let p = &r.platform;
    let doc = db::document(p.db.pool(), id)
        .await?
        .ok_or_else(|| RecitalError::not_found(format!("there is no document `{id}`")))?;
    let campaign = db::campaign_by_id(p.db.pool(), &doc.campaign_id)
        .await?
        .ok_or_else(|| RecitalError::internal("document without campaign"))?;
    let speaker = db::speaker(p.db.pool(), &campaign.id, &identity.user.id).await?;
    let allowed = doc.public != 0
        || identity.has(&REVIEWER)
        || speaker.is_some_and(|s| s.consent_version.is_some());
    if !allowed {
        return Err(RecitalError::not_found(format!(
            "there is no document `{id}`"
        )));
    }
    Ok((doc, campaign))
}

pub async fn document_view(
    r: &Recital,
    identity: &Identity,
    id: &str,
) -> Result<DocumentView, RecitalError> {
    let (doc, campaign) = readable_document(r, identity, id).await?;
    let p = &r.platform;
    let sentences = db::sentences(p.db.pool(), &doc.id).await?;
    let position = db::position(p.db.pool(), &identity.user.id, &doc.id).await?;
    Ok(DocumentView {
        dir: direction(&doc.language).to_string(),
        id: doc.id,
        title: doc.title,
        language: doc.language,
        campaign: campaign.slug,
        position,
        sentences: sentences
            .into_iter()
            .map(|s| SentenceView {
                id: s.id,
                text: s.text,
                paragraph: s.paragraph,
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/recital/documents/{id}", tag = "recital",
    summary = "A document's sentences in reading order",
    params(("id" = String, Path)),
    responses((status = 200, body = DocumentView), (status = 404, body = Problem)))]
async fn get_document(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<DocumentView>, Problem> {
    Ok(Json(document_view(&r, &identity, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PositionBody {
    pub sentence_id: String,
}

#[utoipa::path(put, path = "/recital/documents/{id}/position", tag = "recital",
    summary = "Remember where the reader is in a document",
    params(("id" = String, Path)), request_body = PositionBody,
    responses((status = 204, description = "Remembered"), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn set_position(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<PositionBody>,
) -> Result<StatusCode, Problem> {
    let (doc, _) = readable_document(&r, &identity, &id).await?;
    let known = db::sentence(r.platform.db.pool(), &body.sentence_id)
        .await?
        .is_some_and(|s| s.document_id == doc.id);
    if !known {
        return Err(Problem::invalid(
            "sentence_id",
            format!("the document has no sentence `{}`", body.sentence_id),
        ));
    }
    db::set_position(
        r.platform.db.pool(),
        &identity.user.id,
        &doc.id,
        &body.sentence_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to read next in a clip campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prompt {
    pub sentence_id: String,
    pub text: String,
    /// The label to read it with (an emotion), when the campaign has labels.
    pub label: Option<String>,
    pub document_id: String,
    pub language: String,
    pub dir: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PromptQuery {
    /// A sentence to pass over this time.
    pub skip: Option<String>,
}

/// The next prompt of a clip campaign for this person, skipping `skip`.
pub async fn prompt(
    r: &Recital,
    identity: &Identity,
    campaign: &Campaign,
    skip: &[String],
) -> Result<Option<Prompt>, RecitalError> {
    let next = db::next_prompt(r.platform.db.pool(), campaign, &identity.user.id, skip).await?;
    Ok(next.map(|(sentence, label, doc)| Prompt {
        sentence_id: sentence.id,
        text: sentence.text,
        label,
        dir: direction(&doc.language).to_string(),
        document_id: doc.id,
        language: doc.language,
    }))
}

#[utoipa::path(get, path = "/recital/campaigns/{slug}/prompts/next", tag = "recital",
    summary = "The next sentence (and label) to record in a clip campaign",
    params(("slug" = String, Path), PromptQuery),
    responses((status = 200, body = Prompt), (status = 204, description = "Nothing left to record"),
        (status = 404, body = Problem)))]
async fn next_prompt(
    State(r): State<Recital>,
    identity: Identity,
    Path(slug): Path<String>,
    Query(q): Query<PromptQuery>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let skip: Vec<String> = q.skip.into_iter().collect();
    Ok(match prompt(&r, &identity, &c, &skip).await? {
        Some(p) => Json(p).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// A new session.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartBody {
    pub document_id: String,
    /// Clip campaigns: the sentence this take reads.
    pub sentence_id: Option<String>,
    /// Clip campaigns with labels: the label it is read with.
    pub label: Option<String>,
}

/// How much of one part (one recorder's stream) has arrived.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartView {
    pub part: i64,
    pub chunks: i64,
    pub bytes: i64,
}

/// A session as its speaker sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub state: SessionState,
    pub campaign: String,
    pub document_id: String,
    pub mode: Mode,
    pub sentence_id: Option<String>,
    pub label: Option<String>,
    /// Length of the processed recording, once processed.
    pub duration_ms: Option<i64>,
    /// The automatic quality check, once processed.
    pub verdict: Option<Verdict>,
    /// Why processing failed, while it does.
    pub error: Option<String>,
    /// Chunks acknowledged, all parts together.
    pub chunks: i64,
    pub parts: Vec<PartView>,
    pub audio_url: Option<String>,
    pub audio_mp3_url: Option<String>,
    pub transcript_url: Option<String>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub processed_at: Option<i64>,
}

pub async fn session_view(r: &Recital, s: &Session) -> Result<SessionView, RecitalError> {
    let chunks = db::chunks(r.platform.db.pool(), &s.id).await?;
    let mut parts: Vec<PartView> = Vec::new();
    for c in &chunks {
        match parts.last_mut() {
            Some(p) if p.part == c.part => {
                p.chunks += 1;
                p.bytes += c.size_bytes;
            }
            _ => parts.push(PartView {
                part: c.part,
                chunks: 1,
                bytes: c.size_bytes,
            }),
        }
    }
    let campaign = db::campaign_by_id(r.platform.db.pool(), &s.campaign_id)
        .await?
        .map(|c| c.slug)
        .unwrap_or_default();
    let ready = matches!(s.state, SessionState::Processed | SessionState::Published);
    let base = format!("/api/v1/recital/sessions/{}", s.id);
    Ok(SessionView {
        id: s.id.clone(),
        state: s.state,
        campaign,
        document_id: s.document_id.clone(),
        mode: s.mode,
        sentence_id: s.sentence_id.clone(),
        label: s.label.clone(),
        duration_ms: s.duration_ms,
        verdict: s.verdict.clone(),
        error: s.error.clone(),
        chunks: chunks.len() as i64,
        parts,
        audio_url: ready.then(|| format!("{base}/audio")),
        audio_mp3_url: ready.then(|| format!("{base}/audio?format=mp3")),
        transcript_url: ready.then(|| format!("{base}/transcript.vtt")),
        created_at: s.created_at,
        ended_at: s.ended_at,
        processed_at: s.processed_at,
    })
}

#[utoipa::path(post, path = "/recital/sessions", tag = "recital",
    summary = "Start a recording session on a document",
    description = "Long-form campaigns record the whole document in one session; clip \
        campaigns record one take of one sentence (and label) per session.",
    request_body = StartBody,
    responses((status = 201, body = SessionView), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn start_session(
    State(r): State<Recital>,
    identity: Identity,
    Json(body): Json<StartBody>,
) -> Result<(StatusCode, Json<SessionView>), Problem> {
    let session = service::start_session(
        &r.platform,
        &identity,
        Start {
            document_id: &body.document_id,
            sentence_id: body.sentence_id.as_deref(),
            label: body.label.as_deref(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(session_view(&r, &session).await?)))
}

#[utoipa::path(get, path = "/recital/sessions", tag = "recital",
    summary = "Your recording sessions, newest first",
    responses((status = 200, body = Vec<SessionView>)))]
async fn list_sessions(
    State(r): State<Recital>,
    identity: Identity,
) -> Result<Json<Vec<SessionView>>, Problem> {
    let mut out = Vec::new();
    for s in db::sessions_of(r.platform.db.pool(), &identity.user.id).await? {
        out.push(session_view(&r, &s).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/recital/sessions/{id}", tag = "recital",
    summary = "A session: its state, length and quality verdict",
    params(("id" = String, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = Problem)))]
async fn get_session(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, Problem> {
    let s = service::visible_session(&r.platform, &identity, &id).await?;
    Ok(Json(session_view(&r, &s).await?))
}

#[utoipa::path(delete, path = "/recital/sessions/{id}", tag = "recital",
    summary = "Discard a session and remove its audio",
    params(("id" = String, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn discard_session(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, Problem> {
    let s = service::discard_session(&r.platform, &identity, &id).await?;
    Ok(Json(session_view(&r, &s).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartQuery {
    /// Which recording of the session the chunk belongs to (0 unless the page was
    /// reloaded or a pause resumed); each part is its own stream.
    #[param(minimum = 0, maximum = 10000)]
    pub part: Option<i64>,
}

/// A chunk as acknowledged.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkAck {
    pub part: i64,
    pub seq: i64,
    pub size: i64,
    /// `new` when stored by this request, `again` when the same bytes were stored before.
    pub stored: String,
}

#[utoipa::path(put, path = "/recital/sessions/{id}/chunks/{seq}", tag = "recital",
    summary = "Upload one chunk of a recording",
    description = "The chunks of one part are consecutive byte slices of one MediaRecorder \
        recording (only the first carries the container header). They may arrive out of \
        order and more than once. The body's SHA-256 goes in `Content-Digest: sha-256=:…:` \
        (RFC 9530). 201 once the chunk is durable, 200 when the same bytes were stored \
        before, 409 when other bytes were stored under this number or the session ended.",
    params(("id" = String, Path), ("seq" = i64, Path, minimum = 0, maximum = 1000000), PartQuery,
        ("Content-Digest" = String, Header, pattern = "sha-256=:[A-Za-z0-9+/]{43}=:", description = "`sha-256=:<base64 of the body's SHA-256>:`")),
    request_body(content = Vec<u8>, content_type = "audio/webm"),
    responses((status = 201, body = ChunkAck), (status = 200, body = ChunkAck),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
async fn put_chunk(
    State(r): State<Recital>,
    identity: Identity,
    Path((id, seq)): Path<(String, i64)>,
    Query(q): Query<PartQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ChunkAck>), Problem> {
    let digest = headers.get("content-digest").and_then(|v| v.to_str().ok());
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let part = q.part.unwrap_or(0);
    let size = body.len() as i64;
    let chunk = service::ChunkUpload {
        part,
        seq,
        media_type,
        digest,
        body,
    };
    let stored = service::put_chunk(&r, &identity, &id, chunk).await?;
    let (status, word) = match stored {
        Stored::New => (StatusCode::CREATED, "new"),
        Stored::Again => (StatusCode::OK, "again"),
    };
    Ok((
        status,
        Json(ChunkAck {
            part,
            seq,
            size,
            stored: word.into(),
        }),
    ))
}

/// When a sentence ended, on the session's timeline.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SegmentBody {
    pub sentence_id: String,
    /// Milliseconds from the session's start: the earlier parts' lengths plus the
    /// position in the current one.
    #[schema(minimum = 0)]
    pub end_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentsAck {
    /// Segments recorded by this request.
    pub segments: usize,
}

#[utoipa::path(post, path = "/recital/sessions/{id}/segments", tag = "recital",
    summary = "Record when sentences ended",
    description = "A sentence sent again replaces its earlier end (read again after \"previous\").",
    params(("id" = String, Path)), request_body = Vec<SegmentBody>,
    responses((status = 200, body = SegmentsAck), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn post_segments(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<Vec<SegmentBody>>,
) -> Result<Json<SegmentsAck>, Problem> {
    let segments: Vec<NewSegment<'_>> = body
        .iter()
        .map(|s| NewSegment {
            sentence_id: &s.sentence_id,
            end_ms: s.end_ms,
        })
        .collect();
    let n = service::post_segments(&r.platform, &identity, &id, &segments).await?;
    Ok(Json(SegmentsAck { segments: n }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndBody {
    /// false drops the last sentence (the reader stopped in the middle of it).
    pub keep_last: bool,
}

#[utoipa::path(post, path = "/recital/sessions/{id}/end", tag = "recital",
    summary = "Stop recording and queue processing",
    description = "Send it once every chunk is acknowledged. Ending again changes nothing.",
    params(("id" = String, Path)), request_body = EndBody,
    responses((status = 200, body = SessionView), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn end_session(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<EndBody>,
) -> Result<Json<SessionView>, Problem> {
    let s = service::end_session(&r.platform, &identity, &id, body.keep_last).await?;
    Ok(Json(session_view(&r, &s).await?))
}

fn processed(s: &Session) -> Result<db::SessionMedia, Problem> {
    match (&s.media, s.state) {
        (Some(m), SessionState::Processed | SessionState::Published) => Ok(m.clone()),
        _ => Err(Problem::conflict(
            "not-processed",
            format!(
                "the session is {}; its transcript and audio exist once it is processed",
                s.state.as_str()
            ),
        )),
    }
}

#[utoipa::path(get, path = "/recital/sessions/{id}/transcript.vtt", tag = "recital",
    summary = "The session's sentences as WebVTT cues",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/vtt", body = String),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn transcript(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let s = service::visible_session(&r.platform, &identity, &id).await?;
    let media = processed(&s)?;
    serve::blob(
        &r.platform.blobs,
        &media.vtt,
        "text/vtt; charset=utf-8",
        Caching::Private,
        &headers,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AudioQuery {
    /// `opus` (default), `mp3` or `flac` (the archive copy).
    #[param(pattern = "^(opus|mp3|flac)$")]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/recital/sessions/{id}/audio", tag = "recital",
    summary = "The session's recording (byte ranges for seeking)",
    params(("id" = String, Path), AudioQuery),
    responses((status = 200, content_type = "audio/ogg", body = Vec<u8>),
        (status = 206, content_type = "audio/ogg", body = Vec<u8>),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 416, body = Problem), (status = 422, body = Problem)))]
async fn session_audio(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Query(q): Query<AudioQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let s = service::visible_session(&r.platform, &identity, &id).await?;
    let media = processed(&s)?;
    let (key, ty) = match q.format.as_deref().unwrap_or("opus") {
        "opus" => (media.web_opus, "audio/ogg; codecs=opus"),
        "mp3" => (media.web_mp3, "audio/mpeg"),
        "flac" => (media.archive, "audio/flac"),
        other => {
            return Err(Problem::invalid(
                "format",
                format!("`{other}` is not a copy we keep: ask for opus, mp3 or flac"),
            ));
        }
    };
    serve::blob(&r.platform.blobs, &key, ty, Caching::Private, &headers).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportBody {
    pub reason: ReportReason,
    /// What is wrong, in the reporter's words.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportAck {
    pub id: String,
}

#[utoipa::path(post, path = "/recital/sentences/{id}/reports", tag = "recital",
    summary = "Report a sentence (offensive, misspelled, wrong language, hard to say)",
    params(("id" = String, Path)), request_body = ReportBody,
    responses((status = 201, body = ReportAck), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn report_sentence(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<ReportBody>,
) -> Result<(StatusCode, Json<ReportAck>), Problem> {
    let sentence = db::sentence(r.platform.db.pool(), &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no sentence `{id}`")))?;
    readable_document(&r, &identity, &sentence.document_id).await?;
    let note = body.note.unwrap_or_default();
    if note.chars().count() > 1000 {
        return Err(Problem::invalid(
            "note",
            "keep the note under 1000 characters",
        ));
    }
    let id = db::insert_report(
        r.platform.db.pool(),
        &sentence.id,
        &identity.user.id,
        body.reason.as_str(),
        note.trim(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(ReportAck { id })))
}

/// A clip waiting for votes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClipToValidate {
    pub clip_id: String,
    pub text: String,
    pub label: Option<String>,
    pub audio_url: String,
    pub duration_ms: i64,
    pub language: String,
    pub dir: String,
}

#[utoipa::path(get, path = "/recital/campaigns/{slug}/validation/next", tag = "recital",
    summary = "The next clip to listen to and vote on",
    description = "Never one of your own; clips with the fewest votes come first.",
    params(("slug" = String, Path)),
    responses((status = 200, body = ClipToValidate), (status = 204, description = "Nothing waits"),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn next_clip(
    State(r): State<Recital>,
    identity: Identity,
    Path(slug): Path<String>,
) -> Result<Response, Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    service::may_validate(&r.platform, &c, &identity).await?;
    let Some(clip) =
        db::next_for_validation(r.platform.db.pool(), &c.id, &identity.user.id).await?
    else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let session = db::session(r.platform.db.pool(), &clip.session_id).await?;
    let language = match session {
        Some(s) => db::document(r.platform.db.pool(), &s.document_id)
            .await?
            .map(|d| d.language)
            .unwrap_or_else(|| c.language().to_string()),
        None => c.language().to_string(),
    };
    Ok(Json(ClipToValidate {
        audio_url: format!("/api/v1/recital/clips/{}/audio", clip.id),
        duration_ms: clip.end_ms - clip.start_ms,
        dir: direction(&language).to_string(),
        language,
        clip_id: clip.id,
        text: clip.text,
        label: clip.label,
    })
    .into_response())
}

#[utoipa::path(get, path = "/recital/clips/{id}/audio", tag = "recital",
    summary = "A clip's audio (Ogg Opus)",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "audio/ogg", body = Vec<u8>),
        (status = 206, content_type = "audio/ogg", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 416, body = Problem)))]
async fn clip_audio(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let clip = db::clip(r.platform.db.pool(), &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no clip `{id}`")))?;
    if clip.user_id != identity.user.id {
        let c = db::campaign_by_id(r.platform.db.pool(), &clip.campaign_id)
            .await?
            .ok_or_else(|| Problem::not_found("the clip's campaign is gone"))?;
        service::may_validate(&r.platform, &c, &identity).await?;
    }
    serve::blob(
        &r.platform.blobs,
        &clip.audio_key,
        "audio/ogg; codecs=opus",
        Caching::Private,
        &headers,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteBody {
    /// Whether the clip is the sentence, read clearly.
    pub valid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VoteResult {
    /// pending, valid or invalid after this vote.
    pub status: String,
    pub up_votes: i64,
    pub down_votes: i64,
}

#[utoipa::path(post, path = "/recital/clips/{id}/votes", tag = "recital",
    summary = "Vote on whether a clip is valid",
    description = "Valid with at least two yes votes and more yes than no; invalid with at \
        least two no and more no than yes (Common Voice's rule). A second vote by the same \
        person replaces the first; nobody votes on their own clips.",
    params(("id" = String, Path)), request_body = VoteBody,
    responses((status = 200, body = VoteResult), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn vote(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<VoteBody>,
) -> Result<Json<VoteResult>, Problem> {
    let clip = service::vote(&r.platform, &identity, &id, body.valid).await?;
    Ok(Json(VoteResult {
        status: clip.status,
        up_votes: clip.up_votes,
        down_votes: clip.down_votes,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExportBody {
    /// audiofolder, ljspeech, commonvoice or longform
    #[schema(pattern = "^(audiofolder|ljspeech|commonvoice|longform)$")]
    pub format: String,
    /// Include takes not validated yet (and invalid ones, where the layout keeps them apart).
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportAck {
    pub id: String,
    pub status_url: String,
}

pub fn parse_format(raw: &str) -> Result<crate::export::Format, RecitalError> {
    raw.parse()
        .map_err(|e: crate::export::UnknownFormat| RecitalError::invalid("format", e.to_string()))
}

#[utoipa::path(post, path = "/recital/campaigns/{slug}/exports", tag = "recital",
    summary = "Queue a dataset export of a campaign",
    params(("slug" = String, Path)), request_body = ExportBody,
    responses((status = 202, body = ExportAck), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn request_export(
    State(r): State<Recital>,
    identity: Identity,
    Path(slug): Path<String>,
    Json(body): Json<ExportBody>,
) -> Result<(StatusCode, Json<ExportAck>), Problem> {
    let c = service::campaign(&r.platform, &slug).await?;
    let format = parse_format(&body.format)?;
    let id = service::request_export(
        &r.platform,
        service::Actor::Person(&identity),
        &c,
        format,
        body.all.unwrap_or(false),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ExportAck {
            status_url: format!("/api/v1/recital/exports/{id}"),
            id,
        }),
    ))
}

#[utoipa::path(get, path = "/recital/exports/{id}", tag = "recital",
    summary = "An export's progress and, once done, its size and counts",
    params(("id" = String, Path)),
    responses((status = 200, body = db::Export), (status = 404, body = Problem)))]
async fn get_export(
    State(r): State<Recital>,
    Path(id): Path<String>,
) -> Result<Json<db::Export>, Problem> {
    let e = db::export(r.platform.db.pool(), &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no export `{id}`")))?;
    Ok(Json(e))
}

#[utoipa::path(get, path = "/recital/me/stats", tag = "recital",
    summary = "Your recorded time, clips, rank and progress per day",
    responses((status = 200, body = service::MyStats)))]
async fn my_stats(
    State(r): State<Recital>,
    identity: Identity,
) -> Result<Json<service::MyStats>, Problem> {
    Ok(Json(
        service::my_stats(&r.platform, &identity.user.id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileBody {
    /// Show your name on the public leaderboard (you are anonymous there otherwise).
    pub public_name: bool,
}

#[utoipa::path(put, path = "/recital/me/profile", tag = "recital",
    summary = "Choose whether the leaderboard shows your name",
    request_body = ProfileBody,
    responses((status = 204, description = "Saved")))]
async fn set_profile(
    State(r): State<Recital>,
    identity: Identity,
    Json(body): Json<ProfileBody>,
) -> Result<StatusCode, Problem> {
    db::set_public_name(r.platform.db.pool(), &identity.user.id, body.public_name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/recital/me/archive", tag = "recital",
    summary = "Download everything kept about you here (profile, sessions, transcripts, audio)",
    responses((status = 200, content_type = "application/gzip", body = Vec<u8>)))]
async fn my_archive(State(r): State<Recital>, identity: Identity) -> Result<Response, Problem> {
    let bytes = service::archive(&r.platform, &identity).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"my-recital-data.tar.gz\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Sessions discarded by this request; their audio is removed in the background.
    pub sessions: usize,
}

#[utoipa::path(delete, path = "/recital/me/recordings", tag = "recital",
    summary = "Delete all your recordings (their audio leaves the blob store)",
    responses((status = 200, body = Deleted)))]
async fn delete_my_recordings(
    State(r): State<Recital>,
    identity: Identity,
) -> Result<Json<Deleted>, Problem> {
    let sessions = service::discard_all(&r.platform, &identity.user.id).await?;
    Ok(Json(Deleted { sessions }))
}

#[utoipa::path(get, path = "/recital/leaderboard", tag = "recital",
    summary = "The speakers who recorded most (names only of those who chose to show them)",
    responses((status = 200, body = Vec<service::BoardEntry>)))]
async fn leaderboard(State(r): State<Recital>) -> Result<Json<Vec<service::BoardEntry>>, Problem> {
    let size = r.settings.leaderboard_size as usize;
    Ok(Json(service::leaderboard(&r.platform, size).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClipReportBody {
    pub reason: crate::domain::ClipReportReason,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClipReportAck {
    /// Reports on the clip so far; at two it leaves the validation queue.
    pub reports: i64,
}

#[utoipa::path(post, path = "/recital/clips/{id}/reports", tag = "recital",
    summary = "Report a clip (not the sentence, noise, offensive, personal information)",
    params(("id" = String, Path)), request_body = ClipReportBody,
    responses((status = 200, body = ClipReportAck), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn report_clip(
    State(r): State<Recital>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<ClipReportBody>,
) -> Result<Json<ClipReportAck>, Problem> {
    let clip = db::clip(r.platform.db.pool(), &id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no clip `{id}`")))?;
    let c = db::campaign_by_id(r.platform.db.pool(), &clip.campaign_id)
        .await?
        .ok_or_else(|| Problem::not_found("the clip's campaign is gone"))?;
    service::may_validate(&r.platform, &c, &identity).await?;
    let mut tx = r.platform.db.begin().await?;
    let reports =
        db::report_clip(&mut tx, &clip.id, &identity.user.id, body.reason.as_str()).await?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(Json(ClipReportAck { reports }))
}
