from dataclasses import replace
from math import comb, exp

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.rules.pacing import (
    PREDICTIVE,
    PROGRESSIVE,
    PacingDecision,
    PacingSettings,
    PacingState,
    allowed_overflow_share,
    binomial_pmf,
    calls_to_place,
    decide,
)

SETTINGS = PacingSettings()


def spent(rate, answered=10_000):
    """A ledger window (person-answered, abandoned) at this abandonment rate."""
    return answered, round(rate * answered)


# Mid-shift, 50 agents, the workload: 35% answered by a person after ~12 s, 60 s talk + 5 s wrap-up.
TYPICAL_50 = PacingState(agents_ready=8, agents_wrapping_up=2, agents_logged_in=50, calls_in_flight=14,
                         calls_waiting_for_agent=0, answer_rate=0.35, mean_ring_seconds=12.0,
                         mean_handle_seconds=65.0, samples=500, ledger_30d=spent(0.01), ledger_24h=spent(0.012))
SMALL_10 = replace(TYPICAL_50, agents_logged_in=10, agents_ready=3, agents_wrapping_up=1, calls_in_flight=4)


def state(**changes):
    return replace(TYPICAL_50, **changes)


def overflow_by_enumeration(n, p, free_now, busy, freeing):
    """E[(answers - max(agents, 0))+] summed over the joint distribution: the oracle for the model."""
    total = 0.0
    for freed in range(busy + 1):
        weight = comb(busy, freed) * freeing ** freed * (1 - freeing) ** (busy - freed)
        agents = max(0, free_now + freed)
        for answers in range(agents + 1, n + 1):
            total += weight * comb(n, answers) * p ** answers * (1 - p) ** (n - answers) * (answers - agents)
    return total


def is_safe(n, pacing_state, settings=SETTINGS):
    s = pacing_state
    free_now = s.agents_ready + s.agents_wrapping_up - s.calls_waiting_for_agent
    busy = s.agents_logged_in - s.agents_ready - s.agents_wrapping_up
    freeing = 1 - exp(-max(settings.interval_seconds, s.mean_ring_seconds) / s.mean_handle_seconds)
    overflow = overflow_by_enumeration(n, s.answer_rate, free_now, busy, freeing)
    return overflow <= allowed_overflow_share(s, settings) * n * s.answer_rate + 1e-12


# The model


def test_a_typical_fifty_agent_state_at_35_percent_answers_dials_well_ahead_of_its_ready_agents():
    decision = decide(TYPICAL_50, SETTINGS)
    assert decision.mode == PREDICTIVE
    assert decision.calls_in_flight_target >= 3 * TYPICAL_50.agents_ready  # busy agents free up too
    assert is_safe(decision.calls_in_flight_target, TYPICAL_50)
    assert not is_safe(decision.calls_in_flight_target + 1, TYPICAL_50)
    assert decision.dial_ratio == pytest.approx(decision.calls_in_flight_target / TYPICAL_50.agents_logged_in)


def test_with_every_agent_busy_it_still_dials_for_those_about_to_be_free():
    everyone_busy = state(agents_ready=0, agents_wrapping_up=0, calls_in_flight=0)
    decision = decide(everyone_busy, SETTINGS)
    assert decision.mode == PREDICTIVE and decision.calls_in_flight_target > 0
    assert is_safe(decision.calls_in_flight_target, everyone_busy)


def test_a_fresh_shift_of_fifty_ready_agents_dials_about_one_over_the_answer_rate_less_the_margin():
    decision = decide(state(agents_ready=50, agents_wrapping_up=0), SETTINGS)
    assert 2.0 <= decision.dial_ratio < 1 / 0.35
    assert "expected overflow" in decision.reason


def test_a_ten_agent_state_stays_safe_and_dials_less_boldly_than_fifty_agents():
    decision = decide(SMALL_10, SETTINGS)
    assert decision.mode == PREDICTIVE
    assert is_safe(decision.calls_in_flight_target, SMALL_10)
    assert decision.dial_ratio < decide(TYPICAL_50, SETTINGS).dial_ratio


def test_ten_agents_with_two_ready_get_no_call_beyond_one_per_ready_agent():
    decision = decide(replace(SMALL_10, agents_ready=2, agents_wrapping_up=0), SETTINGS)
    assert (decision.mode, decision.calls_in_flight_target) == (PREDICTIVE, 2)


def test_the_target_is_the_largest_number_of_calls_the_margin_allows():
    pacing_state = state(agents_ready=12, agents_wrapping_up=1, agents_logged_in=20)
    target = decide(pacing_state, SETTINGS).calls_in_flight_target
    assert target < 3 * 12
    assert is_safe(target, pacing_state)
    assert not is_safe(target + 1, pacing_state)


@given(st.integers(2, 10), st.integers(0, 3), st.integers(0, 10), st.integers(0, 2), st.floats(0.05, 0.95),
       st.floats(1.0, 30.0), st.floats(10.0, 300.0), st.floats(0.0, 0.029))
