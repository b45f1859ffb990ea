"""python -m bench.engine [--only NAME ...] [--quick] [--repeat N]: the dialing engine against the
switch simulator on this machine.

  claim      allocation tick with 1,000,000 pending contacts in 1,000 campaigns, 500 free slots:
             the whole allocator.allocate() and each of its statements, every tick rolled back
  originate  originates/s from pending contact to bgapi at the switch (3,000 contacts, capacity 3,000)
  hangups    hangup results recorded/s: hupall of ~3,000 live calls until every contact is ended
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
  --refill-contacts N   refill part: pending contacts behind the 50 slots (5,000; try 1,000,000)
"""

import argparse
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass

from sqlalchemy import text

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

def bench_claim(scratch, options):
    from dialer.adapters.db import make_session_factory
    from dialer.config import SwitchConfig
    from dialer.flows import allocator
    from dialer.rules.allocation import fair_share, free_slots

    n, campaigns, capacity = options.claim_contacts, 1000, 500
    ticks = options.claim_ticks
    scratch.truncate()
    log(f"claim: inserting {n:,} pending contacts in {campaigns:,} campaigns (one INSERT ... SELECT)")
    seconds = insert_contacts(scratch.engine, n, campaigns=campaigns, prefix="claim-")
    started = time.perf_counter()
    with scratch.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE contacts"))
        connection.execute(text("VACUUM ANALYZE campaigns"))
    log(f"claim: inserted in {seconds:.1f} s, VACUUM ANALYZE {time.perf_counter() - started:.1f} s; "
        f"{ticks} ticks of each kind, each rolled back")
    switches = (SwitchConfig("sim", "127.0.0.1", 8021, "ClueCon", capacity, 100_000.0),)
    sessions = make_session_factory(scratch.engine)

    # (a) the whole tick, as the allocate task runs it (minus the commit: rolled back).
    whole, claimed = [], set()
    for index in range(ticks + 2):
        session = sessions()
        try:
            began = time.perf_counter()
            tick = allocator.allocate(session, switches)
            took = time.perf_counter() - began
        finally:
            session.rollback()
            session.close()
        claimed.add(len(tick.claims))
        if index >= 2:  # two warm-up ticks
            whole.append(took)

    # (b) each statement on its own, in the same order, in one rolled-back transaction per tick.
    parts = {"occupied": [], "recent_claims": [], "dialable_counts": [], "fair_share": [], "claim": []}
    for index in range(ticks + 2):
        session = sessions()
        try:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": allocator.ALLOCATOR_LOCK})
            t0 = time.perf_counter()
            occupied = dict(session.execute(allocator.OCCUPIED_SQL).all())
            t1 = time.perf_counter()
            recent = dict(session.execute(allocator.RECENT_CLAIMS_SQL, {"window": 1.0}).all())
            t2 = time.perf_counter()
            free = {s.name: free_slots(s.capacity, occupied.get(s.name, 0), s.cps, 1.0, recent.get(s.name, 0))
                    for s in switches}
            dialable = dict(session.execute(allocator.DIALABLE_SQL).all())
            t3 = time.perf_counter()
            allotment = fair_share(sum(free.values()), dialable)
            t4 = time.perf_counter()
            names = sorted(allotment)
            rows = session.execute(allocator.CLAIM_SQL, {
                "campaigns": names, "counts": [allotment[c] for c in names],
                "plan": allocator.switch_plan(free)[: sum(allotment.values())],
                "total": sum(allotment.values())}).all()
            t5 = time.perf_counter()
        finally:
            session.rollback()
            session.close()
        if index >= 2:
            for key, took in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                parts[key].append(took)
    # (c) the tick that refills slots right after hangups: it reads the backlog the last counting
    # tick saved instead of counting a million contacts.
    with sessions() as session:
        allocator._save_backlog(session, dict(session.execute(allocator.DIALABLE_SQL).all()))
        session.commit()
    refill = []
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
    log(f"claim: each tick claimed {sorted(claimed)} contacts from {len(dialable)} campaigns "
        f"({len(allotment)} got a share); the last one claimed {len(rows)}")
    print(f"    {'':22}{'median':>10}{'p95':>10}{'max':>10}   (ms, {ticks} ticks)")
    for key, values in [("whole allocate() tick", whole), ("refill tick (backlog)", refill), *parts.items()]:
        print(f"    {key:22}{ms(statistics.median(values)):>10.1f}{ms(percentile(values, 95)):>10.1f}"
              f"{ms(max(values)):>10.1f}")
    if options.explain:
        explain_claim(sessions, allocator, switches)
    claim_p95 = ms(percentile(parts["claim"], 95))
    tick_p95 = ms(percentile(whole, 95))
    refill_p95 = ms(percentile(refill, 95))
    extra = what_if_claim(scratch, sessions, allocator, allotment, free, ticks) if options.what_if else []
    return extra + [
        Figure("claim: CLAIM statement p95", claim_p95, "ms", "< 50 ms", claim_p95 < 50,
               f"median {ms(statistics.median(parts['claim'])):.1f} ms"),
        Figure("claim: refill tick p95 (backlog)", refill_p95, "ms", "< 50 ms", refill_p95 < 50,
               f"median {ms(statistics.median(refill)):.1f} ms"),
        Figure("claim: counting (beat) tick p95", tick_p95, "ms", "< 50 ms", tick_p95 < 50,
               f"median {ms(statistics.median(whole)):.1f} ms; dialable counts p95 "
               f"{ms(percentile(parts['dialable_counts'], 95)):.0f} ms"),
    ]


