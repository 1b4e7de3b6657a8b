"""Dashboard speed: from a widget change to the updated display, at 100,000 simulated years.

Run by hand: ``python benchmarks/bench_dashboard.py`` (target: at most 300 ms per change).
Each change sets a widget value, exactly as a click does; the time is the dashboard's own
measure from the callback to the last output widget written (:attr:`Dashboard.elapsed`),
checked against the wall clock around the assignment.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskmodel.outputs.dashboard import Dashboard  # noqa: E402


def timed(set_value) -> float:
    t = time.perf_counter()
    set_value()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--practice", default="meadowbank-average",
                    help="practice folder (meadowbank-average has the most frequent risk)")
    args = ap.parse_args()
    t = time.perf_counter()
    d = Dashboard(ROOT / "registers", args.practice, trials=args.trials, warm_up=False)
    print(f"open {args.practice} at {args.trials:,} trials (simulate and first display): {time.perf_counter() - t:.2f} s")
    policy = []
    for limit in (100_000, 250_000, 500_000, 1_000_000, 50_000):
        policy.append(timed(lambda: setattr(d.aggregate_limit, "value", limit)))
    for excess in (0, 2_500, 10_000, 1_000):
        policy.append(timed(lambda: setattr(d.excess, "value", excess)))
    for hours in (0, 24, 12):
        policy.append(timed(lambda: setattr(d.waiting_period, "value", hours)))
    for comp in ("extortion", "liability", "incident_response"):
        box = d.sections[comp]
        policy.append(timed(lambda: setattr(box, "value", not box.value)))
        policy.append(timed(lambda: setattr(box, "value", not box.value)))
    new, seen, names = [], [], []
    for name, box in d.controls.items():
        new.append(timed(lambda: setattr(box, "value", not box.value)))     # a scenario not seen before
        seen.append(timed(lambda: setattr(box, "value", not box.value)))    # back: cached scenario
        names.append(name)
    # the same, with the background warm-up, toggling after it finished (a partner reading the screen)
    w = Dashboard(ROOT / "registers", args.practice, trials=args.trials, warm_up=True)
    warm, waits = [], []
    for name, box in w.controls.items():
        t = time.perf_counter()
        w.wait_for_warm_up()
        waits.append(time.perf_counter() - t)
        warm.append(timed(lambda: setattr(box, "value", not box.value)))
        w.wait_for_warm_up()
        box.value = not box.value
    print(f"warm-up after a change: up to {max(waits):.1f} s in the background")
    for label, xs in (("policy term change", policy), ("control toggle, new scenario", new),
                      ("control toggle, back to a seen one", seen),
                      ("control toggle after the warm-up", warm)):
        print(f"{label:36s} n={len(xs):2d}  median {1000 * statistics.median(xs):6.0f} ms  "
              f"max {1000 * max(xs):6.0f} ms")
    print(f"slowest control toggle: {names[new.index(max(new))]}; over 300 ms: "
          f"{sum(x > 0.3 for x in new)} of {len(new)} cold, {sum(x > 0.3 for x in warm)} of {len(warm)} warmed")


if __name__ == "__main__":
    main()