def test_the_search_finds_what_counting_up_one_call_at_a_time_finds(ready, wrapping, busy, held, p, ring, handle,
                                                                    measured):
    pacing_state = state(agents_ready=ready, agents_wrapping_up=wrapping, agents_logged_in=ready + wrapping + busy,
                         calls_waiting_for_agent=held, answer_rate=p, mean_ring_seconds=ring,
                         mean_handle_seconds=handle, ledger_30d=spent(measured))
    counted = ready
    while counted < 3 * (ready + wrapping + busy) and is_safe(counted + 1, pacing_state):
        counted += 1
    assert decide(pacing_state, SETTINGS).calls_in_flight_target == counted


def test_calls_already_held_for_an_agent_lower_the_target():
    held = decide(state(agents_ready=20, calls_waiting_for_agent=3), SETTINGS)
    assert held.calls_in_flight_target < decide(state(agents_ready=20), SETTINGS).calls_in_flight_target


def test_a_longer_handle_time_frees_fewer_busy_agents_and_lowers_the_target():
    ready_few = state(agents_ready=10, agents_wrapping_up=0, agents_logged_in=25)
    quick = decide(replace(ready_few, mean_handle_seconds=30.0), SETTINGS).calls_in_flight_target
    slow = decide(replace(ready_few, mean_handle_seconds=600.0), SETTINGS).calls_in_flight_target
    assert slow < quick


def test_a_higher_answer_rate_lowers_the_target():
    fresh = state(agents_ready=50, agents_wrapping_up=0)
    assert (decide(replace(fresh, answer_rate=0.6), SETTINGS).calls_in_flight_target
            < decide(fresh, SETTINGS).calls_in_flight_target)


# The margin


def test_the_margin_widens_as_measured_abandonment_nears_the_target():
    rates = [0.0, 0.01, 0.02, 0.025, 0.029]
    shares = [allowed_overflow_share(state(ledger_30d=spent(r), ledger_24h=spent(r)), SETTINGS) for r in rates]
    assert shares == sorted(shares, reverse=True) and len(set(shares)) == len(shares)
    assert shares[0] == pytest.approx(0.015)  # half the target while nothing is spent
    targets = [decide(state(agents_ready=50, agents_wrapping_up=0, ledger_30d=spent(r)), SETTINGS)
               .calls_in_flight_target for r in rates]
    assert targets == sorted(targets, reverse=True) and targets[0] > targets[-1]


def test_the_worse_of_the_two_windows_sets_the_margin():
    worse_today = state(ledger_30d=spent(0.005), ledger_24h=spent(0.02))
    assert allowed_overflow_share(worse_today, SETTINGS) == allowed_overflow_share(
        state(ledger_30d=spent(0.02), ledger_24h=spent(0.0)), SETTINGS)


def test_no_abandonment_measured_yet_counts_as_none_spent():
    unmeasured = state(ledger_30d=(0, 0), ledger_24h=(0, 0))
    assert allowed_overflow_share(unmeasured, SETTINGS) == pytest.approx(0.015)


# Limits


def test_a_campaign_nobody_answers_is_capped_at_max_dial_ratio_per_agent_taking_calls():
    decision = decide(state(answer_rate=0.0), SETTINGS)
    assert (decision.calls_in_flight_target, decision.dial_ratio) == (150, 3.0)
    assert "capped at max_dial_ratio" in decision.reason


def test_a_lower_max_dial_ratio_caps_lower():
    decision = decide(state(answer_rate=0.0), PacingSettings(max_dial_ratio=1.5))
    assert decision.calls_in_flight_target == 75


def test_when_every_call_is_answered_no_more_calls_than_agents_about_to_be_free():
    decision = decide(state(agents_ready=10, agents_wrapping_up=0, agents_logged_in=10, answer_rate=1.0),
                      SETTINGS)
    assert decision.calls_in_flight_target == 10


pacing_states = st.builds(
    lambda ready, wrapping, busy, in_flight, held, p, ring, handle, a30, a24, samples: PacingState(
        agents_ready=ready, agents_wrapping_up=wrapping, agents_logged_in=ready + wrapping + busy,
        calls_in_flight=in_flight, calls_waiting_for_agent=held, answer_rate=p, mean_ring_seconds=ring,
        mean_handle_seconds=handle, samples=samples, ledger_30d=a30, ledger_24h=a24),
    st.integers(0, 80), st.integers(0, 10), st.integers(0, 80), st.integers(0, 200), st.integers(0, 10),
    st.none() | st.floats(0.0, 1.0), st.none() | st.floats(0.0, 60.0), st.none() | st.floats(0.0, 900.0),
    st.tuples(st.integers(0, 2000), st.floats(0.0, 0.1)).map(lambda t: spent(t[1], t[0])),
    st.tuples(st.integers(0, 2000), st.floats(0.0, 0.1)).map(lambda t: spent(t[1], t[0])), st.integers(0, 100))


