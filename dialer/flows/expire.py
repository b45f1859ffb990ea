"""Contacts whose dialing window has closed are failed with result EXPIRED."""

from sqlalchemy import func, update

from dialer.adapters.models import Contact
from dialer.rules import states

EXPIRED = "EXPIRED"


def expire_contacts(session, now=None):
    """Pending contacts past their end_time → failed (EXPIRED). Returns how many changed."""
    now = now if now is not None else func.now()
    result = session.execute(
        update(Contact)
        .where(Contact.status == states.PENDING, Contact.end_time < now)
        .values(status=states.FAILED, call_result=EXPIRED, status_changed_at=func.now())
    )
    return result.rowcount
