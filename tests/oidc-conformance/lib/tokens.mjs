// Checks of the tokens themselves: ID tokens (OIDC Core §3.1.3.7) and JWT
// access tokens (RFC 9068), verified with jose against the published JWKS.

import { createHash } from 'node:crypto';

import { decodeProtectedHeader, jwtVerify } from 'jose';

import { assert, assertEqual, fail } from './check.mjs';
import { jwks } from './provider.mjs';
import { ACCEPTED_ALGS, issuer } from './settings.mjs';

/** SHA-256 left half, base64url (OIDC Core §3.1.3.6, for RS256/ES256). */
function atHash(accessToken) {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** Verifies an ID token issued to `clientId` for `nonce` alongside `accessToken`; returns its claims. */
export async function verifyIdToken(idToken, { clientId, nonce, accessToken }) {
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

/** Verifies an at+jwt access token of `clientId` (for `sub`, with `scopes`); returns its claims. */
export async function verifyAccessToken(accessToken, { clientId, sub, scopes }) {
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
