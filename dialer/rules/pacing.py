"""Predictive pacing (issue 11, DESIGN.md "Dialing modes"): how many calls one PREDICTIVE campaign may have
in flight, a pure function of what the dialer measured.

The model. The calls in flight now are answered, if at all, within about a ring time, so we look ahead
tau = max(interval, mean ring). Each of the N calls in flight is answered by a person with the measured
answer rate p: answers A ~ Binomial(N, p) (conservative: a call that has rung a while is less likely to be
answered than a fresh one). The agents there to take them: ready + wrapping up - calls already held for an
agent, plus each busy agent whose handle time ends within tau, with probability f = 1 - exp(-tau / mean
handle) (a memoryless handle time; a uniform residual would give the larger tau / handle):
D = ready + wrapping up - held + Binomial(busy, f). Answers beyond D are the calls at risk of abandonment.
We take the largest N whose expected overflow E[(A - max(D, 0))+] is at most a share alpha of the expected
answers N p, where alpha = target x aim x (1 - measured / target), measured being the worse of the 30-day
and 24-hour rates: `aim` (half) of the target while none of it is spent, shrinking to nothing as the measured
rate nears it (the safety margin widens). Both binomials are exact (small teams are where the tails matter);
one evaluation costs O(N + busy) and the overflow share grows with N, so a binary search between the floor
(one call per ready agent) and the cap (max_dial_ratio x agents taking calls) takes well under a millisecond.

Before any of that, the abandonment budget (progressive_reasons): the campaign dials ahead only while one
more abandoned call would leave both ledger windows within the target. bench.predictive_model runs this
rule in a model of the benchmark's workload; bench.predictive_horizon compares a candidate successor.
"""

from dataclasses import dataclass
from math import exp, lgamma, log

PREDICTIVE = "PREDICTIVE"
PROGRESSIVE = "PROGRESSIVE"


@dataclass(frozen=True, kw_only=True)
class PacingState:
    """What the dialer measured for one predictive campaign. Rates are shares (0.03 is 3%); None = no sample.
    agents_logged_in counts agents working the queue (ready, busy or wrapping up); pass it without paused
    agents, since every logged-in agent neither ready nor wrapping up is taken to be on a call."""

    agents_ready: int
    agents_wrapping_up: int  # about to be free
    agents_logged_in: int
    calls_in_flight: int  # dialed, not yet answered
    calls_waiting_for_agent: int  # answered by a person, held for an agent
    answer_rate: float | None  # share of attempts answered by a person
    mean_ring_seconds: float | None  # dial to answer
    mean_handle_seconds: float | None  # answer to the agent free again, wrap-up included
    samples: int  # attempts behind answer_rate and the means
    # The abandonment ledger: (person-answered calls, abandoned calls) over the last 30 days and 24 hours
    ledger_30d: tuple[int, int] = (0, 0)
    ledger_24h: tuple[int, int] = (0, 0)

    @property
    def abandon_rate_30d(self) -> float | None:
        answered, abandoned = self.ledger_30d
        return abandoned / answered if answered else None

    @property
    def abandon_rate_24h(self) -> float | None:
        answered, abandoned = self.ledger_24h
        return abandoned / answered if answered else None

    def __post_init__(self):
        counts = ("agents_ready", "agents_wrapping_up", "agents_logged_in", "calls_in_flight",
                  "calls_waiting_for_agent", "samples")
        negative = [name for name in counts if getattr(self, name) < 0]
        if negative:
            raise ValueError(f"negative counts: {', '.join(negative)}")
        for name in ("ledger_30d", "ledger_24h"):
            answered, abandoned = getattr(self, name)
            if not 0 <= abandoned <= answered:
                raise ValueError(f"{name}: abandoned calls must be between 0 and the person-answered calls")
        if self.answer_rate is not None and not 0.0 <= self.answer_rate <= 1.0:
            raise ValueError("answer_rate must be between 0 and 1")


@dataclass(frozen=True, kw_only=True)
class PacingSettings:
    abandon_target: float = 0.03  # the regulator's cap on abandoned / person-answered calls
    max_dial_ratio: float = 3.0  # calls in flight per agent taking calls (ready, busy, wrapping up), at most
    min_ready_agents: int = 2  # fewer agents taking calls: PROGRESSIVE
    interval_seconds: float = 5.0  # how often the pacing is recomputed
    min_samples: int = 30  # fewer attempts measured: PROGRESSIVE
    aim: float = 0.5  # share of the target aimed at while no abandonment is measured

    def __post_init__(self):
        if not 0.0 < self.abandon_target < 1.0:
            raise ValueError("abandon_target must be between 0 and 1 (exclusive)")
        if self.max_dial_ratio < 1.0:
            raise ValueError("max_dial_ratio must be at least 1")
        if self.min_ready_agents < 1:
            raise ValueError("min_ready_agents must be at least 1")
        if self.interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        if self.min_samples < 1:
            raise ValueError("min_samples must be at least 1")
        if not 0.0 < self.aim <= 1.0:
            raise ValueError("aim must be in (0, 1]")


@dataclass(frozen=True)
class PacingDecision:
    mode: str  # PREDICTIVE or PROGRESSIVE
    calls_in_flight_target: int
    dial_ratio: float  # calls in flight target per ready agent
    reason: str


