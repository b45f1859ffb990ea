"""The answer of GET /dashboard/data (dialer.flows.dashboard plus the live health checks), as
marshmallow schemas for the OpenAPI document and the fuzzing tests' answer checks."""

from marshmallow import Schema, fields

from api.schemas import CampaignSummary

TIME = {"format": "date-time"}


class CampaignProgress(CampaignSummary):
    total = fields.Integer(required=True, metadata={"description": "contacts in the campaign"})
    done = fields.Integer(required=True, metadata={"description": "contacts ended, failed or removed"})


class SwitchLoad(Schema):
    name = fields.String(required=True)
    capacity = fields.Integer(required=True)
    calls = fields.Integer(required=True, metadata={"description": "slots taken now (queued, reserving, dialed)"})
    health = fields.String(required=True, metadata={"description": "ok, or why the switch did not answer"})


class MinuteCalls(Schema):
    minute = fields.String(required=True, metadata=TIME)
    calls = fields.Integer(required=True, metadata={"description": "attempts started in this minute"})


class OutboxState(Schema):
    pending = fields.Integer(required=True)
    dead = fields.Integer(required=True, metadata={"description": "gave up after every retry: dialer outbox requeue"})
    last_error = fields.String(required=True, allow_none=True,
                               metadata={"description": "the newest delivery error of a message still waiting"})


class FailedTaskLine(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    exception = fields.String(required=True)
    failed_at = fields.String(required=True, metadata=TIME)


class FailedTasksState(Schema):
    count = fields.Integer(required=True, metadata={"description": "failed tasks waiting for an operator"})
    latest = fields.List(fields.Nested(FailedTaskLine), required=True, metadata={"description": "newest first"})


class DashboardHealth(Schema):
    database = fields.String(required=True)
    broker = fields.String(required=True)
    vc = fields.String(required=True, metadata={"description": "ok: the voice connector answers HTTP"})


class DashboardData(Schema):
    generated_at = fields.String(required=True, metadata=TIME)
    window_minutes = fields.Integer(required=True, metadata={"description": "of calls_per_minute and dispositions"})
    campaigns = fields.List(fields.Nested(CampaignProgress), required=True)
    switches = fields.List(fields.Nested(SwitchLoad), required=True)
    calls_per_minute = fields.List(fields.Nested(MinuteCalls), required=True, metadata={"description": "oldest first"})
    dispositions = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                               metadata={"description": "the window's attempts with a result, by disposition class"})
    answer_rate = fields.Float(required=True, allow_none=True,
                               metadata={"description": "ANSWERED among them (null: none yet)"})
    outbox = fields.Nested(OutboxState, required=True)
    failed_tasks = fields.Nested(FailedTasksState, required=True)
    health = fields.Nested(DashboardHealth, required=True)
