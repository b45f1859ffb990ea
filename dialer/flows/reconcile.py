"""Repairs what a crash left behind (DESIGN.md "Failover"): every in-flight state has a lease.

- `queued` past its lease: the originate task was lost before anything was sent → pending
  (a contact is moved to `dialed` and committed before its originate is sent, so `queued` proves
  nothing went out).
- `agent_pending` past the reservation timeout: the VC never answered → pending.
- `dialed` whose call the switch no longer has (`show channels as json`): first seen gone, it
  gets `missing_since`; still gone a grace period later with no result through any path (the
  inbox is recorded first) → ended with call_result LOST. Never back to pending: whether its
  originate went out cannot be known for sure (a worker may have died right after sending it),
  and dialing it again could ring the customer twice. A real result arriving later still
  replaces LOST; an operator can requeue LOST contacts.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, update

from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.models import CallAttempt, Contact
from dialer.flows.inbox import unprocessed_hangups
from dialer.flows.outbox import add_message
from dialer.flows.results import LOST
from dialer.flows.retries import count_dispositions, schedule_retries
from dialer.flows.transitions import transition
from dialer.rules import dispositions, states, vc_messages

log = logging.getLogger(__name__)


@dataclass
class Repairs:
    requeued: list = field(default_factory=list)
    reservations_expired: list = field(default_factory=list)
    lost: list = field(default_factory=list)
    unreachable_switches: list = field(default_factory=list)


def reconcile(session, settings, live_calls_of):
    """`live_calls_of(switch_name)` returns the set of channel uuids the switch has now."""
    repairs = Repairs()
    repairs.requeued = _expire_leases(session, states.QUEUED, settings.queued_lease_seconds)
    _free_agents(session, settings, repairs.requeued)
    repairs.reservations_expired = _expire_leases(session, states.AGENT_PENDING,
                                                  settings.reservation_timeout_seconds)
    session.commit()
    for switch in settings.switches:
        asked_at = session.execute(select(func.clock_timestamp())).scalar_one()
        session.commit()
        try:
            live = live_calls_of(switch.name)
        except SwitchUnreachable:
            repairs.unreachable_switches.append(switch.name)
            continue
        repairs.lost += _close_vanished_calls(session, settings, switch.name, live, asked_at)
        session.commit()
    return repairs


def _expire_leases(session, status, seconds):
    stale = session.execute(
        select(Contact.id).where(Contact.status == status,
                                 Contact.status_changed_at < func.now() - timedelta(seconds=seconds))
    ).scalars().all()
    moved = [cid for cid in stale if transition(session, cid, status, states.PENDING, switch_name=None)]
    if moved:
        log.warning("event=lease_expired status=%s contacts=%s", status, ",".join(moved))
    return moved


def _close_vanished_calls(session, settings, switch_name, live, asked_at):
    """Contacts dialed before the switch was asked for its calls (`asked_at`): mark those whose
    call it did not list, close as LOST those missing for the grace; returns the ones closed."""
    dialed = session.execute(
        select(Contact.id, Contact.call_uuid, Contact.missing_since)
        .where(Contact.status == states.DIALED, Contact.switch_name == switch_name,
               Contact.status_changed_at < asked_at)  # a call dialed since may not be listed yet
    ).all()
    back = [contact_id for contact_id, call_uuid, missing in dialed if missing is not None and call_uuid in live]
    gone = [(contact_id, call_uuid, missing) for contact_id, call_uuid, missing in dialed if call_uuid not in live]
    _set_missing_since(session, back, None)
    newly_gone = [contact_id for contact_id, _, missing in gone if missing is None]
    _set_missing_since(session, newly_gone, func.now())
    # The grace runs from when the call was first seen gone, so a result still on its way through
    # the listener or the CDR path always lands first; one already in the inbox is recorded soon.
    overdue = session.execute(
        select(Contact.id, Contact.call_uuid).where(
            Contact.id.in_([contact_id for contact_id, _, missing in gone if missing is not None]),
            Contact.status == states.DIALED,
            Contact.missing_since < func.now() - timedelta(seconds=settings.reconcile_grace_seconds))
    ).all()
    waiting = unprocessed_hangups(session, [call_uuid for _, call_uuid in overdue])
    lost = [contact_id for contact_id, call_uuid in overdue
            if call_uuid not in waiting and _close_as_lost(session, settings, contact_id, call_uuid)]
    if newly_gone:
        log.info("event=calls_missing switch=%s contacts=%s", switch_name, ",".join(newly_gone))
    if lost:
        log.warning("event=reconciled_lost switch=%s contacts=%s", switch_name, ",".join(lost))
    return lost


def _set_missing_since(session, contact_ids, value):
    if contact_ids:
        session.execute(update(Contact).where(Contact.id.in_(contact_ids), Contact.status == states.DIALED)
                        .values(missing_since=value))


def _close_as_lost(session, settings, contact_id, call_uuid):
    if not transition(session, contact_id, states.DIALED, states.ENDED, call_result=LOST):
        return False
    session.execute(update(CallAttempt).where(CallAttempt.uuid == call_uuid)
                    .values(result_source="reconcile", hangup_cause=LOST, disposition=dispositions.LOST))
    # Retried only by a campaign's explicit LOST rule: the call may have reached the customer.
    retried = schedule_retries(session, settings, count_dispositions(session, {contact_id: dispositions.LOST}))
    contact = session.execute(select(Contact).where(Contact.id == contact_id)
                              .execution_options(populate_existing=True)).scalar_one()
    _lost_messages(session, settings, contact, retried.get(contact_id))
    return True


def _lost_messages(session, settings, contact, retry_at=None):
    add_message(session, contact.id, "call_result", settings.vc_paths.call_result,
                vc_messages.call_result(contact, retry_at=retry_at))
    if vc_messages.is_agent(contact):
        add_message(session, contact.id, "end_chat", settings.vc_paths.end_chat,
                    vc_messages.end_chat(contact, "call result lost"))


def _free_agents(session, settings, contact_ids):
    """Agent contacts sent back to pending had an agent reserved for a call that never went out:
    END_CHAT frees the agent (the next try reserves one again)."""
    if not contact_ids:
        return
    reserved = session.execute(
        select(Contact).where(Contact.id.in_(contact_ids), Contact.campaign_type == states.AGENT,
                              Contact.agent.is_not(None))
    ).scalars().all()
    for contact in reserved:
        add_message(session, contact.id, "end_chat", settings.vc_paths.end_chat,
                    vc_messages.end_chat(contact, "call not placed: dialer restarted"))


def live_call_uuids(show_channels_json):
    """Channel uuids from the body of `show channels as json` ({"row_count": 0} when idle)."""
    data = json.loads(show_channels_json)
    return {row["uuid"] for row in data.get("rows", [])}
