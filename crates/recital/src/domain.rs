//! The recital's rules as plain types and functions: what a campaign slug, mode and label
//! set are, the session's states and which moves between them are allowed, how cue times
//! follow from the moments a reader pressed "next", Common Voice's vote rule, and the
//! quality verdict a take gets from the media engine's analysis. Nothing here touches the
//! database or HTTP.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tutti_media::analyse::Analysis;
use utoipa::ToSchema;

use crate::error::RecitalError;

/// A campaign's address in links and on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, RecitalError> {
        let ok_len = (2..=64).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = !raw.starts_with('-') && !raw.ends_with('-');
        if ok_len && ok_chars && ok_ends {
            Ok(Slug(raw.to_string()))
        } else {
            Err(RecitalError::invalid(
                "slug",
                format!(
                    "`{raw}` is not a campaign slug: use 2 to 64 lower-case letters, digits \
                     and hyphens, not starting or ending with a hyphen"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a campaign records: a whole document in one take, or one take per sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    LongForm,
    Clip,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::LongForm => "long-form",
            Mode::Clip => "clip",
        }
    }
}

impl FromStr for Mode {
    type Err = RecitalError;
    fn from_str(s: &str) -> Result<Mode, RecitalError> {
        match s {
            "long-form" => Ok(Mode::LongForm),
            "clip" => Ok(Mode::Clip),
            other => Err(RecitalError::invalid(
                "mode",
                format!("`{other}` is not a mode: use long-form or clip"),
            )),
        }
    }
}

/// Who may speak in a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SpeakerAccess {
    /// Anyone signed in.
    Open,
    /// Emails a reviewer approved.
    Approved,
    /// Holders of a signed invitation link (and approved emails).
    Invite,
}

impl SpeakerAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            SpeakerAccess::Open => "open",
            SpeakerAccess::Approved => "approved",
            SpeakerAccess::Invite => "invite",
        }
    }
}

impl FromStr for SpeakerAccess {
    type Err = RecitalError;
    fn from_str(s: &str) -> Result<SpeakerAccess, RecitalError> {
        match s {
            "open" => Ok(SpeakerAccess::Open),
            "approved" => Ok(SpeakerAccess::Approved),
            "invite" => Ok(SpeakerAccess::Invite),
            other => Err(RecitalError::invalid(
                "access",
                format!("`{other}` is not who may speak: use open, approved or invite"),
            )),
        }
    }
}

/// A campaign's labels (e.g. acted emotions): each sentence is recorded once per label.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Labels(Vec<String>);

impl Labels {
    /// From a comma-separated list; blanks are dropped, duplicates refused.
    pub fn parse(raw: &str) -> Result<Labels, RecitalError> {
        let mut labels: Vec<String> = Vec::new();
        for label in raw.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            let ok = label.chars().count() <= 40
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ');
            if !ok {
                return Err(RecitalError::invalid(
                    "labels",
                    format!(
                        "`{label}` is not a label: use up to 40 letters, digits, spaces, \
                         hyphens or underscores"
                    ),
                ));
            }
            if labels.iter().any(|l| l == label) {
                return Err(RecitalError::invalid(
                    "labels",
                    format!("`{label}` is listed twice"),
                ));
            }
            labels.push(label.to_string());
        }
        Ok(Labels(labels))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The label a clip-mode take is recorded with: required exactly when the campaign
    /// has labels, and one of them.
    pub fn check(&self, label: Option<&str>) -> Result<Option<String>, RecitalError> {
        match (label, self.is_empty()) {
            (None, true) => Ok(None),
            (Some(l), true) => Err(RecitalError::invalid(
                "label",
                format!("this campaign has no labels, so `{l}` cannot be recorded"),
            )),
            (None, false) => Err(RecitalError::invalid(
                "label",
                format!("choose the label to read with: {}", self.0.join(", ")),
            )),
            (Some(l), false) if self.0.iter().any(|x| x == l) => Ok(Some(l.to_string())),
            (Some(l), false) => Err(RecitalError::invalid(
                "label",
                format!(
                    "`{l}` is not one of this campaign's labels: {}",
                    self.0.join(", ")
                ),
            )),
        }
    }
}

