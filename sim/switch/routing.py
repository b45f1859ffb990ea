"""Where an answered call goes, and what uuid_transfer and uuid_broadcast do to a live call.

By the extension a call is routed to (`<ext> XML <context>` of its originate, or of a uuid_transfer):
- the hold extension (the dialer's, `dialer-hold` by default): the dialplan answers and parks it
  (CHANNEL_PARK after CHANNEL_ANSWER). It waits there until a uuid_transfer, or until the far end
  hangs up: a person after their patience, a machine when its message ends (its talk time).
- the abandon extension (`dialer-abandon`): the safe-harbour message plays, then the switch hangs
  up (NORMAL_CLEARING, send_bye).
- anything else (an agent, an IVR): the call talks for its talk time and the switch hangs up, as
  every answered call always has here; `&park()` originates still get their CHANNEL_PARK.
An answered call whose outcome says who answered carries the AMD variable (`amd_result=PERSON|MACHINE`)
on every event from CHANNEL_ANSWER on.

Runs on the switch's loop, like calls.py, whose phases and hangups it uses.
"""

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass

from sim.switch.causes import known_cause
from sim.switch.predictive import MACHINE
from sim.switch.records import COUNTERS, Broadcast, CallRecord, Transfer

PARKED, PARKED_FAR_END_BYE = "parked_xml", "parked_xml_bye"  # captured/<shape>.txt


@dataclass(frozen=True)
class Destinations:
    hold_extension: str = "dialer-hold"
    abandon_extension: str = "dialer-abandon"
    abandon_message_seconds: float = 5.0
    amd_variable: str = "amd_result"  # empty: no AMD variable on answered calls

    def __post_init__(self):
        if self.abandon_message_seconds < 0:
            raise ValueError("abandon_message_seconds must be >= 0")


