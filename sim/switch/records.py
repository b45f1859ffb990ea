"""What the switch saw of the calls predictive dialing cares about, for tests and benchmarks to hold
against the dialer's own account: who answered, how long a customer waited on hold, where and when
each call was transferred, how it ended. Times are `time.monotonic()` (one clock for every process on
the host) or, where named `_seconds`, simulated seconds (wall time divided by the time scale).

Only calls that matter get a record: answered with an AMD result (the predictive mode, or a pinned
"person"/"machine"), parked on the hold extension, or transferred; a load run keeps none.
"""

from dataclasses import dataclass
from typing import NamedTuple

COUNTERS = ("person_answers", "machine_answers", "transfers_to_agent", "transfers_to_abandon", "held_hangups")


class Transfer(NamedTuple):
    """One uuid_transfer the switch carried out."""

    uuid: str
    destination: str
    at_monotonic: float
    answered_at_monotonic: float | None  # None: the call was still ringing


class Broadcast(NamedTuple):
    """One uuid_broadcast the switch accepted."""

    uuid: str
    path: str
    legs: str
    at_monotonic: float


@dataclass
class CallRecord:
    uuid: str
    number: str
    answered_by: str | None = None  # "person", "machine", or None (no AMD result)
    answered_at: float | None = None  # monotonic
    ring_seconds: float | None = None
    talk_seconds: float | None = None
    patience_seconds: float | None = None
    parked_at: float | None = None  # monotonic, when it (last) parked on the hold extension
    held_seconds: float | None = None  # on hold before a transfer (or hangup) took it off, simulated s
    transferred_to: str | None = None  # the last uuid_transfer destination
    transferred_at: float | None = None  # monotonic
    hung_up_on_hold: bool = False  # the far end ended it on hold: a person's patience, a machine's message
    cause: str | None = None  # Hangup-Cause once ended
    hung_up_by: str | None = None  # "switch" (send_bye) or "far_end" (recv_bye)
    ended_at: float | None = None  # monotonic
