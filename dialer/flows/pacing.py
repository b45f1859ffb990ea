"""Pacing of predictive campaigns: every few seconds each campaign with predictive contacts gets its
measured state (agents from the VC, answers, ring and handle times, calls in flight, abandonment
so far) and the pure decision of dialer.rules.pacing, stored in `campaign_pacing` for the
allocator. A campaign whose VC cannot tell its agents runs PROGRESSIVE and says why.
"""

import logging
from datetime import UTC, datetime

from sqlalchemy import text

from dialer.adapters.vc import VcUnavailable
from dialer.flows.policy_store import policies_for
from dialer.rules import abandonment
from dialer.rules.pacing import PROGRESSIVE, PacingDecision, PacingSettings, PacingState, decide

log = logging.getLogger(__name__)

MEASURED_HOURS = 1  # answer rate, ring and handle times: the last hour of the campaign's calls
SETTLE_MARGIN_SECONDS = 5  # beyond the originate timeout, before an attempt's outcome counts as known

PREDICTIVE_CAMPAIGNS_SQL = text("""
    SELECT k.id, (SELECT coalesce(nullif(c.queue_name, ''), c.resource_id) FROM contacts c
                  WHERE c.campaign_id = k.id AND c.dialing_mode = 'PREDICTIVE'
                    AND c.status IN ('pending', 'queued', 'dialed') LIMIT 1) AS queue
    FROM campaigns k
    WHERE k.state = 'running' AND EXISTS (
        SELECT 1 FROM contacts c WHERE c.campaign_id = k.id AND c.status = 'pending'
          AND c.dialing_mode = 'PREDICTIVE')
    ORDER BY k.id
""")
# What the campaign's calls of the last hour measured, without the bias of counting only calls already
# over: early in a run those are the quick ones (busy lines, short rings, short talks), which made a new
# campaign look far easier than it was and dial far too many on its first predictive decision. The answer
# rate and the ring time count only attempts dialed `settle` seconds ago or more (the originate timeout
# and a margin): every outcome of those is known. A predictive call's answer is in the ledger as it
# happens; any other call still up then was answered. Talk time is the censored estimate: the time talked
# so far by calls still up counts, and only ended calls divide. Times of the campaign's predictive calls
# come from the ledger (the dialer's own clock), the others' from the attempt (dial, then the switch's
# answer and hangup).
MEASURED_SQL = text("""
    WITH recent AS (
        SELECT a.created_at <= now() - make_interval(secs => :settle) AS settled,
               CASE WHEN p.uuid IS NOT NULL THEN coalesce(p.answered_by = 'person', false)
                    WHEN a.hangup_time IS NULL THEN true
                    ELSE a.answer_time IS NOT NULL AND coalesce(a.disposition, '') <> 'MACHINE' END AS person,
               extract(epoch FROM coalesce(p.held_at - p.dialed_at, a.answer_time - a.created_at)) AS ring,
               CASE WHEN p.uuid IS NOT NULL THEN extract(epoch FROM coalesce(p.ended_at, now()) - p.connected_at)
                    WHEN a.disposition = 'ANSWERED' THEN extract(epoch FROM a.hangup_time - a.answer_time)
                    WHEN a.hangup_time IS NULL AND a.created_at <= now() - make_interval(secs => :settle)
                        THEN extract(epoch FROM now() - a.created_at)
               END AS talked,
               CASE WHEN p.uuid IS NOT NULL THEN p.connected_at IS NOT NULL AND p.ended_at IS NOT NULL
                    ELSE a.disposition = 'ANSWERED' END AS talk_ended
        FROM call_attempts a JOIN contacts c ON c.id = a.contact_id
        LEFT JOIN predictive_calls p ON p.uuid = a.uuid
        WHERE c.campaign_id = :campaign_id AND a.created_at > now() - make_interval(hours => :hours)
    )
    SELECT count(*) FILTER (WHERE settled) AS settled,
           count(*) FILTER (WHERE settled AND person) AS person_answers,
           avg(ring) FILTER (WHERE settled AND person) AS ring,
           sum(talked) / nullif(count(*) FILTER (WHERE talk_ended), 0) AS handle
    FROM recent
""")
IN_FLIGHT_SQL = text("""
    SELECT count(*) FILTER (WHERE state = 'dialed') AS dialing, count(*) FILTER (WHERE state = 'held') AS held
    FROM predictive_calls WHERE campaign_id = :campaign_id AND state IN ('dialed', 'held') AND ended_at IS NULL
""")
# What the campaign still has of its PROGRESSIVE phase: contacts reserving an agent (each takes the
# next agent the VC frees, as a held customer would) and agent calls placed after a reservation
# (their agents free up only if the customer never answers). Both count among the calls waiting
# for an agent, so the switch to dialing ahead waits for them to drain instead of dialing customers
# no agent can take.
RESERVING_SQL = text("""
    SELECT count(*) FROM contacts c
    WHERE c.campaign_id = :campaign_id
      AND (c.status = 'agent_pending'
           OR (c.status IN ('queued', 'dialed') AND c.agent IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM predictive_calls p WHERE p.uuid = c.call_uuid)))
""")
LEDGER_SQL = text("""
    SELECT outcome, count(*) FILTER (WHERE ended_at > :since_24h), count(*)
    FROM predictive_calls WHERE campaign_id = :campaign_id AND ended_at > :since_30d AND outcome IS NOT NULL
    GROUP BY outcome
""")
SAVE_SQL = text("""
    INSERT INTO campaign_pacing (campaign_id, mode, calls_target, dial_ratio, reason, agents_ready, computed_at)
    VALUES (:campaign_id, :mode, :calls_target, :dial_ratio, :reason, :agents_ready, now())
    ON CONFLICT (campaign_id) DO UPDATE SET mode = excluded.mode, calls_target = excluded.calls_target,
        dial_ratio = excluded.dial_ratio, reason = excluded.reason, agents_ready = excluded.agents_ready,
        computed_at = excluded.computed_at
""")


