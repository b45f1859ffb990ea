"""Calls in the simulator: each outcome's events in the order and with the causes a real switch gives
(esl-transcripts/05-21, 22, 24, 27, 29), limits, gateways, kills and the time scale."""

import time
import uuid as uuid_module

import pytest

from sim.switch.testing import wait_until

CHANNEL_EVENTS = (
    "CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_HANGUP "
    "CHANNEL_HANGUP_COMPLETE CHANNEL_PARK BACKGROUND_JOB"
)
DIALER_VARS = "dialer_contact_id=c-1,dialer_campaign_id=42,sip_h_X-queue='Sales Queue'"


def originate_arg(call_uuid, number, gateway="gw1", destination="6666 XML default", extra=DIALER_VARS):
    return f"{{origination_uuid={call_uuid},{extra}}}sofia/gateway/{gateway}/{number} {destination}"


def dial(esl, number, fmt="plain", **options):
    """bgapi-originate `number`; returns (call uuid, job uuid)."""
    call_uuid, job_uuid = str(uuid_module.uuid4()), str(uuid_module.uuid4())
    esl.command(f"event {fmt} {CHANNEL_EVENTS}")
    reply = esl.command(
        f"bgapi originate {originate_arg(call_uuid, number, **options)}\nJob-UUID: {job_uuid}"
    )
    assert reply.get("Reply-Text") == f"+OK Job-UUID: {job_uuid}"
    return call_uuid, job_uuid


