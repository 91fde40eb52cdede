// Machine clients: client_credentials with a client secret and with a
// private_key_jwt assertion, introspection and revocation of their tokens.

import * as client from 'openid-client';
import { generateKeyPair } from 'jose';

import { assert, assertEqual, expectOAuthError, ok } from '../lib/check.mjs';
import { configFor, m2mConfig, pkjConfig } from '../lib/provider.mjs';
import { m2mClient, pkjClient } from '../lib/settings.mjs';
import { verifyAccessToken } from '../lib/tokens.mjs';

export async function client_credentials() {
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
}

export async function private_key_jwt() {
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
}
