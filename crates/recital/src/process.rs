//! The media work of one session, on files in a work folder: join the chunks of every
//! part into one stream (each part is its own recording, joined in order), cut it after
//! the last kept sentence, and in one decode write the archive copy (FLAC), the web
//! copies (Opus, and MP3 for browsers without Opus) and the analysis; then cut one clip
//! per cue from the archive in a second pass, each with its own analysis. Pure apart from
//! the files it is given, so a job killed midway runs it again to the same result.

use std::fs::File;
use std::path::{Path, PathBuf};

use tutti_media::analyse::{Analyser, AnalysisSettings};
use tutti_media::concat::{ChunkSource, join};
use tutti_media::decode::Decoder;
use tutti_media::encode::{Output, encoder_for};
use tutti_media::presets::Preset;
use tutti_media::resample::convert;
use tutti_media::transcode::{Target, transcode};
use tutti_media::{AudioSpec, PcmSink, PcmSource};

use crate::domain::{CueSpan, QualityRules, Verdict};
use crate::error::RecitalError;

/// The preset of the archive copy (lossless).
pub const ARCHIVE_PRESET: &str = "archive";
/// The preset of the web copy and of clips: near-transparent speech in Ogg Opus.
pub const WEB_PRESET: &str = "speech-standard";
/// The preset of the copy for browsers that cannot play Opus.
pub const MP3_PRESET: &str = "mp3-128";

/// What to make of a session.
pub struct Job<'a> {
    /// The chunk files in order: part by part, each part's chunks by number.
    pub chunks: Vec<PathBuf>,
    /// The cues whose audio is kept; the stream is cut at the last one's end. Empty
    /// keeps the whole recording as one take.
    pub cues: &'a [CueSpan],
    /// One take per sentence: judged with the clip length limits.
    pub clip_mode: bool,
    pub rules: &'a QualityRules,
    /// Where the outputs are written.
    pub dir: &'a Path,
}

/// One clip cut from a session.
#[derive(Debug, Clone)]
pub struct ClipFile {
    /// Index into the job's cues.
    pub cue: usize,
    pub path: PathBuf,
    pub start_ms: u64,
    pub end_ms: u64,
    pub verdict: Verdict,
}

/// What processing made.
#[derive(Debug, Clone)]
pub struct Made {
    pub duration_ms: u64,
    pub verdict: Verdict,
    pub archive: PathBuf,
    pub web_opus: PathBuf,
    pub web_mp3: PathBuf,
    pub clips: Vec<ClipFile>,
}

fn media(e: tutti_media::MediaError) -> RecitalError {
    RecitalError::Media(e.to_string())
}

fn preset(name: &str) -> Result<Preset, RecitalError> {
    Preset::by_name(name).copied().map_err(media)
}

/// Runs the whole job.
pub fn run(job: &Job<'_>) -> Result<Made, RecitalError> {
    if job.chunks.is_empty() {
        return Err(RecitalError::Media("the session has no audio".into()));
    }
    let sources = job.chunks.iter().cloned().map(ChunkSource::Path).collect();
    let joined = join(sources).map_err(media)?;
    let spec = joined.spec();
    let limit = job
        .cues
        .last()
        .map(|c| frames_at(spec, c.end_ms))
        .unwrap_or(u64::MAX);
    let mut source = Limit {
        inner: Box::new(joined),
        left: limit,
    };
    let archive = job.dir.join("archive.flac");
    let web_opus = job.dir.join("web.ogg");
    let web_mp3 = job.dir.join("web.mp3");
    let targets = vec![
        Target {
            preset: preset(ARCHIVE_PRESET)?,
            output: Output::seekable(File::create(&archive).map_err(RecitalError::internal)?),
        },
        Target {
            preset: preset(WEB_PRESET)?,
            output: Output::stream(File::create(&web_opus).map_err(RecitalError::internal)?),
        },
        Target {
            preset: preset(MP3_PRESET)?,
            output: Output::stream(File::create(&web_mp3).map_err(RecitalError::internal)?),
        },
    ];
    let report = transcode(
        &mut source,
        targets,
        Some(AnalysisSettings::default()),
        &mut |_| {},
    )
    .map_err(media)?;
    let analysis = report
        .analysis
        .ok_or_else(|| RecitalError::internal("the analysis is missing"))?;
    let verdict = Verdict::judge(&analysis, job.clip_mode, job.rules);
    let duration_ms = (report.duration_seconds * 1000.0).round() as u64;

    let cues: Vec<CueSpan> = if job.cues.is_empty() {
        Vec::new()
    } else {
        job.cues
            .iter()
            .filter(|c| c.start_ms < duration_ms)
            .map(|c| CueSpan {
                end_ms: c.end_ms.min(duration_ms),
                ..c.clone()
            })
            .collect()
    };
    let clips = cut_clips(&archive, &cues, job)?;
    Ok(Made {
        duration_ms,
        verdict,
        archive,
        web_opus,
        web_mp3,
        clips,
    })
}

