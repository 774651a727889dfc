//! Every encoder, checked by someone else's decoder: each test encodes generated tones
//! with our encoders, decodes the file with ffmpeg (and reads containers with ffprobe
//! and hound), and compares length, rate, channels and the signal itself.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tutti_media::encode::{Output, encoder_for};
use tutti_media::encode::{flac::FlacEncoder, mp3::Mp3Encoder, opus::OpusEncoder, wav::WavEncoder};
use tutti_media::encode::{ogg::OggMux, webm::WebmMux};
use tutti_media::pcm::sine;
use tutti_media::presets::{Mp3Mode, OpusApplication, OpusSettings, Preset};
use tutti_media::{AudioSpec, MediaError, PcmSink};

fn spec(sample_rate: u32, channels: u16) -> AudioSpec {
    AudioSpec::new(sample_rate, channels).unwrap()
}

/// A test signal that never repeats (so there is one right alignment) and differs per
/// channel (so swapped channels show): a rising sweep plus a steady tone, both different
/// in each channel, in bursts five times a second like syllables (so low-bitrate speech
/// codecs, which do not keep a waveform's phase, can be compared by their envelope).
fn signal(spec: AudioSpec, seconds: f32) -> Vec<f32> {
    let mono = AudioSpec {
        channels: 1,
        ..spec
    };
    let rate = spec.sample_rate as f64;
    let chans: Vec<Vec<f32>> = (0..spec.channels)
        .map(|c| {
            let tone = sine(mono, 440.0 + 110.0 * c as f32, seconds, 0.2);
            let (f0, f1) = (150.0 * (c as f64 + 1.0), 3000.0);
            let sweep_rate = (f1 - f0) / seconds as f64;
            tone.iter()
                .enumerate()
                .map(|(i, t)| {
                    let t_s = i as f64 / rate;
                    let phase =
                        2.0 * std::f64::consts::PI * (f0 * t_s + sweep_rate * t_s * t_s / 2.0);
                    let syllables = 0.25 + 0.75 * (std::f64::consts::PI * 5.0 * t_s).sin().abs();
                    (t + 0.4 * phase.sin() as f32) * syllables as f32
                })
                .collect()
        })
        .collect();
    let frames = chans[0].len();
    let mut out = Vec::with_capacity(frames * spec.channels as usize);
    for i in 0..frames {
        for ch in &chans {
            out.push(ch[i]);
        }
    }
    out
}

/// Feeds `samples` in blocks of awkward, varying lengths, as a decoder would.
fn feed(sink: &mut dyn PcmSink, samples: &[f32], channels: u16) {
    let sizes = [1000usize, 1, 4097, 333, 960, 7];
    let mut at = 0;
    let mut i = 0;
    while at < samples.len() {
        let n = (sizes[i % sizes.len()] * channels as usize).min(samples.len() - at);
        sink.write(&samples[at..at + n]).unwrap();
        at += n;
        i += 1;
    }
    sink.finish().unwrap();
}

/// A writer that cannot seek, like a pipe or an upload.
struct Pipe(File);

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn output(path: &Path, seekable: bool) -> Output {
    let file = File::create(path).unwrap();
    if seekable {
        Output::seekable(file)
    } else {
        Output::stream(Pipe(file))
    }
}

fn encode_preset(
    dir: &Path,
    name: &str,
    input: AudioSpec,
    samples: &[f32],
    seekable: bool,
) -> PathBuf {
    let preset = Preset::by_name(name).unwrap();
    let path = dir.join(format!(
        "{name}-{}.{}",
        if seekable { "file" } else { "pipe" },
        preset.extension()
    ));
    let mut enc = encoder_for(preset, input, output(&path, seekable)).unwrap();
    feed(enc.as_mut(), samples, input.channels);
    path
}

/// Decodes with ffmpeg to interleaved f32 at the given rate and channel count.
fn ffmpeg_decode(path: &Path, spec: AudioSpec) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "f32le", "-ac"])
        .arg(spec.channels.to_string())
        .arg("-ar")
        .arg(spec.sample_rate.to_string())
        .arg("-")
        .output()
        .expect("ffmpeg must be installed to run these tests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffmpeg decoding {path:?}: {stderr}"
    );
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

