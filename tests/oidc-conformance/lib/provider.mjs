// The authorization server as openid-client and jose see it: its metadata,
// a client Configuration per test client, and its JWKS.

import * as client from 'openid-client';
import { createRemoteJWKSet, importJWK } from 'jose';

import { fail } from './check.mjs';
import { issuer, m2mClient, options, pkjClient, publicClient, webClient } from './settings.mjs';

let metadataCache;

/**
 * The authorization server metadata, from discovery. In an `--only` run
 * without the discovery section a missing document falls back to the
 * endpoints the contract names (said on stdout), so the sections that work
 * today can run before discovery exists; a full run always discovers.
 */
export async function serverMetadata() {
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
export async function configFor(clientId, clientSecret, clientAuth) {
  const config = new client.Configuration(await serverMetadata(), clientId, clientSecret, clientAuth);
  client.allowInsecureRequests(config);
  return config;
}

/** openid-client Configurations of the test clients, one per authentication method. */
export const webConfig = () => configFor(webClient().id, webClient().secret, client.ClientSecretBasic(webClient().secret));
export const publicConfig = () => configFor(publicClient().id, undefined, client.None());
export const m2mConfig = () => configFor(m2mClient().id, m2mClient().secret, client.ClientSecretBasic(m2mClient().secret));
/** private_key_jwt: openid-client signs a fresh assertion (aud = issuer) per request. */
export async function pkjConfig() {
  const { id, jwk } = pkjClient();
  const key = await importJWK(jwk, 'ES256');
  return configFor(id, undefined, client.PrivateKeyJwt({ key, kid: jwk.kid }));
}

let jwksCache;
/** The issuer's published keys (fetched once, refreshed by jose as needed). */
export async function jwks() {
  jwksCache ??= createRemoteJWKSet(new URL((await serverMetadata()).jwks_uri));
  return jwksCache;
}
