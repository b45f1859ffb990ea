"""A predictive campaign end to end (fleet + simulators): it starts progressive (nothing measured
yet), then dials ahead; every contact ends final, the ledger's abandonment matches what the switch
saw, no agent ever had two customers, capacity was never exceeded."""

from collections import Counter
from itertools import pairwise

from sqlalchemy import text

from tests.e2e.conftest import CAPACITY
from tests.e2e.contacts import all_in, contact
from tests.e2e.fleet import wait_until


def ledger(engine):
    with engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT outcome, count(*) FROM predictive_calls WHERE outcome IS NOT NULL GROUP BY outcome")).all())


def test_a_predictive_campaign_completes_and_its_abandonment_is_counted_exactly(fleet, engine, switch_sim, vc_sim):
    # Simulated seconds (x 0.002 real): rings of 0.5-3 s, talks of 200 s on average, a customer held waits
    # 5,000 s (10 s real: longer than the connect deadline, so only the dialer abandons).
    switch_sim.set_predictive(person_share=0.6, machine_share=0.1, busy_share=0.1, ring_min=0.5, ring_max=3,
                              talk_mean=200, patience=5_000)
    batch = [contact("pred", number=f"55501{i:03d}", campaign_type="AGENT", dialing_mode="PREDICTIVE")
             for i in range(90)]
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]

    wait_until(lambda: all_in(engine, ids, ("ended", "failed")), timeout=150, message="every contact final")
    wait_until(lambda: sum(ledger(engine).values()) == _ledger_rows(engine), timeout=30,
               message="every predictive call's outcome")

    outcomes = ledger(engine)
    stats = switch_sim.stats()
    assert outcomes.get("PERSON_CONNECTED", 0) > 0  # it did dial ahead, and connected people
    assert outcomes.get("PERSON_CONNECTED", 0) == stats["transfers_to_agent"]
    assert outcomes.get("ABANDONED", 0) == stats["transfers_to_abandon"] + stats["held_hangups"]
    assert outcomes.get("MACHINE", 0) == sum(1 for r in switch_sim.call_records()
                                             if r.answered_by == "machine" and r.parked_at is not None)
    assert stats["peak_calls"] <= CAPACITY
    for ext, spans in _assignments_by_agent(vc_sim).items():
        assert all(earlier[1] <= later[0] for earlier, later in pairwise(spans)), f"agent {ext} had two calls"
    status = fleet.get("/campaigns/pred").json()
    assert status["abandonment"]["30d"]["abandoned"] == outcomes.get("ABANDONED", 0)


def _ledger_rows(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM predictive_calls")).scalar_one()


def _assignments_by_agent(vc_sim):
    spans = {}
    for a in vc_sim.assignments():
        spans.setdefault(a["ext"], []).append((a["reserved_at"], a["free_at"] if a["free_at"] is not None else 1e18))
    return {ext: sorted(s) for ext, s in spans.items()}


def test_progressive_campaigns_still_reserve_first(fleet, engine, switch_sim, vc_sim):
    batch = [contact("prog", campaign_type="AGENT", dialing_mode="PROGRESSIVE") for _ in range(4)]
    fleet.post_contacts(batch)
    wait_until(lambda: all_in(engine, [c["id"] for c in batch], "ended"), timeout=60, message="every contact ended")
    destinations = Counter(o.arg.split()[-3] for o in switch_sim.originates)
    assert "dialer-hold" not in destinations
    assert _ledger_rows(engine) == 0
