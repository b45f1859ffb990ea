"""Test helpers for any test folder: a pytest fixture factory, a deadline wait, and a raw ESL client.

from sim.switch.testing import switch_simulator_fixture
switch_sim = switch_simulator_fixture()                  # in a conftest.py
switch_sim = switch_simulator_fixture(scope="session", seed=7, time_scale=0.002)
"""

import json
import socket
import time
from urllib.parse import unquote

import pytest

from sim.switch.handle import SwitchSimulator

TEST_TIME_SCALE = 0.001  # a 60 s modelled call lasts 60 ms


def switch_simulator_fixture(name="switch_sim", scope="function", **options):
    """A fixture yielding a started SwitchSimulator on a free port (reset between uses when shared)."""
    options.setdefault("time_scale", TEST_TIME_SCALE)
    options.setdefault("port", 0)

    @pytest.fixture(name=name, scope=scope)
    def _switch_simulator():
        with SwitchSimulator(**options) as simulator:
            yield simulator

    return _switch_simulator


def wait_until(predicate, timeout=5.0, interval=0.002, message="condition"):
    """Poll `predicate` until it returns something truthy, which is returned; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Frame:
    """One frame from the switch: outer headers (in order) and raw body."""

    def __init__(self, headers, body):
        self.headers, self.body = headers, body

    def get(self, name):
        return next((v for k, v in self.headers if k == name), None)

    @property
    def content_type(self):
        return self.get("Content-Type")

    def event(self):
        """The event inside: [(name, decoded value)] in order, plus "_body" when there is one."""
        if self.content_type == "text/event-json":
            return list(json.loads(self.body, object_pairs_hook=lambda pairs: pairs))
        head, _, rest = self.body.decode().partition("\n\n")
        pairs = [(k, unquote(v)) for k, _, v in (line.partition(": ") for line in head.split("\n"))]
        if rest:
            pairs.append(("_body", rest))
        return pairs

    def event_dict(self):
        result = {}
        for key, value in self.event():
            result.setdefault(key, value)
        return result


class RawEslClient:
    """A plain-socket ESL client that shows exactly what the switch sends. Like the C library, it
    keeps events that arrive while it waits for a command's reply, for read_frame() to return later."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.early_events = []

    def send(self, text):
        self.sock.sendall(text.encode())

    def command(self, line):
        """Send one command; its command/reply or api/response frame."""
        self.send(line + "\n\n")
        while True:
            frame = self.next_frame()
            if not (frame.content_type or "").startswith("text/event-"):
                return frame
            self.early_events.append(frame)

    def login(self, password="ClueCon"):
        greeting = self.read_frame()
        assert greeting.content_type == "auth/request"
        reply = self.command(f"auth {password}")
        assert reply.get("Reply-Text") == "+OK accepted", reply.headers
        return self

    def read_frame(self):
        if self.early_events:
            return self.early_events.pop(0)
        return self.next_frame()

    def next_frame(self):
        """The next frame in wire order, whatever it is (read_frame() returns held events first)."""
        head = self._read_until(b"\n\n")
        headers = [tuple(line.split(": ", 1)) for line in head.decode().split("\n")]
        length = int(dict(headers).get("Content-Length", 0))
        return Frame(headers, self._read_exactly(length))

    def events(self, count):
        """The next `count` event frames, skipping nothing (a non-event frame fails the test)."""
        frames = [self.read_frame() for _ in range(count)]
        assert all(f.content_type.startswith("text/event-") for f in frames), [f.headers for f in frames]
        return frames

    def closed(self):
        """True once the switch has closed the connection (after what it sent is read)."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        self.buffer += chunk
        return chunk == b""

    def close(self):
        self.sock.close()

    def _read_until(self, marker):
        while marker not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _read_exactly(self, size):
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the switch closed the connection")
        self.buffer += chunk
