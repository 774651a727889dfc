//! The currency of the engine: interleaved `f32` samples in blocks, with their spec.

use serde::{Deserialize, Serialize};

use crate::{MediaError, Result};

/// Highest sample rate we accept anywhere; above it a header is lying or hostile.
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Most channels we accept (7.1.4 plus headroom).
pub const MAX_CHANNELS: u16 = 16;

/// Sample rate and channel count of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioSpec {
    pub sample_rate: u32,
    pub channels: u16,
}

impl AudioSpec {
    /// Checks a spec read from a file or a request against the engine's limits.
    pub fn new(sample_rate: u32, channels: u16) -> Result<AudioSpec> {
        if !(1000..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(MediaError::Limit(format!(
                "a sample rate of {sample_rate} Hz is outside 1000..={MAX_SAMPLE_RATE} Hz"
            )));
        }
        if !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(MediaError::Limit(format!(
                "{channels} channels is outside 1..={MAX_CHANNELS}"
            )));
        }
        Ok(AudioSpec {
            sample_rate,
            channels,
        })
    }

    /// Seconds covered by `frames` frames.
    pub fn seconds(&self, frames: u64) -> f64 {
        frames as f64 / self.sample_rate as f64
    }
}

/// A stream of interleaved PCM, read block by block. Blocks hold whole frames; their
/// length varies. Memory stays constant whatever the stream's length.
pub trait PcmSource: Send {
    fn spec(&self) -> AudioSpec;
    /// The next block, or `None` at the end. The slice is valid until the next call.
    fn read(&mut self) -> Result<Option<&[f32]>>;
    /// Frames in the whole stream, when known in advance (for progress bars).
    fn total_frames(&self) -> Option<u64> {
        None
    }
}

/// Consumes interleaved PCM: encoders, analysers, waveform builders.
pub trait PcmSink: Send {
    /// Takes a block of whole frames in the spec the sink was made for.
    fn write(&mut self, samples: &[f32]) -> Result<()>;
    /// Flushes everything; the sink must not be written to afterwards.
    fn finish(&mut self) -> Result<()>;
}

/// A source over samples already in memory (tests, generated tones, short clips).
pub struct MemorySource {
    spec: AudioSpec,
    samples: Vec<f32>,
    at: usize,
    block: usize,
}

impl MemorySource {
    pub fn new(spec: AudioSpec, samples: Vec<f32>) -> MemorySource {
        MemorySource {
            spec,
            samples,
            at: 0,
            block: 4096 * spec.channels as usize,
        }
    }
}

impl PcmSource for MemorySource {
    fn spec(&self) -> AudioSpec {
        self.spec
    }

    fn read(&mut self) -> Result<Option<&[f32]>> {
        if self.at >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.at + self.block).min(self.samples.len());
        let block = &self.samples[self.at..end];
        self.at = end;
        Ok(Some(block))
    }

    fn total_frames(&self) -> Option<u64> {
        Some((self.samples.len() / self.spec.channels as usize) as u64)
    }
}

/// Reads a whole source into memory; only for short audio (tests, clips).
pub fn read_all(source: &mut dyn PcmSource) -> Result<Vec<f32>> {
    let mut all = Vec::new();
    while let Some(block) = source.read()? {
        all.extend_from_slice(block);
    }
    Ok(all)
}

/// A sine tone, for tests and examples.
pub fn sine(spec: AudioSpec, hz: f32, seconds: f32, amplitude: f32) -> Vec<f32> {
    let frames = (spec.sample_rate as f32 * seconds) as usize;
    let mut out = Vec::with_capacity(frames * spec.channels as usize);
    for i in 0..frames {
        let v = amplitude
            * (2.0 * std::f32::consts::PI * hz * i as f32 / spec.sample_rate as f32).sin();
        for _ in 0..spec.channels {
            out.push(v);
        }
    }
    out
}
