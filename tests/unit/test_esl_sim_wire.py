"""The switch simulator's wire format (sim/switch/protocol.py, events.py) against FreeSWITCH's bytes."""

import json
from urllib.parse import unquote

import pytest

from sim.switch import events, protocol
from sim.switch.channel import Call
from sim.switch.connection import passes_filters
from sim.switch.originate import parse_originate
from sim.switch.outcomes import Outcome
from sim.switch.shapes import load_shapes
from sim.switch.values import Identity
from tests.transcripts import event_frames, read_frames, server_frames, split, transcripts_dir


def captured_events(content_type):
    for path in sorted(transcripts_dir().glob("[0-9]*.txt")):
        for frame in event_frames(path.name):
            headers, body = split(frame.data)
            if headers["Content-Type"] == content_type:
                yield path.name, body


def test_url_encoding_matches_every_captured_header_value():
    checked = 0
    for name, body in captured_events("text/event-plain"):
        for line in body.split(b"\n\n")[0].decode().split("\n"):
            header, wire = line.split(": ", 1)
            assert protocol.url_encode(unquote(wire)) == wire, (name, header)
            checked += 1
    assert checked > 20000


def test_url_encoding_keeps_an_existing_escape_and_encodes_utf8_bytes():
    assert protocol.url_encode("100%25 sure") == "100%25%20sure"
    assert protocol.url_encode("50% off") == "50%25%20off"
    assert protocol.url_encode("José") == "Jos%C3%A9"
    assert protocol.url_encode("'Sales Queue'") == "'Sales%20Queue'"


def test_json_rendering_matches_every_captured_json_event_byte_for_byte():
    checked = 0
    for name, body in captured_events("text/event-json"):
        pairs = json.loads(body, object_pairs_hook=lambda items: items)
        assert protocol.json_object(pairs).encode() == body, name
        checked += 1
    assert checked > 30


def test_fixed_frames_are_the_captured_bytes():
    first_auth = read_frames("01")
    sent = [f.data for f in first_auth if f.direction == "S" and f.connection == 1]
    assert sent == [
        protocol.AUTH_REQUEST,
        protocol.command_reply("-ERR invalid"),
        protocol.disconnect_notice(),
    ]
    shutdown_notice = server_frames("30", "text/disconnect-notice")[0].data
    assert shutdown_notice == protocol.disconnect_notice(protocol.SHUTTING_DOWN)
    job = [f.data for f in server_frames("05", "command/reply") if b"Job-UUID" in f.data][0]
    assert job == protocol.job_reply("2a67a3ef-8091-47ef-b1fd-de652a4331b4")
    version = server_frames("02", "api/response")[0]
    assert version.data == protocol.api_response(split(version.data)[1].decode())


def test_the_command_reader_splits_commands_with_their_headers_across_reads():
    reader = protocol.CommandReader()
    assert reader.feed(b"auth ClueCon\n\nbgapi originate {a=1}sofia/gateway/gw1/1 &park()\nJob-UU") == [
        protocol.Command("auth ClueCon")
    ]
    (bgapi,) = reader.feed(b"ID: j-1\n\n")
    assert (bgapi.name, bgapi.args, bgapi.headers) == (
        "bgapi",
        "originate {a=1}sofia/gateway/gw1/1 &park()",
        {"Job-UUID": "j-1"},
    )
    assert reader.feed(b"\r\napi status\r\n\r\n") == [protocol.Command("api status")]


def test_a_background_job_renders_like_the_captured_one():
    captured = split(server_frames("05", "text/event-plain")[4].data)[1]
    headers = dict(line.split(": ", 1) for line in captured.split(b"\n\n")[0].decode().split("\n"))
    values = {
        "core_uuid": headers["Core-UUID"],
        "hostname": "vm",
        "ipv4": "192.0.2.2",
        "ipv6": "fd00::2",
        "date_local": unquote(headers["Event-Date-Local"]),
        "date_gmt": unquote(headers["Event-Date-GMT"]),
        "date_ts": headers["Event-Date-Timestamp"],
        "seq": headers["Event-Sequence"],
    }
    event = events.background_job(
        values,
        headers["Job-UUID"],
        "originate",
        unquote(headers["Job-Command-Arg"]),
        "+OK f8fa7ebf-2e5c-4c6c-b708-66978d4bbf19\n",
    )
    assert event.render("plain").encode() == captured


def test_every_captured_shape_renders_the_same_headers_in_plain_and_json():
    request = parse_originate(
        "{origination_uuid=u-1,dialer_contact_id='c 1'}sofia/gateway/gw1/+1555 6666 XML default"
    )
    call = Call(request, "u-1", Outcome("answered", 1, 2), 1, loop_time=0.0, time_scale=1.0)
    call.progress_us, call.answer_us, call.end_us, call.cause = 1, 2, 3, "NORMAL_CLEARING"
    identity = Identity("core-1", "host 1")
    for shape_name, shape_events in load_shapes().items():
        for event_name, shape in shape_events.items():
            event = events.ChannelEvent(shape, call, identity.now(7), identity)
            plain = event.headers()
            as_json = json.loads(event.render("json"), object_pairs_hook=lambda items: items)
            assert plain == as_json, (shape_name, event_name)
            assert ("variable_dialer_contact_id", "c 1") in plain and ("Unique-ID", "u-1") in plain
            assert b"%(" not in event.render("plain")  # every placeholder was filled


class FakeEvent:
    def __init__(self, **headers):
        self.headers = headers

    def header(self, name):
        return self.headers.get(name)


@pytest.mark.parametrize(
    ("filters", "passes"),
    [
        ([("variable_dialer_campaign_id", "42")], True),
        ([("variable_dialer_campaign_id", "43")], False),
        ([("variable_dialer_campaign_id", "43"), ("Event-Name", "channel_hangup_complete")], True),  # OR'd
        ([("Event-Name", "/^CHANNEL_HANGUP/")], True),
        ([("Event-Name", "CHANNEL_HANGUP_COMPLETE"), ("variable_dialer_campaign_id", "-42")], False),
        ([("No-Such-Header", "x")], False),
    ],
)
def test_filters_follow_mod_event_socket(filters, passes):
    event = FakeEvent(**{"Event-Name": "CHANNEL_HANGUP_COMPLETE", "variable_dialer_campaign_id": "42"})
    assert passes_filters(event, filters) is passes
