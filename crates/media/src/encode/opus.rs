//! Opus through `opus-pure`, a pure-Rust port of libopus (no C toolchain or cmake to
//! build it): speech recordings and music for web playback.
//! This module owns the codec side — 20 ms frames, encoder delay, end padding, the
//! OpusHead header — and hands packets to a container, [`super::ogg::OggMux`] or
//! [`super::webm::WebmMux`], so both containers carry the same packets and timing.
//!
//! Timing follows RFC 7845, counted at 48 kHz whatever the input rate: the encoder's
//! lookahead becomes the pre-skip the decoder drops at the start, the input is followed
//! by that many samples of silence and padded to a whole frame so its last real sample
//! is encoded, and the container records the true length so the padding is dropped at
//! the end. Decoded, the file is exactly as long as the input.

use opus_pure::{Application, RateControl, Signal};

use super::{check_block, check_spec, finished_error, sane};
use crate::presets::{OpusApplication, OpusSettings};
use crate::{AudioSpec, MediaError, PcmSink, Result};

/// The input rates the Opus encoder takes.
pub const RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];
/// Frame length in milliseconds.
pub const FRAME_MS: u32 = 20;
/// Samples per frame at 48 kHz, the rate Opus timestamps are counted in.
pub const FRAME_48K: u64 = 48 * FRAME_MS as u64;
/// The largest packet we let the encoder write (RFC 6716's limit for one frame is 1275).
const MAX_PACKET: usize = 1500;

/// Facts about the stream a container writes into its header.
#[derive(Debug, Clone, Copy)]
pub struct StreamHead {
    pub channels: u8,
    /// The rate of the input, for information (decoders always run at 48 kHz).
    pub input_rate: u32,
    /// Samples at 48 kHz to drop at the start.
    pub pre_skip: u16,
}

impl StreamHead {
    /// The `OpusHead` identification header (RFC 7845 §5.1), channel mapping family 0.
    pub fn opus_head(&self) -> [u8; 19] {
        let mut h = [0u8; 19];
        h[..8].copy_from_slice(b"OpusHead");
        h[8] = 1;
        h[9] = self.channels;
        h[10..12].copy_from_slice(&self.pre_skip.to_le_bytes());
        h[12..16].copy_from_slice(&self.input_rate.to_le_bytes());
        // Output gain 0 and mapping family 0 are already zero.
        h
    }
}

/// A container for Opus packets.
pub trait OpusMux: Send {
    /// Called once, before any packet.
    fn start(&mut self, head: &StreamHead) -> Result<()>;
    /// One 20 ms packet. `granule` counts samples at 48 kHz from the start of the
    /// stream, pre-skip included, through the end of this packet; on the `last` packet
    /// it is the true end, which can fall inside the packet (end trimming).
    fn packet(&mut self, data: &[u8], granule: u64, last: bool) -> Result<()>;
    /// Flushes everything after the last packet.
    fn finish(&mut self) -> Result<()>;
}

pub struct OpusEncoder<M: OpusMux> {
    mux: M,
    spec: AudioSpec,
    encoder: opus_pure::OpusEncoder,
    /// Samples per channel in one frame at the input rate.
    frame_len: usize,
    /// 48 kHz samples per input sample (1, 2, 3, 4 or 6).
    upsample: u64,
    /// Encoder lookahead at the input rate.
    lookahead: u64,
    pre_skip: u64,
    /// Interleaved input of the frame being gathered.
    frame: Vec<f32>,
    /// The packet encoded last, held back until we know whether it is the last one.
    held: Vec<u8>,
    held_len: Option<usize>,
    scratch: Vec<u8>,
    packets: u64,
    input_frames: u64,
    finished: bool,
}

