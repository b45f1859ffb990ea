"""python -m bench.predictive [--agents 50 10] [--contacts 5000] [--scale 0.2] [--window 8] [--seed 7] [--quick]:
PROGRESSIVE against PREDICTIVE dialing on one seeded workload (issue 11 "Measured").

The workload (simulated seconds; the switch simulator's predictive mix): every contact's fate is drawn from
(seed, number), so both modes meet the same customers. 35% answered by a person after 4-20 s of ringing
(uniform), 10% by a machine (same ring; the switch sets amd_result=MACHINE: PREDICTIVE hangs up on it,
PROGRESSIVE, which has no AMD step, puts its agent on it), 5% busy, the other 50% ring out at the originate
timeout (30 s). Talk time exponential, mean 60 s; the VC names an agent 0.3 s after it is asked; wrap-up
5 s. A held person waits 30 s before hanging up, far beyond the 2 s deadline: only the dialer abandons.
One attempt per contact (no retry policy).

Time-scaled by --scale (real seconds per simulated second): the switch simulator's times, the VC
simulator's delay and wrap-up, DIALER_ABANDON_SECONDS = 2 s x scale, DIALER_PACING_SECONDS = 2 s x scale,
DIALER_PACING_SETTLE_SECONDS = 35 s x scale (the originate timeout and 5 s), DIALER_TICK_SECONDS = 1 s x
scale (at least 0.1); the originate timeout is a channel variable the
simulator reads in simulated seconds. The dialer's own work (events, tasks, HTTP) is not scaled: its
latency, in simulated seconds, is real latency / scale, so a small scale is a harder test of the 2 s rule.
The switch simulator's event stamps are put on the wall clock for the run (bench.predictive_run
.wall_clock_stamps: modelled stamps put a scaled answer in the future, and the deadline with it).

Each run: the fleet (web, worker, two listeners, beat) against both simulators, the contacts in, a
warm-up (--warm-up sim-minutes, default 10: PREDICTIVE dials ahead once it has measured 30 settled attempts
and 33 people have answered, enough for one abandoned call within 3%; 10 agents take about 8), then a
fixed measured window (--window sim-minutes); the run stops there, with contacts left. Figures over the
window: agent occupancy from the VC simulator's agent report, abandonment from the dialer's ledger and
from the switch simulator's records (answered_at vs transferred_at, simulated seconds), answered calls
per agent-hour (simulated hours), answer-to-agent time. Printed beside the issue's targets, never asserted.
"""

import argparse
import os
import threading
import time

from bench.fleet_runner import Scratch, cpu_line, log
from bench.predictive_figures import figures_of, pacing_summary, timeline
from bench.predictive_run import Workload, measure

MODES = ("PROGRESSIVE", "PREDICTIVE")
ABANDON_CAP, ABANDON_AIM, OCCUPANCY_TARGET, RATE_FACTOR = 0.03, 0.02, 0.85, 1.5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.predictive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[50, 10], help="team sizes, one pair of runs each")
    parser.add_argument("--contacts", type=int, default=5000, help="contacts per run (default 5,000)")
    parser.add_argument("--scale", type=float, default=0.2,
                        help="real seconds per simulated second (default 0.2; at least 0.05, where the 2 s "
                             "deadline is DIALER_ABANDON_SECONDS' minimum of 0.1 s)")
    parser.add_argument("--window", type=float, default=None, help="simulated minutes measured (default 8; quick 3)")
    parser.add_argument("--warm-up", type=float, default=10.0, help="simulated minutes before the window (default 10)")
    parser.add_argument("--seed", type=int, default=7, help="the switch's outcomes and the VC's choice of agents")
    parser.add_argument("--quick", action="store_true", help="a 3 sim-minute window (about 5 minutes in all)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--patience", type=float, default=30.0,
                        help="simulated seconds a held person waits before hanging up (default 30: only the "
                             "dialer abandons; 3-5 is closer to real people)")
    parser.add_argument("--modelled-stamps", action="store_true",
                        help="leave the switch simulator's event stamps modelled (answer stamped ring seconds "
                             "after the start, unscaled): shows how that moves the dialer's deadline")
    parser.add_argument("--keep-logs", action="store_true", help="keep the fleet's logs (their folder is printed)")
    options = parser.parse_args(argv)
    if options.scale < 0.05:
        parser.error("--scale must be at least 0.05 (2 s x scale >= 0.1 s, DIALER_ABANDON_SECONDS' minimum)")
    options.window = options.window or (3.0 if options.quick else 8.0)
    return options


