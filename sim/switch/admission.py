"""What the switch lets in: its session limits, the record of every originate it received, and the
per-gateway call counters `sofia status gateway` shows."""

import time
from dataclasses import dataclass, field


@dataclass
class OriginateRecord:
    """An originate the switch received (valid or not), for tests to inspect."""

    arg: str
    variables: dict
    gateway: str | None
    number: str | None
    destination: str
    via: str  # "bgapi" or "api"
    job_uuid: str | None = None
    received_at: float = field(default_factory=time.time)


class Limits:
    """max-sessions and sessions-per-second, checked as switch_core_session_request_uuid() does."""

    def __init__(self, max_sessions, sps):
        self.max_sessions, self.sps = max_sessions, sps
        self._window, self._left = None, sps

    def admit(self, live_count, now):
        if self._window is None or now - self._window >= 1.0:
            self._window, self._left = now, self.sps
        # FreeSWITCH pre-decrements and refuses at zero: `sps N` lets N-1 through per second.
        self._left -= 1
        return self._left > 0 and live_count + 1 <= self.max_sessions


class GatewayCounts:
    def __init__(self):
        self._counts = {}  # gateway -> [outbound calls, failed outbound calls]

    def count(self, gateway, failed):
        counts = self._counts.setdefault(gateway, [0, 0])
        counts[1 if failed else 0] += 1

    def get(self, gateway):
        """(outbound calls, failed outbound calls)."""
        return tuple(self._counts.get(gateway, (0, 0)))
