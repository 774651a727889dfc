//! What the JSON API, the pages and the command line share: each act once, with its
//! checks (who may do it, in which state), its audit entry and its jobs written in one
//! transaction. Handlers parse input and render; they call these.

use std::collections::HashMap;

use bytes::Bytes;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use tutti_platform::{AuditEntry, Identity, Platform, audit};
use tutti_store::{StoreError, TypedJob};

use crate::db::{self, Campaign, NewCampaign, Session};
use crate::domain::{Demographics, Event, Mode, SessionState, SpeakerAccess, parse_language};
use crate::error::RecitalError;
use crate::jobs::{ExportJob, ProcessSession, PurgeSession};
use crate::text::{self, Format};
use crate::{REVIEWER, Recital, SPEAKER};

type Result<T> = std::result::Result<T, RecitalError>;

/// Who does something: a person behind a request, or the command line.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    Person(&'a Identity),
    CommandLine,
}

impl Actor<'_> {
    fn audit(&self, action: &str, detail: String) -> AuditEntry {
        match self {
            Actor::Person(identity) => identity.audit(action, detail),
            Actor::CommandLine => AuditEntry::command_line(action, detail),
        }
    }

    fn user_id(&self) -> Option<&str> {
        match self {
            Actor::Person(identity) => Some(&identity.user.id),
            Actor::CommandLine => None,
        }
    }

    /// Reviewers and admins run campaigns; the command line runs everything.
    pub fn require_reviewer(&self) -> Result<()> {
        match self {
            Actor::Person(identity) if !identity.has(&REVIEWER) => Err(RecitalError::forbidden(
                "forbidden",
                "running campaigns needs the reviewer role; ask an administrator for it",
            )),
            _ => Ok(()),
        }
    }
}

fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

/// Creates a campaign and records who did.
pub async fn create_campaign(p: &Platform, actor: Actor<'_>, new: NewCampaign) -> Result<Campaign> {
    actor.require_reviewer()?;
    let mut tx = p.db.begin().await?;
    let campaign = db::insert_campaign(&mut tx, &new, actor.user_id()).await?;
    audit::record(
        &mut *tx,
        actor
            .audit(
                "recital-campaign-created",
                format!("created the campaign {}", campaign.slug),
            )
            .arg("slug", campaign.slug.clone()),
    )
    .await
    .map_err(RecitalError::internal)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(campaign)
}

/// The campaign with this slug, or a 404 naming it.
pub async fn campaign(p: &Platform, slug: &str) -> Result<Campaign> {
    db::campaign_by_slug(p.db.pool(), slug)
        .await?
        .ok_or_else(|| RecitalError::not_found(format!("there is no campaign `{slug}`")))
}

/// Builds a campaign's paragraphs from an imported text, for [`add_document`].
pub fn paragraphs_of(text: &text::Text) -> Vec<Vec<(Option<String>, String)>> {
    text.paragraphs
        .iter()
        .map(|p| p.iter().map(|s| (None, s.clone())).collect())
        .collect()
}

/// What a new document is, before it is stored.
pub struct Import<'a> {
    pub title: Option<&'a str>,
    pub language: Option<&'a str>,
    pub source: &'a str,
    pub public: bool,
    pub paragraphs: Vec<Vec<(Option<String>, String)>>,
    /// A title found in the text itself, used when none is given.
    pub found_title: Option<String>,
}

