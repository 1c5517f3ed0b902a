"""Calibration of rasad's drift verdict: false alarms without drift, detections with it.

    .venv/bin/python benchmarks/drift_calibration.py                   # 1k, 100k, 1M rows
    .venv/bin/python benchmarks/drift_calibration.py --sizes 1000 --repeats 200 --markdown

Data: rasad.examples.generate_drift_table, the peer benchmarks' tables (40 numeric
columns of normal, lognormal and uniform distributions, 10 categorical with 5 to 50
categories). For each size n, a
table of 2n rows from the reference distribution is split at random into two halves:
a pair with no drift. Each scenario then injects a drift of known size into the
current half:

- mean shift of 0.01 (trivial), 0.1 and 0.5 standard deviations, and a scale change
  (x1.5 around the mean), each in the 10 numeric columns n00-n09;
- a category frequency change in the 10 categorical columns: 40% of the mass moved
  onto the reversed profile (CategoricalColumn.shifted_weights), and a milder 10%.

For each policy (rasad's default, and Evidently's rule written as a policy) and
scenario it reports the share of repeats where the dataset verdict says drift, the
share of injected columns flagged, and the share of other columns flagged (false
alarms). Prints one JSON line, or with --markdown the tables for docs/drift.md.

--profile-accuracy instead compares against a ReferenceProfile and against the rows
themselves (normal, lognormal, uniform and Poisson columns, shifted by 0, 0.05 and
0.3, at 10,000 to 1,000,000 rows) and reports the largest differences.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit  # noqa: E402

from rasad.drift import DriftPolicy, ReferenceProfile, compare  # noqa: E402
from rasad.examples import (  # noqa: E402
    CATEGORICAL_COLUMNS,
    NUMERIC_COLUMNS,
    generate_drift_table,
)

INJECTED_NUMERIC = [f"n{i:02d}" for i in range(10)]
SCENARIOS = ("no drift", "mean +0.01 std", "mean +0.1 std", "mean +0.5 std", "scale x1.5",
             "categories 10%", "categories 40%")
POLICIES = {"rasad default": DriftPolicy(), "Evidently-like": DriftPolicy.evidently_like()}


def split(big: pd.DataFrame, rows: int, rng: np.random.Generator
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = rng.permutation(len(big))
    return (big.iloc[order[:rows]].reset_index(drop=True),
            big.iloc[order[rows:2 * rows]].reset_index(drop=True))


def inject(current: pd.DataFrame, scenario: str, rng: np.random.Generator
           ) -> tuple[pd.DataFrame, list[str]]:
    if scenario == "no drift":
        return current, []
    current = current.copy()
    if scenario.startswith(("mean", "scale")):
        for column in NUMERIC_COLUMNS:
            if column.name not in INJECTED_NUMERIC:
                continue
            x = current[column.name].to_numpy()
            if scenario.startswith("mean"):
                current[column.name] = x + float(scenario.split("+")[1].split()[0]) * column.std
            else:
                current[column.name] = column.mean + 1.5 * (x - column.mean)
        return current, INJECTED_NUMERIC
    moved = 0.4 if scenario.endswith("40%") else 0.1
    for cat in CATEGORICAL_COLUMNS:
        codes = rng.choice(len(cat.weights), size=len(current), p=cat.shifted_weights(moved))
        current[cat.name] = pd.Categorical.from_codes(
            codes, categories=cat.labels).astype(object)
    return current, [cat.name for cat in CATEGORICAL_COLUMNS]


def run(sizes: list[int], repeats: dict[int, int], seed: int) -> dict[str, Any]:
    rows_out = []
    for rows in sizes:
        started = time.perf_counter()
        big = generate_drift_table(2 * rows)
        rng = np.random.default_rng(seed + rows)
        tallies = {(p, s): {"verdicts": 0, "hits": 0.0, "false": 0.0}
                   for p in POLICIES for s in SCENARIOS}
        for _ in range(repeats[rows]):
            reference, base = split(big, rows, rng)
            for scenario in SCENARIOS:
                current, injected = inject(base, scenario, rng)
                others = [c for c in reference.columns if c not in injected]
                for name, policy in POLICIES.items():
                    report = compare(reference, current, policy=policy)
                    flagged = set(report.drifted_columns)
                    tally = tallies[(name, scenario)]
                    tally["verdicts"] += report.drifted
                    if injected:
                        tally["hits"] += len(flagged & set(injected)) / len(injected)
                    tally["false"] += len(flagged - set(injected)) / len(others)
        n = repeats[rows]
        for (policy, scenario), tally in tallies.items():
            rows_out.append({
                "rows": rows, "policy": policy, "scenario": scenario, "repeats": n,
                "dataset_flag_rate": tally["verdicts"] / n,
                "injected_columns_flagged": tally["hits"] / n if scenario != "no drift" else None,
                "other_columns_flagged": tally["false"] / n,
            })
        print(f"# {rows:,} rows: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return {"bench": "drift_calibration", "results": rows_out}


def profile_accuracy(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    makers = {
        "normal": lambda n, s: rng.normal(s, 1, n),
        "lognormal": lambda n, s: rng.lognormal(s, 0.6, n),
        "uniform": lambda n, s: rng.uniform(s, 1 + s, n),
        "poisson": lambda n, s: rng.poisson(3 + s, n).astype(float),
    }
    out = []
    for rows in (10_000, 100_000, 1_000_000):
        reference = pd.DataFrame({name: make(rows, 0.0) for name, make in makers.items()})
        profile = ReferenceProfile.from_frame(reference)
        worst = {"ks": 0.0, "wasserstein": 0.0}
        same = identical = 0
        for shift in (0.0, 0.05, 0.3):
            current = pd.DataFrame({name: make(rows, shift) for name, make in makers.items()})
            exact, approx = compare(reference, current), compare(profile, current)
            for name in makers:
                e, a = exact.column(name), approx.column(name)
                for method in worst:
                    worst[method] = max(worst[method], abs(
                        e.result(method).statistic - a.result(method).statistic))
                same += e.drifted == a.drifted
                identical += all(e.result(m).statistic == a.result(m).statistic
                                 for m in ("psi", "jensen_shannon"))
        out.append({"rows": rows, "max_ks_difference": worst["ks"],
                    "max_wasserstein_difference": worst["wasserstein"],
                    "same_verdicts": same, "psi_js_identical": identical,
                    "comparisons": 3 * len(makers)})
    return {"bench": "drift_profile_accuracy", "results": out}


def markdown(result: dict[str, Any]) -> str:
    lines = []
    for policy in POLICIES:
        lines += [f"\n{policy}:\n",
                  "| rows | scenario | repeats | dataset flagged | injected columns flagged "
                  "| other columns flagged |",
                  "| ---: | --- | ---: | ---: | ---: | ---: |"]
        for r in result["results"]:
            if r["policy"] != policy:
                continue
            hit = r["injected_columns_flagged"]
            lines.append(
                f"| {r['rows']:,} | {r['scenario']} | {r['repeats']} | "
                f"{r['dataset_flag_rate']:.0%} | {'-' if hit is None else f'{hit:.1%}'} | "
                f"{r['other_columns_flagged']:.2%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per size (default: 100 at 1k, 20 at 100k, 5 at 1M)")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--profile-accuracy", action="store_true")
    args = parser.parse_args()
    if args.profile_accuracy:
        emit(profile_accuracy(args.seed))
        return
    default = {1_000: 100, 100_000: 20, 1_000_000: 5}
    repeats = {n: args.repeats or default.get(n, 10) for n in args.sizes}
    result = run(args.sizes, repeats, args.seed)
    if args.markdown:
        print(markdown(result))
    else:
        emit(result)


if __name__ == "__main__":
    main()
