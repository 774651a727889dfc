// The language switcher: Hebrew renders right to left, the choice is remembered, and
// English comes back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { axeViolations, chooseLanguage, htmlLangDir, languageSelect, visit } from '../lib/pages.js';

let env;
before(async () => { env = await startEnv({}); });
after(async () => { await stopEnv(env); });

test('switch to Hebrew (rtl) and back to English', { timeout: 90_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    await visit(page, env, '/');
    let html = await htmlLangDir(page);
    assert.match(html.lang ?? '', /^en\b/i, `the default language is English: ${JSON.stringify(html)}`);
    assert.equal(html.computedDir, 'ltr');

    // The switcher is a labelled control.
    const labelled = page.getByLabel('Language', { exact: true });
    assert.equal(await labelled.count(), 1, 'one control labelled "Language"');
    assert.equal(await labelled.evaluate((el) => el.getAttribute('name')), 'lang');
    const options = await languageSelect(page).locator('option').allInnerTexts();
    assert.ok(options.some((o) => o.trim() === 'English'), `options: ${options}`);
    assert.ok(options.some((o) => o.trim() === 'עברית'), `options: ${options}`);
    const action = await languageSelect(page).evaluate((el) => el.form && {
      method: el.form.method, action: new URL(el.form.action).pathname,
    });
    assert.deepEqual(action, { method: 'post', action: '/language' });

    await chooseLanguage(page, 'עברית', 'he');
    html = await htmlLangDir(page);
    assert.equal(html.lang, 'he');
    assert.equal(html.dir, 'rtl');
    assert.equal(html.computedDir, 'rtl');

    // Remembered by cookie on the next page, and on a fresh load of this one.
    await visit(page, env, '/login');
    html = await htmlLangDir(page);
    assert.deepEqual([html.lang, html.dir], ['he', 'rtl'], 'the choice is remembered on /login');
    assert.ok((await context.cookies(env.baseUrl)).length > 0, 'a cookie holds the choice');

    const v = await axeViolations(page);
    assert.deepEqual(v, [], `/login in Hebrew: serious/critical axe violations:\n${v.join('\n')}`);

    await chooseLanguage(page, 'English', 'en');
    html = await htmlLangDir(page);
    assert.match(html.lang, /^en\b/i);
    assert.notEqual(html.dir, 'rtl');
    assert.equal(html.computedDir, 'ltr');
    await visit(page, env, '/');
    html = await htmlLangDir(page);
    assert.match(html.lang, /^en\b/i, 'English is remembered too');
  });
  await context.close();
});