/// Stores a document of a campaign, its sentences in reading order.
pub async fn add_document(
    p: &Platform,
    actor: Actor<'_>,
    campaign: &Campaign,
    import: Import<'_>,
) -> Result<db::Document> {
    actor.require_reviewer()?;
    let language = match import.language {
        Some(l) => parse_language("language", l)?,
        None => campaign.language().to_string(),
    };
    let sentences: usize = import.paragraphs.iter().map(Vec::len).sum();
    if sentences == 0 {
        return Err(RecitalError::invalid(
            "text",
            "no sentence is left to read once markup is removed",
        ));
    }
    let title = import
        .title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or(import.found_title)
        .unwrap_or_else(|| {
            let first = import.paragraphs[0][0].1.clone();
            first
                .split_whitespace()
                .take(6)
                .collect::<Vec<_>>()
                .join(" ")
        });
    if title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(RecitalError::invalid(
            "title",
            "a title is one line of at most 200 characters",
        ));
    }
    let mut tx = p.db.begin().await?;
    let document = db::insert_document(
        &mut tx,
        &db::NewDocument {
            campaign_id: &campaign.id,
            title: &title,
            language: &language,
            source: import.source,
            public: import.public,
            owner_id: actor.user_id(),
            paragraphs: import.paragraphs,
        },
    )
    .await?;
    audit::record(
        &mut *tx,
        actor
            .audit(
                "recital-text-imported",
                format!(
                    "imported {title} ({sentences} sentences) into {}",
                    campaign.slug
                ),
            )
            .arg("title", title.clone())
            .arg("slug", campaign.slug.clone())
            .arg("sentences", sentences as i64),
    )
    .await
    .map_err(RecitalError::internal)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(document)
}

/// A text file to import, as uploaded or named on the command line.
pub struct TextFile<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
    pub title: Option<&'a str>,
    pub language: Option<&'a str>,
    /// A sentence list (one per line, or TSV with an id column) rather than prose.
    pub as_list: bool,
}

/// Imports a text file's bytes (a long-form document, or a sentence list for a clip
/// campaign when the file is TSV or `as_list` is set).
pub async fn import_file(
    r: &Recital,
    actor: Actor<'_>,
    campaign: &Campaign,
    file: TextFile<'_>,
) -> Result<db::Document> {
    let TextFile {
        name: file_name,
        bytes,
        title,
        language,
        as_list,
    } = file;
    if bytes.len() as u64 > r.settings.max_import_bytes {
        return Err(RecitalError::TooLarge {
            field: "file".into(),
            detail: format!(
                "the file is {} bytes; texts can be at most {} bytes",
                bytes.len(),
                r.settings.max_import_bytes
            ),
        });
    }
    let lower = file_name.to_ascii_lowercase();
    let list = as_list || lower.ends_with(".tsv");
    let language = language.map(str::to_string);
    let lang = language
        .clone()
        .unwrap_or_else(|| campaign.language().to_string());
    let (paragraphs, found_title) = if list {
        let sentences = text::sentence_list(bytes)?;
        (vec![sentences], None)
    } else {
        let format = Format::from_file_name(file_name).unwrap_or(Format::Plain);
        let t = text::import(bytes, format, &lang)?;
        (paragraphs_of(&t), t.title)
    };
    add_document(
        &r.platform,
        actor,
        campaign,
        Import {
            title,
            language: language.as_deref(),
            source: file_name,
            public: true,
            paragraphs,
            found_title,
        },
    )
    .await
}

/// Signs an invitation to speak in a campaign: the link carries it, no table holds it.
pub async fn invite_token(p: &Platform, campaign: &Campaign) -> Result<String> {
    let key = tutti_platform::server_secret(&p.db, "recital-invite")
        .await
        .map_err(RecitalError::internal)?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).map_err(RecitalError::internal)?;
    mac.update(campaign.id.as_bytes());
    Ok(hex::encode(&mac.finalize().into_bytes()[..20]))
}

/// Whether `token` is this campaign's invitation.
pub async fn check_invite(p: &Platform, campaign: &Campaign, token: &str) -> Result<bool> {
    Ok(tutti_platform::same_secret(
        &invite_token(p, campaign).await?,
        token,
    ))
}

