"""Sending originates (DESIGN.md "Dialing flow" 5-6 and the failover table).

The order matters for "nobody dialed twice": a contact moves `queued` → `dialed` and its call
attempt row is committed BEFORE `bgapi originate` is sent; a redelivered task then finds nothing
queued, and `reconcile` never puts a `dialed` contact back to pending (a worker may die right
after sending, before it could write down that it did). After the switch accepts the bgapi, the
attempt's `dial_time` is set: when the switch took it, for the record.
"""

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, insert, select, text, update

from dialer.adapters import metrics
from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.models import CallAttempt, Contact
from dialer.flows import predictive
from dialer.flows.policy_store import policies_for
from dialer.flows.retries import count_dispositions, schedule_retries
from dialer.flows.transitions import transition
from dialer.flows.windows import closed_now
from dialer.rules import dispositions, gateway, states
from dialer.rules.originate import AgentCall, IvrCall, PredictiveCall, UnsafeValue, originate_parts

log = logging.getLogger(__name__)

INVALID_GATEWAY = "INVALID_GATEWAY"
SWITCH_DOWN = "SWITCH_DOWN"
INVALID_CONTACT = "INVALID_CONTACT"  # a stored value the originate builder refuses
RETRYABLE_FAILURES = (INVALID_GATEWAY, SWITCH_DOWN)  # by a campaign's explicit rule only
GATEWAY_RETRY = timedelta(seconds=30)  # a gateway that is down is not asked again before this


@dataclass
class DialOutcome:
    dialed: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # contact id -> call_result
    retry: list = field(default_factory=list)  # back to pending (gateway down)
    outside_window: list = field(default_factory=list)  # back to pending: its calling window closed

    def by_outcome(self):
        """{outcome: contacts} for the originates counter: accepted, or why the call did not go out."""
        counts = Counter(result.lower() for result in self.failed.values())
        counts.update(accepted=len(self.dialed), gateway_down=len(self.retry), outside_window=len(self.outside_window))
        return counts


@dataclass(frozen=True)
class AgentAssignment:
    agent: str
    queue: str


def dial_ivr_contacts(session, client, settings, switch_name, contact_ids, gateway_memo=None):
    """Originate the `queued` IVR contacts among `contact_ids` through one switch; `gateway_memo`
    (dialer.rules.gateway.StatusMemo) spares the switch a status request per call."""
    outcome = DialOutcome()
    contacts = _inside_window(session, _queued(session, contact_ids), outcome)
    policies = policies_for(session, sorted({c.campaign_id for c in contacts}), settings.default_policy)
    calls = {}
    _check_gateways(session, client, contacts, outcome, gateway_memo)
    switch = settings.switch(switch_name)
    for contact in contacts:
        if contact.id in outcome.failed or contact.id in outcome.retry:
            continue
        caller_id = policies[contact.campaign_id][1].get("caller_id") or {}
        if predictive.is_predictive(contact):
            calls[contact.id] = _predictive_call(settings, switch, contact, caller_id)
            continue
        calls[contact.id] = IvrCall(
            contact_id=contact.id, campaign_id=contact.campaign_id, number=contact.customer_number,
            gateway_id=contact.gateway_id, ivr=contact.ivr or settings.default_ivr,
            context=settings.dialplan_context, attempt=contact.attempts + 1, call_uuid=_call_uuid(contact),
            originate_timeout=settings.originate_timeout_seconds, instance=settings.instance,
            caller_id_number=caller_id.get("number"), caller_id_name=caller_id.get("name"))
    _send(session, client, switch, contacts, calls, outcome, kind=None, policies=policies)
    _retry_failures(session, settings, outcome)
    metrics.count_originates(switch_name, outcome.by_outcome())
    return outcome


def _predictive_call(settings, switch, contact, caller_id):
    """A predictive contact (dialed like an IVR one, before any agent): parked on the hold extension."""
    queue = contact.queue_name if contact.routing_mode == "QUEUE" and contact.queue_name else contact.resource_id
    return PredictiveCall(
        contact_id=contact.id, campaign_id=contact.campaign_id, number=contact.customer_number,
        gateway_id=contact.gateway_id, queue=queue or "", domain=switch.host,
        voice_service_id=contact.service_identifier or settings.service_identifier,
        context=settings.dialplan_context, hold_extension=settings.predictive.hold_extension,
        attempt=contact.attempts + 1, call_uuid=_call_uuid(contact),
        originate_timeout=settings.originate_timeout_seconds, instance=settings.instance,
        caller_id_number=caller_id.get("number"), caller_id_name=caller_id.get("name"))


