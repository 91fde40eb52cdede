// A real browser through Tessera's hosted pages: headless Chromium (Debian's
// package, driven by playwright-core, which never downloads browsers) opens
// the authorization URL of a non-first-party client, signs in through the
// login form by its accessible labels, clicks Allow on the consent page and
// must land on the client's redirect URI with a code, the state it sent and
// the issuer (RFC 9207). The redirect URI is intercepted, so nothing needs to
// listen there.
//
//   node browser.mjs
//
// Environment:
//   TESSERA_ISSUER                 e.g. http://127.0.0.1:41234
//   TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD
//   TESSERA_WEB_CLIENT_ID, TESSERA_WEB_REDIRECT_URI   (not first-party)
//   CHROMIUM_PATH                  default /usr/bin/chromium
//   TESSERA_BROWSER_KEEP_SCREENSHOTS=1   keep the screenshots on success too
//
// On failure prints the reason and the paths of screenshots of every page
// seen (login, consent, the page at the time of failure); exits 1.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 15_000;

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (!value) {
    console.error(`not ok - environment variable ${name} is not set`);
    process.exit(1);
  }
  return value;
}

const issuer = env('TESSERA_ISSUER').replace(/\/$/, '');
/** Where the issuer's hosted pages live: '' at the root, '/t/<slug>' for a tenant. */
const basePath = new URL(issuer).pathname.replace(/\/$/, '');
const email = env('TESSERA_USER_EMAIL');
const password = env('TESSERA_USER_PASSWORD');
const clientId = env('TESSERA_WEB_CLIENT_ID');
const redirectUri = env('TESSERA_WEB_REDIRECT_URI');
const executablePath = env('CHROMIUM_PATH', '/usr/bin/chromium');

if (!existsSync(executablePath)) {
  console.error(`not ok - no Chromium at ${executablePath}; run scripts/test (it installs Debian's chromium)`);
  process.exit(1);
}

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');
const state = base64url(randomBytes(16));
const nonce = base64url(randomBytes(16));
const verifier = base64url(randomBytes(32));
const authorize = new URL(`${issuer}/oauth2/authorize`);
authorize.search = new URLSearchParams({
  response_type: 'code',
  client_id: clientId,
  redirect_uri: redirectUri,
  scope: 'openid profile email',
  state,
  nonce,
  code_challenge: base64url(createHash('sha256').update(verifier).digest()),
  code_challenge_method: 'S256',
}).toString();

/** True when `url` is the redirect URI (its query aside). */
function isCallback(url) {
  const a = new URL(url);
  const b = new URL(redirectUri);
  return a.origin === b.origin && a.pathname === b.pathname;
}

const shots = mkdtempSync(join(tmpdir(), 'tessera-browser-'));
const taken = [];
let failed = false;

function ok(message) {
  console.log(`ok - ${message}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();

  async function screenshot(name) {
    const path = join(shots, `${String(taken.length + 1).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    taken.push(path);
  }

  // The redirect URI is answered here, whether Chromium reaches it as a
  // navigation or as the target of the server's 302/303.
  let callback = null;
  page.on('request', (request) => {
    if (isCallback(request.url())) callback ??= new URL(request.url());
  });
  await page.route(isCallback, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>callback</title><p>callback</p>' }),
  );

  try {
    const response = await page.goto(authorize.href);
    check(response, 'the authorization URL gave no response');
    check(new URL(page.url()).pathname === `${basePath}/login`, `expected the login page, got ${page.url()} (HTTP ${response.status()})`);
    await screenshot('login');
    ok('authorization request sends the browser to the hosted login page');

    await page.getByLabel('Email or username').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname !== `${basePath}/login` || isCallback(url), { waitUntil: 'domcontentloaded' }),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    check(new URL(page.url()).pathname === `${basePath}/consent`, `expected the consent page after signing in, got ${page.url()}`);
    await screenshot('consent');
    ok('signing in by the form labels leads to the consent page');

    await Promise.all([
      page.waitForURL(isCallback, { waitUntil: 'commit' }).catch(() => {}),
      page.getByRole('button', { name: 'Allow', exact: true }).click(),
    ]);
    for (let i = 0; i < 50 && !callback; i++) await page.waitForTimeout(100);
    check(callback, `never reached the redirect URI ${redirectUri}; last page ${page.url()}`);
    check(callback.searchParams.get('code'), `redirect without a code: ${callback.href}`);
    check(callback.searchParams.get('state') === state, `redirect state ${callback.searchParams.get('state')} != ${state}`);
    check(callback.searchParams.get('iss') === issuer, `redirect iss ${callback.searchParams.get('iss')} != ${issuer}`);
    check(!callback.searchParams.get('error'), `redirect carries error=${callback.searchParams.get('error')}`);
    ok('Allow lands on the redirect URI with code, state and iss');
  } catch (e) {
    failed = true;
    await screenshot('failure');
    console.log(`not ok - ${e.message}`);
    console.log(`# screenshots: ${taken.join(' ')}`);
  }
} finally {
  await browser.close();
  if (!failed && !process.env.TESSERA_BROWSER_KEEP_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
