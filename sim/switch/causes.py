"""FreeSWITCH hangup causes (switch_types.h) the simulator can report, with their numeric codes.

`hangup_cause_q850` is the code itself for the Q.850 range (<= 127) and NORMAL_CLEARING (16) for
FreeSWITCH's own causes above it, as switch_channel_cause_q850() does (capture 30: SYSTEM_SHUTDOWN -> 16).
"""

CAUSES = {
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_DESTINATION": 3,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "SERVICE_UNAVAILABLE": 63,
    "CHAN_NOT_IMPLEMENTED": 66,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "ORIGINATOR_CANCEL": 487,
    "SYSTEM_SHUTDOWN": 501,
    "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503,
    "ALLOTTED_TIMEOUT": 602,
    "MEDIA_TIMEOUT": 604,
    "INVALID_GATEWAY": 608,
    "GATEWAY_DOWN": 609,
}


def known_cause(name, default="NORMAL_CLEARING"):
    """The cause spelled like FreeSWITCH does, or `default` for a name it would not know."""
    name = (name or "").strip().upper()
    return name if name in CAUSES else default


def q850(cause):
    code = CAUSES.get(cause, 16)
    return code if code <= 127 else 16
