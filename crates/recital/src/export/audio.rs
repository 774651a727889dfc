//! The one conversion an export does: a stored clip (Opus in Ogg, 48 kHz) to the WAV
//! LJSpeech tools expect, through the media engine's pipeline.

use std::io::{Cursor, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use tutti_media::MediaError;
use tutti_media::decode::Decoder;
use tutti_media::encode::Output;
use tutti_media::presets::{ChannelRule, Codec, Preset, RateRule};
use tutti_media::transcode::{Target, transcode};

/// LJSpeech's audio: 16-bit PCM WAV, mono, 22,050 Hz.
pub const LJSPEECH_WAV: Preset = Preset {
    name: "ljspeech-wav",
    summary: "16-bit PCM WAV, mono, 22,050 Hz: what LJSpeech-style TTS tools read",
    codec: Codec::Wav { bits: 16 },
    sample_rate: RateRule::Fixed(22_050),
    channels: ChannelRule::Fixed(1),
};

/// A seekable in-memory file the encoder writes and we read back afterwards.
#[derive(Clone, Default)]
pub(super) struct Shared(Arc<Mutex<Cursor<Vec<u8>>>>);

impl Shared {
    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, Cursor<Vec<u8>>>> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("an encoder thread panicked"))
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        match Arc::try_unwrap(self.0) {
            Ok(m) => m.into_inner().map(Cursor::into_inner).unwrap_or_default(),
            Err(shared) => shared
                .lock()
                .map(|c| c.get_ref().clone())
                .unwrap_or_default(),
        }
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Shared {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.lock()?.seek(pos)
    }
}

/// Decodes a stored clip and encodes it as [`LJSPEECH_WAV`]. A clip whose audio ends
/// early is refused rather than exported short.
pub(crate) fn ljspeech_wav(ogg: Vec<u8>) -> Result<Vec<u8>, MediaError> {
    let mut decoder = Decoder::open_bytes(ogg, Some("ogg"))?;
    let file = Shared::default();
    let target = Target {
        preset: LJSPEECH_WAV,
        output: Output::seekable(file.clone()),
    };
    transcode(&mut decoder, vec![target], None, &mut |_| {})?;
    if decoder.truncated() {
        return Err(MediaError::Corrupt(
            "the clip's audio ends in the middle of a page: the stored file is cut".into(),
        ));
    }
    Ok(file.into_bytes())
}
