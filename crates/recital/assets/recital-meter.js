// The microphone level meter: an AudioWorklet (recital-meter-worklet.js) measures 50 ms
// blocks of the input; `Meter` turns them into `level` events, `TakeStats` judges a short
// test take (the microphone check), `LiveWarnings` watches a running recording (silent,
// too quiet, clipping) and `showLevel` draws a level into a <meter> element.

/** Peak at or above this (linear) is clipping. */
export const CLIP_PEAK = 0.99;
/** Blocks quieter than this (dBFS RMS) count as "too low" in the microphone check. */
export const LOW_DB = -45;
/** Blocks quieter than this (dBFS RMS) count as silence. */
export const SILENT_DB = -60;
/** A take is "too low" when more than this share of its blocks is below LOW_DB. */
export const LOW_SHARE = 0.75;

export const toDb = (linear) => (linear > 0 ? 20 * Math.log10(linear) : -Infinity);

/** Level events ({rms, peak, rmsDb, peakDb, time}) from the audio graph of `context`. */
export class Meter extends EventTarget {
  constructor(context) {
    super();
    this.context = context;
    this.nodes = [];
    this.timer = null;
  }

  emit({ rms, peak, time }) {
    const detail = { rms, peak, rmsDb: toDb(rms), peakDb: toDb(peak), time };
    this.last = detail;
    this.dispatchEvent(new CustomEvent('level', { detail }));
  }

  disconnect() {
    clearInterval(this.timer);
    for (const node of this.nodes) {
      try { node.disconnect(); } catch { /* already gone */ }
    }
    this.nodes = [];
  }
}

/**
 * A meter on `source` (an AudioNode of `context`). Uses the AudioWorklet; where a browser
 * has none, an AnalyserNode polled every 50 ms does the same job.
 */
export async function createMeter(context, source) {
  const meter = new Meter(context);
  // The meter's output goes through a muted gain to the destination so the browser keeps
  // pulling audio through it; nothing is heard.
  const mute = context.createGain();
  mute.gain.value = 0;
  mute.connect(context.destination);
  if (context.audioWorklet && typeof AudioWorkletNode === 'function') {
    await context.audioWorklet.addModule('/assets/recital-meter-worklet.js');
    const node = new AudioWorkletNode(context, 'recital-meter', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    node.port.onmessage = (event) => meter.emit(event.data);
    source.connect(node);
    node.connect(mute);
    meter.nodes.push(node, mute);
  } else {
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    const buffer = new Float32Array(analyser.fftSize);
    source.connect(analyser);
    analyser.connect(mute);
    meter.nodes.push(analyser, mute);
    meter.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buffer);
      let sum = 0;
      let peak = 0;
      for (const s of buffer) {
        sum += s * s;
        peak = Math.max(peak, Math.abs(s));
      }
      meter.emit({ rms: Math.sqrt(sum / buffer.length), peak, time: context.currentTime });
    }, 50);
  }
  return meter;
}

/**
 * Shows a level in a <meter min=0 max=1>: -60 dBFS … 0 dBFS mapped onto 0 … 1, rising at
 * once and falling slowly so speech reads as a steady bar.
 */
export function showLevel(el, detail) {
  if (!el) return;
  const db = Math.max(detail.rmsDb + 6, detail.peakDb - 6);
  const target = Number.isFinite(db) ? Math.min(1, Math.max(0, (db + 60) / 60)) : 0;
  const current = Number(el.value) || 0;
  const value = target >= current ? target : Math.max(target, current - 0.04);
  el.value = value.toFixed(3);
}

/** Resets a <meter> to empty. */
export function clearLevel(el) {
  if (el) el.value = 0;
}

/** What a short test take sounded like: "clipping", "too-low" or "fine". */
export class TakeStats {
  constructor() {
    this.blocks = 0;
    this.low = 0;
    this.peak = 0;
  }

  add(detail) {
    this.blocks += 1;
    if (detail.rmsDb < LOW_DB) this.low += 1;
    if (detail.peak > this.peak) this.peak = detail.peak;
  }

  verdict() {
    if (this.peak >= CLIP_PEAK) return 'clipping';
    if (!this.blocks || this.low / this.blocks > LOW_SHARE) return 'too-low';
    return 'fine';
  }
}

/**
 * Watches a running recording and says at once what is wrong: "clipping" (a peak at full
 * scale in the last 3 s), "silent" (nothing above SILENT_DB for 5 s), "quiet" (speech
 * never louder than -35 dBFS over the last 8 s) or null. Fires `change` when that changes.
 */
export class LiveWarnings extends EventTarget {
  constructor({ silentAfter = 5, clipHold = 3, quietWindow = 8, quietDb = -35 } = {}) {
    super();
    Object.assign(this, { silentAfter, clipHold, quietWindow, quietDb });
    this.reset();
  }

  reset() {
    this.started = null;
    this.lastSound = null;
    this.lastClip = -Infinity;
    this.window = [];
    this.setKind(null);
  }

  setKind(kind) {
    if (kind === this.kind) return;
    this.kind = kind;
    this.dispatchEvent(new CustomEvent('change', { detail: { kind } }));
  }

  add({ rmsDb, peak, time }) {
    if (this.started === null) {
      this.started = time;
      this.lastSound = time;
    }
    if (rmsDb > SILENT_DB) this.lastSound = time;
    if (peak >= CLIP_PEAK) this.lastClip = time;
    this.window.push([time, rmsDb]);
    while (this.window.length && this.window[0][0] < time - this.quietWindow) this.window.shift();

    let kind = null;
    if (time - this.lastClip < this.clipHold) {
      kind = 'clipping';
    } else if (time - this.lastSound >= this.silentAfter) {
      kind = 'silent';
    } else if (time - this.started >= this.quietWindow) {
      const loudest = Math.max(...this.window.map(([, db]) => db));
      if (loudest < this.quietDb) kind = 'quiet';
    }
    this.setKind(kind);
  }
}
