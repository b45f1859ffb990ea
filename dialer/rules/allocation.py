"""How many contacts each campaign may dial this tick.

The spec's rule is a round-robin: one contact at a time over the campaigns ordered by dialable
count ascending (ties by campaign id), skipping campaigns that have run out, until the free slots
are used up. Walking that loop slot by slot costs O(slots); instead we compute where it stops.
After L full rounds every campaign holds min(count, L); the slots left over go one each to the
campaigns still not exhausted, in round-robin order, i.e. the smallest first.
"""

import math
from collections.abc import Mapping


def fair_share(free_slots: int, dialable: Mapping[str, int]) -> dict[str, int]:
    """Contacts per campaign, the spec's round-robin outcome; campaigns given 0 are left out."""
    if free_slots < 0:
        raise ValueError(f"free_slots must not be negative, got {free_slots}")
    for campaign_id, count in dialable.items():
        if count < 0:
            raise ValueError(f"dialable count of campaign {campaign_id!r} is negative: {count}")
    order = sorted((count, campaign_id) for campaign_id, count in dialable.items() if count > 0)
    shares: dict[str, int] = {}
    remaining = free_slots
    level = 0  # every campaign not yet exhausted holds this many
    for index, (count, campaign_id) in enumerate(order):
        still_open = len(order) - index
        if (count - level) * still_open <= remaining:
            # Enough slots to lift every open campaign to this one's count: it is exhausted.
            remaining -= (count - level) * still_open
            level = count
            shares[campaign_id] = count
            continue
        # The round-robin stops before this campaign runs out: full rounds, then the extras.
        rounds, extra = divmod(remaining, still_open)
        for position, (_, later_id) in enumerate(order[index:]):
            share = level + rounds + (1 if position < extra else 0)
            if share:
                shares[later_id] = share
        break
    return shares


def free_slots(capacity: int, occupied: int, cps: float, tick_seconds: float, recent_claims: int = 0) -> int:
    """Calls one switch may start this tick: its free capacity, capped by its calls-per-second budget.

    `recent_claims` are the calls already started within the last `tick_seconds`: ticks also run
    right after hangups, so the budget is a sliding window, not a fresh allowance per tick.

    A concurrency cap and a rate cap together: pacing by rate alone overloads the trunk, and
    capacity alone lets a burst of originates exceed what the switch accepts per second.
    Sum the result over the switches for the tick's total.
    """
    if capacity < 0 or occupied < 0 or cps < 0 or tick_seconds < 0 or recent_claims < 0:
        raise ValueError("capacity, occupied, cps and tick_seconds must not be negative")
    # Occupied can exceed capacity after capacity is lowered; that leaves no room, not a debt.
    room = max(capacity - occupied, 0)
    # The epsilon keeps float products such as 0.29 * 100 = 28.999... from losing a call.
    budget = math.floor(cps * tick_seconds + 1e-9) - recent_claims
    return max(min(room, budget), 0)
