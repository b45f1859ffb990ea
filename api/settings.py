"""Campaign settings (DESIGN.md "Campaign policy"): PUT a new version, GET the effective settings."""

from flask import Blueprint, current_app, jsonify, request

from api import schemas
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows.policy_store import load_settings, save_settings
from dialer.rules.policy import InvalidPolicy
from dialer.rules.validation import SAFE_ID_RULE, is_safe_id

blueprint = Blueprint("settings", __name__)


@blueprint.put("/campaigns/<campaign_id>/settings")
@doc({200: schemas.EffectiveSettings}, body=schemas.SettingsDocument, errors=(400, 413),
     path={"campaign_id": schemas.SAFE_ID})
def put_settings(campaign_id):
    """The body (a JSON object) becomes the campaign's next version; 400 names each bad field."""
    _check_id(campaign_id)
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "expected the campaign settings as a JSON object")
    try:
        save_settings(db.session, campaign_id, body)
    except InvalidPolicy as exc:
        raise ApiError(400, "invalid campaign settings: nothing changed", exc.fields) from exc
    effective = load_settings(db.session, campaign_id, _house())
    db.session.commit()
    return jsonify(effective)


@blueprint.get("/campaigns/<campaign_id>/settings")
@doc({200: schemas.EffectiveSettings}, errors=(400, 404), path={"campaign_id": schemas.SAFE_ID})
def get_settings(campaign_id):
    """The campaign's effective settings (house rules under its own) and their version."""
    _check_id(campaign_id)
    effective = load_settings(db.session, campaign_id, _house())
    if effective is None:
        raise ApiError(404, f"no campaign with id {campaign_id!r}")
    return jsonify(effective)


def _check_id(campaign_id):
    if not is_safe_id(campaign_id):
        raise ApiError(400, "invalid campaign id", {"campaign_id": [SAFE_ID_RULE]})


def _house():
    return current_app.config["DIALER_SETTINGS"].default_policy
