//! LJSpeech, what Coqui, Piper and most TTS recipes read: `wavs/{clip id}.wav` (16-bit
//! mono 22,050 Hz, converted from the stored Opus) and a headerless, pipe-separated
//! `metadata.csv` of `id|text|normalized`. LJSpeech has no splits, so `splits.csv`
//! (`id,split`) sits beside it for those who want ours.

use super::{ExportError, Out, Plan, csv_file};

/// The text as one LJSpeech field: a `|` or a line break would split the line, so each
/// becomes a space (the datasheet says so).
pub(super) fn field(text: &str) -> String {
    text.replace(['|', '\n', '\r'], " ")
}

/// Whether [`field`] changes the text.
pub(super) fn needs_replacing(text: &str) -> bool {
    text.contains(['|', '\n', '\r'])
}

/// The `normalized` column: the text with whitespace collapsed; numbers stay as they are.
pub(super) fn normalized(text: &str) -> String {
    field(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn metadata(plan: &Plan) -> Vec<u8> {
    let mut out = String::new();
    for c in &plan.clips {
        out.push_str(&c.clip.id);
        out.push('|');
        out.push_str(&field(&c.clip.text));
        out.push('|');
        out.push_str(&normalized(&c.clip.text));
        out.push('\n');
    }
    out.into_bytes()
}

pub(super) fn splits(plan: &Plan) -> Result<Vec<u8>, ExportError> {
    let rows = plan.clips.iter().map(|c| {
        let split = c.split.map(|s| s.as_str()).unwrap_or("");
        [c.clip.id.as_str(), split]
    });
    csv_file(&["id", "split"], rows)
}

pub(super) fn write(plan: &Plan, out: &mut Out) -> Result<(), ExportError> {
    out.add("metadata.csv", &metadata(plan))?;
    out.add("splits.csv", &splits(plan)?)?;
    for c in &plan.clips {
        let what = format!("clip {}", c.clip.id);
        let ogg = out.fetch(&what, &c.clip.audio_key)?;
        let wav = super::audio::ljspeech_wav(ogg).map_err(|e| ExportError::Media(what, e))?;
        out.add(&format!("wavs/{}.wav", c.clip.id), &wav)?;
        out.item_done();
    }
    Ok(())
}
