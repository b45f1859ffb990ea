"""The dashboard's sign-in: a Flask session cookie, signed with DIALER_SECRET_KEY, HttpOnly and
SameSite=Strict, that counts as the read or API token it was opened with on the routes marked
`@session_allowed` (api/auth.py).

The cookie holds an HMAC of the token, never the token itself (a Flask session is signed, not
encrypted), so it is worth nothing once that token is changed. A change made with the cookie (the
failed tasks' requeue button) must also carry the session's CSRF token in the X-CSRF-Token header:
SameSite=Strict already keeps the cookie off other sites' requests; the header is the second lock,
for browsers or proxies that do not honour it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, request, session

from api.errors import ApiError

COOKIE = "dialer_session"
LIFETIME = timedelta(hours=12)  # from sign-in (not renewed by use): a shift, then sign in again
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the same token in a form (sign-out)
_TOKEN, _CSRF = "token_hmac", "csrf"


def configure_sessions(app, settings):
    """The secret and the cookie's flags. Without DIALER_SECRET_KEY the secret is derived from the API
    token: every web process of the fleet derives the same one, and whoever could forge a cookie with
    it holds the API token already."""
    app.secret_key = settings.secret_key or hmac.new(
        settings.api_token.encode(), b"efswitch-dialer dashboard sessions", hashlib.sha256).hexdigest()
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_SECURE=settings.cookie_secure,  # DIALER_COOKIE_SECURE, behind TLS
                      PERMANENT_SESSION_LIFETIME=LIFETIME, SESSION_REFRESH_EACH_REQUEST=False)


def sign_in(settings, token):
    """Open a session for the read or the API token (the connector's opens nothing); False otherwise."""
    if not any(expected and _same(token, expected) for expected in _session_tokens(settings)):
        return False
    session.clear()
    session.permanent = True
    session[_TOKEN] = _fingerprint(token)
    session[_CSRF] = secrets.token_urlsafe(32)
    return True


def sign_out():
    session.clear()


def session_token(settings, changing):
    """The configured token this request's session holds, or "" (no session, or its token was changed).
    A change (`changing`) also needs the session's CSRF token: 403 without it."""
    held = session.get(_TOKEN)
    if not isinstance(held, str):
        return ""
    token = next((t for t in _session_tokens(settings) if t and _same(held, _fingerprint(t))), "")
    if token and changing and not csrf_matches(request.headers.get(CSRF_HEADER)):
        raise ApiError(403, f"missing or wrong CSRF token ({CSRF_HEADER} header)")
    return token


def csrf_token():
    return session.get(_CSRF)


def csrf_matches(candidate):
    expected = session.get(_CSRF)
    return bool(expected and candidate) and _same(candidate, expected)


def _session_tokens(settings):
    return settings.api_token, settings.read_token


def _fingerprint(token):
    return hmac.new(current_app.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _same(a, b):
    return hmac.compare_digest(a.encode(), b.encode())
