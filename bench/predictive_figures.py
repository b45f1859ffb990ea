"""The figures of one bench.predictive run, worked out from what it collected (bench.predictive_run.RunData):
plain functions of plain data, no I/O.

The window is [t0, t1): agents' time from the VC simulator's report taken at both ends; calls are the
person-answered ones whose answer (the switch's clock) fell in it. Times in simulated seconds unless
named real (`_ms`).
"""

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from bench.fleet_runner import percentile

HOLD, ABANDON = "dialer-hold", "dialer-abandon"  # the switch simulator's and the dialer's defaults
IN_TIME = ("connected in time", "agent reserved first (paced PROGRESSIVE)")
SLACK = 1e-3  # simulated seconds: clock reading noise at the 2 s boundary
FIGURE = re.compile(r"(?<![\w-])\d+(\.\d+)?%?(?![\w-])")  # the figures in a pacing reason, to group reasons


@dataclass
class Figures:
    mode: str
    agents: int
    window_minutes: float  # simulated, as measured
    logged_in_hours: float  # agent-hours logged in over the window, simulated
    occupancy: float  # VC busy / logged in (busy: reserved to call reported over)
    wrap_up_share: float
    talk_share: float  # switch: agents connected to a person / logged in
    attempts: int
    person_answers: int  # switch: answered by a person in the window
    reached_agent: int
    abandoned: int  # switch, 2 s rule: not connected to an agent within the deadline
    fates: Counter = field(default_factory=Counter)  # why, for the switch's count
    ledger_answered: int = 0  # the dialer's ledger: person-answered calls it heard in the window
    ledger_abandoned: int = 0
    ledger_still_held: int = 0
    disagreements: Counter = field(default_factory=Counter)  # per call: ledger vs switch
    waits: list = field(default_factory=list)  # answer -> agent, simulated seconds
    stages_ms: dict = field(default_factory=dict)  # median real ms: answer -> dialer heard -> connected -> switch
    stamp_ahead_ms: float | None = None  # median of the switch's answer stamp minus the dialer's held_at

    @property
    def abandon_rate(self):
        return self.abandoned / self.person_answers if self.person_answers else 0.0

    @property
    def ledger_rate(self):
        return self.ledger_abandoned / self.ledger_answered if self.ledger_answered else 0.0

    @property
    def per_agent_hour(self):
        return self.reached_agent / self.logged_in_hours if self.logged_in_hours else 0.0

    def wait(self, q):
        return percentile(self.waits, q) if self.waits else None


def figures_of(data):
    w = data.workload
    scale, window = w.scale, data.t1 - data.t0
    logged, busy, wrap = _report_delta(data.report_start, data.report_end)
    people = [r for r in data.records if r.answered_by == "person" and r.answered_at is not None
              and data.t0 <= r.answered_at < data.t1]
    found = Figures(
        mode=data.mode, agents=w.agents, window_minutes=window / scale / 60, logged_in_hours=logged / scale / 3600,
        occupancy=busy / logged if logged else 0.0, wrap_up_share=wrap / logged if logged else 0.0,
        talk_share=_talk_seconds(data, people) / logged if logged else 0.0, attempts=data.attempts,
        person_answers=len(people), reached_agent=0, abandoned=0)
    for record in people:
        fate, wait = switch_fate(record, data.mode, scale, w.connect_seconds, data.read_at)
        found.fates[fate] += 1
        if wait is not None:
            found.reached_agent += 1
            found.waits.append(wait)
        if fate not in IN_TIME:
            found.abandoned += 1
    if data.mode == "PREDICTIVE":
        _ledger_figures(found, data, people)
    return found


def switch_fate(record, mode, scale, deadline, read_at):
    """(fate, answer-to-agent seconds or None) of one person-answered call, as the switch saw it."""
    if mode != "PREDICTIVE" or record.parked_at is None:
        # Dialed with a reserved agent (PROGRESSIVE, or a predictive campaign paced back to it): the agent
        # was on the line before the customer answered.
        return "connected in time" if mode != "PREDICTIVE" else "agent reserved first (paced PROGRESSIVE)", 0.0
    to = record.transferred_to
    if to and to not in (HOLD, ABANDON):
        wait = (record.transferred_at - record.answered_at) / scale
        return ("connected in time" if wait <= deadline + SLACK else "connected late"), wait
    if to == ABANDON:
        return "abandon message", None
    if record.hung_up_on_hold:
        return "hung up on hold", None
    if record.ended_at is None:
        return f"still held {(read_at - record.answered_at) / scale:.0f}+ s", None
    return f"ended otherwise ({record.cause})", None


