"""What the routes answer, as marshmallow schemas: used only to write the OpenAPI document
(api/openapi.py), and by the fuzzing tests to check every answer against it.

Requests are documented with the schemas the routes validate with (dialer/rules/contact_schema.py,
dialer/rules/policy.py, api/connector.py); these describe answers, which nothing validates, and
the few requests a route checks by hand. marshmallow's default `unknown = RAISE` becomes
`additionalProperties: false`, so an answer with a key the document does not name fails the check.
"""

from marshmallow import Schema, fields, validate

from dialer.rules import dnc, states
from dialer.rules import validation as v
from dialer.rules.policy import PolicySchema

TIME = {"format": "date-time"}
SAFE_ID = {"type": "string", "pattern": v.SAFE_ID.pattern, "description": v.SAFE_ID_RULE}
PROMETHEUS_TEXT = ("text/plain", "application/openmetrics-text")  # /metrics answers either, by its Accept


def _time(**kwargs):
    """An ISO-8601 time the API writes (UTC, with its offset); null where the event has not happened."""
    return fields.String(metadata=TIME, allow_none=True, **kwargs)


def _text(**kwargs):
    return fields.String(allow_none=True, **kwargs)


def _counts(what):
    return fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                       metadata={"description": what})


# "fields" is also the name of a Schema's own attribute, so this one is built from a dict.
Error = Schema.from_dict({
    "error": fields.String(required=True),
    "fields": fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          metadata={"description": "reasons by field (dotted paths, list indexes), e.g. "
                                                   "{\"header.shedulingMetaData.priority\": [\"must be ...\"]}"}),
}, name="Error")  # every error answer: what is wrong, and for which field


class Attempt(Schema):
    attempt = fields.Integer(required=True)
    uuid = fields.String(required=True)
    job_uuid = fields.String(required=True)
    switch_name = fields.String(required=True)
    kind = fields.String(required=True)
    agent = _text()
    created_at = _time()
    dial_time = _time()
    answer_time = _time()
    hangup_time = _time()
    hangup_cause = _text()
    billsec = fields.Integer(allow_none=True)
    sip_term_status = _text()
    result_source = _text()
    disposition = _text()
    settings_version = fields.Integer(allow_none=True)


class StoredContact(Schema):
    """A stored contact: the contact table's columns, its attempts and the payload as received."""

    id = fields.String(required=True)
    customer_number = fields.String(required=True)
    campaign_type = fields.String(required=True, validate=validate.OneOf(states.CAMPAIGN_TYPES))
    gateway_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(states.ALL))
    call_result = _text()
    received_time = _time()
    dial_time = _time()
    campaign_contact_id = _text()
    campaign_id = fields.String(required=True)
    start_time = _time()
    end_time = _time()
    priority = fields.Integer(required=True)
    ivr = _text()
    dialing_mode = _text()
    routing_mode = _text()
    resource_id = _text()
    queue_name = _text()
    scheduled_time = _time()
    service_identifier = _text()
    customer_ref = _text()
    answer_time = _time()
    hangup_time = _time()
    billsec = fields.Integer(allow_none=True)
    agent = _text()
    timezone = _text()
    e164 = _text()
    disposition = _text()
    dial_after = _time()
    attempts = fields.List(fields.Nested(Attempt), required=True)
    payload = fields.Dict(allow_none=True, metadata={"description": "the contact as it was sent"})


class BulkCreated(Schema):
    created = fields.Integer(required=True)
    existing = fields.Integer(required=True)


class CampaignSummary(Schema):
    campaign_id = fields.String(required=True)
    state = fields.String(required=True)
    counts = _counts("contacts by status (every status present)")


class Waiting(Schema):
    window = fields.Integer(required=True)
    retry = fields.Integer(required=True)


class CampaignStatus(CampaignSummary):
    settings_version = fields.Integer(required=True)
    waiting = fields.Nested(Waiting, required=True)
    dnc = fields.Integer(required=True)
    dispositions = _counts("attempts by disposition class")


class CampaignList(Schema):
    campaigns = fields.List(fields.Nested(CampaignSummary), required=True)


class ControlResult(Schema):
    campaign_id = fields.String(required=True)
    action = fields.String(required=True)
    changed = fields.Integer(required=True)
    results = fields.List(fields.String(), metadata={"description": "requeue only: the results asked for"})


class RequeueRequest(Schema):
    results = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z][A-Z0-9_]{0,39}$")), required=True,
                          validate=validate.Length(min=1),
                          metadata={"description": "call results whose final contacts go back to pending"})


class Ongoing(Schema):
    ongoing = fields.Integer(required=True)
    occupied = fields.Integer(required=True)
    capacity = fields.Integer(required=True)
    free = fields.Integer(required=True)
    by_status = _counts("slot-holding contacts by status")


class AgentCallback(Schema):
    uuid = fields.String(required=True)
    # predictive calls: connected to the agent, or abandoned (no agent named)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "dialed", "failed", "connected",
                                                                  "waiting", "abandoned")))
    callResult = _text()


class CdrRecorded(Schema):
    recorded = fields.Boolean(required=True)
    uuid = fields.String()
    reason = fields.String()


class DncAdd(Schema):
    numbers = fields.List(fields.String(), required=True, validate=validate.Length(1, dnc.MAX_NUMBERS))
    campaign_id = fields.String(allow_none=True, validate=validate.Regexp(v.SAFE_ID),
                                metadata={"description": "null or absent: the global list"})
    reason = fields.String(validate=validate.Length(max=dnc.MAX_REASON))


class DncAdded(Schema):
    added = fields.Integer(required=True)


class DncList(Schema):
    campaign_id = _text(required=True)
    since = _time(required=True)
    reason = fields.String(required=True)


class DncLookup(Schema):
    number = fields.String(required=True)
    blocked = fields.Boolean(required=True)
    lists = fields.List(fields.Nested(DncList), required=True)


class DncRemoved(Schema):
    removed = fields.Integer(required=True)


class DncRemoveQuery(Schema):
    campaign_id = fields.String(validate=validate.Regexp(v.SAFE_ID),
                                metadata={"description": "absent: the global list"})


class SettingsDocument(PolicySchema):
    """A PUT's policy document: what GET answers may be sent back edited, its version included (ignored:
    the store gives versions)."""

    version = fields.Raw(metadata={"description": "ignored"})


class EffectiveSettings(PolicySchema):
    """The campaign's effective policy (house rules under its own, every key) and its version (0: none)."""

    version = fields.Integer(required=True)


class Health(Schema):
    status = fields.String(required=True)


class Readiness(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("ready", "degraded")))
    database = fields.String(required=True)
    broker = fields.String(required=True)
    switches = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class CdrQuery(Schema):
    uuid = fields.String(metadata={"description": "the call's uuid, when the record does not carry it"})


class FailedTask(Schema):
    """A Celery task that failed for good, as `dialer tasks list` shows it."""

    id = fields.Integer(required=True)
    task_id = fields.String(required=True)
    name = fields.String(required=True)
    args = fields.List(fields.Raw(), required=True)
    kwargs = fields.Dict(required=True)
    exception = fields.String(required=True)
    traceback = fields.String(required=True)
    failed_at = _time(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("failed", "requeued", "discarded")))
    requeued_at = _time(required=True)
    requeue_task_id = _text(required=True)


class FailedTaskList(Schema):
    failed_tasks = fields.List(fields.Nested(FailedTask), required=True)
