import logging

import pytest

from dialer.rules import dispositions
from dialer.rules.dispositions import (
    ABANDONED,
    ANSWERED,
    BUSY,
    CLASSES,
    FREESWITCH_CAUSES,
    GATEWAY,
    LOST,
    MACHINE,
    NO_ANSWER,
    NOT_ATTEMPTS,
    REJECTED,
    SWITCH_DOWN,
    TEMPORARY,
    UNREACHABLE,
    classify,
)

# The reference: every name of CAUSE_CHART in FreeSWITCH v1.10.12 src/switch_channel.c (one per value of
# switch_call_cause_t in src/include/switch_types.h), in its order. Written out here so that a cause
# dropped from the module fails.
FREESWITCH_1_10_CAUSES = (
    "NONE", "UNALLOCATED_NUMBER", "NO_ROUTE_TRANSIT_NET", "NO_ROUTE_DESTINATION", "CHANNEL_UNACCEPTABLE",
    "CALL_AWARDED_DELIVERED", "NORMAL_CLEARING", "USER_BUSY", "NO_USER_RESPONSE", "NO_ANSWER",
    "SUBSCRIBER_ABSENT", "CALL_REJECTED", "NUMBER_CHANGED", "REDIRECTION_TO_NEW_DESTINATION",
    "EXCHANGE_ROUTING_ERROR", "DESTINATION_OUT_OF_ORDER", "INVALID_NUMBER_FORMAT", "FACILITY_REJECTED",
    "RESPONSE_TO_STATUS_ENQUIRY", "NORMAL_UNSPECIFIED", "NORMAL_CIRCUIT_CONGESTION", "NETWORK_OUT_OF_ORDER",
    "NORMAL_TEMPORARY_FAILURE", "SWITCH_CONGESTION", "ACCESS_INFO_DISCARDED", "REQUESTED_CHAN_UNAVAIL",
    "PRE_EMPTED", "FACILITY_NOT_SUBSCRIBED", "OUTGOING_CALL_BARRED", "INCOMING_CALL_BARRED",
    "BEARERCAPABILITY_NOTAUTH", "BEARERCAPABILITY_NOTAVAIL", "SERVICE_UNAVAILABLE", "BEARERCAPABILITY_NOTIMPL",
    "CHAN_NOT_IMPLEMENTED", "FACILITY_NOT_IMPLEMENTED", "SERVICE_NOT_IMPLEMENTED", "INVALID_CALL_REFERENCE",
    "INCOMPATIBLE_DESTINATION", "INVALID_MSG_UNSPECIFIED", "MANDATORY_IE_MISSING", "MESSAGE_TYPE_NONEXIST",
    "WRONG_MESSAGE", "IE_NONEXIST", "INVALID_IE_CONTENTS", "WRONG_CALL_STATE", "RECOVERY_ON_TIMER_EXPIRE",
    "MANDATORY_IE_LENGTH_ERROR", "PROTOCOL_ERROR", "INTERWORKING", "SUCCESS", "ORIGINATOR_CANCEL", "CRASH",
    "SYSTEM_SHUTDOWN", "LOSE_RACE", "MANAGER_REQUEST", "BLIND_TRANSFER", "ATTENDED_TRANSFER", "ALLOTTED_TIMEOUT",
    "USER_CHALLENGE", "MEDIA_TIMEOUT", "PICKED_OFF", "USER_NOT_REGISTERED", "PROGRESS_TIMEOUT", "INVALID_GATEWAY",
    "GATEWAY_DOWN", "INVALID_URL", "INVALID_PROFILE", "NO_PICKUP", "SRTP_READ_ERROR", "BOWOUT", "BUSY_EVERYWHERE",
    "DECLINE", "DOES_NOT_EXIST_ANYWHERE", "NOT_ACCEPTABLE", "UNWANTED", "NO_IDENTITY", "BAD_IDENTITY_INFO",
    "UNSUPPORTED_CERTIFICATE", "INVALID_IDENTITY", "STALE_DATE", "REJECT_ALL",
)

EXAMPLES = [
    ("USER_BUSY", BUSY),
    ("BUSY_EVERYWHERE", BUSY),
    ("NO_ANSWER", NO_ANSWER),
    ("NO_USER_RESPONSE", NO_ANSWER),
    ("ORIGINATOR_CANCEL", NO_ANSWER),
    ("NORMAL_CLEARING", NO_ANSWER),
    ("ALLOTTED_TIMEOUT", NO_ANSWER),
    ("CALL_REJECTED", REJECTED),
    ("DECLINE", REJECTED),
    ("UNWANTED", REJECTED),
    ("UNALLOCATED_NUMBER", UNREACHABLE),
    ("INVALID_NUMBER_FORMAT", UNREACHABLE),
    ("NO_ROUTE_DESTINATION", UNREACHABLE),
    ("NUMBER_CHANGED", UNREACHABLE),
    ("NORMAL_TEMPORARY_FAILURE", TEMPORARY),
    ("RECOVERY_ON_TIMER_EXPIRE", TEMPORARY),
    ("DESTINATION_OUT_OF_ORDER", TEMPORARY),
    ("NETWORK_OUT_OF_ORDER", TEMPORARY),
    ("SWITCH_CONGESTION", TEMPORARY),
    ("INVALID_GATEWAY", GATEWAY),
    ("GATEWAY_DOWN", GATEWAY),
    ("SWITCH_DOWN", SWITCH_DOWN),
    ("SYSTEM_SHUTDOWN", SWITCH_DOWN),
    ("LOST", LOST),
]


