"""python -m bench.chaos [--contacts 6000] [--kills 50] [--interval 2-5] [--seed N] [--cdr/--no-cdr] [--quick]:
the whole fleet dialing IVR contacts while its processes are SIGKILLed, with an independent count of
every originate and of every call's true outcome.

  - a scratch database `dialer_bench_<pid>` on the (embedded) PostgreSQL server; a private Redis
    (its own redis-server, AOF on, in a temporary folder) so that it can be killed and restarted on the
    same port with the same AOF files; with REDIS_URL set, that Redis is used and never killed;
  - the switch simulator in this process (never killed), the VC simulator as its own process;
  - a TCP proxy in this process between the fleet and the switch's ESL port: the fleet's
    DIALER_SWITCHES points at it; it forwards bytes unchanged and records every `bgapi originate`
    (origination_uuid, dialer_contact_id, dialer_attempt, Job-UUID, which process sent it);
  - a witness on the switch simulator's event bus: every call's hangup cause and every originate
    refused without a channel, and whether any fleet listener was subscribed when it happened;
  - the fleet (web, two workers, beat, two listeners) as in tests/e2e/fleet.py; every 2-5 s (seeded)
    one of them is SIGKILLed (the process group), sometimes both listeners, once Redis itself, and
    restarted after a short pause, until --kills kills are done or every contact is final. A process
    that exits on its own is logged and restarted.

Then it waits (--deadline) until every contact is `ended` or `failed` and the outbox has no pending
row, stops everything it started, and prints figures: double dials (one attempt originated twice),
lost results (stored call_result differs from the switch's outcome of the contact's last call),
stored LOST, contacts not final, and the VC's view (call-result messages, duplicates, out-of-order
by the per-contact "sequence" field, last call-result contradicting the store).

Exit status 1 when double dials, lost results some path could have known (a listener was subscribed
when the switch reported the result, or CDRs were on), non-final contacts or out-of-order messages
(without a "sequence" field: last call-results contradicting the store) are non-zero; else 0.
"""

import argparse
import asyncio
import inspect
import logging
import os
import random
import signal
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import psutil
import requests

from bench.fleet_runner import Scratch, VcProcess, log, wait_until

FLEET = ("web", "worker", "worker2", "beat", "listener", "listener2")
KINDS = ("worker", "worker2", "beat", "listener", "listener2", "web")  # one kill each, drawn uniformly
BOTH_LISTENERS, REDIS = "listeners", "redis"
FINAL = ("ended", "failed")
CALL_RESULT_PATH = "/fs-message/call-result"
# The simulator's outcome by the number's last digit (sim/README.md); a cross-check of the witness.
BY_DIGIT = {**dict.fromkeys("012345", "NORMAL_CLEARING"), "6": "USER_BUSY", "7": "NO_ANSWER",
            "8": "CALL_REJECTED", "9": "UNALLOCATED_NUMBER"}
CDR_USER, CDR_PASSWORD = "chaos-cdr", "chaos-cdr-password"
CDR_RETRIES = 10
SHOW = 10  # examples listed per finding


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=6000)
    parser.add_argument("--kills", type=int, default=50, help="kills to do while contacts are dialed")
    parser.add_argument("--interval", default="2-5", help="seconds between kills, drawn from MIN-MAX")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cdr", action=argparse.BooleanOptionalAction, default=True,
                        help="the switch posts CDRs to the web's POST /cdr (when both sides have it)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 600 contacts, 8 kills, capacity 20")
    parser.add_argument("--capacity", type=int, default=None,
                        help="the switch's capacity in DIALER_SWITCHES (30, --quick 20: dialing outlasts the kills)")
    parser.add_argument("--cps", type=int, default=200, help="the switch's calls per second in DIALER_SWITCHES")
    parser.add_argument("--time-scale", type=float, default=0.045,
                        help="the switch's time scale (0.045: answered calls last 0.3-3 s, no answer 2.7 s)")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds to wait after the kills for every contact to be final")
    options = parser.parse_args(argv)
    if options.quick:
        options.contacts, options.kills = 600, 8
    if options.capacity is None:
        options.capacity = 20 if options.quick else 30
    low, _, high = options.interval.partition("-")
    options.interval = (float(low), float(high or low))
    return options


# the proxy: an independent count of originates ------------------------------------------------

@dataclass
class Originate:
    at: float  # seconds since the run's start
    connection: int
    uuid: str | None
    contact: str | None
    attempt: str | None
    job_uuid: str | None


