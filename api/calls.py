"""Ongoing calls and slots (spec: "API to check current number of ongoing calls")."""

from flask import Blueprint, current_app, jsonify

from api.extensions import db
from dialer.flows.controls import ongoing_calls

blueprint = Blueprint("calls", __name__)


@blueprint.get("/calls/ongoing")
def ongoing():
    return jsonify(ongoing_calls(db.session, current_app.config["DIALER_SETTINGS"]))
