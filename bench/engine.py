"""python -m bench.engine [--only NAME ...] [--quick] [--repeat N]: the dialing engine against the
switch simulator on this machine.

  claim      allocation tick with 1,000,000 pending contacts in 1,000 campaigns, 500 free slots:
             the whole allocator.allocate() and each of its statements, every tick rolled back; then
             the same with campaign policy (bench/policy.py): half the campaigns with calling hours
             that leave half the contacts outside their window, 100,000 DNC entries, per-number caps
  originate  originates/s from pending contact to bgapi at the switch (3,000 contacts, capacity 3,000)
  hangups    hangup results recorded/s: hupall of ~3,000 live calls until every contact is ended
             (--policy: then mixed answered/busy/unanswered calls without and with a retry policy)
  refill     hangup -> next originate latency, capacity 50, one call killed every 20 ms (then every 100 ms)
  makespan   10,000 IVR contacts, capacity 200, 2 s calls: makespan / (contacts x 2 s / 200)
  agents     50 VC agents, 2,000 AGENT contacts: VC callback -> originate wait, and agent time waiting
  steady     calls ending continuously at 100/s and 300/s (1-3 s calls): CPU ms per call of each kind of
             fleet process, refill latency, makespan; and a makespan run at 200 x 1 s calls (bench/steady.py)

Runs in a scratch database `dialer_bench_<pid>` on the (embedded) PostgreSQL server and Redis logical
db 2; the fleet (web, worker, two listeners, beat) runs as subprocesses exactly as tests/e2e starts it,
the switch simulator in this process, the VC simulator as its own process. Every run is bounded in
time and count, and everything it started is stopped and dropped. Figures are printed, never asserted.

Each fleet measurement also prints the CPU seconds every process used during it (2 cores here, so the
sum shows how close the machine was to saturation). Diagnostics:
  --profile [cpu|wall]  py-spy (pip install py-spy, or --py-spy PATH) on the worker and listener (web for
                        agents) during each measurement; prints where the task code spent its samples
  --what-if             claim part: also times proposed changes on the same rows (not the code in dialer/)
  --explain             claim part: EXPLAIN ANALYZE of the dialable-count and claim statements
  --claim-contacts N    claim part: pending contacts (1,000,000; try 50,000 to check the part works)
  --policy              hangups part: then the same number of calls (half answered, a quarter busy, a
                        quarter unanswered) ended at once, without and then with a BUSY/NO_ANSWER retry policy
  --originate-contacts N
                        originate and hangups parts: contacts, all alive at once (3,000)
  --refill-contacts N   refill part: pending contacts behind the 50 slots (5,000; try 1,000,000)
"""

import argparse
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import event, text

from bench import policy
from bench.fleet_runner import (
    Profiler,
    Scratch,
    cpu_line,
    find_py_spy,
    insert_contacts,
    iso_seconds,
    log,
    originates_of,
    percentile,
    running_fleet,
    status_counts,
    wait_until,
    warm_up,
)

PARTS = ("claim", "originate", "hangups", "refill", "makespan", "agents", "steady")


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    met: bool | None  # None: no target, shown for context
    note: str = ""


def ms(seconds):
    return seconds * 1000.0


def start_profile(options, run, label, names=("worker", "listener")):
    """py-spy on some fleet processes for one measurement window (--profile)."""
    if not options.profile:
        return None
    return Profiler(options.py_spy, run.logs, label, {name: run.fleet.processes[name].pid for name in names},
                    mode=options.profile)


def end_profile(profiler):
    if profiler is not None:
        profiler.stop()
        print(profiler.summary())


# 1. claim ---------------------------------------------------------------------------------------

CLAIM_PREFIX = "claim-"