/// Refuses people the campaign does not let speak.
async fn may_speak(
    p: &Platform,
    campaign: &Campaign,
    identity: &Identity,
    invited: bool,
) -> Result<()> {
    let allowed = match campaign.access {
        SpeakerAccess::Open => true,
        SpeakerAccess::Approved | SpeakerAccess::Invite => {
            identity.has(&SPEAKER)
                || identity.has(&REVIEWER)
                || invited
                || db::is_approved(p.db.pool(), &campaign.id, &identity.user.email).await?
                || db::speaker(p.db.pool(), &campaign.id, &identity.user.id)
                    .await?
                    .is_some_and(|s| s.consent_version.is_some())
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(RecitalError::forbidden(
            "not-approved",
            format!(
                "{} is not among this campaign's speakers yet: ask its organisers for an \
                 invitation link",
                identity.user.email
            ),
        ))
    }
}

/// Records consent to the campaign's current agreement (and, given answers, the
/// demographics). Consenting again to the same version changes nothing.
pub async fn consent(
    p: &Platform,
    campaign: &Campaign,
    identity: &Identity,
    version: i64,
    invited: bool,
    demographics: Option<Demographics>,
) -> Result<db::Speaker> {
    may_speak(p, campaign, identity, invited).await?;
    if version != campaign.agreement_version {
        return Err(RecitalError::invalid(
            "version",
            format!(
                "the agreement is at version {}; read it again and consent to that version",
                campaign.agreement_version
            ),
        ));
    }
    let mut tx = p.db.begin().await?;
    db::consent(&mut tx, &campaign.id, &identity.user.id, version).await?;
    if let Some(d) = demographics {
        db::set_demographics(&mut *tx, &campaign.id, &identity.user.id, &d).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    db::speaker(p.db.pool(), &campaign.id, &identity.user.id)
        .await?
        .ok_or_else(|| RecitalError::internal("the consent vanished"))
}

/// Parses demographic answers for a campaign.
pub fn demographics(
    year_of_birth: Option<i32>,
    gender: Option<&str>,
    accent: Option<&str>,
) -> Result<Demographics> {
    Demographics::parse(year_of_birth, gender, accent, this_year())
}

/// The speaker's standing, refusing those who have not consented to the current version
/// or were muted.
async fn speaking(p: &Platform, campaign: &Campaign, identity: &Identity) -> Result<db::Speaker> {
    let speaker = db::speaker(p.db.pool(), &campaign.id, &identity.user.id).await?;
    match speaker {
        Some(s) if s.consent_version == Some(campaign.agreement_version) => {
            if let Some(reason) = &s.muted_reason {
                return Err(RecitalError::forbidden(
                    "muted",
                    format!("a reviewer paused your recordings in this campaign: {reason}"),
                ));
            }
            Ok(s)
        }
        Some(s) if s.consent_version.is_some() => Err(RecitalError::forbidden(
            "consent-needed",
            format!(
                "the agreement of {} changed (version {}); read it and consent again",
                campaign.title, campaign.agreement_version
            ),
        )),
        _ => Err(RecitalError::forbidden(
            "consent-needed",
            format!(
                "consent to the agreement of {} (version {}) first",
                campaign.title, campaign.agreement_version
            ),
        )),
    }
}

/// What a new session is for.
pub struct Start<'a> {
    pub document_id: &'a str,
    pub sentence_id: Option<&'a str>,
    pub label: Option<&'a str>,
}

/// Starts a recording session on a document (in clip mode: one take of one sentence).
pub async fn start_session(p: &Platform, identity: &Identity, start: Start<'_>) -> Result<Session> {
    let document = db::document(p.db.pool(), start.document_id)
        .await?
        .ok_or_else(|| {
            RecitalError::not_found(format!("there is no document `{}`", start.document_id))
        })?;
    let campaign = db::campaign_by_id(p.db.pool(), &document.campaign_id)
        .await?
        .ok_or_else(|| RecitalError::internal("document without campaign"))?;
    if !campaign.accepting {
        return Err(RecitalError::forbidden(
            "campaign-closed",
            format!("{} takes no more recordings", campaign.title),
        ));
    }
    speaking(p, &campaign, identity).await?;
    let (sentence_id, label) = match campaign.mode {
        Mode::LongForm => {
            if start.sentence_id.is_some() || start.label.is_some() {
                return Err(RecitalError::invalid(
                    "sentence_id",
                    "a long-form campaign records whole documents: send only document_id",
                ));
            }
            (None, None)
        }
        Mode::Clip => {
            let Some(id) = start.sentence_id else {
                return Err(RecitalError::invalid(
                    "sentence_id",
                    "a clip campaign records one sentence per take: name it",
                ));
            };
            let sentence = db::sentence(p.db.pool(), id)
                .await?
                .filter(|s| s.document_id == document.id && s.retired_at.is_none())
                .ok_or_else(|| {
                    RecitalError::invalid(
                        "sentence_id",
                        format!("the document has no sentence `{id}` to read"),
                    )
                })?;
            (Some(sentence.id), campaign.labels.check(start.label)?)
        }
    };
    let id = db::insert_session(
        p.db.pool(),
        &db::NewSession {
            campaign_id: &campaign.id,
            document_id: &document.id,
            user_id: &identity.user.id,
            mode: campaign.mode,
            sentence_id: sentence_id.as_deref(),
            label: label.as_deref(),
        },
    )
    .await?;
    own_session(p, identity, &id).await
}

/// A session of this person; anyone else's answers 404, as if it did not exist.
pub async fn own_session(p: &Platform, identity: &Identity, id: &str) -> Result<Session> {
    db::session(p.db.pool(), id)
        .await?
        .filter(|s| s.user_id == identity.user.id)
        .ok_or_else(|| RecitalError::not_found(format!("you have no session `{id}`")))
}

/// A session its speaker or a reviewer may see.
pub async fn visible_session(p: &Platform, identity: &Identity, id: &str) -> Result<Session> {
    db::session(p.db.pool(), id)
        .await?
        .filter(|s| s.user_id == identity.user.id || identity.has(&REVIEWER))
        .ok_or_else(|| RecitalError::not_found(format!("you have no session `{id}`")))
}

/// What a stored chunk came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored now.
    New,
    /// The same bytes were stored before.
    Again,
}

