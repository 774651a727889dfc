//! The recital's queries, one dialect for SQLite and PostgreSQL. Functions that run one
//! statement take any executor (the pool or a transaction); the rest say which they need.
//! State moves are conditional updates, so two requests racing cannot both make one.

use serde::Serialize;
use sqlx::{Any, Executor};
use tutti_store::{Tx, new_id, now_ms};
use utoipa::ToSchema;

use crate::domain::{ClipStatus, Demographics, Labels, Mode, SessionState, SpeakerAccess, Verdict};
use crate::error::RecitalError;

type Result<T> = std::result::Result<T, RecitalError>;

/// A statement built from this module's own column lists (never from input).
macro_rules! sql {
    ($($t:tt)*) => {
        sqlx::AssertSqlSafe(format!($($t)*))
    };
}

/// A column list with each column named through a table alias, for joins.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct CampaignRow {
    id: String,
    slug: String,
    title: String,
    description: String,
    languages: String,
    mode: String,
    labels: String,
    agreement_text: String,
    agreement_version: i64,
    asks: String,
    access: String,
    licence: String,
    accepting: i64,
    created_by: Option<String>,
    created_at: i64,
}

const CAMPAIGN_COLUMNS: &str = "id, slug, title, description, languages, mode, labels, \
    agreement_text, agreement_version, asks, access, licence, accepting, created_by, created_at";

/// A campaign as the studio works with it (lists parsed).
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub languages: Vec<String>,
    pub mode: Mode,
    pub labels: Labels,
    pub agreement_text: String,
    pub agreement_version: i64,
    pub asks: Vec<String>,
    pub access: SpeakerAccess,
    pub licence: String,
    pub accepting: bool,
    pub created_by: Option<String>,
    pub created_at: i64,
}

impl Campaign {
    /// The language new documents get when none is given.
    pub fn language(&self) -> &str {
        self.languages.first().map(String::as_str).unwrap_or("en")
    }
}

fn json_list(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

impl TryFrom<CampaignRow> for Campaign {
    type Error = RecitalError;
    fn try_from(r: CampaignRow) -> Result<Campaign> {
        Ok(Campaign {
            mode: r.mode.parse()?,
            access: r.access.parse()?,
            labels: Labels::parse(&json_list(&r.labels).join(","))?,
            languages: json_list(&r.languages),
            asks: json_list(&r.asks),
            id: r.id,
            slug: r.slug,
            title: r.title,
            description: r.description,
            agreement_text: r.agreement_text,
            agreement_version: r.agreement_version,
            licence: r.licence,
            accepting: r.accepting != 0,
            created_by: r.created_by,
            created_at: r.created_at,
        })
    }
}

/// What a new campaign is made of.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub languages: Vec<String>,
    pub mode: Mode,
    pub labels: Labels,
    pub agreement_text: String,
    pub asks: Vec<String>,
    pub access: SpeakerAccess,
    pub licence: String,
}

pub async fn insert_campaign(
    tx: &mut Tx,
    new: &NewCampaign,
    created_by: Option<&str>,
) -> Result<Campaign> {
    let id = new_id();
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO recital_campaigns (id, slug, title, description, languages, mode, labels, \
         agreement_text, agreement_version, asks, access, licence, accepting, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, 1, \
         $12, $13, $13) ON CONFLICT (slug) DO NOTHING",
    )
    .bind(&id)
    .bind(&new.slug)
    .bind(&new.title)
    .bind(&new.description)
    .bind(serde_json::to_string(&new.languages).unwrap_or_default())
    .bind(new.mode.as_str())
    .bind(serde_json::to_string(new.labels.as_slice()).unwrap_or_default())
    .bind(&new.agreement_text)
    .bind(serde_json::to_string(&new.asks).unwrap_or_default())
    .bind(new.access.as_str())
    .bind(&new.licence)
    .bind(created_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(RecitalError::Exists {
            field: "slug".into(),
            detail: format!("a campaign with the slug `{}` exists already", new.slug),
        });
    }
    campaign_by_slug(&mut **tx, &new.slug)
        .await?
        .ok_or_else(|| RecitalError::internal("the new campaign vanished"))
}

pub async fn campaign_by_slug<'c>(
    e: impl Executor<'c, Database = Any>,
    slug: &str,
) -> Result<Option<Campaign>> {
    let row: Option<CampaignRow> = sqlx::query_as(sql!(
        "SELECT {CAMPAIGN_COLUMNS} FROM recital_campaigns WHERE slug = $1"
    ))
    .bind(slug)
    .fetch_optional(e)
    .await?;
    row.map(Campaign::try_from).transpose()
}

