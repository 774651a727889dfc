//! Probing files as browsers and cut-off uploads leave them, made on the spot by ffmpeg:
//! a probe reports what the file really holds, not what its header claims, and says when
//! a file was cut off.

use std::path::{Path, PathBuf};
use std::process::Command;

use tutti_media::MediaError;
use tutti_media::decode::Decoder;
use tutti_media::pcm::read_all;
use tutti_media::probe::{ProbeInfo, probe_bytes, probe_path};

/// Runs ffmpeg and returns what it wrote to stdout.
fn ffmpeg(args: &[&str]) -> Vec<u8> {
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
    out.stdout
}

/// `seconds` of a 440 Hz tone at 48 kHz mono, encoded with `args` into `name`.
fn tone(dir: &Path, name: &str, seconds: f64, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let source = format!("sine=frequency=440:sample_rate=48000:duration={seconds}");
    let mut all = vec!["-f", "lavfi", "-i", &source];
    all.extend_from_slice(args);
    all.push(path.to_str().unwrap());
    ffmpeg(&all);
    path
}

/// Frames our decoder gets out of the file, reading to the end (and whether it says the
/// file was cut off).
fn decode(path: &Path) -> (u64, bool) {
    let mut decoder = Decoder::open_path(path).unwrap();
    read_all(&mut decoder).unwrap();
    (decoder.decoded_frames(), decoder.truncated())
}

fn cut(path: &Path, keep: usize, name: &str) -> PathBuf {
    let bytes = std::fs::read(path).unwrap();
    let out = path.with_file_name(name);
    std::fs::write(&out, &bytes[..keep]).unwrap();
    out
}

fn probe(path: &Path) -> ProbeInfo {
    probe_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The top-level MP4 boxes: (offset, type, size).
fn mp4_boxes(bytes: &[u8]) -> Vec<(usize, [u8; 4], usize)> {
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        boxes.push((at, bytes[at + 4..at + 8].try_into().unwrap(), size));
        at += size;
    }
    boxes
}

/// Safari's MediaRecorder writes fragmented MP4 with an empty `moov`: the header says 0
/// frames and the audio is all in the fragments.
#[test]
fn a_fragmented_mp4_with_an_empty_moov_is_counted_by_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = tone(
        dir.path(),
        "safari.mp4",
        4.64,
        &[
            "-c:a",
            "aac",
            "-movflags",
            "+frag_keyframe+empty_moov+default_base_moof",
            // Half-second fragments, as a recorder with a timeslice writes them.
            "-frag_duration",
            "500000",
        ],
    );
    let info = probe(&mp4);
    let (decoded, cut_off) = decode(&mp4);
    assert_eq!(info.duration_source, "decoded");
    assert_eq!(
        info.frames, decoded,
        "the probe counts what a transcode decodes"
    );
    assert!(
        (info.duration_seconds - 4.64).abs() < 0.05,
        "{}",
        info.duration_seconds
    );
    assert!(!info.truncated && !cut_off);
    let same = probe_bytes(std::fs::read(&mp4).unwrap(), Some("mp4")).unwrap();
    assert_eq!(same.frames, info.frames);

    // Cut in the middle of a fragment's audio, as an upload that stopped: the whole
    // fragments before the cut are what decodes, and the file is reported cut off.
    let bytes = std::fs::read(&mp4).unwrap();
    let mdats: Vec<_> = mp4_boxes(&bytes)
        .into_iter()
        .filter(|(_, kind, _)| kind == b"mdat")
        .collect();
    assert!(mdats.len() >= 8, "fragments: {}", mdats.len());
    let (at, _, size) = mdats[mdats.len() / 2];
    let cut_mp4 = cut(&mp4, at + size / 2, "cut.mp4");
    let info = probe(&cut_mp4);
    assert!(info.truncated, "a cut fragment is a cut file");
    assert_eq!(info.frames, decode(&cut_mp4).0);
    assert!(
        info.duration_seconds > 1.5 && info.duration_seconds < 3.0,
        "{}",
        info.duration_seconds
    );
}

