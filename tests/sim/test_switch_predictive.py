"""Predictive calls in the switch simulator: who answers (person or machine, with the AMD variable),
the hold extension (answer, park, wait), uuid_transfer to an agent or to the abandon message, a held
person who gives up, and seeded repeatability; over real TCP, events framed as the captures show
(esl-transcripts/05 for CHANNEL_ANSWER and the switch's hangup, 08 for the far end's BYE)."""

import os
import subprocess
import sys
import uuid as uuid_module

import pytest

from sim.switch import SwitchSimulator
from sim.switch.testing import RawEslClient, wait_until
from sim.testing import free_port, refused
from tests.transcripts import event_frames, split

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EVENTS = (
    "CHANNEL_CREATE CHANNEL_ORIGINATE CHANNEL_PROGRESS CHANNEL_ANSWER CHANNEL_PARK CHANNEL_HANGUP "
    "CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB"
)
CAPTURED_VARS = "session_in_hangup_hook=true,ignore_early_media=true,my_custom_var=abc"  # as in 05 and 08
UNTIL_TRANSFER = 10_000  # a patience (simulated s) no test waits out: 10 s at the test time scale
ANSWERED = ["CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_PROGRESS", "CHANNEL_ANSWER", "BACKGROUND_JOB"]
ENDED = ["CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"]


def originate(esl, number, destination="dialer-hold XML default", fmt="plain"):
    """bgapi-originate `number` as the dialer would, subscribed to the call's events; its uuid."""
    call_uuid = str(uuid_module.uuid4())
    esl.command(f"event {fmt} {EVENTS}")
    arg = f"{{origination_uuid={call_uuid},{CAPTURED_VARS},dialer_mode=PREDICTIVE}}sofia/gateway/gw1/{number}"
    assert esl.command(f"bgapi originate {arg} {destination}").get("Reply-Text").startswith("+OK Job-UUID: ")
    return call_uuid


def events_until(esl, event_name):
    """The frames up to and including the next `event_name` one."""
    frames = []
    while not frames or frames[-1].event_dict()["Event-Name"] != event_name:
        frames.append(esl.read_frame())
    return frames


def names(frames):
    return [frame.event_dict()["Event-Name"] for frame in frames]


def api(esl, command):
    return esl.command(f"api {command}").body.decode()


def counters(switch_sim):
    stats = switch_sim.stats()
    keys = ("person_answers", "machine_answers", "transfers_to_agent", "transfers_to_abandon", "held_hangups")
    return {key: stats[key] for key in keys}


def billed_seconds(complete):
    return int(complete["variable_billusec"]) / 1_000_000


def test_a_person_on_hold_transferred_to_an_agent_talks_for_the_talk_time_then_the_switch_hangs_up(
    switch_sim, esl
):
    switch_sim.set_outcome("15550001", "person", ring_seconds=2, talk_seconds=30, patience_seconds=UNTIL_TRANSFER)
    call_uuid = originate(esl, "15550001")
    held = events_until(esl, "CHANNEL_PARK")
    assert names(held) == ANSWERED + ["CHANNEL_PARK"]
    answer, park = held[3].event_dict(), held[-1].event_dict()
    assert answer["variable_amd_result"] == park["variable_amd_result"] == "PERSON"
    assert "variable_amd_result" not in held[0].event_dict()  # not before the answer
    assert (park["Caller-Destination-Number"], park["variable_current_application"]) == ("dialer-hold", "park")

    assert api(esl, f"uuid_transfer {call_uuid} agent-7 XML default") == "+OK\n"
    ended = events_until(esl, "CHANNEL_HANGUP_COMPLETE")
    assert names(ended) == ENDED
    complete = ended[-1].event_dict()
    assert (complete["Hangup-Cause"], complete["variable_sip_hangup_disposition"]) == ("NORMAL_CLEARING", "send_bye")
    assert (complete["Caller-Destination-Number"], complete["Caller-RDNIS"]) == ("agent-7", "dialer-hold")
    record = switch_sim.call_record(call_uuid)
    assert (record.answered_by, record.transferred_to, record.hung_up_on_hold) == ("person", "agent-7", False)
    assert billed_seconds(complete) == pytest.approx(record.held_seconds + 30, abs=0.001)  # hold, then talk
    transfer = switch_sim.transfers[-1]
    assert (transfer.uuid, transfer.destination) == (call_uuid, "agent-7")
    assert transfer.answered_at_monotonic == record.answered_at < transfer.at_monotonic
    assert counters(switch_sim) == {
        "person_answers": 1,
        "machine_answers": 0,
        "transfers_to_agent": 1,
        "transfers_to_abandon": 0,
        "held_hangups": 0,
    }


