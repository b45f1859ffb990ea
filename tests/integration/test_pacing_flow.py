"""Pacing where it meets the store: each predictive campaign's decision from the VC's agents and
what the dialer measured, and the allocator dialing a predictive campaign ahead (queued, no
reservation) no further than its pacing allows (real PostgreSQL, the VC simulator over HTTP)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text

from dialer.adapters.models import Contact, PredictiveCall
from dialer.adapters.vc import VcClient
from dialer.config import SwitchConfig
from dialer.flows.allocator import allocate
from dialer.flows.pacing import measured_state, pace_campaigns
from sim.connector import ConnectorSimulator
from tests.factories import add_contacts

SWITCHES = (SwitchConfig("sw1", "127.0.0.1", 8021, "pw", capacity=20, cps=1000),)


def predictive_contacts(session, count, campaign_id="pred"):
    return add_contacts(session, campaign_id, count, campaign_type="AGENT", dialing_mode="PREDICTIVE")


def paced(session, campaign_id, mode, target):
    session.execute(text("INSERT INTO campaign_pacing (campaign_id, mode, calls_target, dial_ratio, reason) "
                         "VALUES (:c, :m, :t, 1.0, 'test')"), {"c": campaign_id, "m": mode, "t": target})
    session.commit()


def statuses(session, campaign_id="pred"):
    return sorted(session.scalars(select(Contact.status).where(Contact.campaign_id == campaign_id)))


@pytest.fixture
def vc():
    with ConnectorSimulator(port=0, agents=10) as simulator:
        client = VcClient(simulator.url)
        yield simulator, client
        client.close()


def test_a_vc_that_cannot_tell_its_agents_makes_the_campaign_progressive(session, settings, vc):
    simulator, client = vc
    simulator.agents_endpoint = False
    predictive_contacts(session, 5)

    [decision] = pace_campaigns(session, client, settings).values()

    assert decision.mode == "PROGRESSIVE" and "does not tell its agents" in decision.reason
    allocate(session, SWITCHES)
    session.commit()
    assert statuses(session) == ["agent_pending"] * 5  # reserve first, as PROGRESSIVE


def test_too_few_measured_calls_keep_the_campaign_progressive(session, settings, vc):
    _, client = vc
    predictive_contacts(session, 5)

    [decision] = pace_campaigns(session, client, settings).values()

    assert decision.mode == "PROGRESSIVE" and "too few samples" in decision.reason
    stored = session.execute(text("SELECT mode, agents_ready FROM campaign_pacing")).one()
    assert tuple(stored) == ("PROGRESSIVE", 10)


def test_a_predictive_campaign_is_dialed_ahead_no_further_than_its_pacing(session):
    predictive_contacts(session, 10)
    add_contacts(session, "ivr", 10)
    paced(session, "pred", "PREDICTIVE", target=4)
    session.execute(insert(PredictiveCall), [  # one call ringing and one customer held: 2 of the 4 in flight
        {"uuid": "u-1", "contact_id": "x-1", "campaign_id": "pred", "state": "dialed"},
        {"uuid": "u-2", "contact_id": "x-2", "campaign_id": "pred", "state": "held"}])
    session.commit()

    result = allocate(session, SWITCHES)
    session.commit()

    assert result.allotment["pred"] == 2
    assert statuses(session) == ["pending"] * 8 + ["queued"] * 2  # dialed at once, no reservation
    assert sorted(result.ivr_by_switch()["sw1"]) == sorted(
        session.scalars(select(Contact.id).where(Contact.status == "queued")))


def test_a_stale_pacing_is_not_trusted_the_campaign_reserves_first(session):
    predictive_contacts(session, 3)
    paced(session, "pred", "PREDICTIVE", target=3)
    session.execute(text("UPDATE campaign_pacing SET computed_at = now() - interval '5 minutes'"))
    session.commit()

    allocate(session, SWITCHES)
    session.commit()

    assert statuses(session) == ["agent_pending"] * 3


def test_a_paced_progressive_campaign_reserves_no_more_agents_than_are_ready(session):
    predictive_contacts(session, 5)
    paced(session, "pred", "PROGRESSIVE", target=2)
    session.execute(text("UPDATE campaign_pacing SET agents_ready = 2"))
    session.commit()

    allocate(session, SWITCHES)
    session.commit()

    assert statuses(session) == ["agent_pending"] * 2 + ["pending"] * 3


def test_the_measured_state_counts_only_settled_attempts_and_talk_still_going(session):
    """Early in a run the calls already over are the quick ones; counting only them made a new campaign
    look easy and its first predictive decision dial far too many. Measured: the answer rate and ring
    over attempts dialed `settle` seconds ago or more (one still up then was answered), talk censored."""
    ids = list(predictive_contacts(session, 8))
    attempts = [  # (seconds since the dial, answered, hung up (seconds ago), disposition)
        (100, None, 99, "BUSY"),
        (100, None, 70, "NO_ANSWER"),
        (100, 90, 30, "ANSWERED"),  # reserved first: rang 10 s, talked 60 s
        (50, None, None, None),  # still up after the originate timeout: answered, talking for 50 s so far
        (80, None, 9, "ANSWERED"),  # predictive, times from the ledger below: rang 6 s, talked 60 s
        (80, None, 75, "MACHINE"),  # predictive, a machine
        (5, None, 4, "BUSY"),  # dialed too recently to count: its outcome came early because it was quick
        (60, None, None, None),  # predictive, rang out (the ledger has no answer), its hangup not recorded yet
    ]
    for n, (dialed, answered, ended, disposition) in enumerate(attempts):
        session.execute(text("""
            INSERT INTO call_attempts (contact_id, attempt, uuid, job_uuid, switch_name, kind, created_at,
                                       answer_time, hangup_time, disposition)
            VALUES (:contact, 1, :uuid, :uuid, 'sw1', 'AGENT', now() - make_interval(secs => :dialed),
                    now() - make_interval(secs => :answered), now() - make_interval(secs => :ended), :disposition)
        """), {"contact": ids[n], "uuid": f"u-{n}", "dialed": dialed, "answered": answered, "ended": ended,
               "disposition": disposition})
    session.execute(text("""
        INSERT INTO predictive_calls (uuid, contact_id, campaign_id, dialed_at, held_at, answered_by,
                                      connected_at, ended_at, state, outcome)
        VALUES ('u-4', :c4, 'pred', now() - interval '80 s', now() - interval '74 s', 'person',
                now() - interval '69 s', now() - interval '9 s', 'ended', 'PERSON_CONNECTED'),
               ('u-5', :c5, 'pred', now() - interval '80 s', now() - interval '75 s', 'machine',
                NULL, now() - interval '75 s', 'ended', 'MACHINE'),
               ('u-7', :c7, 'pred', now() - interval '60 s', NULL, NULL, NULL, NULL, 'dialed', NULL)
    """), {"c4": ids[4], "c5": ids[5], "c7": ids[7]})
    session.commit()
    agents = {"loggedIn": 10, "ready": 4, "busy": 5, "wrapUp": 1}

    state = measured_state(session, "pred", agents, datetime.now(UTC), settle_seconds=40)

    assert state.samples == 7 and state.answer_rate == pytest.approx(3 / 7)
    assert state.mean_ring_seconds == pytest.approx((10 + 6) / 2, abs=0.01)
    assert state.mean_handle_seconds == pytest.approx((60 + 50 + 60) / 2, abs=0.05)
    assert (state.agents_ready, state.agents_wrapping_up, state.agents_logged_in) == (4, 1, 10)
