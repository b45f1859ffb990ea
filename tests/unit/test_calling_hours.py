from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.rules.calling_hours import WindowState, is_valid_zone, window_state, zone_key_for, zones_of

NEW_YORK = "America/New_York"
EVERY_DAY = {day: ["09:00", "21:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def local(*parts, zone=NEW_YORK):
    return datetime(*parts, tzinfo=ZoneInfo(zone))


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def state(now, zone_key=NEW_YORK, hours=EVERY_DAY, blocked=(), fallback=None):
    return window_state(hours, list(blocked), zone_key, fallback, now)


# Zone keys


def test_the_zone_key_of_a_new_york_number_is_new_york():
    assert zone_key_for(None, "+12125550100") == "America/New_York"


def test_an_explicit_timezone_beats_the_number():
    assert zone_key_for("Europe/Berlin", "+12125550100") == "Europe/Berlin"


def test_an_unknown_explicit_timezone_falls_back_to_the_number():
    assert zone_key_for("Mars/Olympus_Mons", "+12125550100") == "America/New_York"


def test_a_number_with_several_zones_keeps_all_of_them_sorted():
    assert zone_key_for(None, "+12085550100") == "America/Boise America/Los_Angeles"


def test_a_contact_without_timezone_or_placeable_number_has_the_unknown_key():
    assert zone_key_for(None, None) == ""
    assert zone_key_for("", "+15555550100") == ""  # phonenumbers says Etc/Unknown
    assert zone_key_for(None, "not a number") == ""


def test_zones_of_splits_a_key_and_gives_nothing_for_the_unknown_key():
    assert zones_of("America/Chicago America/New_York") == ("America/Chicago", "America/New_York")
    assert zones_of("") == ()


def test_only_iana_names_zoneinfo_knows_are_valid_zones():
    assert is_valid_zone("America/New_York")
    assert not is_valid_zone("america/new_york")
    assert not is_valid_zone("Mars/Olympus_Mons")
    assert not is_valid_zone("America")
    assert not is_valid_zone("localtime")
    assert not is_valid_zone("")


# Daylight saving: 2026-03-08 (spring forward) and 2026-11-01 (fall back) are Sundays in New York.


def test_one_minute_before_opening_on_the_spring_forward_day_is_closed_until_nine_daylight_time():
    now = local(2026, 3, 8, 8, 59)
    assert now == utc(2026, 3, 8, 12, 59)
    assert state(now) == WindowState(open=False, changes_at=utc(2026, 3, 8, 13, 0))


def test_nine_on_the_spring_forward_day_is_open_until_twenty_one_daylight_time():
    assert state(local(2026, 3, 8, 9, 0)) == WindowState(open=True, changes_at=utc(2026, 3, 9, 1, 0))


def test_one_minute_before_opening_on_the_fall_back_day_is_closed_until_nine_standard_time():
    now = local(2026, 11, 1, 8, 59)
    assert now == utc(2026, 11, 1, 13, 59)
    assert state(now) == WindowState(open=False, changes_at=utc(2026, 11, 1, 14, 0))


def test_nine_on_the_fall_back_day_is_open_until_twenty_one_standard_time():
    assert state(local(2026, 11, 1, 9, 0)) == WindowState(open=True, changes_at=utc(2026, 11, 2, 2, 0))


def test_changes_at_the_night_before_spring_forward_is_the_instant_local_nine_happens():
    now = local(2026, 3, 7, 22, 0)  # standard time, UTC-5
    assert state(now) == WindowState(open=False, changes_at=utc(2026, 3, 8, 13, 0))  # 09:00 UTC-4


def test_changes_at_the_night_before_fall_back_is_the_instant_local_nine_happens():
    now = local(2026, 10, 31, 22, 0)  # daylight time, UTC-4
    assert state(now) == WindowState(open=False, changes_at=utc(2026, 11, 1, 14, 0))  # 09:00 UTC-5


def test_a_start_the_clocks_skip_opens_at_the_instant_they_jump():
    hours = {"sun": ["02:30", "05:00"]}
    # 02:00 EST becomes 03:00 EDT at 07:00 UTC; 02:30 never happens that night.
    assert state(local(2026, 3, 8, 1, 0), hours=hours).changes_at == utc(2026, 3, 8, 7, 0)
    assert state(utc(2026, 3, 8, 7, 0), hours=hours) == WindowState(open=True, changes_at=utc(2026, 3, 8, 9, 0))


def test_an_end_the_clocks_repeat_closes_at_its_first_occurrence():
    hours = {"sun": ["00:00", "01:30"]}
    # 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    assert state(local(2026, 11, 1, 1, 0), hours=hours).changes_at == utc(2026, 11, 1, 5, 30)
    assert not state(utc(2026, 11, 1, 6, 0), hours=hours).open


# Hours, days and blocked dates


def test_the_end_of_the_hours_is_exclusive():
    open_state = state(local(2026, 6, 10, 20, 59, 59, 999999))
    assert open_state == WindowState(open=True, changes_at=local(2026, 6, 10, 21, 0))
    assert state(local(2026, 6, 10, 21, 0)) == WindowState(open=False, changes_at=local(2026, 6, 11, 9, 0))


def test_a_day_not_listed_is_closed_until_the_next_listed_day_opens():
    mondays = {"mon": ["09:00", "21:00"]}
    assert state(local(2026, 6, 9, 12, 0), hours=mondays) == WindowState(
        open=False, changes_at=local(2026, 6, 15, 9, 0))


def test_a_blocked_date_is_closed_all_day_in_local_time_though_utc_is_already_the_next_day():
    now = local(2026, 12, 25, 20, 0)
    assert now.astimezone(UTC).date().isoformat() == "2026-12-26"
    assert state(now, blocked=["2026-12-25"]) == WindowState(open=False, changes_at=local(2026, 12, 26, 9, 0))


def test_the_local_day_before_a_blocked_date_stays_open_though_utc_is_already_the_blocked_date():
    now = local(2026, 12, 24, 20, 30)
    assert now.astimezone(UTC).date().isoformat() == "2026-12-25"
    assert state(now, blocked=["2026-12-25"]) == WindowState(open=True, changes_at=local(2026, 12, 24, 21, 0))


def test_nothing_open_within_fourteen_days_is_closed_until_now_plus_fourteen_days():
    now = utc(2026, 6, 10, 12, 0)
    assert state(now, hours={}) == WindowState(open=False, changes_at=now + timedelta(days=14))


def test_hours_open_all_day_every_day_join_and_ask_again_in_fourteen_days():
    all_day = {day: ["00:00", "24:00"] for day in EVERY_DAY}
    now = utc(2026, 6, 10, 12, 0)
    assert state(now, hours=all_day) == WindowState(open=True, changes_at=now + timedelta(days=14))


def test_changes_at_is_in_utc_whatever_zone_now_is_given_in():
    changes_at = state(local(2026, 6, 10, 8, 0, zone="Asia/Tokyo")).changes_at
    assert changes_at.utcoffset() == timedelta(0)


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError):
        state(datetime(2026, 6, 10, 12, 0))


# Several zones: New York is UTC-4 and Chicago UTC-5 on 2026-06-10.

BOTH = "America/Chicago America/New_York"


def test_several_zones_are_closed_while_only_one_of_them_is_open():
    assert state(utc(2026, 6, 10, 13, 30), zone_key=BOTH) == WindowState(
        open=False, changes_at=utc(2026, 6, 10, 14, 0))  # 09:00 in Chicago


def test_several_zones_are_open_in_the_overlap_until_the_first_of_them_closes():
    assert state(utc(2026, 6, 10, 14, 0), zone_key=BOTH) == WindowState(
        open=True, changes_at=utc(2026, 6, 11, 1, 0))  # 21:00 in New York


def test_several_zones_after_the_overlap_are_closed_until_the_next_overlap():
    assert state(utc(2026, 6, 11, 1, 0), zone_key=BOTH) == WindowState(
        open=False, changes_at=utc(2026, 6, 11, 14, 0))


def test_a_number_with_several_zones_is_open_only_where_all_of_its_zones_allow():
    key = zone_key_for(None, "+12085550100")  # Boise UTC-6, Los Angeles UTC-7 in June
    assert state(utc(2026, 6, 10, 15, 30), zone_key=key) == WindowState(
        open=False, changes_at=utc(2026, 6, 10, 16, 0))
    assert state(utc(2026, 6, 10, 16, 0), zone_key=key) == WindowState(
        open=True, changes_at=utc(2026, 6, 11, 3, 0))


def test_zones_whose_hours_never_overlap_are_closed_for_the_whole_look_ahead():
    now = utc(2026, 6, 10, 12, 0)
    hours = {day: ["09:00", "10:00"] for day in EVERY_DAY}
    assert state(now, zone_key="America/New_York Asia/Tokyo", hours=hours) == WindowState(
        open=False, changes_at=now + timedelta(days=14))


# Unknown zones and no hours


def test_an_unknown_zone_uses_the_fallback_timezone():
    now = utc(2026, 6, 10, 3, 30)  # 23:30 in New York, 20:30 in Los Angeles
    assert state(now, zone_key="", fallback="America/Los_Angeles") == WindowState(
        open=True, changes_at=utc(2026, 6, 10, 4, 0))


def test_an_unknown_zone_without_fallback_is_closed_when_hours_are_set():
    now = utc(2026, 6, 10, 16, 0)  # midday everywhere in the US
    assert state(now, zone_key="") == WindowState(open=False, changes_at=now + timedelta(days=14))


def test_an_unknown_zone_without_fallback_is_open_when_no_hours_are_set():
    assert state(utc(2026, 6, 10, 3, 0), zone_key="", hours=None) == WindowState(open=True, changes_at=None)


def test_no_calling_hours_is_always_open_and_never_changes():
    assert state(local(2026, 6, 10, 3, 0), hours=None) == WindowState(open=True, changes_at=None)