struct Probe {
    codec: String,
    sample_rate: u32,
    channels: u16,
    duration: Option<f64>,
}

fn ffprobe(path: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_name,sample_rate,channels",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed to run these tests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffprobe {path:?}: {stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stream = &json["streams"][0];
    Probe {
        codec: stream["codec_name"].as_str().unwrap().to_string(),
        sample_rate: stream["sample_rate"].as_str().unwrap().parse().unwrap(),
        channels: stream["channels"].as_u64().unwrap() as u16,
        duration: json["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok()),
    }
}

/// What a lossless encoder of `bits` bits should give back.
fn quantized(samples: &[f32], bits: u8) -> Vec<f32> {
    let scale = (1i64 << (bits - 1)) as f32;
    samples
        .iter()
        .map(|x| (x * scale).round().clamp(-scale, scale - 1.0) / scale)
        .collect()
}

fn assert_lossless(decoded: &[f32], input: &[f32], bits: u8) {
    assert_eq!(decoded.len(), input.len(), "decoded length");
    let expected = quantized(input, bits);
    let lsb = 1.0 / (1i64 << (bits - 1)) as f32;
    let worst = decoded
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= lsb * 1.01, "worst error {worst} > 1 LSB ({lsb})");
}

fn channel(samples: &[f32], channels: usize, c: usize) -> Vec<f32> {
    samples.iter().skip(c).step_by(channels).copied().collect()
}

/// Normalised correlation of `a[i]` with `b[i + lag]` over `range` of `a`.
fn correlation(a: &[f32], b: &[f32], lag: isize, range: std::ops::Range<usize>) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for i in range {
        let j = i as isize + lag;
        if j < 0 || j as usize >= b.len() || i >= a.len() {
            continue;
        }
        let (x, y) = (a[i] as f64, b[j as usize] as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa.sqrt() * bb.sqrt()).max(1e-12)
}

/// The lag (in frames) at which the decoded signal best matches the input, and the
/// lowest per-channel correlation at that lag, away from the ends.
fn align(input: &[f32], decoded: &[f32], channels: usize, max_lag: isize) -> (isize, f64) {
    let a = channel(input, channels, 0);
    let b = channel(decoded, channels, 0);
    let window = 4096..(4096 + 16384).min(a.len());
    let lag = (-max_lag..=max_lag)
        .max_by(|&x, &y| {
            correlation(&a, &b, x, window.clone()).total_cmp(&correlation(
                &a,
                &b,
                y,
                window.clone(),
            ))
        })
        .unwrap();
    let frames = a.len();
    let worst = (0..channels)
        .map(|c| {
            correlation(
                &channel(input, channels, c),
                &channel(decoded, channels, c),
                lag,
                2048..frames - 2048,
            )
        })
        .fold(1.0, f64::min);
    (lag, worst)
}

fn setting_field(err: MediaError) -> &'static str {
    match err {
        MediaError::Setting { field, .. } => field,
        other => panic!("expected a setting error, got {other:?}"),
    }
}

#[test]
fn wav_16_and_24_bit_decode_back_within_one_lsb() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bits, input) in [
        ("wav-16", 16, spec(44_100, 2)),
        ("wav-24", 24, spec(48_000, 1)),
    ] {
        let samples = signal(input, 1.0);
        for seekable in [true, false] {
            let path = encode_preset(dir.path(), name, input, &samples, seekable);
            let decoded = ffmpeg_decode(&path, input);
            assert_lossless(&decoded, &samples, bits);
            let probe = ffprobe(&path);
            assert_eq!(
                (probe.sample_rate, probe.channels),
                (input.sample_rate, input.channels)
            );
            assert_eq!(
                probe.codec,
                if bits == 16 { "pcm_s16le" } else { "pcm_s24le" }
            );
            if seekable {
                let reader = hound::WavReader::open(&path).unwrap();
                let s = reader.spec();
                assert_eq!(
                    (s.bits_per_sample, s.channels, s.sample_rate),
                    (bits as u16, input.channels, input.sample_rate)
                );
                assert_eq!(reader.len() as usize, samples.len());
                let d = probe.duration.unwrap();
                assert!((d - 1.0).abs() < 1e-3, "duration {d}");
            }
        }
    }
}

