// The meetings studio end to end: three Chromium browsers, each with a fake camera and a
// fake microphone playing its own tone, join a team meeting through its link (a host
// who made the team, and two members who came in by its invitation link). Then:
//  - each page receives the other two's audio and video through the SFU (getStats:
//    inbound bytes grow, video frames decode), named by the `tracks` message;
//  - a member mutes: the others stop receiving that member's audio bytes;
//  - two of them type into the same paragraph of the notes at once and both see both
//    edits;
//  - a guest (no account) waits in the waiting room until the host lets them in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, TUTTI_BIN, createUser, newContext, startTutti, stopEnv } from '../lib/env.js';
import { signInLocal, watchPage } from '../lib/pages.js';
import { toneWav } from '../lib/choir.js';

const execFileP = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'a long enough password 4 tests';
const PEOPLE = [
  { key: 'host', email: 'host@example.test', name: 'Hana Host', hz: 440 },
  { key: 'ana', email: 'ana@example.test', name: 'Ana Member', hz: 660 },
  { key: 'ben', email: 'ben@example.test', name: 'Ben Member', hz: 880 },
];

let env;
let work;
const people = {}; // key → { browser, context, page, token, watch }
const ids_ = {}; // key → participant id in the call
let meeting; // the API's answer: {id, code, join_url, ics_url}

function launch(wav) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: false,
    args: [...CHROMIUM_ARGS, '--allow-loopback-in-peer-connection',
      `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'],
    timeout: 60_000,
  });
}

async function token(email) {
  const { stdout } = await execFileP(TUTTI_BIN, ['admin', 'create-token', '--data-dir', env.tutti.dataDir,
    '--email', email, '--name', 'e2e'], { timeout: 60_000 });
  return stdout.trim().split('\n').pop().trim();
}

async function api(who, method, path, body) {
  const res = await fetch(env.url(path), {
    method,
    headers: { authorization: `Bearer ${people[who].token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path} as ${who}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

before(async () => {
  env = { tutti: null, browser: null };
  work = mkdtempSync(join(tmpdir(), 'tutti-meetings-e2e-'));
  env.tutti = await startTutti({ name: 'meetings' });
  env.baseUrl = env.tutti.baseUrl;
  env.url = (path) => new URL(path, env.tutti.baseUrl).href;
  for (const p of PEOPLE) {
    await createUser(env.tutti.dataDir, { email: p.email, name: p.name, password: PASSWORD, role: 'member' });
    const browser = await launch(await toneWav(work, p.hz));
    const context = await newContext(browser);
    const page = await context.newPage();
    people[p.key] = { ...p, browser, context, page, token: await token(p.email), watch: watchPage(page, env.baseUrl) };
  }
  env.browser = people.host.browser;
});

after(async () => {
  for (const p of Object.values(people)) {
    if (p.browser !== env.browser) await p.browser.close().catch(() => {});
  }
  await stopEnv(env);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** What a page receives, by `participant:kind`: bytes, packets and decoded frames. */
function inbound(page) {
  return page.evaluate(async () => {
    const call = window.meetingCall;
    if (!call?.pc) return {};
    const stats = await call.pc.getStats();
    const out = {};
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const track = call.state.tracks.get(s.mid);
      if (!track) return;
      const key = `${track.participant}:${s.kind}`;
      const prev = out[key] || { bytes: 0, packets: 0, frames: 0 };
      out[key] = {
        bytes: prev.bytes + (s.bytesReceived || 0),
        packets: prev.packets + (s.packetsReceived || 0),
        frames: prev.frames + (s.framesDecoded || 0),
      };
    });
    return out;
  });
}

/** Waits until every `participant:kind` of `keys` received more bytes over two seconds. */
async function growing(page, keys, who, tries = 10) {
  let last = '';
  for (let i = 0; i < tries; i++) {
    const a = await inbound(page);
    await sleep(2000);
    const b = await inbound(page);
    if (keys.every((k) => a[k] && b[k] && b[k].bytes > a[k].bytes)) return;
    last = JSON.stringify({ a, b });
  }
  assert.fail(`${who} does not keep receiving ${keys.join(', ')}: ${last}`);
}

const idOf = (page) => page.evaluate(() => window.meetingCall.state.you);

async function joinCall(who) {
  const { page } = people[who];
  await page.goto(meeting.join_url);
  await page.locator('#join').click();
  await page.locator('#meeting-call[data-state="connected"]').waitFor({ timeout: 30_000 });
}

test('a host makes a team, two members join it by its link, and a team meeting starts', async () => {
  const team = await api('host', 'POST', '/api/v1/meetings/teams', { name: 'Weekly sync' });
  const invite = await api('host', 'POST', `/api/v1/meetings/teams/${team.id}/invites`, {});
  const secret = new URL(invite.url).pathname.split('/').pop();
  for (const who of ['ana', 'ben']) await api(who, 'POST', `/api/v1/meetings/invites/${secret}`);
  meeting = await api('host', 'POST', '/api/v1/meetings', { title: 'Weekly sync, live', team_id: team.id });
  assert.match(meeting.code, /\S/);
  for (const p of Object.values(people)) await signInLocal(p.page, env, { email: p.email, password: PASSWORD });
  for (const who of ['host', 'ana', 'ben']) await joinCall(who);
  const roster = await people.host.page.locator('#roster li').count();
  assert.equal(roster, 3);
});

test('each participant receives the other two\'s audio and video through the SFU', { timeout: 90_000 }, async (t) => {
  const ids = {};
  for (const who of Object.keys(people)) ids[who] = await idOf(people[who].page);
  for (const who of Object.keys(people)) {
    const { page } = people[who];
    const others = Object.keys(people).filter((o) => o !== who).map((o) => ids[o]);
    // Every other participant's audio and video arrive, and video decodes.
    await page.waitForFunction(async (others) => {
      const call = window.meetingCall;
      if (!call?.pc) return false;
      const stats = await call.pc.getStats();
      const got = new Map();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const t = call.state.tracks.get(s.mid);
        if (!t) return;
        const k = `${t.participant}:${s.kind}`;
        got.set(k, (got.get(k) || 0) + (s.kind === 'video' ? (s.framesDecoded || 0) : (s.packetsReceived || 0)));
      });
      return others.every((o) => got.get(`${o}:audio`) > 10 && got.get(`${o}:video`) > 5);
    }, others, { timeout: 60_000, polling: 500 });
    await growing(page, others.flatMap((o) => [`${o}:audio`, `${o}:video`]), who);
  }
  const codecs = await people.host.page.evaluate(async () => {
    const stats = await window.meetingCall.pc.getStats();
    const seen = new Set();
    stats.forEach((s) => { if (s.type === 'codec') seen.add(s.mimeType); });
    return [...seen];
  });
  t.diagnostic(`codecs: ${codecs.join(', ')}`);
  Object.assign(ids_, ids);
});

