//! Decoding any audio users bring to interleaved `f32`, one packet at a time: symphonia
//! demuxes every container (WAV, AIFF, FLAC, MP3, MP4/M4A, Ogg, Matroska/WebM, CAF) and
//! decodes most codecs; Opus, which symphonia lacks, goes to `opus-pure` (a pure-Rust port
//! of libopus whose 48 kHz output matches libopus's to float rounding). Browser WebM with
//! unknown sizes and no cues decodes to its end because we never seek.
//!
//! Hostile input is bounded: specs are checked against [`crate::pcm`] limits, decoding
//! stops with [`MediaError::Limit`] past [`DecodeLimits::max_seconds`], and a stream where
//! most packets fail is refused rather than returned as noise.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::TimeBase;

use crate::pcm::{AudioSpec, PcmSource};
use crate::{MediaError, Result};

/// Bounds on what one decode may cost.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Longest audio we decode; a tiny file claiming more is a decompression bomb.
    pub max_seconds: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_seconds: 12.0 * 3600.0,
        }
    }
}

enum Codec {
    Symphonia(Box<dyn AudioDecoder>),
    Opus {
        /// Boxed: the decoder keeps its state inline (about 10 KB).
        decoder: Box<opus_pure::OpusDecoder>,
        channels: usize,
        /// Samples per channel still to drop at the start (the encoder's pre-skip).
        skip: usize,
    },
}

/// A decoding stream over one audio track; a [`PcmSource`].
pub struct Decoder {
    reader: Box<dyn FormatReader>,
    track_id: u32,
    codec: Codec,
    spec: AudioSpec,
    container: String,
    codec_name: String,
    bits_per_sample: Option<u32>,
    total_frames: Option<u64>,
    block: Vec<f32>,
    decoded_frames: u64,
    max_frames: u64,
    packets: u64,
    bad_packets: u64,
    truncated: bool,
    /// Whether the container's own structure ends exactly where the data ends
    /// (Matroska/WebM and MP4 only; see [`Decoder::open`]): `Some(true)` makes running out
    /// of data the end of the stream, `Some(false)` makes any end a cut.
    ends_whole: Option<bool>,
    time_base: Option<TimeBase>,
    done: bool,
}

/// Largest sample value passed on (+6 dBFS).
pub const MAX_SAMPLE: f32 = 2.0;

/// Largest Opus packet duration: 120 ms at 48 kHz.
const OPUS_MAX_FRAMES: usize = 5760;

