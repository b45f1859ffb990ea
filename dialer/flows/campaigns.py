"""Campaigns: status for the campaign manager and operators (controls come later, here too)."""

from sqlalchemy import func, select

from dialer.adapters.models import Campaign, Contact
from dialer.rules.states import ALL


def campaign_status(session, campaign_id):
    """`{"campaign_id", "state", "counts": {<status>: n}}` (every status present), or None if unknown."""
    state = session.scalar(select(Campaign.state).where(Campaign.id == campaign_id))
    if state is None:
        return None
    rows = session.execute(select(Contact.status, func.count())
                           .where(Contact.campaign_id == campaign_id).group_by(Contact.status))
    return _status(campaign_id, state, rows)


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
