// The Subsonic API as a real client library sees it (npm `subsonic-api`), on one server.
// An artist's album (two tones, a cover, synced lyrics beside track 1) is imported and
// published with `tutti music import`. A listener signs in, makes an app password on
// /music/apps and an API key of scope "Music apps" on the profile page; the library then
// browses, searches, streams, scrobbles, stars and keeps playlists with the key, and
// signs in with token + salt (GET and form POST) with the app password. Raw requests
// check the XML envelope, error codes, the CSRF/Origin exemption and that no secret
// reaches the server log. Revoking the key on the profile page locks the app out. An
// administrator takes the release down on /music/admin (apps and pages lose it at once,
// the artist's studio shows why) and puts it back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { SubsonicAPI } from 'subsonic-api';
import { ADMIN, CHROMIUM, CHROMIUM_ARGS, createUser, newContext, startTutti, stopEnv, withArtifacts } from '../lib/env.js';
import { axeViolations, signInLocal, visit } from '../lib/pages.js';
import { createPerson, tutti } from '../lib/recital.js';

const execFileP = promisify(execFile);

const ARTIST = { email: 'artist@example.test', name: 'Ada Artist', password: 'a long enough password 4 tests' };
const LISTENER = { email: 'listener@example.test', name: 'Lee Listener', password: 'another long password 4 tests' };

let env;
let work;
let listener; // { context, page }
const s = { apiKey: null, cliKey: null, appPassword: null, albumId: null, songs: [] };

