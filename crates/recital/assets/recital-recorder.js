// Recording for the recital pages, shared by long-form reading and clip recording.
//
// - `Microphone` opens the microphone unprocessed (mono, no echo cancellation, noise
//   suppression or gain control), routes it through an AudioContext (whose clock times
//   every sentence) to a mono MediaStreamDestination and a level meter, and reports
//   interruptions (the context suspended or "interrupted", the track muted or ended).
// - `PartRecorder` is one MediaRecorder = one *part* of a session: consecutive 2-second
//   blobs numbered 0, 1, 2 … (only the first holds the container header). Every blob goes
//   into IndexedDB first, then the uploader sends it. A reload or a resumed pause starts a
//   new part; the server joins the parts in order.
// - Per-session bookkeeping lives in localStorage `recital-session-<id>`: the parts
//   recorded and their durations (so a reload continues with the next part number and the
//   right `end_ms`), and what still has to reach the server (segments, the end, a discard).
// - `uploader` drains IndexedDB in order: PUT with `Content-Digest`, retries with
//   exponential backoff (1 s doubling to 30 s, with jitter; `Retry-After` honoured) on
//   network errors, 408, 429 and 5xx; a 2xx deletes the chunk; any other 4xx is permanent:
//   the chunk stays, that session stops, and the problem's detail is reported. It resumes
//   on `online` and on every page load, for any session still in the store. A session's
//   end is sent only after all its chunks and segments were acknowledged.

import { api, API, Problem, retryAfterMs } from './recital-api.js';
import { createMeter } from './recital-meter.js';

export const MIME_PREFERENCE = [
  'audio/webm;codecs=opus',
  'audio/ogg;codecs=opus',
  'audio/mp4;codecs=opus',
  'audio/mp4',
];
export const TIMESLICE_MS = 2000;
export const AUDIO_CONSTRAINTS = {
  channelCount: 1,
  echoCancellation: false,
  noiseSuppression: false,
  autoGainControl: false,
};

/** The first container the browser's MediaRecorder supports, or '' for its default. */
export function pickMime() {
  if (typeof MediaRecorder === 'undefined') return '';
  if (typeof MediaRecorder.isTypeSupported !== 'function') return '';
  return MIME_PREFERENCE.find((type) => MediaRecorder.isTypeSupported(type)) || '';
}

/** Whether this browser can record here at all (a secure page with the needed APIs). */
export function recordingSupported() {
  return Boolean(
    window.isSecureContext !== false
      && navigator.mediaDevices?.getUserMedia
      && typeof MediaRecorder === 'function'
      && (window.AudioContext || window.webkitAudioContext)
      && window.crypto?.subtle,
  );
}

/** The kind of a getUserMedia failure: "denied", "missing" or "failed". */
export function micErrorKind(error) {
  const name = error?.name || '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied';
  if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') return 'missing';
  return 'failed';
}

// ---------------------------------------------------------------------------------------
// The microphone

export class Microphone extends EventTarget {
  /** Opens the microphone (asking for permission); `meter` adds a level meter. */
  static async open({ meter = true } = {}) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO_CONSTRAINTS });
    const mic = new Microphone(stream);
    try {
      await mic.init(meter);
    } catch (error) {
      mic.close();
      throw error;
    }
    return mic;
  }

  constructor(stream) {
    super();
    this.stream = stream;
    this.closing = false;
    this.meter = null;
  }

  async init(withMeter) {
    const Context = window.AudioContext || window.webkitAudioContext;
    this.context = new Context({ latencyHint: 'interactive' });
    if (this.context.state !== 'running') await this.context.resume().catch(() => {});
    this.source = this.context.createMediaStreamSource(this.stream);
    this.destination = this.context.createMediaStreamDestination();
    this.destination.channelCount = 1;
    this.destination.channelCountMode = 'explicit';
    this.destination.channelInterpretation = 'speakers';
    this.source.connect(this.destination);
    if (withMeter) this.meter = await createMeter(this.context, this.source);

    this.context.addEventListener('statechange', () => {
      if (this.closing) return;
      const state = this.context.state;
      if (state === 'suspended' || state === 'interrupted') this.interrupted('context');
    });
    for (const track of this.stream.getAudioTracks()) {
      track.addEventListener('mute', () => this.interrupted('mute'));
      track.addEventListener('ended', () => this.interrupted('ended'));
    }
  }

  interrupted(reason) {
    if (this.closing) return;
    this.dispatchEvent(new CustomEvent('interrupted', { detail: { reason } }));
  }

  /** The mono stream the recorders record (the audio clock's timeline). */
  get recordStream() {
    return this.destination.stream;
  }

  /** Whether the microphone still delivers sound (not muted, ended or suspended). */
  get alive() {
    if (this.closing || !this.context || this.context.state === 'closed') return false;
    return this.stream.getAudioTracks().some((t) => t.readyState === 'live' && !t.muted);
  }

  /** Resumes a suspended or interrupted audio context; true when it runs again. */
  async wake() {
    if (this.context.state !== 'running') await this.context.resume().catch(() => {});
    return this.context.state === 'running';
  }

  close() {
    this.closing = true;
    this.meter?.disconnect();
    for (const track of this.stream.getTracks()) track.stop();
    if (this.context && this.context.state !== 'closed') this.context.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------
// Chunks in IndexedDB (db `tutti-recital`, store `chunks`, key [sessionId, part, seq])

const DB_NAME = 'tutti-recital';
const STORE = 'chunks';

const keyString = (sessionId, part, seq) => `${sessionId}\u0000${part}\u0000${seq}`;
const compareKeys = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2]);

