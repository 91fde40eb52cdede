// Drives a running Tessera with the certified relying-party library
// openid-client (v6) and checks every token with jose against the published
// JWKS, following the HTTP contract of the OIDC endpoints and hosted pages.
//
// The hosted login and consent pages are driven over plain HTTP the way a
// browser without JavaScript would: a small cookie jar, redirects followed by
// hand, hidden inputs (CSRF token, return_to) read from the HTML.
//
//   node conformance.mjs                          # every section, in order
//   node conformance.mjs --only client_credentials,discovery
//   node conformance.mjs --list                   # the section names
//
// Environment (all required for a full run; an --only run needs only what its
// sections use):
//   TESSERA_ISSUER                 e.g. http://127.0.0.1:41234
//   TESSERA_USER_EMAIL, TESSERA_USER_PASSWORD
//   TESSERA_WEB_CLIENT_ID, TESSERA_WEB_CLIENT_SECRET, TESSERA_WEB_REDIRECT_URI,
//   TESSERA_WEB_POST_LOGOUT_REDIRECT_URI
//       confidential, not first-party, client_secret_basic,
//       authorization_code+refresh_token, scopes openid,profile,email
//   TESSERA_PUBLIC_CLIENT_ID, TESSERA_PUBLIC_REDIRECT_URI
//       public (auth method none), authorization_code, scopes openid,profile,email
//   TESSERA_M2M_CLIENT_ID, TESSERA_M2M_CLIENT_SECRET, TESSERA_M2M_SCOPE
//       confidential, client_credentials; TESSERA_M2M_SCOPE defaults to reports:read
//   TESSERA_PKJ_CLIENT_ID, TESSERA_PKJ_PRIVATE_JWK
//       confidential, private_key_jwt, client_credentials with TESSERA_M2M_SCOPE;
//       the private ES256 JWK (with kid) whose public half it registered
//
// Prints one `ok - …` line per passed check; the first failed check prints
// `not ok - …` with the reason and exits with status 1.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, importJWK, jwtVerify } from 'jose';

// ---------------------------------------------------------------- reporting

class CheckFailed extends Error {}

/** Fails the current check with `message` (and what was seen, if given). */
function fail(message, seen) {
  const detail = seen === undefined ? '' : `\n    seen: ${inspect(seen, { depth: 4, breakLength: 120 })}`;
  throw new CheckFailed(`${message}${detail}`);
}

function assert(condition, message, seen) {
  if (!condition) fail(message, seen);
}

function assertEqual(actual, expected, what) {
  if (actual !== expected) fail(`${what}: expected ${inspect(expected)}, got ${inspect(actual)}`);
}

function ok(message) {
  console.log(`ok - ${message}`);
}

/** Runs `body` and expects it to throw an OAuth error response `error`. */
async function expectOAuthError(body, error, what) {
  try {
    await body();
  } catch (e) {
    if (e instanceof client.ResponseBodyError && e.error === error) return e;
    fail(`${what}: expected OAuth error ${error}, got ${e?.name}: ${e?.error ?? e?.message}`, e?.cause);
  }
  fail(`${what}: expected OAuth error ${error}, but the request succeeded`);
}

// ---------------------------------------------------------------- settings

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') fail(`environment variable ${name} is not set`);
  return value;
}

