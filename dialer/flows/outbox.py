"""Messages for the voice connector: written in the transaction that decided them, delivered
later with retries and backoff, so a VC that is down loses nothing. What exhausts its retries is
kept as `dead` for an operator to requeue (`dialer outbox requeue`).

The VC hears one consistent story per contact: each message carries the contact's next
`sequence` (1, 2, 3 ...), and a message is delivered only after every earlier one of its contact,
by one deliverer at a time.
"""

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, insert, select, text, update

from dialer.adapters.models import OutboxMessage
from dialer.adapters.vc import VcUnavailable

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
DELIVERY_BATCH = 100
FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(minutes=10)


def message(contact_id, kind, path, body):
    return {"contact_id": contact_id, "kind": kind, "path": path, "body": body}


def add_message(session, contact_id, kind, path, body):
    add_messages(session, [message(contact_id, kind, path, body)])


NEXT_SEQUENCES_SQL = text("""
    UPDATE contacts c SET vc_sequence = c.vc_sequence + n.count
    FROM unnest(CAST(:ids AS text[]), CAST(:counts AS int[])) AS n(id, count)
    WHERE c.id = n.id
    RETURNING c.id, c.vc_sequence
""")


def add_messages(session, rows):
    """Queue messages, each with its contact's next sequence number (in its body too, for the VC).
    Taking the numbers locks the contact rows, so two writers for one contact take turns."""
    if not rows:
        return
    counts = Counter(row["contact_id"] for row in rows if row["contact_id"] is not None)
    last = dict(session.execute(NEXT_SEQUENCES_SQL, {"ids": list(counts), "counts": list(counts.values())}).all())
    given = {contact_id: last.get(contact_id, count) - count for contact_id, count in counts.items()}
    for row in rows:
        if row["contact_id"] is not None:
            given[row["contact_id"]] += 1
            row["sequence"] = given[row["contact_id"]]
            row["body"] = {**row["body"], "sequence": row["sequence"]}
    session.execute(insert(OutboxMessage), rows)


def retry_delay(attempts):
    """1 s, 2 s, 4 s ... capped at 10 minutes."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


DELIVERER_LOCK = 0x6F7574626F78  # pg advisory lock key: one deliverer at a time keeps each contact's order

DUE_SQL = text("""
    SELECT o.id FROM outbox o
    WHERE o.status = 'pending' AND o.next_attempt_at <= now()
      AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.contact_id = o.contact_id AND p.id < o.id
                      AND (p.status = 'dead' OR (p.status = 'pending' AND p.next_attempt_at > now())))
    ORDER BY o.id LIMIT :limit
""")
DELIVERED_SQL = text("""
    UPDATE outbox SET status = 'delivered', delivered_at = now(), attempts = attempts + 1
    WHERE id = ANY(CAST(:ids AS bigint[]))
""")


def deliver_due(session, vc, limit=100):
    """Deliver up to `limit` due messages in the order they were written. Returns (delivered, failed).

    A message waits while an earlier one of its contact waits for a retry or is dead. The batch is
    locked while it is sent (a real result superseding a LOST message waits for it) and committed
    once: a deliverer killed mid-batch has the batch sent again, in the same order, each message
    with its Idempotency-Key for the VC to drop. Stops at the first failure: when the VC is down,
    the rest would fail the same way. Returns (0, 0) at once while another deliverer is at work
    (the lock is its transaction's, freed at once if its process dies): that one looks again for
    due messages when it is done (`has_due`).
    """
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DELIVERER_LOCK}).scalar():
        session.rollback()
        return 0, 0
    ids = session.execute(DUE_SQL, {"limit": limit}).scalars().all()
    messages = session.execute(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id).with_for_update()
    ).scalars().all() if ids else []
    sent, failed = [], 0
    for message in messages:
        try:
            vc.post(message.path, message.body, message_id=message.id)
        except VcUnavailable as exc:
            _failed(session, message, str(exc))
            failed = 1
            break
        sent.append(message.id)
    if sent:
        session.execute(DELIVERED_SQL, {"ids": sent})
    session.commit()
    return len(sent), failed


def deliverer_free(session):
    """Is no deliverer at work right now (its lock free)?"""
    free = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DELIVERER_LOCK}).scalar()
    session.rollback()
    return free


def has_due(session):
    """Is a message due now (asked after a delivery, once its lock is released)?"""
    found = session.execute(DUE_SQL, {"limit": 1}).first() is not None
    session.rollback()
    return found


def _failed(session, message, error):
    message.attempts += 1
    message.last_error = error[:500]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = "dead"
        log.error("event=outbox_dead message=%s contact=%s kind=%s error=%s",
                  message.id, message.contact_id, message.kind, error)
    else:
        message.next_attempt_at = func.now() + retry_delay(message.attempts)
        log.warning("event=outbox_retry message=%s attempts=%s error=%s", message.id, message.attempts, error)


def requeue_dead(session):
    """Operator action: give every dead message a fresh set of retries."""
    result = session.execute(
        update(OutboxMessage).where(OutboxMessage.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=func.now())
    )
    session.commit()
    return result.rowcount