pub async fn campaign_by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<Campaign>> {
    let row: Option<CampaignRow> = sqlx::query_as(sql!(
        "SELECT {CAMPAIGN_COLUMNS} FROM recital_campaigns WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    row.map(Campaign::try_from).transpose()
}

pub async fn campaigns<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<Campaign>> {
    let rows: Vec<CampaignRow> = sqlx::query_as(sql!(
        "SELECT {CAMPAIGN_COLUMNS} FROM recital_campaigns ORDER BY created_at DESC, slug"
    ))
    .fetch_all(e)
    .await?;
    rows.into_iter().map(Campaign::try_from).collect()
}

/// A new agreement text: everyone is asked again, since their consent names the old
/// version.
pub async fn update_agreement<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    text: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_campaigns SET agreement_text = $2, \
         agreement_version = agreement_version + 1, updated_at = $3 WHERE id = $1",
    )
    .bind(campaign_id)
    .bind(text)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn set_accepting<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    accepting: bool,
) -> Result<()> {
    sqlx::query("UPDATE recital_campaigns SET accepting = $2, updated_at = $3 WHERE id = $1")
        .bind(campaign_id)
        .bind(i64::from(accepting))
        .bind(now_ms())
        .execute(e)
        .await?;
    Ok(())
}

pub async fn approve_email<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    email: &str,
    by: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO recital_approved_emails (campaign_id, email, approved_by, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id, email) DO NOTHING",
    )
    .bind(campaign_id)
    .bind(email.to_lowercase())
    .bind(by)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn is_approved<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    email: &str,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recital_approved_emails WHERE campaign_id = $1 AND email = $2",
    )
    .bind(campaign_id)
    .bind(email.to_lowercase())
    .fetch_one(e)
    .await?;
    Ok(n > 0)
}

pub async fn approved_emails<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM recital_approved_emails WHERE campaign_id = $1 ORDER BY email",
    )
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

/// A person's standing in one campaign.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Speaker {
    pub campaign_id: String,
    pub user_id: String,
    pub consent_version: Option<i64>,
    pub consent_at: Option<i64>,
    pub year_of_birth: Option<i64>,
    pub gender: Option<String>,
    pub accent: Option<String>,
    pub muted_at: Option<i64>,
    pub muted_reason: Option<String>,
    pub joined_at: i64,
}

impl Speaker {
    pub fn demographics(&self) -> Demographics {
        Demographics {
            year_of_birth: self.year_of_birth.map(|y| y as i32),
            gender: self.gender.clone(),
            accent: self.accent.clone(),
        }
    }
}

const SPEAKER_COLUMNS: &str = "campaign_id, user_id, consent_version, consent_at, year_of_birth, \
    gender, accent, muted_at, muted_reason, joined_at";

pub async fn speaker<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    user_id: &str,
) -> Result<Option<Speaker>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {SPEAKER_COLUMNS} FROM recital_speakers WHERE campaign_id = $1 AND user_id = $2"
    ))
    .bind(campaign_id)
    .bind(user_id)
    .fetch_optional(e)
    .await?)
}

pub async fn speakers<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<Speaker>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {SPEAKER_COLUMNS} FROM recital_speakers WHERE campaign_id = $1 ORDER BY joined_at"
    ))
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

/// Records consent to `version` now (a person who consented before is asked again only
/// when the version changes, so the time of the first consent to a version stays).
pub async fn consent(tx: &mut Tx, campaign_id: &str, user_id: &str, version: i64) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO recital_speakers (campaign_id, user_id, consent_version, consent_at, \
         joined_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (campaign_id, user_id) DO UPDATE \
         SET consent_version = $3, consent_at = $4 \
         WHERE recital_speakers.consent_version IS NULL OR recital_speakers.consent_version <> $3",
    )
    .bind(campaign_id)
    .bind(user_id)
    .bind(version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_demographics<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    user_id: &str,
    d: &Demographics,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO recital_speakers (campaign_id, user_id, year_of_birth, gender, accent, \
         joined_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id, user_id) DO UPDATE \
         SET year_of_birth = $3, gender = $4, accent = $5",
    )
    .bind(campaign_id)
    .bind(user_id)
    .bind(d.year_of_birth.map(i64::from))
    .bind(d.gender.as_deref())
    .bind(d.accent.as_deref())
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn set_muted<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    user_id: &str,
    reason: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recital_speakers SET muted_at = $3, muted_reason = $4 \
         WHERE campaign_id = $1 AND user_id = $2",
    )
    .bind(campaign_id)
    .bind(user_id)
    .bind(reason.map(|_| now_ms()))
    .bind(reason)
    .execute(e)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A document's header.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Document {
    pub id: String,
    pub campaign_id: String,
    pub title: String,
    pub language: String,
    pub source: String,
    pub public: i64,
    pub owner_id: Option<String>,
    pub created_at: i64,
}

const DOCUMENT_COLUMNS: &str =
    "id, campaign_id, title, language, source, public, owner_id, created_at";

/// One sentence to read.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Sentence {
    pub id: String,
    pub document_id: String,
    pub paragraph: i64,
    pub ordinal: i64,
    pub text: String,
    pub external_id: Option<String>,
    pub revision: i64,
    pub retired_at: Option<i64>,
}

const SENTENCE_COLUMNS: &str =
    "id, document_id, paragraph, ordinal, text, external_id, revision, retired_at";

/// What a new document is made of: paragraphs of (external id, sentence).
pub struct NewDocument<'a> {
    pub campaign_id: &'a str,
    pub title: &'a str,
    pub language: &'a str,
    pub source: &'a str,
    pub public: bool,
    pub owner_id: Option<&'a str>,
    pub paragraphs: Vec<Vec<(Option<String>, String)>>,
}

