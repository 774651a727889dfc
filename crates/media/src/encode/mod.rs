//! Encoders: the end of the pipeline, where PCM becomes a file people download, stream or
//! archive. Each format is a [`PcmSink`] in its own module (WAV, FLAC, MP3, Opus in Ogg
//! or WebM) that takes interleaved `f32` blocks of any length, keeps a fixed amount of
//! state whatever the stream's length, and writes to an [`Output`].
//!
//! [`encoder_for`] builds the right one from a [`Preset`]: the studios name a preset,
//! never a codec setting, so a file made by the music studio and one made by the recital
//! studio with the same preset are encoded the same way.
//!
//! An [`Output`] is either seekable (a file: headers get exact lengths, durations and
//! checksums when the encoder finishes) or a plain stream (a pipe or an upload: every
//! format still plays, and headers say "length unknown" where the format allows it).
//! Knowing this up front is why encoders take an `Output` rather than any `Write`.

pub mod flac;
pub mod mp3;
pub mod ogg;
pub mod opus;
pub mod wav;
pub mod webm;

use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use crate::presets::{Codec, OpusContainer, Preset};
use crate::{AudioSpec, MediaError, PcmSink, Result};

/// A writer that can also seek: files, `Cursor<Vec<u8>>`.
pub trait WriteSeek: Write + Seek + Send {}
impl<T: Write + Seek + Send> WriteSeek for T {}

/// Where an encoder writes its bytes.
pub enum Output {
    /// A file or buffer: the encoder goes back at the end to write exact lengths.
    Seekable(Box<dyn WriteSeek>),
    /// A pipe or an upload stream, written strictly front to back.
    Stream(Box<dyn Write + Send>),
}

impl Output {
    pub fn seekable(w: impl Write + Seek + Send + 'static) -> Output {
        Output::Seekable(Box::new(w))
    }

    pub fn stream(w: impl Write + Send + 'static) -> Output {
        Output::Stream(Box::new(w))
    }
}

/// Builds the encoder a preset asks for. `input` must already be the preset's
/// [`Preset::output_spec`] of the source: resampling and remixing happen before the
/// encoder, once, for every output that shares them.
pub fn encoder_for(preset: &Preset, input: AudioSpec, out: Output) -> Result<Box<dyn PcmSink>> {
    check_spec(input)?;
    let wanted = preset.output_spec(input);
    if wanted.sample_rate != input.sample_rate {
        return Err(MediaError::setting(
            "sample_rate",
            format!(
                "preset `{}` encodes at {} Hz; resample the {} Hz input first",
                preset.name, wanted.sample_rate, input.sample_rate
            ),
        ));
    }
    if wanted.channels != input.channels {
        return Err(MediaError::setting(
            "channels",
            format!(
                "preset `{}` encodes {} channel(s); remix the {}-channel input first",
                preset.name, wanted.channels, input.channels
            ),
        ));
    }
    Ok(match preset.codec {
        Codec::Wav { bits } => Box::new(wav::WavEncoder::new(out, input, bits)?),
        Codec::Flac { bits } => Box::new(flac::FlacEncoder::new(out, input, bits.resolve())?),
        Codec::Mp3 { mode } => Box::new(mp3::Mp3Encoder::new(out, input, mode)?),
        Codec::Opus {
            settings,
            container,
        } => match container {
            OpusContainer::Ogg => Box::new(opus::OpusEncoder::new(
                input,
                settings,
                ogg::OggMux::new(out),
            )?),
            OpusContainer::WebM => Box::new(opus::OpusEncoder::new(
                input,
                settings,
                webm::WebmMux::new(out),
            )?),
        },
    })
}

/// Rejects specs no encoder can take. `AudioSpec`'s fields are public, so a spec may not
/// have gone through `AudioSpec::new`.
pub(crate) fn check_spec(spec: AudioSpec) -> Result<()> {
    if spec.channels == 0 {
        return Err(MediaError::setting(
            "channels",
            "0 channels: nothing to encode",
        ));
    }
    if spec.sample_rate == 0 {
        return Err(MediaError::setting("sample_rate", "a sample rate of 0 Hz"));
    }
    Ok(())
}

/// Checks that a block holds whole frames; a torn frame would swap channels for the rest
/// of the file, so it is refused rather than carried over.
pub(crate) fn check_block(samples: &[f32], channels: u16) -> Result<()> {
    if !samples.len().is_multiple_of(channels as usize) {
        return Err(MediaError::setting(
            "samples",
            format!(
                "a block of {} samples is not a whole number of {}-channel frames",
                samples.len(),
                channels
            ),
        ));
    }
    Ok(())
}

