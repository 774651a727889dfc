//! The recital's background work, in the platform's job queue: processing an ended
//! session (`recital.process`), removing a discarded session's audio (`recital.purge`)
//! and writing a dataset export (`recital.export`). Each job can be killed at any point
//! and run again: outputs go to keys named by the session or export, and the database
//! writes commit together with the job's completion.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tutti_store::{Blobs, JobError, JobRun, TypedJob, Worker};

use crate::db::{self, Campaign, Session, SessionMedia};
use crate::domain::{ClipStatus, CueSpan, Mode, SessionState, cues, vtt};
use crate::error::RecitalError;
use crate::export::{self, Sink};
use crate::process;
use crate::{Recital, service};

/// Adds the recital's jobs to a worker.
pub fn register(worker: Worker, r: &Recital) -> Worker {
    worker
        .register_typed(ProcessSession(r.clone()))
        .register_typed(PurgeSession(r.clone()))
        .register_typed(ExportJob(r.clone()))
}

fn retry(e: RecitalError) -> JobError {
    match e {
        RecitalError::Media(detail) | RecitalError::Invalid { detail, .. } => {
            JobError::Abort(detail)
        }
        other => JobError::Retry(other.to_string()),
    }
}

/// Blob keys of a session's outputs.
pub fn session_keys(id: &str) -> SessionMedia {
    SessionMedia {
        archive: format!("recital/sessions/{id}/archive.flac"),
        web_opus: format!("recital/sessions/{id}/web.ogg"),
        web_mp3: format!("recital/sessions/{id}/web.mp3"),
        vtt: format!("recital/sessions/{id}/transcript.vtt"),
    }
}

/// Turns an ended session into its stream, transcript, copies and clips.
pub struct ProcessSession(pub Recital);

impl TypedJob for ProcessSession {
    const KIND: &'static str = "recital.process";
    type Payload = String;
    type Output = ();

    fn timeout() -> Duration {
        Duration::from_secs(60 * 60)
    }

    fn max_attempts() -> i64 {
        5
    }

    async fn run(&self, session_id: String, run: &JobRun) -> Result<(), JobError> {
        let r = &self.0;
        let p = &r.platform;
        let Some(session) = db::session(p.db.pool(), &session_id).await.map_err(retry)? else {
            return Ok(());
        };
        if session.state != SessionState::Ended {
            return Ok(());
        }
        match process_session(r, &session, run).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let shown = match &e {
                    RecitalError::Internal(_) | RecitalError::Store(_) => {
                        "processing failed on the server; it is retried".to_string()
                    }
                    other => other.to_string(),
                };
                let _ = db::set_session_error(p.db.pool(), &session.id, Some(&shown)).await;
                tracing::warn!(session = %session.id, error = %e, "recital processing failed");
                Err(retry(e))
            }
        }
    }
}

/// The cues of a session as processing keeps them.
async fn session_cues(r: &Recital, session: &Session) -> Result<Vec<CueSpan>, RecitalError> {
    let segments = db::segments(r.platform.db.pool(), &session.id).await?;
    let keep_last = session.keep_last.unwrap_or(true);
    if session.mode == Mode::Clip {
        // One take of one sentence: the whole take (up to its marked end) is the cue.
        let sentence_id = session.sentence_id.clone().unwrap_or_default();
        let sentence = db::sentence(r.platform.db.pool(), &sentence_id)
            .await?
            .ok_or_else(|| RecitalError::Media("the take's sentence is gone".into()))?;
        let end_ms = segments
            .iter()
            .find(|s| s.sentence_id == sentence_id)
            .map(|s| s.end_ms)
            .unwrap_or(24 * 3_600_000);
        return Ok(vec![CueSpan {
            sentence_id,
            text: sentence.text,
            revision: sentence.revision,
            start_ms: 0,
            end_ms,
        }]);
    }
    Ok(cues(&segments, keep_last))
}

