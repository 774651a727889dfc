//! The preset table the studios share. A studio asks for `speech-light` or
//! `music-download`, never for a bitrate: one table decides what each output sounds
//! like, what sample rate and channel layout it has, and what it is called on disk and on
//! the wire, so the same name means the same file everywhere.
//!
//! A preset says what the encoder needs ([`Preset::output_spec`]), and the pipeline
//! resamples and remixes to that before calling [`crate::encode::encoder_for`].

use serde::Serialize;

use crate::{AudioSpec, MediaError, Result};

/// One named way of encoding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preset {
    pub name: &'static str,
    /// One line for people choosing a preset (CLI help, admin pages).
    pub summary: &'static str,
    pub codec: Codec,
    pub sample_rate: RateRule,
    pub channels: ChannelRule,
}

/// The encoder and its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "codec", rename_all = "lowercase")]
pub enum Codec {
    /// PCM WAV, 16 or 24 bits.
    Wav {
        bits: u8,
    },
    /// Lossless FLAC.
    Flac {
        bits: Depth,
    },
    Mp3 {
        mode: Mp3Mode,
    },
    Opus {
        settings: OpusSettings,
        container: OpusContainer,
    },
}

/// Bit depth of a lossless output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    Fixed(u8),
    /// As deep as the source needs: 16 bits for sources of 16 bits or fewer, 24 for
    /// everything else, including lossy and float sources and unknown ones (24 bits keep
    /// a float signal's detail far below audibility; a 16-bit source gains nothing from
    /// more). `known` is the source's depth, set with [`Preset::with_source_depth`].
    Source {
        known: Option<u16>,
    },
}

impl Depth {
    /// The depth the encoder writes.
    pub fn resolve(self) -> u8 {
        match self {
            Depth::Fixed(bits) => bits,
            Depth::Source { known: Some(bits) } if bits <= 16 => 16,
            Depth::Source { .. } => 24,
        }
    }
}

/// MP3 rate control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mp3Mode {
    /// LAME's `-V` quality: 0 (best, ~245 kbps) to 9 (smallest, ~65 kbps).
    Vbr { quality: u8 },
    /// Constant bitrate in kbit/s, one of the MPEG bitrates (8 … 320).
    Cbr { kbps: u16 },
}

/// Opus encoder settings. Frames are always 20 ms: the best quality per bit, and what
/// every player expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpusSettings {
    /// Target bitrate in bit/s (VBR), over all channels.
    pub bitrate: u32,
    pub application: OpusApplication,
    /// 0 (fastest) to 10 (best).
    pub complexity: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpusApplication {
    /// Tuned for speech intelligibility.
    Voip,
    /// Tuned for fidelity to the input (music).
    Audio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpusContainer {
    /// `.opus`: what Firefox and most players and datasets expect.
    Ogg,
    /// `.webm`: what Chrome records, and plays everywhere a browser does.
    WebM,
}

/// How a preset picks its sample rate from the source's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateRule {
    Keep,
    Fixed(u32),
    /// The source's rate if listed, else a listed rate related to it by a whole ratio,
    /// else the lowest listed rate above it (so nothing is lost), else the highest.
    OneOf(&'static [u32]),
}

/// How a preset picks its channel count from the source's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelRule {
    Keep,
    Fixed(u16),
    /// The source's count, downmixed to at most this many.
    AtMost(u16),
}

const MP3_WEB_RATES: &[u32] = &[44_100, 48_000];

const SPEECH_LIGHT: OpusSettings = OpusSettings {
    bitrate: 24_000,
    application: OpusApplication::Voip,
    complexity: 10,
};
// Complexity 5, not 10: at 48 kbit/s speech is well past the point where the encoder's
// extra effort (a fourth delayed-decision state, tonality analysis) is heard, and it is a
// quarter of the encode time; every recital session is encoded with it.
const SPEECH_STANDARD: OpusSettings = OpusSettings {
    bitrate: 48_000,
    application: OpusApplication::Voip,
    complexity: 5,
};
const MUSIC_STREAM: OpusSettings = OpusSettings {
    bitrate: 128_000,
    application: OpusApplication::Audio,
    complexity: 10,
};

