"""Predictive dialing (DESIGN.md "Dialing modes"): the customer is dialed before an agent is known,
parked on the hold extension when answered, and then either connected to the agent the VC names
within the connect deadline (`uuid_setvar` + `uuid_transfer`) or abandoned: transferred to the
safe-harbour message, recorded as such, END_CHAT to the VC.

Every step is a conditional update of the call's ledger row (`predictive_calls`), so the VC's
callback, the deadline and the customer hanging up race safely: exactly one of them moves a held
call on, and the others find it moved. The ledger is also the compliance evidence
(dialer.flows.abandonment reads it).
"""

import logging
from dataclasses import dataclass, field

from sqlalchemy import insert, select, text

from dialer.adapters.esl import SwitchUnreachable
from dialer.adapters.models import Contact, PredictiveCall
from dialer.adapters.vc import VcUnavailable
from dialer.flows.outbox import add_message
from dialer.flows.policy_store import policies_for
from dialer.rules import vc_messages
from dialer.rules.originate import UnsafeValue, agent_variables_commands, hangup_command, transfer_command

log = logging.getLogger(__name__)

PREDICTIVE = "PREDICTIVE"
NO_AGENT_IN_TIME = "no agent in time: the customer heard the abandon message"


def is_predictive(contact):
    return contact.campaign_type == "AGENT" and contact.dialing_mode == PREDICTIVE


def note_dialed(session, calls):
    """Ledger rows for predictive calls just marked dialed: [(call uuid, contact id, campaign id)]."""
    if calls:
        session.execute(insert(PredictiveCall), [
            {"uuid": uuid, "contact_id": contact_id, "campaign_id": campaign_id}
            for uuid, contact_id, campaign_id in calls])


# A call answered: a person waits for an agent until the deadline; a machine is never connected.
ANSWERED_SQL = text("""
    UPDATE predictive_calls p
    SET answered_at = coalesce(a.answered_at, now()), held_at = clock_timestamp(),
        answered_by = CASE WHEN a.machine THEN 'machine' ELSE 'person' END,
        state = CASE WHEN a.machine THEN 'machine' ELSE 'held' END,
        deadline_at = CASE WHEN a.machine THEN NULL
                           -- from the answer (the greeting), as the regulators count, not from when we heard;
                           -- never later than from now, whatever the switch's clock says
                           ELSE least(coalesce(a.answered_at, now()), now()) + make_interval(secs => a.deadline) END
    FROM unnest(CAST(:uuids AS text[]), CAST(:answered_ats AS timestamptz[]), CAST(:machines AS bool[]),
                CAST(:deadlines AS float8[])) AS a(uuid, answered_at, machine, deadline)
    WHERE p.uuid = a.uuid AND p.state = 'dialed'
    RETURNING p.uuid, p.contact_id, p.state
""")


@dataclass
class Answered:
    """What the answers of a batch ask for once the transaction has committed."""

    held: list = field(default_factory=list)  # contacts whose customer waits: ask the VC for an agent
    machines: list = field(default_factory=list)  # (switch name, call uuid): hang up


def record_answers(session, settings, answers):
    """Answered predictive calls (dialer.rules.events.CallAnswered, `machine` set by the listener)
    into the ledger; returns what to do after the commit (`act_on_answers`)."""
    found = Answered()
    if not answers:
        return found
    latest = {a.uuid: a for a in answers}
    policies = policies_for(session, sorted({a.campaign_id for a in latest.values() if a.campaign_id}),
                            settings.default_policy)
    rows = session.execute(ANSWERED_SQL, {
        "uuids": list(latest), "answered_ats": [a.answered_at for a in latest.values()],
        "machines": [bool(a.dialer_vars.get("machine")) for a in latest.values()],
        "deadlines": [connect_seconds(policies.get(a.campaign_id), settings) for a in latest.values()],
    }).all()
    if not rows:
        return found
    contacts = {c.id: c for c in session.execute(
        select(Contact).where(Contact.id.in_([r.contact_id for r in rows]))).scalars()}
    for uuid, contact_id, state in rows:
        contact = contacts.get(contact_id)
        if contact is None or contact.call_uuid != uuid:
            continue
        if state == "held":
            found.held.append(contact)
        else:
            found.machines.append((contact.switch_name, uuid))
    return found


