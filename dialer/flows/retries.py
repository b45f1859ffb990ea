"""Retries by disposition (DESIGN.md "Campaign policy"): a contact whose attempt just ended goes back
to `pending` with `dial_after` at its next attempt time when its campaign's policy says so, else it
stays final. The time is in PostgreSQL (never a Celery countdown), so a restart loses no retry.

Called inside the transaction that recorded the result, after the contact was closed and its
`disposition_counts` counted the result, so the decision and the result commit together.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import text

from dialer.flows.policy_store import policies_for
from dialer.rules.policy import next_attempt_delay

log = logging.getLogger(__name__)

# Closed contacts the policy retries: back to pending, in one statement for the batch. The status
# condition keeps a contact some other step already moved (stopped, purged) where it is.
RETRY_SQL = text("""
    UPDATE contacts c
    SET status = 'pending', status_changed_at = now(), switch_name = NULL,
        dial_after = now() + make_interval(secs => r.delay)
    FROM unnest(CAST(:ids AS text[]), CAST(:delays AS float8[])) AS r(id, delay)
    WHERE c.id = r.id AND c.status IN ('ended', 'failed')
    RETURNING c.id, c.dial_after
""")

# A result that did not come through the hangup statement (a job result, a failure at dial time,
# reconcile's LOST): its class counted on the contact, as ENDED_SQL does. (The caller notes it on
# the attempt, if the attempt exists: a failure before the bgapi has none.)
COUNT_SQL = text("""
    UPDATE contacts c
    SET disposition = r.disposition,
        disposition_counts = c.disposition_counts || jsonb_build_object(
            r.disposition, coalesce((c.disposition_counts ->> r.disposition)::int, 0) + 1)
    FROM unnest(CAST(:ids AS text[]), CAST(:dispositions AS text[])) AS r(id, disposition), campaigns k
    WHERE c.id = r.id AND k.id = c.campaign_id
    RETURNING c.id, c.campaign_id, c.disposition, c.disposition_counts,
              k.settings_version AS campaign_settings_version
""")


@dataclass(frozen=True)
class Closed:
    """A contact whose attempt just closed, as the retry decision needs it."""

    contact_id: str
    campaign_id: str
    disposition: str
    disposition_counts: dict
    has_settings: bool = True  # the campaign has settings of its own (False: the house policy alone)

    @property
    def times_in_class(self):
        return int(self.disposition_counts.get(self.disposition, 0))

    @property
    def attempts_made(self):
        return sum(int(n) for n in self.disposition_counts.values())


def closed_rows(rows):
    """Rows with id, campaign_id, disposition, disposition_counts and campaign_settings_version → Closed."""
    return [Closed(row.id, row.campaign_id, row.disposition, row.disposition_counts or {},
                   row.campaign_settings_version is not None) for row in rows]


def count_dispositions(session, dispositions):
    """{contact id: disposition} of results recorded outside the hangup statement → Closed rows."""
    if not dispositions:
        return []
    ids = list(dispositions)
    return closed_rows(session.execute(COUNT_SQL, {"ids": ids, "dispositions": [dispositions[i] for i in ids]}))


def schedule_retries(session, settings, closed):
    """Put back to pending the closed contacts their policy retries; returns {contact id: dial_after}."""
    # Most batches: campaigns without settings under house rules that retry nothing. Known from the
    # rows the recording statement returned, so they cost no query here.
    if not closed or (not settings.default_policy.get("retries") and not any(c.has_settings for c in closed)):
        return {}
    policies = policies_for(session, sorted({c.campaign_id for c in closed}), settings.default_policy)
    delays = {}
    for contact in closed:
        _version, policy = policies[contact.campaign_id]
        delay = next_attempt_delay(policy, contact.disposition, contact.times_in_class, contact.attempts_made)
        if delay is not None:
            delays[contact.contact_id] = float(delay)
    if not delays:
        return {}
    ids = list(delays)
    retried = dict(session.execute(RETRY_SQL, {"ids": ids, "delays": [delays[i] for i in ids]}).all())
    log.info("event=retries_scheduled contacts=%d ids=%s", len(retried), ",".join(sorted(retried)[:10]))
    return retried
