"""At most once, and results that survive any one process dying: the task bodies against the
switch simulator over TCP, real PostgreSQL and Redis, with the crashes put exactly where chaos
testing found them (issue 8), so each sequence runs the same way every time."""

import threading

import pytest
from sqlalchemy import select, text

from dialer.adapters.esl import EslClient
from dialer.adapters.models import CallEvent
from dialer.flows.listener import EventPump
from dialer.flows.results import LOST
from dialer.rules import states
from dialer.rules.event_messages import to_message
from sim.testing import wait_for
from tests.calls import Call, contact, hangup, outbox
from tests.factories import add_contacts
from workers import tasks
from workers.listener import publisher

BUSY = "1006"  # the simulator's busy number: the call ends USER_BUSY at once


class WorkerKilled(BaseException):
    """SIGKILL at this point: nothing after it runs, nothing is committed."""


def killed_after_sending(rt, monkeypatch):
    """The worker's switch connection sends the bgapi, then the worker dies before it can write
    down that the switch took it."""
    real = rt.switches.get("sw1")

    class SendThenDie:
        def __getattr__(self, name):
            return getattr(real, name)

        def bgapi(self, command, job_uuid):
            real.bgapi(command, job_uuid)
            raise WorkerKilled

    monkeypatch.setattr(rt.switches, "get", lambda name: SendThenDie())


def originates_of(switch, contact_id):
    return [o for o in switch.originates if o.variables.get("dialer_contact_id") == contact_id]


def test_a_worker_killed_between_the_originate_and_its_commit_never_has_the_customer_dialed_again(
        rt, switch, session, monkeypatch):
    [contact_id] = add_contacts(session, "camp-1", 1, number=BUSY)
    killed_after_sending(rt, monkeypatch)
    with pytest.raises(WorkerKilled):
        tasks._allocate(rt, count_dialable=True, dial_here=True)
    monkeypatch.undo()
    wait_for(lambda: not switch.live_calls(), message="the busy call to end (its hangup heard by nobody)")

    def reconciled_and_ticked():
        tasks.reconcile()
        tasks._allocate(rt, count_dialable=True, dial_here=True)
        return contact(session, contact_id).status != states.DIALED

    wait_for(reconciled_and_ticked, timeout=10, message="reconcile to close the call")
    tasks._allocate(rt, count_dialable=True, dial_here=True)

    assert len(originates_of(switch, contact_id)) == 1
    closed = contact(session, contact_id)
    assert (closed.status, closed.call_result) == (states.ENDED, LOST)  # no path could know: CDRs off, no listener


class Listener:
    """An event pump on the switch writing through `publish` (the real inbox publisher by default)."""

    def __init__(self, switch, settings, publish=None):
        self.pump = EventPump("sw1", lambda: EslClient("127.0.0.1", switch.port, "ClueCon"), settings.instance,
                              publish or publisher(settings.database_url, settings.redis_url))
        self.thread = threading.Thread(target=self.pump.run, daemon=True)
        self.thread.start()
        wait_for(self.pump.connected.is_set, message="the listener to subscribe")

    def stop(self):
        self.pump.stop()
        self.thread.join(timeout=5)


@pytest.fixture
def listeners():
    started = []

    def start(*args, **kwargs):
        started.append(Listener(*args, **kwargs))
        return started[-1]

    yield start
    for listener in started:
        listener.stop()


def inbox_rows(session):
    session.expire_all()
    rows = session.execute(select(CallEvent).order_by(CallEvent.id)).scalars().all()
    session.commit()  # holds no lock on the table afterwards
    return rows


def test_a_result_whose_task_was_lost_between_listener_and_worker_is_recorded_by_the_sweep(
        rt, switch, session, listeners):
    [contact_id] = add_contacts(session, "camp-1", 1, number=BUSY)
    listeners(switch, rt.settings)
    rt.redis.delete(tasks.inbox.NUDGED)
    tasks._allocate(rt, count_dialable=True, dial_here=True)
    wait_for(lambda: inbox_rows(session), message="the hangup in the inbox")
    rt.redis.delete("results")  # the worker took the nudge off the list and was killed: it is gone

    tasks.record_inbox()  # the beat's sweep

    ended = contact(session, contact_id)
    assert (ended.status, ended.call_result) == (states.ENDED, "USER_BUSY")
    assert [row.processed_at is not None for row in inbox_rows(session)] == [True]


