//! Decoding and probing every format users bring, made on the spot by ffmpeg (the named
//! anchor), and the hostile inputs that must fail with a typed error instead of a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use tutti_media::MediaError;
use tutti_media::decode::Decoder;
use tutti_media::pcm::read_all;
use tutti_media::probe::probe_path;

/// Runs ffmpeg, failing the test with its message when it fails.
fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 2-second 440 Hz tone at the given rate and channel count, as WAV.
fn tone(dir: &Path, rate: u32, channels: u32) -> PathBuf {
    let path = dir.join(format!("tone-{rate}-{channels}.wav"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:sample_rate={rate}:duration=2"),
        "-ac",
        &channels.to_string(),
        "-c:a",
        "pcm_s16le",
        path.to_str().unwrap(),
    ]);
    path
}

fn encode(dir: &Path, input: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut all = vec!["-i", input.to_str().unwrap()];
    all.extend_from_slice(args);
    all.push(out.to_str().unwrap());
    ffmpeg(&all);
    out
}

fn decoded_frames(path: &Path) -> (u64, Vec<f32>) {
    let mut decoder = Decoder::open_path(path).unwrap();
    let samples = read_all(&mut decoder).unwrap();
    (decoder.decoded_frames(), samples)
}

#[test]
fn every_format_decodes_to_its_full_length_with_the_right_spec() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = tone(dir.path(), 44_100, 2);
    let cases: Vec<(PathBuf, &str, u32, f64)> = vec![
        (stereo.clone(), "wav", 44_100, 0.0),
        (
            encode(dir.path(), &stereo, "t.flac", &["-c:a", "flac"]),
            "flac",
            44_100,
            0.0,
        ),
        (
            encode(dir.path(), &stereo, "t.aiff", &["-c:a", "pcm_s16be"]),
            "aiff",
            44_100,
            0.0,
        ),
        (
            encode(
                dir.path(),
                &stereo,
                "t.mp3",
                &["-c:a", "libmp3lame", "-q:a", "2"],
            ),
            "mp3",
            44_100,
            0.03,
        ),
        (
            encode(
                dir.path(),
                &stereo,
                "t.m4a",
                &["-c:a", "aac", "-b:a", "128k"],
            ),
            "aac",
            44_100,
            0.05,
        ),
        (
            encode(
                dir.path(),
                &stereo,
                "t.ogg",
                &["-c:a", "libvorbis", "-q:a", "4"],
            ),
            "vorbis",
            44_100,
            0.03,
        ),
        (
            encode(
                dir.path(),
                &stereo,
                "t.opus",
                &["-c:a", "libopus", "-b:a", "96k"],
            ),
            "opus",
            48_000,
            0.03,
        ),
    ];
    for (path, codec, rate, tolerance) in cases {
        let info = probe_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(info.channels, 2, "{codec}");
        assert_eq!(info.sample_rate, rate, "{codec}");
        assert!(
            info.codec.contains(codec) || codec == "aiff" || codec == "wav",
            "{codec}: {}",
            info.codec
        );
        let (frames, samples) = decoded_frames(&path);
        let seconds = frames as f64 / rate as f64;
        assert!(
            (seconds - 2.0).abs() <= tolerance + 1e-3,
            "{codec}: decoded {seconds} s"
        );
        assert!(
            (info.duration_seconds - 2.0).abs() <= tolerance + 0.03,
            "{codec}: probed {} s",
            info.duration_seconds
        );
        let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(
            peak > 0.05 && peak <= 1.0,
            "{codec}: a tone, not silence or noise ({peak})"
        );
    }
}

#[test]
fn lossless_formats_decode_to_exactly_what_ffmpeg_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = tone(dir.path(), 48_000, 2);
    let flac = encode(dir.path(), &stereo, "t.flac", &["-c:a", "flac"]);
    let raw = dir.path().join("anchor.f32");
    ffmpeg(&[
        "-i",
        flac.to_str().unwrap(),
        "-f",
        "f32le",
        raw.to_str().unwrap(),
    ]);
    let anchor: Vec<f32> = std::fs::read(&raw)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let (_, ours) = decoded_frames(&flac);
    assert_eq!(ours.len(), anchor.len());
    let worst = ours
        .iter()
        .zip(&anchor)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1.0 / 32768.0, "differs from ffmpeg by {worst}");
}

#[test]
fn a_browser_style_webm_without_sizes_or_cues_decodes_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let mono = tone(dir.path(), 48_000, 1);
    // Written to a pipe, the muxer cannot go back to fill in sizes or cues, exactly like
    // MediaRecorder's output.
    let webm = dir.path().join("recording.webm");
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-v",
            "error",
            "-i",
            mono.to_str().unwrap(),
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            "-f",
            "webm",
            "-live",
            "1",
            "-cluster_time_limit",
            "500",
            "pipe:1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&webm, &out.stdout).unwrap();
    let info = probe_path(&webm).unwrap();
    assert_eq!(
        (info.container.as_str(), info.codec.as_str(), info.channels),
        ("matroska", "opus", 1)
    );
    assert_eq!(info.duration_source, "decoded", "no length in the header");
    assert!(
        (info.duration_seconds - 2.0).abs() < 0.03,
        "{}",
        info.duration_seconds
    );
}

