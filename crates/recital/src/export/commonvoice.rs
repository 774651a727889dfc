//! Common Voice's release layout, for the ASR tools that read it: `clips/{clip id}.ogg`
//! (the stored Opus; Common Voice itself ships MP3), `validated.tsv`, `invalidated.tsv`,
//! `other.tsv` by review status, `train.tsv`, `dev.tsv`, `test.tsv` drawn from the
//! validated clips, and `clip_durations.tsv`. The TSVs are unquoted, as pandas reads them
//! with `quoting=csv.QUOTE_NONE`, so tabs and line breaks in a field become spaces.

use super::{ClipStatus, ExportError, Out, Plan, PlannedClip, Split};

/// Common Voice's clip columns, in its order.
pub(super) const COLUMNS: [&str; 13] = [
    "client_id",
    "path",
    "sentence_id",
    "sentence",
    "sentence_domain",
    "up_votes",
    "down_votes",
    "age",
    "gender",
    "accents",
    "variant",
    "locale",
    "segment",
];

/// A value as one TSV field.
fn field(value: &str) -> String {
    value.replace(['\t', '\n', '\r'], " ")
}

/// A clip TSV of the clips `keep` picks. Campaigns with labels get a last `label` column,
/// which tools reading by column name ignore.
pub(super) fn clips_tsv(plan: &Plan, keep: impl Fn(&PlannedClip) -> bool) -> Vec<u8> {
    let mut out = COLUMNS.join("\t");
    if plan.labels {
        out.push_str("\tlabel");
    }
    out.push('\n');
    for c in plan.clips.iter().filter(|c| keep(c)) {
        let shown = plan.shown(&c.speaker);
        let clip = c.clip;
        let mut row = vec![
            c.speaker.clone(),
            format!("{}.ogg", clip.id),
            field(&clip.sentence_id),
            field(&clip.text),
            String::new(),
            clip.up_votes.to_string(),
            clip.down_votes.to_string(),
            field(&shown.age),
            field(&shown.gender),
            field(&shown.accent),
            String::new(),
            field(&clip.language),
            String::new(),
        ];
        if plan.labels {
            row.push(field(clip.label.as_deref().unwrap_or("")));
        }
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    out.into_bytes()
}

/// `clip_durations.tsv`: every exported clip's file name and duration in milliseconds.
pub(super) fn durations(plan: &Plan) -> Vec<u8> {
    let mut rows: Vec<(&str, u64)> = plan
        .clips
        .iter()
        .map(|c| (c.clip.id.as_str(), c.clip.duration_ms))
        .collect();
    rows.sort();
    let mut out = String::from("clip\tduration[ms]\n");
    for (id, ms) in rows {
        out.push_str(&format!("{id}.ogg\t{ms}\n"));
    }
    out.into_bytes()
}

pub(super) fn write(plan: &Plan, out: &mut Out) -> Result<(), ExportError> {
    let by_status = |status: ClipStatus| move |c: &PlannedClip| c.clip.status == status;
    out.add(
        "validated.tsv",
        &clips_tsv(plan, by_status(ClipStatus::Valid)),
    )?;
    out.add(
        "invalidated.tsv",
        &clips_tsv(plan, by_status(ClipStatus::Invalid)),
    )?;
    out.add(
        "other.tsv",
        &clips_tsv(plan, by_status(ClipStatus::Pending)),
    )?;
    for split in Split::ALL {
        let tsv = clips_tsv(plan, |c| c.split == Some(split));
        out.add(&format!("{split}.tsv"), &tsv)?;
    }
    out.add("clip_durations.tsv", &durations(plan))?;
    for c in &plan.clips {
        let bytes = out.fetch(&format!("clip {}", c.clip.id), &c.clip.audio_key)?;
        out.add(&format!("clips/{}.ogg", c.clip.id), &bytes)?;
        out.item_done();
    }
    Ok(())
}
