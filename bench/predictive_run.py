"""One run of bench.predictive: the fleet (tests/e2e/fleet.py) against the switch simulator in its
predictive mode (in this process) and the VC simulator (its own process), every timing that models
the world scaled by the same factor; seeded contacts of one dialing mode; a warm-up, then a measured
window; what the simulators and the dialer saw, collected raw for bench.predictive_figures.

Everything started here is stopped here; the scratch database's tables are emptied before each run.
"""

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import requests
from sqlalchemy import text

from bench.fleet_runner import VcProcess, _OwnProcessOnly, _show_errors, _stop_worker_gently, log, wait_until

CAMPAIGN = "bench-pred"
TABLES = ("outbox", "call_attempts", "contacts", "campaigns", "dialable_backlog", "call_events",
          "campaign_settings", "dnc_numbers", "calling_windows", "failed_tasks", "predictive_calls",
          "campaign_pacing")
FIRST_NUMBER = 15550000000  # contact i calls FIRST_NUMBER + i: the same numbers, so the same fates, per mode


@dataclass(frozen=True)
class Workload:
    """The seeded world both modes meet; times in simulated seconds unless named real."""

    agents: int
    contacts: int
    scale: float  # real seconds per simulated second
    seed: int
    warm_up_minutes: float
    window_minutes: float
    person_share: float = 0.35
    machine_share: float = 0.10  # the switch simulator's predictive mix; the rest: busy, then no answer
    busy_share: float = 0.05
    ring_min: float = 4.0
    ring_max: float = 20.0
    talk_mean: float = 60.0
    wrap_up: float = 5.0
    patience: float = 30.0  # a held person waits this long: far beyond 2 s, so only the dialer abandons
    no_answer_seconds: int = 30  # the originate timeout: how long an unanswered call rings
    vc_delay: float = 0.3  # the VC's answer to startprocess naming an agent
    connect_seconds: float = 2.0  # the regulators' deadline, answer -> agent
    pacing_seconds: float = 2.0
    tick_seconds: float = 1.0
    max_dial_ratio: float = 3.0

    def real(self, simulated):
        return simulated * self.scale

    def fleet_env(self):
        """The dialer's timings that model the world, scaled. The originate timeout is sent to the switch
        as a channel variable, which the simulator reads in simulated seconds (it scales it itself)."""
        return {
            "DIALER_ABANDON_SECONDS": f"{max(0.1, self.real(self.connect_seconds)):g}",
            "DIALER_PACING_SECONDS": f"{max(0.2, self.real(self.pacing_seconds)):g}",
            # an attempt's outcome is known once the originate timeout has passed (simulated seconds)
            "DIALER_PACING_SETTLE_SECONDS": f"{max(0.5, self.real(self.no_answer_seconds + 5)):g}",
            "DIALER_TICK_SECONDS": f"{max(0.1, self.real(self.tick_seconds)):g}",
            "DIALER_ORIGINATE_TIMEOUT_SECONDS": str(self.no_answer_seconds),
            "DIALER_RECONCILE_SECONDS": "10", "DIALER_RECONCILE_GRACE_SECONDS": "15",
        }

    def capacity(self, mode):
        """Switch slots: PROGRESSIVE can use one per agent; PREDICTIVE up to max_dial_ratio per ready
        agent dialing plus the agents talking, and the abandon messages playing."""
        if mode == "PROGRESSIVE":
            return self.agents
        return int(self.agents * (self.max_dial_ratio + 1)) + 10

    def vc_hold_real(self):
        """The VC frees an agent whose call is never reported after this long: beyond any talk time."""
        return max(60.0, self.real(30 * self.talk_mean))


@dataclass
class RunData:
    """What one run saw, raw. Monotonic times (t0, t1, records) are this host's one clock; w0/w1 are
    the same instants on the wall clock (the dialer's)."""

    mode: str
    workload: Workload
    t0: float = 0.0
    t1: float = 0.0
    w0: datetime | None = None
    w1: datetime | None = None
    read_at: float = 0.0  # monotonic, when the records were read (a call still on counts up to here)
    wall_minus_monotonic: float = 0.0
    report_start: list = field(default_factory=list)
    report_end: list = field(default_factory=list)
    records: list = field(default_factory=list)
    ledger: list = field(default_factory=list)  # every person-answered predictive call (LEDGER_SQL)
    attempts: int = 0
    pacing: list = field(default_factory=list)  # [Sample]
    status: dict = field(default_factory=dict)
    switch_stats: dict = field(default_factory=dict)
    exhausted: bool = False  # every contact was dialed before the window ended
    cpu: tuple = (0.0, {})