pub async fn insert_document(tx: &mut Tx, new: &NewDocument<'_>) -> Result<Document> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO recital_documents (id, campaign_id, title, language, source, public, \
         owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(new.campaign_id)
    .bind(new.title)
    .bind(new.language)
    .bind(new.source)
    .bind(i64::from(new.public))
    .bind(new.owner_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let mut ordinal = 0i64;
    for (p, paragraph) in new.paragraphs.iter().enumerate() {
        for (external_id, text) in paragraph {
            sqlx::query(
                "INSERT INTO recital_sentences (id, document_id, paragraph, ordinal, text, \
                 external_id, revision) VALUES ($1, $2, $3, $4, $5, $6, 1)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(p as i64)
            .bind(ordinal)
            .bind(text)
            .bind(external_id.as_deref())
            .execute(&mut **tx)
            .await?;
            ordinal += 1;
        }
    }
    document(&mut **tx, &id)
        .await?
        .ok_or_else(|| RecitalError::internal("the new document vanished"))
}

pub async fn document<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<Document>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {DOCUMENT_COLUMNS} FROM recital_documents WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

/// A campaign's documents with their counts of sentences still read.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DocumentSummary {
    pub id: String,
    pub title: String,
    pub language: String,
    pub public: i64,
    pub sentences: i64,
}

pub async fn documents<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<DocumentSummary>> {
    Ok(sqlx::query_as(
        "SELECT d.id, d.title, d.language, d.public, \
         (SELECT COUNT(*) FROM recital_sentences s WHERE s.document_id = d.id \
          AND s.retired_at IS NULL) AS sentences \
         FROM recital_documents d WHERE d.campaign_id = $1 ORDER BY d.created_at, d.id",
    )
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

pub async fn set_document<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    title: &str,
    public: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_documents SET title = $2, public = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(i64::from(public))
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

/// The sentences still to be read, in reading order.
pub async fn sentences<'c>(
    e: impl Executor<'c, Database = Any>,
    document_id: &str,
) -> Result<Vec<Sentence>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {SENTENCE_COLUMNS} FROM recital_sentences \
         WHERE document_id = $1 AND retired_at IS NULL ORDER BY ordinal"
    ))
    .bind(document_id)
    .fetch_all(e)
    .await?)
}

pub async fn sentence<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<Sentence>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {SENTENCE_COLUMNS} FROM recital_sentences WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

/// A fixed text: takes of the old revision keep their own text and are no longer
/// counted with the new one.
pub async fn fix_sentence<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    text: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_sentences SET text = $2, revision = revision + 1 \
         WHERE id = $1 AND text <> $2",
    )
    .bind(id)
    .bind(text)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn retire_sentence<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE recital_sentences SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL",
    )
    .bind(id)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

/// The next sentence (and label) this speaker has not recorded in a clip campaign:
/// sentences in reading order, each label in the campaign's order, skipping `skip`.
pub async fn next_prompt<'c>(
    e: impl Executor<'c, Database = Any> + Copy,
    campaign: &Campaign,
    user_id: &str,
    skip: &[String],
) -> Result<Option<(Sentence, Option<String>, Document)>> {
    let labels: Vec<Option<String>> = if campaign.labels.is_empty() {
        vec![None]
    } else {
        campaign
            .labels
            .as_slice()
            .iter()
            .cloned()
            .map(Some)
            .collect()
    };
    let taken: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT sentence_id, label FROM recital_sessions WHERE campaign_id = $1 \
         AND user_id = $2 AND sentence_id IS NOT NULL AND state <> 'discarded'",
    )
    .bind(&campaign.id)
    .bind(user_id)
    .fetch_all(e)
    .await?;
    let candidates: Vec<Sentence> = sqlx::query_as(sql!(
        "SELECT {} FROM recital_sentences s JOIN recital_documents d ON d.id = s.document_id \
         WHERE d.campaign_id = $1 AND s.retired_at IS NULL ORDER BY d.created_at, d.id, s.ordinal",
        qualified("s", SENTENCE_COLUMNS)
    ))
    .bind(&campaign.id)
    .fetch_all(e)
    .await?;
    for sentence in candidates {
        if skip.contains(&sentence.id) {
            continue;
        }
        for label in &labels {
            let done = taken
                .iter()
                .any(|(s, l)| *s == sentence.id && l.as_deref() == label.as_deref());
            if !done {
                let document = document(e, &sentence.document_id)
                    .await?
                    .ok_or_else(|| RecitalError::internal("sentence without document"))?;
                return Ok(Some((sentence, label.clone(), document)));
            }
        }
    }
    Ok(None)
}

pub async fn set_position<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    document_id: &str,
    sentence_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO recital_positions (user_id, document_id, sentence_id, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, document_id) DO UPDATE \
         SET sentence_id = $3, updated_at = $4",
    )
    .bind(user_id)
    .bind(document_id)
    .bind(sentence_id)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn position<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    document_id: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT sentence_id FROM recital_positions WHERE user_id = $1 AND document_id = $2",
    )
    .bind(user_id)
    .bind(document_id)
    .fetch_optional(e)
    .await?)
}

