"""One simulated channel (a single-leg outbound call) and the values its events are filled with.

Times run on the call's own simulated clock: the call starts at the wall-clock time of the originate
and every phase the model schedules (progress, answer, hangup) is stamped at its modelled time, so
billsec and friends are the modelled durations even when the switch runs time-scaled. A hangup from
outside (uuid_kill, hupall, shutdown) is stamped at the scaled time actually elapsed.

A transfer (into the dialplan when an `<ext> XML <context>` call answers, or uuid_transfer) changes
what FreeSWITCH's switch_ivr_session_transfer changes: a new caller profile (destination, RDNIS,
profile index, transfer source) and the max_forwards, transfer_history and transfer_source variables.
"""

import functools
import re
import time
import uuid as uuid_module

from sim.switch import causes
from sim.switch.values import ChannelVariables, ValueSet

RINGING, EARLY, ANSWERED, ENDED = "RINGING", "EARLY", "ACTIVE", "HANGUP"


class Call:
    def __init__(self, request, call_uuid, outcome, session_id, loop_time, time_scale):
        self.request = request
        self.uuid = call_uuid
        self.outcome = outcome
        self.session_id = session_id
        self.state = RINGING
        self.shape = None  # name of the captured shape its events use; set by the switch
        self.timer = None
        self.job = None  # callback(result text) for the bgapi/api waiting on this originate
        self.job_via = None  # "bgapi" or "api"
        self.cause = None
        self.sip = None  # (status, phrase) of a SIP refusal, set with its cause
        self._started_loop = loop_time
        self._scale = time_scale
        self.created_us = int(time.time() * 1_000_000)
        self.progress_us = self.answer_us = self.end_us = 0
        self.profile_us = self.created_us
        self.transfer_uuid = str(uuid_module.uuid4())  # the caller profile the dialplan transfer makes
        self.vars = ChannelVariables(dict(request.variables))  # replaced, never changed: events keep theirs
        self.app = request.application or ("", "")
        self.extension = None if request.application else request.destination  # where the call is routed
        self.dialplan, self.context = request.dialplan, request.context
        self.profile_destination = request.number  # Caller-Destination-Number of the current profile
        self.profile_index = 1
        self.rdnis = self.max_forwards = ""
        self.transfer_sources = []  # transfer_history, oldest first
        self.record = None  # a CallRecord (records.py) once the call matters to predictive tests
        self.answered_at_monotonic = None
        self.held_from_s = None  # simulated seconds since the start when it parked on the hold extension
        self.static_values = self._static_values()  # encoded once per call and format (until a transfer)
        self._values = (None, None)  # (phase key, ValueSet)

    def value_set(self):
        """This phase's values (a new set whenever state, times or cause changed)."""
        key = (self.state, self.progress_us, self.answer_us, self.profile_us, self.end_us, self.cause)
        if self._values[0] != key:
            self._values = (key, self._phase_values())
        return self._values[1]

    @property
    def variables(self):
        """Every channel variable now: the originate's and those set since."""
        return self.vars.merged()

    def set_variable(self, name, value):
        """uuid_setvar: set (moved to the bottom of the list) or, with an empty value, remove."""
        if name == "max_forwards" and self.transfer_sources:  # shown where the transfers put it
            self.max_forwards = value or ""
            self.static_values = self._static_values()
        else:
            self.vars = self.vars.with_value(name, value)

    def running(self, app, args=""):
        """The application the channel runs now (current_application of its events)."""
        self.app = (app, args)
        self.static_values = self._static_values()

    def transfer(self, extension, dialplan, context, epoch_s, profile_uuid=None):
        """switch_ivr_session_transfer's changes to the channel; False (nothing changed) when
        max_forwards is used up, which FreeSWITCH answers by hanging up EXCHANGE_ROUTING_ERROR."""
        # max_session_transfers counts down first, else max_forwards; unset: 70 (not counted down)
        name = "max_session_transfers" if self.vars.get("max_session_transfers") else "max_forwards"
        current = self.vars.get(name) or (self.max_forwards if name == "max_forwards" else "")
        forwards = _atoi(current) - 1 if current else 70
        if forwards <= 0:
            return False
        source = f"{epoch_s}:{profile_uuid or uuid_module.uuid4()}:bl_xfer:{extension}/{context}/{dialplan}"
        if name == "max_forwards":
            self.max_forwards = str(forwards)
            self.vars = self.vars.with_value("max_forwards", None)  # now in its place among the transfer's
        else:
            self.vars = self.vars.with_value(name, str(forwards))
        self.rdnis, self.profile_destination = self.profile_destination, extension
        self.extension, self.dialplan, self.context = extension, dialplan, context
        self.profile_index += 1
        self.transfer_sources.append(source)
        self.static_values = self._static_values()
        return True

    def at(self, simulated_seconds):
        """Microsecond timestamp `simulated_seconds` after the call started."""
        return self.created_us + int(simulated_seconds * 1_000_000)

    def elapsed_now(self, loop_time):
        """Simulated seconds since the call started, from the loop clock (for external hangups)."""
        return (loop_time - self._started_loop) / self._scale

    @property
    def answered(self):
        return self.answer_us > 0

    @property
    def number(self):
        return self.request.number

    def channel_values(self):
        """Everything the captured shapes' {placeholders} need, decoded (for reading, not rendering)."""
        return {**self.static_values.decoded(), **self.value_set().decoded()}

    def _static_values(self):
        sources = self.transfer_sources
        texts = {
            "uuid": self.uuid,
            "number": self.number,
            "gateway": self.request.gateway or "",
            "context": self.context,
            "dialplan": self.dialplan,
            "dest": self.profile_destination if sources else self.request.destination,
            "app": self.app[0],
            "app_args": self.app[1],
            "transfer_uuid": self.transfer_uuid,
            "early_media": "false" if self.request.variables.get("ignore_early_media") == "true" else "true",
            "rdnis": self.rdnis,
            "max_forwards": self.max_forwards,
            "transfer_source": sources[-1] if sources else "",
            # a variable set more than once is an array: FreeSWITCH prints it ARRAY::a|:b
            "transfer_history": "ARRAY::" + "|:".join(sources) if len(sources) > 1 else "".join(sources),
        }
        digits = {b"session_id": b"%d" % self.session_id, b"profile_index": b"%d" % self.profile_index}
        return ValueSet(texts, digits)

    def _phase_values(self):
        status, phrase = self.sip or ("", "")
        texts = {"cause": self.cause or "", "sip_phrase": phrase}
        digits = {
            b"q850": b"%d" % causes.q850(self.cause) if self.cause else b"",
            b"sip_status": str(status).encode(),
        }
        for name, key_us, key_s, stamp_key in _MOMENT_KEYS:
            micros = getattr(self, f"{name}_us")
            digits[key_us] = b"%d" % micros
            digits[key_s] = b"%d" % (micros // 1_000_000)
            texts[stamp_key] = _stamp(micros // 1_000_000) if micros else ""
        _add_durations(self, digits)
        return ValueSet(texts, digits)


# (moment, its microseconds key, its seconds key, its local time stamp key)
_MOMENT_KEYS = tuple(
    (name, f"{name}_us".encode(), f"{name}_s".encode(), f"{name}_stamp")
    for name in ("created", "profile", "progress", "answer", "end")
)
# span -> its keys in seconds, milliseconds, microseconds (the names the shapes use)
_SPAN_KEYS = {
    "duration": (b"duration_s", b"duration_ms", b"duration_us"),
    "bill": (b"bill_s", b"bill_ms", b"bill_us"),
    "progress": (b"progress_sec", b"progress_ms", b"progress_us_len"),
    "answer": (b"answer_sec", b"answer_ms", b"answer_us_len"),
}


def _atoi(text):
    """C's atoi: the leading digits (with a sign), 0 when there are none."""
    match = re.match(r"\s*[-+]?\d+", text)
    return int(match.group()) if match else 0


@functools.lru_cache(maxsize=4096)
def _stamp(second):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))


def _add_durations(call, digits):
    end = call.end_us or call.created_us
    spans = {
        "duration": end - call.created_us,
        "bill": end - call.answer_us if call.answer_us else 0,
        "progress": call.progress_us - call.created_us if call.progress_us else 0,
        "answer": call.answer_us - call.created_us if call.answer_us else 0,
    }
    for name, micros in spans.items():
        key_s, key_ms, key_us = _SPAN_KEYS[name]
        digits[key_s] = b"%d" % (micros // 1_000_000)
        digits[key_ms] = b"%d" % (micros // 1000)
        digits[key_us] = b"%d" % micros