const fn opus(
    name: &'static str,
    summary: &'static str,
    settings: OpusSettings,
    container: OpusContainer,
    channels: ChannelRule,
) -> Preset {
    Preset {
        name,
        summary,
        codec: Codec::Opus {
            settings,
            container,
        },
        sample_rate: RateRule::Fixed(48_000),
        channels,
    }
}

const fn mp3(name: &'static str, summary: &'static str, mode: Mp3Mode) -> Preset {
    Preset {
        name,
        summary,
        codec: Codec::Mp3 { mode },
        sample_rate: RateRule::OneOf(MP3_WEB_RATES),
        channels: ChannelRule::AtMost(2),
    }
}

/// Every preset, in the order people should read them.
pub static PRESETS: &[Preset] = &[
    Preset {
        name: "archive",
        summary: "lossless FLAC at the source's rate and channels, 16 or 24 bits as the source needs",
        codec: Codec::Flac {
            bits: Depth::Source { known: None },
        },
        sample_rate: RateRule::Keep,
        channels: ChannelRule::AtMost(8),
    },
    Preset {
        name: "flac-16",
        summary: "lossless FLAC, 16 bits, source rate and channels",
        codec: Codec::Flac {
            bits: Depth::Fixed(16),
        },
        sample_rate: RateRule::Keep,
        channels: ChannelRule::AtMost(8),
    },
    Preset {
        name: "flac-24",
        summary: "lossless FLAC, 24 bits, source rate and channels",
        codec: Codec::Flac {
            bits: Depth::Fixed(24),
        },
        sample_rate: RateRule::Keep,
        channels: ChannelRule::AtMost(8),
    },
    opus(
        "speech-light",
        "Opus in Ogg, mono 48 kHz, 24 kbit/s speech: small recordings for review and datasets",
        SPEECH_LIGHT,
        OpusContainer::Ogg,
        ChannelRule::Fixed(1),
    ),
    opus(
        "speech-light-webm",
        "speech-light in WebM",
        SPEECH_LIGHT,
        OpusContainer::WebM,
        ChannelRule::Fixed(1),
    ),
    opus(
        "speech-standard",
        "Opus in Ogg, mono 48 kHz, 48 kbit/s speech: near-transparent voice",
        SPEECH_STANDARD,
        OpusContainer::Ogg,
        ChannelRule::Fixed(1),
    ),
    opus(
        "speech-standard-webm",
        "speech-standard in WebM",
        SPEECH_STANDARD,
        OpusContainer::WebM,
        ChannelRule::Fixed(1),
    ),
    opus(
        "music-stream",
        "Opus in Ogg, 48 kHz, up to stereo, 128 kbit/s: music for web playback",
        MUSIC_STREAM,
        OpusContainer::Ogg,
        ChannelRule::AtMost(2),
    ),
    opus(
        "music-stream-webm",
        "music-stream in WebM",
        MUSIC_STREAM,
        OpusContainer::WebM,
        ChannelRule::AtMost(2),
    ),
    mp3(
        "music-download",
        "MP3 VBR V2 (~190 kbit/s), 44.1 or 48 kHz, up to stereo: plays on anything",
        Mp3Mode::Vbr { quality: 2 },
    ),
    mp3(
        "mp3-v0",
        "MP3 VBR V0 (~245 kbit/s), 44.1 or 48 kHz",
        Mp3Mode::Vbr { quality: 0 },
    ),
    mp3(
        "mp3-v2",
        "MP3 VBR V2 (~190 kbit/s), 44.1 or 48 kHz",
        Mp3Mode::Vbr { quality: 2 },
    ),
    mp3(
        "mp3-320",
        "MP3 CBR 320 kbit/s, 44.1 or 48 kHz",
        Mp3Mode::Cbr { kbps: 320 },
    ),
    mp3(
        "mp3-128",
        "MP3 CBR 128 kbit/s, 44.1 or 48 kHz",
        Mp3Mode::Cbr { kbps: 128 },
    ),
    Preset {
        name: "wav-16",
        summary: "16-bit PCM WAV, source rate and channels",
        codec: Codec::Wav { bits: 16 },
        sample_rate: RateRule::Keep,
        channels: ChannelRule::Keep,
    },
    Preset {
        name: "wav-24",
        summary: "24-bit PCM WAV, source rate and channels",
        codec: Codec::Wav { bits: 24 },
        sample_rate: RateRule::Keep,
        channels: ChannelRule::Keep,
    },
];

