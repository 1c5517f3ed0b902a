"""Promotion gates on a 100,000-row evaluation set with 1,000 bootstrap resamples.

    .venv/bin/python benchmarks/gates.py [--rows 100000] [--boot 1000] [--repeats 3]
        [--reference-rows 100000]

Prints one JSON line. A fresh SQLite project gets 20,000 training rows and ``--rows``
evaluation rows of the synthetic loan portfolio (``rasad.examples``), a champion (a
logistic regression on income and age) serving in production and a candidate (with
debt-to-income, credit history and employment years too). Medians over ``--repeats`` of:

- ``intervals_s``: :func:`rasad.evaluation.uncertainty.metric_intervals` for roc_auc,
  brier and accuracy together (the metrics gate's computation), on arrays in memory;
- ``interval_s``: the same for roc_auc alone (the cost of one metric);
- ``champion_delong_s``: :func:`~rasad.evaluation.uncertainty.compare` on roc_auc
  (DeLong); ``champion_bootstrap_s``: on brier (paired bootstrap);
- ``gates_s``: the metrics and champion gates as promotion runs them (fresh inputs: the
  evaluation data loaded, both models loaded and scored, then the statistics);
- ``all_gates_s``: :func:`rasad.release.gates.evaluate` with every gate of the
  production policy, when every gate module exists (otherwise null, and why).

DeLong agreement: the AUCs, standard error and p-value of
:func:`rasad.evaluation.uncertainty.delong` against a brute-force O(positives x
negatives) implementation from the Mann-Whitney kernel (written here, in chunks) on the
first ``--reference-rows`` evaluation rows; ``delong_max_abs_diff`` is the largest
absolute difference. The AUCs are also checked against SciPy's Mann-Whitney U.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _common import emit, median  # noqa: E402

from rasad.config import GATES, PromotionConfig  # noqa: E402

TRAIN_ROWS = 20_000
MODEL_TESTS = [  # one of each kind, as a project would declare them
    {"name": "more debt never lowers risk", "kind": "directional", "column": "income",
     "change": -1000.0, "direction": "no_decrease", "outcome": 1},
    {"name": "region does not matter", "kind": "invariance", "column": "region"},
    {"name": "young applicants", "kind": "slice_performance", "metric": "roc_auc",
     "slice": {"column": "age", "max": 30}, "min": 0.5},
    {"name": "odd inputs", "kind": "robustness"},
]
BASE = ["income", "age"]
STRONG = [*BASE, "debt_to_income", "credit_history_years", "employment_years"]


def reference_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """DeLong's AUCs, standard error and p-value, every positive against every negative."""
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    aucs, v10s, v01s = [], [], []
    for score in (a, b):
        x, z = score[pos], score[neg]
        v10 = np.empty(m)
        v01 = np.zeros(n)
        step = max(1, 20_000_000 // n)
        for first in range(0, m, step):
            block = x[first:first + step, None]
            psi = (block > z[None, :]) + 0.5 * (block == z[None, :])
            v10[first:first + step] = psi.mean(axis=1)
            v01 += psi.sum(axis=0)
        v01 /= m
        aucs.append(float(v10.mean()))
        v10s.append(v10)
        v01s.append(v01)
    cov = np.cov(np.vstack(v10s)) / m + np.cov(np.vstack(v01s)) / n
    se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z = (aucs[0] - aucs[1]) / se
    return {"auc_a": aucs[0], "auc_b": aucs[1], "standard_error": se,
            "p_value": float(2 * stats.norm.sf(abs(z)))}


def timed(repeats: int, call: Any) -> tuple[float, list[float], Any]:
    walls, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        walls.append(time.perf_counter() - started)
    return median(walls), [round(w, 3) for w in walls], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("RASAD_USER", "bench")

    from rasad import Project
    from rasad.evaluation.uncertainty import compare, delong, metric_intervals
    from rasad.examples import generate_portfolio
    from rasad.registry import promotion
    from rasad.release.gates import champion, evaluate, metrics
    from rasad.release.gates._base import GateInputs

    total = TRAIN_ROWS + args.rows
    data = generate_portfolio(months=6, rows_per_month=math.ceil(total / 6), seed=5)
    with tempfile.TemporaryDirectory() as tmp, Project.init(Path(tmp) / "p") as project:
        project.add_dataset(data.iloc[:TRAIN_ROWS].reset_index(drop=True), "loans")
        project.add_dataset(data.iloc[TRAIN_ROWS:total].reset_index(drop=True), "loans-eval")
        versions = []
        for features in (BASE, STRONG):
            run = project.train(dataset="loans", target="default", features=features,
                                estimator="sklearn.linear_model.LogisticRegression",
                                params={"max_iter": 500}).run
            versions.append(project.register(run.id, "credit"))
        old, new = versions
        promotion.promote(project.context, "credit", old.version, "production")
        for name in ("loans", "loans-eval"):  # the validation gate checks both
            project.infer_schema(name)
        config = PromotionConfig.model_validate({
            "evaluation_data": "loans-eval", "bootstrap": args.boot,
            "metrics": {"roc_auc": {"min": 0.6, "basis": "bound"}, "brier": {"max": 0.2},
                        "accuracy": {"min": 0.5}},
            "personal_data": {"allowed": {"age": "benchmark: age is a declared input"}},
            "tests": MODEL_TESTS})
        declared = project.config.model_dump(by_alias=True)
        declared["data"]["protected_attributes"] = ["gender", "nationality"]
        declared["governance"]["fairness"]["favorable_outcomes"] = {"default": 0}
        declared["promotion"] = config.model_dump(by_alias=True)
        ctx = dataclasses.replace(project.context,
                                  config=type(project.config).model_validate(declared))

        def inputs() -> GateInputs:
            return GateInputs(ctx, new, "production", config.policy(
                "production", ctx.config.registry.environments), config)

        warm = inputs()
        y = warm.evaluation.y_true  # type: ignore[union-attr]
        cand, champ = warm.candidate_scores, warm.champion_scores
        assert champ is not None
        three = ["roc_auc", "brier", "accuracy"]
        intervals_s, intervals_runs, found = timed(args.repeats, lambda: metric_intervals(
            three, y, predictions=cand.predictions, proba=cand.proba, classes=cand.classes,
            n_boot=args.boot))
        interval_s, _, _ = timed(args.repeats, lambda: metric_intervals(
            ["roc_auc"], y, proba=cand.proba, classes=cand.classes, n_boot=args.boot))
        delong_s, _, by_delong = timed(args.repeats, lambda: compare(
            "roc_auc", y, (champ.predictions, champ.proba), (cand.predictions, cand.proba),
            classes=cand.classes))
        boot_s, boot_runs, by_boot = timed(args.repeats, lambda: compare(
            "brier", y, (champ.predictions, champ.proba), (cand.predictions, cand.proba),
            classes=cand.classes, n_boot=args.boot))
        gates_s, gates_runs, results = timed(args.repeats, lambda: (
            lambda shared: [metrics.run(shared), champion.run(shared)])(inputs()))
        missing = [g for g in GATES
                   if importlib.util.find_spec(f"rasad.release.gates.{g}") is None]
        all_gates: dict[str, Any] = {"all_gates_s": None,
                                     "all_gates_missing_modules": missing}
        if not missing:
            try:
                all_s, all_runs, report = timed(
                    args.repeats, lambda: evaluate(ctx, new, "production"))
                all_gates = {"all_gates_s": all_s, "all_gates_runs": all_runs,
                             "all_gates_status": {g.gate: str(g.status) for g in report.gates}}
            except Exception as exc:  # another gate's failure is reported, not hidden
                all_gates["all_gates_error"] = f"{type(exc).__name__}: {exc}"

        rows = min(args.reference_rows, y.shape[0])
        labels = (y[:rows] == cand.classes[1]).astype(int)
        a, b = cand.proba[:rows, 1], champ.proba[:rows, 1]
        started = time.perf_counter()
        ref = reference_delong(labels, a, b)
        reference_s = time.perf_counter() - started
        fast = delong(labels, a, b)
        diffs = [abs(fast.auc_a - ref["auc_a"]), abs(fast.auc_b - ref["auc_b"]),
                 abs(fast.standard_error - ref["standard_error"]),
                 abs(fast.p_value - ref["p_value"])]
        u = stats.mannwhitneyu(a[labels == 1], a[labels == 0]).statistic
        scipy_diff = abs(u / (labels.sum() * (1 - labels).sum()) - fast.auc_a)

    emit({
        "bench": "gates", "rows": int(y.shape[0]), "n_boot": args.boot,
        "repeats": args.repeats,
        "intervals_s": intervals_s, "intervals_runs": intervals_runs,
        "interval_roc_auc_s": interval_s,
        "champion_delong_s": delong_s, "champion_bootstrap_s": boot_s,
        "champion_bootstrap_runs": boot_runs,
        "gates_s": gates_s, "gates_runs": gates_runs, **all_gates,
        "gate_status": {r.gate: str(r.status) for r in results},
        "intervals": {i.metric.value: [round(i.lower, 5), round(i.estimate, 5),
                                       round(i.upper, 5)] for i in found},
        "champion": {"roc_auc_difference": by_delong.difference,
                     "roc_auc_lower_bound": by_delong.lower_bound,
                     "brier_difference": by_boot.difference,
                     "brier_lower_bound": by_boot.lower_bound},
        "delong_reference_rows": rows, "delong_reference_s": round(reference_s, 2),
        "delong_max_abs_diff": max(diffs), "auc_vs_scipy_mannwhitneyu": float(scipy_diff),
    })


if __name__ == "__main__":
    main()
