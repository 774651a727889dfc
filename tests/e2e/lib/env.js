// Helpers for Tutti's browser tests: an OpenID Connect provider, a `tutti serve` process
// with a fresh data folder, and Debian's Chromium driven by playwright-core.
//
// Every process started here listens on 127.0.0.1 only and is stopped by its pid.
import { spawn, execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

export const TUTTI_BIN = process.env.TUTTI_BIN || join(repoRoot, 'target/debug/tutti');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
/** Where failing tests leave screenshots, page HTML and server logs. */
export const ARTIFACTS = process.env.E2E_ARTIFACTS || join(here, '..', 'artifacts');

export const OIDC_USER = {
  login: 'oidc-user',
  email: 'oidc-user@example.test',
  name: 'OIDC Test User',
};
export const OIDC_CLIENT = { id: 'tutti', secret: 'tutti-secret', name: 'Test IdP' };
export const ADMIN = {
  email: 'admin@example.test',
  name: 'Ada Admin',
  password: 'correct horse battery staple 42',
};

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// OpenID Connect provider (npm oidc-provider), in this process.

// oidc-provider prints development-mode warnings and notices (and one about Node 20 not
// being its preferred runtime) through console.warn/info: keep them out of the test report.
let quiet = false;
function quietOidcProvider() {
  if (quiet) return;
  quiet = true;
  for (const level of ['warn', 'info']) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      if (typeof args[0] === 'string' && /^(\x1b\[[0-9;]*m)?oidc-provider /.test(args[0])) return;
      original(...args);
    };
  }
}

/**
 * Start an OpenID Connect provider on 127.0.0.1 with one confidential client (`tutti`)
 * whose redirect URI points at the Tutti server on `tuttiPort`, and one user: whatever
 * login is typed on its (development) login page signs in as oidc-user@example.test.
 */
export async function startOidcProvider({ tuttiPort, port }) {
  quietOidcProvider();
  const { default: Provider } = await import('oidc-provider');
  port ??= await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'e2e' };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: OIDC_CLIENT.id,
        client_secret: OIDC_CLIENT.secret,
        client_name: 'Tutti (e2e)',
        redirect_uris: [`http://127.0.0.1:${tuttiPort}/auth/oidc/callback`],
        post_logout_redirect_uris: [`http://127.0.0.1:${tuttiPort}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    // Both servers live on 127.0.0.1, where cookies are shared across ports: keep the
    // provider's cookie names away from anything Tutti might call its own.
    cookies: {
      keys: ['e2e-cookie-key-0123456789abcdef'],
      names: { session: 'idp_session', interaction: 'idp_interaction', resume: 'idp_resume' },
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // Put the scope claims in the ID token too, not only behind the userinfo endpoint.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: `e2e-${id}`,
            email: OIDC_USER.email,
            email_verified: true,
            name: OIDC_USER.name,
            preferred_username: id,
          };
        },
      };
    },
    // A first-party client: grant the requested scopes without a consent screen.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    renderError(ctx, out, error) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>IdP error</title><h1>IdP error</h1><pre>${
        JSON.stringify(out, null, 2).replace(/</g, '&lt;')}</pre>`;
    },
  });
  const events = [];
  for (const ev of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'discovery.error']) {
    provider.on(ev, (...args) => {
      const err = args.find((a) => a instanceof Error);
      events.push(`${ev}: ${err ? `${err.name}: ${err.message} ${err.error_description ?? ''}` : ''}`);
    });
  }
  for (const ev of ['grant.success', 'authorization.success']) provider.on(ev, () => events.push(ev));
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((ok, fail) => { server.once('listening', ok); server.once('error', fail); });
  return {
    issuer,
    port,
    provider,
    events,
    stop: () => new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    }),
  };
}

// ---------------------------------------------------------------------------------------
// The tutti binary.

/** The environment for a tutti child process: ours minus every TUTTI_* setting. */
function tuttiEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TUTTI_')) env[k] = v;
  }
  return { ...env, RUST_BACKTRACE: '1', ...extra };
}

const execFileP = promisify(execFile);

/** `tutti admin create-user` against a data folder. */
export async function createUser(dataDir, { email, name, password, role = 'admin' }) {
  const args = ['admin', 'create-user', '--data-dir', dataDir, '--email', email, '--name', name,
    '--password', password, '--role', role];
  try {
    return await execFileP(TUTTI_BIN, args, { env: tuttiEnv(), timeout: 60_000 });
  } catch (err) {
    throw new Error(`tutti ${args.slice(0, 2).join(' ')} failed (exit ${err.code}):\n${err.stdout}\n${err.stderr}`);
  }
}

/**
 * Start `tutti serve` on a free port with a fresh data folder.
 * options.oidc: an object from startOidcProvider; options.port: a port chosen beforehand;
 * options.admin: also create the ADMIN account first; options.env: more environment.
 */
