import threading

from sqlalchemy import func, select, update

from dialer.adapters.models import Contact, DialableBacklog
from dialer.config import SwitchConfig
from dialer.flows.allocator import allocate, switch_plan
from dialer.rules import states
from tests.factories import add_contacts

ONE_SWITCH = (SwitchConfig("sw1", "127.0.0.1", 8021, "pw", capacity=10, cps=1000),)


def statuses(session):
    rows = session.execute(select(Contact.campaign_id, Contact.status, func.count())
                           .group_by(Contact.campaign_id, Contact.status)).all()
    return {(campaign, status): n for campaign, status, n in rows}


def test_tick_claims_free_slots_fairly_smallest_campaign_first(session):
    add_contacts(session, "big", 50)
    add_contacts(session, "mid", 20)
    add_contacts(session, "small", 2)
    result = allocate(session, ONE_SWITCH)
    session.commit()
    # 10 slots over 2/20/50 contacts: small is exhausted at 2, the other 8 split 4/4.
    assert result.allotment == {"small": 2, "mid": 4, "big": 4}
    assert statuses(session)[("small", "queued")] == 2
    assert statuses(session)[("mid", "queued")] == 4
    assert all(c.switch_name == "sw1" for c in result.claims)


def test_tick_never_claims_beyond_capacity_counting_in_flight_contacts(session):
    add_contacts(session, "c1", 30)
    session.execute(update(Contact).where(Contact.id.in_(
        select(Contact.id).limit(7).scalar_subquery())).values(status=states.DIALED, switch_name="sw1"))
    session.commit()
    result = allocate(session, ONE_SWITCH)
    session.commit()
    assert len(result.claims) == 3


def test_agent_contacts_are_claimed_as_agent_pending(session):
    add_contacts(session, "agents", 3, campaign_type="AGENT")
    result = allocate(session, ONE_SWITCH)
    session.commit()
    assert len(result.agent_contacts()) == 3
    assert statuses(session) == {("agents", "agent_pending"): 3}


def test_contacts_outside_their_window_or_in_stopped_campaigns_are_not_claimed(session):
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(minutes=5)
    add_contacts(session, "future", 3, dial_after=later)
    add_contacts(session, "stopped", 3)
    session.execute(update(Contact).where(Contact.campaign_id == "stopped").values(status="stopped"))
    session.commit()
    assert allocate(session, ONE_SWITCH).claims == []


def test_priority_one_is_claimed_first_then_fifo(session):
    low = add_contacts(session, "c1", 5, priority=9)
    high = add_contacts(session, "c1", 5, priority=1)
    switch = (SwitchConfig("sw1", "h", 1, "pw", capacity=6, cps=1000),)
    claimed = [c.contact_id for c in allocate(session, switch).claims]
    assert set(claimed) == set(high) | {low[0]}


def test_calls_per_second_budget_caps_a_tick(session):
    add_contacts(session, "c1", 50)
    slow = (SwitchConfig("sw1", "h", 1, "pw", capacity=100, cps=5),)
    first = allocate(session, slow)
    session.commit()
    second = allocate(session, slow)
    session.commit()
    assert (len(first.claims), len(second.claims)) == (5, 0)


def test_two_allocators_at_once_never_claim_a_contact_twice_nor_exceed_capacity(session_factory):
    with session_factory() as setup:
        add_contacts(setup, "c1", 200)
        add_contacts(setup, "c2", 200)
    switches = (SwitchConfig("sw1", "h", 1, "pw", capacity=120, cps=10_000),)
    claimed, barrier = [], threading.Barrier(4)

    def tick():
        with session_factory() as session:
            barrier.wait()
            result = allocate(session, switches)
            session.commit()
            claimed.extend(c.contact_id for c in result.claims)

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(claimed) == len(set(claimed)) == 120


def test_switch_plan_takes_switches_in_turn_while_they_have_free_slots():
    assert switch_plan({"b": 1, "a": 3}) == ["a", "b", "a", "a"]


def test_a_refill_tick_reads_the_backlog_of_the_last_counting_tick_and_takes_its_claims_off(session):
    add_contacts(session, "c1", 8)
    small = (SwitchConfig("sw1", "h", 1, "pw", capacity=3, cps=1000),)
    first = allocate(session, small)  # counts: c1 has 8
    session.commit()
    session.execute(update(Contact).where(Contact.status == states.QUEUED).values(status=states.ENDED))
    add_contacts(session, "late", 5)  # arrives after the count: not in the backlog yet
    refill = allocate(session, small, count_dialable=False)
    session.commit()
    assert len(first.claims) == 3
    assert refill.allotment == {"c1": 3}
    backlog = dict(session.execute(select(DialableBacklog.campaign_id, DialableBacklog.dialable)).all())
    assert backlog == {"c1": 2}
    session.execute(update(Contact).where(Contact.status == states.QUEUED).values(status=states.ENDED))
    assert allocate(session, small).allotment == {"c1": 2, "late": 1}  # the next count sees it
