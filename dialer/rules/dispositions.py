"""Disposition classes (DESIGN.md "Campaign policy"): every attempt's result falls in exactly one,
and the campaign's retry policy is set per class.

The classes, unanswered:
- BUSY, NO_ANSWER: the number works and the person was not free or did not pick up (or our side
  stopped ringing first);
- REJECTED: refused, by the callee or by a network on its or our behalf (barring, authorization,
  caller identity);
- UNREACHABLE: the number as dialed cannot be connected (does not exist, badly formed, moved, cannot
  take this kind of call); calling again will not change that;
- TEMPORARY: a failure along the way that may pass (congestion, timers, protocol errors, unknown);
- GATEWAY: our trunk is unknown, down or wrongly addressed; SWITCH_DOWN: our switch was unreachable or
  stopping; LOST: reconcile found the call gone with no result recorded;
- MACHINE, ABANDONED: set by the predictive flow, never derived from a hangup cause.
"""

import logging

log = logging.getLogger(__name__)

ANSWERED = "ANSWERED"
BUSY = "BUSY"
NO_ANSWER = "NO_ANSWER"
REJECTED = "REJECTED"
UNREACHABLE = "UNREACHABLE"
TEMPORARY = "TEMPORARY"
GATEWAY = "GATEWAY"
SWITCH_DOWN = "SWITCH_DOWN"
LOST = "LOST"
MACHINE = "MACHINE"
ABANDONED = "ABANDONED"
CLASSES = (ANSWERED, BUSY, NO_ANSWER, REJECTED, UNREACHABLE, TEMPORARY, GATEWAY, SWITCH_DOWN, LOST, MACHINE,
           ABANDONED)

# Results decided before dialing (dnc check, dialing window closed): no attempt to classify.
NOT_ATTEMPTS = ("EXPIRED", "DNC")

# The dialer's own results that are not FreeSWITCH causes (INVALID_GATEWAY and GATEWAY_DOWN are both).
DIALER_RESULTS = {SWITCH_DOWN: SWITCH_DOWN, LOST: LOST, MACHINE: MACHINE, ABANDONED: ABANDONED}

