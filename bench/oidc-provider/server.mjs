// Reference for tessera-bench: node `oidc-provider` (OpenID Certified)
// serving the client_credentials grant to one confidential client, so the
// bench can load it exactly as it loads Tessera's `client-credentials`
// scenario. Not a deployment: tokens live in oidc-provider's default
// in-memory adapter (one process, lost on exit).
//
//   PORT=4000 node server.mjs          (or: node server.mjs 4000)
//
// Environment: PORT (or the first argument; default 4000), HOST (default
// 127.0.0.1), BENCH_CLIENT_ID / BENCH_CLIENT_SECRET (default fixed bench
// values). Prints "ready <issuer>" once it accepts connections; exits on
// SIGTERM/SIGINT.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.argv[2] || process.env.PORT || 4000);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid port ${process.argv[2] || process.env.PORT}`);
  process.exit(2);
}
const clientId = process.env.BENCH_CLIENT_ID || 'bench-reference';
const clientSecret = process.env.BENCH_CLIENT_SECRET || 'bench-reference-secret-0123456789abcdef';
const issuer = `http://${host}:${port}`;

// A signing key generated at start (instead of oidc-provider's development
// keys and their warning). Client-credentials access tokens are opaque, so
// it signs nothing in the benchmark; the provider still needs one.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: 'bench-rs256',
  use: 'sig',
  alg: 'RS256',
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api',
    },
  ],
  scopes: ['api'],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ttl: { ClientCredentials: 600 },
});

// The server errors (500s) are counted by the bench; keep them visible.
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  console.log(`ready ${issuer}`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
