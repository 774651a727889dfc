// AudioWorklet processor for the room: plays the timeline and stamps the microphone.
//
// Playback is a ring keyed by timeline position (in the context's samples): the codec
// worker puts each decoded mix packet where it belongs, and every quantum plays the
// positions `pos … pos+127`, silence where nothing arrived (counted as missing, for the
// health meter). Monitor audio (the leader's solo mix) has its own ring and is played
// instead of the room's mix wherever it is present.
//
// Capture is Bucket Brigade's idea: each microphone sample is stamped with the timeline
// position being played at that moment minus the measured round trip (`offset`), so a
// voice lands on the timeline exactly under the audio it was sung along to. Stamped
// audio goes to the codec worker in batches; a batch whose stamp does not follow the
// last one (a jump of `pos`, the mic paused) tells the worker to start a new run.
//
// The main thread keeps `pos` on the server's clock: `sync {frame, pos}` says which
// position the sample `frame` should be. Beyond 50 ms the position jumps (a new bucket,
// a bigger buffer). Below that it slews: one quantum in a while plays 129 positions or
// 127 (a sample skipped or repeated, inaudible), and the microphone's samples for that
// quantum are stretched the same way, so the voice's stamps still follow on without a
// break. That absorbs the audio clock drifting from the system clock, and a first sync
// taken while the context was still settling.

const RING = 1 << 20; // ≈ 21.8 s at 48 kHz: more than any frame arrives ahead
const BATCH = 1024;
const STATS_EVERY_S = 0.1;

class Ring {
  constructor() {
    this.samples = new Float32Array(RING);
    // Which lap of the ring each slot was written in (+1, so 0 means never): a slot
    // holds position p only if its tag is lap(p).
    this.tags = new Int32Array(RING);
    this.any = false;
  }

  static tag(p) {
    return (Math.floor(p / RING) % 0x3fffffff) + 1;
  }

  write(start, samples) {
    let idx = start % RING;
    let tag = Ring.tag(start);
    for (let k = 0; k < samples.length; k += 1) {
      this.samples[idx] = samples[k];
      this.tags[idx] = tag;
      idx += 1;
      if (idx === RING) {
        idx = 0;
        tag = Ring.tag(start + k + 1);
      }
    }
    this.any = true;
  }
}

/** `input` with one sample repeated (step 1) or left out (step -1) at `at`. */
function stretch(input, step, at) {
  const out = new Float32Array(input.length + step);
  out.set(input.subarray(0, at));
  if (step === 1) {
    out[at] = input[at];
    out.set(input.subarray(at), at + 1);
  } else {
    out.set(input.subarray(at + 1), at);
  }
  return out;
}

class ChoirIo extends AudioWorkletProcessor {
  constructor() {
    super();
    this.mix = new Ring();
    this.monitor = new Ring();
    this.pos = null;
    this.slew = 0;
    this.jump = Math.round(sampleRate * 0.05);
    this.sending = false;
    this.offset = 0;
    this.gain = 1;
    this.batch = new Float32Array(BATCH);
    this.batchN = 0;
    this.batchStamp = 0;
    this.worker = null;
    this.statsEvery = Math.round(sampleRate * STATS_EVERY_S);
    this.resetStats();
    this.port.onmessage = (e) => this.command(e.data);
  }

  resetStats() {
    this.frames = 0;
    this.sum = 0;
    this.peak = 0;
    this.missing = 0;
    this.played = 0;
    this.monitored = 0;
    this.slackMin = Infinity;
    this.late = 0;
    this.jumps = 0;
  }

