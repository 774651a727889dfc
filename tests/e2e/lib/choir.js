// Helpers for the choir studio's browser test: sine tones for Chromium's fake
// microphones, Goertzel levels of decoded audio, an "ear" on what a room page plays, and
// the join page's calibration result seeded into sessionStorage.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const RATE = 48000;

/** `seconds` of a `freq` Hz sine, 48 kHz mono 16-bit WAV at -20 dBFS (room to mix three). */
export async function toneWav(dir, freq, seconds = 120) {
  const out = join(dir, `tone-${freq}.wav`);
  try {
    await execFileP('sox', ['-n', '-r', String(RATE), '-c', '1', '-b', '16', out,
      'synth', String(seconds), 'sine', String(freq), 'gain', '-20'], { timeout: 60_000 });
  } catch (err) {
    throw new Error(`sox could not make ${out} (exit ${err.code}): ${err.stderr}`);
  }
  return out;
}

/** Any audio file (bytes) decoded by ffmpeg to 48 kHz mono float samples. */
export function decodeMono(bytes) {
  return new Promise((resolve, reject) => {
    const ff = spawn('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 'f32le', '-ac', '1',
      '-ar', String(RATE), 'pipe:1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks = [];
    let err = '';
    ff.stdout.on('data', (c) => chunks.push(c));
    ff.stderr.on('data', (c) => { err += c; });
    ff.on('error', reject);
    ff.on('close', (code) => {
      if (code !== 0) { reject(new Error(`ffmpeg exit ${code}: ${err}`)); return; }
      const buf = Buffer.concat(chunks);
      resolve(new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4)));
    });
    ff.stdin.on('error', () => {});
    ff.stdin.end(Buffer.from(bytes));
  });
}

/**
 * The amplitude of `freq` in `x[from..from+n]` (Goertzel over a Hann window, scaled so a
 * full-window sine of amplitude A reads A). Also defined in the page by `installEar`.
 */
export function goertzel(x, from, n, freq, rate = RATE) {
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  let wsum = 0;
  for (let i = 0; i < n; i += 1) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    wsum += w;
    const s0 = x[from + i] * w + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / wsum;
}

/** Levels of each of `freqs` over consecutive windows: [{t (s), [freq]: amplitude}]. */
export function levels(x, freqs, windowS = 0.1, rate = RATE) {
  const n = Math.round(windowS * rate);
  const out = [];
  for (let from = 0; from + n <= x.length; from += n) {
    const row = { t: from / rate };
    for (const f of freqs) row[f] = goertzel(x, from, n, f, rate);
    out.push(row);
  }
  return out;
}

export const quantile = (values, q) => {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/**
 * Taps what a room page plays: an AnalyserNode on the output of the engine's worklet
 * (window.tuttiChoir, which choir-room.js leaves for tests), read every 60 ms (less than the 85 ms window, so a 15 ms metronome click
 * falls whole inside some read whatever its phase); each
 * read is the engine's playback position (48 kHz timeline samples) and the Goertzel
 * amplitude of each of `freqs` over the last 4096 samples. Nothing in the client changes.
 */
export function installEar(page, freqs) {
  return page.evaluate((fs) => {
    const { engine } = window.tuttiChoir;
    const ctx = engine.context;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    const mute = ctx.createGain();
    mute.gain.value = 0;
    engine.node.connect(analyser);
    analyser.connect(mute).connect(ctx.destination);
    const buf = new Float32Array(analyser.fftSize);
    const rate = ctx.sampleRate;
    const amp = (f) => {
      const k = 2 * Math.cos((2 * Math.PI * f) / rate);
      let s1 = 0; let s2 = 0; let wsum = 0;
      for (let i = 0; i < buf.length; i += 1) {
        const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (buf.length - 1));
        wsum += w;
        const s0 = buf[i] * w + k * s1 - s2;
        s2 = s1; s1 = s0;
      }
      return (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - k * s1 * s2))) / wsum;
    };
    const heard = [];
    window.__choirEar = heard;
    setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      const row = { pos: engine.position() };
      for (const f of fs) row[f] = amp(f);
      heard.push(row);
      if (heard.length > 3000) heard.shift();
    }, 60);
  }, freqs);
}

/**
 * What the ear heard while the page played timeline positions [from, to] (the window
 * of 4096 samples ends at the position read, so the first ~85 ms after `from` are left
 * out by the caller's margin).
 */
export function earBetween(page, from, to) {
  return page.evaluate(([a, b]) => window.__choirEar.filter((r) => r.pos !== null && r.pos >= a && r.pos <= b), [from, to]);
}

/**
 * What the join page leaves for the room page (choir-ui.js savePlace: key
 * `tutti-choir:<room>`, {name, part, latency, gain, seat, token, socketUrl, saved}).
 */
export function seedPlace(page, room, place) {
  return page.evaluate(([r, p]) => {
    sessionStorage.setItem(`tutti-choir:${r}`, JSON.stringify({ ...p, saved: Date.now() }));
  }, [room, place]);
}
