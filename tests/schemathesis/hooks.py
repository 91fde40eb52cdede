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

Client authentication: operations that declare the `client_basic` scheme
(`POST /oauth2/token`, `/oauth2/introspect`, `/oauth2/revoke`) get HTTP
Basic credentials of a confidential client that this module registers at
import, through the admin API (`POST /api/v1/admin/clients`, first-party,
grants `authorization_code`, `client_credentials` and `refresh_token`).
Writes to `/api/v1/admin/clients/{id}…` aimed at that client go to the nil
UUID, as for the admin's own user, so that the run cannot delete it or
rotate its secret.

UserInfo: `/oauth2/userinfo` needs a token granted `openid` through the
OIDC flow, which the first-party login token is not. Its provider signs the
super admin in through the hosted login form, runs the authorization code
flow with PKCE for the client above and uses the access token it gets; the
token is renewed like the admin's (a 401 to a request that carried it, or
a successful operation that ends the admin's sessions).

A token is put only on operations whose OpenAPI entry declares a security
requirement. An operation that needs a token but does not declare one then
shows up as an undocumented 401 — a fact about the document worth seeing —
instead of being hidden by a header the document never asked for.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

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
ADMIN_CLIENT_PREFIX = "/api/v1/admin/clients/{id}"
USERINFO = "/oauth2/userinfo"
# Never dereferenced: the flow stops at the redirect and reads its query.
REDIRECT_URI = "http://127.0.0.1:9/cb"
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
    """A bearer token, fetched again with `fetch` when marked stale."""

    def __init__(self, fetch, token: str = "") -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token = token
        self._issued = {token} if token else set()

    def current(self) -> str:
        with self._lock:
            if not self._token:
                self._token = self._fetch()
                self._issued.add(self._token)
            return self._token

    def mark_stale(self, token: str | None = None) -> None:
        """Marks `token` stale if it is the current one; every token if None."""
        with self._lock:
            if token is None or token == self._token:
                self._token = ""

    def is_ours(self, token: str) -> bool:
        with self._lock:
            return token in self._issued


SESSION = _Session(login, os.environ.get("TESSERA_SCHEMATHESIS_ACCESS_TOKEN", ""))


def _admin_user_id() -> str:
    response = requests.get(
        f"{BASE_URL}/api/v1/users/me",
        headers={"Authorization": f"Bearer {SESSION.current()}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["id"]


ADMIN_USER_ID = _admin_user_id()


def _register_client() -> tuple[str, str]:
    """A first-party confidential client for the OAuth endpoints."""
    response = requests.post(
        f"{BASE_URL}/api/v1/admin/clients",
        headers={"Authorization": f"Bearer {SESSION.current()}"},
        json={
            "name": "schemathesis",
            "client_type": "confidential",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
            "scopes": ["openid", "profile", "email", "api"],
            "first_party": True,
        },
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(
            f"registering the client failed: HTTP {response.status_code} {response.text[:300]}"
        )
    body = response.json()
    return body["client_id"], body["client_secret"]


CLIENT_ID, CLIENT_SECRET = _register_client()


def _hidden_input(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    if match is None:
        raise RuntimeError(f"the hosted login page has no hidden {name} input")
    return unescape(match.group(1))


def oidc_access_token() -> str:
    """An `openid` access token of the super admin: hosted login, then the
    authorization code flow with PKCE (S256) for the registered client."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    authorize = "/oauth2/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    browser = requests.Session()
    page = browser.get(f"{BASE_URL}/login", params={"return_to": authorize}, timeout=30)
    page.raise_for_status()
    signed_in = browser.post(
        f"{BASE_URL}/login",
        data={
            "csrf_token": _hidden_input(page.text, "csrf_token"),
            "return_to": authorize,
            "identifier": EMAIL,
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    if not 300 <= signed_in.status_code < 400:
        raise RuntimeError(f"hosted login failed: HTTP {signed_in.status_code} {signed_in.text[:300]}")
    answer = browser.get(f"{BASE_URL}{authorize}", allow_redirects=False, timeout=30)
    location = answer.headers.get("Location", "")
    codes = parse_qs(urlsplit(location).query).get("code")
    if not codes:
        raise RuntimeError(f"authorize gave no code: HTTP {answer.status_code} Location {location!r}")
    token = requests.post(
        f"{BASE_URL}/oauth2/token",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": codes[0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        timeout=30,
    )
    if token.status_code != 200:
        raise RuntimeError(f"code exchange failed: HTTP {token.status_code} {token.text[:300]}")
    return token.json()["access_token"]


OIDC_SESSION = _Session(oidc_access_token)
SESSIONS = (SESSION, OIDC_SESSION)


def _schemes(ctx) -> set[str]:
    """The security schemes named by the operation's OpenAPI entry."""
    return {name for requirement in ctx.operation.definition.raw.get("security") or [] for name in requirement}


def _admin_bearer(ctx) -> bool:
    return "bearer" in _schemes(ctx) and ctx.operation.path != USERINFO


def _userinfo_bearer(ctx) -> bool:
    return "bearer" in _schemes(ctx) and ctx.operation.path == USERINFO


def _client_basic(ctx) -> bool:
    return "client_basic" in _schemes(ctx)


def _bearer(headers) -> str | None:
    value = (headers or {}).get("Authorization")
    if isinstance(value, str) and value.startswith("Bearer "):
        return value[len("Bearer ") :]
    return None


# refresh_interval: Schemathesis's cache of the token is re-filled at least
# every 4 minutes, below the access-token lifetime of any sane
# configuration. retry_on: the default ([401]) spelled out, because the
# replay is the point.
@schemathesis.auth(refresh_interval=240, retry_on=[401]).apply_to(_admin_bearer)
class SuperAdminBearer:
    """Bearer token of the bootstrap super admin."""

    def get(self, case, ctx):
        return SESSION.current()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=240, retry_on=[401]).apply_to(_userinfo_bearer)
class OidcBearer:
    """The super admin's `openid` access token from the code flow."""

    def get(self, case, ctx):
        return OIDC_SESSION.current()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth().apply_to(_client_basic)
class ClientBasic:
    """HTTP Basic credentials of the registered confidential client."""

    def get(self, case, ctx):
        return base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Basic {data}"


def _session_of(token: str):
    return next((session for session in SESSIONS if session.is_ours(token)), None)


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = case.operation
    if operation.method.upper() != "GET":
        guarded = (
            (ADMIN_USER_PREFIX, ADMIN_USER_ID),
            (ADMIN_CLIENT_PREFIX, CLIENT_ID),
        )
        for prefix, own_id in guarded:
            if operation.path.startswith(prefix) and (case.path_parameters or {}).get("id") == own_id:
                case.path_parameters["id"] = NIL_UUID
    token = _bearer(case.headers)
    session = _session_of(token) if token else None
    if session is None:
        return
    current = session.current()
    if token != current:
        case.headers["Authorization"] = f"Bearer {current}"


@schemathesis.hook
def after_call(context, case, response):
    token = _bearer(case.headers)
    session = _session_of(token) if token else None
    if session is None:
        return
    ends_session = (case.operation.method.upper(), case.operation.path) in SESSION_ENDING
    if ends_session and 200 <= response.status_code < 300:
        # Logging out (all) also ends the browser session and the OIDC
        # token's session of the same user.
        for each in SESSIONS:
            each.mark_stale()
    elif response.status_code == 401:
        session.mark_stale(token)