def test_the_classes_are_the_eleven_of_the_design_in_its_order():
    assert CLASSES == ("ANSWERED", "BUSY", "NO_ANSWER", "REJECTED", "UNREACHABLE", "TEMPORARY", "GATEWAY",
                       "SWITCH_DOWN", "LOST", "MACHINE", "ABANDONED")


def test_the_table_holds_every_freeswitch_1_10_cause_and_no_other():
    assert len(FREESWITCH_1_10_CAUSES) == 82 == len(set(FREESWITCH_1_10_CAUSES))
    assert set(FREESWITCH_CAUSES) == set(FREESWITCH_1_10_CAUSES)


@pytest.mark.parametrize("cause", FREESWITCH_1_10_CAUSES)
def test_every_unanswered_cause_falls_in_one_class_and_never_a_predictive_one(cause, caplog):
    with caplog.at_level(logging.WARNING, logger=dispositions.__name__):
        assert classify(cause, answered=False) in set(CLASSES) - {ANSWERED, MACHINE, ABANDONED}
    assert caplog.records == []


@pytest.mark.parametrize(("cause", "expected"), EXAMPLES)
def test_named_results_fall_in_their_class_when_unanswered(cause, expected):
    assert classify(cause, answered=False) == expected


@pytest.mark.parametrize("cause", ["NORMAL_CLEARING", "USER_BUSY", "ORIGINATOR_CANCEL", "MEDIA_TIMEOUT",
                                   "CALL_REJECTED", "ALLOTTED_TIMEOUT", "MANAGER_REQUEST"])
def test_an_answered_call_is_answered_whatever_its_hangup_cause(cause):
    assert classify(cause, answered=True) == ANSWERED


@pytest.mark.parametrize("result", [MACHINE, ABANDONED])
@pytest.mark.parametrize("answered", [True, False])
def test_machine_and_abandoned_are_returned_as_the_predictive_flow_set_them(result, answered):
    assert classify(result, answered=answered) == result


def test_no_hangup_cause_is_classed_machine_or_abandoned():
    assert not {MACHINE, ABANDONED} & set(FREESWITCH_CAUSES.values())


@pytest.fixture
def nothing_logged_yet(monkeypatch):
    """A fresh memory of the causes already logged, whatever ran before."""
    monkeypatch.setattr(dispositions, "_UNKNOWN_SEEN", set())


@pytest.mark.usefixtures("nothing_logged_yet")
def test_an_unknown_cause_is_temporary_and_logged_once_per_name(caplog):
    with caplog.at_level(logging.WARNING, logger=dispositions.__name__):
        assert classify("SOME_CAUSE_OF_A_LATER_RELEASE", answered=False) == TEMPORARY
        assert classify("SOME_CAUSE_OF_A_LATER_RELEASE", answered=False) == TEMPORARY
        assert classify("SOME_CAUSE_OF_A_LATER_RELEASE", answered=True) == ANSWERED
        assert classify("ANOTHER_CAUSE_OF_A_LATER_RELEASE", answered=False) == TEMPORARY
    assert [r.getMessage() for r in caplog.records] == [
        "event=unknown_hangup_cause cause=SOME_CAUSE_OF_A_LATER_RELEASE disposition=TEMPORARY",
        "event=unknown_hangup_cause cause=ANOTHER_CAUSE_OF_A_LATER_RELEASE disposition=TEMPORARY",
    ]


@pytest.mark.usefixtures("nothing_logged_yet")
def test_an_unknown_cause_of_an_answered_call_is_logged_too(caplog):
    with caplog.at_level(logging.WARNING, logger=dispositions.__name__):
        assert classify("AN_ANSWERED_CAUSE_NOBODY_KNOWS", answered=True) == ANSWERED
    assert "cause=AN_ANSWERED_CAUSE_NOBODY_KNOWS" in caplog.text


@pytest.mark.parametrize("result", NOT_ATTEMPTS)
@pytest.mark.parametrize("answered", [True, False])
def test_results_decided_before_dialing_are_not_classified(result, answered):
    with pytest.raises(ValueError, match=result):
        classify(result, answered=answered)


def test_expired_and_dnc_are_the_results_that_are_not_attempts():
    assert NOT_ATTEMPTS == ("EXPIRED", "DNC")
