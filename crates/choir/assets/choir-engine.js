// The room's audio engine: one WebSocket, the server's clock, the AudioContext with the
// playback/capture worklet, and the codec worker. The room UI sends and hears control
// messages through it and never touches audio.
//
// Where the page is on the timeline: the server sends a bucket's mix as soon as it may
// be heard, when the server's clock is `D` past it (D = that bucket's delay); it reaches
// us a network trip later. So the page plays position `serverNow − D − J`, J being a
// small playout buffer that grows when mix audio comes too late (and shrinks back
// slowly). Everything the person hears, the countdowns and the lyric cues follow that
// one position.
//
// Events (CustomEvent, detail in brackets): `message` [a server JSON message], `status`
// [{state: 'connecting'|'open'|'closed'|'ended', code, reason, retryIn}], `stats`
// [{pos, rms, peak, missing, late, buffer, sending}], `problem` [{kind, message}].

import { openContext, openMic, stopStream, WIRE_RATE, CODEC_DELAY } from './choir-audio.js';

const WORKLET = new URL('./choir-io-worklet.js', import.meta.url);
const WORKER = new URL('./choir-codec-worker.js', import.meta.url);

/** Playout buffer: where it starts, its steps up, and its bounds (ms). */
const BUFFER_START_MS = 400;
const BUFFER_STEP_MS = 200;
const BUFFER_MIN_MS = 250;
const BUFFER_MAX_MS = 1600;
/** A buffer that went unused this long shrinks by one step. */
const BUFFER_CALM_MS = 60000;
const SYNC_EVERY_MS = 500;
/** Clock pings: quickly at first, then now and then; the best few of the last 30 count. */
const PING_FAST_MS = 500;
const PING_SLOW_MS = 5000;
const PING_KEEP = 30;
const PING_BEST = 5;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30000;
/**
 * Close codes after which coming back would not help: 1000 (we closed), 1008 (policy),
 * 4000 (the same seat opened again in another tab, which would fight this one), 4003
 * (removed by the leader, or not let in). 4008 (no join in time) and 1011 (the room
 * could not be opened) are worth another try.
 */
const FINAL_CLOSES = new Set([1000, 1008, 4000, 4003]);
/**
 * A run's first frame is a start frame, which the server takes; a `discontinuous` soon
 * after answers frames of the run before, still in flight, and breaking again would only
 * repeat it.
 */
const RUN_SETTLE_MS = 3000;

export class Engine extends EventTarget {
  /**
   * `place` is what the join page stored: {name, part, latency (48 kHz samples), gain,
   * seat, token}. `socketUrl` is the socket's path on this server.
   */
  constructor({ socketUrl, place }) {
    super();
    this.socketPath = socketUrl;
    this.place = place;
    this.singer = place.part === 'singer';
    this.socket = null;
    this.you = null;
    this.bucket = null;
    this.delays = null;
    this.delay = null; // samples, for our bucket
    this.bufferMs = BUFFER_START_MS;
    this.lastTrouble = performance.now();
    this.clockSamples = [];
    this.offset = null; // server clock − performance.now() × 48, in samples
    this.micMode = this.singer ? 'on' : 'off';
    this.talking = false;
    this.retries = 0;
    this.ended = false;
    this.lastStats = null;
  }

  // ---- Audio -------------------------------------------------------------------------------

  /** Sets up audio; call from a user gesture if the context would stay suspended. */
  async startAudio() {
    this.context = openContext();
    const rate = this.context.sampleRate;
    await this.context.audioWorklet.addModule(WORKLET);
    this.node = new AudioWorkletNode(this.context, 'choir-io', {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
    });
    this.node.connect(this.context.destination);
    this.node.port.onmessage = (e) => this.onWorklet(e.data);
    this.worker = new Worker(WORKER, { type: 'module' });
    const channel = new MessageChannel();
    const ready = new Promise((resolve) => {
      this.worker.addEventListener('message', (e) => { if (e.data.type === 'ready') resolve(e.data.supported); });
    });
    this.worker.addEventListener('message', (e) => this.onWorker(e.data));
    this.worker.postMessage({ type: 'init', port: channel.port2, sampleRate: rate }, [channel.port2]);
    this.node.port.postMessage({ type: 'worker', port: channel.port1 }, [channel.port1]);
    if (!(await ready)) {
      this.problem('codec', 'This browser cannot encode and decode Opus with WebCodecs.');
    }
    const toRing = (wire) => Math.round((wire * rate) / WIRE_RATE);
    this.node.port.postMessage({ type: 'gain', value: this.place.gain || 1 });
    this.node.port.postMessage({ type: 'offset', samples: toRing((this.place.latency || 0) + CODEC_DELAY) });
    if (this.singer) {
      try {
        this.stream = await openMic();
        this.mic = this.context.createMediaStreamSource(this.stream);
        this.mic.connect(this.node);
      } catch (e) {
        this.problem('mic', e?.name || String(e));
      }
    }
    this.syncTimer = setInterval(() => this.sync(), SYNC_EVERY_MS);
    this.updateSending();
  }

