"""Recording call results (DESIGN.md "Dialing flow" 7): the contact, its attempt, and the
messages for the voice connector, all in the caller's transaction.

Events arrive at least once (two listeners, redelivered tasks), so every write is conditional:
an event that finds its contact already past the state it expects changes nothing.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select, update

from dialer import events, states, vc_messages
from dialer.models import CallAttempt, Contact
from dialer.outbox import add_message

log = logging.getLogger(__name__)

LOST = "LOST"  # closed by reconcile: the call was gone and no result had been recorded
NOT_ANSWERED_REASON = "customer did not answer"


@dataclass
class Recorded:
    ended: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    messages: int = 0

    @property
    def freed_slots(self):
        return len(self.ended) + len(self.retry) + len(self.failed)


def record_results(session, settings, results):
    """Apply parsed switch results (dialer.events) in order; returns what changed."""
    recorded = Recorded()
    for result in results:
        if isinstance(result, events.CallEnded):
            _call_ended(session, settings, result, recorded)
        elif isinstance(result, events.JobResult):
            _job_result(session, settings, result, recorded)
    return recorded


def _call_ended(session, settings, result, recorded):
    contact = session.execute(
        select(Contact).where(
            Contact.id == result.contact_id, Contact.call_uuid == result.uuid, _still_open(),
        ).with_for_update()
    ).scalar_one_or_none()
    session.execute(
        update(CallAttempt).where(CallAttempt.uuid == result.uuid,
                                  or_(CallAttempt.hangup_cause.is_(None), CallAttempt.result_source == "reconcile"))
        .values(hangup_cause=result.hangup_cause, billsec=result.billsec, answer_time=result.answered_at,
                hangup_time=result.ended_at, sip_term_status=result.sip_term_status, result_source="hangup")
    )
    if contact is None:
        return  # a duplicate, or not ours any more
    contact.status, contact.status_changed_at = states.ENDED, func.now()
    contact.call_result, contact.billsec = result.hangup_cause, result.billsec
    contact.answer_time, contact.hangup_time = result.answered_at, result.ended_at
    session.flush()
    recorded.ended.append(contact.id)
    _result_messages(session, settings, contact, answered=result.answered, recorded=recorded)


def _still_open():
    """A contact a result may still change: in flight, or closed by reconcile as LOST."""
    return or_(Contact.status.in_((states.QUEUED, states.DIALED)),
               (Contact.status == states.ENDED) & (Contact.call_result == LOST))


def _result_messages(session, settings, contact, answered, recorded):
    paths = settings.vc_paths
    add_message(session, contact.id, "call_result", paths.call_result, vc_messages.call_result(contact))
    recorded.messages += 1
    if vc_messages.is_agent(contact):
        if answered:
            body = vc_messages.recording_link(contact, settings.recording_url_template)
            add_message(session, contact.id, "recording", paths.recording, body)
        else:
            body = vc_messages.end_chat(contact, NOT_ANSWERED_REASON)
            add_message(session, contact.id, "end_chat", paths.end_chat, body)
        recorded.messages += 1


def _job_result(session, settings, result, recorded):
    session.execute(
        update(CallAttempt).where(CallAttempt.job_uuid == result.job_uuid, CallAttempt.job_status.is_(None))
        .values(job_status="ok" if result.ok else "err")
    )
    outcome = events.outcome_of(result)
    if outcome not in (events.FAILED, events.PENDING):
        return
    # By our Job-UUID only: a refused duplicate originate names the uuid of a call that is live.
    attempt = session.execute(
        select(CallAttempt).where(CallAttempt.job_uuid == result.job_uuid)
    ).scalar_one_or_none()
    if attempt is None:
        return
    contact = session.execute(
        select(Contact).where(Contact.id == attempt.contact_id, Contact.call_uuid == attempt.uuid,
                              _still_open()).with_for_update()
    ).scalar_one_or_none()
    if contact is None:
        return
    attempt.hangup_cause, attempt.result_source = result.cause, "job"
    if outcome == events.FAILED:
        contact.status, contact.call_result = states.FAILED, result.cause
        recorded.failed.append(contact.id)
    else:  # gateway down or switch limits: dial again later
        contact.status, contact.call_result = states.PENDING, result.cause
        contact.dial_after, contact.switch_name = func.now() + _retry_after(result.cause), None
        recorded.retry.append(contact.id)
    contact.status_changed_at = func.now()
    session.flush()
    if vc_messages.is_agent(contact):
        # The agent was reserved for a call that never happened: free them.
        body = vc_messages.end_chat(contact, f"call not placed: {result.cause}")
        add_message(session, contact.id, "end_chat", settings.vc_paths.end_chat, body)
        recorded.messages += 1


def _retry_after(cause):
    return timedelta(seconds=30) if cause == "GATEWAY_DOWN" else timedelta(seconds=2)
