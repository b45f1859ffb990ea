"""The CDR FreeSWITCH's mod_json_cdr POSTs when a call ends, turned into the same CallEnded its
CHANNEL_HANGUP_COMPLETE event gives (sim/switch/captured/cdr/README.md has what the module sends).

The body is raw JSON whatever the Content-Type says (mod_json_cdr sends JSON labelled
application/x-www-form-urlencoded), or `cdr=<url-encoded JSON>` with the module's `encode` true.
Its `variables` are the channel variables under their plain names, every value a URL-encoded
string; read with a `variable_` prefix they are the hangup event's headers, so the event parser
reads them and both paths give equal results.
"""

import json
from urllib.parse import parse_qs, unquote

from dialer.rules.events import CallEnded, MalformedEvent, parse_event


def parse_cdr(body: bytes | str, query_uuid: str | None = None) -> CallEnded:
    """The call result in a mod_json_cdr body; `query_uuid` is the `?uuid=` of its request."""
    cdr = _cdr_object(body)
    variables = cdr.get("variables")
    if not isinstance(variables, dict) or not variables:
        raise MalformedEvent("CDR without variables")
    headers = {"variable_" + name: _decoded(name, value) for name, value in variables.items()}
    if query_uuid and "\x00" in query_uuid:  # the inbox's jsonb takes no NUL character
        raise MalformedEvent("CDR posted with a NUL character (%00) in ?uuid=")
    uuid = headers.get("variable_uuid") or headers.get("variable_call_uuid") or query_uuid
    if not uuid:
        raise MalformedEvent("CDR without a uuid (no variables.uuid, variables.call_uuid or ?uuid=)")
    if query_uuid and uuid != query_uuid:
        raise MalformedEvent(f"CDR of call {uuid} posted with ?uuid={query_uuid}")
    if not headers.get("variable_hangup_cause"):
        raise MalformedEvent(f"CDR of call {uuid} without variables.hangup_cause")
    headers.update({"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Unique-ID": uuid})
    try:
        return _storable(parse_event(headers))
    except MalformedEvent as error:  # a number that is not one; named as the CDR names it
        detail = str(error)
        detail = "variables." + detail.removeprefix("variable_") if detail.startswith("variable_") else detail
        raise MalformedEvent(f"CDR of call {uuid}: {detail}") from None


# What the results tables hold (dialer/adapters/models.py): a CDR beyond it would be accepted here and
# fail later in the worker that records it, so it is refused now.
_LONGEST = {"uuid": 40, "contact_id": 40, "campaign_id": 40, "hangup_cause": 40, "sip_term_status": 10}
_LARGEST_BILLSEC = 2**31 - 1


def _storable(result: CallEnded) -> CallEnded:
    for name, longest in _LONGEST.items():
        value = getattr(result, name)
        if value is not None and len(value) > longest:
            raise MalformedEvent(f"{name} longer than {longest} characters")
    if not 0 <= result.billsec <= _LARGEST_BILLSEC:
        raise MalformedEvent(f"variable_billsec out of range: {result.billsec}")
    return result


def _cdr_object(body: bytes | str) -> dict:
    """The JSON object of a raw-JSON or `cdr=` form body, decided by its first non-space character."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedEvent(f"CDR body is not UTF-8: {error}") from None
    text = body.lstrip()
    if text.startswith("cdr="):
        fields = parse_qs(text, keep_blank_values=True)
        text = fields["cdr"][0]
    try:
        cdr = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedEvent(f"CDR body is not JSON: {error}") from None
    except RecursionError:
        raise MalformedEvent("CDR body is not JSON: nested too deep") from None
    if not isinstance(cdr, dict):
        raise MalformedEvent(f"CDR body is a JSON {type(cdr).__name__}, not an object")
    return cdr


def _decoded(name: str, value) -> str:
    if not isinstance(value, str):
        raise MalformedEvent(f"CDR variables.{name} is not a string: {value!r}")
    text = unquote(value)
    if "\x00" in text:  # no channel variable holds one, and PostgreSQL's jsonb (the inbox) takes none
        raise MalformedEvent(f"CDR variables.{name} holds a NUL character (%00)")
    return text