/// Container signatures a recording's first chunk starts with.
fn starts_a_recording(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
        || bytes.starts_with(b"OggS")
        || bytes.get(4..8) == Some(b"ftyp")
        || bytes.starts_with(b"RIFF")
}

/// The digest a client announced, from an RFC 9530 `Content-Digest` value.
pub fn parse_digest(header: Option<&str>) -> Result<[u8; 32]> {
    use base64::Engine as _;
    let Some(value) = header else {
        return Err(RecitalError::invalid(
            "Content-Digest",
            "send the chunk's SHA-256 as `Content-Digest: sha-256=:<base64>:` (RFC 9530)",
        ));
    };
    for member in value.split(',') {
        let Some((name, rest)) = member.trim().split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("sha-256") {
            continue;
        }
        let inner = rest
            .trim()
            .strip_prefix(':')
            .and_then(|r| r.strip_suffix(':'));
        let decoded = inner.and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        if let Some(bytes) = decoded
            && let Ok(digest) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return Ok(digest);
        }
        return Err(RecitalError::invalid(
            "Content-Digest",
            "the sha-256 value must be 32 bytes in base64 between colons, e.g. sha-256=:X48E9q…=:",
        ));
    }
    Err(RecitalError::invalid(
        "Content-Digest",
        "Content-Digest carries no sha-256 member; send `sha-256=:<base64>:`",
    ))
}

/// One chunk as sent: where it goes in the session and its bytes.
pub struct ChunkUpload<'a> {
    pub part: i64,
    pub seq: i64,
    pub media_type: &'a str,
    /// The `Content-Digest` header as sent (checked once the session is known).
    pub digest: Option<&'a str>,
    pub body: Bytes,
}

