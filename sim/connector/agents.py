"""The modelled agents of the contact centre: who is ready, who is on a call, who is in wrap-up.

Every agent logs in when the pool is made and stays logged in. An agent is reserved for one call
at a time; it stays busy until the dialer reports the call over (then `wrap_up` more seconds) or
until `hold` seconds pass with no word at all, which is how a CCM eventually reclaims an agent whose
call was lost. Deadlines are checked lazily against a clock, so there are no timers to cancel and
tests can pass a fake clock.

Every reservation is kept as an assignment (reserved, reported over, free again), so the pool can
say how long each agent was busy and in wrap-up, and a test can check that no agent ever had two
calls at once.
"""

import random
import threading
import time
from dataclasses import dataclass

from sim.connector.journal import now_iso

FREE, BUSY, WRAP_UP = "free", "busy", "wrap_up"
FIRST_EXTENSION = 2001

# How an assignment ended: the dialer reported the call over, nobody did (hold timeout), or the
# dialer refused the agent so the call never happened.
REPORTED, HOLD, CANCELLED = "reported", "hold", "cancelled"


@dataclass
class _Assignment:
    ext: str
    call: str
    reserved_at: float
    free_at: float  # a deadline while open (hold, then end of wrap-up); when it was freed once passed
    ended_at: float | None = None  # when the dialer reported the call over
    cancelled: bool = False

    def state(self, now):
        if self.cancelled or now >= self.free_at:
            return FREE
        return BUSY if self.ended_at is None else WRAP_UP

    def busy_seconds(self, now):
        end = self.free_at if self.ended_at is None else self.ended_at
        return max(0.0, min(now, end) - self.reserved_at)

    def wrap_up_seconds(self, now):
        if self.ended_at is None or self.cancelled:
            return 0.0
        return max(0.0, min(now, self.free_at) - self.ended_at)

    def ended_by(self, now):
        if self.cancelled:
            return CANCELLED
        if self.ended_at is not None:
            return REPORTED
        return HOLD if now >= self.free_at else None


@dataclass
class _Agent:
    ext: str
    current: _Assignment | None = None
    busy_seconds: float = 0.0  # of assignments already closed
    wrap_up_seconds: float = 0.0
    calls: int = 0


class AgentPool:
    def __init__(self, size, hold=60.0, wrap_up=0.5, seed=None, clock=time.monotonic):
        self._agents = [_Agent(str(FIRST_EXTENSION + i)) for i in range(size)]
        self._assignments = []
        self._hold = hold
        self._wrap_up = wrap_up
        self._rng = random.Random(seed)
        self._clock = clock
        self._logged_in_at = clock()
        self._logged_in_since = now_iso()
        self._lock = threading.Lock()

    def reserve(self, call):
        """Reserve a ready agent for `call` and return its extension, or None when nobody is ready."""
        with self._lock:
            now = self._clock()
            ready = [agent for agent in self._agents if self._refresh(agent, now) == FREE]
            if not ready:
                return None
            # Random among the ready ones, like a real queue; a seed makes the order repeatable.
            agent = self._rng.choice(ready)
            agent.current = _Assignment(agent.ext, call, reserved_at=now, free_at=now + self._hold)
            self._assignments.append(agent.current)
            return agent.ext

    def end_call(self, call):
        """The call is over: its agent (if any, and not already in wrap-up) is ready after wrap-up."""
        with self._lock:
            now = self._clock()
            for agent in self._agents:
                if self._refresh(agent, now) == BUSY and agent.current.call == call:
                    agent.current.ended_at, agent.current.free_at = now, now + self._wrap_up
                    return agent.ext
            return None

    def cancel(self, call):
        """Free the agent at once: the call never happened (the dialer refused the reservation)."""
        with self._lock:
            now = self._clock()
            for agent in self._agents:
                if self._refresh(agent, now) != FREE and agent.current.call == call:
                    agent.current.cancelled, agent.current.free_at = True, now
                    self._close(agent, now)
                    return agent.ext
            return None

    def snapshot(self):
        """`[{"ext", "state", "call"}]` as of now, in extension order."""
        with self._lock:
            now = self._clock()
            rows = []
            for agent in self._agents:
                state = self._refresh(agent, now)
                rows.append({"ext": agent.ext, "state": state, "call": agent.current and agent.current.call})
            return rows

    def counts(self):
        """`{"loggedIn", "ready", "busy", "wrapUp"}` as of now: what `GET .../agents` answers."""
        with self._lock:
            now = self._clock()
            states = [self._refresh(agent, now) for agent in self._agents]
        return {"loggedIn": len(states), "ready": states.count(FREE), "busy": states.count(BUSY),
                "wrapUp": states.count(WRAP_UP)}

    def report(self):
        """Per agent, in extension order: `{"ext", "logged_in_since", "logged_in_seconds", "busy_seconds",
        "wrap_up_seconds", "calls"}`, counted since login up to now (the open call included)."""
        with self._lock:
            now = self._clock()
            rows = []
            for agent in self._agents:
                self._refresh(agent, now)
                busy, wrap_up, calls = agent.busy_seconds, agent.wrap_up_seconds, agent.calls
                if agent.current is not None:
                    busy += agent.current.busy_seconds(now)
                    wrap_up += agent.current.wrap_up_seconds(now)
                    calls += 1
                rows.append({"ext": agent.ext, "logged_in_since": self._logged_in_since,
                             "logged_in_seconds": _round(now - self._logged_in_at), "busy_seconds": _round(busy),
                             "wrap_up_seconds": _round(wrap_up), "calls": calls})
            return rows

    def assignments(self):
        """Every reservation in order: `{"ext", "call", "reserved_at", "ended_at", "free_at", "ended_by"}`,
        times in seconds since login; `free_at` is null while the agent still has the call (or its
        wrap-up); `ended_by` is "reported", "hold", "cancelled", or null while the call is on."""
        with self._lock:
            now = self._clock()
            return [self._assignment_row(a, now) for a in self._assignments]

    def _assignment_row(self, assignment, now):
        def since_login(moment):
            return None if moment is None else _round(moment - self._logged_in_at)

        free = assignment.state(now) == FREE
        return {"ext": assignment.ext, "call": assignment.call, "reserved_at": since_login(assignment.reserved_at),
                "ended_at": since_login(assignment.ended_at),
                "free_at": since_login(assignment.free_at) if free else None, "ended_by": assignment.ended_by(now)}

    def _refresh(self, agent, now):
        """The agent's state at `now`; an agent whose deadline has passed is freed here."""
        if agent.current is None:
            return FREE
        state = agent.current.state(now)
        if state == FREE:
            self._close(agent, now)
        return state

    @staticmethod
    def _close(agent, now):
        """Add the finished assignment to the agent's totals; the agent is ready again."""
        done, agent.current = agent.current, None
        agent.busy_seconds += done.busy_seconds(now)
        agent.wrap_up_seconds += done.wrap_up_seconds(now)
        agent.calls += 0 if done.cancelled else 1


def _round(seconds):
    return round(seconds, 3)