def read_call(esl, job_uuid):
    """Events until both this job's BACKGROUND_JOB and the call's HANGUP_COMPLETE (if any) came."""
    seen = []
    while True:
        event = esl.read_frame().event_dict()
        seen.append(event)
        names = [e["Event-Name"] for e in seen]
        job_done = any(e.get("Job-UUID") == job_uuid for e in seen)
        if job_done and ("CHANNEL_HANGUP_COMPLETE" in names or "CHANNEL_CREATE" not in names):
            return seen


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_an_answered_call_emits_the_captured_sequence_and_ends_normal_clearing(esl, fmt):
    call_uuid, job_uuid = dial(esl, "+15551230001", fmt)
    events = read_call(esl, job_uuid)
    assert [e["Event-Name"] for e in events] == [
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_PROGRESS",
        "CHANNEL_ANSWER",
        "BACKGROUND_JOB",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    assert events[4]["_body"] == f"+OK {call_uuid}\n"
    complete = events[-1]
    assert complete["Hangup-Cause"] == "NORMAL_CLEARING"
    assert complete["variable_sip_hangup_disposition"] == "send_bye"
    assert "variable_sip_term_status" not in complete
    assert int(complete["variable_billsec"]) >= 5  # modelled talk time: 5..60 s


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_every_channel_event_carries_the_originate_variables(esl, fmt):
    call_uuid, job_uuid = dial(esl, "1000", fmt)
    channel_events = [e for e in read_call(esl, job_uuid) if e["Event-Name"] != "BACKGROUND_JOB"]
    for event in channel_events:
        assert event["Unique-ID"] == call_uuid == event["variable_origination_uuid"]
        assert (event["variable_dialer_contact_id"], event["variable_dialer_campaign_id"]) == ("c-1", "42")
        assert event["variable_sip_h_X-queue"] == "Sales Queue"
        assert event["variable_sip_gateway_name"] == "gw1"


@pytest.mark.parametrize(
    ("number", "cause", "sip_status"),
    [("1006", "USER_BUSY", "486"), ("1008", "CALL_REJECTED", "603"), ("1009", "UNALLOCATED_NUMBER", "404")],
)
def test_a_refused_call_hangs_up_with_the_sip_status_then_reports_the_job(esl, number, cause, sip_status):
    call_uuid, job_uuid = dial(esl, number)
    events = read_call(esl, job_uuid)
    assert [e["Event-Name"] for e in events] == [
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "BACKGROUND_JOB",
    ]
    complete, job = events[3], events[4]
    assert (complete["Hangup-Cause"], complete["variable_sip_term_status"]) == (cause, sip_status)
    assert complete["variable_sip_hangup_disposition"] == "recv_refuse"
    assert complete["variable_billsec"] == "0"
    assert job["_body"] == f"-ERR {cause}\n"


def test_an_unanswered_call_is_cancelled_at_originate_timeout(esl):
    started = time.monotonic()
    call_uuid, job_uuid = dial(esl, "1007", extra="originate_timeout=30")
    events = read_call(esl, job_uuid)
    elapsed = time.monotonic() - started
    assert [e["Event-Name"] for e in events] == [
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_PROGRESS",
        "CHANNEL_HANGUP",
        "BACKGROUND_JOB",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    complete = events[-1]
    assert (complete["Hangup-Cause"], complete["variable_sip_hangup_disposition"]) == (
        "NO_ANSWER",
        "send_cancel",
    )
    assert "variable_sip_term_status" not in complete
    assert complete["variable_duration"] == "30" and events[4]["_body"] == "-ERR NO_ANSWER\n"
    assert 0.03 <= elapsed < 2.0  # 30 s modelled at time scale 0.001


def test_an_app_destination_parks_and_keeps_the_dialed_number(esl):
    call_uuid, job_uuid = dial(esl, "1001", destination="&park()")
    events = read_call(esl, job_uuid)
    assert [e["Event-Name"] for e in events][3:6] == ["CHANNEL_ANSWER", "BACKGROUND_JOB", "CHANNEL_PARK"]
    assert events[-1]["Caller-Destination-Number"] == "1001"
    assert events[-1]["variable_current_application"] == "park"


def test_the_time_scale_multiplies_talk_time(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=100)
    call_uuid, job_uuid = dial(esl, "1000")
    events = {e["Event-Name"]: e for e in read_call(esl, job_uuid)}
    # Event-Date-Timestamp is the wall clock (microseconds) when the switch emitted the event.
    answered, ended = (int(events[n]["Event-Date-Timestamp"]) for n in ("CHANNEL_ANSWER", "CHANNEL_HANGUP"))
    assert 100_000 <= ended - answered < 2_000_000  # 100 s modelled at time scale 0.001
    assert events["CHANNEL_HANGUP_COMPLETE"]["variable_billsec"] == "100"


@pytest.mark.parametrize(
    ("gateway", "cause"), [("gw-down", "GATEWAY_DOWN"), ("no-such-gw", "INVALID_GATEWAY")]
)
def test_a_down_or_unknown_gateway_gives_only_a_background_job_error(switch_sim, esl, gateway, cause):
    call_uuid, job_uuid = dial(esl, "1000", gateway=gateway)
    events = read_call(esl, job_uuid)
    assert [(e["Event-Name"], e["_body"]) for e in events] == [("BACKGROUND_JOB", f"-ERR {cause}\n")]
    assert switch_sim.live_calls() == [] and switch_sim.originates[0].gateway == gateway


def test_a_gateway_set_down_at_runtime_refuses_originates(switch_sim, esl):
    switch_sim.set_gateway("gw1", "DOWN")
    assert "Status  \tDOWN" in esl.command("api sofia status gateway gw1").body.decode()
    call_uuid, job_uuid = dial(esl, "1000")
    assert read_call(esl, job_uuid)[0]["_body"] == "-ERR GATEWAY_DOWN\n"


def test_max_sessions_refuses_with_destination_out_of_order_and_no_channel(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    esl.command("api fsctl max_sessions 1")
    first_uuid, first_job = dial(esl, "1000")
    wait_until(lambda: len(switch_sim.live_calls()) == 1, message="the first call")
    second_uuid, second_job = dial(esl, "1000")
    assert (
        esl.command(f"api originate {originate_arg(str(uuid_module.uuid4()), '1000')}").body
        == b"-ERR DESTINATION_OUT_OF_ORDER\n"
    )
    seen = []
    while not any(e.get("Job-UUID") == second_job for e in seen):
        seen.append(esl.read_frame().event_dict())
    refused = [e for e in seen if second_uuid in (e.get("Unique-ID"), e.get("variable_origination_uuid"))]
    assert refused == [] and seen[-1]["_body"] == "-ERR DESTINATION_OUT_OF_ORDER\n"
    assert [c.uuid for c in switch_sim.live_calls()] == [first_uuid]


def test_sessions_per_second_lets_sps_minus_one_through_as_freeswitch_does(switch_sim, esl):
    switch_sim.set_limits(sps=2)
    esl.command("event plain BACKGROUND_JOB")
    jobs = [str(uuid_module.uuid4()) for _ in range(5)]
    for job in jobs:
        esl.command(f"bgapi originate {originate_arg(str(uuid_module.uuid4()), '1000')}\nJob-UUID: {job}")
    results = {}
    while len(results) < 5:
        event = esl.read_frame().event_dict()
        results[event["Job-UUID"]] = event["_body"]
    assert [results[job].split()[0] for job in jobs] == ["+OK", "-ERR", "-ERR", "-ERR", "-ERR"]
    assert set(results[job] for job in jobs[1:]) == {"-ERR DESTINATION_OUT_OF_ORDER\n"}


def test_a_duplicate_origination_uuid_is_refused_while_the_first_call_lives(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    call_uuid = str(uuid_module.uuid4())
    esl.command("event plain BACKGROUND_JOB")
    esl.command(f"bgapi originate {originate_arg(call_uuid, '1000')}\nJob-UUID: first")
    esl.command(f"bgapi originate {originate_arg(call_uuid, '1000')}\nJob-UUID: second")
    bodies = {}
    while len(bodies) < 2:
        event = esl.read_frame().event_dict()
        bodies[event["Job-UUID"]] = event["_body"]
    assert bodies == {"first": f"+OK {call_uuid}\n", "second": "-ERR DESTINATION_OUT_OF_ORDER\n"}


def test_blocking_api_originate_answers_then_releases_the_held_events(switch_sim, esl):
    esl.command("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB")
    call_uuid = str(uuid_module.uuid4())
    reply = esl.command(f"api originate {originate_arg(call_uuid, '1000')}")
    assert (reply.content_type, reply.body) == ("api/response", f"+OK {call_uuid}\n".encode())
    names = [f.event_dict()["Event-Name"] for f in esl.events(3)]
    assert names == ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"]
    busy = esl.command(f"api originate {originate_arg(str(uuid_module.uuid4()), '1006')}")
    assert busy.body == b"-ERR USER_BUSY\n"
    assert [f.event_dict()["Event-Name"] for f in esl.events(2)] == [
        "CHANNEL_CREATE",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    assert esl.command("api originate").body.startswith(b"-USAGE: <call url> <exten>|&<application_name>")
    assert [o.via for o in switch_sim.originates] == ["api", "api", "api"]


def test_uuid_kill_with_a_cause_ends_an_answered_call_with_that_cause(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    call_uuid, job_uuid = dial(esl, "1000")
    wait_until(lambda: any(c.state == "ACTIVE" for c in switch_sim.live_calls()), message="the answer")
    assert esl.command(f"api uuid_kill {call_uuid} USER_BUSY").body == b"+OK\n"
    complete = [e for e in read_call(esl, job_uuid) if e["Event-Name"] == "CHANNEL_HANGUP_COMPLETE"][0]
    assert (complete["Hangup-Cause"], complete["variable_sip_hangup_disposition"]) == (
        "USER_BUSY",
        "send_bye",
    )


def test_killing_a_ringing_call_cancels_it_and_fails_the_job_with_the_cause(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=600, talk_seconds=1)
    call_uuid, job_uuid = dial(esl, "1000")
    wait_until(lambda: switch_sim.live_calls(), message="the call")
    assert switch_sim.kill_call(call_uuid, "NORMAL_CLEARING") is True
    events = read_call(esl, job_uuid)
    assert [e["Event-Name"] for e in events][-3:] == [
        "CHANNEL_HANGUP",
        "BACKGROUND_JOB",
        "CHANNEL_HANGUP_COMPLETE",
    ]
    assert events[-2]["_body"] == "-ERR NORMAL_CLEARING\n"
    assert events[-1]["variable_sip_hangup_disposition"] == "send_cancel"
    assert switch_sim.kill_call(call_uuid) is False


def test_hupall_ends_every_call_with_manager_request(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    jobs = [dial(esl, "1000")[1] for _ in range(3)]
    wait_until(lambda: len(switch_sim.live_calls()) == 3, message="three calls")
    esl.command("api hupall")
    causes = []
    while len(causes) < 3:
        event = esl.read_frame().event_dict()
        if event["Event-Name"] == "CHANNEL_HANGUP_COMPLETE":
            causes.append(event["Hangup-Cause"])
    assert causes == ["MANAGER_REQUEST"] * 3 and len(jobs) == 3


def test_filters_are_ored_so_background_jobs_of_other_campaigns_still_pass(esl):
    esl.command("event plain CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB")
    esl.command("filter variable_dialer_campaign_id 42")
    esl.command("filter Event-Name BACKGROUND_JOB")
    ours = str(uuid_module.uuid4())
    theirs = str(uuid_module.uuid4())
    esl.command(
        f"bgapi originate {originate_arg(ours, '1000', extra='dialer_campaign_id=42')}\nJob-UUID: j42"
    )
    esl.command(
        f"bgapi originate {originate_arg(theirs, '1000', extra='dialer_campaign_id=43')}\nJob-UUID: j43"
    )
    seen = []
    while (
        sum(1 for name, _ in seen if name == "BACKGROUND_JOB") < 2
        or ("CHANNEL_HANGUP_COMPLETE", ours) not in seen
    ):
        event = esl.read_frame().event_dict()
        seen.append((event["Event-Name"], event.get("Unique-ID") or event["Job-UUID"]))
    assert ("CHANNEL_ANSWER", ours) in seen and ("BACKGROUND_JOB", "j43") in seen
    assert all(key != theirs for _, key in seen)


def test_every_originate_is_recorded_with_its_parsed_variables(switch_sim, esl):
    call_uuid, job_uuid = dial(esl, "+15551230002")
    read_call(esl, job_uuid)
    record = switch_sim.originates[0]
    assert (record.gateway, record.number, record.destination, record.via, record.job_uuid) == (
        "gw1",
        "+15551230002",
        "6666",
        "bgapi",
        job_uuid,
    )
    assert record.variables == {
        "origination_uuid": call_uuid,
        "dialer_contact_id": "c-1",
        "dialer_campaign_id": "42",
        "sip_h_X-queue": "Sales Queue",
    }