/// Stores one chunk of a session durably (its row, bytes included, is committed). A
/// chunk number already recorded with the same bytes is acknowledged again; with other
/// bytes it is refused.
pub async fn put_chunk(
    r: &Recital,
    identity: &Identity,
    session_id: &str,
    chunk: ChunkUpload<'_>,
) -> Result<Stored> {
    let ChunkUpload {
        part,
        seq,
        media_type,
        digest,
        body,
    } = chunk;
    let p = &r.platform;
    if !(0..=10_000).contains(&part) {
        return Err(RecitalError::invalid(
            "part",
            "part must be from 0 to 10000",
        ));
    }
    if !(0..=1_000_000).contains(&seq) {
        return Err(RecitalError::invalid(
            "seq",
            "seq must be from 0 to 1000000",
        ));
    }
    let session = own_session(p, identity, session_id).await?;
    let digest = parse_digest(digest)?;
    let actual: [u8; 32] = Sha256::digest(&body).into();
    if actual != digest {
        return Err(RecitalError::invalid(
            "Content-Digest",
            "the body's SHA-256 differs from Content-Digest: the chunk was damaged on the way; \
             send it again",
        ));
    }
    let sha = hex::encode(actual);
    if let Some(known) = db::chunk(p.db.pool(), &session.id, part, seq).await? {
        return same_or_conflict(&known, &sha, part, seq);
    }
    if session.state != SessionState::Recording {
        return Err(RecitalError::State {
            state: session.state,
            detail: format!(
                "the session is {}; it takes no more audio",
                session.state.as_str()
            ),
        });
    }
    if body.is_empty() {
        return Err(RecitalError::invalid("body", "the chunk has no bytes"));
    }
    if body.len() as u64 > r.settings.max_chunk_bytes {
        return Err(RecitalError::TooLarge {
            field: "body".into(),
            detail: format!(
                "the chunk is {} bytes; chunks can be at most {} bytes (record in shorter slices)",
                body.len(),
                r.settings.max_chunk_bytes
            ),
        });
    }
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let audio_type = essence.starts_with("audio/")
        || essence == "video/webm"
        || essence == "application/octet-stream"
        || essence.is_empty();
    if !audio_type || (seq == 0 && !starts_a_recording(&body)) {
        return Err(RecitalError::NotAudio {
            detail: if audio_type {
                "the first chunk of a part must start a recording (WebM, Ogg or MP4 as \
                 MediaRecorder writes it)"
                    .into()
            } else {
                format!("`{media_type}` is not an audio type; send the recorder's audio/… type")
            },
        });
    }
    let chunk = db::Chunk {
        part,
        seq,
        size_bytes: body.len() as i64,
        sha256: sha.clone(),
        // The bytes travel in the row; processing stores the part's whole recording.
        blob_key: String::new(),
        media_type: essence,
    };
    let size = body.len();
    if r.chunk_log.insert(&session.id, chunk, body).await? {
        metrics_chunk(size);
        return Ok(Stored::New);
    }
    // Lost a race for this number: the first request's bytes are the ones kept.
    let known = db::chunk(p.db.pool(), &session.id, part, seq)
        .await?
        .ok_or_else(|| RecitalError::internal("a chunk row vanished"))?;
    same_or_conflict(&known, &sha, part, seq)
}

fn metrics_chunk(bytes: usize) {
    tracing::debug!(bytes, "recital chunk stored");
}

fn same_or_conflict(known: &db::Chunk, sha: &str, part: i64, seq: i64) -> Result<Stored> {
    if known.sha256 == sha {
        Ok(Stored::Again)
    } else {
        Err(RecitalError::ChunkConflict {
            detail: format!(
                "chunk {seq} of part {part} was stored with other bytes; a chunk number \
                 is never reused — send the next chunks under new numbers"
            ),
        })
    }
}

/// One segment as sent: a sentence and when it ended.
pub struct NewSegment<'a> {
    pub sentence_id: &'a str,
    pub end_ms: i64,
}