#[test]
fn wav_with_more_than_two_channels_is_extensible_and_odd_lengths_are_padded() {
    let dir = tempfile::tempdir().unwrap();
    let input = spec(22_050, 3);
    let samples = signal(input, 0.5);
    let samples = &samples[..samples.len() - 3]; // an odd number of frames
    let path = dir.path().join("three.wav");
    let mut enc = WavEncoder::new(output(&path, true), input, 24).unwrap();
    feed(&mut enc, samples, 3);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() % 2, 0, "RIFF pads to an even length");
    assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 0xFFFE);
    let decoded = ffmpeg_decode(&path, input);
    assert_lossless(&decoded, samples, 24);
}

#[test]
fn flac_16_and_24_bit_are_lossless_with_a_correct_md5() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bits, input) in [
        ("flac-16", 16, spec(44_100, 2)),
        ("flac-24", 24, spec(96_000, 1)),
    ] {
        let samples = signal(input, 1.3);
        for seekable in [true, false] {
            let path = encode_preset(dir.path(), name, input, &samples, seekable);
            let decoded = ffmpeg_decode(&path, input);
            assert_lossless(&decoded, &samples, bits);
            let probe = ffprobe(&path);
            assert_eq!(probe.codec, "flac");
            assert_eq!(
                (probe.sample_rate, probe.channels),
                (input.sample_rate, input.channels)
            );
            let bytes = std::fs::read(&path).unwrap();
            let total = u64::from_be_bytes([
                0,
                0,
                0,
                bytes[21] & 0x0F,
                bytes[22],
                bytes[23],
                bytes[24],
                bytes[25],
            ]);
            let md5 = &bytes[26..42];
            if seekable {
                assert_eq!(total as usize, samples.len() / input.channels as usize);
                let d = probe.duration.unwrap();
                assert!((d - 1.3).abs() < 1e-3, "duration {d}");
                // ffmpeg's MD5 of the decoded samples, in FLAC's own byte layout.
                let pcm = if bits == 16 { "pcm_s16le" } else { "pcm_s24le" };
                let out = Command::new("ffmpeg")
                    .args(["-nostdin", "-v", "error", "-i"])
                    .arg(&path)
                    .args(["-c:a", pcm, "-f", "md5", "-"])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(text.trim(), format!("MD5={hex}"));
            } else {
                assert_eq!(total, 0, "a streamed FLAC says its length is unknown");
                assert!(md5.iter().all(|&b| b == 0));
            }
        }
    }
}

/// Blocks are encoded by a pool of workers and written in order: the file is the same,
/// byte for byte, whatever the number of workers, on a file or a stream.
#[test]
fn flac_is_the_same_file_whatever_the_number_of_workers() {
    let dir = tempfile::tempdir().unwrap();
    let input = spec(48_000, 2);
    // 3.3 s: many blocks (4096 frames each) and a short last one.
    let samples = signal(input, 3.3);
    for seekable in [true, false] {
        let files: Vec<Vec<u8>> = [1, 2, 3, 4]
            .into_iter()
            .map(|workers| {
                let path = dir.path().join(format!("w{workers}-{seekable}.flac"));
                let mut enc =
                    FlacEncoder::with_workers(output(&path, seekable), input, 16, workers).unwrap();
                feed(&mut enc, &samples, 2);
                std::fs::read(&path).unwrap()
            })
            .collect();
        assert!(files.len() == 4 && files[0].len() > 1000);
        for (workers, file) in (1..).zip(&files) {
            assert!(file == &files[0], "{workers} workers differ from one");
        }
        let path = dir.path().join(format!("w4-{seekable}.flac"));
        assert_lossless(&ffmpeg_decode(&path, input), &samples, 16);
    }
}

