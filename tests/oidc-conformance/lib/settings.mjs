// What the suite is told: the issuer, the user and the clients, from the
// environment (see conformance.mjs), and the options of this run.

import { fail } from './check.mjs';

/** Options of this run, set by conformance.mjs from its arguments. */
export const options = { only: null, allowFallbackMetadata: false };

/** The environment variable `name` (or `fallback`); fails the check when unset. */
export function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') fail(`environment variable ${name} is not set`);
  return value;
}

/** The issuer URL, without a trailing slash. */
export const issuer = () => env('TESSERA_ISSUER').replace(/\/$/, '');
/** Where the issuer's hosted pages live: '' at the root, '/t/<slug>' for a tenant. */
export const basePath = () => new URL(issuer()).pathname.replace(/\/$/, '');
/**
 * The name Tessera gives cookie `name`: a tenant's carries its slug
 * (tessera_sso_<slug>); over https a cookie on path / is `__Host-`, a
 * tenant's (path /t/<slug>) `__Secure-`.
 */
export const cookieName = (name) => {
  const tenant = basePath().match(/^\/t\/([^/]+)$/);
  const bare = tenant ? `${name}_${tenant[1]}` : name;
  if (new URL(issuer()).protocol !== 'https:') return bare;
  return tenant ? `__Secure-${bare}` : `__Host-${bare}`;
};
/** The registered user's sign-in form fields. */
export const user = () => ({ identifier: env('TESSERA_USER_EMAIL'), password: env('TESSERA_USER_PASSWORD') });
/** Confidential web client: client_secret_basic, code + refresh_token. */
export const webClient = () => ({
  id: env('TESSERA_WEB_CLIENT_ID'),
  secret: env('TESSERA_WEB_CLIENT_SECRET'),
  redirectUri: env('TESSERA_WEB_REDIRECT_URI'),
});
/** Public client (auth method none), code flow with PKCE. */
export const publicClient = () => ({ id: env('TESSERA_PUBLIC_CLIENT_ID'), redirectUri: env('TESSERA_PUBLIC_REDIRECT_URI') });
/** Confidential machine client: client_credentials with client_secret_basic. */
export const m2mClient = () => ({
  id: env('TESSERA_M2M_CLIENT_ID'),
  secret: env('TESSERA_M2M_CLIENT_SECRET'),
  scope: env('TESSERA_M2M_SCOPE', 'reports:read'),
});
/** Confidential machine client authenticating with private_key_jwt (ES256). */
export const pkjClient = () => ({
  id: env('TESSERA_PKJ_CLIENT_ID'),
  jwk: JSON.parse(env('TESSERA_PKJ_PRIVATE_JWK')),
  scope: env('TESSERA_M2M_SCOPE', 'reports:read'),
});

/** What the user flows ask for. */
export const USER_SCOPE = 'openid profile email';
/** Signature algorithms an access token may use. */
export const ACCEPTED_ALGS = ['RS256', 'ES256', 'EdDSA'];