impl Preset {
    /// The preset called `name`.
    pub fn by_name(name: &str) -> Result<&'static Preset> {
        PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            MediaError::setting(
                "preset",
                format!(
                    "there is no preset named `{name}`; choose one of: {}",
                    names.join(", ")
                ),
            )
        })
    }

    /// What the encoder must be fed for a source of spec `source`: the pipeline
    /// resamples and remixes to this.
    pub fn output_spec(&self, source: AudioSpec) -> AudioSpec {
        let sample_rate = match self.sample_rate {
            RateRule::Keep => source.sample_rate,
            RateRule::Fixed(rate) => rate,
            RateRule::OneOf(rates) => pick_rate(source.sample_rate, rates),
        };
        let channels = match self.channels {
            ChannelRule::Keep => source.channels,
            ChannelRule::Fixed(n) => n,
            ChannelRule::AtMost(n) => source.channels.min(n),
        };
        AudioSpec {
            sample_rate,
            channels,
        }
    }

    /// This preset for a source whose bit depth is known (from probing), so `archive`
    /// keeps a 16-bit master at 16 bits instead of padding it to 24.
    pub fn with_source_depth(mut self, bits: Option<u16>) -> Preset {
        if let Codec::Flac {
            bits: Depth::Source { known },
        } = &mut self.codec
        {
            *known = bits;
        }
        self
    }

    /// File extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self.codec {
            Codec::Wav { .. } => "wav",
            Codec::Flac { .. } => "flac",
            Codec::Mp3 { .. } => "mp3",
            Codec::Opus {
                container: OpusContainer::Ogg,
                ..
            } => "opus",
            Codec::Opus {
                container: OpusContainer::WebM,
                ..
            } => "webm",
        }
    }

    /// MIME type for `Content-Type`, without parameters.
    pub fn mime_type(&self) -> &'static str {
        match self.codec {
            Codec::Wav { .. } => "audio/wav",
            Codec::Flac { .. } => "audio/flac",
            Codec::Mp3 { .. } => "audio/mpeg",
            Codec::Opus {
                container: OpusContainer::Ogg,
                ..
            } => "audio/ogg",
            Codec::Opus {
                container: OpusContainer::WebM,
                ..
            } => "audio/webm",
        }
    }

    /// The type with its codec, as `<source type>` and `canPlayType` want it, e.g.
    /// `audio/webm; codecs="opus"`.
    pub fn media_type_with_codec(&self) -> String {
        let codec = match self.codec {
            Codec::Wav { .. } => "1",
            Codec::Flac { .. } => "flac",
            Codec::Mp3 { .. } => "mp3",
            Codec::Opus { .. } => "opus",
        };
        format!("{}; codecs=\"{codec}\"", self.mime_type())
    }
}

