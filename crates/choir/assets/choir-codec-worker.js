// The choir's codec worker: WebCodecs Opus both ways, off the main thread and out of the
// audio thread (AudioWorkletGlobalScope has no WebCodecs). No WASM: the browser's own
// Opus does the work.
//
// Talks to three parties:
// - the main thread (postMessage): `init` hands over the worklet's MessagePort and the
//   context's rate; `frame` brings a binary mix/monitor frame from the socket; `break`
//   ends the current voice run (bucket change, reconnect, `discontinuous`); out go
//   `send` (a voice frame to put on the socket), `ready`, `stats` and `error`.
// - the worklet (its port): `capture` brings stamped microphone audio (ring units, that
//   is the context's samples on the timeline); out goes `audio` (decoded samples and the
//   ring position of the first one).
//
// Timeline positions on the wire are 48 kHz samples. When the context runs at another
// rate, positions are scaled and the audio resampled here, so the worklet never needs
// to know about 48 kHz.

import { readFrame, writeFrame, KIND_VOICE, KIND_START, KIND_MIX, KIND_MONITOR, PACKET } from './choir-frame.js';
import { Resampler } from './choir-resample.js';

const WIRE_RATE = 48000;
/** Voice packets per frame: 5 × 60 ms = 300 ms, a balance of latency and overhead. */
const BATCH = 5;
const BITRATE = 56000;

let port = null;
let rate = WIRE_RATE;
const toRing = (pos48) => Math.round((pos48 * rate) / WIRE_RATE);
const toWire = (posRing) => Math.round((posRing * WIRE_RATE) / rate);

const encoderConfig = () => ({
  codec: 'opus',
  sampleRate: WIRE_RATE,
  numberOfChannels: 1,
  bitrate: BITRATE,
  opus: { frameDuration: 60000, application: 'audio', complexity: 5 },
});
const decoderConfig = { codec: 'opus', sampleRate: WIRE_RATE, numberOfChannels: 1 };

const counters = { decoded: 0, encoded: 0, sent: 0, decodeErrors: 0, encodeErrors: 0, runs: 0 };

function report(message) {
  self.postMessage({ type: 'error', message: String(message) });
}

// ---- Listening: mix (kind 2) and monitor (kind 3) frames -------------------------------

/** One incoming stream: its decoder, where it should continue, and resampling state. */
class Incoming {
  constructor(kind) {
    this.kind = kind;
    this.decoder = null;
    this.next48 = null;
    this.seq = 0;
    this.positions = new Map();
    this.resampler = null;
    this.ringNext = 0;
  }

  restart(start48) {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.positions.clear();
    this.resampler = rate === WIRE_RATE ? null : new Resampler(WIRE_RATE, rate);
    this.ringNext = toRing(start48);
    const stream = this;
    this.decoder = new AudioDecoder({
      output(data) { stream.output(data); },
      error(e) {
        counters.decodeErrors += 1;
        report(`decoder: ${e.message}`);
        stream.next48 = null; // the next frame starts a fresh decoder
      },
    });
    this.decoder.configure(decoderConfig);
  }

  frame(end, packets) {
    const start = end - packets.length * PACKET;
    // A gap (or the server restarting its encoder, which it does after a skip) needs a
    // fresh decoder: Opus carries state from packet to packet.
    if (this.next48 !== start || !this.decoder || this.decoder.state === 'closed') this.restart(start);
    packets.forEach((packet, i) => {
      const pos48 = start + i * PACKET;
      if (packet.byteLength === 0) {
        // The server had nothing it could encode: leave silence there.
        return;
      }
      const seq = (this.seq += 1);
      this.positions.set(seq, pos48);
      this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: seq * 60000, data: packet }));
    });
    this.next48 = end;
  }

  output(data) {
    const seq = Math.round(data.timestamp / 60000);
    const pos48 = this.positions.get(seq);
    this.positions.delete(seq);
    const samples = new Float32Array(data.numberOfFrames);
    data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    data.close();
    if (pos48 === undefined) return;
    counters.decoded += 1;
    let start;
    let out = samples;
    if (this.resampler) {
      out = this.resampler.push(samples);
      // Positions follow on from the run's start, so rounding never leaves a gap.
      start = Math.max(this.ringNext, toRing(pos48) - 2);
      this.ringNext = start + out.length;
    } else {
      start = pos48;
    }
    port?.postMessage({ type: 'audio', kind: this.kind, start, samples: out }, [out.buffer]);
  }
}

const incoming = { [KIND_MIX]: new Incoming(KIND_MIX), [KIND_MONITOR]: new Incoming(KIND_MONITOR) };

