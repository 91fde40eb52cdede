// RP-initiated logout: the confirmation page, the redirect back with state,
// and the end of the browser session and of the tokens granted from it.

import * as client from 'openid-client';

import { assert, assertEqual, expectOAuthError, ok } from '../lib/check.mjs';
import { browserFetch, checkHostedPageHeaders, CookieJar, parseForm, runBrowser, sameEndpoint, signInWithCode, startCodeFlow, submitForm } from '../lib/hosted-pages.mjs';
import { webConfig } from '../lib/provider.mjs';
import { env, webClient } from '../lib/settings.mjs';

export async function logout() {
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
}