  command(m) {
    switch (m.type) {
      case 'worker':
        this.worker = m.port;
        this.worker.onmessage = (e) => this.audio(e.data);
        break;
      case 'sync': {
        const target = m.pos + (currentFrame - m.frame);
        if (this.pos === null || Math.abs(target - this.pos) > this.jump) {
          if (this.pos !== null) this.jumps += 1;
          this.pos = target;
          this.slew = 0;
          this.flush();
        } else {
          // Within a millisecond is close enough; the rest is slewed away.
          const error = target - this.pos;
          this.slew = Math.abs(error) * 1000 > sampleRate ? error : 0;
        }
        break;
      }
      case 'stop':
        this.pos = null;
        this.flush();
        break;
      case 'sending':
        if (!m.on) this.flush();
        this.sending = m.on;
        break;
      case 'offset':
        this.offset = m.samples;
        this.flush();
        break;
      case 'gain':
        this.gain = m.value;
        break;
      default:
    }
  }

  audio(m) {
    if (m.type !== 'audio') return;
    (m.kind === 3 ? this.monitor : this.mix).write(m.start, m.samples);
    if (this.pos !== null) {
      const slack = m.start - this.pos;
      if (slack < this.slackMin) this.slackMin = slack;
      if (slack < 0) this.late += Math.min(-slack, m.samples.length);
    }
  }

  flush() {
    if (this.batchN && this.worker) {
      const samples = this.batch.slice(0, this.batchN);
      this.worker.postMessage({ type: 'capture', stamp: this.batchStamp, samples }, [samples.buffer]);
    }
    this.batchN = 0;
  }

  capture(input, stamp) {
    for (let i = 0; i < input.length; i += 1) {
      if (this.batchN === 0) this.batchStamp = stamp + i;
      this.batch[this.batchN] = input[i] * this.gain;
      this.batchN += 1;
      if (this.batchN === BATCH) this.flush();
    }
  }

  process(inputs, outputs) {
    const out = outputs[0]?.[0];
    const frames = out ? out.length : 128;
    const input = inputs[0]?.[0];
    // This quantum plays one position more (step 1) or one fewer (-1), in its middle.
    let step = 0;
    if (this.pos !== null && this.slew >= 1) step = 1;
    else if (this.pos !== null && this.slew <= -1) step = -1;
    const mid = frames >> 1;
    if (this.pos !== null && out) {
      const mix = this.mix;
      const mon = this.monitor;
      for (let i = 0; i < frames; i += 1) {
        const p = this.pos + i + (step === 1 && i >= mid ? 1 : 0) - (step === -1 && i > mid ? 1 : 0);
        const idx = p % RING;
        const tag = Ring.tag(p);
        if (mon.tags[idx] === tag) {
          out[i] = mon.samples[idx];
          this.monitored += 1;
        } else if (mix.tags[idx] === tag) {
          out[i] = mix.samples[idx];
          this.played += 1;
        } else {
          out[i] = 0;
          if (mix.any) this.missing += 1;
        }
      }
      for (let c = 1; c < outputs[0].length; c += 1) outputs[0][c].set(out);
    }
    if (input) {
      for (let i = 0; i < input.length; i += 1) {
        const s = input[i] * this.gain;
        this.sum += s * s;
        const a = s < 0 ? -s : s;
        if (a > this.peak) this.peak = a;
      }
      if (this.sending && this.pos !== null) {
        // A batch must be one unbroken run of stamps.
        const stamp = this.pos - this.offset;
        if (this.batchN && stamp !== this.batchStamp + this.batchN) this.flush();
        this.capture(step === 0 ? input : stretch(input, step, mid), stamp);
      }
    }
    this.pos = this.pos === null ? null : this.pos + step;
    this.slew -= step;
    if (this.pos !== null) this.pos += frames;
    this.frames += frames;
    if (this.frames >= this.statsEvery) {
      this.port.postMessage({
        type: 'stats',
        frame: currentFrame + frames,
        pos: this.pos,
        rms: Math.sqrt(this.sum / this.frames),
        peak: this.peak,
        missing: this.missing,
        played: this.played,
        monitored: this.monitored,
        slack: this.slackMin === Infinity ? null : this.slackMin,
        late: this.late,
        jumps: this.jumps,
      });
      this.resetStats();
    }
    return true;
  }
}

registerProcessor('choir-io', ChoirIo);
