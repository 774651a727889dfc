// Page-level helpers shared by the browser tests: signing in, the language switcher,
// collecting page errors, axe-core.
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import { ADMIN } from './env.js';

export const pathOf = (page) => new URL(page.url()).pathname;

/** Wait until the page is at `path` (on any origin given by `origin`, default: current). */
export async function waitForPath(page, path, { origin, timeout = 15_000 } = {}) {
  await page.waitForURL((u) => u.pathname === path && (!origin || u.origin === origin), { timeout });
}

/** Sign in through the local /login form. Lands on /profile. */
export async function signInLocal(page, env, { email = ADMIN.email, password = ADMIN.password } = {}) {
  await page.goto(env.url('/login'));
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await waitForPath(page, '/profile', { origin: env.baseUrl });
}

/** The "Sign out" button (a form POST to /logout). */
export async function signOut(page, env) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await waitForPath(page, '/', { origin: env.baseUrl });
}

/**
 * Record uncaught page errors, console errors and failed same-origin requests
 * (HTTP >= 400) of a page, to be checked with assertClean().
 */
export function watchPage(page, baseUrl) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`uncaught error on ${page.url()}: ${err.message}`));
  const ours = () => page.url().startsWith(baseUrl);
  page.on('console', (msg) => {
    // Only Tutti's pages (not the identity provider's); a missing favicon is not a failure.
    if (msg.type() !== 'error' || !ours() || /\/favicon\.ico\b/.test(msg.location()?.url ?? '')) return;
    problems.push(`console error on ${page.url()}: ${msg.text()}${
      msg.location()?.url ? ` (${msg.location().url})` : ''}`);
  });
  page.on('response', (res) => {
    if (res.url().startsWith(baseUrl) && res.status() >= 400 && res.request().resourceType() !== 'document'
      && !res.url().endsWith('/favicon.ico')) {
      problems.push(`${res.status()} for ${res.request().resourceType()} ${res.url()} (on ${page.url()})`);
    }
  });
  return {
    problems,
    assertClean() {
      assert.deepEqual(problems, [], `the page reported problems:\n  ${problems.join('\n  ')}`);
    },
  };
}

/** Go to `path` and assert a 2xx answer on that very path (no redirect elsewhere). */
export async function visit(page, env, path) {
  const res = await page.goto(env.url(path));
  assert.ok(res, `no response for ${path}`);
  assert.equal(pathOf(page), path, `GET ${path} ended up at ${page.url()}`);
  assert.ok(res.ok(), `GET ${path} answered ${res.status()}`);
  return res;
}

/** Same-origin page links of the current page (paths, no query/fragment), in order. */
export async function pageLinks(page, env) {
  // Links to files (a download, or a type other than a page: calendar feeds) are no pages.
  const hrefs = await page.locator('a[href]:not([download])').evaluateAll((as) => as
    .filter((a) => !a.type || a.type === 'text/html')
    .map((a) => a.href));
  const seen = new Set();
  for (const href of hrefs) {
    const u = new URL(href);
    if (u.origin !== new URL(env.baseUrl).origin) continue;
    if (/\.(css|js|json|png|svg|ico|webmanifest|xml|txt|ics)$/.test(u.pathname)) continue;
    seen.add(u.pathname);
  }
  return [...seen];
}

const BLOCKING = new Set(['serious', 'critical']);

/** Run axe-core on the page; return the serious and critical violations, formatted. */
export async function axeViolations(page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => BLOCKING.has(v.impact))
    .map((v) => {
      const nodes = v.nodes.slice(0, 5).map((n) => `      ${n.target.join(' ')}: ${
        (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 300)}`);
      return `[${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} node(s))\n${nodes.join('\n')}`;
    });
}

/** The language switcher: a <select name="lang"> in a form posting to /language. */
export function languageSelect(page) {
  return page.locator('select[name="lang"]');
}

/**
 * Choose a language by its option label. Works whether the form submits itself on change
 * (a script) or needs its submit button pressed.
 */
export async function chooseLanguage(page, optionLabel, expectLang) {
  const select = languageSelect(page);
  await select.selectOption({ label: optionLabel });
  const hasLang = () => page.waitForFunction(
    (l) => document.documentElement.lang.toLowerCase().startsWith(l),
    expectLang,
    { timeout: 1500 },
  ).then(() => true, () => false);
  if (await hasLang()) return;
  const form = page.locator('form').filter({ has: select });
  await form.locator('button, input[type="submit"]').first().click();
  await page.waitForFunction(
    (l) => document.documentElement.lang.toLowerCase().startsWith(l),
    expectLang,
    { timeout: 15_000 },
  );
}

export async function htmlLangDir(page) {
  return page.evaluate(() => ({
    lang: document.documentElement.getAttribute('lang'),
    dir: document.documentElement.getAttribute('dir'),
    computedDir: getComputedStyle(document.documentElement).direction,
  }));
}