pub async fn insert_report<'c>(
    e: impl Executor<'c, Database = Any>,
    sentence_id: &str,
    user_id: &str,
    reason: &str,
    note: &str,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO recital_reports (id, sentence_id, user_id, reason, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(sentence_id)
    .bind(user_id)
    .bind(reason)
    .bind(note)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(id)
}

/// An open report, with the sentence it is about.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OpenReport {
    pub id: String,
    pub sentence_id: String,
    pub text: String,
    pub document_title: String,
    pub reason: String,
    pub note: String,
    pub created_at: i64,
}

pub async fn open_reports<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<OpenReport>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.sentence_id, s.text, d.title AS document_title, r.reason, r.note, \
         r.created_at FROM recital_reports r \
         JOIN recital_sentences s ON s.id = r.sentence_id \
         JOIN recital_documents d ON d.id = s.document_id \
         WHERE d.campaign_id = $1 AND r.resolved_at IS NULL ORDER BY r.sentence_id, r.created_at",
    )
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

pub async fn resolve_reports<'c>(
    e: impl Executor<'c, Database = Any>,
    sentence_id: &str,
    resolution: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_reports SET resolved_at = $2, resolution = $3 \
         WHERE sentence_id = $1 AND resolved_at IS NULL",
    )
    .bind(sentence_id)
    .bind(now_ms())
    .bind(resolution)
    .execute(e)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    id: String,
    campaign_id: String,
    document_id: String,
    user_id: String,
    mode: String,
    sentence_id: Option<String>,
    label: Option<String>,
    state: String,
    keep_last: Option<i64>,
    duration_ms: Option<i64>,
    verdict: Option<String>,
    error: Option<String>,
    media: Option<String>,
    created_at: i64,
    ended_at: Option<i64>,
    processed_at: Option<i64>,
}

const SESSION_COLUMNS: &str = "id, campaign_id, document_id, user_id, mode, sentence_id, label, \
    state, keep_last, duration_ms, verdict, error, media, created_at, ended_at, processed_at";

/// Blob keys of what processing made of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SessionMedia {
    pub archive: String,
    pub web_opus: String,
    pub web_mp3: String,
    pub vtt: String,
}

/// A recording session.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: String,
    pub campaign_id: String,
    pub document_id: String,
    pub user_id: String,
    pub mode: Mode,
    pub sentence_id: Option<String>,
    pub label: Option<String>,
    pub state: SessionState,
    pub keep_last: Option<bool>,
    pub duration_ms: Option<i64>,
    pub verdict: Option<Verdict>,
    pub error: Option<String>,
    pub media: Option<SessionMedia>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub processed_at: Option<i64>,
}

impl TryFrom<SessionRow> for Session {
    type Error = RecitalError;
    fn try_from(r: SessionRow) -> Result<Session> {
        Ok(Session {
            mode: r.mode.parse()?,
            state: SessionState::parse(&r.state)
                .ok_or_else(|| RecitalError::internal(format!("unknown state {}", r.state)))?,
            verdict: r.verdict.and_then(|v| serde_json::from_str(&v).ok()),
            media: r.media.and_then(|v| serde_json::from_str(&v).ok()),
            keep_last: r.keep_last.map(|k| k != 0),
            id: r.id,
            campaign_id: r.campaign_id,
            document_id: r.document_id,
            user_id: r.user_id,
            sentence_id: r.sentence_id,
            label: r.label,
            duration_ms: r.duration_ms,
            error: r.error,
            created_at: r.created_at,
            ended_at: r.ended_at,
            processed_at: r.processed_at,
        })
    }
}

pub struct NewSession<'a> {
    pub campaign_id: &'a str,
    pub document_id: &'a str,
    pub user_id: &'a str,
    pub mode: Mode,
    pub sentence_id: Option<&'a str>,
    pub label: Option<&'a str>,
}

pub async fn insert_session<'c>(
    e: impl Executor<'c, Database = Any>,
    new: &NewSession<'_>,
) -> Result<String> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO recital_sessions (id, campaign_id, document_id, user_id, mode, sentence_id, \
         label, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'recording', \
         $8, $8)",
    )
    .bind(&id)
    .bind(new.campaign_id)
    .bind(new.document_id)
    .bind(new.user_id)
    .bind(new.mode.as_str())
    .bind(new.sentence_id)
    .bind(new.label)
    .bind(now)
    .execute(e)
    .await?;
    Ok(id)
}