impl Decoder {
    /// Opens a file, using its extension as a hint (the content decides).
    pub fn open_path(path: &Path) -> Result<Decoder> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Err(MediaError::Empty(format!(
                "{} has no bytes",
                path.display()
            )));
        }
        let ext = path.extension().and_then(|e| e.to_str());
        Decoder::open(Box::new(file), ext, DecodeLimits::default())
    }

    /// Opens bytes in memory (uploads, tests, fuzzing).
    pub fn open_bytes(bytes: Vec<u8>, ext: Option<&str>) -> Result<Decoder> {
        if bytes.is_empty() {
            return Err(MediaError::Empty("no bytes were given".into()));
        }
        Decoder::open(Box::new(Cursor::new(bytes)), ext, DecodeLimits::default())
    }

    /// Opens shared bytes in memory, so they can be opened again without a copy.
    pub(crate) fn open_shared(bytes: Arc<[u8]>, ext: Option<&str>) -> Result<Decoder> {
        if bytes.is_empty() {
            return Err(MediaError::Empty("no bytes were given".into()));
        }
        Decoder::open(Box::new(Cursor::new(bytes)), ext, DecodeLimits::default())
    }

    /// Opens any seekable source (or a plain stream, which is read front to back).
    ///
    /// The recorder formats are first walked by their structure (headers only), because
    /// their demuxers cannot tell a whole file from a cut one. A Matroska/WebM file with a
    /// Segment and Clusters of unknown size, as MediaRecorder and ffmpeg write to a pipe,
    /// can only end by running out of data; the element walk (the chunk walker of
    /// [`crate::concat`]) tells whether that happened between elements (whole) or inside
    /// one (cut). A fragmented MP4 (Safari) ends, for symphonia, at the first fragment it
    /// cannot read, silently; the walk of its top-level boxes tells whether the last one
    /// is complete. Only a cut file is [`Decoder::truncated`].
    pub fn open(
        mut source: Box<dyn MediaSource>,
        ext: Option<&str>,
        limits: DecodeLimits,
    ) -> Result<Decoder> {
        let ends_whole = structure_ends_whole(source.as_mut())?;
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let reader = contain(|| {
            symphonia::default::get_probe().probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
        })
        .map_err(|e| match e {
            // A reader recognised the file but its header or index ends early: a cut
            // upload (an AIFF or CAF cut in its chunks, an MP4 or Matroska file cut before
            // the `moov` or Segment that a seekable writer puts last).
            SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                MediaError::Corrupt(
                    "the file ends inside its header: the upload may have been cut off".into(),
                )
            }
            SymError::Unsupported(what) if what.contains("missing") => {
                MediaError::Corrupt(format!(
                    "the file's structure is incomplete ({what}): the upload may have been cut off"
                ))
            }
            SymError::IoError(_) | SymError::Unsupported(_) => MediaError::Unsupported(
                "no audio format was recognised in this file (is it audio at all?); \
                     we read WAV, AIFF, FLAC, MP3, AAC/M4A, Ogg Vorbis/Opus, WebM/Matroska and CAF"
                    .into(),
            ),
            other => unsupported(other),
        })?;
        let mut decoder = Decoder::from_reader(reader, limits)?;
        decoder.ends_whole = ends_whole;
        Ok(decoder)
    }

    fn from_reader(reader: Box<dyn FormatReader>, limits: DecodeLimits) -> Result<Decoder> {
        let container = reader.format_info().short_name.to_string();
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or_else(|| MediaError::Empty(format!("the {container} file has no audio track")))?;
        let track_id = track.id;
        let total_frames = track.num_frames;
        let time_base = track.time_base;
        let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
            return Err(MediaError::Unsupported(
                "the audio track has no codec parameters".into(),
            ));
        };
        let channels = params
            .channels
            .as_ref()
            .map(|c| c.count() as u16)
            .ok_or_else(|| {
                MediaError::Corrupt("the audio track does not say how many channels it has".into())
            })?;
        let bits_per_sample = params.bits_per_sample;
        let (codec, spec, codec_name) = if params.codec == CODEC_ID_OPUS {
            let spec = AudioSpec::new(48_000, channels)?;
            if !matches!(channels, 1 | 2) {
                return Err(MediaError::Unsupported(format!(
                    "Opus with {channels} channels (multistream) is not supported; use mono or stereo"
                )));
            }
            let decoder = opus_pure::OpusDecoder::new(48_000, channels as usize)
                .map_err(|e| MediaError::Corrupt(format!("cannot start the Opus decoder: {e}")))?;
            let skip = params
                .extra_data
                .as_deref()
                .filter(|head| head.len() >= 12 && head.starts_with(b"OpusHead"))
                .map(|head| u16::from_le_bytes([head[10], head[11]]) as usize)
                .unwrap_or(0);
            (
                Codec::Opus {
                    decoder: Box::new(decoder),
                    channels: channels as usize,
                    skip,
                },
                spec,
                "opus".to_string(),
            )
        } else {
            let rate = params.sample_rate.ok_or_else(|| {
                MediaError::Corrupt("the audio track does not say its sample rate".into())
            })?;
            let spec = AudioSpec::new(rate, channels)?;
            let registry = symphonia::default::get_codecs();
            let name = registry
                .get_audio_decoder(params.codec)
                .map(|d| d.codec.info.short_name.to_string())
                .unwrap_or_else(|| format!("{:?}", params.codec));
            let decoder = registry
                .make_audio_decoder(&params, &AudioDecoderOptions::default())
                .map_err(unsupported)?;
            (Codec::Symphonia(decoder), spec, name)
        };
        let max_frames = (limits.max_seconds * spec.sample_rate as f64) as u64;
        if total_frames.is_some_and(|n| n > max_frames) {
            return Err(MediaError::Limit(format!(
                "the file says it lasts {:.0} hours; the limit is {:.0} hours",
                spec.seconds(total_frames.unwrap_or(0)) / 3600.0,
                limits.max_seconds / 3600.0
            )));
        }
        Ok(Decoder {
            reader,
            track_id,
            codec,
            spec,
            container,
            codec_name,
            bits_per_sample,
            total_frames,
            block: Vec::with_capacity(OPUS_MAX_FRAMES * channels as usize),
            decoded_frames: 0,
            max_frames,
            packets: 0,
            bad_packets: 0,
            truncated: false,
            ends_whole: None,
            time_base,
            done: false,
        })
    }

    /// The container's short name (`wav`, `flac`, `ogg`, `mkv` …).
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The codec's short name (`pcm_s16le`, `flac`, `opus` …).
    pub fn codec(&self) -> &str {
        &self.codec_name
    }

    pub fn bits_per_sample(&self) -> Option<u32> {
        self.bits_per_sample
    }

    /// Frames decoded so far.
    pub fn decoded_frames(&self) -> u64 {
        self.decoded_frames
    }

    /// Whether the data ended in the middle of a packet (an upload cut short); what came
    /// before was decoded.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The container, for metadata and cover art.
    pub fn reader_mut(&mut self) -> &mut dyn FormatReader {
        self.reader.as_mut()
    }

    /// Reads the rest of the container's packets without decoding them and adds up their
    /// playable lengths (durations less trims), in frames. `None` when that cannot be
    /// told: the data ends inside a packet (a cut upload), the container fails, or it
    /// gives no timebase. Cheap next to decoding: what [`crate::probe`] uses to check a
    /// header's length against what the file really holds.
    pub(crate) fn count_packets(&mut self) -> Option<u64> {
        let time_base = self.time_base?;
        let mut ticks = 0u64;
        loop {
            let reader = &mut self.reader;
            match contain(|| reader.next_packet()) {
                Ok(Some(packet)) if packet.track_id == self.track_id => {
                    let trims = packet.trim_start.get() + packet.trim_end.get();
                    ticks = ticks.saturating_add(packet.dur.get().saturating_sub(trims));
                }
                Ok(Some(_)) => {}
                Ok(None) if self.ends_whole == Some(false) => return None,
                Ok(None) => break,
                Err(SymError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof
                        && self.ends_whole == Some(true) =>
                {
                    break;
                }
                Err(_) => return None,
            }
        }
        self.done = true;
        let frames = u128::from(ticks)
            * u128::from(time_base.numer.get())
            * u128::from(self.spec.sample_rate)
            / u128::from(time_base.denom.get());
        Some(frames.min(u64::MAX as u128) as u64)
    }

    /// The data ends where it should not: what decoded so far is all there is.
    fn cut_off(&mut self) -> Result<bool> {
        if self.decoded_frames == 0 {
            return Err(MediaError::Corrupt(
                "the file ends before any audio: the upload may have been cut off".into(),
            ));
        }
        self.truncated = true;
        Ok(false)
    }

    fn decode_next(&mut self) -> Result<bool> {
        loop {
            let reader = &mut self.reader;
            let packet = match contain(|| reader.next_packet()) {
                Ok(Some(packet)) => packet,
                Ok(None) if self.ends_whole == Some(false) => return self.cut_off(),
                Ok(None) => return Ok(false),
                Err(SymError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof
                        && self.ends_whole == Some(true) =>
                {
                    return Ok(false);
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return self.cut_off();
                }
                // The file is known to be cut: a demuxer that stumbles over the missing
                // end (an MP4 sample table pointing past it) has met the cut.
                Err(_) if self.ends_whole == Some(false) => {
                    return self.cut_off();
                }
                Err(SymError::ResetRequired) => return Ok(false),
                Err(e) => return Err(corrupt(e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            self.packets += 1;
            let decoded = match &mut self.codec {
                Codec::Symphonia(decoder) => match contain(|| {
                    decoder
                        .decode(&packet)
                        .map(|buffer| buffer.copy_to_vec_interleaved(&mut self.block))
                }) {
                    Ok(()) => true,
                    Err(SymError::DecodeError(_)) => false,
                    Err(e) => return Err(corrupt(e)),
                },
                Codec::Opus {
                    decoder,
                    channels,
                    skip,
                } => {
                    self.block.resize(OPUS_MAX_FRAMES * *channels, 0.0);
                    // The decoder is Rust but still a port of C full of index
                    // arithmetic: a panic on a damaged packet counts as a bad packet.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        decoder.decode(&packet.data, OPUS_MAX_FRAMES, &mut self.block)
                    }));
                    match result {
                        Ok(Ok(frames)) => {
                            // Ogg's demuxer already turns pre-skip and end padding into
                            // packet trims; Matroska's does not, so OpusHead's pre-skip
                            // is applied by hand there.
                            let trim_start = packet.trim_start.get() as usize;
                            if trim_start > 0 {
                                *skip = 0;
                            }
                            let trim_end = (packet.trim_end.get() as usize).min(frames);
                            let keep = frames - trim_end;
                            self.block.truncate(keep * *channels);
                            let drop = (trim_start + *skip).min(keep);
                            if drop > 0 {
                                self.block.drain(..drop * *channels);
                                *skip = skip.saturating_sub(drop);
                            }
                            true
                        }
                        Ok(Err(_)) => false,
                        Err(_) => {
                            // Its state may be half-updated: start the next packet afresh.
                            let _ = decoder.reset_state();
                            false
                        }
                    }
                }
            };
            if !decoded {
                self.bad_packets += 1;
                if self.bad_packets > 8 && self.bad_packets * 2 > self.packets {
                    return Err(MediaError::Corrupt(format!(
                        "{} of {} packets could not be decoded: the file is damaged",
                        self.bad_packets, self.packets
                    )));
                }
                continue;
            }
            // A damaged stream can decode to NaN, infinities or noise far past full
            // scale (fuzzing found MPEG and AAC garbage at +124 dBFS); none of it may reach
            // encoders and meters. ±2.0 keeps the real overshoot of lossy decodes.
            for s in &mut self.block {
                *s = if s.is_finite() {
                    s.clamp(-MAX_SAMPLE, MAX_SAMPLE)
                } else {
                    0.0
                };
            }
            let frames = (self.block.len() / self.spec.channels as usize) as u64;
            self.decoded_frames += frames;
            if self.decoded_frames > self.max_frames {
                return Err(MediaError::Limit(format!(
                    "the audio goes on past the {:.0}-hour limit",
                    self.max_frames as f64 / self.spec.sample_rate as f64 / 3600.0
                )));
            }
            if frames > 0 {
                return Ok(true);
            }
        }
    }
}

impl PcmSource for Decoder {
    fn spec(&self) -> AudioSpec {
        self.spec
    }

    fn read(&mut self) -> Result<Option<&[f32]>> {
        if self.done {
            return Ok(None);
        }
        if self.decode_next()? {
            Ok(Some(&self.block))
        } else {
            self.done = true;
            Ok(None)
        }
    }

    fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }
}

