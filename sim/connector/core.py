"""What the VC does with the dialer's messages, independent of HTTP and sockets.

`start_process` accepts or rejects "Call details" and reserves a ready agent at once; on a timer
thread it calls the dialer back, `delay` seconds later with the agent, or at once with an empty one
when nobody was ready (a dialer waiting on a connect deadline hears "no agent" without delay).
`receive` records everything else and frees the agent of a call the dialer reports over. The
request that triggered a callback never waits for it.
"""

import logging
import threading

from sim.connector import paths
from sim.connector.agents import AgentPool
from sim.connector.callback import agent_details, post_agent_details
from sim.connector.journal import Journal, now_iso
from sim.connector.payload import call_details_errors, call_ids

log = logging.getLogger("sim.connector")

# The spec: a blank queue means "use the default queue"; the dialer needs a name back to dial with.
DEFAULT_QUEUE = "Default Queue"


class Connector:
    def __init__(self, dialer_url, dialer_token=None, agents=5, delay=0.2, wrap_up=0.5, hold=60.0, seed=None):
        self.dialer_url = dialer_url
        self.dialer_token = dialer_token
        self.delay = delay
        self._pool_args = dict(size=agents, hold=hold, wrap_up=wrap_up, seed=seed)
        self.pool = AgentPool(**self._pool_args)
        self.journal = Journal()
        self._timers = set()
        self._lock = threading.Lock()
        self._closed = False

    def start_process(self, body):
        """Handle `POST /fs-message/startprocess`; return `(status, json)`."""
        errors = call_details_errors(body)
        if errors:
            self.journal.message(paths.START_PROCESS, body, 400)
            log.info("event=startprocess_rejected fields=%s", ",".join(sorted(errors)))
            return 400, {"error": "invalid call details", "fields": errors}
        self.journal.message(paths.START_PROCESS, body, 200)
        call = body["callUid"]
        # Reserved now, not when the callback goes: an agent promised to one call is not ready for
        # the next request, which is then answered at once with no agent.
        ext = self.pool.reserve(call)
        self._schedule(call, ext, body["queue"] or DEFAULT_QUEUE)
        return 200, {"accepted": True}

    def receive(self, path, body):
        """Handle any other message from the dialer; return `(status, json)`."""
        self.journal.message(path, body, 200)
        if path in paths.RELEASING:
            for call in sorted(call_ids(body)):
                ext = self.pool.end_call(call)
                if ext:
                    log.info("event=call_ended call=%s agent=%s path=%s", call, ext, path)
        return 200, {"received": True}

    def agent_counts(self, queue=None):
        """`GET .../agents?queue=`: the pool's figures. The simulator has one pool serving every queue,
        so any queue (or none) gets the whole pool's figures."""
        return self.pool.counts()

    def refuse(self, path, body, status):
        """Record a message answered with a simulated failure; it is not acted on."""
        self.journal.message(path, body, status)
        return status, {"error": "simulated connector failure"}

    def reset(self):
        """Forget every message and callback and free every agent (between tests)."""
        self.journal = Journal()
        self.pool = AgentPool(**self._pool_args)

    def close(self):
        """Cancel callbacks not yet due; one already running finishes and is recorded."""
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()

    def _schedule(self, call, ext, queue):
        timer = threading.Timer(self.delay if ext else 0, self._call_back, (call, ext, queue))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _call_back(self, call, ext, queue):
        with self._lock:
            self._timers.discard(threading.current_thread())  # a Timer runs its function on itself
        body = agent_details(call, ext, queue)
        sent_at = now_iso()
        status, error = post_agent_details(self.dialer_url, self.dialer_token, body)
        self.journal.callback(body, status, error, sent_at)
        log.info("event=callback call=%s agent=%s status=%s error=%s", call, ext or "-", status, error)
        if ext and not (status and 200 <= status < 300):
            # The dialer refused the agent (or never heard of it), so no call and no END_CHAT will
            # come: give the agent back rather than leave it held until the hold timeout.
            self.pool.cancel(call)
