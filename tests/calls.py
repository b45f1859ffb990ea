"""Contacts on a call, the switch's results for them, and fresh reads of what changed.

`dial` leaves the rows exactly as dialer/flows/dialing.py does after `bgapi originate`: the contact
`dialed` with `call_uuid`, `switch_name`, `attempts` and `dial_time` set, and one call_attempts row
(`uuid`, `job_uuid`, `switch_name`, `kind`, `attempt`, `dial_time` once the switch accepted the bgapi).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text, update

from dialer.adapters.models import CallAttempt, Contact, OutboxMessage
from dialer.flows.results import record_results
from dialer.rules import states
from dialer.rules.events import CallEnded, JobResult

ENDED_AT = datetime(2026, 11, 21, 11, 21, 9, 250000, tzinfo=UTC)


@dataclass(frozen=True)
class Call:
    contact_id: str
    campaign_id: str
    uuid: str
    job_uuid: str


def dial(session, contact_id, switch_name="sw1", sent=True, agent=None, queue=None):
    """Move a `queued` (or any) contact to `dialed` with its attempt row; returns the Call."""
    contact = session.execute(select(Contact).where(Contact.id == contact_id)).scalar_one()
    attempt = contact.attempts + 1
    call_uuid = contact_id if contact.attempts == 0 else str(uuid.uuid4())
    job_uuid = str(uuid.uuid4())
    session.execute(
        update(Contact).where(Contact.id == contact_id)
        .values(status=states.DIALED, status_changed_at=func.now(), dial_time=func.now(), attempts=attempt,
                call_uuid=call_uuid, switch_name=switch_name, agent=agent, agent_queue=queue)
    )
    session.execute(insert(CallAttempt).values(
        contact_id=contact_id, attempt=attempt, uuid=call_uuid, job_uuid=job_uuid, switch_name=switch_name,
        kind=contact.campaign_type, agent=agent, dial_time=func.now() if sent else None))
    session.commit()
    return Call(contact_id, contact.campaign_id, call_uuid, job_uuid)


def hangup(call, cause="NORMAL_CLEARING", billsec=30, answered=True, sip_term_status="200"):
    """The CallEnded the listener parses from this call's CHANNEL_HANGUP_COMPLETE."""
    return CallEnded(
        uuid=call.uuid, contact_id=call.contact_id, campaign_id=call.campaign_id, attempt=1,
        hangup_cause=cause, billsec=billsec if answered else 0, answered=answered,
        answered_at=ENDED_AT - timedelta(seconds=billsec) if answered else None, ended_at=ENDED_AT,
        sip_term_status=sip_term_status, sip_hangup_disposition="send_bye" if answered else "recv_refuse",
        dialer_vars={"dialer_contact_id": call.contact_id, "dialer_campaign_id": call.campaign_id},
    )


def job_result(call, cause=None, job_uuid=None):
    """The JobResult of this call's BACKGROUND_JOB: `+OK <uuid>` when cause is None, else `-ERR <cause>`."""
    return JobResult(
        job_uuid=job_uuid or call.job_uuid, ok=cause is None, cause=cause,
        channel_uuid=call.uuid if cause is None else None, call_uuid=call.uuid, contact_id=call.contact_id,
        campaign_id=call.campaign_id,
        dialer_vars={"dialer_contact_id": call.contact_id, "dialer_campaign_id": call.campaign_id},
    )


def record(session_factory, settings, *results):
    """record_results in a fresh session and transaction, as the record_events task runs it."""
    with session_factory() as session:
        recorded = record_results(session, settings, list(results))
        session.commit()
    return recorded


def age(session, contact_ids, seconds):
    """Pretend the contacts entered their status `seconds` ago."""
    session.execute(
        update(Contact).where(Contact.id.in_(contact_ids))
        .values(status_changed_at=func.now() - timedelta(seconds=seconds))
    )
    session.commit()


def missing(session, contact_ids, seconds):
    """Pretend reconcile first found the contacts' calls gone from the switch `seconds` ago."""
    session.execute(
        update(Contact).where(Contact.id.in_(contact_ids))
        .values(missing_since=func.now() - timedelta(seconds=seconds))
    )
    session.commit()


def contact(session, contact_id):
    session.expire_all()
    return session.get(Contact, contact_id)


def attempts(session, contact_id):
    session.expire_all()
    return session.execute(
        select(CallAttempt).where(CallAttempt.contact_id == contact_id).order_by(CallAttempt.id)
    ).scalars().all()


def outbox(session, contact_id=None):
    """Outbox rows in id order, all of them or one contact's."""
    session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if contact_id is not None:
        query = query.where(OutboxMessage.contact_id == contact_id)
    return session.execute(query).scalars().all()


def snapshot(session, contact_id):
    """Everything the results logic could touch for one contact, as plain values to compare."""
    session.expire_all()

    def row(obj):
        return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}

    return {
        "contact": row(contact(session, contact_id)),
        "attempts": [row(a) for a in attempts(session, contact_id)],
        "outbox": [row(m) for m in outbox(session)],
    }


def db_now(session):
    """The database's clock (not the transaction's start), in a transaction of its own."""
    value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    session.commit()
    return value