#[test]
fn archive_keeps_the_source_depth_it_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let input = spec(48_000, 2);
    let samples = signal(input, 0.3);
    let archive = Preset::by_name("archive")
        .unwrap()
        .with_source_depth(Some(16));
    let path = dir.path().join("a.flac");
    let mut enc = encoder_for(&archive, input, output(&path, true)).unwrap();
    feed(enc.as_mut(), &samples, 2);
    let bytes = std::fs::read(&path).unwrap();
    let bits = (((bytes[20] & 1) << 4) | (bytes[21] >> 4)) + 1;
    assert_eq!(bits, 16);
}

#[test]
fn mp3_vbr_and_cbr_decode_to_the_same_signal_and_length() {
    let dir = tempfile::tempdir().unwrap();
    for (name, input, mode) in [
        ("v2", spec(44_100, 2), Mp3Mode::Vbr { quality: 2 }),
        ("cbr128", spec(48_000, 1), Mp3Mode::Cbr { kbps: 128 }),
        ("v9", spec(22_050, 1), Mp3Mode::Vbr { quality: 9 }),
    ] {
        let samples = signal(input, 1.5);
        let frames = samples.len() / input.channels as usize;
        for seekable in [true, false] {
            let path = dir.path().join(format!("{name}-{seekable}.mp3"));
            let mut enc = Mp3Encoder::new(output(&path, seekable), input, mode).unwrap();
            feed(&mut enc, &samples, input.channels);
            let probe = ffprobe(&path);
            assert_eq!(probe.codec, "mp3");
            assert_eq!(
                (probe.sample_rate, probe.channels),
                (input.sample_rate, input.channels)
            );
            let decoded = ffmpeg_decode(&path, input);
            let decoded_frames = decoded.len() / input.channels as usize;
            let (lag, corr) = align(&samples, &decoded, input.channels as usize, 1600);
            assert!(
                corr > 0.95,
                "{name} seekable={seekable}: correlation {corr}"
            );
            if seekable {
                // The LAME tag lets ffmpeg trim the encoder delay and padding.
                assert_eq!(decoded_frames, frames, "{name}: decoded length");
                assert_eq!(lag, 0, "{name}: alignment");
                // ffprobe counts whole frames, encoder delay and padding included.
                let d = probe.duration.unwrap();
                let slack = (1105.0 + 1152.0) / input.sample_rate as f64;
                assert!(d >= 1.5 && d < 1.5 + slack, "{name}: duration {d}");
            } else {
                // No tag on a stream: the delay stays in, and the end is padded.
                assert!(lag >= 0 && decoded_frames >= frames, "{name}: lag {lag}");
                assert!(
                    decoded_frames <= frames + lag as usize + 1152 * 2,
                    "{name}: {decoded_frames}"
                );
            }
            let bytes = std::fs::read(&path).unwrap();
            assert_ne!(&bytes[bytes.len() - 128..][..3], b"TAG", "no ID3v1 tag");
        }
    }
}

/// How closely a lossy decode must follow the input.
#[derive(Clone, Copy)]
enum Match {
    /// The waveform, within `max_lag` samples of the right place.
    Waveform { min_corr: f64, max_lag: isize },
    /// The loudness envelope in 10 ms steps, at the right place. For low-bitrate speech
    /// (SILK), which keeps what a voice sounds like but not a waveform's phase.
    Envelope { min_corr: f64 },
}

const MUSIC: Match = Match::Waveform {
    min_corr: 0.98,
    max_lag: 2,
};
const SPEECH: Match = Match::Envelope { min_corr: 0.9 };

/// RMS of each 10 ms window of channel 0.
fn envelope(samples: &[f32], spec: AudioSpec) -> Vec<f32> {
    let ch0 = channel(samples, spec.channels as usize, 0);
    ch0.chunks_exact(spec.sample_rate as usize / 100)
        .map(|w| (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt())
        .collect()
}

/// Pearson correlation: the shapes match, whatever the scale.
fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let mean = |v: &[f32]| v[..n].iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (a[i] as f64 - ma, b[i] as f64 - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa.sqrt() * bb.sqrt()).max(1e-12)
}

