"""The two shapes a contact arrives in (DESIGN.md "Contact"), validated by one marshmallow schema.

`ContactSchema` takes the contact table's column names (the flat form). The spec's "Campaign
contact" payload (001, `header.channelData`, `header.shedulingMetaData` with that spelling) is read
through `NESTED_PATHS`, a column → path table, into the same columns and validated by the same
schema; its errors come back under the nested paths (`header.shedulingMetaData.priority`). One schema
instead of five nested ones keeps the rule set in one place and validates the nested form about 1.5x
faster. Every value that can reach an ESL command is held to an alphabet of dialer.rules.validation;
anything else is rejected here, never escaped later.
"""

from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validates_schema

from dialer.rules import validation as v
from dialer.rules.calling_hours import is_valid_zone
from dialer.rules.states import AGENT, CAMPAIGN_TYPES, DIALING_MODES, ROUTING_MODES

REQUIRED = "required: every contact needs this field"
NOT_A_STRING = "must be a string"
NOT_AN_OBJECT = "must be a JSON object"
TIME_RULE = "must be an ISO-8601 date-time with a UTC offset, e.g. 2023-04-10T09:00:01+03:00"
PRIORITY_RULE = "must be a whole number from 1 to 10 (1 is dialed first)"
END_BEFORE_START = "must be later than the start time"
CAMPAIGN_TYPE_RULE = "must be IVR or AGENT"
DIALING_MODE_RULE = "must be one of " + ", ".join(sorted(DIALING_MODES))
ROUTING_MODE_RULE = "must be AGENT or QUEUE"
AGENT_NEEDS = "required for AGENT campaigns: "
QUEUE_NEEDS_RESOURCE = "routing mode QUEUE needs a resource id or a queue name"
AGENT_NEEDS_RESOURCE = "routing mode AGENT needs a resource id (the agent's id)"
UNSAFE = "not allowed in a switch command: "
TIMEZONE_RULE = "must be an IANA time zone name, e.g. America/New_York"


class Text(fields.String):
    """A string held to an alphabet; `rule` says which, in the error message."""

    def __init__(self, check=None, rule="", **kwargs):
        kwargs.setdefault("error_messages", {"required": REQUIRED, "null": REQUIRED, "invalid": NOT_A_STRING})
        super().__init__(**kwargs)
        self.check = check
        self.rule = rule

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.check is not None and not self.check(text):
            raise ValidationError(self.rule)
        return text


class Time(fields.Field):
    """ISO-8601 with an offset; a time without one is ambiguous across the dialer's servers."""

    default_error_messages = {"required": REQUIRED, "null": REQUIRED, "invalid": TIME_RULE}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise self.make_error("invalid")
        try:  # as UTC: PostgreSQL refuses offsets beyond ±15:59, which fromisoformat takes up to ±23:59
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # 0001-01-01T00:00+01:00 is in year 0
            raise self.make_error("invalid") from exc


class Priority(fields.Field):
    """1..10, as a JSON integer or a numeric string ("1" in the spec's example)."""

    default_error_messages = {"required": REQUIRED, "null": REQUIRED, "invalid": PRIORITY_RULE}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
            raise self.make_error("invalid")
        return value


def _number(value):
    return v.is_phone_number(value) and len(value) <= 20  # the column is VARCHAR(20)


def _safe_id(**kwargs):
    return Text(v.is_safe_id, UNSAFE + v.SAFE_ID_RULE, **kwargs)


def _one_of(choices, rule, **kwargs):
    return Text(lambda value: value in choices, rule, **kwargs)


def contact_rules(values):
    """Rules across fields, on whatever loaded cleanly: {column: [reason]}."""
    errors = {}
    start, end = values.get("start_time"), values.get("end_time")
    if start is not None and end is not None and end <= start:
        errors["end_time"] = [END_BEFORE_START]
    if values.get("campaign_type") != AGENT:
        return errors
    if "dialing_mode" not in values:
        errors["dialing_mode"] = [AGENT_NEEDS + DIALING_MODE_RULE]
    routing = values.get("routing_mode")
    if routing is None:
        errors["routing_mode"] = [AGENT_NEEDS + ROUTING_MODE_RULE]
    elif routing == "QUEUE" and not (values.get("resource_id") or values.get("queue_name")):
        errors["resource_id"] = [QUEUE_NEEDS_RESOURCE]
        errors["queue_name"] = [QUEUE_NEEDS_RESOURCE]
    elif routing == "AGENT" and not values.get("resource_id"):
        errors["resource_id"] = [AGENT_NEEDS_RESOURCE]
    return errors


