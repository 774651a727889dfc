//! `tutti media …` as an operator runs it: one decode to several outputs, probing,
//! analysis and waveform pictures, with clear errors for bad files and presets.

use std::path::Path;
use std::process::{Command, Output};

fn tutti(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run tutti")
}

fn ok(args: &[&str]) -> String {
    let out = tutti(args);
    assert!(
        out.status.success(),
        "tutti {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn master(dir: &Path) -> String {
    let path = dir.join("master.flac");
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:sample_rate=44100:duration=3",
        ])
        .args(["-ac", "2", "-c:a", "flac"])
        .arg(&path)
        .status()
        .expect("ffmpeg is installed");
    assert!(status.success());
    path.display().to_string()
}

#[test]
fn one_decode_makes_every_output_and_the_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let input = master(dir.path());
    let mp3 = dir.path().join("out.mp3").display().to_string();
    let opus = dir.path().join("out.opus").display().to_string();
    let flac = dir.path().join("out.flac").display().to_string();
    let json = ok(&[
        "media",
        "transcode",
        &input,
        "--preset",
        "music-download",
        "-o",
        &mp3,
        "--preset",
        "music-stream",
        "-o",
        &opus,
        "--preset",
        "archive",
        "-o",
        &flac,
        "--analyse",
    ]);
    let analysis: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(analysis["loudness"]["integrated_lufs"].as_f64().unwrap() < -3.0);

    for (path, codec, rate) in [
        (&mp3, "mp3", 44_100),
        (&opus, "opus", 48_000),
        (&flac, "flac", 44_100),
    ] {
        let probe: serde_json::Value =
            serde_json::from_str(&ok(&["media", "probe", path, "--json"])).unwrap();
        assert_eq!(probe["codec"], codec, "{path}");
        assert_eq!(probe["sample_rate"], rate, "{path}");
        assert_eq!(probe["channels"], 2, "{path}");
        let seconds = probe["duration_seconds"].as_f64().unwrap();
        assert!((seconds - 3.0).abs() < 0.06, "{path}: {seconds} s");
    }
    let text = ok(&["media", "probe", &flac]);
    assert!(
        text.contains("44100 Hz") && text.contains("3.000 s"),
        "{text}"
    );
}

#[test]
fn analysis_and_waveforms_come_out_as_json_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let input = master(dir.path());
    let analysis: serde_json::Value =
        serde_json::from_str(&ok(&["media", "analyse", &input])).unwrap();
    assert!((analysis["duration_seconds"].as_f64().unwrap() - 3.0).abs() < 0.01);
    for ext in ["png", "svg", "json"] {
        let out = dir.path().join(format!("wave.{ext}"));
        ok(&[
            "media",
            "waveform",
            &input,
            "-o",
            out.to_str().unwrap(),
            "--width",
            "300",
            "--height",
            "60",
        ]);
        let bytes = std::fs::read(&out).unwrap();
        match ext {
            "png" => assert!(bytes.starts_with(b"\x89PNG")),
            "svg" => assert!(String::from_utf8(bytes).unwrap().contains("<svg")),
            _ => {
                let peaks: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert!(peaks["peaks"].as_array().unwrap().len() <= 300);
            }
        }
    }
}

#[test]
fn bad_files_and_presets_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.mp3");
    std::fs::write(
        &text,
        "this is not audio, whatever the name says\n".repeat(10),
    )
    .unwrap();
    let out = tutti(&["media", "probe", text.to_str().unwrap()]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("notes.mp3") && message.contains("audio"),
        "{message}"
    );

    let input = master(dir.path());
    let out = tutti(&[
        "media",
        "transcode",
        &input,
        "--preset",
        "loud",
        "-o",
        "x.mp3",
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("loud") && message.contains("music-stream"),
        "names the presets: {message}"
    );

    let out = tutti(&[
        "media",
        "transcode",
        &input,
        "--preset",
        "archive",
        "--preset",
        "wav-16",
        "-o",
        "x.flac",
    ]);
    assert!(!out.status.success(), "one output per preset");
}

#[test]
fn an_output_named_for_another_format_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = master(dir.path());
    let good = dir.path().join("ok.flac");
    let wrong = dir.path().join("x.flac");
    let out = tutti(&[
        "media",
        "transcode",
        &input,
        "--preset",
        "archive",
        "-o",
        good.to_str().unwrap(),
        "--preset",
        "music-download",
        "-o",
        wrong.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    let renamed = dir.path().join("x.mp3");
    for part in [
        "music-download makes .mp3 files, not .flac",
        &format!("name the output {}", renamed.display()),
        "archive, flac-16, flac-24",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(!good.exists() && !wrong.exists(), "nothing is written");
}

#[test]
fn media_commands_take_no_settings_flags() {
    let out = tutti(&["--data-dir", "/srv/tutti", "media", "presets"]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("reads no settings") && message.contains("--data-dir"),
        "{message}"
    );
    let out = tutti(&["media", "presets", "--database-url", "sqlite://x.db"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unexpected argument"),
        "media has no such flag"
    );
    // The environment's settings are not the media tools' business.
    let out = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(["media", "presets"])
        .env("TUTTI_CONFIG", "/nowhere/tutti.toml")
        .env("TUTTI_LISTEN", "not an address")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