def bench_claim(scratch, options):
    """The claim part twice on the same contacts: with no policy (the tables of issue 10 empty), then
    with calling hours, DNC lists and per-number caps (bench/policy.py)."""
    from dialer.adapters.db import make_session_factory
    from dialer.config import SwitchConfig

    n, campaigns, capacity = options.claim_contacts, 1000, 500
    ticks = options.claim_ticks
    scratch.truncate()
    policy.clear(scratch.engine)
    log(f"claim: inserting {n:,} pending contacts in {campaigns:,} campaigns, each with an E.164 number and a "
        f"zone key (one INSERT ... SELECT)")
    seconds = policy.insert_claim_contacts(scratch.engine, n, campaigns, CLAIM_PREFIX)
    vacuumed = policy.vacuum_analyze(scratch.engine, "contacts", "campaigns")
    log(f"claim: inserted in {seconds:.1f} s, VACUUM ANALYZE {vacuumed:.1f} s; {ticks} ticks of each kind, each "
        f"rolled back")
    switches = (SwitchConfig("sim", "127.0.0.1", 8021, "ClueCon", capacity, 100_000.0),)
    sessions = make_session_factory(scratch.engine)
    clock = StatementClock(scratch.engine)
    try:
        log("claim: no policy (no settings, no DNC entries, no calling windows)")
        plain = time_ticks(sessions, switches, ticks, clock)
        print_ticks(plain, ticks)
        if options.explain:
            explain_claim(sessions, clock)
        figures = what_if_counts(scratch, sessions, ticks) if options.what_if else []
        figures += claim_figures("claim", plain, "< 50 ms")
        setup = policy.add_claim_policy(scratch.engine, sessions, n, campaigns, CLAIM_PREFIX, ticks)
        log("claim+policy: the same ticks with the policy")
        guarded = time_ticks(sessions, switches, ticks, clock, check=policy.check_claims)
        print_ticks(guarded, ticks)
        log(f"claim+policy: the last tick claimed {guarded.check['claimed']} contacts, "
            f"{guarded.check['windowed']} of campaigns with calling hours; of them {guarded.check['closed']} in a "
            f"closed window, {guarded.check['listed']} on a DNC list, {guarded.check['over_cap']} over their cap "
            f"(all three should be 0)")
        if options.explain:
            explain_claim(sessions, clock)
        none_p95 = ms(percentile(setup.none_stale, 95))
        figures += claim_figures("claim+policy", guarded, "<= 50 ms") + [
            Figure("claim+policy: refresh_windows, all stale", ms(setup.first), "ms", "", None,
                   f"{setup.pairs:,} pairs worked out (the first tick)"),
            Figure("claim+policy: refresh_windows, none p95", none_p95, "ms", "", None,
                   f"median {ms(statistics.median(setup.none_stale)):.1f} ms"),
        ]
    finally:
        clock.close()
        policy.clear(scratch.engine)
    return figures


def claim_figures(label, measured, target):
    claim = measured.statements.get("claim", [0.0])
    counts = measured.statements.get("dialable counts", [0.0])
    claim_p95, tick_p95, refill_p95 = (ms(percentile(values, 95)) for values in (claim, measured.whole,
                                                                                 measured.refill))
    return [
        Figure(f"{label}: CLAIM statement p95", claim_p95, "ms", target, claim_p95 <= 50,
               f"median {ms(statistics.median(claim)):.1f} ms, max {ms(max(claim)):.1f} ms"),
        Figure(f"{label}: refill tick p95 (backlog)", refill_p95, "ms", target, refill_p95 <= 50,
               f"median {ms(statistics.median(measured.refill)):.1f} ms"),
        Figure(f"{label}: counting (beat) tick p95", tick_p95, "ms", target, tick_p95 <= 50,
               f"median {ms(statistics.median(measured.whole)):.1f} ms, max {ms(max(measured.whole)):.1f} ms; "
               f"dialable counts p95 {ms(percentile(counts, 95)):.0f} ms"),
    ]


class StatementClock:
    """Seconds each statement run on `engine` took (SQLAlchemy's cursor events), by name, while
    started: the parts of real allocate() ticks rather than a replay of them. Keeps the SQL and
    parameters of the last claim statement for EXPLAIN."""

    def __init__(self, engine):
        from dialer.flows import allocator, windows

        self.engine, self.running, self.spent, self.last_claim = engine, False, {}, None
        names = {"DIALABLE_SQL": "dialable counts", "OCCUPIED_SQL": "occupied", "RECENT_CLAIMS_SQL": "recent claims",
                 "CLAIM_SQL": "claim", "BACKLOG_SQL": "backlog read", "CLEAR_BACKLOG_SQL": "backlog save",
                 "SAVE_BACKLOG_SQL": "backlog save", "TAKE_FROM_BACKLOG_SQL": "backlog take"}
        self.names = {id(getattr(allocator, key)): name for key, name in names.items() if hasattr(allocator, key)}
        self.names.update({id(getattr(windows, key)): name for key, name in
                           (("STALE_SQL", "windows: stale pairs"), ("SAVE_SQL", "windows: save"))
                           if hasattr(windows, key)})
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def start(self):
        self.spent, self.running = {}, True

    def stop(self):
        self.running = False
        return self.spent

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._began = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if not self.running:
            return
        took = time.perf_counter() - self._began
        name = self._name(getattr(context, "invoked_statement", None), statement)
        self.spent[name] = self.spent.get(name, 0.0) + took
        if name == "claim":
            self.last_claim = (statement, parameters)

    def _name(self, clause, statement):
        if id(clause) in self.names:
            return self.names[id(clause)]
        if "pg_advisory_xact_lock" in statement:
            return "advisory locks"
        if "campaign_settings" in statement:
            return "policies"
        return " ".join(statement.split())[:30]


