"""Events as FreeSWITCH serialises them: text/event-plain, text/event-json and text/event-xml.

Channel events are filled into the captured shapes (shapes.py); an event is rendered at most once
per format however many clients receive it. BACKGROUND_JOB and SHUTDOWN are built here.
"""

from urllib.parse import unquote

from sim.switch.protocol import event_frame, json_object, url_encode

CONTENT_TYPES = {"plain": b"text/event-plain", "json": b"text/event-json", "xml": b"text/event-xml"}


class Event:
    """One event; `frame(fmt)` is the bytes a subscriber in that format receives."""

    __slots__ = ("name", "_frames", "_headers")

    def __init__(self, name):
        self.name = name
        self._frames = {}
        self._headers = None

    def frame(self, fmt):
        data = self._frames.get(fmt)
        if data is None:
            body = self.render_xml() if fmt == "xml" else self.render(fmt)
            body = body if isinstance(body, bytes) else body.encode()
            data = self._frames[fmt] = event_frame(CONTENT_TYPES[fmt], body)
        return data

    def header(self, name):
        """One header's decoded value (the first one), or None; what filters compare."""
        return self._all_headers().get(name)

    def _all_headers(self):
        if self._headers is None:
            self._headers = {}
            for name, value in self.headers():
                self._headers.setdefault(name, value)
        return self._headers

    def headers(self):
        """[(name, decoded value)] in order; the plain rendering is the reference."""
        rendered = self.render("plain")
        head = (rendered.decode() if isinstance(rendered, bytes) else rendered).split("\n\n", 1)[0]
        return [(n, unquote(v)) for n, _, v in (line.partition(": ") for line in head.split("\n"))]

    def body(self):
        return None

    def render_xml(self):
        lines = ["<event>", "  <headers>"]
        lines += [f"    <{n}>{url_encode(v)}</{n}>" for n, v in self.headers() if n != "Content-Length"]
        lines.append("  </headers>")
        body = self.body()
        if body is not None:
            lines += [f"  <Content-Length>{len(body.encode())}</Content-Length>", f"  <body>{body}  </body>"]
        return "\n".join(lines + ["</event>", ""])


class ChannelEvent(Event):
    """A channel event: the call's values of this phase filled into its captured shape."""

    __slots__ = ("shape", "call", "call_values", "static_values", "variables", "common", "identity")

    def __init__(self, shape, call, common, identity):
        super().__init__(shape.name)
        self.shape, self.call, self.common, self.identity = shape, call, common, identity
        # snapshots: held events render as they were, whatever a later transfer or uuid_setvar changes
        self.call_values = call.value_set()
        self.static_values = call.static_values
        self.variables = call.vars

    def header(self, name):
        # What filters ask for, answered without rendering the event.
        if name == "Event-Name":
            return self.name
        if name == "Unique-ID":
            return self.call.uuid
        if name.startswith("variable_"):
            value = self.variables.get(name[9:])
            if value is not None:
                return value
        return super().header(name)

    def render(self, fmt):
        values = dict(self.static_values.encoded(fmt))
        values.update(self.call_values.encoded(fmt))
        values.update(self.identity.encoded(fmt, self.common))
        values[b"channel_vars"] = self.variables.block(fmt)
        values[b"late_vars"] = self.variables.late_block(fmt)
        return self.shape.templates[fmt] % values  # bytes


class PlainEvent(Event):
    """An event built from a header list (BACKGROUND_JOB, SHUTDOWN), optionally with a body."""

    __slots__ = ("pairs", "_body")

    def __init__(self, pairs, body=None):
        super().__init__(pairs[0][1])
        self.pairs, self._body = pairs, body

    def header(self, name):
        return next((value for key, value in self.pairs if key == name), None)

    def body(self):
        return self._body

    def headers(self):
        return list(self.pairs)

    def render(self, fmt):
        pairs = self.pairs
        if self._body is not None:
            pairs = pairs + [("Content-Length", str(len(self._body.encode())))]
        if fmt == "json":
            return json_object(pairs + ([("_body", self._body)] if self._body is not None else []))
        head = "".join(f"{name}: {url_encode(value)}\n" for name, value in pairs)
        return head + ("\n" + self._body if self._body is not None else "\n")


def common_headers(event_name, values, calling):
    """The header block every event starts with; `calling` = (file, function, line)."""
    return [
        ("Event-Name", event_name),
        ("Core-UUID", values["core_uuid"]),
        ("FreeSWITCH-Hostname", values["hostname"]),
        ("FreeSWITCH-Switchname", values["hostname"]),
        ("FreeSWITCH-IPv4", values["ipv4"]),
        ("FreeSWITCH-IPv6", values["ipv6"]),
        ("Event-Date-Local", values["date_local"]),
        ("Event-Date-GMT", values["date_gmt"]),
        ("Event-Date-Timestamp", values["date_ts"]),
        ("Event-Calling-File", calling[0]),
        ("Event-Calling-Function", calling[1]),
        ("Event-Calling-Line-Number", calling[2]),
        ("Event-Sequence", values["seq"]),
    ]


def background_job(values, job_uuid, command, arg, body):
    pairs = common_headers("BACKGROUND_JOB", values, ("mod_event_socket.c", "api_exec", "1572"))
    pairs += [("Job-UUID", job_uuid), ("Job-Command", command)]
    if arg:
        pairs.append(("Job-Command-Arg", arg))
    return PlainEvent(pairs, body)


def shutdown_event(values):
    pairs = common_headers("SHUTDOWN", values, ("switch_core.c", "switch_core_destroy", "3023"))
    return PlainEvent(pairs + [("Event-Info", "System Shutting Down")])