const issuer = () => env('TESSERA_ISSUER').replace(/\/$/, '');
/** Where the issuer's hosted pages live: '' at the root, '/t/<slug>' for a tenant. */
const basePath = () => new URL(issuer()).pathname.replace(/\/$/, '');
/** Cookie names of a tenant carry its slug: tessera_sso_<slug>. */
const cookieName = (name) => {
  const tenant = basePath().match(/^\/t\/([^/]+)$/);
  return tenant ? `${name}_${tenant[1]}` : name;
};
const user = () => ({ identifier: env('TESSERA_USER_EMAIL'), password: env('TESSERA_USER_PASSWORD') });
const webClient = () => ({
  id: env('TESSERA_WEB_CLIENT_ID'),
  secret: env('TESSERA_WEB_CLIENT_SECRET'),
  redirectUri: env('TESSERA_WEB_REDIRECT_URI'),
});
const publicClient = () => ({ id: env('TESSERA_PUBLIC_CLIENT_ID'), redirectUri: env('TESSERA_PUBLIC_REDIRECT_URI') });
const m2mClient = () => ({
  id: env('TESSERA_M2M_CLIENT_ID'),
  secret: env('TESSERA_M2M_CLIENT_SECRET'),
  scope: env('TESSERA_M2M_SCOPE', 'reports:read'),
});

const pkjClient = () => ({
  id: env('TESSERA_PKJ_CLIENT_ID'),
  jwk: JSON.parse(env('TESSERA_PKJ_PRIVATE_JWK')),
  scope: env('TESSERA_M2M_SCOPE', 'reports:read'),
});

const USER_SCOPE = 'openid profile email';
const ACCEPTED_ALGS = ['RS256', 'ES256', 'EdDSA'];

// ------------------------------------------------------- server metadata

let metadataCache;

/**
 * The authorization server metadata, from discovery. In an `--only` run
 * without the discovery section a missing document falls back to the
 * endpoints the contract names (said on stdout), so the sections that work
 * today can run before discovery exists; a full run always discovers.
 */
async function serverMetadata() {
  if (metadataCache) return metadataCache;
  const response = await fetch(`${issuer()}/.well-known/openid-configuration`);
  if (response.ok) {
    metadataCache = await response.json();
  } else if (options.allowFallbackMetadata) {
    console.log(`# discovery answered ${response.status}; using the contract's endpoint paths`);
    const iss = issuer();
    metadataCache = {
      issuer: iss,
      authorization_endpoint: `${iss}/oauth2/authorize`,
      token_endpoint: `${iss}/oauth2/token`,
      userinfo_endpoint: `${iss}/oauth2/userinfo`,
      jwks_uri: `${iss}/.well-known/jwks.json`,
      introspection_endpoint: `${iss}/oauth2/introspect`,
      revocation_endpoint: `${iss}/oauth2/revoke`,
      end_session_endpoint: `${iss}/oauth2/logout`,
      authorization_response_iss_parameter_supported: true,
    };
  } else {
    fail(`GET /.well-known/openid-configuration answered ${response.status}`);
  }
  return metadataCache;
}

/** An openid-client Configuration for `clientId` (http allowed: loopback). */
async function configFor(clientId, clientSecret, clientAuth) {
  const config = new client.Configuration(await serverMetadata(), clientId, clientSecret, clientAuth);
  client.allowInsecureRequests(config);
  return config;
}

const webConfig = () => configFor(webClient().id, webClient().secret, client.ClientSecretBasic(webClient().secret));
const publicConfig = () => configFor(publicClient().id, undefined, client.None());
const m2mConfig = () => configFor(m2mClient().id, m2mClient().secret, client.ClientSecretBasic(m2mClient().secret));
/** private_key_jwt: openid-client signs a fresh assertion (aud = issuer) per request. */
async function pkjConfig() {
  const { id, jwk } = pkjClient();
  const key = await importJWK(jwk, 'ES256');
  return configFor(id, undefined, client.PrivateKeyJwt({ key, kid: jwk.kid }));
}

let jwksCache;
async function jwks() {
  jwksCache ??= createRemoteJWKSet(new URL((await serverMetadata()).jwks_uri));
  return jwksCache;
}

// ---------------------------------------------------------------- browser

