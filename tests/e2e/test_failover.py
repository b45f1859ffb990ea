"""The spec's failover table for IVR calls, one test per row, plus crashes of our own processes."""

from datetime import UTC, datetime

from tests.e2e.contacts import BUSY, all_in, attempts, contact, contacts, rows
from tests.e2e.fleet import wait_until


def test_an_invalid_gateway_fails_the_contact_with_invalid_gateway(fleet, engine, switch_sim):
    sent = contact("c1", gateway_id="no-such-gateway")
    fleet.post_contacts([sent])
    wait_until(lambda: all_in(engine, [sent["id"]], "failed"), message="the contact to fail")
    assert rows(engine)[sent["id"]].call_result == "INVALID_GATEWAY"
    assert switch_sim.originates == []  # the gateway check stopped it before any originate


def test_a_gateway_that_is_down_puts_the_contact_back_to_pending(fleet, engine, switch_sim):
    sent = contact("c1", gateway_id="gw-down")
    fleet.post_contacts([sent])
    wait_until(lambda: rows(engine)[sent["id"]].dial_after > datetime.now(UTC),
               message="the contact to be put back with a later dial time")
    row = rows(engine)[sent["id"]]
    assert row.status == "pending" and switch_sim.originates == []


def test_a_gateway_that_goes_down_between_check_and_originate_puts_the_contact_back_to_pending(
        fleet, engine, switch_sim):
    # The check said UP, the switch then answers the originate with -ERR GATEWAY_DOWN and no channel.
    switch_sim.fail_originates("GATEWAY_DOWN")
    sent = contact("c1")
    fleet.post_contacts([sent])
    wait_until(lambda: rows(engine)[sent["id"]].call_result == "GATEWAY_DOWN", message="the job result")
    assert rows(engine)[sent["id"]].status in ("pending", "queued", "dialed")
    switch_sim.fail_originates(None)
    wait_until(lambda: all_in(engine, [sent["id"]], "ended"), timeout=60, message="the retry to be dialed")


def test_a_switch_that_is_down_fails_the_contact_with_switch_down(fleet, engine, switch_sim):
    switch_sim.drop_clients()
    switch_sim.refuse_connections(3.0)
    sent = contact("c1")
    fleet.post_contacts([sent])
    wait_until(lambda: all_in(engine, [sent["id"]], "failed"), message="the contact to fail")
    assert rows(engine)[sent["id"]].call_result == "SWITCH_DOWN"


def test_switch_session_limits_put_contacts_back_and_they_are_dialed_later(fleet, engine, switch_sim):
    switch_sim.set_limits(max_sessions=2)
    batch = contacts("c1", 6)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: any(r.call_result == "DESTINATION_OUT_OF_ORDER" or r.attempts > 1
                           for r in rows(engine, ids).values()), message="a refused originate")
    switch_sim.set_limits(max_sessions=10_000)
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=90, message="every contact to end")


def test_control_routes_answer_not_found_for_an_unknown_campaign(fleet):
    for action in ("stop", "start", "purge"):
        response = fleet.post(f"/campaigns/nope/{action}", {})
        assert response.status_code == 404, response.text


def test_a_listener_restarted_mid_campaign_loses_no_result_and_two_listeners_record_once(
        fleet, engine, vc_sim):
    batch = contacts("c1", 30)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: sum(r.status == "ended" for r in rows(engine, ids).values()) >= 5,
               message="the campaign to be under way")
    fleet.restart("listener")  # its twin keeps listening meanwhile
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=120, message="every contact to end")
    assert all(r.call_result == "NORMAL_CLEARING" for r in rows(engine, ids).values())
    assert len(attempts(engine)) == len(ids)
    wait_until(lambda: len(vc_sim.messages(path="/fs-message/call-result")) >= len(ids), message="results")
    assert sorted(m["body"]["callUid"] for m in vc_sim.messages(path="/fs-message/call-result")) == sorted(ids)


def test_calls_that_end_while_no_listener_runs_and_no_cdr_comes_are_closed_lost_and_never_redialed(
        fleet, engine, switch_sim):
    fleet.stop("listener")
    fleet.stop("listener2")
    batch = contacts("c1", 5)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: len(switch_sim.originates) == 5 and not switch_sim.live_calls(),
               message="the calls to be dialed and to end unheard")
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=60, message="reconcile to close them")
    assert {r.call_result for r in rows(engine, ids).values()} == {"LOST"}
    fleet.start("listener", "listener2")
    assert len(switch_sim.originates) == 5


def test_calls_that_end_while_no_listener_runs_are_recorded_from_their_cdrs(fleet, engine, switch_sim, vc_sim):
    posted_before = switch_sim.cdr_counts()["posted"]
    switch_sim.set_cdr(True)
    fleet.stop("listener")
    fleet.stop("listener2")
    batch = contacts("c1", 5, numbers=(BUSY,))  # USER_BUSY, not what LOST would say
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=60, message="the CDRs to be recorded")
    assert {r.call_result for r in rows(engine, ids).values()} == {"USER_BUSY"}
    assert switch_sim.cdr_counts()["posted"] - posted_before == 5
    assert len(switch_sim.originates) == 5
    wait_until(lambda: len(vc_sim.messages(path="/fs-message/call-result")) == 5, message="the VC to hear them")
    assert {m["body"]["callResult"] for m in vc_sim.messages(path="/fs-message/call-result")} == {"USER_BUSY"}


def test_with_cdrs_and_listeners_both_on_each_call_is_recorded_once(fleet, engine, switch_sim, vc_sim):
    posted_before = switch_sim.cdr_counts()["posted"]
    switch_sim.set_cdr(True)
    batch = contacts("c1", 10)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: all_in(engine, ids, "ended"), timeout=60, message="every contact to end")
    wait_until(lambda: switch_sim.cdr_counts()["posted"] - posted_before == 10, message="every CDR to be posted")
    wait_until(lambda: len(vc_sim.messages(path="/fs-message/call-result")) >= 10, message="the results")
    assert sorted(m["body"]["callUid"] for m in vc_sim.messages(path="/fs-message/call-result")) == sorted(ids)
    assert all(r.call_result == "NORMAL_CLEARING" for r in rows(engine, ids).values())


def test_a_worker_killed_mid_campaign_dials_nobody_twice(fleet, engine, switch_sim):
    import signal

    batch = contacts("c1", 30)
    fleet.post_contacts(batch)
    ids = [c["id"] for c in batch]
    wait_until(lambda: sum(r.status == "ended" for r in rows(engine, ids).values()) >= 3,
               message="the campaign to be under way")
    fleet.stop("worker", sig=signal.SIGKILL)
    fleet.start("worker")
    wait_until(lambda: all_in(engine, ids, ("ended", "failed")), timeout=120, message="every contact to finish")
    dialed = [o.variables["dialer_contact_id"] for o in switch_sim.originates]
    assert len(dialed) == len(set(dialed))