/// Records when sentences ended; a sentence sent again gets its new end.
pub async fn post_segments(
    p: &Platform,
    identity: &Identity,
    session_id: &str,
    segments: &[NewSegment<'_>],
) -> Result<usize> {
    let session = own_session(p, identity, session_id).await?;
    if session.state != SessionState::Recording {
        return Err(RecitalError::State {
            state: session.state,
            detail: format!(
                "the session is {}; its sentences can no longer change",
                session.state.as_str()
            ),
        });
    }
    if segments.len() > 10_000 {
        return Err(RecitalError::invalid(
            "segments",
            "send at most 10000 segments at once",
        ));
    }
    let mut checked = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        if !(0..=24 * 3_600_000).contains(&s.end_ms) {
            return Err(RecitalError::invalid(
                &format!("{i}.end_ms"),
                format!(
                    "{} ms is not a time within a recording (0 to 24 h)",
                    s.end_ms
                ),
            ));
        }
        let sentence = db::sentence(p.db.pool(), s.sentence_id)
            .await?
            .filter(|x| x.document_id == session.document_id)
            .ok_or_else(|| {
                RecitalError::invalid(
                    &format!("{i}.sentence_id"),
                    format!("the session's document has no sentence `{}`", s.sentence_id),
                )
            })?;
        if let Some(only) = &session.sentence_id
            && *only != sentence.id
        {
            return Err(RecitalError::invalid(
                &format!("{i}.sentence_id"),
                "this take records one sentence only: the one it was started for",
            ));
        }
        checked.push((sentence, s.end_ms));
    }
    // One statement, each sentence once (with the end sent last): a sentence twice in one
    // upsert is an error on PostgreSQL.
    let count = checked.len();
    let mut last: Vec<(db::Sentence, i64)> = Vec::with_capacity(count);
    let mut at: HashMap<String, usize> = HashMap::new();
    for (sentence, end_ms) in checked {
        match at.get(&sentence.id) {
            Some(&i) => last[i].1 = end_ms,
            None => {
                at.insert(sentence.id.clone(), last.len());
                last.push((sentence, end_ms));
            }
        }
    }
    let rows: Vec<(&db::Sentence, i64)> = last.iter().map(|(s, e)| (s, *e)).collect();
    db::upsert_segments(&mut *p.db.write().await?, &session.id, &rows).await?;
    Ok(count)
}

