// A page script uploads a file with the real tus-js-client (the npm package's browser
// bundle), signed in by its session cookie and sending the page's CSRF token, stopped
// half-way and resumed the way an app does after a dropped connection; the SHA-256 the
// server computed of the finished upload matches the browser's own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { signInLocal } from '../lib/pages.js';

const TUS_BUNDLE = fileURLToPath(
  new URL('../node_modules/tus-js-client/dist/tus.min.js', import.meta.url),
);
const SIZE = 12 * 1024 * 1024 + 321;

let env;
before(async () => { env = await startEnv({ admin: true }); });
after(async () => { await stopEnv(env); });

test('tus-js-client uploads from a signed-in page, pauses and resumes', { timeout: 120_000 }, async (t) => {
  // The bundle is loaded as a test harness would, past the page's Content-Security-Policy.
  const context = await newContext(env.browser, { bypassCSP: true });
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    await signInLocal(page, env);
    const csrf = await page.locator('input[name="csrf"]').first().inputValue();
    assert.ok(csrf, 'the signed-in page carries a CSRF token');
    await page.addScriptTag({ path: TUS_BUNDLE });

    const result = await page.evaluate(async ({ csrf, size }) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) {
        crypto.getRandomValues(bytes.subarray(i, Math.min(i + 65536, size)));
      }
      const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)))
        .map((b) => b.toString(16).padStart(2, '0')).join('');
      const file = new Blob([bytes], { type: 'audio/wav' });
      let paused = false;
      let resumedFrom = null;
      const url = await new Promise((resolve, reject) => {
        const upload = new window.tus.Upload(file, {
          endpoint: '/api/v1/uploads',
          headers: { 'X-CSRF-Token': csrf },
          metadata: { filename: 'take.wav', filetype: 'audio/wav', studio: 'rehearsal' },
          chunkSize: 3 * 1024 * 1024,
          retryDelays: [0, 250, 500, 1000, 2000],
          onProgress(sent) {
            if (!paused && sent >= size / 2) {
              paused = true;
              upload.abort().then(() => setTimeout(() => {
                resumedFrom = sent;
                upload.start();
              }, 100));
            }
          },
          onSuccess() { resolve(upload.url); },
          onError(err) { reject(new Error(String(err))); },
        });
        upload.start();
      });
      const status = await (await fetch(url)).json();
      const head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
      return {
        digest, url, status, resumedFrom,
        offset: head.headers.get('Upload-Offset'),
        cache: head.headers.get('Cache-Control'),
      };
    }, { csrf, size: SIZE });

    assert.ok(result.resumedFrom > 0, 'the upload was stopped half-way and resumed');
    assert.equal(result.status.status, 'complete');
    assert.equal(result.status.length, SIZE);
    assert.equal(result.status.metadata.filename, 'take.wav');
    assert.equal(result.status.studio, 'rehearsal');
    assert.equal(result.status.sha256, result.digest, 'the server stored exactly the bytes sent');
    assert.equal(result.offset, String(SIZE));
    assert.equal(result.cache, 'no-store');
  });
  await context.close();
});
