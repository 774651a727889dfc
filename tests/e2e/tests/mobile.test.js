// A phone: the pages fit the screen (no horizontal scrolling), in English and in Hebrew.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { chooseLanguage, visit } from '../lib/pages.js';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 };

let env;
before(async () => { env = await startEnv({}); });
after(async () => { await stopEnv(env); });

async function assertFits(page, what) {
  const m = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
    widest: [...document.querySelectorAll('body *')]
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.right > window.innerWidth + 1 || r.left < -1)
      .slice(0, 5)
      .map(({ el, r }) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${
        el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''
      } [${Math.round(r.left)}..${Math.round(r.right)}]`),
  }));
  // Without <meta name="viewport" content="width=device-width…"> a phone lays the page out
  // 980 px wide and shrinks it: that is not fitting the screen either.
  assert.equal(m.innerWidth, 390, `${what}: layout viewport is ${m.innerWidth}px, not the phone's 390px (meta viewport?)`);
  assert.ok(m.scrollWidth <= m.innerWidth,
    `${what}: horizontal scroll, scrollWidth ${m.scrollWidth} > innerWidth ${m.innerWidth}; sticking out: ${m.widest.join(', ')}`);
}

for (const path of ['/', '/login']) {
  test(`phone 390x844: ${path} has no horizontal scroll`, { timeout: 60_000 }, async (t) => {
    const context = await newContext(env.browser, PHONE);
    const page = await context.newPage();
    await withArtifacts(t, env, page, async () => {
      await visit(page, env, path);
      await assertFits(page, path);
    });
    await context.close();
  });
}

test('phone 390x844: / in Hebrew has no horizontal scroll', { timeout: 60_000 }, async (t) => {
  const context = await newContext(env.browser, PHONE);
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    await visit(page, env, '/');
    await chooseLanguage(page, 'עברית', 'he');
    await visit(page, env, '/');
    await assertFits(page, '/ (Hebrew)');
  });
  await context.close();
});