/// Ends a session and queues its processing, in one transaction; ending again is a
/// no-op that answers the session as it is.
pub async fn end_session(
    p: &Platform,
    identity: &Identity,
    session_id: &str,
    keep_last: bool,
) -> Result<Session> {
    let session = own_session(p, identity, session_id).await?;
    let Some(to) = session.state.apply(Event::End)? else {
        return Ok(session);
    };
    let mut tx = p.db.begin().await?;
    if db::move_session(&mut *tx, &session.id, session.state, to).await? {
        db::set_keep_last(&mut tx, &session.id, keep_last).await?;
        p.queue
            .enqueue_in(
                &mut tx,
                tutti_store::NewJob::typed::<ProcessSession>(&session.id.clone())?.unique(format!(
                    "{}:{}",
                    ProcessSession::KIND,
                    session.id
                )),
            )
            .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    p.queue.notify();
    own_session(p, identity, session_id).await
}

/// Discards a session and queues the removal of its audio.
pub async fn discard_session(
    p: &Platform,
    identity: &Identity,
    session_id: &str,
) -> Result<Session> {
    let session = own_session(p, identity, session_id).await?;
    discard(p, &session).await?;
    own_session(p, identity, session_id).await
}

/// Discards any session (its speaker's wish, an account going away, an empty reading).
pub async fn discard(p: &Platform, session: &Session) -> Result<()> {
    let Some(to) = session.state.apply(Event::Discard)? else {
        return Ok(());
    };
    let mut tx = p.db.begin().await?;
    if db::move_session(&mut *tx, &session.id, session.state, to).await? {
        p.queue
            .enqueue_in(
                &mut tx,
                tutti_store::NewJob::typed::<PurgeSession>(&session.id.clone())?.unique(format!(
                    "{}:{}",
                    PurgeSession::KIND,
                    session.id
                )),
            )
            .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    p.queue.notify();
    Ok(())
}

/// Records a vote on a clip that is not the voter's own.
pub async fn vote(
    p: &Platform,
    identity: &Identity,
    clip_id: &str,
    valid: bool,
) -> Result<db::Clip> {
    let clip = db::clip(p.db.pool(), clip_id)
        .await?
        .ok_or_else(|| RecitalError::not_found(format!("there is no clip `{clip_id}`")))?;
    if clip.user_id == identity.user.id {
        return Err(RecitalError::forbidden(
            "own-clip",
            "people do not validate their own recordings; others will",
        ));
    }
    let campaign = db::campaign_by_id(p.db.pool(), &clip.campaign_id)
        .await?
        .ok_or_else(|| RecitalError::internal("clip without campaign"))?;
    may_validate(p, &campaign, identity).await?;
    let mut tx = p.db.begin().await?;
    let clip = db::vote(&mut tx, clip_id, &identity.user.id, valid).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(clip)
}

/// Speakers of a campaign and reviewers validate its clips.
pub async fn may_validate(p: &Platform, campaign: &Campaign, identity: &Identity) -> Result<()> {
    if identity.has(&REVIEWER) {
        return Ok(());
    }
    let consented = db::speaker(p.db.pool(), &campaign.id, &identity.user.id)
        .await?
        .is_some_and(|s| s.consent_version.is_some());
    if consented {
        Ok(())
    } else {
        Err(RecitalError::forbidden(
            "consent-needed",
            format!("join {} first to listen to its recordings", campaign.title),
        ))
    }
}

/// Queues an export of a campaign and says which.
pub async fn request_export(
    p: &Platform,
    actor: Actor<'_>,
    campaign: &Campaign,
    format: crate::export::Format,
    include_all: bool,
) -> Result<String> {
    actor.require_reviewer()?;
    let mut tx = p.db.begin().await?;
    let id = db::insert_export(
        &mut tx,
        &campaign.id,
        &format.to_string(),
        include_all,
        actor.user_id(),
    )
    .await?;
    p.queue
        .enqueue_in(&mut tx, tutti_store::NewJob::typed::<ExportJob>(&id)?)
        .await?;
    audit::record(
        &mut *tx,
        actor
            .audit(
                "recital-export-requested",
                format!("asked for a {format} export of {}", campaign.slug),
            )
            .arg("slug", campaign.slug.clone())
            .arg("format", format.to_string()),
    )
    .await
    .map_err(RecitalError::internal)?;
    tx.commit().await.map_err(StoreError::from)?;
    p.queue.notify();
    Ok(id)
}

/// A speaker's own figures, for their statistics page.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MyStats {
    /// Processed recorded time, all campaigns together.
    pub recorded_ms: u64,
    pub sessions: u64,
    /// Clips cut from their recordings, and how many other people found valid.
    pub clips: u64,
    pub clips_validated: u64,
    /// Votes they gave on other people's clips.
    pub votes_given: u64,
    pub standing: crate::domain::Standing,
    /// Recorded time per UTC day (days since 1970-01-01).
    pub days: Vec<DayTotal>,
    /// Whether their name is shown on the public leaderboard.
    pub public_name: bool,
}

/// One day's recorded time.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DayTotal {
    pub day: i64,
    pub ms: i64,
}

pub async fn my_stats(p: &Platform, user_id: &str) -> Result<MyStats> {
    let pool = p.db.pool();
    let board = db::board(pool).await?;
    let totals: Vec<u64> = board.iter().map(|b| b.ms.max(0) as u64).collect();
    let mine = board.iter().find(|b| b.user_id == user_id);
    let recorded_ms = mine.map(|b| b.ms.max(0) as u64).unwrap_or(0);
    let (clips, valid, votes) = db::clip_stats(pool, user_id).await?;
    Ok(MyStats {
        recorded_ms,
        sessions: mine.map(|b| b.sessions as u64).unwrap_or(0),
        clips: clips as u64,
        clips_validated: valid as u64,
        votes_given: votes as u64,
        standing: crate::domain::standing(&totals, recorded_ms),
        days: db::hours_per_day(pool, None, Some(user_id))
            .await?
            .into_iter()
            .map(|d| DayTotal {
                day: d.day,
                ms: d.ms,
            })
            .collect(),
        public_name: db::public_name(pool, user_id).await?,
    })
}

/// One row of the public leaderboard: a name only for those who chose to show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BoardEntry {
    pub rank: u64,
    pub name: Option<String>,
    pub recorded_ms: u64,
    pub sessions: u64,
}