def time_ticks(sessions, switches, ticks, clock, check=None):
    """`ticks` counting ticks (the beat's: windows, dialable counts, claim) and `ticks` refill ticks
    (the backlog the counting tick leaves), two warm-up ticks each, every tick rolled back. Returns
    the whole ticks' times, each statement's per counting tick, and `check(session, claimed ids)` of
    the last counting tick."""
    from dialer.flows import allocator

    whole, refill, statements, claimed, checked = [], [], {}, set(), None
    for index in range(ticks + 2):
        session = sessions()
        try:
            clock.start()
            began = time.perf_counter()
            tick = allocator.allocate(session, switches)
            took = time.perf_counter() - began
            spent = clock.stop()
            if check is not None and index == ticks + 1:
                checked = check(session, [c.contact_id for c in tick.claims])
        finally:
            session.rollback()
            session.close()
        claimed.add(len(tick.claims))
        if index >= 2:  # two warm-up ticks
            whole.append(took)
            for name, seconds in spent.items():
                statements.setdefault(name, []).append(seconds)
            statements.setdefault("rest: Python, round trips", []).append(took - sum(spent.values()))
    log(f"claim: each counting tick claimed {sorted(claimed)} contacts; the last gave {len(tick.allotment)} "
        f"campaigns a share")
    # The tick that refills slots right after hangups: it reads the backlog the last counting tick
    # saved instead of counting every contact.
    with sessions() as session:
        allocator._save_backlog(session, dict(session.execute(allocator.DIALABLE_SQL).all()))
        session.commit()
    for index in range(ticks + 2):
        session = sessions()
        try:
            began = time.perf_counter()
            allocator.allocate(session, switches, count_dialable=False)
            took = time.perf_counter() - began
        finally:
            session.rollback()
            session.close()
        if index >= 2:
            refill.append(took)
    return SimpleNamespace(whole=whole, refill=refill, statements=statements, check=checked)


def print_ticks(measured, ticks):
    print(f"    {'':30}{'median':>10}{'p95':>10}{'max':>10}   (ms, {ticks} ticks)")
    rows = [("whole allocate() tick", measured.whole), ("refill tick (backlog)", measured.refill)]
    rows += [(f"  {name}", values) for name, values in measured.statements.items()]
    for name, values in rows:
        print(f"    {name:30}{ms(statistics.median(values)):>10.1f}{ms(percentile(values, 95)):>10.1f}"
              f"{ms(max(values)):>10.1f}")


def what_if_counts(scratch, sessions, ticks):
    """A proposed change, timed on the same rows (nothing in dialer/ changes): the dialable counts
    served by an index-only scan of a covering partial index."""
    from dialer.flows import allocator

    def timed():
        took = []
        for index in range(ticks + 2):
            session = sessions()
            try:
                began = time.perf_counter()
                session.execute(allocator.DIALABLE_SQL).all()
                if index >= 2:
                    took.append(time.perf_counter() - began)
            finally:
                session.rollback()
                session.close()
        return took

    before = timed()
    started = time.perf_counter()
    with scratch.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("CREATE INDEX bench_dialable_cover ON contacts (campaign_id) "
                                "INCLUDE (dial_after, end_time, zone_key) WHERE status = 'pending'"))
        connection.execute(text("VACUUM ANALYZE contacts"))
    built = time.perf_counter() - started
    try:
        counts = timed()
    finally:
        with scratch.engine.begin() as connection:
            connection.execute(text("DROP INDEX bench_dialable_cover"))
    log(f"claim what-if: dialable counts alone median {ms(statistics.median(before)):.1f} ms; with a covering index "
        f"(campaign_id) INCLUDE (dial_after, end_time, zone_key) WHERE pending (built in {built:.1f} s): median "
        f"{ms(statistics.median(counts)):.1f} ms, p95 {ms(percentile(counts, 95)):.1f} ms")
    return [Figure("claim what-if: counts, covering idx p95", ms(percentile(counts, 95)), "ms", "", None,
                   "proposal, not the code")]


