"""ESL wire format, as FreeSWITCH 1.10 frames it (see esl-transcripts/): pure functions, no sockets.

LF is the only line terminator. A frame is `Name: value` header lines, a blank line, then
Content-Length bytes of body when there is a Content-Length header.
"""

import json
import re
from dataclasses import dataclass, field

AUTH_REQUEST = b"Content-Type: auth/request\n\n"
GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
SHUTTING_DOWN = "The system is being shut down.\n"

# switch_url_encode(): bytes outside ' '..'~' and these are %XX-encoded; a '%' that already starts
# a %XX escape (upper-case hex) is left alone, as FreeSWITCH does not double-encode.
_URL_UNSAFE = re.compile(r'%(?![0-9A-F]{2})|[^\x20-\x7e]|[ "#&+:;<=>?@\[\\\]^`{|}]')
_ASCII_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in map(chr, range(128)) if _URL_UNSAFE.match(c)})


def _percent(match):
    return "".join(f"%{byte:02X}" for byte in match.group(0).encode("utf-8"))


def url_encode(value):
    if value.isascii() and "%" not in value:
        return value.translate(_ASCII_ESCAPES)  # the common case, at C speed
    return _URL_UNSAFE.sub(_percent, value)


def json_string(value):
    """A JSON string literal the way cJSON prints it (UTF-8 kept, control characters escaped)."""
    return json.dumps(value, ensure_ascii=False)


def json_object(pairs):
    """A compact JSON object from (name, value) pairs; kept in order, duplicate names kept too."""
    return "{" + ",".join(f"{json_string(k)}:{json_string(v)}" for k, v in pairs) + "}"


def command_reply(text, extra_headers=()):
    lines = ["Content-Type: command/reply", f"Reply-Text: {text}"]
    lines += [f"{name}: {value}" for name, value in extra_headers]
    return ("\n".join(lines) + "\n\n").encode()


def job_reply(job_uuid):
    return command_reply(f"+OK Job-UUID: {job_uuid}", [("Job-UUID", job_uuid)])


def api_response(body):
    data = body.encode()
    return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(data), data)


def disconnect_notice(text=GOODBYE):
    data = text.encode()
    return b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s" % (len(data), data)


def event_frame(content_type, body):
    """An event as sent to a subscriber: note Content-Length comes before Content-Type here."""
    return b"Content-Length: %d\nContent-Type: %s\n\n%s" % (len(body), content_type, body)


@dataclass
class Command:
    """One client command: its first line and any header lines after it (e.g. Job-UUID for bgapi)."""

    line: str
    headers: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.line.split(" ", 1)[0].lower()

    @property
    def args(self):
        parts = self.line.split(" ", 1)
        return parts[1].strip() if len(parts) > 1 else ""


class CommandReader:
    """Splits the client's byte stream into commands; a command ends at an empty line."""

    def __init__(self):
        self._buffer = b""

    def feed(self, data):
        self._buffer += data.replace(b"\r", b"")
        commands = []
        while True:
            # Blank lines between commands are ignored, as FreeSWITCH does.
            self._buffer = self._buffer.lstrip(b"\n")
            block, sep, rest = self._buffer.partition(b"\n\n")
            if not sep:
                return commands
            self._buffer = rest
            commands.append(parse_command(block.decode("utf-8", "replace")))


def parse_command(block):
    first, *header_lines = block.split("\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return Command(first.strip(), headers)
