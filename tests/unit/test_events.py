from datetime import UTC, datetime

import pytest

from dialer.rules.events import (
    DIALED,
    ENDED,
    FAILED,
    NO_CHANNEL_FAILED,
    NO_CHANNEL_RETRY,
    PENDING,
    CallAnswered,
    CallEnded,
    JobResult,
    MalformedEvent,
    originate_variables,
    outcome_of,
    parse_event,
    parse_frame,
    parse_json_event,
    parse_plain_frame,
)
from tests.transcripts import event_frames, read_frames, transcripts_dir


def results(name):
    """Every result the parser finds in a recorded transcript, in arrival order."""
    parsed = (parse_event(parse_frame(frame.data)) for frame in event_frames(name))
    return [result for result in parsed if result is not None]


def summary(result):
    """What a result says, without the ids and times that differ between two recordings."""
    if isinstance(result, CallEnded):
        return (
            "ended",
            result.hangup_cause,
            result.billsec,
            result.answered,
            result.sip_term_status,
            result.sip_hangup_disposition,
            outcome_of(result),
        )
    if isinstance(result, JobResult):
        return ("job", result.ok, result.cause, outcome_of(result))
    return ("answered", result.answered_at is not None, outcome_of(result))


ANSWERED = ("answered", True, DIALED)
JOB_OK = ("job", True, None, DIALED)

CASES = {
    "answered, FreeSWITCH hangs up": (
        "05",
        "06",
        [ANSWERED, JOB_OK, ("ended", "NORMAL_CLEARING", 3, True, None, "send_bye", ENDED)],
    ),
    "answered, callee sends BYE": (
        "08",
        "09",
        [ANSWERED, JOB_OK, ("ended", "NORMAL_CLEARING", 2, True, "200", "recv_bye", ENDED)],
    ),
    "busy": (
        "10",
        "11",
        [("ended", "USER_BUSY", 0, False, "486", "recv_refuse", ENDED), ("job", False, "USER_BUSY", DIALED)],
    ),
    "404": (
        "12",
        "13",
        [
            ("ended", "UNALLOCATED_NUMBER", 0, False, "404", "recv_refuse", ENDED),
            ("job", False, "UNALLOCATED_NUMBER", DIALED),
        ],
    ),
    "ringing, no answer": (
        "16",
        "17",
        [("job", False, "NO_ANSWER", DIALED), ("ended", "NO_ANSWER", 0, False, None, "send_cancel", ENDED)],
    ),
    "gateway down": ("18", "19", [("job", False, "GATEWAY_DOWN", PENDING)]),
    "invalid gateway": ("20", "21", [("job", False, "INVALID_GATEWAY", FAILED)]),
}


@pytest.mark.parametrize(("plain", "json", "expected"), CASES.values(), ids=CASES.keys())
def test_plain_and_json_captures_of_each_case_give_the_recorded_results(plain, json, expected):
    assert [summary(result) for result in results(plain)] == expected
    assert [summary(result) for result in results(json)] == expected


def test_an_answered_call_ended_by_freeswitch_carries_its_times_in_utc():
    ended = results("05")[-1]
    assert ended == CallEnded(
        uuid="f8fa7ebf-2e5c-4c6c-b708-66978d4bbf19",
        contact_id="f8fa7ebf-2e5c-4c6c-b708-66978d4bbf19",
        campaign_id=None,
        attempt=None,
        hangup_cause="NORMAL_CLEARING",
        billsec=3,
        answered=True,
        answered_at=datetime(2026, 11, 21, 11, 20, 42, 825433, tzinfo=UTC),
        ended_at=datetime(2026, 11, 21, 11, 20, 45, 825450, tzinfo=UTC),
        sip_term_status=None,
        sip_hangup_disposition="send_bye",
        dialer_vars={},
    )


def test_json_times_are_read_like_plain_ones():
    ended = results("06")[-1]
    assert ended.answered_at == datetime(2026, 11, 21, 11, 20, 48, 345429, tzinfo=UTC)
    assert ended.ended_at == datetime(2026, 11, 21, 11, 20, 51, 345429, tzinfo=UTC)


def test_busy_hangup_is_recorded_as_user_busy_never_answered():
    ended = results("10")[0]
    assert (ended.hangup_cause, ended.answered, ended.answered_at, ended.billsec) == (
        "USER_BUSY",
        False,
        None,
        0,
    )
    assert ended.ended_at == datetime(2026, 11, 21, 11, 21, 2, 925421, tzinfo=UTC)


def test_a_failed_originate_job_names_the_call_it_was_for():
    job = results("18")[0]
    assert job.job_uuid == "dd31873b-869a-45d5-b8c9-4b26862e909d"
    assert job.call_uuid == job.contact_id == "d9ad7b28-1860-4042-bf8a-d9a625c06902"
    assert job.channel_uuid is None


