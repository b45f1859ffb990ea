"""The simulator's ESL commands over a real socket, answered as FreeSWITCH 1.10.12 answers them."""

import json

from sim.switch import protocol
from sim.switch.testing import RawEslClient, wait_until

ANSWERED_IVR = "{origination_uuid=%s,dialer_contact_id=c1}sofia/gateway/gw1/%s 6666 XML default"


def test_greets_with_auth_request_and_accepts_the_right_password(switch_sim):
    client = RawEslClient(switch_sim.port)
    assert client.read_frame().headers == [("Content-Type", "auth/request")]
    reply = client.command("auth ClueCon")
    assert reply.headers == [("Content-Type", "command/reply"), ("Reply-Text", "+OK accepted")]


def test_a_wrong_password_gets_err_invalid_then_the_goodbye_notice_and_a_close(switch_sim):
    client = RawEslClient(switch_sim.port)
    client.read_frame()
    assert client.command("auth nope").get("Reply-Text") == "-ERR invalid"
    notice = client.read_frame()
    assert notice.content_type == "text/disconnect-notice"
    assert notice.body == protocol.GOODBYE.encode()
    assert wait_until(client.closed, message="the close")


def test_a_command_before_auth_is_not_found_and_the_connection_stays_open(switch_sim):
    client = RawEslClient(switch_sim.port)
    client.read_frame()
    assert client.command("api status").get("Reply-Text") == "-ERR command not found"
    assert client.command("auth ClueCon").get("Reply-Text") == "+OK accepted"


def test_unknown_commands_and_unknown_api_commands(esl):
    assert esl.command("foo bar").get("Reply-Text") == "-ERR command not found"
    reply = esl.command("api nosuchcommand")
    assert reply.content_type == "api/response"
    assert reply.body == b"-ERR nosuchcommand Command not found!\n"


def test_exit_says_bye_then_sends_the_notice_and_closes(esl):
    assert esl.command("exit").get("Reply-Text") == "+OK bye"
    assert esl.read_frame().content_type == "text/disconnect-notice"
    assert wait_until(esl.closed, message="the close")


def test_idle_api_answers(esl):
    assert esl.command("api version").body.startswith(b"FreeSWITCH Version 1.10.12-release")
    assert esl.command("api show calls count").body == b"\n0 total.\n"
    assert esl.command("api show channels count").body == b"\n0 total.\n"
    assert esl.command("api show channels as json").body == b'{"row_count": 0}\n'
    assert (
        esl.command("api uuid_kill 00000000-0000-0000-0000-000000000000").body == b"-ERR No such channel!\n"
    )
    assert esl.command("api uuid_exists 00000000-0000-0000-0000-000000000000").body == b"false"
    assert esl.command("api hupall").body == b"+OK hangup all channels with cause MANAGER_REQUEST\n"
    assert esl.command("api fsctl max_sessions").body == b"+OK max sessions: 1000\n"
    assert esl.command("api fsctl sps").body == b"+OK sessions per second: 1000\n"
    status = esl.command("api status").body.decode().split("\n")
    assert status[0].startswith("UP 0 years, 0 days, 0 hours, 0 minutes")
    assert status[1].endswith("is ready") and status[5] == "1000 session(s) max"


def test_fsctl_changes_the_limits(esl):
    assert esl.command("api fsctl max_sessions 5").body == b"+OK max sessions: 5\n"
    assert esl.command("api fsctl sps 7").body == b"+OK sessions per second: 7\n"
    assert b"5 session(s) max" in esl.command("api status").body


def test_gateway_status_up_down_and_unknown(esl):
    up = esl.command("api sofia status gateway gw1").body.decode()
    down = esl.command("api sofia status gateway gw-down").body.decode()
    assert "Name    \tgw1\n" in up and "Status  \tUP\n" in up and "PingState\t1/1/1\n" in up
    assert "Status  \tDOWN\n" in down and "PingState\t1/0/1\n" in down
    assert up.startswith("=" * 97 + "\n") and up.endswith("=" * 97 + "\n")
    assert esl.command("api sofia status gateway nope").body == b"Invalid Gateway!\n"
    assert "external::gw-down" in esl.command("api sofia status gateway").body.decode()


