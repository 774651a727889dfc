//! Hostile inputs: every file in `tests/hostile/` is probed and decoded from disk (its
//! extension as the hint) and from memory under every extension hint, as the fuzzer
//! (`crates/media/fuzz`) does. Nothing may panic; each call must end in a typed error or
//! in sane audio (finite samples in range, a frame count the decoder agrees with).
//!
//! A file's name says what opening it from disk must give: `KIND--what-it-is.ext`, where
//! KIND is `empty`, `unsupported`, `corrupt`, `limit` (that error), `err` (any error),
//! `ok` (decodes) or `any` (either; used for fuzzer finds whose outcome is not the point).
//! Files named `…bomb…` are only opened from disk (each costs seconds of decoding).
//! Work is bounded by counting blocks, not by timing: a decoder that never ends fails
//! here, and one stuck inside a call is caught by nextest's slow-timeout.

use std::path::{Path, PathBuf};

use tutti_media::MediaError;
use tutti_media::decode::Decoder;
use tutti_media::pcm::PcmSource;
use tutti_media::probe::{probe_bytes, probe_path};

const HINTS: [Option<&str>; 7] = [
    None,
    Some("wav"),
    Some("flac"),
    Some("mp3"),
    Some("ogg"),
    Some("webm"),
    Some("m4a"),
];

/// Loudest sample an integer decoder (integer PCM, ADPCM, FLAC, ALAC) may produce,
/// whatever the data: integers scaled to full scale cannot go past it.
const INTEGER_PEAK: f32 = 1.0 + 1e-6;
/// Lossy decoders fed damaged data can legitimately produce samples far beyond full scale
/// (a garbage MP3 gain field alone is worth +60 dB); the engine only promises those are
/// finite, and so is float PCM, which may hold any value.
fn is_integer_codec(codec: &str) -> bool {
    ["pcm", "adpcm", "flac", "alac"]
        .iter()
        .any(|c| codec.starts_with(c))
        && !codec.starts_with("pcm_f")
}

/// Far more blocks than any file here can yield (each is a few KB, the bomb ~700 blocks):
/// a decoder that keeps returning audio past this never ends.
const MAX_BLOCKS: u64 = 5_000_000;

fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

fn hostile_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(hostile_dir())
        .expect("tests/hostile exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap().to_str().unwrap().contains("--"))
        .collect();
    files.sort();
    files
}

/// What decoding to the end gave (shown with HOSTILE_VERBOSE=1).
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Decoded {
    container: String,
    codec: String,
    frames: u64,
    peak: f32,
}

/// Reads a decoder to its end, checking every block; `Err` carries the engine's error or
/// a description of insane output.
fn drain(mut decoder: Decoder) -> Result<Decoded, Outcome> {
    let spec = decoder.spec();
    let channels = spec.channels as usize;
    if !(1..=16).contains(&channels) || !(1000..=384_000).contains(&spec.sample_rate) {
        return Err(Outcome::Insane(format!(
            "spec out of the engine's limits: {spec:?}"
        )));
    }
    let mut samples = 0u64;
    let mut blocks = 0u64;
    let mut peak = 0f32;
    loop {
        blocks += 1;
        if blocks > MAX_BLOCKS {
            return Err(Outcome::Insane(format!(
                "still producing audio after {MAX_BLOCKS} blocks"
            )));
        }
        match decoder.read() {
            Ok(Some(block)) => {
                if block.is_empty() || block.len() % channels != 0 {
                    return Err(Outcome::Insane(format!(
                        "a block of {} samples for {channels} channels",
                        block.len()
                    )));
                }
                for &s in block {
                    if !s.is_finite() {
                        return Err(Outcome::Insane(format!("a non-finite sample {s}")));
                    }
                    peak = peak.max(s.abs());
                }
                samples += block.len() as u64;
            }
            Ok(None) => break,
            Err(e) => return Err(Outcome::Error(e)),
        }
    }
    let frames = samples / channels as u64;
    if frames != decoder.decoded_frames() {
        return Err(Outcome::Insane(format!(
            "read {frames} frames but the decoder counted {}",
            decoder.decoded_frames()
        )));
    }
    if peak > INTEGER_PEAK && is_integer_codec(decoder.codec()) {
        return Err(Outcome::Insane(format!(
            "a sample of magnitude {peak} from {} in {}",
            decoder.codec(),
            decoder.container()
        )));
    }
    Ok(Decoded {
        container: decoder.container().to_string(),
        codec: decoder.codec().to_string(),
        frames,
        peak,
    })
}