def test_a_successful_originate_job_carries_the_channel_uuid():
    job = results("05")[1]
    assert job.ok and job.channel_uuid == "f8fa7ebf-2e5c-4c6c-b708-66978d4bbf19"


def test_switch_limits_refuse_originates_without_a_channel_and_put_them_back_to_pending():
    refused = [r for r in results("27") if isinstance(r, JobResult) and not r.ok]
    assert [(r.cause, outcome_of(r)) for r in refused] == [("DESTINATION_OUT_OF_ORDER", PENDING)] * 5
    channels = {r.uuid for r in results("27") if not isinstance(r, JobResult)}
    assert not channels & {r.call_uuid for r in refused}


def test_dialer_style_calls_are_known_by_our_contact_and_campaign_variables():
    ivr_answer, ivr_job, ivr_end, agent_answer, agent_job, agent_end = results("29")[:6]
    for result in (ivr_answer, ivr_job, ivr_end):
        assert (result.contact_id, result.campaign_id) == ("1001", "42")
    for result in (agent_answer, agent_job, agent_end):
        assert (result.contact_id, result.campaign_id) == ("1002", "42")
    assert ivr_end.dialer_vars == {"dialer_contact_id": "1001", "dialer_campaign_id": "42"}
    assert ivr_end.uuid == ivr_job.call_uuid == "065bddee-ce6c-424e-94f4-9776315bf465"
    assert (agent_end.hangup_cause, agent_end.billsec, agent_end.answered) == ("NORMAL_CLEARING", 3, True)


def test_an_ivr_extension_missing_from_the_dialplan_ends_answered_with_no_route():
    ended = results("29")[8]
    assert (ended.contact_id, ended.hangup_cause, ended.answered, ended.billsec) == (
        "1003",
        "NO_ROUTE_DESTINATION",
        True,
        0,
    )


def test_a_duplicate_origination_uuid_is_refused_and_names_the_live_call():
    # The refused job carries the uuid of the call still up: results must not act on that call.
    duplicate = results("29")[11]
    assert (duplicate.cause, duplicate.call_uuid) == (
        "DESTINATION_OUT_OF_ORDER",
        "c3673fce-dfc1-415c-99e7-14bd58cfa815",
    )


def test_the_agent_originate_argument_is_read_back_with_its_quoted_queue():
    agent_job = parse_frame(event_frames("29")[4].data)
    variables = originate_variables(agent_job["Job-Command-Arg"])
    assert variables["sip_h_X-queue"] == "Sales Queue"
    assert variables["origination_uuid"] == "bd353004-5d07-416f-bbf4-34e1003837fe"
    assert variables["dialer_contact_id"] == "1002"


def test_plain_headers_are_url_decoded_back_to_what_the_client_sent():
    sent = next(f.data for f in read_frames("05") if f.data.startswith(b"bgapi originate"))
    job = parse_plain_frame(event_frames("05")[4].data)
    assert "bgapi originate " + job["Job-Command-Arg"] == sent.decode().split("\n")[0]
    assert job["_body"] == "+OK f8fa7ebf-2e5c-4c6c-b708-66978d4bbf19\n"


def test_events_the_dialer_does_not_act_on_are_ignored():
    names = ["CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_PROGRESS", "CHANNEL_HANGUP"]
    ignored = [parse_frame(f.data) for f in event_frames("05")]
    assert [parse_event(e) for e in ignored if e["Event-Name"] in names] == [None] * 4


def test_a_background_job_of_another_command_is_ignored():
    frames = [f.data for f in event_frames("28") if b"text/event-xml" not in f.data.split(b"\n\n")[0]]
    jobs = [parse_frame(frame) for frame in frames]
    status_jobs = [j for j in jobs if j.get("Job-Command") in ("status", "sofia", "version")]
    assert status_jobs and all(parse_event(job) is None for job in status_jobs)


def test_the_contact_id_falls_back_to_origination_uuid_then_unique_id():
    base = {"Event-Name": "CHANNEL_ANSWER", "Unique-ID": "u-1"}
    assert parse_event(base).contact_id == "u-1"
    assert parse_event({**base, "variable_origination_uuid": "o-1"}).contact_id == "o-1"
    ours = {**base, "variable_origination_uuid": "o-1", "variable_dialer_contact_id": "c-1"}
    assert parse_event(ours).contact_id == "c-1"


