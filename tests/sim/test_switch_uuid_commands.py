"""uuid_setvar, uuid_transfer and uuid_broadcast answered as FreeSWITCH 1.10.12 answers them
(mod_commands.c: replies, usage texts, switch_separate_string's splitting), over real TCP."""

import json
import uuid as uuid_module

import pytest

from sim.switch import SwitchSimulator
from sim.switch.control import send
from sim.switch.testing import RawEslClient

EVENTS = "CHANNEL_ANSWER CHANNEL_PARK CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE"
UNTIL_KILLED = 10_000  # simulated seconds of patience: the tests end these calls themselves


def held_call(switch_sim, esl, fmt="plain", number="15550100"):
    """A person answered and parked on the hold extension; (call uuid, its CHANNEL_PARK event)."""
    switch_sim.set_outcome(number, "person", ring_seconds=1, talk_seconds=5, patience_seconds=UNTIL_KILLED)
    call_uuid = str(uuid_module.uuid4())
    esl.command(f"event {fmt} {EVENTS}")
    esl.command(f"bgapi originate {{origination_uuid={call_uuid},my_custom_var=abc}}sofia/gateway/gw1/{number} "
                "dialer-hold XML default")
    return call_uuid, next_event(esl, "CHANNEL_PARK")


def next_event(esl, event_name):
    while True:
        event = esl.read_frame().event_dict()
        if event["Event-Name"] == event_name:
            return event


def api(esl, command):
    return esl.command(f"api {command}").body.decode()


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_uuid_setvar_puts_the_variable_on_the_calls_later_events_only(switch_sim, esl, fmt):
    call_uuid, park = held_call(switch_sim, esl, fmt)
    assert api(esl, f"uuid_setvar {call_uuid} sip_h_X-agentExtension 'agent 7'") == "+OK\n"
    assert api(esl, f"uuid_getvar {call_uuid} sip_h_X-agentExtension") == "agent 7"
    assert "variable_sip_h_X-agentExtension" not in park
    api(esl, f"uuid_kill {call_uuid}")
    hangup, complete = next_event(esl, "CHANNEL_HANGUP"), next_event(esl, "CHANNEL_HANGUP_COMPLETE")
    assert hangup["variable_sip_h_X-agentExtension"] == complete["variable_sip_h_X-agentExtension"] == "agent 7"


def test_uuid_setvar_without_a_value_removes_the_variable(switch_sim, esl):
    call_uuid, park = held_call(switch_sim, esl)
    assert park["variable_my_custom_var"] == "abc"
    assert api(esl, f"uuid_setvar {call_uuid} my_custom_var") == "+OK\n"
    assert api(esl, f"uuid_getvar {call_uuid} my_custom_var") == "_undef_"
    api(esl, f"uuid_kill {call_uuid}")
    assert "variable_my_custom_var" not in next_event(esl, "CHANNEL_HANGUP_COMPLETE")


def test_a_variable_set_again_moves_to_the_bottom_of_the_channel_variables(switch_sim, esl):
    # the channel's variables are unique headers appended at the bottom (switch_channel.c, switch_event.c)
    call_uuid, _ = held_call(switch_sim, esl)
    api(esl, f"uuid_setvar {call_uuid} my_custom_var xyz")
    api(esl, f"uuid_kill {call_uuid}")
    frame = esl.read_frame()
    names = [name for name, _ in frame.event()]
    assert names.count("variable_my_custom_var") == 1
    assert names.index("variable_my_custom_var") == names.index("variable_current_application") + 2  # after AMD
    assert frame.event_dict()["variable_my_custom_var"] == "xyz"


@pytest.mark.parametrize(
    ("words", "stored"),
    [
        ("hello  world", "hello  world"),  # the last word takes the rest of the line
        ("'Sales Queue'", "Sales Queue"),
        (r"a\sb\\c", "a b\\c"),  # backslash escapes
        ("'half", "'half"),  # a quote without its partner is kept
        ("trailing   ", "trailing"),
    ],
)
def test_uuid_setvar_splits_its_arguments_as_freeswitch_does(switch_sim, esl, words, stored):
    call_uuid, _ = held_call(switch_sim, esl)
    assert api(esl, f"uuid_setvar {call_uuid} v {words}") == "+OK\n"
    assert api(esl, f"uuid_getvar {call_uuid} v") == stored


