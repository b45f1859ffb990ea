"""Failed tasks for operators and the dashboard: list them, send one again, discard one
(dialer.flows.failed_tasks; the same as `dialer tasks`).

Tokens are api/auth.py's default: GET with the read token, POST with the API token.
"""

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from api import schemas
from api.auth import session_allowed
from api.errors import ApiError
from api.extensions import db
from api.openapi import doc
from dialer.flows.failed_tasks import (
    LIST_LIMIT,
    BrokerUnavailable,
    NotFailed,
    UnknownFailedTask,
    discard,
    list_failed,
    requeue,
)
from dialer.rules.failed_tasks import FAILED, NAME_CHARS, STATUSES, parse_since
from workers.sending import sender

blueprint = Blueprint("tasks", __name__)


class FailedTaskQuery(Schema):
    """GET /tasks/failed?name=&since=&status=&limit= (other parameters are ignored)."""

    class Meta:
        unknown = EXCLUDE

    # No NUL: PostgreSQL refuses one in a query (task names are stored without, see failure_record).
    name = fields.String(validate=[validate.Length(min=1, max=NAME_CHARS),
                                   validate.Regexp(r"^[^\x00]*$", error="may not hold a NUL character")],
                         metadata={"description": "only this task, e.g. dialer.originate"})
    since = fields.String(metadata={"description": "failed since: a duration back from now (30m, 1h, 2d) "
                                                   "or an ISO-8601 time (UTC unless it says otherwise)"})
    status = fields.String(load_default=FAILED, validate=validate.OneOf([*STATUSES, "all"]),
                           metadata={"description": "failed (default: still waiting for a decision), "
                                                    "requeued, discarded or all"})
    limit = fields.Integer(load_default=LIST_LIMIT, validate=validate.Range(min=1, max=1000))

    @post_load
    def read_since(self, query, **_):
        if "since" in query:
            try:
                query["since"] = parse_since(query["since"], datetime.now(UTC))
            except ValueError as exc:
                raise ValidationError({"since": [str(exc)]}) from None
        if query["status"] == "all":
            query["status"] = None
        return query


@blueprint.get("/tasks/failed")
@doc({200: schemas.FailedTaskList}, query=FailedTaskQuery, errors=(400,))
def failed():
    """Failed tasks, newest first, with their arguments, error and traceback."""
    query = FailedTaskQuery().load(request.args.to_dict())
    return jsonify({"failed_tasks": list_failed(db.session, **query)})


@blueprint.post("/tasks/failed/<int:failed_id>/requeue")
@session_allowed  # the dashboard's requeue button (with its CSRF token)
@doc({200: schemas.FailedTask}, errors=(404, 409, 503))
def requeue_one(failed_id):
    """Send the same task with the same arguments again (a new task id); the row says which."""
    send = sender(current_app.extensions["dialer_celery"])
    return jsonify(_acting_on(lambda: requeue(db.session, failed_id, send)))


@blueprint.post("/tasks/failed/<int:failed_id>/discard")
@doc({200: schemas.FailedTask}, errors=(404, 409))
def discard_one(failed_id):
    """Mark a failed task discarded: it will not be sent again."""
    return jsonify(_acting_on(lambda: discard(db.session, failed_id)))


def _acting_on(action):
    try:
        return action()
    except UnknownFailedTask as exc:
        raise ApiError(404, str(exc)) from exc
    except NotFailed as exc:
        raise ApiError(409, str(exc)) from exc
    except BrokerUnavailable as exc:
        raise ApiError(503, "broker unavailable, try again later (the task is still failed)") from exc
