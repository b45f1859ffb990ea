"""The abandonment ledger's rules (issue 11): what a predictive call's outcome was, and the abandonment rate
the regulators measure.

US (FCC 47 CFR 64.1200, FTC TSR): at most 3% of calls answered by a live person abandoned, per campaign over
30 days; a person not connected to an agent within 2 s of their greeting is abandoned. UK (Ofcom): the same
2 s, 3% per 24 hours, machines excluded, and no redial of an abandoned call within 72 hours. The denominator
is always the calls answered by a person (connected or abandoned); machines and unanswered calls count in
neither part of the rate.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from dialer.rules.dispositions import ABANDONED, MACHINE

PERSON_CONNECTED = "PERSON_CONNECTED"  # answered by a person, connected to an agent within the deadline
NOT_ANSWERED = "NOT_ANSWERED"
OUTCOMES = (PERSON_CONNECTED, ABANDONED, MACHINE, NOT_ANSWERED)  # ABANDONED, MACHINE: the disposition names

WINDOWS = {"30d": timedelta(days=30), "24h": timedelta(hours=24)}  # US, UK
UK_NO_REDIAL_HOURS = 72


def classify_outcome(answered_by_person: bool, machine: bool, connected_after_seconds: float | None,
                     hung_up_while_held: bool, deadline_seconds: float) -> str:
    """The outcome of one predictive call. connected_after_seconds: answer to agent connected, None if
    never connected; later than the deadline is ABANDONED even if an agent came (the 2 s rule), and so is
    a person who hung up while held for an agent. A machine answer (the switch's AMD verdict) is MACHINE:
    never connected, never an abandon."""
    if machine:
        return MACHINE
    if not answered_by_person:
        return NOT_ANSWERED
    if hung_up_while_held or connected_after_seconds is None or connected_after_seconds > deadline_seconds:
        return ABANDONED
    return PERSON_CONNECTED


def rate(outcome_counts: Mapping[str, int]) -> tuple[int, int, float | None]:
    """(person-answered, abandoned, abandoned / person-answered) from counts per outcome; the rate is None
    when no person answered (no sample, not 0%)."""
    unknown = sorted(set(outcome_counts) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"unknown outcomes: {', '.join(unknown)}")
    abandoned = outcome_counts.get(ABANDONED, 0)
    answered = outcome_counts.get(PERSON_CONNECTED, 0) + abandoned
    return answered, abandoned, (abandoned / answered if answered else None)


def windows(now: datetime) -> dict[str, datetime]:
    """The start of each ledger window ending at now: {"30d": since, "24h": since}; an outcome counts in a
    window when it happened at or after `since`."""
    return {name: now - length for name, length in WINDOWS.items()}


def window_rates(outcomes: Iterable[tuple[datetime, str]], now: datetime) -> dict[str, tuple[int, int, float | None]]:
    """rate() over each window for (when, outcome) pairs; outcomes after now are left out."""
    starts = windows(now)
    counts = {name: dict.fromkeys(OUTCOMES, 0) for name in starts}
    for at, outcome in outcomes:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome: {outcome}")
        for name, since in starts.items():
            if since <= at <= now:
                counts[name][outcome] += 1
    return {name: rate(counted) for name, counted in counts.items()}


def redial_not_before(abandoned_at: datetime, hours: float = UK_NO_REDIAL_HOURS) -> datetime:
    """The earliest time an abandoned number may be dialed again (Ofcom: 72 hours)."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    return abandoned_at + timedelta(hours=hours)