  /** Whether the browser still waits for a gesture before it plays. */
  get suspended() {
    return this.context?.state === 'suspended';
  }

  resume() {
    return this.context?.resume();
  }

  /** The position the page hears now, in 48 kHz samples (null before the first sync). */
  position() {
    const s = this.lastStats;
    if (!s || s.pos === null || !this.context) return null;
    const rate = this.context.sampleRate;
    const frameNow = this.context.currentTime * rate;
    return Math.round(((s.pos + (frameNow - s.frame)) * WIRE_RATE) / rate);
  }

  /** The server's clock now, in samples (null before the first pong). */
  serverNow(at = performance.now()) {
    return this.offset === null ? null : at * (WIRE_RATE / 1000) + this.offset;
  }

  /** Tells the worklet which position the sample being heard now is. */
  sync() {
    if (!this.context || this.offset === null || this.delay === null) return;
    const ts = this.context.getOutputTimestamp?.();
    const rate = this.context.sampleRate;
    let frame;
    let at;
    if (ts && ts.performanceTime > 0) {
      frame = ts.contextTime * rate;
      at = ts.performanceTime;
    } else {
      frame = this.context.currentTime * rate;
      at = performance.now();
    }
    const wire = this.serverNow(at) - this.delay - (this.bufferMs * WIRE_RATE) / 1000;
    this.node.port.postMessage({ type: 'sync', frame: Math.round(frame), pos: Math.round((wire * rate) / WIRE_RATE) });
  }

  onWorklet(s) {
    if (s.type !== 'stats') return;
    this.lastStats = s;
    const rate = this.context.sampleRate;
    // Mix that came after its time to be played: the buffer is too small for this
    // network. One step up; the position jumps back (a break in the voice run).
    const now = performance.now();
    if (s.late > 0 && s.missing > 0) {
      this.lastTrouble = now;
      if (this.bufferMs < BUFFER_MAX_MS && now - (this.lastGrow || 0) > 2000) {
        this.bufferMs += BUFFER_STEP_MS;
        this.lastGrow = now;
        this.sync();
      }
    } else if (now - this.lastTrouble > BUFFER_CALM_MS && this.bufferMs > BUFFER_MIN_MS) {
      this.bufferMs = Math.max(BUFFER_MIN_MS, this.bufferMs - BUFFER_STEP_MS / 2);
      this.lastTrouble = now;
      this.sync();
    }
    this.emit('stats', {
      pos: this.position(),
      rms: s.rms,
      peak: s.peak,
      missing: s.missing / rate,
      late: s.late / rate,
      played: s.played / rate,
      monitored: s.monitored > 0,
      buffer: this.bufferMs,
      sending: this.sendingNow,
    });
  }

  onWorker(m) {
    if (m.type === 'run') {
      this.runStarted = performance.now();
    } else if (m.type === 'send') {
      if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(m.data);
    } else if (m.type === 'error') {
      console.warn('choir codec:', m.message);
    }
  }

  // ---- Microphone --------------------------------------------------------------------------

  /** 'off', 'push' (push to talk) or 'on'. */
  setMicMode(mode) {
    this.micMode = mode;
    this.updateSending();
  }

  /** Push to talk: held or let go. */
  setTalking(on) {
    this.talking = on;
    this.updateSending();
  }

  updateSending() {
    const on = this.singer && Boolean(this.mic)
      && (this.micMode === 'on' || (this.micMode === 'push' && this.talking));
    this.sendingNow = on;
    this.node?.port.postMessage({ type: 'sending', on });
  }

  /** A fresh encoder and run for the next voice frame (the server lost the thread). */
  breakVoice() {
    this.worker?.postMessage({ type: 'break' });
  }

  // ---- Socket ------------------------------------------------------------------------------

  socketAddress() {
    const url = new URL(this.socketPath, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.place.token) url.searchParams.set('guest', this.place.token);
    return url.toString();
  }

