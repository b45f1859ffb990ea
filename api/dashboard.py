"""The live dashboard at /dashboard: server-rendered pages (api/templates/dashboard/) whose script
(api/static/dashboard/, plain files: no build step, no CDN) reads GET /dashboard/data every few
seconds and draws it.

Sign-in with the read or the API token opens a session cookie (api/sessions.py) that counts as that
token on the routes marked `@session_allowed`; a bearer token works as well. The sign-in page and the
static files are public, everything else follows api/auth.py.
"""

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, current_app, g, redirect, render_template, request, send_from_directory, url_for

from api.auth import PUBLIC, WRITE, access, session_allowed
from api.dashboard_schemas import DashboardData
from api.errors import ApiError, error_response
from api.extensions import db
from api.health import broker_state, switch_states
from api.openapi import doc, undocumented
from api.sessions import CSRF_FIELD, csrf_matches, csrf_token, sign_in, sign_out
from dialer.adapters.vc_probe import vc_state
from dialer.flows.dashboard import dashboard_snapshot

blueprint = Blueprint("dashboard", __name__)
STATIC = Path(__file__).resolve().parent / "static" / "dashboard"
REFRESH_SECONDS = 5
# Pages load only the dialer's own files; no frames, no inline script (the data arrive as JSON).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@blueprint.get("/dashboard")
@session_allowed
@undocumented
def page():
    """The dashboard (a browser without a session is sent to sign in)."""
    return render_template("dashboard/dashboard.html", csrf_token=csrf_token() or "",
                           may_change=g.dialer_token_level == WRITE, refresh_seconds=REFRESH_SECONDS)


@blueprint.get("/dashboard/data")
@session_allowed
@doc({200: DashboardData})
def data():
    """What the dashboard shows: campaigns, calls, results, outbox, failed tasks and health.

    Calls per minute and results by disposition cover the last `window_minutes`; health is checked
    at each request (as /readyz does). The dashboard's session cookie counts as its token."""
    settings = current_app.config["DIALER_SETTINGS"]
    now = datetime.now(UTC)
    snapshot = dashboard_snapshot(db.session, settings.switches, now)
    states = switch_states()
    for switch in snapshot["switches"]:
        switch["health"] = states[switch["name"]]
    snapshot["health"] = {"database": "ok", "broker": broker_state(), "vc": vc_state(settings.vc_url)}
    return {"generated_at": now.isoformat(), **snapshot}


@blueprint.route("/dashboard/sign-in", methods=["GET", "POST"])
@access(PUBLIC)
@undocumented
def sign_in_page():
    """The sign-in form; a POST with the read or the API token opens the session."""
    if request.method == "GET":
        return render_template("dashboard/sign_in.html")
    if sign_in(current_app.config["DIALER_SETTINGS"], request.form.get("token", "").strip()):
        return redirect(url_for(".page"), 303)
    return render_template("dashboard/sign_in.html", error="That is neither the read token nor the API token."), 401


@blueprint.post("/dashboard/sign-out")
@access(PUBLIC)
@undocumented
def sign_out_page():
    """Close the session; the form carries the CSRF token, so no other page can sign anyone out."""
    if csrf_matches(request.form.get(CSRF_FIELD)):
        sign_out()
    return redirect(url_for(".sign_in_page"), 303)


@blueprint.get("/dashboard/static/<path:filename>")
@access(PUBLIC)
@undocumented
def static_file(filename):
    return send_from_directory(STATIC, filename)


@blueprint.errorhandler(ApiError)
def to_sign_in(exc):
    """A browser opening the page without a session signs in first; the rest answer the JSON error."""
    if exc.status == 401 and request.endpoint == "dashboard.page" and request.accept_mimetypes.accept_html:
        return redirect(url_for(".sign_in_page"), 303)
    return error_response(exc.status, exc.message, exc.fields)


@blueprint.after_request
def page_headers(response):
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "dashboard.static_file":
        response.headers["Cache-Control"] = "no-store"  # live data, and pages that carry a CSRF token
    return response
