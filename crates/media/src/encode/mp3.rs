//! MP3 through LAME (`mp3lame-encoder`, which builds LAME from source): the download
//! format that plays on anything, VBR (`-V0` … `-V9`) or CBR.
//!
//! LAME adds 576 + 529 = 1105 samples of priming delay and pads the end to a whole
//! 1152-sample frame. On a seekable output the first frame is rewritten at the end as
//! the LAME/Xing tag, which records that delay and padding (gapless decoders, ffmpeg
//! included, trim both so the decoded length is exact), the frame count and a seek
//! table. On a stream no tag is written: a placeholder tag that is never filled in would
//! tell players the file has no frames.

use mp3lame_encoder::{
    Bitrate, Builder, Encoder, FlushGap, InterleavedPcm, Mode, MonoPcm, Quality, VbrMode,
};

use super::{Out, Output, check_block, check_spec, finished_error, sane};
use crate::presets::Mp3Mode;
use crate::{AudioSpec, MediaError, PcmSink, Result};

/// The sample rates MPEG-1, 2 and 2.5 layer III can carry.
pub const RATES: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];
/// Frames handed to LAME per call, which bounds the output buffer.
const CHUNK_FRAMES: usize = 8192;

pub struct Mp3Encoder {
    out: Out,
    spec: AudioSpec,
    lame: Encoder,
    /// Output of one call (LAME writes into its spare capacity, which must hold its worst
    /// case of 1.25 × samples + 7200 bytes).
    buf: Vec<u8>,
    /// The input chunk with non-finite samples replaced.
    input: Vec<f32>,
    wrote_audio: bool,
    finished: bool,
}

impl Mp3Encoder {
    pub fn new(out: Output, spec: AudioSpec, mode: Mp3Mode) -> Result<Mp3Encoder> {
        check_spec(spec)?;
        if spec.channels > 2 {
            return Err(MediaError::setting(
                "channels",
                format!(
                    "MP3 holds mono or stereo; downmix the {} channels first",
                    spec.channels
                ),
            ));
        }
        if !RATES.contains(&spec.sample_rate) {
            return Err(MediaError::setting(
                "sample_rate",
                format!(
                    "MP3 cannot carry {} Hz; resample to one of {RATES:?}",
                    spec.sample_rate
                ),
            ));
        }
        let lame_err = |what: &str, e: mp3lame_encoder::BuildError| {
            MediaError::Encode(format!("MP3 encoder setting {what}: {e}"))
        };
        let mut b =
            Builder::new().ok_or_else(|| MediaError::Encode("LAME: out of memory".into()))?;
        b.set_num_channels(spec.channels as u8)
            .map_err(|e| lame_err("channels", e))?;
        b.set_sample_rate(spec.sample_rate)
            .map_err(|e| lame_err("sample rate", e))?;
        // Pin the output rate: left alone, LAME resamples low-bitrate settings down.
        b.set_output_sample_rate(std::num::NonZeroU32::new(spec.sample_rate))
            .map_err(|e| lame_err("output sample rate", e))?;
        b.set_mode(if spec.channels == 1 {
            Mode::Mono
        } else {
            Mode::JointStereo
        })
        .map_err(|e| lame_err("mode", e))?;
        match mode {
            Mp3Mode::Vbr { quality } => {
                let q = quality_of(quality).ok_or_else(|| {
                    MediaError::setting(
                        "quality",
                        format!("MP3 VBR quality runs from 0 (best) to 9, not {quality}"),
                    )
                })?;
                b.set_vbr_mode(VbrMode::Mtrh)
                    .map_err(|e| lame_err("VBR mode", e))?;
                b.set_vbr_quality(q)
                    .map_err(|e| lame_err("VBR quality", e))?;
            }
            Mp3Mode::Cbr { kbps } => {
                let rate = bitrate_of(kbps).ok_or_else(|| {
                    MediaError::setting(
                        "bitrate",
                        format!(
                            "{kbps} kbit/s is not an MP3 bitrate; use one of 8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320"
                        ),
                    )
                })?;
                b.set_vbr_mode(VbrMode::Off)
                    .map_err(|e| lame_err("CBR mode", e))?;
                b.set_brate(rate).map_err(|e| lame_err("bitrate", e))?;
            }
        }
        let out = Out::new(out);
        b.set_to_write_vbr_tag(out.is_seekable())
            .map_err(|e| lame_err("tag", e))?;
        let lame = b.build().map_err(|e| {
            MediaError::Encode(format!(
                "LAME refused {} Hz, {} channel(s) with {mode:?}: {e}",
                spec.sample_rate, spec.channels
            ))
        })?;
        Ok(Mp3Encoder {
            out,
            spec,
            lame,
            buf: Vec::with_capacity(CHUNK_FRAMES * 2 * 5 / 4 + 7200),
            input: Vec::with_capacity(CHUNK_FRAMES * 2),
            wrote_audio: false,
            finished: false,
        })
    }
}

