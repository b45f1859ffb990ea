"""Scaffolding for bench.engine: a scratch database and Redis db, fast row inserts, the whole fleet
(tests/e2e/fleet.py) against the in-process switch simulator and the VC simulator as its own process,
and CPU accounting per process so a figure comes with where the time went.

Everything listens on 127.0.0.1; everything started here is stopped here.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import psutil
import redis
import requests
from sqlalchemy import text

from dialer.adapters.db import make_engine, migrate
from dialer.adapters.embedded import apply_embedded_defaults, drop_database, ensure_database, state_dir, with_database

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("outbox", "call_attempts", "contacts", "campaigns", "call_events")
REDIS_DB = 2  # never the fleet's own 0 or the tests' 1
PROFILE_RATE = 100  # py-spy samples per second


def log(message):
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(predicate, timeout, interval=0.05, message="a condition"):
    """The predicate's first truthy value, or TimeoutError naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {message} (last: {value!r})")
        time.sleep(interval)


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def iso_seconds(stamp):
    """An ISO timestamp with offset (the VC simulator's journal) as epoch seconds."""
    return datetime.fromisoformat(stamp).timestamp()


# scratch database and Redis ---------------------------------------------------------------------

class Scratch:
    """`dialer_bench_<pid>` on the (embedded) PostgreSQL server, migrated; Redis logical db 2, flushed."""

    def __init__(self):
        env = {k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL") if os.environ.get(k)}
        self.embedded = apply_embedded_defaults(env, database="postgres")
        self.server_url = with_database(env["DATABASE_URL"], "postgres")
        self.name = f"dialer_bench_{os.getpid()}"
        drop_database(self.server_url, self.name)
        self.url = ensure_database(self.server_url, self.name)
        migrate(self.url)
        from redis.connection import parse_url

        base = env["REDIS_URL"].split("?")[0]
        if parse_url(base).get("db") is not None:
            base = base.rsplit("/", 1)[0]
        self.redis_url = f"{base.rstrip('/')}/{REDIS_DB}"
        self.flush_redis()
        self.engine = make_engine(self.url, pool_size=2, max_overflow=2)

    def flush_redis(self):
        client = redis.Redis.from_url(self.redis_url)
        client.flushdb()
        client.close()

    def truncate(self):
        with self.engine.begin() as connection:
            connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))

    def scalar(self, sql, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def rows(self, sql, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).all()

    def close(self):
        self.engine.dispose()
        drop_database(self.server_url, self.name)
        self.flush_redis()

    def server_pids(self):
        """{'postgres': [pids], 'redis': [pids]} of the embedded servers (empty when external)."""
        found = {"postgres": [], "redis": []}
        folder = state_dir()
        postmaster = folder / "postgres" / "postmaster.pid"
        if "postgres" in self.embedded or postmaster.exists():
            try:
                parent = psutil.Process(int(postmaster.read_text().split()[0]))
                found["postgres"] = [parent.pid] + [c.pid for c in parent.children(recursive=True)]
            except (OSError, ValueError, psutil.Error):
                pass
        pid_file = folder / "redis" / "redis.pid"
        if pid_file.exists():
            try:
                found["redis"] = [int(pid_file.read_text().strip())]
            except ValueError:
                pass
        return found


# rows -----------------------------------------------------------------------------------------

CAMPAIGNS_SQL = """
    INSERT INTO campaigns (id, state)
    SELECT :prefix || lpad(k::text, 4, '0'), 'running' FROM generate_series(0, :campaigns - 1) AS k
    ON CONFLICT (id) DO NOTHING
"""

# One statement, every NOT NULL column of contacts filled; ids are UUIDs (the origination_uuid).
# Contact i goes to campaign floor(campaigns * sqrt(i / n)), so campaign sizes grow linearly
# (campaign k holds about 2k+1 shares): the fair share sees small and large campaigns.
CONTACTS_SQL = """
    INSERT INTO contacts (id, customer_number, campaign_type, gateway_id, status, received_time, campaign_id,
                          start_time, end_time, priority, dial_after, status_changed_at, attempts,
                          dialing_mode, routing_mode, queue_name, resource_id, service_identifier)
    SELECT gen_random_uuid()::text,
           CASE WHEN :number = '' THEN (15550000000 + i)::text ELSE :number END,
           :campaign_type, 'gw1', 'pending', now() - interval '1 hour' + i * interval '1 microsecond',
           :prefix || lpad(LEAST(floor(:campaigns * sqrt(i::float8 / :n)), :campaigns - 1)::int::text, 4, '0'),
           now() - interval '1 day', now() + interval '1 day', 1 + (i % 10)::smallint,
           now() - interval '1 day', now(), 0,
           d.dialing_mode, d.routing_mode, d.queue_name, d.resource_id, d.service_identifier
    FROM generate_series(0, :n - 1) AS i,
         (SELECT CASE WHEN :campaign_type = 'AGENT' THEN 'PROGRESSIVE' END AS dialing_mode,
                 CASE WHEN :campaign_type = 'AGENT' THEN 'QUEUE' END AS routing_mode,
                 CASE WHEN :campaign_type = 'AGENT' THEN 'Sales Queue' END AS queue_name,
                 CASE WHEN :campaign_type = 'AGENT' THEN 'q-1' END AS resource_id,
                 CASE WHEN :campaign_type = 'AGENT' THEN '1218' END AS service_identifier) AS d
"""


def insert_contacts(engine, n, campaigns=1, prefix="bench-", number="", campaign_type="IVR"):
    """`n` pending, dialable contacts over `campaigns` running campaigns; returns seconds taken.
    `number`: every contact's number ('' gives each its own)."""
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(CAMPAIGNS_SQL), {"prefix": prefix, "campaigns": campaigns})
        connection.execute(text(CONTACTS_SQL), {"prefix": prefix, "campaigns": campaigns, "n": n,
                                                "number": number, "campaign_type": campaign_type})
    return time.perf_counter() - started


