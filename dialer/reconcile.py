"""Repairs what a crash left behind (DESIGN.md "Failover"): every in-flight state has a lease.

- `queued` past its lease: the originate task was lost before anything was sent → pending.
- `agent_pending` past the reservation timeout: the VC never answered → pending.
- `dialed` whose call the switch no longer has (`show channels as json`):
  the originate never went out (no `dial_time` on the attempt, no job result) → pending;
  it went out but no result was recorded → ended with call_result LOST (a real result arriving
  later still replaces it).
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from dialer import states, vc_messages
from dialer.esl import SwitchUnreachable
from dialer.models import CallAttempt, Contact
from dialer.outbox import add_message
from dialer.results import LOST

log = logging.getLogger(__name__)


@dataclass
class Repairs:
    requeued: list = field(default_factory=list)
    reservations_expired: list = field(default_factory=list)
    never_sent: list = field(default_factory=list)
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
        try:
            live = live_calls_of(switch.name)
        except SwitchUnreachable:
            repairs.unreachable_switches.append(switch.name)
            continue
        _close_vanished_calls(session, settings, switch.name, live, repairs)
        session.commit()
    return repairs


def _expire_leases(session, status, seconds):
    stale = session.execute(
        select(Contact.id).where(Contact.status == status,
                                 Contact.status_changed_at < func.now() - timedelta(seconds=seconds))
    ).scalars().all()
    moved = [cid for cid in stale if states.transition(session, cid, status, states.PENDING, switch_name=None)]
    if moved:
        log.warning("event=lease_expired status=%s contacts=%d", status, len(moved))
    return moved


def _close_vanished_calls(session, settings, switch_name, live, repairs):
    rows = session.execute(
        select(Contact, CallAttempt).join(CallAttempt, CallAttempt.uuid == Contact.call_uuid)
        .where(Contact.status == states.DIALED, Contact.switch_name == switch_name,
               # a result in flight through listener and broker lands within the grace
               Contact.status_changed_at < func.now() - timedelta(seconds=settings.reconcile_grace_seconds))
    ).all()
    for contact, attempt in rows:
        if contact.call_uuid in live:
            continue
        if attempt.dial_time is None and attempt.job_status is None:
            if states.transition(session, contact.id, states.DIALED, states.PENDING, switch_name=None):
                repairs.never_sent.append(contact.id)
                _free_agents(session, settings, [contact.id])
            continue
        if states.transition(session, contact.id, states.DIALED, states.ENDED, call_result=LOST):
            attempt.result_source, attempt.hangup_cause = "reconcile", LOST
            session.flush()
            session.refresh(contact)
            _lost_messages(session, settings, contact)
            repairs.lost.append(contact.id)
    if repairs.lost or repairs.never_sent:
        log.warning("event=reconciled switch=%s lost=%d never_sent=%d", switch_name,
                    len(repairs.lost), len(repairs.never_sent))


def _lost_messages(session, settings, contact):
    add_message(session, contact.id, "call_result", settings.vc_paths.call_result,
                vc_messages.call_result(contact))
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
