"""Campaign status for the campaign manager and operators."""

from flask import Blueprint, jsonify

from api import schemas
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows.campaigns import campaign_status, list_campaigns
from dialer.rules.validation import is_safe_id

blueprint = Blueprint("campaigns", __name__)


@blueprint.get("/campaigns")
@doc({200: schemas.CampaignList})
def campaigns():
    """Every campaign with its contacts counted by status."""
    return jsonify({"campaigns": list_campaigns(db.session)})


@blueprint.get("/campaigns/<campaign_id>")
@doc({200: schemas.CampaignStatus}, errors=(404,))
def campaign(campaign_id):
    """A campaign's state, counts by status, settings version, waiting contacts and dispositions."""
    # Campaign ids are safe ids (intake, settings), so another names none (a NUL would fail the query).
    found = campaign_status(db.session, campaign_id) if is_safe_id(campaign_id) else None
    if found is None:
        raise ApiError(404, f"no campaign with id {campaign_id!r}")
    return jsonify(found)
