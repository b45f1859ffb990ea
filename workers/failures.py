"""Failed tasks kept: a task that fails for good (retries exhausted, or an error that is not
retried) is written to `failed_tasks` from Celery's `task_failure` signal, with its name and
arguments, so that an operator can send it again (`dialer tasks`, `/tasks/failed`).

When PostgreSQL is down the failure is kept in the broker instead: pushed onto a Redis list
(KEPT) that the beat's `dialer.record_failed_tasks` drains into the table once PostgreSQL answers.
Why not leave the message unacked (or re-raise) instead: Celery runs signal handlers through
`Signal.send`, which logs and swallows what they raise, and acks an `acks_late` message after a
failure all the same; and a message held back would run its failing body again and again while
the database is down, where what must survive is the record of the failure, not another attempt.
Should Redis be unreachable too, the failure is logged whole (ERROR, with its arguments).

The signal fires where the task ran: in a prefork child (or, for a lost child or a hard time
limit, in the worker's main process), before the message is acked, so a worker killed while
keeping a failure has the message redelivered; the table keeps one row per task id.
"""

import json
import logging
import traceback as tracebacks
from datetime import UTC, datetime

from celery import shared_task
from celery.signals import task_failure
from redis.exceptions import RedisError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dialer.flows.failed_tasks import record
from dialer.rules.failed_tasks import describe_exception, failure_record
from workers.runtime import runtime
from workers.tasks import DATABASE_ERRORS

log = logging.getLogger(__name__)

KEPT = "dialer:failed-tasks"  # Redis list of failure records (JSON) waiting for PostgreSQL
DRAIN_BATCH = 100
UNREACHABLE = (*DATABASE_ERRORS, PoolTimeout)  # the database cannot take it now; it will later


@task_failure.connect
def keep_failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, traceback=None,
                 einfo=None, **_):
    name = getattr(sender, "name", None) or str(sender)
    if not worth_keeping(args, kwargs, exception):
        return
    failure = failure_record(task_id, name, args, kwargs, describe_exception(exception),
                             _traceback_text(einfo, traceback), datetime.now(UTC))
    try:
        rt = runtime()
    except Exception:  # a worker that cannot build its runtime still says what failed
        log.exception("event=failed_task_not_kept task=%s task_id=%s failure=%s", name, task_id,
                      json.dumps(failure))
        return
    keep(failure, rt.redis, rt.sessions)


def worth_keeping(args, kwargs, exception):
    """Not a task without arguments that failed because the database was unreachable: it carries
    nothing to lose, and the beat sends it again on its next tick (during an outage, the allocate
    tick alone would otherwise pile up a failure a second)."""
    return bool(args or kwargs) or not isinstance(exception, UNREACHABLE)


def keep(failure, redis_client, sessions):
    """Write `failure` to the table, else to the Redis list, else to the log. Returns where it went."""
    try:
        with sessions() as session:
            record(session, [failure])
            session.commit()
        return "table"
    except UNREACHABLE as exc:
        reason = _first_line(exc)
    except Exception:  # a failure the table refuses is logged whole, not retried for ever
        log.exception("event=failed_task_not_kept failure=%s", json.dumps(failure))
        return "log"
    try:
        redis_client.rpush(KEPT, json.dumps(failure))
    except RedisError:
        log.exception("event=failed_task_not_kept reason=%r failure=%s", reason, json.dumps(failure))
        return "log"
    log.warning("event=failed_task_kept_in_broker task=%s task_id=%s reason=%r", failure["name"],
                failure["task_id"], reason)
    return "broker"


@shared_task(name="dialer.record_failed_tasks")
def record_failed_tasks():
    """The beat's: failures kept in the broker while PostgreSQL was down, into the table."""
    rt = runtime()
    return drain_kept(rt.redis, rt.sessions)


def drain_kept(redis_client, sessions, batch=DRAIN_BATCH):
    """Move the failures waiting in KEPT into the table; returns how many moved. Each is removed
    from the list only after its commit (removed by value, so two drains at once lose nothing);
    while PostgreSQL is still down they all stay for the next tick."""
    moved = 0
    while True:
        raw = redis_client.lrange(KEPT, 0, batch - 1)
        if not raw:
            return moved
        failures = [failure for failure in map(_parsed, raw) if failure is not None]
        try:
            with sessions() as session:
                record(session, failures)
                session.commit()
        except UNREACHABLE as exc:
            log.warning("event=failed_tasks_still_kept count=%d reason=%r", len(raw), _first_line(exc))
            return moved
        pipeline = redis_client.pipeline(transaction=False)
        for item in raw:
            pipeline.lrem(KEPT, 1, item)
        pipeline.execute()
        moved += len(failures)
        if len(raw) < batch:
            return moved


def _parsed(item):
    try:
        return json.loads(item)
    except ValueError:
        log.error("event=failed_task_unreadable item=%r", item[:500])  # not ours: dropped, said so
        return None


def _traceback_text(einfo, traceback):
    if einfo is not None and getattr(einfo, "traceback", None):
        return str(einfo.traceback)
    if isinstance(traceback, str):
        return traceback
    return "".join(tracebacks.format_tb(traceback)) if traceback is not None else ""


def _first_line(exc):
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