#[derive(Debug)]
enum Outcome {
    Error(MediaError),
    Insane(String),
}

/// Opens and drains; an `Err(MediaError)` from either step is a typed failure.
fn decode(open: Result<Decoder, MediaError>) -> Result<Decoded, Outcome> {
    drain(open.map_err(Outcome::Error)?)
}

fn check_probe(info: &tutti_media::probe::ProbeInfo) -> Result<(), String> {
    if info.channels == 0 || info.sample_rate < 1000 || !info.duration_seconds.is_finite() {
        return Err(format!("probe reported nonsense: {info:?}"));
    }
    Ok(())
}

fn check_error(e: &MediaError) -> Result<(), String> {
    if e.to_string().trim().is_empty() {
        return Err(format!("an error without a message: {e:?}"));
    }
    Ok(())
}

/// Checks one file; returns the problems found.
fn check_file(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_str().unwrap();
    let expect = name.split("--").next().unwrap();
    let mut problems = Vec::new();
    let mut report = |what: String| problems.push(format!("{name}: {what}"));

    // From disk, with the file's own extension: the expectation in its name.
    let outcome = decode(Decoder::open_path(path));
    if std::env::var_os("HOSTILE_VERBOSE").is_some() {
        eprintln!("{name}: {outcome:?}");
    }
    match (&outcome, expect) {
        (Err(Outcome::Insane(why)), _) => report(format!("from disk: {why}")),
        (Err(Outcome::Error(e)), _) if check_error(e).is_err() => {
            report(check_error(e).unwrap_err())
        }
        (Err(Outcome::Error(e)), "empty" | "unsupported" | "corrupt" | "limit")
            if e.code() != format!("media-{expect}") =>
        {
            report(format!(
                "expected a media-{expect} error, got {} ({e})",
                e.code()
            ))
        }
        (Ok(d), "empty" | "unsupported" | "corrupt" | "limit" | "err") => {
            report(format!("expected an error, but it decoded: {d:?}"))
        }
        (Err(Outcome::Error(e)), "ok") => report(format!("expected audio, got {} ({e})", e.code())),
        (_, "empty" | "unsupported" | "corrupt" | "limit" | "err" | "ok" | "any") => {}
        (_, other) => report(format!("unknown expectation `{other}` in the file name")),
    }
    match probe_path(path) {
        Ok(info) => {
            if let Err(why) = check_probe(&info) {
                report(format!("probe from disk: {why}"));
            }
        }
        Err(e) => {
            if let Err(why) = check_error(&e) {
                report(format!("probe from disk: {why}"));
            }
        }
    }

    // From memory under every hint: only that nothing panics and output is sane. Bombs,
    // whose point is the hours of decoding they cost, are decoded from disk only.
    if name.contains("bomb") {
        return problems;
    }
    let bytes = std::fs::read(path).unwrap();
    for hint in HINTS {
        match probe_bytes(bytes.clone(), hint) {
            Ok(info) => {
                if let Err(why) = check_probe(&info) {
                    report(format!("probe, hint {hint:?}: {why}"));
                }
            }
            Err(e) => {
                if let Err(why) = check_error(&e) {
                    report(format!("probe, hint {hint:?}: {why}"));
                }
            }
        }
        match decode(Decoder::open_bytes(bytes.clone(), hint)) {
            Err(Outcome::Insane(why)) => report(format!("decode, hint {hint:?}: {why}")),
            Err(Outcome::Error(e)) => {
                if let Err(why) = check_error(&e) {
                    report(format!("decode, hint {hint:?}: {why}"));
                }
            }
            Ok(_) => {}
        }
    }
    problems
}

#[test]
fn every_hostile_file_fails_with_a_typed_error_or_decodes_sanely() {
    let files = hostile_files();
    assert!(
        files.len() >= 10,
        "tests/hostile/ holds the regression inputs"
    );
    let problems: Vec<String> = files.iter().flat_map(|f| check_file(f)).collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
