"""Campaign policy (DESIGN.md "Campaign policy"): the settings' shape, defaults and retry schedule.

A policy document is the JSON object of `PUT /campaigns/<id>/settings` and of DIALER_DEFAULT_POLICY.
`parse_policy` validates one (every key optional, unknown keys rejected) and returns it normalised;
`effective_policy` lays DEFAULTS, the house rules and a campaign's own settings over each other;
`next_attempt_delay` says when (if ever) a contact is dialed again after a result.

A key whose default is None may also be given as null: "no cap", "no hours", "no caller id", so a
campaign can lift a house rule.
"""

import re
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

from marshmallow import RAISE, Schema, ValidationError, fields

from dialer.rules import validation as v

# Disposition classes a retry rule may name; dialer/rules/dispositions.py maps causes onto the same names.
POLICY_CLASSES = ("ANSWERED", "BUSY", "NO_ANSWER", "REJECTED", "UNREACHABLE", "TEMPORARY", "GATEWAY",
                  "SWITCH_DOWN", "LOST", "MACHINE", "ABANDONED")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DELAY_SECONDS = 30 * 24 * 3600  # the longest after_seconds, and the longest delay backoff may reach

# The seeds' behaviour: one attempt, nothing retried, no hours, no caps. max_attempts None means no
# cap beyond the per-class retries (with `retries` empty that is one attempt), so a campaign that only
# gives retry rules gets them without also having to raise a cap.
DEFAULTS = {"retries": {}, "max_attempts": None, "max_calls_per_number_24h": None, "calling_hours": None,
            "blocked_dates": [], "fallback_timezone": None, "caller_id": None,
            # connect_seconds None: DIALER_ABANDON_SECONDS (2 s unless the operator says otherwise)
            "predictive": {"abandon_target": 0.03, "max_dial_ratio": 3.0, "connect_seconds": None}}
MERGED_PER_KEY = ("retries", "predictive")  # a campaign's rule for BUSY leaves the house's NO_ANSWER rule

_HOUR = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
NOT_AN_OBJECT = "must be a JSON object"
HOURS_RULE = ('must be ["HH:MM", "HH:MM"], local start and end (exclusive) of the day\'s calling hours, '
              'start before end; "24:00" is allowed as an end')
DATE_RULE = "must be a list of ISO dates, e.g. [\"2026-12-25\"]"
ZONE_RULE = "must be an IANA time zone name, e.g. America/New_York"
UNSAFE = "not allowed in a switch command: "
MESSAGES = {"required": "required", "null": "may not be null"}


