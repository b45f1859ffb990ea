"""The predictive outcome mix: who answers an outbound call, after how long, and for how long.

Per call: a person answers with probability `person_share` after a ring time uniform in [ring_min,
ring_max], else a machine with `machine_share` (same ring time), else busy with `busy_share`, else
nobody answers (the call rings until its originate_timeout). Talk time (a person's conversation, a
machine's message) is exponential with mean `talk_mean`; a person held on the hold extension hangs
up after `patience` seconds. All in simulated seconds (the switch multiplies them by its time scale).

Each call draws from its own generator, seeded by (seed, number, how often that number was dialed),
so a seeded run gives every contact the same fate whatever order the dialer calls them in: the same
workload for two dialing modes, and the same outcomes for the same seed.
"""

import random
from dataclasses import dataclass, fields

PERSON, MACHINE = "person", "machine"
ANSWERERS = (PERSON, MACHINE)
BUSY_RING = (0.1, 1.0)  # seconds before a 486, as the other refusals


@dataclass(frozen=True)
class PredictiveMix:
    person_share: float = 0.35
    machine_share: float = 0.10
    busy_share: float = 0.05
    ring_min: float = 4.0
    ring_max: float = 20.0
    talk_mean: float = 60.0
    patience: float = 10.0

    def __post_init__(self):
        for name in ("person_share", "machine_share", "busy_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.person_share + self.machine_share + self.busy_share > 1.0 + 1e-9:
            raise ValueError("person_share + machine_share + busy_share must not exceed 1")
        if not 0.0 <= self.ring_min <= self.ring_max:
            raise ValueError("ring_min and ring_max must satisfy 0 <= ring_min <= ring_max")
        if self.talk_mean <= 0:
            raise ValueError("talk_mean must be > 0")
        if self.patience < 0:
            raise ValueError("patience must be >= 0")

    def replace(self, **changes):
        """A copy with `changes` (the names of the fields; None values are ignored)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown predictive setting(s): {', '.join(sorted(unknown))}")
        values = {name: getattr(self, name) for name in known}
        values.update({k: float(v) for k, v in changes.items() if v is not None})
        return PredictiveMix(**values)

    def ring(self, rng):
        return rng.uniform(self.ring_min, self.ring_max)

    def talk(self, rng):
        return rng.expovariate(1.0 / self.talk_mean)

    def draw(self, rng):
        """(kind, ring s, talk s, answered_by) of one call; kind as in outcomes.py."""
        share, ring, talk = rng.random(), self.ring(rng), self.talk(rng)
        if share < self.person_share:
            return "answered", ring, talk, PERSON
        if share < self.person_share + self.machine_share:
            return "answered", ring, talk, MACHINE
        if share < self.person_share + self.machine_share + self.busy_share:
            return "busy", rng.uniform(*BUSY_RING), 0.0, None
        return "no_answer", 0.0, 0.0, None


def call_generator(seed_text, number, dial_count):
    """The generator of one call: the same (seed, number, nth dial) always draws the same."""
    return random.Random(f"{seed_text}/{number}/{dial_count}")
