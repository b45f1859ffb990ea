"""Do-not-call lists: add numbers, look one up, take one off (DESIGN.md "Campaign policy").

Tokens are api/auth.py's default: GET with the read token, POST and DELETE with the API token.
"""

from flask import Blueprint, current_app, jsonify, request

from api import schemas
from api.contacts import json_body
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows.dnc import add_numbers, lookup, remove_number
from dialer.rules.dnc import InvalidEntry, check_campaign_id, normalise, parse_request
from dialer.rules.numbers import InvalidNumber

blueprint = Blueprint("dnc", __name__)


@blueprint.post("/dnc")
@doc({200: schemas.DncAdded}, body=schemas.DncAdd, errors=(400, 413))
def add():
    """Numbers onto the global list or a campaign's, all or nothing: how many were new."""
    entry = _checked(parse_request, json_body(), _region())
    added = add_numbers(db.session, entry.numbers, entry.campaign_id, entry.reason)
    db.session.commit()
    return jsonify({"added": added})


@blueprint.get("/dnc/<number>")
@doc({200: schemas.DncLookup}, errors=(400,))
def find(number):
    """The lists a number is on (read as E.164 in the default region)."""
    return jsonify(lookup(db.session, _e164(number)))


@blueprint.delete("/dnc/<number>")
@doc({200: schemas.DncRemoved}, query=schemas.DncRemoveQuery, errors=(400,))
def remove(number):
    """A number off the global list, or off one campaign's list with ?campaign_id=."""
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
