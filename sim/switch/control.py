"""A line-based control port for the switch simulator, and its command-line client.

One command per line, one reply line each (`+OK ...`, `-ERR ...`, or JSON for `stats`):

    gateway <name> UP|DOWN|REMOVE    drop    refuse <seconds>    freeze on|off
    kill <uuid> [cause]    hupall [cause]    outcome <number> <kind> [ring_s] [talk_s] [patience_s]
    limits max_sessions|sps <n>    cdr on|off    stats
    predictive [<setting>=<value> ...]   (person_share=0.3 patience=5 hold_extension=x ...)

Client: python -m sim.switch.control --port P <command...>   (exit status 0 on +OK or JSON)
"""

import argparse
import asyncio
import json
import socket
import sys

from sim.switch.causes import known_cause
from sim.switch.records import COUNTERS
from sim.switch.routing import apply_predictive


def stats(server):
    switch = server.switch
    return {
        "live_calls": len(switch.calls),
        "peak_calls": switch.peak,
        "originates": len(switch.originates),
        "sessions_since_start": switch.sessions_since_start,
        "clients": len(server.connections),
        "subscribers": len(switch.listeners),
        "gateways": dict(switch.gateways),
        "max_sessions": switch.limits.max_sessions,
        "sps": switch.limits.sps,
        "frozen": server.frozen,
        "cdr": switch.cdr.counts() if switch.cdr else None,
        "api_commands": dict(switch.api_counts),
        "outcome_mode": switch.model.mode,
        **{name: switch.routing.counters[name] for name in COUNTERS},
    }


def apply(server, line):
    """Carry out one control command on the loop thread; returns the reply line."""
    words = line.split()
    if not words:
        return "-ERR empty command"
    action = ACTIONS.get(words[0].lower())
    if action is None:
        return f"-ERR unknown command {words[0]!r}"
    try:
        return action(server, words[1:])
    except (IndexError, ValueError) as error:
        return f"-ERR {error or 'missing argument'}"


def _gateway(server, args):
    name, status = args[0], args[1].upper()
    if status == "REMOVE":
        server.switch.gateways.pop(name, None)
    elif status in ("UP", "DOWN"):
        server.switch.gateways[name] = status
    else:
        raise ValueError("status is UP, DOWN or REMOVE")
    return f"+OK gateway {name} {status}"


def _drop(server, args):
    count = len(server.connections)
    server.drop_clients()
    return f"+OK dropped {count}"


def _refuse(server, args):
    server.refuse(float(args[0]))
    return f"+OK refusing for {float(args[0])} s"


def _freeze(server, args):
    server.freeze(args[0].lower() == "on")
    return f"+OK frozen {server.frozen}"


def _kill(server, args):
    if server.switch.kill(args[0], known_cause(args[1] if len(args) > 1 else "")):
        return "+OK"
    return "-ERR No such channel!"


def _hupall(server, args):
    server.switch.hupall(known_cause(args[0] if args else "", default="MANAGER_REQUEST"))
    return "+OK"


def _outcome(server, args):
    times = [float(t) for t in args[2:5]] + [None, None, None]
    server.switch.model.set_outcome(args[0], args[1], *times[:3])
    return f"+OK {args[0]} {args[1]}"


def _predictive(server, args):
    settings = {}
    for word in args:
        name, separator, value = word.partition("=")
        if not separator:
            raise ValueError("predictive <setting>=<value> ...")
        settings[name] = value
    apply_predictive(server.switch, settings)
    return "+OK predictive " + " ".join(f"{k}={v}" for k, v in settings.items())


def _limits(server, args):
    if args[0] not in ("max_sessions", "sps"):
        raise ValueError("limits max_sessions|sps <n>")
    setattr(server.switch.limits, args[0], int(args[1]))
    return f"+OK {args[0]} {int(args[1])}"


def _cdr(server, args):
    if server.switch.cdr is None:
        return "-ERR no --cdr-url: this switch posts no CDRs"
    if args[0].lower() not in ("on", "off"):
        raise ValueError("cdr on|off")
    server.switch.cdr.enabled = args[0].lower() == "on"
    return f"+OK cdr {args[0].lower()}"


def _stats(server, args):
    return json.dumps(stats(server))


ACTIONS = {
    "gateway": _gateway,
    "drop": _drop,
    "refuse": _refuse,
    "freeze": _freeze,
    "kill": _kill,
    "hupall": _hupall,
    "outcome": _outcome,
    "limits": _limits,
    "cdr": _cdr,
    "stats": _stats,
    "predictive": _predictive,
}


class ControlServer:
    def __init__(self, esl_server, host="127.0.0.1", port=0):
        self.esl_server, self.host, self.port = esl_server, host, port
        self._server = None

    async def start(self):
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self):
        if self._server:
            self._server.close()

    async def _serve(self, reader, writer):
        try:
            while line := await reader.readline():
                writer.write(apply(self.esl_server, line.decode().strip()).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def send(command, port, host="127.0.0.1", timeout=5.0):
    """One control command over TCP; returns the reply line."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply.decode().strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim.switch.control", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("command", nargs="+")
    options = parser.parse_args(argv)
    reply = send(" ".join(options.command), options.port, options.host)
    print(reply)
    return 1 if reply.startswith("-ERR") else 0


if __name__ == "__main__":
    sys.exit(main())
