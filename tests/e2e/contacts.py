"""Contact payloads (flat form) and store queries for end-to-end tests."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from dialer.adapters.models import CallAttempt, Contact

# The switch simulator decides a call's fate by the number's last digit.
ANSWERED, BUSY, NO_ANSWER, DECLINED, UNALLOCATED = "1000", "1006", "1007", "1008", "1009"
EXPECTED_RESULT = {
    ANSWERED: "NORMAL_CLEARING", BUSY: "USER_BUSY", NO_ANSWER: "NO_ANSWER", DECLINED: "CALL_REJECTED",
    UNALLOCATED: "UNALLOCATED_NUMBER",
}


def contact(campaign_id, number=ANSWERED, campaign_type="IVR", gateway_id="gw1", priority=5, **fields):
    now = datetime.now(UTC)
    body = {
        "id": str(uuid.uuid4()),
        "customer_number": number,
        "campaign_type": campaign_type,
        "gateway_id": gateway_id,
        "campaign_id": campaign_id,
        "start_time": (now - timedelta(hours=1)).isoformat(),
        "end_time": (now + timedelta(hours=1)).isoformat(),
        "priority": priority,
    }
    if campaign_type == "AGENT":
        body.update(dialing_mode="PROGRESSIVE", routing_mode="QUEUE", queue_name="Sales Queue",
                    service_identifier="1218")
    body.update(fields)
    return body


def contacts(campaign_id, count, numbers=(ANSWERED,), **fields):
    return [contact(campaign_id, number=numbers[i % len(numbers)], **fields) for i in range(count)]


def rows(engine, ids=None):
    with engine.connect() as connection:
        query = select(Contact)
        if ids is not None:
            query = query.where(Contact.id.in_(ids))
        return {row.id: row for row in connection.execute(query).all()}


def attempts(engine):
    with engine.connect() as connection:
        return connection.execute(select(CallAttempt).order_by(CallAttempt.id)).all()


def statuses(engine, ids=None):
    return {cid: row.status for cid, row in rows(engine, ids).items()}


def all_in(engine, ids, wanted):
    wanted = {wanted} if isinstance(wanted, str) else set(wanted)
    current = statuses(engine, ids)
    return len(current) == len(ids) and all(status in wanted for status in current.values())
