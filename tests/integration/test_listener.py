"""The event pump against the switch simulator over TCP, through the ESL C binding."""

import threading

import pytest

from dialer.adapters.esl import EslClient
from dialer.flows.listener import EventPump
from dialer.rules.event_messages import from_message
from dialer.rules.events import CallEnded, JobResult
from sim.testing import wait_for


class Pump:
    def __init__(self, switch):
        self.published = []
        self.lock = threading.Lock()
        self.pump = EventPump("sim", lambda: EslClient("127.0.0.1", switch.port, "ClueCon"), "dialer", self.publish)
        self.thread = threading.Thread(target=self.pump.run, daemon=True)

    def publish(self, messages):
        with self.lock:
            self.published.extend(from_message(m) for m in messages)

    def results(self, kind):
        with self.lock:
            return [r for r in self.published if isinstance(r, kind)]


@pytest.fixture
def pump(switch):
    running = Pump(switch)
    running.thread.start()
    wait_for(running.pump.connected.is_set, message="the pump to subscribe")
    yield running
    running.pump.stop()
    running.thread.join(timeout=5)
    assert not running.thread.is_alive()


def originate(switch, uuid, number="1000", instance="dialer", gateway="gw1"):
    client = EslClient("127.0.0.1", switch.port, "ClueCon")
    variables = f"origination_uuid={uuid},dialer_contact_id={uuid}"
    if instance:
        variables += f",dialer_instance={instance}"
    reply = client.bgapi(f"originate {{{variables}}}sofia/gateway/{gateway}/{number} 6666 XML default", f"job-{uuid}")
    client.close()
    return reply


def test_the_pump_publishes_our_hangups_and_channel_less_job_failures_and_nothing_else(switch, pump):
    originate(switch, "ours-1", number="1006")  # busy: a hangup, and a job result that adds nothing
    originate(switch, "theirs-1", number="1006", instance=None)
    originate(switch, "ours-2", gateway="gw-down")  # no channel: only the job result tells
    originate(switch, "ours-3", number="1000")  # answered: +OK job result, then the hangup
    wait_for(lambda: len(pump.results(CallEnded)) == 2, message="our two hangups")
    wait_for(lambda: pump.results(JobResult), message="the gateway-down job result")
    ended = sorted((e.contact_id, e.hangup_cause) for e in pump.results(CallEnded))
    assert ended == [("ours-1", "USER_BUSY"), ("ours-3", "NORMAL_CLEARING")]
    assert [(j.job_uuid, j.cause) for j in pump.results(JobResult)] == [("job-ours-2", "GATEWAY_DOWN")]


def test_the_pump_reconnects_after_the_switch_drops_it_and_keeps_publishing(switch, pump):
    switch.drop_clients()
    wait_for(lambda: not pump.pump.connected.is_set() or switch.stats()["subscribers"] == 1,
             message="the drop to be noticed")
    wait_for(lambda: switch.stats()["subscribers"] == 1 and pump.pump.connected.is_set(), timeout=10,
             message="the pump to subscribe again")
    originate(switch, "after-drop", number="1009")
    wait_for(lambda: [e.hangup_cause for e in pump.results(CallEnded)] == ["UNALLOCATED_NUMBER"],
             message="the hangup after the reconnect")


def test_the_pump_waits_out_a_switch_that_refuses_connections(switch, pump):
    switch.refuse_connections(1.0)
    switch.drop_clients()
    wait_for(lambda: switch.stats()["subscribers"] == 0, message="the subscriber to be gone")
    wait_for(lambda: switch.stats()["subscribers"] == 1, timeout=10, message="the pump back once the switch is")


def test_the_pump_publishes_the_answer_of_predictive_calls_only_with_the_machine_flag(switch):
    from dialer.rules.events import CallAnswered

    switch.set_outcome("2001", "person", ring_seconds=1, talk_seconds=60_000, patience_seconds=60_000)
    switch.set_outcome("2002", "machine", ring_seconds=1, talk_seconds=60_000)
    pump = Pump(switch)
    pump.pump.machine_variables = (("amd_result", "MACHINE"),)
    pump.thread.start()
    wait_for(pump.pump.connected.is_set, message="the pump to subscribe")
    try:
        client = EslClient("127.0.0.1", switch.port, "ClueCon")
        for uuid, number, extra in (("pred-person", "2001", ",dialer_mode=PREDICTIVE"),
                                    ("pred-machine", "2002", ",dialer_mode=PREDICTIVE"), ("ivr-park", "2001", "")):
            variables = f"origination_uuid={uuid},dialer_contact_id={uuid},dialer_instance=dialer{extra}"
            client.bgapi(f"originate {{{variables}}}sofia/gateway/gw1/{number} dialer-hold XML default", f"j-{uuid}")
        client.close()
        wait_for(lambda: len(pump.results(CallAnswered)) == 2, message="the two predictive answers")
        wait_for(lambda: all(switch.call_record(u).parked_at is not None for u in ("pred-person", "ivr-park")),
                 message="the calls parked")
        client = EslClient("127.0.0.1", switch.port, "ClueCon")
        client.api("status")  # a round trip after the last park: its event was sent before this reply
        client.close()
        answers = {a.uuid: a.dialer_vars.get("machine") for a in pump.results(CallAnswered)}
        assert answers == {"pred-person": None, "pred-machine": "1"}
    finally:
        pump.pump.stop()
        pump.thread.join(timeout=5)
