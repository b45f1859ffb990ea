"""Recording call results (DESIGN.md "Dialing flow" 7): the contact, its attempt, and the
messages for the voice connector, all in the caller's transaction.

Events arrive at least once (two listeners, redelivered tasks), so every write is conditional:
an event that finds its contact already past the state it expects changes nothing.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select, text, update

from dialer.adapters.models import CallAttempt, Contact
from dialer.flows import predictive
from dialer.flows.outbox import add_message, add_messages, message
from dialer.flows.retries import closed_rows, count_dispositions, schedule_retries
from dialer.rules import dispositions, events, states, vc_messages

log = logging.getLogger(__name__)

LOST = "LOST"  # closed by reconcile: the call was gone and no result had been recorded
NOT_ANSWERED_REASON = "customer did not answer"
GATEWAY_REFUSALS = ("GATEWAY_DOWN", "INVALID_GATEWAY")


@dataclass
class Recorded:
    ended: list = field(default_factory=list)
    retry: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    messages: int = 0
    # (switch, gateway) a job result said is down or unknown: a status remembered as UP is stale
    gateways_refused: set = field(default_factory=set)
    # Predictive calls answered in this batch: what to do once it has committed
    answered: "predictive.Answered" = field(default_factory=lambda: predictive.Answered())
    # For the metrics, counted once the caller has committed: results by disposition class, and
    # when each ended call hung up (the switch's time)
    dispositions: Counter = field(default_factory=Counter)
    hangups_ended_at: list = field(default_factory=list)

    @property
    def freed_slots(self):
        return len(self.ended) + len(self.retry) + len(self.failed)


def record_results(session, settings, results):
    """Apply parsed switch results (dialer.rules.events); returns what changed.

    Hangups, nearly all of the traffic, are applied as a set: three statements for a whole batch
    whatever its size. Job results that change a contact (no channel was ever made) are rare and
    go one by one, after the hangups (no hangup can follow a call that never had a channel).
    """
    recorded = Recorded()
    # Answers first: a predictive call answered and hung up within one batch is held, then over.
    recorded.answered = predictive.record_answers(
        session, settings, [r for r in results if isinstance(r, events.CallAnswered)])
    _calls_ended(session, settings, [r for r in results if isinstance(r, events.CallEnded)], recorded)
    for result in results:
        if isinstance(result, events.JobResult):
            _job_result(session, settings, result, recorded)
    return recorded


# One statement for a batch of hangups: the attempts get their results, the contacts end (or a
# LOST one gets its real result), and the ended contacts come back as the messages need them.
ENDED_SQL = text("""
    WITH e AS (
        SELECT * FROM unnest(CAST(:contact_ids AS text[]), CAST(:uuids AS text[]), CAST(:causes AS text[]),
                             CAST(:billsecs AS int[]), CAST(:answered_ats AS timestamptz[]),
                             CAST(:ended_ats AS timestamptz[]), CAST(:sip_term_statuses AS text[]),
                             CAST(:dispositions AS text[]))
             AS e(contact_id, uuid, cause, billsec, answered_at, ended_at, sip_term_status, disposition)
    ), attempts AS (
        UPDATE call_attempts a
        SET hangup_cause = e.cause, billsec = e.billsec, answer_time = e.answered_at, hangup_time = e.ended_at,
            sip_term_status = e.sip_term_status, result_source = 'hangup', disposition = e.disposition
        FROM e
        WHERE a.uuid = e.uuid AND (a.hangup_cause IS NULL OR a.result_source = 'reconcile')
    )
    UPDATE contacts c
    SET status = 'ended', status_changed_at = now(), call_result = e.cause, billsec = e.billsec,
        answer_time = e.answered_at, hangup_time = e.ended_at, missing_since = NULL,
        disposition = e.disposition,
        -- a LOST contact's count moves from LOST to the real class: one attempt, one result
        disposition_counts = c.disposition_counts
            || CASE WHEN before.status = 'ended' AND before.call_result = :lost AND c.disposition_counts ? :lost
                    THEN jsonb_build_object(:lost, greatest((c.disposition_counts ->> :lost)::int - 1, 0))
                    ELSE '{}'::jsonb END
            || jsonb_build_object(e.disposition, coalesce((c.disposition_counts ->> e.disposition)::int, 0) + 1)
    FROM e, contacts before, campaigns k
    WHERE c.id = e.contact_id AND c.call_uuid = e.uuid AND before.id = c.id AND k.id = c.campaign_id
      AND (c.status IN ('queued', 'dialed') OR (c.status = 'ended' AND c.call_result = :lost))
    RETURNING c.*, before.call_result = :lost AND before.status = 'ended' AS was_lost,
              k.settings_version AS campaign_settings_version
