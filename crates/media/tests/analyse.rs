//! Stories of the analysis and waveform sinks on generated audio: a take's loudness, its
//! silences and clipping, a silent take, the browser's waveform, and the loudness that
//! ffmpeg measures on the same file.

use std::process::Command;

use tutti_media::analyse::{Analyser, Analysis, AnalysisSettings, FLOOR_DBFS, analyse};
use tutti_media::pcm::{MemorySource, sine};
use tutti_media::waveform::{Peaks, PeaksBuilder, Rgba, Style, render_png, render_svg};
use tutti_media::{AudioSpec, MediaError, PcmSink};

fn spec(sample_rate: u32, channels: u16) -> AudioSpec {
    AudioSpec::new(sample_rate, channels).unwrap()
}

fn run(spec: AudioSpec, samples: Vec<f32>) -> Analysis {
    analyse(
        &mut MemorySource::new(spec, samples),
        AnalysisSettings::default(),
    )
    .unwrap()
}

fn silence(spec: AudioSpec, seconds: f32) -> Vec<f32> {
    vec![0.0; (spec.sample_rate as f32 * seconds) as usize * spec.channels as usize]
}

fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} is not within {tolerance} of {expected}"
    );
}

#[test]
fn a_half_scale_stereo_sine_measures_as_the_r128_definition_says() {
    // BS.1770: the K-weighting gain at 1 kHz (+0.691 dB) cancels the −0.691 offset, so a
    // sine of peak amplitude A in both channels (mean square A²/2 each, two channels
    // summed) reads 20·log10(A) LUFS: −6.02 LUFS for A = 0.5 (EBU Tech 3341 case 1).
    let spec = spec(48_000, 2);
    let report = run(spec, sine(spec, 1000.0, 10.0, 0.5));
    let expected = 20.0 * 0.5f64.log10();

    close(report.duration_seconds, 10.0, 1e-9, "duration");
    close(
        report.loudness.integrated_lufs.unwrap(),
        expected,
        0.1,
        "integrated",
    );
    close(report.loudness.range_lu.unwrap(), 0.0, 0.2, "range");
    close(
        report.loudness.sample_peak_dbfs.unwrap(),
        expected,
        0.01,
        "sample peak",
    );
    close(
        report.loudness.true_peak_dbtp.unwrap(),
        expected,
        0.2,
        "true peak",
    );
    close(
        report.replaygain.track_gain_db.unwrap(),
        -18.0 - report.loudness.integrated_lufs.unwrap(),
        1e-9,
        "replaygain",
    );
    close(report.replaygain.track_peak, 0.5, 1e-3, "replaygain peak");
    assert_eq!(report.clipping.clipped_samples, 0);
    assert_eq!(report.rms.dbfs.len(), 100);
    close(report.rms.window_seconds, 0.1, 1e-9, "rms window");
    for &level in &report.rms.dbfs {
        // A sine's RMS is its amplitude over √2: −9.03 dBFS.
        close(level as f64, expected - 3.0103, 0.05, "rms point");
    }
    assert_eq!(report.silence.leading_seconds, 0.0);
    assert_eq!(report.silence.trailing_seconds, 0.0);
    assert!(!report.silence.fully_silent);
    // A steady tone has no quiet frames to stand out from: not speech-like.
    assert_eq!(report.speech.ratio, 0.0);
}

#[test]
fn a_mono_sine_at_minus_20_dbfs_reads_minus_23_lufs() {
    let spec = spec(44_100, 1);
    let report = run(spec, sine(spec, 1000.0, 5.0, 0.1));
    close(
        report.loudness.integrated_lufs.unwrap(),
        -20.0 - 3.0103,
        0.1,
        "integrated",
    );
}

#[test]
fn a_tone_between_silences_gives_leading_and_trailing_silence() {
    let spec = spec(48_000, 1);
    let mut samples = silence(spec, 1.0);
    samples.extend(sine(spec, 440.0, 2.0, 0.3));
    samples.extend(silence(spec, 1.5));
    let report = run(spec, samples);

    close(report.duration_seconds, 4.5, 1e-9, "duration");
    close(report.silence.leading_seconds, 1.0, 0.01, "leading");
    close(report.silence.trailing_seconds, 1.5, 0.01, "trailing");
    assert!(report.silence.pauses.is_empty());
    assert!(!report.silence.fully_silent);
    // 2 s of 4.5 s rise above the floor (digital silence) by far more than 12 dB.
    close(report.speech.ratio, 2.0 / 4.5, 0.02, "speech ratio");
    assert_eq!(report.speech.noise_floor_dbfs, FLOOR_DBFS);
}

