"""The allocation tick (DESIGN.md "Dialing flow" 1-4): free slots, dialable counts, fair share,
and one claim statement that moves the allotted contacts to `queued` / `agent_pending`.

Ticks serialize on a transaction-level advisory lock, so two beats, or a beat tick and a tick
triggered by a hangup, never both count the same free slot. Claims use FOR UPDATE SKIP LOCKED
and the `status = 'pending'` condition, so no contact is ever claimed twice.
"""

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Boolean, Integer, String

from dialer.flows.policy_store import policies_for
from dialer.flows.windows import refresh_windows
from dialer.rules import states
from dialer.rules.allocation import fair_share, free_slots

ALLOCATOR_LOCK = 7_364_002
WINDOWS_LOCK = 7_364_003  # one tick at a time works the calling windows out

OCCUPIED_SQL = text("""
    SELECT switch_name, count(*) FROM contacts
    WHERE status IN ('queued', 'agent_pending', 'dialed') GROUP BY switch_name
""")

RECENT_CLAIMS_SQL = text("""
    SELECT switch_name, count(*) FROM contacts
    WHERE claimed_at > now() - make_interval(secs => :window) GROUP BY switch_name
""")

# A contact counts when its calling window is open (a campaign without calling hours is always
# open; a contact with no window row, from before windows existed, too).
DIALABLE_SQL = text("""
    SELECT c.campaign_id, count(*) FROM contacts c JOIN campaigns k ON k.id = c.campaign_id
    LEFT JOIN calling_windows w ON w.campaign_id = c.campaign_id AND w.zone_key = c.zone_key
    WHERE c.status = 'pending' AND k.state = 'running'
      AND c.dial_after <= now() AND c.end_time >= now()
      AND (w.campaign_id IS NULL OR w.open_until > now())
    GROUP BY c.campaign_id
""")

BACKLOG_SQL = text("SELECT campaign_id, dialable FROM dialable_backlog WHERE dialable > 0")
CLEAR_BACKLOG_SQL = text("DELETE FROM dialable_backlog")
SAVE_BACKLOG_SQL = text("""
    INSERT INTO dialable_backlog (campaign_id, dialable) SELECT * FROM unnest(:campaigns, :counts)
""").bindparams(bindparam("campaigns", type_=ARRAY(String)), bindparam("counts", type_=ARRAY(Integer)))
TAKE_FROM_BACKLOG_SQL = text("""
    UPDATE dialable_backlog b SET dialable = greatest(b.dialable - t.n, 0)
    FROM unnest(:campaigns, :counts) AS t(campaign_id, n) WHERE b.campaign_id = t.campaign_id
""").bindparams(bindparam("campaigns", type_=ARRAY(String)), bindparam("counts", type_=ARRAY(Integer)))

# What every claimed contact must pass besides its status and times: no do-not-call entry (global
# or its campaign's), and under its campaign's cap of calls per number per 24 h across campaigns
# (attempts refused before reaching the number do not count). Both are index probes per row.
_CLAIMABLE = """
    c.status = 'pending' AND c.dial_after <= now() AND c.end_time >= now()
    AND NOT EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.number = c.e164 AND d.campaign_id IN ('', c.campaign_id))
    AND (a.per_number IS NULL OR c.e164 IS NULL OR a.per_number > (
        SELECT count(*) FROM call_attempts x
        WHERE x.number = c.e164 AND x.created_at > now() - interval '24 hours'
          AND (x.disposition IS NULL OR x.disposition NOT IN ('GATEWAY', 'SWITCH_DOWN'))))
"""

