// discovery: the metadata documents name the contract's endpoints and
// capabilities, openid-client discovers the issuer, and the JWKS publishes
// only public keys.

import * as client from 'openid-client';

import { assert, assertEqual, ok } from '../lib/check.mjs';
import { issuer, webClient } from '../lib/settings.mjs';

export async function discovery() {
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
    scopes_supported: ['openid', 'profile', 'email', 'roles', 'tessera:account', 'tessera:admin'],
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
}
