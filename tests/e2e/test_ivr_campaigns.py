"""IVR campaigns end to end: fleet (web, worker, listener, beat) + switch and VC simulators."""

from collections import Counter

from dialer.rules.allocation import fair_share
from tests.e2e.conftest import CAPACITY
from tests.e2e.contacts import (
    ANSWERED,
    BUSY,
    DECLINED,
    EXPECTED_RESULT,
    NO_ANSWER,
    UNALLOCATED,
    all_in,
    attempts,
    contacts,
    rows,
)
from tests.e2e.fleet import wait_until

OUTCOMES = (ANSWERED, BUSY, NO_ANSWER, DECLINED, UNALLOCATED)


def test_three_campaigns_dial_to_completion_with_the_result_of_every_call(fleet, engine, switch_sim, vc_sim):
    batch = contacts("small", 5, OUTCOMES) + contacts("mid", 12, OUTCOMES) + contacts("large", 23, OUTCOMES)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=90, message="every contact to end")

    stored = rows(engine, ids)
    for sent in batch:
        row = stored[sent["id"]]
        assert row.call_result == EXPECTED_RESULT[sent["customer_number"]], sent
        assert row.dial_time is not None and row.hangup_time is not None
        assert (row.answer_time is not None) == (sent["customer_number"] == ANSWERED)
    # One originate per contact, each with our variables; one attempt row each.
    ours = [o for o in switch_sim.originates if o.variables.get("dialer_contact_id") in stored]
    assert Counter(o.variables["dialer_contact_id"] for o in ours) == Counter(ids)
    assert len(attempts(engine)) == len(ids)
    # Every result reaches the voice connector, once.
    wait_until(lambda: len(vc_sim.messages(path="/fs-message/call-result")) == len(ids), timeout=30,
               message="a delivery notification per contact")
    delivered = Counter(m["body"]["callUid"] for m in vc_sim.messages(path="/fs-message/call-result"))
    assert delivered == Counter(ids)


def test_first_calls_follow_the_fair_share_and_slots_never_exceed_capacity(fleet, engine, switch_sim):
    sizes = {"a": 3, "b": 9, "c": 30}
    batch = [c for name, size in sizes.items() for c in contacts(name, size)]
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=90, message="every contact to end")

    first = [o.variables["dialer_campaign_id"] for o in switch_sim.originates[:CAPACITY]]
    assert Counter(first) == Counter(fair_share(CAPACITY, sizes))
    assert switch_sim.stats()["peak_calls"] == CAPACITY  # every slot used, never one more


def test_two_beats_and_two_workers_at_once_dial_nobody_twice_and_never_exceed_capacity(
        fleet, engine, switch_sim):
    fleet.start("beat2", "worker2")
    batch = contacts("a", 25) + contacts("b", 25)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=90, message="every contact to end")
    dialed = [o.variables["dialer_contact_id"] for o in switch_sim.originates]
    assert sorted(dialed) == sorted(ids)
    assert switch_sim.stats()["peak_calls"] <= CAPACITY
