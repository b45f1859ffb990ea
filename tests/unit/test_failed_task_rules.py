"""What is kept of a failed task, and how `--since` is read."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dialer.rules.failed_tasks import (
    EXCEPTION_CHARS,
    TRACEBACK_CHARS,
    describe_exception,
    failure_record,
    jsonable,
    parse_since,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_failure_record_is_plain_json_with_the_columns_it_fills():
    record = failure_record("t-1", "dialer.originate", ("sw1", [1, 2]), {"note": "x"}, "TypeError: bad",
                            "Traceback ...", NOW)

    assert record == {"task_id": "t-1", "name": "dialer.originate", "args": ["sw1", [1, 2]],
                      "kwargs": {"note": "x"}, "exception": "TypeError: bad", "traceback": "Traceback ...",
                      "failed_at": "2026-03-01T12:00:00+00:00"}


def test_missing_arguments_are_kept_as_empty_ones():
    record = failure_record("t-1", "dialer.expire", None, None, "E", None, NOW)
    assert (record["args"], record["kwargs"], record["traceback"]) == ([], {}, "")


def test_a_long_exception_keeps_its_start_and_a_long_traceback_its_end():
    record = failure_record("t", "n", [], {}, "E" * 5000, "frame\n" * 10_000 + "ValueError: the cause", NOW)

    assert len(record["exception"]) == EXCEPTION_CHARS and record["exception"].startswith("EEE")
    assert len(record["traceback"]) == TRACEBACK_CHARS and record["traceback"].endswith("ValueError: the cause")


def test_strings_postgresql_refuses_are_made_storable_in_arguments_and_texts():
    args = ["nul\x00here", {"key\x00": "lone \ud800 surrogate"}, float("nan")]
    record = failure_record("t", "n", args, {}, "E\x00", "tb\x00", NOW)

    assert record["args"] == ["nul\ufffdhere", {"key\ufffd": "lone ? surrogate"}, "nan"]
    assert (record["exception"], record["traceback"]) == ("E\ufffd", "tb\ufffd")


def test_values_json_cannot_carry_are_kept_as_their_repr():
    assert jsonable([b"raw", (1, 2)]) == ["b'raw'", [1, 2]]


def test_an_exception_is_described_by_its_class_and_message():
    assert describe_exception(KeyError("sw9")) == "KeyError: 'sw9'"
    assert describe_exception(RuntimeError()) == "RuntimeError"


@pytest.mark.parametrize("text, back", [("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)),
                                        ("1h", timedelta(hours=1)), ("2D", timedelta(days=2)),
                                        (" 1w ", timedelta(weeks=1))])
def test_since_as_a_duration_counts_back_from_now(text, back):
    assert parse_since(text, NOW) == NOW - back


def test_since_as_an_iso_time_is_utc_unless_it_says_otherwise():
    assert parse_since("2026-02-28T08:30", NOW) == datetime(2026, 2, 28, 8, 30, tzinfo=UTC)
    assert parse_since("2026-02-28T08:30:00+02:00", NOW) == datetime(2026, 2, 28, 8, 30,
                                                                      tzinfo=timezone(timedelta(hours=2)))
    assert parse_since("2026-02-28", NOW) == datetime(2026, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "1y", "-1h", "12"])
def test_since_that_is_neither_a_duration_nor_a_time_says_what_is_accepted(text):
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since(text, NOW)
