//! Dataset exports: a campaign's clips (or its long-form sessions) written as a dataset
//! people can train on, in one of four layouts: Hugging Face `audiofolder`, LJSpeech,
//! Common Voice's release TSVs, and long-form audio with WebVTT. Every export carries a
//! `README.md` datasheet. Pure: the caller hands over the rows and a way to read blobs
//! ([`write`]), and the files go to a [`Sink`] (a directory or one `.tar.gz` stream).
//!
//! Privacy is decided here, once for every layout: speakers appear only as a salted hash
//! ([`speaker_id`]), demographic values shared by fewer than five speakers are blanked
//! ([`blank_small_groups`]), and train/dev/test never share a speaker
//! ([`assign_splits`]). Rows and files are ordered by split, then id, so the same input
//! gives the same bytes apart from the datasheet's date line.
//!
//! `plan` decides what goes where (selection, speaker ids, demographics, splits); the
//! layout modules only turn a plan into files.

mod audio;
mod audiofolder;
mod commonvoice;
mod datasheet;
mod ljspeech;
mod longform;
mod privacy;
mod sink;
mod splits;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use tutti_media::MediaError;

pub use audio::LJSPEECH_WAV;
pub use privacy::{MIN_GROUP, Published, age_bucket, blank_small_groups, speaker_id};
pub use sink::{DirSink, MemorySink, Sink, TarGzSink};
pub use splits::{Split, assign_splits};

/// The dataset layouts an export can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Hugging Face `audiofolder`: one folder per split with a `metadata.csv`.
    AudioFolder,
    /// LJSpeech: 22,050 Hz WAVs and a pipe-separated `metadata.csv`, for TTS tools.
    LjSpeech,
    /// Common Voice's release layout: `clips/` and the TSV files ASR tools read.
    CommonVoice,
    /// Whole recording sessions: FLAC audio with its WebVTT transcript.
    LongForm,
}

impl Format {
    /// Every format, in the order people should read them (CLI help, admin pages).
    pub const ALL: [Format; 4] = [
        Format::AudioFolder,
        Format::LjSpeech,
        Format::CommonVoice,
        Format::LongForm,
    ];

    /// The name on the command line, in URLs and in job payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::AudioFolder => "audiofolder",
            Format::LjSpeech => "ljspeech",
            Format::CommonVoice => "commonvoice",
            Format::LongForm => "longform",
        }
    }

    /// One line for people choosing a format.
    pub fn summary(self) -> &'static str {
        match self {
            Format::AudioFolder => {
                "Hugging Face audiofolder: train/dev/test folders of Ogg Opus clips, each with a metadata.csv"
            }
            Format::LjSpeech => {
                "LJSpeech: 22,050 Hz 16-bit mono WAVs and a pipe-separated metadata.csv, for speech synthesis"
            }
            Format::CommonVoice => {
                "Common Voice: clips/ and validated, invalidated, other, train, dev and test TSV files, for ASR"
            }
            Format::LongForm => {
                "long-form: one FLAC and one WebVTT transcript per recording session"
            }
        }
    }

    /// Whether the format exports whole sessions rather than clips.
    fn exports_sessions(self) -> bool {
        self == Format::LongForm
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "there is no export format `{0}`; choose one of: audiofolder, ljspeech, commonvoice, longform"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Where a clip stands in review (Common Voice's vote rule decides it elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClipStatus {
    /// Enough listeners agreed the clip matches its text.
    Valid,
    /// Enough listeners rejected it.
    Invalid,
    /// Not decided yet.
    Pending,
}

/// What a speaker chose to tell about themselves; `None` = not given or "prefer not to say".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demographics {
    /// Published only as a decade ([`age_bucket`]).
    pub year_of_birth: Option<i32>,
    /// As the speaker worded it.
    pub gender: Option<String>,
    /// As the speaker worded it.
    pub accent: Option<String>,
}

/// A person whose clips are exported; the user id never leaves this module as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Speaker {
    /// The account id, which only ever appears hashed ([`speaker_id`]).
    pub user_id: String,
    /// What the speaker told about themselves, blanked for small groups.
    pub demographics: Demographics,
}

