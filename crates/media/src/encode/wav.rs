//! WAV (RIFF, integer PCM, 16 or 24 bits): the format every audio tool reads, for
//! exports where compatibility beats size.
//!
//! Written by hand rather than with `hound`, because hound needs to seek and a WAV header
//! is 44 to 68 bytes we can write either way: on a seekable output the lengths are filled
//! in at the end; on a stream they say 0xFFFFFFFF ("until the end"), which ffmpeg, sox
//! and browsers read to the end of the data. Formats over 16 bits or 2 channels use
//! `WAVE_FORMAT_EXTENSIBLE`, as Microsoft's rules ask; the channel mask is only given for
//! mono and stereo because the engine does not track speaker layouts.

use super::{Out, Output, check_block, check_spec, finished_error, to_int};
use crate::{AudioSpec, MediaError, PcmSink, Result};

/// A RIFF chunk size is 32 bits; the header takes some of it.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 80;
/// Samples converted per write, so the byte buffer stays small whatever the block size.
const CHUNK_SAMPLES: usize = 16 * 1024;

pub struct WavEncoder {
    out: Out,
    spec: AudioSpec,
    bits: u8,
    header_len: u64,
    data_bytes: u64,
    bytes: Vec<u8>,
    finished: bool,
}

impl WavEncoder {
    pub fn new(out: Output, spec: AudioSpec, bits: u8) -> Result<WavEncoder> {
        check_spec(spec)?;
        if bits != 16 && bits != 24 {
            return Err(MediaError::setting(
                "bits",
                format!("WAV is written with 16 or 24 bits per sample, not {bits}"),
            ));
        }
        let mut enc = WavEncoder {
            out: Out::new(out),
            spec,
            bits,
            header_len: 0,
            data_bytes: 0,
            bytes: Vec::with_capacity(CHUNK_SAMPLES * 3),
            finished: false,
        };
        let header = enc.header(None);
        enc.header_len = header.len() as u64;
        enc.out.write_all(&header)?;
        Ok(enc)
    }

    fn extensible(&self) -> bool {
        self.bits > 16 || self.spec.channels > 2
    }

    /// The header for `data_bytes` of samples, or for an unknown length.
    fn header(&self, data_bytes: Option<u64>) -> Vec<u8> {
        let channels = self.spec.channels;
        let bytes_per_sample = u16::from(self.bits / 8);
        let block_align = channels * bytes_per_sample;
        let fmt_len: u32 = if self.extensible() { 40 } else { 16 };
        let mut h = Vec::with_capacity(68);
        let (riff_len, data_len) = match data_bytes {
            Some(n) => {
                let padded = n + n % 2;
                (4 + 8 + fmt_len as u64 + 8 + padded, n)
            }
            None => (u32::MAX as u64, u32::MAX as u64),
        };
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(riff_len as u32).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&fmt_len.to_le_bytes());
        let format_tag: u16 = if self.extensible() { 0xFFFE } else { 1 };
        h.extend_from_slice(&format_tag.to_le_bytes());
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&self.spec.sample_rate.to_le_bytes());
        h.extend_from_slice(&(self.spec.sample_rate * u32::from(block_align)).to_le_bytes());
        h.extend_from_slice(&block_align.to_le_bytes());
        h.extend_from_slice(&u16::from(self.bits).to_le_bytes());
        if self.extensible() {
            let mask: u32 = match channels {
                1 => 0x4,
                2 => 0x3,
                _ => 0,
            };
            h.extend_from_slice(&22u16.to_le_bytes());
            h.extend_from_slice(&u16::from(self.bits).to_le_bytes());
            h.extend_from_slice(&mask.to_le_bytes());
            // KSDATAFORMAT_SUBTYPE_PCM
            h.extend_from_slice(&[
                0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38,
                0x9B, 0x71,
            ]);
        }
        h.extend_from_slice(b"data");
        h.extend_from_slice(&(data_len as u32).to_le_bytes());
        h
    }
}

impl PcmSink for WavEncoder {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        check_block(samples, self.spec.channels)?;
        let width = u64::from(self.bits / 8);
        if self.data_bytes + samples.len() as u64 * width > MAX_DATA_BYTES {
            return Err(MediaError::Limit(
                "a WAV file holds at most 4 GiB of audio; use FLAC (preset `archive`) for longer recordings"
                    .into(),
            ));
        }
        for chunk in samples.chunks(CHUNK_SAMPLES) {
            self.bytes.clear();
            if self.bits == 16 {
                for &x in chunk {
                    self.bytes
                        .extend_from_slice(&(to_int(x, 16) as i16).to_le_bytes());
                }
            } else {
                for &x in chunk {
                    self.bytes
                        .extend_from_slice(&to_int(x, 24).to_le_bytes()[..3]);
                }
            }
            self.out.write_all(&self.bytes)?;
        }
        self.data_bytes += samples.len() as u64 * width;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        self.finished = true;
        if self.data_bytes % 2 == 1 {
            // RIFF chunks are padded to an even length; the pad is not part of the data.
            self.out.write_all(&[0])?;
        }
        if self.out.is_seekable() {
            let header = self.header(Some(self.data_bytes));
            debug_assert_eq!(header.len() as u64, self.header_len);
            self.out.patch(0, &header)?;
        }
        self.out.flush()?;
        Ok(())
    }
}
