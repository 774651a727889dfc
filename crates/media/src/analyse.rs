//! Measures a recording in one streaming pass: loudness (EBU R128) and peaks, ReplayGain,
//! clipping, RMS level over time, silence and pauses, and how much of it is speech.
//!
//! The recital studio turns these numbers into automatic quality checks on every take
//! ("too quiet", "clipped", "nothing recorded", "long pause"), and the music studio uses
//! the loudness to normalise tracks. Everything is computed as the audio flows through an
//! [`Analyser`] (a [`PcmSink`]), so an hour-long master costs the same memory as a
//! one-second take: the loudness meter runs in histogram mode, the RMS curve is decimated
//! when it reaches its cap, the pause list is capped, and speech activity is judged from a
//! fixed histogram of frame levels.

use ebur128::{EbuR128, Mode};
use serde::{Deserialize, Serialize};

use crate::{AudioSpec, MediaError, PcmSink, PcmSource, Result};

/// Lowest level reported, in dBFS: digital silence would otherwise be minus infinity,
/// which JSON cannot carry.
pub const FLOOR_DBFS: f64 = -120.0;

/// ReplayGain 2.0 reference loudness: tracks are brought to −18 LUFS.
pub const REPLAYGAIN_REFERENCE_LUFS: f64 = -18.0;

/// Silence is judged on blocks this long: short enough that leading and trailing silence
/// are exact to a hundredth of a second, long enough that a waveform's zero crossings do
/// not count as silence.
const SILENCE_BLOCK_SECONDS: f64 = 0.01;

/// Speech activity histogram: 0.5 dB bins from [`FLOOR_DBFS`] up to +20 dBFS (float
/// audio may exceed full scale).
const LEVEL_BIN_DB: f64 = 0.5;
const LEVEL_BINS: usize = ((20.0 - FLOOR_DBFS) / LEVEL_BIN_DB) as usize;

/// The percentile of frame levels taken as the noise floor: in read speech, at least a
/// tenth of the 30 ms frames fall between words and sentences.
const NOISE_FLOOR_PERCENTILE: f64 = 0.10;

/// Thresholds and resolutions of an analysis. The defaults suit both speech takes and
/// music masters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisSettings {
    /// A sample counts as clipped when its magnitude reaches this (full scale is 1.0).
    pub clip_level: f32,
    /// Length of one point of the RMS curve, before decimation.
    pub rms_window_seconds: f64,
    /// Most points the RMS curve keeps; past it, neighbouring points are merged in pairs
    /// and the window doubles, so memory stays bounded for any length.
    pub max_rms_points: usize,
    /// A 10 ms block below this RMS level is silence.
    pub silence_threshold_dbfs: f64,
    /// Silence between sounds at least this long is reported as a pause.
    pub min_pause_seconds: f64,
    /// Most pauses listed (all are counted).
    pub max_pauses: usize,
    /// Frame length for speech activity.
    pub speech_frame_seconds: f64,
    /// A frame is speech when it is this much louder than the noise floor.
    pub speech_margin_db: f64,
    /// Measure the true peak (4× oversampled below 96 kHz). It is the costliest part of
    /// the analysis; without it, `true_peak_dbtp` is `None`.
    pub true_peak: bool,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            clip_level: 0.999,
            rms_window_seconds: 0.1,
            max_rms_points: 4000,
            silence_threshold_dbfs: -50.0,
            min_pause_seconds: 1.0,
            max_pauses: 1000,
            speech_frame_seconds: 0.03,
            speech_margin_db: 12.0,
            true_peak: true,
        }
    }
}