def connect_seconds(version_and_policy, settings):
    """The connect deadline: the campaign's `predictive.connect_seconds`, else DIALER_ABANDON_SECONDS."""
    policy = version_and_policy[1] if version_and_policy else {}
    return float((policy.get("predictive") or {}).get("connect_seconds") or settings.predictive.abandon_seconds)


def act_on_answers(sessions, vc, switches, settings, answered):
    """Ask the VC for an agent for each held customer (the spec's "Call details"); a VC that cannot
    be asked means no agent: abandoned at once. Hang up on machines."""
    unreachable = []
    for contact in answered.held:
        host = settings.switch(contact.switch_name).host if contact.switch_name else ""
        details = vc_messages.call_details(contact, host, settings.service_identifier)
        try:
            vc.post(settings.vc_paths.startprocess, details)
        except VcUnavailable as exc:
            log.warning("event=predictive_vc_unavailable contact=%s error=%s", contact.id, exc)
            unreachable.append(contact.call_uuid)
    for switch_name, uuid in answered.machines:
        _api(switches, switch_name, hangup_command(uuid))
    if unreachable:
        with sessions() as session:
            abandon(session, switches, settings, unreachable, force=True)


# The VC's agent in time: the held call is connected (only one of callback, deadline and hangup wins).
CONNECT_SQL = text("""
    UPDATE predictive_calls SET state = 'connected', connected_at = clock_timestamp(), agent = :agent
    WHERE uuid = :uuid AND state = 'held' AND deadline_at >= clock_timestamp()
    RETURNING uuid
""")
# Held past the deadline (or at once, `force`: no agent, or the VC could not be asked).
ABANDON_SQL = text("""
    UPDATE predictive_calls SET state = 'abandoned', abandoned_at = clock_timestamp()
    WHERE uuid = ANY(CAST(:uuids AS text[])) AND state = 'held'
      AND (:force OR deadline_at < clock_timestamp())
    RETURNING uuid, contact_id
""")
OVERDUE_SQL = text("""
    SELECT uuid FROM predictive_calls WHERE state = 'held' AND deadline_at < clock_timestamp()
    ORDER BY deadline_at LIMIT 500
""")


def connect(session, client, settings, contact, agent, queue):
    """The VC named `agent` for a held predictive call: connect them if still within the deadline.

    Returns "connected", or "late" (the deadline passed, the customer was abandoned or is gone:
    nobody is dialed or transferred). The ledger move is committed before the switch is told, so
    a deadline firing meanwhile finds the call connected.
    """
    if session.execute(CONNECT_SQL, {"uuid": contact.call_uuid, "agent": agent}).first() is None:
        session.rollback()
        return "late"
    contact.agent, contact.agent_queue = agent, queue or contact.queue_name or contact.resource_id
    session.commit()
    try:
        for command in (*agent_variables_commands(contact.call_uuid, agent),
                        transfer_command(contact.call_uuid, agent, settings.dialplan_context)):
            reply = client.api(command)
            if not reply.startswith("+OK"):
                raise SwitchUnreachable(reply.strip())
    except (SwitchUnreachable, UnsafeValue) as exc:
        # The customer hung up in the same instant, or the switch is gone: nobody was connected.
        log.warning("event=predictive_transfer_failed contact=%s agent=%s error=%s", contact.id, agent, exc)
        session.execute(text("UPDATE predictive_calls SET state = 'abandoned', abandoned_at = clock_timestamp(), "
                             "connected_at = NULL WHERE uuid = :uuid AND state = 'connected'"),
                        {"uuid": contact.call_uuid})
        _end_chat(session, settings, [contact], NO_AGENT_IN_TIME)
        session.commit()
        return "late"
    log.info("event=predictive_connected contact=%s agent=%s", contact.id, agent)
    return "connected"


# A held customer the VC had no agent for is asked for again a tenth of the connect deadline later (0.2 s
# of the regulators' 2 s), while more than a quarter of it is left (the VC's answer and the transfer take
# time). Shares rather than seconds, so a time-scaled run keeps the same shape.
ASK_AGAIN_SHARE, LAST_ASK_SHARE = 0.1, 0.25
TIME_LEFT_SQL = text("""
    SELECT extract(epoch FROM deadline_at - clock_timestamp()) FROM predictive_calls
    WHERE uuid = :uuid AND state = 'held'
""")