# Class of an UNANSWERED call per hangup cause. Every cause of FreeSWITCH 1.10 (v1.10.12, the last 1.10
# release; 1.11 has the same list): CAUSE_CHART in src/switch_channel.c, which names each value of
# switch_call_cause_t in src/include/switch_types.h (82 causes). SIP statuses behind a cause are from
# sofia_glue_sip_cause_to_freeswitch (mod_sofia/sofia_glue.c).
FREESWITCH_CAUSES = {
    "NONE": TEMPORARY,  # no cause was recorded: nothing says the number or the person is at fault
    "UNALLOCATED_NUMBER": UNREACHABLE,  # SIP 404
    "NO_ROUTE_TRANSIT_NET": UNREACHABLE,  # the network knows no route to the number's network
    "NO_ROUTE_DESTINATION": UNREACHABLE,  # SIP 485, 604
    "CHANNEL_UNACCEPTABLE": TEMPORARY,  # a circuit problem between switches, not the number's
    "CALL_AWARDED_DELIVERED": TEMPORARY,  # ISDN bookkeeping; unanswered, nothing is known about the callee
    "NORMAL_CLEARING": NO_ANSWER,  # unanswered: the far end gave up while it rang (or a 200 never answered)
    "USER_BUSY": BUSY,  # SIP 486, 600
    "NO_USER_RESPONSE": NO_ANSWER,  # SIP 480 Temporarily Unavailable: rang (or was away), nobody took it
    "NO_ANSWER": NO_ANSWER,
    "SUBSCRIBER_ABSENT": NO_ANSWER,  # phone off or out of coverage: the person is away, as for SIP 480
    "CALL_REJECTED": REJECTED,  # SIP 401, 402, 403, 407, 603, 608
    "NUMBER_CHANGED": UNREACHABLE,  # SIP 410 Gone
    "REDIRECTION_TO_NEW_DESTINATION": UNREACHABLE,  # a 3xx sent elsewhere; mod_sofia reports it as 410 Gone
    "EXCHANGE_ROUTING_ERROR": TEMPORARY,  # SIP 482/483, a loop or too many hops: the route, not the number
    "DESTINATION_OUT_OF_ORDER": TEMPORARY,  # also the switch's session limit / duplicate uuid (rules/events.py)
    "INVALID_NUMBER_FORMAT": UNREACHABLE,  # SIP 484
    "FACILITY_REJECTED": REJECTED,  # the network refuses a service the call asked for; again would be the same
    "RESPONSE_TO_STATUS_ENQUIRY": TEMPORARY,  # a protocol reply, says nothing about the callee
    "NORMAL_UNSPECIFIED": TEMPORARY,  # mod_sofia's cause for every SIP status it does not map
    "NORMAL_CIRCUIT_CONGESTION": TEMPORARY,
    "NETWORK_OUT_OF_ORDER": TEMPORARY,  # SIP 502
    "NORMAL_TEMPORARY_FAILURE": TEMPORARY,  # SIP 400, 481, 500, 503
    "SWITCH_CONGESTION": TEMPORARY,
    "ACCESS_INFO_DISCARDED": TEMPORARY,
    "REQUESTED_CHAN_UNAVAIL": TEMPORARY,
    "PRE_EMPTED": TEMPORARY,
    "FACILITY_NOT_SUBSCRIBED": REJECTED,  # our line is not allowed the service: refused for us
    "OUTGOING_CALL_BARRED": REJECTED,  # our calls are barred
    "INCOMING_CALL_BARRED": REJECTED,  # the callee's line takes no calls
    "BEARERCAPABILITY_NOTAUTH": REJECTED,  # not authorized: refused, as SIP 403
    "BEARERCAPABILITY_NOTAVAIL": TEMPORARY,  # "not available at present"
    "SERVICE_UNAVAILABLE": TEMPORARY,  # Q.850 63, "not available"; mod_sofia also puts SIP 405 here
    "BEARERCAPABILITY_NOTIMPL": UNREACHABLE,  # the destination cannot take this kind of call (SIP 488)
    "CHAN_NOT_IMPLEMENTED": UNREACHABLE,  # same: the call cannot be carried as placed
    "FACILITY_NOT_IMPLEMENTED": UNREACHABLE,  # SIP 501: same
    "SERVICE_NOT_IMPLEMENTED": UNREACHABLE,  # SIP 406, 415, 501: same
    "INVALID_CALL_REFERENCE": TEMPORARY,  # protocol errors between switches, up to INTERWORKING
    "INCOMPATIBLE_DESTINATION": UNREACHABLE,  # SIP 488, 606: no common media with the destination
    "INVALID_MSG_UNSPECIFIED": TEMPORARY,
    "MANDATORY_IE_MISSING": TEMPORARY,
    "MESSAGE_TYPE_NONEXIST": TEMPORARY,
    "WRONG_MESSAGE": TEMPORARY,
    "IE_NONEXIST": TEMPORARY,
    "INVALID_IE_CONTENTS": TEMPORARY,
    "WRONG_CALL_STATE": TEMPORARY,
    "RECOVERY_ON_TIMER_EXPIRE": TEMPORARY,  # SIP 408, 504: no final reply in time
    "MANDATORY_IE_LENGTH_ERROR": TEMPORARY,
    "PROTOCOL_ERROR": TEMPORARY,
    "INTERWORKING": TEMPORARY,  # SIP 413, 414, 416, 420, 421, 423, 505, 513
    "SUCCESS": NO_ANSWER,  # not a real hangup cause; unanswered, read it as NORMAL_CLEARING
    "ORIGINATOR_CANCEL": NO_ANSWER,  # SIP 487: our side stopped ringing (timeout, stop) before an answer
    "CRASH": SWITCH_DOWN,  # the switch's own failure, not the callee's
    "SYSTEM_SHUTDOWN": SWITCH_DOWN,  # the switch (or its SIP profile) was stopping
    # Ended by the switch's own call control while still ringing: like ORIGINATOR_CANCEL.
    "LOSE_RACE": NO_ANSWER,  # another leg of the originate answered first
    "MANAGER_REQUEST": NO_ANSWER,  # hupall / an API kill
    "BLIND_TRANSFER": NO_ANSWER,
    "ATTENDED_TRANSFER": NO_ANSWER,
    "ALLOTTED_TIMEOUT": NO_ANSWER,  # leg_timeout: rang for its whole time limit
    "USER_CHALLENGE": REJECTED,  # a 401/407 challenge not met, which mod_sofia otherwise calls CALL_REJECTED
    "MEDIA_TIMEOUT": TEMPORARY,
    "PICKED_OFF": NO_ANSWER,  # intercepted by a pickup: ended by our side, as LOSE_RACE
    "USER_NOT_REGISTERED": NO_ANSWER,  # the endpoint is away right now, as SUBSCRIBER_ABSENT
    "PROGRESS_TIMEOUT": TEMPORARY,  # leg_progress_timeout: the network never even made it ring
    "INVALID_GATEWAY": GATEWAY,
    "GATEWAY_DOWN": GATEWAY,
    "INVALID_URL": GATEWAY,  # mod_sofia: a malformed gateway/<name>/<number> dial string, our configuration
    "INVALID_PROFILE": GATEWAY,  # no such sofia profile: our configuration, as INVALID_GATEWAY
    "NO_PICKUP": NO_ANSWER,  # a pickup leg nobody picked up
    "SRTP_READ_ERROR": TEMPORARY,
    "BOWOUT": NO_ANSWER,  # a transfer removed the leg: ended by our side, as BLIND_TRANSFER
    "BUSY_EVERYWHERE": BUSY,  # SIP 600
    "DECLINE": REJECTED,  # SIP 603
    "DOES_NOT_EXIST_ANYWHERE": UNREACHABLE,  # SIP 604
    "NOT_ACCEPTABLE": UNREACHABLE,  # SIP 606, as INCOMPATIBLE_DESTINATION
    "UNWANTED": REJECTED,  # SIP 607
    # STIR/SHAKEN: the far end refuses our caller identity (SIP 428, 429, 437, 438, 403 Stale Date).
    "NO_IDENTITY": REJECTED,
    "BAD_IDENTITY_INFO": REJECTED,
    "UNSUPPORTED_CERTIFICATE": REJECTED,
    "INVALID_IDENTITY": REJECTED,
    "STALE_DATE": REJECTED,
    "REJECT_ALL": REJECTED,  # SIP 603, as DECLINE
}

_UNKNOWN_SEEN = set()  # causes already logged: one line per cause name, however many calls carry it


def classify(call_result: str, answered: bool) -> str:
    """The disposition class of one attempt's result.

    `call_result` is a FreeSWITCH hangup cause or one of DIALER_RESULTS; `answered` says the call was
    answered (answer time known). Raises ValueError for NOT_ATTEMPTS.
    """
    if call_result in NOT_ATTEMPTS:
        raise ValueError(f"{call_result} is decided before dialing, not the result of an attempt")
    if call_result in (MACHINE, ABANDONED):
        return call_result  # answered calls both, told apart by the predictive flow
    unanswered = _unanswered_class(call_result)  # looked up first, so an unknown cause is logged either way
    # Someone (a person or an IVR) picked up, whichever side hung up and with whatever cause.
    return ANSWERED if answered else unanswered


def _unanswered_class(call_result):
    found = FREESWITCH_CAUSES.get(call_result) or DIALER_RESULTS.get(call_result)
    if found:
        return found
    if call_result not in _UNKNOWN_SEEN:
        _UNKNOWN_SEEN.add(call_result)
        log.warning("event=unknown_hangup_cause cause=%s disposition=%s", call_result, TEMPORARY)
    return TEMPORARY
