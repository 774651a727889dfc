// AudioWorklet processor behind the recital level meter: every 50 ms of input it posts the
// block's RMS and peak (linear, 0…1, all channels) and the audio clock's time. It passes
// nothing on (its output stays silent).

class RecitalMeter extends AudioWorkletProcessor {
  constructor() {
    super();
    // sampleRate is a global of the worklet scope.
    this.blockFrames = Math.max(128, Math.round(sampleRate / 20));
    this.reset();
  }

  reset() {
    this.sum = 0;
    this.samples = 0;
    this.frames = 0;
    this.peak = 0;
  }

  process(inputs) {
    const input = inputs[0];
    let frames = 128;
    if (input && input.length > 0) {
      frames = input[0].length;
      for (const channel of input) {
        for (let i = 0; i < channel.length; i += 1) {
          const s = channel[i];
          this.sum += s * s;
          const a = s < 0 ? -s : s;
          if (a > this.peak) this.peak = a;
        }
        this.samples += channel.length;
      }
    }
    this.frames += frames;
    if (this.frames >= this.blockFrames) {
      const rms = this.samples ? Math.sqrt(this.sum / this.samples) : 0;
      this.port.postMessage({ rms, peak: this.peak, time: currentTime });
      this.reset();
    }
    return true;
  }
}

registerProcessor('recital-meter', RecitalMeter);