function onFrame(buffer) {
  const frame = readFrame(buffer);
  if (frame instanceof Error) return report(frame.message);
  const stream = incoming[frame.kind];
  if (!stream) return report(`frame kind ${frame.kind} is not for a listener`);
  stream.frame(frame.end, frame.packets);
}

// ---- Singing: voice frames (kind 1) ------------------------------------------------------

/**
 * A run of voice: one encoder, and samples that follow on from each other exactly. Its
 * frames follow on too (each starts where the last ended), which the server requires
 * because Opus is stateful; anything that breaks the chain ends the run.
 */
class Run {
  constructor(stampRing) {
    counters.runs += 1;
    self.postMessage({ type: 'run' });
    this.expect = stampRing; // ring position of the next captured sample
    this.start48 = toWire(stampRing);
    this.packetsOut = 0; // packets sent in frames so far
    this.pending = [];
    this.fill = new Float32Array(PACKET);
    this.filled = 0;
    this.fed = 0;
    this.resampler = rate === WIRE_RATE ? null : new Resampler(rate, WIRE_RATE);
    this.closed = false;
    const run = this;
    this.encoder = new AudioEncoder({
      output(chunk) { run.output(chunk); },
      error(e) {
        counters.encodeErrors += 1;
        report(`encoder: ${e.message}`);
        run.close();
        if (voice === run) voice = null;
      },
    });
    this.encoder.configure(encoderConfig());
  }

  push(samples) {
    this.expect += samples.length;
    const wire = this.resampler ? this.resampler.push(samples) : samples;
    let at = 0;
    while (at < wire.length) {
      const n = Math.min(PACKET - this.filled, wire.length - at);
      this.fill.set(wire.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === PACKET) {
        this.encoder.encode(new AudioData({
          format: 'f32-planar', sampleRate: WIRE_RATE, numberOfFrames: PACKET, numberOfChannels: 1,
          timestamp: this.fed * 60000, data: this.fill,
        }));
        this.fed += 1;
        this.fill = new Float32Array(PACKET);
        this.filled = 0;
      }
    }
  }

  output(chunk) {
    if (this.closed) return;
    const bytes = new Uint8Array(chunk.byteLength);
    chunk.copyTo(bytes);
    counters.encoded += 1;
    this.pending.push(bytes);
    // A run's first frame goes out at once, so a push-to-talk press is heard soonest.
    if (this.pending.length >= BATCH || this.packetsOut === 0) this.send();
  }

  send() {
    if (!this.pending.length) return;
    // The first frame of a run says so: the server starts a fresh decoder for it.
    const kind = this.packetsOut === 0 ? KIND_START : KIND_VOICE;
    this.packetsOut += this.pending.length;
    const end = this.start48 + this.packetsOut * PACKET;
    const data = writeFrame(kind, end, this.pending);
    this.pending = [];
    counters.sent += 1;
    self.postMessage({ type: 'send', data, end }, [data]);
  }

  /** Ends the run: whole packets already encoded still go out; a part packet is dropped. */
  close() {
    if (this.closed) return;
    this.send();
    this.closed = true;
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}

let voice = null;

function onCapture(stamp, samples) {
  if (!voice || voice.expect !== stamp) {
    voice?.close();
    voice = new Run(stamp);
  }
  voice.push(samples);
}

/** Whether this browser's WebCodecs does 60 ms mono Opus both ways. */
async function supported() {
  if (typeof AudioEncoder !== 'function' || typeof AudioDecoder !== 'function') return false;
  try {
    const [e, d] = await Promise.all([
      AudioEncoder.isConfigSupported(encoderConfig()),
      AudioDecoder.isConfigSupported(decoderConfig),
    ]);
    return Boolean(e.supported && d.supported);
  } catch {
    return false;
  }
}

// ---- Wiring ------------------------------------------------------------------------------

self.onmessage = (event) => {
  const msg = event.data;
  switch (msg.type) {
    case 'init':
      rate = msg.sampleRate;
      port = msg.port;
      port.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'capture') onCapture(m.stamp, m.samples);
        else if (m.type === 'break') { voice?.close(); voice = null; }
      };
      supported().then((ok) => self.postMessage({ type: 'ready', supported: ok }));
      break;
    case 'frame':
      onFrame(msg.data);
      break;
    case 'break':
      // Ends this run; the next captured sample starts a fresh encoder and run.
      voice?.close();
      voice = null;
      break;
    case 'stats':
      self.postMessage({ type: 'stats', ...counters });
      break;
    default:
      report(`unknown message ${msg.type}`);
  }
};
