// A streaming linear resampler for the codec worker, used only when the AudioContext
// does not run at 48 kHz (the rate of the timeline and of Opus). Linear interpolation
// is enough for a voice on its way to a 48 kbps codec; it keeps its phase between calls,
// so a stream cut into 128-sample quanta or 60 ms packets comes out seamless.

export class Resampler {
  constructor(fromRate, toRate) {
    this.step = fromRate / toRate;
    this.same = fromRate === toRate;
    // Position of the next output sample, in input samples from the start of the next
    // buffer; -1 means "the last sample of the previous buffer".
    this.t = 0;
    this.prev = 0;
  }

  /** The resampled `input` (a Float32Array); the same array when the rates agree. */
  push(input) {
    if (this.same) return input;
    const len = input.length;
    const out = new Float32Array(Math.ceil((len - this.t) / this.step) + 1);
    let n = 0;
    let t = this.t;
    while (t <= len - 1) {
      const i = Math.floor(t);
      const frac = t - i;
      const a = i < 0 ? this.prev : input[i];
      const b = i + 1 < len ? input[i + 1] : a;
      out[n] = a + (b - a) * frac;
      n += 1;
      t += this.step;
    }
    this.t = t - len;
    if (len) this.prev = input[len - 1];
    return out.subarray(0, n);
  }
}
