#!/usr/bin/env python3
"""A real SMTP server for Tessera's test suite (aiosmtpd).

    server.py --port N --maildir DIR [--user U --password P]

Listens on 127.0.0.1:N and writes every accepted message into DIR as
`<arrival>.eml`: the message exactly as received, preceded by one
`X-Envelope-To:` header per RCPT TO, so that a test can check the SMTP
envelope as well as the headers. Each file is written under a hidden
temporary name and then renamed, so a reader never sees half a message.

With --user and --password the server offers AUTH PLAIN and LOGIN and
refuses MAIL FROM before a successful AUTH (530). TLS is not required for
AUTH: the server is only ever reached over the loopback interface.

Prints "ready" on stdout once it accepts connections; runs until killed.
"""

import argparse
import asyncio
import itertools
import logging
import os
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Maildir:
    """The DATA handler: one file per message."""

    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        # Arrival order is the file-name order: a nanosecond clock, then a
        # counter for two messages within one tick.
        name = f"{time.time_ns():020d}-{next(self.counter):06d}.eml"
        envelope_lines = b"".join(
            f"X-Envelope-To: {rcpt}\r\n".encode() for rcpt in envelope.rcpt_tos
        )
        temporary = os.path.join(self.directory, f".{name}.tmp")
        with open(temporary, "wb") as out:
            out.write(envelope_lines)
            out.write(envelope.original_content)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temporary, os.path.join(self.directory, name))
        return "250 2.0.0 Message accepted for delivery"


def authenticator(user, password):
    """Accepts exactly `user` / `password` (AUTH PLAIN or LOGIN)."""

    def check(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = Maildir(args.maildir)
    options = {"hostname": "tessera-test-smtp", "loop": loop}
    if args.user is not None:
        options.update(
            authenticator=authenticator(args.user, args.password),
            auth_required=True,
            # Loopback only: no TLS, so AUTH must be allowed without it.
            auth_require_tls=False,
        )
    server = await loop.create_server(
        lambda: SMTP(handler, **options), host="127.0.0.1", port=args.port
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    os.makedirs(args.maildir, exist_ok=True)
    # aiosmtpd warns that AUTH without TLS is insecure (here that is the
    # point, see the module docstring) and about its own deprecated
    # internals: noise in a test's output. Errors still reach stderr.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