@dataclass
class ProxyConnection:
    index: int
    peer_port: int
    opened: float
    pid: int | None = None
    pgid: int | None = None
    owner: str = "?"


def originate_variables(arg):
    """`{a=1,b='x, y'}sofia/...` -> {"a": "1", "b": "x, y"}; our own reading, not the simulator's."""
    if not arg.startswith("{"):
        return {}
    variables, name, value, quoted, in_value = {}, [], [], False, False
    for char in arg[1:]:
        if char == "'":
            quoted = not quoted
        elif not quoted and char in ",}":
            if name:
                variables["".join(name).strip()] = "".join(value).strip()
            name, value, in_value = [], [], False
            if char == "}":
                break
        elif char == "=" and not in_value:
            in_value = True
        else:
            (value if in_value else name).append(char)
    return variables


class OriginateProxy:
    """Forwards ESL bytes both ways unchanged; records every `(bg)api originate` sent to the switch."""

    def __init__(self, clock):
        self.clock = clock
        self.originates, self.connections = [], []
        self.upstream_port = None
        self._loop = self._server = None
        self._thread = threading.Thread(target=self._run, name="chaos-proxy", daemon=True)
        self._ready = threading.Event()

    def start(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    @property
    def port(self):
        return self._server.sockets[0].getsockname()[1]

    def _run(self):
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self):
        if self._loop is None:
            return

        async def close():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _client(self, reader, writer):
        connection = ProxyConnection(len(self.connections) + 1, writer.get_extra_info("peername")[1], self.clock())
        self.connections.append(connection)
        self._loop.run_in_executor(None, self._identify, connection)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer, connection)),
                 asyncio.ensure_future(self._pump(up_reader, writer, None))]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass  # stop(): the connection is closed below, and nothing is left to report
        finally:
            for pump in pumps:
                pump.cancel()
            for end in (writer, up_writer):
                end.close()

    async def _pump(self, reader, writer, connection):
        """Bytes from reader to writer; `connection`: this is the client's side, scan its commands."""
        pending = b""
        while True:
            data = await reader.read(65536)
            if not data:
                return
            if connection is not None:
                pending = self._scan(pending + data, connection)
            writer.write(data)
            await writer.drain()

    def _scan(self, data, connection):
        """Record the originates among complete commands (each ends with a blank line); keep the rest."""
        *frames, rest = data.replace(b"\r\n", b"\n").split(b"\n\n")
        for frame in frames:
            lines = frame.decode("utf-8", errors="replace").split("\n")
            words = lines[0].split(" ", 2)
            if len(words) == 3 and words[0] in ("bgapi", "api") and words[1] == "originate":
                variables = originate_variables(words[2].strip())
                job = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.startswith("Job-UUID:")),
                           None)
                self.originates.append(Originate(self.clock(), connection.index, variables.get("origination_uuid"),
                                                 variables.get("dialer_contact_id"), variables.get("dialer_attempt"),
                                                 job))
        return rest[-65536:]

    def _identify(self, connection):
        """Which fleet process opened this connection (its process group), looked up off the loop."""
        try:
            for found in psutil.net_connections("tcp"):
                if found.laddr and found.laddr.port == connection.peer_port and found.raddr \
                        and found.raddr.port == self.port and found.pid:
                    connection.pid, connection.pgid = found.pid, os.getpgid(found.pid)
                    return
        except (OSError, psutil.Error):
            pass


# the witness: what the switch really did ------------------------------------------------------

@dataclass(frozen=True)
class SwitchResult:
    at: float
    kind: str  # "hangup" (a channel's CHANNEL_HANGUP_COMPLETE) or "job" (-ERR of a BACKGROUND_JOB)
    contact: str | None
    attempt: str | None
    uuid: str | None
    cause: str
    subscribers: int  # fleet listeners subscribed to the switch's events when it happened


