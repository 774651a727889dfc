//! Hugging Face `audiofolder`: `{split}/{clip id}.ogg`, the stored clip as is, and one
//! `{split}/metadata.csv` per split whose `file_name` is relative to it, which
//! `datasets.load_dataset("audiofolder", data_dir=…)` reads with its splits.

use super::{ExportError, Out, Plan, Split, csv_file, seconds};

/// The columns of every `metadata.csv`.
pub(super) const HEADER: [&str; 8] = [
    "file_name",
    "transcription",
    "label",
    "speaker_id",
    "age",
    "gender",
    "accent",
    "duration_s",
];

/// The `metadata.csv` of one split, or `None` when the split has no clips.
pub(super) fn metadata(plan: &Plan, split: Split) -> Result<Option<Vec<u8>>, ExportError> {
    let clips: Vec<_> = plan
        .clips
        .iter()
        .filter(|c| c.split == Some(split))
        .collect();
    if clips.is_empty() {
        return Ok(None);
    }
    let rows = clips.iter().map(|c| {
        let shown = plan.shown(&c.speaker);
        [
            format!("{}.ogg", c.clip.id),
            c.clip.text.clone(),
            if plan.labels {
                c.clip.label.clone().unwrap_or_default()
            } else {
                String::new()
            },
            c.speaker.clone(),
            shown.age.clone(),
            shown.gender.clone(),
            shown.accent.clone(),
            seconds(c.clip.duration_ms),
        ]
    });
    csv_file(&HEADER, rows).map(Some)
}

pub(super) fn write(plan: &Plan, out: &mut Out) -> Result<(), ExportError> {
    for split in Split::ALL {
        if let Some(csv) = metadata(plan, split)? {
            out.add(&format!("{split}/metadata.csv"), &csv)?;
        }
    }
    for c in &plan.clips {
        let split = c.split.unwrap_or(Split::Train);
        let bytes = out.fetch(&format!("clip {}", c.clip.id), &c.clip.audio_key)?;
        out.add(&format!("{split}/{}.ogg", c.clip.id), &bytes)?;
        out.item_done();
    }
    Ok(())
}
