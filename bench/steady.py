"""bench.engine part `steady`: CPU per call with calls ending continuously, as in production.

The other parts push thousands of events through in large batches; here hangups trickle in and every
small batch pays the whole per-task price. For each target rate (100 and 300 calls ending per second;
--quick: 100) a fleet with capacity rate x 2 s x 1.1 and cps 2 x rate dials IVR contacts answered at
once whose talk times are drawn uniformly from 1-3 s (the switch simulator's seeded generator), so
calls end continuously at about capacity / 2 s. After the ramp-up (the switch holds ~capacity calls
and the first wave has ended) a window of --steady-seconds (30; --quick 15) is measured:

  - CPU per call ended in the window, per kind of fleet process (workers, listeners, PostgreSQL,
    Redis, web, beat; children included, read from the kernel) and for the whole fleet; the switch
    simulator (in this process, with the bench) and the VC simulator are shown apart, not in the total;
  - calls ended per second against the target;
  - slot refill latency, hangup -> originate that refills the slot (method: refill_latencies);
  - the whole run's makespan against its lower bound (method: makespan_and_bound).

Then a separate run checks the makespan target: capacity 200, 1 s calls, 4,000 contacts (--quick 2,000).
"""

import bisect
import os
import statistics
import time
from types import SimpleNamespace

from bench.engine import Figure, end_profile, ms, start_profile  # engine imports this module late
from bench.fleet_runner import (
    cpu_line,
    insert_contacts,
    log,
    originates_of,
    percentile,
    running_fleet,
    status_counts,
    wait_until,
    warm_up,
)

STEADY_NUMBER = "15550000004"
MAKESPAN_NUMBER = "15550000005"
TALK = (1.0, 3.0)  # seconds, uniform; every call is answered at once (ring 0)
SLACK = 1.1  # capacity = rate x mean call length x SLACK
SETTLE_SECONDS = 12.0  # contacts inserted beyond the window, for the ramp-up and the settling
FLEET = {"workers": ("worker", "worker2"), "listeners": ("listener", "listener2"), "postgres": ("postgres",),
         "redis": ("redis",), "web": ("web",), "beat": ("beat", "beat2")}
OUTSIDE = {"switch sim+bench": "bench+switch-sim", "vc sim": "vc-sim"}  # context, not in the total


def bench_steady(scratch, options):
    figures = []
    for rate in options.steady_rates:
        figures += steady_run(scratch, options, rate)
    return figures + makespan_run(scratch, options)


# the switch simulator, seen from inside this process ---------------------------------------------

