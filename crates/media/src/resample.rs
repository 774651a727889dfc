//! Changing sample rate (rubato's FFT resampler: high quality, any rate to any rate) and
//! channel layout (mono ↔ stereo, multichannel downmix), as sinks that wrap the sink they
//! feed. [`convert`] chains what a given pair of specs needs, so callers never care
//! whether a step is needed.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use crate::pcm::{AudioSpec, PcmSink};
use crate::{MediaError, Result};

/// A sink for audio in `from` that delivers `to` to `sink`.
pub fn convert(from: AudioSpec, to: AudioSpec, sink: Box<dyn PcmSink>) -> Result<Box<dyn PcmSink>> {
    let mid = AudioSpec {
        sample_rate: from.sample_rate,
        channels: to.channels,
    };
    let resampled: Box<dyn PcmSink> = if from.sample_rate == to.sample_rate {
        sink
    } else {
        Box::new(Resample::new(mid, to.sample_rate, sink)?)
    };
    Ok(if from.channels == to.channels {
        resampled
    } else {
        Box::new(Remix::new(from.channels, to.channels, resampled)?)
    })
}

/// Remixes channels: duplicates mono, averages to mono, downmixes surround (WAV order:
/// FL FR FC LFE BL BR SL SR) to stereo with the usual −3 dB for centre and surrounds.
pub struct Remix {
    from: usize,
    to: usize,
    out: Vec<f32>,
    sink: Box<dyn PcmSink>,
}

impl Remix {
    pub fn new(from: u16, to: u16, sink: Box<dyn PcmSink>) -> Result<Remix> {
        if to == 0 || to > 2 && to != from {
            return Err(MediaError::setting(
                "channels",
                format!("can mix {from} channels to 1 or 2, not {to}"),
            ));
        }
        Ok(Remix {
            from: from as usize,
            to: to as usize,
            out: Vec::new(),
            sink,
        })
    }

    fn stereo(frame: &[f32]) -> (f32, f32) {
        const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;
        match frame.len() {
            1 => (frame[0], frame[0]),
            2 => (frame[0], frame[1]),
            n => {
                let centre = if n > 2 { frame[2] * MINUS_3DB } else { 0.0 };
                let mut l = frame[0] + centre;
                let mut r = frame[1] + centre;
                // Index 3 is LFE, left out of a stereo mix; the rest alternate left/right.
                for (i, s) in frame.iter().enumerate().skip(4) {
                    if i % 2 == 0 {
                        l += s * MINUS_3DB;
                    } else {
                        r += s * MINUS_3DB;
                    }
                }
                // Keep the mix from clipping: scale by the most a side can sum to.
                let gain = 1.0 / (1.0 + MINUS_3DB * ((n - 2) as f32 / 2.0).ceil());
                (l * gain, r * gain)
            }
        }
    }
}

impl PcmSink for Remix {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        self.out.clear();
        for frame in samples.chunks_exact(self.from) {
            let (l, r) = Remix::stereo(frame);
            match self.to {
                1 if self.from >= 2 => self.out.push((l + r) * 0.5),
                1 => self.out.push(l),
                2 => {
                    self.out.push(l);
                    self.out.push(r);
                }
                _ => self.out.extend_from_slice(frame),
            }
        }
        self.sink.write(&self.out)
    }

    fn finish(&mut self) -> Result<()> {
        self.sink.finish()
    }
}

/// Frames per resampler chunk: large enough for FFT efficiency, small enough for memory.
const CHUNK: usize = 4096;

/// Resamples interleaved audio to `to_rate`, trimming the resampler's delay so the output
/// lines up with the input and has exactly the expected length.
pub struct Resample {
    channels: usize,
    ratio: f64,
    resampler: Fft<f32>,
    input: Vec<f32>,
    filled: usize,
    output: Vec<f32>,
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
    sink: Box<dyn PcmSink>,
}

impl Resample {
    pub fn new(from: AudioSpec, to_rate: u32, sink: Box<dyn PcmSink>) -> Result<Resample> {
        AudioSpec::new(to_rate, from.channels)?;
        let channels = from.channels as usize;
        let resampler = Fft::<f32>::new(
            from.sample_rate as usize,
            to_rate as usize,
            CHUNK,
            channels,
            FixedSync::Input,
        )
        .map_err(|e| MediaError::setting("sample_rate", format!("cannot resample: {e}")))?;
        let out_max = resampler.output_frames_max();
        Ok(Resample {
            channels,
            ratio: to_rate as f64 / from.sample_rate as f64,
            delay_left: resampler.output_delay(),
            input: vec![0.0; CHUNK * channels],
            filled: 0,
            output: vec![0.0; out_max * channels],
            resampler,
            frames_in: 0,
            frames_out: 0,
            sink,
        })
    }

