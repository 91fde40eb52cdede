// The authorization code flow of a signed-in user: the hosted pages, consent
// (Allow, remembered, Deny), code replay, and a public client with PKCE.

import * as client from 'openid-client';

import { assert, assertEqual, expectOAuthError, ok } from '../lib/check.mjs';
import { approvedOnce, CookieJar, runBrowser, signInWithCode, startCodeFlow } from '../lib/hosted-pages.mjs';
import { publicConfig, webConfig } from '../lib/provider.mjs';
import { issuer, publicClient, user, webClient } from '../lib/settings.mjs';
import { verifyAccessToken, verifyIdToken } from '../lib/tokens.mjs';

export async function code_flow() {
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
}

export async function code_replay() {
  const web = webClient();
  const config = await webConfig();
  const { tokens, flow, callback } = await signInWithCode(config, web.redirectUri);
  await expectOAuthError(() => client.authorizationCodeGrant(config, callback, flow.checks), 'invalid_grant', 'second use of a code');
  ok('second use of an authorization code: invalid_grant');
  const after = await client.tokenIntrospection(config, tokens.access_token);
  assertEqual(after.active, false, 'introspection of the first use\'s access token after code replay');
  ok('code replay revokes the tokens of the first use');
}

export async function public_client() {
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
}

export async function consent_deny() {
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
}