/// One read sentence, as the database knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    /// Names the clip's files: letters, digits, `-`, `_` and `.` only.
    pub id: String,
    /// Who read it; a [`Speaker::user_id`].
    pub speaker_user_id: String,
    /// The recording session it was cut from.
    pub session_id: String,
    /// The sentence read, for Common Voice's `sentence_id`.
    pub sentence_id: String,
    /// The sentence as shown to the speaker: the transcription.
    pub text: String,
    /// The campaign label asked for (an acted emotion, say), if any.
    pub label: Option<String>,
    /// The sentence's language code, Common Voice's `locale`.
    pub language: String,
    /// Length of the audio.
    pub duration_ms: u64,
    /// Review status: which clips are exported and, for Common Voice, which file.
    pub status: ClipStatus,
    /// Listeners who accepted the clip.
    pub up_votes: u32,
    /// Listeners who rejected it.
    pub down_votes: u32,
    /// Blob key of the clip: Opus in Ogg, mono 48 kHz.
    pub audio_key: String,
}

/// One whole recording session, for the long-form layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongSession {
    /// Names the session's folder: letters, digits, `-`, `_` and `.` only.
    pub id: String,
    /// Who read it; a [`Speaker::user_id`].
    pub speaker_user_id: String,
    /// The language code of the text read.
    pub language: String,
    /// Length of the whole recording.
    pub duration_ms: u64,
    /// Blob key of the FLAC archive of the whole session.
    pub audio_key: String,
    /// Blob key of the session's WebVTT transcript.
    pub vtt_key: String,
}

/// The campaign an export comes from; its words go into the datasheet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Campaign {
    /// The campaign's short name, shown in the datasheet.
    pub slug: String,
    /// The datasheet's heading.
    pub title: String,
    /// The languages the campaign collects, for the datasheet.
    pub languages: Vec<String>,
    /// SPDX identifier of the data's licence, e.g. "CC0-1.0".
    pub licence: String,
    /// The labels a clip can carry; empty = the campaign has none.
    pub labels: Vec<String>,
    /// What the data is, in the campaign's words (Markdown).
    pub description: String,
}

/// What the person asking for an export chose.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The layout to write.
    pub format: Format,
    /// `false` = validated clips only; `true` = every clip, whatever its status.
    pub include_all: bool,
    /// Secret per server and campaign from which speaker ids are made.
    pub salt: Vec<u8>,
}

/// Keeps the salt out of logs.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("format", &self.format)
            .field("include_all", &self.include_all)
            .field("salt", &format_args!("<{} bytes>", self.salt.len()))
            .finish()
    }
}

/// Everything an export reads, gathered by the caller from the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    /// Where the data comes from.
    pub campaign: Campaign,
    /// Everyone with a clip or session here; others are ignored.
    pub speakers: Vec<Speaker>,
    /// Clips of sentences still current (retired or edited sentences are left out).
    pub clips: Vec<Clip>,
    /// Whole sessions, for the long-form layout.
    pub sessions: Vec<LongSession>,
}

/// What was written, for the progress bar and the admin page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Clips written.
    pub clips: u64,
    /// Sessions written (long-form only).
    pub sessions: u64,
    /// Distinct speakers of what was written.
    pub speakers: u64,
    /// Audio written, by the rows' durations.
    pub seconds: f64,
    /// Files handed to the sink, the datasheet included.
    pub files: u64,
    /// Split name -> clips (sessions for long-form) in it; always train, dev and test.
    pub splits: BTreeMap<String, u64>,
}

/// Why an export stopped. The sink then holds a partial export: drop it unfinished.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A blob could not be read (the caller's `fetch` said why).
    #[error("could not read a blob: {0}")]
    Fetch(String),
    /// A clip's audio could not be converted; the first field names the clip.
    #[error("{0}: {1}")]
    Media(String, #[source] MediaError),
    /// The sink refused a file or could not write it.
    #[error("could not write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The filters left nothing; the message says which.
    #[error("nothing to export: {0}")]
    Empty(String),
    /// The rows cannot make a dataset (an id that cannot be a file name, a duplicate).
    #[error("cannot export this dataset: {0}")]
    Invalid(String),
}

impl ExportError {
    /// A stable short name for problem documents, e.g. `urn:tutti:problem:export-empty`.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Fetch(_) => "export-fetch",
            ExportError::Media(..) => "export-media",
            ExportError::Io(_) => "export-io",
            ExportError::Empty(_) => "export-empty",
            ExportError::Invalid(_) => "export-invalid",
        }
    }
}

