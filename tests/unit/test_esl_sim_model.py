"""The switch simulator's pure parts: originate parsing, the outcome model, limits, causes."""

import pytest

from sim.switch import causes
from sim.switch.admission import Limits
from sim.switch.originate import OriginateSyntaxError, parse_originate
from sim.switch.outcomes import KINDS, Outcome, OutcomeModel

AGENT = (
    "{ignore_early_media=true,sip_h_X-CallType=PROGRESSIVE,sip_h_X-queue='Sales Queue',"
    "origination_uuid=bd353004-5d07-416f-bbf4-34e1003837fe,dialer_contact_id=1002}"
    "sofia/gateway/4d995f13-f90a-4bc9-8045-23809a34f82e/+15551230002 6666 XML default"
)


def test_parses_the_dialer_agent_originate_with_a_quoted_value():
    request = parse_originate(AGENT)
    assert request.variables == {
        "ignore_early_media": "true",
        "sip_h_X-CallType": "PROGRESSIVE",
        "sip_h_X-queue": "Sales Queue",
        "origination_uuid": "bd353004-5d07-416f-bbf4-34e1003837fe",
        "dialer_contact_id": "1002",
    }
    assert (request.gateway, request.number) == ("4d995f13-f90a-4bc9-8045-23809a34f82e", "+15551230002")
    assert (request.destination, request.dialplan, request.context) == ("6666", "XML", "default")
    assert request.application is None and request.originate_timeout == 60.0


def test_a_quoted_value_may_hold_commas_and_braces():
    request = parse_originate("{a='x, y',b='{z}'}sofia/gateway/gw1/1 &park()")
    assert request.variables == {"a": "x, y", "b": "{z}"}


def test_parses_an_application_destination_with_spaces_in_its_arguments():
    request = parse_originate("{originate_timeout=5}sofia/gateway/gw1/1000 &playback(/tmp/a b.wav)")
    assert request.application == ("playback", "/tmp/a b.wav")
    assert request.originate_timeout == 5.0


def test_without_variables_and_with_the_timeout_argument():
    request = parse_originate("sofia/gateway/gw1/1000 6666 XML ctx name 123 7")
    assert (request.variables, request.context, request.originate_timeout) == ({}, "ctx", 7.0)


def test_a_non_gateway_endpoint_has_no_gateway():
    assert parse_originate("loopback/6666 &park()").gateway is None


@pytest.mark.parametrize("arg", ["", "{a=1}sofia/gateway/gw1/1", "{a=1 sofia/gateway/gw1/1 &park()"])
def test_an_originate_without_endpoint_and_destination_is_a_syntax_error(arg):
    with pytest.raises(OriginateSyntaxError):
        parse_originate(arg)


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("1000", "answered"),
        ("+15551230005", "answered"),
        ("1006", "busy"),
        ("1007", "no_answer"),
        ("1008", "rejected"),
        ("1009", "unallocated"),
    ],
)
def test_the_last_digit_decides_by_default(number, kind):
    assert OutcomeModel(seed=1).decide(number).kind == kind


def test_answered_calls_draw_ring_and_talk_times_from_the_model():
    outcome = OutcomeModel(seed=1, ring=(2, 3), talk=(10, 20)).decide("1000")
    assert 2 <= outcome.ring_seconds <= 3 and 10 <= outcome.talk_seconds <= 20


def test_an_override_beats_the_last_digit_and_can_pin_times():
    model = OutcomeModel(seed=1)
    model.set_outcome("1000", "busy")
    model.set_outcome("1006", "answered", ring_seconds=1, talk_seconds=42)
    assert model.decide("1000").kind == "busy"
    assert model.decide("1006") == Outcome("answered", 1, 42)
    model.clear_outcome("1000")
    assert model.decide("1000").kind == "answered"


def test_the_random_mode_is_reproducible_with_a_seed_and_covers_every_kind_of_the_mix():
    runs = [
        [m.decide("1000") for _ in range(300)]
        for m in (OutcomeModel(seed=7, mode="random"), OutcomeModel(seed=7, mode="random"))
    ]
    assert runs[0] == runs[1]
    assert {o.kind for o in runs[0]} == {"answered", "busy", "no_answer", "rejected", "unallocated"}


def test_unknown_outcomes_are_refused():
    with pytest.raises(ValueError):
        OutcomeModel().set_outcome("1000", "exploded")
    assert "no_user_response" in KINDS


def test_sps_lets_n_minus_one_through_per_second_like_freeswitch():
    limits = Limits(max_sessions=100, sps=3)
    assert [limits.admit(0, now=10.0) for _ in range(4)] == [True, True, False, False]
    assert limits.admit(0, now=11.0) is True  # a new second


def test_max_sessions_counts_the_live_ones():
    limits = Limits(max_sessions=2, sps=1000)
    assert limits.admit(1, now=0.0) is True
    assert limits.admit(2, now=0.0) is False


def test_q850_codes_of_freeswitch_causes():
    assert [causes.q850(c) for c in ("NORMAL_CLEARING", "USER_BUSY", "NO_ANSWER", "SYSTEM_SHUTDOWN")] == [
        16,
        17,
        19,
        16,
    ]
    assert causes.known_cause("user_busy") == "USER_BUSY" and causes.known_cause("bogus") == "NORMAL_CLEARING"