pub async fn session<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<Session>> {
    let row: Option<SessionRow> = sqlx::query_as(sql!(
        "SELECT {SESSION_COLUMNS} FROM recital_sessions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    row.map(Session::try_from).transpose()
}

/// Sessions of one speaker, newest first.
pub async fn sessions_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<Session>> {
    let rows: Vec<SessionRow> = sqlx::query_as(sql!(
        "SELECT {SESSION_COLUMNS} FROM recital_sessions WHERE user_id = $1 \
         ORDER BY created_at DESC, id"
    ))
    .bind(user_id)
    .fetch_all(e)
    .await?;
    rows.into_iter().map(Session::try_from).collect()
}

/// Sessions of a campaign, newest first, at most `limit`.
pub async fn campaign_sessions<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    limit: i64,
) -> Result<Vec<Session>> {
    let rows: Vec<SessionRow> = sqlx::query_as(sql!(
        "SELECT {SESSION_COLUMNS} FROM recital_sessions WHERE campaign_id = $1 \
         ORDER BY created_at DESC, id LIMIT $2"
    ))
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(e)
    .await?;
    rows.into_iter().map(Session::try_from).collect()
}

/// Moves a session from `from` to `to` if it is still in `from`; says whether it moved.
pub async fn move_session<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    from: SessionState,
    to: SessionState,
) -> Result<bool> {
    let now = now_ms();
    let ended = if to == SessionState::Ended {
        ", ended_at = $4"
    } else {
        ""
    };
    let done = sqlx::query(sql!(
        "UPDATE recital_sessions SET state = $3, updated_at = $4{ended} \
         WHERE id = $1 AND state = $2"
    ))
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(now)
    .execute(e)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_keep_last(tx: &mut Tx, id: &str, keep_last: bool) -> Result<()> {
    sqlx::query("UPDATE recital_sessions SET keep_last = $2 WHERE id = $1")
        .bind(id)
        .bind(i64::from(keep_last))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_session_error<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE recital_sessions SET error = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(error)
        .bind(now_ms())
        .execute(e)
        .await?;
    Ok(())
}

/// Records what processing made and moves the session to processed, in one statement.
pub async fn finish_processing(
    tx: &mut Tx,
    id: &str,
    duration_ms: i64,
    verdict: &Verdict,
    media: &SessionMedia,
) -> Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE recital_sessions SET state = 'processed', duration_ms = $2, verdict = $3, \
         media = $4, error = NULL, processed_at = $5, updated_at = $5 \
         WHERE id = $1 AND state = 'ended'",
    )
    .bind(id)
    .bind(duration_ms)
    .bind(serde_json::to_string(verdict).unwrap_or_default())
    .bind(serde_json::to_string(media).unwrap_or_default())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// An acknowledged chunk.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Chunk {
    pub part: i64,
    pub seq: i64,
    pub size_bytes: i64,
    pub sha256: String,
    pub blob_key: String,
    pub media_type: String,
}

pub async fn chunk<'c>(
    e: impl Executor<'c, Database = Any>,
    session_id: &str,
    part: i64,
    seq: i64,
) -> Result<Option<Chunk>> {
    Ok(sqlx::query_as(
        "SELECT part, seq, size_bytes, sha256, blob_key, media_type FROM recital_chunks \
         WHERE session_id = $1 AND part = $2 AND seq = $3",
    )
    .bind(session_id)
    .bind(part)
    .bind(seq)
    .fetch_optional(e)
    .await?)
}

/// Inserts chunk rows with their bytes in one statement, skipping any whose
/// `(session, part, seq)` is taken; returns the rows it inserted as
/// `(session, part, seq, sha256)`.
pub async fn insert_chunks<'c>(
    e: impl Executor<'c, Database = Any>,
    rows: &[(&str, &Chunk, &[u8])],
) -> Result<Vec<(String, i64, i64, String)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    const COLUMNS: usize = 9;
    let values = (0..rows.len())
        .map(|i| {
            let params = (1..=COLUMNS)
                .map(|c| format!("${}", i * COLUMNS + c))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({params})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO recital_chunks (session_id, part, seq, size_bytes, sha256, blob_key, \
         media_type, created_at, data) VALUES {values} \
         ON CONFLICT (session_id, part, seq) DO NOTHING \
         RETURNING session_id, part, seq, sha256"
    );
    let now = now_ms();
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for (session_id, chunk, data) in rows {
        query = query
            .bind(*session_id)
            .bind(chunk.part)
            .bind(chunk.seq)
            .bind(chunk.size_bytes)
            .bind(&chunk.sha256)
            .bind(&chunk.blob_key)
            .bind(&chunk.media_type)
            .bind(now)
            .bind(data.to_vec());
    }
    Ok(query.fetch_all(e).await?)
}

/// A chunk's bytes as staged in its row; `None` once processing has moved them into
/// the part's recording (or for rows older than the staging, whose bytes are at
/// `blob_key`).
pub async fn chunk_bytes<'c>(
    e: impl Executor<'c, Database = Any>,
    session_id: &str,
    part: i64,
) -> Result<Vec<(i64, Option<Vec<u8>>)>> {
    Ok(sqlx::query_as(
        "SELECT seq, data FROM recital_chunks WHERE session_id = $1 AND part = $2 \
         ORDER BY seq",
    )
    .bind(session_id)
    .bind(part)
    .fetch_all(e)
    .await?)
}