/// Writes the dataset to `sink` (which the caller then finishes). `fetch(key)` returns
/// a blob's bytes; `progress(done, total)` is called after each clip or session.
pub fn write(
    dataset: &Dataset,
    request: &Request,
    sink: &mut dyn Sink,
    fetch: &mut dyn FnMut(&str) -> Result<Vec<u8>, ExportError>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary, ExportError> {
    write_at(
        dataset,
        request,
        OffsetDateTime::now_utc(),
        sink,
        fetch,
        progress,
    )
}

/// [`write`] as if made at `made`: the datasheet's date and the year ages are counted
/// from. For reproducible exports and tests.
pub fn write_at(
    dataset: &Dataset,
    request: &Request,
    made: OffsetDateTime,
    sink: &mut dyn Sink,
    fetch: &mut dyn FnMut(&str) -> Result<Vec<u8>, ExportError>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Summary, ExportError> {
    let plan = plan(dataset, request, made.year())?;
    let mut out = Out {
        sink,
        fetch,
        progress,
        files: 0,
        done: 0,
        total: plan.items(),
    };
    let readme = datasheet::render(&plan, dataset, request, made);
    out.add("README.md", readme.as_bytes())?;
    match request.format {
        Format::AudioFolder => audiofolder::write(&plan, &mut out)?,
        Format::LjSpeech => ljspeech::write(&plan, &mut out)?,
        Format::CommonVoice => commonvoice::write(&plan, &mut out)?,
        Format::LongForm => longform::write(&plan, &mut out)?,
    }
    let mut summary = plan.summary();
    summary.files = out.files;
    Ok(summary)
}

/// The sink, the blob reader and the progress callback, with the counts they need.
struct Out<'a> {
    sink: &'a mut dyn Sink,
    fetch: &'a mut dyn FnMut(&str) -> Result<Vec<u8>, ExportError>,
    progress: &'a mut dyn FnMut(u64, u64),
    files: u64,
    done: u64,
    total: u64,
}

impl Out<'_> {
    fn add(&mut self, path: &str, bytes: &[u8]) -> Result<(), ExportError> {
        self.sink.add(path, bytes)?;
        self.files += 1;
        Ok(())
    }

    /// A blob's bytes; a fetch failure names what the blob was for.
    fn fetch(&mut self, what: &str, key: &str) -> Result<Vec<u8>, ExportError> {
        (self.fetch)(key).map_err(|e| match e {
            ExportError::Fetch(detail) => ExportError::Fetch(format!("{what} (`{key}`): {detail}")),
            other => other,
        })
    }

    /// One more clip or session is written.
    fn item_done(&mut self) {
        self.done += 1;
        (self.progress)(self.done, self.total);
    }
}

/// One clip of the export, with its published speaker and split.
#[derive(Debug)]
struct PlannedClip<'a> {
    clip: &'a Clip,
    speaker: String,
    /// `None` only for Common Voice's invalidated and other clips, which are in no split.
    split: Option<Split>,
}

/// One session of a long-form export.
#[derive(Debug)]
struct PlannedSession<'a> {
    session: &'a LongSession,
    speaker: String,
    split: Split,
}

/// What goes where: decided once, before anything is written.
#[derive(Debug)]
struct Plan<'a> {
    /// Sorted by split, then id.
    clips: Vec<PlannedClip<'a>>,
    /// Sorted by split, then id.
    sessions: Vec<PlannedSession<'a>>,
    /// Published speaker id -> demographic values as they appear in the files.
    speakers: BTreeMap<String, Published>,
    /// Whether the campaign has labels (the label column is filled, counts per label).
    labels: bool,
}

impl Plan<'_> {
    fn items(&self) -> u64 {
        (self.clips.len() + self.sessions.len()) as u64
    }

    /// The published demographics of a speaker of this plan.
    fn shown(&self, speaker: &str) -> &Published {
        &self.speakers[speaker]
    }

    fn summary(&self) -> Summary {
        let mut splits: BTreeMap<String, u64> =
            Split::ALL.iter().map(|s| (s.to_string(), 0)).collect();
        let clip_splits = self.clips.iter().filter_map(|c| c.split);
        let session_splits = self.sessions.iter().map(|s| s.split);
        for split in clip_splits.chain(session_splits) {
            *splits.entry(split.to_string()).or_default() += 1;
        }
        let ms: u64 = self.clips.iter().map(|c| c.clip.duration_ms).sum::<u64>()
            + self
                .sessions
                .iter()
                .map(|s| s.session.duration_ms)
                .sum::<u64>();
        Summary {
            clips: self.clips.len() as u64,
            sessions: self.sessions.len() as u64,
            speakers: self.speakers.len() as u64,
            seconds: ms as f64 / 1000.0,
            files: 0,
            splits,
        }
    }
}

/// Whether an id can be a file name in every layout and on every file system.
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_ids<'a>(kind: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), ExportError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if !safe_id(id) {
            return Err(ExportError::Invalid(format!(
                "the {kind} id `{id}` cannot be a file name (only letters, digits, `-`, `_` and `.`)"
            )));
        }
        if !seen.insert(id) {
            return Err(ExportError::Invalid(format!(
                "two {kind}s have the id `{id}`"
            )));
        }
    }
    Ok(())
}

