// The choir studio end to end: three Chromium browsers, each with a fake microphone
// playing its own sine (the leader 440 Hz, follower A 660 Hz, follower B 880 Hz). A
// member creates a room on /choir and leads; two guests come in through the join page;
// follower A sits in bucket 1 and follower B in bucket 2. The leader leads a song with a
// metronome, turns recording on, starts, lets it run ~12 s and stops. Then:
//  - each page heard what its bucket should (an AnalyserNode on the engine's output):
//    the leader only the metronome; A the leader and not itself or B; B the leader and A
//    and not itself;
//  - the recording shows up ready on the room's recordings page, and its mix holds all
//    three tones from the song's start to its end, and no metronome.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser, newContext, startTutti, stopEnv, withArtifacts } from '../lib/env.js';
import { signInLocal, watchPage } from '../lib/pages.js';
import { launchBrowserWithMic } from '../lib/recital.js';
import {
  RATE, decodeMono, earBetween, installEar, levels, quantile, seedPlace, toneWav,
} from '../lib/choir.js';

const LEADER_HZ = 440;
const A_HZ = 660;
const B_HZ = 880;
const CLICK_HZ = 1000; // the server's metronome click
const FREQS = [LEADER_HZ, A_HZ, B_HZ, CLICK_HZ];
const SONG_MS = 12_000;
const BPM = 120;
// Amplitudes (full scale 1); the tones are 0.1 at the microphone. Measured: a voice
// heard reads 0.08-0.2 (the leader is mixed twice as loud), one not heard below 0.0005
// outside metronome clicks; the mix's 1 kHz stays below 0.0003.
const PRESENT = 0.02;
const ABSENT = 0.005;

