"""``phis evaluate-detectors``: compare detectors on simulated outbreaks (Noufaily et al. 2013).

    phis evaluate-detectors --methods ears-c1,farrington,farrington-noufaily \\
        --scenarios S01,S10 --sims 100 --seed 1 --k 5 --output report.csv

Writes one row per detector and scenario: probability of detection (``pod``), false-positive
rate (``fpr``), ``sensitivity`` and ``timeliness`` (0 best, 1 missed), with the number of
alarms and of undefined periods. ``--list`` prints the scenarios. The same simulated series
are used for every detector (common random numbers); a given ``--seed`` reproduces the report.
"""

from __future__ import annotations

import argparse
import json
import sys

from phis.cli._series_io import atomic_output, write_csv_atomic

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from phis.algorithms.evaluation import (
        DETECTOR_ADAPTERS,
        NOUFAILY_SCENARIOS,
        evaluate_detectors,
    )

    parser = argparse.ArgumentParser(prog="phis evaluate-detectors",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="ears-c1,ears-c2,ears-c3,farrington,"
                        "farrington-noufaily,cusum,mpm",
                        help=f"comma-separated, from: {', '.join(sorted(DETECTOR_ADAPTERS))}")
    parser.add_argument("--scenarios", default="all", help="comma-separated names or 'all'")
    parser.add_argument("--sims", type=int, default=50, help="simulated series per scenario")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=float, default=5.0,
                        help="outbreak size in baseline standard deviations")
    parser.add_argument("--weeks", type=int, default=624, help="length of each series")
    parser.add_argument("--eval-weeks", type=int, default=49, help="weeks evaluated at the end")
    parser.add_argument("--past-outbreaks", type=int, default=4)
    parser.add_argument("--output", help="CSV report ('-' for stdout)")
    parser.add_argument("--metadata", help="also write the parameters to this JSON file")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)

    if args.list:
        for s in NOUFAILY_SCENARIOS:
            print(f"{s.name}: theta={s.theta} beta={s.beta} harmonics={s.m} "
                  f"gamma=({s.gamma1},{s.gamma2}) phi={s.phi}")
        return 0
    if not args.output:
        parser.error("--output is required")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    by_name = {s.name: s for s in NOUFAILY_SCENARIOS}
    if args.scenarios.strip().lower() == "all":
        scenarios = list(NOUFAILY_SCENARIOS)
    else:
        names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
        missing = [n for n in names if n not in by_name]
        if missing:
            print(f"phis evaluate-detectors: error: unknown scenarios {missing} "
                  "(see --list)", file=sys.stderr)
            return 2
        scenarios = [by_name[n] for n in names]
    if args.sims < 1:
        print("phis evaluate-detectors: error: --sims must be >= 1", file=sys.stderr)
        return 2
    try:
        report = evaluate_detectors(methods, scenarios=scenarios, n_series=args.sims,
                                    seed=args.seed, n_weeks=args.weeks,
                                    eval_weeks=args.eval_weeks, k=args.k,
                                    past_outbreaks=args.past_outbreaks)
    except ValueError as exc:
        print(f"phis evaluate-detectors: error: {exc}", file=sys.stderr)
        return 2
    try:
        write_csv_atomic(args.output, report.header, report.as_table())
        if args.metadata:
            meta = {"algorithm": report.algorithm, "version": report.version,
                    "parameters": dict(report.parameters)}
            write_csv_meta = json.dumps(meta, indent=2, default=list) + "\n"
            with atomic_output(args.metadata) as handle:
                handle.write(write_csv_meta)
    except OSError as exc:
        print(f"phis evaluate-detectors: error: cannot write output: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
