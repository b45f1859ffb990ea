"""Rows for tests that need contacts in the store without going through intake."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dialer.adapters.models import Campaign, Contact


def add_campaign(session, campaign_id, state="running"):
    session.execute(pg_insert(Campaign).values(id=campaign_id, state=state).on_conflict_do_nothing())


def add_contacts(session, campaign_id, count, campaign_type="IVR", number="1000", status="pending",
                 priority=5, gateway_id="gw1", received_time=None, **columns):
    """`count` contacts; `number` may be a callable index -> number (to force outcomes)."""
    add_campaign(session, campaign_id)
    now = datetime.now(UTC)
    start = received_time or now
    rows = []
    for index in range(count):
        row = dict(
            id=str(uuid.uuid4()), customer_number=number(index) if callable(number) else number,
            campaign_type=campaign_type, gateway_id=gateway_id, status=status, campaign_id=campaign_id,
            start_time=now - timedelta(hours=1), end_time=now + timedelta(hours=1), priority=priority,
            dial_after=now - timedelta(hours=1), received_time=start + timedelta(microseconds=index),
        )
        if campaign_type == "AGENT":
            row.update(dialing_mode="PROGRESSIVE", routing_mode="QUEUE", queue_name="Sales Queue",
                       resource_id="q-1", service_identifier="1218")
        row.update(columns)
        rows.append(row)
    if rows:
        session.execute(insert(Contact), rows)
    session.commit()
    return [row["id"] for row in rows]
