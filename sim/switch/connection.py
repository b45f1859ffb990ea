"""One ESL client connection: an asyncio Protocol speaking inbound-mode ESL.

Writes are batched and flow-controlled by its Outbox. Events for a client inside a blocking
`api originate` are held back until the api/response is sent, as FreeSWITCH does (capture 22).
"""

import asyncio
import re
import uuid as uuid_module
from collections import deque

from sim.switch import api, protocol
from sim.switch.outbox import Outbox

FORMATS = ("plain", "json", "xml")


class EslConnection(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.switch = server.switch
        self.transport = None
        self.reader = protocol.CommandReader()
        self.commands = deque()
        self.authenticated = False
        self.format = "plain"
        self.event_names = set()
        self.filters = []  # [(header, value)]: OR'd, as FreeSWITCH applies them
        self.held_events = None  # a list while a blocking api runs
        self.closing = False
        self.outbox = None

    # transport ------------------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.outbox = Outbox(self.server.loop, transport, lambda: self.server.frozen)
        self.server.connections.add(self)
        self.send(protocol.AUTH_REQUEST)

    def connection_lost(self, exc):
        self.closing = True
        self.server.connections.discard(self)
        self.switch.listeners.discard(self)

    def data_received(self, data):
        self.commands.extend(self.reader.feed(data))
        self.process()

    def pause_writing(self):
        self.outbox.pause()

    def resume_writing(self):
        self.outbox.resume()

    def send(self, data):
        self.outbox.put(data)

    def flush(self):
        self.outbox.flush()

    def close_after(self, notice):
        """Send the disconnect notice, then close once it is written."""
        self.closing = True
        self.switch.listeners.discard(self)
        self.send(protocol.disconnect_notice(notice))
        self.server.loop.call_soon(self._close_now)

    def _close_now(self):
        self.outbox.flush(everything=True)
        self.transport.close()

    # commands -------------------------------------------------------------------------------

    def process(self):
        while self.commands and self.held_events is None and not self.server.frozen and not self.closing:
            self.handle(self.commands.popleft())

    def handle(self, command):
        if not self.authenticated:
            return self._handle_unauthenticated(command)
        handler = getattr(self, f"_cmd_{command.name}", None)
        if handler is None:
            return self.send(protocol.command_reply("-ERR command not found"))
        handler(command)

    def _handle_unauthenticated(self, command):
        if command.name != "auth":
            return self.send(protocol.command_reply("-ERR command not found"))
        if command.args != self.server.password:
            self.send(protocol.command_reply("-ERR invalid"))
            return self.close_after(protocol.GOODBYE)
        self.authenticated = True
        self.send(protocol.command_reply("+OK accepted"))

    def _cmd_api(self, command):
        name, _, arg = command.args.partition(" ")
        if name.lower() == "originate":
            self.held_events = []
            return self.switch.originate(arg, "api", self._finish_blocking_api)
        self.send(protocol.api_response(api.run(self.switch, command.args)))

    def _finish_blocking_api(self, body):
        held, self.held_events = self.held_events or [], None
        if self.closing:
            return
        self.send(protocol.api_response(body))
        for event in held:
            self.deliver(event)
        self.process()

    def _cmd_bgapi(self, command):
        job_uuid = command.headers.get("Job-UUID") or str(uuid_module.uuid4())
        self.send(protocol.job_reply(job_uuid))
        name, _, arg = command.args.partition(" ")
        switch = self.switch
        if name.lower() == "originate":
            done = lambda body: switch.emit_background_job(job_uuid, name, arg, body)  # noqa: E731
            return switch.originate(arg, "bgapi", done, job_uuid)
        switch.emit_background_job(job_uuid, name, arg, api.run(switch, command.args))

    def _cmd_event(self, command):
        names = []
        for word in command.args.split():
            if word.lower() in FORMATS:
                self.format = word.lower()
            else:
                names.append(word.upper())
        if not names:
            return self.send(protocol.command_reply("-ERR no keywords supplied"))
        self.event_names.update(names)
        self.switch.listeners.add(self)
        self.send(protocol.command_reply(f"+OK event listener enabled {self.format}"))

    def _cmd_nixevent(self, command):
        self.event_names.difference_update(word.upper() for word in command.args.split())
        self.send(protocol.command_reply("+OK events nixed"))

    def _cmd_noevents(self, command):
        self.event_names.clear()
        self.switch.listeners.discard(self)
        self.send(protocol.command_reply("+OK no longer listening for events"))

    def _cmd_filter(self, command):
        header, _, value = command.args.partition(" ")
        if header.lower() == "delete":
            header, _, value = value.partition(" ")
            if header.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [(h, v) for h, v in self.filters if not (h == header and value in ("", v))]
            return self.send(protocol.command_reply(f"+OK filter deleted. [{header}][{value}]"))
        if not value:
            return self.send(protocol.command_reply("-ERR invalid syntax"))
        self.filters.append((header, value))
        self.send(protocol.command_reply(f"+OK filter added. [{header}]=[{value}]"))

    def _cmd_exit(self, command):
        self.send(protocol.command_reply("+OK bye"))
        self.close_after(protocol.GOODBYE)

    # events ---------------------------------------------------------------------------------

    def deliver(self, event):
        if self.closing or not (event.name in self.event_names or "ALL" in self.event_names):
            return
        if self.filters and not passes_filters(event, self.filters):
            return
        if self.held_events is not None:
            return self.held_events.append(event)
        if not self.outbox.put(event.frame(self.format), event=True) and self.outbox.too_far_behind:
            self.closing = True  # FreeSWITCH kills a listener that lost too many events
            self.transport.abort()


def passes_filters(event, filters):
    """mod_event_socket's rule: any matching filter lets the event through; a '-' filter that
    matches drops it. Values compare case-insensitively, or as a regex when they start with '/'."""
    send = False
    for header, wanted in filters:
        actual = event.header(header)
        if actual is None:
            continue
        positive = not wanted.startswith("-")
        target = wanted.lstrip("+-")
        if send and positive:
            continue
        if wanted.startswith("/"):
            matched = re.search(target.strip("/"), actual) is not None
        else:
            matched = actual.lower() == target.lower()
        if matched:
            if not positive:
                return False
            send = True
    return send
