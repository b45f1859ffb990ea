"""Parsed switch results as small JSON-safe dicts, for the trip listener → broker → worker.

The listener parses events itself and publishes only these (a few hundred bytes instead of a
~8 KB CHANNEL_HANGUP_COMPLETE), which is what lets one listener keep up with thousands of
hangups a second.
"""

from dataclasses import fields
from datetime import datetime

from dialer.rules.events import CallAnswered, CallEnded, JobResult

_TYPES = {cls.__name__: cls for cls in (CallEnded, CallAnswered, JobResult)}


def to_message(result):
    # Shallow on purpose: dataclasses.asdict deep-copies, a third of a busy listener's Python time.
    body = {}
    for spec in fields(result):
        value = getattr(result, spec.name)
        body[spec.name] = value.isoformat() if isinstance(value, datetime) else value
    body["type"] = type(result).__name__
    return body


def from_message(message):
    cls = _TYPES[message["type"]]
    values = {}
    for spec in fields(cls):
        value = message.get(spec.name)
        if isinstance(value, str) and spec.name.endswith("_at"):
            value = datetime.fromisoformat(value)
        values[spec.name] = value
    return cls(**values)