def main(argv=None):
    options = parse_args(argv)
    per_run = (options.warm_up + options.window) * 60 * options.scale
    print(f"bench.predictive: teams {options.agents}, {options.contacts:,} contacts, scale {options.scale:g}, "
          f"warm-up {options.warm_up:g} + window {options.window:g} sim-min per run ({per_run:.0f} s real + "
          f"start-up); seed {options.seed}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(_workload_line(_workload(options, options.agents[0])))
    scratch = Scratch()
    print(f"  scratch database {scratch.name!r}, Redis {scratch.redis_url}")
    began = time.monotonic()
    verdicts = []
    try:
        for agents in options.agents:
            workload = _workload(options, agents)
            results = {}
            for mode in options.modes:
                try:
                    data = measure(scratch, workload, mode, options.keep_logs, not options.modelled_stamps)
                except Exception as error:  # one run failing must not hide the others
                    log(f"{mode}, {agents} agents: FAILED: {type(error).__name__}: {error}")
                    continue
                results[mode] = (data, figures_of(data))
            verdicts += print_team(workload, results, options)
    finally:
        scratch.close()
    print(f"\ntotal {time.monotonic() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    if verdicts:
        print("targets (PREDICTIVE): " + "; ".join(verdicts))


def _workload(options, agents):
    return Workload(agents=agents, contacts=options.contacts, scale=options.scale, seed=options.seed,
                    warm_up_minutes=options.warm_up, window_minutes=options.window, patience=options.patience)


def _workload_line(w):
    env = ", ".join(f"{k}={v}" for k, v in w.fleet_env().items() if "RECONCILE" not in k)
    no_answer = 1 - w.person_share - w.machine_share - w.busy_share
    return (f"  workload: person {w.person_share:.0%} after {w.ring_min:g}-{w.ring_max:g} s, machine "
            f"{w.machine_share:.0%}, busy {w.busy_share:.0%}, no answer {no_answer:.0%}"
            f" (rings {w.no_answer_seconds} s); talk mean {w.talk_mean:g} s, wrap-up {w.wrap_up:g} s, VC delay "
            f"{w.vc_delay:g} s, held person's patience {w.patience:g} s\n  dialer: {env}; switch slots "
            f"PROGRESSIVE = agents, PREDICTIVE = agents x {w.max_dial_ratio + 1:g} + 10")


# printing -------------------------------------------------------------------------------------

def print_team(workload, results, options):
    """The team's table of figures beside the targets; returns the verdict lines for the summary."""
    print(f"\n== {workload.agents} agents")
    for mode, (data, found) in results.items():
        stop = ("every contact dialed before the window ended (figures cover less)" if data.exhausted
                else "stopped after the window, contacts left")
        print(f"  {mode}: {found.window_minutes:.1f} sim-min measured after a {workload.warm_up_minutes:g} "
              f"sim-min warm-up; {stop}; {found.attempts:,} calls placed in the window")
    progressive = results.get("PROGRESSIVE", (None, None))[1]
    predictive = results.get("PREDICTIVE", (None, None))[1]
    rows = _rows(progressive, predictive)
    print(f"  {'figure':44} {'PROGRESSIVE':>16} {'PREDICTIVE':>16}   {'target (PREDICTIVE)':34} met")
    print("  " + "-" * 118)
    for name, left, right, target, met in rows:
        print(f"  {name:44} {left:>16} {right:>16}   {target:34} {met}")
    if predictive is not None:
        _print_predictive_notes(results["PREDICTIVE"][0], predictive)
    for mode, (data, _) in results.items():
        print(f"  {mode} " + cpu_line(*data.cpu))
    verdicts = []
    if predictive is not None:
        verdicts = [f"{workload.agents} agents: {name} {met}" for name, _, _, _, met in rows if met != ""]
    return verdicts


def _rows(progressive, predictive):
    def cell(found, fmt):
        return fmt(found) if found is not None else "-"

    def yes(ok, extra=""):
        return ("yes" if ok else "NO") + extra

    rows = []
    # The occupancy is talk time / logged-in time: the switch's talk with a person. The VC's
    # "busy" also counts an agent reserved first and listening to the ring (PROGRESSIVE).
    occupancy_met = "" if predictive is None else yes(predictive.talk_share >= OCCUPANCY_TARGET)
    rows.append(("agent occupancy (talk with a person / logged in)",
                 cell(progressive, lambda f: f"{f.talk_share:.1%}"), cell(predictive, lambda f: f"{f.talk_share:.1%}"),
                 f">= {OCCUPANCY_TARGET:.0%}", occupancy_met))
    rows.append(("  VC busy / logged in (with ringing, reserved)", cell(progressive, lambda f: f"{f.occupancy:.1%}"),
                 cell(predictive, lambda f: f"{f.occupancy:.1%}"), "", ""))
    rows.append(("  wrapping up (VC, besides busy)", cell(progressive, lambda f: f"{f.wrap_up_share:.1%}"),
                 cell(predictive, lambda f: f"{f.wrap_up_share:.1%}"), "", ""))
    abandon_met = ""
    if predictive is not None:
        worst = max(predictive.abandon_rate, predictive.ledger_rate)
        abandon_met = yes(worst <= ABANDON_CAP, ", aim met" if worst <= ABANDON_AIM else ", aim missed")
        if not predictive.ledger_answered:
            abandon_met += " (vacuous: no call dialed ahead was answered)"
    rows.append(("abandonment, switch (2 s rule, every answer)",
                 cell(progressive, lambda f: f"{f.abandon_rate:.1%} ({f.abandoned}/{f.person_answers})"),
                 cell(predictive, lambda f: f"{f.abandon_rate:.1%} ({f.abandoned}/{f.person_answers})"),
                 f"<= {ABANDON_CAP:.0%} (aim <= {ABANDON_AIM:.0%}), both counts", abandon_met))
    rows.append(("abandonment, dialer ledger (dialed ahead)", "-",
                 cell(predictive, lambda f: f"{f.ledger_rate:.1%} ({f.ledger_abandoned}/{f.ledger_answered})"),
                 "", ""))
    rate_target, rate_met = "", ""
    if progressive is not None:
        rate_target = f">= {RATE_FACTOR:g} x PROGRESSIVE = {RATE_FACTOR * progressive.per_agent_hour:.1f}"
        if predictive is not None:
            ratio = predictive.per_agent_hour / progressive.per_agent_hour if progressive.per_agent_hour else 0.0
            rate_met = yes(ratio >= RATE_FACTOR, f" ({ratio:.2f}x)")
    rows.append(("answered calls per agent-hour (sim hours)", cell(progressive, lambda f: f"{f.per_agent_hour:.1f}"),
                 cell(predictive, lambda f: f"{f.per_agent_hour:.1f}"), rate_target, rate_met))
    rows.append(("answer-to-agent median / p95 (sim s)", cell(progressive, _waits), cell(predictive, _waits), "", ""))
    rows.append(("person answers (switch) / reached an agent",
                 cell(progressive, lambda f: f"{f.person_answers} / {f.reached_agent}"),
                 cell(predictive, lambda f: f"{f.person_answers} / {f.reached_agent}"), "", ""))
    return rows


def _waits(found):
    if not found.waits:
        return "-"
    return f"{found.wait(50):.2f} / {found.wait(95):.2f}"


def _print_predictive_notes(data, found):
    w = data.workload
    print("  PREDICTIVE, the switch's account of person answers: "
          + ", ".join(f"{fate} {n}" for fate, n in found.fates.most_common()))
    if found.waits:
        print(f"  PREDICTIVE answer-to-agent in real ms: median {found.wait(50) * w.scale * 1000:.0f}, p95 "
              f"{found.wait(95) * w.scale * 1000:.0f} (deadline {max(0.1, w.real(w.connect_seconds)) * 1000:.0f} ms)")
    if found.stages_ms:
        print("  PREDICTIVE stages, median real ms: " + ", ".join(f"{k} {v:.0f}" for k, v in found.stages_ms.items()))
    if found.stamp_ahead_ms is not None:
        print(f"  PREDICTIVE the switch's answer stamp minus when the dialer heard it: median "
              f"{found.stamp_ahead_ms:.0f} ms (positive: the deadline counts from a future stamp)")
    checks = ", ".join(f"{k}: {n}" for k, n in found.disagreements.most_common()) or "none"
    print(f"  PREDICTIVE ledger vs switch, call by call: disagreements {checks}; ledger still held at read "
          f"{found.ledger_still_held}")
    summary = pacing_summary(data.pacing)
    if summary:
        ratios, ready = sorted(summary["ratios"]), sorted(summary["ready"])
        ratio_text = (f"dial ratio median {ratios[len(ratios) // 2]:.2f}, max {ratios[-1]:.2f}" if ratios else
                      "never dialed ahead")
        print(f"  PREDICTIVE pacing over {summary['samples']} samples: {summary['share_predictive']:.0%} dialing "
              f"ahead, {ratio_text}; agents ready median {ready[len(ready) // 2] if ready else '-'}; reasons "
              f"(n: a figure): " + "; ".join(f"[{reason}] x{n}" for reason, n in summary["reasons"].most_common(4)))
        print(f"  PREDICTIVE last pacing reason: {summary['last']}")
        print("  PREDICTIVE pacing timeline (sim s into the window: mode target | ringing held reserving | VC ready "
              "wrap-up):")
        for s in timeline(data.pacing):
            vc = " ".join(f"{'-' if n is None else n:>4}" for n in (s.vc_ready, s.vc_wrap_up))
            print(f"    {s.at:6.0f}  {s.mode:11} {s.calls_target:4} | {s.ringing:4} {s.held:3} {s.reserving:4} | {vc}")
    status = data.status
    if "pacing" in status or "abandonment" in status:
        print(f"  PREDICTIVE GET /campaigns/<id>: pacing {status.get('pacing')}, "
              f"abandonment {status.get('abandonment')}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