impl AnalysisSettings {
    fn check(&self) -> Result<()> {
        if !(self.clip_level > 0.0 && self.clip_level <= 1.0) {
            return Err(MediaError::setting(
                "clip_level",
                format!("{} is outside (0, 1]", self.clip_level),
            ));
        }
        let seconds = [
            ("rms_window_seconds", self.rms_window_seconds, 0.001, 60.0),
            (
                "speech_frame_seconds",
                self.speech_frame_seconds,
                0.005,
                1.0,
            ),
            ("min_pause_seconds", self.min_pause_seconds, 0.01, 3600.0),
        ];
        for (field, value, low, high) in seconds {
            if !(low..=high).contains(&value) {
                return Err(MediaError::setting(
                    field,
                    format!("{value} s is outside {low}..={high} s"),
                ));
            }
        }
        if self.max_rms_points < 2 {
            return Err(MediaError::setting(
                "max_rms_points",
                "keep at least 2 points",
            ));
        }
        let levels = [
            (
                "silence_threshold_dbfs",
                self.silence_threshold_dbfs,
                FLOOR_DBFS,
                0.0,
            ),
            ("speech_margin_db", self.speech_margin_db, 0.0, 60.0),
        ];
        for (field, value, low, high) in levels {
            if !(low..=high).contains(&value) {
                return Err(MediaError::setting(
                    field,
                    format!("{value} dB is outside {low}..={high} dB"),
                ));
            }
        }
        Ok(())
    }
}

/// Everything measured about one stream. Levels that have no value for silence (minus
/// infinity) are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub sample_rate: u32,
    pub channels: u16,
    pub duration_seconds: f64,
    pub loudness: Loudness,
    pub replaygain: ReplayGain,
    pub clipping: Clipping,
    pub rms: RmsCurve,
    pub silence: Silence,
    pub speech: SpeechActivity,
}

/// EBU R128 / ITU-R BS.1770 measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loudness {
    /// Gated programme loudness; `None` when nothing rises above the −70 LUFS gate.
    pub integrated_lufs: Option<f64>,
    /// Loudness range (EBU Tech 3342), in LU.
    pub range_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub sample_peak_dbfs: Option<f64>,
}

/// ReplayGain 2.0 track values, as written to tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayGain {
    /// −18 LUFS minus the integrated loudness.
    pub track_gain_db: Option<f64>,
    /// Largest sample magnitude, linear (1.0 is full scale).
    pub track_peak: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clipping {
    /// Clipped samples over all samples (every channel counts).
    pub ratio: f64,
    pub clipped_samples: u64,
    /// Runs of consecutive clipped samples within one channel: one long flat top is one
    /// run, so this counts clipping events rather than samples.
    pub runs: u64,
}

/// RMS level over time, all channels together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmsCurve {
    /// Time covered by each point; larger than the requested window when the curve was
    /// decimated to stay under its cap. The last point may cover less.
    pub window_seconds: f64,
    /// One level per window, in dBFS, never below [`FLOOR_DBFS`].
    pub dbfs: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// Silence before the first sound (the whole duration when there is none).
    pub leading_seconds: f64,
    /// Silence after the last sound (the whole duration when there is none).
    pub trailing_seconds: f64,
    /// Pauses between sounds of at least the minimum length, the first `max_pauses` of
    /// them.
    pub pauses: Vec<Pause>,
    /// All such pauses, listed or not.
    pub pause_count: u64,
    pub longest_pause_seconds: f64,
    /// No 10 ms block anywhere rises above the silence threshold.
    pub fully_silent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub start_seconds: f64,
    pub end_seconds: f64,
}

/// How much of the stream is speech, by a simple energy rule: the noise floor is the
/// 10th percentile of the levels of all frames (30 ms by default), and a frame is active
/// when it is at least `speech_margin_db` above that floor and above the silence
/// threshold. Music and steady noise without quiet moments read as low activity; a read
/// text with natural pauses between phrases reads as 0.6–0.9.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechActivity {
    /// Active frames over all frames; 0 for an empty stream.
    pub ratio: f64,
    pub noise_floor_dbfs: f64,
}