class HangupRecorder:
    """Added to the switch simulator's event listeners (on its loop): the wall-clock time at which the
    switch emits each CHANNEL_HANGUP_COMPLETE of our calls, the instant the fleet's listeners are sent
    it. Same clock as the originates' `received_at` (time.time() on the simulator's loop)."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.ends = []

    def deliver(self, event):
        if event.name == "CHANNEL_HANGUP_COMPLETE" and \
                event.call.variables.get("dialer_campaign_id", "").startswith(self.prefix):
            self.ends.append(time.time())


def attach(switch, recorder):
    switch._call(switch.switch.listeners.add, recorder)


def detach(switch, recorder):
    switch._call(switch.switch.listeners.discard, recorder)


def set_talk_range(switch, low, high):
    """Talk times not pinned by set_outcome are drawn uniformly from low..high s by the simulator's
    seeded generator (OutcomeModel.talk has no public setter)."""
    switch._call(setattr, switch.switch.model, "talk", (low, high))


def snapshot(switch, recorder):
    """(time, live calls, originates received, hangups recorded), read at one instant on the loop."""
    core = switch.switch
    return switch._call(lambda: (time.time(), len(core.calls), len(core.originates), len(recorder.ends)))


# one rate -----------------------------------------------------------------------------------------

def steady_run(scratch, options, rate):
    mean = sum(TALK) / 2
    capacity, cps, window = round(rate * mean * SLACK), 2 * rate, options.steady_seconds
    n = round(capacity / mean * (window + SETTLE_SECONDS)) + capacity
    prefix, name = f"st{rate}-", f"steady {rate}/s"
    log(f"{name}: capacity {capacity}, cps {cps}, {n:,} IVR contacts answered at once, talk "
        f"{TALK[0]:.0f}-{TALK[1]:.0f} s uniform; {window:.0f} s window after the ramp-up")
    with running_fleet(scratch, capacity=capacity, cps=cps, keep_logs=options.keep_logs) as run:
        warm_up(run, scratch)
        switch, recorder = run.switch, HangupRecorder(prefix)
        switch.set_outcome(STEADY_NUMBER, "answered", 0.0, None)
        set_talk_range(switch, *TALK)
        attach(switch, recorder)
        try:
            idle(run, name)
            inserted = time.time()
            insert_contacts(scratch.engine, n, campaigns=5, prefix=prefix, number=STEADY_NUMBER)
            ramp_up(switch, capacity, name)
            seen = measure_window(run, options, recorder, prefix, window)
            pending = status_counts(scratch, prefix).get("pending", 0)
            figures = window_figures(name, rate, capacity, seen, pending)
            makespan, bound = makespan_and_bound(scratch, switch, prefix, n, capacity, mean)
        finally:
            detach(switch, recorder)
    log(f"{name}: makespan {makespan:.1f} s (first originate -> last contact ended), lower bound {bound:.1f} s "
        f"(ratio {makespan / bound:.3f}); first originate {min(seen.originates) - inserted:.2f} s after the insert")
    figures.append(Figure(f"{name}: makespan / bound", makespan / bound, "x", "", None,
                          f"{n:,} contacts, 1-3 s calls, capacity {capacity}"))
    return figures


def measure_window(run, options, recorder, prefix, seconds):
    """CPU of every process over `seconds` of steady state, the switch read at its first and last instant
    (no database queries meanwhile); then every hangup time and originate time so far."""
    switch = run.switch
    profiler = start_profile(options, run, prefix.rstrip("-"))
    meter = run.cpu.start()
    first = snapshot(switch, recorder)
    live = sample_live(switch, first[0] + seconds)
    last = snapshot(switch, recorder)
    wall, used = meter.stop()
    end_profile(profiler)
    time.sleep(1.0)  # the window's last hangups refilled
    ends = switch._call(lambda: list(recorder.ends))
    return SimpleNamespace(first=first, last=last, live=live, wall=wall, used=used, ended=ends[first[3]:last[3]],
                           originates=[o.received_at for o in originates_of(switch, prefix)])


def window_figures(name, rate, capacity, seen, pending):
    seconds = seen.last[0] - seen.first[0]
    achieved = len(seen.ended) / seconds
    log(f"{name}: window {seconds:.1f} s: {len(seen.ended):,} calls ended, {achieved:,.1f}/s (target {rate}/s); "
        f"live calls min {min(seen.live)} / mean {statistics.mean(seen.live):.0f} / max {max(seen.live)} of "
        f"{capacity}; {pending:,} contacts still pending after it" + ("" if pending else " (RAN DRY: not steady)"))
    log(f"{name}: " + cpu_line(seen.wall, seen.used))
    busy = sum(seen.used.values()) / (seen.wall * (os.cpu_count() or 1))
    missed = f"the target rate was NOT reached ({achieved:,.0f}/s); " if achieved < 0.95 * rate else ""
    log(f"{name}: {missed}the processes measured used {busy:.0%} of the machine's CPU"
        + (" (saturated)" if busy > 0.85 else ""))
    figures = cpu_figures(name, seen.used, len(seen.ended), rate)
    figures.append(Figure(f"{name}: calls ended/s", achieved, "/s", f"~{rate}/s", achieved >= 0.95 * rate,
                          f"{len(seen.ended):,} in {seconds:.1f} s, capacity {capacity}"))
    return figures + latency_figures(name, seen.ended, seen.originates, seen.first, capacity)


def idle(run, name, seconds=5.0):
    """The fleet's CPU with nothing to do, for context: what it costs per second whatever the rate."""
    meter = run.cpu.start()
    time.sleep(seconds)
    wall, used = meter.stop()
    fleet = {kind: 1000 * sum(used.get(p, 0.0) for p in names) / wall for kind, names in FLEET.items()}
    log(f"{name}: idle fleet before the insert, CPU ms per second: {sum(fleet.values()):.0f} = "
        + ", ".join(f"{kind} {value:.0f}" for kind, value in sorted(fleet.items(), key=lambda kv: -kv[1])))


