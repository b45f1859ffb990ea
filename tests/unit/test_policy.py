"""Campaign policy: validation with dotted field names, defaults and merging, the retry schedule."""

import copy
import json
import re
from pathlib import Path

import pytest

from dialer.rules.policy import (
    DEFAULTS,
    MAX_DELAY_SECONDS,
    POLICY_CLASSES,
    InvalidPolicy,
    effective_policy,
    next_attempt_delay,
    parse_policy,
)

DESIGN = Path("/work/shared/DESIGN.md")
EXAMPLE = {
    "retries": {"BUSY": {"retries": 2, "after_seconds": 300, "backoff": 1.0},
                "NO_ANSWER": {"retries": 1, "after_seconds": 120, "backoff": 2.0}},
    "max_attempts": 5, "max_calls_per_number_24h": 3,
    "calling_hours": {"mon": ["09:00", "21:00"], "tue": ["09:00", "21:00"], "sat": ["10:00", "18:00"]},
    "blocked_dates": ["2026-12-25"], "fallback_timezone": "America/New_York",
    "caller_id": {"number": "+15551230000", "name": "ACME"},
    "predictive": {"abandon_target": 0.03, "max_dial_ratio": 3.0, "connect_seconds": 2},
}


def reasons(document):
    with pytest.raises(InvalidPolicy) as raised:
        parse_policy(document)
    return raised.value.fields


def design_examples():
    """The JSON examples of DESIGN.md's "Campaign policy" section that are whole settings documents."""
    if not DESIGN.exists():
        return []
    section = DESIGN.read_text().split("## Campaign policy", 1)[1].split("\n## ", 1)[0]
    return [json.loads(block) for block in re.findall(r"```\n(\{.*?\})\n```", section, re.S)]


# Validation


def test_the_design_example_validates_and_comes_back_unchanged():
    assert parse_policy(copy.deepcopy(EXAMPLE)) == EXAMPLE


@pytest.mark.skipif(not design_examples(), reason="DESIGN.md is not beside the checkout")
def test_every_settings_example_in_the_design_validates():
    for example in design_examples():
        assert parse_policy(example) == example


def test_an_empty_document_is_valid_and_gives_nothing():
    assert parse_policy({}) == {}


def test_only_the_keys_given_are_returned_and_a_retry_rule_gets_backoff_one():
    assert parse_policy({"retries": {"BUSY": {"retries": 1, "after_seconds": 60}}}) == {
        "retries": {"BUSY": {"retries": 1, "after_seconds": 60, "backoff": 1.0}}}


def test_every_disposition_class_may_have_a_retry_rule():
    rules = {name: {"retries": 1, "after_seconds": 1} for name in POLICY_CLASSES}
    assert set(parse_policy({"retries": rules})["retries"]) == set(POLICY_CLASSES)


def test_a_bad_retry_delay_is_named_by_its_dotted_path():
    fields = reasons({"retries": {"BUSY": {"retries": 2, "after_seconds": -1}}})
    assert list(fields) == ["retries.BUSY.after_seconds"]


def test_a_retry_rule_needs_its_count_and_delay():
    assert reasons({"retries": {"BUSY": {}}}) == {"retries.BUSY.retries": ["required"],
                                                   "retries.BUSY.after_seconds": ["required"]}


