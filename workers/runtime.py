"""Per-process resources for tasks: settings, database sessions, switch connections.

Built lazily on first use in each process and rebuilt after a fork (the pid is checked), so a
prefork worker never shares a database connection or an ESL socket with its parent or siblings.
"""

import os
import threading

from celery.signals import worker_process_init

from dialer.config import load_settings
from dialer.db import make_engine, make_session_factory
from dialer.switches import SwitchConnections

_lock = threading.Lock()
_runtime = None


class Runtime:
    def __init__(self, settings):
        self.pid = os.getpid()
        self.settings = settings
        self.engine = make_engine(settings.database_url, pool_size=2, max_overflow=2)
        self.sessions = make_session_factory(self.engine)
        self.switches = SwitchConnections(settings.switches)

    def close(self):
        self.switches.close()
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