const MEMBER = { email: 'leader@example.test', name: 'Lea Leader', password: 'a long enough password 4 tests', role: 'member' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seat = () => randomBytes(12).toString('hex');

let env;
let work;
const people = {}; // leader, a, b: { browser, context, page, watch, hz }
let roomId;
let song; // the song as the leader's page saw it at the end: {start, end, ...}

before(async () => {
  env = { tutti: null, browser: null };
  work = mkdtempSync(join(tmpdir(), 'tutti-choir-e2e-'));
  const wavs = await Promise.all([LEADER_HZ, A_HZ, B_HZ].map((f) => toneWav(work, f)));
  env.tutti = await startTutti({ name: 'choir' });
  env.baseUrl = env.tutti.baseUrl;
  env.url = (path) => new URL(path, env.tutti.baseUrl).href;
  await createUser(env.tutti.dataDir, MEMBER);
  // One browser per microphone: --use-file-for-fake-audio-capture is per process.
  for (const [who, hz, wav] of [['leader', LEADER_HZ, wavs[0]], ['a', A_HZ, wavs[1]], ['b', B_HZ, wavs[2]]]) {
    const browser = await launchBrowserWithMic(wav);
    const context = await newContext(browser);
    const page = await context.newPage();
    people[who] = { browser, context, page, hz, watch: watchPage(page, env.baseUrl) };
  }
  env.browser = people.leader.browser;
});

after(async () => {
  for (const p of Object.values(people)) {
    if (p.browser !== env.browser) await p.browser.close().catch(() => {});
  }
  await stopEnv(env);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Waits for `fn` (run in the page) to be truthy; returns its value. */
async function until(page, fn, arg, timeout = 30_000) {
  const handle = await page.waitForFunction(fn, arg, { timeout, polling: 200 });
  return handle.jsonValue();
}

const myBucket = (page) => page.evaluate(() => {
  const { view } = window.tuttiChoir;
  return view.singers.get(view.you)?.bucket ?? null;
});

/**
 * Through the join page's first step (name, singer; a guest's pass is asked for there),
 * then into the room. A fake microphone cannot hear the calibration's clicks, so the
 * latency step would only offer to listen instead: the test leaves in sessionStorage
 * what a finished calibration leaves (latency 0 samples, gain 1), under the key and in
 * the shape choir-join.js's enter() writes, with the pass the join page was given.
 */
async function joinAsSinger(page, name) {
  await page.goto(env.url(`/choir/rooms/${roomId}/join`));
  await page.locator('#join-name').fill(name);
  await page.locator('#part-singer').check();
  const needsGuest = await page.locator('#choir-join').getAttribute('data-needs-guest') === 'true';
  const pass = needsGuest
    ? page.waitForResponse((r) => r.url().endsWith(`/api/v1/choir/rooms/${roomId}/guests`))
    : null;
  await page.locator('#you-next').click();
  let token = null;
  let socketUrl = null;
  if (pass) {
    const res = await pass;
    assert.equal(res.status(), 200, `guest pass for ${name}: ${res.status()} ${await res.text()}`);
    ({ token, socket_url: socketUrl } = await res.json());
  }
  await page.locator('#step-latency').waitFor({ state: 'visible' });
  await seedPlace(page, roomId, { name, part: 'singer', latency: 0, gain: 1, seat: seat(), token, socketUrl });
  await page.goto(env.url(`/choir/rooms/${roomId}`));
  await page.locator('#choir-room[data-state="open"]').waitFor({ timeout: 30_000 });
  // Audio set up, the clock known and the bucket's delay known: the page plays.
  await until(page, () => {
    const e = window.tuttiChoir?.engine;
    return e?.node && e.offset !== null && e.delay !== null && e.position() !== null;
  });
  assert.equal(await page.locator('#sound-off').isHidden(), true, `${name}: the page waits for a click to play`);
  await installEar(page, FREQS);
}

test('a member creates a room and three singers enter it through the join page', async (t) => {
  const { page } = people.leader;
  await withArtifacts(t, env, page, async () => {
    await signInLocal(page, env, MEMBER);
    await page.goto(env.url('/choir'));
    await page.locator('#new-name').fill('E2E Choir');
    await page.locator('#new-room-form button[type="submit"]').click();
    await page.waitForURL(/\/choir\/rooms\/[^/]+\/manage$/);
    roomId = new URL(page.url()).pathname.split('/')[3];
    await joinAsSinger(page, MEMBER.name);
    await joinAsSinger(people.a.page, 'Avi Alto');
    await joinAsSinger(people.b.page, 'Bat Bass');
    await until(page, () => window.tuttiChoir.view.singers.size === 3);
  });
});

test('the leader leads with a metronome and records; the followers sit in buckets 1 and 2', async (t) => {
  const { page } = people.leader;
  await withArtifacts(t, env, page, async () => {
    await page.locator('#lead-open').click();
    await page.locator('#lead-bpm').fill(String(BPM));
    await page.locator('#lead-submit').click();
    await page.locator('#song-start').waitFor({ state: 'visible' });
    assert.equal(await myBucket(page), 0);
    await page.locator('#record').check();
    await page.locator('#recording-badge').waitFor({ state: 'visible' });
    for (const [who, bucket] of [['a', 1], ['b', 2]]) {
      const p = people[who].page;
      if (await myBucket(p) !== bucket) await p.locator(`.choir-move[data-bucket="${bucket}"]`).click();
      await until(p, (b) => {
        const { view } = window.tuttiChoir;
        return view.singers.get(view.you)?.bucket === b;
      }, bucket);
    }
    await until(page, () => [...window.tuttiChoir.view.singers.values()].map((s) => s.bucket).sort().join() === '0,1,2');
    // A move starts a fresh voice run (its first frame a start frame); let frames of
    // the old run still in flight drain before the song.
    await sleep(2500);
  });
});

test('the song runs ~12 s and every page hears its bucket', async (t) => {
  const { page } = people.leader;
  await withArtifacts(t, env, page, async () => {
    await page.locator('#song-start').click();
    await until(page, () => window.tuttiChoir.view.song?.start != null);
    await sleep(SONG_MS);
    await page.locator('#song-stop').click();
    song = await until(page, () => window.tuttiChoir.view.song?.end != null && window.tuttiChoir.view.song);
    assert.ok(song.end > song.start, `song ${JSON.stringify(song)}`);
    // Every page has played past the song's end (bucket 2 hears it last).
    for (const p of Object.values(people)) {
      await until(p.page, (end) => window.tuttiChoir.engine.position() > end + 24000, song.end, 60_000)
        .catch(async (e) => { throw new Error(`${p.hz} Hz page never played past the song: ${e.message}`); });
    }
    const from = song.start + RATE; // a second in, the 85 ms window well inside the song
    const to = song.end - RATE / 4;
    const heard = {};
    for (const [who, p] of Object.entries(people)) {
      const rows = await earBetween(p.page, from, to);
      assert.ok(rows.length >= 30, `${who} ear: only ${rows.length} reads during the song`);
      // A 15 ms click spreads over neighbouring frequencies (880 Hz reads up to ~0.01 in
      // a window holding one): absence is judged on the windows without a click.
      const clickFree = rows.filter((r) => r[CLICK_HZ] < ABSENT);
      heard[who] = Object.fromEntries(FREQS.map((f) => [f, {
        median: quantile(rows.map((r) => r[f]), 0.5),
        p95: quantile(clickFree.map((r) => r[f]), 0.95),
        max: Math.max(...rows.map((r) => r[f])),
      }]));
      heard[who].reads = rows.length;
      heard[who].clickFree = clickFree.length;
      assert.ok(clickFree.length >= 15, `${who} ear: only ${clickFree.length} reads without a click`);
    }
    t.diagnostic(`heard: ${JSON.stringify(heard, (k, v) => (typeof v === 'number' ? Number(v.toPrecision(3)) : v))}`);
    const present = (who, f) => assert.ok(heard[who][f].median > PRESENT,
      `${who} should hear ${f} Hz: median ${heard[who][f].median}`);
    const absent = (who, f) => assert.ok(heard[who][f].p95 < ABSENT,
      `${who} should not hear ${f} Hz: 95th percentile (click-free reads) ${heard[who][f].p95}`);
    // The leader (bucket 0) hears the metronome (so the ear works) and no voice: not
    // itself, and not the later buckets.
    assert.ok(heard.leader[CLICK_HZ].max > 2 * ABSENT, `the leader should hear the metronome: max ${heard.leader[CLICK_HZ].max}`);
    absent('leader', LEADER_HZ);
    absent('leader', A_HZ);
    absent('leader', B_HZ);
    // Follower A (bucket 1): the leader, not itself, not B.
    present('a', LEADER_HZ);
    absent('a', A_HZ);
    absent('a', B_HZ);
    // Follower B (bucket 2): the leader and A, not itself.
    present('b', LEADER_HZ);
    present('b', A_HZ);
    absent('b', B_HZ);
  });
});

test('the recording is ready on the recordings page, with every voice in time and no metronome', async (t) => {
  const { page } = people.leader;
  await withArtifacts(t, env, page, async () => {
    await page.locator('#recorded').waitFor({ state: 'visible', timeout: 60_000 });
    let card;
    const deadline = Date.now() + 90_000;
    for (;;) {
      await page.goto(env.url(`/choir/rooms/${roomId}/recordings`));
      card = page.locator('#recordings li.card').first();
      const status = await card.getAttribute('data-status', { timeout: 5000 }).catch(() => null);
      if (status === 'ready') break;
      assert.notEqual(status, 'failed', `the recording failed: ${await card.textContent()}`);
      assert.ok(Date.now() < deadline, `the recording is still ${status} after 90 s`);
      await sleep(1000);
    }
    const src = await card.locator('audio').getAttribute('src');
    assert.match(src, /\/mix\.ogg$/);
    const res = await fetch(env.url(src));
    assert.equal(res.status, 200, `GET ${src}`);
    const mix = await decodeMono(await res.arrayBuffer());
    const seconds = mix.length / RATE;
    const songSeconds = (song.end - song.start) / RATE;
    t.diagnostic(`mix: ${seconds.toFixed(2)} s; the song: ${songSeconds.toFixed(2)} s`);
    assert.ok(Math.abs(seconds - songSeconds) < 0.5, `the mix is ${seconds} s, the song ${songSeconds} s`);
    const rows = levels(mix, FREQS, 0.1);
    const summary = Object.fromEntries(FREQS.map((f) => {
      const inner = rows.filter((r) => r.t >= 0.5 && r.t <= seconds - 0.6).map((r) => r[f]);
      return [f, { min: Math.min(...inner), median: quantile(inner, 0.5), max: Math.max(...rows.map((r) => r[f])),
        first: rows.find((r) => r[f] > PRESENT)?.t ?? null }];
    }));
    t.diagnostic(`mix levels: ${JSON.stringify(summary, (k, v) => (typeof v === 'number' ? Number(v.toPrecision(3)) : v))}`);
    // The leader's tone from (near) the song's start, and all along it.
    assert.ok(summary[LEADER_HZ].first !== null && summary[LEADER_HZ].first <= 0.5,
      `the leader's ${LEADER_HZ} Hz should start near the song's start: first at ${summary[LEADER_HZ].first} s`);
    for (const f of [LEADER_HZ, A_HZ, B_HZ]) {
      assert.ok(summary[f].min > PRESENT, `${f} Hz should be in the whole mix: lowest ${summary[f].min}`);
    }
    // The metronome is for the ears only.
    assert.ok(summary[CLICK_HZ].max < ABSENT, `the mix holds the metronome: ${CLICK_HZ} Hz up to ${summary[CLICK_HZ].max}`);
    for (const p of Object.values(people)) p.watch.assertClean();
  });
});
