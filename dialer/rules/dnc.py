"""Do-not-call entries as clients send them: numbers read as E.164, list and reason checked.

One shape for every way in (`POST /dnc`, `dialer dnc import`, the lookup and delete routes), so a
number is blocked under exactly the form intake and the claim compare against (`to_e164`).
"""

from dataclasses import dataclass

from dialer.rules import validation as v
from dialer.rules.numbers import InvalidNumber, to_e164

MAX_NUMBERS = 100_000  # per request: a larger list is a file for `dialer dnc import`
MAX_REASON = 200  # the column's width
MAX_DIGITS = 15  # E.164 (ITU-T): country code and national number together
REPORTED_ERRORS = 100  # per answer: a list of 100,000 bad numbers needs no 100,000 reasons

NOT_A_STRING = "must be a string"
TOO_LONG = f"too long for a phone number: E.164 numbers have at most {MAX_DIGITS} digits"
NUMBERS_RULE = f"must be a list of 1 to {MAX_NUMBERS} phone numbers"
CAMPAIGN_RULE = "must be null (the global list) or a campaign id: " + v.SAFE_ID_RULE
REASON_RULE = f"must be a string of at most {MAX_REASON} characters, without NUL characters or lone surrogates"
UNKNOWN = "unknown field: a do-not-call request takes numbers, campaign_id and reason"
FIELDS = ("numbers", "campaign_id", "reason")
INVALID = "invalid do-not-call entry: nothing stored"
INVALID_NUMBERS = "invalid numbers: nothing stored"


class InvalidEntry(ValueError):
    """What is wrong, and for which field (`{"numbers.3": [reason]}`)."""

    def __init__(self, message, fields):
        super().__init__(message)
        self.message = message
        self.fields = fields


@dataclass(frozen=True)
class DncRequest:
    numbers: list  # E.164, in the order sent (duplicates kept: storing them is idempotent)
    campaign_id: str | None  # None: the global list
    reason: str


def normalise(number, default_region):
    """`number` as E.164, or InvalidNumber with a reason fit for a client."""
    if not isinstance(number, str):
        raise InvalidNumber(NOT_A_STRING)
    e164 = to_e164(number, default_region)
    if len(e164) - 1 > MAX_DIGITS:
        raise InvalidNumber(TOO_LONG)
    return e164


def check_campaign_id(campaign_id):
    """None or a campaign id as contacts carry them; InvalidEntry otherwise."""
    if campaign_id is not None and not v.is_safe_id(campaign_id):
        raise InvalidEntry("invalid campaign id", {"campaign_id": [CAMPAIGN_RULE]})
    return campaign_id


def check_reason(reason):
    if not isinstance(reason, str) or len(reason) > MAX_REASON or not _storable(reason):
        raise InvalidEntry("invalid reason", {"reason": [REASON_RULE]})
    return reason


def _storable(text):
    """PostgreSQL's text takes no NUL character, and UTF-8 no lone surrogate (JSON's "\\ud800")."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_request(body, default_region):
    """The body of `POST /dnc` → DncRequest; InvalidEntry naming every bad field (all or nothing)."""
    if not isinstance(body, dict):
        raise InvalidEntry("expected a JSON object with numbers, campaign_id and reason", {})
    fields = {key: [UNKNOWN] for key in body if key not in FIELDS}
    for name, check in (("campaign_id", check_campaign_id), ("reason", check_reason)):
        try:
            check(body.get(name, "" if name == "reason" else None))
        except InvalidEntry as exc:
            fields.update(exc.fields)
    numbers = body.get("numbers")
    if not isinstance(numbers, list) or not 1 <= len(numbers) <= MAX_NUMBERS:
        fields["numbers"] = [NUMBERS_RULE]
        raise InvalidEntry(INVALID, fields)
    e164s, bad = normalise_all(numbers, default_region)
    fields.update(bad)
    if fields:
        raise InvalidEntry(INVALID_NUMBERS if bad else INVALID, fields)
    return DncRequest(e164s, body.get("campaign_id"), body.get("reason", ""))


def normalise_all(numbers, default_region):
    """(E.164 numbers, {"numbers.<index>": [reason]} for the first REPORTED_ERRORS bad ones)."""
    e164s, bad, count = [], {}, 0
    for index, number in enumerate(numbers):
        try:
            e164s.append(normalise(number, default_region))
        except InvalidNumber as exc:
            count += 1
            if count <= REPORTED_ERRORS:
                bad[f"numbers.{index}"] = [str(exc)]
    if count > REPORTED_ERRORS:
        bad["numbers"] = [f"{count} numbers are invalid; the first {REPORTED_ERRORS} are listed"]
    return e164s, bad