@pytest.mark.parametrize(("document", "field"), [
    ({"retries": {"BUSY": {"retries": 11, "after_seconds": 1}}}, "retries.BUSY.retries"),
    ({"retries": {"BUSY": {"retries": 1.5, "after_seconds": 1}}}, "retries.BUSY.retries"),
    ({"retries": {"BUSY": {"retries": 1, "after_seconds": 30 * 86400 + 1}}}, "retries.BUSY.after_seconds"),
    ({"retries": {"BUSY": {"retries": 1, "after_seconds": "60"}}}, "retries.BUSY.after_seconds"),
    ({"retries": {"BUSY": {"retries": 1, "after_seconds": 1, "backoff": 0.5}}}, "retries.BUSY.backoff"),
    ({"retries": {"BUSY": {"retries": 1, "after_seconds": 1, "backoff": 10.5}}}, "retries.BUSY.backoff"),
    ({"retries": {"BUSY": {"retries": 1, "after_seconds": 1, "delay": 5}}}, "retries.BUSY.delay"),
    ({"retries": {"NORMAL_CLEARING": {"retries": 1, "after_seconds": 1}}}, "retries.NORMAL_CLEARING"),
    ({"retries": ["BUSY"]}, "retries"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"max_attempts": 21}, "max_attempts"),
    ({"max_attempts": True}, "max_attempts"),
    ({"max_calls_per_number_24h": 101}, "max_calls_per_number_24h"),
    ({"calling_hours": {"mon": ["21:00", "09:00"]}}, "calling_hours.mon"),
    ({"calling_hours": {"mon": ["09:00", "09:00"]}}, "calling_hours.mon"),
    ({"calling_hours": {"mon": ["9:00", "21:00"]}}, "calling_hours.mon"),
    ({"calling_hours": {"mon": ["24:00", "24:00"]}}, "calling_hours.mon"),
    ({"calling_hours": {"mon": ["09:00", "21:60"]}}, "calling_hours.mon"),
    ({"calling_hours": {"mon": ["09:00"]}}, "calling_hours.mon"),
    ({"calling_hours": {"monday": ["09:00", "21:00"]}}, "calling_hours.monday"),
    ({"blocked_dates": ["2026-02-30"]}, "blocked_dates"),
    ({"blocked_dates": ["20261225"]}, "blocked_dates"),
    ({"blocked_dates": "2026-12-25"}, "blocked_dates"),
    ({"fallback_timezone": "Mars/Olympus_Mons"}, "fallback_timezone"),
    ({"fallback_timezone": "../../etc/passwd"}, "fallback_timezone"),
    ({"caller_id": {"number": "555 123"}}, "caller_id.number"),
    ({"caller_id": {"number": "+" + "1" * 21}}, "caller_id.number"),
    ({"caller_id": {"name": "ACME"}}, "caller_id.number"),
    ({"predictive": {"abandon_target": 0.25}}, "predictive.abandon_target"),
    ({"predictive": {"max_dial_ratio": 0.5}}, "predictive.max_dial_ratio"),
    ({"predictive": {"connect_seconds": 11}}, "predictive.connect_seconds"),
    ({"predictive": None}, "predictive"),
    ({"max_attempt": 5}, "max_attempt"),
])
def test_a_bad_value_is_rejected_under_its_field_name(document, field):
    assert field in reasons(document)


@pytest.mark.parametrize("name", ["ACME,origination_uuid=x", "'ACME'", "ACME}", "{ACME", "[ACME]",
                                  "ACME;x", "$ACME"])
def test_a_caller_name_that_could_leave_the_originate_variable_is_rejected(name):
    assert "caller_id.name" in reasons({"caller_id": {"number": "+15551230000", "name": name}})


def test_a_caller_name_may_hold_spaces_the_originate_quotes_it():
    assert parse_policy({"caller_id": {"number": "+15551230000", "name": "ACME Corp"}})["caller_id"]["name"] == (
        "ACME Corp")


def test_calling_hours_listing_no_day_are_rejected_and_null_means_no_limit():
    assert "calling_hours" in reasons({"calling_hours": {}})
    assert parse_policy({"calling_hours": None}) == {"calling_hours": None}


def test_the_version_that_get_answers_may_be_sent_back_and_is_ignored():
    assert parse_policy({"version": 3, "max_attempts": 2}) == {"max_attempts": 2}


def test_a_document_that_is_not_an_object_is_rejected():
    assert reasons(["retries"]) == {"_schema": ["must be a JSON object"]}


def test_24_00_is_allowed_as_the_end_of_the_day():
    assert parse_policy({"calling_hours": {"sun": ["00:00", "24:00"]}}) == {
        "calling_hours": {"sun": ["00:00", "24:00"]}}


def test_blocked_dates_are_kept_once_and_in_order():
    assert parse_policy({"blocked_dates": ["2026-12-31", "2026-12-25", "2026-12-31"]}) == {
        "blocked_dates": ["2026-12-25", "2026-12-31"]}


def test_keys_whose_default_is_none_may_be_null_to_lift_a_house_rule():
    lifted = {"max_attempts": None, "max_calls_per_number_24h": None, "calling_hours": None,
              "fallback_timezone": None, "caller_id": None}
    assert parse_policy(lifted) == lifted


def test_the_error_message_lists_every_field():
    with pytest.raises(InvalidPolicy) as raised:
        parse_policy({"max_attempts": 0, "predictive": {"connect_seconds": 0}})
    assert "max_attempts" in str(raised.value) and "predictive.connect_seconds" in str(raised.value)


# Defaults and merging


def test_no_settings_anywhere_is_one_attempt_with_nothing_retried():
    policy = effective_policy(None, {})
    assert policy == DEFAULTS
    assert policy["retries"] == {} and policy["max_attempts"] is None
    assert next_attempt_delay(policy, "BUSY", 1, 1) is None


