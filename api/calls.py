"""Ongoing calls and slots (spec: "API to check current number of ongoing calls")."""

from flask import Blueprint, current_app, jsonify

from api import schemas
from api.extensions import db
from api.openapi import doc
from dialer.flows.controls import ongoing_calls

blueprint = Blueprint("calls", __name__)


@blueprint.get("/calls/ongoing")
@doc({200: schemas.Ongoing})
def ongoing():
    """Calls up, slots held and free over all switches."""
    return jsonify(ongoing_calls(db.session, current_app.config["DIALER_SETTINGS"]))