_SCHEDULING = ("header", "shedulingMetaData")
NESTED_PATHS = {
    "id": ("id",),
    "customer_number": ("header", "channelData", "channelCustomerIdentifier"),
    "service_identifier": ("header", "channelData", "serviceIdentifier"),
    "customer_ref": ("header", "customer", "_id"),
    "scheduled_time": (*_SCHEDULING, "scheduledDatetime"),
    "campaign_id": (*_SCHEDULING, "campaignId"),
    "campaign_type": (*_SCHEDULING, "campaignType"),
    "gateway_id": (*_SCHEDULING, "gatewayId"),
    "campaign_contact_id": (*_SCHEDULING, "campaignContactId"),
    "start_time": (*_SCHEDULING, "startTime"),
    "end_time": (*_SCHEDULING, "endTime"),
    "priority": (*_SCHEDULING, "priority"),
    "ivr": (*_SCHEDULING, "ivr"),
    "dialing_mode": (*_SCHEDULING, "dialingMode"),
    "routing_mode": (*_SCHEDULING, "routingMode"),
    "resource_id": (*_SCHEDULING, "resourceId"),
    "queue_name": (*_SCHEDULING, "queueName"),
    "timezone": (*_SCHEDULING, "timezone"),  # ours: the customer's IANA zone, for calling hours
}  # anything else (webhookId, agent, queue, additionalAttributes, body) is only kept in `payload`
FLAT_COLUMNS = tuple(NESTED_PATHS)  # the same columns, by their own names
FLAT_UNKNOWN = ("unknown field: the flat form takes the contact table's column names ("
                + ", ".join(FLAT_COLUMNS) + ")")


class ContactSchema(Schema):
    """The flat form. An unknown key is an error: it is most likely a misspelt column."""

    error_messages = {"type": NOT_AN_OBJECT, "unknown": FLAT_UNKNOWN}

    class Meta:
        unknown = RAISE

    id = _safe_id(required=True)
    customer_number = Text(_number, UNSAFE + v.PHONE_NUMBER_RULE, required=True)
    service_identifier = _safe_id()
    customer_ref = _safe_id()
    scheduled_time = Time()
    campaign_id = _safe_id(required=True)
    campaign_type = _one_of(CAMPAIGN_TYPES, CAMPAIGN_TYPE_RULE, required=True)
    gateway_id = _safe_id(required=True)
    campaign_contact_id = _safe_id()
    start_time = Time(required=True)
    end_time = Time(required=True)
    priority = Priority(required=True)
    ivr = Text(v.is_extension, UNSAFE + v.EXTENSION_RULE)
    dialing_mode = _one_of(DIALING_MODES, DIALING_MODE_RULE)
    routing_mode = _one_of(ROUTING_MODES, ROUTING_MODE_RULE)
    resource_id = _safe_id()
    queue_name = Text(v.is_queue_name, UNSAFE + v.QUEUE_NAME_RULE)
    timezone = Text(is_valid_zone, TIMEZONE_RULE)

    @pre_load
    def drop_empty_values(self, data, **kwargs):
        """An empty string or null is an absent value ("queueName": "" in the spec, empty CSV cells)."""
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if value is not None and value != ""}

    @validates_schema(skip_on_field_errors=False)
    def cross_field_rules(self, values, **kwargs):
        errors = contact_rules(values)
        if errors:
            raise ValidationError(errors)


_ABSENT = object()


def load_nested(schema, data):
    """The nested form → the values `schema.load` gives for the flat form; errors under nested paths."""
    values, broken = {}, {}
    for column, path in NESTED_PATHS.items():
        found = _walk(data, path, broken)
        if found is not _ABSENT:
            values[column] = found
    errors, loaded = dict(broken), None
    try:
        loaded = schema.load(values)
    except ValidationError as exc:
        for column, reasons in exc.messages.items():
            where = ".".join(NESTED_PATHS[column])
            if not any(where.startswith(part + ".") for part in broken):  # the broken part says it all
                errors[where] = reasons
    if errors:
        raise ValidationError(errors)
    return loaded


def _walk(data, path, broken):
    """The value at `path`, or _ABSENT; a part on the way that is not an object goes into `broken`."""
    for depth, key in enumerate(path[:-1]):
        data = data.get(key)
        if data is None:
            return _ABSENT
        if not isinstance(data, dict):
            broken[".".join(path[:depth + 1])] = [NOT_AN_OBJECT]
            return _ABSENT
    return data.get(path[-1], _ABSENT)
