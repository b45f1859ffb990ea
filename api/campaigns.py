"""Campaign status for the campaign manager and operators."""

from flask import Blueprint, jsonify

from api.errors import ApiError
from api.extensions import db
from dialer.flows.campaigns import campaign_status, list_campaigns

blueprint = Blueprint("campaigns", __name__)


@blueprint.get("/campaigns")
def campaigns():
    return jsonify({"campaigns": list_campaigns(db.session)})


@blueprint.get("/campaigns/<campaign_id>")
def campaign(campaign_id):
    found = campaign_status(db.session, campaign_id)
    if found is None:
        raise ApiError(404, f"no campaign with id {campaign_id!r}")
    return jsonify(found)
