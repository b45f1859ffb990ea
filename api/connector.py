"""The voice connector's callback with the reserved agent (spec "Agent Details for Dialer").

The agent originate is sent from here, synchronously: the VC learns at once whether the call
went out (a switch that is down is the spec's 500), and the agent waits no longer than needed.
"""

import logging

from flask import Blueprint, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate

from api import schemas
from api.auth import CONNECTOR, access
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows import agents, predictive
from dialer.rules.validation import EXTENSION, QUEUE_NAME, SAFE_ID

log = logging.getLogger(__name__)
blueprint = Blueprint("connector", __name__)


def _empty_or(pattern, rule):
    return validate.Regexp(f"^$|{pattern.pattern}", error=rule)


class AgentDetails(Schema):
    agent = fields.String(required=True, validate=_empty_or(EXTENSION, "an agent extension or empty"))
    uuid = fields.String(required=True, validate=validate.Regexp(SAFE_ID, error="a call id (UUID)"))
    queue = fields.String(load_default="", validate=_empty_or(QUEUE_NAME, "a queue name or empty"))


@blueprint.post("/dialer-connector/agent")
@access(CONNECTOR)
@doc({200: schemas.AgentCallback}, body=AgentDetails, errors=(400, 404, 409, 500))
def agent_details():
    """The agent the VC reserved for a call waiting for one: the agent leg is dialed at once.

    500 when the switch is unreachable: the contact failed (SWITCH_DOWN) and the VC is told.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object with agent, uuid and queue")
    try:
        details = AgentDetails().load(body, unknown="exclude")
    except ValidationError as exc:
        raise ApiError(400, "invalid agent details", exc.messages) from exc
    decision = agents.accept_callback(db.session, details["uuid"], details["agent"], details["queue"])
    if decision.status == "not_found":
        raise ApiError(404, f"no contact with uuid {details['uuid']!r}")
    if decision.status == "predictive":
        return _connect(decision.contact, details["agent"], details["queue"])
    if decision.status == "conflict":
        db.session.rollback()
        raise ApiError(409, f"contact {details['uuid']} is {decision.contact.status}, not waiting for an agent")
    db.session.commit()
    if decision.status == "no_agent":
        return jsonify({"uuid": details["uuid"], "status": "pending"})
    return _dial(decision.contact)


def _connect(contact, agent, queue):
    """A predictive customer waiting on hold: connected to the agent within the deadline. No agent
    named: the VC is asked again if the deadline leaves time, else the customer is abandoned now.
    A callback too late dials and transfers nobody: 409."""
    settings = current_app.config["DIALER_SETTINGS"]
    switches = current_app.extensions["dialer_switches"]
    if not agent:
        wait = predictive.no_agent_yet(db.session, contact, settings)
        if wait is not None:  # time left: the VC is asked again shortly, the deadline still stands
            current_app.extensions["dialer_celery"].send_task("dialer.ask_agent_again", args=[contact.id],
                                                              countdown=wait, queue="results")
            return jsonify({"uuid": contact.id, "status": "waiting"})
        predictive.abandon(db.session, switches, settings, [contact.call_uuid], force=True)
        _deliver_soon()
        return jsonify({"uuid": contact.id, "status": "abandoned"})
    if predictive.connect(db.session, switches.get(contact.switch_name), settings, contact, agent, queue) == "late":
        _deliver_soon()
        raise ApiError(409, f"contact {contact.id} is no longer waiting for an agent (deadline passed, "
                            "abandoned, or hung up): nobody was connected")
    return jsonify({"uuid": contact.id, "status": "connected"})


def _deliver_soon():
    current_app.extensions["dialer_celery"].send_task("dialer.deliver_outbox")


def _dial(contact):
    settings = current_app.config["DIALER_SETTINGS"]
    client = current_app.extensions["dialer_switches"].get(contact.switch_name)
    outcome = agents.dial_reserved(db.session, client, settings, contact)
    if not outcome.dialed:
        current_app.extensions["dialer_celery"].send_task("dialer.deliver_outbox")
    if agents.switch_was_down(outcome):
        raise ApiError(500, "the switch is unreachable; the contact failed (SWITCH_DOWN) and the VC is told")
    status = "dialed" if outcome.dialed else ("failed" if outcome.failed else "pending")
    return jsonify({"uuid": contact.id, "status": status, "callResult": outcome.failed.get(contact.id)})
