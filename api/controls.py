"""Campaign controls for the campaign manager: stop, start, purge (spec "Additional Functions"),
and requeue by result."""

import re

from flask import Blueprint, jsonify, request

from api import schemas
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows import controls
from dialer.rules.validation import is_safe_id

blueprint = Blueprint("controls", __name__)

ACTIONS = {"stop": controls.stop_campaign, "start": controls.start_campaign, "purge": controls.purge_campaign}


RESULT = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")


@blueprint.post("/campaigns/<campaign_id>/requeue")
@doc({200: schemas.ControlResult}, body=schemas.RequeueRequest, errors=(400, 404))
def requeue(campaign_id):
    """`{"results": ["LOST", ...]}`: the campaign's final contacts with those results → pending."""
    body = request.get_json(silent=True)
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results:
        raise ApiError(400, "invalid request", {"results": ["a non-empty list of call results, e.g. [\"LOST\"]"]})
    bad = [r for r in results if not isinstance(r, str) or not RESULT.match(r)]
    if bad:
        raise ApiError(400, "invalid request", {"results": [f"not a call result: {r!r}" for r in bad]})
    # Campaign ids are safe ids (intake, settings), so another names none (a NUL would fail the query).
    changed = controls.requeue_by_result(db.session, campaign_id, results) if is_safe_id(campaign_id) else None
    if changed is None:
        raise ApiError(404, f"no campaign with id {campaign_id!r}")
    return jsonify({"campaign_id": campaign_id, "action": "requeue", "results": results, "changed": changed})


# Only the actions themselves: a catch-all <action> also matched /campaigns/<id>/settings, so a POST
# there was "unknown action" and its OPTIONS/405 advertised POST; now it is a 405 naming GET and PUT.
@blueprint.post(f"/campaigns/<campaign_id>/<any({', '.join(sorted(ACTIONS))}):action>")
@doc({200: schemas.ControlResult}, errors=(404,))
def control(campaign_id, action):
    """stop (pending → stopped), start (stopped → pending) or purge (pending and stopped → removed)."""
    changed = ACTIONS[action](db.session, campaign_id) if is_safe_id(campaign_id) else None
    if changed is None:
        raise ApiError(404, f"no campaign with id {campaign_id!r}")
    return jsonify({"campaign_id": campaign_id, "action": action, "changed": changed})
