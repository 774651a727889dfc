// The recital studio end to end, as one story on one server. A reviewer sets up a
// long-form Hebrew campaign with the CLI; a speaker whose (fake) microphone plays Hebrew
// speech joins with the microphone check, reads three sentences aloud, loses the network
// for ten seconds while recording on, and saves; the server makes three back-to-back
// WebVTT cues and three clips of the session; the replay page plays and follows the cues;
// two other people vote yes on every clip, which makes them valid; and the CLI's
// audiofolder export holds them. axe-core checks the reading, validate and replay pages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newContext, startTutti, stopEnv, withArtifacts } from '../lib/env.js';
import { axeViolations, signInLocal, visit, waitForPath, watchPage } from '../lib/pages.js';
import {
  createPerson, launchBrowserWithMic, parseCsv, parseVtt, speechWav, storedChunks, tutti,
} from '../lib/recital.js';

const SENTENCES = [
  'השמש זרחה מעל ההרים והאירה את העמק כולו.',
  'הילדים רצו אל הגן כדי לשחק עם חבריהם.',
  'סבתא אפתה עוגה גדולה לכבוד החג.',
  'בערב ישבנו כולנו ליד השולחן ושרנו שירים.',
  'אחר כך הלכנו לישון מוקדם, כי מחר יום ארוך.',
];
const READ = SENTENCES.slice(0, 3);
const SLUG = 'he';
const PASSWORD = 'a long enough password 4 tests';
const SPEAKER = { email: 'speaker@example.test', name: 'Shira Speaker', password: PASSWORD };
const VALIDATORS = [
  { email: 'validator1@example.test', name: 'Vered Validator', password: PASSWORD },
  { email: 'validator2@example.test', name: 'Vardit Validator', password: PASSWORD },
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const norm = (s) => s.replace(/\s+/g, ' ').trim();

// Failed requests while the test holds the network down are expected; nothing else is.
const OFFLINE_NOISE = /^console error on .*: Failed to load resource: net::ERR_INTERNET_DISCONNECTED /;

let env;
let work;
let documentId;
let speaker; // { context, page, watch } of the speaker, kept from reading to replay
const story = { sessionId: null, acked: new Set(), cues: null, clips: new Map() };

before(async () => {
  env = { tutti: null, browser: null };
  work = mkdtempSync(join(tmpdir(), 'tutti-recital-e2e-'));
  const wav = await speechWav(work, SENTENCES.join(' '));
  env.tutti = await startTutti({ name: 'recital' });
  env.baseUrl = env.tutti.baseUrl;
  env.url = (path) => new URL(path, env.tutti.baseUrl).href;
  const data = env.tutti.dataDir;

  // The reviewer's set-up, on the running server's data folder.
  await tutti(data, ['recital', 'campaign', 'create', '--slug', SLUG, '--title', 'קריאה בעברית',
    '--language', 'he', '--mode', 'long-form', '--open']);
  const file = join(work, 'boker.txt');
  writeFileSync(file, `${SENTENCES.join(' ')}\n`);
  const out = await tutti(data, ['recital', 'text', 'import', '--campaign', SLUG, file,
    '--title', 'בוקר בכפר']);
  documentId = out.trim().split('\n').pop().trim();
  assert.match(documentId, /^[0-9a-z]+$/i, `text import printed no document id last:\n${out}`);
  for (const person of [SPEAKER, ...VALIDATORS]) await createPerson(data, person);

  env.browser = await launchBrowserWithMic(wav);
});

after(async () => {
  await speaker?.context.close().catch(() => {});
  await stopEnv(env);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Asserts the page's serious and critical axe violations are none. */
async function assertAxe(page, what) {
  const v = await axeViolations(page);
  assert.deepEqual(v, [], `${what}: serious/critical axe violations:\n${v.join('\n')}`);
}

/** From the campaign page: the join form, agreed to, back on the campaign page. */
async function joinCampaign(page, { micCheck = false } = {}) {
  await visit(page, env, `/recital/c/${SLUG}`);
  await page.locator('a#join').click();
  await waitForPath(page, `/recital/c/${SLUG}/join`);
  if (micCheck) {
    await page.locator('#miccheck-start').click();
    const verdict = page.locator('#miccheck-verdict[data-verdict]');
    await verdict.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await verdict.getAttribute('data-verdict'), 'fine',
      `the microphone check of the speech file says: ${await verdict.innerText()}`);
  }
  await page.locator('#agree').check();
  await page.locator('#join-submit').click();
  await waitForPath(page, `/recital/c/${SLUG}`);
}

/** The index of the one sentence with aria-current, after checking there is one only. */
async function currentSentence(page) {
  return page.locator('#document .sentence').evaluateAll((els) => {
    const current = els.map((el, i) => (el.getAttribute('aria-current') === 'true' ? i : -1))
      .filter((i) => i >= 0);
    return current.length === 1 ? current[0] : current;
  });
}

async function expectCurrent(page, index) {
  await page.waitForFunction((i) => {
    const els = [...document.querySelectorAll('#document .sentence')];
    return els.filter((el) => el.getAttribute('aria-current') === 'true').length === 1
      && els[i]?.getAttribute('aria-current') === 'true'
      && document.getElementById('reader').dataset.active === els[i].dataset.id;
  }, index, { timeout: 5000 }).catch(() => {});
  assert.equal(await currentSentence(page), index, `sentence ${index} is the current one`);
}

/** The reader's upload status: {state, pending}. */
const uploadStatus = (page) => page.locator('#upload-status').evaluate((el) => ({
  state: el.dataset.state, pending: Number(el.dataset.pending ?? 0), text: el.textContent,
}));

test('the speaker joins, reads three sentences, keeps recording through ten seconds offline, and saves',
  { timeout: 240_000 }, async (t) => {
    const context = await newContext(env.browser);
    const page = await context.newPage();
    const watch = watchPage(page, env.baseUrl);
    speaker = { context, page, watch };
    // Every chunk the server acknowledged: "part/seq" of 2xx answers to its PUT.
    page.on('response', (res) => {
      const m = /\/api\/v1\/recital\/sessions\/([^/]+)\/chunks\/(\d+)\?part=(\d+)$/.exec(res.url());
      if (m && res.request().method() === 'PUT' && res.ok()) story.acked.add(`${m[1]}/${m[3]}/${m[2]}`);
    });
    await withArtifacts(t, env, page, async () => {
      await signInLocal(page, env, SPEAKER);
      await joinCampaign(page, { micCheck: true });

      // The document is listed on the campaign page, and opens for reading.
      const link = page.locator(`#documents a[href="/recital/c/${SLUG}/read/${documentId}"]`);
      await link.click();
      await waitForPath(page, `/recital/c/${SLUG}/read/${documentId}`);
      const reader = page.locator('#reader');
      await page.locator('#reader[data-active]').waitFor({ state: 'attached' });
      assert.equal(await reader.getAttribute('data-text-dir'), 'rtl');
      assert.equal(await page.locator('#document').getAttribute('dir'), 'rtl');
      const texts = (await page.locator('#document .sentence').allInnerTexts()).map(norm);
      assert.deepEqual(texts, SENTENCES, 'the document is split into its five sentences');
      assert.ok(await page.locator('#miccheck-reminder').isHidden(),
        'after a fine microphone check the reading page does not remind of it');
      await expectCurrent(page, 0);
      await assertAxe(page, 'the reading page');

      // Enter starts recording.
      await page.keyboard.press('Enter');
      await page.locator('#reader[data-state="recording"]').waitFor({ timeout: 20_000 });
      assert.ok(await page.locator('#rec-stop').isVisible(), 'Stop is shown while recording');
      assert.ok(await page.locator('#rec-start').isHidden(), 'Start is hidden while recording');
      await expectCurrent(page, 0);

      // Next by button, then by the arrow pointing along right-to-left text.
      await sleep(2500);
      await page.locator('#rec-next').click();
      await expectCurrent(page, 1);
      await sleep(2500);
      await page.keyboard.press('ArrowLeft');
      await expectCurrent(page, 2);
      await sleep(1500);

      // Ten seconds without a network; the recording goes on and chunks wait in IndexedDB.
      await context.setOffline(true);
      const offlineAt = Date.now();
      await page.waitForFunction(() => {
        const el = document.getElementById('upload-status');
        return ['offline', 'retrying'].includes(el.dataset.state) && Number(el.dataset.pending) > 0;
      }, null, { timeout: 15_000 }).catch(() => {});
      const down = await uploadStatus(page);
      assert.ok(['offline', 'retrying'].includes(down.state) && down.pending > 0,
        `offline with chunks waiting: ${JSON.stringify(down)}`);
      await sleep(Math.max(0, 10_000 - (Date.now() - offlineAt)));
      const late = await uploadStatus(page);
      assert.ok(['offline', 'retrying'].includes(late.state) && late.pending >= down.pending,
        `still offline after ten seconds, with more chunks waiting: ${JSON.stringify(late)}`);
      assert.equal(await reader.getAttribute('data-state'), 'recording', 'recording went on offline');
      t.diagnostic(`offline: ${JSON.stringify(down)} at first, ${JSON.stringify(late)} after ten seconds`);
      const waiting = await storedChunks(page, await page.evaluate(() => Object.keys(localStorage)
        .find((k) => k.startsWith('recital-session-'))?.slice('recital-session-'.length)));
      assert.ok(waiting.length >= late.pending,
        `IndexedDB holds the ${late.pending} waiting chunks (has ${waiting.length})`);

      await context.setOffline(false);
      await page.waitForFunction(() => {
        const el = document.getElementById('upload-status');
        return el.dataset.state === 'saved' && el.dataset.pending === '0';
      }, null, { timeout: 60_000, polling: 50 }).catch(() => {});
      const up = await uploadStatus(page);
      assert.deepEqual([up.state, up.pending], ['saved', 0], `back online, all saved: ${JSON.stringify(up)}`);
      assert.equal(await reader.getAttribute('data-state'), 'recording', 'still recording');
      await expectCurrent(page, 2);
      await sleep(2000);

      // Stop, and save everything read.
      await page.locator('#rec-stop').click();
      await page.locator('#stop-dialog[open]').waitFor();
      assert.ok(await page.locator('#stop-dialog #stop-save').isVisible());
      await page.locator('#stop-save').click();
      await page.locator('#saved-notice').waitFor({ state: 'visible', timeout: 60_000 });
      assert.ok(await page.locator('#stop-dialog').evaluate((d) => !d.open), 'the dialog closed');
      await page.locator('#reader[data-state="idle"]').waitFor();
      const href = await page.locator('#saved-link').getAttribute('href');
      const m = /^\/recital\/sessions\/([^/?#]+)$/.exec(href ?? '');
      assert.ok(m, `#saved-link points at the session's page: ${href}`);
      story.sessionId = decodeURIComponent(m[1]);

      // Nothing of the session is left waiting in the browser.
      assert.deepEqual(await storedChunks(page, story.sessionId), [],
        'IndexedDB holds no chunk of the saved session');
      assert.equal(await page.evaluate((id) => localStorage.getItem(`recital-session-${id}`), story.sessionId),
        null, 'the session\'s bookkeeping in localStorage is gone');
      assert.deepEqual(await uploadStatus(page).then((s) => [s.state, s.pending]), ['saved', 0]);

      const problems = watch.problems.filter((p) => !OFFLINE_NOISE.test(p));
      assert.deepEqual(problems, [], `the reading page reported problems:\n  ${problems.join('\n  ')}`);
      watch.problems.length = 0;
    });
  });

test('the session is processed into three back-to-back cues, with every chunk the page sent',
  { timeout: 180_000 }, async (t) => {
    assert.ok(story.sessionId, 'the recording test saved no session');
    const { page } = speaker;
    await withArtifacts(t, env, page, async () => {
      const api = env.url(`/api/v1/recital/sessions/${encodeURIComponent(story.sessionId)}`);
      const get = async () => {
        const res = await page.request.get(api);
        assert.equal(res.status(), 200, `GET ${api}: ${res.status()} ${await res.text()}`);
        return res.json();
      };
      let session = await get();
      assert.ok(['ended', 'processed'].includes(session.state), `the saved session is ${session.state}`);
      assert.equal(session.campaign, SLUG);
      assert.equal(session.document_id, documentId);

      // No chunk lost: what the server holds is what it acknowledged to the page, one
      // part (no pause) numbered 0, 1, 2 …
      const acked = [...story.acked].filter((k) => k.startsWith(`${story.sessionId}/`))
        .map((k) => k.split('/').slice(1).map(Number));
      assert.ok(acked.length >= 5, `a recording of well over ten seconds has several chunks: ${acked.length}`);
      assert.equal(session.chunks, acked.length, 'the session has every chunk the page had acknowledged');
      assert.deepEqual(session.parts.map((p) => [p.part, p.chunks]), [[0, acked.length]]);
      assert.deepEqual(acked.map(([, seq]) => seq).sort((a, b) => a - b), acked.map((_, i) => i));

      const deadline = Date.now() + 120_000;
      while (session.state !== 'processed') {
        assert.equal(session.state, 'ended', `the session became ${session.state} (error: ${session.error})`);
        assert.ok(Date.now() < deadline, `the session was not processed in time: ${JSON.stringify(session)}`);
        await sleep(500);
        session = await get();
      }
      assert.equal(session.error ?? null, null);
      assert.equal(session.chunks, acked.length, 'processing kept every chunk');

      const vttRes = await page.request.get(env.url(session.transcript_url));
      assert.equal(vttRes.status(), 200);
      assert.match(vttRes.headers()['content-type'] ?? '', /^text\/vtt/);
      const cues = parseVtt(await vttRes.text());
      assert.deepEqual(cues.map((c) => norm(c.text)), READ, 'three cues, the sentences read, in order');
      assert.equal(cues[0].startText, '00:00:00.000', 'the first cue starts at the beginning');
      for (let i = 1; i < cues.length; i += 1) {
        assert.equal(cues[i].start, cues[i - 1].end, `cue ${i + 1} starts where cue ${i} ended`);
      }
      for (const c of cues) {
        assert.ok(c.end - c.start >= 1000, `each cue holds a sentence's reading: ${JSON.stringify(c)}`);
      }
      // The third sentence was read through the ten seconds offline.
      assert.ok(cues[2].end - cues[2].start > 10_000,
        `the third cue spans the offline time: ${JSON.stringify(cues[2])}`);
      assert.ok(Math.abs(cues[2].end - session.duration_ms) <= 50,
        `the recording ends with the last cue (${cues[2].end} ms, ${session.duration_ms} ms)`);
      story.cues = cues;
      t.diagnostic(`${session.chunks} chunks, ${session.duration_ms} ms; cues ${
        cues.map((c) => `${c.start}-${c.end}`).join(', ')}; verdict ${JSON.stringify(session.verdict)}`);
    });
  });

test('the replay page plays the recording and follows its cues', { timeout: 120_000 }, async (t) => {
  assert.ok(story.cues, 'the processing test did not finish');
  const { page, watch } = speaker;
  await withArtifacts(t, env, page, async () => {
    await visit(page, env, `/recital/sessions/${encodeURIComponent(story.sessionId)}`);
    await page.locator(`#replay[data-session="${story.sessionId}"][data-state="processed"]`).waitFor();
    const cueButtons = page.locator('#cue-list .cue');
    assert.equal(await cueButtons.count(), 3);
    assert.deepEqual((await page.locator('#cue-list .cue .cue-text').allInnerTexts()).map(norm), READ);
    assert.deepEqual(
      await cueButtons.evaluateAll((els) => els.map((e) => [Number(e.dataset.start), Number(e.dataset.end)])),
      story.cues.map((c) => [c.start, c.end]), 'the cue list has the transcript\'s times');
    await assertAxe(page, 'the replay page');

    const audio = page.locator('#replay-audio');
    await audio.evaluate((a) => a.play());
    await page.waitForFunction(() => document.getElementById('replay-audio').currentTime > 0.5,
      null, { timeout: 30_000 });
    const pausedAt = await audio.evaluate((a) => { a.pause(); return a.currentTime * 1000; });
    const playing = story.cues.findIndex((c) => pausedAt >= c.start && pausedAt < c.end);
    assert.ok(playing >= 0, `${pausedAt} ms is inside a cue`);
    // The highlighted cue is the one playing, and the only one.
    await page.waitForFunction((i) => {
      const current = document.querySelectorAll('#cue-list .cue[aria-current="true"]');
      return current.length === 1 && current[0].dataset.index === String(i)
        && document.getElementById('replay').dataset.cue === String(i);
    }, playing, { timeout: 10_000 }).catch(() => {});
    assert.deepEqual(
      await page.locator('#cue-list .cue[aria-current="true"]')
        .evaluateAll((els) => els.map((e) => e.dataset.index)),
      [String(playing)], `at ${pausedAt} ms cue ${playing} is highlighted`);

    // A click on the third cue plays from its start.
    await audio.evaluate((a) => {
      window.seekedTo = [];
      a.addEventListener('seeked', () => window.seekedTo.push(a.currentTime));
    });
    const third = cueButtons.nth(2);
    await third.click();
    const [start, end] = [story.cues[2].start / 1000, story.cues[2].end / 1000];
    await page.waitForFunction(() => window.seekedTo.length > 0, null, { timeout: 15_000 });
    const seekedTo = await page.evaluate(() => window.seekedTo[0]);
    assert.ok(Math.abs(seekedTo - start) < 0.05,
      `the click seeks to the third cue's start, ${start} s: ${seekedTo} s`);
    await page.waitForFunction(([s, e]) => {
      const a = document.getElementById('replay-audio');
      return !a.paused && a.currentTime > s && a.currentTime < e;
    }, [start, end], { timeout: 15_000 });
    assert.equal(await third.getAttribute('aria-current'), 'true');
    assert.equal(await page.locator('#cue-list .cue[aria-current="true"]').count(), 1);
    assert.equal(await page.locator('#replay').getAttribute('data-cue'), await third.getAttribute('data-index'));
    await audio.evaluate((a) => a.pause());

    // The speaker is never asked to validate their own clips.
    await visit(page, env, `/recital/c/${SLUG}/validate`);
    await page.locator('#validate[data-state="empty"]').waitFor({ timeout: 15_000 });
    assert.ok(await page.locator('#val-empty').isVisible());
    watch.assertClean();
  });
});

/** Signs `person` in, joins, and votes yes on every clip offered; returns what was seen. */
async function validateAll(t, person, { axe = false } = {}) {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  const watch = watchPage(page, env.baseUrl);
  const seen = [];
  try {
    await withArtifacts(t, env, page, async () => {
      await signInLocal(page, env, person);
      await joinCampaign(page);
      await page.locator('a#validate').click();
      await waitForPath(page, `/recital/c/${SLUG}/validate`);
      const root = page.locator('#validate');
      let previous = null;
      for (let round = 0; ; round += 1) {
        assert.ok(round <= 6, `more clips offered than were recorded: ${JSON.stringify(seen)}`);
        await page.waitForFunction((prev) => {
          const v = document.getElementById('validate');
          const clip = document.getElementById('val-clip').dataset.clip;
          return v.dataset.state === 'empty' || (v.dataset.state === 'ready' && clip !== prev);
        }, previous, { timeout: 20_000 });
        if (await root.getAttribute('data-state') === 'empty') break;
        const clip = await page.locator('#val-clip').getAttribute('data-clip');
        const text = norm(await page.locator('#val-text').innerText());
        assert.ok(await page.locator('#val-yes').isDisabled(), 'Yes waits until the clip was heard');
        assert.ok(await page.locator('#val-no').isDisabled(), 'No waits until the clip was heard');
        if (axe && round === 0) await assertAxe(page, 'the validate page');
        // Listen to the end, four times as fast.
        await page.locator('#val-audio').evaluate((a) => {
          a.defaultPlaybackRate = 4;
          a.playbackRate = 4;
          return a.play();
        });
        await page.locator('#val-yes:enabled').waitFor({ timeout: 30_000 });
        assert.ok(await page.locator('#val-audio').evaluate((a) => a.ended), 'the clip played to its end');
        const [vote] = await Promise.all([
          page.waitForResponse((r) => r.url().endsWith(`/api/v1/recital/clips/${clip}/votes`)
            && r.request().method() === 'POST'),
          page.locator('#val-yes').click(),
        ]);
        assert.equal(vote.status(), 200, `the vote on ${clip}: ${await vote.text()}`);
        seen.push({ clip, text, vote: await vote.json() });
        previous = clip;
      }
      assert.ok(await page.locator('#val-empty').isVisible(), 'nothing more to validate is said');
      watch.assertClean();
    });
  } finally {
    await context.close();
  }
  return seen;
}

test('two other people listen to every clip and vote yes, which makes them valid',
  { timeout: 180_000 }, async (t) => {
    assert.ok(story.cues, 'the processing test did not finish');
    const first = await validateAll(t, VALIDATORS[0], { axe: true });
    assert.deepEqual(first.map((s) => s.text).sort(), [...READ].sort(),
      `the first validator heard the three sentences once each: ${JSON.stringify(first)}`);
    assert.equal(new Set(first.map((s) => s.clip)).size, 3);
    for (const s of first) {
      assert.ok(s.clip.startsWith(`${story.sessionId}-`), `${s.clip} is a clip of the session`);
      assert.deepEqual([s.vote.status, s.vote.up_votes, s.vote.down_votes], ['pending', 1, 0], s.clip);
    }

    const second = await validateAll(t, VALIDATORS[1]);
    assert.deepEqual(second.map((s) => s.clip).sort(), first.map((s) => s.clip).sort(),
      'the second validator heard the same three clips');
    for (const s of second) {
      assert.deepEqual([s.vote.status, s.vote.up_votes, s.vote.down_votes], ['valid', 2, 0], s.clip);
    }
    for (const s of first) story.clips.set(s.clip, s.text);
  });

test('an audiofolder export holds the three valid clips with their sentences', { timeout: 180_000 }, async () => {
  assert.equal(story.clips.size, 3, 'the validation test did not finish');
  const dir = join(work, 'export');
  const out = await tutti(env.tutti.dataDir, ['recital', 'export', '--campaign', SLUG,
    '--format', 'audiofolder', '-o', dir]);
  assert.match(out, /Wrote 3 clips/, out);
  assert.ok(existsSync(join(dir, 'README.md')), 'the export has a README.md (its datasheet)');
  const rows = [];
  for (const split of ['train', 'dev', 'test']) {
    const csv = join(dir, split, 'metadata.csv');
    if (!existsSync(csv)) continue;
    for (const row of parseCsv(readFileSync(csv, 'utf8'))) rows.push({ split, ...row });
  }
  assert.equal(rows.length, 3, `three clips in the metadata: ${JSON.stringify(rows)}`);
  assert.deepEqual(rows.map((r) => r.split), ['train', 'train', 'train'], 'one speaker: all in train');
  assert.deepEqual(rows.map((r) => norm(r.transcription)).sort(), [...READ].sort());
  assert.equal(new Set(rows.map((r) => r.speaker_id)).size, 1, 'one speaker id');
  assert.ok(!rows.some((r) => r.speaker_id.includes('@')), 'the speaker id is not an email');
  for (const r of rows) {
    const id = r.file_name.replace(/\.ogg$/, '');
    assert.equal(story.clips.get(id) ?? null, norm(r.transcription), `${r.file_name} is the clip voted on`);
    const audio = join(dir, r.split, r.file_name);
    assert.ok(existsSync(audio) && statSync(audio).size > 1000, `${audio} holds audio`);
    assert.equal(readFileSync(audio).subarray(0, 4).toString('latin1'), 'OggS', `${r.file_name} is Ogg`);
    assert.ok(Number(r.duration_s) >= 1, `${r.file_name} lasts a sentence: ${r.duration_s} s`);
  }
});
