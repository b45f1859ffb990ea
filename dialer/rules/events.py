"""The switch's events, turned into plain results the results logic can act on.

Input is what the ESL adapter hands over: a dict of URL-decoded header strings, the body (if
any) under "_body". parse_frame and friends build that dict from raw text/event-plain and
text/event-json frames, so tests can feed recorded FreeSWITCH captures through the same path.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from dialer.rules.originate import originate_variables

# What an event means for its contact: the status it should end up in.
ENDED, FAILED, PENDING = "ended", "failed", "pending"
# The call reached the switch and has (or had) a channel; its CHANNEL_HANGUP_COMPLETE will
# carry the result, so the job reply itself changes nothing.
DIALED = "dialed"

# `-ERR` causes of a BACKGROUND_JOB whose originate never got a channel, so no hangup event
# follows (failover table of spec 000): an unknown gateway fails the contact for good; a gateway
# that is down, or the switch's session limits / a duplicate origination_uuid
# (DESTINATION_OUT_OF_ORDER), put it back to pending.
NO_CHANNEL_FAILED = frozenset({"INVALID_GATEWAY"})
NO_CHANNEL_RETRY = frozenset({"GATEWAY_DOWN", "DESTINATION_OUT_OF_ORDER"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The channel variables dialer/rules/originate.py sets; read by name, so a parser never walks the ~200
# headers of a hangup event.
OUR_VARIABLES = ("dialer_instance", "dialer_contact_id", "dialer_campaign_id", "dialer_attempt", "dialer_mode")


class MalformedEvent(ValueError):
    """An event or frame that does not have the shape FreeSWITCH gives it."""


@dataclass(frozen=True)
class CallEnded:
    uuid: str
    contact_id: str
    campaign_id: str | None
    attempt: int | None
    hangup_cause: str
    billsec: int
    answered: bool
    answered_at: datetime | None
    ended_at: datetime | None
    sip_term_status: str | None
    sip_hangup_disposition: str | None
    dialer_vars: dict[str, str] = field(default_factory=dict)  # our variables, without "variable_"


@dataclass(frozen=True)
class CallAnswered:
    uuid: str
    contact_id: str
    campaign_id: str | None
    attempt: int | None
    answered_at: datetime | None
    dialer_vars: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobResult:
    job_uuid: str
    ok: bool
    cause: str | None  # the word after "-ERR ", e.g. GATEWAY_DOWN; None when ok
    channel_uuid: str | None  # from "+OK <uuid>"
    call_uuid: str | None  # origination_uuid from the originate argument
    contact_id: str | None
    campaign_id: str | None
    dialer_vars: dict[str, str] = field(default_factory=dict)


Result = CallEnded | CallAnswered | JobResult


def parse_event(headers: dict) -> Result | None:
    """The result an event carries, or None for events the dialer does not act on."""
    name = headers.get("Event-Name")
    if name == "CHANNEL_HANGUP_COMPLETE":
        return _call_ended(headers)
    if name in ("CHANNEL_ANSWER", "CHANNEL_PARK"):  # a predictive call parks on the hold extension once answered
        return _call_answered(headers)
    if name == "BACKGROUND_JOB" and headers.get("Job-Command") == "originate":
        return _job_result(headers)
    return None


def job_may_change_contact(body: str) -> bool:
    """Cheaply, from a BACKGROUND_JOB body alone: is this an originate that never got a channel?
    Every other job result (`+OK`, or a failure the hangup event also reports) changes nothing."""
    words = body.split(None, 2)
    return len(words) > 1 and words[0] == "-ERR" and words[1] in NO_CHANNEL_FAILED | NO_CHANNEL_RETRY


def outcome_of(result: Result) -> str:
    """The contact status a result leads to: ENDED, FAILED, PENDING, or DIALED (no change yet)."""
    if isinstance(result, CallEnded):
        return ENDED
    if isinstance(result, JobResult) and not result.ok:
        if result.cause in NO_CHANNEL_FAILED:
            return FAILED
        if result.cause in NO_CHANNEL_RETRY:
            return PENDING
    return DIALED


def _call_ended(headers: dict) -> CallEnded:
    cause = headers.get("Hangup-Cause") or headers.get("variable_hangup_cause")
    if not cause:
        raise MalformedEvent("CHANNEL_HANGUP_COMPLETE without Hangup-Cause")
    answered_at = _answered_at(headers)
    return CallEnded(
        **_channel_ids(headers),
        hangup_cause=cause,
        billsec=_number(headers, "variable_billsec"),
        answered=answered_at is not None,
        answered_at=answered_at,
        ended_at=_time(headers, "Caller-Channel-Hangup-Time", "variable_end_uepoch", "variable_end_epoch"),
        sip_term_status=headers.get("variable_sip_term_status"),
        sip_hangup_disposition=headers.get("variable_sip_hangup_disposition"),
    )


def _call_answered(headers: dict) -> CallAnswered:
    return CallAnswered(**_channel_ids(headers), answered_at=_answered_at(headers))


def _channel_ids(headers: dict) -> dict:
    uuid = headers.get("Unique-ID")
    if not uuid:
        raise MalformedEvent(f"{headers.get('Event-Name')} without Unique-ID")
    ours = {name: headers.get("variable_" + name) for name in OUR_VARIABLES}
    ours = {name: value for name, value in ours.items() if value is not None}
    # Our variable first; the origination_uuid (the contact id on a first attempt) as a fallback.
    contact_id = ours.get("dialer_contact_id") or headers.get("variable_origination_uuid") or uuid
    return {
        "uuid": uuid,
        "contact_id": contact_id,
        "campaign_id": ours.get("dialer_campaign_id"),
        "attempt": _attempt(ours),
        "dialer_vars": ours,
    }


def _job_result(headers: dict) -> JobResult:
    job_uuid = headers.get("Job-UUID")
    if not job_uuid:
        raise MalformedEvent("BACKGROUND_JOB without Job-UUID")
    words = headers.get("_body", "").split()
    ok = words[:1] == ["+OK"]
    if ok:
        cause = None
    elif words[:1] == ["-ERR"] and len(words) > 1:
        cause = words[1]
    else:  # e.g. "-USAGE: ..." for a malformed originate; keep its first word
        cause = words[0].strip("-:") if words else "EMPTY_REPLY"
    variables = originate_variables(headers.get("Job-Command-Arg", ""))
    ours = {key: value for key, value in variables.items() if key.startswith("dialer_")}
    return JobResult(
        job_uuid=job_uuid,
        ok=ok,
        cause=cause,
        channel_uuid=words[1] if ok and len(words) > 1 else None,
        call_uuid=variables.get("origination_uuid"),
        contact_id=ours.get("dialer_contact_id") or variables.get("origination_uuid"),
        campaign_id=ours.get("dialer_campaign_id"),
        dialer_vars=ours,
    )


def _attempt(ours: dict[str, str]) -> int | None:
    if "dialer_attempt" not in ours:
        return None
    return _number(ours, "dialer_attempt")


def _answered_at(headers: dict) -> datetime | None:
    return _time(headers, "Caller-Channel-Answered-Time", "variable_answer_uepoch", "variable_answer_epoch")


def _time(headers: dict, micro_header: str, uepoch_var: str, epoch_var: str) -> datetime | None:
    """The first non-zero of the microsecond header, the *_uepoch and the *_epoch variables."""
    for name, microseconds_per_unit in ((micro_header, 1), (uepoch_var, 1), (epoch_var, 1_000_000)):
        value = _number(headers, name)
        if value:  # FreeSWITCH writes 0 for "never happened" (e.g. never answered)
            try:
                return _EPOCH + timedelta(microseconds=value * microseconds_per_unit)
            except OverflowError:  # beyond year 1..9999: no clock of a switch says that
                raise MalformedEvent(f"{name} is not a time: {headers.get(name)!r}") from None
    return None


def _number(headers: dict, name: str) -> int:
    value = headers.get(name) or "0"
    try:
        return int(value)
    except ValueError:
        raise MalformedEvent(f"{name} is not a whole number: {value!r}") from None


def parse_frame(frame: bytes) -> dict:
    """The event dict of one raw ESL event frame (outer headers, blank line, body)."""
    outer, body = split_frame(frame)
    content_type = outer.get("Content-Type")
    if content_type == "text/event-plain":
        return parse_plain_event(body.decode("utf-8", errors="replace"))
    if content_type == "text/event-json":
        return parse_json_event(body.decode("utf-8", errors="replace"))
    raise MalformedEvent(f"not a plain or json event frame: Content-Type {content_type!r}")


def parse_plain_frame(frame: bytes) -> dict:
    """The event dict of a raw text/event-plain frame."""
    outer, _ = split_frame(frame)
    if outer.get("Content-Type") != "text/event-plain":
        raise MalformedEvent(f"not text/event-plain: {outer.get('Content-Type')!r}")
    return parse_frame(frame)


def split_frame(frame: bytes) -> tuple[dict[str, str], bytes]:
    """A frame's outer headers and its Content-Length body."""
    head, separator, rest = frame.partition(b"\n\n")
    if not separator:
        raise MalformedEvent("frame without the blank line that ends its headers")
    headers = _header_lines(head.decode("utf-8", errors="replace"), decode=False)
    length = _number(headers, "Content-Length")
    if len(rest) != length:
        raise MalformedEvent(f"frame body is {len(rest)} bytes, Content-Length says {length}")
    return headers, rest


def parse_plain_event(body: str) -> dict:
    """A text/event-plain body: URL-encoded `Name: value` lines, then an optional own body."""
    head, separator, rest = body.partition("\n\n")
    event = _header_lines(head, decode=True)
    if separator and "Content-Length" in event:
        event["_body"] = rest
    return event


def parse_json_event(body: str) -> dict:
    """A text/event-json body: already the header dict, body included as "_body"."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedEvent(f"event-json body is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise MalformedEvent("event-json body is not an object")
    return event


def _header_lines(text: str, decode: bool) -> dict[str, str]:
    headers = {}
    for line in text.split("\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise MalformedEvent(f"header line without a colon: {line[:80]!r}")
        value = value[1:] if value.startswith(" ") else value
        headers[name] = unquote(value) if decode else value
    return headers


def answered_by_machine(headers: dict, machine_variables) -> bool:
    """Does a channel variable say a machine answered? `machine_variables`: (name, value) pairs,
    e.g. (("amd_result", "MACHINE"), ("avmd_detect", "TRUE")); values compared ignoring case."""
    return any((headers.get("variable_" + name) or "").upper() == value.upper() for name, value in machine_variables)