def dial_agent_contact(session, client, settings, contact, assignment):
    """Originate one agent call for a contact the VC just reserved an agent for (`queued`)."""
    switch_name = contact.switch_name  # read now: a transition below may clear it
    outcome = _dial_agent_contact(session, client, settings, contact, assignment)
    metrics.count_originates(switch_name, outcome.by_outcome())
    return outcome


def _dial_agent_contact(session, client, settings, contact, assignment):
    outcome = DialOutcome()
    if not _inside_window(session, [contact], outcome):
        return outcome
    _check_gateways(session, client, [contact], outcome)
    if outcome.failed or outcome.retry:
        _retry_failures(session, settings, outcome)
        return outcome
    policies = policies_for(session, [contact.campaign_id], settings.default_policy)
    caller_id = policies[contact.campaign_id][1].get("caller_id") or {}
    switch = settings.switch(contact.switch_name)
    call = AgentCall(
        contact_id=contact.id, campaign_id=contact.campaign_id, number=contact.customer_number,
        gateway_id=contact.gateway_id, agent_extension=assignment.agent, queue=assignment.queue,
        dialing_mode=contact.dialing_mode, voice_service_id=contact.service_identifier or settings.service_identifier,
        domain=switch.host, context=settings.dialplan_context, attempt=contact.attempts + 1,
        call_uuid=_call_uuid(contact), originate_timeout=settings.originate_timeout_seconds,
        instance=settings.instance, caller_id_number=caller_id.get("number"))
    _send(session, client, switch, [contact], {contact.id: call}, outcome, kind=states.AGENT,
          agent=assignment.agent, policies=policies)
    _retry_failures(session, settings, outcome)
    return outcome


def _inside_window(session, contacts, outcome):
    """The contacts whose calling window is still open; the others go back to pending for their
    next window (they were claimed while it was open)."""
    closed = closed_now(session, [c.id for c in contacts])
    for contact in contacts:
        if contact.id in closed and transition(session, contact.id, states.QUEUED, states.PENDING, switch_name=None):
            outcome.outside_window.append(contact.id)
    if outcome.outside_window:
        session.commit()
        log.info("event=outside_calling_window contacts=%s", ",".join(outcome.outside_window))
    return [c for c in contacts if c.id not in closed]


def _retry_failures(session, settings, outcome):
    """A call that failed for a switch or gateway reason is retried when the campaign's policy says
    so (never by default: the failover table's results stay final)."""
    failed = {i: dispositions.classify(r, False) for i, r in outcome.failed.items() if r in RETRYABLE_FAILURES}
    if failed and schedule_retries(session, settings, count_dispositions(session, failed)):
        session.commit()
    elif failed:
        session.commit()


def _queued(session, contact_ids):
    return session.execute(
        select(Contact).where(Contact.id.in_(contact_ids), Contact.status == states.QUEUED)
    ).scalars().all()


def _check_gateways(session, client, contacts, outcome, memo=None):
    """Gateway status per contact, asked once per gateway; applies the failover table."""
    cache = gateway.GatewayCache(lambda name: client.api(gateway.status_command(name)), memo)
    try:
        for contact in contacts:
            status = cache.status(contact.gateway_id)
            if status == gateway.INVALID:
                outcome.failed[contact.id] = INVALID_GATEWAY
            elif status == gateway.DOWN:
                outcome.retry.append(contact.id)
    except SwitchUnreachable:
        log.warning("event=switch_unreachable stage=gateway_check contacts=%d", len(contacts))
        outcome.failed.update({c.id: SWITCH_DOWN for c in contacts})
    for contact_id, result in outcome.failed.items():
        transition(session, contact_id, states.QUEUED, states.FAILED, call_result=result)
    for contact_id in outcome.retry:
        transition(session, contact_id, states.QUEUED, states.PENDING,
                          dial_after=func.now() + GATEWAY_RETRY, switch_name=None)
    if outcome.failed or outcome.retry:
        session.commit()