/// A [`PcmSink`] that measures what flows through it; ask for the [`Analysis`] with
/// [`Analyser::report`] at any time (normally after the last block).
pub struct Analyser {
    spec: AudioSpec,
    settings: AnalysisSettings,
    meter: EbuR128,
    clip_level: f32,
    in_clip_run: Vec<bool>,
    clipped_samples: u64,
    clip_runs: u64,
    frames: u64,
    track: Tracking,
}

/// The part of the state that a report must flush without disturbing the stream: small,
/// so [`Analyser::report`] clones it.
#[derive(Clone)]
struct Tracking {
    silence_block: Window,
    silence_energy: f64,
    block_start: u64,
    first_sound: Option<u64>,
    last_sound_end: Option<u64>,
    min_pause_frames: u64,
    max_pauses: usize,
    pauses: Vec<(u64, u64)>,
    pause_count: u64,
    longest_pause: u64,
    rms: Window,
    rms_points: Vec<f64>,
    max_rms_points: usize,
    speech: Window,
    levels: [u64; LEVEL_BINS],
}

/// Sums mean-square energy over a fixed number of frames.
#[derive(Clone)]
struct Window {
    len: u64,
    filled: u64,
    sum: f64,
}

impl Window {
    fn new(len: u64) -> Window {
        Window {
            len,
            filled: 0,
            sum: 0.0,
        }
    }

    /// Adds a frame's energy; at the end of the window, returns the window's mean.
    #[inline]
    fn push(&mut self, energy: f64) -> Option<f64> {
        self.sum += energy;
        self.filled += 1;
        if self.filled == self.len {
            Some(self.take())
        } else {
            None
        }
    }

    /// The mean of a partly filled window, emptying it.
    fn take(&mut self) -> f64 {
        let mean = self.sum / self.filled.max(1) as f64;
        self.filled = 0;
        self.sum = 0.0;
        mean
    }
}

fn frames_in(spec: AudioSpec, seconds: f64) -> u64 {
    ((spec.sample_rate as f64 * seconds).round() as u64).max(1)
}

