"""Sending originates (DESIGN.md "Dialing flow" 5-6 and the failover table).

The order matters for "nobody dialed twice": a contact moves `queued` → `dialed` and its call
attempt row is committed BEFORE `bgapi originate` is sent; a redelivered task then finds nothing
queued, and `reconcile` never puts a `dialed` contact back to pending (a worker may die right
after sending, before it could write down that it did). After the switch accepts the bgapi, the
attempt's `dial_time` is set: when the switch took it, for the record.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, insert, select, text, update

from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.models import CallAttempt, Contact
from dialer.flows.transitions import transition
from dialer.rules import gateway, states
from dialer.rules.originate import AgentCall, IvrCall, UnsafeValue, originate_parts

log = logging.getLogger(__name__)

INVALID_GATEWAY = "INVALID_GATEWAY"
SWITCH_DOWN = "SWITCH_DOWN"
INVALID_CONTACT = "INVALID_CONTACT"  # a stored value the originate builder refuses
GATEWAY_RETRY = timedelta(seconds=30)  # a gateway that is down is not asked again before this


@dataclass
class DialOutcome:
    dialed: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # contact id -> call_result
    retry: list = field(default_factory=list)  # back to pending (gateway down)


@dataclass(frozen=True)
class AgentAssignment:
    agent: str
    queue: str


def dial_ivr_contacts(session, client, settings, switch_name, contact_ids, gateway_memo=None):
    """Originate the `queued` IVR contacts among `contact_ids` through one switch; `gateway_memo`
    (dialer.rules.gateway.StatusMemo) spares the switch a status request per call."""
    contacts = _queued(session, contact_ids)
    calls = {}
    outcome = _check_gateways(session, client, contacts, gateway_memo)
    switch = settings.switch(switch_name)
    for contact in contacts:
        if contact.id in outcome.failed or contact.id in outcome.retry:
            continue
        call_uuid = _call_uuid(contact)
        calls[contact.id] = IvrCall(
            contact_id=contact.id, campaign_id=contact.campaign_id, number=contact.customer_number,
            gateway_id=contact.gateway_id, ivr=contact.ivr or settings.default_ivr,
            context=settings.dialplan_context, attempt=contact.attempts + 1, call_uuid=call_uuid,
            originate_timeout=settings.originate_timeout_seconds, instance=settings.instance)
    return _send(session, client, switch, contacts, calls, outcome, kind=states.IVR)


def dial_agent_contact(session, client, settings, contact, assignment):
    """Originate one agent call for a contact the VC just reserved an agent for (`queued`)."""
    outcome = _check_gateways(session, client, [contact])
    if outcome.failed or outcome.retry:
        return outcome
    switch = settings.switch(contact.switch_name)
    call = AgentCall(
        contact_id=contact.id, campaign_id=contact.campaign_id, number=contact.customer_number,
        gateway_id=contact.gateway_id, agent_extension=assignment.agent, queue=assignment.queue,
        dialing_mode=contact.dialing_mode, voice_service_id=contact.service_identifier or settings.service_identifier,
        domain=switch.host, context=settings.dialplan_context, attempt=contact.attempts + 1,
        call_uuid=_call_uuid(contact), originate_timeout=settings.originate_timeout_seconds,
        instance=settings.instance)
    return _send(session, client, switch, [contact], {contact.id: call}, outcome, kind=states.AGENT,
                 agent=assignment.agent)


def _queued(session, contact_ids):
    return session.execute(
        select(Contact).where(Contact.id.in_(contact_ids), Contact.status == states.QUEUED)
    ).scalars().all()


def _check_gateways(session, client, contacts, memo=None):
    """Gateway status per contact, asked once per gateway; applies the failover table."""
    outcome = DialOutcome()
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
    return outcome


def _send(session, client, switch, contacts, calls, outcome, kind, agent=None):
    commands = _commands(session, calls, outcome)
    jobs = _mark_dialed(session, switch, contacts, {i: calls[i] for i in commands}, kind, agent)
    session.commit()
    accepted = []
    for contact_id, (job_uuid, _call) in jobs.items():
        try:
            reply = client.bgapi(commands[contact_id], job_uuid)
        except SwitchUnreachable:
            log.warning("event=switch_unreachable stage=bgapi contact=%s", contact_id)
            transition(session, contact_id, states.DIALED, states.FAILED, call_result=SWITCH_DOWN)
            outcome.failed[contact_id] = SWITCH_DOWN
            continue
        if reply.startswith("+OK"):
            accepted.append(job_uuid)
            outcome.dialed.append(contact_id)
        else:  # the switch refused the bgapi itself; its failure is final like a switch down
            log.warning("event=bgapi_refused contact=%s reply=%s", contact_id, reply)
            transition(session, contact_id, states.DIALED, states.FAILED, call_result=SWITCH_DOWN)
            outcome.failed[contact_id] = SWITCH_DOWN
    if accepted:
        session.execute(update(CallAttempt).where(CallAttempt.job_uuid.in_(accepted), CallAttempt.dial_time.is_(None))
                        .values(dial_time=func.now()))
    session.commit()
    return outcome


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


def _mark_dialed(session, switch, contacts, calls, kind, agent):
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
        session.execute(insert(CallAttempt), [
            dict(contact_id=contact_id, attempt=call.attempt, uuid=call.call_uuid, job_uuid=job_uuid,
                 switch_name=switch.name, kind=kind, agent=agent)
            for contact_id, (job_uuid, call) in jobs.items()
        ])
    return jobs


def _call_uuid(contact):
    """The contact id is the origination_uuid of its first attempt; later attempts get new ones."""
    return contact.id if contact.attempts == 0 else str(uuid.uuid4())
