//! The shared timeline: one circular buffer of mono 48 kHz samples on the server's clock,
//! plus how many voices were added at each sample. Singers add their voice at the
//! position of the audio they were hearing; listeners read positions a few seconds in
//! the past. A position becomes writable (zeroed) only once the clock passes it, so the
//! buffer is a pure accumulator: adding never needs to know what was there before.

use std::ops::Range;

/// A position on the timeline: samples at [`SAMPLE_RATE`] since the server's epoch.
pub type Clock = u64;

/// Samples per second of everything on the timeline (Opus's native rate).
pub const SAMPLE_RATE: u64 = 48_000;

/// Samples in `seconds` of audio.
pub const fn seconds(seconds: u64) -> Clock {
    seconds * SAMPLE_RATE
}

pub struct Timeline {
    audio: Vec<f32>,
    voices: Vec<u16>,
    /// The present: every position before it has been cleared once and may hold voices;
    /// none at or after it does yet.
    now: Clock,
}

impl Timeline {
    /// A timeline holding the last `capacity` samples, starting at `now`.
    pub fn new(capacity: usize, now: Clock) -> Timeline {
        Timeline {
            audio: vec![0.0; capacity.max(1)],
            voices: vec![0; capacity.max(1)],
            now,
        }
    }

    pub fn capacity(&self) -> usize {
        self.audio.len()
    }

    pub fn now(&self) -> Clock {
        self.now
    }

    /// Moves the present forward to `now`, clearing the positions it passes (which are
    /// the oldest ones of the ring). The clock never goes back.
    pub fn advance(&mut self, now: Clock) {
        if now <= self.now {
            return;
        }
        let capacity = self.capacity() as u64;
        let from = self.now.max(now.saturating_sub(capacity));
        for span in self.spans(from, (now - from) as usize) {
            self.audio[span.clone()].fill(0.0);
            self.voices[span].fill(0);
        }
        self.now = now;
    }

    /// Forgets every voice (a new song starts from silence).
    pub fn clear(&mut self) {
        self.audio.fill(0.0);
        self.voices.fill(0);
    }

    /// Whether `len` samples from `start` are in the past and not yet overwritten.
    pub fn holds(&self, start: Clock, len: usize) -> bool {
        let end = start + len as u64;
        end <= self.now && start + self.capacity() as u64 >= self.now
    }

    /// Adds `samples × gain` at `start` and counts one more voice there. False, and
    /// nothing added, when the span is not held (too old, or not yet reached).
    pub fn add(&mut self, start: Clock, samples: &[f32], gain: f32) -> bool {
        if !self.holds(start, samples.len()) {
            return false;
        }
        let mut done = 0;
        for span in self.spans(start, samples.len()) {
            let len = span.len();
            let source = &samples[done..done + len];
            for (out, s) in self.audio[span.clone()].iter_mut().zip(source) {
                *out += s * gain;
            }
            for v in &mut self.voices[span] {
                *v = v.saturating_add(1);
            }
            done += len;
        }
        true
    }

    /// Writes to `out` the samples from `start`, each passed through `shape(sample,
    /// voices, index)`; silence where the span is not held.
    pub fn read(
        &self,
        start: Clock,
        out: &mut [f32],
        mut shape: impl FnMut(f32, u16, usize) -> f32,
    ) {
        if !self.holds(start, out.len()) {
            for (i, o) in out.iter_mut().enumerate() {
                *o = shape(0.0, 0, i);
            }
            return;
        }
        let mut done = 0;
        for span in self.spans(start, out.len()) {
            let len = span.len();
            let audio = &self.audio[span.clone()];
            let voices = &self.voices[span];
            for (i, o) in out[done..done + len].iter_mut().enumerate() {
                *o = shape(audio[i], voices[i], done + i);
            }
            done += len;
        }
    }