def test_uuid_setvar_of_a_live_call_without_a_variable_name(switch_sim, esl):
    call_uuid, _ = held_call(switch_sim, esl)
    assert api(esl, f"uuid_setvar {call_uuid} ''") == "-ERR No variable specified\n"


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("uuid_setvar 00000000-0000-0000-0000-000000000000 v 1", "-ERR No such channel!\n"),
        ("uuid_transfer 00000000-0000-0000-0000-000000000000 agent-7 XML default", "-ERR No such channel!\n"),
        ("uuid_transfer 00000000-0000-0000-0000-000000000000 -bleg agent-7", "-ERR No such channel!\n"),
        ("uuid_broadcast 00000000-0000-0000-0000-000000000000 /tmp/message.wav aleg", "-ERR invalid uuid\n"),
        ("uuid_setvar", "-USAGE: <uuid> <var> [value]\n"),
        ("uuid_setvar 00000000-0000-0000-0000-000000000000", "-USAGE: <uuid> <var> [value]\n"),
        ("uuid_transfer", "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"),
        ("uuid_transfer 00000000-0000-0000-0000-000000000000", "-USAGE: <uuid> [-bleg|-both] <dest-exten> "
         "[<dialplan>] [<context>]\n"),
        ("uuid_broadcast 00000000-0000-0000-0000-000000000000", "-USAGE: <uuid> <path> [aleg|bleg|holdb|both]\n"),
    ],
)
def test_unknown_uuids_and_missing_arguments_get_freeswitchs_replies(esl, command, reply):
    assert api(esl, command) == reply


def test_uuid_transfer_and_setvar_work_through_bgapi_too(switch_sim, esl):
    call_uuid, _ = held_call(switch_sim, esl)
    esl.command("event plain BACKGROUND_JOB")
    esl.command(f"bgapi uuid_transfer {call_uuid} agent-7 XML default")
    assert next_event(esl, "BACKGROUND_JOB")["_body"] == "+OK\n"
    assert switch_sim.transfers[-1][:2] == (call_uuid, "agent-7")


def test_uuid_broadcast_is_accepted_and_recorded_and_the_call_goes_on(switch_sim, esl):
    call_uuid, _ = held_call(switch_sim, esl)
    assert api(esl, f"uuid_broadcast {call_uuid} /tmp/message.wav aleg") == "+OK Message sent\n"
    assert switch_sim.broadcasts[-1][:3] == (call_uuid, "/tmp/message.wav", "aleg")
    assert [call.uuid for call in switch_sim.live_calls()] == [call_uuid]


def test_uuid_broadcast_with_a_hangup_cause_ends_the_call_after_the_message(switch_sim, esl):
    call_uuid, _ = held_call(switch_sim, esl)
    assert api(esl, f"uuid_broadcast {call_uuid} playback!USER_BUSY::/tmp/message.wav") == "+OK Message sent\n"
    complete = next_event(esl, "CHANNEL_HANGUP_COMPLETE")
    assert (complete["Hangup-Cause"], complete["variable_sip_hangup_disposition"]) == ("USER_BUSY", "send_bye")


def test_max_forwards_used_up_hangs_the_call_up_as_freeswitch_does(switch_sim, esl):
    call_uuid, _ = held_call(switch_sim, esl)
    assert api(esl, f"uuid_setvar {call_uuid} max_forwards 1") == "+OK\n"
    assert api(esl, f"uuid_transfer {call_uuid} agent-7 XML default") == "-ERR\n"
    assert next_event(esl, "CHANNEL_HANGUP_COMPLETE")["Hangup-Cause"] == "EXCHANGE_ROUTING_ERROR"


def test_the_control_port_switches_to_the_predictive_mix_and_reports_its_counters():
    with SwitchSimulator(port=0, time_scale=0.001, control_port=0) as switch:
        port = switch.control_port
        reply = send("predictive person_share=1 machine_share=0 busy_share=0 patience=2", port)
        assert reply == "+OK predictive person_share=1 machine_share=0 busy_share=0 patience=2"
        assert send("predictive person_share=2", port).startswith("-ERR person_share must be between 0 and 1")
        assert send("outcome 15550200 machine 1 2", port) == "+OK 15550200 machine"
        client = RawEslClient(switch.port).login()
        client.command("event plain CHANNEL_HANGUP_COMPLETE")
        for number in ("15550200", "15550201"):
            client.command(f"bgapi originate {{}}sofia/gateway/gw1/{number} dialer-hold XML default")
        hangups = [client.read_frame().event_dict() for _ in range(2)]
        assert sorted(e["variable_amd_result"] for e in hangups) == ["MACHINE", "PERSON"]
        stats = json.loads(send("stats", port))
        assert stats["outcome_mode"] == "predictive"
        assert (stats["person_answers"], stats["machine_answers"], stats["held_hangups"]) == (1, 1, 1)
        client.close()
