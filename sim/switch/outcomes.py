"""What happens to a dialed number: the outcome model of the switch simulator.

By default the dialed number's last digit decides (0-5 answered, 6 busy, 7 no answer, 8 declined,
9 unallocated); a per-number override table beats that, a seeded random mix can replace it for
load runs, and the predictive mix (predictive.py) says who answers (a person or a machine), when,
for how long, and how long a held person waits. Times are simulated seconds.
"""

import random
import uuid as uuid_module
from collections import Counter
from dataclasses import dataclass

from sim.switch.predictive import ANSWERERS, PERSON, PredictiveMix, call_generator

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
PINNABLE = (*KINDS, *ANSWERERS)  # "person" and "machine" are answered calls with who answered
MODES = ("last-digit", "random", "predictive")
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
    answered_by: str | None = None  # "person" or "machine" (the AMD result), None: not said
    patience_seconds: float | None = None  # how long a person held on the hold extension waits

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown outcome {self.kind!r}; one of {', '.join(KINDS)}")


class OutcomeModel:
    """Decides each call's Outcome; `mode` is "last-digit", "random" (weights in `mix`) or
    "predictive" (`predictive`, a PredictiveMix: each call drawn from its own seeded generator)."""

    def __init__(
        self, seed=None, mode="last-digit", mix=None, ring=(1.0, 6.0), talk=(5.0, 60.0), predictive=None
    ):
        if mode not in MODES:
            raise ValueError(f"unknown outcome mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.mix = dict(mix or DEFAULT_MIX)
        self.ring = ring
        self.talk = talk
        self.predictive = predictive or PredictiveMix()
        self.overrides = {}
        self._random = random.Random(seed)
        self._seed_text = str(seed) if seed is not None else str(uuid_module.uuid4())
        self._dials = Counter()  # number -> times dialed, for the predictive per-call generators

    def set_outcome(self, number, kind, ring_seconds=None, talk_seconds=None, patience_seconds=None):
        """Pin what happens when `number` is dialed (None times are drawn from the model); "person"
        and "machine" are answered calls with that AMD result."""
        if kind not in PINNABLE:
            raise ValueError(f"unknown outcome {kind!r}; one of {', '.join(PINNABLE)}")
        self.overrides[number] = (kind, ring_seconds, talk_seconds, patience_seconds)

    def clear_outcome(self, number):
        self.overrides.pop(number, None)

    def forget_dials(self):
        """Start the predictive draws afresh: the next dial of a number is its first again."""
        self._dials.clear()

    def decide(self, number):
        if self.mode == "predictive":
            self._dials[number] += 1
            rng = call_generator(self._seed_text, number, self._dials[number])
            if number not in self.overrides:
                kind, ring, talk, answered_by = self.predictive.draw(rng)
                return self._outcome(kind, ring, talk, answered_by, None)
            return self._pinned(number, rng, self.predictive.ring, self.predictive.talk)
        if number in self.overrides:
            return self._pinned(number, self._random, lambda r: r.uniform(*self.ring), lambda r: r.uniform(*self.talk))
        kind = self._kind_for(number)
        ring = self._random.uniform(*self.ring) if kind == ANSWERED else self._random.uniform(0.1, 1.0)
        talk = self._random.uniform(*self.talk) if kind == ANSWERED else 0.0
        return Outcome(kind, ring, talk)

    def _pinned(self, number, rng, draw_ring, draw_talk):
        kind, ring, talk, patience = self.overrides[number]
        answered_by = kind if kind in ANSWERERS else None
        if kind == ANSWERED and self.mode == "predictive":
            answered_by = PERSON
        kind = ANSWERED if answered_by else kind
        if ring is None:
            ring = draw_ring(rng) if kind == ANSWERED else rng.uniform(0.1, 1.0)
        if talk is None:
            talk = draw_talk(rng) if kind == ANSWERED else 0.0
        return self._outcome(kind, ring, talk, answered_by, patience)

    def _outcome(self, kind, ring, talk, answered_by, patience):
        if answered_by == PERSON and patience is None:
            patience = self.predictive.patience
        return Outcome(kind, ring, talk, answered_by, patience)

    def _kind_for(self, number):
        if self.mode == "random":
            kinds = list(self.mix)
            return self._random.choices(kinds, weights=[self.mix[k] for k in kinds])[0]
        return BY_LAST_DIGIT.get(number[-1:], ANSWERED)
