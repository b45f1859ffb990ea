"""The captured channel-event shapes (captured/<shape>.txt), compiled once per wire format.

Each file holds the events of one kind of call, header names and order exactly as a real switch
sent them; values are as on the wire (url-encoded) with {placeholders} filled per call, and the
line `@channel_vars` standing for the originate's own variables. Variables set on the channel later
(uuid_setvar, the AMD result) go where FreeSWITCH lists them: at the bottom of the channel's variables
(a set moves a variable there), so before the first variable set at hangup, or last (`{late_vars}`).
"""

import re
from pathlib import Path
from urllib.parse import unquote

from sim.switch.protocol import json_string

CAPTURED = Path(__file__).with_name("captured")
CHANNEL_VARS = "@channel_vars"
LATE_VARS = "@late_vars"
# The first variables FreeSWITCH sets when a call ends: later-set variables come before them.
SET_AT_HANGUP = ("variable_sip_hangup_disposition", "variable_sip_term_status", "variable_hangup_cause")
PLACEHOLDER = re.compile(r"(\{[a-z0-9_]+\})")


class EventShape:
    """One captured event, compiled into a bytes %-template per wire format (the fastest way
    CPython fills ~50 values into ~9 KB): `template % {b"uuid": b"...", ...}`."""

    def __init__(self, name, lines):
        self.name = name
        self.lines = _with_late_vars(lines)  # [(header, wire value with {placeholders})] or a marker
        plain = "".join(self._plain_piece(ln) for ln in self.lines)
        json = ""
        for line in self.lines:
            # the late block is `,"name":"value"` pairs, so it goes right after a pair, before its comma
            json = json.rstrip(",") + "{late_vars}," if line == LATE_VARS else json + self._json_piece(line)
        json = "{" + json.rstrip(",") + "}"
        self.templates = {"plain": _percent_template(plain + "\n"), "json": _percent_template(json)}

    @staticmethod
    def _plain_piece(line):
        if line == CHANNEL_VARS:
            return "{channel_vars}"
        if line == LATE_VARS:
            return "{late_vars}"
        return f"{line[0]}: {line[1]}\n"

    @staticmethod
    def _json_piece(line):
        if line == CHANNEL_VARS:
            return "{channel_vars}"
        name, value = line
        parts = PLACEHOLDER.split(value)
        text = "".join(p if PLACEHOLDER.fullmatch(p) else json_string(unquote(p))[1:-1] for p in parts)
        return f'{json_string(name)}:"{text}",'


def _with_late_vars(lines):
    names = [line[0] if isinstance(line, tuple) else line for line in lines]
    index = next((i for i, name in enumerate(names) if name in SET_AT_HANGUP), len(lines))
    return lines[:index] + [LATE_VARS] + lines[index:]


def _percent_template(text):
    """`a {x} 100%` -> b"a %(x)s 100%%"; only {lowercase_names} are placeholders."""
    pieces = PLACEHOLDER.split(text)
    escaped = (p.replace("%", "%%") if i % 2 == 0 else f"%({p[1:-1]})s" for i, p in enumerate(pieces))
    return "".join(escaped).encode()


def load_shapes(directory=CAPTURED):
    """{call shape: {event name: EventShape}} from captured/<shape>.txt."""
    shapes = {}
    for path in sorted(directory.glob("*.txt")):
        shapes[path.stem] = _read_shape_file(path)
    return shapes


def _read_shape_file(path):
    events, name, lines = {}, None, []
    for line in path.read_text(encoding="utf-8").split("\n") + ["[END]"]:
        if line.startswith("#") or not line:
            continue
        if line.startswith("["):
            if name:
                events[name] = EventShape(name, lines)
            name, lines = line.strip("[]"), []
        elif line == CHANNEL_VARS:
            lines.append(CHANNEL_VARS)
        else:
            header, _, value = line.partition(": ")
            lines.append((header, value))
    return events