def explain_claim(sessions, clock):
    """EXPLAIN ANALYZE of the dialable counts and of the last claim statement as it was sent."""
    from dialer.flows import allocator

    session = sessions()
    try:
        plan = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + allocator.DIALABLE_SQL.text)).scalars().all()
        print("    EXPLAIN ANALYZE dialable counts:")
        print("\n".join("      " + line for line in plan))
        if clock.last_claim is None:
            return
        statement, parameters = clock.last_claim
        cursor = session.connection().connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        print("    EXPLAIN ANALYZE claim (the last tick's):")
        print("\n".join("      " + row[0] for row in cursor.fetchall()))
        cursor.close()
    finally:
        session.rollback()
        session.close()


# 2 + 3. originate and hangups -------------------------------------------------------------------

LONG_NUMBER = "15550000001"


def bench_originate_and_hangups(scratch, options, want_originate=True, want_hangups=True):
    n = options.originate_contacts
    figures = []
    log(f"originate: fleet with capacity {max(3000, n):,}, cps 2,000; {n:,} contacts answered after 1 s, talking 1 h")
    with running_fleet(scratch, capacity=max(3000, n), cps=2000, keep_logs=options.keep_logs,
                       listeners=options.listeners) as run:
        warm_up(run, scratch)
        run.switch.set_outcome(LONG_NUMBER, "answered", 1.0, 3600.0)
        profiler = start_profile(options, run, "originate")
        meter = run.cpu.start()
        inserted_at = time.time()
        insert_contacts(scratch.engine, n, prefix="orig-", number=LONG_NUMBER)
        wait_until(lambda: len(originates_of(run.switch, "orig-")) >= n, timeout=options.timeout,
                   interval=0.25, message=f"{n} originates")
        wall, used = meter.stop()
        end_profile(profiler)
        times = sorted(o.received_at for o in originates_of(run.switch, "orig-"))
        rate = (len(times) - 10) / (times[-1] - times[9])
        log(f"originate: {len(times):,} originates; first {times[0] - inserted_at:.2f} s after the insert, "
            f"last {times[-1] - inserted_at:.2f} s; 10th..last: {rate:,.0f}/s")
        log("originate: " + cpu_line(wall, used))
        if want_originate:
            figures.append(Figure("originate: originates/s", rate, "/s", ">= 300/s", rate >= 300,
                                  f"{n:,} contacts, all sent in {times[-1] - inserted_at:.1f} s"))
        if not want_hangups:
            return figures
        # Every call answered (1 s) and every originate's acceptance recorded (the listener does not
        # publish +OK job results: they change nothing), so only hangups are in flight.
        wait_until(lambda: run.switch.stats()["live_calls"] >= n and all(
            c.state == "ACTIVE" for c in run.switch.live_calls()), timeout=60, interval=0.5,
            message="every call to be answered")
        wait_until(lambda: scratch.scalar("SELECT count(*) FROM call_attempts WHERE dial_time IS NOT NULL") >= n,
                   timeout=120, interval=0.25, message="every originate to be recorded as accepted")
        dialed = status_counts(scratch, "orig-").get("dialed", 0)
        profiler = start_profile(options, run, "hangups")
        meter = run.cpu.start()
        started = time.time()
        run.switch.hupall("NORMAL_CLEARING")
        hupall_done = time.time()

        def ended():
            return scratch.scalar("SELECT count(*) FROM contacts WHERE campaign_id LIKE 'orig-%' "
                                  "AND status = 'ended'") >= dialed

        wait_until(ended, timeout=options.timeout, interval=0.05, message="every contact to be ended")
        finished = time.time()
        wall, used = meter.stop()
        end_profile(profiler)
        last_db = scratch.scalar("SELECT extract(epoch FROM max(status_changed_at)) FROM contacts "
                                 "WHERE campaign_id LIKE 'orig-%'")
        seconds = finished - started
        per_s = dialed / seconds
        log(f"hangups: {dialed:,} calls hung up (the simulator took {hupall_done - started:.2f} s to emit); "
            f"all ended after {seconds:.2f} s (last status_changed_at {float(last_db) - started:.2f} s)")
        log("hangups: " + cpu_line(wall, used))
        figures.append(Figure("hangups: results recorded/s", per_s, "/s", ">= 2,000/s", per_s >= 2000,
                              f"{dialed:,} hangups in {seconds:.2f} s"))
        if options.policy:
            figures += policy_hangups(run, scratch, options)
    return figures


