from dataclasses import replace

import pytest

from dialer.rules.originate import (
    AgentCall,
    IvrCall,
    PredictiveCall,
    UnsafeValue,
    agent_variables_commands,
    hangup_command,
    originate_command,
    originate_parts,
    originate_variables,
    transfer_command,
)
from tests.transcripts import read_frames

GATEWAY = "4d995f13-f90a-4bc9-8045-23809a34f82e"

IVR = IvrCall(
    contact_id="1001",
    campaign_id="42",
    number="+15551230001",
    gateway_id=GATEWAY,
    ivr="6666",
    context="default",
    call_uuid="065bddee-ce6c-424e-94f4-9776315bf465",
)

AGENT = AgentCall(
    contact_id="1002",
    campaign_id="42",
    number="+15551230002",
    gateway_id=GATEWAY,
    agent_extension="6666",
    queue="Sales Queue",
    dialing_mode="PROGRESSIVE",
    voice_service_id="vs-123",
    domain="127.0.0.1",
    context="default",
    call_uuid="bd353004-5d07-416f-bbf4-34e1003837fe",
)


def test_ivr_call_builds_the_design_originate_string():
    assert originate_command(IVR) == (
        "originate {session_in_hangup_hook=true,"
        "origination_uuid=065bddee-ce6c-424e-94f4-9776315bf465,"
        "dialer_instance=dialer,dialer_contact_id=1001,dialer_campaign_id=42,dialer_attempt=1}"
        "sofia/gateway/4d995f13-f90a-4bc9-8045-23809a34f82e/+15551230001 6666 XML default"
    )


def test_agent_call_builds_the_design_originate_string_with_the_queue_single_quoted():
    assert originate_command(AGENT) == (
        "originate {ignore_early_media=true,session_in_hangup_hook=true,"
        "sip_h_X-Destination-Number=vs-123,sip_h_X-CallType=PROGRESSIVE,"
        "customer_number=+15551230002,"
        "sip_h_X-CALL-VARIABLE0=bd353004-5d07-416f-bbf4-34e1003837fe,"
        "sip_h_X-Call-Id=bd353004-5d07-416f-bbf4-34e1003837fe,"
        "domain_name=127.0.0.1,record_session=true,call_direction=outbound,"
        "sip_h_X-queueType=NAME,sip_h_X-queue='Sales Queue',"
        "origination_uuid=bd353004-5d07-416f-bbf4-34e1003837fe,"
        "origination_caller_id_name=6666,sip_h_X-agentExtension=6666,"
        "dialer_instance=dialer,dialer_contact_id=1002,dialer_campaign_id=42,dialer_attempt=1}"
        "sofia/gateway/4d995f13-f90a-4bc9-8045-23809a34f82e/+15551230002 6666 XML default"
    )


@pytest.mark.parametrize("call", [IVR, AGENT], ids=["ivr", "agent"])
def test_commands_have_the_shape_freeswitch_accepted_in_the_dialer_style_capture(call):
    # Transcript 29 sent these exact shapes (without dialer_instance and dialer_attempt) and
    # FreeSWITCH dialed them.
    sent = [frame.data.decode().split("\n")[0] for frame in read_frames("29") if frame.direction == "C"]
    ours = "bgapi " + originate_command(call).replace(",dialer_attempt=1", "").replace("dialer_instance=dialer,", "")
    assert ours in sent


def test_originate_timeout_and_attempt_are_appended_after_our_variables():
    command = originate_command(replace(IVR, attempt=3, originate_timeout=30))
    assert "dialer_campaign_id=42,dialer_attempt=3,originate_timeout=30}sofia/" in command


def test_the_contact_id_is_the_origination_uuid_when_no_call_uuid_is_given():
    contact_id = "aba035c8-b9a9-4d9b-ae40-6fc9a9c02c07"
    command = originate_command(replace(IVR, contact_id=contact_id, call_uuid=None))
    assert f"origination_uuid={contact_id},dialer_instance=dialer,dialer_contact_id={contact_id}," in command


