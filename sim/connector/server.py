"""`ConnectorSimulator`: the VC simulator as a handle, serving HTTP on a background thread.

It owns the listening socket, so it also owns the failure modes that touch it: "down" closes the
socket (clients get connection refused) and "up" binds the same port again.
"""

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from sim.connector import paths
from sim.connector.app import MODES, create_app
from sim.connector.core import Connector

POLL_INTERVAL = 0.05  # how often serve_forever checks for shutdown; "down" takes at most this long


class RequestHandler(WSGIRequestHandler):
    # One request per connection: with keep-alive, a client could go on talking over an old
    # connection while the simulator is "down", which a dead process would never allow.
    protocol_version = "HTTP/1.0"


class QuietRequestHandler(RequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class ConnectorSimulator:
    """The VC simulator. `with ConnectorSimulator(port=0, dialer_url=...) as vc:` then `vc.url`."""

    def __init__(self, host="127.0.0.1", port=8088, dialer_url="http://127.0.0.1:8000", dialer_token=None,
                 agents=5, delay=0.2, wrap_up=0.5, hold=60.0, seed=None, quiet=True, agents_path=paths.AGENTS,
                 agents_endpoint=True):
        self.host = host
        self.port = port
        self.agents_path = agents_path
        # False: `GET <agents_path>` answers 404, as a VC without our contract addition would.
        self.agents_endpoint = agents_endpoint
        self.connector = Connector(dialer_url, dialer_token, agents=agents, delay=delay, wrap_up=wrap_up,
                                   hold=hold, seed=seed)
        self._app = create_app(self)
        self._handler = QuietRequestHandler if quiet else RequestHandler
        self._server = None
        self._thread = None
        self._running = False  # between start() and stop(); "down" closes the socket but keeps this
        self._fault = ("up", None)  # replaced whole, so readers on other threads need no lock
        self._generation = 0
        self._revert = None
        self._lock = threading.RLock()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def dialer_url(self):
        return self.connector.dialer_url

    @dialer_url.setter
    def dialer_url(self, url):
        self.connector.dialer_url = url

    def reset(self):
        """Back to a fresh simulator on the same port: up, no messages, every agent free."""
        self.set_mode("up")
        self.connector.reset()

    def start(self):
        with self._lock:
            self._running = True
            self._fault = ("up", None)
            self._listen()
        return self

    def stop(self):
        with self._lock:
            self._running = False
            self._cancel_revert()
            self._close()
        self.connector.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def messages(self, path=None):
        """Every message the dialer sent, in order:
        `[{"seq", "path", "body", "received_at", "accepted", "status"}]`, only `path`'s when given."""
        return self.connector.journal.messages(path)

    def callbacks(self):
        """Every callback made to the dialer: `[{"seq", "body", "status", "error", "sent_at"}]`."""
        return self.connector.journal.callbacks()

    def agents(self):
        """The agent pool now: `[{"ext", "state": "free"|"busy"|"wrap_up", "call"}]`."""
        return self.connector.pool.snapshot()

    def agent_counts(self, queue=None):
        """`{"loggedIn", "ready", "busy", "wrapUp"}` now, what `GET <agents_path>?queue=` answers; one pool
        serves every queue, so the figures are the whole pool's whatever the queue."""
        return self.connector.agent_counts(queue)

    def agent_report(self):
        """Per agent, since login: `[{"ext", "logged_in_since", "logged_in_seconds", "busy_seconds",
        "wrap_up_seconds", "calls"}]`. Cumulative: for a window, subtract a report taken at its start."""
        return self.connector.pool.report()

    def assignments(self):
        """Every reservation: `[{"ext", "call", "reserved_at", "ended_at", "free_at", "ended_by"}]`
        (seconds since login; `free_at` null while the agent still holds the call)."""
        return self.connector.pool.assignments()

    def mode(self):
        mode, seconds = self._fault
        return {"mode": mode, "seconds": seconds}

    def fault(self):
        """`(mode, seconds)`, read by the request handlers."""
        return self._fault

    def set_mode(self, mode, seconds=None):
        """Switch failure mode. "slow": each answer `seconds` late. "down"/"error": for `seconds`,
        then back up by themselves; with `seconds=None` until `set_mode("up")`."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if mode == "slow" and seconds is None:
            raise ValueError("slow needs seconds: how late each answer is")
        with self._lock:
            self._cancel_revert()
            if mode == "down":
                self._close()
            elif self._running:
                self._listen()
            self._fault = (mode, None if mode == "up" else seconds)
            if mode in ("down", "error") and seconds is not None:
                self._schedule_revert(seconds)

    def _listen(self):
        if self._server is not None:
            return
        server = make_server(self.host, self.port, self._app, threaded=True, request_handler=self._handler)
        self.port = server.port  # the real port when 0 was asked for, so "up" comes back on it
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                                        name=f"connector-sim-{self.port}", daemon=True)
        self._server = server
        self._thread.start()

    def _close(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def _schedule_revert(self, seconds):
        self._revert = threading.Timer(seconds, self._revert_to_up, (self._generation,))
        self._revert.daemon = True
        self._revert.start()

    def _cancel_revert(self):
        # The generation makes a revert timer that already fired, but lost the race for the lock,
        # harmless: it only acts if no mode change happened since it was set.
        self._generation += 1
        if self._revert is not None:
            self._revert.cancel()
            self._revert = None

    def _revert_to_up(self, generation):
        with self._lock:
            if generation == self._generation:
                self.set_mode("up")