/// Drops the staged bytes of a processed session: each part's recording is in the blob
/// store now.
pub async fn clear_chunk_bytes(tx: &mut Tx, session_id: &str) -> Result<()> {
    sqlx::query("UPDATE recital_chunks SET data = NULL WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn chunks<'c>(
    e: impl Executor<'c, Database = Any>,
    session_id: &str,
) -> Result<Vec<Chunk>> {
    Ok(sqlx::query_as(
        "SELECT part, seq, size_bytes, sha256, blob_key, media_type FROM recital_chunks \
         WHERE session_id = $1 ORDER BY part, seq",
    )
    .bind(session_id)
    .fetch_all(e)
    .await?)
}

/// Replaces the end of `sentence_id` (a sentence read again after "previous").
/// Records when sentences ended, in one statement; a sentence already recorded gets its
/// new end. Each sentence may appear once.
pub async fn upsert_segments<'c>(
    e: impl Executor<'c, Database = Any>,
    session_id: &str,
    segments: &[(&Sentence, i64)],
) -> Result<()> {
    if segments.is_empty() {
        return Ok(());
    }
    let values = (0..segments.len())
        .map(|i| {
            // (session, sentence, text, revision, end, updated)
            let b = i * 4;
            format!("($1, ${}, ${}, ${}, ${}, $2)", b + 3, b + 4, b + 5, b + 6)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO recital_segments (session_id, sentence_id, text, revision, end_ms, \
         updated_at) VALUES {values} ON CONFLICT (session_id, sentence_id) \
         DO UPDATE SET text = excluded.text, revision = excluded.revision, \
         end_ms = excluded.end_ms, updated_at = excluded.updated_at"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(session_id)
        .bind(now_ms());
    for (sentence, end_ms) in segments {
        query = query
            .bind(&sentence.id)
            .bind(&sentence.text)
            .bind(sentence.revision)
            .bind(*end_ms);
    }
    query.execute(e).await?;
    Ok(())
}

pub async fn segments<'c>(
    e: impl Executor<'c, Database = Any>,
    session_id: &str,
) -> Result<Vec<crate::domain::Segment>> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT sentence_id, text, revision, end_ms FROM recital_segments \
         WHERE session_id = $1 ORDER BY end_ms, sentence_id",
    )
    .bind(session_id)
    .fetch_all(e)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(sentence_id, text, revision, end_ms)| crate::domain::Segment {
                sentence_id,
                text,
                revision,
                end_ms: end_ms.max(0) as u64,
            },
        )
        .collect())
}

/// A clip as validation and exports see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Clip {
    pub id: String,
    pub session_id: String,
    pub campaign_id: String,
    pub user_id: String,
    pub sentence_id: String,
    pub revision: i64,
    pub text: String,
    pub label: Option<String>,
    pub ordinal: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub audio_key: String,
    pub verdict: String,
    pub up_votes: i64,
    pub down_votes: i64,
    pub reports: i64,
    pub status: String,
    pub created_at: i64,
}

const CLIP_COLUMNS: &str = "id, session_id, campaign_id, user_id, sentence_id, revision, text, \
    label, ordinal, start_ms, end_ms, audio_key, verdict, up_votes, down_votes, reports, status, \
    created_at";

/// Writes the clips processing cut from a session (replacing any from an earlier run of
/// the same job, whose votes cannot exist yet: the session was not processed).
pub async fn replace_clips(tx: &mut Tx, session_id: &str, clips: &[Clip]) -> Result<()> {
    sqlx::query("DELETE FROM recital_clips WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    for c in clips {
        sqlx::query(sql!(
            "INSERT INTO recital_clips ({CLIP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, 0, 0, 0, 'pending', $14)"
        ))
        .bind(&c.id)
        .bind(&c.session_id)
        .bind(&c.campaign_id)
        .bind(&c.user_id)
        .bind(&c.sentence_id)
        .bind(c.revision)
        .bind(&c.text)
        .bind(c.label.as_deref())
        .bind(c.ordinal)
        .bind(c.start_ms)
        .bind(c.end_ms)
        .bind(&c.audio_key)
        .bind(&c.verdict)
        .bind(c.created_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn clip<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<Option<Clip>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CLIP_COLUMNS} FROM recital_clips WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn session_clips<'c>(
    e: impl Executor<'c, Database = Any>,
    session_id: &str,
) -> Result<Vec<Clip>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {CLIP_COLUMNS} FROM recital_clips WHERE session_id = $1 ORDER BY ordinal"
    ))
    .bind(session_id)
    .fetch_all(e)
    .await?)
}

/// The clip a validator should hear next: still pending, not theirs, not voted on by
/// them, from a speaker who is not muted, with the fewest votes first (then oldest).
pub async fn next_for_validation<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
    user_id: &str,
) -> Result<Option<Clip>> {
    let cols = qualified("c", CLIP_COLUMNS);
    Ok(sqlx::query_as(sql!(
        "SELECT {cols} FROM recital_clips c \
         JOIN recital_sessions s ON s.id = c.session_id \
         LEFT JOIN recital_speakers sp ON sp.campaign_id = c.campaign_id AND sp.user_id = c.user_id \
         WHERE c.campaign_id = $1 AND c.status = 'pending' AND c.user_id <> $2 \
         AND s.state IN ('processed', 'published') AND sp.muted_at IS NULL AND c.reports < 2 \
         AND NOT EXISTS (SELECT 1 FROM recital_votes v WHERE v.clip_id = c.id AND v.user_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM recital_clip_reports r WHERE r.clip_id = c.id AND r.user_id = $2) \
         ORDER BY c.up_votes + c.down_votes, c.created_at, c.id LIMIT 1"
    ))
    .bind(campaign_id)
    .bind(user_id)
    .fetch_optional(e)
    .await?)
}

