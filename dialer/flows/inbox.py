"""The result inbox (table `call_events`): the durable first stop of every call result.

Whoever receives a result (a listener from its hangup or job event, the web process from a
switch's CDR) writes it here before anything else, and only then nudges a worker. A worker records
unprocessed rows (dialer.flows.results) and marks them processed in the same transaction; the beat sweeps
whatever a lost nudge left behind. So a result survives any one process dying at any moment, and
the unique (kind, key) collapses the copies two listeners and the CDR path deliver: the first
copy wins, the others change nothing.
"""

import json
from dataclasses import dataclass

from sqlalchemy import text

from dialer.flows.results import Recorded, record_results
from dialer.rules.event_messages import from_message

HANGUP, JOB, ANSWER = "hangup", "job", "answer"
EVENT, CDR = "event", "cdr"
BATCH = 500
KEEP_PROCESSED_HOURS = 24  # a copy arriving later than this is recorded again: harmless, idempotent
NUDGED = "dialer:record-inbox-requested"  # Redis key: a record_inbox task is already on its way


def key_of(message):
    """(kind, key) of a result message (dialer.rules.event_messages): a hangup by its call, a job result
    by its Job-UUID. A CDR of a call is the same hangup as its CHANNEL_HANGUP_COMPLETE."""
    if message["type"] == "JobResult":
        return JOB, message["job_uuid"]
    if message["type"] == "CallAnswered":
        return ANSWER, message["uuid"]
    return HANGUP, message["uuid"]


STORE_SQL = text("""
    INSERT INTO call_events (kind, key, source, body)
    SELECT kind, key, :source, body
    FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]), CAST(:bodies AS jsonb[])) AS m(kind, key, body)
    ON CONFLICT (kind, key) DO NOTHING
    RETURNING id
""")


def store(connection, messages, source):
    """Write result messages into the inbox; returns how many were new (copies change nothing).
    The caller commits."""
    if not messages:
        return 0
    keys = [key_of(m) for m in messages]
    new = connection.execute(STORE_SQL, {
        "source": source, "kinds": [k for k, _ in keys], "keys": [k for _, k in keys],
        "bodies": [json.dumps(m) for m in messages],
    }).scalars().all()
    return len(new)


def nudge(redis_client, send_task):
    """Ask a worker to record the inbox (the `dialer.record_inbox` task), unless a request is
    already on its way. Best effort: a lost nudge (broker down, a worker killed while taking it)
    only waits for the beat's sweep."""
    if redis_client.set(NUDGED, "1", nx=True, ex=5):
        send_task("dialer.record_inbox", queue="results")


# Taken and marked processed in one statement; the caller's commit makes both the recording and
# the mark stick, or neither. Rows another worker holds are skipped, never waited for.
TAKE_SQL = text("""
    UPDATE call_events SET processed_at = now()
    WHERE id IN (SELECT id FROM call_events WHERE processed_at IS NULL
                 ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING id, body
""")


@dataclass
class Taken:
    recorded: Recorded
    rows: int


def record_pending(session, settings, limit=BATCH):
    """Record up to `limit` unprocessed results, oldest first, and mark them processed; the caller
    commits both together."""
    rows = sorted(session.execute(TAKE_SQL, {"limit": limit}).all())  # in the order they arrived
    if not rows:
        return Taken(Recorded(), 0)
    return Taken(record_results(session, settings, [from_message(body) for _, body in rows]), len(rows))


def unprocessed_hangups(session, call_uuids):
    """The calls among `call_uuids` whose result is in the inbox but not recorded yet."""
    if not call_uuids:
        return set()
    return set(session.execute(text(
        "SELECT key FROM call_events WHERE kind = :kind AND processed_at IS NULL AND key = ANY(CAST(:keys AS text[]))"
    ), {"kind": HANGUP, "keys": list(call_uuids)}).scalars())


def forget_processed(session, hours=KEEP_PROCESSED_HOURS):
    """Delete results recorded more than `hours` ago; returns how many."""
    return session.execute(text(
        "DELETE FROM call_events WHERE processed_at < now() - make_interval(hours => :hours)"
    ), {"hours": hours}).rowcount
