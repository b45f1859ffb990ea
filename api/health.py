"""Liveness, readiness and metrics for the operator's process manager, load balancer and Prometheus."""

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import func, select, text

from api.auth import PUBLIC, access
from api.extensions import db
from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.models import Contact, OutboxMessage

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@access(PUBLIC)
def healthz():
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
@access(PUBLIC)
def readyz():
    """Database (a failure is a 503 through the error handler), broker and switches."""
    db.session.execute(text("SELECT 1"))
    checks = {"database": "ok", "broker": _broker(), "switches": _switches()}
    ready = checks["broker"] == "ok" and all(v == "ok" for v in checks["switches"].values())
    return jsonify({"status": "ready" if ready else "degraded", **checks}), 200 if ready else 503


def _broker():
    try:
        with current_app.extensions["dialer_celery"].connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises many types for a broker that is down
        return f"unreachable: {type(exc).__name__}"


def _switches():
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
def metrics():
    """Prometheus text format, computed at scrape time from the store."""
    lines = ["# HELP dialer_contacts Contacts by status.", "# TYPE dialer_contacts gauge"]
    for status, count in db.session.execute(select(Contact.status, func.count()).group_by(Contact.status)):
        lines.append(f'dialer_contacts{{status="{status}"}} {count}')
    lines += ["# HELP dialer_outbox_messages VC messages by delivery status.", "# TYPE dialer_outbox_messages gauge"]
    for status, count in db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
        lines.append(f'dialer_outbox_messages{{status="{status}"}} {count}')
    lines += ["# HELP dialer_capacity Call slots over all switches.", "# TYPE dialer_capacity gauge",
              f"dialer_capacity {current_app.config['DIALER_SETTINGS'].capacity}"]
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