/// Records one person's vote (a second vote by the same person changes it) and the
/// clip's counts and status, in the caller's transaction.
pub async fn vote(tx: &mut Tx, clip_id: &str, user_id: &str, valid: bool) -> Result<Clip> {
    sqlx::query(
        "INSERT INTO recital_votes (clip_id, user_id, valid, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (clip_id, user_id) DO UPDATE SET valid = $3, created_at = $4",
    )
    .bind(clip_id)
    .bind(user_id)
    .bind(i64::from(valid))
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let (up, down): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(valid), 0) AS BIGINT), CAST(COALESCE(SUM(1 - valid), 0) AS BIGINT) FROM recital_votes \
         WHERE clip_id = $1",
    )
    .bind(clip_id)
    .fetch_one(&mut **tx)
    .await?;
    let status = ClipStatus::from_votes(up as u32, down as u32);
    sqlx::query(
        "UPDATE recital_clips SET up_votes = $2, down_votes = $3, status = $4 WHERE id = $1",
    )
    .bind(clip_id)
    .bind(up)
    .bind(down)
    .bind(status.as_str())
    .execute(&mut **tx)
    .await?;
    clip(&mut **tx, clip_id)
        .await?
        .ok_or_else(|| RecitalError::not_found("no such clip"))
}

/// Clips of a campaign for an export: those of processed sessions whose sentence still
/// has the text they were read with.
pub async fn export_clips<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<Clip>> {
    let cols = qualified("c", CLIP_COLUMNS);
    Ok(sqlx::query_as(sql!(
        "SELECT {cols} FROM recital_clips c \
         JOIN recital_sessions s ON s.id = c.session_id \
         JOIN recital_sentences t ON t.id = c.sentence_id \
         WHERE c.campaign_id = $1 AND s.state IN ('processed', 'published') \
         AND t.revision = c.revision AND t.retired_at IS NULL ORDER BY c.id"
    ))
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

/// Processed long-form sessions of a campaign, for the long-form export.
pub async fn export_sessions<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<Session>> {
    let rows: Vec<SessionRow> = sqlx::query_as(sql!(
        "SELECT {SESSION_COLUMNS} FROM recital_sessions WHERE campaign_id = $1 \
         AND state IN ('processed', 'published') ORDER BY id"
    ))
    .bind(campaign_id)
    .fetch_all(e)
    .await?;
    rows.into_iter().map(Session::try_from).collect()
}

/// Sessions in a dataset are published once its export is written.
pub async fn publish_sessions(tx: &mut Tx, ids: &[String]) -> Result<()> {
    let now = now_ms();
    for id in ids {
        sqlx::query(
            "UPDATE recital_sessions SET state = 'published', updated_at = $2 \
             WHERE id = $1 AND state = 'processed'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An export and how far it got.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Export {
    pub id: String,
    pub campaign_id: String,
    pub format: String,
    pub include_all: i64,
    pub state: String,
    pub done_items: i64,
    pub total_items: i64,
    pub blob_key: Option<String>,
    pub size_bytes: Option<i64>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const EXPORT_COLUMNS: &str = "id, campaign_id, format, include_all, state, done_items, \
    total_items, blob_key, size_bytes, summary, error, created_at, finished_at";

pub async fn insert_export(
    tx: &mut Tx,
    campaign_id: &str,
    format: &str,
    include_all: bool,
    by: Option<&str>,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO recital_exports (id, campaign_id, format, include_all, state, done_items, \
         total_items, created_by, created_at) VALUES ($1, $2, $3, $4, 'queued', 0, 0, $5, $6)",
    )
    .bind(&id)
    .bind(campaign_id)
    .bind(format)
    .bind(i64::from(include_all))
    .bind(by)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn export<'c>(e: impl Executor<'c, Database = Any>, id: &str) -> Result<Option<Export>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {EXPORT_COLUMNS} FROM recital_exports WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?)
}

pub async fn exports<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<Export>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {EXPORT_COLUMNS} FROM recital_exports WHERE campaign_id = $1 \
         ORDER BY created_at DESC, id LIMIT 50"
    ))
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

pub async fn export_progress<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    done: u64,
    total: u64,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_exports SET state = 'running', done_items = $2, total_items = $3 \
         WHERE id = $1 AND state IN ('queued', 'running')",
    )
    .bind(id)
    .bind(done as i64)
    .bind(total as i64)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn finish_export(
    tx: &mut Tx,
    id: &str,
    blob_key: &str,
    size: u64,
    summary: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_exports SET state = 'done', done_items = total_items, blob_key = $2, \
         size_bytes = $3, summary = $4, error = NULL, finished_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(blob_key)
    .bind(size as i64)
    .bind(summary)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn fail_export<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE recital_exports SET state = 'failed', error = $2, finished_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

/// One day's recorded hours, for charts.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Day {
    pub day: i64,
    pub ms: i64,
}

