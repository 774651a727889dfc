// axe-core on every page (the listed ones and those they link to), signed in as admin, in
// the light and the dark colour scheme.
// Fails on violations of impact "serious" or "critical".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { axeViolations, pageLinks, signInLocal, visit } from '../lib/pages.js';

const PAGES = ['/', '/profile', '/admin/users', '/admin/jobs', '/admin/audit'];
const SCHEMES = ['light', 'dark'];
// Links not followed: signing out, sign-in flows, machine endpoints, assets.
const SKIP = /^\/(logout|login|auth|api|rest|assets|metrics|healthz|readyz)(\/|$)/;
const MAX_PAGES = 40;

let env;
let studioPages = [];
before(async () => {
  env = await startEnv({ admin: true });
  // The studios the home page links to are pages too.
  const context = await newContext(env.browser);
  const page = await context.newPage();
  await page.goto(env.url('/'));
  studioPages = (await pageLinks(page, env))
    .filter((p) => /^\/(recital|choir|meetings|music)(\/|$)/.test(p));
  await context.close();
});
after(async () => { await stopEnv(env); });

for (const scheme of SCHEMES) {
  test(`axe: /login signed out (${scheme})`, { timeout: 60_000 }, async (t) => {
    const context = await newContext(env.browser, { colorScheme: scheme });
    const page = await context.newPage();
    await withArtifacts(t, env, page, async () => {
      await visit(page, env, '/login');
      const v = await axeViolations(page);
      assert.deepEqual(v, [], `/login (${scheme}): serious/critical axe violations:\n${v.join('\n')}`);
    });
    await context.close();
  });

  test(`axe: pages signed in as admin (${scheme})`, { timeout: 300_000 }, async (t) => {
    const context = await newContext(env.browser, { colorScheme: scheme });
    const page = await context.newPage();
    await signInLocal(page, env);
    // The listed pages, then every page they link to (the admin tabs, ready studios…).
    const queue = [...PAGES, ...studioPages];
    const seen = new Set(queue);
    while (queue.length) {
      const path = queue.shift();
      await t.test(path, async (st) => {
        await withArtifacts(st, env, page, async () => {
          await visit(page, env, path);
          for (const link of await pageLinks(page, env)) {
            if (!seen.has(link) && !SKIP.test(link) && seen.size < MAX_PAGES) {
              seen.add(link);
              queue.push(link);
            }
          }
          const v = await axeViolations(page);
          assert.deepEqual(v, [], `${path} (${scheme}): serious/critical axe violations:\n${v.join('\n')}`);
        });
      });
    }
    await context.close();
  });
}

test('the home page presents the studios this server runs', { timeout: 60_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    await page.goto(env.url('/'));
    // Each registered studio is a card whose heading links to it (those pages are checked
    // with axe above); a server running none says what there is instead.
    const cards = page.locator('ul.cards > li.card');
    const count = await cards.count();
    for (let i = 0; i < count; i++) {
      assert.equal(await cards.nth(i).getByRole('heading').getByRole('link').count(), 1,
        `studio card ${i} links to its studio`);
    }
    if (count === 0) {
      assert.match(await page.locator('main').innerText(), /No studio is enabled/,
        'the home page explains that no studio runs yet');
    }
  });
  await context.close();
});
