"""What is kept of a Celery task that failed for good, and how an operator picks failures by time.

A failure is kept as plain JSON (it may wait in Redis before it reaches PostgreSQL), with every
string made storable: PostgreSQL's text and jsonb take neither NUL characters nor lone UTF-16
surrogates, jsonb no NaN, and a poison message may carry them all.
"""

import json
import math
import re
from datetime import UTC, datetime, timedelta

FAILED, REQUEUED, DISCARDED = "failed", "requeued", "discarded"
STATUSES = (FAILED, REQUEUED, DISCARDED)
ID_CHARS = NAME_CHARS = 200
EXCEPTION_CHARS = 1000
TRACEBACK_CHARS = 20_000  # the end is kept: that is where the error is
DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$", re.IGNORECASE)
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def failure_record(task_id, name, args, kwargs, exception, traceback, failed_at):
    """A failure as a JSON-ready dict: the keys of the failed_tasks columns it fills."""
    return {
        "task_id": storable(str(task_id))[:ID_CHARS],
        "name": storable(str(name))[:NAME_CHARS],
        "args": jsonable(list(args or ())),
        "kwargs": jsonable(dict(kwargs or {})),
        "exception": _head(storable(exception), EXCEPTION_CHARS),
        "traceback": _tail(storable(traceback or ""), TRACEBACK_CHARS),
        "failed_at": failed_at.astimezone(UTC).isoformat(),
    }


def describe_exception(exc):
    """`TypeError: string indices must be integers`: the class name says most of it."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def jsonable(value):
    """`value` as JSON can carry it (anything else as its repr), every string storable."""
    return _clean(json.loads(json.dumps(value, default=repr)))


def storable(text):
    """`text` without NUL characters or lone surrogates (PostgreSQL refuses both)."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def parse_since(text, now):
    """The moment `--since` names: a duration back from `now` (`90s`, `15m`, `1h`, `2d`, `1w`) or
    an ISO-8601 time (UTC unless it says otherwise). Raises ValueError saying what is accepted."""
    matched = DURATION.match(text or "")
    try:
        if matched:
            return now - timedelta(**{UNITS[matched.group(2).lower()]: int(matched.group(1))})
        moment = datetime.fromisoformat((text or "").strip())
        # As UTC: PostgreSQL refuses offsets beyond ±15:59, which fromisoformat takes up to ±23:59.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # 999999w, or a time before year 1 in UTC
        raise ValueError(f"{text!r} is too far back") from None
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration such as 1h, 30m, 2d nor an ISO-8601 time") from None


def _clean(value):
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): _clean(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # NaN and Infinity are not JSON, and jsonb refuses them
    return value


def _head(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _tail(text, limit):
    return text if len(text) <= limit else "…" + text[-(limit - 1):]