fn check_opus(path: &Path, input: AudioSpec, samples: &[f32], seekable: bool, want: Match) {
    let frames = samples.len() / input.channels as usize;
    let probe = ffprobe(path);
    assert_eq!(probe.codec, "opus");
    assert_eq!(probe.channels, input.channels);
    assert_eq!(probe.sample_rate, 48_000, "Opus always decodes at 48 kHz");
    let decoded = ffmpeg_decode(path, input);
    let decoded_frames = decoded.len() / input.channels as usize;
    // Pre-skip and end trimming make the decoded length exact.
    assert_eq!(decoded_frames, frames, "{path:?}: decoded length");
    match want {
        Match::Waveform { min_corr, max_lag } => {
            let (lag, corr) = align(samples, &decoded, input.channels as usize, 1200);
            assert!(
                lag.abs() <= max_lag,
                "{path:?}: decoded audio is {lag} samples off"
            );
            assert!(corr > min_corr, "{path:?}: correlation {corr}");
        }
        Match::Envelope { min_corr } => {
            let corr = pearson(&envelope(samples, input), &envelope(&decoded, input));
            assert!(corr > min_corr, "{path:?}: envelope correlation {corr}");
        }
    }
    let seconds = frames as f64 / input.sample_rate as f64;
    if let Some(d) = probe.duration {
        assert!(
            (d - seconds).abs() < 0.021,
            "{path:?}: duration {d} for {seconds}"
        );
    } else {
        assert!(!seekable, "{path:?}: no duration");
    }
}

#[test]
fn opus_in_ogg_has_exact_length_and_alignment() {
    let dir = tempfile::tempdir().unwrap();
    for (name, input) in [
        ("music-stream", spec(48_000, 2)),
        ("speech-standard", spec(48_000, 1)),
        ("speech-light", spec(48_000, 1)),
    ] {
        let samples = signal(input, 2.013);
        for seekable in [true, false] {
            let path = encode_preset(dir.path(), name, input, &samples, seekable);
            let want = if name.starts_with("speech") {
                SPEECH
            } else {
                MUSIC
            };
            check_opus(&path, input, &samples, true, want);
        }
    }
}

#[test]
fn opus_in_ogg_pages_follow_rfc_7845() {
    let dir = tempfile::tempdir().unwrap();
    let input = spec(48_000, 1);
    let samples = signal(input, 1.51);
    let path = encode_preset(dir.path(), "speech-standard", input, &samples, false);
    let bytes = std::fs::read(&path).unwrap();
    let mut pages = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"OggS");
        let flags = bytes[at + 5];
        let granule = u64::from_le_bytes(bytes[at + 6..at + 14].try_into().unwrap());
        let segments = bytes[at + 26] as usize;
        let body: usize = bytes[at + 27..at + 27 + segments]
            .iter()
            .map(|&l| l as usize)
            .sum();
        let start = at + 27 + segments;
        pages.push((flags, granule, &bytes[start..start + body]));
        at = start + body;
    }
    let (flags, granule, head) = pages[0];
    assert_eq!((flags, granule), (0x02, 0), "first page: BOS, granule 0");
    assert_eq!(&head[..8], b"OpusHead");
    assert_eq!(head[9], 1, "channels");
    let pre_skip = u16::from_le_bytes([head[10], head[11]]) as u64;
    assert!(pre_skip > 0);
    assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), 48_000);
    let (_, granule, tags) = pages[1];
    assert_eq!(granule, 0);
    assert_eq!(&tags[..8], b"OpusTags");
    let (flags, granule, _) = *pages.last().unwrap();
    assert_eq!(flags & 0x04, 0x04, "last page: EOS");
    assert_eq!(
        granule,
        pre_skip + samples.len() as u64,
        "true length in the last granule"
    );
    // Audio pages of about a second each, granules rising.
    assert!(pages.len() >= 4);
    for w in pages[2..].windows(2) {
        assert!(w[1].1 > w[0].1);
    }
}

