// An administrator created with `tutti admin create-user` signs in locally and visits the
// admin pages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { pathOf, signInLocal, signOut, visit, watchPage } from '../lib/pages.js';

let env;
before(async () => { env = await startEnv({ admin: true }); });
after(async () => { await stopEnv(env); });

test('local sign-in as admin, profile, admin pages, sign out', { timeout: 120_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  const watch = watchPage(page, env.baseUrl);
  await withArtifacts(t, env, page, async () => {
    await signInLocal(page, env);

    // The profile: email, roles, tokens.
    await page.getByText(ADMIN.email).first().waitFor();
    const text = (await page.locator('body').innerText()).replaceAll(ADMIN.email, '');
    assert.match(text, /\badmin\b/i, 'the profile lists the admin role');
    await assert.doesNotReject(
      page.getByRole('heading', { name: /token/i }).first().waitFor({ timeout: 5000 }),
      'the profile has a tokens section with a heading',
    );

    for (const path of ['/admin/users', '/admin/jobs', '/admin/audit']) {
      await visit(page, env, path);
      assert.ok(await page.getByRole('heading', { level: 1 }).count() >= 1, `${path} has an <h1>`);
    }
    // The user list shows the account created with the CLI.
    await visit(page, env, '/admin/users');
    await page.getByText(ADMIN.email).first().waitFor();

    await visit(page, env, '/profile');
    await signOut(page, env);
    await page.goto(env.url('/admin/users'));
    assert.notEqual(pathOf(page), '/admin/users', 'after sign-out /admin/users is not shown');
    watch.assertClean();
  });
  await context.close();
});

test('a wrong password does not sign in', { timeout: 60_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    await page.goto(env.url('/login'));
    await page.getByLabel('Email', { exact: true }).fill(ADMIN.email);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForLoadState();
    assert.notEqual(pathOf(page), '/profile', 'a wrong password must not reach the profile');
    await page.goto(env.url('/profile'));
    assert.equal(pathOf(page), '/login', `/profile without a session ended at ${page.url()}`);
  });
  await context.close();
});

test('anonymous visitors do not see admin pages', { timeout: 60_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  await withArtifacts(t, env, page, async () => {
    for (const path of ['/admin/users', '/admin/jobs', '/admin/audit']) {
      const res = await page.goto(env.url(path));
      const shown = pathOf(page) === path && res.ok();
      assert.ok(!shown, `${path} answered ${res.status()} to an anonymous visitor`);
      assert.equal(await page.getByText(ADMIN.email).count(), 0, `${path} leaks the user list`);
    }
  });
  await context.close();
});