#[test]
fn a_long_pause_between_phrases_is_reported_and_a_short_one_is_not() {
    let spec = spec(16_000, 1);
    let mut samples = sine(spec, 300.0, 1.0, 0.2);
    samples.extend(silence(spec, 2.0));
    samples.extend(sine(spec, 300.0, 1.0, 0.2));
    samples.extend(silence(spec, 0.5));
    samples.extend(sine(spec, 300.0, 1.0, 0.2));
    let report = run(spec, samples);

    assert_eq!(report.silence.pause_count, 1, "{:?}", report.silence);
    let pause = report.silence.pauses[0];
    close(pause.start_seconds, 1.0, 0.01, "pause start");
    close(pause.end_seconds, 3.0, 0.01, "pause end");
    close(report.silence.longest_pause_seconds, 2.0, 0.02, "longest");
    close(report.silence.leading_seconds, 0.0, 0.01, "leading");
    close(report.silence.trailing_seconds, 0.0, 0.01, "trailing");
}

#[test]
fn a_clipped_recording_counts_its_flat_tops() {
    let spec = spec(48_000, 2);
    // A 100 Hz sine driven to twice full scale: half of each half-period sits at ±1.
    let samples: Vec<f32> = sine(spec, 100.0, 1.0, 2.0)
        .into_iter()
        .map(|x| x.clamp(-1.0, 1.0))
        .collect();
    let expected = samples.iter().filter(|x| x.abs() >= 0.999).count() as u64;
    let report = run(spec, samples.clone());

    assert_eq!(report.clipping.clipped_samples, expected);
    close(
        report.clipping.ratio,
        expected as f64 / samples.len() as f64,
        1e-12,
        "ratio",
    );
    assert!(report.clipping.ratio > 0.3, "{:?}", report.clipping);
    // Two flat tops per period, 100 periods, two channels.
    assert_eq!(report.clipping.runs, 2 * 100 * 2);
    close(report.loudness.sample_peak_dbfs.unwrap(), 0.0, 1e-6, "peak");
}

#[test]
fn a_silent_take_is_flagged_and_still_serialises() {
    let spec = spec(48_000, 2);
    let report = run(spec, silence(spec, 3.0));

    assert!(report.silence.fully_silent);
    close(report.silence.leading_seconds, 3.0, 1e-9, "leading");
    close(report.silence.trailing_seconds, 3.0, 1e-9, "trailing");
    assert_eq!(report.loudness.integrated_lufs, None);
    assert_eq!(report.loudness.sample_peak_dbfs, None);
    assert_eq!(report.replaygain.track_gain_db, None);
    assert_eq!(report.speech.ratio, 0.0);
    assert!(report.rms.dbfs.iter().all(|&l| l as f64 == FLOOR_DBFS));

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["silence"]["fully_silent"], true);
    assert!(json["loudness"]["integrated_lufs"].is_null());
    let back: Analysis = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn an_empty_stream_is_a_silent_take_of_no_length() {
    let report = run(spec(48_000, 1), Vec::new());
    assert_eq!(report.duration_seconds, 0.0);
    assert!(report.silence.fully_silent);
    assert!(report.rms.dbfs.is_empty());
}

#[test]
fn block_boundaries_do_not_change_the_result() {
    let spec = spec(22_050, 2);
    let mut samples = silence(spec, 0.37);
    samples.extend(sine(spec, 500.0, 1.3, 0.4));
    samples.extend(silence(spec, 1.21));
    samples.extend(sine(spec, 200.0, 0.6, 1.0));
    let whole = run(spec, samples.clone());

    let mut analyser = Analyser::new(spec, AnalysisSettings::default()).unwrap();
    let mut at = 0;
    for size in [1usize, 7, 480, 3, 1023].iter().cycle() {
        if at >= samples.len() {
            break;
        }
        let end = (at + size * 2).min(samples.len());
        analyser.write(&samples[at..end]).unwrap();
        at = end;
    }
    analyser.finish().unwrap();
    let pieces = analyser.report();
    // The loudness meter's filters run per block, so allow rounding in the last bits.
    close(
        pieces.loudness.integrated_lufs.unwrap(),
        whole.loudness.integrated_lufs.unwrap(),
        1e-6,
        "integrated",
    );
    assert_eq!(pieces.silence, whole.silence);
    assert_eq!(pieces.rms, whole.rms);
    assert_eq!(pieces.clipping, whole.clipping);
    assert_eq!(pieces.speech, whole.speech);
}

