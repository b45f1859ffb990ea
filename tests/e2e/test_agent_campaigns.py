"""Agent campaigns end to end: reservation through the VC simulator, callback, agent originate,
and the messages back to the VC (spec "Agent Campaigns" and its failover rows)."""

from collections import Counter

from tests.e2e.contacts import (
    ANSWERED,
    BUSY,
    DECLINED,
    EXPECTED_RESULT,
    NO_ANSWER,
    all_in,
    contact,
    contacts,
    rows,
    statuses,
)
from tests.e2e.fleet import wait_until

CALL_RESULT, END_CHAT, RECORDING, START = ("/fs-message/call-result", "/fs-message/end-chat",
                                           "/fs-message/recording", "/fs-message/startprocess")


def call_uids(vc_sim, path):
    return Counter(m["body"].get("callUid") for m in vc_sim.messages(path=path))


def test_mixed_ivr_and_agent_campaigns_complete_with_every_contact_in_its_final_state(
        fleet, engine, switch_sim, vc_sim):
    agent = contacts("sales", 8, (ANSWERED, BUSY, NO_ANSWER, DECLINED), campaign_type="AGENT")
    ivr = contacts("survey", 8, (ANSWERED, BUSY))
    fleet.post_contacts(agent + ivr)
    ids = [c["id"] for c in agent + ivr]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=120, message="every contact to end")

    stored = rows(engine, ids)
    for sent in agent + ivr:
        assert stored[sent["id"]].call_result == EXPECTED_RESULT[sent["customer_number"]], sent
    agent_ids = {c["id"] for c in agent}
    for sent in agent:
        assert stored[sent["id"]].agent  # the reserved agent is on the contact
    originates = [o for o in switch_sim.originates if o.variables.get("dialer_contact_id") in agent_ids]
    assert all(o.variables["sip_h_X-CallType"] == "PROGRESSIVE" for o in originates)
    assert all(o.variables["sip_h_X-queue"] for o in originates)

    answered = {c["id"] for c in agent if c["customer_number"] == ANSWERED}
    wait_until(lambda: set(call_uids(vc_sim, CALL_RESULT)) >= set(ids), message="every call result")
    wait_until(lambda: set(call_uids(vc_sim, RECORDING)) == answered, message="recording links")
    wait_until(lambda: set(call_uids(vc_sim, END_CHAT)) == agent_ids - answered, message="END_CHAT")
    # Each reservation asked for the right queue, as the spec's "Call details".
    details = [m["body"] for m in vc_sim.messages(path=START)]
    assert {d["callUid"] for d in details} == agent_ids
    assert all(d["queue"] == "Sales Queue" and d["queueType"] == "NAME" and d["direction"] == "OUTBOUND"
               for d in details)


def test_a_voice_connector_that_is_down_leaves_the_contact_pending_until_it_is_back(fleet, engine, vc_sim):
    vc_sim.set_mode("down")
    sent = contact("sales", campaign_type="AGENT")
    fleet.post_contacts([sent])
    wait_until(lambda: rows(engine)[sent["id"]].attempts == 0 and fleet_tried_reservation(fleet, engine, sent),
               message="a failed reservation")
    assert statuses(engine)[sent["id"]] in ("pending", "agent_pending")
    vc_sim.set_mode("up")
    wait_until(lambda: all_in(engine, [sent["id"]], "ended"), timeout=60, message="the call after the VC is back")


def fleet_tried_reservation(fleet, engine, sent):
    return "event=reservation_failed" in fleet.log("worker") and statuses(engine)[sent["id"]] == "pending"


def test_no_agent_answers_put_contacts_back_and_they_are_dialed_later(fleet, engine, vc_sim):
    batch = contacts("sales", 7, campaign_type="AGENT")  # three agents in the pool
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=120, message="every contact to end")
    assert any(cb["body"]["agent"] == "" for cb in vc_sim.callbacks())
    assert all(row.call_result == "NORMAL_CLEARING" for row in rows(engine, ids).values())


