"""Where a failure goes (workers/failures.py): the table when PostgreSQL answers, a Redis list in
the broker when it does not, the log when Redis is down too; the beat's drain empties the list
into the table. Real PostgreSQL, and a Redis of this module's own (its list is not flushed by
another test running at the same time)."""

import json
import logging
from datetime import UTC, datetime

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from dialer.adapters.db import make_engine, make_session_factory
from dialer.adapters.models import FailedTask
from dialer.rules.failed_tasks import failure_record
from sim.testing import free_port
from workers.failures import KEPT, drain_kept, keep, worth_keeping


def failure(task_id, args=("sw1", [1])):
    return failure_record(task_id, "dialer.originate", args, {}, "KeyError: 'sw9'", "Traceback ...",
                          datetime.now(UTC))


@pytest.fixture
def database_down():
    engine = make_engine(f"postgresql://dialer@127.0.0.1:{free_port()}/dialer", pool_size=1, max_overflow=0)
    yield make_session_factory(engine)
    engine.dispose()


def kept_task_ids(session):
    session.rollback()
    return sorted(session.scalars(select(FailedTask.task_id)))


def test_a_failure_goes_to_the_table_when_the_database_answers(broker, session_factory, session):
    assert keep(failure("t-1"), broker, session_factory) == "table"
    assert kept_task_ids(session) == ["t-1"]
    assert broker.llen(KEPT) == 0


def test_a_failure_waits_in_the_broker_when_the_database_is_down(broker, database_down, session, caplog):
    kept = failure("t-1")
    assert keep(kept, broker, database_down) == "broker"
    assert [json.loads(item) for item in broker.lrange(KEPT, 0, -1)] == [kept]
    assert kept_task_ids(session) == []
    assert "event=failed_task_kept_in_broker task=dialer.originate task_id=t-1" in caplog.text


def test_with_redis_down_too_the_failure_is_logged_whole(database_down, caplog):
    gone = redis.Redis(port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    with caplog.at_level(logging.ERROR, logger="workers.failures"):
        assert keep(failure("t-1", args=("sw1", [41, 42])), gone, database_down) == "log"
    assert "event=failed_task_not_kept" in caplog.text
    assert '"task_id": "t-1"' in caplog.text and '"args": ["sw1", [41, 42]]' in caplog.text


def test_the_drain_leaves_the_failures_while_the_database_is_still_down(broker, database_down):
    broker.rpush(KEPT, json.dumps(failure("t-1")))
    assert drain_kept(broker, database_down) == 0
    assert broker.llen(KEPT) == 1


def test_the_drain_moves_every_kept_failure_into_the_table_once(broker, session_factory, session):
    for task_id in ("t-1", "t-2", "t-3", "t-1", "t-4"):  # t-1 twice: a redelivered message failed again
        broker.rpush(KEPT, json.dumps(failure(task_id)))
    keep(failure("t-4"), broker, session_factory)  # already in the table too

    assert drain_kept(broker, session_factory, batch=2) == 5
    assert broker.llen(KEPT) == 0
    assert kept_task_ids(session) == ["t-1", "t-2", "t-3", "t-4"]


def test_the_drain_drops_an_item_that_is_not_a_failure_record_and_says_so(broker, session_factory, session,
                                                                          caplog):
    broker.rpush(KEPT, "not json", json.dumps(failure("t-1")))
    assert drain_kept(broker, session_factory) == 1
    assert broker.llen(KEPT) == 0
    assert kept_task_ids(session) == ["t-1"]
    assert "event=failed_task_unreadable item=b'not json'" in caplog.text


def test_a_tick_without_arguments_that_met_a_database_outage_is_not_kept():
    outage = OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert not worth_keeping([], {}, outage)  # the beat sends it again; there is nothing to lose
    assert worth_keeping(["sw1", [1]], {}, outage)  # an originate batch is kept
    assert worth_keeping([], {}, TypeError("a bug"))  # a bug is kept, arguments or not
