"""Replays the client side of real FreeSWITCH captures (esl-transcripts/) to the simulator and
compares what it answers with what FreeSWITCH answered: the same frames, Content-Types, header names
(in order) and bodies, ids, times and host names aside.

The client bytes are sent as captured; before each command the replay waits until the simulator has
sent as many frames as FreeSWITCH had at that point, so commands land in the same call phase.
"""

import re
from urllib.parse import unquote

import pytest

from sim.switch import SwitchSimulator
from sim.switch.testing import Frame, RawEslClient, wait_until
from tests.transcripts import read_frames, split

# The captured switch's gateways, in the order its `sofia status gateway` table lists them.
GATEWAYS = {
    "gw-sipp": "UP",
    "gw-ring": "UP",
    "gw-down": "DOWN",
    "gw-bye2s": "UP",
    "gw-bye1s": "UP",
    "gw-busy": "UP",
    "gw-480": "UP",
    "gw-404": "UP",
    "4d995f13-f90a-4bc9-8045-23809a34f82e": "UP",
}
REPLY_TYPES = ("auth/request", "command/reply", "api/response", "text/disconnect-notice")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# file -> (outcome of number 1000 as (kind, ring s, talk s), numbers rewritten per gateway, compare
# every event's header names?, api commands the simulator does not model (skipped with their reply))
# In 28 every call had ended before `filter delete` was sent; the replay waits for the same.
IDLE_BEFORE = ("filter delete",)
CASES = {
    "01": (None, {}, True, ()),
    "02": (None, {}, True, ()),
    "04": (None, {}, True, ("api sofia status\n", "api sofia xmlstatus", "api sofia status profile")),
    "05": (("answered", 0.02, 3), {}, True, ()),
    "06": (("answered", 0.02, 3), {}, True, ()),
    "10": (("busy", 0.02, 0), {}, True, ()),
    "11": (("busy", 0.02, 0), {}, True, ()),
    "12": (("unallocated", 0.02, 0), {}, True, ()),
    "13": (("unallocated", 0.02, 0), {}, True, ()),
    "14": (("no_user_response", 0.02, 0), {}, True, ()),
    "16": (("no_answer", 0, 0), {}, True, ()),
    "17": (("no_answer", 0, 0), {}, True, ()),
    "18": (None, {}, True, ()),
    "19": (None, {}, True, ()),
    "20": (None, {}, True, ()),
    "21": (None, {}, True, ()),
    "22": (("answered", 0.02, 3), {"gw-busy/1000": "gw-busy/1006", "gw-ring/1000": "gw-ring/1007"}, True, ()),
    # the far end hangs up in 28 (recv_bye), which the simulator does not model: sequence and replies only
    "28": (("answered", 0.02, 1), {}, False, ()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_simulator_answers_like_the_captured_freeswitch(name):
    outcome, rewrites, compare_headers, skipped = CASES[name]
    with SwitchSimulator(
        port=0, password="EslRef2026", gateways=GATEWAYS, time_scale=0.001, hostname="vm"
    ) as switch:
        if outcome:
            switch.set_outcome("1000", *outcome)
        for connection in sorted({f.connection for f in read_frames(name)}):
            captured = _captured(name, connection, skipped)
            replayed = _replay(switch, captured, rewrites)
            _compare(name, connection, captured, replayed, compare_headers)


def _captured(name, connection, skipped):
    """[("C", bytes) | ("S", Frame)] of one connection, without the skipped commands and their replies."""
    steps, skip_reply = [], False
    for frame in read_frames(name):
        if frame.connection != connection:
            continue
        if frame.direction == "C":
            skip_reply = any(frame.data.decode().startswith(prefix) for prefix in skipped)
            if not skip_reply:
                steps.append(("C", frame.data))
        elif skip_reply and split(frame.data)[0].get("Content-Type") == "api/response":
            skip_reply = False
        else:
            headers, body = split(frame.data)
            steps.append(("S", Frame(list(headers.items()), body)))
    return steps


def _replay(switch, captured, rewrites):
    client = RawEslClient(switch.port, timeout=10)
    received = []
    for kind, item in captured:
        if kind == "S":
            continue
        expected_before = _server_frames_before(captured, item)
        while len(received) < expected_before:
            received.append(client.next_frame())
        data = item.decode()
        if data.startswith(IDLE_BEFORE):
            wait_until(lambda: not switch.live_calls(), message="every call to end")
        for old, new in rewrites.items():
            data = data.replace(old, new)
        client.send(data)
    total = sum(1 for kind, _ in captured if kind == "S")
    while len(received) < total:
        received.append(client.next_frame())
    if received and received[-1].content_type == "text/disconnect-notice":
        assert client.closed()
    client.close()
    return received


def _server_frames_before(captured, command):
    count = 0
    for kind, item in captured:
        if kind == "C" and item is command:
            return count
        count += kind == "S"
    return count


def _compare(name, connection, captured, replayed, compare_headers):
    expected = [item for kind, item in captured if kind == "S"]
    where = f"{name} connection {connection}"
    want_replies = [f for f in expected if f.content_type in REPLY_TYPES]
    got_replies = [f for f in replayed if f.content_type in REPLY_TYPES]
    assert [f.content_type for f in got_replies] == [f.content_type for f in want_replies], where
    for want, got in zip(want_replies, got_replies, strict=True):
        assert [k for k, _ in got.headers] == [k for k, _ in want.headers], (where, want.headers)
        assert _mask(got.get("Reply-Text")) == _mask(want.get("Reply-Text")), where
        assert _mask_body(got.body) == _mask_body(want.body), (where, want.body[:200])
    want_events = [_event(f) for f in expected if f.content_type not in REPLY_TYPES]
    got_events = [_event(f) for f in replayed if f.content_type not in REPLY_TYPES]
    assert [e[0] for e in got_events] == [e[0] for e in want_events], where
    for want, got in zip(want_events, got_events, strict=True):
        _compare_event(where, want, got, compare_headers)


def _event(frame):
    """(content type, Event-Name, [(name, decoded value)], {name: value as on the wire}) of an event."""
    if frame.content_type == "text/event-xml":
        return (frame.content_type, None, [], {})
    pairs = frame.event()
    wire = {}
    if frame.content_type == "text/event-plain":
        head = frame.body.decode().split("\n\n", 1)[0]
        wire = dict(reversed([line.split(": ", 1) for line in head.split("\n")]))
    return (frame.content_type, dict(pairs).get("Event-Name"), pairs, wire)


KEY_HEADERS = (
    "Event-Name",
    "Unique-ID",
    "Job-UUID",
    "Job-Command",
    "Hangup-Cause",
    "Answer-State",
    "Channel-Call-State",
    "variable_origination_uuid",
    "variable_my_custom_var",
    "variable_sip_term_status",
    "variable_sip_hangup_disposition",
    "variable_billsec",
    "_body",
)


def _compare_event(where, want, got, compare_headers):
    (content_type, event_name, want_pairs, want_wire), got_pairs, got_wire = want, got[2], got[3]
    where = f"{where} {event_name}"
    if content_type == "text/event-xml":
        return
    if compare_headers:
        assert [k for k, _ in got_pairs] == [k for k, _ in want_pairs], where
    # Where a value is the same, it must be url-encoded the same way, byte for byte.
    for name, value in dict(want_pairs).items():
        if name in want_wire and dict(got_pairs).get(name) == value:
            assert got_wire[name] == want_wire[name], (where, name)
    want_map, got_map = dict(want_pairs), dict(got_pairs)
    for header in KEY_HEADERS:
        if header == "_body" or compare_headers:
            assert _mask_body(got_map.get(header)) == _mask_body(want_map.get(header)), (where, header)


def _mask(text):
    return None if text is None else UUID.sub("<uuid>", text)


def _mask_body(body):
    """Ids, numbers and the status uptime words aside (plural or not)."""
    if body is None:
        return None
    text = unquote(body.decode() if isinstance(body, bytes) else body)
    text = re.sub(r"\b\d+ (year|day|hour|minute|second|millisecond|microsecond)s?\b", r"# \1", _mask(text))
    return re.sub(r"\d+(\.\d+)?", "#", text)