/// A language tag as campaigns and documents carry it (BCP 47, e.g. `he`, `en-GB`).
pub fn parse_language(field: &'static str, raw: &str) -> Result<String, RecitalError> {
    let ok = !raw.is_empty()
        && raw.len() <= 35
        && raw
            .split('-')
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && raw.split('-').next().is_some_and(|p| {
            (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic())
        });
    if ok {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(RecitalError::invalid(
            field,
            format!("`{raw}` is not a language tag such as he, en or pt-BR"),
        ))
    }
}

/// Scripts written right to left, by primary language subtag.
pub fn direction(language: &str) -> &'static str {
    let primary = language.split('-').next().unwrap_or("");
    match primary {
        "he" | "yi" | "ar" | "fa" | "ur" | "ps" | "sd" | "ug" | "dv" | "ckb" | "syr" => "rtl",
        _ => "ltr",
    }
}

/// Where a recording session stands. Every move is idempotent: asking for the state a
/// session is already in changes nothing and is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Chunks and segments are being received.
    Recording,
    /// The speaker stopped; processing is queued.
    Ended,
    /// One stream, VTT, copies and clips exist.
    Processed,
    /// Included in a published dataset.
    Published,
    /// Deleted by its speaker (or empty); its audio is removed.
    Discarded,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Recording => "recording",
            SessionState::Ended => "ended",
            SessionState::Processed => "processed",
            SessionState::Published => "published",
            SessionState::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<SessionState> {
        [
            SessionState::Recording,
            SessionState::Ended,
            SessionState::Processed,
            SessionState::Published,
            SessionState::Discarded,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// Where `event` takes a session in this state: `Ok(None)` when it is already there
    /// (nothing to do), an error when the move is not allowed.
    pub fn apply(self, event: Event) -> Result<Option<SessionState>, RecitalError> {
        use SessionState::*;
        let to = match (self, event) {
            (Recording, Event::End) => Ended,
            (Ended | Processed | Published, Event::End) => return Ok(None),
            (Ended, Event::Processed) => Processed,
            (Processed | Published, Event::Processed) => return Ok(None),
            (Processed, Event::Publish) => Published,
            (Published, Event::Publish) => return Ok(None),
            // A speaker may withdraw even a published take: later exports leave it out.
            (Recording | Ended | Processed | Published, Event::Discard) => Discarded,
            (Discarded, Event::Discard) => return Ok(None),
            (from, event) => {
                return Err(RecitalError::State {
                    state: from,
                    detail: format!(
                        "a session that is {} cannot be {}",
                        from.as_str(),
                        event.past()
                    ),
                });
            }
        };
        Ok(Some(to))
    }
}

/// What can happen to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    End,
    Processed,
    Publish,
    Discard,
}

impl Event {
    fn past(self) -> &'static str {
        match self {
            Event::End => "ended",
            Event::Processed => "processed",
            Event::Publish => "published",
            Event::Discard => "discarded",
        }
    }
}

/// A sentence's end as the reader marked it, on the session's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub sentence_id: String,
    pub text: String,
    pub revision: i64,
    pub end_ms: u64,
}

/// One sentence's stretch of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CueSpan {
    pub sentence_id: String,
    pub text: String,
    pub revision: i64,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// The cues of a session: segments in time order; cue i runs from the end of cue i−1
