"""mod_json_cdr bodies (sim/switch/captured/cdr/, from a real FreeSWITCH 1.10.12) read into the same
CallEnded the call's CHANNEL_HANGUP_COMPLETE event gives."""

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from dialer.rules.cdr import parse_cdr
from dialer.rules.events import CallEnded, MalformedEvent, parse_event, parse_frame
from tests.transcripts import event_frames

CAPTURED = Path(__file__).resolve().parents[2] / "sim" / "switch" / "captured" / "cdr"
ANSWERED_UUID = "bfed482a-0ca1-4ca2-b7b0-ed3dd5e5d2b6"
BUSY_UUID = "7aed2c6e-fd4e-4416-8ea5-db141fae1a4c"


def captured(name):
    return (CAPTURED / f"json_cdr_{name}.json").read_bytes()


def captured_cdr(name):
    return json.loads(captured(name))


def hangup_event_of(cdr):
    """The CHANNEL_HANGUP_COMPLETE headers FreeSWITCH sends for the call of `cdr`: its variables
    decoded under `variable_`, and the Caller-* times of its last caller profile."""
    headers = {"variable_" + name: unquote(value) for name, value in cdr["variables"].items()}
    times = cdr["callflow"][0]["times"]
    headers.update(
        {
            "Event-Name": "CHANNEL_HANGUP_COMPLETE",
            "Unique-ID": cdr["callflow"][0]["caller_profile"]["uuid"],
            "Hangup-Cause": cdr["variables"]["hangup_cause"],
            "Caller-Channel-Answered-Time": times["answered_time"],
            "Caller-Channel-Hangup-Time": times["hangup_time"],
        }
    )
    return headers


def with_variables(cdr, **changes):
    """`cdr` as a JSON body with variables changed (None removes one)."""
    variables = dict(cdr["variables"])
    for name, value in changes.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value
    return json.dumps({**cdr, "variables": variables})


def test_the_answered_capture_reads_as_a_normal_clearing_answered_call():
    assert parse_cdr(captured("answered"), query_uuid=ANSWERED_UUID) == CallEnded(
        uuid=ANSWERED_UUID,
        contact_id="test-1",
        campaign_id=None,
        attempt=None,
        hangup_cause="NORMAL_CLEARING",
        billsec=1,
        answered=True,
        answered_at=datetime(2026, 11, 30, 0, 21, 8, 352096, tzinfo=UTC),
        ended_at=datetime(2026, 11, 30, 0, 21, 9, 372092, tzinfo=UTC),
        sip_term_status="200",
        sip_hangup_disposition="recv_bye",
        dialer_vars={"dialer_contact_id": "test-1"},
    )


def test_the_busy_capture_reads_as_user_busy_never_answered():
    assert parse_cdr(captured("busy"), query_uuid=BUSY_UUID) == CallEnded(
        uuid=BUSY_UUID,
        contact_id="test-2",
        campaign_id=None,
        attempt=None,
        hangup_cause="USER_BUSY",
        billsec=0,
        answered=False,
        answered_at=None,
        ended_at=datetime(2026, 11, 30, 0, 21, 9, 512099, tzinfo=UTC),
        sip_term_status="486",
        sip_hangup_disposition="recv_refuse",
        dialer_vars={"dialer_contact_id": "test-2"},
    )


@pytest.mark.parametrize("name", ["answered", "busy"])
def test_a_cdr_gives_what_the_hangup_event_of_the_same_call_gives(name):
    assert parse_cdr(captured(name)) == parse_event(hangup_event_of(captured_cdr(name)))