def test_parts_split_the_command_as_bgapi_takes_it():
    command, args = originate_parts(IVR)
    assert command == "originate"
    assert f"{command} {args}" == originate_command(IVR)
    assert args.startswith("{session_in_hangup_hook=true,")


def test_something_that_is_not_a_call_is_a_type_error():
    with pytest.raises(TypeError):
        originate_command({"number": "1000"})


HOSTILE = [
    "1000,origination_caller_id_number=666",
    "{x=1}",
    "x}",
    "'",
    '"',
    "&bash(id)",
    "^^:a=b",
    "100 200",
    "1000\n",
    "10\n00",
    "${system(id)}",
    "a|b",
    "a;b",
    "a=b",
    "",
    "7" * 300,
    "a" * 300,
]

FIELDS = {
    IVR: ["number", "gateway_id", "contact_id", "campaign_id", "call_uuid", "ivr", "context"],
    AGENT: [
        "number",
        "gateway_id",
        "contact_id",
        "campaign_id",
        "call_uuid",
        "agent_extension",
        "queue",
        "dialing_mode",
        "voice_service_id",
        "domain",
        "context",
    ],
}
CASES = [
    pytest.param(call, field, value, id=f"{type(call).__name__}.{field}={value[:20]!r}")
    for call, fields in FIELDS.items()
    for field in fields
    for value in HOSTILE
    if not (field == "queue" and value == "100 200")  # queue names may hold spaces
]


@pytest.mark.parametrize(("call", "field", "value"), CASES)
def test_a_hostile_value_is_rejected_naming_its_field(call, field, value):
    with pytest.raises(UnsafeValue) as raised:
        originate_command(replace(call, **{field: value}))
    assert raised.value.field == field
    assert raised.value.value == value


@pytest.mark.parametrize("queue", ["Sales', x='y", "Sales' Queue", "Q\tueue", "Sales Queue\n", " Sales"])
def test_a_queue_name_that_could_leave_its_quotes_is_rejected(queue):
    with pytest.raises(UnsafeValue) as raised:
        originate_command(replace(AGENT, queue=queue))
    assert raised.value.field == "queue"


@pytest.mark.parametrize("mode", ["progressive", "AUTO", "PREVIEW "])
def test_a_dialing_mode_outside_the_three_modes_is_rejected(mode):
    with pytest.raises(UnsafeValue) as raised:
        originate_command(replace(AGENT, dialing_mode=mode))
    assert raised.value.field == "dialing_mode"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attempt", 0),
        ("attempt", True),
        ("attempt", "1"),
        ("attempt", -2),
        ("originate_timeout", 0),
        ("originate_timeout", True),
        ("originate_timeout", "30"),
        ("originate_timeout", 10**6),
        ("originate_timeout", 2.5),
    ],
)
def test_counts_that_are_not_positive_whole_numbers_are_rejected(field, value):
    with pytest.raises(UnsafeValue) as raised:
        originate_command(replace(IVR, **{field: value}))
    assert raised.value.field == field


def test_unsafe_value_is_a_value_error_that_shows_a_shortened_value():
    error = UnsafeValue("number", "9" * 500, "digits")
    assert isinstance(error, ValueError)
    assert len(str(error)) < 120


def test_the_variables_we_write_read_back_unchanged_with_the_queue_unquoted():
    _, args = originate_parts(replace(AGENT, originate_timeout=45))
    variables = originate_variables(args)
    assert variables["sip_h_X-queue"] == "Sales Queue"
    assert variables["origination_uuid"] == "bd353004-5d07-416f-bbf4-34e1003837fe"
    assert (variables["dialer_contact_id"], variables["dialer_campaign_id"]) == ("1002", "42")
    assert (variables["dialer_attempt"], variables["originate_timeout"]) == ("1", "45")
    assert variables["dialer_instance"] == "dialer"
    assert len(variables) == 20