def status_counts(scratch, prefix):
    return dict(scratch.rows("SELECT status, count(*) FROM contacts WHERE campaign_id LIKE :p GROUP BY status",
                             p=prefix + "%"))


# CPU accounting -------------------------------------------------------------------------------

class CpuMeter:
    """CPU seconds used per named group of processes (children included) between start() and stop()."""

    def __init__(self, groups):
        self.groups = groups  # name -> list of root pids
        self._before = {}

    @staticmethod
    def _cpu(pids):
        """Each process counted once (a group may list a parent and its children), plus what its exited
        and reaped children used (children_user/system: PostgreSQL backends that come and go)."""
        total, seen = 0.0, set()
        for pid in pids:
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    if proc.pid in seen:
                        continue
                    seen.add(proc.pid)
                    try:
                        times = proc.cpu_times()
                        total += times.user + times.system + times.children_user + times.children_system
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
        return total

    def snapshot(self):
        return {name: self._cpu(pids) for name, pids in self.groups.items()}

    def start(self):
        self._before = self.snapshot()
        self._started = time.monotonic()
        return self

    def stop(self):
        after = self.snapshot()
        wall = time.monotonic() - self._started
        used = {name: after[name] - self._before.get(name, 0.0) for name in after}
        return wall, used


def cpu_line(wall, used):
    parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in sorted(used.items(), key=lambda kv: -kv[1])
                      if seconds >= 0.05)
    return (f"CPU seconds over {wall:.1f} s wall ({os.cpu_count()} cores = {wall * os.cpu_count():.0f} "
            f"available; load average {os.getloadavg()[0]:.1f}): {parts}")


# the fleet ------------------------------------------------------------------------------------

def _free_port():
    from tests.e2e.fleet import free_port

    return free_port()