""")

# A LOST result not sent yet is not sent at all once the real one is known.
SUPERSEDE_LOST_SQL = text("""
    UPDATE outbox SET status = 'superseded'
    WHERE contact_id = ANY(CAST(:ids AS text[])) AND status IN ('pending', 'dead')
      AND (body->>'callResult' = :lost OR body->'body'->>'callResult' = :lost)
""")
# A LOST result the VC already has: the real one says it replaces that message.
DELIVERED_LOST_SQL = text("""
    SELECT DISTINCT ON (contact_id) contact_id, body->>'messageId' FROM outbox
    WHERE contact_id = ANY(CAST(:ids AS text[])) AND status = 'delivered' AND kind = 'call_result'
      AND body->>'callResult' = :lost
    ORDER BY contact_id, id DESC
""")

def _calls_ended(session, settings, results, recorded):
    if not results:
        return
    latest = {r.uuid: r for r in results}  # a duplicate inside one batch counts once
    ledger = predictive.record_ended(
        session, [r.uuid for r in latest.values() if r.dialer_vars.get("dialer_mode") == predictive.PREDICTIVE])
    columns = {
        "contact_ids": [r.contact_id for r in latest.values()],
        "uuids": list(latest),
        "causes": [r.hangup_cause for r in latest.values()],
        "billsecs": [r.billsec for r in latest.values()],
        "answered_ats": [r.answered_at for r in latest.values()],
        "ended_ats": [r.ended_at for r in latest.values()],
        "sip_term_statuses": [r.sip_term_status for r in latest.values()],
        "dispositions": [_disposition(r, ledger.get(r.uuid)) for r in latest.values()],
        "lost": LOST,
    }
    contacts = session.execute(ENDED_SQL, columns).all()
    if not contacts:
        return
    ended = [contact.id for contact in contacts]
    replaces = _replace_lost(session, [contact.id for contact in contacts if contact.was_lost])
    retried = schedule_retries(session, settings, closed_rows(contacts))
    answered = {r.contact_id: r.answered for r in latest.values()}
    messages = []
    for contact in contacts:  # rows with the contact's columns: what vc_messages reads
        messages.extend(_result_messages(settings, contact, answered[contact.id], replaces.get(contact.id),
                                         retry_at=retried.get(contact.id), ledger=ledger.get(contact.call_uuid)))
    add_messages(session, messages)
    recorded.ended.extend(ended)
    recorded.dispositions.update(contact.disposition for contact in contacts)
    recorded.hangups_ended_at.extend(contact.hangup_time for contact in contacts)
    recorded.messages += len(messages)


def _still_open():
    """A contact a result may still change: in flight, or closed by reconcile as LOST."""
    return or_(Contact.status.in_((states.QUEUED, states.DIALED)),
               (Contact.status == states.ENDED) & (Contact.call_result == LOST))


def _replace_lost(session, contact_ids):
    """For contacts closed as LOST that a real result now ends: drop their LOST messages not sent
    yet; returns {contact id: messageId of the LOST result the VC already got} for the others."""
    if not contact_ids:
        return {}
    dropped = session.execute(SUPERSEDE_LOST_SQL, {"ids": contact_ids, "lost": LOST}).rowcount
    replaces = dict(session.execute(DELIVERED_LOST_SQL, {"ids": contact_ids, "lost": LOST}).all())
    log.warning("event=lost_replaced contacts=%s unsent_lost_dropped=%d", ",".join(contact_ids), dropped)
    return replaces


def _disposition(result, ledger):
    """A predictive call's class comes from its ledger (an answered call nobody was connected to is
    ABANDONED, a machine's MACHINE); every other call's from its hangup."""
    if ledger is not None and ledger.outcome in (dispositions.ABANDONED, dispositions.MACHINE):
        return ledger.outcome
    return dispositions.classify(result.hangup_cause, result.answered)


def _result_messages(settings, contact, answered, replaces=None, retry_at=None, ledger=None):
    """The outbox rows for a call that ended: its result (saying which LOST message it replaces,
    if the VC got one, and whether another attempt follows at `retry_at`); for agent calls also the
    recording link (answered) or END_CHAT (declined or never answered) so the CCM closes the
    conversation of this attempt. A predictive call (`ledger`) has a recording only if connected,
    and END_CHAT only if the customer hung up while waiting for an agent (the VC was asked for one;
    an abandon by the deadline sent its END_CHAT then)."""
    paths = settings.vc_paths
    body = vc_messages.call_result(contact, retry_at=retry_at)
    if replaces:
        body["replaces"] = replaces
    rows = [message(contact.id, "call_result", paths.call_result, body)]
    if ledger is not None:
        if ledger.outcome == "PERSON_CONNECTED":
            body = vc_messages.recording_link(contact, settings.recording_url_template)
            rows.append(message(contact.id, "recording", paths.recording, body))
        elif ledger.hung_up_while_held:
            body = vc_messages.end_chat(contact, "the customer hung up while waiting for an agent")
            rows.append(message(contact.id, "end_chat", paths.end_chat, body))
        return rows
    if vc_messages.is_agent(contact):
        if answered:
            body = vc_messages.recording_link(contact, settings.recording_url_template)
            rows.append(message(contact.id, "recording", paths.recording, body))
        else:
            body = vc_messages.end_chat(contact, NOT_ANSWERED_REASON)
            rows.append(message(contact.id, "end_chat", paths.end_chat, body))
    return rows


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
    if contact.status == states.ENDED:  # closed as LOST: this is what really happened
        _replace_lost(session, [contact.id])
    if result.cause in GATEWAY_REFUSALS:
        recorded.gateways_refused.add((attempt.switch_name, contact.gateway_id))
    attempt.hangup_cause, attempt.result_source = result.cause, "job"
    contact.missing_since = None
    if outcome == events.FAILED:
        contact.status, contact.call_result = states.FAILED, result.cause
        recorded.failed.append(contact.id)
        attempt.disposition = dispositions.classify(result.cause, False)
        recorded.dispositions[attempt.disposition] += 1
        session.flush()
        closed = count_dispositions(session, {contact.id: attempt.disposition})
        if schedule_retries(session, settings, closed):
            session.refresh(contact)
    else:  # gateway down or switch limits: dial again later
        contact.status, contact.call_result = states.PENDING, result.cause
        contact.dial_after, contact.switch_name = func.now() + _retry_after(result.cause), None
        recorded.retry.append(contact.id)
        recorded.dispositions[dispositions.classify(result.cause, False)] += 1
    contact.status_changed_at = func.now()
    session.flush()
    if vc_messages.is_agent(contact):
        # The agent was reserved for a call that never happened: free them.
        body = vc_messages.end_chat(contact, f"call not placed: {result.cause}")
        add_message(session, contact.id, "end_chat", settings.vc_paths.end_chat, body)
        recorded.messages += 1


def _retry_after(cause):
    return timedelta(seconds=30) if cause == "GATEWAY_DOWN" else timedelta(seconds=2)