fn dbfs(mean_square: f64) -> f64 {
    if mean_square > 0.0 {
        (10.0 * mean_square.log10()).max(FLOOR_DBFS)
    } else {
        FLOOR_DBFS
    }
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

impl Analyser {
    pub fn new(spec: AudioSpec, settings: AnalysisSettings) -> Result<Analyser> {
        settings.check()?;
        // Histogram mode keeps the gating history in fixed bins instead of a list of
        // every 100 ms block, which is what keeps memory flat for long files.
        let mut mode = Mode::I | Mode::LRA | Mode::SAMPLE_PEAK | Mode::HISTOGRAM;
        if settings.true_peak {
            mode |= Mode::TRUE_PEAK;
        }
        let meter = EbuR128::new(spec.channels as u32, spec.sample_rate, mode).map_err(|e| {
            MediaError::setting(
                "spec",
                format!(
                    "the loudness meter cannot take {} channels at {} Hz: {e}",
                    spec.channels, spec.sample_rate
                ),
            )
        })?;
        let max_rms_points = settings.max_rms_points + settings.max_rms_points % 2;
        let track = Tracking {
            silence_block: Window::new(frames_in(spec, SILENCE_BLOCK_SECONDS)),
            silence_energy: 10f64.powf(settings.silence_threshold_dbfs / 10.0),
            block_start: 0,
            first_sound: None,
            last_sound_end: None,
            min_pause_frames: frames_in(spec, settings.min_pause_seconds),
            max_pauses: settings.max_pauses,
            pauses: Vec::new(),
            pause_count: 0,
            longest_pause: 0,
            rms: Window::new(frames_in(spec, settings.rms_window_seconds)),
            rms_points: Vec::with_capacity(max_rms_points),
            max_rms_points,
            speech: Window::new(frames_in(spec, settings.speech_frame_seconds)),
            levels: [0; LEVEL_BINS],
        };
        Ok(Analyser {
            spec,
            clip_level: settings.clip_level,
            settings,
            meter,
            in_clip_run: vec![false; spec.channels as usize],
            clipped_samples: 0,
            clip_runs: 0,
            frames: 0,
            track,
        })
    }

    pub fn spec(&self) -> AudioSpec {
        self.spec
    }

    /// The measurements so far. Partly filled windows at the end count as they are.
    pub fn report(&self) -> Analysis {
        let spec = self.spec;
        let mut track = self.track.clone();
        track.flush(self.frames);

        let channels = 0..spec.channels as u32;
        let max_of = |peak: fn(&EbuR128, u32) -> std::result::Result<f64, ebur128::Error>| {
            channels
                .clone()
                .map(|c| peak(&self.meter, c).unwrap_or(0.0))
                .fold(0.0f64, f64::max)
        };
        let sample_peak = max_of(EbuR128::sample_peak);
        let true_peak = self.settings.true_peak.then(|| max_of(EbuR128::true_peak));
        let to_db = |linear: f64| finite(20.0 * linear.log10());
        let integrated = self.meter.loudness_global().ok().and_then(finite);
        let range = self.meter.loudness_range().ok().and_then(finite);

        let total_samples = self.frames * spec.channels as u64;
        let duration = spec.seconds(self.frames);
        let seconds = |frames: u64| spec.seconds(frames);
        let (leading, trailing) = match (track.first_sound, track.last_sound_end) {
            (Some(first), Some(last)) => (seconds(first), seconds(self.frames - last)),
            _ => (duration, duration),
        };
        let (ratio, noise_floor) = track.speech_activity(
            self.settings.silence_threshold_dbfs,
            self.settings.speech_margin_db,
        );

        Analysis {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            duration_seconds: duration,
            loudness: Loudness {
                integrated_lufs: integrated,
                range_lu: integrated.and(range),
                true_peak_dbtp: true_peak.and_then(to_db),
                sample_peak_dbfs: to_db(sample_peak),
            },
            replaygain: ReplayGain {
                track_gain_db: integrated.map(|i| REPLAYGAIN_REFERENCE_LUFS - i),
                track_peak: sample_peak,
            },
            clipping: Clipping {
                ratio: if total_samples == 0 {
                    0.0
                } else {
                    self.clipped_samples as f64 / total_samples as f64
                },
                clipped_samples: self.clipped_samples,
                runs: self.clip_runs,
            },
            rms: RmsCurve {
                window_seconds: seconds(track.rms.len),
                dbfs: track.rms_points.iter().map(|&e| dbfs(e) as f32).collect(),
            },
            silence: Silence {
                leading_seconds: leading,
                trailing_seconds: trailing,
                pauses: track
                    .pauses
                    .iter()
                    .map(|&(start, end)| Pause {
                        start_seconds: seconds(start),
                        end_seconds: seconds(end),
                    })
                    .collect(),
                pause_count: track.pause_count,
                longest_pause_seconds: seconds(track.longest_pause),
                fully_silent: track.first_sound.is_none(),
            },
            speech: SpeechActivity {
                ratio,
                noise_floor_dbfs: noise_floor,
            },
        }
    }
}

impl Tracking {
    /// Takes one frame's mean-square energy; `at` is the frame's index in the stream.
    #[inline]
    fn push(&mut self, energy: f64, at: u64) {
        if let Some(mean) = self.silence_block.push(energy) {
            self.end_silence_block(mean, at + 1);
        }
        if let Some(mean) = self.rms.push(energy) {
            self.push_rms(mean);
        }
        if let Some(mean) = self.speech.push(energy) {
            self.count_level(mean);
        }
    }

    /// Closes the partly filled windows at the end of the stream (`end` frames long).
    fn flush(&mut self, end: u64) {
        if self.silence_block.filled > 0 {
            let mean = self.silence_block.take();
            self.end_silence_block(mean, end);
        }
        if self.rms.filled > 0 {
            let mean = self.rms.take();
            // Decimation leaves fewer points than the cap, so this one still fits.
            self.rms_points.push(mean);
        }
        if self.speech.filled > 0 {
            let mean = self.speech.take();
            self.count_level(mean);
        }
    }

    fn end_silence_block(&mut self, mean: f64, end: u64) {
        let start = std::mem::replace(&mut self.block_start, end);
        if mean < self.silence_energy {
            return;
        }
        match self.last_sound_end {
            None => self.first_sound = Some(start),
            Some(last) if start - last >= self.min_pause_frames => {
                self.pause_count += 1;
                self.longest_pause = self.longest_pause.max(start - last);
                if self.pauses.len() < self.max_pauses {
                    self.pauses.push((last, start));
                }
            }
            Some(_) => {}
        }
        self.last_sound_end = Some(end);
    }

    fn push_rms(&mut self, mean: f64) {
        self.rms_points.push(mean);
        if self.rms_points.len() >= self.max_rms_points {
            // Equal-length windows: the mean of two means is the mean of the whole.
            let half = self.rms_points.len() / 2;
            for i in 0..half {
                self.rms_points[i] = (self.rms_points[2 * i] + self.rms_points[2 * i + 1]) / 2.0;
            }
            self.rms_points.truncate(half);
            self.rms.len *= 2;
        }
    }

    fn count_level(&mut self, mean: f64) {
        let bin = ((dbfs(mean) - FLOOR_DBFS) / LEVEL_BIN_DB) as usize;
        self.levels[bin.min(LEVEL_BINS - 1)] += 1;
    }

    /// The speech activity ratio and the noise floor (see [`SpeechActivity`]).
    fn speech_activity(&self, silence_threshold: f64, margin: f64) -> (f64, f64) {
        let total: u64 = self.levels.iter().sum();
        if total == 0 {
            return (0.0, FLOOR_DBFS);
        }
        let wanted = (total as f64 * NOISE_FLOOR_PERCENTILE).ceil().max(1.0) as u64;
        let mut seen = 0;
        let mut floor_bin = 0;
        for (bin, &count) in self.levels.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                floor_bin = bin;
                break;
            }
        }
        let level = |bin: usize| FLOOR_DBFS + bin as f64 * LEVEL_BIN_DB;
        let noise_floor = level(floor_bin);
        let threshold = (noise_floor + margin).max(silence_threshold);
        let active: u64 = self
            .levels
            .iter()
            .enumerate()
            .filter(|&(bin, _)| level(bin) >= threshold)
            .map(|(_, &count)| count)
            .sum();
        (active as f64 / total as f64, noise_floor)
    }
}

