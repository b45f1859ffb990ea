"""Bearer tokens on every route, checked before any view runs (default deny).

Three tokens: the API token (campaign manager, operators) may read and change; the optional read
token (dashboards, support staff) may only read; the connector token opens only the VC's callback.
A view declares what it needs with `@access(...)`; one that declares nothing needs the read token
for GET/HEAD and the API token otherwise, so a new route is never public by accident. A view marked
`@session_allowed` (the dashboard's, the failed tasks' requeue) also takes the dashboard's session
cookie as the token it was opened with (api/sessions.py).
"""

import hmac

from flask import current_app, g, request

from api.errors import ApiError
from api.sessions import session_token

PUBLIC = "public"  # health, readiness, metrics; /cdr checks its own HTTP basic credentials
READ = "read"
WRITE = "write"
CONNECTOR = "connector"


def access(level):
    """Decorator: the token level a view needs (PUBLIC, READ, WRITE or CONNECTOR)."""

    def mark(view):
        view.dialer_access = level
        return view

    return mark


def session_allowed(view):
    """Decorator: a browser signed in to the dashboard may call this view with its session cookie."""
    view.dialer_session = True
    return view


def check_token():
    """`before_request` hook: 401 without a known token, 403 with one that may not do this."""
    view = current_app.view_functions.get(request.endpoint)
    if view is None:  # no such route: let Flask answer 404 (or 405)
        return
    level = getattr(view, "dialer_access", None) or (READ if request.method in ("GET", "HEAD") else WRITE)
    if level == PUBLIC:
        return
    settings = current_app.config["DIALER_SETTINGS"]
    token = _bearer()
    if not token and getattr(view, "dialer_session", False):
        token = session_token(settings, changing=request.method not in ("GET", "HEAD"))
    held = g.dialer_token_level = _token_level(settings, token)
    if held is None:
        raise ApiError(401, "missing or wrong bearer token")
    if not _allows(held, level):
        raise ApiError(403, f"this token may not {_verb(level)}")


def _bearer():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _token_level(settings, token):
    if not token:
        return None
    for level, expected in ((WRITE, settings.api_token), (CONNECTOR, settings.connector_token),
                            (READ, settings.read_token)):
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return level
    return None


def _allows(held, needed):
    if needed == CONNECTOR or held == CONNECTOR:
        return held == needed
    return held == WRITE or needed == READ


def _verb(level):
    return {READ: "read this", WRITE: "change anything", CONNECTOR: "call the connector route"}[level]