def test_a_person_transferred_to_the_abandon_extension_hears_the_message_then_the_switch_hangs_up(switch_sim, esl):
    switch_sim.set_outcome("15550002", "person", ring_seconds=2, talk_seconds=30, patience_seconds=UNTIL_TRANSFER)
    call_uuid = originate(esl, "15550002")
    events_until(esl, "CHANNEL_PARK")
    assert api(esl, f"uuid_transfer {call_uuid} dialer-abandon") == "+OK\n"  # dialplan and context: the call's
    complete = events_until(esl, "CHANNEL_HANGUP_COMPLETE")[-1].event_dict()
    assert (complete["Hangup-Cause"], complete["variable_sip_hangup_disposition"]) == ("NORMAL_CLEARING", "send_bye")
    assert (complete["Caller-Destination-Number"], complete["Caller-Dialplan"]) == ("dialer-abandon", "XML")
    record = switch_sim.call_record(call_uuid)
    assert billed_seconds(complete) == pytest.approx(record.held_seconds + 5, abs=0.001)  # the 5 s message
    assert counters(switch_sim)["transfers_to_abandon"] == 1
    assert counters(switch_sim)["transfers_to_agent"] == 0


def test_a_held_person_hangs_up_after_their_patience_as_a_far_end_bye(switch_sim, esl):
    switch_sim.set_outcome("15550003", "person", ring_seconds=2, talk_seconds=30, patience_seconds=4)
    call_uuid = originate(esl, "15550003")
    frames = events_until(esl, "CHANNEL_HANGUP_COMPLETE")
    assert names(frames) == ANSWERED + ["CHANNEL_PARK"] + ENDED
    hangup, complete = frames[-2].event_dict(), frames[-1].event_dict()
    assert hangup["variable_sip_term_status"] == complete["variable_sip_term_status"] == "200"
    assert (complete["Hangup-Cause"], complete["variable_sip_hangup_disposition"]) == ("NORMAL_CLEARING", "recv_bye")
    assert billed_seconds(complete) == 4
    record = switch_sim.call_record(call_uuid)
    assert (record.hung_up_on_hold, record.hung_up_by, record.held_seconds) == (True, "far_end", 4)
    assert record.transferred_to is None
    assert counters(switch_sim)["held_hangups"] == 1
    assert api(esl, f"uuid_transfer {call_uuid} agent-7 XML default") == "-ERR No such channel!\n"  # too late


def test_a_machine_answer_carries_the_amd_variable_and_ends_when_its_message_does(switch_sim, esl):
    switch_sim.set_outcome("15550004", "machine", ring_seconds=3, talk_seconds=7)
    call_uuid = originate(esl, "15550004")
    frames = events_until(esl, "CHANNEL_HANGUP_COMPLETE")
    assert names(frames) == ANSWERED + ["CHANNEL_PARK"] + ENDED
    channel_events = [f.event_dict() for f in frames if f.event_dict()["Event-Name"] != "BACKGROUND_JOB"]
    assert [e.get("variable_amd_result") for e in channel_events] == [None] * 3 + ["MACHINE"] * 4
    complete = channel_events[-1]
    assert (complete["variable_sip_hangup_disposition"], billed_seconds(complete)) == ("recv_bye", 7)
    assert switch_sim.call_record(call_uuid).answered_by == "machine"
    assert counters(switch_sim)["machine_answers"] == 1
    assert counters(switch_sim)["held_hangups"] == 0  # a machine is not a person who gave up


