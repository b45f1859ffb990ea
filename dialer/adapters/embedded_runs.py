"""Runs of the embedded servers: who stops them, and when.

A run (`dialer run`, a test session) holds a lease on the state folder while it uses the embedded
servers: a file naming its process. When it ends, it stops each server it used that was started for a
run (embedded.py marks those) and that no other live run uses; the last run out stops it, so `make run`
and `make test` side by side never stop a server the other still uses, and a run killed outright leaves
its servers to the next run that ends. A server that was running before any run started it (`dialer
services up`) is never stopped by a run, nor is a server given by DATABASE_URL or REDIS_URL.
"""

import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from dialer.adapters.embedded import DEFAULT_STATE_DIR, alive, server_pid, started_by_run, state_lock, stop_server

TITLES = {"postgres": "PostgreSQL", "redis": "Redis"}
_numbers = itertools.count(1)  # several runs of one process (tests) hold distinct leases


@dataclass
class Ending:
    """What a run's end did with each server it used: stopped, left for other runs, or kept."""

    folder: Path
    stopped: dict = field(default_factory=dict)  # name -> pid
    shared: dict = field(default_factory=dict)  # name -> descriptions of the runs still using it
    kept: list = field(default_factory=list)  # running before any run started it

    def lines(self):
        """What to tell whoever stopped the run."""
        stop = "dialer services stop"
        if self.folder != Path(DEFAULT_STATE_DIR).resolve():
            stop = f"DIALER_STATE_DIR={self.folder} {stop}"
        lines = [f"stopped the embedded {TITLES[name]} (pid {pid})" for name, pid in self.stopped.items()]
        lines += [f"left the embedded {TITLES[name]} running for {', '.join(runs)}, which still uses it"
                  f" (the last run to end stops it)" for name, runs in self.shared.items()]
        if self.kept:
            titles = " and ".join(TITLES[name] for name in self.kept)
            lines.append(f"kept the embedded {titles} running: started before this run (e.g. `dialer services"
                         f" up`); stop with `{stop}`")
        return lines


class EmbeddedRun:
    """The lease of one run on the embedded servers `servers` of state folder `folder`."""

    def __init__(self, folder, what, servers=("postgres", "redis")):
        self.folder, self.what, self.servers = Path(folder), what, list(servers)
        self.lease = self.folder / "runs" / f"lease-{os.getpid()}-{next(_numbers)}.json"
        self.ending = None

    def begin(self):
        """Take the lease (before any server is started or found, so no other run's end stops it)."""
        if self.servers:
            me = psutil.Process()
            with state_lock(self.folder):
                self.lease.parent.mkdir(parents=True, exist_ok=True)
                self.lease.write_text(json.dumps({"pid": me.pid, "started_at": me.create_time(),
                                                  "what": self.what, "servers": self.servers}))
        return self

    def end(self):
        """Give the lease back and stop what is this run's to stop; returns the Ending (once)."""
        if self.ending is not None:
            return self.ending
        self.ending = Ending(self.folder)
        if not self.servers:
            return self.ending
        with state_lock(self.folder):
            self.lease.unlink(missing_ok=True)
            others = _live_leases(self.folder)
            for name in self.servers:
                if server_pid(self.folder, name) is None:
                    continue
                users = [f"pid {lease['pid']} ({lease['what']})" for lease in others if name in lease["servers"]]
                if not started_by_run(self.folder, name):
                    self.ending.kept.append(name)
                elif users:
                    self.ending.shared[name] = users
                else:
                    self.ending.stopped[name] = stop_server(self.folder, name)
        return self.ending

    def __enter__(self):
        return self.begin()

    def __exit__(self, *exc):
        self.end()


def _live_leases(folder):
    """The leases of runs whose process still runs (a run killed outright leaves a stale one behind)."""
    leases = []
    for path in sorted((folder / "runs").glob("lease-*.json")):
        try:
            lease = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if alive(lease["pid"], lease["started_at"]):
            leases.append(lease)
        else:
            path.unlink(missing_ok=True)
    return leases