# Each campaign's share is read in dialing order (priority, then FIFO): off ix_contacts_dialable
# for a campaign without calling hours; for one with hours, off ix_contacts_dialable_zone once per
# zone set whose window is open, merged in dialing order (a closed zone's contacts are never read,
# so half a million contacts outside their hours cost nothing). Row i of the claimed set goes to
# switch plan[i], so one statement also spreads the load.
CLAIM_SQL = text(f"""
    WITH allotment AS (
        SELECT * FROM unnest(:campaigns, :counts, :windowed, :per_number, :predictive)
               AS a(campaign_id, n, windowed, per_number, predictive)
    ), plain AS (
        SELECT p.id, a.predictive FROM allotment a CROSS JOIN LATERAL (
            SELECT c.id FROM contacts c
            WHERE c.campaign_id = a.campaign_id AND {_CLAIMABLE}
              AND NOT EXISTS (SELECT 1 FROM calling_windows w WHERE w.campaign_id = c.campaign_id
                              AND w.zone_key = c.zone_key AND NOT coalesce(w.open_until > now(), false))
            ORDER BY c.priority, c.received_time, c.id
            LIMIT a.n
            FOR UPDATE SKIP LOCKED
        ) p
        WHERE NOT a.windowed
    ), zoned AS (
        SELECT p.id, a.n, a.predictive, row_number() OVER (
            PARTITION BY a.campaign_id ORDER BY p.priority, p.received_time, p.id) AS rank
        FROM allotment a
        JOIN calling_windows w ON w.campaign_id = a.campaign_id AND w.open_until > now()
        CROSS JOIN LATERAL (
            SELECT c.id, c.priority, c.received_time FROM contacts c
            WHERE c.campaign_id = a.campaign_id AND c.zone_key = w.zone_key AND {_CLAIMABLE}
            ORDER BY c.priority, c.received_time, c.id
            LIMIT a.n
            FOR UPDATE SKIP LOCKED
        ) p
        WHERE a.windowed
    ), picked AS (
        SELECT id, predictive, row_number() OVER () AS slot
        FROM (SELECT id, predictive FROM plain UNION ALL SELECT id, predictive FROM zoned WHERE rank <= n) chosen
        -- never cuts a row (the allotment sums to :total); it tells the planner how few rows
        -- come out, so the UPDATE joins by primary key instead of scanning every contact
        LIMIT :total
    )
    UPDATE contacts c
    -- an agent contact waits for an agent first, unless its campaign dials predictively right now
    SET status = CASE WHEN c.campaign_type = 'AGENT'
                       AND NOT (picked.predictive AND c.dialing_mode = 'PREDICTIVE') THEN 'agent_pending'
                      ELSE 'queued' END,
        status_changed_at = now(), claimed_at = now(),
        switch_name = (:plan)[picked.slot]
    FROM picked WHERE c.id = picked.id AND c.status = 'pending'
    RETURNING c.id, c.campaign_id, c.campaign_type, c.switch_name, c.status
""").bindparams(
    bindparam("campaigns", type_=ARRAY(String)),
    bindparam("counts", type_=ARRAY(Integer)),
    bindparam("windowed", type_=ARRAY(Boolean)),
    bindparam("per_number", type_=ARRAY(Integer)),
    bindparam("predictive", type_=ARRAY(Boolean)),
    bindparam("plan", type_=ARRAY(String)),
)


@dataclass
class Claim:
    contact_id: str
    campaign_id: str
    campaign_type: str
    switch_name: str
    status: str  # queued (dial it now) or agent_pending (reserve an agent first)


@dataclass
class TickResult:
    free_slots: dict = field(default_factory=dict)
    allotment: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)

    def ivr_by_switch(self):
        """The contacts to dial now (IVR, and predictive agent contacts), by switch."""
        grouped = {}
        for claim in self.claims:
            if claim.status == states.QUEUED:
                grouped.setdefault(claim.switch_name, []).append(claim.contact_id)
        return grouped

    def agent_contacts(self):
        """The contacts that wait for an agent before they are dialed."""
        return [c.contact_id for c in self.claims if c.status == states.AGENT_PENDING]


def switch_plan(free):
    """Round-robin over the switches that still have free slots, so load spreads across them."""
    plan, left = [], dict(sorted(free.items()))
    while any(left.values()):
        for name, slots in left.items():
            if slots:
                plan.append(name)
                left[name] = slots - 1
    return plan