/** The cookies a browser would keep for the issuer (one origin: loopback). */
class CookieJar {
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
async function browserFetch(jar, url, init = {}) {
  const headers = new Headers(init.headers);
  const cookies = jar.header();
  if (cookies) headers.set('cookie', cookies);
  headers.set('accept', 'text/html');
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(response);
  return response;
}

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
function parseForm(html, what) {
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
function submitForm(jar, pageUrl, action, fields) {
  const target = new URL(action ?? pageUrl, pageUrl);
  return browserFetch(jar, target, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(pageUrl).origin },
    body: new URLSearchParams(fields),
  });
}

function sameEndpoint(url, redirectUri) {
  const a = new URL(url);
  const b = new URL(redirectUri);
  return a.origin === b.origin && a.pathname === b.pathname;
}

function checkHostedPageHeaders(response, what) {
  const csp = response.headers.get('content-security-policy') ?? '';
  assert(csp.includes("default-src 'none'"), `${what}: Content-Security-Policy lacks default-src 'none'`, csp);
  assert(csp.includes("frame-ancestors 'none'"), `${what}: Content-Security-Policy lacks frame-ancestors 'none'`, csp);
  assertEqual(response.headers.get('x-frame-options')?.toUpperCase(), 'DENY', `${what}: X-Frame-Options`);
  assert((response.headers.get('cache-control') ?? '').includes('no-store'), `${what}: Cache-Control lacks no-store`);
}

/**
 * Plays a browser from `startUrl` until the server redirects to
 * `redirectUri`: signs in on /login when asked, answers `decision` on
 * /consent when asked. Returns the callback URL and which pages were shown.
 */
let approvedOnce = false;