/// A WAV's header says how much audio follows; an upload cut short holds less.
#[test]
fn a_wav_cut_short_of_its_header_is_reported_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let wav = tone(dir.path(), "tone.wav", 2.0, &["-c:a", "pcm_s16le"]);
    let whole = probe(&wav);
    assert_eq!(
        (whole.duration_source, whole.frames, whole.truncated),
        ("header", 96_000, false),
        "a whole file keeps the header's length, checked without decoding"
    );

    let bytes = std::fs::read(&wav).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;

    // Cut right after the header: no audio at all is an error, saying why.
    let header_only = cut(&wav, data, "header-only.wav");
    match probe_path(&header_only) {
        Err(MediaError::Corrupt(m)) => assert!(m.contains("cut off"), "{m}"),
        other => panic!("a WAV with no data must be an error, got {other:?}"),
    }

    // Cut mid-data (and mid-sample): what is there is reported, as cut off.
    let half = cut(&wav, data + 100_001, "half.wav");
    let info = probe(&half);
    assert!(info.truncated);
    assert_eq!(info.duration_source, "decoded");
    assert_eq!(info.frames, 50_000, "100,000 bytes of 16-bit mono");
    // Cut on a sample boundary: no partial packet, yet still less than the header says.
    let even = cut(&wav, data + 100_000, "even.wav");
    let info = probe(&even);
    assert!(info.truncated);
    assert_eq!(info.frames, 50_000);
}

/// The same for formats whose header holds a length and whose frames carry no sizes.
#[test]
fn flac_and_mp3_cut_short_of_their_headers_are_reported_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("tone.flac", &["-c:a", "flac"][..]),
        ("tone.mp3", &["-c:a", "libmp3lame", "-q:a", "2"][..]),
        ("tone.m4a", &["-c:a", "aac", "-movflags", "+faststart"][..]),
    ] {
        let file = tone(dir.path(), name, 3.0, args);
        let whole = probe(&file);
        assert_eq!(whole.duration_source, "header", "{name}");
        assert!(!whole.truncated, "{name}");
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        let cut_file = cut(&file, len * 6 / 10, &format!("cut-{name}"));
        match probe_path(&cut_file) {
            Ok(info) => {
                assert!(info.truncated, "{name}");
                assert!(
                    info.duration_seconds < 2.5,
                    "{name}: {}",
                    info.duration_seconds
                );
                assert_eq!(info.frames, decode(&cut_file).0, "{name}");
            }
            // symphonia cannot read any of an MP4 whose last box is cut: an error that
            // says so is the honest answer.
            Err(MediaError::Corrupt(m)) if name.ends_with(".m4a") => {
                assert!(m.contains("cut off"), "{name}: {m}")
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

/// ffmpeg writing WebM to a pipe cannot go back to fill in sizes: the Segment and its
/// Clusters have unknown sizes and the file can only end by ending. That is a whole file,
/// not one cut mid-packet; one really cut inside a block still is.
#[test]
fn a_complete_webm_written_to_a_pipe_is_not_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=3",
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        "-f",
        "webm",
        "pipe:1",
    ]);
    let webm = dir.path().join("pipe.webm");
    std::fs::write(&webm, &bytes).unwrap();
    // ffmpeg itself decodes it without complaint.
    ffmpeg(&["-i", webm.to_str().unwrap(), "-f", "null", "-"]);
    let info = probe(&webm);
    assert!(!info.truncated, "a whole WebM from a pipe is not cut off");
    assert_eq!(info.duration_source, "decoded");
    assert!(
        (info.duration_seconds - 3.0).abs() < 0.03,
        "{}",
        info.duration_seconds
    );
    assert!(!decode(&webm).1);

    // Cut inside the last block: cut off, with what decodes.
    let cut_webm = cut(&webm, bytes.len() - 20, "cut.webm");
    let info = probe(&cut_webm);
    assert!(info.truncated);
    assert!(info.frames < decode(&webm).0);
}
