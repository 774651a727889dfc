//! The media work of one session, on files in a work folder: join the chunks of every
//! part into one stream (each part is its own recording, joined in order), cut it after
//! the last kept sentence, and in one decode write the archive copy (FLAC), the web
//! copies (Opus, and MP3 for browsers without Opus), the whole take's analysis and each
//! sentence's; then cut one clip per cue out of the web copy's packets (no second
//! encode). Pure apart from the files it is given, so a job killed midway runs it again
//! to the same result.

use std::fs::File;
use std::path::{Path, PathBuf};

use tutti_media::analyse::{Analyser, Analysis, AnalysisSettings};
use tutti_media::concat::{ChunkSource, join};
use tutti_media::encode::Output;
use tutti_media::presets::Preset;
use tutti_media::transcode::{Target, transcode_also};
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

/// Runs the whole job on a thread of its own at the lowest CPU priority (and the
/// encoders' threads it starts inherit it), so recordings still streaming in are
/// acknowledged first and processing takes what CPU is left.
pub fn run(job: &Job<'_>) -> Result<Made, RecitalError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                lowest_priority();
                run_here(job)
            })
            .join()
            .unwrap_or_else(|_| Err(RecitalError::internal("the processing thread crashed")))
    })
}

/// Makes the calling thread the last in line for the CPU (nice 19). Linux applies
/// `setpriority(PRIO_PROCESS, 0, …)` to the calling thread only, and threads it starts
/// inherit the value; elsewhere this does nothing.
#[allow(unsafe_code)]
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours; a failure
    // (not permitted) only leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// Measurements of a take's loudness and quality, cheap enough to run per sentence: the
/// true peak (4x oversampling) is left out, the sample peak is enough to spot clipping.
fn analysis_settings() -> AnalysisSettings {
    AnalysisSettings {
        true_peak: false,
        ..AnalysisSettings::default()
    }
}

fn run_here(job: &Job<'_>) -> Result<Made, RecitalError> {
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
    let per_cue = CueAnalysers::new(spec, job.cues)?;
    let results = per_cue.results.clone();
    let report = transcode_also(
        &mut source,
        targets,
        Some(analysis_settings()),
        vec![Box::new(per_cue)],
        &mut |_| {},
    )
    .map_err(media)?;
    let analysis = report
        .analysis
        .ok_or_else(|| RecitalError::internal("the analysis is missing"))?;
    let verdict = Verdict::judge(&analysis, job.clip_mode, job.rules);
    let duration_ms = (report.duration_seconds * 1000.0).round() as u64;

    // Clips are cut from the web copy's packets, not encoded again.
    let analyses = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    let kept: Vec<(usize, &CueSpan)> = job
        .cues
        .iter()
        .enumerate()
        .filter(|(_, c)| c.start_ms < duration_ms)
        .collect();
    let ranges: Vec<(u64, u64)> = kept
        .iter()
        .map(|(_, c)| (c.start_ms * 48, c.end_ms.min(duration_ms) * 48))
        .collect();
    let web = std::fs::read(&web_opus).map_err(RecitalError::internal)?;
    let cut = tutti_media::cut::cut_ogg_opus(&web, &ranges).map_err(media)?;
    let mut clips = Vec::with_capacity(cut.len());
    for ((i, cue), bytes) in kept.into_iter().zip(cut) {
        let path = job.dir.join(format!("clip-{i:05}.ogg"));
        std::fs::write(&path, bytes).map_err(RecitalError::internal)?;
        let analysis = analyses
            .get(i)
            .cloned()
            .flatten()
            .ok_or_else(|| RecitalError::internal("a sentence was not measured"))?;
        clips.push(ClipFile {
            cue: i,
            path,
            start_ms: cue.start_ms,
            end_ms: cue.end_ms.min(duration_ms),
            verdict: Verdict::judge(&analysis, job.clip_mode, job.rules),
        });
    }
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

/// Measures each cue's stretch of the stream as it flows past, one analyser at a time
/// (cues follow each other), leaving one analysis per cue.
struct CueAnalysers {
    spec: AudioSpec,
    /// `[start, end)` frames of each cue.
    spans: Vec<(u64, u64)>,
    next: usize,
    current: Option<(usize, Analyser)>,
    at: u64,
    results: std::sync::Arc<std::sync::Mutex<Vec<Option<Analysis>>>>,
}

impl CueAnalysers {
    fn new(spec: AudioSpec, cues: &[CueSpan]) -> Result<CueAnalysers, RecitalError> {
        Ok(CueAnalysers {
            spec,
            spans: cues
                .iter()
                .map(|c| (frames_at(spec, c.start_ms), frames_at(spec, c.end_ms)))
                .collect(),
            next: 0,
            current: None,
            at: 0,
            results: std::sync::Arc::new(std::sync::Mutex::new(vec![None; cues.len()])),
        })
    }

    fn close(&mut self) -> tutti_media::Result<()> {
        if let Some((i, mut analyser)) = self.current.take() {
            analyser.finish()?;
            if let Ok(mut results) = self.results.lock() {
                results[i] = Some(analyser.report());
            }
        }
        Ok(())
    }
}

impl PcmSink for CueAnalysers {
    fn write(&mut self, samples: &[f32]) -> tutti_media::Result<()> {
        let channels = usize::from(self.spec.channels);
        let frames = (samples.len() / channels) as u64;
        let mut offset = 0u64;
        while offset < frames {
            if self.current.is_none() {
                let Some(&(start, _)) = self.spans.get(self.next) else {
                    break;
                };
                if self.at + offset < start {
                    offset = (start - self.at).min(frames);
                    continue;
                }
                self.current = Some((self.next, Analyser::new(self.spec, analysis_settings())?));
                self.next += 1;
            }
            let Some((i, analyser)) = self.current.as_mut() else {
                break;
            };
            let end = self.spans[*i].1;
            let until = end.saturating_sub(self.at).min(frames);
            if until > offset {
                analyser.write(&samples[offset as usize * channels..until as usize * channels])?;
                offset = until;
            }
            if self.at + offset >= end {
                self.close()?;
            }
        }
        self.at += frames;
        Ok(())
    }

    fn finish(&mut self) -> tutti_media::Result<()> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_media::decode::Decoder;
    use tutti_media::pcm::{MemorySource, sine};
    use tutti_media::transcode::transcode;

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
