// The music studio end to end, as one story on one server. An administrator makes an
// account with the CLI and grants it the artist role; the artist signs in, makes an
// artist profile and a release in the studio, chooses two WAV files, which upload (tus),
// are processed into streams and become two ready tracks, and publishes the release.
// A listener without an account opens the public album page: two tracks in order, the
// player plays the first, a click on the waveform seeks to its middle, and when the
// first track ends the second plays by itself. A deep link (`#track=2&time=3s`) opens
// the album at the second track, three seconds in, as it opens the player other sites
// embed. axe-core checks the editor, the album page and the embedded player.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, newContext, startTutti, stopEnv, withArtifacts } from '../lib/env.js';
import { axeViolations, pathOf, signInLocal, visit, waitForPath, watchPage } from '../lib/pages.js';
import { createPerson, tutti } from '../lib/recital.js';

const execFileP = promisify(execFile);

const ARTIST = {
  email: 'artist@example.test',
  name: 'Ada Artist',
  password: 'a long enough password 4 tests',
};
const ARTIST_NAME = 'The Sine Waves';
const RELEASE_TITLE = 'Pure Tones';
// Six seconds each, at different pitches.
const FILES = [
  { name: '01 First Song.wav', title: 'First Song', hz: 440 },
  { name: '02 Second Song.wav', title: 'Second Song', hz: 660 },
];
const SECONDS = 6;

const norm = (s) => s.replace(/\s+/g, ' ').trim();

let env;
let work;
let artist; // { context, page, watch } of the artist
const story = { artistId: null, albumId: null, publicUrl: null };

/** A `seconds` long sine tone at `hz` as 44.1 kHz stereo 16-bit WAV (sox). */
async function toneWav(path, hz, seconds) {
  try {
    await execFileP('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', path,
      'synth', String(seconds), 'sine', String(hz), 'gain', '-6'], { timeout: 60_000 });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('sox is not installed (bash tests/setup.sh installs it)');
    throw new Error(`sox failed (exit ${err.code}):\n${err.stderr}`);
  }
  if (!existsSync(path)) throw new Error(`sox wrote no ${path}`);
  return path;
}

before(async () => {
  env = { tutti: null, browser: null };
  work = mkdtempSync(join(tmpdir(), 'tutti-music-e2e-'));
  for (const f of FILES) f.path = await toneWav(join(work, f.name), f.hz, SECONDS);
  env.tutti = await startTutti({ name: 'music' });
  env.baseUrl = env.tutti.baseUrl;
  env.url = (path) => new URL(path, env.tutti.baseUrl).href;
  const data = env.tutti.dataDir;
  await createPerson(data, ARTIST);
  const granted = await tutti(data, ['admin', 'grant-role', '--email', ARTIST.email, '--role', 'artist']);
  assert.match(granted, /artist/, granted);
  // The player starts the next track by itself, with no click in between.
  env.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: false,
    args: [...CHROMIUM_ARGS, '--autoplay-policy=no-user-gesture-required'],
    timeout: 60_000,
  });
});

