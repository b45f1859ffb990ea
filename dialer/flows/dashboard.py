"""What the live dashboard shows, read from the store in a few grouped queries (api/dashboard.py
adds the live health checks): campaigns by status, calls up per switch against capacity, calls
started per minute and their results over the last hour, the outbox, failed tasks.

Read every few seconds by every open dashboard, so nothing here scans a whole table that grows
with history: recent attempts are found from the primary key (see RECENT_SQL).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dialer.flows.allocator import OCCUPIED_SQL
from dialer.flows.campaigns import list_campaigns
from dialer.flows.failed_tasks import list_failed
from dialer.flows.gauges import FAILED_TASKS_SQL, OUTBOX_SQL
from dialer.rules.dispositions import ANSWERED
from dialer.rules.states import FINAL

WINDOW_MINUTES = 60
LATEST_FAILED = 10
EXCEPTION_CHARS = 200

# call_attempts has no index on created_at, and ids grow with created_at (both are set at the
# insert), so the window starts after the newest attempt older than it: a backward walk of the
# primary key over the window's rows only, instead of a scan of every attempt ever made. The edge
# is read first so that the planner sees its value (a primary key range, not a guessed share).
EDGE_SQL = text("SELECT id FROM call_attempts WHERE created_at < :since ORDER BY id DESC LIMIT 1")
# Attempts started since :since, by minute and disposition (NULL: still ringing or talking).
RECENT_SQL = text("""
    SELECT date_trunc('minute', created_at) AS minute, disposition, count(*) AS calls
    FROM call_attempts WHERE id > :after AND created_at >= :since
    GROUP BY 1, 2
""")
# The newest delivery error of a message still waiting (the partial index of pending messages).
OUTBOX_ERROR_SQL = text("""
    SELECT last_error FROM outbox WHERE status = 'pending' AND last_error IS NOT NULL
    ORDER BY next_attempt_at DESC LIMIT 1
""")


@dataclass(frozen=True)
class Window:
    """The last `minutes` minutes, the current one included (it is still filling)."""

    now: datetime
    minutes: int = WINDOW_MINUTES

    @property
    def first_minute(self):
        return self.now.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=self.minutes - 1)

    def minutes_list(self):
        return [self.first_minute + timedelta(minutes=i) for i in range(self.minutes)]


def dashboard_snapshot(session, switches, now=None, minutes=WINDOW_MINUTES):
    """The store's part of GET /dashboard/data as a JSON-ready dict (see api/dashboard_schemas.py)."""
    window = Window(now or datetime.now(UTC), minutes)
    per_minute, dispositions = recent_calls(session, window)
    answered = dispositions.get(ANSWERED, 0)
    finished = sum(dispositions.values())
    return {
        "window_minutes": window.minutes,
        "campaigns": [_progress(campaign) for campaign in list_campaigns(session)],
        "switches": switch_load(session, switches),
        "calls_per_minute": per_minute,
        "dispositions": dispositions,
        "answer_rate": round(answered / finished, 4) if finished else None,
        "outbox": {"pending": 0, "dead": 0, **dict(session.execute(OUTBOX_SQL).all()),
                   "last_error": session.execute(OUTBOX_ERROR_SQL).scalar()},
        "failed_tasks": {"count": session.execute(FAILED_TASKS_SQL).scalar_one(),
                         "latest": [_failure(row) for row in list_failed(session, limit=LATEST_FAILED)]},
    }


def recent_calls(session, window):
    """([{"minute", "calls"}] for every minute of the window, oldest first; {disposition: attempts}
    of the window's attempts that have a result, largest first)."""
    calls, dispositions = {}, {}
    after = session.execute(EDGE_SQL, {"since": window.first_minute}).scalar() or 0
    for row in session.execute(RECENT_SQL, {"after": after, "since": window.first_minute}):
        minute = row.minute.astimezone(UTC)
        calls[minute] = calls.get(minute, 0) + row.calls
        if row.disposition:
            dispositions[row.disposition] = dispositions.get(row.disposition, 0) + row.calls
    per_minute = [{"minute": minute.isoformat(), "calls": calls.get(minute, 0)} for minute in window.minutes_list()]
    return per_minute, dict(sorted(dispositions.items(), key=lambda item: (-item[1], item[0])))


def switch_load(session, switches):
    """[{"name", "capacity", "calls"}] of every configured switch: slots taken now."""
    taken = dict(session.execute(OCCUPIED_SQL).all())
    return [{"name": s.name, "capacity": s.capacity, "calls": taken.get(s.name, 0)} for s in switches]


def _progress(campaign):
    counts = campaign["counts"]
    return {**campaign, "total": sum(counts.values()), "done": sum(counts[status] for status in FINAL)}


def _failure(row):
    exception = row["exception"]
    if len(exception) > EXCEPTION_CHARS:
        exception = exception[:EXCEPTION_CHARS - 1] + "…"
    return {"id": row["id"], "name": row["name"], "exception": exception, "failed_at": row["failed_at"]}