#[test]
fn opus_accepts_lower_rates_and_counts_time_at_48_khz() {
    let dir = tempfile::tempdir().unwrap();
    let settings = OpusSettings {
        bitrate: 32_000,
        application: OpusApplication::Voip,
        complexity: 5,
    };
    for rate in [16_000, 24_000] {
        let input = spec(rate, 1);
        let samples = signal(input, 1.0);
        let path = dir.path().join(format!("{rate}.opus"));
        let mut enc = OpusEncoder::new(input, settings, OggMux::new(output(&path, true))).unwrap();
        feed(&mut enc, &samples, 1);
        // At these rates SILK keeps the waveform too.
        let want = Match::Waveform {
            min_corr: 0.95,
            max_lag: 2,
        };
        check_opus(&path, input, &samples, true, want);
    }
}

#[test]
fn opus_in_webm_has_exact_length_duration_and_cues() {
    let dir = tempfile::tempdir().unwrap();
    for (name, input) in [
        ("music-stream-webm", spec(48_000, 2)),
        ("speech-light-webm", spec(48_000, 1)),
    ] {
        // Long enough for several clusters.
        let samples = signal(input, 11.37);
        for seekable in [true, false] {
            let path = encode_preset(dir.path(), name, input, &samples, seekable);
            let want = if name.starts_with("speech") {
                SPEECH
            } else {
                MUSIC
            };
            check_opus(&path, input, &samples, seekable, want);
            let bytes = std::fs::read(&path).unwrap();
            let has_cues = bytes.windows(4).any(|w| w == [0x1C, 0x53, 0xBB, 0x6B]);
            assert_eq!(has_cues, seekable, "{name}: cues only when seekable");
        }
    }
}

#[test]
fn ffmpeg_can_seek_in_our_webm() {
    let dir = tempfile::tempdir().unwrap();
    let input = spec(48_000, 1);
    let samples = signal(input, 12.0);
    let path = encode_preset(dir.path(), "speech-standard-webm", input, &samples, true);
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", "9", "-i"])
        .arg(&path)
        .args(["-f", "f32le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames = out.stdout.len() / 4;
    assert!(
        (frames as i64 - 3 * 48_000).abs() < 4800,
        "{frames} frames after seeking to 9 s"
    );
}

#[test]
fn empty_input_still_makes_valid_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "wav-16",
        "archive",
        "speech-light",
        "music-stream-webm",
        "mp3-v2",
    ] {
        let preset = Preset::by_name(name).unwrap();
        let input = preset.output_spec(spec(48_000, 1));
        let path = dir.path().join(format!("empty.{}", preset.extension()));
        let mut enc = encoder_for(preset, input, output(&path, true)).unwrap();
        enc.finish().unwrap();
        let decoded = ffmpeg_decode(&path, input);
        assert!(
            decoded.len() <= 1152,
            "{name}: {} samples from nothing",
            decoded.len()
        );
    }
}

