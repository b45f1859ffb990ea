"""Failed tasks (table `failed_tasks`): kept when a Celery task fails for good, listed, sent again
or discarded by an operator.

Workers record failures (workers/failures.py); `record` leaves the commit to its caller. A requeue
sends the same task name with the same arguments through a `send_task(name, args=, kwargs=,
task_id=)` callable (Celery's `send_task`, or anything with its signature), which is safe because
every task body is idempotent. `requeue` and `discard` are an operator's decisions on one row:
each locks the row, acts, and commits.
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from dialer.adapters.models import FailedTask
from dialer.rules.failed_tasks import DISCARDED, FAILED, REQUEUED

LIST_LIMIT = 100
MAX_ID = 2**63 - 1  # bigserial: a larger id names no row (and would not fit in the query)


class UnknownFailedTask(LookupError):
    def __init__(self, failed_id):
        super().__init__(f"no failed task with id {failed_id}")


class NotFailed(Exception):
    """The row was requeued or discarded already: only a failure still waiting may be acted on."""

    def __init__(self, row):
        already = f" (as task {row.requeue_task_id})" if row.status == REQUEUED else ""
        super().__init__(f"failed task {row.id} is {row.status} already{already}")
        self.status = row.status


class BrokerUnavailable(Exception):
    """Raised by a `send_task` callable when the broker cannot take the message (nothing was sent)."""


def record(session, failures):
    """Keep failures (dicts of dialer.rules.failed_tasks.failure_record); a task id already kept
    changes nothing. Returns how many were new. The caller commits."""
    if not failures:
        return 0
    rows = [{**failure, "failed_at": datetime.fromisoformat(failure["failed_at"])} for failure in failures]
    statement = insert(FailedTask).values(rows).on_conflict_do_nothing(index_elements=["task_id"])
    return len(session.execute(statement.returning(FailedTask.id)).all())


def list_failed(session, name=None, since=None, status=FAILED, limit=LIST_LIMIT):
    """Failures as dicts, newest first: of task `name`, failed at or after `since`, in `status`
    (None: any status)."""
    query = select(FailedTask).order_by(FailedTask.failed_at.desc(), FailedTask.id.desc()).limit(limit)
    if name:
        query = query.where(FailedTask.name == name)
    if since is not None:
        query = query.where(FailedTask.failed_at >= since)
    if status:
        query = query.where(FailedTask.status == status)
    return [as_dict(row) for row in session.scalars(query)]


def requeue(session, failed_id, send_task):
    """Send failure `failed_id`'s task again (a new task id) and mark it requeued; returns the row
    as a dict. Raises UnknownFailedTask, NotFailed, or the sender's BrokerUnavailable (the row then
    stays failed). The message is sent before the commit: were the commit lost, the row would stay
    failed and a second requeue would run an idempotent task once more, never lose it."""
    row = _locked(session, failed_id)
    new_task_id = str(uuid.uuid4())
    try:
        send_task(row.name, args=list(row.args), kwargs=dict(row.kwargs), task_id=new_task_id)
    except BaseException:
        session.rollback()
        raise
    row.status, row.requeued_at, row.requeue_task_id = REQUEUED, datetime.now(UTC), new_task_id
    session.commit()
    return as_dict(row)


def requeue_all(session, send_task, name=None):
    """Requeue every failure still waiting (of task `name`), oldest first, one commit each; rows
    someone else handles meanwhile are left to them. Returns the requeued rows as dicts."""
    query = select(FailedTask.id).where(FailedTask.status == FAILED).order_by(FailedTask.id)
    if name:
        query = query.where(FailedTask.name == name)
    ids = session.scalars(query).all()
    session.rollback()  # no snapshot held while sending
    requeued = []
    for failed_id in ids:
        try:
            requeued.append(requeue(session, failed_id, send_task))
        except (UnknownFailedTask, NotFailed):
            session.rollback()
    return requeued


def discard(session, failed_id):
    """Mark failure `failed_id` discarded (an operator decided it must not run); returns it as a
    dict. Raises UnknownFailedTask or NotFailed."""
    row = _locked(session, failed_id)
    row.status = DISCARDED
    session.commit()
    return as_dict(row)


def as_dict(row):
    return {
        "id": row.id, "task_id": row.task_id, "name": row.name, "args": row.args, "kwargs": row.kwargs,
        "exception": row.exception, "traceback": row.traceback, "failed_at": _iso(row.failed_at),
        "status": row.status, "requeued_at": _iso(row.requeued_at), "requeue_task_id": row.requeue_task_id,
    }


def _locked(session, failed_id):
    row = None
    if 0 < failed_id <= MAX_ID:
        row = session.scalars(select(FailedTask).where(FailedTask.id == failed_id).with_for_update()).first()
    if row is None:
        session.rollback()
        raise UnknownFailedTask(failed_id)
    if row.status != FAILED:
        error = NotFailed(row)
        session.rollback()
        raise error
    return row


def _iso(moment):
    return moment.astimezone(UTC).isoformat() if moment is not None else None