class VcProcess:
    """`python -m sim.connector` as its own process (so its HTTP work has its own GIL)."""

    def __init__(self, dialer_url, token, logs, agents=5, delay=0.05, wrap_up=0.05, hold=60.0, seed=3):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "sim.connector", "--host", "127.0.0.1", "--port", str(self.port),
                   "--dialer-url", dialer_url, "--dialer-token", token, "--agents", str(agents),
                   "--delay", str(delay), "--wrap-up", str(wrap_up), "--hold", str(hold), "--seed", str(seed)]
        self._log = open(Path(logs) / "vc.log", "ab")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_until(self._answers, timeout=20, message="the VC simulator to answer")

    def _answers(self):
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def callbacks(self):
        return requests.get(self.url + "/callbacks", timeout=60).json()

    def messages(self, path=None):
        return requests.get(self.url + "/messages", params={"path": path} if path else None, timeout=60).json()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()


@contextmanager
def running_fleet(scratch, capacity, cps, tick=1.0, time_scale=1.0, agents=5, vc_delay=0.05, vc_wrap_up=0.05,
                  keep_logs=False, extra_env=None, listeners=2):
    """The fleet (web, worker, two listeners, beat) on the scratch database and Redis db, a switch
    simulator in this process (no session limits) and the VC simulator as a process. Yields a
    namespace: fleet, switch, vc, cpu (a CpuMeter over every process involved), logs."""
    from sim.switch import SwitchSimulator
    from tests.conftest import CONNECTOR_TOKEN
    from tests.e2e.fleet import Fleet

    logs = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    scratch.truncate()
    scratch.flush_redis()
    switch = SwitchSimulator(port=0, time_scale=time_scale, max_sessions=1_000_000, sps=1_000_000, seed=11).start()
    vc = fleet = None
    try:
        # The fleet picks its web port when built; the VC needs it, and the fleet needs the VC's URL.
        vc_port_holder = SimpleNamespace(url=None)
        env = {  # production cadence for the sweeps (tests/e2e uses 1 s / 3 s to test them quickly)
            "DIALER_RECONCILE_SECONDS": "10", "DIALER_RECONCILE_GRACE_SECONDS": "15",
            "DIALER_ORIGINATE_TIMEOUT_SECONDS": "60",
        }
        env.update(extra_env or {})
        fleet = Fleet(scratch.url, scratch.redis_url, switch, vc_port_holder, logs, capacity=capacity, cps=cps,
                      tick=tick, extra_env=env)
        vc = VcProcess(fleet.url, CONNECTOR_TOKEN, logs, agents=agents, delay=vc_delay, wrap_up=vc_wrap_up)
        fleet.env["DIALER_VC_URL"] = vc.url
        fleet.start()
        if listeners == 1:  # one listener: no high availability, half the event parsing
            fleet.stop("listener2")
        wait_until(lambda: switch.stats()["subscribers"] >= listeners, timeout=30, message="the listeners to subscribe")
        pids = scratch.server_pids()
        groups = {name: [proc.pid] for name, proc in fleet.processes.items()}
        groups.update({"postgres": pids["postgres"], "redis": pids["redis"], "vc-sim": [vc.process.pid],
                       "bench+switch-sim": [os.getpid()]})
        # The bench's own children are the fleet; count only this process for the switch simulator.
        cpu = _OwnProcessOnly(groups)
        yield SimpleNamespace(fleet=fleet, switch=switch, vc=vc, cpu=cpu, logs=logs)
    finally:
        if fleet is not None:
            _stop_worker_gently(fleet)
            fleet.stop_all()
        if vc is not None:
            vc.stop()
        switch.stop()
        if keep_logs:
            log(f"fleet logs kept in {logs}")
        else:
            _show_errors(logs)
            shutil.rmtree(logs, ignore_errors=True)


class _OwnProcessOnly(CpuMeter):
    def snapshot(self):
        used = {}
        for name, pids in self.groups.items():
            if name == "bench+switch-sim":
                times = psutil.Process(pids[0]).cpu_times()
                used[name] = times.user + times.system
            else:
                used[name] = self._cpu(pids)
        return used


def _stop_worker_gently(fleet):
    """SIGTERM to the worker's main process only: a warm shutdown lets running tasks finish, where
    the process-group SIGTERM of Fleet.stop kills the pool children mid-task (WorkerLostError)."""
    process = fleet.processes.get("worker")
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass  # Fleet.stop_all kills the group