def test_live_calls_show_in_counts_json_and_uuid_commands(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    esl.command("bgapi originate " + ANSWERED_IVR % ("aaaaaaaa-0000-0000-0000-000000000001", "1000"))
    wait_until(lambda: switch_sim.live_calls(), message="the call")
    assert esl.command("api show calls count").body == b"\n1 total.\n"
    rows = json.loads(esl.command("api show channels as json").body)
    assert rows["row_count"] == 1 and rows["rows"][0]["uuid"] == "aaaaaaaa-0000-0000-0000-000000000001"
    assert list(rows["rows"][0])[:3] == ["uuid", "direction", "created"]
    uuid = "aaaaaaaa-0000-0000-0000-000000000001"
    assert esl.command(f"api uuid_exists {uuid}").body == b"true"
    assert esl.command(f"api uuid_getvar {uuid} dialer_contact_id").body == b"c1"
    assert esl.command(f"api uuid_kill {uuid}").body == b"+OK\n"
    assert esl.command("api show calls count").body == b"\n0 total.\n"


def test_bgapi_with_a_job_uuid_echoes_it_and_sends_the_result_as_background_job(esl):
    esl.command("event plain BACKGROUND_JOB")
    reply = esl.command("bgapi status\nJob-UUID: my-job-1")
    assert reply.headers == [
        ("Content-Type", "command/reply"),
        ("Reply-Text", "+OK Job-UUID: my-job-1"),
        ("Job-UUID", "my-job-1"),
    ]
    job = esl.read_frame().event_dict()
    assert (job["Event-Name"], job["Job-UUID"], job["Job-Command"]) == (
        "BACKGROUND_JOB",
        "my-job-1",
        "status",
    )
    assert "Job-Command-Arg" not in job and job["_body"].startswith("UP ")


def test_bgapi_without_a_job_uuid_gets_one_from_the_switch(esl):
    esl.command("event plain BACKGROUND_JOB")
    reply = esl.command("bgapi sofia status gateway nope")
    job_uuid = reply.get("Job-UUID")
    assert reply.get("Reply-Text") == f"+OK Job-UUID: {job_uuid}" and len(job_uuid) == 36
    job = esl.read_frame().event_dict()
    assert (job["Job-UUID"], job["Job-Command-Arg"], job["_body"]) == (
        job_uuid,
        "status gateway nope",
        "Invalid Gateway!\n",
    )


def test_event_subscription_replies(esl):
    assert esl.command("event plain CHANNEL_ANSWER").get("Reply-Text") == "+OK event listener enabled plain"
    assert esl.command("event json BACKGROUND_JOB").get("Reply-Text") == "+OK event listener enabled json"
    assert esl.command("event plain").get("Reply-Text") == "-ERR no keywords supplied"
    assert esl.command("nixevent CHANNEL_ANSWER").get("Reply-Text") == "+OK events nixed"
    assert esl.command("noevents").get("Reply-Text") == "+OK no longer listening for events"


def test_filter_replies(esl):
    assert (
        esl.command("filter variable_dialer_campaign_id 42").get("Reply-Text")
        == "+OK filter added. [variable_dialer_campaign_id]=[42]"
    )
    assert (
        esl.command("filter delete variable_dialer_campaign_id 42").get("Reply-Text")
        == "+OK filter deleted. [variable_dialer_campaign_id][42]"
    )


def test_noevents_stops_events_and_nixevent_removes_one_name(switch_sim, esl):
    esl.command("event plain BACKGROUND_JOB CHANNEL_ANSWER")
    esl.command("nixevent BACKGROUND_JOB")
    esl.command("bgapi version")
    esl.command("noevents")
    esl.command("event plain BACKGROUND_JOB")
    esl.command("bgapi status\nJob-UUID: after")
    assert esl.read_frame().event_dict()["Job-UUID"] == "after"  # nothing from the first bgapi came


def test_event_json_and_xml_formats(esl):
    esl.command("event json BACKGROUND_JOB")
    esl.command("bgapi version\nJob-UUID: j-json")
    frame = esl.read_frame()
    assert frame.content_type == "text/event-json"
    pairs = frame.event()
    assert [k for k, _ in pairs][-3:] == ["Job-Command", "Content-Length", "_body"]
    assert dict(pairs)["_body"].startswith("FreeSWITCH Version")
    esl.command("event xml BACKGROUND_JOB")
    esl.command("bgapi version\nJob-UUID: j-xml")
    xml = esl.read_frame()
    assert xml.content_type == "text/event-xml"
    text = xml.body.decode()
    assert text.startswith("<event>\n  <headers>\n    <Event-Name>BACKGROUND_JOB</Event-Name>")
    assert "<Job-UUID>j-xml</Job-UUID>" in text and text.endswith("  </body>\n</event>\n")


def test_shutdown_sends_shutdown_event_ends_calls_and_sends_the_shutdown_notice(switch_sim, esl):
    switch_sim.set_outcome("1000", "answered", ring_seconds=1, talk_seconds=600)
    esl.command("event plain SHUTDOWN CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE")
    esl.command("bgapi originate " + ANSWERED_IVR % ("aaaaaaaa-0000-0000-0000-000000000002", "1000"))
    assert esl.read_frame().event_dict()["Event-Name"] == "CHANNEL_ANSWER"
    switch_sim.stop()
    assert esl.read_frame().event_dict()["Event-Name"] == "SHUTDOWN"
    complete = esl.read_frame().event_dict()
    assert (complete["Event-Name"], complete["Hangup-Cause"]) == (
        "CHANNEL_HANGUP_COMPLETE",
        "SYSTEM_SHUTDOWN",
    )
    notice = esl.read_frame()
    assert (
        notice.content_type == "text/disconnect-notice" and notice.body == b"The system is being shut down.\n"
    )
    assert wait_until(esl.closed, message="the close")
