"""python -m bench.predictive_model [--agents 50 10] [--hours 2] [--seeds 3] [--latency 0.1] [--interval 2]
[--aim 0.5 ...] [--clockwork]:
the pacing rule of dialer.rules.pacing in a discrete-event model of bench.predictive's workload, with no
fleet: what the rule itself can reach, in seconds rather than minutes, apart from the dialer's latency.

The world is bench.predictive's (bench.predictive_run.Workload): 35% of calls answered by a person after
a uniform 4-20 s ring, 10% by a machine (same ring), 5% busy (1 s), the rest ring out at 30 s; talk
exponential with mean 60 s (a machine's message too); wrap-up 5 s; the VC names an agent 0.3 s after it is
asked. The dialer is modelled as it is built: every tick (1 s) it places `calls_to_place` of the last
pacing decision, recomputed every pacing interval (2 s) from the state the flow measures (dialer.flows
.pacing.measured_state: the VC's agent counts, calls dialing and held, the answer rate and mean ring
and handle times of the last hour, abandonment so far); it hears an answer `--latency` s after it
happens, asks the VC, asks again 0.2 s after "no agent" while more than 0.5 s is left, and abandons at
the 2 s deadline. PROGRESSIVE reserves one agent per call, as the dialer does, and its agent waits
through the ring.

Figures per run, over the hours after a 10-minute warm-up: occupancy (talk with a person / logged-in
time), abandonment (person answers not connected within 2 s), answered calls per agent-hour, and the
mode the pacing was in. Reported, never asserted; this is a model, and bench.predictive measures the
real fleet. `--clockwork` adds a reference: the same agents fed person answers evenly spaced in time,
as no dialer can (answers come when people pick up), at occupancies aimed at 75-90%.
"""

import argparse
import heapq
import random
from collections import deque
from dataclasses import dataclass, field, replace
from statistics import mean

from bench.predictive_run import Workload
from dialer.rules.pacing import PREDICTIVE, PacingSettings, PacingState, calls_to_place, decide

PERSON, MACHINE, BUSY, NO_ANSWER = "person", "machine", "busy", "no answer"
DEADLINE, ASK_AGAIN, LAST_ASK = 2.0, 0.2, 0.5  # dialer.flows.predictive: 0.1 and 0.25 of the deadline
SETTLE_MARGIN = 5.0  # dialer.flows.pacing.SETTLE_MARGIN_SECONDS


@dataclass(frozen=True)
class World:
    """bench.predictive's workload (its defaults are the one source), and the dialer's latency."""

    agents: int = 50
    person_share: float = Workload.person_share
    machine_share: float = Workload.machine_share
    busy_share: float = Workload.busy_share
    ring_min: float = Workload.ring_min
    ring_max: float = Workload.ring_max
    no_answer_seconds: float = Workload.no_answer_seconds
    busy_seconds: float = 1.0  # the switch simulator's busy lines answer 486 within a second
    talk_mean: float = Workload.talk_mean
    wrap_up: float = Workload.wrap_up
    vc_delay: float = Workload.vc_delay
    latency: float = 0.1  # answer -> the dialer asks the VC
    tick: float = Workload.tick_seconds
    interval: float = Workload.pacing_seconds

    def fate(self, rng):
        share = rng.random()
        ring = rng.uniform(self.ring_min, self.ring_max)
        if share < self.person_share:
            return PERSON, ring
        if share < self.person_share + self.machine_share:
            return MACHINE, ring
        if share < self.person_share + self.machine_share + self.busy_share:
            return BUSY, self.busy_seconds
        return NO_ANSWER, self.no_answer_seconds


@dataclass
class Figures:
    mode: str
    seconds: float = 0.0
    talk: float = 0.0
    person_answers: int = 0
    abandoned: int = 0
    connected: int = 0
    waits: list = field(default_factory=list)
    predictive_samples: int = 0
    samples: int = 0

    def occupancy(self, agents):
        return self.talk / (agents * self.seconds) if self.seconds else 0.0

    def abandon_rate(self):
        return self.abandoned / self.person_answers if self.person_answers else 0.0

    def per_agent_hour(self, agents):
        return self.connected / (agents * self.seconds / 3600) if self.seconds else 0.0