@contextmanager
def wall_clock_stamps(enabled=True):
    """The switch simulator stamps its events with modelled times (call start + simulated seconds), so
    at a time scale below 1 an answer is stamped in the future (a 12 s ring at scale 0.1: 10.8 s ahead)
    and the dialer's connect deadline, counted from that stamp, lands as late. For this bench the stamps
    are put on the wall clock (call start + real seconds), as a real switch's are; this process only."""
    from sim.switch.channel import Call

    original = Call.at
    if enabled:
        Call.at = lambda call, simulated: call.created_us + int(simulated * call._scale * 1_000_000)
    try:
        yield
    finally:
        Call.at = original


@contextmanager
def predictive_fleet(scratch, workload, mode, keep_logs=False, wall_stamps=True):
    """Switch simulator (predictive mix, seeded, time-scaled), VC simulator, the whole fleet."""
    from sim.switch import SwitchSimulator
    from tests.conftest import CONNECTOR_TOKEN
    from tests.e2e.fleet import Fleet

    logs = Path(tempfile.mkdtemp(prefix="bench-predictive-"))
    w = workload
    switch = vc = fleet = None
    with wall_clock_stamps(wall_stamps):
        try:
            switch = SwitchSimulator(
                port=0, time_scale=w.scale, max_sessions=1_000_000, sps=1_000_000, seed=w.seed,
                outcome_mode="predictive", person_share=w.person_share, machine_share=w.machine_share,
                busy_share=w.busy_share, ring_min=w.ring_min, ring_max=w.ring_max, talk_mean=w.talk_mean,
                patience=w.patience).start()
            fleet = Fleet(scratch.url, scratch.redis_url, switch, SimpleNamespace(url=None), logs,
                          capacity=w.capacity(mode), cps=max(50, 4 * w.agents), tick=max(0.1, w.real(w.tick_seconds)),
                          extra_env=w.fleet_env())
            vc = VcProcess(fleet.url, CONNECTOR_TOKEN, logs, agents=w.agents, delay=w.real(w.vc_delay),
                           wrap_up=w.real(w.wrap_up), hold=w.vc_hold_real(), seed=w.seed)
            fleet.env["DIALER_VC_URL"] = vc.url
            fleet.start()
            wait_until(lambda: switch.stats()["subscribers"] >= 2, timeout=30, message="the listeners to subscribe")
            pids = scratch.server_pids()
            groups = {name: [proc.pid] for name, proc in fleet.processes.items()}
            groups.update({"postgres": pids["postgres"], "redis": pids["redis"], "vc-sim": [vc.process.pid],
                           "bench+switch-sim": [os.getpid()]})
            yield SimpleNamespace(fleet=fleet, switch=switch, vc=vc, cpu=_OwnProcessOnly(groups), logs=logs)
        finally:
            if fleet is not None:
                _stop_worker_gently(fleet)
                fleet.stop_all()
            if vc is not None:
                vc.stop()
            if switch is not None:
                switch.stop()
            if keep_logs:
                log(f"fleet logs kept in {logs}")
            else:
                _show_errors(logs)
                shutil.rmtree(logs, ignore_errors=True)


CONTACTS_SQL = """
    INSERT INTO contacts (id, customer_number, campaign_type, gateway_id, status, received_time, campaign_id,
                          start_time, end_time, priority, dial_after, status_changed_at, attempts,
                          dialing_mode, routing_mode, queue_name, resource_id, service_identifier)
    SELECT gen_random_uuid()::text, (:first + i)::text, 'AGENT', 'gw1', 'pending',
           now() - interval '1 hour' + i * interval '1 millisecond', :campaign,
           now() - interval '1 day', now() + interval '1 day', 5, now() - interval '1 day', now(), 0,
           :mode, 'QUEUE', 'Sales Queue', 'q-1', '1218'
    FROM generate_series(0, :n - 1) AS i
"""


def insert_contacts(scratch, workload, mode):
    with scratch.engine.begin() as connection:
        connection.execute(text("INSERT INTO campaigns (id, state) VALUES (:campaign, 'running')"),
                           {"campaign": CAMPAIGN})
        connection.execute(text(CONTACTS_SQL), {"first": FIRST_NUMBER, "campaign": CAMPAIGN, "mode": mode,
                                                "n": workload.contacts})


def empty_tables(scratch):
    with scratch.engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(TABLES) + " RESTART IDENTITY CASCADE"))
    scratch.flush_redis()


