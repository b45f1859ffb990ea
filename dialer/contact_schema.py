"""The two shapes a contact arrives in, as marshmallow schemas (DESIGN.md "Contact").

`NestedContactSchema` is the spec's "Campaign contact" payload (001, `header.channelData`,
`header.shedulingMetaData` with that spelling); `FlatContactSchema` uses the contact table's column
names. Attribute names are the column names in both, so one rule set (`contact_rules`) serves both and
its errors come back under each form's own keys. Every value that can reach an ESL command is held to
an alphabet of dialer.validation; anything else is rejected here, never escaped later.
"""

from datetime import datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validates_schema

from dialer import validation as v
from dialer.states import AGENT, CAMPAIGN_TYPES, DIALING_MODES, ROUTING_MODES

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
        return parsed


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


def _customer_number(**kwargs):
    return Text(_number, UNSAFE + v.PHONE_NUMBER_RULE, required=True, **kwargs)


def contact_fields(data_keys=None):
    """The contact table's intake columns by column name; `data_keys` renames them for the wire."""
    found = dict(
        id=_safe_id(required=True),
        customer_number=_customer_number(),
        service_identifier=_safe_id(),
        customer_ref=_safe_id(),
        scheduled_time=Time(),
        campaign_id=_safe_id(required=True),
        campaign_type=_one_of(CAMPAIGN_TYPES, CAMPAIGN_TYPE_RULE, required=True),
        gateway_id=_safe_id(required=True),
        campaign_contact_id=_safe_id(),
        start_time=Time(required=True),
        end_time=Time(required=True),
        priority=Priority(required=True),
        ivr=Text(v.is_extension, UNSAFE + v.EXTENSION_RULE),
        dialing_mode=_one_of(DIALING_MODES, DIALING_MODE_RULE),
        routing_mode=_one_of(ROUTING_MODES, ROUTING_MODE_RULE),
        resource_id=_safe_id(),
        queue_name=Text(v.is_queue_name, UNSAFE + v.QUEUE_NAME_RULE),
    )
    if data_keys is None:
        return found
    for name, key in data_keys.items():
        found[name].data_key = key
    return {name: found[name] for name in data_keys}


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


class _Base(Schema):
    error_messages = {"type": NOT_AN_OBJECT}

    @pre_load
    def drop_empty_values(self, data, **kwargs):
        """An empty string or null is an absent value ("queueName": "" in the spec, empty CSV cells)."""
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if value is not None and value != ""}


class _ContactRules(_Base):
    @validates_schema(skip_on_field_errors=False)
    def cross_field_rules(self, values, **kwargs):
        errors = contact_rules(values)
        if errors:
            raise ValidationError({self.fields[name].data_key or name: why for name, why in errors.items()})


FLAT_COLUMNS = tuple(contact_fields())
FLAT_UNKNOWN = ("unknown field: the flat form takes the contact table's column names ("
                + ", ".join(FLAT_COLUMNS) + ")")
SCHEDULING_KEYS = {
    "scheduled_time": "scheduledDatetime", "campaign_id": "campaignId", "campaign_type": "campaignType",
    "gateway_id": "gatewayId", "campaign_contact_id": "campaignContactId", "start_time": "startTime",
    "end_time": "endTime", "priority": "priority", "ivr": "ivr", "dialing_mode": "dialingMode",
    "routing_mode": "routingMode", "resource_id": "resourceId", "queue_name": "queueName",
}


class _FlatMeta:
    unknown = RAISE


class _NestedMeta:
    unknown = EXCLUDE  # kept whole in `payload` all the same


FlatContactSchema = type("FlatContactSchema", (_ContactRules,), {
    "__doc__": "Column names as keys; an unknown key is an error (most likely a misspelt column).",
    "Meta": _FlatMeta, "error_messages": {"type": NOT_AN_OBJECT, "unknown": FLAT_UNKNOWN},
    **contact_fields()})

SchedulingSchema = type("SchedulingSchema", (_ContactRules,), {
    "__doc__": "`header.shedulingMetaData`; webhookId, agent and queue are not in use (kept in `payload`).",
    "Meta": _NestedMeta, **contact_fields(SCHEDULING_KEYS)})


class ChannelDataSchema(_Base):
    Meta = _NestedMeta
    customer_number = _customer_number(data_key="channelCustomerIdentifier")
    service_identifier = _safe_id(data_key="serviceIdentifier")
    additional_attributes = fields.Raw(data_key="additionalAttributes")


class CustomerSchema(_Base):
    Meta = _NestedMeta
    customer_ref = _safe_id(data_key="_id")


class HeaderSchema(_Base):
    Meta = _NestedMeta
    channel_data = fields.Nested(ChannelDataSchema, data_key="channelData")
    customer = fields.Nested(CustomerSchema)
    scheduling = fields.Nested(SchedulingSchema, data_key="shedulingMetaData")

    @pre_load
    def check_every_part(self, data, **kwargs):
        """A missing part still gets its mandatory fields named, not just "channelData: required"."""
        if not isinstance(data, dict):
            return data
        return {**data, **{part: {} for part in ("channelData", "shedulingMetaData") if data.get(part) is None}}


class NestedContactSchema(_Base):
    Meta = _NestedMeta
    id = _safe_id(required=True)
    header = fields.Nested(HeaderSchema, required=True)
    body = fields.Raw()
