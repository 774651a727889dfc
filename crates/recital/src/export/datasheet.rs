//! The `README.md` every export carries: a datasheet saying what the data is, where it
//! came from, under which licence, what is in it, and what was done to protect the
//! speakers. Only the "Made" line depends on the clock (and the year ages count from).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;
use time::macros::format_description;

use super::{ClipStatus, Dataset, Format, MIN_GROUP, Plan, Request, Split, ljspeech};

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn hours(ms: u64) -> String {
    format!("{:.2}", ms as f64 / 3_600_000.0)
}

/// Clips (or sessions), speakers and milliseconds of one row of a count table.
#[derive(Default)]
struct Tally {
    items: u64,
    speakers: std::collections::BTreeSet<String>,
    ms: u64,
}

impl Tally {
    fn add(&mut self, speaker: &str, ms: u64) {
        self.items += 1;
        self.speakers.insert(speaker.to_string());
        self.ms += ms;
    }
}

fn layout(format: Format) -> &'static str {
    match format {
        Format::AudioFolder => {
            "- `{split}/metadata.csv`: one row per clip: `file_name` (relative to the CSV), \
             `transcription`, `label`, `speaker_id`, `age`, `gender`, `accent`, `duration_s`.\n\
             - `{split}/{clip id}.ogg`: the clip as recorded and stored, Opus in Ogg, mono 48 kHz.\n\
             - Load it with `datasets.load_dataset(\"audiofolder\", data_dir=\"…\")`; `dev` is read as \
             the validation split.\n"
        }
        Format::LjSpeech => {
            "- `metadata.csv`: no header, one line per clip, `id|text|normalized`.\n\
             - `wavs/{id}.wav`: 16-bit PCM WAV, mono, 22,050 Hz, converted from the recorded Opus.\n\
             - `splits.csv`: `id,split`, the speaker-disjoint split of each clip (LJSpeech itself \
             has none).\n"
        }
        Format::CommonVoice => {
            "- `clips/{clip id}.ogg`: the clip as recorded and stored, Opus in Ogg, mono 48 kHz \
             (Common Voice's own releases use MP3).\n\
             - `validated.tsv`, `invalidated.tsv`, `other.tsv`: the clips by review status \
             (accepted, rejected, not decided yet), with Common Voice's columns `client_id`, \
             `path`, `sentence_id`, `sentence`, `sentence_domain`, `up_votes`, `down_votes`, \
             `age`, `gender`, `accents`, `variant`, `locale`, `segment`; `sentence_domain`, \
             `variant` and `segment` are empty, and campaigns with labels add a last `label` \
             column.\n\
             - `train.tsv`, `dev.tsv`, `test.tsv`: the validated clips, split by speaker.\n\
             - `clip_durations.tsv`: `clip`, `duration[ms]` for every clip.\n\
             - The TSVs are tab-separated and unquoted; tabs and line breaks inside a sentence \
             are replaced with spaces.\n"
        }
        Format::LongForm => {
            "- `metadata.csv`: one row per recording session: `session`, `speaker_id`, \
             `language`, `duration_s`, `audio`, `transcript`, `split`.\n\
             - `{session id}/audio.flac`: the whole session, lossless.\n\
             - `{session id}/transcript.vtt`: WebVTT, one cue per sentence read, timed by the \
             speaker moving to the next sentence (about ±0.1 s, not force-aligned).\n"
        }
    }
}

