import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.rules.allocation import fair_share, free_slots

campaign_ids = st.text(alphabet="abcdefgh0123456789-", min_size=1, max_size=6)
dialable_maps = st.dictionaries(campaign_ids, st.integers(min_value=0, max_value=60), max_size=12)
slots = st.integers(min_value=0, max_value=400)


def round_robin(free, dialable):
    """The spec's rule walked literally, one contact at a time: the oracle for small inputs."""
    order = sorted(dialable, key=lambda campaign_id: (dialable[campaign_id], campaign_id))
    shares = dict.fromkeys(order, 0)
    while free and any(shares[c] < dialable[c] for c in order):
        for campaign_id in order:
            if free and shares[campaign_id] < dialable[campaign_id]:
                shares[campaign_id] += 1
                free -= 1
    return {campaign_id: share for campaign_id, share in shares.items() if share}


# The spec's worked rules, as plain examples.


def test_fewer_slots_than_campaigns_gives_one_each_to_the_smallest():
    assert fair_share(2, {"a": 5, "b": 1, "c": 3, "d": 9}) == {"b": 1, "c": 1}


def test_as_many_slots_as_campaigns_gives_one_to_each():
    assert fair_share(3, {"a": 5, "b": 1, "c": 3}) == {"a": 1, "b": 1, "c": 1}


def test_more_slots_than_campaigns_gives_equal_shares_and_the_remainder_to_the_smallest():
    assert fair_share(8, {"big": 50, "mid": 20, "small": 10}) == {"small": 3, "mid": 3, "big": 2}


def test_campaigns_of_equal_size_get_the_remainder_by_campaign_id():
    assert fair_share(10, {"c": 100, "a": 100, "b": 100}) == {"a": 4, "b": 3, "c": 3}


def test_exhausted_campaigns_are_skipped_and_their_slots_go_to_the_others():
    assert fair_share(10, {"a": 1, "b": 2, "c": 100}) == {"a": 1, "b": 2, "c": 7}


def test_every_contact_is_allotted_when_slots_are_plenty():
    assert fair_share(100, {"a": 3, "b": 4}) == {"a": 3, "b": 4}


def test_no_free_slots_allots_nothing():
    assert fair_share(0, {"a": 3, "b": 4}) == {}


def test_campaigns_without_dialable_contacts_are_left_out():
    assert fair_share(5, {"empty": 0, "a": 2}) == {"a": 2}


def test_negative_inputs_are_rejected():
    with pytest.raises(ValueError):
        fair_share(-1, {"a": 1})
    with pytest.raises(ValueError):
        fair_share(1, {"a": -1})


def test_a_thousand_campaigns_and_five_hundred_slots_go_to_the_five_hundred_smallest():
    dialable = {f"c{index:04d}": 1000 + index for index in range(1000)}
    shares = fair_share(500, dialable)
    assert shares == {f"c{index:04d}": 1 for index in range(500)}


def test_huge_slot_counts_are_computed_without_walking_each_slot():
    # A per-slot loop would never finish this; the level computation is O(campaigns log campaigns).
    dialable = {f"c{index}": 10**15 + index for index in range(10)}
    shares = fair_share(10**16 + 5, dialable)
    assert sum(shares.values()) == 10**16 + 5
    assert fair_share(100_000, {f"c{i}": 10**6 for i in range(10)}) == {f"c{i}": 10_000 for i in range(10)}


# Properties over arbitrary inputs.


@given(slots, dialable_maps)
def test_allots_exactly_what_the_spec_round_robin_allots(free, dialable):
    assert fair_share(free, dialable) == round_robin(free, dialable)


@given(slots, dialable_maps)
def test_never_allots_more_than_the_free_slots(free, dialable):
    assert sum(fair_share(free, dialable).values()) <= free


@given(slots, dialable_maps)
def test_never_allots_a_campaign_more_than_it_has(free, dialable):
    for campaign_id, share in fair_share(free, dialable).items():
        assert 0 < share <= dialable[campaign_id]


@given(slots, dialable_maps)
def test_uses_every_slot_when_enough_contacts_exist(free, dialable):
    assert sum(fair_share(free, dialable).values()) == min(free, sum(dialable.values()))


@given(slots, dialable_maps)
def test_shares_of_campaigns_not_exhausted_differ_by_at_most_one(free, dialable):
    shares = fair_share(free, dialable)
    open_shares = [shares.get(c, 0) for c in dialable if shares.get(c, 0) < dialable[c]]
    if open_shares:
        assert max(open_shares) - min(open_shares) <= 1


@given(slots, dialable_maps)
def test_no_campaign_holds_more_than_one_above_a_campaign_still_open(free, dialable):
    shares = fair_share(free, dialable)
    open_shares = [shares.get(c, 0) for c in dialable if shares.get(c, 0) < dialable[c]]
    if open_shares and shares:
        assert max(shares.values()) <= min(open_shares) + 1


@given(slots, dialable_maps)
def test_smaller_campaigns_get_the_extra_ones(free, dialable):
    shares = fair_share(free, dialable)
    still_open = sorted((dialable[c], c) for c in dialable if shares.get(c, 0) < dialable[c])
    in_order = [shares.get(c, 0) for _, c in still_open]
    assert in_order == sorted(in_order, reverse=True)


@given(slots, dialable_maps)
def test_same_input_in_any_mapping_order_gives_the_same_output(free, dialable):
    reordered = dict(reversed(list(dialable.items())))
    assert fair_share(free, dialable) == fair_share(free, reordered)
    assert list(fair_share(free, dialable).items()) == list(fair_share(free, reordered).items())


# Free slots of one switch.


def test_free_slots_are_the_free_capacity_when_the_rate_allows_more():
    assert free_slots(capacity=30, occupied=25, cps=10, tick_seconds=1) == 5


def test_free_slots_are_capped_by_the_calls_per_second_budget_of_the_tick():
    assert free_slots(capacity=100, occupied=0, cps=10, tick_seconds=1) == 10
    assert free_slots(capacity=100, occupied=0, cps=10, tick_seconds=2.5) == 25


def test_calls_started_within_the_window_use_up_the_rate_budget():
    assert free_slots(capacity=100, occupied=0, cps=10, tick_seconds=1, recent_claims=7) == 3
    assert free_slots(capacity=100, occupied=0, cps=10, tick_seconds=1, recent_claims=12) == 0


def test_a_switch_over_its_capacity_has_no_free_slots():
    assert free_slots(capacity=10, occupied=12, cps=10, tick_seconds=1) == 0


def test_a_fractional_budget_rounds_down_without_losing_a_call_to_float_error():
    assert free_slots(capacity=1000, occupied=0, cps=0.29, tick_seconds=100) == 29
    assert free_slots(capacity=1000, occupied=0, cps=3, tick_seconds=0.5) == 1


def test_free_slots_reject_negative_inputs():
    with pytest.raises(ValueError):
        free_slots(capacity=10, occupied=-1, cps=1, tick_seconds=1)