def decide(state: PacingState, settings: PacingSettings) -> PacingDecision:
    ready = state.agents_ready
    fallbacks = progressive_reasons(state, settings)
    if fallbacks:
        return PacingDecision(PROGRESSIVE, ready, 1.0, "; ".join(fallbacks))
    share = allowed_overflow_share(state, settings)
    # The cap counts the agents taking calls (ready, busy, wrapping up), as VICIdial's dial level
    # does: at the occupancy predictive dialing is for, hardly anyone is ready at any instant, and
    # a cap of ratio x ready would forbid dialing ahead exactly then. The overflow bound limits.
    team = max(state.agents_logged_in, ready)
    cap = int(settings.max_dial_ratio * team + 1e-9)
    free_now = ready + state.agents_wrapping_up - state.calls_waiting_for_agent
    busy = max(0, state.agents_logged_in - ready - state.agents_wrapping_up)
    horizon = max(settings.interval_seconds, state.mean_ring_seconds)
    freeing = 1.0 - exp(-horizon / state.mean_handle_seconds) if state.mean_handle_seconds > 0 else 1.0
    busy_pmf = binomial_pmf(busy, freeing)
    p = state.answer_rate

    def safe(n):
        return expected_overflow(n, p, free_now, busy_pmf) <= share * n * p

    target = ready
    low, high = ready + 1, cap  # invariant: every n below low is safe
    while low <= high:
        middle = (low + high) // 2
        if safe(middle):
            target, low = middle, middle + 1
        else:
            high = middle - 1
    limit = "capped at max_dial_ratio" if target == cap and cap > ready else "expected overflow"
    reason = (f"{limit}: answer rate {p:.0%}, {free_now} free now + {busy} busy x {freeing:.2f} free "
              f"within {horizon:.0f}s, overflow allowed {share:.2%} of answers")
    return PacingDecision(PREDICTIVE, target, target / team, reason)


def calls_to_place(decision: PacingDecision, state: PacingState) -> int:
    """New calls to originate now: the target less the calls in flight and those already held."""
    return max(0, decision.calls_in_flight_target - state.calls_in_flight - state.calls_waiting_for_agent)


def progressive_reasons(state: PacingState, settings: PacingSettings) -> list[str]:
    """Why the campaign must place one call per ready agent; empty when it may dial ahead."""
    target = settings.abandon_target
    reasons = []
    # The abandonment budget: dial ahead only while one more abandoned call would leave both windows
    # within the target. The measured rate then never passes it (short of several calls abandoned at
    # once, which the margin below keeps unlikely), from a campaign's first call on: a new campaign
    # places one call per ready agent until enough people have answered (33 at 3%) for one abandon.
    for label, (answered, abandoned) in (("30-day", state.ledger_30d), ("24-hour", state.ledger_24h)):
        after_one_more = (abandoned + 1) / (answered + 1)
        if after_one_more > target:
            reasons.append(f"{label} abandonment {abandoned}/{answered}: one more abandoned call would make it "
                           f"{after_one_more:.2%}, over the target {target:.2%}")
    # A small team is where pacing is hardest: it needs a few agents taking calls. Not "ready now":
    # while a campaign runs PROGRESSIVE its own reservations take every agent that frees up, so the
    # ready count stays near zero and would hold it PROGRESSIVE for good.
    if state.agents_logged_in < settings.min_ready_agents:
        reasons.append(f"{state.agents_logged_in} agents taking calls, fewer than {settings.min_ready_agents}")
    measured = None not in (state.answer_rate, state.mean_ring_seconds, state.mean_handle_seconds)
    if state.samples < settings.min_samples or not measured:
        reasons.append(f"too few samples to estimate: {state.samples} attempts measured, "
                       f"{settings.min_samples} needed")
    return reasons


def allowed_overflow_share(state: PacingState, settings: PacingSettings) -> float:
    """The share of expected answers allowed to find no agent: the safety margin, tighter as the worse of
    the measured 30-day and 24-hour abandonment nears the target."""
    measured = max(state.abandon_rate_30d or 0.0, state.abandon_rate_24h or 0.0)
    headroom = max(0.0, 1.0 - measured / settings.abandon_target)
    return settings.abandon_target * settings.aim * headroom


def expected_overflow(n: int, p: float, free_now: int, busy_pmf: list[float]) -> float:
    """E[(A - max(D, 0))+] for A ~ Binomial(n, p) answers and D = free_now + B agents, B ~ busy_pmf."""
    answers = binomial_pmf(n, p)
    # over[k] = E[(A - k)+] for k = 0..n, from over[k] - over[k + 1] = P(A > k); summed from the top so
    # the small tail probabilities are not lost in 1 - cdf.
    over = [0.0] * (n + 1)
    above = 0.0  # P(A > k)
    for k in range(n - 1, -1, -1):
        above += answers[k + 1]
        over[k] = over[k + 1] + above
    total = 0.0
    for freed, weight in enumerate(busy_pmf):
        agents = max(0, free_now + freed)
        if agents < n:
            total += weight * over[agents]
    return total


def binomial_pmf(n: int, p: float) -> list[float]:
    """P(X = k) for k = 0..n, X ~ Binomial(n, p), through logs so large n neither under- nor overflows."""
    if p <= 0.0 or p >= 1.0:
        certain = 0 if p <= 0.0 else n
        return [1.0 if k == certain else 0.0 for k in range(n + 1)]
    log_p, log_q, log_n = log(p), log(1.0 - p), lgamma(n + 1)
    return [exp(log_n - lgamma(k + 1) - lgamma(n - k + 1) + k * log_p + (n - k) * log_q) for k in range(n + 1)]