/// The datasheet of `plan`, made at `made`.
pub(super) fn render(
    plan: &Plan,
    dataset: &Dataset,
    request: &Request,
    made: OffsetDateTime,
) -> String {
    let campaign = &dataset.campaign;
    let format = request.format;
    let sessions = format == Format::LongForm;
    let mut s = String::new();
    let title = if campaign.title.trim().is_empty() {
        &campaign.slug
    } else {
        &campaign.title
    };
    let _ = writeln!(s, "# {}\n", title.trim());
    if !campaign.description.trim().is_empty() {
        let _ = writeln!(s, "{}\n", campaign.description.trim());
    }
    let _ = writeln!(
        s,
        "A read-speech dataset exported from Tutti, a self-hosted platform for collecting \
         voice recordings.\n"
    );

    let filter = if sessions {
        "every recording session".to_string()
    } else if request.include_all {
        "all clips: validated, invalidated and not yet reviewed".to_string()
    } else {
        "validated clips only".to_string()
    };
    let mut languages = campaign.languages.clone();
    if languages.is_empty() {
        languages = plan
            .clips
            .iter()
            .map(|c| c.clip.language.clone())
            .chain(plan.sessions.iter().map(|p| p.session.language.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    let made = made
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let _ = writeln!(s, "| | |\n| --- | --- |");
    let _ = writeln!(s, "| Campaign | `{}` |", cell(&campaign.slug));
    let _ = writeln!(s, "| Format | `{format}`: {} |", cell(format.summary()));
    let _ = writeln!(s, "| Included | {filter} |");
    let licence = if campaign.licence.trim().is_empty() {
        "not stated"
    } else {
        campaign.licence.trim()
    };
    let _ = writeln!(s, "| Licence | {} |", cell(licence));
    let _ = writeln!(s, "| Languages | {} |", cell(&languages.join(", ")));
    let _ = writeln!(s, "| Made | {made} |\n");

    // Counts.
    let unit = if sessions { "sessions" } else { "clips" };
    let mut total = Tally::default();
    let mut by_split: BTreeMap<Split, Tally> =
        Split::ALL.iter().map(|s| (*s, Tally::default())).collect();
    let mut by_status: BTreeMap<ClipStatus, Tally> = BTreeMap::new();
    let mut by_label: BTreeMap<String, Tally> = campaign
        .labels
        .iter()
        .map(|l| (l.clone(), Tally::default()))
        .collect();
    for c in &plan.clips {
        total.add(&c.speaker, c.clip.duration_ms);
        if let Some(split) = c.split {
            by_split
                .entry(split)
                .or_default()
                .add(&c.speaker, c.clip.duration_ms);
        }
        by_status
            .entry(c.clip.status)
            .or_default()
            .add(&c.speaker, c.clip.duration_ms);
        if plan.labels {
            let label = c.clip.label.clone().unwrap_or_else(|| "(none)".into());
            by_label
                .entry(label)
                .or_default()
                .add(&c.speaker, c.clip.duration_ms);
        }
    }
    for p in &plan.sessions {
        total.add(&p.speaker, p.session.duration_ms);
        by_split
            .entry(p.split)
            .or_default()
            .add(&p.speaker, p.session.duration_ms);
    }
    let _ = writeln!(s, "## Contents\n");
    let _ = writeln!(
        s,
        "- {}: {}",
        if sessions { "Sessions" } else { "Clips" },
        total.items
    );
    let _ = writeln!(s, "- Speakers: {}", plan.speakers.len());
    let _ = writeln!(s, "- Hours: {}\n", hours(total.ms));

    let table = |s: &mut String, head: &str, rows: Vec<(String, &Tally)>| {
        let _ = writeln!(
            s,
            "| {head} | {unit} | speakers | hours |\n| --- | ---: | ---: | ---: |"
        );
        for (name, t) in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                cell(&name),
                t.items,
                t.speakers.len(),
                hours(t.ms)
            );
        }
        s.push('\n');
    };
    if format == Format::CommonVoice {
        let _ = writeln!(s, "By review status:\n");
        let names = [
            (ClipStatus::Valid, "validated"),
            (ClipStatus::Invalid, "invalidated"),
            (ClipStatus::Pending, "other"),
        ];
        let empty = Tally::default();
        let rows = names
            .iter()
            .map(|(st, name)| (name.to_string(), by_status.get(st).unwrap_or(&empty)))
            .collect();
        table(&mut s, "status", rows);
        let _ = writeln!(s, "By split (validated clips only):\n");
    } else {
        let _ = writeln!(s, "By split:\n");
    }
    table(
        &mut s,
        "split",
        by_split.iter().map(|(k, t)| (k.to_string(), t)).collect(),
    );
    if plan.labels {
        let _ = writeln!(s, "By label:\n");
        table(
            &mut s,
            "label",
            by_label.iter().map(|(k, t)| (k.clone(), t)).collect(),
        );
    }

    let _ = writeln!(s, "## Files\n");
    s.push_str(layout(format));
    let _ = writeln!(s, "- `README.md`: this datasheet.\n");

    if format == Format::LjSpeech {
        let changed = plan
            .clips
            .iter()
            .filter(|c| ljspeech::needs_replacing(&c.clip.text))
            .count();
        let _ = writeln!(s, "## Text\n");
        let _ = writeln!(
            s,
            "- `text` is the sentence as the speaker saw it; `normalized` is the same with \
             whitespace collapsed. Numbers, abbreviations and symbols are left as they are, \
             not spelled out.\n\
             - A `|` or a line break inside a sentence would break LJSpeech's lines, so each is \
             replaced with a space in both columns: {changed} clip(s) had one.\n"
        );
    }

    let _ = writeln!(s, "## Splits\n");
    let _ = writeln!(
        s,
        "Train, dev and test are speaker-disjoint: all of a speaker's {unit} are in one split, \
         so a model is tested on voices it has not heard. Speakers are assigned in a fixed \
         order (most {unit} first) to aim at 80/10/10 of the {unit}; with fewer than three \
         speakers everything is in train.{}\n",
        if format == Format::CommonVoice {
            " The splits hold validated clips only."
        } else if request.include_all && !sessions {
            " Every clip exported, whatever its review status, is in a split."
        } else {
            ""
        }
    );

    let _ = writeln!(s, "## Speakers and privacy\n");
    let _ = writeln!(
        s,
        "- Speakers are identified only by a salted hash: the first 32 hexadecimal characters \
         of HMAC-SHA256 of their account id, keyed with a secret kept by the server for this \
         campaign. A speaker has the same id throughout this export; the id cannot be turned \
         back into an account without the server's secret, and another server or campaign \
         gives another id. No names, e-mail addresses or account ids are included.\n\
         - Age is given as a decade (teens, twenties, …) counted from the year of birth in the \
         year the export was made, so it may be a year ahead. Gender and accent are as the \
         speakers gave them; empty means not given or \"prefer not to say\".\n\
         - Small groups are blanked: any age, gender or accent value shared by fewer than \
         {MIN_GROUP} speakers in this export is left empty in every file, so that a rare value \
         cannot point to a person.{}\n",
        if sessions {
            " (The long-form metadata carries no demographics.)"
        } else {
            ""
        }
    );
    s.truncate(s.trim_end().len());
    s.push('\n');
    s
}