def pace_campaigns(session, vc, settings, now=None):
    """Work out and store every predictive campaign's pacing; {campaign id: PacingDecision}. Commits."""
    now = now or datetime.now(UTC)
    campaigns = session.execute(PREDICTIVE_CAMPAIGNS_SQL).all()
    policies = policies_for(session, [c.id for c in campaigns], settings.default_policy)
    decisions = {}
    for campaign_id, queue in campaigns:
        agents = _agents(vc, settings, queue or "")
        if agents is None:
            decision = PacingDecision(PROGRESSIVE, 0, 1.0, "the VC does not tell its agents (GET "
                                      f"{settings.vc_paths.agents}): one call per reserved agent")
            ready = None
        else:
            state = measured_state(session, campaign_id, agents, now, settings.predictive.settle_seconds
                                   or settings.originate_timeout_seconds + SETTLE_MARGIN_SECONDS)
            decision = decide(state, _settings(policies[campaign_id][1], settings))
            ready = state.agents_ready
        session.execute(SAVE_SQL, {"campaign_id": campaign_id, "mode": decision.mode,
                                   "calls_target": decision.calls_in_flight_target,
                                   "dial_ratio": decision.dial_ratio, "reason": decision.reason[:200],
                                   "agents_ready": ready})
        decisions[campaign_id] = decision
        log.info("event=paced campaign=%s mode=%s target=%d ratio=%.2f reason=%s", campaign_id, decision.mode,
                 decision.calls_in_flight_target, decision.dial_ratio, decision.reason)
    session.commit()
    return decisions


def measured_state(session, campaign_id, agents, now, settle_seconds):
    measured = session.execute(MEASURED_SQL, {"campaign_id": campaign_id, "hours": MEASURED_HOURS,
                                              "settle": settle_seconds}).one()
    flight = session.execute(IN_FLIGHT_SQL, {"campaign_id": campaign_id}).one()
    reserving = session.execute(RESERVING_SQL, {"campaign_id": campaign_id}).scalar_one()
    rates = ledger_rates(session, campaign_id, now)
    return PacingState(
        agents_ready=agents["ready"], agents_wrapping_up=agents["wrapUp"],
        agents_logged_in=agents["ready"] + agents["busy"] + agents["wrapUp"],  # paused agents take no calls
        calls_in_flight=flight.dialing, calls_waiting_for_agent=flight.held + reserving,
        answer_rate=measured.person_answers / measured.settled if measured.settled else None,
        mean_ring_seconds=float(measured.ring) if measured.ring is not None else None,
        mean_handle_seconds=float(measured.handle) if measured.handle is not None else None,
        samples=measured.settled, ledger_30d=rates["30d"][:2], ledger_24h=rates["24h"][:2],
    )


# The campaign's calls answered by a person and connected to an agent reserved before the dial (its
# PROGRESSIVE spells): never abandoned, and part of the regulators' denominator like every
# person-answered call of the campaign.
RESERVED_FIRST_SQL = text("""
    SELECT count(*) FILTER (WHERE a.hangup_time > :since_24h), count(*)
    FROM call_attempts a JOIN contacts c ON c.id = a.contact_id
    WHERE c.campaign_id = :campaign_id AND c.dialing_mode = 'PREDICTIVE' AND a.disposition = 'ANSWERED'
      AND a.hangup_time > :since_30d
      AND NOT EXISTS (SELECT 1 FROM predictive_calls p WHERE p.uuid = a.uuid)
""")


def ledger_rates(session, campaign_id, now):
    """{"30d": (answered, abandoned, rate), "24h": (...)}: the campaign's abandoned calls over every
    call of it answered by a person (the ledger's, and those connected to an agent reserved first)."""
    since = abandonment.windows(now)
    params = {"campaign_id": campaign_id, "since_24h": since["24h"], "since_30d": since["30d"]}
    counts = {"30d": {}, "24h": {}}
    for outcome, last_24h, last_30d in session.execute(LEDGER_SQL, params):
        counts["24h"][outcome], counts["30d"][outcome] = last_24h, last_30d
    reserved_24h, reserved_30d = session.execute(RESERVED_FIRST_SQL, params).one()
    for window, extra in (("24h", reserved_24h), ("30d", reserved_30d)):
        counts[window][abandonment.PERSON_CONNECTED] = counts[window].get(abandonment.PERSON_CONNECTED, 0) + extra
    return {window: abandonment.rate(found) for window, found in counts.items()}


def _agents(vc, settings, queue):
    try:
        body = vc.get_json(settings.vc_paths.agents, {"queue": queue})
        return {key: int(body[key]) for key in ("loggedIn", "ready", "busy", "wrapUp")}
    except (VcUnavailable, KeyError, TypeError, ValueError) as exc:
        log.warning("event=vc_agents_unknown queue=%s error=%s", queue, exc)
        return None


def _settings(policy, settings):
    predictive = policy.get("predictive") or {}
    return PacingSettings(abandon_target=predictive.get("abandon_target", 0.03),
                          max_dial_ratio=predictive.get("max_dial_ratio", 3.0),
                          interval_seconds=settings.predictive.pacing_seconds)