#[test]
fn hours_of_audio_keep_the_report_bounded() {
    // An hour of 1.5 s of tone then 1.5 s of silence, over and over: 1200 pauses and
    // 36 000 RMS windows, generated block by block.
    let spec = spec(8000, 1);
    let settings = AnalysisSettings {
        true_peak: false,
        ..AnalysisSettings::default()
    };
    let mut analyser = Analyser::new(spec, settings.clone()).unwrap();
    let tone = sine(spec, 100.0, 1.5, 0.5);
    let quiet = silence(spec, 1.5);
    for _ in 0..1200 {
        analyser.write(&tone).unwrap();
        analyser.write(&quiet).unwrap();
    }
    let report = analyser.report();
    close(report.duration_seconds, 3600.0, 1e-6, "duration");
    assert_eq!(report.silence.pause_count, 1199);
    assert_eq!(report.silence.pauses.len(), settings.max_pauses);
    assert!(report.rms.dbfs.len() <= settings.max_rms_points);
    assert!(report.rms.dbfs.len() >= settings.max_rms_points / 2);
    // Decimation keeps the curve covering the whole stream.
    close(
        report.rms.window_seconds * report.rms.dbfs.len() as f64,
        3600.0,
        report.rms.window_seconds,
        "rms coverage",
    );
    close(report.speech.ratio, 0.5, 0.02, "speech ratio");
}

#[test]
fn settings_out_of_range_name_the_field() {
    let settings = AnalysisSettings {
        clip_level: 1.5,
        ..AnalysisSettings::default()
    };
    let error = Analyser::new(spec(48_000, 1), settings).err().unwrap();
    assert!(
        matches!(
            error,
            MediaError::Setting {
                field: "clip_level",
                ..
            }
        ),
        "{error}"
    );
}

/// ffmpeg's `ebur128` filter prints `I: -23.0 LUFS` in its summary.
fn ffmpeg_integrated(path: &std::path::Path) -> f64 {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    let summary = &log[log.rfind("Summary:").expect("a summary")..];
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with("I:"))
        .expect("an integrated line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn integrated_loudness_agrees_with_ffmpeg_within_0_2_lu() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (channels, rate) in [(2u16, 48_000u32), (1, 44_100)] {
        let spec = spec(rate, channels);
        // Loud passages, a quiet one below the relative gate, and unequal channels, so
        // that both gates and the channel sum matter.
        let mut samples = Vec::new();
        let frames = |s: f32| (s * rate as f32) as usize;
        for i in 0..frames(12.0) {
            let t = i as f32 / rate as f32;
            let (left, right) = if t < 5.0 {
                let x = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                    + 0.1 * (2.0 * std::f32::consts::PI * 3000.0 * t).sin();
                (x, x)
            } else if t < 8.0 {
                let x = 0.003 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
                (x, x)
            } else {
                let x = (2.0 * std::f32::consts::PI * 100.0 * t).sin();
                (0.5 * x, 0.2 * x)
            };
            samples.push(left);
            if channels == 2 {
                samples.push(right);
            }
        }
        let path = dir.join(format!("analyse-ffmpeg-{channels}ch-{rate}.wav"));
        let mut wav = hound::WavWriter::create(
            &path,
            hound::WavSpec {
                channels,
                sample_rate: rate,
                bits_per_sample: 32,
                sample_format: hound::SampleFormat::Float,
            },
        )
        .unwrap();
        for &x in &samples {
            wav.write_sample(x).unwrap();
        }
        wav.finalize().unwrap();

        let ours = run(spec, samples).loudness.integrated_lufs.unwrap();
        let theirs = ffmpeg_integrated(&path);
        close(
            ours,
            theirs,
            0.2,
            &format!("{channels} ch at {rate} Hz vs ffmpeg"),
        );
    }
}

fn peaks_of(spec: AudioSpec, samples: &[f32], buckets: usize) -> Peaks {
    let frames = (samples.len() / spec.channels as usize) as u64;
    let mut builder = PeaksBuilder::with_buckets(spec, frames, buckets).unwrap();
    builder.write(samples).unwrap();
    builder.finish().unwrap();
    builder.peaks()
}

