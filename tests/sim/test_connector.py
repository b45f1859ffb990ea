"""The VC simulator over real sockets, against a fake dialer that records the callbacks."""

import json
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest
import requests

from sim.connector import ConnectorSimulator, paths
from sim.connector import testing as vc_testing
from sim.connector.agents import AgentPool
from sim.connector.payload import call_details_errors, call_ids
from sim.testing import free_port, wait_for

# The shared fixtures, bound here by assignment (an import would read as shadowed by the test arguments).
connector = vc_testing.connector
fake_dialer = vc_testing.fake_dialer
CONNECTOR_TOKEN = vc_testing.CONNECTOR_TOKEN

VALID = {
    "callingNumber": "2001",
    "queue": "Voice Queue",
    "queueType": "NAME",
    "callUid": "call-1",
    "eslHost": "",
    "serviceIdentifier": "1218",
    "direction": "OUTBOUND",
}


def details(uid=None, **changes):
    return {**VALID, "callUid": uid or str(uuid.uuid4()), **changes}


def post(vc, path, body):
    return requests.post(vc.url + path, json=body, timeout=5)


def callback_for(vc, uid):
    """Wait for, and return, the callback the simulator made for call `uid`."""

    def made():
        return next((c for c in vc.callbacks() if c["body"]["uuid"] == uid), None)

    return wait_for(made, timeout=3, message=f"callback for {uid}")


def reserve(vc, uid=None):
    """Ask for an agent for a new call and return `(uid, callback)`."""
    body = details(uid)
    assert post(vc, paths.START_PROCESS, body).status_code == 200
    return body["callUid"], callback_for(vc, body["callUid"])


def state_of(vc, ext):
    return next(a["state"] for a in vc.agents() if a["ext"] == ext)


@contextmanager
def simulator(dialer_url, **options):
    settings = {"port": 0, "dialer_token": CONNECTOR_TOKEN, "delay": 0.02, "agents": 1, **options}
    with ConnectorSimulator(dialer_url=dialer_url, **settings) as vc:
        yield vc



