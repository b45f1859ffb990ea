"""Agent campaigns (spec "Agent Campaigns"): reserve an agent through the voice connector, then
dial the customer with the agent originate once the VC calls back with the reserved agent."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from dialer.adapters.models import Contact
from dialer.adapters.vc import VcUnavailable
from dialer.flows import predictive
from dialer.flows.dialing import SWITCH_DOWN, AgentAssignment, dial_agent_contact
from dialer.flows.outbox import add_message
from dialer.flows.transitions import transition
from dialer.rules import states, vc_messages

log = logging.getLogger(__name__)

RESERVATION_RETRY = timedelta(seconds=2)  # VC down or no agent: not asked again before this


def reserve_agents(session, vc, settings, contact_ids):
    """POST "Call details" for each `agent_pending` contact; VC down → back to pending.

    Returns (reserved, returned) contact id lists.
    """
    contacts = session.execute(
        select(Contact).where(Contact.id.in_(contact_ids), Contact.status == states.AGENT_PENDING)
    ).scalars().all()
    reserved, returned = [], []
    for contact in contacts:
        host = settings.switch(contact.switch_name).host if contact.switch_name else ""
        body = vc_messages.call_details(contact, host, settings.service_identifier)
        try:
            vc.post(settings.vc_paths.startprocess, body)
        except VcUnavailable as exc:
            log.warning("event=reservation_failed contact=%s error=%s", contact.id, exc)
            back_to_pending(session, contact.id)
            returned.append(contact.id)
            continue
        reserved.append(contact.id)
    session.commit()
    return reserved, returned


def back_to_pending(session, contact_id):
    return transition(session, contact_id, states.AGENT_PENDING, states.PENDING, switch_name=None,
                             dial_after=func.now() + RESERVATION_RETRY)


@dataclass(frozen=True)
class CallbackDecision:
    status: str  # not_found, conflict, no_agent, reserved, predictive
    contact: Contact | None = None


def accept_callback(session, contact_id, agent, queue):
    """The VC's answer to a reservation. Only an `agent_pending` contact moves: a late or
    duplicate callback finds it elsewhere and dials nobody."""
    contact = session.get(Contact, contact_id, with_for_update=True)
    if contact is None:
        return CallbackDecision("not_found")
    if predictive.is_predictive(contact) and contact.status == states.DIALED:
        return CallbackDecision("predictive", contact)  # an answered customer waits: dialer.flows.predictive
    if contact.status != states.AGENT_PENDING:
        return CallbackDecision("conflict", contact)
    if not agent:
        back_to_pending(session, contact_id)
        return CallbackDecision("no_agent", contact)
    transition(session, contact_id, states.AGENT_PENDING, states.QUEUED, agent=agent,
                      agent_queue=queue or contact.queue_name or contact.resource_id)
    session.flush()
    session.refresh(contact)
    return CallbackDecision("reserved", contact)


def dial_reserved(session, client, settings, contact):
    """Originate the agent call; if it cannot be placed, tell the VC (END_CHAT) so the agent is
    freed. Returns the DialOutcome."""
    assignment = AgentAssignment(agent=contact.agent, queue=contact.agent_queue or "")
    outcome = dial_agent_contact(session, client, settings, contact, assignment)
    if outcome.dialed:
        return outcome
    session.refresh(contact)
    reason = outcome.failed.get(contact.id) or "GATEWAY_DOWN"
    add_message(session, contact.id, "end_chat", settings.vc_paths.end_chat,
                vc_messages.end_chat(contact, f"call not placed: {reason}"))
    session.commit()
    log.warning("event=agent_call_not_placed contact=%s reason=%s", contact.id, reason)
    return outcome


def switch_was_down(outcome):
    return SWITCH_DOWN in outcome.failed.values()
