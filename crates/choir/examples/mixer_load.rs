//! The engine's share of a singer's cost, without a network: N singers in one room,
//! spread over the buckets behind a leader, each sending a 600 ms batch of ten 60 ms
//! Opus packets (pre-encoded, voice-like, a different voice per singer up to 48) as a
//! browser does, and the server ticking every batch: decoding every voice once,
//! mixing, and encoding each bucket's mix once (complexity 10, as Bucket Brigade runs).
//! Prints the CPU time per singer-second, so the WebSocket server's own overhead can be
//! measured against it.
//!
//!     cargo run --release -p tutti-choir --example mixer_load -- 1000 20

use std::time::Instant;

use opus_pure::{Application, OpusEncoder};
use tutti_choir::domain::{Part, SongSetup};
use tutti_choir::mixer::{FRAME, Mixer};
use tutti_choir::protocol::{Frame, Kind, MAX_PACKET};
use tutti_choir::timeline::{Clock, seconds};

const BATCH: usize = 10;
const VOICES: usize = 48;

/// CPU seconds this process has used (user and system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// `batches` batches of one voice: a sung vowel (a few harmonics, vibrato, breath).
fn voice(n: usize, batches: usize) -> Vec<Vec<u8>> {
    let mut encoder = OpusEncoder::new(48_000, 1, Application::Audio).expect("encoder");
    encoder.bitrate_bps = 50_000;
    encoder.complexity = 10;
    let f0 = 150.0 + 9.0 * n as f64;
    let mut noise = 0x9e37_79b9u32.wrapping_mul(n as u32 + 1);
    let mut phase = 0.0f64;
    let mut out = Vec::new();
    for b in 0..batches {
        let mut packets = Vec::new();
        for p in 0..BATCH {
            let pcm: Vec<f32> = (0..FRAME)
                .map(|i| {
                    let t = ((b * BATCH + p) * FRAME + i) as f64 / 48_000.0;
                    let f = f0 * (1.0 + 0.01 * (std::f64::consts::TAU * 5.0 * t).sin());
                    phase = (phase + f / 48_000.0).fract();
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    let breath = (noise as f64 / u32::MAX as f64 - 0.5) * 0.01;
                    let tone: f64 = (1..=5)
                        .map(|h| (std::f64::consts::TAU * phase * h as f64).sin() / h as f64)
                        .sum();
                    (0.1 * tone + breath) as f32
                })
                .collect();
            let mut packet = vec![0; MAX_PACKET];
            let len = encoder.encode(&pcm, FRAME, &mut packet).expect("encode");
            packet.truncate(len);
            packets.push(packet);
        }
        let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
        let mut frame = Vec::new();
        // The position is filled in when the frame is sent.
        Frame::write(Kind::Voice, 0, &refs, &mut frame);
        out.push(frame);
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let singers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let song_seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let batch = (FRAME * BATCH) as u64;
    let batches = (seconds(song_seconds) / batch) as usize;
    eprintln!("encoding {VOICES} voices of {song_seconds} s …");
    let voices: Vec<Vec<Vec<u8>>> = (0..VOICES.min(singers))
        .map(|n| voice(n, batches))
        .collect();

    let t0: Clock = seconds(1_000);
    let mut m = Mixer::default();
    for id in 0..singers as u64 {
        m.room
            .join(id, &format!("singer {id}"), Part::Singer, t0)
            .expect("join");
    }
    m.room.lead(0, SongSetup::default()).expect("lead");
    let start = m.room.start(0, t0).expect("start");
    let mut sent = vec![0usize; singers];
    let (mut late, mut errors, mut mix_bytes) = (0u64, 0u64, 0usize);
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let mut now = t0;
    let mut voice_seconds = 0.0f64;
    // The song runs until the deepest bucket has heard all of it.
    let until = t0 + seconds(song_seconds) + m.room.delay_of_bucket(5) + seconds(1);
    let mut buf = Vec::new();
    while now < until {
        now += batch;
        for id in 0..singers as u64 {
            let delay = m.room.delay(id).expect("in the room");
            // Each sends, a second after hearing it, what they sang along to.
            let heard = now.saturating_sub(delay + seconds(1));
            let end = heard - heard % FRAME as u64;
            let k = sent[id as usize];
            if end < start + batch || k >= batches {
                continue;
            }
            let bytes = &voices[id as usize % voices.len()][k];
            buf.clear();
            buf.extend_from_slice(bytes);
            buf[2..10].copy_from_slice(&end.to_be_bytes());
            let frame = Frame::parse(&buf).expect("our own frame");
            match m.voice(id, &frame, now) {
                Ok(tutti_choir::domain::Sung::Heard) => voice_seconds += 0.6,
                Ok(tutti_choir::domain::Sung::Late) => late += 1,
                Err(_) => errors += 1,
            }
            sent[id as usize] += 1;
        }
        for audio in m.tick(now) {
            mix_bytes += audio.frame.len();
        }
    }
    let (cpu, wall) = (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64());
    let per_singer_second_ms = cpu / voice_seconds.max(1e-9) * 1000.0;
    println!(
        "{{\"singers\":{singers},\"voice_seconds\":{voice_seconds:.1},\"cpu_s\":{cpu:.2},\"wall_s\":{wall:.2},\
         \"cpu_ms_per_singer_second\":{per_singer_second_ms:.3},\"late\":{late},\"errors\":{errors},\
         \"mix_kbps_per_bucket\":{:.1}}}",
        mix_bytes as f64 * 8.0 / 1000.0 / 6.0 / ((until - t0) as f64 / 48_000.0)
    );
}