def no_agent_yet(session, contact, settings):
    """The VC had no agent for a held customer. Returns seconds to wait before asking it again, or
    None when there is no time for that: then the customer is abandoned now. (Agents free up all
    the time; a "none" a second before the deadline need not be the last word.)"""
    window = settings.predictive.abandon_seconds
    left = session.execute(TIME_LEFT_SQL, {"uuid": contact.call_uuid}).scalar()
    if left is None or left < window * LAST_ASK_SHARE:
        return None
    return window * ASK_AGAIN_SHARE


def ask_again(session, vc, settings, contact_id):
    """Ask the VC again for an agent for a customer still held (nothing if no longer)."""
    contact = session.get(Contact, contact_id)
    if contact is None or session.execute(TIME_LEFT_SQL, {"uuid": contact.call_uuid}).scalar() is None:
        return False
    host = settings.switch(contact.switch_name).host if contact.switch_name else ""
    try:
        vc.post(settings.vc_paths.startprocess, vc_messages.call_details(contact, host, settings.service_identifier))
    except VcUnavailable as exc:
        log.warning("event=predictive_vc_unavailable contact=%s error=%s", contact.id, exc)
        return False
    return True


def abandon(session, switches, settings, call_uuids, force=False):
    """Abandon held calls (past their deadline, or at once with `force`): the customer hears the
    safe-harbour message, the VC gets END_CHAT (an agent it reserved late is freed). Returns the
    contact ids abandoned; commits."""
    rows = session.execute(ABANDON_SQL, {"uuids": list(call_uuids), "force": force}).all()
    if not rows:
        session.rollback()
        return []
    contacts = session.execute(select(Contact).where(Contact.id.in_([r.contact_id for r in rows]))).scalars().all()
    _end_chat(session, settings, contacts, NO_AGENT_IN_TIME)
    session.commit()
    for contact in contacts:
        _api(switches, contact.switch_name,
             transfer_command(contact.call_uuid, settings.predictive.abandon_extension, settings.dialplan_context))
    log.warning("event=predictive_abandoned contacts=%s", ",".join(c.id for c in contacts))
    return [c.id for c in contacts]


def abandon_overdue(session, switches, settings):
    """The deadline's backstop (the beat's tick): every held call past its deadline."""
    overdue = session.execute(OVERDUE_SQL).scalars().all()
    return abandon(session, switches, settings, overdue) if overdue else []


# The call is over: its outcome for the ledger (and the contact's disposition).
ENDED_SQL = text("""
    UPDATE predictive_calls p SET ended_at = clock_timestamp(),
        state = CASE WHEN p.state = 'held' THEN 'abandoned' WHEN p.state = 'dialed' THEN 'ended'
                     ELSE p.state END,
        abandoned_at = CASE WHEN p.state = 'held' THEN clock_timestamp() ELSE p.abandoned_at END,
        outcome = CASE WHEN p.answered_by = 'machine' THEN 'MACHINE'
                       WHEN p.connected_at IS NOT NULL THEN 'PERSON_CONNECTED'
                       WHEN p.answered_at IS NOT NULL THEN 'ABANDONED'
                       ELSE 'NOT_ANSWERED' END
    FROM predictive_calls before
    WHERE p.uuid = ANY(CAST(:uuids AS text[])) AND before.uuid = p.uuid AND p.ended_at IS NULL
    RETURNING p.uuid, p.outcome, before.state = 'held' AS hung_up_while_held
""")


@dataclass(frozen=True)
class Ended:
    outcome: str  # PERSON_CONNECTED, ABANDONED, MACHINE, NOT_ANSWERED
    hung_up_while_held: bool


def record_ended(session, call_uuids):
    """Close the ledger rows of predictive calls that ended; {uuid: Ended}."""
    if not call_uuids:
        return {}
    return {uuid: Ended(outcome, held) for uuid, outcome, held in
            session.execute(ENDED_SQL, {"uuids": list(call_uuids)}).all()}


def _end_chat(session, settings, contacts, reason):
    for contact in contacts:
        add_message(session, contact.id, "end_chat", settings.vc_paths.end_chat,
                    vc_messages.end_chat(contact, reason))


def _api(switches, switch_name, command):
    try:
        reply = switches.get(switch_name).api(command)
    except SwitchUnreachable as exc:
        log.warning("event=predictive_command_failed switch=%s command=%s error=%s", switch_name,
                    command.split()[0], exc)
        return None
    if not reply.startswith("+OK"):
        log.info("event=predictive_command_refused switch=%s command=%s reply=%s", switch_name,
                 command.split()[0], reply.strip()[:80])
    return reply