def test_the_amd_variable_name_is_configurable(switch_sim, esl):
    switch_sim.set_predictive(amd_variable="avmd_result")
    switch_sim.set_outcome("15550005", "machine", ring_seconds=1, talk_seconds=2)
    originate(esl, "15550005")
    answer = events_until(esl, "CHANNEL_ANSWER")[-1].event_dict()
    assert answer["variable_avmd_result"] == "MACHINE" and "variable_amd_result" not in answer


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_a_predictive_call_to_any_other_extension_keeps_the_answered_sequence_with_the_amd_result(
    switch_sim, esl, fmt
):
    switch_sim.set_outcome("15550006", "person", ring_seconds=2, talk_seconds=9)
    originate(esl, "15550006", destination="6666 XML default", fmt=fmt)
    frames = events_until(esl, "CHANNEL_HANGUP_COMPLETE")
    assert names(frames) == ANSWERED + ENDED
    complete = frames[-1].event_dict()
    assert complete["variable_amd_result"] == "PERSON"
    assert (complete["variable_sip_hangup_disposition"], billed_seconds(complete)) == ("send_bye", 9)


def test_transfer_flags_and_missing_dialplan_and_context_fall_back_as_freeswitch_does(switch_sim, esl):
    switch_sim.set_outcome("15550007", "person", ring_seconds=1, talk_seconds=3, patience_seconds=UNTIL_TRANSFER)
    call_uuid = originate(esl, "15550007")
    events_until(esl, "CHANNEL_PARK")
    assert api(esl, f"uuid_transfer {call_uuid} -bleg agent-9") == "+OK\n"  # no other leg: the call itself moves
    complete = events_until(esl, "CHANNEL_HANGUP_COMPLETE")[-1].event_dict()
    assert (complete["Caller-Destination-Number"], complete["Caller-Dialplan"], complete["Caller-Context"]) == (
        "agent-9",
        "XML",
        "default",
    )
    assert complete["variable_max_forwards"] == "69"  # 70 after the dialplan's transfer, one less per transfer
    history = complete["variable_transfer_history"]
    assert history.startswith("ARRAY::") and history.endswith(":bl_xfer:agent-9/default/XML")
    assert ":bl_xfer:dialer-hold/default/XML|:" in history


# framing against the captures ---------------------------------------------------------------------


def captured_names(transcript, event_name):
    for frame in event_frames(transcript):
        head = split(frame.data)[1].decode().split("\n\n")[0]
        if head.startswith(f"Event-Name: {event_name}\n"):
            return [line.split(": ", 1)[0] for line in head.split("\n")]
    raise AssertionError(f"no {event_name} in {transcript}")


def with_amd_result(header_names):
    """Where FreeSWITCH lists a variable set after the originate: last, or before those set at hangup."""
    at_hangup = ("variable_sip_hangup_disposition", "variable_sip_term_status", "variable_hangup_cause")
    index = next((i for i, name in enumerate(header_names) if name in at_hangup), len(header_names))
    return header_names[:index] + ["variable_amd_result"] + header_names[index:]


WITHOUT_PLAYBACK = ("variable_playback_", "variable_current_application_", "variable_last_arg")


def without_playback(header_names):
    """The captured calls played a tone (extension 6666): a parked call has no such variables."""
    return [name for name in header_names if not name.startswith(WITHOUT_PLAYBACK)]


def header_names(frame):
    return [name for name, _ in frame.event() if name != "variable_dialer_mode"]


def test_the_answer_of_a_held_call_is_framed_as_the_captured_channel_answer(switch_sim, esl):
    switch_sim.set_outcome("1000", "person", ring_seconds=1, talk_seconds=3, patience_seconds=UNTIL_TRANSFER)
    originate(esl, "1000")
    answer = events_until(esl, "CHANNEL_ANSWER")[-1]
    assert header_names(answer) == with_amd_result(captured_names("05", "CHANNEL_ANSWER"))


def test_a_held_persons_hangup_is_framed_as_the_captured_far_end_bye(switch_sim, esl):
    switch_sim.set_outcome("1000", "person", ring_seconds=1, talk_seconds=3, patience_seconds=2)
    originate(esl, "1000")
    frames = events_until(esl, "CHANNEL_HANGUP_COMPLETE")
    for frame, event_name in zip(frames[-2:], ENDED, strict=True):
        expected = with_amd_result(without_playback(captured_names("08", event_name)))
        assert header_names(frame) == expected, event_name