def allocate(session, switches, rate_window=1.0, count_dialable=True, house_policy=None):
    """One tick, inside the caller's transaction (commit, then enqueue what it returns).

    `count_dialable`: count dialable contacts afresh (the beat's tick) rather than read the
    backlog the last such tick left (the ticks that refill a slot right after a hangup). The
    beat's tick also works out the calling windows that may have changed, first. `house_policy`:
    the policy of campaigns without settings (DIALER_DEFAULT_POLICY).
    """
    house_policy = house_policy or {}
    if count_dialable:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WINDOWS_LOCK})
        refresh_windows(session, house_policy)
    # Counted before the allocator lock: the count is the slow part and need not be exact (the
    # claim statement checks every contact it takes), so other ticks do not wait for it.
    fresh = dict(session.execute(DIALABLE_SQL).all()) if count_dialable else None
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALLOCATOR_LOCK})
    if fresh is not None:
        _save_backlog(session, fresh)
    occupied = dict(session.execute(OCCUPIED_SQL).all())
    recent = dict(session.execute(RECENT_CLAIMS_SQL, {"window": rate_window}).all())
    result = TickResult(free_slots={
        s.name: free_slots(s.capacity, occupied.get(s.name, 0), s.cps, rate_window, recent.get(s.name, 0))
        for s in switches
    })
    total = sum(result.free_slots.values())
    if total == 0:
        return result
    dialable = fresh if fresh is not None else dict(session.execute(BACKLOG_SQL).all())
    paced, reserving = _predictive_room(session)
    for campaign_id, room in paced.items():  # a predictive campaign dials no further ahead than its pacing
        if campaign_id in dialable:
            dialable[campaign_id] = min(dialable[campaign_id], room)
    for campaign_id, ready in reserving.items():  # nor asks the VC for more agents than it has ready
        if campaign_id in dialable:
            dialable[campaign_id] = min(dialable[campaign_id], ready)
    result.allotment = fair_share(total, {c: n for c, n in dialable.items() if n > 0})
    if not result.allotment:
        return result
    campaigns = sorted(result.allotment)
    policies = policies_for(session, campaigns, house_policy)
    rows = session.execute(CLAIM_SQL, {
        "campaigns": campaigns,
        "counts": [result.allotment[c] for c in campaigns],
        "windowed": [policies[c][1].get("calling_hours") is not None for c in campaigns],
        "per_number": [policies[c][1].get("max_calls_per_number_24h") for c in campaigns],
        "predictive": [c in paced for c in campaigns],
        "plan": switch_plan(result.free_slots)[: sum(result.allotment.values())],
        "total": sum(result.allotment.values()),
    }).all()
    result.claims = [Claim(*row) for row in rows]
    claimed = Counter(claim.campaign_id for claim in result.claims)
    session.execute(TAKE_FROM_BACKLOG_SQL, {"campaigns": list(claimed), "counts": list(claimed.values())})
    return result


# Predictive campaigns whose pacing is fresh: how many more calls each may have in flight now
# (queued, or dialed and not yet answered or waiting for an agent, or still reserving one from when
# the campaign ran PROGRESSIVE). A campaign whose pacing is stale or PROGRESSIVE is not here: its
# contacts wait for an agent first.
PREDICTIVE_ROOM_SQL = text("""
    SELECT p.campaign_id, greatest(p.calls_target - coalesce(q.n, 0) - coalesce(l.n, 0), 0)
    FROM campaign_pacing p
    LEFT JOIN (SELECT campaign_id, count(*) AS n FROM contacts
               WHERE status IN ('queued', 'agent_pending') AND dialing_mode = 'PREDICTIVE'
               GROUP BY campaign_id) q
           ON q.campaign_id = p.campaign_id
    LEFT JOIN (SELECT campaign_id, count(*) AS n FROM predictive_calls
               WHERE state IN ('dialed', 'held') AND ended_at IS NULL GROUP BY campaign_id) l
           ON l.campaign_id = p.campaign_id
    WHERE p.mode = 'PREDICTIVE' AND p.computed_at > now() - make_interval(secs => :fresh)
""")
PACING_FRESH_SECONDS = 30


# A paced campaign running PROGRESSIVE reserves an agent per contact: claiming more contacts than the
# VC has agents ready only has the VC answer "none" and the contacts come back (and, at the switch to
# dialing ahead, their reservations take the agents the customers answering then need).
RESERVE_ROOM_SQL = text("""
    SELECT campaign_id, agents_ready FROM campaign_pacing
    WHERE mode = 'PROGRESSIVE' AND agents_ready IS NOT NULL AND computed_at > now() - make_interval(secs => :fresh)
""")


def _predictive_room(session):
    """({predictive campaign: calls it may add}, {paced progressive campaign: reservations it may ask})."""
    if session.execute(text("SELECT 1 FROM campaign_pacing LIMIT 1")).first() is None:
        return {}, {}
    fresh = {"fresh": PACING_FRESH_SECONDS}
    return (dict(session.execute(PREDICTIVE_ROOM_SQL, fresh).all()),
            dict(session.execute(RESERVE_ROOM_SQL, fresh).all()))


def _save_backlog(session, counts):
    session.execute(CLEAR_BACKLOG_SQL)
    if counts:
        session.execute(SAVE_BACKLOG_SQL, {"campaigns": list(counts), "counts": list(counts.values())})