async fn process_session(r: &Recital, session: &Session, run: &JobRun) -> Result<(), RecitalError> {
    let p = &r.platform;
    let chunks = db::chunks(p.db.pool(), &session.id).await?;
    check_complete(&chunks)?;
    let cues = session_cues(r, session).await?;
    if chunks.is_empty() || (session.mode == Mode::LongForm && cues.is_empty()) {
        // A reading with no audio or no sentence has nothing to keep.
        return service::discard(p, session).await;
    }
    let work = tempfile::tempdir().map_err(RecitalError::internal)?;
    let parts = part_files(r, session, &chunks, work.path()).await?;
    let paths = parts.iter().map(|(_, path)| path.clone()).collect();
    let rules = r.settings.quality.clone();
    let clip_mode = session.mode == Mode::Clip;
    let dir = work.path().to_path_buf();
    let job_cues = cues.clone();
    let made = run
        .blocking(move |_| {
            process::run(&process::Job {
                chunks: paths,
                cues: &job_cues,
                clip_mode,
                rules: &rules,
                dir: &dir,
            })
        })
        .await
        .map_err(|e| RecitalError::Internal(e.to_string()))??;

    let keys = session_keys(&session.id);
    for (key, path) in &parts {
        put_file(&p.blobs, key, path).await?;
    }
    let kept: Vec<CueSpan> = made.clips.iter().map(|c| cues[c.cue].clone()).collect();
    let transcript = vtt(&trimmed(&kept, &made))?;
    put_file(&p.blobs, &keys.archive, &made.archive).await?;
    put_file(&p.blobs, &keys.web_opus, &made.web_opus).await?;
    put_file(&p.blobs, &keys.web_mp3, &made.web_mp3).await?;
    p.blobs.put(&keys.vtt, transcript.into_bytes()).await?;
    let now = tutti_store::now_ms();
    let mut rows = Vec::new();
    for (i, clip) in made.clips.iter().enumerate() {
        let key = format!("recital/sessions/{}/clips/{i:04}.ogg", session.id);
        put_file(&p.blobs, &key, &clip.path).await?;
        // Nothing to listen to: validators would only hear silence or a click.
        let empty = clip
            .verdict
            .problems
            .iter()
            .any(|p| p.kind == "silent" || p.kind == "too-short");
        if empty {
            continue;
        }
        let cue = &cues[clip.cue];
        rows.push(db::Clip {
            id: format!("{}-{i:04}", session.id),
            session_id: session.id.clone(),
            campaign_id: session.campaign_id.clone(),
            user_id: session.user_id.clone(),
            sentence_id: cue.sentence_id.clone(),
            revision: cue.revision,
            text: cue.text.clone(),
            label: session.label.clone(),
            ordinal: i as i64,
            start_ms: clip.start_ms as i64,
            end_ms: clip.end_ms as i64,
            audio_key: key,
            verdict: serde_json::to_string(&clip.verdict).unwrap_or_default(),
            up_votes: 0,
            down_votes: 0,
            reports: 0,
            status: ClipStatus::Pending.as_str().into(),
            created_at: now,
        });
    }
    let mut tx = p.db.begin().await?;
    db::replace_clips(&mut tx, &session.id, &rows).await?;
    db::clear_chunk_bytes(&mut tx, &session.id).await?;
    db::finish_processing(
        &mut tx,
        &session.id,
        made.duration_ms as i64,
        &made.verdict,
        &keys,
    )
    .await?;
    run.finish_in(&mut tx, None)
        .await
        .map_err(|e| RecitalError::Internal(e.to_string()))?;
    tx.commit().await.map_err(tutti_store::StoreError::from)?;
    Ok(())
}

/// Where a part's recording, its chunks joined as the recorder wrote them, is kept once
/// the session is processed.
pub fn original_key(session_id: &str, part: i64, media_type: &str) -> String {
    let ext = match media_type {
        "audio/ogg" => "ogg",
        "audio/mp4" | "video/mp4" => "m4a",
        "audio/wav" | "audio/x-wav" => "wav",
        _ => "webm",
    };
    format!("recital/sessions/{session_id}/original/{part:05}.{ext}")
}

