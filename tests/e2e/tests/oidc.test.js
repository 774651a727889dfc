// Sign in through an OpenID Connect provider, see the profile, sign out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OIDC_CLIENT, OIDC_USER, newContext, startEnv, stopEnv, withArtifacts } from '../lib/env.js';
import { pathOf, signOut, waitForPath, watchPage } from '../lib/pages.js';

let env;
before(async () => { env = await startEnv({ oidc: true }); });
after(async () => { await stopEnv(env); });

test('OIDC: sign in with the provider, profile, sign out', { timeout: 120_000 }, async (t) => {
  const context = await newContext(env.browser);
  const page = await context.newPage();
  const watch = watchPage(page, env.baseUrl);
  await withArtifacts(t, env, page, async () => {
    await page.goto(env.url('/login'));
    const start = page.getByRole('link', { name: `Sign in with ${OIDC_CLIENT.name}` })
      .or(page.getByRole('button', { name: `Sign in with ${OIDC_CLIENT.name}` }));
    await start.click();

    // The provider's (development) login page.
    await page.waitForURL((u) => u.origin === env.oidc.issuer, { timeout: 15_000 });
    await page.locator('input[name="login"]').fill(OIDC_USER.login);
    await page.locator('input[name="password"]').fill('any password will do');
    await page.getByRole('button', { name: 'Sign-in' }).click();

    // Back at Tutti (a consent page is not expected, but press on if the provider shows one).
    const consent = page.getByRole('button', { name: 'Continue' });
    await Promise.race([
      page.waitForURL((u) => u.origin === env.baseUrl, { timeout: 20_000 }),
      consent.waitFor({ timeout: 20_000 }),
    ]);
    if (new URL(page.url()).origin !== env.baseUrl) await consent.click();
    await waitForPath(page, '/profile', { origin: env.baseUrl });
    await assert.doesNotReject(
      page.getByText(OIDC_USER.email).first().waitFor(),
      'the profile shows the signed-in email',
    );
    assert.ok(env.oidc.events.includes('grant.success'), `the token exchange happened: ${env.oidc.events}`);

    await signOut(page, env);
    await page.goto(env.url('/profile'));
    assert.equal(pathOf(page), '/login', `/profile after sign-out ended at ${page.url()}`);
    watch.assertClean();
  });
  await context.close();
});
