"""Driving the switch simulator: the in-process handle, the control port, and both command lines."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid as uuid_module

import pytest

from sim.switch import SwitchSimulator
from sim.switch.control import send
from sim.switch.outbox import Outbox
from sim.switch.testing import RawEslClient, wait_until
from sim.testing import free_port, refused

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def originate(esl, number="1000", gateway="gw1", call_uuid=None):
    call_uuid = call_uuid or str(uuid_module.uuid4())
    esl.command(f"bgapi originate {{origination_uuid={call_uuid}}}sofia/gateway/{gateway}/{number} &park()")
    return call_uuid



def test_drop_clients_cuts_connections_without_a_notice(switch_sim, esl):
    switch_sim.drop_clients()
    assert wait_until(esl.closed, message="the cut") and esl.buffer == b""
    assert RawEslClient(switch_sim.port).login()  # new connections are welcome


def test_refuse_connections_refuses_for_a_while_then_listens_on_the_same_port(switch_sim, esl):
    switch_sim.refuse_connections(0.3)
    assert refused(switch_sim.port)
    assert esl.command("api version").content_type == "api/response"  # existing ones stay
    wait_until(lambda: not refused(switch_sim.port), message="listening again")


def test_freeze_holds_replies_until_unfrozen(switch_sim, esl):
    switch_sim.freeze(True)
    answered = threading.Event()

    def ask():
        esl.command("api version")
        answered.set()

    threading.Thread(target=ask, daemon=True).start()
    assert not answered.wait(0.2)  # the reply is held while frozen
    switch_sim.freeze(False)
    assert answered.wait(5)


def test_a_new_connection_to_a_frozen_switch_gets_no_greeting(switch_sim):
    switch_sim.freeze(True)
    probe = socket.create_connection(("127.0.0.1", switch_sim.port), timeout=0.2)
    with pytest.raises(socket.timeout):
        probe.recv(100)
    switch_sim.freeze(False)
    probe.settimeout(5)
    assert probe.recv(100) == b"Content-Type: auth/request\n\n"
    probe.close()


def test_live_calls_kill_call_and_set_outcome(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    call_uuid = originate(esl)
    (call,) = wait_until(
        lambda: [c for c in switch_sim.live_calls() if c.state == "ACTIVE"], message="answer"
    )
    assert (call.uuid, call.number, call.gateway, call.variables) == (
        call_uuid,
        "1000",
        "gw1",
        {"origination_uuid": call_uuid},
    )
    assert switch_sim.kill_call(call_uuid, "USER_BUSY") is True
    assert switch_sim.live_calls() == []


def test_set_gateway_none_makes_it_unknown(switch_sim, esl):
    switch_sim.set_gateway("gw1", None)
    assert esl.command("api sofia status gateway gw1").body == b"Invalid Gateway!\n"


def test_fail_originates_fails_every_originate_until_cleared(switch_sim, esl):
    esl.command("event plain BACKGROUND_JOB")
    switch_sim.fail_originates("GATEWAY_DOWN")
    originate(esl)
    assert esl.read_frame().event_dict()["_body"] == "-ERR GATEWAY_DOWN\n"
    switch_sim.fail_originates(None)
    call_uuid = originate(esl)
    assert esl.read_frame().event_dict()["_body"] == f"+OK {call_uuid}\n"


def test_reset_returns_to_the_configured_idle_switch(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    originate(esl)
    wait_until(switch_sim.live_calls, message="a call")
    switch_sim.set_gateway("gw1", "DOWN")
    switch_sim.set_limits(max_sessions=1)
    switch_sim.freeze(True)
    switch_sim.refuse_connections(60)
    switch_sim.reset()
    assert (switch_sim.live_calls(), switch_sim.originates) == ([], [])
    stats = switch_sim.stats()
    assert stats["gateways"] == {"gw1": "UP", "gw-down": "DOWN"} and stats["max_sessions"] == 1000
    assert not stats["frozen"] and not refused(switch_sim.port)
    assert esl.command("api show calls count").body == b"\n0 total.\n"


def test_the_handle_is_usable_from_several_threads(switch_sim):
    errors = []

    def poke():
        try:
            for _ in range(50):
                switch_sim.live_calls()
                switch_sim.set_gateway("gw1", "UP")
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=poke) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_control_port_takes_the_same_actions():
    with SwitchSimulator(port=0, time_scale=0.001, control_port=0) as sim:
        port = sim.control_port
        assert send("gateway gw1 DOWN", port) == "+OK gateway gw1 DOWN"
        assert send("freeze on", port) == "+OK frozen True"
        assert send("freeze off", port) == "+OK frozen False"
        assert send("outcome 1000 busy", port) == "+OK 1000 busy"
        assert send("limits sps 5", port) == "+OK sps 5"
        assert send("kill 00000000-0000-0000-0000-000000000000", port) == "-ERR No such channel!"
        assert send("hupall", port) == "+OK"
        assert send("drop", port).startswith("+OK dropped")
        assert send("refuse 0.2", port) == "+OK refusing for 0.2 s"
        assert send("bogus", port).startswith("-ERR unknown command")
        stats = json.loads(send("stats", port))
        assert stats["gateways"]["gw1"] == "DOWN" and stats["sps"] == 5


def test_the_command_lines_run_the_simulator_and_drive_it():
    esl_port, control_port = free_port(), free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.switch",
            "--port",
            str(esl_port),
            "--control-port",
            str(control_port),
            "--gateway",
            "trunk-a=UP",
            "--time-scale",
            "0.001",
            "--password",
            "pw",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: not refused(esl_port) and not refused(control_port), timeout=10, message="start")
        client = RawEslClient(esl_port).login("pw")
        assert "Status  \tUP" in client.command("api sofia status gateway trunk-a").body.decode()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "sim.switch.control",
                "--port",
                str(control_port),
                "gateway",
                "trunk-a",
                "DOWN",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert (result.returncode, result.stdout.strip()) == (0, "+OK gateway trunk-a DOWN")
        assert client.command("api sofia status gateway gw1").body == b"Invalid Gateway!\n"
        server.send_signal(signal.SIGTERM)
        notice = client.read_frame()
        assert notice.body == b"The system is being shut down.\n"
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()
        server.wait()


def test_a_subscriber_that_stops_reading_is_dropped_after_missing_too_many_events(switch_sim, monkeypatch):
    # mod_event_socket queues 100,000 events per client and kills one that misses 500; scaled down here.
    monkeypatch.setattr(Outbox, "max_queued_events", 20)
    monkeypatch.setattr(Outbox, "max_missed", 5)
    sleeper = socket.socket()
    sleeper.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sleeper.connect(("127.0.0.1", switch_sim.port))
    sleeper.sendall(b"auth ClueCon\n\nevent plain ALL\n\n")
    driver = RawEslClient(switch_sim.port).login()
    wait_until(lambda: switch_sim.stats()["subscribers"] == 1, message="the subscription")
    batch = "".join(
        f"bgapi originate {{origination_uuid={uuid_module.uuid4()}}}sofia/gateway/gw1/1000 &park()\n\n"
        for _ in range(400)
    )
    driver.send(batch)
    wait_until(lambda: switch_sim.stats()["clients"] == 1, message="the sleeper to be dropped")
    assert switch_sim.stats()["subscribers"] == 0
    sleeper.close()
