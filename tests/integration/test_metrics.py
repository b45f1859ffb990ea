"""/metrics after driving the flows: originates, results, ticks, the listener's events (counted in
this process: no multiprocess folder here) and the gauges read from the store at scrape time.
Counters live as long as the test process, so each test compares before and after."""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from dialer.adapters.esl import EslClient
from dialer.adapters.models import OutboxMessage
from dialer.flows import inbox
from dialer.flows.listener import EventPump
from dialer.flows.outbox import add_message
from dialer.rules.event_messages import to_message
from sim.testing import wait_for
from tests.calls import dial, hangup, job_result
from tests.conftest import make_settings
from tests.factories import add_contacts
from workers import tasks

BUSY = "1006"


class Scrape:
    """One read of /metrics: value(name, **labels), 0 for a series not there (yet)."""

    def __init__(self, client):
        response = client.get("/metrics")
        assert response.status_code == 200
        self.text = response.get_data(as_text=True)
        self.values = {(s.name, frozenset(s.labels.items())): s.value
                       for family in text_string_to_metric_families(self.text) for s in family.samples}

    def value(self, name, **labels):
        return self.values.get((name, frozenset(labels.items())), 0.0)


def grew(before, after, name, **labels):
    return after.value(name, **labels) - before.value(name, **labels)


@pytest.fixture
def no_broker_trips(monkeypatch):
    """The tasks' own enqueues (a delivery, a batch of originates) are not what these tests look at."""
    monkeypatch.setattr(tasks.originate, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.deliver_outbox, "delay", lambda *args: None)


def test_originates_are_counted_by_switch_and_outcome(rt, client, session, no_broker_trips):
    add_contacts(session, "c1", 2)
    add_contacts(session, "c2", 1, gateway_id="gw-down")
    add_contacts(session, "c3", 1, gateway_id="no-such-gateway")
    before = Scrape(client)
    tasks._allocate(rt, count_dialable=True, dial_here=True)
    after = Scrape(client)
    assert grew(before, after, "dialer_originates_total", switch="sw1", outcome="accepted") == 2
    assert grew(before, after, "dialer_originates_total", switch="sw1", outcome="gateway_down") == 1
    assert grew(before, after, "dialer_originates_total", switch="sw1", outcome="invalid_gateway") == 1


def test_an_allocation_tick_is_timed_and_its_claim_size_observed(rt, client, session, no_broker_trips):
    add_contacts(session, "c1", 3)
    before = Scrape(client)
    tasks._allocate(rt, count_dialable=True)
    tasks._allocate(rt, count_dialable=False)  # a refill: nothing left to claim
    after = Scrape(client)
    assert grew(before, after, "dialer_allocation_claim_size_count", trigger="beat") == 1
    assert grew(before, after, "dialer_allocation_claim_size_sum", trigger="beat") == 3
    assert grew(before, after, "dialer_allocation_claim_size_sum", trigger="refill") == 0
    assert grew(before, after, "dialer_allocation_tick_seconds_count", trigger="refill") == 1
    assert grew(before, after, "dialer_allocation_tick_seconds_sum", trigger="beat") > 0


def test_results_are_counted_by_disposition_once_recorded_with_the_time_since_the_hangup(
        rt, client, session, no_broker_trips):
    answered, busy, gateway_down = (dial(session, contact_id) for contact_id in add_contacts(session, "c1", 3))
    three_seconds_ago = datetime.now(UTC) - timedelta(seconds=3)
    busy_hangup = replace(hangup(busy, "USER_BUSY", answered=False), ended_at=three_seconds_ago)
    results = [replace(hangup(answered), ended_at=three_seconds_ago), busy_hangup, busy_hangup,  # a copy
               job_result(gateway_down, "GATEWAY_DOWN")]
    inbox.store(session, [to_message(result) for result in results], inbox.EVENT)
    session.commit()
    before = Scrape(client)
    tasks._record_inbox(rt)
    after = Scrape(client)
    assert grew(before, after, "dialer_results_total", disposition="ANSWERED") == 1
    assert grew(before, after, "dialer_results_total", disposition="BUSY") == 1  # the copy counts once
    assert grew(before, after, "dialer_results_total", disposition="GATEWAY") == 1
    # Two hangups (a job result has no hangup time), both between 2.5 s and 5 s ago.
    assert grew(before, after, "dialer_hangup_to_recorded_seconds_count") == 2
    assert grew(before, after, "dialer_hangup_to_recorded_seconds_bucket", le="2.5") == 0
    assert grew(before, after, "dialer_hangup_to_recorded_seconds_bucket", le="5.0") == 2