/// Writes each part's recording into `dir` and pairs it with the key it is kept under.
/// A chunk's bytes come from its row; from its own blob for rows staged before bytes
/// went into rows; from the part's kept recording when the session was processed before.
async fn part_files(
    r: &Recital,
    session: &Session,
    chunks: &[db::Chunk],
    dir: &std::path::Path,
) -> Result<Vec<(String, PathBuf)>, RecitalError> {
    let p = &r.platform;
    let mut files = Vec::new();
    for part in chunks.chunk_by(|a, b| a.part == b.part) {
        let first = &part[0];
        let key = original_key(&session.id, first.part, &first.media_type);
        let staged = db::chunk_bytes(p.db.pool(), &session.id, first.part).await?;
        let mut recording = Vec::new();
        for (chunk, (_, data)) in part.iter().zip(staged) {
            match data {
                Some(bytes) => recording.extend_from_slice(&bytes),
                None if !chunk.blob_key.is_empty() => {
                    recording.extend_from_slice(&p.blobs.get(&chunk.blob_key).await?)
                }
                None => {
                    recording = p.blobs.get(&key).await?.to_vec();
                    break;
                }
            }
        }
        let path = dir.join(format!("part-{:05}", first.part));
        tokio::fs::write(&path, &recording)
            .await
            .map_err(RecitalError::internal)?;
        files.push((key, path));
    }
    Ok(files)
}

/// The cues as the audio has them: the last ends where the stream ends.
fn trimmed(cues: &[CueSpan], made: &process::Made) -> Vec<CueSpan> {
    cues.iter()
        .map(|c| CueSpan {
            end_ms: c.end_ms.min(made.duration_ms),
            ..c.clone()
        })
        .collect()
}

/// Every part's chunks must run 0, 1, 2 … without a gap: a missing one would splice the
/// recording, so processing waits for it (and then fails, naming it).
fn check_complete(chunks: &[db::Chunk]) -> Result<(), RecitalError> {
    let mut expected: Option<(i64, i64)> = None;
    for c in chunks {
        let want = match expected {
            Some((part, seq)) if part == c.part => seq,
            _ => 0,
        };
        if c.seq != want {
            return Err(RecitalError::Media(format!(
                "chunk {want} of part {} never arrived (chunk {} did); the recording cannot be \
                 joined without it",
                c.part, c.seq
            )));
        }
        expected = Some((c.part, c.seq + 1));
    }
    Ok(())
}

async fn put_file(blobs: &Blobs, key: &str, path: &std::path::Path) -> Result<(), RecitalError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(RecitalError::internal)?;
    blobs.put(key, bytes).await?;
    Ok(())
}

/// Removes a discarded session's audio from the blob store.
pub struct PurgeSession(pub Recital);

impl TypedJob for PurgeSession {
    const KIND: &'static str = "recital.purge";
    type Payload = String;
    type Output = ();

