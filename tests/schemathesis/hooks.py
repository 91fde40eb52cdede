"""Schemathesis hooks for scripts/schemathesis: every operation that declares
`security` runs as the bootstrap super admin with a live session, whatever
the operations before it did to that session.

Loaded through SCHEMATHESIS_HOOKS by scripts/schemathesis, which sets:

  TESSERA_SCHEMATHESIS_URL             base URL of the server under test
  TESSERA_SCHEMATHESIS_EMAIL           the super admin's email
  TESSERA_SCHEMATHESIS_PASSWORD        its password
  TESSERA_SCHEMATHESIS_ACCESS_TOKEN    the access token the script obtained
                                       (used until the first re-login)

Why not a static `-H "Authorization: Bearer …"`: the API under test can end
the very session the run uses (`POST /api/v1/auth/logout`, `/logout-all`,
`DELETE /api/v1/sessions/{id}` of the current session), and a super admin
may lock itself out through the admin API (set its own password, suspend,
disable, delete or rename itself: it outranks everyone, itself included).
With a static header every later request would be a 401, reported against
whichever operation came next. Four mechanisms prevent that:

1. `SuperAdminBearer`, an auth provider: the token comes from `_Session`,
   which logs in (`POST /api/v1/auth/login`) whenever its token is stale.
2. `after_call`: a 2xx from an operation that ends sessions, or a 401 to a
   request that carried our token, marks that token stale.
3. `before_call`: a request about to go out with one of our tokens gets the
   current one. The stateful phase builds a step's request before the
   previous step has run and, unlike the other phases, does not retry a 401
   with a fresh token (Schemathesis 4.32), so this is what keeps a
   stateful scenario that logs out in its first step working in its second.
4. Schemathesis's own re-authentication (examples, coverage and fuzzing
   phases): a 401 to a request sent with this provider's token invalidates
   its cache and the request is replayed once with a fresh token
   (`retry_on=[401]`).

Cases in which Schemathesis drops or corrupts the credentials on purpose
(negative tests of the security scheme) do not carry one of our tokens, so
none of this touches them: their 401 stands and is checked.

Self-lockout guard: a write to `/api/v1/admin/users/{id}…` whose `{id}` is
the super admin's own id is sent to the nil UUID instead (answered 404).
The stateful phase finds that id through links (e.g. from `GET
/api/v1/users/me` or the user listing) and, for example, `POST
/api/v1/admin/users/{id}/password` with `{}` would give the admin a random
password and end the run's ability to log in. The operations themselves are
still tested, on every other id.

The token is put only on operations whose OpenAPI entry declares a security
requirement. An operation that needs a token but does not declare one then
shows up as an undocumented 401 — a fact about the document worth seeing —
instead of being hidden by a header the document never asked for.
"""

from __future__ import annotations

import os
import threading

import requests
import schemathesis

BASE_URL = os.environ["TESSERA_SCHEMATHESIS_URL"].rstrip("/")
EMAIL = os.environ["TESSERA_SCHEMATHESIS_EMAIL"]
PASSWORD = os.environ["TESSERA_SCHEMATHESIS_PASSWORD"]

# Operations whose success ends the caller's session (or may: a session id
# from `GET /api/v1/sessions` can be the current one).
SESSION_ENDING = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-all"),
    ("DELETE", "/api/v1/sessions/{id}"),
}
ADMIN_USER_PREFIX = "/api/v1/admin/users/{id}"
NIL_UUID = "00000000-0000-0000-0000-000000000000"


def login() -> str:
    """A fresh access token for the super admin (`POST /api/v1/auth/login`)."""
    response = requests.post(
        f"{BASE_URL}/api/v1/auth/login",
        # Token mode explicitly: the server may be configured for cookies.
        params={"mode": "token"},
        json={"identifier": EMAIL, "password": PASSWORD},
        timeout=30,
    )
    if response.status_code != 200:
        # Schemathesis reports this as an authentication error naming the
        # provider. If it happens, the run found a way to lock the admin out
        # that the guard above does not cover.
        raise RuntimeError(
            f"re-login as {EMAIL} failed: HTTP {response.status_code} {response.text[:300]}"
        )
    return response.json()["access_token"]


class _Session:
    """The super admin's current access token, renewed when marked stale."""

    def __init__(self, token: str) -> None:
        self._lock = threading.Lock()
        self._token = token
        self._issued = {token} if token else set()

    def current(self) -> str:
        with self._lock:
            if not self._token:
                self._token = login()
                self._issued.add(self._token)
            return self._token

    def mark_stale(self, token: str) -> None:
        with self._lock:
            if token == self._token:
                self._token = ""

    def is_ours(self, token: str) -> bool:
        with self._lock:
            return token in self._issued


SESSION = _Session(os.environ.get("TESSERA_SCHEMATHESIS_ACCESS_TOKEN", ""))


def _admin_user_id() -> str:
    response = requests.get(
        f"{BASE_URL}/api/v1/users/me",
        headers={"Authorization": f"Bearer {SESSION.current()}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["id"]


ADMIN_USER_ID = _admin_user_id()


def _declares_security(ctx) -> bool:
    """Whether the operation's OpenAPI entry has a non-empty `security`."""
    return bool(ctx.operation.definition.raw.get("security"))


def _bearer(headers) -> str | None:
    value = (headers or {}).get("Authorization")
    if isinstance(value, str) and value.startswith("Bearer "):
        return value[len("Bearer ") :]
    return None


# refresh_interval: Schemathesis's cache of the token is re-filled at least
# every 4 minutes, below the access-token lifetime of any sane
# configuration. retry_on: the default ([401]) spelled out, because the
# replay is the point.
@schemathesis.auth(refresh_interval=240, retry_on=[401]).apply_to(_declares_security)
class SuperAdminBearer:
    """Bearer token of the bootstrap super admin."""

    def get(self, case, ctx):
        return SESSION.current()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(context, case, kwargs):
    token = _bearer(case.headers)
    if token is None or not SESSION.is_ours(token):
        return
    current = SESSION.current()
    if token != current:
        case.headers["Authorization"] = f"Bearer {current}"
    operation = case.operation
    if (
        operation.method.upper() != "GET"
        and operation.path.startswith(ADMIN_USER_PREFIX)
        and (case.path_parameters or {}).get("id") == ADMIN_USER_ID
    ):
        case.path_parameters["id"] = NIL_UUID


@schemathesis.hook
def after_call(context, case, response):
    token = _bearer(case.headers)
    if token is None or not SESSION.is_ours(token):
        return
    ends_session = (case.operation.method.upper(), case.operation.path) in SESSION_ENDING
    if response.status_code == 401 or (ends_session and 200 <= response.status_code < 300):
        SESSION.mark_stale(token)
