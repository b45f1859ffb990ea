"""Helpers for tests that drive the simulators over real sockets.

Sockets and threads answer when they answer: a test waits on the condition it cares about, with a
deadline, instead of sleeping a fixed time and hoping the work is done by then.
"""

import socket
import time


def wait_for(predicate, timeout=5.0, interval=0.01, message=None):
    """Call `predicate` until it returns something truthy, and return that value.

    Raises AssertionError once `timeout` seconds have passed, naming `message` (or the predicate) and the
    last value seen, so a failing test says what it was waiting for.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        time.sleep(interval)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refused(port):
    """Does 127.0.0.1:`port` refuse a connection (nothing listening)?"""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False