@pytest.mark.parametrize(("name", "transcript"), [("answered", "08"), ("busy", "10")])
def test_a_cdr_says_what_the_recorded_hangup_event_of_such_a_call_says(name, transcript):
    # esl-transcripts 08 (callee BYE) and 10 (486) are calls like the captured ones, on another day.
    hangups = (parse_frame(frame.data) for frame in event_frames(transcript))
    event = next(e for e in hangups if e.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE")
    from_event, from_cdr = parse_event(event), parse_cdr(captured(name))
    fields = ("hangup_cause", "answered", "sip_term_status", "sip_hangup_disposition")
    assert [getattr(from_cdr, f) for f in fields] == [getattr(from_event, f) for f in fields]


def test_our_variables_give_contact_campaign_and_attempt():
    body = with_variables(
        captured_cdr("answered"),
        dialer_instance="dialer-a",
        dialer_contact_id="c%2D7",
        dialer_campaign_id="42",
        dialer_attempt="2",
    )
    ended = parse_cdr(body)
    assert (ended.contact_id, ended.campaign_id, ended.attempt) == ("c-7", "42", 2)
    assert ended.dialer_vars == {
        "dialer_instance": "dialer-a",
        "dialer_contact_id": "c-7",
        "dialer_campaign_id": "42",
        "dialer_attempt": "2",
    }


def test_without_our_contact_variable_the_origination_uuid_is_the_contact():
    ended = parse_cdr(with_variables(captured_cdr("busy"), dialer_contact_id=None))
    assert ended.contact_id == BUSY_UUID and ended.dialer_vars == {}


def test_the_uuid_falls_back_to_call_uuid_then_to_the_query():
    cdr = captured_cdr("busy")
    assert parse_cdr(with_variables(cdr, uuid=None)).uuid == BUSY_UUID
    no_uuid = with_variables(cdr, uuid=None, call_uuid=None, origination_uuid=None, dialer_contact_id=None)
    ended = parse_cdr(no_uuid, query_uuid="q-1")
    assert (ended.uuid, ended.contact_id) == ("q-1", "q-1")


def test_whole_second_epochs_are_used_when_microseconds_are_missing():
    body = with_variables(captured_cdr("answered"), answer_uepoch=None, end_uepoch=None)
    ended = parse_cdr(body)
    assert ended.answered_at == datetime(2026, 11, 30, 0, 21, 8, tzinfo=UTC)
    assert ended.ended_at == datetime(2026, 11, 30, 0, 21, 9, tzinfo=UTC)


def test_a_form_encoded_body_as_sent_with_encode_true_reads_the_same():
    raw = captured("answered")
    assert parse_cdr(b"cdr=" + quote(raw, safe="").encode()) == parse_cdr(raw)


def test_text_and_leading_space_are_accepted():
    assert parse_cdr("\r\n " + captured("busy").decode()) == parse_cdr(captured("busy"))


MALFORMED = {
    "not JSON": (b"<xml/>", None, "not JSON"),
    "not UTF-8": (b'{"variables": "\xff"}', None, "not UTF-8"),
    "a JSON array": (b"[1, 2]", None, "not an object"),
    "no variables": (b'{"callflow": []}', None, "without variables"),
    "variables not an object": (b'{"variables": ["uuid"]}', None, "without variables"),
    "no uuid anywhere": (with_variables(captured_cdr("busy"), uuid=None, call_uuid=None), None, "without a uuid"),
    "another uuid in the query": (captured("busy"), ANSWERED_UUID, "posted with ?uuid="),
    "no hangup cause": (with_variables(captured_cdr("busy"), hangup_cause=None), None, "hangup_cause"),
    "billsec not a number": (with_variables(captured_cdr("busy"), billsec="1.5"), None, "variables.billsec"),
    "answer time not a number": (
        with_variables(captured_cdr("answered"), answer_uepoch="soon"),
        None,
        "variables.answer_uepoch",
    ),
    "attempt not a number": (with_variables(captured_cdr("busy"), dialer_attempt="two"), None, "dialer_attempt"),
    "a value that is not a string": (with_variables(captured_cdr("busy"), billsec=0), None, "not a string"),
}


@pytest.mark.parametrize(("body", "query_uuid", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_cdr_is_refused_with_a_message_saying_why(body, query_uuid, message):
    with pytest.raises(MalformedEvent, match=message.replace("?", r"\?")):
        parse_cdr(body, query_uuid=query_uuid)


@pytest.mark.parametrize("variables, says", [
    ({"billsec": str(2**31)}, "variables.billsec out of range"),
    ({"hangup_cause": "X" * 41}, "hangup_cause longer than 40"),
    ({"sip_term_status": "4" * 11}, "sip_term_status longer than 10"),
])
def test_a_cdr_the_results_tables_cannot_hold_is_refused_at_once(variables, says):
    body = {"variables": {"uuid": "u-1", "hangup_cause": "NORMAL_CLEARING", "billsec": "3", **variables}}
    with pytest.raises(MalformedEvent, match=says):
        parse_cdr(json.dumps(body))
