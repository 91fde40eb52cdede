// Reporting: one `ok - …` line per passed check; a failed check throws
// CheckFailed, which the runner prints as `not ok - …`.

import { inspect } from 'node:util';

import * as client from 'openid-client';

/** A failed check; its message is what `not ok - <section>:` prints. */
export class CheckFailed extends Error {}

/** Fails the current check with `message` (and what was seen, if given). */
export function fail(message, seen) {
  const detail = seen === undefined ? '' : `\n    seen: ${inspect(seen, { depth: 4, breakLength: 120 })}`;
  throw new CheckFailed(`${message}${detail}`);
}

/** Fails the current check with `message` unless `condition` holds. */
export function assert(condition, message, seen) {
  if (!condition) fail(message, seen);
}

/** Fails the current check unless `actual` is exactly `expected`. */
export function assertEqual(actual, expected, what) {
  if (actual !== expected) fail(`${what}: expected ${inspect(expected)}, got ${inspect(actual)}`);
}

/** Reports a passed check. */
export function ok(message) {
  console.log(`ok - ${message}`);
}

/** Runs `body` and expects it to throw an OAuth error response `error`. */
export async function expectOAuthError(body, error, what) {
  try {
    await body();
  } catch (e) {
    if (e instanceof client.ResponseBodyError && e.error === error) return e;
    fail(`${what}: expected OAuth error ${error}, got ${e?.name}: ${e?.error ?? e?.message}`, e?.cause);
  }
  fail(`${what}: expected OAuth error ${error}, but the request succeeded`);
}