/// (the first from 0) to its own end, so lead-in silence belongs to the first sentence.
/// Without `keep_last` the last sentence is dropped (the reader stopped mid-sentence).
/// A sentence whose end is not after the previous one was skipped in no time and has no
/// audio of its own, so it gets no cue. Text is whitespace-collapsed.
pub fn cues(segments: &[Segment], keep_last: bool) -> Vec<CueSpan> {
    let mut sorted: Vec<&Segment> = segments.iter().collect();
    sorted.sort_by(|a, b| {
        a.end_ms
            .cmp(&b.end_ms)
            .then_with(|| a.sentence_id.cmp(&b.sentence_id))
    });
    if !keep_last {
        sorted.pop();
    }
    let mut out = Vec::with_capacity(sorted.len());
    let mut start = 0u64;
    for segment in sorted {
        if segment.end_ms <= start {
            continue;
        }
        out.push(CueSpan {
            sentence_id: segment.sentence_id.clone(),
            text: segment
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            revision: segment.revision,
            start_ms: start,
            end_ms: segment.end_ms,
        });
        start = segment.end_ms;
    }
    out
}

/// The cues as a WebVTT file.
pub fn vtt(cues: &[CueSpan]) -> Result<String, RecitalError> {
    use std::time::Duration;
    let cues: Vec<tutti_media::vtt::Cue> = cues
        .iter()
        .enumerate()
        .map(|(i, c)| tutti_media::vtt::Cue {
            id: Some((i + 1).to_string()),
            start: Duration::from_millis(c.start_ms),
            end: Duration::from_millis(c.end_ms),
            text: c.text.clone(),
            settings: None,
        })
        .collect();
    tutti_media::vtt::write(&cues).map_err(|e| RecitalError::Media(e.to_string()))
}

/// A clip's standing after its votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClipStatus {
    Pending,
    Valid,
    Invalid,
}

impl ClipStatus {
    /// Common Voice's rule: valid with at least two yes votes and more yes than no,
    /// invalid with at least two no votes and more no than yes, otherwise still open.
    pub fn from_votes(up: u32, down: u32) -> ClipStatus {
        if up >= 2 && up > down {
            ClipStatus::Valid
        } else if down >= 2 && down > up {
            ClipStatus::Invalid
        } else {
            ClipStatus::Pending
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClipStatus::Pending => "pending",
            ClipStatus::Valid => "valid",
            ClipStatus::Invalid => "invalid",
        }
    }

    pub fn parse(s: &str) -> ClipStatus {
        match s {
            "valid" => ClipStatus::Valid,
            "invalid" => ClipStatus::Invalid,
            _ => ClipStatus::Pending,
        }
    }
}

/// Why a sentence was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReportReason {
    Offensive,
    Misspelled,
    WrongLanguage,
    HardToSay,
    Other,
}

impl ReportReason {
    pub const ALL: [ReportReason; 5] = [
        ReportReason::Offensive,
        ReportReason::Misspelled,
        ReportReason::WrongLanguage,
        ReportReason::HardToSay,
        ReportReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Offensive => "offensive",
            ReportReason::Misspelled => "misspelled",
            ReportReason::WrongLanguage => "wrong-language",
            ReportReason::HardToSay => "hard-to-say",
            ReportReason::Other => "other",
        }
    }
}

/// Why a listener reported a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ClipReportReason {
    /// It is not the sentence shown (or not in its label).
    WrongSentence,
    /// Noise, music or other voices drown it.
    Noise,
    Offensive,
    /// It reveals who the speaker or someone else is.
    PersonalInformation,
    Other,
}

impl ClipReportReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ClipReportReason::WrongSentence => "wrong-sentence",
            ClipReportReason::Noise => "noise",
            ClipReportReason::Offensive => "offensive",
            ClipReportReason::PersonalInformation => "personal-information",
            ClipReportReason::Other => "other",
        }
    }
}

/// A speaker's answers to the demographic questions; `None` is "prefer not to say".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Demographics {
    pub year_of_birth: Option<i32>,
    pub gender: Option<String>,
    pub accent: Option<String>,
}

/// The genders a speaker may give.
pub const GENDERS: [&str; 4] = ["female", "male", "non-binary", "other"];