class ChunkStore {
  constructor() {
    this.db = null;
    this.mem = null;
    this.opening = null;
  }

  open() {
    if (!this.opening) {
      this.opening = new Promise((resolve) => {
        let request;
        try {
          request = indexedDB.open(DB_NAME, 1);
        } catch (error) {
          console.warn('recital: no IndexedDB, chunks are kept in memory only', error);
          this.mem = new Map();
          resolve();
          return;
        }
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains(STORE)) {
            db.createObjectStore(STORE, { keyPath: ['sessionId', 'part', 'seq'] });
          }
        };
        request.onsuccess = () => {
          this.db = request.result;
          resolve();
        };
        request.onerror = () => {
          console.warn('recital: IndexedDB did not open, chunks are kept in memory only', request.error);
          this.mem = new Map();
          resolve();
        };
      });
    }
    return this.opening;
  }

  run(mode, body) {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(STORE, mode);
      let result;
      body(tx.objectStore(STORE), (value) => { result = value; });
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('IndexedDB transaction aborted'));
    });
  }

  async put(record) {
    await this.open();
    if (this.mem) {
      this.mem.set(keyString(record.sessionId, record.part, record.seq), record);
      return;
    }
    await this.run('readwrite', (store) => store.put(record));
  }

  async get(key) {
    await this.open();
    if (this.mem) return this.mem.get(keyString(...key)) || null;
    return this.run('readonly', (store, done) => {
      const request = store.get(key);
      request.onsuccess = () => done(request.result || null);
    });
  }

  async delete(key) {
    await this.open();
    if (this.mem) {
      this.mem.delete(keyString(...key));
      return;
    }
    await this.run('readwrite', (store) => store.delete(key));
  }

  async deleteSession(sessionId) {
    await this.open();
    if (this.mem) {
      for (const [k, rec] of this.mem) if (rec.sessionId === sessionId) this.mem.delete(k);
      return;
    }
    await this.run('readwrite', (store) => store.delete(IDBKeyRange.bound([sessionId], [sessionId, []])));
  }

  /** [key, size] of every stored chunk (read once at start-up). */
  async sizes() {
    await this.open();
    if (this.mem) return [...this.mem.values()].map((r) => [[r.sessionId, r.part, r.seq], r.size]);
    return this.run('readonly', (store, done) => {
      const out = [];
      const request = store.openCursor();
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) {
          done(out);
          return;
        }
        out.push([cursor.primaryKey, cursor.value.size ?? cursor.value.bytes?.byteLength ?? 0]);
        cursor.continue();
      };
    });
  }

  /** The key of the first chunk in order whose session is not in `skip`, or null. */
  async firstKey(skip) {
    await this.open();
    if (this.mem) {
      const keys = [...this.mem.values()]
        .filter((r) => !skip.has(r.sessionId))
        .map((r) => [r.sessionId, r.part, r.seq])
        .sort(compareKeys);
      return keys[0] || null;
    }
    return this.run('readonly', (store, done) => {
      const request = store.openKeyCursor ? store.openKeyCursor() : store.openCursor();
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) {
          done(null);
          return;
        }
        const sessionId = cursor.primaryKey[0];
        if (skip.has(sessionId)) {
          cursor.continue([sessionId, []]);
        } else {
          done(cursor.primaryKey);
        }
      };
    });
  }
}

