// AudioWorklet processor for the join page's two calibrations.
//
// `latency`: plays a 1 kHz click of 15 ms at 105 bpm and listens for it on the
// microphone (the user holds the headphones to it). Output and input run on the same
// audio clock here, so the round trip is exact in samples: the sample the click was
// written at, to the sample its onset came back at. Each hit is posted as
// `{type:'hit', latency}`; the page decides when the spread is tight enough.
// `volume`: plays nothing and posts the level of each 100 ms block while the user sings.
// Both post `{type:'level', rms, peak}` ten times a second for the meter.

import { ClickDetector } from './choir-detector.js';

const BPM = 105;
const CLICK_HZ = 1000;
const CLICK_S = 0.015;

class ChoirCalibrate extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.mode = options.processorOptions?.mode || 'latency';
    this.volume = options.processorOptions?.clickVolume ?? 0.5;
    this.beat = Math.round((sampleRate * 60) / BPM);
    this.clickLength = Math.round(sampleRate * CLICK_S);
    this.click = new Float32Array(this.clickLength);
    const fade = Math.round(sampleRate / 1000);
    for (let i = 0; i < this.clickLength; i += 1) {
      // A sharp start (the onset is what is timed) and a 1 ms fade out (no splash).
      const tail = Math.min(1, (this.clickLength - i) / fade);
      this.click[i] = Math.sin((2 * Math.PI * CLICK_HZ * i) / sampleRate) * tail;
    }
    this.detector = new ClickDetector(sampleRate);
    // The first click waits half a second, so the background is known before it.
    this.nextClick = currentFrame + Math.round(sampleRate / 2);
    this.lastEmitted = null;
    this.running = true;
    this.levelEvery = Math.round(sampleRate / 10);
    this.sum = 0;
    this.n = 0;
    this.peak = 0;
    this.port.onmessage = (e) => {
      if (e.data.type === 'volume') this.volume = e.data.value;
      else if (e.data.type === 'stop') this.running = false;
    };
  }

  process(inputs, outputs) {
    if (!this.running) return false;
    const out = outputs[0]?.[0];
    const frames = out ? out.length : 128;
    if (this.mode === 'latency' && out) {
      for (let i = 0; i < frames; i += 1) {
        const f = currentFrame + i;
        if (f >= this.nextClick) {
          this.lastEmitted = this.nextClick;
          this.nextClick += this.beat;
        }
        const k = this.lastEmitted === null ? -1 : f - this.lastEmitted;
        out[i] = k >= 0 && k < this.clickLength ? this.click[k] * this.volume : 0;
      }
      for (let c = 1; c < outputs[0].length; c += 1) outputs[0][c].set(out);
    }
    const input = inputs[0]?.[0];
    if (input) {
      this.meter(input);
      if (this.mode === 'latency') {
        for (const hit of this.detector.push(input, currentFrame)) {
          // The latest click written at or before the hit; clicks are 571 ms apart, so
          // any round trip below that is unambiguous.
          let emitted = this.lastEmitted;
          while (emitted !== null && emitted > hit) emitted -= this.beat;
          if (emitted !== null) this.port.postMessage({ type: 'hit', latency: hit - emitted });
        }
      }
    }
    return true;
  }

  meter(input) {
    for (let i = 0; i < input.length; i += 1) {
      const s = input[i];
      this.sum += s * s;
      const a = s < 0 ? -s : s;
      if (a > this.peak) this.peak = a;
    }
    this.n += input.length;
    if (this.n >= this.levelEvery) {
      this.port.postMessage({ type: 'level', rms: Math.sqrt(this.sum / this.n), peak: this.peak });
      this.sum = 0;
      this.n = 0;
      this.peak = 0;
    }
  }
}

registerProcessor('choir-calibrate', ChoirCalibrate);
