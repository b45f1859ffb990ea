"""The switch simulator posts CDRs as mod_json_cdr does (sim/switch/captured/cdr/README.md): one POST per
ended call, over real HTTP to a receiver here, read by dialer.rules.cdr into what the hangup event says."""

import http.server
import json
import subprocess
import sys
import threading
import uuid as uuid_module
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialer.rules.cdr import parse_cdr
from dialer.rules.events import parse_event
from sim.switch import SwitchSimulator
from sim.switch.control import send
from sim.switch.testing import TEST_TIME_SCALE, RawEslClient, wait_until
from sim.testing import free_port, refused

REPO = Path(__file__).resolve().parents[2]
CAPTURED = REPO / "sim" / "switch" / "captured" / "cdr"
OUR_VARS = "dialer_instance=sim-a,dialer_contact_id=c-1,dialer_campaign_id=42,dialer_attempt=1"
QUEUE_VAR = "sip_h_X-queue='Sales Queue'"


@dataclass(frozen=True)
class Request:
    path: str
    headers: list  # [(name, value)] in the order sent
    body: bytes


class CdrReceiver:
    """A tiny HTTP server on 127.0.0.1 that records every POST and answers `status`; while `hold` is
    clear it keeps each request waiting (at most 10 s) before answering."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []
        self.hold = threading.Event()
        self.hold.set()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(Request(self.path, list(self.headers.items()), body))
                receiver.hold.wait(10)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/cdr"
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), name="cdr-receiver", daemon=True)
        serve.start()

    def for_call(self, call_uuid):
        return [r for r in self.requests if r.path.endswith(f"?uuid={call_uuid}")]

    def close(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = CdrReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def start_switch(receiver, tmp_path):
    """start_switch(**options): a started SwitchSimulator posting CDRs to `receiver` (fast retries,
    spool in tmp_path/cdr-errors) unless the options say otherwise; stopped after the test."""
    started = []

    def start(**options):
        defaults = dict(port=0, time_scale=TEST_TIME_SCALE, cdr_url=receiver.url, cdr_credentials="cdr:cdrpass")
        defaults.update(cdr_delay=0.01, cdr_spool=tmp_path / "cdr-errors")
        simulator = SwitchSimulator(**{**defaults, **options}).start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()



def subscribed_client(port):
    client = RawEslClient(port).login()
    client.command("event plain CHANNEL_HANGUP_COMPLETE")
    return client


def place_call(esl, number, destination="6666 XML default", extra=""):
    """bgapi-originate `number` with our variables; (call uuid, its CHANNEL_HANGUP_COMPLETE as a dict)."""
    call_uuid = str(uuid_module.uuid4())
    variables = ",".join(filter(None, [f"origination_uuid={call_uuid}", OUR_VARS, QUEUE_VAR, extra]))
    esl.command(f"bgapi originate {{{variables}}}sofia/gateway/gw1/{number} {destination}")
    while True:
        event = esl.read_frame().event_dict()
        if event.get("Unique-ID") == call_uuid:
            return call_uuid, event


CALLS = {
    "answered, sent to the dialplan": ("1000", "6666 XML default", ""),
    "answered, parked": ("1001", "&park()", ""),
    "busy": ("1006", "6666 XML default", ""),
    "no answer": ("1007", "6666 XML default", "originate_timeout=5"),
    "declined": ("1008", "6666 XML default", ""),
}


@pytest.mark.parametrize(("number", "destination", "extra"), CALLS.values(), ids=CALLS.keys())
def test_every_ended_call_posts_one_cdr_that_reads_like_its_hangup_event(
    start_switch, receiver, number, destination, extra
):
    switch = start_switch()
    call_uuid, hangup = place_call(subscribed_client(switch.port), number, destination, extra)
    wait_until(lambda: switch.cdr_counts()["posted"] == 1, message="the CDR")
    [request] = receiver.requests
    assert request.path == f"/cdr?uuid={call_uuid}"
    ended = parse_cdr(request.body, query_uuid=call_uuid)
    assert ended == parse_event(hangup)
    assert (ended.contact_id, ended.campaign_id, ended.attempt) == ("c-1", "42", 1)


def test_a_cdr_is_posted_with_mod_json_cdr_s_headers(start_switch, receiver):
    switch = start_switch()
    call_uuid, _ = place_call(subscribed_client(switch.port), "1000")
    wait_until(lambda: receiver.requests, message="the CDR")
    [request] = receiver.requests
    port = receiver.server.server_port
    assert request.headers == [
        ("Host", f"127.0.0.1:{port}"),
        ("Authorization", "Basic Y2RyOmNkcnBhc3M="),  # cdr:cdrpass
        ("User-Agent", "freeswitch-json/1.0"),
        ("Accept", "*/*"),
        ("Content-Length", str(len(request.body))),
        ("Content-Type", "application/x-www-form-urlencoded"),  # although the body is raw JSON
    ]
    assert request.body.startswith(b'{"core-uuid":') and not request.body.endswith(b"\n")


def test_an_answered_call_s_cdr_has_the_captured_shape_filled_with_the_call(start_switch, receiver):
    switch = start_switch()
    call_uuid, hangup = place_call(subscribed_client(switch.port), "1000")
    wait_until(lambda: receiver.requests, message="the CDR")
    cdr = json.loads(receiver.requests[0].body)
    captured = json.loads((CAPTURED / "json_cdr_answered.json").read_bytes())
    assert list(cdr) == list(captured)
    variables = cdr["variables"]
    assert variables["uuid"] == variables["call_uuid"] == variables["origination_uuid"] == call_uuid
    assert variables["sip_h_X-queue"] == "Sales%20Queue"  # values URL-encoded, as encode-values does
    assert (variables["dialer_instance"], variables["dialer_contact_id"]) == ("sim-a", "c-1")
    assert variables["answer_uepoch"] == hangup["Caller-Channel-Answered-Time"] != "0"
    assert variables["billsec"] == hangup["variable_billsec"]
    assert [p["profile_index"] for p in cdr["callflow"]] == ["2", "1"]
    assert cdr["callflow"][0]["caller_profile"]["uuid"] == call_uuid
    assert cdr["callflow"][0]["times"]["hangup_time"] == hangup["Caller-Channel-Hangup-Time"]
    assert [app["app_name"] for app in cdr["app_log"]["applications"]] == ["answer", "playback"]
    assert cdr["callStats"]["audio"]["outbound"]["packet_count"] == int(variables["rtp_audio_out_packet_count"])


def test_a_busy_call_s_cdr_has_no_app_log_and_empty_call_stats(start_switch, receiver):
    switch = start_switch()
    call_uuid, hangup = place_call(subscribed_client(switch.port), "1006")
    wait_until(lambda: receiver.requests, message="the CDR")
    cdr = json.loads(receiver.requests[0].body)
    assert "app_log" not in cdr and cdr["callStats"] == {}
    assert (cdr["variables"]["answer_epoch"], cdr["variables"]["answer_uepoch"]) == ("0", "0")
    assert (cdr["variables"]["hangup_cause"], cdr["variables"]["sip_term_status"]) == ("USER_BUSY", "486")
    assert [p["profile_index"] for p in cdr["callflow"]] == ["1"]
    assert cdr["callflow"][0]["times"]["answered_time"] == "0"


def test_a_refused_originate_without_a_channel_posts_no_cdr(start_switch, receiver):
    switch = start_switch()
    esl = subscribed_client(switch.port)
    esl.command("event plain BACKGROUND_JOB")
    esl.command(f"bgapi originate {{origination_uuid={uuid_module.uuid4()}}}sofia/gateway/gw-down/1000 &park()")
    assert esl.read_frame().event_dict()["_body"] == "-ERR GATEWAY_DOWN\n"
    place_call(esl, "1006")  # a call after it: its CDR is the only one
    wait_until(lambda: switch.cdr_counts()["posted"] == 1, message="the CDR")
    assert switch.cdr_counts()["queued"] == 1 and len(receiver.requests) == 1


@pytest.mark.parametrize("receiver_state", ["answers 500", "nothing listening"])
def test_a_failing_receiver_gets_three_attempts_then_the_cdr_is_spooled(
    start_switch, receiver, tmp_path, receiver_state
):
    receiver.status = 500
    url = receiver.url if receiver_state == "answers 500" else f"http://127.0.0.1:{free_port()}/cdr"
    switch = start_switch(cdr_url=url)
    call_uuid, hangup = place_call(subscribed_client(switch.port), "1006")
    wait_until(lambda: switch.cdr_counts()["spooled"] == 1, message="the spooled CDR")
    counts = switch.cdr_counts()
    assert (counts["attempts"], counts["posted"], counts["failed"]) == (3, 0, 1)
    spooled = (tmp_path / "cdr-errors" / f"a_{call_uuid}.cdr.json").read_bytes()
    assert spooled.endswith(b"\n") and parse_cdr(spooled) == parse_event(hangup)
    if receiver_state == "answers 500":
        assert [r.body for r in receiver.for_call(call_uuid)] == [spooled[:-1]] * 3


def test_a_switch_without_a_cdr_url_posts_nothing(switch_sim, esl):
    esl.command("event plain CHANNEL_HANGUP_COMPLETE")
    place_call(esl, "1006")
    assert switch_sim.cdr_counts() is None and switch_sim.stats()["cdr"] is None
    with pytest.raises(ValueError, match="no cdr_url"):
        switch_sim.set_cdr(True)


def test_set_cdr_turns_posting_off_and_on_at_run_time(start_switch, receiver):
    switch = start_switch()
    esl = subscribed_client(switch.port)
    switch.set_cdr(False)
    place_call(esl, "1006")
    # The CDR is queued as the call ends, before its hangup event is written: none was queued.
    assert switch.cdr_counts()["queued"] == 0 and not switch.cdr_counts()["enabled"]
    switch.set_cdr(True)
    call_uuid, _ = place_call(esl, "1006")
    wait_until(lambda: switch.cdr_counts()["posted"] == 1, message="the CDR")
    assert [r.path for r in receiver.requests] == [f"/cdr?uuid={call_uuid}"]


def test_a_slow_receiver_does_not_delay_the_hangup_event(start_switch, receiver):
    switch = start_switch(cdr_timeout=30.0)
    receiver.hold.clear()  # every request waits until the test lets it go
    esl = subscribed_client(switch.port)  # reading events times out after 5 s
    first_uuid, _ = place_call(esl, "1006")
    wait_until(lambda: receiver.for_call(first_uuid), message="the first CDR, held by the receiver")
    second_uuid, second_hangup = place_call(esl, "1008")  # arrives while the first POST is unanswered
    assert second_hangup["Hangup-Cause"] == "CALL_REJECTED"
    assert not receiver.hold.is_set() and switch.cdr_counts()["posted"] == 0
    receiver.hold.set()
    wait_until(lambda: switch.cdr_counts()["posted"] == 2, message="both CDRs once the receiver answers")


def test_the_control_port_turns_cdrs_off_and_on_and_reports_them(start_switch):
    switch = start_switch(control_port=0)
    port = switch.control_port
    assert send("cdr off", port) == "+OK cdr off"
    assert json.loads(send("stats", port))["cdr"]["enabled"] is False
    assert send("cdr on", port) == "+OK cdr on"
    assert send("cdr maybe", port).startswith("-ERR")
    assert json.loads(send("stats", port))["cdr"]["enabled"] is True


def test_the_command_line_options_post_cdrs(receiver, tmp_path):
    esl_port = free_port()
    command = [sys.executable, "-m", "sim.switch", "--port", str(esl_port), "--time-scale", "0.001"]
    command += ["--cdr-url", receiver.url, "--cdr-credentials", "cdr:cdrpass", "--cdr-retries", "0"]
    command += ["--cdr-delay", "0.1", "--cdr-timeout", "5", "--cdr-spool", str(tmp_path / "spool")]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: not refused(esl_port), timeout=10, message="start")
        call_uuid, hangup = place_call(subscribed_client(esl_port), "1006")
        wait_until(lambda: receiver.for_call(call_uuid), message="the CDR")
        assert parse_cdr(receiver.for_call(call_uuid)[0].body) == parse_event(hangup)
        assert (tmp_path / "spool").is_dir()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_cdr_that_finds_the_queue_full_goes_straight_to_the_spool(start_switch, receiver, tmp_path):
    # mod_json_cdr: "Unable to push cdr to queue", then the backup file, never a lost record.
    receiver.hold.clear()  # both posting threads stay busy with the first two CDRs
    switch = start_switch(cdr_queue_capacity=1)
    esl = subscribed_client(switch.port)
    calls = [place_call(esl, "1006")[0] for _ in range(4)]
    wait_until(lambda: switch.cdr_counts()["spooled"] >= 1, message="a CDR spooled at once")
    spooled = {path.name for path in (tmp_path / "cdr-errors").iterdir()}
    assert spooled & {f"a_{call_uuid}.cdr.json" for call_uuid in calls}
    assert switch.cdr_counts()["dropped"] == 0
    receiver.hold.set()
