"""Calling hours in the customer's local time (DESIGN.md "Campaign policy"): pure rules.

A contact's zones are kept as a "zone key": IANA names sorted and joined by one space, "" when
unknown. `window_state` says whether a campaign may call a zone key now and when that answer next
changes, so the caller can store it (calling_windows) and only work it out again at `changes_at`.

Local times become instants through `zoneinfo` only (daylight saving included, never fixed
offsets). A local day's window runs from the first instant its wall clock reads the start time to
the first instant it reads the end time (end exclusive): a time repeated when clocks go back counts
at its first occurrence, a time skipped when clocks go forward at the instant of the jump.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from phonenumbers import timezone as number_zones

LOOK_AHEAD = timedelta(days=14)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
# Names zoneinfo loads that are no place: the machine's own setting, a template, "zone not set".
NOT_A_PLACE = frozenset({"localtime", "posixrules", "Factory"})


@dataclass(frozen=True)
class WindowState:
    open: bool
    changes_at: datetime | None  # UTC; None: never changes (no calling hours: always open)


@cache
def _known_zones():
    return frozenset(available_timezones()) - NOT_A_PLACE


def is_valid_zone(name: str) -> bool:
    """True for an IANA zone name zoneinfo knows (case as IANA spells it)."""
    return isinstance(name, str) and name in _known_zones()


def zone_key_for(timezone: str | None, number: "str | phonenumbers.PhoneNumber | None") -> str:
    """The contact's zone key: its explicit `timezone` when that is a known zone (it beats the
    number), else every zone `phonenumbers` gives its number (all of them, so that each must allow
    the call), else "" (unknown). `number`: E.164 text, or the number already parsed (intake parses
    each number once for both its E.164 form and its zones)."""
    if timezone and is_valid_zone(timezone.strip()):
        return timezone.strip()
    return " ".join(_zones_of_number(number))


def _zones_of_number(number):
    if not number:
        return []
    if isinstance(number, str):
        try:
            number = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return []
    return sorted({z for z in number_zones.time_zones_for_number(number) if is_valid_zone(z)})


def zones_of(zone_key: str) -> tuple[str, ...]:
    """The zone names of a zone key; () for "" (unknown)."""
    return tuple(zone_key.split())


def window_state(calling_hours: dict | None, blocked_dates: list[str], zone_key: str,
                 fallback_timezone: str | None, now: datetime) -> WindowState:
    """Whether the campaign may call a contact of `zone_key` at `now` (aware), and the next instant
    (UTC) the answer changes.

    No calling hours (None) means no limit: open, and it never changes. A key with several zones is
    open only while every zone is. An unknown zone ("") uses `fallback_timezone`; with no fallback
    either, the window is closed whenever calling hours are set: we never call when we cannot tell
    the customer's local time. Nothing open within 14 days (or open for all of them) gives
    `changes_at` = now + 14 days, for the caller to work it out again then.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if calling_hours is None:
        return WindowState(open=True, changes_at=None)
    now = now.astimezone(UTC)
    horizon = now + LOOK_AHEAD
    zones = zones_of(zone_key) or ((fallback_timezone,) if fallback_timezone else ())
    if not zones:
        return WindowState(open=False, changes_at=horizon)
    blocked = frozenset(blocked_dates or ())
    spans = None
    for name in zones:
        zone_spans = _open_spans(calling_hours, blocked, ZoneInfo(name), now, horizon)
        spans = zone_spans if spans is None else _intersect(spans, zone_spans)
    for start, end in spans:
        if end <= now:
            continue
        if start <= now:
            return WindowState(open=True, changes_at=min(end, horizon))
        return WindowState(open=False, changes_at=min(start, horizon))
    return WindowState(open=False, changes_at=horizon)


def _open_spans(calling_hours, blocked, zone, now, horizon):
    """Sorted, disjoint [start, end) UTC spans open in `zone`, from the local day before `now` to
    the local day after `horizon`, touching spans joined (so every end before `horizon` is a real
    close, not the edge of the days looked at)."""
    spans = []
    day = now.astimezone(zone).date() - timedelta(days=1)
    last = horizon.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        hours = calling_hours.get(DAYS[day.weekday()])
        if hours and day.isoformat() not in blocked:
            start = _first_instant(day, _seconds(hours[0]), zone)
            end = _first_instant(day, _seconds(hours[1]), zone)
            if start < end:
                if spans and spans[-1][1] >= start:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], end))
                else:
                    spans.append((start, end))
        day += timedelta(days=1)
    return spans


def _seconds(clock):
    """Seconds after midnight of "HH:MM" (or "HH:MM:SS"); "24:00" is the end of the day."""
    parts = [int(part) for part in clock.split(":")] + [0]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _first_instant(day, seconds, zone):
    """The first instant (UTC) at which the wall clock in `zone` reads `day` + `seconds` or later."""
    wall = datetime.combine(day, time()) + timedelta(seconds=seconds)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: first of a repeated time
    if _wall_at(instant, zone) == wall:
        return instant
    # Skipped (clocks went forward over it): the answer is the jump, between the wall time read
    # with the offset after the jump (an instant before it) and with the one before (after it).
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(instant.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if _wall_at(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _wall_at(instant, zone):
    return instant.astimezone(zone).replace(tzinfo=None)


def _intersect(spans, others):
    """Spans open in both sorted, disjoint lists."""
    both, i, j = [], 0, 0
    while i < len(spans) and j < len(others):
        start = max(spans[i][0], others[j][0])
        end = min(spans[i][1], others[j][1])
        if start < end:
            both.append((start, end))
        if spans[i][1] < others[j][1]:
            i += 1
        else:
            j += 1
    return both