pub(crate) fn finished_error() -> MediaError {
    MediaError::Encode("the encoder was already finished".into())
}

/// Converts a sample to a signed integer of `bits` bits. Rounds rather than dithers: the
/// integer formats here are archives of audio that usually came from integers of that
/// width, and rounding gives those back exactly. NaN becomes silence.
#[inline]
pub(crate) fn to_int(x: f32, bits: u8) -> i32 {
    let scale = (1i64 << (bits - 1)) as f32;
    let max = scale - 1.0;
    // `clamp` keeps NaN and `as` turns NaN into 0.
    (x * scale).round().clamp(-scale, max) as i32
}

/// A sample a lossy codec can take: NaN becomes silence and infinities full scale, since
/// one of them in a filter's state would spoil everything after it.
#[inline]
pub(crate) fn sane(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else if x.is_nan() {
        0.0
    } else {
        x.signum()
    }
}

/// Buffered writer that knows its position and can go back to patch a header when the
/// output is seekable.
pub(crate) struct Out {
    inner: Inner,
    pos: u64,
}

enum Inner {
    Seekable(BufWriter<Box<dyn WriteSeek>>),
    Stream(BufWriter<Box<dyn Write + Send>>),
}

impl Out {
    pub(crate) fn new(out: Output) -> Out {
        let inner = match out {
            Output::Seekable(w) => Inner::Seekable(BufWriter::with_capacity(64 * 1024, w)),
            Output::Stream(w) => Inner::Stream(BufWriter::with_capacity(64 * 1024, w)),
        };
        Out { inner, pos: 0 }
    }

    pub(crate) fn is_seekable(&self) -> bool {
        matches!(self.inner, Inner::Seekable(_))
    }

    /// Bytes written so far: the offset of the next byte.
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            Inner::Seekable(w) => w.write_all(bytes)?,
            Inner::Stream(w) => w.write_all(bytes)?,
        }
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Overwrites bytes already written at `at`, then returns to the end. Returns
    /// `false` (and writes nothing) on a stream.
    pub(crate) fn patch(&mut self, at: u64, bytes: &[u8]) -> io::Result<bool> {
        debug_assert!(at + bytes.len() as u64 <= self.pos);
        match &mut self.inner {
            Inner::Seekable(w) => {
                w.seek(SeekFrom::Start(at))?;
                w.write_all(bytes)?;
                w.seek(SeekFrom::Start(self.pos))?;
                Ok(true)
            }
            Inner::Stream(_) => Ok(false),
        }
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Seekable(w) => w.flush(),
            Inner::Stream(w) => w.flush(),
        }
    }
}

/// `io::Write` over an [`Out`], for crates that write through a `Write`.
impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Out::flush(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_int_rounds_and_clamps() {
        assert_eq!(to_int(0.0, 16), 0);
        assert_eq!(to_int(1.0, 16), 32767);
        assert_eq!(to_int(-1.0, 16), -32768);
        assert_eq!(to_int(2.0, 24), 8_388_607);
        assert_eq!(to_int(-7.0, 24), -8_388_608);
        assert_eq!(to_int(f32::NAN, 16), 0);
        assert_eq!(to_int(100.0 / 32768.0, 16), 100);
        assert_eq!(to_int(-12345.0 / 8_388_608.0, 24), -12345);
    }

    /// A seekable buffer the test can still read after handing it to an `Output`.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<io::Cursor<Vec<u8>>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Shared {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.0.lock().unwrap().seek(pos)
        }
    }

    #[test]
    fn patch_goes_back_and_returns() {
        let buf = Shared::default();
        let mut out = Out::new(Output::seekable(buf.clone()));
        out.write_all(b"hello world").unwrap();
        assert!(out.patch(0, b"J").unwrap());
        out.write_all(b"!").unwrap();
        out.flush().unwrap();
        assert_eq!(out.position(), 12);
        assert_eq!(buf.0.lock().unwrap().get_ref().as_slice(), b"Jello world!");
    }

    #[test]
    fn stream_cannot_patch() {
        let mut out = Out::new(Output::stream(Vec::new()));
        out.write_all(b"abc").unwrap();
        assert!(!out.patch(0, b"x").unwrap());
    }
}
