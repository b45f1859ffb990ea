"""The official ESL C binding, bare and through dialer/adapters/esl.py, against the simulator over TCP:
proof that a real FreeSWITCH client works with it unchanged."""

import threading
import time
import uuid as uuid_module

import pytest

from dialer.adapters.esl import ESL, EslClient, SwitchUnreachable  # the binding, as dialer/adapters/esl.py imports it

IVR = (
    "originate {{origination_uuid={uuid},dialer_contact_id=c-1,dialer_campaign_id=42}}"
    "sofia/gateway/gw1/{number} 6666 XML default"
)


@pytest.fixture
def client(switch_sim):
    esl_client = EslClient("127.0.0.1", switch_sim.port, "ClueCon", timeout=1.0)
    yield esl_client
    esl_client.close()


def next_events(client, count, timeout_ms=2000):
    events = []
    while len(events) < count:
        event = client.recv_event(timeout_ms)
        assert event is not None, f"only {len(events)} of {count} events came"
        events.append(event)
    return events


def test_the_raw_binding_connects_authenticates_and_runs_api_and_bgapi(switch_sim):
    connection = ESL.ESLconnection("127.0.0.1", str(switch_sim.port), "ClueCon")
    assert connection.connected() == 1
    assert connection.api("version").getBody().startswith("FreeSWITCH Version 1.10.12")
    assert connection.events("json", "BACKGROUND_JOB CHANNEL_HANGUP_COMPLETE") == 0
    call_uuid = str(uuid_module.uuid4())
    reply = connection.bgapi(
        "originate", IVR.format(uuid=call_uuid, number="1006")[len("originate ") :], "job-7"
    )
    assert (reply.getHeader("Reply-Text"), reply.getHeader("Job-UUID")) == ("+OK Job-UUID: job-7", "job-7")
    complete = connection.recvEventTimed(2000)
    job = connection.recvEventTimed(2000)
    assert (complete.getHeader("Event-Name"), complete.getHeader("Hangup-Cause")) == (
        "CHANNEL_HANGUP_COMPLETE",
        "USER_BUSY",
    )
    assert complete.getHeader("variable_dialer_contact_id") == "c-1"
    assert (job.getHeader("Job-UUID"), job.getBody()) == ("job-7", "-ERR USER_BUSY\n")
    assert connection.recvEventTimed(10) is None  # a timeout, not an error
    assert connection.connected() == 1
    connection.disconnect()


def test_the_raw_binding_sees_a_refused_login_and_a_dead_port(switch_sim):
    assert ESL.ESLconnection("127.0.0.1", str(switch_sim.port), "wrong").connected() == 0
    started = time.monotonic()
    assert ESL.ESLconnection("127.0.0.1", "1", "ClueCon").connected() == 0
    assert time.monotonic() - started < 1.0


def test_api_returns_the_body(client):
    assert client.api("show calls count") == "\n0 total.\n"
    assert client.api("sofia status gateway nope") == "Invalid Gateway!\n"


def test_bgapi_returns_the_reply_text_with_our_job_uuid(client):
    reply = client.bgapi(IVR.format(uuid=uuid_module.uuid4(), number="1000"), "our-job-uuid")
    assert reply == "+OK Job-UUID: our-job-uuid"


def test_events_arrive_url_decoded_with_the_body_under_body(client):
    client.subscribe(["CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB"])
    call_uuid = str(uuid_module.uuid4())
    client.bgapi(IVR.format(uuid=call_uuid, number="+15551230001"), "job-1")
    job, complete = next_events(client, 2)
    assert (job["Event-Name"], job["Job-UUID"], job["_body"]) == (
        "BACKGROUND_JOB",
        "job-1",
        f"+OK {call_uuid}\n",
    )
    assert complete["Unique-ID"] == call_uuid and complete["Hangup-Cause"] == "NORMAL_CLEARING"
    assert complete["Channel-Name"] == "sofia/external/+15551230001"  # sent as %2B
    assert complete["Event-Date-Local"].count(":") == 2  # sent as %3A
    assert "_body" not in complete
    assert client.recv_event(5) is None


def test_filters_are_applied_and_ored(client):
    client.subscribe(
        ["CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB"],
        filters=[("variable_dialer_campaign_id", "43"), ("Event-Name", "BACKGROUND_JOB")],
    )
    client.bgapi(IVR.format(uuid=uuid_module.uuid4(), number="1006"), "job-2")
    (job,) = next_events(client, 1)
    assert job["Event-Name"] == "BACKGROUND_JOB"  # the campaign-42 hangup was filtered out
    assert client.recv_event(50) is None


def test_subscribing_again_replaces_the_earlier_subscription(client):
    client.subscribe(["BACKGROUND_JOB"], filters=[("Event-Name", "BACKGROUND_JOB")])
    client.subscribe(["CHANNEL_HANGUP_COMPLETE"])
    call_uuid = str(uuid_module.uuid4())
    client.bgapi(IVR.format(uuid=call_uuid, number="1006"), "job-3")
    (complete,) = next_events(client, 1)
    assert (complete["Event-Name"], complete["Unique-ID"]) == ("CHANNEL_HANGUP_COMPLETE", call_uuid)
    assert client.recv_event(50) is None  # no BACKGROUND_JOB any more


def test_api_reconnects_once_after_the_switch_dropped_us(switch_sim, client):
    client.api("version")
    switch_sim.drop_clients()
    assert client.api("show calls count") == "\n0 total.\n"


def test_recv_event_raises_on_a_drop_and_the_next_call_reconnects_and_resubscribes(switch_sim, client):
    client.subscribe(["BACKGROUND_JOB"])
    client.recv_event(1)
    switch_sim.drop_clients()
    with pytest.raises(SwitchUnreachable):
        client.recv_event(2000)  # the EOF wakes it at once
    client.bgapi("status", "after-reconnect")
    (job,) = next_events(client, 1)
    assert job["Job-UUID"] == "after-reconnect"


def test_the_disconnect_notice_of_a_shutdown_raises(switch_sim, client):
    client.subscribe(["BACKGROUND_JOB"])
    client.recv_event(1)
    switch_sim.stop()
    with pytest.raises(SwitchUnreachable):
        client.recv_event(2000)


def test_a_refused_connection_raises_at_once(switch_sim, client):
    switch_sim.refuse_connections(5)
    started = time.monotonic()
    with pytest.raises(SwitchUnreachable):
        client.api("version")
    assert time.monotonic() - started < 0.5


def test_a_frozen_switch_raises_after_the_timeout_instead_of_hanging(switch_sim, client):
    client.api("version")
    switch_sim.freeze(True)
    started = time.monotonic()
    with pytest.raises(SwitchUnreachable, match="did not answer"):
        client.api("version")
    with pytest.raises(SwitchUnreachable, match="timed out"):
        client.api("version")  # a new connection gets no greeting either
    assert time.monotonic() - started < 3.0
    switch_sim.freeze(False)
    assert client.api("version").startswith("FreeSWITCH")


def test_a_wrong_password_raises(switch_sim):
    with pytest.raises(SwitchUnreachable, match="password"):
        EslClient("127.0.0.1", switch_sim.port, "wrong").api("version")


def test_a_client_refuses_to_be_used_from_a_second_thread(client):
    client.api("version")
    errors = []
    thread = threading.Thread(target=lambda: errors.append(_capture(lambda: client.api("version"))))
    thread.start()
    thread.join()
    assert isinstance(errors[0], RuntimeError)


def _capture(action):
    try:
        action()
    except Exception as error:  # returned for the assertion
        return error
    return None
