//! Long-form, crowd-recital style: each recording session whole, as
//! `{session id}/audio.flac` (the lossless archive) and `{session id}/transcript.vtt`
//! (one cue per read sentence), with a `metadata.csv` listing them and their
//! speaker-disjoint split. ASR users usually cut it by cue themselves.

use super::{ExportError, Out, Plan, csv_file, seconds};

/// The columns of `metadata.csv`.
pub(super) const HEADER: [&str; 7] = [
    "session",
    "speaker_id",
    "language",
    "duration_s",
    "audio",
    "transcript",
    "split",
];

pub(super) fn metadata(plan: &Plan) -> Result<Vec<u8>, ExportError> {
    let rows = plan.sessions.iter().map(|s| {
        let id = &s.session.id;
        [
            id.clone(),
            s.speaker.clone(),
            s.session.language.clone(),
            seconds(s.session.duration_ms),
            format!("{id}/audio.flac"),
            format!("{id}/transcript.vtt"),
            s.split.to_string(),
        ]
    });
    csv_file(&HEADER, rows)
}

pub(super) fn write(plan: &Plan, out: &mut Out) -> Result<(), ExportError> {
    out.add("metadata.csv", &metadata(plan)?)?;
    for s in &plan.sessions {
        let id = &s.session.id;
        let audio = out.fetch(&format!("session {id} audio"), &s.session.audio_key)?;
        out.add(&format!("{id}/audio.flac"), &audio)?;
        let vtt = out.fetch(&format!("session {id} transcript"), &s.session.vtt_key)?;
        out.add(&format!("{id}/transcript.vtt"), &vtt)?;
        out.item_done();
    }
    Ok(())
}
