"""Failed tasks in PostgreSQL: kept once per task id, listed by name, time and status, requeued
through a send_task callable, discarded; what is stored comes back as it went in."""

from datetime import UTC, datetime, timedelta

import pytest

from dialer.adapters.models import FailedTask
from dialer.flows.failed_tasks import (
    BrokerUnavailable,
    NotFailed,
    UnknownFailedTask,
    discard,
    list_failed,
    record,
    requeue,
    requeue_all,
)
from dialer.rules.failed_tasks import failure_record

NOW = datetime.now(UTC)


def failure(task_id, name="dialer.originate", args=("sw1", [1, 2]), kwargs=None, ago=timedelta(0)):
    return failure_record(task_id, name, args, kwargs or {}, "TypeError: bad", "Traceback ...", NOW - ago)


class Sent:
    """A send_task that remembers what it was asked to send (or fails as a broker that is down)."""

    def __init__(self, down=False):
        self.messages = []
        self.down = down

    def __call__(self, name, args=None, kwargs=None, task_id=None):
        if self.down:
            raise BrokerUnavailable("connection refused")
        self.messages.append((name, args, kwargs, task_id))


@pytest.fixture
def kept(session):
    """Three failures: two originates (an hour and a day ago) and a record_events just now."""
    record(session, [failure("t-old", ago=timedelta(days=1)), failure("t-hour", ago=timedelta(hours=1)),
                     failure("t-new", name="dialer.record_events", args=([{"uuid": "u1"}],), kwargs={"k": 1})])
    session.commit()
    return {row.task_id: row.id for row in session.query(FailedTask)}


def test_a_failure_is_stored_with_its_arguments_and_comes_back_as_it_went_in(session):
    weird = ["nul\x00", {"deep": [1.5, None, True]}]
    assert record(session, [failure("t-1", args=weird, kwargs={"k": "v"})]) == 1
    session.commit()

    [stored] = list_failed(session)
    assert stored["args"] == ["nul\ufffd", {"deep": [1.5, None, True]}]
    assert (stored["task_id"], stored["name"], stored["kwargs"], stored["status"]) == (
        "t-1", "dialer.originate", {"k": "v"}, "failed")
    assert (stored["exception"], stored["traceback"]) == ("TypeError: bad", "Traceback ...")
    assert datetime.fromisoformat(stored["failed_at"]) == NOW
    assert (stored["requeued_at"], stored["requeue_task_id"]) == (None, None)


def test_a_failure_seen_twice_is_kept_once(session):
    assert record(session, [failure("t-1")]) == 1
    assert record(session, [failure("t-1"), failure("t-2")]) == 1
    session.commit()
    assert sorted(row["task_id"] for row in list_failed(session)) == ["t-1", "t-2"]


def test_the_list_is_newest_first_and_filters_by_name_time_and_status(session, kept):
    assert [row["task_id"] for row in list_failed(session)] == ["t-new", "t-hour", "t-old"]
    assert [row["task_id"] for row in list_failed(session, name="dialer.originate")] == ["t-hour", "t-old"]
    assert [row["task_id"] for row in list_failed(session, since=NOW - timedelta(hours=2))] == ["t-new", "t-hour"]
    assert [row["task_id"] for row in list_failed(session, limit=1)] == ["t-new"]

    discard(session, kept["t-old"])
    assert [row["task_id"] for row in list_failed(session)] == ["t-new", "t-hour"]
    assert [row["task_id"] for row in list_failed(session, status="discarded")] == ["t-old"]
    assert len(list_failed(session, status=None)) == 3


def test_requeue_sends_the_same_task_with_the_same_arguments_under_a_new_id_and_marks_it(session, kept):
    sent = Sent()
    row = requeue(session, kept["t-new"], sent)

    [(name, args, kwargs, task_id)] = sent.messages
    assert (name, args, kwargs) == ("dialer.record_events", [[{"uuid": "u1"}]], {"k": 1})
    assert task_id not in kept
    assert (row["status"], row["requeue_task_id"]) == ("requeued", task_id)
    session.expire_all()
    stored = session.get(FailedTask, kept["t-new"])
    assert (stored.status, stored.requeue_task_id) == ("requeued", task_id)
    assert stored.requeued_at >= NOW


def test_a_requeued_or_discarded_failure_is_not_requeued_or_discarded_again(session, kept):
    requeue(session, kept["t-new"], Sent())
    discard(session, kept["t-old"])
    sent = Sent()

    with pytest.raises(NotFailed, match="is requeued already"):
        requeue(session, kept["t-new"], sent)
    with pytest.raises(NotFailed, match="is discarded already"):
        requeue(session, kept["t-old"], sent)
    with pytest.raises(NotFailed, match="is requeued already"):
        discard(session, kept["t-new"])
    assert sent.messages == []


@pytest.mark.parametrize("failed_id", [999, 0, -1, 2**70])
def test_an_unknown_id_is_named_in_the_error(session, kept, failed_id):
    with pytest.raises(UnknownFailedTask, match=f"no failed task with id {failed_id}"):
        requeue(session, failed_id, Sent())
    with pytest.raises(UnknownFailedTask):
        discard(session, failed_id)


def test_a_broker_that_is_down_leaves_the_failure_waiting(session, kept):
    with pytest.raises(BrokerUnavailable):
        requeue(session, kept["t-hour"], Sent(down=True))

    session.expire_all()
    assert session.get(FailedTask, kept["t-hour"]).status == "failed"


def test_requeue_all_sends_every_waiting_failure_oldest_first_and_of_one_name_if_asked(session, kept):
    discard(session, kept["t-old"])
    sent = Sent()
    assert [row["task_id"] for row in requeue_all(session, sent, name="dialer.originate")] == ["t-hour"]
    assert [row["task_id"] for row in requeue_all(session, sent)] == ["t-new"]
    assert [name for name, *_ in sent.messages] == ["dialer.originate", "dialer.record_events"]
    assert requeue_all(session, sent) == []


def test_discard_marks_the_failure_and_sends_nothing(session, kept):
    row = discard(session, kept["t-hour"])
    assert (row["status"], row["requeued_at"]) == ("discarded", None)
    session.expire_all()
    assert session.get(FailedTask, kept["t-hour"]).status == "discarded"