export const chunks = new ChunkStore();

// ---------------------------------------------------------------------------------------
// Per-session bookkeeping in localStorage

const RECORD_PREFIX = 'recital-session-';
const RECORD_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

/** A session's bookkeeping: {id, parts: [{part, duration_ms}], segments, end, discard, …}. */
export function readRecord(sessionId) {
  try {
    const text = localStorage.getItem(RECORD_PREFIX + sessionId);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Reads, changes (`change(record)`) and writes back a session's bookkeeping at once. */
export function updateRecord(sessionId, change) {
  const record = readRecord(sessionId) || {
    id: sessionId, parts: [], segments: [], end: null, discard: false, created: Date.now(),
  };
  record.parts ??= [];
  record.segments ??= [];
  change(record);
  record.updated = Date.now();
  try {
    localStorage.setItem(RECORD_PREFIX + sessionId, JSON.stringify(record));
  } catch (error) {
    console.warn('recital: localStorage is full or off', error);
  }
  return record;
}

export function removeRecord(sessionId) {
  try {
    localStorage.removeItem(RECORD_PREFIX + sessionId);
  } catch { /* nothing kept */ }
}

export function listRecords() {
  const out = [];
  try {
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(RECORD_PREFIX)) continue;
      const record = readRecord(key.slice(RECORD_PREFIX.length));
      if (record) out.push(record);
    }
  } catch { /* no storage */ }
  return out;
}

/** Milliseconds of the session recorded so far: the durations of its parts. */
export function recordedMs(record) {
  return (record?.parts || []).reduce((sum, p) => sum + (p.duration_ms || 0), 0);
}

/** The number the next part of the session gets. */
export function nextPart(record) {
  const parts = record?.parts || [];
  return parts.length ? Math.max(...parts.map((p) => p.part)) + 1 : 0;
}

async function sha256Base64(bytes) {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let binary = '';
  for (const b of hash) binary += String.fromCharCode(b);
  return btoa(binary);
}

// ---------------------------------------------------------------------------------------
// One part: one MediaRecorder

export class PartRecorder extends EventTarget {
  /**
   * `mic` is an open Microphone; `sessionId` the server's session. `keepBlobs` keeps the
   * part's blobs in memory too (clip mode plays the take back).
   */
  constructor({ mic, sessionId, keepBlobs = false, timeslice = TIMESLICE_MS }) {
    super();
    Object.assign(this, { mic, sessionId, keepBlobs, timeslice });
    this.blobs = [];
    this.chain = Promise.resolve();
    this.running = false;
    this.length = 0;
    this.stored = 0;
    this.seq = 0;
  }

  async start() {
    const record = readRecord(this.sessionId);
    this.part = nextPart(record);
    this.offset = recordedMs(record);
    const mime = pickMime();
    this.recorder = new MediaRecorder(this.mic.recordStream, mime ? { mimeType: mime } : undefined);
    this.mime = this.recorder.mimeType || mime || 'audio/webm';
    this.recorder.addEventListener('dataavailable', (event) => this.onData(event));
    this.recorder.addEventListener('error', (event) => {
      this.dispatchEvent(new CustomEvent('failure', { detail: event.error || event }));
    });
    this.recorder.addEventListener('stop', () => {
      // Stopped by the browser (the track ended) rather than by stop().
      if (this.running) {
        this.length = this.positionMs();
        this.running = false;
        this.dispatchEvent(new CustomEvent('interrupted'));
      }
    });
    await new Promise((resolve, reject) => {
      this.recorder.addEventListener('start', resolve, { once: true });
      try {
        this.recorder.start(this.timeslice);
      } catch (error) {
        reject(error);
      }
    });
    this.t0 = this.mic.context.currentTime;
    this.running = true;
  }

  /** Milliseconds into this part, on the audio clock. */
  positionMs() {
    if (!this.running) return this.length;
    return Math.max(0, Math.round((this.mic.context.currentTime - this.t0) * 1000));
  }

  /** Milliseconds on the session's timeline: earlier parts plus the position in this one. */
  timelineMs() {
    return this.offset + this.positionMs();
  }

