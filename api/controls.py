"""Campaign controls for the campaign manager: stop, start, purge (spec "Additional Functions")."""

from flask import Blueprint, jsonify

from api.auth import require_api_token
from api.errors import ApiError
from api.extensions import db
from dialer import controls

blueprint = Blueprint("controls", __name__)

ACTIONS = {"stop": controls.stop_campaign, "start": controls.start_campaign, "purge": controls.purge_campaign}


@blueprint.post("/campaigns/<campaign_id>/<action>")
@require_api_token
def control(campaign_id, action):
    if action not in ACTIONS:
        raise ApiError(404, f"unknown campaign action {action!r}; use stop, start or purge")
    changed = ACTIONS[action](db.session, campaign_id)
    if changed is None:
        raise ApiError(404, f"no campaign with id {campaign_id!r}")
    return jsonify({"campaign_id": campaign_id, "action": action, "changed": changed})
