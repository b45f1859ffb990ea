"""Pacing where it meets the store: each predictive campaign's decision from the VC's agents and
what the dialer measured, and the allocator dialing a predictive campaign ahead (queued, no
reservation) no further than its pacing allows (real PostgreSQL, the VC simulator over HTTP)."""

import pytest
from sqlalchemy import insert, select, text

from dialer.adapters.models import Contact, PredictiveCall
from dialer.adapters.vc import VcClient
from dialer.config import SwitchConfig
from dialer.flows.allocator import allocate
from dialer.flows.pacing import pace_campaigns
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
