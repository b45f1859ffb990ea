"""Per-process resources for tasks: settings, database sessions, switch connections.

Built lazily on first use in each process and rebuilt after a fork (the pid is checked), so a
prefork worker never shares a database connection or an ESL socket with its parent or siblings.
"""

import os
import threading

import redis
from celery.signals import worker_process_init, worker_process_shutdown

from dialer.adapters import metrics
from dialer.adapters.db import make_engine, make_session_factory
from dialer.adapters.switches import SwitchConnections
from dialer.adapters.vc import VcClient
from dialer.config import load_settings

_lock = threading.Lock()
_runtime = None


class Runtime:
    def __init__(self, settings):
        self.pid = os.getpid()
        self.settings = settings
        # No pre-ping on every checkout (it cost 13 % of a busy worker's CPU): connections are
        # recycled instead, and a task that meets a dead one fails and is retried or re-ticked.
        self.engine = make_engine(settings.database_url, pool_size=2, max_overflow=2, pool_pre_ping=False,
                                  pool_recycle=300)
        self.redis = redis.Redis.from_url(settings.redis_url)
        self.vc = VcClient(settings.vc_url, settings.vc_timeout_seconds)  # keeps its connections open
        self.sessions = make_session_factory(self.engine)
        self.switches = SwitchConnections(settings.switches)

    def close(self):
        self.switches.close()
        self.redis.close()
        self.vc.close()
        self.engine.dispose()


def runtime():
    global _runtime
    with _lock:
        if _runtime is None or _runtime.pid != os.getpid():
            _runtime = Runtime(load_settings())
        return _runtime


def use_runtime(instance):
    """Install a runtime built elsewhere (tests, the web process); returns the previous one."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, instance
        return previous


@worker_process_init.connect
def _fresh_runtime_after_fork(**_):
    global _runtime
    _runtime = None  # the parent's engine and sockets must not be used in the child


@worker_process_shutdown.connect
def _metrics_of_an_exiting_child(pid=None, **_):
    metrics.process_exited(pid or os.getpid())
