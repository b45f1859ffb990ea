"""Liveness, readiness and metrics for the operator's process manager, load balancer and Prometheus."""

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text

from api import schemas
from api.auth import PUBLIC, access
from api.extensions import db
from api.openapi import doc
from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.metrics import StoreCollector, exposition
from dialer.flows.gauges import read_gauges

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@access(PUBLIC)
@doc({200: schemas.Health}, uses_database=False, summary="Liveness: the process answers")
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@access(PUBLIC)
@doc({200: schemas.Readiness, 503: schemas.Readiness})
def readyz():
    """Database (a failure is a 503 through the error handler), broker and switches."""
    db.session.execute(text("SELECT 1"))
    checks = {"database": "ok", "broker": broker_state(), "switches": switch_states()}
    ready = checks["broker"] == "ok" and all(v == "ok" for v in checks["switches"].values())
    return jsonify({"status": "ready" if ready else "degraded", **checks}), 200 if ready else 503


def broker_state():
    """"ok" or "unreachable: <error class>" (also on the dashboard)."""
    try:
        with current_app.extensions["dialer_celery"].connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises many types for a broker that is down
        return f"unreachable: {type(exc).__name__}"


def switch_states():
    """{switch: "ok" or "unreachable: ..."} (also on the dashboard)."""
    settings = current_app.config["DIALER_SETTINGS"]
    states = {}
    for switch in settings.switches:
        try:
            current_app.extensions["dialer_switches"].get(switch.name).api("status")
            states[switch.name] = "ok"
        except SwitchUnreachable as exc:
            states[switch.name] = f"unreachable: {exc}"
    return states


@blueprint.get("/metrics")
@access(PUBLIC)
@doc({200: schemas.PROMETHEUS_TEXT})
def metrics():
    """Prometheus: every process's counters and histograms, and gauges read from the store now."""
    store = StoreCollector(lambda: read_gauges(db.session), current_app.config["DIALER_SETTINGS"].switches)
    body, content_type = exposition(request.headers.get("Accept"), store)
    return Response(body, content_type=content_type)