LEDGER_SQL = """
    SELECT uuid, state, outcome, extract(epoch FROM answered_at), extract(epoch FROM held_at),
           extract(epoch FROM deadline_at), extract(epoch FROM connected_at), extract(epoch FROM abandoned_at)
    FROM predictive_calls WHERE answered_by = 'person'
"""
PACING_SQL = "SELECT mode, calls_target, dial_ratio, reason, agents_ready FROM campaign_pacing WHERE campaign_id = :c"
# What the dialer had out at a pacing sample: calls dialed ahead ringing, customers held for an agent,
# contacts waiting for a reserved agent (PROGRESSIVE), and whether any contact is left to dial.
FLIGHT_SQL = """
    SELECT (SELECT count(*) FROM predictive_calls WHERE state = 'dialed' AND ended_at IS NULL),
           (SELECT count(*) FROM predictive_calls WHERE state = 'held'),
           (SELECT count(*) FROM contacts WHERE status = 'agent_pending'),
           EXISTS (SELECT 1 FROM contacts WHERE status = 'pending')
"""


def measure(scratch, workload, mode, keep_logs=False, wall_stamps=True):
    """One run: contacts in, warm-up, the window (pacing sampled), then what everyone saw."""
    w = workload
    data = RunData(mode, w, wall_minus_monotonic=time.time() - time.monotonic())
    empty_tables(scratch)
    with predictive_fleet(scratch, w, mode, keep_logs, wall_stamps) as run:
        insert_contacts(scratch, w, mode)
        log(f"{mode}, {w.agents} agents: {w.contacts:,} contacts in; warm-up {w.warm_up_minutes:g} sim-min "
            f"({w.real(w.warm_up_minutes * 60):.0f} s), then {w.window_minutes:g} sim-min measured "
            f"({w.real(w.window_minutes * 60):.0f} s)")
        time.sleep(w.real(w.warm_up_minutes * 60))
        data.report_start = agent_report(run.vc)
        data.t0, data.w0 = time.monotonic(), datetime.now(UTC)
        meter = run.cpu.start()
        end = data.t0 + w.real(w.window_minutes * 60)
        sample_every = max(0.25, w.real(w.pacing_seconds))
        while time.monotonic() < end:
            ringing, held, reserving, left = scratch.rows(FLIGHT_SQL)[0]
            if mode == "PREDICTIVE":
                vc = agent_counts(run.vc)
                data.pacing.extend(Sample((time.monotonic() - data.t0) / w.scale, *row, ringing, held, reserving,
                                          vc.get("ready"), vc.get("wrapUp"))
                                   for row in scratch.rows(PACING_SQL, c=CAMPAIGN))
            if not left:
                data.exhausted = True
                break
            time.sleep(min(sample_every, max(0.0, end - time.monotonic())))
        data.report_end = agent_report(run.vc)
        data.t1, data.w1 = time.monotonic(), datetime.now(UTC)
        data.cpu = meter.stop()
        # Customers answered just before the window closed: let their deadline pass before reading.
        time.sleep(w.real(3 * w.connect_seconds) + 1.0)
        data.read_at = time.monotonic()
        data.records = run.switch.call_records()
        data.switch_stats = run.switch.stats()
        data.ledger = [tuple(r) for r in scratch.rows(LEDGER_SQL)]
        data.attempts = scratch.scalar("SELECT count(*) FROM call_attempts WHERE created_at >= :w0 AND "
                                       "created_at < :w1", w0=data.w0, w1=data.w1)
        response = run.fleet.get(f"/campaigns/{CAMPAIGN}")
        data.status = response.json() if response.status_code == 200 else {"error": response.text[:200]}
    return data


class Sample(NamedTuple):
    """The pacing as stored, and what was out, at one moment of the window (simulated seconds into it)."""

    at: float
    mode: str
    calls_target: int
    dial_ratio: float
    reason: str
    agents_ready: int | None  # as the pacing last saw them
    ringing: int  # dialed ahead, not answered
    held: int  # answered, waiting for an agent
    reserving: int  # contacts waiting for a reserved agent (PROGRESSIVE)
    vc_ready: int | None  # the VC's figures now
    vc_wrap_up: int | None


def agent_counts(vc):
    try:
        return requests.get(vc.url + "/fs-message/agents", timeout=5).json()
    except (requests.RequestException, ValueError):
        return {}


def agent_report(vc):
    return requests.get(vc.url + "/agents/report", timeout=30).json()
