"""Contact intake and lookup: validate, hand to dialer.flows.intake, answer."""

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from api import schemas
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from api.openapi_fields import contact_body, contact_list_body
from dialer.flows.intake import error_fields, load_contact, parse_contact, parse_contacts, store_contacts
from dialer.rules.validation import is_safe_id

blueprint = Blueprint("contacts", __name__)


@blueprint.post("/contacts")
@doc({201: schemas.StoredContact, 200: schemas.StoredContact}, body=contact_body, errors=(400, 413))
def create_contact():
    """One contact, flat or nested: 201 when new, 200 when the same id was stored before."""
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "expected one contact as a JSON object (send lists to /contacts/bulk)")
    row = validated(parse_contact, body, "invalid contact: nothing stored")
    result = store_contacts(db.session, [row], **_intake_settings())
    stored = load_contact(db.session, row["id"])
    db.session.commit()
    return jsonify(stored), 201 if result.created else 200


@blueprint.post("/contacts/bulk")
@doc({201: schemas.BulkCreated}, body=contact_list_body, errors=(400, 413))
def create_contacts():
    """A list of contacts, all or nothing: how many were new and how many were stored before."""
    body = json_body()
    if not isinstance(body, list):
        raise ApiError(400, "expected a JSON array of contacts")
    rows = validated(parse_contacts, body, "invalid contacts: nothing stored")
    result = store_contacts(db.session, rows, **_intake_settings())
    db.session.commit()
    return jsonify({"created": result.created, "existing": result.existing}), 201


@blueprint.get("/contacts/<contact_id>")
@doc({200: schemas.StoredContact}, errors=(404,))
def get_contact(contact_id):
    """The contact: its columns, attempts and payload."""
    # Intake stores only safe ids, so another names no contact (and a NUL in it would fail the query).
    found = load_contact(db.session, contact_id) if is_safe_id(contact_id) else None
    if found is None:
        raise ApiError(404, f"no contact with id {contact_id!r}")
    return jsonify(found)


def _intake_settings():
    settings = current_app.config["DIALER_SETTINGS"]
    return {"region": settings.default_region, "vc_paths": settings.vc_paths}


def json_body():
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ApiError(400, "request body is not valid JSON")
    return body


def validated(parse, body, message):
    try:
        return parse(body)
    except ValidationError as exc:
        raise ApiError(400, message, error_fields(exc.messages)) from exc
