//! The one-decode, many-outputs pipeline: outputs in parallel, in their own specs, plus
//! the analysis, all from a single read of the source.

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use tutti_media::analyse::AnalysisSettings;
use tutti_media::decode::Decoder;
use tutti_media::encode::Output;
use tutti_media::pcm::{AudioSpec, MemorySource, PcmSource, read_all, sine};
use tutti_media::presets::Preset;
use tutti_media::transcode::{Target, transcode};

/// An in-memory file that outlives the encoder writing it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Cursor<Vec<u8>>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for Shared {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.lock().unwrap().seek(pos)
    }
}

#[test]
fn one_source_feeds_every_output_and_the_analyser() {
    let spec = AudioSpec::new(44_100, 2).unwrap();
    let mut source = MemorySource::new(spec, sine(spec, 440.0, 4.0, 0.5));
    let names = ["archive", "music-stream", "speech-light", "music-download"];
    let files: Vec<Shared> = names.iter().map(|_| Shared::default()).collect();
    let targets = names
        .iter()
        .zip(&files)
        .map(|(name, file)| Target {
            preset: *Preset::by_name(name).unwrap(),
            output: Output::seekable(file.clone()),
        })
        .collect();
    let mut seen = 0;
    let report = transcode(
        &mut source,
        targets,
        Some(AnalysisSettings::default()),
        &mut |frames| seen = frames,
    )
    .unwrap();
    assert_eq!(report.frames, 176_400);
    assert_eq!(seen, 176_400, "progress reaches the end");
    let loudness = report.analysis.unwrap().loudness.integrated_lufs.unwrap();
    assert!((-12.0..-6.0).contains(&loudness), "{loudness}");

    let expected = [
        (44_100, 2, "flac"),
        (48_000, 2, "ogg"),
        (48_000, 1, "ogg"),
        (44_100, 2, "mp3"),
    ];
    for ((file, (rate, channels, ext)), name) in files.iter().zip(expected).zip(names) {
        let bytes = file.0.lock().unwrap().get_ref().clone();
        let mut decoded = Decoder::open_bytes(bytes, Some(ext)).unwrap();
        assert_eq!(
            decoded.spec(),
            AudioSpec::new(rate, channels).unwrap(),
            "{name}"
        );
        let samples = read_all(&mut decoded).unwrap();
        let seconds = samples.len() as f64 / channels as f64 / rate as f64;
        assert!((seconds - 4.0).abs() < 0.06, "{name}: {seconds} s");
    }
}

#[test]
fn a_failing_output_stops_the_decode_with_its_error() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let spec = AudioSpec::new(48_000, 1).unwrap();
    let mut source = MemorySource::new(spec, sine(spec, 440.0, 30.0, 0.5));
    let targets = vec![Target {
        preset: *Preset::by_name("speech-light").unwrap(),
        output: Output::stream(Broken),
    }];
    let err = transcode(&mut source, targets, None, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert!(
        source.read().unwrap().is_some(),
        "decoding stopped early instead of reading everything"
    );
}
