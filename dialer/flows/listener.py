"""The event pump: reads one switch's events, keeps our calls' results, hands them on in batches.

A supervisor loop around a pure parser (dialer.rules.events): on a dropped connection it reconnects
with backoff and subscribes again; it never blocks on anything but the switch socket and the
publish callback. FreeSWITCH drops an ESL client that falls 500 events behind, so the pump reads
fast: it parses only what the filter lets through and publishes a batch per read burst.
"""

import logging
import threading
from dataclasses import replace

from dialer.adapters import metrics
from dialer.adapters.esl import SwitchUnreachable
from dialer.rules import events
from dialer.rules.event_messages import to_message

log = logging.getLogger(__name__)

# CHANNEL_PARK: only predictive calls park (on the hold extension, once answered): the answer the
# dialer must act on within the connect deadline. Other calls' answers are never subscribed to.
SUBSCRIBED = ("CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB", "CHANNEL_PARK")
BATCH_MAX = 500


class Backoff:
    def __init__(self, first=0.1, longest=2.0):
        self.first, self.longest, self.current = first, longest, first

    def next(self):
        delay, self.current = self.current, min(self.current * 2, self.longest)
        return delay

    def reset(self):
        self.current = self.first


class EventPump:
    """`connect()` returns a fresh EslClient; `publish(messages)` must not lose them (it retries)."""

    def __init__(self, switch_name, connect, instance, publish, machine_variables=()):
        self.switch_name = switch_name
        self.connect = connect
        self.instance = instance
        self.publish = publish
        self.machine_variables = machine_variables  # (name, value) pairs that say a machine answered
        self.stopping = threading.Event()
        self.connected = threading.Event()

    def run(self):
        backoff = Backoff()
        while not self.stopping.is_set():
            client = self.connect()
            try:
                client.subscribe(list(SUBSCRIBED), filters=[("variable_dialer_instance", self.instance),
                                                            ("Event-Name", "BACKGROUND_JOB")])
                self.connected.set()
                backoff.reset()
                log.info("event=listener_subscribed switch=%s", self.switch_name)
                self._pump(client)
            except SwitchUnreachable as exc:
                self.connected.clear()
                delay = backoff.next()
                log.warning("event=listener_disconnected switch=%s error=%s retry_in=%.1f",
                            self.switch_name, exc, delay)
                self.stopping.wait(delay)
            finally:
                client.close()

    def stop(self):
        self.stopping.set()

    def _pump(self, client):
        while not self.stopping.is_set():
            first = client.recv_event(500)
            if first is None:
                continue
            # Each event is parsed as it comes: the adapter's headers are read lazily from it.
            messages, read = self.ours([first]), 1
            for _ in range(BATCH_MAX - 1):
                more = client.recv_event(1)
                if more is None:
                    break
                read += 1
                messages.extend(self.ours([more]))
            if messages:
                self.publish(messages)
            metrics.count_listener_events(self.switch_name, read, len(messages))

    def ours(self, raw_events):
        """Parsed results of our own calls, as broker messages, in the switch's order."""
        messages = []
        for headers in raw_events:
            if headers.get("Event-Name") == "BACKGROUND_JOB" and not events.job_may_change_contact(
                    headers.get("_body", "")):
                continue  # most job results: skipped before the originate argument is parsed
            try:
                result = events.parse_event(headers)
            except events.MalformedEvent as exc:
                log.error("event=malformed_event switch=%s error=%s", self.switch_name, exc)
                continue
            if result is not None and self._matters(result):
                if isinstance(result, events.CallAnswered) and events.answered_by_machine(
                        headers, self.machine_variables):
                    result = replace(result, dialer_vars={**result.dialer_vars, "machine": "1"})
                messages.append(to_message(result))
        return messages

    def _matters(self, result):
        """Our calls' hangups, and the job results that change a contact: those of originates
        that never got a channel (a +OK or a busy job result adds nothing to the hangup's)."""
        if result.dialer_vars.get("dialer_instance") != self.instance:
            return False
        if isinstance(result, events.JobResult):
            return events.outcome_of(result) in (events.FAILED, events.PENDING)
        if isinstance(result, events.CallAnswered):
            return result.dialer_vars.get("dialer_mode") == "PREDICTIVE"
        return isinstance(result, events.CallEnded)