fn pick_rate(source: u32, rates: &[u32]) -> u32 {
    if rates.contains(&source) {
        return source;
    }
    let related =
        |r: &&u32| source != 0 && (source.is_multiple_of(**r) || r.is_multiple_of(source));
    if let Some(&r) = rates.iter().find(related) {
        return r;
    }
    rates
        .iter()
        .copied()
        .filter(|&r| r >= source)
        .min()
        .or_else(|| rates.iter().copied().max())
        .unwrap_or(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(sample_rate: u32, channels: u16) -> AudioSpec {
        AudioSpec {
            sample_rate,
            channels,
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(
                PRESETS[i + 1..].iter().all(|q| q.name != p.name),
                "{}",
                p.name
            );
            assert_eq!(Preset::by_name(p.name).unwrap().name, p.name);
        }
    }

    #[test]
    fn an_unknown_name_lists_the_valid_ones() {
        let err = Preset::by_name("speech-heavy").unwrap_err();
        let MediaError::Setting { field, detail } = err else {
            panic!("{err:?}")
        };
        assert_eq!(field, "preset");
        assert!(detail.contains("speech-heavy"), "{detail}");
        assert!(
            detail.contains("archive") && detail.contains("music-download"),
            "{detail}"
        );
    }

    #[test]
    fn output_specs_follow_the_rules() {
        let light = Preset::by_name("speech-light").unwrap();
        assert_eq!(light.output_spec(spec(44_100, 2)), spec(48_000, 1));
        let stream = Preset::by_name("music-stream").unwrap();
        assert_eq!(stream.output_spec(spec(44_100, 1)), spec(48_000, 1));
        assert_eq!(stream.output_spec(spec(96_000, 6)), spec(48_000, 2));
        let mp3 = Preset::by_name("music-download").unwrap();
        assert_eq!(mp3.output_spec(spec(44_100, 2)).sample_rate, 44_100);
        assert_eq!(mp3.output_spec(spec(48_000, 2)).sample_rate, 48_000);
        assert_eq!(mp3.output_spec(spec(88_200, 2)).sample_rate, 44_100);
        assert_eq!(mp3.output_spec(spec(96_000, 2)).sample_rate, 48_000);
        assert_eq!(mp3.output_spec(spec(16_000, 1)).sample_rate, 48_000);
        assert_eq!(mp3.output_spec(spec(22_050, 1)).sample_rate, 44_100);
        assert_eq!(mp3.output_spec(spec(32_000, 1)).sample_rate, 44_100);
        assert_eq!(mp3.output_spec(spec(50_000, 1)).sample_rate, 48_000);
        let archive = Preset::by_name("archive").unwrap();
        assert_eq!(archive.output_spec(spec(22_050, 3)), spec(22_050, 3));
        assert_eq!(archive.output_spec(spec(48_000, 12)), spec(48_000, 8));
    }

    #[test]
    fn archive_keeps_a_16_bit_source_at_16_bits() {
        let archive = *Preset::by_name("archive").unwrap();
        let depth = |p: Preset| match p.codec {
            Codec::Flac { bits } => bits.resolve(),
            _ => unreachable!(),
        };
        assert_eq!(depth(archive), 24);
        assert_eq!(depth(archive.with_source_depth(Some(16))), 16);
        assert_eq!(depth(archive.with_source_depth(Some(8))), 16);
        assert_eq!(depth(archive.with_source_depth(Some(24))), 24);
        assert_eq!(depth(archive.with_source_depth(Some(32))), 24);
        let flac16 = *Preset::by_name("flac-16").unwrap();
        assert_eq!(depth(flac16.with_source_depth(Some(24))), 16);
    }

    #[test]
    fn names_on_disk_and_wire() {
        let p = |n| Preset::by_name(n).unwrap();
        assert_eq!(
            (p("archive").extension(), p("archive").mime_type()),
            ("flac", "audio/flac")
        );
        assert_eq!(p("speech-light").extension(), "opus");
        assert_eq!(p("speech-light").mime_type(), "audio/ogg");
        assert_eq!(p("music-stream-webm").extension(), "webm");
        assert_eq!(
            p("music-stream-webm").media_type_with_codec(),
            "audio/webm; codecs=\"opus\""
        );
        assert_eq!(p("mp3-v2").mime_type(), "audio/mpeg");
        assert_eq!(p("wav-24").extension(), "wav");
    }

    #[test]
    fn presets_serialize_for_listing() {
        let json = serde_json::to_value(PRESETS).unwrap();
        assert_eq!(json[0]["name"], "archive");
        assert_eq!(json[0]["codec"]["codec"], "flac");
    }
}
