"""The exact originate strings of DESIGN.md "Originate commands", built from checked values.

Every value is held to an alphabet from dialer.rules.validation before it is placed in the string; a
value outside it raises UnsafeValue naming the field. Nothing is escaped: FreeSWITCH's quoting
rules differ between the `{...}` block, quotes and the argument list, and a value that needs
escaping has no business in a dial string. The builders return the command without the leading
`bgapi `, which the ESL adapter adds (it also sends the `Job-UUID` header).
"""

from dataclasses import dataclass

from dialer.rules.validation import (
    DIALING_MODE_RULE,
    EXTENSION_RULE,
    HOST_RULE,
    PHONE_NUMBER_RULE,
    QUEUE_NAME_RULE,
    SAFE_ID_RULE,
    UnsafeValue,
    is_dialing_mode,
    is_extension,
    is_host,
    is_phone_number,
    is_queue_name,
    is_safe_id,
    require,
)

__all__ = [
    "AgentCall",
    "IvrCall",
    "PredictiveCall",
    "UnsafeValue",
    "originate_command",
    "originate_parts",
    "originate_variables",
]

MAX_ORIGINATE_TIMEOUT = 3600  # seconds; anything longer is a typo, not a ring time


@dataclass(frozen=True)
class IvrCall:
    """An IVR call: dial `number` through `gateway_id`, then run extension `ivr` in `context`."""

    contact_id: str
    campaign_id: str
    number: str
    gateway_id: str
    ivr: str
    context: str
    attempt: int = 1
    call_uuid: str | None = None  # origination_uuid; the contact id when not given (first attempt)
    originate_timeout: int | None = None
    instance: str = "dialer"  # dialer_instance: what the listener filters the switch's events on
    caller_id_number: str | None = None  # the campaign's caller ID (its settings), if it has one
    caller_id_name: str | None = None


@dataclass(frozen=True)
class AgentCall:
    """An agent call: dial `number`, then bridge to `agent_extension` through `context`."""

    contact_id: str
    campaign_id: str
    number: str
    gateway_id: str
    agent_extension: str
    queue: str
    dialing_mode: str
    voice_service_id: str  # sip_h_X-Destination-Number, the VC's service identifier
    domain: str  # domain_name: the switch the call runs on
    context: str
    attempt: int = 1
    call_uuid: str | None = None
    originate_timeout: int | None = None
    instance: str = "dialer"
    caller_id_number: str | None = None  # the name stays the agent's extension (the spec's)


@dataclass(frozen=True)
class PredictiveCall:
    """A predictive call: dial `number` with the agent call's variables (no agent known yet) and
    park the answered customer on `hold_extension` until the dialer transfers them to an agent or
    to the abandon message (`uuid_transfer`)."""

    contact_id: str
    campaign_id: str
    number: str
    gateway_id: str
    queue: str
    voice_service_id: str
    domain: str
    context: str
    hold_extension: str
    attempt: int = 1
    call_uuid: str | None = None
    originate_timeout: int | None = None
    instance: str = "dialer"
    caller_id_number: str | None = None
    caller_id_name: str | None = None


def originate_command(call: IvrCall | AgentCall | PredictiveCall) -> str:
    """`originate {...}sofia/gateway/<gw>/<number> <dest> XML <context>` for this call."""
    command, args = originate_parts(call)
    return f"{command} {args}"


def originate_parts(call: IvrCall | AgentCall) -> tuple[str, str]:
    """The command split as an ESL client's bgapi(command, args) takes it: ("originate", args)."""
    if isinstance(call, IvrCall):
        return "originate", _ivr_args(call)
    if isinstance(call, AgentCall):
        return "originate", _agent_args(call)
    if isinstance(call, PredictiveCall):
        return "originate", _predictive_args(call)
    raise TypeError(f"not a call: {call!r}")


def _ivr_args(call: IvrCall) -> str:
    uuid = _call_uuid(call)
    variables = [
        "session_in_hangup_hook=true",
        f"origination_uuid={uuid}",
        *_caller_id(call.caller_id_number, call.caller_id_name),
        *_dialer_variables(call),
    ]
    destination = require("ivr", call.ivr, is_extension, EXTENSION_RULE)
    return _args(variables, call, destination)


def _agent_args(call: AgentCall) -> str:
    agent = require("agent_extension", call.agent_extension, is_extension, EXTENSION_RULE)
    mode = require("dialing_mode", call.dialing_mode, is_dialing_mode, DIALING_MODE_RULE)
    variables = [
        *_customer_leg(call, mode),
        f"origination_caller_id_name={agent}",
        f"sip_h_X-agentExtension={agent}",
        *_caller_id(call.caller_id_number, None),
        *_dialer_variables(call),
    ]
    return _args(variables, call, agent)


def _predictive_args(call: PredictiveCall) -> str:
    """The agent call's variables but the agent's (set by `uuid_setvar` once one is known), and our
    `dialer_mode=PREDICTIVE`, which the listener keys the answer event on."""
    variables = [
        *_customer_leg(call, "PREDICTIVE"),
        *_caller_id(call.caller_id_number, call.caller_id_name),
        *_dialer_variables(call),
        "dialer_mode=PREDICTIVE",
    ]
    hold = require("hold_extension", call.hold_extension, is_extension, EXTENSION_RULE)
    return _args(variables, call, hold)


