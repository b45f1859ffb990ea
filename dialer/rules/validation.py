"""What a value may look like before it is allowed anywhere near an ESL command string.

FreeSWITCH splits an originate on spaces, `{...}` channel variables on commas and `=`, and treats
quotes, `^^`, `&`, `|`, `;`, `$` and newlines specially. Rather than escape our way around all of
that, values that reach a command are held to small alphabets that contain none of those
characters; queue names, the one free-text value, may also hold spaces and are single-quoted.
"""

import re

PHONE_NUMBER = re.compile(r"^\+?[0-9]{1,20}$")
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
EXTENSION = re.compile(r"^[A-Za-z0-9*#+][A-Za-z0-9*#+._-]{0,19}$")
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,62}$")

PHONE_NUMBER_RULE = "digits only, optionally after a leading +, at most 20"
SAFE_ID_RULE = "letters, digits, '.', '_' or '-' only, at most 40, not starting with a symbol"
EXTENSION_RULE = "letters, digits, '*', '#', '+', '.', '_' or '-' only, at most 20"
QUEUE_NAME_RULE = "letters, digits, spaces, '.', '_' or '-' only, at most 40"
HOST_RULE = "a host name or IP address"


def _fits(pattern, value):
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def is_phone_number(value):
    return _fits(PHONE_NUMBER, value)


def is_safe_id(value):
    """A contact, campaign, gateway or resource id: a UUID passes, so does any plain token."""
    return _fits(SAFE_ID, value)


def is_extension(value):
    """An IVR number or an agent extension, used as a dialplan destination."""
    return _fits(EXTENSION, value)


def is_queue_name(value):
    return _fits(QUEUE_NAME, value)


def is_host(value):
    return _fits(HOST, value)


DIALING_MODES = frozenset({"PREVIEW", "PROGRESSIVE", "PREDICTIVE"})
DIALING_MODE_RULE = "one of " + ", ".join(sorted(DIALING_MODES))


def is_dialing_mode(value):
    return value in DIALING_MODES


class UnsafeValue(ValueError):
    """A value that may not reach an ESL command: rejected, never escaped."""

    def __init__(self, field, value, rule=""):
        self.field = field
        self.value = value
        self.rule = rule
        shown = repr(value)
        if len(shown) > 60:  # a hostile value can be huge; the log line must not be
            shown = shown[:57] + "..."
        message = f"unsafe value for {field}: {shown}"
        super().__init__(f"{message} ({rule})" if rule else message)


def require(field, value, check, rule):
    """Return `value` if `check(value)` holds, else raise UnsafeValue naming the field."""
    if not check(value):
        raise UnsafeValue(field, value, rule)
    return value