    /// The one or two index ranges of the ring that `len` samples from `start` occupy.
    fn spans(&self, start: Clock, len: usize) -> impl Iterator<Item = Range<usize>> + use<> {
        let capacity = self.capacity();
        let len = len.min(capacity);
        let at = (start % capacity as u64) as usize;
        let first = len.min(capacity - at);
        [at..at + first, 0..len - first]
            .into_iter()
            .filter(|r| !r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(t: &Timeline, start: Clock, n: usize) -> (Vec<f32>, Vec<u16>) {
        let mut out = vec![0.0; n];
        let mut voices = vec![0; n];
        t.read(start, &mut out, |s, v, i| {
            voices[i] = v;
            s
        });
        (out, voices)
    }

    #[test]
    fn voices_add_up_where_they_were_sung() {
        let mut t = Timeline::new(1000, 0);
        t.advance(500);
        assert!(t.add(100, &[0.5; 10], 1.0));
        assert!(t.add(105, &[0.25; 10], 2.0));
        let (audio, voices) = samples(&t, 100, 20);
        assert_eq!(audio[0], 0.5);
        assert_eq!(audio[5], 1.0);
        assert_eq!(audio[12], 0.5);
        assert_eq!(audio[15], 0.0);
        assert_eq!(voices[..5], [1; 5]);
        assert_eq!(voices[5..10], [2; 5]);
        assert_eq!(voices[10..15], [1; 5]);
        assert_eq!(voices[15..], [0; 5]);
    }

    #[test]
    fn the_future_and_the_forgotten_past_take_nothing() {
        let mut t = Timeline::new(1000, 0);
        t.advance(2000);
        assert!(!t.add(1995, &[1.0; 10], 1.0), "reaches past the present");
        assert!(!t.add(999, &[1.0; 10], 1.0), "older than the ring");
        assert!(t.add(1000, &[1.0; 10], 1.0));
        assert!(t.add(1990, &[1.0; 10], 1.0));
    }

    #[test]
    fn wrapping_spans_are_written_and_read_whole() {
        let mut t = Timeline::new(100, 0);
        t.advance(195);
        let ramp: Vec<f32> = (0..30).map(|i| i as f32).collect();
        assert!(t.add(160, &ramp, 1.0), "160..190 wraps at 200");
        let (audio, _) = samples(&t, 160, 30);
        assert_eq!(audio, ramp);
    }

    #[test]
    fn passing_a_position_again_clears_it() {
        let mut t = Timeline::new(100, 0);
        t.advance(50);
        assert!(t.add(10, &[1.0; 10], 1.0));
        // 110 is 10 in the ring: once the clock passes it, the old voice is gone.
        t.advance(125);
        let (audio, voices) = samples(&t, 110, 10);
        assert_eq!(audio, vec![0.0; 10]);
        assert_eq!(voices, vec![0; 10]);
        // A jump of more than the whole ring clears it all, once.
        assert!(t.add(115, &[1.0; 5], 1.0));
        t.advance(10_000);
        assert!(t.holds(9_950, 10));
        let (audio, _) = samples(&t, 9_915, 5);
        assert_eq!(audio, vec![0.0; 5]);
    }

    proptest::proptest! {
        #[test]
        fn reading_returns_the_sum_of_what_was_added(
            cap in 16usize..256,
            adds in proptest::collection::vec((0u64..512, 1usize..64, -1.0f32..1.0), 0..20),
        ) {
            let now = 1024;
            let mut t = Timeline::new(cap, 0);
            t.advance(now);
            let mut expected = vec![0.0f32; now as usize];
            for (start, len, value) in adds {
                let start = now - cap as u64 + start % cap as u64;
                let len = len.min((now - start) as usize);
                if t.add(start, &vec![value; len], 1.0) {
                    for e in &mut expected[start as usize..start as usize + len] {
                        *e += value;
                    }
                }
            }
            let start = now - cap as u64;
            let (audio, _) = samples(&t, start, cap);
            for (got, want) in audio.iter().zip(&expected[start as usize..]) {
                proptest::prop_assert!((got - want).abs() < 1e-4);
            }
        }
    }
}