def policy_hangups(run, scratch, options):
    """--policy: the same mixed traffic without, then with a retry policy (issue 10: within 10 %)."""
    plain, plain_note = policy.mixed_hangups(run, scratch, options.originate_contacts, options.timeout, False)
    retried, retried_note = policy.mixed_hangups(run, scratch, options.originate_contacts, options.timeout, True)
    ratio = retried / plain
    return [
        Figure("hangups mixed: recorded/s, no policy", plain, "/s", "", None, plain_note),
        Figure("hangups mixed: recorded/s, retry policy", retried, "/s", "", None, retried_note),
        Figure("hangups mixed: retry policy / none", ratio, "x", ">= 0.90", ratio >= 0.9,
               "results recorded per second with the policy over without"),
    ]


# 4. refill --------------------------------------------------------------------------------------

def bench_refill(scratch, options):
    capacity, pending = 50, options.refill_contacts
    log(f"refill: capacity {capacity}, {pending:,} pending contacts whose calls last an hour; calls end only "
        f"when the bench kills one (a random live one) at a fixed interval")
    figures = []
    with running_fleet(scratch, capacity=capacity, cps=1000, keep_logs=options.keep_logs) as run:
        warm_up(run, scratch)
        run.switch.set_outcome(LONG_NUMBER, "answered", 0.0, 3600.0)
        insert_contacts(scratch.engine, pending, prefix="refill-", number=LONG_NUMBER)
        wait_until(lambda: len(originates_of(run.switch, "refill-")) >= capacity, timeout=60,
                   message="the first fill")
        for interval, kills_wanted, primary in options.refill_runs:
            wait_until(lambda: run.switch.stats()["live_calls"] >= capacity, timeout=60,
                       message="every slot to be refilled before the next run")
            time.sleep(1.0)  # the BACKGROUND_JOBs of the fill recorded, the queues empty
            median, p99, count = refill_run(run, options, capacity, interval, kills_wanted)
            label = "" if primary else f" (kills every {ms(interval):.0f} ms)"
            figures.append(Figure(f"refill: latency median{label}", median, "ms", "< 50 ms", median < 50,
                                  f"{count} hangups, one every {ms(interval):.0f} ms"))
            figures.append(Figure(f"refill: latency p99{label}", p99, "ms", "< 250 ms", p99 < 250, ""))
        run.switch.hupall("NORMAL_CLEARING")
    return figures


def refill_run(run, options, capacity, interval, kills_wanted):
    """Kill one random answered call every `interval` s; match the k-th kill to the k-th originate that
    follows (each kill frees exactly one slot of a full switch, so refills come in the kills' order)."""
    before = len(originates_of(run.switch, "refill-"))
    rng = random.Random(5)
    kills, idle_ticks = [], 0
    profiler = start_profile(options, run, f"refill-{ms(interval):.0f}ms")
    meter = run.cpu.start()
    next_at = time.monotonic()
    while len(kills) < kills_wanted:
        next_at += interval
        live = [c.uuid for c in run.switch.live_calls() if c.state == "ACTIVE"]
        if live and run.switch.kill_call(rng.choice(live), "NORMAL_CLEARING"):
            kills.append(time.time())  # the hangup events are emitted by the time kill_call returns
        else:
            idle_ticks += 1  # every slot is waiting for its refill: nothing to kill
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    wait_until(lambda: len(originates_of(run.switch, "refill-")) >= before + len(kills), timeout=60,
               interval=0.1, message="a refill for every hangup")
    wall, used = meter.stop()
    end_profile(profiler)
    refills = sorted(o.received_at for o in originates_of(run.switch, "refill-"))[before:]
    latencies = [refill - killed for killed, refill in zip(kills, refills, strict=False)][10:]  # settle
    median, p99 = ms(statistics.median(latencies)), ms(percentile(latencies, 99))
    half = len(latencies) // 2
    log(f"refill: kills every {ms(interval):.0f} ms: {len(kills)} kills over {kills[-1] - kills[0]:.1f} s "
        f"({len(kills) / (kills[-1] - kills[0]):.0f}/s; {idle_ticks} times no answered call was left to kill); "
        f"hangup -> next originate median {median:.0f} ms, p90 {ms(percentile(latencies, 90)):.0f} ms, "
        f"p99 {p99:.0f} ms, max {ms(max(latencies)):.0f} ms; median of the first half "
        f"{ms(statistics.median(latencies[:half])):.0f} ms, "
        f"of the second {ms(statistics.median(latencies[half:])):.0f} ms")
    log("refill: " + cpu_line(wall, used))
    return median, p99, len(latencies)


