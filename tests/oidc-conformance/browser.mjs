// A real browser through Tessera's hosted pages: headless Chromium (Debian's
// package, driven by playwright-core, which never downloads browsers) opens
// the authorization URL of a non-first-party client, checks that the login
// page names the application, uses the show-password toggle, signs in
// through the login form by its accessible labels, presses "Not you?" on
// the consent page (back to the login page for the same request), signs in
// again, clicks Allow and must land on the client's redirect URI with a
// code, the state it sent and the issuer (RFC 9207). Then the logout
// confirmation (its Cancel goes back to the registered post-logout URI),
// the error page of a bad authorization request, the home page, and the
// password-recovery and email-verification pages. Every
// hosted page is checked with axe-core at a desktop (1280x800) and a
// mobile (375x667) viewport, light and dark: 0 serious or critical
// violations. The redirect URIs are intercepted, so nothing needs to listen
// there.
//
//   node browser.mjs
//
// Environment:
//   TESSERA_ISSUER                 e.g. http://127.0.0.1:41234
//   TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD
//   TESSERA_WEB_CLIENT_ID, TESSERA_WEB_REDIRECT_URI   (not first-party)
//   TESSERA_WEB_POST_LOGOUT_REDIRECT_URI              (registered for it)
//   TESSERA_WEB_CLIENT_NAME        default "Conformance web app"
//   CHROMIUM_PATH                  default /usr/bin/chromium
//   TESSERA_BROWSER_KEEP_SCREENSHOTS=1   keep the screenshots on success too
//
// On failure prints the reason (for accessibility: every violation, with
// the elements and what to fix) and the paths of screenshots of every page
// seen; exits 1.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { axeViolations } from './lib/accessibility.mjs';

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
const postLogoutUri = env('TESSERA_WEB_POST_LOGOUT_REDIRECT_URI');
const clientName = env('TESSERA_WEB_CLIENT_NAME', 'Conformance web app');
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

/** True when `url` is `endpoint` (origin and path; the query aside). */
function sameEndpoint(url, endpoint) {
  const a = new URL(url);
  const b = new URL(endpoint);
  return a.origin === b.origin && a.pathname === b.pathname;
}
const isCallback = (url) => sameEndpoint(url, redirectUri);
const isPostLogout = (url) => sameEndpoint(url, postLogoutUri);

const shots = mkdtempSync(join(tmpdir(), 'tessera-browser-'));
const taken = [];
let failed = false;

