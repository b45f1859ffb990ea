"""A gateway's state from `api sofia status gateway <name>`: asked once per gateway per tick, and
at most about once a second per gateway across the fleet when a shared memo is given."""

from collections.abc import Callable
from typing import Literal, Protocol

from dialer.rules.validation import SAFE_ID_RULE, is_safe_id, require

GatewayStatus = Literal["UP", "DOWN", "INVALID"]
UP, DOWN, INVALID = "UP", "DOWN", "INVALID"

# mod_sofia's whole reply when no gateway has that name (`sofia xmlstatus` says the same).
_INVALID_REPLY = "Invalid Gateway!"


class GatewayStatusError(ValueError):
    """A reply that is neither a gateway's status table nor "Invalid Gateway!"."""


def parse_gateway_status(api_body: str) -> GatewayStatus:
    """UP, DOWN or INVALID from the body of `sofia status gateway <name>`.

    The table has a `Status\\t<value>` line; the value is UP or DOWN, with " (ping)" appended
    while an OPTIONS ping is outstanding, which does not change what the gateway is.
    """
    if api_body.strip() == _INVALID_REPLY:
        return INVALID
    for line in api_body.splitlines():
        name, tab, value = line.partition("\t")
        if tab and name.strip() == "Status":
            state = value.split(" ", 1)[0]
            if state in (UP, DOWN):
                return state
            raise GatewayStatusError(f"unknown gateway Status value: {value!r}")
    raise GatewayStatusError(f"not a gateway status reply: {api_body[:80]!r}")


def status_command(name: str) -> str:
    """The api command asking for one gateway's status; the name is checked, never escaped."""
    return f"sofia status gateway {_checked(name)}"


def _checked(name: str) -> str:
    return require("gateway_id", name, is_safe_id, SAFE_ID_RULE)


class StatusMemo(Protocol):
    """Statuses known recently, shared by the fleet (workers/runtime.py keeps them in Redis for
    about a second; a GATEWAY_DOWN or INVALID_GATEWAY job result forgets one at once)."""

    def get(self, name: str) -> GatewayStatus | None: ...

    def put(self, name: str, status: GatewayStatus) -> None: ...


class GatewayCache:
    """Gateway statuses for one tick: each gateway is asked about once.

    `fetch(name)` returns the api body for `status_command(name)`. Build a new cache each tick,
    so a gateway that goes down is seen on the next one. With a `memo`, a status it holds is used
    instead of asking the switch, and what the switch says is put there. Errors from `fetch`
    (switch unreachable) propagate and are not cached.
    """

    def __init__(self, fetch: Callable[[str], str], memo: StatusMemo | None = None):
        self._fetch = fetch
        self._memo = memo
        self._statuses: dict[str, GatewayStatus] = {}

    def status(self, name: str) -> GatewayStatus:
        if name not in self._statuses:
            # A hostile name is rejected before it can reach an api command.
            checked = _checked(name)
            known = self._memo.get(checked) if self._memo else None
            if known is None:
                known = parse_gateway_status(self._fetch(checked))
                if self._memo:
                    self._memo.put(checked, known)
            self._statuses[name] = known
        return self._statuses[name]
