"""The ESL adapter: the only module that touches the FreeSWITCH ESL C binding.

What the binding does (checked against the simulator and FreeSWITCH's wire captures):
- ESLconnection(host, str(port), password) connects and authenticates at once, with no timeout:
  a switch that accepts TCP but never greets would hang it, so we first probe for the
  `auth/request` greeting over a plain socket with a timeout.
- api()/bgapi() block until the reply, with no timeout either; a watchdog shuts the socket down
  (from another thread, which only touches the kernel socket, never the binding) when a reply is late.
- It URL-decodes event-plain headers; recvEventTimed() releases the GIL; a dropped connection or
  a text/disconnect-notice turns connected() to 0.
- One connection must never be used by two threads (the process crashes): the client remembers its
  thread and refuses to be used from another one.
"""

import os
import socket
import threading
import warnings
from collections.abc import Mapping

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # its SWIG wrapper still imports `imp`
    from freeswitchESL import ESL

GREETING = b"Content-Type: auth/request"


class SwitchUnreachable(Exception):
    """The switch cannot be reached, refused us, dropped us, or did not answer in time."""


class EslClient:
    def __init__(self, host, port, password, timeout=10.0):
        self.host, self.port, self.password = host, int(port), password
        self.timeout = timeout
        self._connection = None
        self._subscription = ([], [])
        self._owner = None

    # public ---------------------------------------------------------------------------------

    def api(self, command):
        """The response body of `api <command>`; raises SwitchUnreachable."""
        name, _, arg = command.strip().partition(" ")
        reply = self._request(lambda conn: conn.api(name, arg or None), command)
        return reply.getBody() or ""

    def bgapi(self, command, job_uuid):
        """The Reply-Text of `bgapi <command>` with our Job-UUID ("+OK Job-UUID: ..." or "-ERR ...")."""
        name, _, arg = command.strip().partition(" ")
        reply = self._request(lambda conn: conn.bgapi(name, arg or None, job_uuid), command)
        return reply.getHeader("Reply-Text") or ""

    def subscribe(self, event_names, filters=()):
        """`event plain <names>` and one `filter <header> <value>` each; replaces any earlier
        subscription and is re-applied on every reconnect."""
        self._subscription = (list(event_names), list(filters))
        if self._connection is not None and self._connection.connected():
            self._check_thread()
            self._connection.sendRecv("noevents")
            self._connection.sendRecv("filter delete all")
            self._apply_subscription(self._connection)
        else:
            self._connected()

    def recv_event(self, timeout_ms):
        """The next event's headers (str -> str, body under "_body"), or None when none came in time.
        Connects if needed; raises SwitchUnreachable when the connection is gone."""
        connection = self._connected()
        event = connection.recvEventTimed(int(timeout_ms))
        if not connection.connected():
            self._forget()
            raise SwitchUnreachable(f"{self.host}:{self.port} closed the event connection")
        return None if event is None else EventHeaders(event)

    def close(self):
        if self._connection is not None:
            self._check_thread()
            self._connection.disconnect()
        self._forget()

    # connection -----------------------------------------------------------------------------

    def _request(self, send, command):
        """Send on a live connection; a connection found dead is replaced once and the command resent."""
        for _attempt in (1, 2):
            connection = self._connected()
            watchdog = _Watchdog(connection, self.timeout)
            try:
                reply = send(connection)
            finally:
                watchdog.cancel()
            if reply is None and watchdog.fired:
                self._forget()
                raise SwitchUnreachable(
                    f"{self.host}:{self.port} did not answer {command.split()[0]!r} within {self.timeout} s"
                )
            if reply is not None and connection.connected():
                return reply
            self._forget()
        raise SwitchUnreachable(f"{self.host}:{self.port} dropped the connection")

    def _connected(self):
        self._check_thread()
        if self._connection is not None and self._connection.connected():
            return self._connection
        self._forget()
        self._probe()
        connection = ESL.ESLconnection(self.host, str(self.port), self.password)
        if not connection.connected():
            raise SwitchUnreachable(f"{self.host}:{self.port} refused the ESL login (password?)")
        self._apply_subscription(connection)
        self._connection = connection
        return connection

    def _probe(self):
        """Fail fast when nothing listens, or when the switch accepts but does not greet."""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as probe:
                greeting = b""
                while GREETING not in greeting:
                    chunk = probe.recv(256)
                    if not chunk:
                        raise SwitchUnreachable(f"{self.host}:{self.port} closed before greeting")
                    greeting += chunk
        except OSError as error:  # refused, unreachable, timed out
            raise SwitchUnreachable(f"{self.host}:{self.port}: {error}") from error

    def _apply_subscription(self, connection):
        names, filters = self._subscription
        if names and connection.events("plain", " ".join(names)) != 0:
            raise SwitchUnreachable(f"{self.host}:{self.port} refused the event subscription")
        for header, value in filters:
            if connection.filter(header, value) is None:
                raise SwitchUnreachable(f"{self.host}:{self.port} refused filter {header}")

    def _forget(self):
        self._connection = None

    def _check_thread(self):
        current = threading.get_ident()
        if self._owner is None:
            self._owner = current
        elif self._owner != current:
            raise RuntimeError("an EslClient must stay on the thread that first used it")


class _Watchdog:
    """Shuts the connection's socket down if a blocking call outlives `timeout`: the blocked
    binding then sees EOF and returns, instead of waiting for ever on a hung switch."""

    def __init__(self, connection, timeout):
        self.fired = False
        self._fd = connection.socketDescriptor()
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        # Under the lock: cancel() has not returned, so the call is still blocked and _fd is still ours.
        with self._lock:
            if self._done:
                return
            self.fired = True
            try:
                with socket.socket(fileno=os.dup(self._fd)) as duplicate:
                    duplicate.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self):
        with self._lock:
            self._done = True
        self._timer.cancel()


class EventHeaders(Mapping):
    """An event's headers, read from the binding's event one by one as they are asked for: a
    hangup event has ~200 headers and the dialer needs about fifteen. Body under "_body"."""

    def __init__(self, event):
        self._event = event

    def get(self, name, default=None):
        # Direct, not Mapping.get's KeyError round trip: many asked-for headers are absent.
        value = self._event.getBody() if name == "_body" else self._event.getHeader(name)
        return default if value is None else value

    def __getitem__(self, name):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self):
        return iter(to_dict(self._event))

    def __len__(self):
        return len(to_dict(self._event))


def to_dict(event):
    """An ESLevent as a dict of str; the first value wins for a header sent twice (Hangup-Cause)."""
    headers = {}
    name = event.firstHeader()
    while name:
        headers.setdefault(name, event.getHeader(name))
        name = event.nextHeader()
    body = event.getBody()
    if body is not None:
        headers["_body"] = body
    return headers