/// Decides the export: which clips or sessions, each speaker's published id and
/// demographics (counted for the year `year`), and the splits.
fn plan<'a>(dataset: &'a Dataset, request: &Request, year: i32) -> Result<Plan<'a>, ExportError> {
    let format = request.format;
    // Items as (user id, eligible for a split, what it is).
    let mut users: BTreeMap<&str, String> = BTreeMap::new();
    let mut hashed = |user: &'a str| {
        users
            .entry(user)
            .or_insert_with(|| speaker_id(&request.salt, user))
            .clone()
    };

    let mut clips = Vec::new();
    let mut sessions = Vec::new();
    let mut per_speaker: BTreeMap<String, u64> = BTreeMap::new();
    if format.exports_sessions() {
        check_ids("session", dataset.sessions.iter().map(|s| s.id.as_str()))?;
        if dataset.sessions.is_empty() {
            return Err(ExportError::Empty(format!(
                "the campaign has no recording sessions; the longform format exports whole \
                 sessions ({} clips were left out; choose a clip format for them)",
                dataset.clips.len()
            )));
        }
        for session in &dataset.sessions {
            let speaker = hashed(&session.speaker_user_id);
            *per_speaker.entry(speaker.clone()).or_default() += 1;
            sessions.push((session, speaker));
        }
    } else {
        check_ids("clip", dataset.clips.iter().map(|c| c.id.as_str()))?;
        let selected: Vec<&Clip> = dataset
            .clips
            .iter()
            .filter(|c| request.include_all || c.status == ClipStatus::Valid)
            .collect();
        if dataset.clips.is_empty() {
            return Err(ExportError::Empty("the campaign has no clips".into()));
        }
        if selected.is_empty() {
            let count = |s| dataset.clips.iter().filter(|c| c.status == s).count();
            return Err(ExportError::Empty(format!(
                "none of the campaign's {} clips is validated yet ({} pending, {} invalidated); \
                 ask for all clips to export them anyway",
                dataset.clips.len(),
                count(ClipStatus::Pending),
                count(ClipStatus::Invalid)
            )));
        }
        for clip in selected {
            let speaker = hashed(&clip.speaker_user_id);
            // Common Voice draws its splits from validated clips only.
            let eligible = format != Format::CommonVoice || clip.status == ClipStatus::Valid;
            let entry = per_speaker.entry(speaker.clone()).or_default();
            if eligible {
                *entry += 1;
            }
            clips.push((clip, speaker, eligible));
        }
    }

    // Speakers with nothing in a split (Common Voice: no validated clip) are left out of
    // the assignment but still published.
    let counted: BTreeMap<String, u64> = per_speaker
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| (s.clone(), *n))
        .collect();
    let splits = assign_splits(&counted);

    let demographics: BTreeMap<&str, &Demographics> = dataset
        .speakers
        .iter()
        .map(|s| (s.user_id.as_str(), &s.demographics))
        .collect();
    let no_demographics = Demographics::default();
    let mut shown: Vec<(String, Published)> = users
        .iter()
        .map(|(user, id)| {
            let d = demographics.get(user).copied().unwrap_or(&no_demographics);
            (id.clone(), Published::of(d, year))
        })
        .collect();
    blank_small_groups(&mut shown);

    let mut clips: Vec<PlannedClip> = clips
        .into_iter()
        .map(|(clip, speaker, eligible)| PlannedClip {
            clip,
            split: eligible.then(|| splits[&speaker]),
            speaker,
        })
        .collect();
    clips.sort_by(|a, b| (a.split, &a.clip.id).cmp(&(b.split, &b.clip.id)));
    let mut sessions: Vec<PlannedSession> = sessions
        .into_iter()
        .map(|(session, speaker)| PlannedSession {
            session,
            split: splits[&speaker],
            speaker,
        })
        .collect();
    sessions.sort_by(|a, b| (a.split, &a.session.id).cmp(&(b.split, &b.session.id)));

    Ok(Plan {
        clips,
        sessions,
        speakers: shown.into_iter().collect(),
        labels: !dataset.campaign.labels.is_empty(),
    })
}

/// Seconds with millisecond precision, exactly (no float rounding).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A CSV file from rows; the `csv` crate quotes what needs it.
fn csv_file<I, R>(header: &[&str], rows: I) -> Result<Vec<u8>, ExportError>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(std::io::Error::from)?;
    for row in rows {
        w.write_record(row).map_err(std::io::Error::from)?;
    }
    w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
}