  onData(event) {
    const blob = event.data;
    const at = this.positionMs();
    if (!blob || !blob.size) return;
    const seq = this.seq;
    this.seq += 1;
    if (this.keepBlobs) this.blobs.push(blob);
    const mime = blob.type || this.mime;
    const { sessionId, part } = this;
    this.chain = this.chain
      .then(async () => {
        const bytes = await blob.arrayBuffer();
        const digest = await sha256Base64(bytes);
        await uploader.store({ sessionId, part, seq, bytes, mime, digest, size: bytes.byteLength, at: Date.now() });
        updateRecord(sessionId, (record) => {
          const entry = record.parts.find((p) => p.part === part);
          if (entry) entry.duration_ms = Math.max(entry.duration_ms || 0, at);
          else record.parts.push({ part, duration_ms: at });
          record.parts.sort((a, b) => a.part - b.part);
        });
        this.stored += 1;
        uploader.kick();
      })
      .catch((error) => {
        this.dispatchEvent(new CustomEvent('failure', { detail: error }));
      });
  }

  /** Stops the part, waits until its last blob is stored; resolves to its length (ms). */
  async stop() {
    if (this.running) {
      this.length = this.positionMs();
      this.running = false;
    }
    if (this.recorder && this.recorder.state !== 'inactive') {
      await new Promise((resolve) => {
        this.recorder.addEventListener('stop', resolve, { once: true });
        this.recorder.stop();
      });
    }
    await this.chain;
    if (this.stored) {
      updateRecord(this.sessionId, (record) => {
        const entry = record.parts.find((p) => p.part === this.part);
        if (entry) entry.duration_ms = this.length;
      });
    }
    return this.length;
  }

  /** The part as one playable blob (with `keepBlobs`). */
  blob() {
    return new Blob(this.blobs, { type: this.mime });
  }
}

// ---------------------------------------------------------------------------------------
// The uploader

const BACKOFF_START_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const transient = (status) => status === 408 || status === 429 || status >= 500;

class Uploader extends EventTarget {
  constructor() {
    super();
    this.csrf = '';
    this.sizes = new Map();
    this.blocked = new Map();
    this.waiters = new Map();
    this.running = false;
    this.again = false;
    this.attempt = 0;
    this.retryAt = null;
    this.netDown = false;
    this.wakeUp = null;
    this.started = false;
    this.loaded = null;
  }

  /** Starts draining (on page load): `csrf` is the page's token. */
  start(csrf) {
    if (csrf) this.csrf = csrf;
    if (this.started) return;
    this.started = true;
    this.loaded = chunks.sizes().then((entries) => {
      for (const [key, size] of entries) this.sizes.set(keyString(...key), { sessionId: key[0], size });
    }).catch(() => {});
    window.addEventListener('online', () => {
      this.netDown = false;
      this.attempt = 0;
      this.wakeUp?.();
      this.kick();
    });
    window.addEventListener('offline', () => this.emit());
    this.kick();
  }

  async store(record) {
    await chunks.put(record);
    this.sizes.set(keyString(record.sessionId, record.part, record.seq), { sessionId: record.sessionId, size: record.size });
    this.emit();
  }

  /** Chunks of `sessionId` (or of all sessions) not yet acknowledged. */
  pending(sessionId) {
    let n = 0;
    for (const v of this.sizes.values()) if (!sessionId || v.sessionId === sessionId) n += 1;
    return n;
  }

  bytes(sessionId) {
    let n = 0;
    for (const v of this.sizes.values()) if (!sessionId || v.sessionId === sessionId) n += v.size;
    return n;
  }

  /** Queues segments ({sentence_id, end_ms}) of a session. */
  segments(sessionId, list) {
    updateRecord(sessionId, (record) => { record.segments.push(...list); });
    this.kick();
  }

  /** Ends the session once everything of it is saved; resolves to the session. */
  end(sessionId, keepLast) {
    updateRecord(sessionId, (record) => { record.end = { keep_last: Boolean(keepLast) }; });
    const done = this.waitFor(sessionId);
    this.blocked.delete(sessionId);
    this.kick();
    return done;
  }

  /** Forgets the session's chunks here and deletes it on the server; resolves when done. */
  async discard(sessionId) {
    updateRecord(sessionId, (record) => { record.discard = true; record.segments = []; record.end = null; });
    const done = this.waitFor(sessionId);
    await chunks.deleteSession(sessionId).catch(() => {});
    for (const [k, v] of this.sizes) if (v.sessionId === sessionId) this.sizes.delete(k);
    this.blocked.delete(sessionId);
    this.kick();
    return done;
  }

  waitFor(sessionId) {
    const previous = this.waiters.get(sessionId);
    return new Promise((resolve, reject) => {
      this.waiters.set(sessionId, {
        resolve: (v) => { previous?.resolve(v); resolve(v); },
        reject: (e) => { previous?.reject(e); reject(e); },
      });
    });
  }

