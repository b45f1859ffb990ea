"""The simulated switch core: gateways, limits, channels and the events their lives produce.

Runs on one asyncio loop and is not thread-safe (handle.py marshals calls onto the loop). Each call
has at most one pending timer (loop.call_later) for its next phase; events are handed to listeners
synchronously, which render them lazily and batch their writes.
"""

import socket
import time
import uuid as uuid_module
from collections import Counter

from sim.switch import events, outcomes
from sim.switch.admission import GatewayCounts, Limits, OriginateRecord
from sim.switch.channel import ANSWERED, EARLY, ENDED, Call
from sim.switch.originate import USAGE, OriginateSyntaxError, parse_originate
from sim.switch.routing import Routing
from sim.switch.shapes import load_shapes
from sim.switch.values import Identity

PROGRESS_SHARE = 0.1  # 180 Ringing arrives after this share of the ring time


class Switch:
    def __init__(
        self,
        loop,
        gateways,
        time_scale=1.0,
        max_sessions=1000,
        sps=1000,
        model=None,
        hostname=None,
        cdr=None,
        destinations=None,
    ):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.loop = loop
        self.gateways = dict(gateways)  # name -> "UP" | "DOWN"
        self.time_scale = time_scale
        self.limits = Limits(max_sessions, sps)
        self.model = model or outcomes.OutcomeModel()
        self.identity = Identity(str(uuid_module.uuid4()), hostname or socket.gethostname())
        self.shapes = load_shapes()
        self.calls = {}
        self.originates = []
        self.api_counts = Counter()  # api/bgapi commands by their first two words
        self.listeners = set()
        self.started = time.time()
        self.sessions_since_start = 0
        self.peak = 0
        self.gateway_counts = GatewayCounts()
        self.forced_failure = None  # a cause every originate fails with, for tests
        self.cdr = cdr  # a CdrPoster (cdr_poster.py) when CDRs are posted, as mod_json_cdr does
        self.routing = Routing(self, destinations)  # hold/abandon extensions, transfers, AMD (routing.py)
        self._sequence = 0

    # events -----------------------------------------------------------------------------------

    def common_values(self):
        self._sequence += 1
        return self.identity.now(self._sequence)

    def emit(self, event):
        for listener in tuple(self.listeners):
            listener.deliver(event)

    def emit_background_job(self, job_uuid, command, arg, body):
        self.emit(events.background_job(self.common_values(), job_uuid, command, arg, body))

    def _emit_channel(self, call, event_name, always=False):
        """Build and emit the event when anyone listens, or `always` (the caller needs it); return it."""
        if not self.listeners and not always:
            return None
        template = self.shapes[call.shape][event_name]
        event = events.ChannelEvent(template, call, self.common_values(), self.identity)
        self.emit(event)
        return event

    # originate --------------------------------------------------------------------------------

    def originate(self, arg, via, on_result, job_uuid=None):
        """Start an originate; `on_result` gets "+OK <uuid>\\n" or "-ERR <CAUSE>\\n" exactly once."""
        try:
            request = parse_originate(arg)
        except OriginateSyntaxError:
            self.originates.append(OriginateRecord(arg, {}, None, None, "", via, job_uuid))
            return on_result(USAGE)
        self.originates.append(
            OriginateRecord(
                arg, request.variables, request.gateway, request.number, request.destination, via, job_uuid
            )
        )
        failure = self._refusal(request)
        if failure:
            return on_result(f"-ERR {failure}\n")
        self._start_call(request, on_result, via)

    def _refusal(self, request):
        """Why the switch refuses before any channel exists, in FreeSWITCH's order of checks."""
        if self.forced_failure:
            return self.forced_failure
        if not request.endpoint.startswith("sofia/"):
            return "CHAN_NOT_IMPLEMENTED"
        if not self.limits.admit(len(self.calls), self.loop.time()):
            return "DESTINATION_OUT_OF_ORDER"
        if request.variables.get("origination_uuid") in self.calls:
            return "DESTINATION_OUT_OF_ORDER"
        if request.gateway is None or request.gateway not in self.gateways:
            return "INVALID_GATEWAY"
        if self.gateways[request.gateway] != "UP":
            self.gateway_counts.count(request.gateway, failed=True)
            return "GATEWAY_DOWN"
        return None

    def _start_call(self, request, on_result, via):
        call_uuid = request.variables.get("origination_uuid") or str(uuid_module.uuid4())
        outcome = self.model.decide(request.number)
        self.sessions_since_start += 1
        self.gateway_counts.count(request.gateway, failed=False)
        call = Call(request, call_uuid, outcome, self.sessions_since_start, self.loop.time(), self.time_scale)
        call.job, call.job_via = on_result, via
        call.shape = _shape_for(outcome.kind, request)
        self.calls[call_uuid] = call
        self.peak = max(self.peak, len(self.calls))
        self._emit_channel(call, "CHANNEL_CREATE")
        self._emit_channel(call, "CHANNEL_ORIGINATE")
        if outcome.kind in outcomes.REFUSALS:
            self._schedule(call, outcome.ring_seconds, self._refuse, call)
        else:
            self._schedule(call, self._ring_seconds(call) * PROGRESS_SHARE, self._progress, call)

    def _ring_seconds(self, call):
        if call.outcome.kind == outcomes.NO_ANSWER:
            return call.request.originate_timeout
        return call.outcome.ring_seconds

    def _schedule(self, call, simulated_seconds, callback, *args):
        call.timer = self.loop.call_later(simulated_seconds * self.time_scale, callback, *args)

    # phases -----------------------------------------------------------------------------------

    def _progress(self, call):
        ring = self._ring_seconds(call)
        call.progress_us = call.at(ring * PROGRESS_SHARE)
        call.state = EARLY
        self._emit_channel(call, "CHANNEL_PROGRESS")
        next_phase = self._answer if call.outcome.kind == outcomes.ANSWERED else self._no_answer
        self._schedule(call, ring * (1 - PROGRESS_SHARE), next_phase, call)

    def _answer(self, call):
        call.answer_us = call.at(call.outcome.ring_seconds)
        call.state = ANSWERED
        if call.shape == "answered_xml":
            call.profile_us = call.answer_us  # the channel is transferred into the dialplan
        self.routing.answering(call)
        self._emit_channel(call, "CHANNEL_ANSWER")
        self._finish_job(call, f"+OK {call.uuid}\n")
        self.routing.route(call, call.outcome.ring_seconds)

    def _refuse(self, call):
        cause, status, phrase = outcomes.REFUSALS[call.outcome.kind]
        call.sip = (status, phrase)
        self._end(call, cause, call.at(call.outcome.ring_seconds), order=("HANGUP", "COMPLETE", "JOB"))

    def _no_answer(self, call):
        self._end(
            call, "NO_ANSWER", call.at(call.request.originate_timeout), order=("HANGUP", "JOB", "COMPLETE")
        )

    def _hang_up(self, call, cause, end_us):
        """The switch ends the call: a normal end of talk time, or uuid_kill/hupall/shutdown."""
        if call.timer:
            call.timer.cancel()
        end_us = end_us or call.at(call.outcome.ring_seconds + call.outcome.talk_seconds)
        if call.answered:
            return self._end(call, cause, end_us, order=("HANGUP", "COMPLETE"))
        call.shape = "no_answer"  # ringing, cancelled by us: send_cancel, as at originate_timeout
        self._end(call, cause, end_us, order=("HANGUP", "JOB", "COMPLETE"))

    def _end(self, call, cause, end_us, order):
        call.cause, call.end_us, call.state = cause, end_us, ENDED
        call.timer = None
        del self.calls[call.uuid]
        self.routing.ended(call, end_us)
        posting = self.cdr is not None and self.cdr.enabled
        for step in order:
            if step == "JOB":
                self._finish_job(call, f"-ERR {cause}\n")
            elif step == "HANGUP":
                self._emit_channel(call, "CHANNEL_HANGUP")
            else:
                complete = self._emit_channel(call, "CHANNEL_HANGUP_COMPLETE", always=posting)
                if posting:  # the CDR says what this event says; it is built and posted off the loop
                    self.cdr.call_ended(call.uuid, complete)

    def _finish_job(self, call, result):
        if result.startswith("-ERR"):
            self.gateway_counts.count(call.request.gateway, failed=True)
        job, call.job = call.job, None
        if job:
            job(result)

    # external actions -------------------------------------------------------------------------

    def kill(self, call_uuid, cause="NORMAL_CLEARING"):
        call = self.calls.get(call_uuid)
        if call is None:
            return False
        self._hang_up(call, cause, call.at(call.elapsed_now(self.loop.time())))
        return True

    def hupall(self, cause="MANAGER_REQUEST"):
        for call_uuid in list(self.calls):
            self.kill(call_uuid, cause)

    def reset(self, gateways, max_sessions, sps, destinations=None, predictive=None):
        """Back to idle without a word on the wire: calls vanish (a blocking api gets -ERR), the
        received originates, overrides, forced failures, transfers and call records are forgotten,
        gateways, limits (and the given destinations and predictive mix) restored."""
        for call in list(self.calls.values()):
            if call.timer:
                call.timer.cancel()
            if call.job and call.job_via == "api":
                call.job("-ERR MANAGER_REQUEST\n")
        self.calls.clear()
        self.peak = 0
        self.originates.clear()
        self.api_counts.clear()
        self.model.overrides.clear()
        self.model.forget_dials()
        if predictive is not None:
            self.model.predictive = predictive
        self.routing.reset(destinations or self.routing.destinations)
        self.gateways = dict(gateways)
        self.limits = Limits(max_sessions, sps)
        self.forced_failure = None

    def shutdown(self):
        """What a stopping FreeSWITCH does before it closes its sockets: SHUTDOWN, then every call ends."""
        self.emit(events.shutdown_event(self.common_values()))
        self.hupall("SYSTEM_SHUTDOWN")


def _shape_for(kind, request):
    if kind == outcomes.ANSWERED:
        return "answered_app" if request.application else "answered_xml"
    return "no_answer" if kind == outcomes.NO_ANSWER else "refused"
