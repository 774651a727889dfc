//! The media work of one track, on files in a work folder: read its tags and embedded
//! cover, then in one decode write the streaming copies (Opus for browsers that play it,
//! MP3 for the rest), measure its loudness (ReplayGain) and draw its waveform's peaks.
//! Pure apart from the files it is given, so a job killed midway runs it again to the
//! same result.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tutti_media::analyse::AnalysisSettings;
use tutti_media::decode::Decoder;
use tutti_media::encode::Output;
use tutti_media::presets::Preset;
use tutti_media::probe::{ProbeInfo, probe_path};
use tutti_media::transcode::{Target, transcode_also};
use tutti_media::waveform::{Peaks, PeaksBuilder};
use tutti_media::{PcmSink, PcmSource};

use crate::error::MusicError;

/// The streaming copies every track gets: `(format, preset, file name, media type,
/// nominal kbit/s)`.
pub const RENDITIONS: &[(&str, &str, &str, &str, i64)] = &[
    (
        "opus",
        "music-stream",
        "stream.ogg",
        "audio/ogg; codecs=opus",
        128,
    ),
    ("mp3", "mp3-128", "stream.mp3", "audio/mpeg", 128),
];

/// Peak pairs drawn for the player's waveform, whatever the track's length.
const WAVEFORM_BUCKETS: usize = 800;

/// One streaming copy written to the work folder.
#[derive(Debug, Clone)]
pub struct RenditionFile {
    pub format: &'static str,
    pub file_name: &'static str,
    pub media_type: &'static str,
    pub bitrate_kbps: i64,
    pub path: PathBuf,
}

/// What processing made of a track.
#[derive(Debug, Clone)]
pub struct Made {
    pub probe: ProbeInfo,
    pub duration_ms: i64,
    pub track_gain_db: Option<f64>,
    pub track_peak: Option<f64>,
    pub peaks: Peaks,
    pub renditions: Vec<RenditionFile>,
}

fn media(e: tutti_media::MediaError) -> MusicError {
    MusicError::Media(e.to_string())
}

/// Reads what a file is without decoding it all: container, codec, tags, cover. An
/// unreadable file fails here with the engine's explanation.
pub fn probe(path: &Path) -> Result<ProbeInfo, MusicError> {
    probe_path(path).map_err(media)
}

/// Makes the renditions, loudness and waveform of the file at `original` in `dir`,
/// telling `progress` the percent decoded as it goes.
pub fn run(original: &Path, dir: &Path, progress: &mut dyn FnMut(i64)) -> Result<Made, MusicError> {
    let info = probe(original)?;
    if info.frames == 0 {
        return Err(MusicError::Media("the file holds no audio".into()));
    }
    let total = info.frames.max(1);
    let mut source = Decoder::open_path(original).map_err(media)?;
    let spec = source.spec();
    let mut targets = Vec::new();
    let mut files = Vec::new();
    for &(format, preset, file_name, media_type, bitrate_kbps) in RENDITIONS {
        let path = dir.join(file_name);
        let preset = Preset::by_name(preset).copied().map_err(media)?;
        targets.push(Target {
            preset,
            output: Output::stream(File::create(&path).map_err(MusicError::internal)?),
        });
        files.push(RenditionFile {
            format,
            file_name,
            media_type,
            bitrate_kbps,
            path,
        });
    }
    let peaks = Arc::new(Mutex::new(None));
    let waveform = Waveform {
        builder: PeaksBuilder::with_buckets(spec, info.frames, WAVEFORM_BUCKETS).map_err(media)?,
        out: peaks.clone(),
    };
    let report = transcode_also(
        &mut source,
        targets,
        Some(AnalysisSettings::default()),
        vec![Box::new(waveform)],
        &mut |frames| progress((frames.saturating_mul(100) / total).min(99) as i64),
    )
    .map_err(media)?;
    let analysis = report
        .analysis
        .ok_or_else(|| MusicError::internal("the loudness measurement is missing"))?;
    let peaks = peaks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| MusicError::internal("the waveform is missing"))?;
    Ok(Made {
        duration_ms: (report.duration_seconds * 1000.0).round() as i64,
        track_gain_db: analysis.replaygain.track_gain_db,
        track_peak: Some(analysis.replaygain.track_peak),
        probe: info,
        peaks,
        renditions: files,
    })
}

/// The waveform's peaks, handed back when the stream ends.
struct Waveform {
    builder: PeaksBuilder,
    out: Arc<Mutex<Option<Peaks>>>,
}

impl PcmSink for Waveform {
    fn write(&mut self, samples: &[f32]) -> tutti_media::Result<()> {
        self.builder.write(samples)
    }

    fn finish(&mut self) -> tutti_media::Result<()> {
        self.builder.finish()?;
        if let Ok(mut out) = self.out.lock() {
            *out = Some(self.builder.peaks());
        }
        Ok(())
    }
}
