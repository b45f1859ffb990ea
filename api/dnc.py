"""Do-not-call lists: add numbers, look one up, take one off (DESIGN.md "Campaign policy").

Tokens are api/auth.py's default: GET with the read token, POST and DELETE with the API token.
"""

from flask import Blueprint, current_app, jsonify, request

from api.contacts import json_body
from api.errors import ApiError
from api.extensions import db
from dialer.flows.dnc import add_numbers, lookup, remove_number
from dialer.rules.dnc import InvalidEntry, check_campaign_id, normalise, parse_request
from dialer.rules.numbers import InvalidNumber

blueprint = Blueprint("dnc", __name__)


@blueprint.post("/dnc")
def add():
    entry = _checked(parse_request, json_body(), _region())
    added = add_numbers(db.session, entry.numbers, entry.campaign_id, entry.reason)
    db.session.commit()
    return jsonify({"added": added})


@blueprint.get("/dnc/<number>")
def find(number):
    return jsonify(lookup(db.session, _e164(number)))


@blueprint.delete("/dnc/<number>")
def remove(number):
    e164 = _e164(number)
    campaign_id = _checked(check_campaign_id, request.args.get("campaign_id"))
    removed = remove_number(db.session, e164, campaign_id)
    db.session.commit()
    return jsonify({"removed": removed})


def _e164(number):
    try:
        return normalise(number, _region())
    except InvalidNumber as exc:
        raise ApiError(400, "invalid number", {"number": [str(exc)]}) from exc


def _checked(check, *args):
    try:
        return check(*args)
    except InvalidEntry as exc:
        raise ApiError(400, exc.message, exc.fields or None) from exc


def _region():
    return current_app.config["DIALER_SETTINGS"].default_region
