// The hosted login, consent and logout pages driven over plain HTTP the way
// a browser without JavaScript would: a small cookie jar, redirects followed
// by hand, hidden inputs (CSRF token, return_to) read from the HTML; and
// the authorization code flow built on it.

import * as client from 'openid-client';

import { assert, assertEqual, fail } from './check.mjs';
import { basePath, cookieName, user, USER_SCOPE } from './settings.mjs';

/** The cookies a browser would keep for the issuer (one origin: loopback). */
export class CookieJar {
  #cookies = new Map();

  /** Records the Set-Cookie headers of `response`. */
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key, val = ''] = a.split('=').map((s) => s.trim());
        if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  has(name) {
    return this.#cookies.has(name);
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** A request as a browser sends it: cookies from `jar`, redirects not followed. */
export async function browserFetch(jar, url, init = {}) {
  const headers = new Headers(init.headers);
  const cookies = jar.header();
  if (cookies) headers.set('cookie', cookies);
  headers.set('accept', 'text/html');
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(response);
  return response;
}

/** Undoes HTML character references in an attribute value. */
function decodeEntities(text) {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The attributes of one start tag, names lower-cased, values decoded. */
function attributes(tag) {
  const result = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    result[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4]);
  }
  return result;
}

/**
 * The first POST form of `html`: its action and the values of its hidden
 * inputs (csrf_token, return_to, …).
 */
export function parseForm(html, what) {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i);
  assert(form, `${what}: no <form> in the page`, html.slice(0, 2000));
  const formAttributes = attributes(form[0].match(/<form\b[^>]*>/i)[0]);
  assertEqual((formAttributes.method ?? '').toLowerCase(), 'post', `${what}: form method`);
  const hidden = {};
  for (const [tag] of form[1].matchAll(/<input\b[^>]*>/gi)) {
    const a = attributes(tag);
    if ((a.type ?? '').toLowerCase() === 'hidden' && a.name) hidden[a.name] = a.value ?? '';
  }
  assert(hidden.csrf_token, `${what}: form has no hidden csrf_token`, form[0]);
  return { action: formAttributes.action, hidden };
}

/** POSTs `fields` form-encoded to `action` (relative to `pageUrl`), as a browser submits. */
export function submitForm(jar, pageUrl, action, fields) {
  const target = new URL(action ?? pageUrl, pageUrl);
  return browserFetch(jar, target, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(pageUrl).origin },
    body: new URLSearchParams(fields),
  });
}

/** Whether `url` is `redirectUri` (origin and path; the query may differ). */
export function sameEndpoint(url, redirectUri) {
  const a = new URL(url);
  const b = new URL(redirectUri);
  return a.origin === b.origin && a.pathname === b.pathname;
}

/** The headers every hosted page must send: strict CSP, no framing, no caching. */
export function checkHostedPageHeaders(response, what) {
  const csp = response.headers.get('content-security-policy') ?? '';
  assert(csp.includes("default-src 'none'"), `${what}: Content-Security-Policy lacks default-src 'none'`, csp);
  assert(csp.includes("frame-ancestors 'none'"), `${what}: Content-Security-Policy lacks frame-ancestors 'none'`, csp);
  assertEqual(response.headers.get('x-frame-options')?.toUpperCase(), 'DENY', `${what}: X-Frame-Options`);
  assert((response.headers.get('cache-control') ?? '').includes('no-store'), `${what}: Cache-Control lacks no-store`);
}


/**
 * Whether this run has clicked Allow on a consent page yet: the server
 * remembers an approval, so only the first sign-in of a client shows it.
 */
export let approvedOnce = false;

/**
 * Plays a browser from `startUrl` until the server redirects to
 * `redirectUri`: signs in on /login when asked, answers `decision` on
 * /consent when asked. Returns the callback URL and which pages were shown.
 */
export async function runBrowser(jar, startUrl, redirectUri, { decision = 'allow', credentials = user() } = {}) {
  const shown = { login: false, consent: false };
  let url = new URL(startUrl);
  for (let step = 0; step < 12; step++) {
    if (sameEndpoint(url, redirectUri)) return { callback: url, shown };
    const response = await browserFetch(jar, url);
    if (response.status === 302 || response.status === 303) {
      const location = response.headers.get('location');
      assert(location, `${url.pathname}: ${response.status} without Location`);
      url = new URL(location, url);
      continue;
    }
    const html = await response.text();
    assertEqual(response.status, 200, `GET ${url.pathname}${url.search.slice(0, 80)} status (body: ${html.slice(0, 300)})`);
    let next;
    if (url.pathname === `${basePath()}/login`) {
      shown.login = true;
      checkHostedPageHeaders(response, 'login page');
      const form = parseForm(html, 'login page');
      assert(jar.has(cookieName('tessera_form_csrf')), `login page did not set the ${cookieName('tessera_form_csrf')} cookie`);
      next = await submitForm(jar, url, form.action, { ...form.hidden, ...credentials });
      if (next.status !== 303) fail(`POST /login answered ${next.status}, expected 303`, (await next.text()).slice(0, 500));
      assert(jar.has(cookieName('tessera_sso')), `a successful sign-in did not set the ${cookieName('tessera_sso')} cookie`);
    } else if (url.pathname === `${basePath()}/consent`) {
      shown.consent = true;
      checkHostedPageHeaders(response, 'consent page');
      const form = parseForm(html, 'consent page');
      next = await submitForm(jar, url, form.action, { ...form.hidden, decision });
      if (decision === 'allow') approvedOnce = true;
      if (next.status !== 303) fail(`POST /consent answered ${next.status}, expected 303`, (await next.text()).slice(0, 500));
    } else {
      fail(`unexpected page ${url.pathname}`, html.slice(0, 500));
    }
    url = new URL(next.headers.get('location'), url);
  }
  fail(`no redirect to ${redirectUri} after 12 steps (last: ${url})`);
}

/** Everything a code flow needs to remember between the two legs. */
export async function startCodeFlow(config, redirectUri, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const checks = {
    pkceCodeVerifier: verifier,
    expectedState: client.randomState(),
    expectedNonce: client.randomNonce(),
  };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: USER_SCOPE,
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, checks };
}

/** Signs in on a fresh jar and completes a code flow; returns tokens and more. */
export async function signInWithCode(config, redirectUri, { jar = new CookieJar(), extra = {} } = {}) {
  const flow = await startCodeFlow(config, redirectUri, extra);
  const { callback, shown } = await runBrowser(jar, flow.url, redirectUri);
  assert(callback.searchParams.get('code'), 'callback without code', callback.href);
  const tokens = await client.authorizationCodeGrant(config, callback, flow.checks);
  return { tokens, jar, flow, callback, shown };
}