test('a muted participant\'s audio stops reaching the others', { timeout: 60_000 }, async () => {
  const ana = ids_.ana;
  await people.ana.page.locator('#mute').click();
  await people.host.page.locator(`#roster li[data-participant="${ana}"]`).filter({ hasText: 'muted' }).waitFor();
  await sleep(1500); // what was in flight arrives
  for (const who of ['host', 'ben']) {
    const a = await inbound(people[who].page);
    await sleep(2500);
    const b = await inbound(people[who].page);
    assert.ok(b[`${ana}:audio`].bytes - a[`${ana}:audio`].bytes < 500,
      `${who} still receives Ana's audio: ${JSON.stringify([a[`${ana}:audio`], b[`${ana}:audio`]])}`);
    assert.ok(b[`${ana}:video`].bytes > a[`${ana}:video`].bytes, `${who} lost Ana's video too`);
  }
  await people.ana.page.locator('#mute').click();
});

test('two people type into the same paragraph at once and both see both edits', { timeout: 60_000 }, async () => {
  const editors = ['host', 'ana'].map((who) => people[who].page.locator('#notes-editor .ProseMirror'));
  for (const e of editors) await e.waitFor();
  await editors[0].click();
  await people.host.page.keyboard.type('Agenda: ');
  for (const who of ['ana', 'ben']) {
    await people[who].page.locator('#notes-editor .ProseMirror').filter({ hasText: 'Agenda:' }).waitFor();
  }
  // The host at the end of that paragraph, Ana at its start, typing at the same time.
  const para = (who) => people[who].page.locator('#notes-editor .ProseMirror p').first();
  const box = await para('ana').boundingBox();
  await para('ana').click({ position: { x: 1, y: box.height / 2 } });
  await para('host').click();
  await people.host.page.keyboard.press('End');

  await Promise.all([
    people.host.page.keyboard.type('budget ', { delay: 20 }),
    people.ana.page.keyboard.type('Hiring. ', { delay: 20 }),
  ]);
  // The document without the others' cursors (name labels drawn inside the text).
  const notesText = (who) => people[who].page.evaluate(() => {
    const copy = document.querySelector('#notes-editor .ProseMirror').cloneNode(true);
    copy.querySelectorAll('.ProseMirror-yjs-cursor').forEach((c) => c.remove());
    return copy.textContent;
  });
  const want = 'Hiring. Agenda: budget ';
  let texts = [];
  for (let i = 0; i < 50; i++) {
    texts = await Promise.all(['host', 'ana', 'ben'].map(notesText));
    if (texts.every((t) => t === want)) break;
    await sleep(200);
  }
  assert.deepEqual(texts, [want, want, want], 'every editor holds both edits, in place');
});

test('a guest waits in the waiting room until the host lets them in', { timeout: 60_000 }, async () => {
  await api('host', 'PATCH', `/api/v1/meetings/${meeting.id}`, { guests_allowed: true });
  const context = await newContext(people.host.browser);
  const page = await context.newPage();
  await page.goto(meeting.join_url);
  await page.locator('#guest-name').fill('Gil Guest');
  await page.locator('#join').click();
  await page.locator('#call-waiting').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#meeting-call').getAttribute('data-state'), 'waiting');
  // Nobody lets them in yet: they still wait, and the host sees them.
  await people.host.page.locator('#lobby-list li').filter({ hasText: 'Gil Guest' }).waitFor();
  await sleep(1000);
  assert.equal(await page.locator('#meeting-call').getAttribute('data-state'), 'waiting');
  await people.host.page.locator('#admit-all').click();
  await page.locator('#meeting-call[data-state="connected"]').waitFor({ timeout: 20_000 });
  await people.ben.page.locator('#roster li').filter({ hasText: 'Gil Guest' }).waitFor();
  await context.close();
});
