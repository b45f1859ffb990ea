"""One ESL connection per switch, per process and per thread: the C binding crashes the
process if two threads share a connection, so connections are never handed across threads."""

import os
import threading

from dialer.adapters.esl import EslClient


class SwitchConnections:
    def __init__(self, switches, client_factory=EslClient):
        self._switches = {s.name: s for s in switches}
        self._factory = client_factory
        self._local = threading.local()

    def get(self, name):
        clients = self._clients()
        if name not in clients:
            switch = self._switches[name]
            clients[name] = self._factory(switch.host, switch.port, switch.password)
        return clients[name]

    def close(self):
        for client in self._clients().values():
            client.close()
        self._local.clients = {}

    def _clients(self):
        if getattr(self._local, "pid", None) != os.getpid():
            self._local.pid = os.getpid()
            self._local.clients = {}
        return self._local.clients