/// For a seekable Matroska/WebM or MP4 source, whether its structure ends exactly where
/// its data ends (see [`Decoder::open`]); `None` for other sources or a structure that
/// cannot be walked. Leaves the source at its start.
fn structure_ends_whole(source: &mut dyn MediaSource) -> Result<Option<bool>> {
    let Some(len) = source.byte_len().filter(|_| source.is_seekable()) else {
        return Ok(None);
    };
    let mut head = [0u8; 8];
    let read = source.read_exact(&mut head).is_ok();
    source.seek(SeekFrom::Start(0))?;
    if !read {
        return Ok(None);
    }
    let whole = if u32::from_be_bytes([head[0], head[1], head[2], head[3]]) == crate::ebml::EBML {
        crate::concat::webm::ends_whole(&mut *source, len)
    } else if &head[4..8] == b"ftyp" {
        mp4_ends_whole(&mut *source, len)
    } else {
        None
    };
    source.seek(SeekFrom::Start(0))?;
    Ok(whole)
}

/// Whether an MP4's top-level boxes (ISO/IEC 14496-12 §4.2: a 32-bit size, or 1 and a
/// 64-bit size after the type, or 0 for "to the end") end exactly at `len`. `None` when
/// a size is impossible (below the box's own header).
fn mp4_ends_whole<R: Read + Seek>(mut source: R, len: u64) -> Option<bool> {
    let mut at = 0u64;
    while at < len {
        let mut header = [0u8; 16];
        let avail = (len - at).min(16) as usize;
        source.seek(SeekFrom::Start(at)).ok()?;
        source.read_exact(&mut header[..avail]).ok()?;
        if avail < 8 {
            return Some(false);
        }
        let size = u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) as u64;
        let (size, header_len) = match size {
            0 => return Some(true),
            1 if avail < 16 => return Some(false),
            1 => (
                u64::from_be_bytes(header[8..16].try_into().expect("8 bytes")),
                16,
            ),
            n => (n, 8),
        };
        if size < header_len {
            return None;
        }
        at = at.checked_add(size)?;
    }
    Some(at == len)
}