def what_if_claim(scratch, sessions, allocator, allotment, free, ticks):
    """Proposed changes, timed on the same rows (nothing in dialer/ changes): the claim statement with
    `LIMIT <total>` on `picked`, so the planner expects 500 rows, not 51,000, and joins by primary key
    instead of a hash join over a sequential scan of contacts; and the dialable counts served by an
    index-only scan of a covering partial index."""
    from sqlalchemy import Integer, String, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    marker = "FOR UPDATE SKIP LOCKED\n        ) p\n"
    assert marker in allocator.CLAIM_SQL.text, "the claim statement changed; update the what-if"
    limited = text(allocator.CLAIM_SQL.text.replace(marker, marker + "        LIMIT :total\n")).bindparams(
        bindparam("campaigns", type_=ARRAY(String)), bindparam("counts", type_=ARRAY(Integer)),
        bindparam("plan", type_=ARRAY(String)), bindparam("total", type_=Integer))
    names = sorted(allotment)
    params = {"campaigns": names, "counts": [allotment[c] for c in names],
              "plan": allocator.switch_plan(free)[: sum(allotment.values())], "total": sum(allotment.values())}

    def timed(statement, values=None):
        took = []
        for index in range(ticks + 2):
            session = sessions()
            try:
                began = time.perf_counter()
                rows = session.execute(statement, values or {}).all()
                if index >= 2:
                    took.append(time.perf_counter() - began)
            finally:
                session.rollback()
                session.close()
        return took, len(rows)

    claim, claimed = timed(limited, params)
    log(f"claim what-if: CLAIM with LIMIT :total claimed {claimed}: median {ms(statistics.median(claim)):.1f} ms, "
        f"p95 {ms(percentile(claim, 95)):.1f} ms")
    started = time.perf_counter()
    with scratch.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("CREATE INDEX bench_dialable_cover ON contacts (campaign_id) "
                                "INCLUDE (dial_after, end_time) WHERE status = 'pending'"))
        connection.execute(text("VACUUM ANALYZE contacts"))
    built = time.perf_counter() - started
    try:
        counts, _ = timed(allocator.DIALABLE_SQL)
    finally:
        with scratch.engine.begin() as connection:
            connection.execute(text("DROP INDEX bench_dialable_cover"))
    log(f"claim what-if: dialable counts with a covering index (campaign_id) INCLUDE (dial_after, end_time) "
        f"WHERE pending (built in {built:.1f} s): median {ms(statistics.median(counts)):.1f} ms, "
        f"p95 {ms(percentile(counts, 95)):.1f} ms")
    return [
        Figure("claim what-if: CLAIM + LIMIT p95", ms(percentile(claim, 95)), "ms", "< 50 ms",
               ms(percentile(claim, 95)) < 50, "proposal, not the code"),
        Figure("claim what-if: counts, covering idx p95", ms(percentile(counts, 95)), "ms", "", None,
               "proposal, not the code"),
    ]


def explain_claim(sessions, allocator, switches):
    """EXPLAIN ANALYZE of the two heavy statements, for the report."""
    from sqlalchemy import Integer, String, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    from dialer.rules.allocation import fair_share

    session = sessions()
    try:
        plan = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + allocator.DIALABLE_SQL.text)).scalars().all()
        print("    EXPLAIN ANALYZE dialable counts:")
        print("\n".join("      " + line for line in plan))
        dialable = dict(session.execute(allocator.DIALABLE_SQL).all())
        allotment = fair_share(500, dialable)
        names = sorted(allotment)
        stmt = text("EXPLAIN (ANALYZE, BUFFERS) " + allocator.CLAIM_SQL.text).bindparams(
            bindparam("campaigns", type_=ARRAY(String)), bindparam("counts", type_=ARRAY(Integer)),
            bindparam("plan", type_=ARRAY(String)))
        plan = session.execute(stmt, {"campaigns": names, "counts": [allotment[c] for c in names],
                                      "plan": ["sim"] * sum(allotment.values())}).scalars().all()
        print("    EXPLAIN ANALYZE claim:")
        print("\n".join("      " + line for line in plan))
    finally:
        session.rollback()
        session.close()


# 2 + 3. originate and hangups -------------------------------------------------------------------

LONG_NUMBER = "15550000001"


def bench_originate_and_hangups(scratch, options, want_originate=True, want_hangups=True):
    n = options.originate_contacts
    figures = []
    log(f"originate: fleet with capacity 3,000, cps 2,000; {n:,} contacts answered after 1 s, talking 1 h")
    with running_fleet(scratch, capacity=3000, cps=2000, keep_logs=options.keep_logs,
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
    return figures


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
    options.claim_contacts = 1_000_000
    options.claim_ticks = 10 if quick else 30
    options.originate_contacts = 3000
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
