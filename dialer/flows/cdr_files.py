"""CDR files of a switch's err-log-dir (`a_<uuid>.cdr.json`: what mod_json_cdr could not post) into
the result inbox, exactly as `POST /cdr` takes them; `dialer cdr import` runs this."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from dialer.flows import inbox
from dialer.rules.cdr import parse_cdr
from dialer.rules.event_messages import to_message
from dialer.rules.events import MalformedEvent

FILE_NAME = re.compile(r"^(?:[ab]_)?(?P<uuid>[0-9A-Za-z._-]+)\.cdr\.json$")


@dataclass
class CdrImport:
    new: int = 0
    known: int = 0
    not_ours: int = 0
    bad: list = field(default_factory=list)  # (path, reason)


def cdr_files(paths):
    """The CDR files named, and those in the folders named, in a stable order."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if FILE_NAME.match(p.name))
        else:
            yield path


def import_cdr_files(session, paths, instance):
    summary = CdrImport()
    for path in cdr_files(paths):
        match = FILE_NAME.match(path.name)
        try:
            result = parse_cdr(path.read_bytes(), match["uuid"] if match else None)
        except (OSError, MalformedEvent) as exc:
            summary.bad.append((str(path), str(exc)))
            continue
        if result.dialer_vars.get("dialer_instance") != instance:
            summary.not_ours += 1
            continue
        if inbox.store(session, [to_message(result)], inbox.CDR):
            summary.new += 1
        else:
            summary.known += 1
        session.commit()
    return summary