def _ledger_figures(found, data, people):
    offset = data.wall_minus_monotonic
    w0, w1 = data.w0.timestamp(), data.w1.timestamp()
    rows = {row[0]: row for row in data.ledger}
    in_window = [row for row in rows.values() if row[4] is not None and w0 <= float(row[4]) < w1]
    found.ledger_answered = len(in_window)
    found.ledger_abandoned = sum(1 for row in in_window if _ledger_abandoned(row))
    found.ledger_still_held = sum(1 for row in in_window if row[1] == "held")
    heard, connected, transferred, ahead = [], [], [], []
    for record in people:
        row = rows.get(record.uuid)
        fate, _ = switch_fate(record, data.mode, data.workload.scale, data.workload.connect_seconds, data.read_at)
        switch_says = "abandoned" if fate not in IN_TIME else "connected"
        if record.parked_at is None:
            continue  # not dialed ahead: no ledger row
        if row is None:
            found.disagreements["switch saw a person, the ledger has no person answer"] += 1
            continue
        ledger_says = "abandoned" if _ledger_abandoned(row) else ("held" if row[1] == "held" else "connected")
        if ledger_says != switch_says:
            found.disagreements[f"ledger {ledger_says}, switch {fate}"] += 1
        answered_at, held_at, connected_at = (None if v is None else float(v) for v in (row[3], row[4], row[6]))
        heard.append(held_at - (record.answered_at + offset))
        if answered_at is not None:
            ahead.append(answered_at - held_at)
        if connected_at is not None:
            connected.append(connected_at - held_at)
            if record.transferred_at is not None:
                transferred.append(record.transferred_at + offset - connected_at)
    found.stages_ms = {name: 1000 * statistics.median(values) for name, values in
                       (("answer->dialer heard it", heard), ("heard->agent named (VC asked, callback)", connected),
                        ("agent named->switch transferred", transferred)) if values}
    found.stamp_ahead_ms = 1000 * statistics.median(ahead) if ahead else None


def _ledger_abandoned(row):
    return row[1] == "abandoned" or row[2] == "ABANDONED"


def _report_delta(start, end):
    """Agent seconds (real) logged in, busy and wrapping up between two VC reports."""
    before = {a["ext"]: a for a in start}
    logged = busy = wrap = 0.0
    for agent in end:
        was = before.get(agent["ext"], {"logged_in_seconds": 0.0, "busy_seconds": 0.0, "wrap_up_seconds": 0.0})
        logged += agent["logged_in_seconds"] - was["logged_in_seconds"]
        busy += agent["busy_seconds"] - was["busy_seconds"]
        wrap += agent["wrap_up_seconds"] - was["wrap_up_seconds"]
    return logged, busy, wrap


def _talk_seconds(data, people_in_window):
    """Real seconds within the window that agents spent connected to a person (any person call that
    overlaps the window, not only those answered in it)."""
    total = 0.0
    for record in data.records:
        if record.answered_by != "person" or record.answered_at is None:
            continue
        if record.parked_at is not None:
            if not record.transferred_to or record.transferred_to in (HOLD, ABANDON):
                continue
            start = record.transferred_at
        else:
            start = record.answered_at
        end = record.ended_at if record.ended_at is not None else data.read_at
        total += max(0.0, min(end, data.t1) - max(start, data.t0))
    return total


def pacing_summary(samples):
    """What the pacing said over the window (bench.predictive_run.Sample): {samples, share_predictive,
    ratios, ready, reasons (Counter of their clauses without figures), last}."""
    if not samples:
        return None
    ratios = [s.dial_ratio for s in samples if s.mode == "PREDICTIVE"]
    reasons = Counter("; ".join(FIGURE.sub("n", part.split(":")[0]) for part in s.reason.split("; "))
                      for s in samples)
    return {"share_predictive": len(ratios) / len(samples), "samples": len(samples), "ratios": ratios,
            "ready": [s.agents_ready for s in samples if s.agents_ready is not None], "reasons": reasons,
            "last": samples[-1].reason}


def timeline(samples, lines=8):
    """About `lines` samples spread over the window, for the eye."""
    if not samples:
        return []
    step = max(1, len(samples) // lines)
    return samples[::step]
