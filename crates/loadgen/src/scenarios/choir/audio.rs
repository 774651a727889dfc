//! The choir scenario's audio, made once before the run: a sung vowel per singer (a
//! fundamental and vibrato of its own, harmonics, breath), the probe leader's gated test
//! tone, both Opus-encoded as a browser sends them (mono 48 kHz, 60 ms packets); and the
//! probe's ear: a Goertzel level meter and a gate detector that finds where the tone
//! starts and stops on the timeline.

use std::f64::consts::TAU;

use opus_pure::{Application, OpusEncoder};
use tutti_choir::protocol::MAX_PACKET;

/// Samples per second everywhere.
pub const RATE: u64 = 48_000;
/// Samples in one Opus packet, both ways: 60 ms.
pub const FRAME: usize = 2880;
/// Harmonics of each voice.
const HARMONICS: u32 = 6;
/// No voice harmonic comes nearer the probe's frequency than this, so the probe hears
/// the leader's tone and not a singer's overtone.
const PROBE_GUARD_HZ: f64 = 60.0;
/// Blocks of the gate detector's envelope: 5 ms.
const HOP: usize = 240;
/// Length of the demodulator's moving average: 40 ms, narrow enough (±25 Hz) to keep
/// voices out, short enough to see the gate's edges.
const SMOOTH: usize = 1920;

/// How a voice is encoded: the Bucket Brigade browser client's settings.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    pub bitrate: i32,
    pub complexity: i32,
}

impl Codec {
    pub fn encoder(&self) -> OpusEncoder {
        let mut e = OpusEncoder::new(RATE as i32, 1, Application::Audio)
            .expect("a mono 48 kHz encoder is always possible");
        e.bitrate_bps = self.bitrate;
        e.complexity = self.complexity;
        e
    }

    /// `pcm` (a whole number of packets long) as 60 ms Opus packets.
    pub fn encode(&self, pcm: &[f32]) -> Vec<Vec<u8>> {
        let mut encoder = self.encoder();
        let mut scratch = vec![0u8; MAX_PACKET];
        pcm.chunks_exact(FRAME)
            .map(|block| {
                let len = encoder
                    .encode(block, FRAME, &mut scratch)
                    .expect("a 60 ms mono block encodes");
                scratch[..len].to_vec()
            })
            .collect()
    }
}

/// What makes singer `n`'s voice their own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceParams {
    /// Fundamental, Hz.
    pub f0: f64,
    /// Vibrato rate (Hz) and depth (a share of f0).
    pub vibrato_hz: f64,
    pub vibrato_depth: f64,
    /// Peak level of the sung tone.
    pub level: f64,
    pub seed: u32,
}

impl VoiceParams {
    /// Singer `n`'s voice: fundamentals spread over 100–400 Hz by the golden ratio, so
    /// neighbours differ, with vibrato between 4.5 and 6.5 Hz; none has a harmonic within
    /// [`PROBE_GUARD_HZ`] of `probe_hz`.
    pub fn for_singer(n: usize, probe_hz: f64) -> VoiceParams {
        const PHI_INVERSE: f64 = 0.618_033_988_749_895;
        let spread = (n as f64 * PHI_INVERSE).fract();
        let depth = 0.01 + 0.01 * ((n as f64 * 0.37).fract());
        let mut f0 = 100.0 + 300.0 * spread;
        while !clear_of(f0, depth, probe_hz) {
            f0 += 7.0;
            if f0 > 400.0 {
                f0 -= 300.0;
            }
        }
        VoiceParams {
            f0,
            vibrato_hz: 4.5 + 2.0 * ((n as f64 * 0.71).fract()),
            vibrato_depth: depth,
            level: 0.1,
            seed: 0x9e37_79b9u32.wrapping_mul(n as u32 + 1) | 1,
        }
    }

