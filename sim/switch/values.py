"""Header values encoded for the wire, each at most once per format: url-encoded for event-plain
(and xml), JSON-escaped for event-json. Events of one call phase share one ValueSet, so a call's
many values are encoded once per phase, not once per event."""

import time

from sim.switch.protocol import json_string, url_encode

ENCODERS = {"plain": url_encode, "json": lambda value: json_string(value)[1:-1]}  # str -> str
_STATIC = ("core_uuid", "hostname", "ipv4", "ipv6")


class ValueSet:
    """Values for a shape's {placeholders}: `digits` (bytes, the same in every format) and `texts`
    (str, encoded at most once per format). Keys of the encoded dict are bytes, as %-templates need."""

    __slots__ = ("digits", "texts", "_encoded")

    def __init__(self, texts, digits=None):
        self.texts, self.digits = texts, digits or {}
        self._encoded = {}

    def encoded(self, fmt):
        values = self._encoded.get(fmt)
        if values is None:
            encode = ENCODERS[fmt]
            values = dict(self.digits)
            for name, value in self.texts.items():
                values[name.encode()] = encode(value).encode() if value else b""
            self._encoded[fmt] = values
        return values

    def decoded(self):
        return {**{k.decode(): v.decode() for k, v in self.digits.items()}, **self.texts}


class ChannelVariables:
    """A call's channel variables at one moment; an event keeps the one it was made with. `early`: the
    originate's own, in their captured place (@channel_vars); `late`: set afterwards (uuid_setvar, the
    AMD result), which FreeSWITCH lists at the bottom (setting a variable again moves it there)."""

    __slots__ = ("early", "late", "_blocks")

    def __init__(self, early, late=None):
        self.early, self.late = early, late or {}
        self._blocks = {}

    def get(self, name):
        value = self.late.get(name)
        return self.early.get(name) if value is None else value

    def merged(self):
        return {**self.early, **self.late}

    def with_value(self, name, value):
        """A new set with `name` moved to the bottom with `value`, or removed when the value is empty."""
        early = {k: v for k, v in self.early.items() if k != name}
        late = {k: v for k, v in self.late.items() if k != name}
        if value:
            late[name] = value
        return ChannelVariables(early, late)

    def block(self, fmt):
        """The originate's variables, for @channel_vars (bytes)."""
        key = ("early", fmt)
        if key not in self._blocks:
            self._blocks[key] = variables_block(self.early, fmt)
        return self._blocks[key]

    def late_block(self, fmt):
        """The later ones, for {late_vars}: plain lines, or `,"name":"value"` pairs in JSON (bytes)."""
        key = ("late", fmt)
        if key not in self._blocks:
            if fmt == "plain" or not self.late:
                self._blocks[key] = variables_block(self.late, fmt)
            else:
                pairs = (f",{json_string('variable_' + k)}:{json_string(v)}" for k, v in self.late.items())
                self._blocks[key] = "".join(pairs).encode()
        return self._blocks[key]


def variables_block(variables, fmt):
    """The originate's variables as `variable_<name>` headers (bytes), ready to drop into a shape."""
    if fmt == "plain":
        return "".join(f"variable_{k}: {url_encode(v)}\n" for k, v in variables.items()).encode()
    return "".join(f"{json_string('variable_' + k)}:{json_string(v)}," for k, v in variables.items()).encode()


class Identity:
    """Who the simulated switch is, and the Event-* values of "now" (dates cached per second)."""

    def __init__(self, core_uuid, hostname, ipv4="127.0.0.1", ipv6="::1"):
        self.values = {"core_uuid": core_uuid, "hostname": hostname, "ipv4": ipv4, "ipv6": ipv6}
        self._second = None
        self._dates = None
        self._encoded = {}  # fmt -> (second, encoded static and date values)

    def now(self, sequence):
        """The decoded common values of an event created now."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._dates = (
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)),
                time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(second)),
            )
        return {
            **self.values,
            "date_local": self._dates[0],
            "date_gmt": self._dates[1],
            "date_ts": str(int(now * 1_000_000)),
            "seq": str(sequence),
        }

    def encoded(self, fmt, common):
        """`common` (from now()) encoded, as bytes; the timestamp and sequence are digits."""
        cached = self._encoded.get(fmt)
        if cached is None or cached[0] != common["date_local"]:
            encode = ENCODERS[fmt]
            names = (*_STATIC, "date_local", "date_gmt")
            encoded = {k.encode(): encode(common[k]).encode() for k in names}
            cached = self._encoded[fmt] = (common["date_local"], encoded)
        return {**cached[1], b"date_ts": common["date_ts"].encode(), b"seq": common["seq"].encode()}