class Model:
    """One run: a heap of timed events over the agents, the calls and the dialer's ticks."""

    def __init__(self, world, mode, settings, seed, warm_up, hours):
        self.world, self.mode, self.settings = world, mode, settings
        self.rng = random.Random(seed)
        self.now, self.events, self.order = 0.0, [], 0
        self.start_window, self.end = warm_up, warm_up + hours * 3600
        self.ready = world.agents
        self.wrapping = 0
        self.busy = 0  # talking, or reserved (PROGRESSIVE: through the ring; PREDICTIVE: VC's 0.3 s)
        self.flying = {}  # predictive calls not yet answered: number -> (dialed at, fate, outcome due at)
        self.numbers = 0
        self.held = 0  # predictive person answers waiting for an agent
        self.reserved_dialing = 0  # PROGRESSIVE calls ringing with their agent reserved
        self.dials = deque()  # (dialed at, answered by a person, ring) of the last hour
        self.talks = deque()  # (connected at, talk) of the last hour's person calls with an agent
        self.answered_total = 0
        self.abandoned_total = 0
        self.decision = None
        self.figures = Figures(mode)

    # the event loop ---------------------------------------------------------------------------

    def at(self, when, action, *args):
        self.order += 1
        heapq.heappush(self.events, (when, self.order, action, args))

    def run(self):
        self.at(0.0, self.tick)
        while self.events:
            when, _, action, args = heapq.heappop(self.events)
            if when > self.end:
                break
            self.advance(when)
            action(*args)
        self.advance(self.end)
        return self.figures

    def advance(self, when):
        if when > self.start_window:
            start = max(self.now, self.start_window)
            self.figures.seconds += when - start
        self.now = when

    def in_window(self):
        return self.now >= self.start_window

    # the dialer ---------------------------------------------------------------------------------

    def tick(self):
        if self.mode == PREDICTIVE:
            if self.decision is None or self.now - self.decided_at >= self.world.interval - 1e-9:
                self.decision, self.decided_at = decide(self.state(), self.settings), self.now
                if self.in_window():
                    self.figures.samples += 1
                    self.figures.predictive_samples += self.decision.mode == PREDICTIVE
            if self.decision.mode == PREDICTIVE:
                for _ in range(calls_to_place(self.decision, self.state())):
                    self.dial(agent=False)
            else:
                self.dial_progressive()
        else:
            self.dial_progressive()
        self.at(self.now + self.world.tick, self.tick)

    def dial_progressive(self):
        while self.ready > 0:
            self.ready -= 1
            self.busy += 1
            self.reserved_dialing += 1
            self.dial(agent=True)

    def dial(self, agent):
        fate, seconds = self.world.fate(self.rng)
        self.dials.append((self.now, fate == PERSON, seconds))
        self.numbers += 1
        if not agent:
            self.flying[self.numbers] = (self.now, fate, self.now + seconds)
        self.at(self.now + seconds, self.answered if fate in (PERSON, MACHINE) else self.unanswered,
                fate, seconds, agent, self.numbers)

    def unanswered(self, fate, seconds, agent, number):
        if agent:
            self.reserved_dialing -= 1
            self.busy -= 1
            self.ready += 1
        else:
            del self.flying[number]

    def answered(self, fate, ring, agent, number):
        talk = self.rng.expovariate(1 / self.world.talk_mean)
        if fate == PERSON and self.in_window():
            self.figures.person_answers += 1
        if agent:  # PROGRESSIVE: its agent is on the line already (a machine's message too)
            self.reserved_dialing -= 1
            self.at(self.now + talk, self.hangup, fate == PERSON, talk, True)
            if fate == PERSON:
                self.talks.append((self.now, talk))
            if fate == PERSON and self.in_window():
                self.figures.connected += 1
                self.figures.waits.append(0.0)
            return
        del self.flying[number]
        if fate == MACHINE:  # detected and hung up
            return
        self.held += 1
        self.at(self.now + self.world.latency, self.ask, self.now, talk)

    def ask(self, answered_at, talk):
        if self.ready > 0:  # the VC reserves it now and names it vc_delay later
            self.ready -= 1
            self.busy += 1
            self.at(self.now + self.world.vc_delay, self.connect, answered_at, talk)
            return
        answer = self.now + self.world.vc_delay  # "no agent", at once in the simulator; the delay modelled
        if answered_at + DEADLINE - answer > LAST_ASK:
            self.at(answer + ASK_AGAIN, self.ask, answered_at, talk)
        else:
            self.at(max(answer, answered_at + DEADLINE), self.abandon)

    def connect(self, answered_at, talk):
        self.held -= 1
        wait = self.now - answered_at
        if wait > DEADLINE:  # too late: the agent is freed, the customer abandoned
            self.busy -= 1
            self.ready += 1
            self.abandon(held=False)
            return
        if self.in_window():
            self.figures.connected += 1
            self.figures.waits.append(wait)
        self.answered_total += 1
        self.talks.append((self.now, talk))
        self.at(self.now + talk, self.hangup, True, talk)

    def abandon(self, held=True):
        if held:
            self.held -= 1
        self.answered_total += 1
        self.abandoned_total += 1
        if self.in_window():
            self.figures.abandoned += 1

    def hangup(self, person, talk, reserved_first=False):
        if person and reserved_first:  # the ledger counts these once they are over
            self.answered_total += 1
        if person and self.in_window():
            self.figures.talk += talk
        self.busy -= 1
        self.wrapping += 1
        self.at(self.now + self.world.wrap_up, self.wrapped)

    def wrapped(self):
        self.wrapping -= 1
        self.ready += 1

    # what dialer.flows.pacing measures --------------------------------------------------------

    def state(self):
        """As dialer.flows.pacing measures it: the answer rate and mean ring over attempts dialed long
        enough ago that every outcome is known (the originate timeout), the mean talk by the censored
        estimate (talk so far of the calls still up counts, only ended calls are counted)."""
        for window in (self.dials, self.talks):
            while window and window[0][0] < self.now - 3600:
                window.popleft()
        settled = [(person, ring) for at, person, ring in self.dials
                   if at <= self.now - self.world.no_answer_seconds - SETTLE_MARGIN]
        rings = [ring for person, ring in settled if person]
        ended = sum(1 for at, talk in self.talks if at + talk <= self.now)
        talked = sum(min(talk, self.now - at) for at, talk in self.talks)
        ledger = (self.answered_total, self.abandoned_total)
        return PacingState(
            agents_ready=self.ready, agents_wrapping_up=self.wrapping,
            agents_logged_in=self.ready + self.busy + self.wrapping,
            calls_in_flight=len(self.flying), calls_waiting_for_agent=self.held + self.reserved_dialing,
            answer_rate=len(rings) / len(settled) if settled else None,
            mean_ring_seconds=mean(rings) if rings else None,
            mean_handle_seconds=talked / ended if ended else None,
            samples=len(settled), ledger_30d=ledger, ledger_24h=ledger)