def ramp_up(switch, capacity, name, timeout=30.0):
    """Skip the ramp-up: wait for ~capacity live calls (95 %), then one longest call, so the first wave,
    started all at once, has ended and hangups come at their steady rate. A fleet that cannot keep
    the switch that full gets its window anyway after `timeout`, and says so."""
    started = time.monotonic()
    try:
        wait_until(lambda: switch.stats()["live_calls"] >= 0.95 * capacity, timeout=timeout, interval=0.1,
                   message=f"{capacity} live calls")
    except TimeoutError:
        log(f"{name}: the switch never held 95 % of {capacity} calls in {timeout:.0f} s "
            f"(live {switch.stats()['live_calls']}): the fleet cannot keep it full; measuring anyway")
    time.sleep(TALK[1])
    log(f"{name}: ramp-up {time.monotonic() - started:.1f} s; live calls {switch.stats()['live_calls']}; "
        f"window starts")


def sample_live(switch, until):
    """Live calls at the switch once a second until `until` (no database queries in the window)."""
    samples = []
    while time.time() < until:
        samples.append(switch.stats()["live_calls"])
        time.sleep(max(0.0, min(1.0, until - time.time())))
    return samples


def cpu_figures(name, used, calls, rate):
    """CPU ms per call ended in the window, by kind of process and for the whole fleet."""
    per_call = {kind: 1000 * sum(used.get(p, 0.0) for p in names) / calls for kind, names in FLEET.items()}
    known = {p for names in FLEET.values() for p in names} | set(OUTSIDE.values())
    per_call.update({p: 1000 * s / calls for p, s in used.items() if p not in known})  # e.g. a flower
    total = sum(per_call.values())
    outside = {label: 1000 * used.get(p, 0.0) / calls for label, p in OUTSIDE.items()}
    log(f"{name}: CPU ms per call ended: fleet {total:.2f} = " +
        ", ".join(f"{kind} {value:.2f}" for kind, value in sorted(per_call.items(), key=lambda kv: -kv[1])) +
        "; not in the total: " + ", ".join(f"{label} {value:.2f}" for label, value in outside.items()))
    primary = rate >= 300
    figures = [Figure(f"{name}: CPU/call, whole fleet", total, "ms/call", "<= 2.5 ms" if primary else "",
                      total <= 2.5 if primary else None, f"{calls:,} calls ended in the window")]
    figures += [Figure(f"{name}: CPU/call, {kind}", value, "ms/call", "", None, "")
                for kind, value in per_call.items()]
    figures += [Figure(f"{name}: CPU/call, {label}", value, "ms/call", "", None, "not in the total")
                for label, value in outside.items()]
    return figures


def refill_latencies(ends, originates, first, capacity):
    """Hangup -> the originate that refills its slot, for each call ended in the window.

    Method: slots are interchangeable and the switch is kept at capacity, so every hangup is followed by
    exactly one refill (pending contacts remain throughout). At the window's first instant (one atomic
    read on the simulator's loop) the switch held `live` calls, so capacity - live slots were already
    waiting (hung up, or claimed and not yet sent); the first capacity - live originates after that
    instant refill those, and the k-th hangup in the window is matched to the (capacity - live + k)-th
    originate after it (first in, first out, as in the refill part)."""
    _, live, originated, _ = first
    waiting = capacity - live
    after = originates[originated:]
    return [after[waiting + k] - end for k, end in enumerate(ends) if waiting + k < len(after)]


def next_originate_gaps(ends, originates):
    """For context: each hangup to the next originate the switch received, whichever contact it was for.
    A lower bound only: at hundreds of calls a second some originate follows any instant within ms."""
    ordered = sorted(originates)
    gaps = []
    for end in ends:
        index = bisect.bisect_right(ordered, end)
        if index < len(ordered):
            gaps.append(ordered[index] - end)
    return gaps