fn frames_at(spec: AudioSpec, ms: u64) -> u64 {
    ms.saturating_mul(u64::from(spec.sample_rate)) / 1000
}

/// Stops a source after a number of frames (the audio after the last kept sentence).
struct Limit {
    inner: Box<dyn PcmSource>,
    left: u64,
}

impl PcmSource for Limit {
    fn spec(&self) -> AudioSpec {
        self.inner.spec()
    }

    fn read(&mut self) -> tutti_media::Result<Option<&[f32]>> {
        if self.left == 0 {
            return Ok(None);
        }
        let channels = usize::from(self.inner.spec().channels);
        let left = self.left;
        match self.inner.read()? {
            None => Ok(None),
            Some(block) => {
                let frames = (block.len() / channels) as u64;
                let take = frames.min(left);
                self.left -= take;
                Ok(Some(&block[..take as usize * channels]))
            }
        }
    }
}

/// The clip being written: its encoder and analyser, and where it ends.
struct Open {
    cue: usize,
    end_frame: u64,
    encoder: Box<dyn PcmSink>,
    analyser: Analyser,
    path: PathBuf,
}

/// Cuts one clip per cue from the archive in one pass.
fn cut_clips(
    archive: &Path,
    cues: &[CueSpan],
    job: &Job<'_>,
) -> Result<Vec<ClipFile>, RecitalError> {
    if cues.is_empty() {
        return Ok(Vec::new());
    }
    let mut decoder = Decoder::open_path(archive).map_err(media)?;
    let spec = decoder.spec();
    let channels = usize::from(spec.channels);
    let clip_preset = preset(WEB_PRESET)?;
    let out_spec = clip_preset.output_spec(spec);
    let open = |cue: usize| -> Result<Open, RecitalError> {
        let path = job.dir.join(format!("clip-{cue:05}.ogg"));
        let file = File::create(&path).map_err(RecitalError::internal)?;
        let encoder = encoder_for(&clip_preset, out_spec, Output::stream(file)).map_err(media)?;
        Ok(Open {
            cue,
            end_frame: frames_at(spec, cues[cue].end_ms),
            encoder: convert(spec, out_spec, encoder).map_err(media)?,
            analyser: Analyser::new(spec, AnalysisSettings::default()).map_err(media)?,
            path,
        })
    };
    let mut made = Vec::with_capacity(cues.len());
    let mut finish = |mut clip: Open| -> Result<(), RecitalError> {
        clip.encoder.finish().map_err(media)?;
        clip.analyser.finish().map_err(media)?;
        let cue = &cues[clip.cue];
        made.push(ClipFile {
            cue: clip.cue,
            path: clip.path,
            start_ms: cue.start_ms,
            end_ms: cue.end_ms,
            verdict: Verdict::judge(&clip.analyser.report(), job.clip_mode, job.rules),
        });
        Ok(())
    };

    let mut next = 0usize;
    let mut current: Option<Open> = None;
    let mut at = 0u64;
    while let Some(block) = decoder.read().map_err(media)? {
        let frames = (block.len() / channels) as u64;
        let mut offset = 0u64;
        while offset < frames {
            if current.is_none() {
                if next >= cues.len() {
                    break;
                }
                let start = frames_at(spec, cues[next].start_ms);
                if at + offset < start {
                    offset = (start - at).min(frames);
                    continue;
                }
                current = Some(open(next)?);
                next += 1;
            }
            let clip = current.as_mut().expect("a clip is open");
            let until = (clip.end_frame.saturating_sub(at)).min(frames);
            if until > offset {
                let slice = &block[offset as usize * channels..until as usize * channels];
                clip.encoder.write(slice).map_err(media)?;
                clip.analyser.write(slice).map_err(media)?;
                offset = until;
            }
            if at + offset >= clip.end_frame {
                finish(current.take().expect("a clip is open"))?;
            }
        }
        at += frames;
    }
    if let Some(clip) = current.take() {
        finish(clip)?;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_media::pcm::{MemorySource, sine};

    /// A WebM/Opus recording cut into byte chunks, as MediaRecorder's timeslices are.
    fn recording(dir: &Path, seconds: f32, pieces: usize) -> Vec<PathBuf> {
        let spec = AudioSpec::new(48_000, 1).unwrap();
        let mut samples = sine(spec, 220.0, seconds, 0.3);
        // Pauses make it speech-like enough for the activity measure.
        for (i, s) in samples.iter_mut().enumerate() {
            if (i / 24_000) % 3 == 2 {
                *s *= 0.001;
            }
        }
        let mut source = MemorySource::new(spec, samples);
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let target = Target {
            preset: *Preset::by_name("speech-standard-webm").unwrap(),
            output: Output::stream(Shared(buf.clone())),
        };
        transcode(&mut source, vec![target], None, &mut |_| {}).unwrap();
        let bytes = buf.lock().unwrap().clone();
        let size = bytes.len().div_ceil(pieces);
        bytes
            .chunks(size)
            .enumerate()
            .map(|(i, c)| {
                let p = dir.join(format!("chunk-{i}"));
                std::fs::write(&p, c).unwrap();
                p
            })
            .collect()
    }

    fn cue(id: &str, start_ms: u64, end_ms: u64) -> CueSpan {
        CueSpan {
            sentence_id: id.into(),
            text: id.into(),
            revision: 1,
            start_ms,
            end_ms,
        }
    }

    #[test]
    fn a_session_is_cut_after_its_last_sentence_and_clipped_per_cue() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = recording(dir.path(), 9.0, 5);
        let cues = [cue("a", 0, 2500), cue("b", 2500, 6000)];
        let rules = QualityRules::default();
        let made = run(&Job {
            chunks,
            cues: &cues,
            clip_mode: false,
            rules: &rules,
            dir: dir.path(),
        })
        .unwrap();
        assert!(
            (made.duration_ms as i64 - 6000).abs() <= 20,
            "{}",
            made.duration_ms
        );
        assert_eq!(made.clips.len(), 2);
        let lengths: Vec<f64> = made
            .clips
            .iter()
            .map(|c| {
                let mut d = Decoder::open_path(&c.path).unwrap();
                let spec = d.spec();
                let samples = tutti_media::pcm::read_all(&mut d).unwrap();
                spec.seconds(samples.len() as u64 / u64::from(spec.channels))
            })
            .collect();
        assert!((lengths[0] - 2.5).abs() < 0.05, "{lengths:?}");
        assert!((lengths[1] - 3.5).abs() < 0.05, "{lengths:?}");
        for path in [&made.archive, &made.web_opus, &made.web_mp3] {
            assert!(std::fs::metadata(path).unwrap().len() > 1000, "{path:?}");
        }
    }

    #[test]
    fn two_parts_are_joined_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let first = tempfile::tempdir_in(dir.path()).unwrap();
        let second = tempfile::tempdir_in(dir.path()).unwrap();
        let mut chunks = recording(first.path(), 3.0, 2);
        chunks.extend(recording(second.path(), 2.0, 3));
        let rules = QualityRules::default();
        let made = run(&Job {
            chunks,
            cues: &[],
            clip_mode: true,
            rules: &rules,
            dir: dir.path(),
        })
        .unwrap();
        // Each recording ends on a whole 20 ms Opus frame, so each part may be up to a
        // frame longer than the signal it holds.
        assert!(
            (made.duration_ms as i64 - 5000).abs() <= 45,
            "{}",
            made.duration_ms
        );
    }

    #[test]
    fn bytes_that_are_not_audio_fail_with_a_media_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chunk-0");
        std::fs::write(&path, b"this is not a recording at all").unwrap();
        let rules = QualityRules::default();
        let err = run(&Job {
            chunks: vec![path],
            cues: &[],
            clip_mode: false,
            rules: &rules,
            dir: dir.path(),
        })
        .unwrap_err();
        assert!(matches!(err, RecitalError::Media(_)), "{err:?}");
    }
}