#[test]
fn tags_and_cover_art_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = tone(dir.path(), 44_100, 2);
    let cover = dir.path().join("cover.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=64x64",
        "-frames:v",
        "1",
        cover.to_str().unwrap(),
    ]);
    for (name, codec) in [("tagged.flac", "flac"), ("tagged.mp3", "libmp3lame")] {
        let out = dir.path().join(name);
        ffmpeg(&[
            "-i",
            stereo.to_str().unwrap(),
            "-i",
            cover.to_str().unwrap(),
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-c:a",
            codec,
            "-c:v",
            "png",
            "-disposition:v",
            "attached_pic",
            "-metadata",
            "title=שיר השירים",
            "-metadata",
            "artist=Dana",
            "-metadata",
            "album=First Light",
            "-metadata",
            "track=3",
            "-metadata",
            "date=2024",
            out.to_str().unwrap(),
        ]);
        let info = probe_path(&out).unwrap();
        assert_eq!(info.tags.title.as_deref(), Some("שיר השירים"), "{name}");
        assert_eq!(info.tags.artist.as_deref(), Some("Dana"), "{name}");
        assert_eq!(info.tags.album.as_deref(), Some("First Light"), "{name}");
        assert_eq!(info.tags.track_number, Some(3), "{name}");
        assert_eq!(info.tags.year, Some(2024), "{name}");
        let cover = info.cover.expect("embedded cover");
        assert!(cover.data.starts_with(b"\x89PNG"), "{name}");
    }
}

/// A canonical 44-byte WAV header (PCM) followed by `data`, with sizes as given.
fn wav_header(rate: u32, channels: u16, data_size: u32, data: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&data_size.saturating_add(36).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate.wrapping_mul(2 * channels as u32)).to_le_bytes());
    h.extend_from_slice(&(2 * channels).to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_size.to_le_bytes());
    h.extend_from_slice(data);
    h
}

#[test]
fn hostile_inputs_fail_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = tone(dir.path(), 44_100, 2);
    let wav = std::fs::read(&stereo).unwrap();
    assert!(matches!(
        Decoder::open_bytes(vec![], Some("wav")),
        Err(MediaError::Empty(_))
    ));
    let text = b"this is a text file pretending to be audio\n".repeat(20);
    assert!(matches!(
        Decoder::open_bytes(text, Some("mp3")),
        Err(MediaError::Unsupported(_))
    ));

    let audio = &wav[wav.len() - 4000..];
    assert!(Decoder::open_bytes(wav_header(44_100, 1, 4000, audio), Some("wav")).is_ok());
    // A header that claims 4 GHz.
    let absurd = wav_header(4_000_000_000, 1, 4000, audio);
    assert!(matches!(
        Decoder::open_bytes(absurd, Some("wav")),
        Err(MediaError::Limit(_))
    ));
    // Zero channels.
    assert!(Decoder::open_bytes(wav_header(44_100, 0, 4000, audio), Some("wav")).is_err());

    // A WAV header only: it ends before any audio.
    let header_only = wav_header(44_100, 1, 4000, &[]);
    match Decoder::open_bytes(header_only, Some("wav")) {
        Err(_) => {}
        Ok(mut d) => assert!(read_all(&mut d).map(|s| s.is_empty()).unwrap_or(true)),
    }

    // Cut in the middle: what is there decodes, and the cut is reported.
    let flac = encode(dir.path(), &stereo, "t.flac", &["-c:a", "flac"]);
    let bytes = std::fs::read(&flac).unwrap();
    let cut = bytes[..bytes.len() / 2].to_vec();
    let mut decoder = Decoder::open_bytes(cut, Some("flac")).unwrap();
    let samples = read_all(&mut decoder);
    match samples {
        Ok(samples) => assert!(!samples.is_empty() && samples.len() < 2 * 44_100 * 2),
        Err(e) => assert!(matches!(e, MediaError::Corrupt(_)), "{e}"),
    }

    // A tiny header claiming days of audio is refused up front.
    let bomb = wav_header(8000, 1, u32::MAX - 64, &[0u8; 1000]);
    match Decoder::open_bytes(bomb, Some("wav")) {
        Err(MediaError::Limit(_)) => {}
        Err(e) => panic!("expected a limit error, got {e}"),
        Ok(mut d) => {
            let samples = read_all(&mut d).unwrap();
            assert!(
                samples.len() <= 500,
                "only the bytes that exist are decoded"
            );
        }
    }
}
