// What happens to a user's tokens after issue: refresh rotation with reuse
// detection, introspection and revocation.

import * as client from 'openid-client';

import { assert, assertEqual, expectOAuthError, ok } from '../lib/check.mjs';
import { signInWithCode } from '../lib/hosted-pages.mjs';
import { webConfig } from '../lib/provider.mjs';
import { webClient } from '../lib/settings.mjs';

export async function refresh() {
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
}

export async function revocation() {
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
}