@given(pacing_states, st.floats(1.0, 5.0))
def test_never_fewer_than_one_call_per_ready_agent_nor_more_than_max_dial_ratio_per_agent(s, ratio):
    decision = decide(s, PacingSettings(max_dial_ratio=ratio))
    assert s.agents_ready <= decision.calls_in_flight_target <= max(ratio * s.agents_logged_in, s.agents_ready) + 1e-9
    assert decision.reason
    if decision.mode == PROGRESSIVE:
        assert (decision.calls_in_flight_target, decision.dial_ratio) == (s.agents_ready, 1.0)


@given(pacing_states)
def test_the_target_never_grows_as_measured_abandonment_grows(s):
    calmer, closer = replace(s, ledger_30d=spent(0.001)), replace(s, ledger_30d=spent(0.02))
    assert decide(closer, SETTINGS).calls_in_flight_target <= decide(calmer, SETTINGS).calls_in_flight_target


# Falling back to PROGRESSIVE


@pytest.mark.parametrize("changes, says", [
    ({"ledger_30d": spent(0.03)}, "30-day abandonment 300/10000: one more abandoned call would make it 3.01%, "
                                  "over the target 3.00%"),
    ({"ledger_30d": spent(0.05)}, "30-day abandonment 500/10000: one more"),
    ({"ledger_24h": spent(0.031)}, "24-hour abandonment 310/10000: one more abandoned call would make it 3.11%"),
    ({"ledger_24h": (20, 0)}, "24-hour abandonment 0/20: one more abandoned call would make it 4.76%"),
    ({"agents_ready": 1, "agents_wrapping_up": 0, "agents_logged_in": 1}, "1 agents taking calls, fewer than 2"),
    ({"samples": 29}, "too few samples to estimate: 29 attempts measured, 30 needed"),
    ({"answer_rate": None}, "too few samples"),
    ({"mean_ring_seconds": None}, "too few samples"),
    ({"mean_handle_seconds": None}, "too few samples"),
])
def test_falls_back_to_one_call_per_ready_agent_and_says_why(changes, says):
    pacing_state = state(**changes)
    decision = decide(pacing_state, SETTINGS)
    assert decision.mode == PROGRESSIVE
    assert decision.calls_in_flight_target == pacing_state.agents_ready
    assert decision.dial_ratio == 1.0
    assert says in decision.reason


def test_dials_ahead_exactly_while_one_more_abandoned_call_stays_within_the_target():
    # 3% of 34 answered is 1.02 abandoned calls: a new campaign first needs 33 people answered (placing
    # one call per ready agent), then may risk one abandon; 2 of 100 leave room for a third, 3 do not.
    assert decide(state(ledger_24h=(32, 0)), SETTINGS).mode == PROGRESSIVE
    assert decide(state(ledger_24h=(33, 0)), SETTINGS).mode == PREDICTIVE
    assert decide(state(ledger_30d=(100, 2)), SETTINGS).mode == PREDICTIVE
    assert decide(state(ledger_30d=(100, 3)), SETTINGS).mode == PROGRESSIVE


def test_a_ledger_with_more_abandoned_than_answered_calls_is_refused():
    with pytest.raises(ValueError, match="ledger_24h"):
        state(ledger_24h=(3, 4))


def test_every_reason_to_fall_back_is_named():
    decision = decide(state(ledger_30d=spent(0.04), agents_ready=0, agents_wrapping_up=0, agents_logged_in=0,
                            samples=0), SETTINGS)
    assert decision.calls_in_flight_target == 0
    assert all(part in decision.reason for part in ("30-day", "0 agents taking calls", "too few samples"))


# Calls to place


@pytest.mark.parametrize("target, in_flight, held, expected", [(24, 14, 0, 10), (24, 14, 3, 7), (24, 30, 0, 0)])
def test_calls_to_place_are_the_target_less_calls_in_flight_and_held(target, in_flight, held, expected):
    decision = PacingDecision(PREDICTIVE, target, 3.0, "")
    assert calls_to_place(decision, state(calls_in_flight=in_flight, calls_waiting_for_agent=held)) == expected


# Inputs


def test_the_binomial_pmf_sums_to_one_even_for_a_thousand_calls():
    assert sum(binomial_pmf(1000, 0.35)) == pytest.approx(1.0)
    assert binomial_pmf(3, 0.0) == [1.0, 0.0, 0.0, 0.0] and binomial_pmf(2, 1.0) == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("changes", [{"abandon_target": 0}, {"abandon_target": 1.0}, {"max_dial_ratio": 0.5},
                                     {"min_ready_agents": 0}, {"interval_seconds": 0}, {"min_samples": 0},
                                     {"aim": 0}])
def test_settings_out_of_range_are_refused(changes):
    with pytest.raises(ValueError):
        PacingSettings(**changes)


@pytest.mark.parametrize("changes", [{"agents_ready": -1}, {"calls_in_flight": -2}, {"answer_rate": 1.5}])
def test_a_state_with_negative_counts_or_an_impossible_rate_is_refused(changes):
    with pytest.raises(ValueError):
        state(**changes)
