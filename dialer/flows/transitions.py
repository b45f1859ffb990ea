"""The one way a contact moves between states (DESIGN.md "States").

Every transition is a conditional update: it names the state the contact must be in, so a
redelivered task, a second allocator or a duplicated event finds nothing to change.
"""

from sqlalchemy import func, update

from dialer.adapters.models import Contact


def transition(session, contact_id, expected, new_status, **values):
    """Move one contact from `expected` (a state or a tuple of states) to `new_status`.

    Returns True when this call made the change, False when the contact was not in `expected`.
    """
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    result = session.execute(
        update(Contact)
        .where(Contact.id == contact_id, Contact.status.in_(allowed))
        .values(status=new_status, status_changed_at=func.now(), **values)
    )
    return result.rowcount == 1