export async function startTutti({ oidc, port, admin = false, env = {}, name = 'tutti' } = {}) {
  if (!existsSync(TUTTI_BIN)) {
    throw new Error(`TUTTI_BIN ${TUTTI_BIN} does not exist: run \`cargo build -p tutti-server\` first`);
  }
  port ??= await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tutti-e2e-'));
  if (admin) await createUser(dataDir, ADMIN);
  const baseUrl = `http://127.0.0.1:${port}`;
  const extra = { ...env };
  if (oidc) {
    Object.assign(extra, {
      TUTTI_OIDC__ISSUER: oidc.issuer,
      TUTTI_OIDC__CLIENT_ID: OIDC_CLIENT.id,
      TUTTI_OIDC__CLIENT_SECRET: OIDC_CLIENT.secret,
      TUTTI_OIDC__NAME: OIDC_CLIENT.name,
      TUTTI_SIGNUP: 'open',
    });
  }
  const logPath = join(dataDir, 'tutti.log');
  const log = createWriteStream(logPath);
  const child = spawn(TUTTI_BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`,
    '--public-url', baseUrl, '--log-format', 'json'], {
    env: tuttiEnv(extra), stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  // Never leave the server behind, whatever happens to this process.
  const killOnExit = () => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } };
  process.on('exit', killOnExit);

  const readLog = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const tailLog = (n = 40) => readLog().trimEnd().split('\n').slice(-n).join('\n');

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`tutti serve exited during start-up (${JSON.stringify(exited)}):\n${tailLog()}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      killOnExit();
      throw new Error(`tutti serve did not answer /healthz within 60 s:\n${tailLog()}`);
    }
    await sleep(100);
  }

  async function stop() {
    process.off('exit', killOnExit);
    if (!exited) {
      const gone = new Promise((ok) => child.once('exit', ok));
      try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
      await gone;
      clearTimeout(t);
    }
    log.end();
  }

  return { baseUrl, port, dataDir, pid: child.pid, logPath, readLog, tailLog, stop, name,
    get exited() { return exited; } };
}

// ---------------------------------------------------------------------------------------
// Chromium.

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // The headless mode is chosen by --headless=new in CHROMIUM_ARGS.
    headless: false,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

/** A browser context with an English locale, failing fast on slow pages. */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

// ---------------------------------------------------------------------------------------
// One environment per test file: OIDC provider (optional), tutti, Chromium.

export async function startEnv({ oidc = false, admin = false } = {}) {
  const env = { oidc: null, tutti: null, browser: null };
  try {
    const tuttiPort = await freePort();
    if (oidc) env.oidc = await startOidcProvider({ tuttiPort });
    env.tutti = await startTutti({ oidc: env.oidc, port: tuttiPort, admin });
    env.browser = await launchBrowser();
  } catch (err) {
    await stopEnv(env);
    throw err;
  }
  env.baseUrl = env.tutti.baseUrl;
  env.url = (path) => new URL(path, env.tutti.baseUrl).href;
  return env;
}

export async function stopEnv(env, { keepData = false } = {}) {
  if (!env) return;
  await env.browser?.close().catch(() => {});
  await env.tutti?.stop().catch(() => {});
  await env.oidc?.stop().catch(() => {});
  if (env.tutti && !keepData) {
    // Keep the server log of a failed run among the artifacts, then drop the data folder.
    rmSync(env.tutti.dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Failure artifacts.

function slug(s) {
  return s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').slice(0, 80) || 'test';
}

/**
 * Run `fn(page)`; when it throws, save a screenshot, the page's HTML and the tail of the
 * server log under ARTIFACTS, add their location and the server log tail to the error.
 */
export async function withArtifacts(t, env, page, fn) {
  try {
    return await fn(page);
  } catch (err) {
    const dir = join(ARTIFACTS, slug(t.name));
    mkdirSync(dir, { recursive: true });
    let where = '';
    try {
      where = page.url();
      await page.screenshot({ path: join(dir, 'page.png'), fullPage: true, timeout: 5000 });
      writeFileSync(join(dir, 'page.html'), await page.content());
    } catch { /* page gone */ }
    if (env?.tutti) writeFileSync(join(dir, 'tutti.log'), env.tutti.readLog());
    if (env?.oidc) writeFileSync(join(dir, 'oidc-events.txt'), env.oidc.events.join('\n'));
    const info = `page: ${where}\nartifacts: ${dir}`
      + (env?.tutti?.readLog().trim() ? `\ntutti log (tail):\n${env.tutti.tailLog(15).replace(/^/gm, '  ')}` : '');
    for (const line of info.split('\n')) t.diagnostic(line);
    throw err;
  }
}