    /// `samples` of this voice: a vowel (harmonics falling off as 1/h), vibrato, a slow
    /// swell, and breath noise.
    pub fn synthesize(&self, samples: usize) -> Vec<f32> {
        let mut noise = self.seed;
        let mut phase = 0.0f64;
        (0..samples)
            .map(|i| {
                let t = i as f64 / RATE as f64;
                let f = self.f0 * (1.0 + self.vibrato_depth * (TAU * self.vibrato_hz * t).sin());
                phase = (phase + f / RATE as f64).fract();
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                let breath = (noise as f64 / u32::MAX as f64 - 0.5) * 0.01;
                let tone: f64 = (1..=HARMONICS)
                    .map(|h| (TAU * phase * h as f64).sin() / h as f64)
                    .sum();
                let swell = 0.8 + 0.2 * (TAU * 0.25 * t).sin();
                (self.level * swell * tone + breath) as f32
            })
            .collect()
    }
}

/// Whether no harmonic of `f0`, through its vibrato, comes near `probe_hz`.
fn clear_of(f0: f64, depth: f64, probe_hz: f64) -> bool {
    (1..=HARMONICS).all(|h| {
        let lo = h as f64 * f0 * (1.0 - depth) - PROBE_GUARD_HZ;
        let hi = h as f64 * f0 * (1.0 + depth) + PROBE_GUARD_HZ;
        !(lo..=hi).contains(&probe_hz)
    })
}

/// The probe leader's song: a pure tone of `freq` at peak `level`, on for the first half
/// of every `period` samples and off for the second, so its place on the timeline can be
/// found again in the mix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    pub freq: f64,
    pub level: f64,
    pub period: u64,
}

impl Gate {
    /// Whether the tone sounds at `offset` samples from the start of the leader's stream.
    pub fn on(&self, offset: i64) -> bool {
        offset.rem_euclid(self.period as i64) < (self.period / 2) as i64
    }