  settle(sessionId, value, error) {
    const waiter = this.waiters.get(sessionId);
    if (!waiter) return;
    this.waiters.delete(sessionId);
    if (error) waiter.reject(error);
    else waiter.resolve(value);
  }

  kick() {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.run();
  }

  async run() {
    this.running = true;
    this.emit();
    try {
      await this.loaded;
      for (;;) {
        this.again = false;
        const work = await this.next();
        if (!work) {
          if (this.again) continue;
          break;
        }
        const outcome = await this.attemptWork(work);
        if (outcome.ok) {
          this.attempt = 0;
          this.retryAt = null;
          this.netDown = false;
          this.emit();
        } else if (outcome.retry) {
          this.netDown = Boolean(outcome.network);
          const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
          this.attempt += 1;
          const jittered = base / 2 + (Math.random() * base) / 2;
          const delay = outcome.after ?? jittered;
          this.retryAt = Date.now() + delay;
          this.emit();
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, delay);
            this.wakeUp = () => { clearTimeout(timer); resolve(); };
          });
          this.wakeUp = null;
          this.retryAt = null;
        } else {
          this.blocked.set(work.sessionId, outcome.problem);
          this.settle(work.sessionId, null, outcome.problem);
          this.emit();
        }
      }
    } catch (error) {
      console.error('recital: uploader stopped', error);
    } finally {
      this.running = false;
      this.emit();
    }
  }

  /** What to send next: discards, then segments, then chunks in order, then ends. */
  async next() {
    const records = listRecords();
    const free = (id) => !this.blocked.has(id);
    for (const r of records) if (r.discard && free(r.id)) return { kind: 'discard', sessionId: r.id };
    for (const r of records) {
      if (!r.discard && r.segments?.length && free(r.id)) {
        return { kind: 'segments', sessionId: r.id, segments: r.segments.slice() };
      }
    }
    const skip = new Set(this.blocked.keys());
    for (const r of records) if (r.discard) skip.add(r.id);
    const key = await chunks.firstKey(skip);
    if (key) return { kind: 'chunk', sessionId: key[0], key };
    for (const r of records) {
      if (r.end && !r.discard && free(r.id) && !r.segments?.length && this.pending(r.id) === 0) {
        return { kind: 'end', sessionId: r.id, keepLast: r.end.keep_last };
      }
    }
    // Bookkeeping of sessions nobody came back to.
    for (const r of records) {
      const idle = !r.end && !r.discard && !r.segments?.length && this.pending(r.id) === 0;
      if (idle && Date.now() - (r.updated || 0) > RECORD_MAX_AGE_MS) removeRecord(r.id);
    }
    return null;
  }

  async attemptWork(work) {
    try {
      if (work.kind === 'chunk') return await this.sendChunk(work);
      if (work.kind === 'segments') return await this.sendSegments(work);
      if (work.kind === 'end') return await this.sendEnd(work);
      if (work.kind === 'discard') return await this.sendDiscard(work);
    } catch (error) {
      if (error instanceof Problem) {
        if (error.network) return { retry: true, network: true };
        if (transient(error.status)) return { retry: true, after: error.retryAfter };
        return { problem: error };
      }
      if (error instanceof TypeError) return { retry: true, network: true };
      return { problem: new Problem({ detail: String(error?.message || error) }) };
    }
    return { ok: true };
  }

  async sendChunk({ key }) {
    const chunk = await chunks.get(key);
    if (!chunk) {
      this.sizes.delete(keyString(...key));
      return { ok: true };
    }
    const [sessionId, part, seq] = key;
    const url = `${API}/sessions/${encodeURIComponent(sessionId)}/chunks/${seq}?part=${part}`;
    let response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        credentials: 'same-origin',
        headers: {
          'Content-Type': chunk.mime,
          'Content-Digest': `sha-256=:${chunk.digest}:`,
          'X-CSRF-Token': this.csrf,
          Accept: 'application/json, application/problem+json',
        },
        body: chunk.bytes,
      });
    } catch {
      return { retry: true, network: true };
    }
    if (response.ok) {
      await chunks.delete(key);
      this.sizes.delete(keyString(...key));
      return { ok: true };
    }
    if (transient(response.status)) return { retry: true, after: retryAfterMs(response) };
    return { problem: await Problem.from(response) };
  }

  async sendSegments({ sessionId, segments }) {
    // Later entries for one sentence replace earlier ones (read again after "previous").
    const last = new Map();
    for (const s of segments) last.set(s.sentence_id, s);
    const body = [...last.values()].map(({ sentence_id, end_ms }) => ({ sentence_id, end_ms }));
    await this.call(`/sessions/${encodeURIComponent(sessionId)}/segments`, { method: 'POST', body });
    updateRecord(sessionId, (record) => { record.segments.splice(0, segments.length); });
    return { ok: true };
  }

  async sendEnd({ sessionId, keepLast }) {
    let session;
    try {
      session = await this.call(`/sessions/${encodeURIComponent(sessionId)}/end`, {
        method: 'POST', body: { keep_last: Boolean(keepLast) },
      });
    } catch (error) {
      // An end whose answer was lost comes back as a conflict: the session ended already.
      if (error instanceof Problem && error.status === 409) {
        session = await this.call(`/sessions/${encodeURIComponent(sessionId)}`);
        if (!session || session.state === 'recording') throw error;
      } else {
        throw error;
      }
    }
    removeRecord(sessionId);
    this.settle(sessionId, session);
    this.dispatchEvent(new CustomEvent('ended', { detail: { sessionId, session } }));
    return { ok: true };
  }

  async sendDiscard({ sessionId }) {
    try {
      await this.call(`/sessions/${encodeURIComponent(sessionId)}`, { method: 'DELETE' });
    } catch (error) {
      if (!(error instanceof Problem && (error.status === 404 || error.status === 410))) throw error;
    }
    removeRecord(sessionId);
    this.settle(sessionId, null);
    this.dispatchEvent(new CustomEvent('discarded', { detail: { sessionId } }));
    return { ok: true };
  }

  /** `api()` with this uploader's token; a transient problem carries its Retry-After. */
  async call(path, options = {}) {
    return api(path, { ...options, csrf: this.csrf });
  }

  /** Whether anything of `sessionId` (or of any session) still has to reach the server. */
  busy(sessionId) {
    if (this.pending(sessionId)) return true;
    return listRecords().some((r) => (!sessionId || r.id === sessionId)
      && (r.discard || r.end || r.segments?.length) && !this.blocked.has(r.id));
  }

  status() {
    const pending = this.pending();
    const online = navigator.onLine !== false;
    const [errorSession, error] = this.blocked.entries().next().value || [null, null];
    let state = 'saved';
    if (error) state = 'error';
    else if (this.busy()) {
      if (!online || this.netDown) state = 'offline';
      else if (this.retryAt) state = 'retrying';
      else state = 'saving';
    }
    return {
      state,
      pending,
      bytes: this.bytes(),
      online,
      retryInMs: this.retryAt ? Math.max(0, this.retryAt - Date.now()) : 0,
      error,
      errorSession,
    };
  }

  emit() {
    this.dispatchEvent(new CustomEvent('status', { detail: this.status() }));
  }
}