def test_times_fall_back_to_the_epoch_variables_and_zero_means_never():
    base = {
        "Event-Name": "CHANNEL_HANGUP_COMPLETE",
        "Unique-ID": "u",
        "Hangup-Cause": "NORMAL_CLEARING",
        "Caller-Channel-Answered-Time": "0",
        "variable_billsec": "7",
        "variable_dialer_attempt": "2",
    }
    assert parse_event({**base, "variable_answer_uepoch": "1795260042825433"}).answered_at == datetime(
        2026, 11, 21, 11, 20, 42, 825433, tzinfo=UTC
    )
    assert parse_event({**base, "variable_answer_epoch": "1795260042"}).answered_at == datetime(
        2026, 11, 21, 11, 20, 42, tzinfo=UTC
    )
    never = parse_event({**base, "variable_answer_epoch": "0"})
    assert (never.answered, never.answered_at, never.ended_at, never.billsec, never.attempt) == (
        False,
        None,
        None,
        7,
        2,
    )


@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        ("INVALID_GATEWAY", FAILED),
        ("GATEWAY_DOWN", PENDING),
        ("DESTINATION_OUT_OF_ORDER", PENDING),
        ("USER_BUSY", DIALED),
        ("NO_ANSWER", DIALED),
        ("RECOVERY_ON_TIMER_EXPIRE", DIALED),
    ],
)
def test_a_refused_job_leads_to_the_failover_table_outcome(cause, outcome):
    job = JobResult(
        "j", ok=False, cause=cause, channel_uuid=None, call_uuid="u", contact_id="c", campaign_id=None
    )
    assert outcome_of(job) == outcome


def test_failover_causes_are_kept_in_one_place():
    assert NO_CHANNEL_FAILED == {"INVALID_GATEWAY"}
    assert NO_CHANNEL_RETRY == {"GATEWAY_DOWN", "DESTINATION_OUT_OF_ORDER"}


def test_an_answer_changes_nothing_until_the_hangup():
    assert outcome_of(CallAnswered("u", "c", None, None, None)) == DIALED


def test_a_hangup_event_without_unique_id_is_malformed():
    with pytest.raises(MalformedEvent):
        parse_event({"Event-Name": "CHANNEL_HANGUP_COMPLETE", "Hangup-Cause": "NORMAL_CLEARING"})


def test_a_frame_shorter_than_its_content_length_is_malformed():
    frame = event_frames("05")[4].data
    with pytest.raises(MalformedEvent):
        parse_frame(frame[:-5])


def test_a_json_frame_is_not_taken_for_a_plain_one():
    with pytest.raises(MalformedEvent):
        parse_plain_frame(event_frames("06")[0].data)


def test_a_json_body_that_is_not_an_object_is_malformed():
    with pytest.raises(MalformedEvent):
        parse_json_event("[1, 2]")


def test_the_transcript_reader_reads_every_server_frame_at_its_annotated_size():
    # read_frames checks each frame against its annotated byte count and raises on a mismatch.
    names = sorted(path.name for path in transcripts_dir().glob("*.txt"))
    frames = [frame for name in names for frame in read_frames(name)]
    assert sum(frame.direction == "S" for frame in frames) == 483


@pytest.mark.parametrize("body, changes", [
    ("+OK 7f4de4b4-0000-0000-0000-000000000000\n", False),
    ("-ERR USER_BUSY\n", False),
    ("-ERR NO_ANSWER\n", False),
    ("-ERR GATEWAY_DOWN\n", True),
    ("-ERR INVALID_GATEWAY\n", True),
    ("-ERR DESTINATION_OUT_OF_ORDER\n", True),
    ("", False),
])
def test_only_job_results_of_originates_without_a_channel_can_change_a_contact(body, changes):
    from dialer.rules.events import job_may_change_contact

    assert job_may_change_contact(body) is changes


def test_a_parked_predictive_call_is_its_answer_with_our_mode_and_the_switch_answer_time():
    park = {"Event-Name": "CHANNEL_PARK", "Unique-ID": "u-1", "variable_dialer_contact_id": "c-1",
            "variable_dialer_mode": "PREDICTIVE", "Caller-Channel-Answered-Time": "1700000000000000"}
    answered = parse_event(park)
    assert isinstance(answered, CallAnswered)
    assert (answered.contact_id, answered.dialer_vars["dialer_mode"]) == ("c-1", "PREDICTIVE")
    assert answered.answered_at == datetime.fromtimestamp(1_700_000_000, UTC)


@pytest.mark.parametrize("variables, machine", [
    ({"variable_amd_result": "MACHINE"}, True),
    ({"variable_amd_result": "machine"}, True),
    ({"variable_avmd_detect": "TRUE"}, True),
    ({"variable_amd_result": "PERSON"}, False),
    ({}, False),
])
def test_a_machine_answer_is_told_by_the_configured_variables(variables, machine):
    from dialer.rules.events import answered_by_machine

    configured = (("amd_result", "MACHINE"), ("avmd_detect", "TRUE"))
    assert answered_by_machine({"Event-Name": "CHANNEL_PARK", **variables}, configured) is machine
