"""Versioned campaign settings in PostgreSQL (DESIGN.md "Campaign policy").

Every change is a new `campaign_settings` row (version = previous + 1) and `campaigns.settings_version`
points at the one in force; a call attempt records the version it was dialed under. Rows hold the
campaign's own normalised document; the effective policy (DEFAULTS, house rules, campaign) is laid
together on reading, so a change of DIALER_DEFAULT_POLICY applies to every campaign at once.
"""

import logging

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert

from dialer.adapters.models import Campaign, CampaignSettings
from dialer.rules.policy import effective_policy, parse_policy

log = logging.getLogger(__name__)
NO_SETTINGS = 0  # the version of a campaign that has none: the house defaults


def save_settings(session, campaign_id, document):
    """Validate `document` (InvalidPolicy names the bad fields) and store it as the campaign's next
    version, creating the campaign (running) if it has no contacts yet. Returns the version; the
    caller commits.

    The campaign row is locked FOR UPDATE first, so two concurrent saves take turns and never pick
    the same version.
    """
    settings = parse_policy(document)
    campaigns = Campaign.__table__
    session.execute(insert(campaigns).values(id=campaign_id).on_conflict_do_nothing())
    session.execute(select(campaigns.c.id).where(campaigns.c.id == campaign_id).with_for_update())
    latest = session.scalar(select(func.max(CampaignSettings.version))
                            .where(CampaignSettings.campaign_id == campaign_id))
    version = (latest or NO_SETTINGS) + 1
    session.execute(insert(CampaignSettings.__table__)
                    .values(campaign_id=campaign_id, version=version, settings=settings))
    session.execute(update(campaigns).where(campaigns.c.id == campaign_id)
                    .values(settings_version=version, updated_at=func.now()))
    log.info("event=campaign_settings_saved campaign_id=%s version=%d keys=%s",
             campaign_id, version, ",".join(settings) or "-")
    return version


def load_settings(session, campaign_id, house):
    """The campaign's effective policy plus `"version"` (0: no settings of its own), or None if unknown."""
    rows = session.execute(_in_force([campaign_id])).all()
    if not rows:
        return None
    _, version, settings = rows[0]
    return {**effective_policy(settings, house), "version": version or NO_SETTINGS}


def policies_for(session, campaign_ids, house):
    """{campaign_id: (version, effective policy)} for every id asked for, in one query.

    A campaign without settings of its own (or not stored at all) gets (0, the house policy).
    """
    wanted = sorted(set(campaign_ids))
    if not wanted:
        return {}
    found = {campaign_id: (version, settings)
             for campaign_id, version, settings in session.execute(_in_force(wanted))}
    policies = {}
    for campaign_id in wanted:
        version, settings = found.get(campaign_id, (None, None))
        policies[campaign_id] = (version or NO_SETTINGS, effective_policy(settings, house))
    return policies


def _in_force(campaign_ids):
    """(campaign id, version in force or None, its settings or None) of the stored campaigns among the ids."""
    return (select(Campaign.id, Campaign.settings_version, CampaignSettings.settings)
            .outerjoin(CampaignSettings, and_(CampaignSettings.campaign_id == Campaign.id,
                                              CampaignSettings.version == Campaign.settings_version))
            .where(Campaign.id.in_(campaign_ids)))
