"""Predictive dialing's connect deadline (real PostgreSQL, the switch simulator over ESL): an agent in
time connects the held customer; past the deadline the customer is abandoned and a late callback
connects nobody (409); a customer who hangs up first is abandoned; a machine is never connected."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from dialer.adapters.models import OutboxMessage, PredictiveCall
from dialer.adapters.vc import VcClient
from dialer.flows import dialing, predictive
from dialer.flows.results import record_results
from dialer.rules import states
from dialer.rules.events import CallAnswered
from sim.connector import ConnectorSimulator
from sim.testing import wait_for
from tests.calls import contact, hangup
from tests.factories import add_contacts

ANSWERED_PERSON = "2000"  # the simulator's default model: last digit 0-5 answers


@pytest.fixture
def held(session, session_factory, rt, switch):
    """A predictive contact dialed through the simulator to the hold extension, answered by a person
    and recorded as held (the answer event fed to the results flow as the listener would)."""
    return answer(session, session_factory, rt, switch)


def dial(session, rt, number=ANSWERED_PERSON):
    [contact_id] = add_contacts(session, "pred", 1, campaign_type="AGENT", status=states.QUEUED, number=number,
                                dialing_mode="PREDICTIVE", switch_name="sw1")
    outcome = dialing.dial_ivr_contacts(session, rt.switches.get("sw1"), rt.settings, "sw1", [contact_id])
    assert outcome.dialed == [contact_id]
    return contact(session, contact_id)


def answer(session, session_factory, rt, switch, machine=False, number=ANSWERED_PERSON):
    # The simulator runs 1,000 times fast: a person who waits on hold for a minute of its time.
    switch.set_outcome(number, "machine" if machine else "person", ring_seconds=1, talk_seconds=60_000,
                       patience_seconds=60_000)
    dialed = dial(session, rt, number)
    wait_for(lambda: any(c.uuid == dialed.call_uuid and c.state == "ACTIVE" for c in switch.live_calls()),
             message="the customer to answer")
    answered = CallAnswered(uuid=dialed.call_uuid, contact_id=dialed.id, campaign_id="pred", attempt=1,
                            answered_at=None, dialer_vars={"dialer_mode": "PREDICTIVE",
                                                           **({"machine": "1"} if machine else {})})
    with session_factory() as recording:
        found = record_results(recording, rt.settings, [answered]).answered
        recording.commit()
    return dialed, found


def ledger(session, uuid):
    session.expire_all()
    return session.get(PredictiveCall, uuid)


def past_deadline(session, uuid):
    session.execute(update(PredictiveCall).where(PredictiveCall.uuid == uuid)
                    .values(deadline_at=text("clock_timestamp() - interval '1 second'")))
    session.commit()


def end_chats(session, contact_id):
    session.expire_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.contact_id == contact_id,
                                                       OutboxMessage.kind == "end_chat")).all()


def test_a_predictive_call_goes_to_the_hold_extension_and_is_in_the_ledger(session, rt, switch):
    dialed = dial(session, rt)
    [originate] = switch.originates
    assert originate.arg.endswith(" dialer-hold XML default")
    assert originate.variables["sip_h_X-CallType"] == "PREDICTIVE"
    assert ledger(session, dialed.call_uuid).state == "dialed"


def test_an_answered_person_is_held_until_the_deadline_and_the_vc_is_to_be_asked(session, held):
    dialed, found = held
    row = ledger(session, dialed.call_uuid)
    assert (row.state, row.answered_by) == ("held", "person")
    assert timedelta(seconds=1.5) < row.deadline_at - row.answered_at <= timedelta(seconds=2.5)
    assert [c.id for c in found.held] == [dialed.id]


def test_an_agent_in_time_is_set_on_the_call_and_the_customer_transferred_to_them(session, rt, switch, held):
    dialed, _ = held

    result = predictive.connect(session, rt.switches.get("sw1"), rt.settings, contact(session, dialed.id),
                                "2001", "Sales Queue")

    assert result == "connected"
    row = ledger(session, dialed.call_uuid)
    assert (row.state, row.agent) == ("connected", "2001")
    live = {c.uuid: c for c in switch.live_calls()}[dialed.call_uuid]
    assert live.variables["sip_h_X-agentExtension"] == "2001"
    assert [t.destination for t in switch.transfers if t.uuid == dialed.call_uuid] == ["2001"]


def test_past_the_deadline_the_customer_hears_the_message_and_a_late_agent_connects_nobody(
        session, rt, switch, held):
    dialed, _ = held
    past_deadline(session, dialed.call_uuid)

    assert predictive.abandon_overdue(session, rt.switches, rt.settings) == [dialed.id]
    late = predictive.connect(session, rt.switches.get("sw1"), rt.settings, contact(session, dialed.id),
                              "2001", "Sales Queue")

    assert late == "late"
    assert ledger(session, dialed.call_uuid).state == "abandoned"
    assert [t.destination for t in switch.transfers if t.uuid == dialed.call_uuid] == ["dialer-abandon"]
    assert len(end_chats(session, dialed.id)) == 1


def test_within_the_deadline_the_sweep_abandons_nobody(session, rt, held):
    dialed, _ = held
    assert predictive.abandon_overdue(session, rt.switches, rt.settings) == []
    assert ledger(session, dialed.call_uuid).state == "held"


def test_a_customer_who_hangs_up_while_held_is_abandoned_and_the_vc_told(session, session_factory, rt, held):
    dialed, _ = held
    call = type("Call", (), {"uuid": dialed.call_uuid, "contact_id": dialed.id, "campaign_id": "pred"})
    ended = hangup(call, "NORMAL_CLEARING", billsec=5)
    ended = ended.__class__(**{**ended.__dict__, "dialer_vars": {**ended.dialer_vars, "dialer_mode": "PREDICTIVE"}})

    with session_factory() as recording:
        record_results(recording, rt.settings, [ended])
        recording.commit()

    row = ledger(session, dialed.call_uuid)
    assert (row.state, row.outcome) == ("abandoned", "ABANDONED")
    assert contact(session, dialed.id).disposition == "ABANDONED"
    assert len(end_chats(session, dialed.id)) == 1
    late = predictive.connect(session, rt.switches.get("sw1"), rt.settings, contact(session, dialed.id),
                              "2001", "Sales Queue")
    assert late == "late"


def test_a_machine_is_hung_up_never_connected_and_is_not_an_abandon(session, session_factory, rt, switch):
    dialed, found = answer(session, session_factory, rt, switch, machine=True)

    assert found.held == [] and found.machines == [("sw1", dialed.call_uuid)]
    predictive.act_on_answers(session_factory, rt.vc, rt.switches, rt.settings, found)
    wait_for(lambda: dialed.call_uuid not in {c.uuid for c in switch.live_calls()}, message="the machine hung up")
    assert ledger(session, dialed.call_uuid).state == "machine"


@pytest.fixture
def vc_callback(rt, connector_auth):
    from api import create_app

    client = create_app(rt.settings).test_client()

    def post(contact_id, agent):
        return client.post("/dialer-connector/agent", headers=connector_auth,
                           json={"agent": agent, "uuid": contact_id, "queue": "Sales Queue"})

    return post


def test_the_vc_callback_connects_a_held_customer_and_a_second_one_is_409(session, switch, held, vc_callback):
    dialed, _ = held

    first = vc_callback(dialed.id, "2001")
    again = vc_callback(dialed.id, "2002")

    assert (first.status_code, first.get_json()["status"]) == (200, "connected")
    assert again.status_code == 409
    assert [t.destination for t in switch.transfers if t.uuid == dialed.call_uuid] == ["2001"]


def test_a_callback_without_an_agent_with_time_left_waits_and_the_vc_is_asked_again(
        session, rt, switch, held, vc_callback):
    dialed, _ = held

    response = vc_callback(dialed.id, "")

    assert (response.status_code, response.get_json()["status"]) == (200, "waiting")
    assert ledger(session, dialed.call_uuid).state == "held"
    assert switch.transfers == []
    with ConnectorSimulator(port=0, agents=1) as vc, rt.sessions() as asking:
        client = VcClient(vc.url)
        assert predictive.ask_again(asking, client, rt.settings, dialed.id)
        client.close()
        assert [m["body"]["callUid"] for m in vc.messages(path="/fs-message/startprocess")] == [dialed.id]


def test_a_callback_without_an_agent_near_the_deadline_abandons_the_held_customer_at_once(
        session, switch, held, vc_callback):
    dialed, _ = held
    session.execute(update(PredictiveCall).where(PredictiveCall.uuid == dialed.call_uuid)
                    .values(deadline_at=text("clock_timestamp() + interval '0.2 second'")))
    session.commit()

    response = vc_callback(dialed.id, "")

    assert (response.status_code, response.get_json()["status"]) == (200, "abandoned")
    assert ledger(session, dialed.call_uuid).state == "abandoned"
    assert [t.destination for t in switch.transfers if t.uuid == dialed.call_uuid] == ["dialer-abandon"]


def test_a_late_callback_over_http_is_409_and_transfers_nobody(session, rt, switch, held, vc_callback):
    dialed, _ = held
    past_deadline(session, dialed.call_uuid)
    predictive.abandon_overdue(session, rt.switches, rt.settings)

    assert vc_callback(dialed.id, "2001").status_code == 409
    assert "2001" not in [t.destination for t in switch.transfers]