# 5. makespan ------------------------------------------------------------------------------------

SHORT_NUMBER = "15550000002"


def bench_makespan(scratch, options):
    n, capacity, talk = options.makespan_contacts, 200, 2.0
    bound = n * talk / capacity
    log(f"makespan: {n:,} IVR contacts, capacity {capacity}, cps 300, every call answered at once and "
        f"talking {talk:.0f} s (time scale 1); lower bound {bound:.0f} s")
    with running_fleet(scratch, capacity=capacity, cps=300, keep_logs=options.keep_logs) as run:
        warm_up(run, scratch)
        run.switch.set_outcome(SHORT_NUMBER, "answered", 0.0, talk)
        profiler = start_profile(options, run, "makespan")
        meter = run.cpu.start()
        insert_contacts(scratch.engine, n, campaigns=5, prefix="mk-", number=SHORT_NUMBER)
        peak = [0]

        def done():
            peak[0] = max(peak[0], run.switch.stats()["live_calls"])
            return scratch.scalar("SELECT count(*) FROM contacts WHERE campaign_id LIKE 'mk-%' "
                                  "AND status IN ('ended', 'failed')") >= n

        wait_until(done, timeout=bound * 3 + 60, interval=0.25, message="every contact to end")
        wall, used = meter.stop()
        end_profile(profiler)
        first = min(o.received_at for o in originates_of(run.switch, "mk-"))
        last = float(scratch.scalar("SELECT extract(epoch FROM max(status_changed_at)) FROM contacts "
                                    "WHERE campaign_id LIKE 'mk-%'"))
        counts = status_counts(scratch, "mk-")
        makespan = last - first
        ratio = makespan / bound
        log(f"makespan: {makespan:.1f} s (first originate -> last contact ended), bound {bound:.0f} s, "
            f"ratio {ratio:.3f}; peak live calls {peak[0]}; statuses {counts}")
        log("makespan: " + cpu_line(wall, used))
    return [Figure("makespan: makespan / bound", ratio, "x", "<= 1.05", ratio <= 1.05,
                   f"{makespan:.1f} s for {n:,} contacts; bound {bound:.0f} s")]


# 6. agents --------------------------------------------------------------------------------------

AGENT_NUMBER = "15550000003"


