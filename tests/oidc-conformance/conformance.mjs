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
//
// The checks live in sections/ (one module per group of sections) and the
// helpers they share in lib/.

import { inspect } from 'node:util';

import { CheckFailed } from './lib/check.mjs';
import { options } from './lib/settings.mjs';
import { sections } from './sections/index.mjs';

/** Reads --list / --only into `options` (exits on --list and on bad arguments). */
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
