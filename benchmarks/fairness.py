"""Fairness assessment with bootstrap intervals at 1,000,000 rows: rasad against a Fairlearn loop.

    .venv/bin/python benchmarks/fairness.py --rows 1000000 --boot 1000 --repeats 3

Data: seeded synthetic labels, predictions (selection rates that differ by group) and
scores, with three sensitive attributes: gender (2 groups), nationality (5) and age
(numeric, binned into 5 bands by user edges). rasad runs
:func:`rasad.governance.fairness.assess` with ``n_boot`` resamples (``--scores`` adds
roc_auc, whose interval uses 200 resamples). The peer is what a Fairlearn user writes
for the same intervals: per resample, draw row indices within each group (stratified,
like rasad) and build one ``MetricFrame`` per attribute with the same group metrics.
That loop runs ``--peer-boot`` resamples (default 3; each takes seconds), extrapolated to
``n_boot``; the JSON says so. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score

sys.path.insert(0, str(Path(__file__).parent))
from _common import emit, median  # noqa: E402

from rasad.governance.fairness import assess  # noqa: E402

AGE_BINS = [18, 25, 35, 50, 65, 120]


def make_data(rows: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sensitive = pd.DataFrame({
        "gender": rng.choice(["F", "M"], rows, p=[0.4, 0.6]),
        "nationality": rng.choice(["SA", "EG", "IN", "PK", "PH"], rows,
                                  p=[0.6, 0.15, 0.12, 0.08, 0.05]),
        "age": rng.integers(18, 80, rows),
    })
    y = (rng.random(rows) < 0.2).astype(np.int64)
    score = np.clip(0.35 * y + rng.random(rows) * 0.65
                    - 0.05 * (sensitive["gender"].to_numpy() == "F"), 0, 1)
    pred = (score >= 0.5).astype(np.int64)
    return {"y": y, "pred": pred, "score": score, "sensitive": sensitive}


def fairlearn_loop(data: dict[str, Any], n_boot: int, seed: int = 0) -> float:
    """Seconds for ``n_boot`` stratified resamples, one MetricFrame per attribute each."""
    metrics = {"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
               "false_positive_rate": false_positive_rate,
               "precision": functools.partial(precision_score, zero_division=np.nan),
               "accuracy": accuracy_score}
    sensitive = data["sensitive"].copy()
    sensitive["age"] = pd.cut(sensitive["age"], AGE_BINS, right=False).astype(str)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for name in sensitive.columns:
        column = sensitive[name].to_numpy()
        rows = [np.flatnonzero(column == g) for g in np.unique(column)]
        for _ in range(n_boot):
            picked = np.concatenate([r[rng.integers(0, len(r), len(r))] for r in rows])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = MetricFrame(metrics=metrics, y_true=data["y"][picked],
                                    y_pred=data["pred"][picked],
                                    sensitive_features=column[picked])
                frame.by_group.to_numpy()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-boot", type=int, default=3)
    parser.add_argument("--scores", action="store_true", help="also pass scores (roc_auc)")
    args = parser.parse_args()

    data = make_data(args.rows)
    walls = []
    report = None
    for _ in range(args.repeats):
        started = time.perf_counter()
        report = assess(data["y"], data["pred"], data["sensitive"],
                        data["score"] if args.scores else None, bins={"age": AGE_BINS},
                        n_boot=args.boot, seed=0)
        walls.append(time.perf_counter() - started)
    assert report is not None
    peer_boot = min(args.peer_boot, args.boot)
    peer = fairlearn_loop(data, peer_boot)
    peer_full = peer * args.boot / peer_boot
    emit({
        "bench": "fairness", "rows": args.rows, "attributes": 3,
        "groups": [len(a.groups) for a in report.attributes], "n_boot": args.boot,
        "scores": args.scores, "repeats": args.repeats,
        "rasad_s_median": median(walls), "rasad_s_runs": [round(t, 3) for t in walls],
        "fairlearn_loop_s": peer_full,
        "fairlearn_loop_extrapolated": peer_boot < args.boot,
        "fairlearn_loop_measured_boot": peer_boot, "fairlearn_loop_measured_s": peer,
        "speedup": peer_full / median(walls), "verdict": str(report.verdict),
    })


if __name__ == "__main__":
    main()