#[test]
fn bad_settings_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = || output(&dir.path().join("x"), true);
    let settings = OpusSettings {
        bitrate: 64_000,
        application: OpusApplication::Audio,
        complexity: 10,
    };
    let cd = spec(44_100, 2);
    let no_channels = AudioSpec {
        sample_rate: 48_000,
        channels: 0,
    };

    let err = OpusEncoder::new(cd, settings, OggMux::new(out()))
        .err()
        .unwrap();
    assert_eq!(setting_field(err), "sample_rate");
    let err = OpusEncoder::new(spec(48_000, 6), settings, WebmMux::new(out()))
        .err()
        .unwrap();
    assert_eq!(setting_field(err), "channels");
    let err = OpusEncoder::new(no_channels, settings, OggMux::new(out()))
        .err()
        .unwrap();
    assert_eq!(setting_field(err), "channels");
    let err = OpusEncoder::new(
        spec(48_000, 1),
        OpusSettings {
            bitrate: 1_000,
            ..settings
        },
        OggMux::new(out()),
    )
    .err()
    .unwrap();
    assert_eq!(setting_field(err), "bitrate");
    let err = OpusEncoder::new(
        spec(48_000, 1),
        OpusSettings {
            complexity: 11,
            ..settings
        },
        OggMux::new(out()),
    )
    .err()
    .unwrap();
    assert_eq!(setting_field(err), "complexity");

    assert_eq!(
        setting_field(WavEncoder::new(out(), no_channels, 16).err().unwrap()),
        "channels"
    );
    assert_eq!(
        setting_field(WavEncoder::new(out(), cd, 20).err().unwrap()),
        "bits"
    );
    assert_eq!(
        setting_field(FlacEncoder::new(out(), no_channels, 16).err().unwrap()),
        "channels"
    );
    assert_eq!(
        setting_field(FlacEncoder::new(out(), spec(48_000, 9), 16).err().unwrap()),
        "channels"
    );
    assert_eq!(
        setting_field(FlacEncoder::new(out(), cd, 32).err().unwrap()),
        "bits"
    );
    let v2 = Mp3Mode::Vbr { quality: 2 };
    assert_eq!(
        setting_field(Mp3Encoder::new(out(), no_channels, v2).err().unwrap()),
        "channels"
    );
    assert_eq!(
        setting_field(Mp3Encoder::new(out(), spec(96_000, 2), v2).err().unwrap()),
        "sample_rate"
    );
    assert_eq!(
        setting_field(
            Mp3Encoder::new(out(), cd, Mp3Mode::Vbr { quality: 10 })
                .err()
                .unwrap()
        ),
        "quality"
    );
    assert_eq!(
        setting_field(
            Mp3Encoder::new(out(), cd, Mp3Mode::Cbr { kbps: 100 })
                .err()
                .unwrap()
        ),
        "bitrate"
    );

    // A preset refuses input it would have to resample or remix itself.
    let light = Preset::by_name("speech-light").unwrap();
    assert_eq!(
        setting_field(encoder_for(light, cd, out()).err().unwrap()),
        "sample_rate"
    );
    assert_eq!(
        setting_field(encoder_for(light, spec(48_000, 2), out()).err().unwrap()),
        "channels"
    );
    assert_eq!(
        setting_field(encoder_for(light, no_channels, out()).err().unwrap()),
        "channels"
    );
    assert_eq!(
        setting_field(Preset::by_name("loud").err().unwrap()),
        "preset"
    );
}

#[test]
fn torn_frames_and_writes_after_finish_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "wav-24",
        "archive",
        "music-stream",
        "speech-light-webm",
        "mp3-320",
    ] {
        let preset = Preset::by_name(name).unwrap();
        let input = preset.output_spec(spec(48_000, 2));
        let path = dir.path().join(format!("t.{}", preset.extension()));
        let mut enc = encoder_for(preset, input, output(&path, true)).unwrap();
        if input.channels == 2 {
            assert_eq!(
                setting_field(enc.write(&[0.0; 3]).unwrap_err()),
                "samples",
                "{name}"
            );
        }
        enc.write(&[0.1; 960 * 2][..960 * input.channels as usize])
            .unwrap();
        enc.finish().unwrap();
        assert!(
            matches!(enc.write(&[0.0; 2]), Err(MediaError::Encode(_))),
            "{name}"
        );
        assert!(enc.finish().is_err(), "{name}");
    }
}

#[test]
fn hostile_samples_do_not_break_encoders() {
    let dir = tempfile::tempdir().unwrap();
    let input = spec(48_000, 1);
    let mut samples = signal(input, 0.5);
    for (i, s) in samples.iter_mut().enumerate().step_by(97) {
        *s = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 7.0][i % 4];
    }
    for name in [
        "wav-16",
        "archive",
        "speech-light",
        "music-stream-webm",
        "mp3-v2",
    ] {
        let preset = Preset::by_name(name).unwrap();
        let path = dir.path().join(format!("h.{}", preset.extension()));
        let mut enc = encoder_for(preset, input, output(&path, true)).unwrap();
        feed(enc.as_mut(), &samples, 1);
        let decoded = ffmpeg_decode(&path, input);
        assert!(decoded.iter().all(|x| x.is_finite()), "{name}");
    }
}