pub async fn leaderboard(p: &Platform, size: usize) -> Result<Vec<BoardEntry>> {
    let board = db::board(p.db.pool()).await?;
    let totals: Vec<u64> = board.iter().map(|b| b.ms.max(0) as u64).collect();
    Ok(board
        .into_iter()
        .take(size)
        .map(|b| {
            let ms = b.ms.max(0) as u64;
            BoardEntry {
                rank: crate::domain::standing(&totals, ms).rank.unwrap_or(0),
                name: b.name,
                recorded_ms: ms,
                sessions: b.sessions.max(0) as u64,
            }
        })
        .collect())
}

/// Everything the studio keeps about a person, as one `.tar.gz`: their standing in each
/// campaign (consent, demographics) as JSON, and each session's record, transcript and
/// web copy of the audio.
pub async fn archive(p: &Platform, identity: &Identity) -> Result<Vec<u8>> {
    use crate::export::Sink as _;
    let pool = p.db.pool();
    let mut sink = crate::export::TarGzSink::new(Vec::new());
    let profile = serde_json::json!({
        "user": { "id": identity.user.id, "email": identity.user.email, "name": identity.user.name },
        "campaigns": db::speaker_rows(pool, &identity.user.id).await?,
        "public_name": db::public_name(pool, &identity.user.id).await?,
    });
    let io = |e: std::io::Error| RecitalError::internal(e);
    sink.add(
        "profile.json",
        serde_json::to_vec_pretty(&profile)
            .unwrap_or_default()
            .as_slice(),
    )
    .map_err(io)?;
    for s in db::sessions_of(pool, &identity.user.id).await? {
        if s.state == SessionState::Discarded {
            continue;
        }
        let segments = db::segments(pool, &s.id).await?;
        let record = serde_json::json!({
            "session": s,
            "segments": segments.iter().map(|g| serde_json::json!({
                "sentence_id": g.sentence_id, "text": g.text, "end_ms": g.end_ms,
            })).collect::<Vec<_>>(),
        });
        sink.add(
            &format!("sessions/{}/session.json", s.id),
            serde_json::to_vec_pretty(&record)
                .unwrap_or_default()
                .as_slice(),
        )
        .map_err(io)?;
        if let Some(media) = &s.media {
            for (key, name) in [
                (&media.web_opus, "audio.ogg"),
                (&media.vtt, "transcript.vtt"),
            ] {
                if let Ok(bytes) = p.blobs.get(key).await {
                    sink.add(&format!("sessions/{}/{name}", s.id), &bytes)
                        .map_err(io)?;
                }
            }
        }
    }
    sink.into_inner().map_err(io)
}

/// Discards every session of a person (their audio goes with the purge jobs).
pub async fn discard_all(p: &Platform, user_id: &str) -> Result<usize> {
    let mut n = 0;
    for s in db::sessions_of(p.db.pool(), user_id).await? {
        if matches!(
            s.state,
            SessionState::Recording
                | SessionState::Ended
                | SessionState::Processed
                | SessionState::Published
        ) {
            discard(p, &s).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// What the recital forgets when an account is deleted: every recording (discarded, so
/// the purge jobs remove its audio from the blob store and later exports leave it out),
/// the person's standing and answers in each campaign, reading positions and leaderboard
/// choice. Votes and reports stay, with no one behind them any more.
pub struct Forgetter(pub Platform);

#[async_trait::async_trait]
impl tutti_platform::Forget for Forgetter {
    async fn forget(
        &self,
        user_id: &str,
    ) -> std::result::Result<(), tutti_platform::PlatformError> {
        let fail = |e: RecitalError| tutti_platform::PlatformError::Problem(e.into());
        discard_all(&self.0, user_id).await.map_err(fail)?;
        let mut tx = self.0.db.begin().await.map_err(|e| fail(e.into()))?;
        for table in ["recital_speakers", "recital_positions", "recital_profiles"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE user_id = $1"
            )))
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| fail(e.into()))?;
        }
        tx.commit().await.map_err(|e| fail(RecitalError::from(e)))?;
        Ok(())
    }
}