/// The demographic questions a campaign may ask.
pub const QUESTIONS: [&str; 3] = ["year_of_birth", "gender", "accent"];

impl Demographics {
    /// Checks answers as given in a form or JSON: a year of birth between 1900 and 13
    /// years before `this_year`, one of [`GENDERS`], an accent of at most 100 characters.
    /// Empty strings mean "prefer not to say".
    pub fn parse(
        year_of_birth: Option<i32>,
        gender: Option<&str>,
        accent: Option<&str>,
        this_year: i32,
    ) -> Result<Demographics, RecitalError> {
        if let Some(year) = year_of_birth
            && !(1900..=this_year - 13).contains(&year)
        {
            return Err(RecitalError::invalid(
                "year_of_birth",
                format!(
                    "{year} is not a year of birth we can take: give one from 1900 to {}, \
                     or leave it empty",
                    this_year - 13
                ),
            ));
        }
        let gender = gender.map(str::trim).filter(|g| !g.is_empty());
        if let Some(g) = gender
            && !GENDERS.contains(&g)
        {
            return Err(RecitalError::invalid(
                "gender",
                format!(
                    "`{g}` is not one of {}, or empty for prefer not to say",
                    GENDERS.join(", ")
                ),
            ));
        }
        let accent = accent.map(str::trim).filter(|a| !a.is_empty());
        if let Some(a) = accent
            && (a.chars().count() > 100 || a.chars().any(char::is_control))
        {
            return Err(RecitalError::invalid(
                "accent",
                "describe the accent in at most 100 characters on one line",
            ));
        }
        Ok(Demographics {
            year_of_birth,
            gender: gender.map(str::to_string),
            accent: accent.map(str::to_string),
        })
    }
}

/// Bounds a take is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityRules {
    /// A clip-mode take shorter than this is too short.
    pub min_clip_seconds: f64,
    /// A clip-mode take longer than this is too long.
    pub max_clip_seconds: f64,
    /// Integrated loudness below this is too quiet.
    pub min_loudness_lufs: f64,
    /// More clipping events than this per minute is clipped.
    pub max_clip_runs_per_minute: f64,
    /// Silence before the first word or after the last beyond this is flagged.
    pub max_edge_silence_seconds: f64,
    /// Speech activity below this share of the take is flagged.
    pub min_speech_ratio: f64,
}

impl Default for QualityRules {
    fn default() -> Self {
        QualityRules {
            min_clip_seconds: 1.0,
            max_clip_seconds: 20.0,
            min_loudness_lufs: -40.0,
            max_clip_runs_per_minute: 3.0,
            max_edge_silence_seconds: 3.0,
            min_speech_ratio: 0.25,
        }
    }
}

/// One thing wrong with a take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `too-short`, `too-long`, `silent`, `clipped`, `too-quiet`, `leading-silence`,
    /// `trailing-silence` or `low-speech`.
    pub kind: String,
    pub detail: String,
}

/// The automatic judgement of a take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Verdict {
    pub ok: bool,
    pub problems: Vec<Problem>,
    pub duration_ms: u64,
    pub speech_ratio: f64,
    pub loudness_lufs: Option<f64>,
    pub peak_dbfs: Option<f64>,
}

