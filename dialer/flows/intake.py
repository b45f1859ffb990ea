"""Contact intake: validate either payload form, store idempotently, read a contact back.

`parse_contact` / `parse_contacts` turn what a client sent into rows for the `contacts` table, or
raise marshmallow's ValidationError with a reason per field (nested paths for the nested form; for
a list, the index first). `store_contacts` (dialer.flows.contact_store) writes the rows.
"""

import json
import re
from datetime import UTC

from marshmallow import ValidationError
from sqlalchemy import select

from dialer.adapters.models import CallAttempt, Contact
from dialer.flows.contact_store import ROW_KEYS, StoreResult, store_contacts
from dialer.rules.contact_schema import ContactSchema, load_nested
from dialer.rules.states import PENDING

__all__ = ["StoreResult", "contact_to_dict", "error_fields", "load_contact", "parse_contact",
           "parse_contacts", "store_contacts"]

NOT_AN_OBJECT = "each contact must be a JSON object"
NOT_STORABLE = ("contains a NUL character (\\u0000), an unpaired surrogate, NaN or Infinity, which cannot be "
                "stored as JSON")
DICT_KEYS = ("id", "customer_number", "campaign_type", "gateway_id", "status", "call_result", "received_time",
             "dial_time", "campaign_contact_id", "campaign_id", "start_time", "end_time", "priority", "ivr",
             "dialing_mode", "routing_mode", "resource_id", "queue_name", "scheduled_time",
             "service_identifier", "customer_ref", "answer_time", "hangup_time", "billsec", "agent",
             "timezone", "e164", "disposition", "dial_after")
ATTEMPT_KEYS = ("attempt", "uuid", "job_uuid", "switch_name", "kind", "agent", "created_at", "dial_time",
                "answer_time", "hangup_time", "hangup_cause", "billsec", "sip_term_status", "result_source",
                "disposition", "settings_version")

_schema = ContactSchema()
# json.dumps writes a NUL as \u0000; an escaped backslash (\\) before "u0000" does not start an escape.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def parse_contact(data):
    """One contact in either form (the nested one has a `header`) → a row for `contacts`."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": [NOT_AN_OBJECT]})
    values = load_nested(_schema, data) if "header" in data else _schema.load(data)
    if not _storable(data):
        raise ValidationError({"payload": [NOT_STORABLE]})
    row = dict.fromkeys(ROW_KEYS)
    row.update(values, status=PENDING, payload=data)
    scheduled = values.get("scheduled_time")
    row["dial_after"] = max(values["start_time"], scheduled) if scheduled else values["start_time"]
    return row


def parse_contacts(items):
    """A list of contacts → rows; any error raises one ValidationError keyed by index, then field."""
    rows, errors = [], {}
    for index, item in enumerate(items):
        try:
            rows.append(parse_contact(item))
        except ValidationError as exc:
            errors[index] = exc.messages
    if errors:
        raise ValidationError(errors)
    return rows


def error_fields(messages, prefix=""):
    """marshmallow messages → {"a.b.c": [reason, ...]}: nested keys and list indexes joined with '.'."""
    if not isinstance(messages, dict):
        reasons = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(reason) for reason in reasons]}
    found = {}
    for key, value in messages.items():
        found.update(error_fields(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def _storable(payload):
    """What Python's JSON parser accepts but PostgreSQL's jsonb does not: NUL, lone surrogates, NaN."""
    try:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return "\\u0000" not in text or _NUL_ESCAPE.search(text) is None


def load_contact(session, contact_id):
    """The contact and its attempts as `contact_to_dict` gives them, or None."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    attempts = session.scalars(select(CallAttempt).where(CallAttempt.contact_id == contact_id)
                               .order_by(CallAttempt.attempt, CallAttempt.id))
    return contact_to_dict(contact, list(attempts))


def contact_to_dict(contact, attempts):
    """Keys are the contact table's column names plus `attempts` and `payload`; times ISO-8601 UTC."""
    found = {key: _plain(getattr(contact, key)) for key in DICT_KEYS}
    found["attempts"] = [{key: _plain(getattr(a, key)) for key in ATTEMPT_KEYS} for a in attempts]
    found["payload"] = contact.payload
    return found


def _plain(value):
    return value.astimezone(UTC).isoformat() if hasattr(value, "astimezone") else value