async function runBrowser(jar, startUrl, redirectUri, { decision = 'allow', credentials = user() } = {}) {
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
async function startCodeFlow(config, redirectUri, extra = {}) {
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
async function signInWithCode(config, redirectUri, { jar = new CookieJar(), extra = {} } = {}) {
  const flow = await startCodeFlow(config, redirectUri, extra);
  const { callback, shown } = await runBrowser(jar, flow.url, redirectUri);
  assert(callback.searchParams.get('code'), 'callback without code', callback.href);
  const tokens = await client.authorizationCodeGrant(config, callback, flow.checks);
  return { tokens, jar, flow, callback, shown };
}

// ---------------------------------------------------------------- token checks

/** SHA-256 left half, base64url (OIDC Core §3.1.3.6, for RS256/ES256). */
function atHash(accessToken) {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

async function verifyIdToken(idToken, { clientId, nonce, accessToken }) {
  const { payload, protectedHeader } = await jwtVerify(idToken, await jwks(), {
    issuer: issuer(),
    audience: clientId,
    algorithms: ['RS256'],
  }).catch((e) => fail(`ID token does not verify against the JWKS: ${e.code ?? ''} ${e.message}`));
  assertEqual(protectedHeader.alg, 'RS256', 'ID token alg');
  assertEqual(payload.nonce, nonce, 'ID token nonce');
  assert(typeof payload.sub === 'string' && payload.sub, 'ID token sub', payload);
  assert(Number.isInteger(payload.auth_time), 'ID token auth_time is not an integer', payload);
  assert(payload.auth_time <= Math.floor(Date.now() / 1000) + 5, 'ID token auth_time is in the future', payload);
  assert(payload.auth_time >= Math.floor(Date.now() / 1000) - 600, 'ID token auth_time is too old', payload);
  assertEqual(payload.at_hash, atHash(accessToken), 'ID token at_hash');
  assert(Array.isArray(payload.amr) && payload.amr.includes('pwd'), 'ID token amr lacks "pwd"', payload.amr);
  assert(typeof payload.sid === 'string' && payload.sid, 'ID token has no sid', payload);
  if (payload.azp !== undefined) assertEqual(payload.azp, clientId, 'ID token azp');
  return payload;
}

async function verifyAccessToken(accessToken, { clientId, sub, scopes }) {
  assertEqual(decodeProtectedHeader(accessToken).typ, 'at+jwt', 'access token typ header');
  const { payload } = await jwtVerify(accessToken, await jwks(), {
    issuer: issuer(),
    typ: 'at+jwt',
    algorithms: ACCEPTED_ALGS,
  }).catch((e) => fail(`access token does not verify against the JWKS: ${e.code ?? ''} ${e.message}`));
  assertEqual(payload.client_id, clientId, 'access token client_id');
  if (sub !== undefined) assertEqual(payload.sub, sub, 'access token sub');
  const granted = String(payload.scope ?? '').split(' ');
  for (const scope of scopes) assert(granted.includes(scope), `access token scope lacks ${scope}`, payload.scope);
  for (const claim of ['exp', 'iat', 'jti']) assert(payload[claim] !== undefined, `access token has no ${claim}`, payload);
  return payload;
}

// ---------------------------------------------------------------- sections

const sections = {
  async discovery() {
    const iss = issuer();
    const expected = {
      issuer: iss,
      authorization_endpoint: `${iss}/oauth2/authorize`,
      token_endpoint: `${iss}/oauth2/token`,
      userinfo_endpoint: `${iss}/oauth2/userinfo`,
      jwks_uri: `${iss}/.well-known/jwks.json`,
      introspection_endpoint: `${iss}/oauth2/introspect`,
      revocation_endpoint: `${iss}/oauth2/revoke`,
      end_session_endpoint: `${iss}/oauth2/logout`,
      authorization_response_iss_parameter_supported: true,
    };
    const includes = {
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      introspection_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      revocation_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      scopes_supported: ['openid', 'profile', 'email'],
    };
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const response = await fetch(`${iss}${path}`);
      assertEqual(response.status, 200, `GET ${path} status`);
      const doc = await response.json();
      for (const [field, value] of Object.entries(expected)) assertEqual(doc[field], value, `${path} ${field}`);
      for (const [field, values] of Object.entries(includes)) {
        assert(Array.isArray(doc[field]), `${path} ${field} is not an array`, doc[field]);
        for (const value of values) assert(doc[field].includes(value), `${path} ${field} lacks ${value}`, doc[field]);
      }
      assertEqual(doc.code_challenge_methods_supported.includes('plain'), false, `${path} offers PKCE plain`);
      ok(`${path} lists the contract's endpoints and capabilities`);
    }
    // openid-client's own discovery (issuer check, both well-known locations).
    const oidc = await client.discovery(new URL(iss), webClient().id, webClient().secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    assertEqual(oidc.serverMetadata().issuer, iss, 'openid-client discovery issuer');
    await client.discovery(new URL(iss), webClient().id, webClient().secret, undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    ok('openid-client discovers the issuer (OIDC and RFC 8414 algorithms)');
    // The RS256 key of ID tokens is generated with the first ID token
    // (docs/operations.md); code_flow checks it is published then.
    const keys = await (await fetch(expected.jwks_uri)).json();
    assert(Array.isArray(keys.keys) && keys.keys.length > 0 && keys.keys.every((k) => k.kid), 'JWKS has no keys with kid', keys);
    assert(keys.keys.every((k) => k.d === undefined && k.p === undefined), 'JWKS publishes private key material');
    ok('JWKS publishes keys with kid and no private parts');
  },

  async code_flow() {
    const web = webClient();
    const config = await webConfig();
    const firstApproval = !approvedOnce;
    const { tokens, flow, shown } = await signInWithCode(config, web.redirectUri);
    assert(shown.login, 'the authorization request did not ask to sign in');
    ok('hosted login form signs in with its CSRF token (303, tessera_sso cookie, security headers)');
    if (firstApproval) {
      assert(shown.consent, 'a non-first-party client got a code without the consent page');
      ok('consent page shown for a non-first-party client; Allow redirects with code, state and iss');
    }
    assertEqual(tokens.token_type.toLowerCase(), 'bearer', 'token_type');
    assert(tokens.id_token, 'no id_token for scope openid', tokens);
    assert(tokens.refresh_token, 'no refresh_token for a client with the refresh_token grant', tokens);
    ok('authorizationCodeGrant with PKCE S256, expected state and nonce');
    const id = await verifyIdToken(tokens.id_token, {
      clientId: web.id,
      nonce: flow.checks.expectedNonce,
      accessToken: tokens.access_token,
    });
    assertEqual(id.email?.toLowerCase(), user().identifier.toLowerCase(), 'ID token email (email scope)');
    ok('ID token: RS256 over the JWKS, iss, aud, nonce, auth_time, at_hash, amr, sid, email');
    const at = await verifyAccessToken(tokens.access_token, { clientId: web.id, sub: id.sub, scopes: ['openid', 'profile', 'email'] });
    assert(at.sid, 'user access token has no sid', at);
    ok('access token: at+jwt over the JWKS, sub, client_id, scope, sid');
    const info = await client.fetchUserInfo(config, tokens.access_token, id.sub);
    assertEqual(info.sub, id.sub, 'userinfo sub');
    assertEqual(info.email?.toLowerCase(), user().identifier.toLowerCase(), 'userinfo email');
    assert(typeof info.email_verified === 'boolean', 'userinfo email_verified is not a boolean', info);
    ok('fetchUserInfo: sub matches the ID token, email present with scope email');
    const again = await signInWithCode(config, web.redirectUri);
    assert(again.shown.login && !again.shown.consent, 'a second sign-in asked for consent again', again.shown);
    ok('the remembered approval skips the consent page on the next sign-in');
  },

  async code_replay() {
    const web = webClient();
    const config = await webConfig();
    const { tokens, flow, callback } = await signInWithCode(config, web.redirectUri);
    await expectOAuthError(() => client.authorizationCodeGrant(config, callback, flow.checks), 'invalid_grant', 'second use of a code');
    ok('second use of an authorization code: invalid_grant');
    const after = await client.tokenIntrospection(config, tokens.access_token);
    assertEqual(after.active, false, 'introspection of the first use\'s access token after code replay');
    ok('code replay revokes the tokens of the first use');
  },

  async refresh() {
    const config = await webConfig();
    const { tokens } = await signInWithCode(config, webClient().redirectUri);
    const first = tokens.refresh_token;
    const rotated = await client.refreshTokenGrant(config, first);
    assert(rotated.refresh_token, 'refresh grant returned no refresh_token', rotated);
    assert(rotated.refresh_token !== first, 'refresh token was not rotated');
    assert(rotated.access_token && rotated.access_token !== tokens.access_token, 'refresh grant returned no new access token');
    if (rotated.id_token) assertEqual(rotated.claims().sub, tokens.claims().sub, 'refreshed ID token sub');
    ok('refreshTokenGrant rotates the refresh token and issues a new access token');
    await expectOAuthError(() => client.refreshTokenGrant(config, first), 'invalid_grant', 'reuse of the spent refresh token');
    ok('presenting the spent refresh token again: invalid_grant');
    await expectOAuthError(() => client.refreshTokenGrant(config, rotated.refresh_token), 'invalid_grant', 'the rotated refresh token after reuse');
    ok('reuse detection revoked the session: the rotated refresh token is dead too');
  },

  async revocation() {
    const config = await webConfig();
    const { tokens } = await signInWithCode(config, webClient().redirectUri);
    const live = await client.tokenIntrospection(config, tokens.access_token);
    assertEqual(live.active, true, 'introspection of a live access token');
    assertEqual(live.client_id, webClient().id, 'introspection client_id');
    assertEqual(live.sub, tokens.claims().sub, 'introspection sub');
    ok('tokenIntrospection: a live user access token is active with sub and client_id');
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    assertEqual((await client.tokenIntrospection(config, tokens.access_token)).active, false, 'introspection after revocation');
    ok('tokenRevocation of the access token: introspection answers active=false');
    await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    await expectOAuthError(() => client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', 'refresh with a revoked refresh token');
    ok('tokenRevocation of the refresh token: the refresh grant answers invalid_grant');
  },

  async public_client() {
    const pub = publicClient();
    const config = await publicConfig();
    const { tokens, flow } = await signInWithCode(config, pub.redirectUri);
    const id = await verifyIdToken(tokens.id_token, {
      clientId: pub.id,
      nonce: flow.checks.expectedNonce,
      accessToken: tokens.access_token,
    });
    await verifyAccessToken(tokens.access_token, { clientId: pub.id, sub: id.sub, scopes: ['openid'] });
    ok('public client (auth method none): code flow with PKCE S256, verified ID and access tokens');
  },

  async client_credentials() {
    const m2m = m2mClient();
    const config = await m2mConfig();
    const tokens = await client.clientCredentialsGrant(config, { scope: m2m.scope });
    assertEqual(tokens.token_type.toLowerCase(), 'bearer', 'token_type');
    assert(!tokens.id_token && !tokens.refresh_token, 'client_credentials returned an ID or refresh token', tokens);
    await verifyAccessToken(tokens.access_token, { clientId: m2m.id, sub: m2m.id, scopes: m2m.scope.split(' ') });
    ok(`clientCredentialsGrant: at+jwt over the JWKS with sub = client_id and scope ${m2m.scope}`);
    const live = await client.tokenIntrospection(config, tokens.access_token);
    assertEqual(live.active, true, 'introspection of a live client token');
    assertEqual(live.client_id, m2m.id, 'introspection client_id');
    ok('tokenIntrospection: the client token is active');
    await client.tokenRevocation(config, tokens.access_token);
    assertEqual((await client.tokenIntrospection(config, tokens.access_token)).active, false, 'introspection after revocation');
    ok('tokenRevocation: the client token is then inactive');
  },

  async private_key_jwt() {
    const pkj = pkjClient();
    const config = await pkjConfig();
    const tokens = await client.clientCredentialsGrant(config, { scope: pkj.scope });
    assertEqual(tokens.token_type.toLowerCase(), 'bearer', 'token_type');
    await verifyAccessToken(tokens.access_token, { clientId: pkj.id, sub: pkj.id, scopes: pkj.scope.split(' ') });
    ok('PrivateKeyJwt (ES256): clientCredentialsGrant issues a verifiable client token');
    const live = await client.tokenIntrospection(config, tokens.access_token);
    assertEqual(live.active, true, 'introspection of a live client token');
    assertEqual(live.client_id, pkj.id, 'introspection client_id');
    ok('PrivateKeyJwt (ES256): tokenIntrospection authenticates with a fresh assertion');
    // A key the client never registered is refused like a wrong secret.
    const { privateKey } = await generateKeyPair('ES256');
    const stranger = await configFor(pkj.id, undefined, client.PrivateKeyJwt({ key: privateKey, kid: pkj.jwk.kid }));
    await expectOAuthError(
      () => client.clientCredentialsGrant(stranger, { scope: pkj.scope }),
      'invalid_client',
      'assertion signed with an unregistered key',
    );
    ok('PrivateKeyJwt: an assertion signed with an unregistered key is invalid_client');
  },

  async consent_deny() {
    const web = webClient();
    const config = await webConfig();
    const flow = await startCodeFlow(config, web.redirectUri, { prompt: 'consent' });
    const { callback, shown } = await runBrowser(new CookieJar(), flow.url, web.redirectUri, { decision: 'deny' });
    assert(shown.consent, 'prompt=consent did not show the consent page');
    assertEqual(callback.searchParams.get('error'), 'access_denied', 'error after Deny');
    assertEqual(callback.searchParams.get('state'), flow.checks.expectedState, 'state after Deny');
    assertEqual(callback.searchParams.get('iss'), issuer(), 'iss after Deny');
    assertEqual(callback.searchParams.get('code'), null, 'code after Deny');
    ok('consent Deny: redirect with error=access_denied, state and iss');
  },

  async logout() {
    const web = webClient();
    const postLogout = env('TESSERA_WEB_POST_LOGOUT_REDIRECT_URI');
    const config = await webConfig();
    const jar = new CookieJar();
    const { tokens } = await signInWithCode(config, web.redirectUri, { jar });

    // Control: the browser session answers prompt=none with a code.
    const before = await startCodeFlow(config, web.redirectUri, { prompt: 'none' });
    const silent = (await runBrowser(jar, before.url, web.redirectUri)).callback;
    assert(silent.searchParams.get('code'), 'prompt=none with a live browser session gave no code', silent.href);
    ok('prompt=none with a live browser session returns a code');

    const state = client.randomState();
    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: postLogout,
      state,
    });
    const page = await browserFetch(jar, endSession);
    const html = await page.text();
    assertEqual(page.status, 200, `GET ${endSession.pathname} status (body: ${html.slice(0, 300)})`);
    checkHostedPageHeaders(page, 'logout page');
    const form = parseForm(html, 'logout page');
    assertEqual(form.hidden.post_logout_redirect_uri, postLogout, 'logout form post_logout_redirect_uri');
    assertEqual(form.hidden.state, state, 'logout form state');
    ok('buildEndSessionUrl: the confirmation page carries the hint, redirect URI and state');
    const done = await submitForm(jar, endSession, form.action, { ...form.hidden, decision: 'logout' });
    assertEqual(done.status, 303, 'POST /logout status');
    const target = new URL(done.headers.get('location'), endSession);
    assert(sameEndpoint(target, postLogout), `POST /logout redirected to ${target}, not ${postLogout}`);
    assertEqual(target.searchParams.get('state'), state, 'state after logout');
    ok('POST /logout: 303 to post_logout_redirect_uri with the same state');

    const after = await startCodeFlow(config, web.redirectUri, { prompt: 'none' });
    const answer = (await runBrowser(jar, after.url, web.redirectUri)).callback;
    assertEqual(answer.searchParams.get('error'), 'login_required', 'prompt=none after logout');
    assertEqual(answer.searchParams.get('state'), after.checks.expectedState, 'state of login_required');
    ok('after logout, prompt=none answers error=login_required');
    await expectOAuthError(() => client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', 'refresh after logout');
    ok('logout ended the token session granted from the browser session');
  },
};

// ---------------------------------------------------------------- main

const options = { only: null, allowFallbackMetadata: false };

function parseArgs(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--list') {
      console.log(Object.keys(sections).join('\n'));
      process.exit(0);
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      options.only = (value ?? '').split(',').filter(Boolean);
      const unknown = options.only.filter((name) => !(name in sections));
      if (unknown.length || !options.only.length) {
        console.error(`unknown section(s) ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);
        process.exit(2);
      }
    } else {
      console.error(`unknown argument ${arg}; usage: node conformance.mjs [--only a,b] [--list]`);
      process.exit(2);
    }
  }
  options.allowFallbackMetadata = options.only !== null && !options.only.includes('discovery');
}

parseArgs(process.argv.slice(2));
const selected = options.only ?? Object.keys(sections);
for (const name of selected) {
  console.log(`# ${name}`);
  try {
    await sections[name]();
  } catch (e) {
    const reason = e instanceof CheckFailed ? e.message : `${e?.name}: ${e?.message}${e?.error ? ` (${e.error}: ${e.error_description ?? ''})` : ''}${e?.cause ? `\n    cause: ${inspect(e.cause, { depth: 3 })}` : ''}`;
    console.log(`not ok - ${name}: ${reason}`);
    process.exit(1);
  }
}
console.log(`# all ${selected.length} section(s) passed`);
