"""`dialer tasks list|requeue|discard` through click, on the test database and a Redis of this
module's own as the broker (what a requeue sends is read back from its queue; that a worker then
runs it is tests/integration/test_failed_task_worker.py's)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialer.adapters.models import FailedTask
from dialer.flows.failed_tasks import record
from dialer.ops.cli import main
from dialer.rules.failed_tasks import failure_record
from sim.testing import free_port
from tests.broker_messages import queued, status_of

NOW = datetime.now(UTC)


@pytest.fixture
def run(database_url, own_redis, session_factory):
    """Invoke the CLI on the (emptied) test database and the module's broker; returns click's Result."""

    def invoke(*args, **env):
        return CliRunner().invoke(main, ["tasks", *map(str, args)],
                                  env={"DATABASE_URL": database_url, "REDIS_URL": own_redis.url, **env})

    return invoke


@pytest.fixture
def kept(session):
    """Failure ids by task id: an originate a day ago, a record_events an hour ago, an expire now."""
    record(session, [
        failure_record("t-day", "dialer.originate", ["sw1", [7, 8]], {}, "KeyError: 'sw1'", "",
                       NOW - timedelta(days=1)),
        failure_record("t-hour", "dialer.record_events", [[{"type": "X"}]], {}, "KeyError: 'X'", "",
                       NOW - timedelta(hours=1)),
        failure_record("t-now", "dialer.expire", [], {"limit": 5}, "RuntimeError: a bug", "Traceback ...", NOW),
    ])
    session.commit()
    return {row.task_id: row.id for row in session.scalars(select(FailedTask))}


def test_list_shows_the_waiting_failures_newest_first_with_their_arguments_and_error(run, kept):
    result = run("list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("  ")[2] for line in lines[::3]] == ["dialer.expire", "dialer.record_events",
                                                          "dialer.originate"]
    assert lines[0].startswith(f"{kept['t-now']}  ") and lines[0].endswith("  failed  task t-now")
    assert lines[7:9] == ['    args=["sw1", [7, 8]] kwargs={}', "    KeyError: 'sw1'"]


def test_list_filters_by_name_and_since(run, kept):
    assert run("list", "--name", "dialer.originate").output.count("dialer.") == 1
    recent = run("list", "--since", "2h").output
    assert "dialer.expire" in recent and "dialer.record_events" in recent and "dialer.originate" not in recent
    since_iso = run("list", "--since", (NOW - timedelta(minutes=1)).isoformat()).output
    assert since_iso.count("  task t-") == 1 and "task t-now" in since_iso


def test_list_as_json_carries_every_column(run, kept):
    [row] = json.loads(run("list", "--json", "--name", "dialer.expire").output)
    assert row["kwargs"] == {"limit": 5} and row["traceback"] == "Traceback ..." and row["status"] == "failed"


def test_list_with_nothing_waiting_says_so(run, session_factory):
    assert run("list").output == "no failed tasks\n"


def test_a_bad_since_is_a_message_and_exit_1(run, kept):
    result = run("list", "--since", "yesterday")
    assert result.exit_code == 1
    assert "--since: 'yesterday' is neither a duration such as 1h" in result.output


def test_requeue_sends_the_same_task_with_the_same_arguments_to_its_queue_and_marks_it(run, kept, broker,
                                                                                         session):
    result = run("requeue", kept["t-hour"])

    assert result.exit_code == 0, result.output
    [(name, task_id, args, kwargs)] = queued(broker, "results")  # record_events' route
    assert (name, args, kwargs) == ("dialer.record_events", [[{"type": "X"}]], {})
    assert result.output == f"failed task {kept['t-hour']} (dialer.record_events) requeued as task {task_id}\n"
    session.rollback()
    row = session.get(FailedTask, kept["t-hour"])
    assert (row.status, row.requeue_task_id) == ("requeued", task_id)


def test_requeue_all_of_one_name_and_then_all_the_rest(run, kept, broker, session):
    result = run("requeue", "--all", "--name", "dialer.originate")
    assert result.output.splitlines()[0] == "requeued 1 task(s)"
    assert [(name, args) for name, _, args, _ in queued(broker, "originate")] == [("dialer.originate",
                                                                                   ["sw1", [7, 8]])]
    assert run("requeue", "--all").output.splitlines()[0] == "requeued 2 task(s)"
    assert [kwargs for *_, kwargs in queued(broker, "default")] == [{"limit": 5}]
    assert {status_of(session, failed_id) for failed_id in kept.values()} == {"requeued"}


@pytest.mark.parametrize("args, message", [
    ((), "give the ID of a failed task, or --all"),
    (("1", "--all"), "give the ID of a failed task, or --all"),
    (("1", "--name", "dialer.expire"), "--name goes with --all"),
    (("seven",), "'seven' is not the ID of a failed task"),
    (("999",), "no failed task with id 999"),
])
def test_requeue_without_a_waiting_failure_to_send_is_a_message_and_exit_1(run, kept, broker, args, message):
    result = run("requeue", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert broker.keys("*") == []


def test_a_failure_is_requeued_once(run, kept, broker):
    run("requeue", kept["t-now"])
    again = run("requeue", kept["t-now"])
    assert again.exit_code == 1
    assert f"failed task {kept['t-now']} is requeued already (as task " in again.output
    assert len(queued(broker, "default")) == 1


def test_requeue_with_the_broker_down_says_so_and_leaves_the_failure_waiting(run, kept, session):
    result = run("requeue", kept["t-now"], REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")

    assert result.exit_code == 1
    assert "the broker did not take the task" in result.output
    assert status_of(session, kept["t-now"]) == "failed"


def test_discard_marks_it_and_it_is_neither_listed_nor_requeued_after(run, kept, broker, session):
    result = run("discard", kept["t-day"])

    assert (result.exit_code, result.output) == (0, f"failed task {kept['t-day']} (dialer.originate) discarded\n")
    assert status_of(session, kept["t-day"]) == "discarded"
    assert "dialer.originate" not in run("list").output
    assert "dialer.originate" in run("list", "--status", "discarded").output
    assert run("requeue", kept["t-day"]).exit_code == 1
    assert run("discard", kept["t-day"]).exit_code == 1
    assert run("discard", "999").output.endswith("no failed task with id 999\n")
