"""python -m bench.predictive_horizon [--agents 50 10] [--margins 1.5 2 2.5 3] [--oracle] [--hours 1] [--seeds 2]:
a candidate pacing controller, in bench.predictive_model's world, beside the rule the dialer runs.

The controller (not in the dialer yet; issue 11's note): every second it places the most new calls that
keep the expected cumulative person answers below the expected cumulative free agents at every horizon
h = 1..30 s, less a margin of `m` x sqrt(answers):
- answers by h: each call in flight's chance of a person answer in (age, age + h] given it is still
  unanswered at its age (the world's ring-time distribution, which the dialer would measure as a
  histogram of settled outcomes), plus each new call's p x P(ring <= h);
- free agents by h: ready + wrapping up - held, plus each talking agent free with 1 - exp(-(h - wrap-up)
  / mean talk) (memoryless talk; the VC tells how many wrap up, not when they end).
`--oracle` replaces the chances of calls in flight by their true fates and answer times: what no dialer
knows, a ceiling for this kind of controller. No abandonment budget or fallbacks here: before 30 settled
attempts it places one call per ready agent, then only the margin limits.
"""

import argparse
from math import exp, sqrt

from bench.predictive_model import PERSON, PREDICTIVE, SETTLE_MARGIN, Model, PacingSettings, World, print_row, run_all

HORIZONS = range(1, 31)


class HorizonModel(Model):
    margin = 2.0
    oracle = False

    def tick(self):
        if len(self.settled()) < PacingSettings().min_samples:
            self.dial_progressive()
        else:
            for _ in range(self.calls_to_place()):
                self.dial(agent=False)
        self.at(self.now + self.world.tick, self.tick)

    def settled(self):
        return [at for at, _, _ in self.dials if at <= self.now - self.world.no_answer_seconds - SETTLE_MARGIN]

    def calls_to_place(self):
        w = self.world
        answers = [sum(self.answer_chance(call, h) for call in self.flying.values()) for h in HORIZONS]
        talking = self.busy - self.reserved_dialing
        free = [self.ready + self.wrapping - self.held + talking * (1 - exp(-max(0.0, h - w.wrap_up) / w.talk_mean))
                for h in HORIZONS]
        fresh = [w.person_share * self.ring_share(h) for h in HORIZONS]

        def safe(new):
            for expected, agents, each in zip(answers, free, fresh, strict=True):
                total = expected + new * each
                if total > agents - self.margin * sqrt(max(1.0, total)):
                    return False
            return True

        new = 0
        while new < 3 * w.agents and safe(new + 1):
            new += 1
        return new

    def ring_share(self, seconds):
        """P(ring <= seconds) for a call answered (uniform ring)."""
        w = self.world
        return min(1.0, max(0.0, (seconds - w.ring_min) / (w.ring_max - w.ring_min)))

    def answer_chance(self, call, h):
        dialed_at, fate, due = call
        if self.oracle:
            return 1.0 if fate == PERSON and due <= self.now + h else 0.0
        w, age = self.world, self.now - dialed_at
        rest = 1.0 - (w.person_share + w.machine_share) * self.ring_share(age)
        rest -= w.busy_share if age >= w.busy_seconds else 0.0
        rest -= (1 - w.person_share - w.machine_share - w.busy_share) if age >= w.no_answer_seconds else 0.0
        if rest <= 1e-9:
            return 0.0
        return w.person_share * (self.ring_share(age + h) - self.ring_share(age)) / rest


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.predictive_horizon", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[50, 10])
    parser.add_argument("--margins", type=float, nargs="+", default=[1.5, 2.0, 2.5, 3.0])
    parser.add_argument("--oracle", action="store_true", help="also with the true fates of calls in flight")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=2)
    options = parser.parse_args(argv)
    print(f"bench.predictive_horizon: {options.hours:g} h per run after 10 min warm-up, seeds 1-{options.seeds}")
    print(f"  {'agents':>6} {'controller':12} {'m':>5} {'occupancy':>9} {'abandoned':>16} {'per agent-h':>11}")
    for agents in options.agents:
        world = World(agents=agents)
        base = run_all(world, "PROGRESSIVE", PacingSettings(), options)
        print_row(agents, "PROGRESSIVE", "", base)
        print_row(agents, "dialer's rule", "", run_all(world, PREDICTIVE, PacingSettings(), options), base)
        for oracle in (False, True) if options.oracle else (False,):
            for margin in options.margins:
                model = type("Tuned", (HorizonModel,), {"margin": margin, "oracle": oracle})
                runs = [model(world, PREDICTIVE, PacingSettings(), seed, 600.0, options.hours).run()
                        for seed in range(1, options.seeds + 1)]
                print_row(agents, "oracle" if oracle else "horizon", f"{margin:g}", runs, base)


if __name__ == "__main__":
    main()
