"""Contact states (DESIGN.md "States") and the one way to move between them.

Every transition is a conditional update: it names the state the contact must be in, so a
redelivered task, a second allocator or a duplicated event finds nothing to change.
"""

from sqlalchemy import func, update

from dialer.models import Contact
from dialer.validation import DIALING_MODES  # noqa: F401  (re-exported: the contact's modes)

PENDING = "pending"
QUEUED = "queued"  # ours: claimed by the allocator, originate task enqueued, not yet sent
AGENT_PENDING = "agent_pending"
DIALED = "dialed"
ENDED = "ended"
STOPPED = "stopped"
FAILED = "failed"
REMOVED = "removed"

ALL = (PENDING, QUEUED, AGENT_PENDING, DIALED, ENDED, STOPPED, FAILED, REMOVED)
OCCUPYING_A_SLOT = (AGENT_PENDING, QUEUED, DIALED)
FINAL = (ENDED, FAILED, REMOVED)

IVR = "IVR"
AGENT = "AGENT"
CAMPAIGN_TYPES = (IVR, AGENT)
ROUTING_MODES = ("AGENT", "QUEUE")

CAMPAIGN_RUNNING = "running"
CAMPAIGN_STOPPED = "stopped"


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