#[test]
fn peaks_are_the_min_and_max_of_the_mono_mix_per_bucket() {
    let spec = spec(8000, 2);
    // Left at 1.0 and right at 0.0 mix to 0.5; then −0.25 in both.
    let mut samples = Vec::new();
    for _ in 0..100 {
        samples.extend([1.0, 0.0]);
    }
    for _ in 0..100 {
        samples.extend([-0.25, -0.25]);
    }
    let peaks = peaks_of(spec, &samples, 2);
    assert_eq!(peaks.frames_per_peak, 100);
    assert_eq!(peaks.peaks, vec![[0.5, 0.5], [-0.25, -0.25]]);

    let json = serde_json::to_value(&peaks).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "sample_rate": 8000,
            "channels": 1,
            "frames_per_peak": 100,
            "peaks": [[0.5, 0.5], [-0.25, -0.25]],
        })
    );
}

#[test]
fn a_sine_fills_every_bucket_to_its_amplitude() {
    let spec = spec(48_000, 1);
    let peaks = peaks_of(spec, &sine(spec, 1000.0, 1.0, 0.8), 10);
    assert_eq!(peaks.peaks.len(), 10);
    assert_eq!(peaks.frames_per_peak, 4800);
    for [low, high] in peaks.peaks {
        close(low as f64, -0.8, 1e-3, "low");
        close(high as f64, 0.8, 1e-3, "high");
    }
}

#[test]
fn a_stream_of_unknown_length_halves_its_resolution_at_the_cap() {
    let spec = spec(8000, 1);
    let mut builder = PeaksBuilder::with_frames_per_peak(spec, 10, 8).unwrap();
    let samples: Vec<f32> = (0..200).map(|i| i as f32 / 1000.0).collect();
    builder.write(&samples).unwrap();
    let peaks = builder.peaks();
    // 20 buckets of 10 frames do not fit in 8: the length doubled twice, to 40.
    assert_eq!(peaks.frames_per_peak, 40);
    assert_eq!(peaks.peaks.len(), 5);
    assert_eq!(peaks.peaks[0], [0.0, 0.039]);
    assert_eq!(peaks.peaks[4], [0.16, 0.199]);
}

#[test]
fn the_png_has_the_asked_size_a_transparent_background_and_a_drawn_wave() {
    let spec = spec(48_000, 1);
    let peaks = peaks_of(spec, &sine(spec, 2000.0, 1.0, 0.5), 500);
    let style = Style {
        width: 300,
        height: 101,
        colour: Rgba::parse("#ff0000").unwrap(),
        background: Rgba::TRANSPARENT,
    };
    let png_bytes = render_png(&peaks, &style).unwrap();

    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (300, 101));
    assert_eq!(info.color_type, png::ColorType::Rgba);
    let pixel = |x: usize, y: usize| &pixels[(y * 300 + x) * 4..(y * 300 + x) * 4 + 4];
    // ±0.5 spans rows 25 to 75 of 0..=100.
    assert_eq!(pixel(150, 0), [0, 0, 0, 0]);
    assert_eq!(pixel(150, 50), [255, 0, 0, 255]);
    assert_eq!(pixel(150, 25), [255, 0, 0, 255]);
    assert_eq!(pixel(150, 75), [255, 0, 0, 255]);
    assert_eq!(pixel(150, 24), [0, 0, 0, 0]);
    assert_eq!(pixel(150, 76), [0, 0, 0, 0]);
}

#[test]
fn a_picture_size_of_zero_is_refused() {
    let spec = spec(48_000, 1);
    let peaks = peaks_of(spec, &sine(spec, 200.0, 0.1, 0.5), 10);
    let style = Style {
        width: 0,
        ..Style::default()
    };
    let error = render_png(&peaks, &style).unwrap_err();
    assert!(matches!(error, MediaError::Setting { field: "width", .. }));
    assert!(Rgba::parse("red").is_err());
    assert_eq!(Rgba::parse("#0a0B0c80").unwrap(), Rgba([10, 11, 12, 128]));
}

#[test]
fn the_svg_is_well_formed_with_one_path() {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    let spec = spec(48_000, 2);
    let peaks = peaks_of(spec, &sine(spec, 200.0, 1.0, 0.7), 400);
    let svg = render_svg(&peaks, &Style::default()).unwrap();

    let mut reader = Reader::from_str(&svg);
    let (mut elements, mut paths, mut depth) = (Vec::new(), 0, 0i32);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                depth += 1;
                elements.push(e.name().as_ref().to_string());
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_string();
                if name == "path" {
                    paths += 1;
                    let d = e.try_get_attribute("d").unwrap().unwrap();
                    assert!(d.value.starts_with("M0 "));
                    assert!(d.value.ends_with("Z"));
                }
                elements.push(name);
            }
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element is closed");
    assert_eq!(elements, ["svg", "path"]);
    assert_eq!(paths, 1);
    assert!(svg.contains(r#"width="1800" height="280""#));
}
