"""Campaign controls (spec "Additional Functions") and the ongoing-calls figure."""

from sqlalchemy import func, select, update

from dialer.adapters.models import Campaign, Contact
from dialer.rules import states


def _move(session, campaign_id, from_statuses, to_status, campaign_state=None):
    """Returns the number of contacts changed, or None when the campaign is unknown."""
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        return None
    if campaign_state is not None:
        campaign.state, campaign.updated_at = campaign_state, func.now()
    result = session.execute(
        update(Contact).where(Contact.campaign_id == campaign_id, Contact.status.in_(from_statuses))
        .values(status=to_status, status_changed_at=func.now())
    )
    session.commit()
    return result.rowcount


def stop_campaign(session, campaign_id):
    """pending → stopped; calls already in flight finish normally."""
    return _move(session, campaign_id, (states.PENDING,), states.STOPPED, states.CAMPAIGN_STOPPED)


def start_campaign(session, campaign_id):
    """stopped → pending, and the campaign dials again."""
    return _move(session, campaign_id, (states.STOPPED,), states.PENDING, states.CAMPAIGN_RUNNING)


def purge_campaign(session, campaign_id):
    """pending and stopped contacts are removed (kept as `removed` for the record)."""
    return _move(session, campaign_id, (states.PENDING, states.STOPPED), states.REMOVED)


def requeue_by_result(session, campaign_id, results):
    """Final contacts (`ended`, `failed`) with one of `results` as their call_result go back to
    `pending` for a new attempt: the operator's decision (e.g. after LOST, where the dialer could
    not know whether the customer was rung, or SWITCH_DOWN once the switch is back). Returns the
    number changed, or None when the campaign is unknown."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    result = session.execute(
        update(Contact).where(Contact.campaign_id == campaign_id, Contact.status.in_((states.ENDED, states.FAILED)),
                              Contact.call_result.in_(list(results)))
        .values(status=states.PENDING, status_changed_at=func.now(), call_result=None, dial_after=func.now(),
                switch_name=None, missing_since=None)
    )
    session.commit()
    return result.rowcount


def ongoing_calls(session, settings):
    counts = dict(session.execute(
        select(Contact.status, func.count()).where(Contact.status.in_(states.OCCUPYING_A_SLOT))
        .group_by(Contact.status)
    ).all())
    occupied = sum(counts.values())
    return {
        "ongoing": counts.get(states.DIALED, 0),
        "occupied": occupied,
        "capacity": settings.capacity,
        "free": max(settings.capacity - occupied, 0),
        "by_status": {status: counts.get(status, 0) for status in states.OCCUPYING_A_SLOT},
    }
