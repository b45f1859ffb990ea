"""One simulated channel (a single-leg outbound call) and the values its events are filled with.

Times run on the call's own simulated clock: the call starts at the wall-clock time of the originate
and every phase the model schedules (progress, answer, hangup) is stamped at its modelled time, so
billsec and friends are the modelled durations even when the switch runs time-scaled. A hangup from
outside (uuid_kill, hupall, shutdown) is stamped at the scaled time actually elapsed.
"""

import functools
import time
import uuid as uuid_module

from sim.switch import causes
from sim.switch.values import ValueSet, variables_block

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
        self.transfer_uuid = str(uuid_module.uuid4())
        self.variables = dict(request.variables)
        self.static_values = self._static_values()  # encoded once per call and format
        self._values = (None, None)  # (phase key, ValueSet)
        self._blocks = {}

    def value_set(self):
        """This phase's values (a new set whenever state, times or cause changed)."""
        key = (self.state, self.progress_us, self.answer_us, self.profile_us, self.end_us, self.cause)
        if self._values[0] != key:
            self._values = (key, self._phase_values())
        return self._values[1]

    def variables_block(self, fmt):
        block = self._blocks.get(fmt)
        if block is None:
            block = self._blocks[fmt] = variables_block(self.variables, fmt)
        return block

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
        app = self.request.application or ("", "")
        texts = {
            "uuid": self.uuid,
            "number": self.number,
            "gateway": self.request.gateway or "",
            "context": self.request.context,
            "dialplan": self.request.dialplan,
            "dest": self.request.destination,
            "app": app[0],
            "app_args": app[1],
            "transfer_uuid": self.transfer_uuid,
            "early_media": "false" if self.variables.get("ignore_early_media") == "true" else "true",
        }
        return ValueSet(texts, {b"session_id": b"%d" % self.session_id})

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