def test_the_listener_counts_the_events_it_read_and_the_results_it_published(switch, client):
    published = []
    pump = EventPump("sim-a", lambda: EslClient("127.0.0.1", switch.port, "ClueCon"), "dialer", published.extend)
    thread = threading.Thread(target=pump.run, daemon=True)
    thread.start()
    try:
        wait_for(pump.connected.is_set, message="the pump to subscribe")
        before = Scrape(client)
        esl = EslClient("127.0.0.1", switch.port, "ClueCon")
        esl.bgapi("originate {origination_uuid=m-1,dialer_contact_id=m-1,dialer_instance=dialer}"
                  f"sofia/gateway/gw1/{BUSY} 6666 XML default", "job-m-1")
        esl.close()

        def counted():  # a busy call: its hangup (published) and its job result (read, adds nothing)
            after = Scrape(client)
            return (grew(before, after, "dialer_listener_events_read_total", switch="sim-a"),
                    grew(before, after, "dialer_listener_events_published_total", switch="sim-a"))

        try:
            wait_for(lambda: counted() == (2, 1), timeout=30, message="two events read, one result published")
        except AssertionError:
            assert counted() == (2, 1)  # shows what was counted
        assert len(published) == 1
    finally:
        pump.stop()
        thread.join(timeout=5)


def test_gauges_are_read_from_the_store_when_scraped(client, session):
    add_contacts(session, "c1", 2)
    add_contacts(session, "c1", 3, status="dialed", switch_name="sw1")
    add_contacts(session, "c1", 1, status="queued", switch_name="sw1")
    [contact_id] = add_contacts(session, "c1", 1, status="ended")
    for _ in range(4):
        add_message(session, contact_id, "call_result", "/fs-message/call-result", {})
    session.flush()
    ids = session.execute(text("SELECT id FROM outbox ORDER BY id")).scalars().all()
    session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(status="dead"))
    session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[1]).values(status="delivered"))
    session.execute(text("INSERT INTO failed_tasks (task_id, name, status) VALUES ('t1', 'dialer.originate', 'failed'),"
                         " ('t2', 'dialer.originate', 'failed'), ('t3', 'dialer.expire', 'requeued')"))
    session.commit()
    scrape = Scrape(client)
    assert scrape.value("dialer_contacts", status="pending") == 2
    assert scrape.value("dialer_contacts", status="dialed") == 3
    assert scrape.value("dialer_calls_in_progress", switch="sw1") == 4
    assert scrape.value("dialer_switch_capacity", switch="sw1") == 10
    assert scrape.value("dialer_outbox_messages", status="pending") == 2
    assert scrape.value("dialer_outbox_messages", status="dead") == 1
    assert ("dialer_outbox_messages", frozenset({("status", "delivered")})) not in scrape.values
    assert scrape.value("dialer_failed_tasks") == 2  # the requeued one is history
    assert scrape.value("dialer_database_up") == 1


def test_the_counters_are_still_exported_while_the_database_is_down(redis_url):
    from api import create_app

    down = create_app(make_settings("postgresql://postgres@127.0.0.1:1/none", redis_url)).test_client()
    scrape = Scrape(down)
    assert scrape.value("dialer_database_up") == 0
    assert "# TYPE dialer_results_total counter" in scrape.text
    assert "dialer_contacts" not in scrape.text