def _show_errors(logs):
    """Tracebacks in the fleet's logs are worth seeing before the logs go."""
    for path in sorted(Path(logs).glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        bad = [line for line in lines if "Traceback" in line or " ERROR " in line or "CRITICAL" in line]
        if bad:
            log(f"{path.name}: {len(bad)} error lines, e.g. {bad[0][:200]}")


def warm_up(run, scratch, count=40):
    """A few short calls through every stage so each worker process has its connections open."""
    number = "15559990000"
    run.switch.set_outcome(number, "answered", 0.0, 0.05)
    insert_contacts(scratch.engine, count, prefix="warmup-", number=number)
    wait_until(lambda: status_counts(scratch, "warmup-").get("ended", 0) == count, timeout=60,
               message="the warm-up calls to end")
    scratch.truncate()
    run.switch.reset()  # forgets originates and outcomes; the clients stay connected


def originates_of(switch, prefix):
    """The originate records of our contacts of campaigns `prefix*`, in order."""
    return [o for o in switch.originates if o.variables.get("dialer_campaign_id", "").startswith(prefix)]


def dumps(value):
    return json.dumps(value, default=str)


# profiling ------------------------------------------------------------------------------------

def find_py_spy(explicit=None):
    """py-spy if it can be found (an explicit path, PATH, or a `pip install --target` folder)."""
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Profiler:
    """`py-spy record --format raw` on some fleet processes (children included) for the length of a
    measurement; summary() says where the time of the task code went. mode "cpu": samples of running
    threads only; "wall": idle included, so waits on PostgreSQL, Redis and the switch show up too."""

    def __init__(self, py_spy, logs, label, pids, mode="cpu"):
        self.mode = mode
        self.outputs, self.processes = [], []
        for name, pid in pids.items():
            output = Path(logs) / f"profile-{label}-{name}.txt"
            command = [py_spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                       *(["--idle"] if mode == "wall" else []), "--format", "raw",
                       "--rate", str(PROFILE_RATE), "--output", str(output)]
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.outputs.append((name, output))
            self.processes.append(process)
        time.sleep(0.5)  # attached before the clock starts

    def stop(self):
        for process in self.processes:
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def summary(self, roots=("dialer/", "workers/", "api/"), top=14):
        lines = []
        for name, output in self.outputs:
            if not output.exists():
                lines.append(f"{name}: no profile written")
                continue
            inclusive, leaves, total = {}, {}, 0
            for raw in output.read_text(errors="replace").splitlines():
                stack, _, count = raw.rpartition(" ")
                if not count.isdigit():
                    continue
                frames = stack.split(";")
                if not any(root in frame for frame in frames for root in roots):
                    continue  # idle in the pool / the event loop: not task time
                total += int(count)
                leaf = _frame_key(frames[-1])
                leaves[leaf] = leaves.get(leaf, 0) + int(count)
                seen = set()
                for frame in frames:
                    key = _frame_key(frame)
                    if key not in seen:
                        seen.add(key)
                        inclusive[key] = inclusive.get(key, 0) + int(count)
            kind = "wall time, waits included" if self.mode == "wall" else "CPU, running threads only"
            lines.append(f"{name}: {total / PROFILE_RATE:.1f} s of samples inside dialer/workers/api code "
                         f"({kind}); inclusive share by function:")
            ours = [(k, v) for k, v in inclusive.items() if any(f"({root}" in k for root in roots)]
            for key, count in sorted(ours, key=lambda kv: -kv[1])[:top]:
                lines.append(f"    {100 * count / max(total, 1):5.1f}%  {key}")
            lines.append(f"  {name}: where those samples were at the top of the stack (self):")
            for key, count in sorted(leaves.items(), key=lambda kv: -kv[1])[:8]:
                lines.append(f"    {100 * count / max(total, 1):5.1f}%  {key}")
        return "\n".join(lines)


def _frame_key(frame):
    # py-spy raw frames look like "function (path/module.py:line)"
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{function} ({path})"
