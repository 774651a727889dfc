// Finds the calibration clicks in the microphone signal. A plain module (no audio API),
// so the calibration worklet imports it and a test can feed it synthetic input.
//
// A click is where the mean |x| over a 1 ms window (one period of the 1 kHz click, so
// the mean does not depend on the phase) rises above ten times the background, the mean
// |x| of the last 3 s; hits are at least 200 ms apart, so one click's echo or tail is
// not a second click. The reported sample is the first in the window that is itself
// above the threshold: the click's onset, not the point the window average caught up.

const BACKGROUND_S = 3;
const WARMUP_S = 0.25;
const REFRACTORY_S = 0.2;
const RATIO = 10;
/** Below this, the input is digital silence and any sound would be "ten times" louder. */
const FLOOR = 5e-5;
const BLOCK = 128;

export class ClickDetector {
  constructor(sampleRate) {
    this.window = Math.max(8, Math.round(sampleRate / 1000));
    this.recent = new Float32Array(this.window); // |x| of the last `window` samples
    this.recentAt = 0;
    this.recentSum = 0;
    this.blocks = new Float64Array(Math.ceil((BACKGROUND_S * sampleRate) / BLOCK));
    this.blockAt = 0;
    this.blocksFull = 0;
    this.blockSum = 0;
    this.blockN = 0;
    this.background = 0;
    this.warmup = Math.round(WARMUP_S * sampleRate);
    this.refractory = Math.round(REFRACTORY_S * sampleRate);
    this.seen = 0;
    this.lastHit = -Infinity;
  }

  /** The mean |x| of the background, for the page to show. */
  level() {
    return Math.max(this.background, FLOOR);
  }

  /**
   * Feeds samples whose first is absolute sample `frame0`; returns the absolute sample
   * numbers of the clicks that start in them (usually none).
   */
  push(samples, frame0) {
    const hits = [];
    for (let i = 0; i < samples.length; i += 1) {
      const a = Math.abs(samples[i]);
      const frame = frame0 + i;
      this.recentSum += a - this.recent[this.recentAt];
      this.recent[this.recentAt] = a;
      this.recentAt = (this.recentAt + 1) % this.window;
      this.seen += 1;
      const threshold = RATIO * Math.max(this.background, FLOOR);
      const inClick = frame - this.lastHit < this.refractory;
      if (!inClick && this.seen > this.warmup && this.recentSum / this.window > threshold) {
        hits.push(this.onset(frame, threshold));
        this.lastHit = frame;
      }
      // The click itself stays out of the background, or the threshold would jump after
      // each one.
      if (!inClick) this.addBackground(a);
    }
    return hits;
  }

  onset(frame, threshold) {
    // recent[recentAt] is now the oldest sample of the window.
    for (let k = 0; k < this.window; k += 1) {
      if (this.recent[(this.recentAt + k) % this.window] > threshold) return frame - this.window + 1 + k;
    }
    return frame;
  }

  addBackground(a) {
    this.blockSum += a;
    this.blockN += 1;
    if (this.blockN < BLOCK) return;
    this.blocks[this.blockAt] = this.blockSum / BLOCK;
    this.blockAt = (this.blockAt + 1) % this.blocks.length;
    this.blocksFull = Math.min(this.blocksFull + 1, this.blocks.length);
    let sum = 0;
    for (let k = 0; k < this.blocksFull; k += 1) sum += this.blocks[k];
    this.background = sum / this.blocksFull;
    this.blockSum = 0;
    this.blockN = 0;
  }
}

/** p25, median and p75 of numbers (a copy is sorted). */
export function quartiles(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => {
    if (!s.length) return NaN;
    const x = q * (s.length - 1);
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return s[lo] + (s[hi] - s[lo]) * (x - lo);
  };
  return { p25: at(0.25), p50: at(0.5), p75: at(0.75) };
}