def test_a_listener_killed_between_reading_an_event_and_publishing_it_loses_nothing(
        rt, switch, session, listeners):
    [contact_id] = add_contacts(session, "camp-1", 1, number=BUSY)
    read_by_the_dying_one, test_over = threading.Event(), threading.Event()

    def dies_before_publishing(messages):
        read_by_the_dying_one.set()
        test_over.wait(10)  # killed here: it never publishes what it read

    listeners(switch, rt.settings, publish=dies_before_publishing)
    listeners(switch, rt.settings)
    tasks._allocate(rt, count_dialable=True, dial_here=True)
    wait_for(read_by_the_dying_one.is_set, message="the first listener to read the hangup")
    wait_for(lambda: inbox_rows(session), message="the other listener to write it")

    tasks.record_inbox()

    assert contact(session, contact_id).call_result == "USER_BUSY"
    test_over.set()


def test_two_listeners_write_each_result_once_and_it_is_recorded_once(rt, switch, session, listeners):
    [contact_id] = add_contacts(session, "camp-1", 1, number=BUSY)
    listeners(switch, rt.settings)
    listeners(switch, rt.settings)
    tasks._allocate(rt, count_dialable=True, dial_here=True)
    wait_for(lambda: switch.stats()["subscribers"] == 2 and inbox_rows(session), message="the hangup")
    wait_for(lambda: not switch.live_calls(), message="the call to end")

    tasks.record_inbox()
    tasks.record_inbox()

    assert [(row.kind, row.key) for row in inbox_rows(session)] == [("hangup", contact_id)]
    assert [m.kind for m in outbox(session, contact_id)] == ["call_result"]


def test_a_real_result_that_arrives_while_reconcile_waits_out_the_grace_wins(rt, switch, session):
    [contact_id] = add_contacts(session, "camp-1", 1, number=BUSY)
    tasks._allocate(rt, count_dialable=True, dial_here=True)
    wait_for(lambda: not switch.live_calls(), message="the call to end while no listener runs")
    tasks.reconcile()  # first seen gone: the grace starts now
    assert contact(session, contact_id).missing_since is not None

    # The result comes in late, through the inbox (here: a listener's publisher writing what it read).
    call = Call(contact_id, "camp-1", contact_id, "")
    publisher(rt.settings.database_url, rt.settings.redis_url)([to_message(hangup(call, "USER_BUSY", answered=False))])
    wait_for(lambda: tasks.reconcile() is not None and contact(session, contact_id).status == states.ENDED,
             timeout=5, message="the contact to end")

    ended = contact(session, contact_id)
    assert ended.call_result == "USER_BUSY"
    assert [m.body["callResult"] for m in outbox(session, contact_id)] == ["USER_BUSY"]


def test_a_listener_whose_inbox_write_fails_keeps_the_results_and_writes_them_once_it_can(
        rt, session, engine, caplog):
    call = Call("c-1", "camp-1", "call-1", "job-1")
    with engine.begin() as connection:  # the database refuses the write, as while it restarts
        connection.execute(text("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'database unavailable (test)'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON call_events FOR EACH ROW EXECUTE FUNCTION refuse();
        """))
    publish = publisher(rt.settings.database_url, rt.settings.redis_url)
    writing = threading.Thread(target=publish, args=([to_message(hangup(call, "USER_BUSY"))],), daemon=True)
    try:
        writing.start()
        wait_for(lambda: sum("inbox_write_failed" in r.getMessage() for r in caplog.records) >= 2,
                 message="the listener to retry the write")
        assert inbox_rows(session) == []
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse ON call_events; DROP FUNCTION refuse()"))
    writing.join(timeout=10)

    assert not writing.is_alive()
    assert [(row.kind, row.key) for row in inbox_rows(session)] == [("hangup", "call-1")]
