"""deliver_due against the VC simulator over real HTTP: order, retries with backoff, dead letters,
requeue, per-contact order and sequence, and no double delivery between concurrent deliverers."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, text, update

from dialer.adapters.models import OutboxMessage
from dialer.adapters.vc import VcClient
from dialer.flows.outbox import (
    DELIVERER_LOCK,
    LONGEST_RETRY,
    MAX_ATTEMPTS,
    add_message,
    deliver_due,
    deliverer_free,
    has_due,
    requeue_dead,
    retry_delay,
)
from sim.connector.server import ConnectorSimulator
from tests.calls import db_now, outbox
from tests.factories import add_contacts

CALL_RESULT, END_CHAT, RECORDING = "/fs-message/call-result", "/fs-message/end-chat", "/fs-message/recording"


@pytest.fixture
def vc():
    with ConnectorSimulator(port=0, dialer_url="http://127.0.0.1:9") as simulator:
        yield simulator


class SentHeaders:
    """Records the headers of every request a VcClient really sent (a requests response hook)."""

    def __init__(self):
        self.rows = []
        self.http = requests.Session()
        self.http.hooks["response"].append(self._record)

    def _record(self, response, *args, **kwargs):
        self.rows.append((response.request.path_url, response.request.headers.get("Idempotency-Key")))


@pytest.fixture
def sent():
    recorder = SentHeaders()
    yield recorder
    recorder.http.close()


@pytest.fixture
def vc_client(vc, sent):
    client = VcClient(vc.url, timeout=5.0, session=sent.http)
    yield client
    client.close()


def add(session, count, path=CALL_RESULT, **values):
    """`count` messages (bodies {"n": 0..}) of as many contacts, committed; returns their ids in order."""
    for n in range(count):
        add_message(session, str(uuid.uuid4()), "call_result", path, {"n": n})
    session.commit()
    ids = [m.id for m in outbox(session)][-count:]
    if values:
        set_values(session, ids, **values)
    return ids


def set_values(session, ids, **values):
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values))
    session.commit()


def received(vc):
    """(path, body) of what the VC got, bodies without the per-contact sequence (tested on its own)."""
    return [(m["path"], {k: v for k, v in m["body"].items() if k != "sequence"}) for m in vc.messages()]


def sequences(vc):
    return [(m["body"]["callUid"], m["body"]["n"], m["body"]["sequence"]) for m in vc.messages()]


def add_for(session, contact_id, n):
    add_message(session, contact_id, "call_result", CALL_RESULT, {"callUid": contact_id, "n": n})
    session.commit()
    return outbox(session)[-1].id


def by_id(session):
    return {m.id: m for m in outbox(session)}


def test_due_messages_are_delivered_in_id_order_at_their_paths_and_marked_delivered(session, vc, vc_client):
    add_message(session, "c-1", "call_result", CALL_RESULT, {"n": 1})
    add_message(session, "c-1", "end_chat", END_CHAT, {"n": 2})
    add_message(session, "c-2", "recording", RECORDING, {"n": 3})
    session.commit()
    ids = [m.id for m in outbox(session)]

    assert deliver_due(session, vc_client) == (3, 0)

    assert received(vc) == [(CALL_RESULT, {"n": 1}), (END_CHAT, {"n": 2}), (RECORDING, {"n": 3})]
    rows = by_id(session)
    assert [(rows[i].status, rows[i].attempts) for i in ids] == [("delivered", 1)] * 3
    assert all(rows[i].delivered_at is not None for i in ids)


def test_each_delivery_carries_the_message_id_as_its_idempotency_key(session, vc, vc_client, sent):
    ids = add(session, 2)

    deliver_due(session, vc_client)

    assert sent.rows == [(CALL_RESULT, str(ids[0])), (CALL_RESULT, str(ids[1]))]


def test_messages_not_yet_due_are_left_for_later(session, vc, vc_client):
    [later] = add(session, 1, next_attempt_at=func.now() + timedelta(minutes=5))
    [due] = add(session, 1, path=END_CHAT)

    assert deliver_due(session, vc_client) == (1, 0)

    assert [m["path"] for m in vc.messages()] == [END_CHAT]
    rows = by_id(session)
    assert (rows[later].status, rows[later].attempts) == ("pending", 0)
    assert rows[due].status == "delivered"


def test_delivery_takes_at_most_the_limit_oldest_first(session, vc, vc_client):
    ids = add(session, 5)

    assert deliver_due(session, vc_client, limit=2) == (2, 0)

    assert received(vc) == [(CALL_RESULT, {"n": 0}), (CALL_RESULT, {"n": 1})]
    rows = by_id(session)
    assert [rows[i].status for i in ids] == ["delivered"] * 2 + ["pending"] * 3


@pytest.mark.parametrize("mode, recorded_by_vc", [("down", 0), ("error", 1)], ids=["vc-down", "vc-answers-500"])
def test_a_failed_delivery_counts_the_attempt_schedules_a_retry_and_stops_the_batch(session, vc, vc_client, mode,
                                                                                    recorded_by_vc):
    ids = add(session, 3)
    vc.set_mode(mode)
    before = db_now(session)

    assert deliver_due(session, vc_client) == (0, 1)

    after = db_now(session)
    rows = by_id(session)
    first, rest = rows[ids[0]], [rows[i] for i in ids[1:]]
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.last_error
    assert before + retry_delay(1) <= first.next_attempt_at <= after + retry_delay(1)
    assert [(m.status, m.attempts, m.last_error) for m in rest] == [("pending", 0, None)] * 2
    assert all(m.next_attempt_at <= before for m in rest)
    assert len(vc.messages()) == recorded_by_vc  # nothing after the first failure was even tried


def test_a_500_from_the_vc_is_recorded_as_the_last_error(session, vc, vc_client):
    add(session, 1)
    vc.set_mode("error")

    deliver_due(session, vc_client)

    [message] = outbox(session)
    assert message.last_error.startswith("HTTP 500")
    assert [m["status"] for m in vc.messages()] == [500]


def test_each_failure_pushes_the_next_attempt_back_by_the_retry_delay_of_its_attempts(session, vc, vc_client):
    add(session, 1, attempts=3)
    vc.set_mode("down")
    before = db_now(session)

    deliver_due(session, vc_client)

    after = db_now(session)
    [message] = outbox(session)
    assert message.attempts == 4
    assert before + timedelta(seconds=8) <= message.next_attempt_at <= after + timedelta(seconds=8)


def test_a_message_retried_once_the_vc_is_back_is_delivered(session, vc, vc_client):
    [message_id] = add(session, 1)
    vc.set_mode("down")
    deliver_due(session, vc_client)
    vc.set_mode("up")
    set_values(session, [message_id], next_attempt_at=func.now())  # its retry time has come

    assert deliver_due(session, vc_client) == (1, 0)

    [message] = outbox(session)
    assert (message.status, message.attempts) == ("delivered", 2)
    assert received(vc) == [(CALL_RESULT, {"n": 0})]


@pytest.mark.parametrize("attempts_before, status", [(MAX_ATTEMPTS - 2, "pending"), (MAX_ATTEMPTS - 1, "dead")])
def test_a_message_is_dead_after_max_attempts_failures(session, vc, vc_client, attempts_before, status):
    add(session, 1, attempts=attempts_before)
    vc.set_mode("down")

    deliver_due(session, vc_client)

    [message] = outbox(session)
    assert (message.status, message.attempts) == (status, attempts_before + 1)
    assert message.last_error


def test_a_dead_message_is_not_delivered_until_requeued(session, vc, vc_client):
    [message_id] = add(session, 1, status="dead", attempts=MAX_ATTEMPTS, last_error="HTTP 500: boom")

    assert deliver_due(session, vc_client) == (0, 0)
    assert vc.messages() == []

    assert requeue_dead(session) == 1
    [message] = outbox(session)
    assert (message.status, message.attempts) == ("pending", 0)
    assert message.next_attempt_at <= db_now(session)

    assert deliver_due(session, vc_client) == (1, 0)
    assert received(vc) == [(CALL_RESULT, {"n": 0})]
    assert by_id(session)[message_id].status == "delivered"


def test_requeue_dead_leaves_pending_and_delivered_messages_alone(session, vc, vc_client):
    [pending] = add(session, 1, attempts=3, next_attempt_at=func.now() + timedelta(minutes=1))
    [delivered] = add(session, 1, status="delivered", attempts=1)
    [dead] = add(session, 1, status="dead", attempts=MAX_ATTEMPTS)

    assert requeue_dead(session) == 1

    rows = by_id(session)
    assert (rows[pending].status, rows[pending].attempts) == ("pending", 3)
    assert (rows[delivered].status, rows[delivered].attempts) == ("delivered", 1)
    assert (rows[dead].status, rows[dead].attempts) == ("pending", 0)


def test_two_concurrent_deliverers_never_deliver_a_message_twice_nor_out_of_order(session_factory, session, vc):
    ids = add(session, 30)
    vc.set_mode("slow", 0.02)  # each answer late, so the two really overlap
    start = threading.Barrier(2)
    errors = []

    def deliverer():
        client = VcClient(vc.url, timeout=5.0)
        try:
            with session_factory() as own_session:
                start.wait(timeout=5)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and any(m.status == "pending" for m in outbox(own_session)):
                    deliver_due(own_session, client, limit=3)
        except Exception as exc:  # reported below, so a failing thread fails the test
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=deliverer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert [m["body"]["n"] for m in vc.messages()] == list(range(30))  # each once, in the order written
    assert {m.status for m in outbox(session) if m.id in ids} == {"delivered"}


def test_a_deliverer_steps_aside_at_once_while_another_is_at_work(session, engine, vc, vc_client):
    add(session, 2)
    with engine.connect() as other:  # another deliverer holds the lock
        other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": DELIVERER_LOCK})
        assert deliver_due(session, vc_client) == (0, 0)
        assert vc.messages() == []
        assert not deliverer_free(session)
        other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": DELIVERER_LOCK})
        other.commit()

    assert deliverer_free(session) and has_due(session)
    assert deliver_due(session, vc_client) == (2, 0)
    assert not has_due(session)


def test_each_message_carries_the_next_sequence_number_of_its_contact(session, vc, vc_client):
    first, second = add_contacts(session, "camp-1", 2)
    for contact_id, n in ((first, 0), (second, 1), (first, 2), (first, 3)):
        add_for(session, contact_id, n)

    assert [(m.contact_id, m.sequence) for m in outbox(session)] == [(first, 1), (second, 1), (first, 2), (first, 3)]
    deliver_due(session, vc_client)
    assert sequences(vc) == [(first, 0, 1), (second, 1, 1), (first, 2, 2), (first, 3, 3)]


def test_a_message_waits_while_an_earlier_one_of_its_contact_waits_for_a_retry(session, vc, vc_client):
    first, second = add_contacts(session, "camp-1", 2)
    retrying = add_for(session, first, 0)
    add_for(session, first, 1)
    add_for(session, second, 2)
    set_values(session, [retrying], attempts=1, next_attempt_at=func.now() + timedelta(minutes=5))

    assert deliver_due(session, vc_client) == (1, 0)
    assert [body["n"] for _, body in received(vc)] == [2]  # the other contact's message goes ahead

    set_values(session, [retrying], next_attempt_at=func.now())
    assert deliver_due(session, vc_client) == (2, 0)
    assert [body["n"] for _, body in received(vc)] == [2, 0, 1]


def test_a_dead_message_holds_back_the_later_messages_of_its_contact_until_requeued(session, vc, vc_client):
    [first] = add_contacts(session, "camp-1", 1)
    dead = add_for(session, first, 0)
    add_for(session, first, 1)
    set_values(session, [dead], status="dead", attempts=MAX_ATTEMPTS)

    assert deliver_due(session, vc_client) == (0, 0)

    requeue_dead(session)
    assert deliver_due(session, vc_client) == (2, 0)
    assert [body["n"] for _, body in received(vc)] == [0, 1]


def test_a_superseded_message_is_never_delivered_and_holds_nothing_back(session, vc, vc_client):
    [first] = add_contacts(session, "camp-1", 1)
    superseded = add_for(session, first, 0)
    add_for(session, first, 1)
    set_values(session, [superseded], status="superseded")

    assert deliver_due(session, vc_client) == (1, 0)
    assert [body["n"] for _, body in received(vc)] == [1]


def test_retry_delay_doubles_from_one_second_and_caps_at_ten_minutes():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert retry_delay(10) == timedelta(seconds=512)
    assert retry_delay(11) == LONGEST_RETRY == timedelta(minutes=10)
    assert retry_delay(MAX_ATTEMPTS) == LONGEST_RETRY
    assert retry_delay(0) == timedelta(seconds=1)