impl Verdict {
    /// Judges a take from its analysis. Length limits apply to clips only: a long-form
    /// reading is as long as the document.
    pub fn judge(analysis: &Analysis, clip: bool, rules: &QualityRules) -> Verdict {
        let mut problems = Vec::new();
        let mut flag = |kind: &str, detail: String| {
            problems.push(Problem {
                kind: kind.to_string(),
                detail,
            })
        };
        let seconds = analysis.duration_seconds;
        if clip && seconds < rules.min_clip_seconds {
            flag(
                "too-short",
                format!(
                    "the take is {seconds:.1} s long; read the whole sentence (at least {:.0} s)",
                    rules.min_clip_seconds
                ),
            );
        }
        if clip && seconds > rules.max_clip_seconds {
            flag(
                "too-long",
                format!(
                    "the take is {seconds:.1} s long; a sentence should take at most {:.0} s",
                    rules.max_clip_seconds
                ),
            );
        }
        let silent = analysis.silence.fully_silent || analysis.loudness.integrated_lufs.is_none();
        if silent {
            flag(
                "silent",
                "nothing was heard: check that the right microphone is chosen and not muted"
                    .to_string(),
            );
        } else {
            if let Some(lufs) = analysis.loudness.integrated_lufs
                && lufs < rules.min_loudness_lufs
            {
                flag(
                    "too-quiet",
                    format!(
                        "the take is very quiet ({lufs:.0} LUFS): move closer to the microphone \
                         or raise its level"
                    ),
                );
            }
            let minutes = (seconds / 60.0).max(1.0 / 60.0);
            if analysis.clipping.runs as f64 / minutes > rules.max_clip_runs_per_minute
                && analysis.clipping.runs > 1
            {
                flag(
                    "clipped",
                    format!(
                        "the sound distorted {} times: move back a little or lower the \
                         microphone level",
                        analysis.clipping.runs
                    ),
                );
            }
            if analysis.silence.leading_seconds > rules.max_edge_silence_seconds {
                flag(
                    "leading-silence",
                    format!(
                        "{:.1} s of silence before the first word",
                        analysis.silence.leading_seconds
                    ),
                );
            }
            if analysis.silence.trailing_seconds > rules.max_edge_silence_seconds {
                flag(
                    "trailing-silence",
                    format!(
                        "{:.1} s of silence after the last word",
                        analysis.silence.trailing_seconds
                    ),
                );
            }
            if analysis.speech.ratio < rules.min_speech_ratio {
                flag(
                    "low-speech",
                    format!(
                        "only {:.0}% of the take sounds like speech",
                        analysis.speech.ratio * 100.0
                    ),
                );
            }
        }
        // Edge silence alone does not spoil a take: the clip is still usable.
        let ok = problems
            .iter()
            .all(|p| p.kind == "leading-silence" || p.kind == "trailing-silence");
        Verdict {
            ok,
            problems,
            duration_ms: (seconds * 1000.0).round() as u64,
            speech_ratio: analysis.speech.ratio,
            loudness_lufs: analysis.loudness.integrated_lufs,
            peak_dbfs: analysis.loudness.sample_peak_dbfs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: &str, end_ms: u64) -> Segment {
        Segment {
            sentence_id: id.into(),
            text: format!("  sentence   {id} "),
            revision: 1,
            end_ms,
        }
    }

    #[test]
    fn cues_run_from_the_previous_end_and_the_first_from_zero() {
        let cues = cues(&[seg("b", 5200), seg("a", 2100), seg("c", 9000)], true);
        let spans: Vec<(&str, u64, u64)> = cues
            .iter()
            .map(|c| (c.sentence_id.as_str(), c.start_ms, c.end_ms))
            .collect();
        assert_eq!(
            spans,
            [("a", 0, 2100), ("b", 2100, 5200), ("c", 5200, 9000)]
        );
        assert_eq!(cues[0].text, "sentence a");
    }

    #[test]
    fn without_keep_last_the_last_sentence_is_dropped() {
        let cues = cues(&[seg("a", 2100), seg("b", 5200), seg("c", 9000)], false);
        assert_eq!(cues.len(), 2);
        assert_eq!(cues.last().unwrap().end_ms, 5200);
    }

    #[test]
    fn a_sentence_skipped_in_no_time_gets_no_cue() {
        let cues = cues(&[seg("a", 2100), seg("b", 2100), seg("c", 3000)], true);
        let ids: Vec<&str> = cues.iter().map(|c| c.sentence_id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(cues[1].start_ms, 2100);
    }

    #[test]
    fn cues_write_as_webvtt_that_reads_back() {
        let spans = cues(&[seg("a", 1500), seg("b", 3_723_004)], true);
        let text = vtt(&spans).unwrap();
        assert!(text.contains("00:00:00.000 --> 00:00:01.500"), "{text}");
        assert!(text.contains("00:00:01.500 --> 01:02:03.004"), "{text}");
        let back = tutti_media::vtt::parse(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].text, "sentence b");
    }

    #[test]
    fn votes_follow_common_voice() {
        use ClipStatus::*;
        let cases = [
            ((0, 0), Pending),
            ((1, 0), Pending),
            ((2, 0), Valid),
            ((2, 1), Valid),
            ((2, 2), Pending),
            ((3, 2), Valid),
            ((0, 2), Invalid),
            ((1, 2), Invalid),
            ((2, 3), Invalid),
            ((1, 1), Pending),
        ];
        for ((up, down), want) in cases {
            assert_eq!(
                ClipStatus::from_votes(up, down),
                want,
                "{up} yes, {down} no"
            );
        }
    }

    #[test]
    fn every_state_move_is_idempotent_or_refused() {
        use SessionState::*;
        assert_eq!(Recording.apply(Event::End).unwrap(), Some(Ended));
        assert_eq!(Ended.apply(Event::End).unwrap(), None);
        assert_eq!(Processed.apply(Event::End).unwrap(), None);
        assert_eq!(Ended.apply(Event::Processed).unwrap(), Some(Processed));
        assert_eq!(Processed.apply(Event::Processed).unwrap(), None);
        assert_eq!(Processed.apply(Event::Publish).unwrap(), Some(Published));
        assert_eq!(Published.apply(Event::Publish).unwrap(), None);
        assert_eq!(Recording.apply(Event::Discard).unwrap(), Some(Discarded));
        assert_eq!(Discarded.apply(Event::Discard).unwrap(), None);
        assert!(Discarded.apply(Event::End).is_err());
        assert!(Recording.apply(Event::Processed).is_err());
        assert_eq!(Published.apply(Event::Discard).unwrap(), Some(Discarded));
        assert!(Ended.apply(Event::Publish).is_err());
    }

    #[test]
    fn slugs_labels_and_languages_parse() {
        assert!(Slug::parse("hebrew-2026").is_ok());
        for bad in ["-a", "a", "A-b", "a_b", "a-", "ש"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        let labels = Labels::parse("joy, sadness,anger,,").unwrap();
        assert_eq!(labels.as_slice(), ["joy", "sadness", "anger"]);
        assert!(Labels::parse("joy,joy").is_err());
        assert_eq!(labels.check(Some("joy")).unwrap().as_deref(), Some("joy"));
        assert!(labels.check(None).is_err());
        assert!(labels.check(Some("fear")).is_err());
        assert!(Labels::default().check(Some("joy")).is_err());
        assert_eq!(parse_language("language", "pt-BR").unwrap(), "pt-br");
        assert!(parse_language("language", "hebrew language").is_err());
        assert_eq!(direction("he"), "rtl");
        assert_eq!(direction("yi"), "rtl");
        assert_eq!(direction("fr"), "ltr");
    }

    #[test]
    fn demographics_refuse_what_cannot_be_true() {
        assert!(Demographics::parse(Some(1990), Some("female"), Some("Galilee"), 2026).is_ok());
        let none = Demographics::parse(None, Some(""), Some("  "), 2026).unwrap();
        assert_eq!(none, Demographics::default());
        assert!(Demographics::parse(Some(2020), None, None, 2026).is_err());
        assert!(Demographics::parse(None, Some("robot"), None, 2026).is_err());
    }

    fn analysis(seconds: f64, lufs: Option<f64>, speech: f64, runs: u64) -> Analysis {
        use tutti_media::analyse::*;
        Analysis {
            sample_rate: 48_000,
            channels: 1,
            duration_seconds: seconds,
            loudness: Loudness {
                integrated_lufs: lufs,
                range_lu: None,
                true_peak_dbtp: None,
                sample_peak_dbfs: Some(-3.0),
            },
            replaygain: ReplayGain {
                track_gain_db: None,
                track_peak: 0.7,
            },
            clipping: Clipping {
                ratio: 0.0,
                clipped_samples: runs,
                runs,
            },
            rms: RmsCurve {
                window_seconds: 0.1,
                dbfs: vec![],
            },
            silence: Silence {
                leading_seconds: 0.2,
                trailing_seconds: 0.3,
                pauses: vec![],
                pause_count: 0,
                longest_pause_seconds: 0.0,
                fully_silent: lufs.is_none(),
            },
            speech: SpeechActivity {
                ratio: speech,
                noise_floor_dbfs: -60.0,
            },
        }
    }

    #[test]
    fn verdicts_name_what_is_wrong() {
        let rules = QualityRules::default();
        let kinds = |a: &Analysis, clip| -> Vec<String> {
            Verdict::judge(a, clip, &rules)
                .problems
                .into_iter()
                .map(|p| p.kind)
                .collect()
        };
        assert!(Verdict::judge(&analysis(4.0, Some(-20.0), 0.7, 0), true, &rules).ok);
        assert_eq!(
            kinds(&analysis(0.4, Some(-20.0), 0.7, 0), true),
            ["too-short"]
        );
        assert_eq!(
            kinds(&analysis(40.0, Some(-20.0), 0.7, 0), true),
            ["too-long"]
        );
        assert!(kinds(&analysis(40.0, Some(-20.0), 0.7, 0), false).is_empty());
        assert_eq!(kinds(&analysis(4.0, None, 0.0, 0), true), ["silent"]);
        assert_eq!(
            kinds(&analysis(4.0, Some(-50.0), 0.7, 0), true),
            ["too-quiet"]
        );
        assert_eq!(
            kinds(&analysis(4.0, Some(-12.0), 0.7, 9), true),
            ["clipped"]
        );
        assert_eq!(
            kinds(&analysis(4.0, Some(-20.0), 0.1, 0), true),
            ["low-speech"]
        );
    }
}

/// Where one speaker stands among all by recorded time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Standing {
    /// 1 for the most recorded time; speakers with equal totals share a rank.
    pub rank: Option<u64>,
    /// Recorded time still needed to reach the next rank up, when there is one.
    pub to_next_rank_ms: Option<u64>,
}

/// The standing of `mine` among `totals` (each speaker's recorded milliseconds, any
/// order): a dense rank, and how far the next distinct total above is.
pub fn standing(totals: &[u64], mine: u64) -> Standing {
    if mine == 0 {
        return Standing {
            rank: None,
            to_next_rank_ms: totals.iter().copied().filter(|&t| t > 0).min(),
        };
    }
    let mut distinct: Vec<u64> = totals.iter().copied().filter(|&t| t > mine).collect();
    distinct.sort_unstable();
    distinct.dedup();
    Standing {
        rank: Some(distinct.len() as u64 + 1),
        to_next_rank_ms: distinct.first().map(|t| t - mine),
    }
}

#[cfg(test)]
mod standing_tests {
    use super::*;

    #[test]
    fn ranks_are_dense_and_say_how_far_the_next_is() {
        let totals = [9000, 5000, 5000, 1000];
        assert_eq!(
            standing(&totals, 5000),
            Standing {
                rank: Some(2),
                to_next_rank_ms: Some(4000)
            }
        );
        assert_eq!(standing(&totals, 9000).rank, Some(1));
        assert_eq!(standing(&totals, 9000).to_next_rank_ms, None);
        assert_eq!(standing(&totals, 1000).rank, Some(3));
        assert_eq!(standing(&totals, 0).rank, None);
        assert_eq!(standing(&totals, 0).to_next_rank_ms, Some(1000));
    }
}