def _send(session, client, switch, contacts, calls, outcome, kind, agent=None, policies=None):
    commands = _commands(session, calls, outcome)
    jobs = _mark_dialed(session, switch, contacts, {i: calls[i] for i in commands}, kind, agent, policies or {})
    session.commit()
    accepted = []
    for contact_id, (job_uuid, _call) in jobs.items():
        try:
            reply = client.bgapi(commands[contact_id], job_uuid)
        except SwitchUnreachable:
            log.warning("event=switch_unreachable stage=bgapi contact=%s", contact_id)
            transition(session, contact_id, states.DIALED, states.FAILED, call_result=SWITCH_DOWN)
            _attempt_failed(session, job_uuid)
            outcome.failed[contact_id] = SWITCH_DOWN
            continue
        if reply.startswith("+OK"):
            accepted.append(job_uuid)
            outcome.dialed.append(contact_id)
        else:  # the switch refused the bgapi itself; its failure is final like a switch down
            log.warning("event=bgapi_refused contact=%s reply=%s", contact_id, reply)
            transition(session, contact_id, states.DIALED, states.FAILED, call_result=SWITCH_DOWN)
            _attempt_failed(session, job_uuid)
            outcome.failed[contact_id] = SWITCH_DOWN
    if accepted:
        session.execute(update(CallAttempt).where(CallAttempt.job_uuid.in_(accepted), CallAttempt.dial_time.is_(None))
                        .values(dial_time=func.now()))
    session.commit()


def _attempt_failed(session, job_uuid):
    """The attempt never reached the number: it does not count against the per-number cap."""
    session.execute(update(CallAttempt).where(CallAttempt.job_uuid == job_uuid)
                    .values(hangup_cause=SWITCH_DOWN, disposition=dispositions.SWITCH_DOWN, result_source="job"))


def _commands(session, calls, outcome):
    """The originate string of each call, built before anything is marked dialed: a value that
    fails the builder's checks fails its contact (INVALID_CONTACT), never a half-sent batch."""
    commands = {}
    for contact_id, call in calls.items():
        try:
            command, args = originate_parts(call)
        except UnsafeValue as exc:
            log.error("event=unsafe_value contact=%s field=%s", contact_id, exc.field)
            transition(session, contact_id, states.QUEUED, states.FAILED, call_result=INVALID_CONTACT)
            outcome.failed[contact_id] = INVALID_CONTACT
            continue
        commands[contact_id] = f"{command} {args}"
    return commands


MARK_DIALED_SQL = text("""
    UPDATE contacts c
    SET status = 'dialed', status_changed_at = now(), dial_time = now(), attempts = c.attempts + 1,
        missing_since = NULL,
        call_uuid = d.call_uuid, switch_name = :switch_name, agent = coalesce(:agent, c.agent)
    FROM unnest(CAST(:ids AS text[]), CAST(:call_uuids AS text[])) AS d(id, call_uuid)
    WHERE c.id = d.id AND c.status = 'queued'
    RETURNING c.id
""")


def _mark_dialed(session, switch, contacts, calls, kind, agent, policies):
    """queued → dialed plus an attempt row for each call, in two statements for the whole batch;
    returns {contact id: (job uuid, call)} for the contacts this call moved (a redelivered task,
    or another worker that got there first, finds them moved already)."""
    wanted = [c.id for c in contacts if c.id in calls]
    if not wanted:
        return {}
    moved = set(session.execute(MARK_DIALED_SQL, {
        "ids": wanted, "call_uuids": [calls[i].call_uuid for i in wanted],
        "switch_name": switch.name, "agent": agent,
    }).scalars())
    jobs = {contact_id: (str(uuid.uuid4()), calls[contact_id]) for contact_id in wanted if contact_id in moved}
    if jobs:
        by_id = {c.id: c for c in contacts}
        session.execute(insert(CallAttempt), [
            dict(contact_id=contact_id, attempt=call.attempt, uuid=call.call_uuid, job_uuid=job_uuid,
                 switch_name=switch.name, kind=kind or by_id[contact_id].campaign_type, agent=agent,
                 settings_version=policies.get(by_id[contact_id].campaign_id, (None,))[0],
                 number=by_id[contact_id].e164 or by_id[contact_id].customer_number)
            for contact_id, (job_uuid, call) in jobs.items()
        ])
        predictive.note_dialed(session, [(call.call_uuid, contact_id, call.campaign_id)
                                         for contact_id, (_job, call) in jobs.items()
                                         if isinstance(call, PredictiveCall)])
    return jobs


def _call_uuid(contact):
    """The contact id is the origination_uuid of its first attempt; later attempts get new ones."""
    return contact.id if contact.attempts == 0 else str(uuid.uuid4())
