// Helpers for the recital studio's browser test: a speech WAV for Chromium's fake
// microphone, a browser that records from it, the `tutti recital` and `tutti admin`
// commands on a running server's data folder, and small parsers (WebVTT, CSV).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, TUTTI_BIN } from './env.js';

const execFileP = promisify(execFile);

/** The environment for a tutti child process: ours minus every TUTTI_* setting. */
function tuttiEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TUTTI_')) env[k] = v;
  }
  return { ...env, RUST_BACKTRACE: '1' };
}

/** Runs `tutti ARGS… --data-dir DIR`; resolves to its stdout, throws with both streams. */
export async function tutti(dataDir, args, { timeout = 120_000 } = {}) {
  const all = [...args, '--data-dir', dataDir];
  try {
    const { stdout } = await execFileP(TUTTI_BIN, all, {
      env: tuttiEnv(), timeout, maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    throw new Error(`tutti ${args.slice(0, 3).join(' ')} failed (exit ${err.code}):\n${
      err.stdout}\n${err.stderr}`);
  }
}

/** An account with no role at all (a volunteer), made with `tutti admin create-user`. */
export function createPerson(dataDir, { email, name, password }) {
  return tutti(dataDir, ['admin', 'create-user', '--email', email, '--name', name, '--password', password]);
}

async function run(cmd, args) {
  try {
    await execFileP(cmd, args, { timeout: 60_000 });
  } catch (err) {
    if (err.code === 'ENOENT') {
      throw new Error(`${cmd} is not installed (bash tests/setup.sh installs it)`);
    }
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.code}):\n${err.stderr}`);
  }
}

/**
 * `seconds` of Hebrew speech (espeak-ng reading `text`, repeated) as 48 kHz mono 16-bit
 * WAV at a moderate level (peaks at -6 dBFS), written to `dir`; returns its path.
 */
export async function speechWav(dir, text, seconds = 30) {
  const raw = join(dir, 'speech-raw.wav');
  const out = join(dir, 'speech.wav');
  await run('espeak-ng', ['-v', 'he', '-s', '150', '-w', raw, text]);
  await run('sox', [raw, '-r', '48000', '-c', '1', '-b', '16', out,
    'gain', '-n', '-6', 'repeat', '5', 'trim', '0', String(seconds)]);
  if (!existsSync(out)) throw new Error(`sox wrote no ${out}`);
  return out;
}

/**
 * Chromium whose fake microphone plays `wav` (looped), with the permission prompt
 * granted, and media allowed to play without a click (the validator's clips).
 */
export function launchBrowserWithMic(wav) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: false,
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`,
      '--autoplay-policy=no-user-gesture-required'],
    timeout: 60_000,
  });
}

/** `HH:MM:SS.mmm` (or `MM:SS.mmm`) as milliseconds. */
export function vttTime(text) {
  const m = /^(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})$/.exec(text.trim());
  if (!m) throw new Error(`not a WebVTT time: ${JSON.stringify(text)}`);
  return ((Number(m[1] || 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

/** The cues of a WebVTT file: [{id, start, end, startText, text}], times in ms. */
export function parseVtt(body) {
  const blocks = body.replace(/\r\n?/g, '\n').split(/\n{2,}/);
  if (!/^(\uFEFF)?WEBVTT\b/.test(blocks[0] ?? '')) throw new Error(`not WebVTT:\n${body}`);
  const cues = [];
  for (const block of blocks.slice(1)) {
    const lines = block.split('\n').filter((l) => l !== '');
    if (!lines.length || /^(NOTE|STYLE|REGION)\b/.test(lines[0])) continue;
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) throw new Error(`a WebVTT block without timings: ${JSON.stringify(block)}`);
    const [from, rest] = lines[at].split('-->');
    const to = rest.trim().split(/\s+/)[0];
    cues.push({
      id: at > 0 ? lines[0] : null,
      startText: from.trim(),
      start: vttTime(from),
      end: vttTime(to),
      text: lines.slice(at + 1).join('\n'),
    });
  }
  return cues;
}

/** RFC 4180 CSV as an array of objects keyed by the header row. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows.filter((r) => r.length > 1 || r[0] !== '');
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** The chunks IndexedDB (`tutti-recital`/`chunks`) still holds for a session, as keys. */
export function storedChunks(page, sessionId) {
  return page.evaluate((id) => new Promise((resolve, reject) => {
    const open = indexedDB.open('tutti-recital');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('chunks')) { db.close(); resolve([]); return; }
      const request = db.transaction('chunks', 'readonly').objectStore('chunks')
        .getAllKeys(IDBKeyRange.bound([id], [id, []]));
      request.onsuccess = () => { db.close(); resolve(request.result); };
      request.onerror = () => { db.close(); reject(request.error); };
    };
  }), sessionId);
}
