//! Probe and decode arbitrary bytes under every extension hint. Nothing may panic, and
//! whatever decodes must be finite samples in a sane range, in whole frames, with a frame
//! count the decoder agrees with.
//!
//! Range: integer codecs (integer PCM, ADPCM, FLAC, ALAC) can never pass full scale; float
//! PCM may hold anything finite; lossy decoders fed garbage overshoot, so their bound is
//! the decoder's clamp (`decode::MAX_SAMPLE`, ±2.0) unless `FUZZ_LOSSY_PEAK` says otherwise.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tutti_media::decode::Decoder;
use tutti_media::pcm::PcmSource;
use tutti_media::probe::probe_bytes;

const HINTS: [Option<&str>; 7] = [
    None,
    Some("wav"),
    Some("flac"),
    Some("mp3"),
    Some("ogg"),
    Some("webm"),
    Some("m4a"),
];

fn peak_for(codec: &str) -> f32 {
    static LOSSY: OnceLock<f32> = OnceLock::new();
    if codec.starts_with("pcm_f") {
        f32::INFINITY
    } else if ["pcm", "adpcm", "flac", "alac"]
        .iter()
        .any(|c| codec.starts_with(c))
    {
        1.0 + 1e-6
    } else {
        *LOSSY.get_or_init(|| {
            std::env::var("FUZZ_LOSSY_PEAK")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(tutti_media::decode::MAX_SAMPLE)
        })
    }
}

/// The engine contains panics inside its dependencies (`decode::contain`); libFuzzer's
/// hook would abort on them before they are caught, so it is replaced once. A panic that
/// escapes the engine still aborts: the fuzz harness treats an unwinding target as a crash.
fn quiet_contained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

fuzz_target!(|data: &[u8]| {
    quiet_contained_panics();
    for hint in HINTS {
        if let Ok(info) = probe_bytes(data.to_vec(), hint) {
            assert!(info.channels >= 1 && info.sample_rate >= 1000);
            assert!(info.duration_seconds.is_finite());
        }
        let Ok(mut decoder) = Decoder::open_bytes(data.to_vec(), hint) else {
            continue;
        };
        let channels = decoder.spec().channels as usize;
        let (codec, container) = (decoder.codec().to_string(), decoder.container().to_string());
        let peak = peak_for(&codec);
        let mut samples = 0u64;
        let clean_end = loop {
            match decoder.read() {
                Ok(Some(block)) => {
                    assert!(!block.is_empty(), "an empty block before the end");
                    assert_eq!(block.len() % channels, 0, "a block of partial frames");
                    for &s in block {
                        assert!(s.is_finite(), "a non-finite sample: {s}");
                        assert!(
                            s.abs() <= peak,
                            "sample {s} out of ±{peak} from {codec} in {container}"
                        );
                    }
                    samples += block.len() as u64;
                }
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        if clean_end {
            assert_eq!(samples / channels as u64, decoder.decoded_frames());
        }
    }
});