class Routing:
    def __init__(self, switch, destinations=None):
        self.switch = switch
        self.destinations = destinations or Destinations()
        self.records = {}  # uuid -> CallRecord
        self.transfers = []
        self.broadcasts = []
        self.counters = Counter(dict.fromkeys(COUNTERS, 0))

    def reset(self, destinations):
        self.destinations = destinations
        self.records.clear()
        self.transfers.clear()
        self.broadcasts.clear()
        self.counters = Counter(dict.fromkeys(COUNTERS, 0))

    # the answer --------------------------------------------------------------------------------

    def answering(self, call):
        """Just before CHANNEL_ANSWER: the AMD result goes on the channel; counted and recorded."""
        call.answered_at_monotonic = time.monotonic()
        answered_by = call.outcome.answered_by
        if answered_by is None:
            return
        if self.destinations.amd_variable:
            call.set_variable(self.destinations.amd_variable, answered_by.upper())
        self.counters[f"{answered_by}_answers"] += 1
        self.record(call)

    def route(self, call, now_s, transferred=False):
        """What the call's extension does with it, from `now_s` (simulated seconds since it started)."""
        switch, destinations = self.switch, self.destinations
        if call.extension is not None and not call.transfer_sources:
            # the dialplan transfer every answered `<ext> XML <context>` originate makes
            if call.extension == destinations.hold_extension:
                call.running("park")
            epoch = call.at(now_s) // 1_000_000
            if not call.transfer(call.extension, call.dialplan, call.context, epoch, call.transfer_uuid):
                return switch._hang_up(call, "EXCHANGE_ROUTING_ERROR", call.at(now_s))
        if call.extension == destinations.hold_extension:
            return self._park(call, now_s)
        if call.extension == destinations.abandon_extension:
            seconds = destinations.abandon_message_seconds
        else:
            if not transferred and call.app[0] == "park":
                switch._emit_channel(call, "CHANNEL_PARK")
            seconds = call.outcome.talk_seconds
        switch._schedule(call, seconds, switch._hang_up, call, "NORMAL_CLEARING", call.at(now_s + seconds))

    def _park(self, call, now_s):
        switch = self.switch
        call.shape = PARKED
        if call.app[0] != "park":
            call.running("park")
        switch._emit_channel(call, "CHANNEL_PARK")
        self.record(call).parked_at = time.monotonic()
        call.held_from_s = now_s
        if call.outcome.answered_by == MACHINE:
            wait = call.outcome.talk_seconds  # the machine's message ends
        elif call.outcome.patience_seconds is not None:
            wait = call.outcome.patience_seconds
        else:
            wait = switch.model.predictive.patience
        switch._schedule(call, wait, self._far_end_hangs_up, call, now_s + wait)

    def _far_end_hangs_up(self, call, end_s):
        """The held customer gives up, or the machine's message ends: the far end sends BYE."""
        record = self.record(call)
        record.hung_up_on_hold = True
        if call.outcome.answered_by != MACHINE:
            self.counters["held_hangups"] += 1
        call.shape = PARKED_FAR_END_BYE
        self.switch._end(call, "NORMAL_CLEARING", call.at(end_s), order=("HANGUP", "COMPLETE"))

    # commands ----------------------------------------------------------------------------------

    def transfer(self, call, extension, dialplan, context):
        """uuid_transfer's part after the uuid was found: True (+OK), or False (-ERR) when the
        channel's max_forwards is used up, which hangs it up EXCHANGE_ROUTING_ERROR as FreeSWITCH does.
        A ringing call is routed to the new extension when it answers."""
        switch = self.switch
        now_s = call.elapsed_now(switch.loop.time())
        if not call.answered:
            call.extension, call.dialplan, call.context = extension, dialplan, context
            call.app = ("", "")
            self._note_transfer(call, extension)
            return True
        if not call.transfer(extension, dialplan, context, call.at(now_s) // 1_000_000):
            switch._hang_up(call, "EXCHANGE_ROUTING_ERROR", call.at(now_s))
            return False
        if call.timer:
            call.timer.cancel()
            call.timer = None
        call.profile_us = call.at(now_s)  # the new caller profile's creation
        self._leave_hold(call, now_s)
        self._note_transfer(call, extension)
        call.shape = PARKED
        self.route(call, now_s, transferred=True)
        return True

    def broadcast(self, call, path, legs):
        """uuid_broadcast: recorded; `app!cause::args` hangs up with that cause after the message
        (abandon_message_seconds long), as the `!` suffix asks FreeSWITCH to."""
        self.broadcasts.append(Broadcast(call.uuid, path, legs, time.monotonic()))
        app, separator, _ = path.partition("::")
        if not separator or "!" not in app or not call.answered:
            return
        cause = known_cause(app.partition("!")[2] or "NORMAL_CLEARING")
        now_s = call.elapsed_now(self.switch.loop.time())
        end_s = now_s + self.destinations.abandon_message_seconds
        if call.timer:
            call.timer.cancel()
        self.switch._schedule(call, end_s - now_s, self.switch._hang_up, call, cause, call.at(end_s))

    # records -----------------------------------------------------------------------------------

    def record(self, call):
        if call.record is None:
            outcome = call.outcome
            call.record = self.records[call.uuid] = CallRecord(
                call.uuid,
                call.number,
                answered_by=outcome.answered_by,
                answered_at=call.answered_at_monotonic,
                ring_seconds=outcome.ring_seconds,
                talk_seconds=outcome.talk_seconds,
                patience_seconds=outcome.patience_seconds,
            )
        return call.record

    def ended(self, call, end_us):
        """Called by the switch when any call ends; completes the record of those that have one."""
        if call.record is None:
            return
        self._leave_hold(call, (end_us - call.created_us) / 1_000_000)
        record = call.record
        record.cause, record.ended_at = call.cause, time.monotonic()
        record.hung_up_by = "far_end" if call.shape == PARKED_FAR_END_BYE else "switch"

    def _leave_hold(self, call, now_s):
        if call.held_from_s is not None:
            self.record(call).held_seconds = max(0.0, now_s - call.held_from_s)
            call.held_from_s = None

    def _note_transfer(self, call, extension):
        record, now = self.record(call), time.monotonic()
        record.transferred_to, record.transferred_at = extension, now
        self.transfers.append(Transfer(call.uuid, extension, now, call.answered_at_monotonic))
        if extension == self.destinations.abandon_extension:
            self.counters["transfers_to_abandon"] += 1
        elif extension != self.destinations.hold_extension:
            self.counters["transfers_to_agent"] += 1


def apply_predictive(switch, settings):
    """Predictive mode on `switch` with `settings` changed (mix and extension names); ValueError if unknown."""
    destination_fields = {f.name for f in dataclasses.fields(Destinations)}
    destinations = {k: v for k, v in settings.items() if k in destination_fields}
    if "abandon_message_seconds" in destinations:
        destinations["abandon_message_seconds"] = float(destinations["abandon_message_seconds"])
    mix = switch.model.predictive.replace(**{k: v for k, v in settings.items() if k not in destination_fields})
    if destinations:
        switch.routing.destinations = dataclasses.replace(switch.routing.destinations, **destinations)
    switch.model.predictive, switch.model.mode = mix, "predictive"