/// Milliseconds of processed audio per UTC day (day = days since 1970), of a campaign or
/// of one speaker.
pub async fn hours_per_day<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: Option<&str>,
    user_id: Option<&str>,
) -> Result<Vec<Day>> {
    Ok(sqlx::query_as(
        "SELECT processed_at / 86400000 AS day, CAST(SUM(duration_ms) AS BIGINT) AS ms FROM recital_sessions \
         WHERE state IN ('processed', 'published') AND duration_ms IS NOT NULL \
         AND (CAST($1 AS TEXT) IS NULL OR campaign_id = $1) \
         AND (CAST($2 AS TEXT) IS NULL OR user_id = $2) \
         GROUP BY processed_at / 86400000 ORDER BY day",
    )
    .bind(campaign_id)
    .bind(user_id)
    .fetch_all(e)
    .await?)
}

/// Totals of recorded time per speaker, largest first (for ranks and the leaderboard).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SpeakerTotal {
    pub user_id: String,
    pub ms: i64,
    pub sessions: i64,
}

pub async fn speaker_totals<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<SpeakerTotal>> {
    Ok(sqlx::query_as(
        "SELECT user_id, CAST(SUM(duration_ms) AS BIGINT) AS ms, COUNT(*) AS sessions FROM recital_sessions \
         WHERE state IN ('processed', 'published') AND duration_ms IS NOT NULL \
         GROUP BY user_id ORDER BY ms DESC, user_id",
    )
    .fetch_all(e)
    .await?)
}

/// Counts of a campaign's sessions by state.
pub async fn session_counts<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT state, COUNT(*), CAST(COALESCE(SUM(duration_ms), 0) AS BIGINT) FROM recital_sessions \
         WHERE campaign_id = $1 GROUP BY state ORDER BY state",
    )
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

/// Counts of a campaign's clips by status.
pub async fn clip_counts<'c>(
    e: impl Executor<'c, Database = Any>,
    campaign_id: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT status, COUNT(*) FROM recital_clips WHERE campaign_id = $1 GROUP BY status \
         ORDER BY status",
    )
    .bind(campaign_id)
    .fetch_all(e)
    .await?)
}

/// Whether this person shows their name on the leaderboard.
pub async fn public_name<'c>(e: impl Executor<'c, Database = Any>, user_id: &str) -> Result<bool> {
    let shown: Option<i64> =
        sqlx::query_scalar("SELECT public_name FROM recital_profiles WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(e)
            .await?;
    Ok(shown.unwrap_or(0) != 0)
}

pub async fn set_public_name<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    shown: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO recital_profiles (user_id, public_name, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET public_name = $2, updated_at = $3",
    )
    .bind(user_id)
    .bind(i64::from(shown))
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}

/// The leaderboard's rows: totals per speaker with the name of those who show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct BoardRow {
    pub user_id: String,
    pub ms: i64,
    pub sessions: i64,
    pub name: Option<String>,
}

pub async fn board<'c>(e: impl Executor<'c, Database = Any>) -> Result<Vec<BoardRow>> {
    Ok(sqlx::query_as(
        "SELECT s.user_id, CAST(SUM(s.duration_ms) AS BIGINT) AS ms, COUNT(*) AS sessions, \
         MAX(CASE WHEN p.public_name = 1 THEN u.name END) AS name \
         FROM recital_sessions s \
         LEFT JOIN recital_profiles p ON p.user_id = s.user_id \
         LEFT JOIN users u ON u.id = s.user_id \
         WHERE s.state IN ('processed', 'published') AND s.duration_ms IS NOT NULL \
         GROUP BY s.user_id ORDER BY ms DESC, s.user_id",
    )
    .fetch_all(e)
    .await?)
}

/// Counts of one speaker's clips by status, and the votes they gave.
pub async fn clip_stats<'c>(
    e: impl Executor<'c, Database = Any> + Copy,
    user_id: &str,
) -> Result<(i64, i64, i64)> {
    let (recorded, valid): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'valid' THEN 1 ELSE 0 END), 0) \
         AS BIGINT) FROM recital_clips WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_one(e)
    .await?;
    let votes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recital_votes WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(e)
        .await?;
    Ok((recorded, valid, votes))
}

/// Everything the studio keeps about one person in campaigns, for their own archive.
pub async fn speaker_rows<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<Speaker>> {
    Ok(sqlx::query_as(sql!(
        "SELECT {SPEAKER_COLUMNS} FROM recital_speakers WHERE user_id = $1 ORDER BY joined_at"
    ))
    .bind(user_id)
    .fetch_all(e)
    .await?)
}

/// Records one person's report on a clip (again: nothing changes) and counts it.
pub async fn report_clip(tx: &mut Tx, clip_id: &str, user_id: &str, reason: &str) -> Result<i64> {
    let added = sqlx::query(
        "INSERT INTO recital_clip_reports (clip_id, user_id, reason, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (clip_id, user_id) DO NOTHING",
    )
    .bind(clip_id)
    .bind(user_id)
    .bind(reason)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if added.rows_affected() > 0 {
        sqlx::query("UPDATE recital_clips SET reports = reports + 1 WHERE id = $1")
            .bind(clip_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(
        sqlx::query_scalar("SELECT reports FROM recital_clips WHERE id = $1")
            .bind(clip_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}