def test_duplicate_and_late_callbacks_dial_nobody(fleet, engine, switch_sim):
    sent = contact("sales", campaign_type="AGENT")
    fleet.post_contacts([sent])
    wait_until(lambda: all_in(engine, [sent["id"]], "ended"), timeout=60, message="the call to end")
    dialed = len(switch_sim.originates)

    late = fleet.agent_callback({"agent": "2001", "uuid": sent["id"], "queue": "Sales Queue"})
    unknown = fleet.agent_callback({"agent": "2001", "uuid": "no-such-contact", "queue": "Sales Queue"})
    assert (late.status_code, unknown.status_code) == (409, 404)
    assert len(switch_sim.originates) == dialed
    assert rows(engine)[sent["id"]].status == "ended"


def test_a_declined_call_produces_end_chat(fleet, engine, vc_sim):
    sent = contact("sales", number=DECLINED, campaign_type="AGENT")
    fleet.post_contacts([sent])
    wait_until(lambda: call_uids(vc_sim, END_CHAT)[sent["id"]] == 1, timeout=60, message="END_CHAT")
    end_chat = vc_sim.messages(path=END_CHAT)[0]["body"]
    assert end_chat["header"]["channelData"]["intent"] == "END_CHAT"
    assert rows(engine)[sent["id"]].call_result == "CALL_REJECTED"


def test_an_invalid_gateway_after_reservation_fails_the_contact_and_frees_the_agent(fleet, engine, vc_sim):
    sent = contact("sales", campaign_type="AGENT", gateway_id="no-such-gateway")
    fleet.post_contacts([sent])
    wait_until(lambda: all_in(engine, [sent["id"]], "failed"), timeout=60, message="the contact to fail")
    assert rows(engine)[sent["id"]].call_result == "INVALID_GATEWAY"
    wait_until(lambda: call_uids(vc_sim, END_CHAT)[sent["id"]] == 1, message="END_CHAT to free the agent")


def test_a_gateway_down_after_reservation_puts_the_contact_back_and_frees_the_agent(fleet, engine, vc_sim):
    sent = contact("sales", campaign_type="AGENT", gateway_id="gw-down")
    fleet.post_contacts([sent])
    wait_until(lambda: call_uids(vc_sim, END_CHAT)[sent["id"]] == 1, timeout=60, message="END_CHAT")
    assert statuses(engine)[sent["id"]] in ("pending", "agent_pending")


def test_a_switch_down_on_the_callback_answers_500_and_fails_the_contact(fleet, engine, switch_sim, vc_sim):
    switch_sim.drop_clients()
    switch_sim.refuse_connections(5.0)
    sent = contact("sales", campaign_type="AGENT")
    fleet.post_contacts([sent])
    wait_until(lambda: any(cb["body"]["uuid"] == sent["id"] for cb in vc_sim.callbacks()), timeout=30,
               message="the VC's callback")
    callback = next(cb for cb in vc_sim.callbacks() if cb["body"]["uuid"] == sent["id"])
    assert callback["status"] == 500
    assert rows(engine)[sent["id"]].call_result == "SWITCH_DOWN"
    wait_until(lambda: call_uids(vc_sim, END_CHAT)[sent["id"]] == 1, message="END_CHAT")


def test_the_voice_connector_down_during_a_run_loses_no_message(fleet, engine, vc_sim):
    batch = contacts("survey", 12, (ANSWERED, BUSY))
    vc_sim.set_mode("down")
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=60, message="every call to end")
    assert vc_sim.messages(path=CALL_RESULT) == []
    vc_sim.set_mode("up")
    wait_until(lambda: set(call_uids(vc_sim, CALL_RESULT)) == set(ids), timeout=60,
               message="every result delivered after the VC is back")
    assert set(call_uids(vc_sim, CALL_RESULT).values()) == {1}
