// The join page's two measurements, on the main thread around choir-calibrate-worklet.js.
//
// Latency: the round trip from the page writing a sample to the microphone bringing it
// back, by acoustic loopback (clicks from the headphones held to the microphone). Only
// a tight spread is believed: p75 − p25 within 2 ms over at least 5 of the last 7 hits;
// the median is the result. Without that within 20 s, the person may retry or listen.
// Volume: the person sings for 5 s; the input gain brings the loud part (p90 of 100 ms
// levels) to a common level, so a quiet singer is not lost under a loud one.

import { quartiles } from './choir-detector.js';
import { WIRE_RATE } from './choir-audio.js';

const WORKLET = new URL('./choir-calibrate-worklet.js', import.meta.url);
export const LATENCY_TIMEOUT_MS = 20000;
const KEEP_HITS = 7;
const MIN_HITS = 5;
const MAX_SPREAD_S = 0.002;
export const VOLUME_MS = 5000;
/** The RMS the loud part of a voice is brought to (about −16 dBFS). */
const TARGET_RMS = 0.16;
const MIN_GAIN = 0.25;
const MAX_GAIN = 10;

async function calibrationNode(context, stream, options) {
  await context.audioWorklet.addModule(WORKLET);
  const node = new AudioWorkletNode(context, 'choir-calibrate', {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: options,
  });
  const source = context.createMediaStreamSource(stream);
  source.connect(node);
  node.connect(context.destination);
  return { node, source };
}

/**
 * Events: `level` {rms, peak}; `hit` {hits: [ms…], spread (ms or null)}; `done`
 * {samples (at the context's rate), wire (48 kHz samples), ms}; `failed` {hits, reason:
 * 'timeout'}.
 */
export class LatencyCalibration extends EventTarget {
  constructor(context, stream, clickVolume = 0.5) {
    super();
    this.context = context;
    this.stream = stream;
    this.clickVolume = clickVolume;
    this.hits = [];
    this.finished = false;
  }

  async start() {
    const { node, source } = await calibrationNode(this.context, this.stream, { mode: 'latency', clickVolume: this.clickVolume });
    this.node = node;
    this.source = source;
    node.port.onmessage = (e) => this.onMessage(e.data);
    this.timer = setTimeout(() => this.finish('failed', { reason: 'timeout' }), LATENCY_TIMEOUT_MS);
  }

  setVolume(value) {
    this.clickVolume = value;
    this.node?.port.postMessage({ type: 'volume', value });
  }

  onMessage(m) {
    if (this.finished) return;
    if (m.type === 'level') {
      this.dispatchEvent(new CustomEvent('level', { detail: m }));
      return;
    }
    if (m.type !== 'hit') return;
    const rate = this.context.sampleRate;
    this.hits.push(m.latency);
    const recent = this.hits.slice(-KEEP_HITS);
    const q = quartiles(recent);
    const spread = recent.length >= 3 ? ((q.p75 - q.p25) / rate) * 1000 : null;
    this.dispatchEvent(new CustomEvent('hit', { detail: { hits: this.hits.map((h) => (h / rate) * 1000), spread } }));
    if (recent.length >= MIN_HITS && q.p75 - q.p25 <= MAX_SPREAD_S * rate) {
      const samples = Math.round(q.p50);
      this.finish('done', { samples, wire: Math.round((samples * WIRE_RATE) / rate), ms: (samples / rate) * 1000 });
    }
  }

  finish(type, detail) {
    if (this.finished) return;
    this.finished = true;
    this.stop();
    this.dispatchEvent(new CustomEvent(type, { detail: { hits: this.hits.map((h) => (h / this.context.sampleRate) * 1000), ...detail } }));
  }

  stop() {
    clearTimeout(this.timer);
    this.node?.port.postMessage({ type: 'stop' });
    this.source?.disconnect();
    this.node?.disconnect();
    this.node = null;
  }
}

/** Events: `level` {rms, peak}; `progress` {fraction}; `done` {gain}; `quiet` {}. */
export class VolumeCalibration extends EventTarget {
  constructor(context, stream) {
    super();
    this.context = context;
    this.stream = stream;
    this.levels = [];
  }

  async start() {
    const { node, source } = await calibrationNode(this.context, this.stream, { mode: 'volume' });
    this.node = node;
    this.source = source;
    this.began = performance.now();
    node.port.onmessage = (e) => {
      if (e.data.type !== 'level' || !this.node) return;
      this.levels.push(e.data.rms);
      this.dispatchEvent(new CustomEvent('level', { detail: e.data }));
      const fraction = Math.min(1, (performance.now() - this.began) / VOLUME_MS);
      this.dispatchEvent(new CustomEvent('progress', { detail: { fraction } }));
      if (fraction >= 1) this.finish();
    };
  }

  finish() {
    this.stop();
    const sorted = [...this.levels].sort((a, b) => a - b);
    const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))] || 0;
    if (p90 < 1e-4) {
      this.dispatchEvent(new CustomEvent('quiet', { detail: {} }));
      return;
    }
    const gain = Math.min(MAX_GAIN, Math.max(MIN_GAIN, TARGET_RMS / p90));
    this.dispatchEvent(new CustomEvent('done', { detail: { gain, p90 } }));
  }

  stop() {
    this.node?.port.postMessage({ type: 'stop' });
    this.source?.disconnect();
    this.node?.disconnect();
    this.node = null;
  }
}

/**
 * Draws the hits as bars (one per click heard, height its latency) on a canvas; the
 * tight ones, within 2 ms of the median, in the accent colour.
 */
export function drawHits(canvas, hitsMs) {
  const ctx = canvas.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const h = canvas.clientHeight || 80;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const style = getComputedStyle(canvas);
  const accent = style.getPropertyValue('--accent').trim() || '#0b57b0';
  const muted = style.getPropertyValue('--border-strong').trim() || '#8a909c';
  const shown = hitsMs.slice(-12);
  if (!shown.length) return;
  const max = Math.max(50, ...shown) * 1.1;
  const median = quartiles(shown.slice(-KEEP_HITS)).p50;
  const rtl = getComputedStyle(canvas).direction === 'rtl';
  const slot = w / 12;
  shown.forEach((ms, i) => {
    const bar = Math.max(2, (ms / max) * (h - 4));
    const x = rtl ? w - (i + 1) * slot + slot * 0.15 : i * slot + slot * 0.15;
    ctx.fillStyle = Math.abs(ms - median) <= 2 ? accent : muted;
    ctx.fillRect(x, h - bar, slot * 0.7, bar);
  });
}