def reachable(url):
    try:
        return requests.get(url + "/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


# --- startprocess and the callback -------------------------------------------------------------


def test_valid_call_details_are_accepted_and_answered_with_an_agent_and_the_token(connector, fake_dialer):
    response = post(connector, paths.START_PROCESS, details("call-a"))
    assert (response.status_code, response.json()) == (200, {"accepted": True})
    callback = callback_for(connector, "call-a")
    assert callback["status"] == 200 and callback["error"] is None
    assert callback["body"]["queue"] == "Voice Queue"
    assert callback["body"]["agent"] in {"2001", "2002", "2003"}
    [request] = fake_dialer.requests()
    assert request["path"] == "/dialer-connector/agent"
    assert request["authorization"] == f"Bearer {CONNECTOR_TOKEN}"
    assert request["json"] == callback["body"]
    assert state_of(connector, callback["body"]["agent"]) == "busy"


def test_a_blank_queue_is_answered_with_the_default_queue(connector):
    post(connector, paths.START_PROCESS, details("call-b", queue=""))
    assert callback_for(connector, "call-b")["body"]["queue"] == "Default Queue"


MALFORMED = [
    pytest.param("not json", "_body", id="not-json"),
    pytest.param([VALID], "_body", id="not-an-object"),
    *[pytest.param({k: v for k, v in VALID.items() if k != key}, key, id=f"missing-{key}") for key in VALID],
    *[pytest.param({**VALID, key: 1218}, key, id=f"not-a-string-{key}") for key in VALID],
    *[
        pytest.param({**VALID, key: " "}, key, id=f"blank-{key}")
        for key in ("callingNumber", "queueType", "callUid", "serviceIdentifier", "direction")
    ],
    pytest.param({**VALID, "queueType": "QUEUE"}, "queueType", id="unknown-queueType"),
    pytest.param({**VALID, "direction": "outbound"}, "direction", id="unknown-direction"),
    pytest.param({**VALID, "campaignId": "c1"}, "campaignId", id="unknown-field"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED)
def test_call_details_breaking_a_rule_are_rejected_with_the_field(body, field):
    assert list(call_details_errors(body)) == [field]


ONE_OF_EACH_RULE = {
    "not-json",
    "not-an-object",
    "missing-callUid",
    "not-a-string-queue",
    "blank-callingNumber",
    "unknown-direction",
    "unknown-field",
}


@pytest.mark.parametrize(("body", "field"), [p for p in MALFORMED if p.id in ONE_OF_EACH_RULE])
def test_malformed_call_details_get_a_400_and_are_recorded_as_rejected(connector, body, field):
    if isinstance(body, str):
        response = requests.post(connector.url + paths.START_PROCESS, data=body, timeout=5)
    else:
        response = post(connector, paths.START_PROCESS, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    [message] = connector.messages()
    assert (message["body"], message["accepted"], message["status"]) == (body, False, 400)


def test_rejected_call_details_make_no_callback(connector):
    post(connector, paths.START_PROCESS, {**VALID, "direction": "SIDEWAYS"})
    reserve(connector, "call-good")  # callbacks fire in order of delay: by now a bad one would be there
    assert [c["body"]["uuid"] for c in connector.callbacks()] == ["call-good"]


def test_no_free_agent_is_answered_with_an_empty_agent(fake_dialer):
    with simulator(fake_dialer.url, agents=1) as vc:
        reserve(vc, "call-1")
        _, callback = reserve(vc, "call-2")
    assert callback["body"] == {"agent": "", "uuid": "call-2", "queue": ""}


@pytest.mark.parametrize("status", [404, 409, 503])
def test_a_refused_callback_is_recorded_and_gives_the_agent_back(fake_dialer, status):
    fake_dialer.status = status
    with simulator(fake_dialer.url) as vc:
        _, callback = reserve(vc)
        assert callback["status"] == status
        assert vc.agents() == [{"ext": "2001", "state": "free", "call": None}]


def test_a_callback_to_a_dialer_that_is_down_is_recorded_and_not_retried():
    with simulator(f"http://127.0.0.1:{free_port()}", agents=2) as vc:
        _, first = reserve(vc, "call-1")
        reserve(vc, "call-2")
        assert first["status"] is None and "ConnectionError" in first["error"]
        assert [c["body"]["uuid"] for c in vc.callbacks()] == ["call-1", "call-2"]


def test_the_same_seed_reserves_agents_in_the_same_order(fake_dialer):
    def order(seed):
        with simulator(fake_dialer.url, agents=4, seed=seed) as vc:
            return [reserve(vc)[1]["body"]["agent"] for _ in range(4)]

    first = order(11)
    assert order(11) == first
    assert sorted(first) == ["2001", "2002", "2003", "2004"]


# --- agents: busy, wrap-up, free ---------------------------------------------------------------

END_CHAT = {
    "id": "{uid}",
    "header": {
        "channelData": {
            "channelCustomerIdentifier": "1000",
            "serviceIdentifier": "1218",
            "intent": "END_CHAT",
            "sender": {"id": "ivr-1", "type": "IVR"},
        }
    },
}


def _fill(template, uid):
    return json.loads(json.dumps(template).replace("{uid}", uid))


@pytest.mark.parametrize(
    ("path", "body", "state"),
    [
        (paths.CALL_RESULT, {"callUid": "{uid}", "hangupCause": "NORMAL_CLEARING"}, "wrap_up"),
        (paths.END_CHAT, END_CHAT, "wrap_up"),
        (paths.CCM_RECEIVE, {"header": {"channelData": {"uuid": "{uid}"}}}, "wrap_up"),
        (paths.RECORDING, {"callUid": "{uid}", "url": "http://rec/1.wav"}, "busy"),
        (paths.CALL_RESULT, {"callUid": "some-other-call"}, "busy"),
    ],
)
def test_only_a_message_ending_the_call_puts_its_agent_into_wrap_up(fake_dialer, path, body, state):
    with simulator(fake_dialer.url, wrap_up=30) as vc:
        uid, _ = reserve(vc)
        assert post(vc, path, _fill(body, uid)).json() == {"received": True}
        assert state_of(vc, "2001") == state


def test_an_agent_is_free_again_after_wrap_up_and_takes_the_next_call(fake_dialer):
    with simulator(fake_dialer.url, wrap_up=0.2) as vc:
        uid, _ = reserve(vc)
        post(vc, paths.CALL_RESULT, {"callUid": uid})
        wait_for(lambda: state_of(vc, "2001") == "free", timeout=3, message="end of wrap-up")
        assert reserve(vc)[1]["body"]["agent"] == "2001"


def test_an_agent_whose_call_is_never_reported_is_freed_after_the_hold_timeout(fake_dialer):
    with simulator(fake_dialer.url, hold=0.3) as vc:
        reserve(vc)
        wait_for(lambda: state_of(vc, "2001") == "free", timeout=3, message="hold timeout")
        assert reserve(vc)[1]["body"]["agent"] == "2001"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_pool_keeps_an_agent_busy_until_hold_and_in_wrap_up_until_wrap_up_ends():
    clock = FakeClock()
    pool = AgentPool(2, hold=10, wrap_up=3, clock=clock)
    first, second = pool.reserve("a"), pool.reserve("b")
    assert pool.reserve("c") is None
    pool.end_call("a")
    clock.now += 2.9
    pool.end_call("a")  # a second "call over" (result, then END_CHAT) does not restart the wrap-up
    states = {a["ext"]: (a["state"], a["call"]) for a in pool.snapshot()}
    assert states == {first: ("wrap_up", "a"), second: ("busy", "b")}
    clock.now += 0.1
    assert pool.reserve("c") == first
    clock.now += 7
    assert pool.reserve("d") == second


def test_pool_cancel_frees_an_agent_at_once():
    pool = AgentPool(1, clock=FakeClock())
    pool.reserve("a")
    assert pool.cancel("a") == "2001"
    assert pool.snapshot() == [{"ext": "2001", "state": "free", "call": None}]


def test_pool_with_the_same_seed_picks_the_same_agents():
    def picks(seed):
        pool = AgentPool(6, seed=seed, clock=FakeClock())
        return [pool.reserve(str(n)) for n in range(6)]

    assert picks(3) == picks(3)


def test_call_ids_are_found_at_the_top_and_in_channel_data():
    body = {"uuid": "u", "header": {"channelData": {"callUid": "c", "id": "i", "other": "x"}}}
    assert call_ids(body) == {"u", "c", "i"}
    assert call_ids("text") == set() and call_ids({"header": "x"}) == set()


# --- the record of messages --------------------------------------------------------------------


def test_every_message_is_recorded_in_order_and_can_be_filtered_by_path(connector):
    sent = [
        (paths.START_PROCESS, details("call-1")),
        (paths.CALL_RESULT, {"callUid": "call-1"}),
        (paths.RECORDING, {"callUid": "call-1"}),
        ("/fs-message/anything/else", {"n": 1}),
        (paths.CCM_RECEIVE, {"n": 2}),
        (paths.CALL_RESULT, {"callUid": "call-2"}),
    ]
    for path, body in sent:
        assert post(connector, path, body).status_code == 200
    requests.post(connector.url + paths.END_CHAT, data="plain text", timeout=5)
    messages = connector.messages()
    assert [(m["seq"], m["path"], m["body"]) for m in messages] == [
        (n, path, body) for n, (path, body) in enumerate([*sent, (paths.END_CHAT, "plain text")], 1)
    ]
    assert all(m["accepted"] and m["received_at"] for m in messages)
    results = requests.get(connector.url + "/messages", params={"path": paths.CALL_RESULT}, timeout=5).json()
    assert [m["body"]["callUid"] for m in results] == ["call-1", "call-2"]
    assert results == connector.messages(path=paths.CALL_RESULT)


def test_agents_and_callbacks_can_be_read_over_http(connector):
    uid, callback = reserve(connector)
    assert requests.get(connector.url + "/callbacks", timeout=5).json() == [callback]
    agents = requests.get(connector.url + "/agents", timeout=5).json()
    assert [a["ext"] for a in agents] == ["2001", "2002", "2003"]
    assert {"ext": callback["body"]["agent"], "state": "busy", "call": uid} in agents


# --- failure modes -----------------------------------------------------------------------------


def test_down_refuses_connections_and_up_serves_again_on_the_same_port(connector):
    url = connector.url
    connector.set_mode("down")
    with pytest.raises(requests.ConnectionError):
        post(connector, paths.CALL_RESULT, {"callUid": "x"})
    connector.set_mode("up")
    assert connector.url == url
    assert post(connector, paths.CALL_RESULT, {"callUid": "x"}).status_code == 200
    assert len(connector.messages()) == 1


def test_down_over_the_control_route_comes_back_by_itself(connector):
    response = requests.post(connector.url + "/control", json={"mode": "down", "seconds": 0.5}, timeout=5)
    assert response.json() == {"mode": "down", "seconds": 0.5}
    assert not reachable(connector.url)
    wait_for(lambda: reachable(connector.url), timeout=3, message="back up")
    assert connector.mode() == {"mode": "up", "seconds": None}


def test_slow_answers_late_but_handles_the_message(connector):
    connector.set_mode("slow", 0.3)
    started = time.monotonic()
    assert post(connector, paths.START_PROCESS, details("call-slow")).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert callback_for(connector, "call-slow")["status"] == 200


def test_error_mode_answers_5xx_records_unaccepted_and_acts_on_nothing(connector):
    connector.set_mode("error")
    assert post(connector, paths.START_PROCESS, details("call-lost")).status_code == 500
    assert post(connector, "/fs-message/anything", {}).status_code == 500
    assert [(m["accepted"], m["status"]) for m in connector.messages()] == [(False, 500), (False, 500)]
    assert requests.get(connector.url + "/messages", timeout=5).ok  # inspection is never faulted
    connector.set_mode("up")
    reserve(connector, "call-ok")
    assert [c["body"]["uuid"] for c in connector.callbacks()] == ["call-ok"]


def test_error_for_some_seconds_ends_by_itself(connector):
    requests.post(connector.url + "/control", json={"mode": "error", "seconds": 0.5}, timeout=5)
    assert post(connector, paths.CALL_RESULT, {}).status_code == 500
    wait_for(lambda: post(connector, paths.CALL_RESULT, {}).ok, timeout=3, message="error mode over")


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "down"},
        {"mode": "slow"},
        {"mode": "sideways"},
        {"mode": "error", "seconds": -1},
        {"mode": "error", "seconds": "1"},
        [],
    ],
)
def test_a_bad_control_request_is_a_400_and_changes_nothing(connector, body):
    assert requests.post(connector.url + "/control", json=body, timeout=5).status_code == 400
    assert connector.mode() == {"mode": "up", "seconds": None}


# --- the command line and the test helper ------------------------------------------------------


def test_the_command_line_serves_the_given_port_and_stops_on_sigterm():
    port = free_port()
    command = [sys.executable, "-m", "sim.connector", "--port", str(port), "--agents", "2", "--seed", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: reachable(url), timeout=10, message="the CLI simulator")
        agents = requests.get(url + "/agents", timeout=5).json()
        assert [a["ext"] for a in agents] == ["2001", "2002"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert f"event=listening url=http://127.0.0.1:{port}" in stderr


def test_wait_for_returns_the_value_or_fails_saying_what_it_waited_for():
    assert wait_for(lambda: 42, timeout=0.1) == 42
    with pytest.raises(AssertionError, match="the impossible"):
        wait_for(lambda: None, timeout=0.05, message="the impossible")