fn quality_of(q: u8) -> Option<Quality> {
    Some(match q {
        0 => Quality::Best,
        1 => Quality::SecondBest,
        2 => Quality::NearBest,
        3 => Quality::VeryNice,
        4 => Quality::Nice,
        5 => Quality::Good,
        6 => Quality::Decent,
        7 => Quality::Ok,
        8 => Quality::SecondWorst,
        9 => Quality::Worst,
        _ => return None,
    })
}

fn bitrate_of(kbps: u16) -> Option<Bitrate> {
    use Bitrate::*;
    Some(match kbps {
        8 => Kbps8,
        16 => Kbps16,
        24 => Kbps24,
        32 => Kbps32,
        40 => Kbps40,
        48 => Kbps48,
        64 => Kbps64,
        80 => Kbps80,
        96 => Kbps96,
        112 => Kbps112,
        128 => Kbps128,
        160 => Kbps160,
        192 => Kbps192,
        224 => Kbps224,
        256 => Kbps256,
        320 => Kbps320,
        _ => return None,
    })
}

fn lame_error(e: mp3lame_encoder::EncodeError) -> MediaError {
    MediaError::Encode(format!("LAME: {e}"))
}

impl PcmSink for Mp3Encoder {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        check_block(samples, self.spec.channels)?;
        let channels = self.spec.channels as usize;
        for chunk in samples.chunks(CHUNK_FRAMES * channels) {
            self.buf.clear();
            self.buf.reserve(chunk.len() * 5 / 4 + 7200);
            self.input.clear();
            self.input.extend(chunk.iter().map(|&x| sane(x)));
            if channels == 1 {
                self.lame.encode_to_vec(MonoPcm(&self.input), &mut self.buf)
            } else {
                self.lame
                    .encode_to_vec(InterleavedPcm(&self.input), &mut self.buf)
            }
            .map_err(lame_error)?;
            self.out.write_all(&self.buf)?;
        }
        self.wrote_audio |= !samples.is_empty();
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        if !self.wrote_audio {
            // LAME makes no whole frame of nothing, and an MP3 without frames is not a
            // file any player opens; one silent sample makes it one (decoded length 1).
            let silence = [0.0f32; 2];
            self.write(&silence[..self.spec.channels as usize])?;
        }
        self.finished = true;
        self.buf.clear();
        self.buf.reserve(7200);
        self.lame
            .flush_to_vec::<FlushGap>(&mut self.buf)
            .map_err(lame_error)?;
        self.out.write_all(&self.buf)?;
        if self.out.is_seekable() {
            self.buf.clear();
            self.buf.reserve(self.lame.lame_tag_size());
            if self.lame.lame_tag_encode_to_vec(&mut self.buf).is_some() {
                self.out.patch(0, &self.buf)?;
            }
        }
        self.out.flush()?;
        Ok(())
    }
}