after(async () => {
  await artist?.context.close().catch(() => {});
  await stopEnv(env);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Asserts the page's serious and critical axe violations are none. */
async function assertAxe(page, what) {
  const v = await axeViolations(page);
  assert.deepEqual(v, [], `${what}: serious/critical axe violations:\n${v.join('\n')}`);
}

test('the artist makes a profile and a release, uploads two tracks and publishes it',
  { timeout: 240_000 }, async (t) => {
    const context = await newContext(env.browser);
    const page = await context.newPage();
    const watch = watchPage(page, env.baseUrl);
    artist = { context, page, watch };
    await withArtifacts(t, env, page, async () => {
      await signInLocal(page, env, ARTIST);

      // The studio: a new artist profile.
      await visit(page, env, '/music/studio');
      const newArtist = page.locator('form#new-artist');
      await newArtist.locator('#artist-name').fill(ARTIST_NAME);
      await newArtist.locator('#artist-bio').fill('Tones for testing.');
      await newArtist.locator('button[type="submit"]').click();
      await page.waitForURL((u) => /^\/music\/studio\/artists\/[^/]+$/.test(u.pathname));
      story.artistId = decodeURIComponent(pathOf(page).split('/').pop());
      assert.equal(norm(await page.locator('h1').innerText()), ARTIST_NAME);

      // The artist's page: a new release.
      const newRelease = page.locator('form#new-release');
      await newRelease.locator('#release-title').fill(RELEASE_TITLE);
      await newRelease.locator('#release-kind').selectOption('album');
      await newRelease.locator('button[type="submit"]').click();
      await page.waitForURL((u) => /^\/music\/studio\/albums\/[^/]+$/.test(u.pathname));
      story.albumId = decodeURIComponent(pathOf(page).split('/').pop());
      const editorPath = pathOf(page);
      assert.equal(norm(await page.locator('h1').innerText()), RELEASE_TITLE);
      assert.equal(await page.locator('#studio-tracks li').count(), 0, 'a new release has no tracks');

      // Two files chosen at once: both upload, are processed, and become ready.
      await page.locator('#track-files').setInputFiles(FILES.map((f) => f.path));
      const rows = page.locator('#uploads li');
      await page.waitForFunction((n) => document.querySelectorAll('#uploads li').length === n,
        FILES.length, { timeout: 30_000 });
      const ready = await page.locator('#upload').getAttribute('data-msg-ready');
      await page.waitForFunction(({ n, ready }) => {
        const lis = [...document.querySelectorAll('#uploads li')];
        return lis.length === n && lis.every((li) => li.children[1]?.textContent === ready);
      }, { n: FILES.length, ready }, { timeout: 180_000, polling: 250 }).catch(() => {});
      const states = await rows.evaluateAll((lis) => lis.map((li) => ({
        name: li.children[0]?.textContent, state: li.children[1]?.textContent,
      })));
      assert.deepEqual(states, FILES.map((f) => ({ name: f.name, state: ready })),
        `both uploads are ready: ${JSON.stringify(states)}`);
      // The editor's list shows them without a reload…
      assert.deepEqual(
        await page.locator('#studio-tracks li').evaluateAll((lis) => lis.map((li) => li.dataset.status)),
        ['ready', 'ready']);

      // …and after one, in order, named after their files.
      await visit(page, env, editorPath);
      const tracks = page.locator('#studio-tracks li.track');
      assert.equal(await tracks.count(), 2);
      assert.deepEqual(await tracks.evaluateAll((lis) => lis.map((li) => li.dataset.status)),
        ['ready', 'ready'], 'both tracks are ready after a reload');
      assert.deepEqual((await page.locator('#studio-tracks li .title').allInnerTexts()).map(norm),
        FILES.map((f) => f.title));
      assert.deepEqual((await page.locator('#studio-tracks li .n').allInnerTexts()).map(norm), ['1', '2']);
      await assertAxe(page, 'the release editor');

      // Published.
      const form = page.locator('form#release-form');
      await form.locator('#release-visibility').selectOption('published');
      await form.locator('button[type="submit"]').click();
      await waitForPath(page, editorPath);
      assert.equal(await page.locator('#release-visibility').inputValue(), 'published');

      const href = await page.getByRole('link', { name: 'Public page', exact: true }).getAttribute('href');
      assert.match(href ?? '', /^\/music\/[a-z0-9-]+\/[a-z0-9-]+$/, `the public page link: ${href}`);
      story.publicUrl = href;
      watch.assertClean();
    });
  });

test('a listener plays the album: seeks on the waveform and goes on to the second track',
  { timeout: 120_000 }, async (t) => {
    assert.ok(story.publicUrl, 'the artist test did not publish the release');
    const context = await newContext(env.browser);
    const page = await context.newPage();
    const watch = watchPage(page, env.baseUrl);
    try {
      await withArtifacts(t, env, page, async () => {
        await visit(page, env, story.publicUrl);
        assert.equal(norm(await page.locator('h1').innerText()), RELEASE_TITLE);
        const items = page.locator('#tracks li');
        assert.equal(await items.count(), 2, 'the album lists two tracks');
        assert.deepEqual((await page.locator('#tracks li a').allInnerTexts()).map(norm),
          FILES.map((f) => f.title), 'in order');
        assert.deepEqual((await page.locator('#tracks li .n').allInnerTexts()).map(norm), ['1', '2']);
        assert.equal(await page.locator('#tracks li audio').count(), 2, 'each track has its audio');

        const player = page.locator('.player');
        await player.waitFor({ state: 'visible' });
        await page.waitForFunction(() => window.tuttiPlayer?.audio, null, { timeout: 10_000 });
        assert.equal(await page.evaluate(() => window.tuttiPlayer.index), 0);
        await assertAxe(page, 'the album page');

        // Play: the first track's audio runs.
        await player.locator('[data-action="toggle"]').click();
        await page.waitForFunction(() => {
          const a = window.tuttiPlayer.audio;
          return !a.paused && a.currentTime > 0.5;
        }, null, { timeout: 20_000 });
        const first = await page.evaluate(() => ({
          src: window.tuttiPlayer.audio.currentSrc, duration: window.tuttiPlayer.audio.duration,
        }));
        assert.ok(Math.abs(first.duration - SECONDS) < 0.5, `track 1 lasts ${SECONDS} s: ${first.duration}`);
        assert.match(first.src, new RegExp(`/api/v1/music/tracks/${
          await items.nth(0).getAttribute('data-id')}/stream`));
        assert.equal(await items.nth(0).getAttribute('aria-current'), 'true');

        // A click in the middle of the waveform seeks to the middle of the track.
        await page.evaluate(() => {
          window.seekedTo = [];
          window.tuttiPlayer.audio.addEventListener('seeked',
            () => window.seekedTo.push(window.tuttiPlayer.audio.currentTime));
        });
        const canvas = player.locator('canvas.waveform');
        const box = await canvas.boundingBox();
        assert.ok(box && box.width > 100, `the waveform is drawn wide: ${JSON.stringify(box)}`);
        await canvas.click({ position: { x: box.width / 2, y: box.height / 2 } });
        await page.waitForFunction(() => window.seekedTo.length > 0, null, { timeout: 10_000 });
        const seekedTo = await page.evaluate(() => window.seekedTo[0]);
        assert.ok(Math.abs(seekedTo - first.duration / 2) < 0.3,
          `the click seeks to about ${first.duration / 2} s: ${seekedTo} s`);
        await page.waitForFunction((from) => {
          const a = window.tuttiPlayer.audio;
          return !a.paused && a.currentTime > from + 0.2;
        }, seekedTo, { timeout: 10_000 });
        assert.ok(Number(await canvas.getAttribute('aria-valuenow')) >= 45,
          'the slider tells how far the track played');

        // Near the end of track 1 the player goes on to track 2 by itself.
        await page.evaluate(() => {
          const a = window.tuttiPlayer.audio;
          a.currentTime = a.duration - 0.5;
        });
        await page.waitForFunction(() => window.tuttiPlayer.index === 1, null, { timeout: 15_000 });
        await page.waitForFunction(() => {
          const a = window.tuttiPlayer.audio;
          return !a.paused && a.currentTime > 0.3;
        }, null, { timeout: 15_000 });
        const second = await page.evaluate(() => window.tuttiPlayer.audio.currentSrc);
        assert.match(second, new RegExp(`/api/v1/music/tracks/${
          await items.nth(1).getAttribute('data-id')}/stream`));
        assert.equal(await items.nth(1).getAttribute('aria-current'), 'true');
        assert.equal(await items.nth(0).getAttribute('aria-current'), 'false');
        assert.equal(norm(await player.locator('.now').innerText()), FILES[1].title);
        await page.evaluate(() => window.tuttiPlayer.audio.pause());
        watch.assertClean();
      });
    } finally {
      await context.close();
    }
  });

test('a deep link starts the album, and the embedded player, at a track and a time',
  { timeout: 120_000 }, async (t) => {
    assert.ok(story.publicUrl, 'the artist test did not publish the release');
    const context = await newContext(env.browser);
    const page = await context.newPage();
    const watch = watchPage(page, env.baseUrl);
    const startsAt = async (track, seconds) => {
      await page.waitForFunction(() => window.tuttiPlayer?.audio, null, { timeout: 10_000 });
      assert.equal(await page.evaluate(() => window.tuttiPlayer.index), track - 1, `track ${track} is selected`);
      await page.waitForFunction((s) => window.tuttiPlayer.audio.currentTime >= s - 0.1, seconds,
        { timeout: 15_000 });
      const at = await page.evaluate(() => window.tuttiPlayer.audio.currentTime);
      assert.ok(at < seconds + 2, `starts near ${seconds} s: ${at} s`);
      assert.equal(await page.locator('#tracks li').nth(track - 1).getAttribute('aria-current'), 'true');
      await page.evaluate(() => window.tuttiPlayer.audio.pause());
    };
    try {
      await withArtifacts(t, env, page, async () => {
        const opened = await page.goto(env.url(`${story.publicUrl}#track=2&time=3s`));
        assert.ok(opened?.ok(), `the album page answered ${opened?.status()}`);
        await startsAt(2, 3);

        // The share panel's code embeds the player, which starts where its link says too.
        const code = await page.locator('#embed-code').inputValue();
        const src = new URL(code.match(/src="([^"]+)"/)[1]);
        assert.equal(src.pathname, `/music/embed/albums/${story.albumId}`);
        const embedded = await page.goto(`${src.href}#track=2&time=2s`);
        assert.ok(embedded?.ok(), `the embedded player answered ${embedded?.status()}`);
        await startsAt(2, 2);
        assert.equal(await page.locator('.embed-player .player').isVisible(), true);
        await assertAxe(page, 'the embedded player');
        watch.assertClean();
      });
    } finally {
      await context.close();
    }
  });
