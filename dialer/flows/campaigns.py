"""Campaigns: status for the campaign manager and operators."""

from datetime import UTC, datetime

from sqlalchemy import func, select, text

from dialer.adapters.models import Campaign, Contact
from dialer.flows.pacing import ledger_rates
from dialer.rules.states import ALL

# Pending contacts that wait for something besides a free slot (a window not worked out yet, for a
# contact that just arrived, is not counted as closed), and contacts kept from dialing by a
# do-not-call list (at intake, or listed since while pending).
WAITING_SQL = text("""
    SELECT
        count(*) FILTER (WHERE c.status = 'pending' AND w.changes_at IS NOT NULL
                         AND NOT coalesce(w.open_until > now(), false)) AS window,
        count(*) FILTER (WHERE c.status = 'pending' AND c.disposition IS NOT NULL
                         AND c.dial_after > now()) AS retry,
        count(*) FILTER (WHERE c.call_result = 'DNC' OR (c.status = 'pending' AND EXISTS (
            SELECT 1 FROM dnc_numbers d WHERE d.number = c.e164 AND d.campaign_id IN ('', c.campaign_id)))) AS dnc
    FROM contacts c
    LEFT JOIN calling_windows w ON w.campaign_id = c.campaign_id AND w.zone_key = c.zone_key
    WHERE c.campaign_id = :campaign_id
""")
# Every attempt's disposition (an attempt still ringing has none yet).
DISPOSITIONS_SQL = text("""
    SELECT a.disposition, count(*) FROM call_attempts a JOIN contacts c ON c.id = a.contact_id
    WHERE c.campaign_id = :campaign_id AND a.disposition IS NOT NULL GROUP BY a.disposition
""")


def campaign_status(session, campaign_id):
    """`{"campaign_id", "state", "counts": {<status>: n}, "settings_version", "waiting": {"window", "retry"},
    "dnc", "dispositions": {<class>: n}}` (every status present), or None if unknown."""
    campaign = session.execute(select(Campaign.state, Campaign.settings_version)
                               .where(Campaign.id == campaign_id)).first()
    if campaign is None:
        return None
    rows = session.execute(select(Contact.status, func.count())
                           .where(Contact.campaign_id == campaign_id).group_by(Contact.status))
    status = _status(campaign_id, campaign.state, rows)
    waiting = session.execute(WAITING_SQL, {"campaign_id": campaign_id}).one()
    status.update(
        settings_version=campaign.settings_version or 0,
        waiting={"window": waiting.window, "retry": waiting.retry},
        dnc=waiting.dnc,
        dispositions=dict(sorted(session.execute(DISPOSITIONS_SQL, {"campaign_id": campaign_id}).all())),
    )
    status.update(predictive_status(session, campaign_id))
    return status


PACING_SQL = text("SELECT mode, dial_ratio, reason, computed_at FROM campaign_pacing WHERE campaign_id = :campaign_id")
HAS_LEDGER_SQL = text("SELECT 1 FROM predictive_calls WHERE campaign_id = :campaign_id LIMIT 1")


def predictive_status(session, campaign_id, now=None):
    """For a campaign that dials predictively: `{"pacing": {"mode", "dial_ratio", "reason"},
    "abandonment": {"30d": {"answered", "abandoned", "rate"}, "24h": {...}}}`; {} for the others."""
    pacing = session.execute(PACING_SQL, {"campaign_id": campaign_id}).first()
    if pacing is None and session.execute(HAS_LEDGER_SQL, {"campaign_id": campaign_id}).first() is None:
        return {}
    rates = ledger_rates(session, campaign_id, now or datetime.now(UTC))
    found = {"abandonment": {window: {"answered": answered, "abandoned": abandoned, "rate": rate}
                             for window, (answered, abandoned, rate) in rates.items()}}
    if pacing is not None:
        found["pacing"] = {"mode": pacing.mode, "dial_ratio": round(pacing.dial_ratio, 2), "reason": pacing.reason,
                           "computed_at": pacing.computed_at.isoformat()}
    return found


def list_campaigns(session):
    """Every campaign's status, ordered by campaign id."""
    counts = {}
    rows = session.execute(select(Contact.campaign_id, Contact.status, func.count())
                           .group_by(Contact.campaign_id, Contact.status))
    for campaign_id, status, n in rows:
        counts.setdefault(campaign_id, []).append((status, n))
    campaigns = session.execute(select(Campaign.id, Campaign.state).order_by(Campaign.id))
    return [_status(campaign_id, state, counts.get(campaign_id, ())) for campaign_id, state in campaigns]


def _status(campaign_id, state, status_counts):
    counts = dict.fromkeys(ALL, 0)
    for status, n in status_counts:
        counts[status] = n
    return {"campaign_id": campaign_id, "state": state, "counts": counts}