impl PcmSink for Analyser {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        let channels = self.spec.channels as usize;
        if !samples.len().is_multiple_of(channels) {
            return Err(MediaError::Corrupt(format!(
                "a block of {} samples does not hold whole frames of {channels} channels",
                samples.len()
            )));
        }
        self.meter
            .add_frames_f32(samples)
            .map_err(|e| MediaError::Corrupt(format!("the loudness meter failed: {e}")))?;
        let scale = 1.0 / channels as f64;
        for frame in samples.chunks_exact(channels) {
            let mut energy = 0.0f64;
            for (c, &x) in frame.iter().enumerate() {
                energy += (x as f64) * (x as f64);
                let clipped = x.abs() >= self.clip_level;
                if clipped {
                    self.clipped_samples += 1;
                    if !self.in_clip_run[c] {
                        self.clip_runs += 1;
                    }
                }
                self.in_clip_run[c] = clipped;
            }
            self.track.push(energy * scale, self.frames);
            self.frames += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Reads a whole source through an [`Analyser`].
pub fn analyse(source: &mut dyn PcmSource, settings: AnalysisSettings) -> Result<Analysis> {
    let mut analyser = Analyser::new(source.spec(), settings)?;
    while let Some(block) = source.read()? {
        analyser.write(block)?;
    }
    analyser.finish()?;
    Ok(analyser.report())
}
