"""Numbers in E.164, the one form DNC lists and per-number caps compare."""

import pytest

from dialer.rules.numbers import InvalidNumber, e164_or_none, to_e164


@pytest.mark.parametrize("number, region, expected", [
    ("+12125550123", "US", "+12125550123"),
    ("2125550123", "US", "+12125550123"),
    ("12125550123", "US", "+12125550123"),
    ("02079460000", "GB", "+442079460000"),
    ("+442079460000", "US", "+442079460000"),  # a country code wins over the default region
])
def test_a_number_is_read_in_its_region_and_written_in_e164(number, region, expected):
    assert to_e164(number, region) == expected


def test_text_that_is_no_number_is_refused():
    with pytest.raises(InvalidNumber):
        to_e164("not a number", "US")
    assert e164_or_none("not a number", "US") is None