    /// One period of the tone (which loops seamlessly: it starts and ends in silence's
    /// half, and a whole number of cycles need not fit, as it stops during the silence).
    pub fn synthesize(&self) -> Vec<f32> {
        (0..self.period)
            .map(|i| {
                if self.on(i as i64) {
                    (self.level * (TAU * self.freq * i as f64 / RATE as f64).sin()) as f32
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// The level (peak amplitude) of `freq` in `pcm`, by Goertzel's algorithm over all of it.
pub fn tone_level(pcm: &[f32], freq: f64) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    // In f64: the sums grow to the amplitude times half the length.
    let w = TAU * freq / RATE as f64;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s = f64::from(x) + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = (s1 * s1 + s2 * s2 - c * s1 * s2).max(0.0);
    2.0 * power.sqrt() / pcm.len() as f64
}

/// Prefix sums of `pcm · e^{-jωi}` (real and imaginary parts), for the level of `freq`
/// over any span in constant time.
fn demodulated(pcm: &[f32], freq: f64) -> (Vec<f64>, Vec<f64>) {
    let w = TAU * freq / RATE as f64;
    let mut re = Vec::with_capacity(pcm.len() + 1);
    let mut im = Vec::with_capacity(pcm.len() + 1);
    let (mut r, mut m) = (0.0f64, 0.0f64);
    re.push(0.0);
    im.push(0.0);
    for (i, &x) in pcm.iter().enumerate() {
        let a = w * i as f64;
        r += f64::from(x) * a.cos();
        m -= f64::from(x) * a.sin();
        re.push(r);
        im.push(m);
    }
    (re, im)
}

/// The level of the demodulated tone over the [`SMOOTH`] samples centred on `centre`.
fn level_around(sums: &(Vec<f64>, Vec<f64>), centre: usize) -> f64 {
    let len = sums.0.len() - 1;
    let half = SMOOTH / 2;
    let from = centre.saturating_sub(half).min(len);
    let to = (centre + half).min(len);
    let n = (to - from).max(1) as f64;
    let (dr, di) = (sums.0[to] - sums.0[from], sums.1[to] - sums.1[from]);
    2.0 * (dr * dr + di * di).sqrt() / n
}

/// The level of `freq` around each [`HOP`] of `pcm` (complex demodulation and a
/// [`SMOOTH`]-sample moving average, centred): `out[k]` describes sample `k × HOP`.
pub fn envelope(pcm: &[f32], freq: f64) -> Vec<f64> {
    let sums = demodulated(pcm, freq);
    (0..pcm.len().div_ceil(HOP))
        .map(|k| level_around(&sums, k * HOP))
        .collect()
}

/// Where `gate` sits in `pcm`, whose first sample is `first` samples after the leader's
/// stream started: the lag (in samples, positive when the tone comes later than stamped)
/// within ±`max_lag` that best matches the tone's envelope to the gate. First to the
/// nearest [`HOP`], then to the sample around it, with the envelope at every sample (the
/// score only changes where a sample crosses one of the gate's edges, so each step of the
/// lag costs one sample per edge).
pub fn gate_lag(pcm: &[f32], first: i64, gate: &Gate, max_lag: i64) -> Option<f64> {
    let env = envelope(pcm, gate.freq);
    if env.len() < 8 {
        return None;
    }
    let mean = env.iter().sum::<f64>() / env.len() as f64;
    let steps = max_lag / HOP as i64;
    let coarse = |lag: i64| -> f64 {
        env.iter()
            .enumerate()
            .map(|(k, e)| {
                let sign = if gate.on(first + (k * HOP) as i64 - lag) {
                    1.0
                } else {
                    -1.0
                };
                sign * (e - mean)
            })
            .sum()
    };
    let rough = (-steps..=steps)
        .map(|s| s * HOP as i64)
        .max_by(|a, b| coarse(*a).total_cmp(&coarse(*b)))?;
    // Around it, sample by sample.
    let sums = demodulated(pcm, gate.freq);
    let fine: Vec<f64> = (0..pcm.len()).map(|i| level_around(&sums, i)).collect();
    let n = fine.len() as i64;
    let lo = rough - HOP as i64;
    let mut score: f64 = fine
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if gate.on(first + i as i64 - lo) {
                e - mean
            } else {
                mean - e
            }
        })
        .sum();
    let period = gate.period as i64;
    let (mut best, mut best_lags) = (score, vec![lo]);
    for lag in lo..rough + HOP as i64 {
        // From `lag` to `lag + 1`, a sample at a rising edge (first + i − lag ≡ 0) turns
        // off and one at a falling edge (≡ period / 2) turns on.
        for (phase, sign) in [(0, -2.0), (period / 2, 2.0)] {
            let mut i = (phase + lag - first).rem_euclid(period);
            while i < n {
                score += sign * (fine[i as usize] - mean);
                i += period;
            }
        }
        let at = lag + 1;
        if score > best + 1e-12 {
            best = score;
            best_lags = vec![at];
        } else if (score - best).abs() <= 1e-12 {
            best_lags.push(at);
        }
    }
    // The middle of the best lags (a plateau when the envelope is flat at the edges).
    Some(best_lags.iter().sum::<i64>() as f64 / best_lags.len() as f64)
}

/// The tone's level where the gate is on and where it is off, `lag` samples later than
/// stamped, leaving `margin` samples out at each edge.
pub fn gated_levels(pcm: &[f32], first: i64, gate: &Gate, lag: i64, margin: i64) -> (f64, f64) {
    let mut on = Vec::new();
    let mut off = Vec::new();
    let (mut run_on, mut run_off) = (Vec::new(), Vec::new());
    let flush = |run: &mut Vec<f32>, into: &mut Vec<f64>| {
        if run.len() > (2 * margin as usize + FRAME) {
            let inner = &run[margin as usize..run.len() - margin as usize];
            into.push(tone_level(inner, gate.freq));
        }
        run.clear();
    };
    let mut was = None;
    for (i, &x) in pcm.iter().enumerate() {
        let is = gate.on(first + i as i64 - lag);
        if was != Some(is) {
            flush(&mut run_on, &mut on);
            flush(&mut run_off, &mut off);
            was = Some(is);
        }
        if is { run_on.push(x) } else { run_off.push(x) }
    }
    flush(&mut run_on, &mut on);
    flush(&mut run_off, &mut off);
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    (mean(&on), mean(&off))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opus_pure::OpusDecoder;

    fn sine(freq: f64, level: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (level * (TAU * freq * i as f64 / RATE as f64).sin()) as f32)
            .collect()
    }

    #[test]
    fn goertzel_reads_a_tone_and_ignores_its_neighbours() {
        let tone = sine(660.0, 0.3, RATE as usize);
        assert!((tone_level(&tone, 660.0) - 0.3).abs() < 0.003);
        let near = sine(720.0, 0.3, RATE as usize);
        assert!(tone_level(&near, 660.0) < 0.003);
        assert_eq!(tone_level(&[], 660.0), 0.0);
    }

    #[test]
    fn every_voice_is_different_and_clear_of_the_probe() {
        let voices: Vec<VoiceParams> = (0..500)
            .map(|n| VoiceParams::for_singer(n, 660.0))
            .collect();
        for v in &voices {
            assert!((100.0..=400.0).contains(&v.f0), "{v:?}");
            assert!(clear_of(v.f0, v.vibrato_depth, 660.0), "{v:?}");
        }
        let distinct: std::collections::BTreeSet<(u64, u64)> = voices
            .iter()
            .map(|v| (v.f0.to_bits(), v.vibrato_hz.to_bits()))
            .collect();
        assert_eq!(distinct.len(), voices.len());
        // A second of a voice carries (almost) nothing at the probe's frequency.
        let pcm = voices[3].synthesize(RATE as usize);
        assert!(tone_level(&pcm, 660.0) < 0.005);
        assert!(pcm.iter().all(|x| x.abs() < 0.5));
    }

    #[test]
    fn the_gate_is_found_where_it_was_put_even_through_opus() {
        let gate = Gate {
            freq: 660.0,
            level: 0.25,
            period: 115_200,
        };
        let one = gate.synthesize();
        // Three periods, delayed by 1000 samples, under a voice.
        let voice = VoiceParams::for_singer(1, 660.0).synthesize(3 * one.len());
        let mut pcm: Vec<f32> = vec![0.0; 1000];
        pcm.extend(one.iter().cycle().take(3 * one.len() - 1000));
        for (p, v) in pcm.iter_mut().zip(&voice) {
            *p += v;
        }
        let lag = gate_lag(&pcm, 0, &gate, 24_000).unwrap();
        assert!((lag - 1000.0).abs() < 10.0, "lag {lag}");
        let (on, off) = gated_levels(&pcm, 0, &gate, lag.round() as i64, 960);
        assert!((on - 0.25).abs() < 0.01, "on {on}");
        assert!(off < 0.01, "off {off}");
        // Through the codec: the level holds and the tone is later by its lookahead.
        let codec = Codec {
            bitrate: 50_000,
            complexity: 10,
        };
        let packets = codec.encode(&pcm[..pcm.len() / FRAME * FRAME]);
        let mut decoder = OpusDecoder::new(RATE as i32, 1).unwrap();
        let mut decoded = Vec::new();
        for p in &packets {
            let mut out = vec![0.0; FRAME];
            decoder.decode(p, FRAME, &mut out).unwrap();
            decoded.extend_from_slice(&out);
        }
        let lookahead = codec.encoder().lookahead() as f64;
        let lag = gate_lag(&decoded, 0, &gate, 24_000).unwrap();
        assert!(
            (lag - 1000.0 - lookahead).abs() < 24.0,
            "lag {lag}, lookahead {lookahead}"
        );
        let (on, _) = gated_levels(&decoded, 0, &gate, lag.round() as i64, 960);
        assert!((on - 0.25).abs() < 0.025, "on {on}");
    }

    #[test]
    fn a_voice_encodes_near_the_bitrate_asked() {
        let codec = Codec {
            bitrate: 50_000,
            complexity: 10,
        };
        let pcm = VoiceParams::for_singer(7, 660.0).synthesize(50 * FRAME);
        let packets = codec.encode(&pcm);
        assert_eq!(packets.len(), 50);
        let kbps = packets.iter().map(Vec::len).sum::<usize>() as f64 * 8.0 / 3.0 / 1000.0;
        assert!((30.0..70.0).contains(&kbps), "{kbps} kbps");
    }
}
