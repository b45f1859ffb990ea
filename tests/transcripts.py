"""Reader for the recorded FreeSWITCH ESL transcripts (format: esl-transcripts/README.md).

`C<n>: ` / `S<n>: ` lines are bytes the client / server sent on connection n, each followed by
one LF on the wire unless the next line is the `# (no LF)` annotation. Every other `#` line is a
recorder note; the ones announcing a frame give its exact size, which the reader checks, so a
misread frame fails loudly instead of feeding a test the wrong bytes.
"""

import os
import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

_LINE = re.compile(rb"^([CS])(\d+): ")
_SIZE = re.compile(rb"^# t=\+[0-9.]+s ([CS])(\d+) (?:frame \d+: [^,]+, |sends )(\d+) bytes")
_NO_LF = b"# (no LF)"


class Frame(NamedTuple):
    connection: int
    direction: str  # "C" (client sent) or "S" (server sent)
    data: bytes


def transcripts_dir() -> Path:
    """$ESL_TRANSCRIPTS_DIR, else ../shared/esl-transcripts (the reference), else the copy kept in
    tests/esl-transcripts so the suite also runs from a checkout without shared/ beside it."""
    repo = Path(__file__).resolve().parent.parent
    candidates = [
        os.environ.get("ESL_TRANSCRIPTS_DIR"),
        repo.parent / "shared" / "esl-transcripts",
        repo / "tests" / "esl-transcripts",
    ]
    for candidate in candidates:
        if candidate and Path(candidate, "README.md").is_file():
            return Path(candidate)
    raise FileNotFoundError("ESL transcripts not found; set ESL_TRANSCRIPTS_DIR")


def transcript_path(name: str) -> Path:
    """A transcript by file name or number prefix ("05" or "05_originate_...txt")."""
    directory = transcripts_dir()
    if (directory / name).is_file():
        return directory / name
    matches = sorted(directory.glob(f"{name}_*.txt"))
    if len(matches) != 1:
        raise FileNotFoundError(f"no single transcript named {name!r} in {directory}: {matches}")
    return matches[0]


@cache
def read_frames(name: str) -> tuple[Frame, ...]:
    """Every frame of a transcript, in file order."""
    frames: list[Frame] = []
    pending: list[bytes] = []
    owner: tuple[int, str] | None = None
    expected: dict[tuple[int, str], int] = {}

    def flush(trailing_lf: bool) -> None:
        nonlocal pending, owner
        if owner is None:
            return
        data = b"\n".join(pending) + (b"\n" if trailing_lf else b"")
        size = expected.pop(owner, None)
        if size is not None and size != len(data):
            raise ValueError(f"{name}: frame from {owner} is {len(data)} bytes, annotated {size}")
        frames.append(Frame(owner[0], owner[1], data))
        pending, owner = [], None

    for line in transcript_path(name).read_bytes().split(b"\n"):
        match = _LINE.match(line)
        if match:
            who = (int(match.group(2)), match.group(1).decode())
            if owner != who:
                flush(trailing_lf=True)
                owner = who
            pending.append(line[match.end() :])
            continue
        flush(trailing_lf=not line.startswith(_NO_LF))
        size = _SIZE.match(line)
        if size:
            expected[(int(size.group(2)), size.group(1).decode())] = int(size.group(3))
    flush(trailing_lf=True)
    return tuple(frames)


def split(data: bytes) -> tuple[dict[str, str], bytes]:
    """A frame's headers and its body (everything after the first blank line)."""
    head, _, body = data.partition(b"\n\n")
    headers = {}
    for line in head.decode().split("\n"):
        key, _, value = line.partition(": ")
        headers[key] = value
    return headers, body


def server_frames(name: str, content_type: str | None = None) -> list[Frame]:
    """Frames the server sent, optionally only those of one Content-Type."""
    return [
        frame
        for frame in read_frames(name)
        if frame.direction == "S"
        and (content_type is None or split(frame.data)[0].get("Content-Type") == content_type)
    ]


def event_frames(name: str) -> list[Frame]:
    """The text/event-plain and text/event-json frames of a transcript, in order."""
    return [
        frame
        for frame in read_frames(name)
        if frame.direction == "S" and split(frame.data)[0].get("Content-Type", "").startswith("text/event-")
    ]


def api_replies(name: str) -> list[tuple[str, bytes]]:
    """(command line, reply body) for each `api ...` the client sent, paired with the next api/response."""
    pairs: list[tuple[str, bytes]] = []
    waiting: dict[int, list[str]] = {}
    for frame in read_frames(name):
        if frame.direction == "C" and frame.data.startswith(b"api "):
            waiting.setdefault(frame.connection, []).append(frame.data.decode().split("\n")[0])
            continue
        headers, body = split(frame.data)
        if (
            frame.direction == "S"
            and headers.get("Content-Type") == "api/response"
            and waiting.get(frame.connection)
        ):
            pairs.append((waiting[frame.connection].pop(0), body))
    return pairs