def test_the_campaign_replaces_house_keys_and_keeps_the_rest():
    house = parse_policy({"max_attempts": 3, "fallback_timezone": "Europe/London",
                          "calling_hours": {"mon": ["08:00", "20:00"]}})
    campaign = parse_policy({"max_attempts": 5, "calling_hours": {"tue": ["09:00", "17:00"]}})
    policy = effective_policy(campaign, house)
    assert policy["max_attempts"] == 5
    assert policy["fallback_timezone"] == "Europe/London"
    assert policy["calling_hours"] == {"tue": ["09:00", "17:00"]}


def test_retries_and_predictive_merge_per_key():
    house = parse_policy({"retries": {"BUSY": {"retries": 1, "after_seconds": 60},
                                      "NO_ANSWER": {"retries": 1, "after_seconds": 600}},
                          "predictive": {"abandon_target": 0.01}})
    campaign = parse_policy({"retries": {"BUSY": {"retries": 3, "after_seconds": 30}},
                             "predictive": {"max_dial_ratio": 2.0}})
    policy = effective_policy(campaign, house)
    assert policy["retries"] == {"BUSY": {"retries": 3, "after_seconds": 30, "backoff": 1.0},
                                 "NO_ANSWER": {"retries": 1, "after_seconds": 600, "backoff": 1.0}}
    assert policy["predictive"] == {"abandon_target": 0.01, "max_dial_ratio": 2.0, "connect_seconds": None}


def test_a_campaign_may_lift_a_house_cap_with_null():
    policy = effective_policy(parse_policy({"max_calls_per_number_24h": None}),
                              parse_policy({"max_calls_per_number_24h": 3}))
    assert policy["max_calls_per_number_24h"] is None


def test_changing_an_effective_policy_changes_neither_the_defaults_nor_the_layers():
    house = parse_policy({"retries": {"BUSY": {"retries": 1, "after_seconds": 60}}})
    before = copy.deepcopy((DEFAULTS, house))
    policy = effective_policy(None, house)
    policy["retries"]["BUSY"]["retries"] = 9
    policy["predictive"]["abandon_target"] = 0.2
    policy["blocked_dates"].append("2026-01-01")
    assert (DEFAULTS, house) == before


# The retry schedule

BUSY_TWICE = parse_policy({"retries": {"BUSY": {"retries": 2, "after_seconds": 300},
                                       "NO_ANSWER": {"retries": 3, "after_seconds": 120, "backoff": 2.0}}})


def test_a_fixed_delay_is_the_same_for_every_retry():
    policy = effective_policy(BUSY_TWICE, {})
    assert next_attempt_delay(policy, "BUSY", 1, 1) == 300.0
    assert next_attempt_delay(policy, "BUSY", 2, 2) == 300.0


def test_backoff_multiplies_the_delay_per_retry_of_the_class():
    policy = effective_policy(BUSY_TWICE, {})
    assert [next_attempt_delay(policy, "NO_ANSWER", n, n) for n in (1, 2, 3)] == [120.0, 240.0, 480.0]


def test_a_class_is_final_once_its_retries_are_used_up():
    policy = effective_policy(BUSY_TWICE, {})
    assert next_attempt_delay(policy, "BUSY", 3, 3) is None


def test_each_class_counts_its_own_retries():
    policy = effective_policy(BUSY_TWICE, {})
    # Two busies and then a no-answer: NO_ANSWER's first retry, whatever BUSY used.
    assert next_attempt_delay(policy, "NO_ANSWER", 1, 3) == 120.0


def test_a_class_without_a_rule_is_final():
    policy = effective_policy(BUSY_TWICE, {})
    assert next_attempt_delay(policy, "REJECTED", 1, 1) is None
    assert next_attempt_delay(policy, "ANSWERED", 1, 1) is None


def test_max_attempts_stops_retries_the_class_would_still_allow():
    policy = effective_policy(parse_policy({"max_attempts": 3}), {"retries": BUSY_TWICE["retries"]})
    assert next_attempt_delay(policy, "NO_ANSWER", 2, 2) == 240.0
    assert next_attempt_delay(policy, "NO_ANSWER", 3, 3) is None


def test_retry_rules_work_without_max_attempts():
    policy = effective_policy(BUSY_TWICE, {})
    assert policy["max_attempts"] is None
    assert next_attempt_delay(policy, "NO_ANSWER", 3, 5) == 480.0


def test_a_long_backoff_is_capped_at_thirty_days():
    policy = effective_policy(parse_policy(
        {"retries": {"BUSY": {"retries": 10, "after_seconds": 30 * 86400, "backoff": 10.0}}}), {})
    assert next_attempt_delay(policy, "BUSY", 10, 10) == MAX_DELAY_SECONDS
