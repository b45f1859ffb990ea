"""Contact states (DESIGN.md "States"), campaign types and modes: names only (moves: dialer.flows.transitions)."""

from dialer.rules.validation import DIALING_MODES  # noqa: F401  (re-exported: the contact's modes)

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