  connect() {
    if (this.ended) return;
    this.emit('status', { state: 'connecting' });
    const socket = new WebSocket(this.socketAddress());
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.send({ type: 'join', name: this.place.name || '', part: this.place.part, seat: this.place.seat || '' });
      this.clockSamples = [];
      this.pings = 0;
      this.ping();
    };
    socket.onmessage = (e) => {
      if (typeof e.data === 'string') this.onText(e.data);
      else this.worker?.postMessage({ type: 'frame', data: e.data }, [e.data]);
    };
    socket.onclose = (e) => this.onClose(socket, e);
  }

  send(message) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  ping() {
    clearTimeout(this.pingTimer);
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.send({ type: 'ping', sent: performance.now() });
    this.pings += 1;
    this.pingTimer = setTimeout(() => this.ping(), this.pings < 10 ? PING_FAST_MS : PING_SLOW_MS);
  }

  /** One clock sample: the server's clock was `clock` half a round trip before now. */
  clockSample(sent, clock) {
    const now = performance.now();
    const rtt = now - sent;
    const offset = clock + (rtt / 2) * (WIRE_RATE / 1000) - now * (WIRE_RATE / 1000);
    this.clockSamples.push({ rtt, offset });
    if (this.clockSamples.length > PING_KEEP) this.clockSamples.shift();
    // The quickest round trips say the most (queueing only ever adds delay); their
    // median resists one odd sample.
    const best = [...this.clockSamples].sort((a, b) => a.rtt - b.rtt).slice(0, PING_BEST)
      .map((s) => s.offset).sort((a, b) => a - b);
    const first = this.offset === null;
    this.offset = best[Math.floor(best.length / 2)];
    this.rtt = rtt;
    if (first) this.sync();
  }

  onText(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    switch (message.type) {
      case 'welcome':
        this.you = message.you;
        this.retries = 0;
        this.everOpened = true;
        this.emit('status', { state: 'open' });
        break;
      case 'pong':
        this.clockSample(message.sent, message.clock);
        break;
      case 'roster':
        for (const s of message.singers) if (s.id === this.you) this.setBucket(s.bucket);
        break;
      case 'singer':
        if (message.singer.id === this.you) this.setBucket(message.singer.bucket);
        break;
      case 'song':
        this.delays = message.song.delays;
        this.updateDelay();
        break;
      case 'health':
        this.setBucket(message.bucket);
        if (this.delay !== message.delay) {
          this.delay = message.delay;
          this.sync();
        }
        break;
      case 'error':
        if (message.code === 'discontinuous' && !(performance.now() - (this.runStarted || 0) < RUN_SETTLE_MS)) this.breakVoice();
        break;
      default:
    }
    this.emit('message', message);
  }

  setBucket(bucket) {
    if (bucket === this.bucket) return;
    this.bucket = bucket;
    this.updateDelay();
  }

  updateDelay() {
    const d = this.delays?.[this.bucket];
    if (d === undefined || d === null || d === this.delay) return;
    this.delay = d;
    // A new place on the timeline: the worklet jumps, and the voice starts a fresh run.
    this.breakVoice();
    this.sync();
  }

  onClose(socket, event) {
    if (socket !== this.socket) return;
    clearTimeout(this.pingTimer);
    this.node?.port.postMessage({ type: 'stop' });
    this.breakVoice();
    this.offset = null;
    this.delay = null;
    if (this.ended || FINAL_CLOSES.has(event.code)) {
      this.ended = true;
      this.emit('status', { state: 'ended', code: event.code, reason: event.reason });
      return;
    }
    // Back off exponentially, with some spread so a room does not come back all at once.
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.retries);
    const retryIn = Math.round(base * (0.75 + Math.random() * 0.5));
    this.retries += 1;
    // A refused handshake (an expired pass, a room now closed to guests) looks like any
    // dropped connection (1006): the page can only suggest joining again.
    this.emit('status', { state: 'closed', code: event.code, reason: event.reason, retryIn, refused: !this.everOpened && this.retries >= 3 });
    this.reconnectTimer = setTimeout(() => this.connect(), retryIn);
  }

  /** Leaves the room for good (the page is going away). */
  close() {
    this.ended = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pingTimer);
    clearInterval(this.syncTimer);
    this.socket?.close(1000);
    stopStream(this.stream);
    this.worker?.terminate();
    this.context?.close();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  problem(kind, message) {
    this.emit('problem', { kind, message });
  }
}
