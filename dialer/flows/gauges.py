"""What the store says at this moment, for the metrics export (dialer.adapters.metrics.StoreCollector):
read when Prometheus scrapes, a handful of grouped counts, never kept between scrapes."""

from dataclasses import dataclass, field

from sqlalchemy import text

from dialer.flows.allocator import OCCUPIED_SQL

CONTACTS_SQL = text("SELECT status, count(*) FROM contacts GROUP BY status")
# Both statuses off the partial index of undelivered messages; delivered ones are never counted.
OUTBOX_SQL = text("SELECT status, count(*) FROM outbox WHERE status IN ('pending', 'dead') GROUP BY status")
# Waiting for an operator; requeued and discarded ones are history.
FAILED_TASKS_SQL = text("SELECT count(*) FROM failed_tasks WHERE status = 'failed'")


@dataclass
class StoreGauges:
    contacts: dict = field(default_factory=dict)  # status -> contacts
    calls_in_progress: dict = field(default_factory=dict)  # switch -> slots taken
    outbox: dict = field(default_factory=dict)  # pending, dead -> messages
    failed_tasks: int = 0


def read_gauges(session):
    return StoreGauges(
        contacts=dict(session.execute(CONTACTS_SQL).all()),
        calls_in_progress={switch: count for switch, count in session.execute(OCCUPIED_SQL).all() if switch},
        outbox={"pending": 0, "dead": 0, **dict(session.execute(OUTBOX_SQL).all())},
        failed_tasks=session.execute(FAILED_TASKS_SQL).scalar_one(),
    )