def bench_agents(scratch, options):
    n, agents, talk = options.agent_contacts, 50, options.agent_talk
    log(f"agents: {agents} VC agents (callback delay 0.05 s, wrap-up 0.05 s), {n:,} AGENT contacts, capacity "
        f"{agents}, every call answered at once and talking {talk:.0f} s")
    with running_fleet(scratch, capacity=agents, cps=300, agents=agents, vc_delay=0.05, vc_wrap_up=0.05,
                       keep_logs=options.keep_logs) as run:
        warm_up(run, scratch)
        run.switch.set_outcome(AGENT_NUMBER, "answered", 0.0, talk)
        profiler = start_profile(options, run, "agents", names=("worker", "web"))
        meter = run.cpu.start()
        started = time.time()
        insert_contacts(scratch.engine, n, campaigns=1, prefix="agt-", number=AGENT_NUMBER, campaign_type="AGENT")
        bound = n * talk / agents
        wait_until(lambda: scratch.scalar("SELECT count(*) FROM contacts WHERE campaign_id LIKE 'agt-%' "
                                          "AND status IN ('ended', 'failed')") >= n,
                   timeout=bound * 4 + 60, interval=0.25, message="every agent contact to end")
        wall, used = meter.stop()
        end_profile(profiler)
        finished = time.time()
        wait_until(lambda: len(run.vc.messages("/fs-message/call-result")) >= n, timeout=60, interval=0.5,
                   message="every call result at the VC")
        callbacks = run.vc.callbacks()
        results = {m["body"]["callUid"]: iso_seconds(m["received_at"])
                   for m in run.vc.messages("/fs-message/call-result")}
        starts = run.vc.messages("/fs-message/startprocess")
        dialed = {o.variables["dialer_contact_id"]: o.received_at for o in originates_of(run.switch, "agt-")}
        waits, busy, release = [], [], []
        empty = sum(1 for cb in callbacks if not cb["body"]["agent"])
        for cb in callbacks:
            call = cb["body"]["uuid"]
            if not cb["body"]["agent"] or cb["status"] != 200 or call not in dialed:
                continue
            reserved = iso_seconds(cb["sent_at"])
            waits.append(dialed[call] - reserved)
            if call in results:
                busy.append(results[call] - reserved)
                release.append(results[call] - (dialed[call] + talk))
        counts = status_counts(scratch, "agt-")
        median, p95 = ms(statistics.median(waits)), ms(percentile(waits, 95))
        share = sum(waits) / sum(busy)
        first_dial, last_result = min(dialed.values()), max(results.values())
        utilisation = n * talk / (agents * (last_result - first_dial))
        # Callbacks sent within 100 ms before each one: how bursty the VC's answers were.
        sent = sorted(iso_seconds(cb["sent_at"]) for cb in callbacks)
        burst = max(sum(1 for t in sent[max(0, i - 60):i] if at - t < 0.1) for i, at in enumerate(sent))
        log(f"agents: {len(starts):,} startprocess, {len(callbacks):,} callbacks ({empty:,} with no agent free), "
            f"{len(waits):,} reservations dialed; all ended after {finished - started:.1f} s "
            f"(bound {bound:.0f} s); statuses {counts}")
        log(f"agents: callback -> originate wait median {median:.0f} ms, p90 {ms(percentile(waits, 90)):.0f} ms, "
            f"p95 {p95:.0f} ms, max {ms(max(waits)):.0f} ms (up to {burst + 1} callbacks within 100 ms); "
            f"share of agent busy time waiting {share:.1%}")
        log(f"agents: call end -> VC told (agent released) median {ms(statistics.median(release)):.0f} ms, "
            f"p95 {ms(percentile(release, 95)):.0f} ms; agents talking {utilisation:.0%} of the time "
            f"(talk time / (agents x first originate..last result))")
        log("agents: " + cpu_line(wall, used))
    return [
        Figure("agents: callback->originate median", median, "ms", "", None, f"p95 {p95:.0f} ms"),
        Figure("agents: callback->originate p95", p95, "ms", "", None, ""),
        Figure("agents: agent time waiting", share * 100, "%", "", None,
               f"{talk:.0f} s calls; {empty:,} empty callbacks"),
        Figure("agents: agent utilisation (talking)", utilisation * 100, "%", "", None, ""),
    ]


# driver -----------------------------------------------------------------------------------------

def run_part(name, scratch, options):
    if name == "claim":
        return bench_claim(scratch, options)
    if name in ("originate", "hangups"):
        return bench_originate_and_hangups(scratch, options, want_originate="originate" in options.only,
                                           want_hangups="hangups" in options.only)
    if name == "refill":
        return bench_refill(scratch, options)
    if name == "makespan":
        return bench_makespan(scratch, options)
    if name == "agents":
        return bench_agents(scratch, options)
    if name == "steady":
        from bench.steady import bench_steady

        return bench_steady(scratch, options)
    raise ValueError(name)


def print_table(results):
    """One row per figure; with repeats, the range over the runs."""
    print()
    print(f"{'name':40} {'figure':>24}  {'target':>11}  result")
    print("-" * 90)
    for name, figures in results.items():
        values = [f.value for f in figures]
        unit = figures[0].unit
        shown = _fmt(values[0], unit) if len(values) == 1 else f"{_fmt(min(values), unit)} .. {_fmt(max(values), unit)}"
        met = [f.met for f in figures]
        verdict = "-" if met[0] is None else ("met" if all(met) else ("missed" if not any(met) else "mixed"))
        print(f"{name:40} {shown:>24}  {figures[0].target:>11}  {verdict}")
    print()