class InvalidPolicy(ValueError):
    """A policy document that does not validate; `fields` maps dotted field names to reasons."""

    def __init__(self, fields):
        super().__init__("; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in fields.items()))
        self.fields = fields


class Number(fields.Field):
    """A JSON number (never a string or a boolean) within [low, high]; `whole` demands an integer."""

    default_error_messages = MESSAGES

    def __init__(self, low, high, whole=False, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high, self.whole = low, high, whole

    def _deserialize(self, value, attr, data, **kwargs):
        kinds = (int,) if self.whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not self.low <= value <= self.high:
            kind = "a whole number" if self.whole else "a number"
            raise ValidationError(f"must be {kind} from {self.low} to {self.high}")
        return value


class Checked(fields.Field):
    """A value `check(value)` accepts and `normalise` turns into its stored form; else `rule`."""

    default_error_messages = MESSAGES

    def __init__(self, check, rule, normalise=None, **kwargs):
        super().__init__(**kwargs)
        self.check, self.rule, self.normalise = check, rule, normalise

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.check(value):
            raise ValidationError(self.rule)
        return self.normalise(value) if self.normalise else value


def _strict(name, declared, error="unknown field"):
    """A schema class of `declared` fields that rejects any other key (most likely a misspelling)."""

    class Meta:
        unknown = RAISE

    messages = {"type": NOT_AN_OBJECT, "unknown": f"{error}: one of {', '.join(declared)}"}
    return type(name, (Schema,), {**declared, "Meta": Meta, "error_messages": messages})


def _nested(schema, **kwargs):
    return fields.Nested(schema, error_messages=MESSAGES, **kwargs)


def _hours(value):
    return (isinstance(value, list) and len(value) == 2 and all(isinstance(t, str) for t in value)
            and _HOUR.match(value[0]) is not None and (_HOUR.match(value[1]) or value[1] == "24:00")
            and value[0] < value[1])


def _dates(value):
    return isinstance(value, list) and len(value) <= 1000 and all(_is_date(d) for d in value)


def _is_date(value):
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def _zones():
    return frozenset(available_timezones())


def _zone(value):
    return isinstance(value, str) and value in _zones()


def _text(check):
    return lambda value: isinstance(value, str) and check(value)


RetryRule = _strict("RetryRule", {
    "retries": Number(0, 10, whole=True, required=True),
    "after_seconds": Number(0, MAX_DELAY_SECONDS, required=True),
    "backoff": Number(1.0, 10.0, load_default=1.0),
})
Retries = _strict("Retries", {name: _nested(RetryRule) for name in POLICY_CLASSES},
                  error="unknown disposition class")
CallingHours = _strict("CallingHours", {day: Checked(_hours, HOURS_RULE, list) for day in DAYS},
                       error="unknown day")
CallerId = _strict("CallerId", {
    "number": Checked(_text(v.is_phone_number), UNSAFE + v.PHONE_NUMBER_RULE, required=True),
    # The name goes single-quoted into `{...}` of the originate (origination_caller_id_name='<name>'), like
    # a queue name: that alphabet has spaces but no comma, quote, brace or bracket that could end it.
    "name": Checked(_text(v.is_queue_name), UNSAFE + v.QUEUE_NAME_RULE),
})
Predictive = _strict("Predictive", {
    "abandon_target": Number(0, 0.2),
    "max_dial_ratio": Number(1, 5),
    "connect_seconds": Number(1, 10, allow_none=True),  # None: DIALER_ABANDON_SECONDS, as in DEFAULTS
})
PolicySchema = _strict("PolicySchema", {
    "retries": _nested(Retries),
    "max_attempts": Number(1, 20, whole=True, allow_none=True),
    "max_calls_per_number_24h": Number(1, 100, whole=True, allow_none=True),
    "calling_hours": _nested(CallingHours, allow_none=True),
    "blocked_dates": Checked(_dates, DATE_RULE, lambda dates: sorted(set(dates))),
    "fallback_timezone": Checked(_zone, ZONE_RULE, allow_none=True),
    "caller_id": _nested(CallerId, allow_none=True),
    "predictive": _nested(Predictive),
})


NO_DAYS = "lists no day, so nobody could ever be called: give at least one day, or null for no limit"


def parse_policy(document):
    """The validated policy, normalised (only the keys given); InvalidPolicy naming each bad field."""
    if not isinstance(document, dict):
        raise InvalidPolicy({"_schema": [NOT_AN_OBJECT]})
    # What GET answers may be sent back edited: its "version" is the store's to give, not a setting.
    document = {key: value for key, value in document.items() if key != "version"}
    try:
        policy = PolicySchema().load(document)
    except ValidationError as exc:
        raise InvalidPolicy(_dotted(exc.messages)) from exc
    if policy.get("calling_hours") == {}:
        raise InvalidPolicy({"calling_hours": [NO_DAYS]})
    return policy


def _dotted(messages, prefix=""):
    """marshmallow's nested messages → {"retries.BUSY.after_seconds": [reason, ...]}."""
    if not isinstance(messages, dict):
        reasons = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(reason) for reason in reasons]}
    found = {}
    for key, value in messages.items():
        inner = prefix if key == "_schema" and prefix else f"{prefix}.{key}" if prefix else str(key)
        found.update(_dotted(value, inner))
    return found


def effective_policy(campaign, house):
    """DEFAULTS, overlaid by the house rules, overlaid by the campaign's (both parsed documents or None).

    Top-level keys replace; `retries` and `predictive` merge per key. A new dict, safe to change.
    """
    policy = _copied(DEFAULTS)
    for layer in (house, campaign):
        for key, value in (layer or {}).items():
            if key in MERGED_PER_KEY:
                policy[key] = {**policy[key], **_copied(value)}
            else:
                policy[key] = _copied(value)
    return policy


def _copied(value):
    """A deep copy of JSON-shaped data, several times faster than copy.deepcopy (runs per campaign per tick)."""
    if isinstance(value, dict):
        return {key: _copied(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_copied(inner) for inner in value]
    return value


def next_attempt_delay(policy, disposition, times_in_class, attempts_made):
    """Seconds until the next attempt after a result of class `disposition`, or None: that was final.

    `times_in_class`: results of this class the contact has had, this one included; `attempts_made`:
    its attempts, this one included. Retried while a rule for the class allows `times_in_class` retries
    and `max_attempts` (None: no cap) is not reached; each retry waits after_seconds * backoff ** (n - 1),
    at most MAX_DELAY_SECONDS. The per-number 24 h cap is not applied here (the claim does it, in SQL).
    """
    rule = policy.get("retries", {}).get(disposition)
    if rule is None or times_in_class > rule["retries"]:
        return None
    cap = policy.get("max_attempts")
    if cap is not None and attempts_made >= cap:
        return None
    exponent = max(times_in_class - 1, 0)
    delay = float(rule["after_seconds"]) * float(rule.get("backoff", 1.0)) ** exponent
    return min(delay, float(MAX_DELAY_SECONDS))
