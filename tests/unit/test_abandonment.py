from datetime import UTC, datetime, timedelta

import pytest

from dialer.rules import dispositions
from dialer.rules.abandonment import (
    ABANDONED,
    MACHINE,
    NOT_ANSWERED,
    PERSON_CONNECTED,
    classify_outcome,
    rate,
    redial_not_before,
    window_rates,
    windows,
)

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def person(connected_after, hung_up_while_held=False, deadline=2.0):
    return classify_outcome(True, False, connected_after, hung_up_while_held, deadline)


# Classification


@pytest.mark.parametrize("connected_after, outcome", [
    (0.4, PERSON_CONNECTED), (2.0, PERSON_CONNECTED), (2.01, ABANDONED), (7.5, ABANDONED), (None, ABANDONED)])
def test_a_person_connected_within_two_seconds_is_connected_and_later_is_abandoned(connected_after, outcome):
    assert person(connected_after) == outcome


def test_the_deadline_is_the_one_given():
    assert person(4.0, deadline=5.0) == PERSON_CONNECTED
    assert person(5.01, deadline=5.0) == ABANDONED


def test_a_person_who_hangs_up_while_held_is_abandoned():
    assert person(None, hung_up_while_held=True) == ABANDONED


def test_a_machine_answer_is_machine_never_an_abandon():
    assert classify_outcome(False, True, None, False, 2.0) == MACHINE
    assert classify_outcome(True, True, None, True, 2.0) == MACHINE


def test_a_call_nobody_answered_is_not_answered():
    assert classify_outcome(False, False, None, False, 2.0) == NOT_ANSWERED


def test_the_ledgers_abandoned_and_machine_are_the_disposition_names():
    assert (ABANDONED, MACHINE) == (dispositions.ABANDONED, dispositions.MACHINE)


# Rates


def test_the_rate_has_person_answered_calls_as_the_denominator():
    counts = {PERSON_CONNECTED: 97, ABANDONED: 3, MACHINE: 40, NOT_ANSWERED: 160}
    assert rate(counts) == (100, 3, 0.03)


def test_no_person_answered_is_no_rate_not_zero_percent():
    assert rate({MACHINE: 5, NOT_ANSWERED: 9}) == (0, 0, None)
    assert rate({}) == (0, 0, None)


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="DROPPED"):
        rate({"DROPPED": 1})


# Windows


def test_the_windows_start_30_days_and_24_hours_before_now():
    assert windows(NOW) == {"30d": NOW - timedelta(days=30), "24h": NOW - timedelta(hours=24)}


def test_rates_over_the_windows_count_each_outcome_where_it_happened():
    outcomes = [
        (NOW - timedelta(hours=1), PERSON_CONNECTED),
        (NOW - timedelta(hours=2), ABANDONED),
        (NOW - timedelta(hours=24), PERSON_CONNECTED),  # on the 24-hour edge: counted
        (NOW - timedelta(hours=25), ABANDONED),  # yesterday: 30 days only
        (NOW - timedelta(days=10), MACHINE),
        (NOW - timedelta(days=30), PERSON_CONNECTED),  # on the 30-day edge: counted
        (NOW - timedelta(days=30, seconds=1), ABANDONED),  # too old for either
        (NOW + timedelta(seconds=1), ABANDONED),  # not yet happened at now
    ]
    assert window_rates(outcomes, NOW) == {"30d": (5, 2, 0.4), "24h": (3, 1, pytest.approx(1 / 3))}


def test_rates_over_windows_with_nothing_answered_have_no_rate():
    assert window_rates([(NOW, NOT_ANSWERED)], NOW) == {"30d": (0, 0, None), "24h": (0, 0, None)}


def test_rates_over_windows_refuse_an_unknown_outcome():
    with pytest.raises(ValueError):
        window_rates([(NOW, "BUSY")], NOW)


# The UK 72-hour rule


def test_an_abandoned_number_is_not_redialed_for_72_hours():
    assert redial_not_before(NOW) == NOW + timedelta(hours=72)


def test_the_no_redial_period_can_be_set():
    assert redial_not_before(NOW, hours=24) == NOW + timedelta(hours=24)
    with pytest.raises(ValueError):
        redial_not_before(NOW, hours=-1)