async function run(cmd, args) {
  try {
    await execFileP(cmd, args, { timeout: 60_000 });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed (bash tests/setup.sh installs it)`);
    throw new Error(`${cmd} failed (exit ${err.code}):\n${err.stderr}`);
  }
}

const api = (auth, extra = {}) => new SubsonicAPI({ url: env.baseUrl, auth, ...extra });
const rest = (path, init) => fetch(new URL(`/rest/${path}`, env.baseUrl), init);

before(async () => {
  env = { tutti: null, browser: null };
  work = mkdtempSync(join(tmpdir(), 'tutti-subsonic-e2e-'));
  const album = join(work, 'Two Tones');
  await run('mkdir', ['-p', album]);
  await run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', join(album, '01 Low Tone.wav'),
    'synth', '5', 'sine', '330', 'gain', '-6']);
  await run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', join(album, '02 High Tone.wav'),
    'synth', '4', 'sine', '880', 'gain', '-6']);
  await run('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=teal:s=320x320',
    '-frames:v', '1', join(album, 'cover.jpg')]);
  writeFileSync(join(album, '01 Low Tone.lrc'), '[00:00.50] low and slow\n[00:02.00] still low\n');
  env.tutti = await startTutti({ name: 'subsonic' });
  env.baseUrl = env.tutti.baseUrl;
  env.url = (path) => new URL(path, env.tutti.baseUrl).href;
  const data = env.tutti.dataDir;
  await createPerson(data, ARTIST);
  await createPerson(data, LISTENER);
  await createUser(data, ADMIN);
  await tutti(data, ['music', 'import', album, '--artist', 'tone-makers', '--owner', ARTIST.email,
    '--publish'], { timeout: 300_000 });
  const printed = await tutti(data, ['music', 'api-key', '--email', LISTENER.email, '--name', 'CLI key']);
  s.cliKey = printed.trim().split('\n').pop().trim();
  env.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
});

after(async () => {
  await listener?.context.close().catch(() => {});
  await stopEnv(env);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the listener makes an app password on /music/apps and a Subsonic key on the profile page', async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  listener = { context, page };
  page.on('dialog', (d) => d.accept());
  await withArtifacts(t, env, page, async () => {
    await signInLocal(page, env, LISTENER);
    await visit(page, env, '/music');
    await page.locator('#apps-link').click();
    await page.waitForURL(/\/music\/apps$/);
    assert.equal(await page.locator('#app-username').innerText(), LISTENER.email);
    assert.deepEqual(await axeViolations(page), []);
    await page.getByRole('button', { name: 'Make an app password' }).click();
    s.appPassword = (await page.locator('#new-app-password').innerText()).trim();
    assert.match(s.appPassword, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    await visit(page, env, '/music/apps');
    assert.match(await page.locator('#password-state').innerText(), /You made an app password/);

    await visit(page, env, '/profile');
    await page.locator('#token-name').fill('My phone');
    await page.locator('#token-scope').selectOption('subsonic');
    await page.getByRole('button', { name: 'Create token' }).click();
    s.apiKey = (await page.locator('#new-token').innerText()).trim();
    assert.ok(s.apiKey.length > 20);
    assert.match(await page.locator('#token-list').innerText(), /My phone\s+Music apps/);
  });
});

test('`tutti music api-key` prints a key that signs an app in, listed on the profile page', async () => {
  assert.equal((await api({ apiKey: s.cliKey }).ping()).status, 'ok');
  await visit(listener.page, env, '/profile');
  assert.match(await listener.page.locator('#token-list').innerText(), /CLI key\s+Music apps/);
});

test('a Subsonic key is no bearer token for the REST API', async () => {
  const res = await fetch(env.url('/api/v1/music/artists'), { headers: { Authorization: `Bearer ${s.apiKey}` } });
  assert.equal(res.status, 403);
});

test('the client library browses the library with the API key', async () => {
  const c = api({ apiKey: s.apiKey });
  const ping = await c.ping();
  assert.equal(ping.status, 'ok');
  assert.equal(ping.openSubsonic, true);
  assert.equal(ping.type, 'tutti');
  assert.ok(ping.serverVersion);
  const ext = await c.getOpenSubsonicExtensions();
  const names = ext.openSubsonicExtensions.map((e) => e.name);
  for (const n of ['apiKeyAuthentication', 'formPost', 'songLyrics']) assert.ok(names.includes(n), n);
  assert.equal((await c.getLicense()).license.valid, true);
  assert.equal((await c.getMusicFolders()).musicFolders.musicFolder.length, 1);

  const artists = await c.getArtists();
  const index = artists.artists.index.find((i) => i.name === 'T');
  const artist = index.artist.find((a) => a.name === 'tone-makers' || a.name === 'Tone Makers' || a.albumCount === 1);
  assert.ok(artist, JSON.stringify(artists));
  assert.equal(artist.albumCount, 1);
  const indexes = await c.getIndexes();
  assert.ok(indexes.indexes.index.length >= 1);

  const full = await c.getArtist({ id: artist.id });
  assert.equal(full.artist.album.length, 1);
  s.albumId = full.artist.album[0].id;

  const { album } = await c.getAlbum({ id: s.albumId });
  assert.equal(album.name, 'Two Tones');
  assert.equal(album.songCount, 2);
  assert.ok(album.coverArt, 'the album has cover art');
  assert.deepEqual(album.song.map((x) => x.title), ['Low Tone', 'High Tone']);
  assert.deepEqual(album.song.map((x) => x.track), [1, 2]);
  assert.equal(album.song[0].duration, 5);
  assert.equal(typeof album.song[0].replayGain.trackGain, 'number');
  assert.equal(typeof album.song[0].replayGain.trackPeak, 'number');
  s.songs = album.song;

  const song = await c.getSong({ id: s.songs[1].id });
  assert.equal(song.song.title, 'High Tone');
  assert.equal(song.song.albumId, s.albumId);

  const newest = await c.getAlbumList2({ type: 'newest', size: 10 });
  assert.deepEqual(newest.albumList2.album.map((a) => a.id), [s.albumId]);
  const byName = await c.getAlbumList2({ type: 'alphabeticalByName' });
  assert.equal(byName.albumList2.album.length, 1);

  const found = await c.search3({ query: 'high' });
  assert.deepEqual(found.searchResult3.song.map((x) => x.title), ['High Tone']);
  const everything = await c.search3({ query: '' });
  assert.equal(everything.searchResult3.song.length, 2);
  assert.equal(everything.searchResult3.album.length, 1);

  const lyrics = await c.getLyricsBySongId({ id: s.songs[0].id });
  const structured = lyrics.lyricsList.structuredLyrics[0];
  assert.equal(structured.synced, true);
  assert.deepEqual(structured.line.map((l) => [l.start, l.value]), [[500, 'low and slow'], [2000, 'still low']]);
});

test('streams, ranges, covers and downloads', async () => {
  const c = api({ apiKey: s.apiKey });
  const mp3 = await c.stream({ id: s.songs[0].id, format: 'mp3' });
  assert.equal(mp3.status, 200);
  assert.equal(mp3.headers.get('content-type'), 'audio/mpeg');
  const bytes = Buffer.from(await mp3.arrayBuffer());
  assert.ok(bytes.length > 10_000);
  const opus = await c.stream({ id: s.songs[0].id, format: 'opus' });
  assert.match(opus.headers.get('content-type'), /^audio\/ogg/);
  await opus.arrayBuffer();
  // A low maxBitRate picks the smaller Opus copy.
  const low = await c.stream({ id: s.songs[0].id, maxBitRate: 64 });
  assert.match(low.headers.get('content-type'), /^audio\/ogg/);
  await low.arrayBuffer();
  const ranged = await rest(`stream.view?id=${s.songs[0].id}&format=mp3&apiKey=${s.apiKey}`,
    { headers: { Range: 'bytes=100-199' } });
  assert.equal(ranged.status, 206);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(100, 200));

  const cover = await c.getCoverArt({ id: s.albumId, size: 96 });
  assert.equal(cover.headers.get('content-type'), 'image/jpeg');
  assert.ok((await cover.arrayBuffer()).byteLength > 100);

  // The artist offers no downloads of this release.
  const dl = await (await c.download({ id: s.songs[0].id })).json();
  assert.equal(dl['subsonic-response'].status, 'failed');
  assert.equal(dl['subsonic-response'].error.code, 50);
});

test('scrobbles, stars and playlists are the listener’s own', async () => {
  const c = api({ apiKey: s.apiKey });
  assert.equal((await c.scrobble({ id: s.songs[1].id, submission: true })).status, 'ok');
  assert.equal((await c.scrobble({ id: s.songs[1].id, submission: false })).status, 'ok');
  assert.equal((await c.getSong({ id: s.songs[1].id })).song.playCount, 1);

  assert.equal((await c.star({ id: s.songs[0].id, albumId: s.albumId })).status, 'ok');
  let starred = (await c.getStarred2()).starred2;
  assert.deepEqual(starred.song.map((x) => x.id), [s.songs[0].id]);
  assert.deepEqual(starred.album.map((x) => x.id), [s.albumId]);
  assert.ok(starred.song[0].starred instanceof Date);
  const starredList = await c.getAlbumList2({ type: 'starred' });
  assert.deepEqual(starredList.albumList2.album.map((a) => a.id), [s.albumId]);
  await c.unstar({ id: s.songs[0].id });
  starred = (await c.getStarred2()).starred2;
  assert.equal(starred.song.length, 0);

  const made = await c.createPlaylist({ name: 'Road trip', songId: [s.songs[1].id, s.songs[0].id] });
  assert.equal(made.status, 'ok', JSON.stringify(made));
  const id = made.playlist.id;
  assert.deepEqual(made.playlist.entry.map((x) => x.title), ['High Tone', 'Low Tone']);
  await c.updatePlaylist({ playlistId: id, name: 'Road trip 2', songIndexToRemove: 0, songIdToAdd: s.songs[1].id });
  const got = await c.getPlaylist({ id });
  assert.equal(got.playlist.name, 'Road trip 2');
  assert.deepEqual(got.playlist.entry.map((x) => x.title), ['Low Tone', 'High Tone']);
  assert.equal(got.playlist.songCount, 2);
  assert.deepEqual((await c.getPlaylists()).playlists.playlist.map((p) => p.id), [id]);
  const missing = await c.createPlaylist({ name: 'Bad', songId: ['no-such-song'] });
  assert.equal(missing.status, 'failed');
  assert.equal(missing.error.code, 70);
  assert.equal((await c.deletePlaylist({ id })).status, 'ok');
  assert.equal((await c.getPlaylists()).playlists.playlist.length, 0);
});

test('token + salt with the app password, by GET and by form POST', async () => {
  for (const post of [false, true]) {
    const c = api({ username: LISTENER.email, password: s.appPassword }, { post });
    assert.equal((await c.ping()).status, 'ok');
    assert.equal((await c.getAlbum({ id: s.albumId })).album.songCount, 2);
  }
  const wrong = await api({ username: LISTENER.email, password: LISTENER.password }).ping();
  assert.equal(wrong.status, 'failed');
  assert.equal(wrong.error.code, 40);
  const legacy = await (await rest(`ping?u=${encodeURIComponent(LISTENER.email)}&p=enc:${
    Buffer.from(s.appPassword).toString('hex')}&f=json`)).json();
  assert.equal(legacy['subsonic-response'].status, 'ok');
});

test('XML by default, errors as envelopes, no CSRF or Origin rule', async () => {
  const xml = await rest(`ping.view?apiKey=${s.apiKey}`);
  assert.match(xml.headers.get('content-type'), /^text\/xml/);
  const body = await xml.text();
  assert.match(body, /<subsonic-response xmlns="http:\/\/subsonic.org\/restapi" status="ok" version="1\.16\.1" type="tutti" serverVersion="[^"]+" openSubsonic="true"\/>/);
  const album = await (await rest(`getAlbum?id=${s.albumId}&apiKey=${s.apiKey}`)).text();
  assert.match(album, /<album id="[^"]+" name="Two Tones"[^>]*>.*<song id=/);
  assert.match(album, /contentType="audio\/wav" suffix="wav"/);
  assert.match(album, /<replayGain trackGain="/);

  const bad = await (await rest('ping.view?apiKey=nope&f=json')).json();
  assert.equal(bad['subsonic-response'].error.code, 44);
  const both = await (await rest(`ping.view?apiKey=${s.apiKey}&u=x&f=json`)).json();
  assert.equal(both['subsonic-response'].error.code, 43);
  const none = await (await rest('ping.view?f=json')).json();
  assert.equal(none['subsonic-response'].error.code, 10);
  const lost = await (await rest(`getAlbum.view?id=nope&apiKey=${s.apiKey}&f=json`)).json();
  assert.equal(lost['subsonic-response'].error.code, 70);

  // A web player on another site posts a form: no CSRF token, another Origin.
  const cross = await rest('ping.view', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'https://player.example' },
    body: `apiKey=${encodeURIComponent(s.apiKey)}&f=json`,
  });
  assert.equal((await cross.json())['subsonic-response'].status, 'ok');

  const log = env.tutti.readLog();
  assert.match(log, /\/rest\/ping/);
  for (const secret of [s.apiKey, s.appPassword]) assert.ok(!log.includes(secret), 'a secret reached the log');
  assert.ok(!/[?&](t|s|p|apiKey)=/.test(log), 'query parameters reached the log');
});

test('revoking the key on the profile page locks the app out', async (t) => {
  const { page } = listener;
  await withArtifacts(t, env, page, async () => {
    await visit(page, env, '/profile');
    await page.getByRole('button', { name: 'Revoke My phone' }).click();
    await page.waitForLoadState('load');
    const res = await api({ apiKey: s.apiKey }).ping();
    assert.equal(res.status, 'failed');
    assert.equal(res.error.code, 44);
  });
});

test('an administrator takes a release down and puts it back', async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  try {
    await withArtifacts(t, env, page, async () => {
      const c = api({ apiKey: s.cliKey });
      const publicUrl = (await (await rest(`getAlbum?id=${s.albumId}&apiKey=${s.cliKey}&f=json`)).json());
      assert.equal(publicUrl['subsonic-response'].status, 'ok');
      assert.equal((await fetch(env.url('/music/tone-makers/two-tones'))).status, 200);

      await signInLocal(page, env, ADMIN);
      await visit(page, env, '/admin/users');
      await page.locator('main a[href="/music/admin"]').first().click();
      await page.waitForURL(/\/music\/admin$/);
      assert.deepEqual(await axeViolations(page), []);
      const release = page.locator(`#release-${s.albumId}`);
      await release.locator(`#reason-${s.albumId}`).fill('Reported as someone else’s recording');
      await release.getByRole('button', { name: 'Take down Two Tones' }).click();
      await page.waitForURL(/\/music\/admin$/);
      assert.match(await page.locator(`#release-${s.albumId}`).innerText(), /someone else’s recording/);

      const gone = await c.getAlbum({ id: s.albumId });
      assert.equal(gone.status, 'failed');
      assert.equal(gone.error.code, 70);
      assert.equal((await c.search3({ query: '' })).searchResult3.song.length, 0);
      assert.equal((await fetch(env.url('/music/tone-makers/two-tones'))).status, 404);
      // The artist's studio says why.
      const artistPage = await context.browser().newContext().then((x) => x.newPage());
      await signInLocal(artistPage, env, ARTIST);
      await visit(artistPage, env, `/music/studio/albums/${s.albumId}`);
      assert.match(await artistPage.locator('main').innerText(), /someone else’s recording/);
      await artistPage.context().close();

      // One track only, then the release back.
      await page.locator(`#release-${s.albumId}`).getByRole('button', { name: 'Put back Two Tones' }).click();
      await page.waitForURL(/\/music\/admin$/);
      const row = page.locator(`#track-${s.songs[1].id}`);
      await page.locator(`#release-${s.albumId} summary`).click();
      await row.locator(`#reason-${s.songs[1].id}`).fill('Sample not cleared');
      await row.getByRole('button', { name: 'Take down High Tone' }).click();
      await page.waitForURL(/\/music\/admin$/);
      const back = await c.getAlbum({ id: s.albumId });
      assert.equal(back.status, 'ok');
      assert.deepEqual(back.album.song.map((x) => x.title), ['Low Tone']);
      assert.equal((await fetch(env.url('/music/tone-makers/two-tones'))).status, 200);
    });
  } finally {
    await context.close();
  }
});