def test_an_argument_without_a_variable_block_has_no_variables():
    assert originate_variables("sofia/gateway/gw1/1000 &park()") == {}


CALLER_ID_CASES = [
    pytest.param(call, field, value, id=f"{type(call).__name__}.{field}={value[:20]!r}")
    for call, fields in ((IVR, ("caller_id_number", "caller_id_name")), (AGENT, ("caller_id_number",)))
    for field in fields
    for value in HOSTILE
    if value and not (field == "caller_id_name" and value == "100 200")  # "" = none; names may hold spaces
]


@pytest.mark.parametrize(("call", "field", "value"), CALLER_ID_CASES)
def test_a_hostile_caller_id_is_rejected_naming_its_field(call, field, value):
    with pytest.raises(UnsafeValue) as raised:
        originate_command(replace(call, **{field: value}))
    assert raised.value.field == field


def test_an_ivr_call_carries_the_campaign_caller_id_with_the_name_quoted():
    variables = originate_variables(originate_parts(
        replace(IVR, caller_id_number="+15551230000", caller_id_name="ACME Corp"))[1])
    assert variables["origination_caller_id_number"] == "+15551230000"
    assert variables["origination_caller_id_name"] == "ACME Corp"
    assert "origination_caller_id_name='ACME Corp'" in originate_command(replace(IVR, caller_id_name="ACME Corp"))


def test_an_agent_call_takes_the_campaign_number_and_keeps_the_agent_extension_as_the_name():
    variables = originate_variables(originate_parts(replace(AGENT, caller_id_number="+15551230000"))[1])
    assert variables["origination_caller_id_number"] == "+15551230000"
    assert variables["origination_caller_id_name"] == AGENT.agent_extension


def test_a_call_without_caller_id_sends_none():
    assert "origination_caller_id_number" not in originate_command(IVR)
    assert "origination_caller_id" not in originate_command(IVR)


PREDICTIVE = PredictiveCall(
    contact_id="c-1", campaign_id="camp", number="+15551230001", gateway_id=GATEWAY, queue="Sales Queue",
    voice_service_id="1218", domain="10.0.0.5", context="default", hold_extension="dialer-hold",
)


def test_a_predictive_call_parks_on_the_hold_extension_with_the_agent_variables_but_the_agent():
    command = originate_command(PREDICTIVE)
    variables = originate_variables(originate_parts(PREDICTIVE)[1])
    assert command.endswith(f"}}sofia/gateway/{GATEWAY}/+15551230001 dialer-hold XML default")
    assert variables["sip_h_X-CallType"] == "PREDICTIVE" and variables["dialer_mode"] == "PREDICTIVE"
    assert variables["sip_h_X-queue"] == "Sales Queue" and variables["origination_uuid"] == "c-1"
    assert "sip_h_X-agentExtension" not in variables and "origination_caller_id_name" not in variables


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_hold_extension_is_rejected(value):
    with pytest.raises(UnsafeValue) as raised:
        originate_command(replace(PREDICTIVE, hold_extension=value))
    assert raised.value.field == "hold_extension"


def test_an_agent_found_for_a_held_call_is_set_on_it_then_the_call_is_transferred():
    assert agent_variables_commands("u-1", "2001") == [
        "uuid_setvar u-1 sip_h_X-agentExtension 2001", "uuid_setvar u-1 effective_caller_id_name 2001"]
    assert transfer_command("u-1", "2001", "default") == "uuid_transfer u-1 2001 XML default"
    assert hangup_command("u-1") == "uuid_kill u-1 NORMAL_CLEARING"


@pytest.mark.parametrize("value", [v for v in HOSTILE if v])
def test_hostile_values_never_reach_a_transfer(value):
    for build in (lambda: transfer_command(value, "2001", "default"), lambda: transfer_command("u-1", value, "d"),
                  lambda: agent_variables_commands("u-1", value), lambda: hangup_command(value)):
        with pytest.raises(UnsafeValue):
            build()