def clockwork_reference(world, occupancy, hours, seed):
    """(occupancy, abandonment) of a dialer whose person answers arrive like clockwork, one every
    talk_mean / (agents x occupancy) seconds, with no randomness on the answer side at all (no dialer
    can do that: answers are random): a person waits for an agent until the deadline less the dialer's
    latency and the VC's delay. The talk and wrap-up are the workload's."""
    rng = random.Random(seed)
    gap = world.talk_mean / (world.agents * occupancy)
    patience, end = DEADLINE - world.latency - world.vc_delay, hours * 3600
    free_at = [0.0] * world.agents  # a heap of when each agent is next free
    now, talked, served, abandoned = 0.0, 0.0, 0, 0
    while now < end:
        now += gap
        start = max(now, free_at[0])
        if start - now > patience:
            abandoned += 1
            continue
        talk = rng.expovariate(1 / world.talk_mean)
        heapq.heapreplace(free_at, start + talk + world.wrap_up)
        talked, served = talked + talk, served + 1
    return talked / (world.agents * end), abandoned / (abandoned + served)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.predictive_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[50, 10])
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours measured per run")
    parser.add_argument("--seeds", type=int, default=3, help="runs per figure, seeds 1..N")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds from an answer to the dialer's ask")
    parser.add_argument("--interval", type=float, default=World.interval, help="seconds between pacing decisions")
    parser.add_argument("--clockwork", action="store_true",
                        help="also the clockwork reference: answers evenly spaced, no randomness on that side")
    parser.add_argument("--aim", type=float, nargs="+", default=[PacingSettings().aim],
                        help="PacingSettings.aim values to compare")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)
    print(f"bench.predictive_model: {options.hours:g} h per run after 10 min warm-up, seeds 1-{options.seeds}, "
          f"latency {options.latency:g} s")
    print(f"  {'agents':>6} {'mode':12} {'aim':>5} {'occupancy':>9} {'abandoned':>16} {'per agent-h':>11} "
          f"{'dialing ahead':>13}")
    for agents in options.agents:
        world = World(agents=agents, latency=options.latency, interval=options.interval)
        base = run_all(world, "PROGRESSIVE", PacingSettings(), options)
        print_row(agents, "PROGRESSIVE", "", base)
        for aim in options.aim:
            settings = replace(PacingSettings(), aim=aim, interval_seconds=world.interval)
            found = run_all(world, PREDICTIVE, settings, options)
            print_row(agents, PREDICTIVE, f"{aim:g}", found, base)
        if options.clockwork:
            for aimed in (0.75, 0.80, 0.85, 0.90):
                occupancy, abandoned = clockwork_reference(world, aimed, 10 * options.hours, 1)
                print(f"  {agents:>6} {'clockwork':12} {'':>5} {occupancy:>9.1%} {'':>5} {abandoned:>10.2%}"
                      f"   (answers evenly spaced for {aimed:.0%}; no dialer's answers are)")


def run_all(world, mode, settings, options):
    return [Model(world, mode, settings, seed, 600.0, options.hours).run() for seed in range(1, options.seeds + 1)]


def print_row(agents, mode, aim, runs, base=None):
    occupancy = mean(f.occupancy(agents) for f in runs)
    answers = sum(f.person_answers for f in runs)
    abandoned = sum(f.abandoned for f in runs)
    worst = max(f.abandon_rate() for f in runs)
    rate = mean(f.per_agent_hour(agents) for f in runs)
    ratio = f" ({rate / mean(f.per_agent_hour(agents) for f in base):.2f}x)" if base else ""
    samples = sum(f.samples for f in runs)
    ahead = f"{sum(f.predictive_samples for f in runs) / samples:.0%}" if samples else "-"
    print(f"  {agents:>6} {mode:12} {aim:>5} {occupancy:>9.1%} {abandoned:>5}/{answers:<5} "
          f"max {worst:>4.1%} {rate:>5.1f}{ratio:<8} {ahead:>6}")


if __name__ == "__main__":
    main()