class Witness:
    """Sits among the switch simulator's event subscribers (on its loop) and keeps every result."""

    def __init__(self, clock):
        self.clock = clock
        self.results = []
        self._subscribers = ()

    def attach(self, simulator):
        def add():
            self._subscribers = simulator.switch.listeners
            self._subscribers.add(self)

        simulator._call(add)

    def deliver(self, event):
        if event.name == "CHANNEL_HANGUP_COMPLETE":
            call = getattr(event, "call", None)
            contact = event.header("variable_dialer_contact_id")
            if contact is None:
                return
            cause = getattr(call, "cause", None) or event.header("Hangup-Cause")
            self.results.append(SwitchResult(self.clock(), "hangup", contact, event.header("variable_dialer_attempt"),
                                             event.header("Unique-ID"), cause, len(self._subscribers) - 1))
        elif event.name == "BACKGROUND_JOB":
            words = (event.body() or "").split()
            if words[:1] != ["-ERR"] or len(words) < 2:
                return  # +OK: the call's hangup carries its result
            variables = originate_variables(event.header("Job-Command-Arg") or "")
            if "dialer_contact_id" not in variables:
                return
            self.results.append(SwitchResult(self.clock(), "job", variables["dialer_contact_id"],
                                             variables.get("dialer_attempt"), variables.get("origination_uuid"),
                                             words[1], len(self._subscribers) - 1))


# contacts -------------------------------------------------------------------------------------

def make_contacts(count, rng):
    """`count` flat IVR contacts over four campaigns; the number's last digit (0-9, seeded) is the outcome."""
    now = datetime.now(UTC)
    window = {"start_time": (now - timedelta(hours=1)).isoformat(), "end_time": (now + timedelta(days=1)).isoformat()}
    return [{"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
             "customer_number": f"+1555{index:06d}{rng.randrange(10)}", "campaign_type": "IVR", "gateway_id": "gw1",
             "campaign_id": f"chaos-{index % 4}", "priority": 1 + index % 10, **window}
            for index in range(count)]


def post_contacts(fleet, contacts, chunk=1000):
    for start in range(0, len(contacts), chunk):
        fleet.post_contacts(contacts[start:start + chunk])


# the chaos ------------------------------------------------------------------------------------