/// Runs a symphonia call, turning a panic inside it into a decode error: a damaged file
/// must never take the process down, even through a bug in a dependency (fuzzing found
/// one in the MS ADPCM decoder).
fn contain<T>(f: impl FnOnce() -> Result<T, SymError>) -> Result<T, SymError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(SymError::DecodeError(
        "the decoder failed on damaged data",
    )))
}

fn unsupported(e: SymError) -> MediaError {
    match e {
        SymError::Unsupported(what) => MediaError::Unsupported(format!(
            "this file uses something we cannot read ({what}); convert it to WAV, FLAC or MP3"
        )),
        SymError::LimitError(what) => {
            MediaError::Limit(format!("the file exceeds a safety limit ({what})"))
        }
        other => corrupt(other),
    }
}

fn corrupt(e: SymError) -> MediaError {
    match e {
        SymError::IoError(e) => MediaError::Io(e),
        SymError::LimitError(what) => {
            MediaError::Limit(format!("the file exceeds a safety limit ({what})"))
        }
        SymError::Unsupported(what) => {
            MediaError::Unsupported(format!("unsupported feature: {what}"))
        }
        other => MediaError::Corrupt(format!("the file is damaged: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::mp4_ends_whole;

    fn mp4_box(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut b = ((8 + body) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.resize(8 + body, 0);
        b
    }

    #[test]
    fn an_mp4_is_whole_when_its_last_box_ends_with_the_data() {
        let mut file = mp4_box(b"ftyp", 16);
        file.extend(mp4_box(b"moov", 100));
        file.extend(mp4_box(b"moof", 40));
        file.extend(mp4_box(b"mdat", 1000));
        let whole = |b: &[u8]| mp4_ends_whole(Cursor::new(b), b.len() as u64);
        assert_eq!(whole(&file), Some(true));
        for cut in [1, 7, 23, 25, 30, 200, file.len() - 1] {
            assert_eq!(whole(&file[..cut]), Some(false), "cut at {cut}");
        }
        // A 64-bit size, and a last box "to the end of the file".
        let mut large = mp4_box(b"ftyp", 16);
        large.extend_from_slice(&1u32.to_be_bytes());
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&(16u64 + 10).to_be_bytes());
        large.extend_from_slice(&[0; 10]);
        assert_eq!(whole(&large), Some(true));
        let mut open_ended = mp4_box(b"ftyp", 16);
        open_ended.extend_from_slice(&[0, 0, 0, 0, b'm', b'd', b'a', b't', 1, 2, 3]);
        assert_eq!(whole(&open_ended), Some(true));
        assert_eq!(
            whole(&[0, 0, 0, 4, b'f', b't', b'y', b'p']),
            None,
            "size below header"
        );
    }
}