function ok(message) {
  console.log(`ok - ${message}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Path of `url` within the issuer's hosted pages ('/login', '/consent', …). */
function hostedPath(url) {
  const path = new URL(url).pathname;
  return path.startsWith(basePath) ? path.slice(basePath.length) || '/' : path;
}

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  let page = await context.newPage();

  async function screenshot(name) {
    const path = join(shots, `${String(taken.length + 1).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    taken.push(path);
  }

  // Accessibility failures of every page, reported together at the end.
  const inaccessible = [];
  async function checkAccessibility(what) {
    const failures = await axeViolations(page, what);
    inaccessible.push(...failures);
    if (failures.length === 0) ok(`${what}: no serious or critical axe violations (desktop and mobile, light and dark)`);
  }

  // The redirect URIs are answered here, whether Chromium reaches them as a
  // navigation or as the target of the server's 302/303.
  let callback = null;
  context.on('request', (request) => {
    if (isCallback(request.url())) callback ??= new URL(request.url());
  });
  const answer = (title) => (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: `<!doctype html><html lang="en"><title>${title}</title><p>${title}</p></html>` });
  await context.route(isCallback, answer('callback'));
  await context.route(isPostLogout, answer('signed out'));

  async function signIn() {
    await page.getByLabel('Email or username').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await Promise.all([
      page.waitForURL((url) => hostedPath(url) !== '/login' || isCallback(url), { waitUntil: 'domcontentloaded' }),
      page.getByRole('button', { name: 'Sign in', exact: true }).click(),
    ]);
  }

  try {
    const response = await page.goto(authorize.href);
    check(response, 'the authorization URL gave no response');
    check(hostedPath(page.url()) === '/login', `expected the login page, got ${page.url()} (HTTP ${response.status()})`);
    await screenshot('login');
    ok('authorization request sends the browser to the hosted login page');

    const heading = await page.getByRole('heading', { level: 1 }).textContent();
    check(heading === `Sign in to continue to ${clientName}`, `login heading is "${heading}", expected it to name ${clientName}`);
    ok('the login page names the application asking');

    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.id);
    check(focused === 'identifier', `the first Tab focuses #${focused}, expected the email or username field`);
    ok('the first Tab focuses the email or username field');

    await checkAccessibility('login page');

    // The show-password toggle: a real button tied to the field.
    const field = page.locator('#password');
    await field.fill(password);
    const show = page.getByRole('button', { name: 'Show password' });
    check(await show.isVisible(), 'no visible "Show password" button with scripts on');
    check((await show.getAttribute('aria-controls')) === 'password', 'the toggle does not control #password');
    await show.click();
    const hide = page.getByRole('button', { name: 'Hide password' });
    check((await field.getAttribute('type')) === 'text', 'the toggle did not show the password');
    check((await hide.getAttribute('aria-pressed')) === 'true', 'the pressed toggle is not aria-pressed=true');
    await hide.press('Enter');
    check((await field.getAttribute('type')) === 'password', 'the toggle (by keyboard) did not hide the password again');
    check((await show.getAttribute('aria-pressed')) === 'false', 'the released toggle is not aria-pressed=false');
    ok('the show-password toggle shows and hides the password, by mouse and keyboard, with aria-pressed');

    await signIn();
    check(hostedPath(page.url()) === '/consent', `expected the consent page after signing in, got ${page.url()}`);
    await screenshot('consent');
    ok('signing in by the form labels leads to the consent page');
    check(await page.getByText('Sign you in').isVisible(), 'the consent page does not describe the openid scope');
    await checkAccessibility('consent page');

    // "Not you?": signed out, back on the login page for the same request.
    const consentUrl = page.url();
    await Promise.all([
      page.waitForURL((url) => hostedPath(url) === '/login', { waitUntil: 'domcontentloaded' }),
      page.getByRole('button', { name: 'Sign in as someone else' }).click(),
    ]);
    const returnTo = new URL(page.url()).searchParams.get('return_to');
    check(returnTo === new URL(consentUrl).searchParams.get('return_to'), `"Not you?" lost the request: ${page.url()}`);
    const cookies = await context.cookies(issuer);
    check(!cookies.some((c) => c.name.startsWith('tessera_sso')), '"Not you?" left the session cookie');
    ok('"Not you?" signs out and shows the login page for the same authorization request');
    await signIn();
    check(hostedPath(page.url()) === '/consent', `expected the consent page after signing in again, got ${page.url()}`);

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
    // A route does not answer the target of a server redirect, so Chromium
    // goes on to show its own error page for the (closed) port: carry on
    // in a fresh tab of the same browser.
    await page.close();
    page = await context.newPage();

    const logout = new URL(`${issuer}/oauth2/logout`);
    logout.search = new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: postLogoutUri, state }).toString();
    await page.goto(logout.href);
    check(hostedPath(page.url()) === '/oauth2/logout', `expected the logout confirmation, got ${page.url()}`);
    await screenshot('logout');
    await checkAccessibility('logout confirmation');
    await Promise.all([
      page.waitForURL(isPostLogout, { waitUntil: 'commit' }),
      page.getByRole('link', { name: 'Cancel' }).click(),
    ]);
    check(!new URL(page.url()).searchParams.has('state'), `Cancel returned the logout state: ${page.url()}`);
    check((await context.cookies(issuer)).some((c) => c.name.startsWith('tessera_sso')), 'Cancel signed the browser out');
    ok('Cancel on the logout confirmation goes back to the registered post-logout URI, still signed in');

    const bad = new URL(authorize.href);
    bad.searchParams.set('redirect_uri', 'https://evil.example/cb?<b>x</b>');
    const refused = await page.goto(bad.href);
    check(refused.status() === 400, `a bad redirect_uri answered ${refused.status()}, expected 400`);
    await screenshot('error');
    check(await page.getByRole('alert').isVisible(), 'the error page has no role="alert"');
    check(await page.getByText('https://evil.example/cb?<b>x</b>').isVisible(), 'the error page does not show the redirect_uri sent');
    await checkAccessibility('error page');

    await page.goto(`${issuer}/`);
    check(hostedPath(page.url()) === '/', `expected the home page, got ${page.url()}`);
    await screenshot('home');
    await checkAccessibility('home page');

    // Password recovery and email verification: the forgot form, the
    // "check your mail" page, the new-password form reached by a code (the
    // code is checked only when that form is sent), a dead reset link and
    // the verification page without a link.
    await page.goto(`${issuer}/forgot-password`);
    check(hostedPath(page.url()) === '/forgot-password', `expected the forgot-password page, got ${page.url()}`);
    await screenshot('forgot-password');
    await checkAccessibility('forgot-password page');
    await page.getByLabel('Email address').fill(email);
    await Promise.all([
      page.waitForURL((url) => hostedPath(url) === '/forgot-password', { waitUntil: 'domcontentloaded' }),
      page.getByRole('button', { name: 'Send the link' }).click(),
    ]);
    check(await page.getByRole('heading', { name: 'Check your mail', level: 1 }).isVisible(), 'no "Check your mail" page after the forgot form');
    await screenshot('check-your-mail');
    await checkAccessibility('"check your mail" page');
    await page.getByLabel('Code from the mail').fill('123456');
    await Promise.all([
      page.waitForURL((url) => hostedPath(url) === '/reset-password/code', { waitUntil: 'domcontentloaded' }),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    check(await page.getByRole('heading', { name: 'Choose a new password', level: 1 }).isVisible(), 'the code did not lead to the new-password form');
    const fresh = page.getByLabel('New password', { exact: true });
    const again = page.getByLabel('New password again');
    await fresh.fill('not sent, only shown');
    await again.fill('not sent, only shown');
    await page.getByRole('button', { name: 'Show password' }).click();
    check((await fresh.getAttribute('type')) === 'text' && (await again.getAttribute('type')) === 'text', 'the toggle did not show both new-password fields');
    await page.getByRole('button', { name: 'Hide password' }).click();
    check((await fresh.getAttribute('type')) === 'password' && (await again.getAttribute('type')) === 'password', 'the toggle did not hide both fields again');
    ok('the new-password form is reached by the code and its one toggle shows and hides both fields');
    await screenshot('reset-password');
    await checkAccessibility('new-password form');
    const dead = await page.goto(`${issuer}/reset-password?token=not-a-mailed-token`);
    check(dead.status() === 400, `a forged reset link answered ${dead.status()}, expected 400`);
    check(await page.getByRole('link', { name: 'Send me a new link' }).isVisible(), 'a dead reset link does not offer a new one');
    await checkAccessibility('dead reset link page');
    await page.goto(`${issuer}/verify-email`);
    check(await page.getByRole('heading', { name: 'Have a code instead?' }).isVisible(), 'the verification page has no code form');
    await screenshot('verify-email');
    await checkAccessibility('email verification page');

    // Without scripts there is no toggle that would do nothing.
    const noScripts = await browser.newContext({ javaScriptEnabled: false });
    const plain = await noScripts.newPage();
    await plain.goto(`${issuer}/login`);
    check(await plain.getByLabel('Password', { exact: true }).isVisible(), 'no password field without scripts');
    check(!(await plain.locator('#password-toggle').isVisible()), 'the show-password toggle is shown with scripts off');
    await noScripts.close();
    ok('with scripts off the login page works and shows no toggle');

    check(inaccessible.length === 0, `accessibility:\n${inaccessible.join('\n')}`);
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