    /// Runs one chunk (`valid` real frames, the rest silence) and passes on the output.
    fn run_chunk(&mut self, valid: usize, limit: Option<u64>) -> Result<()> {
        let input = InterleavedSlice::new(&self.input[..], self.channels, CHUNK)
            .map_err(|e| MediaError::Encode(format!("resampler input: {e}")))?;
        let out_frames = self.output.len() / self.channels;
        let mut output = InterleavedSlice::new_mut(&mut self.output[..], self.channels, out_frames)
            .map_err(|e| MediaError::Encode(format!("resampler output: {e}")))?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: (valid < CHUNK).then_some(valid),
            active_channels_mask: None,
        };
        let (_, produced) = self
            .resampler
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| MediaError::Encode(format!("resampling failed: {e}")))?;
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        let mut frames = produced - skip;
        if let Some(limit) = limit {
            frames = frames.min(limit.saturating_sub(self.frames_out) as usize);
        }
        self.frames_out += frames as u64;
        if frames > 0 {
            let start = skip * self.channels;
            self.sink
                .write(&self.output[start..start + frames * self.channels])?;
        }
        Ok(())
    }
}

impl PcmSink for Resample {
    fn write(&mut self, mut samples: &[f32]) -> Result<()> {
        self.frames_in += (samples.len() / self.channels) as u64;
        while !samples.is_empty() {
            let room = (CHUNK - self.filled) * self.channels;
            let take = room.min(samples.len());
            let at = self.filled * self.channels;
            self.input[at..at + take].copy_from_slice(&samples[..take]);
            self.filled += take / self.channels;
            samples = &samples[take..];
            if self.filled == CHUNK {
                self.run_chunk(CHUNK, None)?;
                self.filled = 0;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let expected = (self.frames_in as f64 * self.ratio).round() as u64;
        let mut valid = self.filled;
        // Feed the last partial chunk, then silence, until the delayed tail is out.
        let mut rounds = 0;
        while self.frames_out < expected {
            for s in &mut self.input[valid * self.channels..] {
                *s = 0.0;
            }
            self.run_chunk(valid, Some(expected))?;
            valid = 0;
            rounds += 1;
            if rounds > 64 {
                break;
            }
        }
        self.sink.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcm::sine;

    /// Collects what reaches the end of a chain.
    struct Collect(std::sync::Arc<std::sync::Mutex<Vec<f32>>>);

    impl PcmSink for Collect {
        fn write(&mut self, samples: &[f32]) -> Result<()> {
            self.0.lock().unwrap().extend_from_slice(samples);
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            Ok(())
        }
    }

    fn run(from: AudioSpec, to: AudioSpec, input: &[f32], block: usize) -> Vec<f32> {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut chain = convert(from, to, Box::new(Collect(out.clone()))).unwrap();
        for piece in input.chunks(block * from.channels as usize) {
            chain.write(piece).unwrap();
        }
        chain.finish().unwrap();
        std::mem::take(&mut *out.lock().unwrap())
    }

    #[test]
    fn resampling_keeps_length_pitch_and_alignment() {
        let from = AudioSpec::new(44_100, 1).unwrap();
        let to = AudioSpec::new(48_000, 1).unwrap();
        let input = sine(from, 1000.0, 1.5, 0.5);
        for block in [1, 333, 4096, 10_000] {
            let out = run(from, to, &input, block);
            assert_eq!(out.len(), 72_000, "exact length with blocks of {block}");
            // Aligned: the resampled tone matches a tone made at 48 kHz directly.
            let reference = sine(to, 1000.0, 1.5, 0.5);
            let err: f32 = out[1000..70_000]
                .iter()
                .zip(&reference[1000..70_000])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(err < 0.01, "blocks of {block}: off by {err}");
        }
    }

    #[test]
    fn channels_are_mixed_up_and_down() {
        let mono = AudioSpec::new(8000, 1).unwrap();
        let stereo = AudioSpec::new(8000, 2).unwrap();
        assert_eq!(
            run(mono, stereo, &[0.5, -0.25], 1),
            [0.5, 0.5, -0.25, -0.25]
        );
        assert_eq!(run(stereo, mono, &[0.5, 0.25, -1.0, 1.0], 7), [0.375, 0.0]);
        let surround = AudioSpec::new(8000, 6).unwrap();
        let out = run(surround, stereo, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0], 1);
        assert!(
            out.iter().all(|s| s.abs() <= 1.0),
            "a full-scale 5.1 frame does not clip: {out:?}"
        );
        assert!(
            convert(
                stereo,
                AudioSpec {
                    sample_rate: 8000,
                    channels: 6
                },
                Box::new(Collect(Default::default()))
            )
            .is_err()
        );
    }
}
