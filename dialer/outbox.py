"""Messages for the voice connector: written in the transaction that decided them, delivered
later with retries and backoff, so a VC that is down loses nothing. What exhausts its retries is
kept as `dead` for an operator to requeue (`dialer outbox requeue`)."""

import logging
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from dialer.models import OutboxMessage
from dialer.vc import VcUnavailable

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
DELIVERY_BATCH = 100
FIRST_RETRY = timedelta(seconds=1)
LONGEST_RETRY = timedelta(minutes=10)


def message(contact_id, kind, path, body):
    return {"contact_id": contact_id, "kind": kind, "path": path, "body": body}


def add_message(session, contact_id, kind, path, body):
    add_messages(session, [message(contact_id, kind, path, body)])


def add_messages(session, rows):
    if rows:
        session.execute(insert(OutboxMessage), rows)


def retry_delay(attempts):
    """1 s, 2 s, 4 s ... capped at 10 minutes."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def deliver_due(session, vc, limit=100):
    """Deliver up to `limit` due messages, oldest first. Returns (delivered, failed).

    Rows are locked with SKIP LOCKED, so two deliverers never send the same message at once.
    Stops at the first failure: when the VC is down, the rest would fail the same way.
    """
    messages = session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= func.now())
        .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    ).scalars().all()
    delivered = failed = 0
    for message in messages:
        try:
            vc.post(message.path, message.body, message_id=message.id)
        except VcUnavailable as exc:
            _failed(session, message, str(exc))
            failed += 1
            break
        message.status, message.delivered_at = "delivered", func.now()
        message.attempts += 1
        delivered += 1
    session.commit()
    return delivered, failed


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

