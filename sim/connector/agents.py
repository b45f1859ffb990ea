"""The modelled agents of the contact centre: who is free, who is on a call, who is in wrap-up.

An agent is reserved for one call; it stays busy until the dialer reports the call over (then
`wrap_up` more seconds) or until `hold` seconds pass with no word at all, which is how a CCM
eventually reclaims an agent whose call was lost. Deadlines are checked lazily against a clock, so
there are no timers to cancel and tests can pass a fake clock.
"""

import random
import threading
import time
from dataclasses import dataclass

FREE, BUSY, WRAP_UP = "free", "busy", "wrap_up"
FIRST_EXTENSION = 2001


@dataclass
class _Agent:
    ext: str
    call: str | None = None
    busy_until: float = 0.0
    ended: bool = False


class AgentPool:
    def __init__(self, size, hold=60.0, wrap_up=0.5, seed=None, clock=time.monotonic):
        self._agents = [_Agent(str(FIRST_EXTENSION + i)) for i in range(size)]
        self._hold = hold
        self._wrap_up = wrap_up
        self._rng = random.Random(seed)
        self._clock = clock
        self._lock = threading.Lock()

    def reserve(self, call):
        """Reserve a free agent for `call` and return its extension, or None when nobody is free."""
        with self._lock:
            now = self._clock()
            free = [agent for agent in self._agents if self._refresh(agent, now) == FREE]
            if not free:
                return None
            # Random among the free ones, like a real queue; a seed makes the order repeatable.
            agent = self._rng.choice(free)
            agent.call, agent.busy_until, agent.ended = call, now + self._hold, False
            return agent.ext

    def end_call(self, call):
        """The call is over: its agent (if any, and not already in wrap-up) is free after wrap-up."""
        with self._lock:
            now = self._clock()
            for agent in self._agents:
                if agent.call == call and self._refresh(agent, now) == BUSY:
                    agent.busy_until, agent.ended = now + self._wrap_up, True
                    return agent.ext
            return None

    def cancel(self, call):
        """Free the agent at once: the call never happened (the dialer refused the reservation)."""
        with self._lock:
            for agent in self._agents:
                if agent.call == call:
                    agent.call, agent.ended = None, False
                    return agent.ext
            return None

    def snapshot(self):
        """`[{"ext", "state", "call"}]` as of now, in extension order."""
        with self._lock:
            now = self._clock()
            rows = []
            for agent in self._agents:
                state = self._refresh(agent, now)
                rows.append({"ext": agent.ext, "state": state, "call": None if state == FREE else agent.call})
            return rows

    @staticmethod
    def _refresh(agent, now):
        """The agent's state at `now`; an agent whose deadline has passed is freed here."""
        if agent.call is None:
            return FREE
        if now >= agent.busy_until:
            agent.call, agent.ended = None, False
            return FREE
        return WRAP_UP if agent.ended else BUSY