def _fmt(value, unit):
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:,.1f} ms"
    if unit == "ms/call":
        return f"{value:,.2f} ms"
    if unit == "x":
        return f"{value:.3f}"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:g} {unit}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=None, help="parts to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs (about 3 minutes in all)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each part this many times; the table shows the range")
    parser.add_argument("--what-if", action="store_true",
                        help="claim part: also time the proposed claim statement and a covering index")
    parser.add_argument("--refill-contacts", type=int, default=5000,
                        help="refill part: pending contacts behind the 50 slots (default 5,000)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the claim part's statements")
    parser.add_argument("--claim-contacts", type=int, default=1_000_000,
                        help="claim part: pending contacts in the 1,000 campaigns (default 1,000,000)")
    parser.add_argument("--policy", action="store_true",
                        help="hangups part: also mixed traffic ended at once, without and with a retry policy")
    parser.add_argument("--originate-contacts", type=int, default=3000,
                        help="originate and hangups parts: contacts, calls alive at once (default 3,000)")
    parser.add_argument("--profile", nargs="?", const="cpu", choices=("cpu", "wall"), default=None,
                        help="py-spy the worker and listener (web for agents) during each fleet measurement: "
                             "cpu (default) or wall (waits included)")
    parser.add_argument("--py-spy", default=None, help="path of py-spy (default: PATH, then /tmp/pyspy/bin)")
    parser.add_argument("--listeners", type=int, choices=(1, 2), default=2,
                        help="listeners in the originate/hangups run (2: high availability, the default)")
    parser.add_argument("--steady-rates", type=int, nargs="+", default=None,
                        help="steady part: calls ending per second, one run each (default 100 300; quick: 100)")
    parser.add_argument("--steady-seconds", type=float, default=None,
                        help="steady part: seconds of steady state measured (default 30; quick: 15)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the fleet's logs (their folder is printed)")
    options = parser.parse_args(argv)
    options.only = options.only or list(PARTS)
    if options.profile:
        options.py_spy = find_py_spy(options.py_spy)
        if options.py_spy is None:
            parser.error("--profile needs py-spy (pip install py-spy, or --py-spy PATH)")
    quick = options.quick
    options.claim_ticks = 10 if quick else 30
    # (interval between kills, kills, primary figure): 20 ms is the load; 100 ms shows the
    # latency when the engine is not saturated.
    options.refill_runs = [(0.020, 250 if quick else 500, True), (0.100, 60 if quick else 150, False)]
    options.makespan_contacts = 2000 if quick else 10_000
    options.agent_contacts = 300 if quick else 2000
    options.agent_talk = 2.0
    options.steady_rates = options.steady_rates or ([100] if quick else [100, 300])
    options.steady_seconds = options.steady_seconds or (15.0 if quick else 30.0)
    options.steady_makespan_contacts = 2000 if quick else 4000
    options.timeout = 180.0
    return options


def main(argv=None):
    options = parse_args(argv)
    print(f"bench.engine: {', '.join(options.only)}{' (quick)' if options.quick else ''}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    scratch = Scratch()
    print(f"  scratch database {scratch.name!r}, Redis {scratch.redis_url}")
    results = {}
    began = time.monotonic()
    try:
        order = [p for p in PARTS if p in options.only]
        if "originate" in order and "hangups" in order:
            order.remove("hangups")  # one fleet run gives both
        for _ in range(options.repeat):
            for part in order:
                started = time.monotonic()
                print(f"\n== {part}" + (" + hangups" if part == "originate" and "hangups" in options.only else ""))
                try:
                    figures = run_part(part, scratch, options)
                except Exception as error:  # one part failing must not hide the others
                    log(f"{part}: FAILED: {type(error).__name__}: {error}")
                    figures = []
                for figure in figures:
                    results.setdefault(figure.name, []).append(figure)
                    log(f"{figure.name}: {_fmt(figure.value, figure.unit)} {figure.note}")
                log(f"{part}: {time.monotonic() - started:.0f} s")
    finally:
        scratch.close()
    print(f"\ntotal {time.monotonic() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    print_table(results)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