def _customer_leg(call: AgentCall | PredictiveCall, mode: str) -> list[str]:
    """The spec's agent originate variables up to the origination uuid, in its order."""
    uuid = _call_uuid(call)
    queue = require("queue", call.queue, is_queue_name, QUEUE_NAME_RULE)
    return [
        "ignore_early_media=true",
        "session_in_hangup_hook=true",
        f"sip_h_X-Destination-Number={_safe_id('voice_service_id', call.voice_service_id)}",
        f"sip_h_X-CallType={mode}",
        f"customer_number={_number(call)}",
        f"sip_h_X-CALL-VARIABLE0={uuid}",
        f"sip_h_X-Call-Id={uuid}",
        f"domain_name={require('domain', call.domain, is_host, HOST_RULE)}",
        "record_session=true",
        "call_direction=outbound",
        "sip_h_X-queueType=NAME",
        # Queue names may hold spaces; single quotes keep them one value (FreeSWITCH strips them).
        f"sip_h_X-queue='{queue}'",
        f"origination_uuid={uuid}",
    ]


def _args(variables: list[str], call: IvrCall | AgentCall | PredictiveCall, destination: str) -> str:
    gateway = _safe_id("gateway_id", call.gateway_id)
    context = require("context", call.context, is_host, HOST_RULE)
    block = "{" + ",".join(variables) + "}"
    return f"{block}sofia/gateway/{gateway}/{_number(call)} {destination} XML {context}"


def _dialer_variables(call: IvrCall | AgentCall) -> list[str]:
    """Our own channel variables: they let the listener tell our calls from others."""
    variables = [
        f"dialer_instance={_safe_id('instance', call.instance)}",
        f"dialer_contact_id={_safe_id('contact_id', call.contact_id)}",
        f"dialer_campaign_id={_safe_id('campaign_id', call.campaign_id)}",
        f"dialer_attempt={_positive_int('attempt', call.attempt, limit=None)}",
    ]
    if call.originate_timeout is not None:
        timeout = _positive_int("originate_timeout", call.originate_timeout, MAX_ORIGINATE_TIMEOUT)
        variables.append(f"originate_timeout={timeout}")
    return variables


def _caller_id(number: str | None, name: str | None) -> list[str]:
    """The campaign's caller ID; a name may hold spaces, so it is single-quoted like a queue name."""
    variables = []
    if number:
        number = require("caller_id_number", number, is_phone_number, PHONE_NUMBER_RULE)
        variables.append(f"origination_caller_id_number={number}")
    if name:
        name = require("caller_id_name", name, is_queue_name, QUEUE_NAME_RULE)
        variables.append(f"origination_caller_id_name='{name}'")
    return variables


def _call_uuid(call: IvrCall | AgentCall) -> str:
    if call.call_uuid is None:
        return _safe_id("contact_id", call.contact_id)
    return _safe_id("call_uuid", call.call_uuid)


def _number(call: IvrCall | AgentCall) -> str:
    return require("number", call.number, is_phone_number, PHONE_NUMBER_RULE)


def _safe_id(field: str, value: str) -> str:
    return require(field, value, is_safe_id, SAFE_ID_RULE)


def _positive_int(field: str, value: int, limit: int | None) -> int:
    # bool is an int in Python; True must not become "1" in a command.
    valid = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if not valid or (limit is not None and value > limit):
        rule = "a whole number from 1" + (f" to {limit}" if limit is not None else "")
        raise UnsafeValue(field, value, rule)
    return value


def originate_variables(arg: str) -> dict[str, str]:
    """The `{name=value,...}` block at the start of an originate argument, as a dict.

    The inverse of the builders, for a BACKGROUND_JOB's Job-Command-Arg: quotes are removed as
    FreeSWITCH removes them.
    """
    if not arg.startswith("{"):
        return {}
    block = _split_unquoted(arg[1:], "}")[0]
    variables = {}
    for item in _split_unquoted(block, ","):
        name, _, value = item.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        variables[name] = value
    return variables


def _split_unquoted(text: str, sep: str) -> list[str]:
    """Split on `sep` outside single quotes (how FreeSWITCH reads a variable block)."""
    parts, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def agent_variables_commands(call_uuid: str, agent_extension: str) -> list[str]:
    """`uuid_setvar` commands that give a held predictive call what the agent originate gives an
    agent call up front: the agent's extension as a SIP header for the agent leg and as the caller
    name the agent sees (api commands for the ESL client)."""
    uuid = _safe_id("call_uuid", call_uuid)
    agent = require("agent_extension", agent_extension, is_extension, EXTENSION_RULE)
    return [f"uuid_setvar {uuid} sip_h_X-agentExtension {agent}",
            f"uuid_setvar {uuid} effective_caller_id_name {agent}"]


def transfer_command(call_uuid: str, extension: str, context: str) -> str:
    """`uuid_transfer <uuid> <extension> XML <context>`: the held customer to an agent (the
    destination the agent originate reaches) or to the abandon message."""
    uuid = _safe_id("call_uuid", call_uuid)
    destination = require("extension", extension, is_extension, EXTENSION_RULE)
    return f"uuid_transfer {uuid} {destination} XML {require('context', context, is_host, HOST_RULE)}"


def hangup_command(call_uuid: str, cause: str = "NORMAL_CLEARING") -> str:
    """`uuid_kill <uuid> <cause>`: a machine's answer is never connected."""
    return f"uuid_kill {_safe_id('call_uuid', call_uuid)} {_safe_id('cause', cause)}"