    async fn run(&self, session_id: String, run: &JobRun) -> Result<(), JobError> {
        let p = &self.0.platform;
        // Chunks, copies, transcript and clips all live under the session's folder.
        for blob in p
            .blobs
            .list(&format!("recital/sessions/{session_id}"))
            .await?
        {
            p.blobs.delete(&blob.key).await?;
        }
        let mut tx = p.db.begin().await?;
        db::replace_clips(&mut tx, &session_id, &[])
            .await
            .map_err(retry)?;
        sqlx::query("DELETE FROM recital_chunks WHERE session_id = $1")
            .bind(&session_id)
            .execute(&mut *tx)
            .await?;
        run.finish_in(&mut tx, None).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Gathers what an export of `campaign` reads from the database.
pub async fn dataset(
    r: &Recital,
    campaign: &Campaign,
) -> Result<(export::Dataset, Vec<String>), RecitalError> {
    let p = &r.platform;
    let clips = db::export_clips(p.db.pool(), &campaign.id).await?;
    let speakers = db::speakers(p.db.pool(), &campaign.id).await?;
    let sessions = db::export_sessions(p.db.pool(), &campaign.id).await?;
    let mut languages = std::collections::HashMap::new();
    for d in db::documents(p.db.pool(), &campaign.id).await? {
        languages.insert(d.id.clone(), d.language.clone());
    }
    let mut session_language = std::collections::HashMap::new();
    for s in &sessions {
        let language = languages
            .get(&s.document_id)
            .cloned()
            .unwrap_or_else(|| campaign.language().to_string());
        session_language.insert(s.id.clone(), language);
    }
    let session_ids: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
    let dataset = export::Dataset {
        campaign: export::Campaign {
            slug: campaign.slug.clone(),
            title: campaign.title.clone(),
            languages: campaign.languages.clone(),
            licence: campaign.licence.clone(),
            labels: campaign.labels.as_slice().to_vec(),
            description: campaign.description.clone(),
        },
        speakers: speakers
            .iter()
            .map(|s| {
                let d = s.demographics();
                export::Speaker {
                    user_id: s.user_id.clone(),
                    demographics: export::Demographics {
                        year_of_birth: d.year_of_birth,
                        gender: d.gender,
                        accent: d.accent,
                    },
                }
            })
            .collect(),
        clips: clips
            .iter()
            .map(|c| export::Clip {
                id: c.id.clone(),
                speaker_user_id: c.user_id.clone(),
                session_id: c.session_id.clone(),
                sentence_id: c.sentence_id.clone(),
                text: c.text.clone(),
                label: c.label.clone(),
                language: session_language
                    .get(&c.session_id)
                    .cloned()
                    .unwrap_or_else(|| campaign.language().to_string()),
                duration_ms: (c.end_ms - c.start_ms).max(0) as u64,
                status: match ClipStatus::parse(&c.status) {
                    ClipStatus::Valid => export::ClipStatus::Valid,
                    ClipStatus::Invalid => export::ClipStatus::Invalid,
                    ClipStatus::Pending => export::ClipStatus::Pending,
                },
                up_votes: c.up_votes as u32,
                down_votes: c.down_votes as u32,
                audio_key: c.audio_key.clone(),
            })
            .collect(),
        sessions: sessions
            .iter()
            .filter(|s| s.mode == Mode::LongForm)
            .filter_map(|s| {
                let media = s.media.clone()?;
                Some(export::LongSession {
                    id: s.id.clone(),
                    speaker_user_id: s.user_id.clone(),
                    language: session_language.get(&s.id).cloned().unwrap_or_default(),
                    duration_ms: s.duration_ms.unwrap_or(0).max(0) as u64,
                    audio_key: media.archive,
                    vtt_key: media.vtt,
                })
            })
            .collect(),
    };
    Ok((dataset, session_ids))
}

/// The salt speaker ids of one campaign are made with: a server secret and the campaign.
pub async fn salt(r: &Recital, campaign: &Campaign) -> Result<Vec<u8>, RecitalError> {
    let mut salt = tutti_platform::server_secret(&r.platform.db, "recital-speaker-salt")
        .await
        .map_err(RecitalError::internal)?;
    salt.extend_from_slice(campaign.id.as_bytes());
    Ok(salt)
}

/// Writes an export to `sink` on a blocking thread, reading blobs as it goes;
/// `progress(done, total)` is called from that thread.
pub async fn write_export(
    r: &Recital,
    campaign: &Campaign,
    format: export::Format,
    include_all: bool,
    mut sink: Box<dyn Sink + Send>,
    mut progress: impl FnMut(u64, u64) + Send + 'static,
) -> Result<(export::Summary, Vec<String>), RecitalError> {
    let (dataset, _) = dataset(r, campaign).await?;
    // The sessions this export publishes: those it carries audio of.
    let mut session_ids: Vec<String> = if format == export::Format::LongForm {
        dataset.sessions.iter().map(|s| s.id.clone()).collect()
    } else {
        dataset
            .clips
            .iter()
            .filter(|c| include_all || c.status == export::ClipStatus::Valid)
            .map(|c| c.session_id.clone())
            .collect()
    };
    session_ids.sort();
    session_ids.dedup();
    let request = export::Request {
        format,
        include_all,
        salt: salt(r, campaign).await?,
    };
    let blobs = r.platform.blobs.clone();
    let handle = tokio::runtime::Handle::current();
    let summary = tokio::task::spawn_blocking(move || {
        let mut fetch = |key: &str| -> Result<Vec<u8>, export::ExportError> {
            handle
                .block_on(blobs.get(key))
                .map(|b| b.to_vec())
                .map_err(|e| export::ExportError::Fetch(format!("{key}: {e}")))
        };
        let summary = export::write(&dataset, &request, sink.as_mut(), &mut fetch, &mut progress)?;
        sink.finish()?;
        Ok::<_, export::ExportError>(summary)
    })
    .await
    .map_err(RecitalError::internal)?
    .map_err(|e| match e {
        export::ExportError::Empty(detail) => RecitalError::invalid("include_all", detail),
        other => RecitalError::Internal(other.to_string()),
    })?;
    Ok((summary, session_ids))
}

/// A `Write` into a file that the job then uploads.
struct FileOut(std::fs::File);

impl std::io::Write for FileOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Writes a requested export to the blob store as one `.tar.gz`, with progress.
pub struct ExportJob(pub Recital);

impl TypedJob for ExportJob {
    const KIND: &'static str = "recital.export";
    type Payload = String;
    type Output = ();

    fn timeout() -> Duration {
        Duration::from_secs(6 * 60 * 60)
    }

    fn max_attempts() -> i64 {
        3
    }

    async fn run(&self, export_id: String, run: &JobRun) -> Result<(), JobError> {
        let r = &self.0;
        let p = &r.platform;
        let Some(row) = db::export(p.db.pool(), &export_id).await.map_err(retry)? else {
            return Ok(());
        };
        if row.state == "done" {
            return Ok(());
        }
        let campaign = db::campaign_by_id(p.db.pool(), &row.campaign_id)
            .await
            .map_err(retry)?
            .ok_or_else(|| JobError::Abort("the campaign is gone".into()))?;
        let format: export::Format = row
            .format
            .parse()
            .map_err(|e: export::UnknownFormat| JobError::Abort(e.to_string()))?;
        let work = tempfile::tempdir().map_err(|e| JobError::Retry(e.to_string()))?;
        let path: PathBuf = work.path().join("export.tar.gz");
        let file = std::fs::File::create(&path).map_err(|e| JobError::Retry(e.to_string()))?;
        let sink = Box::new(export::TarGzSink::new(FileOut(file)));
        let db = p.db.clone();
        let handle = tokio::runtime::Handle::current();
        let id = export_id.clone();
        let mut last = Instant::now() - Duration::from_secs(10);
        let progress = move |done: u64, total: u64| {
            if last.elapsed() >= Duration::from_millis(500) || done == total {
                last = Instant::now();
                let _ = handle.block_on(db::export_progress(db.pool(), &id, done, total));
            }
        };
        let outcome =
            write_export(r, &campaign, format, row.include_all != 0, sink, progress).await;
        let (summary, session_ids) = match outcome {
            Ok(done) => done,
            Err(e) => {
                let _ = db::fail_export(p.db.pool(), &export_id, &e.to_string()).await;
                return Err(retry(e));
            }
        };
        let key = format!(
            "recital/exports/{}/{}-{}.tar.gz",
            export_id, campaign.slug, row.format
        );
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let size = bytes.len() as u64;
        p.blobs.put(&key, bytes).await?;
        let mut tx = p.db.begin().await?;
        db::finish_export(
            &mut tx,
            &export_id,
            &key,
            size,
            &serde_json::to_string(&summary).unwrap_or_default(),
        )
        .await
        .map_err(retry)?;
        db::publish_sessions(&mut tx, &session_ids)
            .await
            .map_err(retry)?;
        run.finish_in(&mut tx, None).await?;
        tx.commit().await?;
        Ok(())
    }
}