def kill_plan(count, rng, with_redis):
    """The kinds to kill, in order: drawn uniformly, 10% both listeners (at least once when there are
    four kills or more), Redis exactly once in the middle half."""
    plan = [BOTH_LISTENERS if rng.random() < 0.1 else rng.choice(KINDS) for _ in range(count)]
    if count >= 4 and BOTH_LISTENERS not in plan:
        plan[rng.randrange(count)] = BOTH_LISTENERS
    if with_redis and count >= 2:
        plan[rng.randint(count // 4, max(count // 4, 3 * count // 4 - 1))] = REDIS
    return plan


class Chaos:
    """Kills and restarts fleet processes (and Redis) and restarts whatever exits on its own."""

    def __init__(self, fleet, private_redis, rng):
        self.fleet, self.redis, self.rng = fleet, private_redis, rng
        self.kills = Counter()
        self.timeline = []  # (wall time, kind) of every kill
        self.exits = []  # (name, returncode, last log line)
        self.failed_restarts = Counter()
        self.owners = {}  # process group id -> fleet name

    def spawn(self, *names):
        for name in names:
            try:
                self.fleet.start(name)
            except (AssertionError, TimeoutError, OSError) as error:
                self.failed_restarts[name] += 1
                log(f"restart of {name} failed: {error}")
                self.fleet.stop(name, signal.SIGKILL)  # supervise() tries again
                continue
            self.owners[self.fleet.processes[name].pid] = name

    def owner_of(self, pgid):
        return self.owners.get(pgid, f"pgid {pgid}")

    def kill(self, kind):
        names = {BOTH_LISTENERS: ("listener", "listener2"), REDIS: ()}.get(kind, (kind,))
        for name in names:  # at once: both listeners die together, not one after the other has exited
            process = self.fleet.processes.get(name)
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for name in names:
            self.fleet.stop(name, signal.SIGKILL)  # reaps it
        if kind == REDIS:
            self.redis.kill()
        self.kills[kind] += 1
        self.timeline.append((time.time(), kind))
        pause = self.rng.uniform(0.2, 1.5)
        log(f"kill {sum(self.kills.values())}: {kind}; restart in {pause:.1f} s")
        time.sleep(pause)
        if kind == REDIS:
            self.redis.start()
        self.spawn(*names)

    def supervise(self):
        """Restart any fleet process that is gone without being killed by us."""
        for name in FLEET:
            process = self.fleet.processes.get(name)
            if process is not None and process.poll() is None:
                continue
            if process is not None:
                last = (self.fleet.log(name).strip().splitlines() or [""])[-1][:160]
                self.exits.append((name, process.returncode, last))
                log(f"{name} exited on its own (rc {process.returncode}): {last}")
                self.fleet.processes.pop(name, None)
            self.spawn(name)

    def leftovers(self):
        """Process groups we started that still have a living member (after the fleet is stopped)."""
        alive = []
        for pgid, name in self.owners.items():
            try:
                os.killpg(pgid, 0)
                alive.append((name, pgid))
            except (ProcessLookupError, PermissionError):
                pass
        return alive


# the run --------------------------------------------------------------------------------------

def status_counts(scratch):
    return dict(scratch.rows("SELECT status, count(*) FROM contacts GROUP BY status"))


def outbox_pending(scratch):
    return scratch.scalar("SELECT count(*) FROM outbox WHERE status = 'pending'")


def progress(scratch, proxy, chaos, total, started, label):
    counts = status_counts(scratch)
    final = sum(counts.get(status, 0) for status in FINAL)
    others = "".join(f"{status} {n:,}; " for status, n in sorted(counts.items()) if status not in FINAL)
    log(f"{label}: {final:,}/{total:,} final ({', '.join(f'{s} {counts.get(s, 0):,}' for s in FINAL)}); {others}"
        f"originates {len(proxy.originates):,}; kills {sum(chaos.kills.values())}; outbox pending "
        f"{outbox_pending(scratch):,}; {time.monotonic() - started:.0f} s; load {os.getloadavg()[0]:.1f}")
    return final


def run_chaos(options, scratch, proxy, chaos, plan, started):
    """Kill on schedule until the plan is done or every contact is final; returns when the kills stopped."""
    low, high = options.interval
    next_kill, next_report = time.monotonic() + chaos.rng.uniform(low, high), 0.0
    while plan:
        chaos.supervise()
        now = time.monotonic()
        if now >= next_report:
            next_report = now + 5
            if progress(scratch, proxy, chaos, options.contacts, started, "chaos") >= options.contacts:
                log("every contact is final: no more kills")
                return
        if now >= next_kill:
            chaos.kill(plan.pop(0))
            next_kill = time.monotonic() + chaos.rng.uniform(low, high)
        time.sleep(0.2)


def settle(options, scratch, proxy, chaos, started, cdrs_done):
    """Wait until every contact is final, the outbox drained and every CDR posted or given up, or the
    deadline; True when settled."""
    deadline, next_report = time.monotonic() + options.deadline, 0.0
    while time.monotonic() < deadline:
        chaos.supervise()
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + 5
            final = progress(scratch, proxy, chaos, options.contacts, started, "settling")
            if final >= options.contacts and outbox_pending(scratch) == 0 and cdrs_done():
                return True
        time.sleep(0.5)
    log(f"deadline: {options.deadline:.0f} s after the kills, not settled")
    return False


def cdr_support(simulator_class):
    """(switch keyword arguments, why not) for CDRs: the simulator needs `cdr_url`. Retries cover a
    web restart (mod_json_cdr's `retries`, 1 s apart), as a production configuration would."""
    parameters = inspect.signature(simulator_class).parameters
    if "cdr_url" not in parameters:
        return None, "unavailable: the switch simulator has no cdr_url option yet"
    options = {"cdr_credentials": f"{CDR_USER}:{CDR_PASSWORD}"}
    if "cdr_retries" in parameters:
        options["cdr_retries"] = CDR_RETRIES
    return options, None


def cdr_counts(switch):
    """The simulator's CDR counters (queued, posted, failed, ...), or None."""
    counts = getattr(switch, "cdr_counts", None)
    return counts() if counts else None


def cdrs_done(switch):
    """Every CDR queued so far was posted or given up (True when there are no CDRs)."""
    counts = cdr_counts(switch)
    if not counts:
        return True
    return counts.get("pending", 0) == 0 and sum(counts.get(k, 0) for k in ("posted", "failed", "dropped")) \
        >= counts.get("queued", 0)


def web_has_cdr(fleet):
    try:
        return requests.post(fleet.url + "/cdr", data=b"{}", timeout=10).status_code not in (404, 405)
    except requests.RequestException:
        return False


def main(argv=None):
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    rng = random.Random(options.seed)
    base = [time.monotonic()]  # moved to the first post: times in the report count from there

    def clock():
        return time.monotonic() - base[0]

    print(f"chaos: {options.contacts:,} IVR contacts, {options.kills} kills every {options.interval[0]:g}-"
          f"{options.interval[1]:g} s, capacity {options.capacity}, cps {options.cps}, time scale "
          f"{options.time_scale:g}, seed {options.seed}", flush=True)
    collected = None
    with ExitStack() as stack:
        collected = _run(options, stack, rng, clock, base)
    report = Report(options, **collected)
    report.show()
    return report.exit_status()


def _run(options, stack, rng, clock, base):
    from sim.switch import SwitchSimulator
    from tests.conftest import CONNECTOR_TOKEN
    from tests.e2e.fleet import Fleet, OwnRedis

    logs = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    _log_to_file(logging.getLogger("sim"), logs / "switch.log")  # e.g. the CDR poster's retries
    private_redis = None
    if not os.environ.get("REDIS_URL"):
        (logs / "redis").mkdir()
        private_redis = OwnRedis(logs / "redis").start()
        stack.callback(_quietly, "stop Redis", private_redis.stop)
        os.environ["REDIS_URL"] = private_redis.url
    scratch = Scratch()
    stack.callback(_quietly, "drop the scratch database", scratch.close)
    chaos = Chaos(None, private_redis, rng)
    proxy = OriginateProxy(clock).start()
    stack.callback(_quietly, "stop the proxy", proxy.stop)
    env = {"DIALER_RECONCILE_SECONDS": "10", "DIALER_RECONCILE_GRACE_SECONDS": "15",
           "DIALER_ORIGINATE_TIMEOUT_SECONDS": "60", "DIALER_CDR_USER": CDR_USER, "DIALER_CDR_PASSWORD": CDR_PASSWORD}
    fleet = Fleet(scratch.url, scratch.redis_url, SimpleNamespace(port=proxy.port, password="ClueCon"), None, logs,
                  capacity=options.capacity, cps=options.cps, tick=1.0, extra_env=env)
    chaos.fleet = fleet
    cdr_options, cdr_note = cdr_support(SwitchSimulator) if options.cdr else (None, "off (--no-cdr)")
    switch_options = {"cdr_url": fleet.url + "/cdr", **cdr_options} if cdr_options else {}
    switch = SwitchSimulator(port=0, time_scale=options.time_scale, max_sessions=1_000_000, sps=1_000_000,
                             seed=options.seed, **switch_options).start()
    stack.callback(_quietly, "stop the switch simulator", switch.stop)
    proxy.upstream_port = switch.port
    witness = Witness(clock)
    witness.attach(switch)
    vc = VcProcess(fleet.url, CONNECTOR_TOKEN, logs, seed=options.seed)
    stack.callback(_quietly, "stop the VC simulator", vc.stop)
    fleet.env["DIALER_VC_URL"] = vc.url
    stack.callback(_quietly, "stop the fleet", fleet.stop_all)
    chaos.spawn(*FLEET)
    wait_until(lambda: switch.stats()["subscribers"] >= 3, timeout=60, message="both listeners to subscribe")
    if cdr_options and not web_has_cdr(fleet):
        cdr_options, cdr_note = None, "unavailable: the web process has no POST /cdr yet"
    log(f"fleet up (logs in {logs}); switch on {switch.port}, proxy on {proxy.port}, VC on {vc.url}, "
        f"Redis {scratch.redis_url}; CDRs {'on' if cdr_options else cdr_note}")
    contacts = make_contacts(options.contacts, rng)
    plan = kill_plan(options.kills, rng, private_redis is not None)
    if private_redis is None:
        log("REDIS_URL is set: Redis is not ours and is never killed")
    posted_at, posted_mono = time.time(), time.monotonic()
    base[0] = posted_mono
    post_contacts(fleet, contacts)
    log(f"posted {len(contacts):,} contacts in {time.time() - posted_at:.1f} s")
    run_chaos(options, scratch, proxy, chaos, plan, posted_mono)
    settled = settle(options, scratch, proxy, chaos, posted_mono,
                     (lambda: cdrs_done(switch)) if cdr_options else (lambda: True))
    collected = collect(scratch, switch, vc, proxy, witness, chaos, contacts, posted_at)
    collected.update(settled=settled, cdr=bool(cdr_options), cdr_note=cdr_note, logs=logs,
                     cdr_counts=cdr_counts(switch) if cdr_options else None)
    fleet.stop_all()
    collected["leftovers"] = chaos.leftovers()
    return collected


def _log_to_file(logger, path):
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def _quietly(what, action):
    try:
        action()
    except Exception as error:  # one failed step must not keep the others from stopping
        log(f"could not {what}: {error!r}")


def collect(scratch, switch, vc, proxy, witness, chaos, contacts, posted_at):
    for connection in proxy.connections:
        connection.owner = chaos.owner_of(connection.pgid) if connection.pgid else "?"
    rows = scratch.rows("SELECT id, status, call_result, attempts, status_changed_at FROM contacts")
    attempts = defaultdict(list)
    for attempt in scratch.rows("SELECT contact_id, attempt, created_at, dial_time, job_status, hangup_cause, "
                                "result_source FROM call_attempts ORDER BY id"):
        attempts[attempt.contact_id].append(attempt)
    last_final = max((r.status_changed_at for r in rows if r.status in FINAL), default=None)
    return dict(
        contacts={c["id"]: c for c in contacts},
        stored={r.id: r for r in rows},
        attempt_rows=attempts,
        outbox=dict(scratch.rows("SELECT status, count(*) FROM outbox GROUP BY status")),
        makespan=(last_final.timestamp() - posted_at) if last_final else None,
        messages=vc.messages(),
        originates=list(proxy.originates),
        connections={c.index: c for c in proxy.connections},
        switch_originates=len(switch.originates),
        live_calls=len(switch.live_calls()),
        switch_stats=switch.stats(),
        results=list(witness.results),
        kills=Counter(chaos.kills),
        exits=list(chaos.exits),
        failed_restarts=Counter(chaos.failed_restarts),
        timeline=list(chaos.timeline),
        posted_at=posted_at,
        harness_cpu=sum(psutil.Process().cpu_times()[:2]),
        wall=time.time() - posted_at,
        load=os.getloadavg()[0],
    )


# the report -----------------------------------------------------------------------------------

@dataclass
class Report:
    options: argparse.Namespace
    contacts: dict
    stored: dict
    attempt_rows: dict
    outbox: dict
    makespan: float | None
    messages: list
    originates: list
    connections: dict
    switch_originates: int
    live_calls: int
    switch_stats: dict
    results: list
    kills: Counter
    exits: list
    failed_restarts: Counter
    timeline: list
    posted_at: float
    settled: bool
    cdr: bool
    cdr_note: str | None
    cdr_counts: dict | None
    harness_cpu: float
    wall: float
    load: float
    logs: Path
    leftovers: list
    failures: dict = field(default_factory=dict)

    def show(self):
        print("\nfigures")
        self.line("contacts", f"{len(self.contacts):,} ({self._by_status()})")
        kills = sum(self.kills.values())
        self.line("kills", f"{kills}: " + ", ".join(f"{k} {n}" for k, n in self.kills.most_common()))
        self._wrapped("at", [f"+{at - self.posted_at:.0f} s {kind}" for at, kind in self.timeline])
        exits = Counter(name for name, _, _ in self.exits)
        self.line("exits on their own", ", ".join(f"{k} {n}" for k, n in exits.most_common()) or "none")
        for name, code, last in self.exits[:SHOW]:
            self.detail(f"{name} rc {code}: {last}")
        if self.failed_restarts:
            self.line("restarts that failed", ", ".join(f"{k} {n}" for k, n in self.failed_restarts.items()))
        self.line("makespan", f"{self.makespan:.1f} s (first contact posted to last final)" if self.makespan
                  else "no contact final")
        self.line("originates (proxy / switch)", f"{len(self.originates):,} / {self.switch_originates:,} "
                  f"over {len(self.connections)} ESL connections")
        self.double_dials()
        self.lost_results()
        self.not_final()
        self.vc_messages()
        self.line("outbox", ", ".join(f"{k} {n:,}" for k, n in sorted(self.outbox.items())) or "empty")
        self.line("calls live at the switch", f"{self.live_calls} (at the end)")
        counts = ", ".join(f"{k} {v:,}" for k, v in (self.cdr_counts or {}).items() if isinstance(v, int)
                           and not isinstance(v, bool))
        self.line("CDRs", f"on: {counts}" if self.cdr else self.cdr_note)
        self.line("CPU", f"{self.harness_cpu:.0f} s in this process (switch simulator, proxy, witness) over "
                  f"{self.wall:.0f} s from the first post ({os.cpu_count()} cores); load average {self.load:.1f}")
        self.line("left running", ", ".join(f"{n} (pgid {p})" for n, p in self.leftovers) or "nothing")
        self.line("fleet logs", str(self.logs))
        failing = {k: v for k, v in self.failures.items() if v}
        print(f"\nexit status {1 if failing else 0}" + (": " + ", ".join(f"{k} {v}" for k, v in failing.items())
                                                       if failing else ""), flush=True)

    def exit_status(self):
        return 1 if any(self.failures.values()) else 0

    @staticmethod
    def line(name, value):
        print(f"  {name:<34}{value}")

    @staticmethod
    def detail(text):
        print(f"      {text}")

    def _wrapped(self, head, items, width=104):
        for index, line in enumerate(textwrap.wrap(", ".join(items), width - len(head) - 1)):
            self.detail(f"{head if index == 0 else ' ' * len(head)} {line}")

    def _attempts(self, contact_id):
        """The contact's attempt rows, briefly: created and dialed (s from the first post), job, cause, source."""
        def since(stamp):
            return f"+{stamp.timestamp() - self.posted_at:.1f}" if stamp else "-"

        rows = self.attempt_rows.get(contact_id, [])
        seen = sum(1 for o in self.originates if o.contact == contact_id)
        return (f"originates seen {seen}; attempt rows: " + "; ".join(
            f"#{a.attempt} created {since(a.created_at)} dialed {since(a.dial_time)} job {a.job_status or '-'} "
            f"cause {a.hangup_cause or '-'} from {a.result_source or '-'}" for a in rows)) if rows else \
            f"originates seen {seen}; no attempt row"

    def _by_status(self):
        counts = Counter(row.status for row in self.stored.values())
        return ", ".join(f"{status} {n:,}" for status, n in counts.most_common())

    def _who(self, originate):
        connection = self.connections.get(originate.connection)
        return f"{connection.owner} pid {connection.pid}" if connection else "?"

    def double_dials(self):
        by_attempt, by_uuid = defaultdict(list), defaultdict(list)
        for originate in self.originates:
            by_attempt[(originate.contact, originate.attempt)].append(originate)
            by_uuid[originate.uuid].append(originate)
        doubled = {key: found for key, found in by_attempt.items() if len(found) > 1}
        reused = {key: found for key, found in by_uuid.items() if len(found) > 1}
        contacts = {c for c, _ in doubled} | {o.contact for found in reused.values() for o in found}
        extra = sum(len(found) - 1 for found in doubled.values())
        self.failures["double dials"] = len(contacts)
        self.line("double dials", f"{len(contacts)} contacts ({len(doubled)} attempts originated more than once, "
                  f"{extra} extra originates; {len(reused)} origination_uuids sent more than once)")
        for (contact, attempt), found in list(doubled.items())[:SHOW]:
            stored = self.stored.get(contact)
            times = ", ".join(f"+{o.at:.1f} s by {self._who(o)}" for o in found)
            self.detail(f"{contact} attempt {attempt}: {len(found)} originates ({times}); stored "
                        f"{stored.status if stored else '?'} {stored.call_result if stored else ''}; "
                        f"{self._attempts(contact)}")

    def _truth(self):
        """contact -> the switch's last result for it (a hangup cause, or the -ERR of a refused originate)."""
        truth = {}
        for result in self.results:
            truth[result.contact] = result
        return truth

    def lost_results(self):
        truth = self._truth()
        lost, unknowable, no_result, digit_differs = [], [], [], 0
        for contact_id, row in self.stored.items():
            if row.status not in FINAL:
                continue
            found = truth.get(contact_id)
            if found is None:
                no_result.append((contact_id, row))
                continue
            if found.cause != BY_DIGIT[self.contacts[contact_id]["customer_number"][-1]]:
                digit_differs += 1
            if row.call_result != found.cause:
                knowable = self.cdr or found.subscribers > 0
                (lost if knowable else unknowable).append((contact_id, row, found))
        self.failures["lost results"] = len(lost)
        self.line("lost results", f"{len(lost)} (stored call_result differs from the switch's outcome of the "
                  f"last call, while a listener was subscribed{' or CDRs on' if self.cdr else ''}); "
                  f"{len(unknowable)} more with no listener subscribed")
        for contact_id, row, found in (lost + unknowable)[:SHOW]:
            self.detail(f"{contact_id}: stored {row.status} {row.call_result}; switch {found.kind} {found.cause} at "
                        f"+{found.at:.1f} s with {found.subscribers} listeners subscribed; "
                        f"{self._attempts(contact_id)}")
        stored_lost = [(cid, row) for cid, row in self.stored.items() if row.call_result == "LOST"]
        with_result = sum(1 for cid, _ in stored_lost if cid in truth)
        self.line("stored LOST", f"{len(stored_lost)} ({with_result} where the switch reported a result: lost "
                  f"results above; {len(stored_lost) - with_result} with no result at the switch)")
        if no_result:
            counts = Counter(row.call_result for _, row in no_result)
            self.line("final, no result at the switch", ", ".join(f"{k} {n}" for k, n in counts.most_common()))
            for contact_id, row in no_result[:SHOW]:
                self.detail(f"{contact_id}: stored {row.status} {row.call_result}; {self._attempts(contact_id)}")
        self.line("switch outcomes unlike the digit", f"{digit_differs} (refusals, calls cut; not an error)")

    def not_final(self):
        waiting = [(cid, row) for cid, row in self.stored.items() if row.status not in FINAL]
        missing = len(self.contacts) - len(self.stored)
        self.failures["not final"] = len(waiting) + missing
        counts = Counter(row.status for _, row in waiting)
        parts = ", ".join(f"{status} {n}" for status, n in counts.most_common())
        never = f"; {missing} never stored" if missing else ""
        self.line("not final at the deadline", f"{len(waiting) + missing}" + (f" ({parts})" if parts else "") + never)
        for contact_id, row in waiting[:SHOW]:
            self.detail(f"{contact_id}: {row.status} since {row.status_changed_at:%H:%M:%S}; "
                        f"{self._attempts(contact_id)}")

    def vc_messages(self):
        per_contact = defaultdict(list)
        for message in self.messages:
            body = message.get("body")
            if isinstance(body, dict) and body.get("callUid"):
                per_contact[body["callUid"]].append(message)
        results = {cid: [m for m in found if m["path"] == CALL_RESULT_PATH] for cid, found in per_contact.items()}
        with_result = {cid for cid, found in results.items() if found}
        ended = {cid for cid, row in self.stored.items() if row.status == "ended"}
        total = sum(len(found) for found in results.values())
        self.line("VC call-result messages", f"{total:,} for {len(with_result):,} contacts; ended contacts without "
                  f"one: {len(ended - with_result)}; contacts by messages received: " + ", ".join(
                      f"{k}: {n:,}" for k, n in sorted(Counter(len(f) for f in results.values() if f).items())))
        ids = Counter((m["body"].get("messageId") or m["body"].get("id")) for f in per_contact.values() for m in f)
        repeated = {key: n for key, n in ids.items() if key and n > 1}
        self.line("VC duplicates", f"{len(repeated)} message ids delivered more than once "
                  f"({sum(repeated.values()) - len(repeated)} redeliveries)")
        sequenced = any("sequence" in m["body"] for f in per_contact.values() for m in f)
        contradicting = []
        for contact_id, found in results.items():
            if not found or contact_id not in self.stored:
                continue
            last = max(found, key=lambda m: (m["body"].get("sequence") or 0, m["seq"])) if sequenced else found[-1]
            if last["body"].get("callResult") != self.stored[contact_id].call_result:
                contradicting.append((contact_id, last["body"].get("callResult")))
        if sequenced:
            late = sum(_out_of_order(found) for found in per_contact.values())
            self.failures["out-of-order messages"] = late
            self.line("VC out of order", f"{late} messages received after a higher sequence of the same contact")
        else:
            self.failures["last call-results contradicting the store (no sequence field)"] = len(contradicting)
            self.line("VC out of order", "no sequence field")
        self.line("VC last call-result vs store", f"{len(contradicting)} contacts whose last call-result "
                  f"contradicts the stored call_result")
        for contact_id, said in contradicting[:SHOW]:
            self.detail(f"{contact_id}: VC last got {said}, stored {self.stored[contact_id].call_result}")


def _out_of_order(messages):
    """Messages received after a higher sequence of the same contact. A redelivery (a message id
    already received) is not news to a VC that drops it by its Idempotency-Key: counted as a
    duplicate above, not here."""
    highest, late, seen = 0, 0, set()
    for message in messages:  # in the order the VC received them
        sequence = message["body"].get("sequence")
        message_id = message["body"].get("messageId") or message["body"].get("id")
        if not isinstance(sequence, int) or message_id in seen:
            continue
        seen.add(message_id)
        late += sequence < highest
        highest = max(highest, sequence)
    return late


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted: everything started was stopped")
        sys.exit(130)
