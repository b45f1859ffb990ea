"""The API commands the simulated switch answers (`api X` / `bgapi X`), with the reply bodies of
FreeSWITCH 1.10.12 (esl-transcripts/02, 03, 04, 24, 27). `originate` lives in calls.py: it may block;
uuid_setvar, uuid_transfer and uuid_broadcast in uuid_commands.py.
"""

import json
import time

from sim.switch.causes import known_cause
from sim.switch.sofia import sofia
from sim.switch.uuid_commands import COMMANDS as UUID_COMMANDS

VERSION = "1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit (git a88d069 2024-08-02 21:02:27Z 64bit)"
READY = "FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready"


def run(switch, command):
    """The response body of `command` (everything after `api `)."""
    name, _, args = command.strip().partition(" ")
    # e.g. "sofia status", for tests and benches; uuid_* commands by name alone (not one key per call)
    switch.api_counts[name if name.startswith("uuid_") else " ".join(command.split()[:2])] += 1
    handler = COMMANDS.get(name.lower())
    if handler is None:
        return f"-ERR {name} Command not found!\n"
    return handler(switch, args.strip())


def _version(switch, args):
    return f"FreeSWITCH Version {VERSION}\n"


def _status(switch, args):
    up = time.time() - switch.started
    parts = [
        (int(up // 31536000), "year"),
        (int(up % 31536000 // 86400), "day"),
        (int(up % 86400 // 3600), "hour"),
        (int(up % 3600 // 60), "minute"),
        (int(up % 60), "second"),
        (int(up * 1000 % 1000), "millisecond"),
        (int(up * 1_000_000 % 1000), "microsecond"),
    ]
    uptime = ", ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts)
    live, limits = len(switch.calls), switch.limits
    return (
        f"UP {uptime}\n{READY}\n{switch.sessions_since_start} session(s) since startup\n"
        f"{live} session(s) - peak {switch.peak}, last 5min {switch.peak} \n"
        f"0 session(s) per Sec out of max {limits.sps}, peak 0, last 5min 0 \n"
        f"{limits.max_sessions} session(s) max\nmin idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n"
    )


def _show(switch, args):
    words = args.lower().split()
    if not words or words[0] not in ("calls", "channels"):
        return "-USAGE: show ...\n"
    rows = [channel_row(call, switch.identity.values["hostname"]) for call in switch.calls.values()]
    if words[1:] == ["count"]:
        return f"\n{len(rows)} total.\n"
    if words[1:] == ["as", "json"]:
        if not rows:
            return '{"row_count": 0}\n'
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
    if not rows:
        return "\n0 total.\n"
    lines = [",".join(rows[0])] + [",".join(row.values()) for row in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} total.\n"


def channel_row(call, hostname):
    """One row of `show channels`, with the column names and order FreeSWITCH uses."""
    app = call.request.application or ("", "")
    created = call.created_us // 1_000_000
    answered = call.answered
    return {
        "uuid": call.uuid,
        "direction": "outbound",
        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
        "created_epoch": str(created),
        "name": f"sofia/external/{call.number}",
        "state": "CS_EXECUTE" if answered else "CS_CONSUME_MEDIA",
        "cid_name": "Outbound Call",
        "cid_num": call.number,
        "ip_addr": "",
        "dest": call.number,
        "application": app[0],
        "application_data": app[1],
        "dialplan": "",
        "context": call.request.context,
        "read_codec": "PCMU",
        "read_rate": "8000",
        "read_bit_rate": "64000",
        "write_codec": "PCMU",
        "write_rate": "8000",
        "write_bit_rate": "64000",
        "secure": "",
        "hostname": hostname,
        "presence_id": "",
        "presence_data": "",
        "accountcode": "",
        "callstate": call.state,
        "callee_name": "",
        "callee_num": "0000000000",
        "callee_direction": "RECV",
        "call_uuid": call.uuid,
        "sent_callee_name": "",
        "sent_callee_num": "",
        "initial_cid_name": "",
        "initial_cid_num": "0000000000",
        "initial_ip_addr": "",
        "initial_dest": call.number,
        "initial_dialplan": "",
        "initial_context": call.request.context,
    }


def _uuid_kill(switch, args):
    call_uuid, _, cause = args.partition(" ")
    if not switch.kill(call_uuid, known_cause(cause)):
        return "-ERR No such channel!\n"
    return "+OK\n"


def _uuid_exists(switch, args):
    return "true" if args.split(" ")[0] in switch.calls else "false"


def _uuid_getvar(switch, args):
    call_uuid, _, name = args.partition(" ")
    call = switch.calls.get(call_uuid)
    if call is None:
        return "-ERR No such channel!\n"
    return call.variables.get(name.strip(), "_undef_")


def _hupall(switch, args):
    cause = known_cause(args.split(" ")[0], default="MANAGER_REQUEST")
    switch.hupall(cause)
    return f"+OK hangup all channels with cause {cause}\n"


def _fsctl(switch, args):
    name, _, value = args.partition(" ")
    limits = switch.limits
    if name == "max_sessions":
        limits.max_sessions = int(value) if value.strip().isdigit() else limits.max_sessions
        return f"+OK max sessions: {limits.max_sessions}\n"
    if name == "sps":
        limits.sps = int(value) if value.strip().isdigit() else limits.sps
        return f"+OK sessions per second: {limits.sps}\n"
    return "-ERR the simulator only knows 'fsctl max_sessions|sps [<n>]'\n"


def _hostname(switch, args):
    return switch.identity.values["hostname"]


def _global_getvar(switch, args):
    # The simulator keeps no global variables; FreeSWITCH answers this for an unset one (capture 02).
    return "-ERR no reply\n"


COMMANDS = {
    "version": _version,
    "status": _status,
    "show": _show,
    "sofia": sofia,
    "uuid_kill": _uuid_kill,
    "uuid_exists": _uuid_exists,
    "uuid_getvar": _uuid_getvar,
    "hupall": _hupall,
    "fsctl": _fsctl,
    "switchname": _hostname,
    "hostname": _hostname,
    "global_getvar": _global_getvar,
    **UUID_COMMANDS,
}