def latency_figures(name, ended, originates, first, capacity):
    latencies = refill_latencies(ended, originates, first, capacity)
    gaps = next_originate_gaps(ended, originates)
    median, p90, p99 = (ms(percentile(latencies, q)) for q in (50, 90, 99))
    log(f"{name}: refill latency (hangup -> the originate refilling its slot, FIFO-matched) median {median:.0f} "
        f"ms, p90 {p90:.0f} ms, p99 {p99:.0f} ms, max {ms(max(latencies)):.0f} ms over {len(latencies):,} "
        f"hangups ({len(ended) - len(latencies)} unmatched, {sum(1 for x in latencies if x < 0)} negative; "
        f"{capacity - first[1]} slots waiting at the start); hangup -> next originate of any contact: median "
        f"{ms(statistics.median(gaps)):.1f} ms, p99 {ms(percentile(gaps, 99)):.1f} ms")
    return [
        Figure(f"{name}: refill latency median", median, "ms", "<= 50 ms", median <= 50,
               f"{len(latencies):,} hangups"),
        Figure(f"{name}: refill latency p90", p90, "ms", "", None, ""),
        Figure(f"{name}: refill latency p99", p99, "ms", "<= 250 ms", p99 <= 250, ""),
    ]


def makespan_and_bound(scratch, switch, prefix, n, capacity, mean, timeout=None):
    """Makespan: first originate received -> last contact ended in the database (as the makespan part).
    Lower bound: the call-seconds the slots must carry over the capacity, sum of the calls' durations
    (hangup_time - answer_time as the switch stamped them; ring 0) / capacity, i.e. contacts / capacity x
    mean call length with the talk times actually drawn. The time to the first call (insert -> first
    originate, logged) is outside both, so it is not added to the bound."""
    bound = n * mean / capacity
    wait_until(lambda: scratch.scalar("SELECT count(*) FROM contacts WHERE campaign_id LIKE :p "
                                      "AND status IN ('ended', 'failed')", p=prefix + "%") >= n,
               timeout=timeout or bound * 3 + 60, interval=0.5, message="every contact to end")
    first = min(o.received_at for o in originates_of(switch, prefix))
    last, talked = scratch.rows("SELECT extract(epoch FROM max(status_changed_at)), "
                                "extract(epoch FROM sum(hangup_time - answer_time)) FROM contacts "
                                "WHERE campaign_id LIKE :p", p=prefix + "%")[0]
    counts = status_counts(scratch, prefix)
    if counts.get("ended", 0) != n:
        log(f"makespan: not every contact ended normally: {counts}")
    return float(last) - first, float(talked) / capacity


# makespan at 200 one-second calls -----------------------------------------------------------------

def makespan_run(scratch, options):
    n, capacity, talk = options.steady_makespan_contacts, 200, 1.0
    prefix = "stmk-"
    log(f"steady makespan: {n:,} IVR contacts, capacity {capacity}, cps {2 * capacity}, every call answered "
        f"at once and talking {talk:.0f} s; lower bound {n * talk / capacity:.0f} s")
    with running_fleet(scratch, capacity=capacity, cps=2 * capacity, keep_logs=options.keep_logs) as run:
        warm_up(run, scratch)
        run.switch.set_outcome(MAKESPAN_NUMBER, "answered", 0.0, talk)
        profiler = start_profile(options, run, "steady-makespan")
        meter = run.cpu.start()
        inserted = time.time()
        insert_contacts(scratch.engine, n, campaigns=5, prefix=prefix, number=MAKESPAN_NUMBER)
        makespan, bound = makespan_and_bound(scratch, run.switch, prefix, n, capacity, talk)
        wall, used = meter.stop()
        end_profile(profiler)
        first = min(o.received_at for o in originates_of(run.switch, prefix))
    fleet = sum(s for p, s in used.items() if p not in OUTSIDE.values())
    log(f"steady makespan: {makespan:.1f} s, bound {bound:.1f} s, ratio {makespan / bound:.3f}; first originate "
        f"{first - inserted:.2f} s after the insert; fleet CPU {1000 * fleet / n:.2f} ms per call over the run")
    log("steady makespan: " + cpu_line(wall, used))
    return [Figure("steady makespan: 200 x 1 s, / bound", makespan / bound, "x", "<= 1.05",
                   makespan / bound <= 1.05, f"{makespan:.1f} s for {n:,} contacts; bound {bound:.1f} s")]

