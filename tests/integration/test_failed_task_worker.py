"""Failed tasks through a real Celery worker (a subprocess, prefork, so the `task_failure` signal
fires in a pool child as in production) on the test database and a Redis of this module's own
(no other test's worker can take its messages): a poison message is kept with its arguments, a
requeue from the command line runs the same task again, and a failure while PostgreSQL is down
waits in the broker until the beat's drain records it."""

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from dialer.adapters.models import CallEvent, FailedTask
from dialer.flows.failed_tasks import record
from dialer.rules.event_messages import to_message
from dialer.rules.events import CallEnded
from dialer.rules.failed_tasks import failure_record
from sim.testing import free_port, wait_for
from tests.conftest import API_TOKEN, CONNECTOR_TOKEN
from tests.e2e.fleet import OwnRedis
from workers.failures import KEPT
from workers.sending import broker_sender

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POISON = ["not a result message"]  # what a listener of another version might send: record_events cannot read it


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    own = OwnRedis(tmp_path_factory.mktemp("broker")).start()
    yield own
    own.stop()


@pytest.fixture
def broker_redis(broker):
    client = redis.Redis.from_url(broker.url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def start_worker(broker, broker_redis, tmp_path):
    """start_worker(database_url) -> (process, log path): a Celery worker (one pool child) on the
    module's broker; stopped after the test."""
    started = []

    def start(database_url):
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=broker.url, DIALER_API_TOKEN=API_TOKEN,
                   DIALER_CONNECTOR_TOKEN=CONNECTOR_TOKEN, DIALER_VC_URL="http://127.0.0.1:9",
                   DIALER_SWITCHES=json.dumps([{"name": "sw1", "host": "127.0.0.1", "port": free_port(),
                                                "password": "ClueCon", "capacity": 1, "cps": 1}]),
                   PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        log = tmp_path / f"worker{len(started)}.log"
        process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "workers.app", "worker", "--loglevel", "INFO", "--concurrency", "1",
             "--queues", "originate,results,notify,default", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"failed-tasks-{len(started)}@%h"],
            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        return process, log

    yield start
    for process in started:
        stop(process)


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def send(broker, name, args, task_id):
    with broker_sender(broker.url) as send_task:
        send_task(name, args=args, kwargs={}, task_id=task_id)


def kept_row(session, task_id):
    session.rollback()  # a fresh snapshot each look
    return session.scalars(select(FailedTask).where(FailedTask.task_id == task_id)).first()


def waited(predicate, log, message):
    try:
        return wait_for(predicate, timeout=60, interval=0.1, message=message)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n{log.read_text(errors='replace')[-4000:]}") from None


def test_a_poison_message_ends_up_in_failed_tasks_with_its_arguments(broker, start_worker, database_url,
                                                                     session):
    _, log = start_worker(database_url)
    send(broker, "dialer.record_events", [POISON], "poison-1")

    row = waited(lambda: kept_row(session, "poison-1"), log, "the poison message's failure to be kept")
    assert (row.name, row.args, row.kwargs, row.status) == ("dialer.record_events", [POISON], {}, "failed")
    assert row.exception.startswith("TypeError: string indices must be integers")
    assert "in key_of" in row.traceback
    assert row.traceback.rstrip().splitlines()[-1].startswith("TypeError: string indices")


def test_a_task_requeued_from_the_command_line_runs_again_with_the_same_arguments(broker, start_worker,
                                                                                  database_url, session):
    """A record_events that failed (say, a bug fixed since) is sent again and records its result."""
    ended = to_message(CallEnded(uuid="u-again", contact_id="nobody", campaign_id=None, attempt=None,
                                 hangup_cause="NORMAL_CLEARING", billsec=0, answered=False, answered_at=None,
                                 ended_at=None, sip_term_status=None, sip_hangup_disposition=None))
    record(session, [failure_record("first-try", "dialer.record_events", [[ended]], {}, "RuntimeError: a bug",
                                    "", datetime.now(UTC))])
    session.commit()
    failed_id = kept_row(session, "first-try").id
    _, log = start_worker(database_url)

    cli = subprocess.run([str(BIN / "dialer"), "tasks", "requeue", str(failed_id)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, DATABASE_URL=database_url, REDIS_URL=broker.url))

    assert cli.returncode == 0, cli.stderr
    requeued = kept_row(session, "first-try")
    assert requeued.status == "requeued"
    assert cli.stdout == (f"failed task {failed_id} (dialer.record_events) requeued as task "
                          f"{requeued.requeue_task_id}\n")

    def recorded():
        session.rollback()
        return session.scalars(select(CallEvent).where(CallEvent.key == "u-again",
                                                       CallEvent.processed_at.is_not(None))).first()

    event = waited(recorded, log, "the requeued task to record its result")
    assert event.body == ended
    assert session.scalar(select(FailedTask.task_id).where(FailedTask.id != failed_id)) is None


def test_a_failure_while_the_database_is_down_waits_in_the_broker_until_the_drain_records_it(
        broker, broker_redis, start_worker, database_url, session):
    database_down = f"postgresql://dialer@127.0.0.1:{free_port()}/dialer?connect_timeout=2"
    down_worker, log = start_worker(database_down)
    send(broker, "dialer.record_events", [POISON], "poison-db-down")

    waited(lambda: broker_redis.llen(KEPT) == 1, log, "the failure to be kept in the broker")
    assert "event=failed_task_kept_in_broker task=dialer.record_events task_id=poison-db-down" in log.read_text()
    assert kept_row(session, "poison-db-down") is None

    stop(down_worker)
    _, log = start_worker(database_url)  # PostgreSQL is back (a worker that reaches it)
    send(broker, "dialer.record_failed_tasks", [], "drain-1")  # as the beat does every 30 s

    row = waited(lambda: kept_row(session, "poison-db-down"), log, "the drain to record the kept failure")
    assert (row.name, row.args, row.status) == ("dialer.record_events", [POISON], "failed")
    assert row.exception.startswith("TypeError")
    assert broker_redis.llen(KEPT) == 0
