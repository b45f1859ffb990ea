"""What happens to a dialed number: the outcome model of the switch simulator.

By default the dialed number's last digit decides (0-5 answered, 6 busy, 7 no answer, 8 declined,
9 unallocated); a per-number override table beats that, and a seeded random mix can replace it for
load runs. Ring and talk times are drawn from a seeded generator, in simulated seconds.
"""

import random
from dataclasses import dataclass

ANSWERED = "answered"
NO_ANSWER = "no_answer"

# kind -> (FreeSWITCH hangup cause, SIP final status, SIP reason phrase), as sofia maps them.
REFUSALS = {
    "busy": ("USER_BUSY", 486, "Busy Here"),
    "rejected": ("CALL_REJECTED", 603, "Decline"),
    "unallocated": ("UNALLOCATED_NUMBER", 404, "Not Found"),
    "no_user_response": ("NO_USER_RESPONSE", 480, "Temporarily Unavailable"),
}
KINDS = (ANSWERED, NO_ANSWER, *REFUSALS)
BY_LAST_DIGIT = {
    **dict.fromkeys("012345", ANSWERED),
    "6": "busy",
    "7": NO_ANSWER,
    "8": "rejected",
    "9": "unallocated",
}
DEFAULT_MIX = {ANSWERED: 0.6, "busy": 0.1, NO_ANSWER: 0.15, "rejected": 0.1, "unallocated": 0.05}


@dataclass(frozen=True)
class Outcome:
    """One call's fate. Times are simulated seconds (the switch multiplies them by its time scale)."""

    kind: str
    ring_seconds: float
    talk_seconds: float = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown outcome {self.kind!r}; one of {', '.join(KINDS)}")


class OutcomeModel:
    """Decides each call's Outcome; `mode` is "last-digit" or "random" (weights in `mix`)."""

    def __init__(self, seed=None, mode="last-digit", mix=None, ring=(1.0, 6.0), talk=(5.0, 60.0)):
        if mode not in ("last-digit", "random"):
            raise ValueError(f"unknown outcome mode {mode!r}")
        self.mode = mode
        self.mix = dict(mix or DEFAULT_MIX)
        self.ring = ring
        self.talk = talk
        self.overrides = {}
        self._random = random.Random(seed)

    def set_outcome(self, number, kind, ring_seconds=None, talk_seconds=None):
        """Pin what happens when `number` is dialed (None times are drawn from the model)."""
        if kind not in KINDS:
            raise ValueError(f"unknown outcome {kind!r}; one of {', '.join(KINDS)}")
        self.overrides[number] = (kind, ring_seconds, talk_seconds)

    def clear_outcome(self, number):
        self.overrides.pop(number, None)

    def decide(self, number):
        kind, ring, talk = self.overrides.get(number, (self._kind_for(number), None, None))
        if ring is None:
            ring = self._random.uniform(*self.ring) if kind == ANSWERED else self._random.uniform(0.1, 1.0)
        if talk is None:
            talk = self._random.uniform(*self.talk) if kind == ANSWERED else 0.0
        return Outcome(kind, ring, talk)

    def _kind_for(self, number):
        if self.mode == "random":
            kinds = list(self.mix)
            return self._random.choices(kinds, weights=[self.mix[k] for k in kinds])[0]
        return BY_LAST_DIGIT.get(number[-1:], ANSWERED)
