// The /design page (every component of the page shell) at desktop and phone width, in
// English and Hebrew, light and dark: axe finds nothing serious, the phone never scrolls
// sideways, tables stack into labelled rows. Screenshots go to artifacts/design/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { axeViolations, signInLocal, visit } from '../lib/pages.js';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const DESKTOP = { viewport: { width: 1280, height: 900 } };
const SHOTS = join(ARTIFACTS, 'design');

let env;
before(async () => { env = await startEnv({ admin: true }); mkdirSync(SHOTS, { recursive: true }); });
after(async () => { await stopEnv(env); });

for (const [device, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  for (const lang of ['en', 'he']) {
    for (const scheme of ['light', 'dark']) {
      const name = `${device}-${lang}-${scheme}`;
      test(`/design: ${name}`, { timeout: 120_000 }, async (t) => {
        const context = await newContext(env.browser, { ...options, colorScheme: scheme });
        const page = await context.newPage();
        await withArtifacts(t, env, page, async () => {
          await signInLocal(page, env);
          await context.addCookies([{ name: 'tutti_lang', value: lang, url: env.baseUrl }]);
          await visit(page, env, '/design');
          const html = await page.evaluate(() => ({
            lang: document.documentElement.lang, dir: document.documentElement.dir,
          }));
          assert.equal(html.lang, lang);
          assert.equal(html.dir, lang === 'he' ? 'rtl' : 'ltr');

          // Every component is on the page.
          for (const sel of ['.card', 'button.secondary', 'button.danger', 'button.link',
            '.field-error', '[aria-invalid="true"]', '.empty', '.notice.success',
            '.notice.warning', '.notice.error', '.badge', 'table.stack-table']) {
            assert.ok(await page.locator(sel).count() > 0, `${name}: no ${sel}`);
          }
          // The inline error is tied to its field.
          const described = await page.locator('[aria-invalid="true"]').first().getAttribute('aria-describedby');
          assert.equal(await page.locator(`#${described}.field-error`).count(), 1);

          const v = await axeViolations(page);
          assert.deepEqual(v, [], `${name}: serious/critical axe violations:\n${v.join('\n')}`);

          if (device === 'phone') {
            const m = await page.evaluate(() => ({
              scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
            }));
            assert.ok(m.scrollWidth <= m.innerWidth,
              `${name}: horizontal scroll, scrollWidth ${m.scrollWidth} > innerWidth ${m.innerWidth}`);
            // A stacked row: cells one under another, each showing its column's label.
            const cells = await page.locator('table.stack-table tbody tr').first().locator('td').evaluateAll(
              (tds) => tds.map((td) => ({
                label: td.dataset.label,
                before: getComputedStyle(td, '::before').content,
                display: getComputedStyle(td).display,
                top: td.getBoundingClientRect().top,
              })),
            );
            assert.ok(cells.length >= 3);
            for (const c of cells) {
              assert.equal(c.before, JSON.stringify(c.label), `${name}: cell shows its label`);
              assert.notEqual(c.display, 'table-cell', `${name}: cell still a table cell`);
            }
            assert.ok(cells[1].top > cells[0].top, `${name}: cells are stacked`);
            assert.equal(await page.locator('table.stack-table thead').isVisible(), true); // clipped, not display:none
          }
          await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
          await page.locator('table.stack-table').screenshot({ path: join(SHOTS, `${name}-table.png`) });
        });
        await context.close();
      });
    }
  }
}

test('/design is for administrators only', { timeout: 60_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    // Signed out: sent to sign in first.
    await page.goto(env.url('/design'));
    assert.equal(new URL(page.url()).pathname, '/login');
  });
  await context.close();
});

for (const scheme of ['light', 'dark']) {
  test(`a missing page is a page with a plain heading and a way home (${scheme})`, { timeout: 60_000 }, async (t) => {
    const context = await newContext(env.browser, { ...PHONE, colorScheme: scheme });
    const page = await context.newPage();
    await withArtifacts(t, env, page, async () => {
      const res = await page.goto(env.url('/no/such/page'));
      assert.equal(res.status(), 404);
      assert.match(res.headers()['content-type'], /^text\/html/);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Page not found');
      assert.equal(await page.getByRole('link', { name: 'Back to the home page' }).count(), 1);
      const v = await axeViolations(page);
      assert.deepEqual(v, [], `404 page (${scheme}):\n${v.join('\n')}`);
      await page.screenshot({ path: join(SHOTS, `404-${scheme}.png`), fullPage: true });
    });
    await context.close();
  });
}
