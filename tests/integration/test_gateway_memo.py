"""The fleet's memo of gateway statuses (workers/gateway_memo.py): a refill within a second of the
last one does not ask the switch again; a job result that says the gateway is down forgets it."""

from sqlalchemy import select

from dialer.adapters.models import CallAttempt
from dialer.flows.inbox import EVENT, store
from dialer.rules import states
from dialer.rules.event_messages import to_message
from dialer.rules.events import JobResult
from tests.calls import contact
from tests.factories import add_contacts
from workers import tasks
from workers.gateway_memo import RedisGatewayMemo

LONG = "15550000001"  # answered; the calls stay up for the test


def status_requests(switch):
    return switch.stats()["api_commands"].get("sofia status", 0)


def refill(rt, session):
    [contact_id] = add_contacts(session, "camp-1", 1, number=LONG)
    tasks._allocate(rt, count_dialable=True, dial_here=True)
    return contact_id


def test_refills_within_a_second_ask_the_switch_for_the_gateway_once(rt, switch, session):
    switch.set_outcome(LONG, "answered", 0.0, 3600.0)
    first, second = refill(rt, session), refill(rt, session)

    assert [contact(session, i).status for i in (first, second)] == [states.DIALED, states.DIALED]
    assert status_requests(switch) == 1
    assert RedisGatewayMemo(rt.redis, "sw1").get("gw1") == "UP"


def test_a_gateway_down_job_result_makes_the_next_refill_ask_again(rt, switch, session):
    switch.set_outcome(LONG, "answered", 0.0, 3600.0)
    refill(rt, session)
    switch.fail_originates("GATEWAY_DOWN")  # remembered UP; the originate finds it down
    refused = refill(rt, session)
    job_uuid = session.execute(select(CallAttempt.job_uuid).where(CallAttempt.contact_id == refused)).scalar_one()
    # Its job result, as a listener writes it into the inbox, recorded by a worker.
    store(session, [to_message(JobResult(job_uuid, False, "GATEWAY_DOWN", None, refused, refused, "camp-1"))],
          EVENT)
    session.commit()
    tasks.record_inbox()

    assert contact(session, refused).status == states.PENDING
    assert RedisGatewayMemo(rt.redis, "sw1").get("gw1") is None
    switch.fail_originates(None)
    refill(rt, session)
    assert status_requests(switch) == 2
