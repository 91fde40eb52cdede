// Every section of the suite, in the order a full run takes them. The order
// matters: code_flow expects the consent page of the first sign-in, which
// the later sections then no longer see.

import { client_credentials, private_key_jwt } from './client-auth.mjs';
import { code_flow, code_replay, consent_deny, public_client } from './code-flow.mjs';
import { discovery } from './discovery.mjs';
import { logout } from './logout.mjs';
import { refresh, revocation } from './token-lifecycle.mjs';

/** Section name → the async function that runs its checks. */
export const sections = {
  discovery,
  code_flow,
  code_replay,
  refresh,
  revocation,
  public_client,
  client_credentials,
  private_key_jwt,
  consent_deny,
  logout,
};
