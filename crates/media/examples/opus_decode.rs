//! Times our Opus decoding (the pure-Rust `opus-pure` behind [`Decoder`]) on whole files:
//! demuxing, decoding to 48 kHz `f32`, pre-skip and end trimming, as every transcode does.
//! `bench/opus.sh` runs it against ffmpeg's libopus decoder on the same files.
//!
//!     cargo run --release -p tutti-media --example opus_decode -- FILE.opus [FILE ...]

use std::path::Path;
use std::time::Instant;

use tutti_media::PcmSource;
use tutti_media::decode::Decoder;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: opus_decode FILE.opus [FILE ...]");
        std::process::exit(2);
    }
    for file in files {
        let started = Instant::now();
        let mut decoder = match Decoder::open_path(Path::new(&file)) {
            Ok(decoder) => decoder,
            Err(e) => {
                eprintln!("{file}: {e}");
                std::process::exit(1);
            }
        };
        let mut peak = 0f32;
        loop {
            match decoder.read() {
                Ok(Some(block)) => peak = block.iter().fold(peak, |m, x| m.max(x.abs())),
                Ok(None) => break,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    std::process::exit(1);
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let seconds = decoder.decoded_frames() as f64 / f64::from(decoder.spec().sample_rate);
        println!(
            "{file}: {} {} ch, {seconds:.1} s decoded in {:.1} ms = {:.3} ms per second of audio (peak {peak:.3})",
            decoder.codec(),
            decoder.spec().channels,
            elapsed * 1000.0,
            elapsed * 1000.0 / seconds.max(1e-9),
        );
    }
}