def test_a_transferred_calls_end_is_framed_as_the_captured_switch_hangup(switch_sim, esl):
    switch_sim.set_outcome("1000", "person", ring_seconds=1, talk_seconds=3, patience_seconds=UNTIL_TRANSFER)
    call_uuid = originate(esl, "1000")
    events_until(esl, "CHANNEL_PARK")
    api(esl, f"uuid_transfer {call_uuid} agent-7 XML default")
    frames = events_until(esl, "CHANNEL_HANGUP_COMPLETE")
    for frame, event_name in zip(frames, ENDED, strict=True):
        expected = with_amd_result(without_playback(captured_names("05", event_name)))
        assert header_names(frame) == expected, event_name


# the seeded mix --------------------------------------------------------------------------------------

NUMBERS = [f"1555000{n:04d}" for n in range(300)]


def dial_all(seed, numbers):
    """Every number dialed once (to the abandon extension, so calls end by themselves) with the
    predictive mix and `seed`; {number: (BACKGROUND_JOB result, who answered)}."""
    with SwitchSimulator(port=0, time_scale=0.0002, seed=seed, outcome_mode="predictive") as switch:
        client = RawEslClient(switch.port).login()
        client.command("event plain BACKGROUND_JOB")
        for number in numbers:
            client.command(f"bgapi originate {{origination_uuid={number}}}sofia/gateway/gw1/{number} dialer-abandon")
        results = {}
        while len(results) < len(numbers):
            event = client.read_frame().event_dict()
            results[event["Job-Command-Arg"].split("/")[-1].split()[0]] = event["_body"].split()[0]
        answered_by = {record.number: record.answered_by for record in switch.call_records()}
        client.close()
    return {number: (result, answered_by.get(number)) for number, result in results.items()}


def test_the_same_seed_gives_every_number_the_same_outcome_whatever_the_dialing_order():
    first = dial_all(11, NUMBERS)
    assert dial_all(11, list(reversed(NUMBERS))) == first
    assert dial_all(12, NUMBERS) != first
    kinds = [answered_by or result for result, answered_by in first.values()]
    assert 0.25 < kinds.count("person") / len(kinds) < 0.45  # person_share 0.35
    assert 0.04 < kinds.count("machine") / len(kinds) < 0.17  # machine_share 0.10
    assert {"-ERR"} == {result for result, answered_by in first.values() if answered_by is None}


# the command line ---------------------------------------------------------------------------------


def test_the_command_line_runs_the_predictive_mix_with_its_options():
    port = free_port()
    options = (
        "--outcomes predictive --seed 5 --person-share 1 --machine-share 0 --busy-share 0 --ring-min 1 "
        "--ring-max 1 --talk-mean 1 --patience 2 --hold-extension hold-x --abandon-extension gone-x "
        "--abandon-message-seconds 3 --amd-variable avmd_result --time-scale 0.001"
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.switch", "--port", str(port), *options.split()],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: not refused(port), timeout=10, message="the simulator listening")
        client = RawEslClient(port).login()
        client.command("event plain CHANNEL_PARK CHANNEL_HANGUP_COMPLETE")
        client.command("bgapi originate {origination_uuid=held-1}sofia/gateway/gw1/15550300 hold-x XML default")
        client.command("bgapi originate {origination_uuid=gone-1}sofia/gateway/gw1/15550301 gone-x XML default")
        events = {}
        while len(events) < 3:
            event = client.read_frame().event_dict()
            events[(event["Unique-ID"], event["Event-Name"])] = event
        assert events[("held-1", "CHANNEL_PARK")]["variable_avmd_result"] == "PERSON"
        held, gone = events[("held-1", "CHANNEL_HANGUP_COMPLETE")], events[("gone-1", "CHANNEL_HANGUP_COMPLETE")]
        assert (held["variable_sip_hangup_disposition"], held["variable_billsec"]) == ("recv_bye", "2")  # patience
        assert (gone["variable_sip_hangup_disposition"], gone["variable_billsec"]) == ("send_bye", "3")  # message
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_command_line_refuses_an_impossible_mix():
    result = subprocess.run(
        [sys.executable, "-m", "sim.switch", "--port", "0", "--person-share", "0.8", "--machine-share", "0.5"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 1
    assert "person_share + machine_share + busy_share must not exceed 1" in result.stderr