/** The page's one uploader. */
export const uploader = new Uploader();

/**
 * Shows the uploader's status in `el` (text and `data-state`: saved, saving, offline,
 * retrying, error), worded by the page's messages `m`.
 */
export function showUploadStatus(el, status, m, { formatBytes, problemText }) {
  if (!el) return;
  el.dataset.state = status.state;
  el.dataset.pending = String(status.pending);
  const n = status.pending;
  let text;
  switch (status.state) {
    case 'error':
      text = m('upload-failed', { detail: problemText(m, status.error) });
      break;
    case 'offline':
      text = m('upload-offline', { n });
      break;
    case 'retrying':
      text = m('upload-retrying', { n, seconds: Math.ceil(status.retryInMs / 1000) });
      break;
    case 'saving':
      text = n ? m('upload-pending', { n, size: formatBytes(status.bytes) }) : m('upload-finishing');
      break;
    default:
      text = m('upload-saved');
  }
  el.textContent = text;
}

// ---------------------------------------------------------------------------------------
// Keeping the screen on while recording

export class ScreenLock {
  constructor() {
    this.lock = null;
  }

  async acquire() {
    if (this.lock || !navigator.wakeLock?.request) return;
    try {
      this.lock = await navigator.wakeLock.request('screen');
      this.lock.addEventListener('release', () => { this.lock = null; });
    } catch {
      this.lock = null;
    }
  }

  release() {
    const lock = this.lock;
    this.lock = null;
    lock?.release().catch(() => {});
  }
}
