//! FLAC, the lossless archive format: what the `archive` preset keeps of every upload and
//! recording, so any later rendition can be made again from it.
//!
//! Encoded with `flacenc` (pure Rust) one 4096-frame block at a time through its
//! frame-level API, not its whole-stream one (which keeps every frame in memory). The
//! STREAMINFO block at the front is written first with "unknown" total length, frame
//! sizes and MD5, which the format allows; on a seekable output it is rewritten at the end
//! with the real values, as `flac` does.

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};

use super::{Out, Output, check_block, check_spec, finished_error, to_int};
use crate::{AudioSpec, MediaError, PcmSink, Result};

/// Frames per FLAC block: the reference encoder's default from level 3 up.
const BLOCK: usize = 4096;
/// STREAMINFO stores the sample rate in 20 bits.
const MAX_RATE: u32 = (1 << 20) - 1;

pub struct FlacEncoder {
    out: Out,
    spec: AudioSpec,
    bits: u8,
    config: Verified<config::Encoder>,
    info: StreamInfo,
    /// Interleaved integer samples of the block being gathered.
    pending: Vec<i32>,
    framebuf: FrameBuf,
    context: Context,
    sink: MemSink<u8>,
    frame_sizes: Option<(usize, usize)>,
    finished: bool,
}

impl FlacEncoder {
    pub fn new(out: Output, spec: AudioSpec, bits: u8) -> Result<FlacEncoder> {
        check_spec(spec)?;
        if bits != 16 && bits != 24 {
            return Err(MediaError::setting(
                "bits",
                format!("FLAC is written with 16 or 24 bits per sample, not {bits}"),
            ));
        }
        if spec.channels > 8 {
            return Err(MediaError::setting(
                "channels",
                format!("FLAC holds at most 8 channels, not {}", spec.channels),
            ));
        }
        if spec.sample_rate > MAX_RATE {
            return Err(MediaError::setting(
                "sample_rate",
                format!(
                    "FLAC holds sample rates up to {MAX_RATE} Hz, not {}",
                    spec.sample_rate
                ),
            ));
        }
        let channels = spec.channels as usize;
        let encode_err = |e: flacenc::error::VerifyError| MediaError::Encode(format!("FLAC: {e}"));
        let mut info = StreamInfo::new(spec.sample_rate as usize, channels, bits as usize)
            .map_err(encode_err)?;
        info.set_block_sizes(BLOCK, BLOCK).map_err(encode_err)?;
        // 0 means "unknown" for the frame sizes, total length and MD5 alike.
        info.set_frame_sizes(0, 0).map_err(encode_err)?;
        let config = config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| encode_err(e))?;
        let mut enc = FlacEncoder {
            out: Out::new(out),
            spec,
            bits,
            config,
            info,
            pending: Vec::with_capacity(BLOCK * channels),
            framebuf: FrameBuf::with_size(channels, BLOCK).map_err(encode_err)?,
            context: Context::new(bits as usize, channels),
            sink: MemSink::with_capacity(BLOCK * channels * 32),
            frame_sizes: None,
            finished: false,
        };
        let header = enc.header()?;
        enc.out.write_all(&header)?;
        Ok(enc)
    }

    /// `fLaC` and the STREAMINFO block as they stand now (always 42 bytes).
    fn header(&self) -> Result<Vec<u8>> {
        let stream = Stream::with_stream_info(self.info.clone());
        let mut sink = MemSink::<u8>::with_capacity(42 * 8);
        stream
            .write(&mut sink)
            .map_err(|e| MediaError::Encode(format!("FLAC header: {e}")))?;
        Ok(sink.into_inner())
    }

    /// Encodes the gathered samples (a whole block, or the last, shorter one).
    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        (&mut self.framebuf, &mut self.context)
            .fill_interleaved(&self.pending)
            .map_err(|e| MediaError::Encode(format!("FLAC: {e}")))?;
        self.pending.clear();
        let number = self.context.current_frame_number().unwrap_or(0);
        let frame =
            flacenc::encode_fixed_size_frame(&self.config, &self.framebuf, number, &self.info)
                .map_err(|e| MediaError::Encode(format!("FLAC frame {number}: {e}")))?;
        self.sink.clear();
        frame
            .write(&mut self.sink)
            .map_err(|e| MediaError::Encode(format!("FLAC frame {number}: {e}")))?;
        let size = self.sink.as_slice().len();
        self.frame_sizes = Some(match self.frame_sizes {
            None => (size, size),
            Some((lo, hi)) => (lo.min(size), hi.max(size)),
        });
        self.out.write_all(self.sink.as_slice())?;
        Ok(())
    }
}

impl PcmSink for FlacEncoder {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        check_block(samples, self.spec.channels)?;
        let block_samples = BLOCK * self.spec.channels as usize;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (block_samples - self.pending.len()).min(rest.len());
            let bits = self.bits;
            self.pending
                .extend(rest[..take].iter().map(|&x| to_int(x, bits)));
            rest = &rest[take..];
            if self.pending.len() == block_samples {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        self.finished = true;
        self.encode_pending()?;
        if self.out.is_seekable() {
            let (lo, hi) = self.frame_sizes.unwrap_or((0, 0));
            let encode_err =
                |e: flacenc::error::VerifyError| MediaError::Encode(format!("FLAC: {e}"));
            self.info.set_frame_sizes(lo, hi).map_err(encode_err)?;
            self.info.set_total_samples(self.context.total_samples());
            self.info.set_md5_digest(&self.context.md5_digest());
            let header = self.header()?;
            self.out.patch(0, &header)?;
        }
        self.out.flush()?;
        Ok(())
    }
}
