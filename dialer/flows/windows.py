"""Calling windows (DESIGN.md "Campaign policy"): whether each campaign may call each zone set now.

Intake notes every (campaign, zone key) pair its contacts have in `calling_windows`. The allocation
tick works out, in Python, only the pairs whose answer may have changed (`changes_at` passed, the
settings changed, or new); the claim statement then reads one row per pair instead of working out
local time per contact. An open row holds the instant it closes (`open_until`), so it closes on the
dot without waiting for a tick; a closed one opens at the first tick after `changes_at`.
A campaign without calling hours is open until 'infinity', looked at again hourly (house rules in
DIALER_DEFAULT_POLICY may change with a restart).
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dialer.flows.policy_store import policies_for
from dialer.rules.calling_hours import window_state

ALWAYS_OPEN_RECHECK = timedelta(hours=1)
FOREVER = datetime.max.replace(tzinfo=UTC)  # stored as 'infinity'

STALE_SQL = text("""
    SELECT w.campaign_id, w.zone_key FROM calling_windows w JOIN campaigns k ON k.id = w.campaign_id
    WHERE w.changes_at IS NULL OR w.changes_at <= now()
       OR w.settings_version IS DISTINCT FROM coalesce(k.settings_version, 0)
    ORDER BY w.campaign_id, w.zone_key
""")
SAVE_SQL = text("""
    UPDATE calling_windows w
    SET open_until = CASE WHEN u.open_forever THEN 'infinity'::timestamptz ELSE u.open_until END,
        changes_at = u.changes_at, settings_version = u.version
    FROM unnest(CAST(:campaigns AS text[]), CAST(:zones AS text[]), CAST(:open_untils AS timestamptz[]),
                CAST(:forever AS bool[]), CAST(:changes AS timestamptz[]), CAST(:versions AS int[]))
         AS u(campaign_id, zone_key, open_until, open_forever, changes_at, version)
    WHERE w.campaign_id = u.campaign_id AND w.zone_key = u.zone_key
""")
NOTE_PAIRS_SQL = text("""
    INSERT INTO calling_windows (campaign_id, zone_key)
    SELECT * FROM unnest(CAST(:campaigns AS text[]), CAST(:zones AS text[]))
    ON CONFLICT DO NOTHING
""")
# A contact queued while its window was open is not dialed once it has closed.
CLOSED_SQL = text("""
    SELECT c.id FROM contacts c
    JOIN calling_windows w ON w.campaign_id = c.campaign_id AND w.zone_key = c.zone_key
    WHERE c.id = ANY(CAST(:ids AS text[])) AND (w.open_until IS NULL OR w.open_until <= now())
""")


def note_pairs(session, pairs):
    """Intake: the (campaign id, zone key) pairs of new contacts, so the tick works their windows out."""
    pairs = sorted(set(pairs))
    if pairs:
        session.execute(NOTE_PAIRS_SQL, {"campaigns": [p[0] for p in pairs], "zones": [p[1] for p in pairs]})


def refresh_windows(session, house_policy, now=None):
    """Work out the windows that may have changed; returns how many. Inside the tick's transaction.
    `house_policy`: the policy of campaigns without settings."""
    stale = session.execute(STALE_SQL).all()
    if not stale:
        return 0
    now = now or datetime.now(UTC)
    policies = policies_for(session, sorted({row.campaign_id for row in stale}), house_policy)
    columns = {"campaigns": [], "zones": [], "open_untils": [], "forever": [], "changes": [], "versions": []}
    for campaign_id, zone_key in stale:
        version, policy = policies[campaign_id]
        open_until, forever, changes_at = _window(policy, zone_key, now)
        for name, value in zip(columns, (campaign_id, zone_key, open_until, forever, changes_at, version),
                               strict=True):
            columns[name].append(value)
    session.execute(SAVE_SQL, columns)
    return len(stale)


def _window(policy, zone_key, now):
    """(open_until, open forever, changes_at) of one pair."""
    if policy.get("calling_hours") is None:
        return None, True, now + ALWAYS_OPEN_RECHECK
    state = window_state(policy["calling_hours"], policy.get("blocked_dates") or [], zone_key,
                         policy.get("fallback_timezone"), now)
    if state.open:
        return state.changes_at, state.changes_at is None, state.changes_at or now + ALWAYS_OPEN_RECHECK
    return None, False, state.changes_at


def closed_now(session, contact_ids):
    """The contacts among `contact_ids` whose calling window is closed right now."""
    if not contact_ids:
        return set()
    return set(session.execute(CLOSED_SQL, {"ids": list(contact_ids)}).scalars())