impl<M: OpusMux> OpusEncoder<M> {
    pub fn new(spec: AudioSpec, settings: OpusSettings, mut mux: M) -> Result<OpusEncoder<M>> {
        check_spec(spec)?;
        if !RATES.contains(&spec.sample_rate) {
            return Err(MediaError::setting(
                "sample_rate",
                format!(
                    "Opus encodes 8, 12, 16, 24 or 48 kHz, not {} Hz; resample first",
                    spec.sample_rate
                ),
            ));
        }
        if !matches!(spec.channels, 1 | 2) {
            return Err(MediaError::setting(
                "channels",
                format!(
                    "Opus is encoded here as mono or stereo; downmix the {} channels first",
                    spec.channels
                ),
            ));
        }
        if !(6_000..=510_000).contains(&settings.bitrate) {
            return Err(MediaError::setting(
                "bitrate",
                format!(
                    "Opus bitrates run from 6000 to 510000 bit/s, not {}",
                    settings.bitrate
                ),
            ));
        }
        if settings.complexity > 10 {
            return Err(MediaError::setting(
                "complexity",
                format!(
                    "Opus complexity runs from 0 to 10, not {}",
                    settings.complexity
                ),
            ));
        }
        let (application, signal) = match settings.application {
            OpusApplication::Voip => (Application::Voip, Signal::Voice),
            OpusApplication::Audio => (Application::Audio, Signal::Music),
        };
        let mut encoder = opus_pure::OpusEncoder::new(
            spec.sample_rate as i32,
            spec.channels as usize,
            application,
        )
        .map_err(|e| MediaError::Encode(format!("Opus encoder: {e}")))?;
        // The libopus settings we always used: VBR with libopus's default constraint
        // (constrained VBR), the preset's bitrate and complexity, and a signal hint.
        encoder.bitrate_bps = settings.bitrate as i32;
        encoder.complexity = i32::from(settings.complexity);
        encoder.signal_type = Some(signal);
        encoder.rate_control = RateControl::ConstrainedVbr;
        let lookahead = encoder.lookahead() as u64;
        let upsample = u64::from(48_000 / spec.sample_rate);
        let pre_skip = lookahead * upsample;
        mux.start(&StreamHead {
            channels: spec.channels as u8,
            input_rate: spec.sample_rate,
            pre_skip: pre_skip as u16,
        })?;
        let frame_len = (spec.sample_rate / 1000 * FRAME_MS) as usize;
        Ok(OpusEncoder {
            mux,
            spec,
            encoder,
            frame_len,
            upsample,
            lookahead,
            pre_skip,
            frame: Vec::with_capacity(frame_len * spec.channels as usize),
            held: vec![0; MAX_PACKET],
            held_len: None,
            scratch: vec![0; MAX_PACKET],
            packets: 0,
            input_frames: 0,
            finished: false,
        })
    }

    /// Samples at 48 kHz that the decoder drops at the start.
    pub fn pre_skip(&self) -> u64 {
        self.pre_skip
    }

    /// Encodes the full frame in `self.frame`, passing on the packet before it.
    fn encode_frame(&mut self) -> Result<()> {
        // Input is sanitised (`sane`), but the encoder is a port of C full of index
        // arithmetic: a panic in it fails this encode, not the process.
        let (encoder, frame, scratch) = (&mut self.encoder, &self.frame, &mut self.scratch);
        let frame_len = self.frame_len;
        let n = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            encoder.encode(frame, frame_len, scratch)
        }))
        .map_err(|_| MediaError::Encode("Opus: the encoder failed".into()))?
        .map_err(|e| MediaError::Encode(format!("Opus: {e}")))?;
        self.frame.clear();
        if let Some(len) = self.held_len {
            self.mux
                .packet(&self.held[..len], self.packets * FRAME_48K, false)?;
        }
        std::mem::swap(&mut self.held, &mut self.scratch);
        self.held_len = Some(n);
        self.packets += 1;
        Ok(())
    }
}

impl<M: OpusMux> PcmSink for OpusEncoder<M> {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        let channels = self.spec.channels as usize;
        check_block(samples, self.spec.channels)?;
        let frame_samples = self.frame_len * channels;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (frame_samples - self.frame.len()).min(rest.len());
            self.frame.extend(rest[..take].iter().map(|&x| sane(x)));
            rest = &rest[take..];
            if self.frame.len() == frame_samples {
                self.encode_frame()?;
            }
        }
        self.input_frames += (samples.len() / channels) as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        self.finished = true;
        // Feed silence until the lookahead has pushed the last real sample through, in
        // whole frames (at least one, so even an empty input makes a valid stream).
        let needed = self.input_frames + self.lookahead;
        let total_packets = needed.div_ceil(self.frame_len as u64).max(1);
        let frame_samples = self.frame_len * self.spec.channels as usize;
        while self.packets < total_packets {
            self.frame.resize(frame_samples, 0.0);
            self.encode_frame()?;
        }
        let end = self.pre_skip + self.input_frames * self.upsample;
        let len = self.held_len.take().unwrap_or(0);
        self.mux.packet(&self.held[..len], end, true)?;
        self.mux.finish()
    }
}
