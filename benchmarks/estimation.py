"""Performance estimation without labels, validated against realized metrics.

    .venv/bin/python benchmarks/estimation.py [--seeds 5] [--adaptive] [--peers]

Simulates a classifier and a regressor under KNOWN covariate shift: the
feature distribution moves chunk by chunk while ``P(y | x)`` stays fixed, and
the models (trained once on a separate training draw) are misspecified, so
their calibration and error are not the same everywhere. rasad's CBPE and DLE
are fitted on a labelled reference draw and estimate every current chunk; the
estimates are compared with the realized metrics of the (hidden) labels.

Prints one JSON line: per metric, the mean absolute error (MAE) of rasad's
estimates over all current chunks and seeds, the MAE of two yardsticks (the
reference's realized value carried forward, i.e. assuming nothing changed; and
the *oracle*, the expectation under the true probabilities, whose error is pure
label noise), the share of chunks whose realized value lies in the 95% band,
and the run time. With ``--peers`` the same data goes, through a temporary
Parquet file, to NannyML 0.13.1's CBPE and DLE in its own venv, and its MAE and
time are reported beside rasad's.

The simulators are imported by ``tests/monitoring`` so that the test and the
table in ``docs/performance.md`` use one recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

sys.path.insert(0, str(Path(__file__).parent))
from _common import PEERS, emit  # noqa: E402

FEATURES = ["x1", "x2", "x3", "x4"]
CLASSIFICATION_METRICS = ["roc_auc", "accuracy", "f1", "precision", "recall"]
REGRESSION_METRICS = ["mae", "rmse"]


@dataclass(frozen=True)
class Simulated:
    """A reference and a current frame (with labels) and the true probabilities or means."""

    reference: pd.DataFrame
    current: pd.DataFrame
    chunk: int
    truth: np.ndarray  # P(y=1|x) (classification) or E[y|x] (regression) of the current rows


def _features(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    # Covariate shift of size `shift`: x1 moves right, x2 left, x4 spreads out.
    return pd.DataFrame({
        "x1": rng.normal(shift, 1.0, n),
        "x2": rng.normal(-0.5 * shift, 1.0, n),
        "x3": rng.normal(0.0, 1.0, n),
        "x4": rng.normal(0.0, 1.0 + 0.5 * shift, n),
    })


def _true_logit(x: pd.DataFrame, nonlinearity: float) -> np.ndarray:
    # An interaction and a curvature that a linear logistic model cannot represent,
    # scaled by `nonlinearity` (0: the model is correctly specified).
    return np.asarray(-0.3 + 1.2 * x.x1 - 1.0 * x.x2 + 0.6 * x.x3
                      + nonlinearity * (0.5 * x.x1 * x.x2 - 0.4 * (x.x4**2 - 1.0)))


def _shifts(chunks: int, max_shift: float) -> np.ndarray:
    return np.linspace(0.0, max_shift, chunks)


def simulate_classification(seed: int, *, nonlinearity: float = 0.5, train: int = 5_000,
                            reference: int = 20_000, chunk: int = 5_000, chunks: int = 10,
                            max_shift: float = 1.5,
                            current_seed: int | None = None) -> Simulated:
    """A LogisticRegression, a reference draw, and ``chunks`` current chunks of growing shift.

    The shift of chunk ``k`` is ``max_shift * k / (chunks - 1)`` (the first chunk
    is unshifted). ``nonlinearity`` scales the part of the true log-odds that
    the linear model misses; the larger it is, the more the model's calibration
    changes as the features move, which is what CBPE cannot see. With
    ``current_seed`` the current chunks are a fresh draw from their own
    generator (same model, same reference), for out-of-sample checks.
    """
    rng = np.random.default_rng(seed)

    def label(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        p = 1.0 / (1.0 + np.exp(-_true_logit(x, nonlinearity)))
        return (draw.random(len(x)) < p).astype(int), p

    draw = rng

    x_train = _features(rng, train, 0.0)
    model = LogisticRegression().fit(x_train[FEATURES], label(x_train)[0])

    def frame(x: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        y, p = label(x)
        score = model.predict_proba(x[FEATURES])[:, 1]
        return x.assign(y=y, score=score, pred=(score >= 0.5).astype(int)), p

    ref, _ = frame(_features(rng, reference, 0.0))
    if current_seed is not None:
        draw = rng = np.random.default_rng(current_seed)
    parts = [frame(_features(rng, chunk, s)) for s in _shifts(chunks, max_shift)]
    current = pd.concat([p[0] for p in parts], ignore_index=True)
    return Simulated(ref, current, chunk, np.concatenate([p[1] for p in parts]))


def simulate_regression(seed: int, *, train: int = 5_000, reference: int = 20_000,
                        chunk: int = 5_000, chunks: int = 10, max_shift: float = 1.5,
                        current_seed: int | None = None) -> Simulated:
    """A LinearRegression missing curvature and heteroscedastic noise, under covariate shift."""
    rng = np.random.default_rng(seed)

    def target(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        mean = np.asarray(2.0 * x.x1 - x.x2 + 0.5 * x.x2**2 + 0.3 * x.x3 * x.x4)
        noise = draw.normal(0.0, 1.0, len(x)) * np.asarray(0.5 + 0.5 * np.abs(x.x1))
        return mean + noise, mean

    draw = rng

    x_train = _features(rng, train, 0.0)
    model = LinearRegression().fit(x_train[FEATURES], target(x_train)[0])

    def frame(x: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        y, mean = target(x)
        return x.assign(y=y, pred=model.predict(x[FEATURES])), mean

    ref, _ = frame(_features(rng, reference, 0.0))
    if current_seed is not None:
        draw = rng = np.random.default_rng(current_seed)
    parts = [frame(_features(rng, chunk, s)) for s in _shifts(chunks, max_shift)]
    current = pd.concat([p[0] for p in parts], ignore_index=True)
    return Simulated(ref, current, chunk, np.concatenate([p[1] for p in parts]))


def run_cbpe(sim: Simulated, *, adaptive: bool = False) -> dict[str, Any]:
    """rasad's CBPE on one simulation: estimates, realized values, yardsticks, time."""
    from rasad.drift.chunking import Chunker
    from rasad.monitoring import CBPE, expected_confusion_metrics, expected_roc_auc

    cbpe = CBPE(target="y", score="score", prediction="pred", chunker=Chunker(size=sim.chunk),
                features=FEATURES if adaptive else None)
    started = time.perf_counter()
    report = cbpe.fit(sim.reference).estimate(sim.current.drop(columns="y"))
    elapsed = time.perf_counter() - started
    labelled = cbpe.estimate(sim.current)
    out: dict[str, Any] = {"seconds": elapsed, "calibrated": report.calibration.applied
                           if report.calibration else None}
    for name in CLASSIFICATION_METRICS:
        rows = []
        reference_mean = float(np.mean([c.metrics[name].realized for c in labelled.reference]))
        for chunk, with_labels in zip(report.current, labelled.current, strict=True):
            m, realized = chunk.metrics[name], with_labels.metrics[name].realized
            start = int(chunk.key[1:].split(":")[0])
            stop = start + chunk.rows
            p, s = sim.truth[start:stop], sim.current.score.to_numpy()[start:stop]
            oracle = (expected_roc_auc(p, s)[0] if name == "roc_auc" else
                      expected_confusion_metrics(p, s >= 0.5)[name][0])
            rows.append((m.estimate, realized, m.band_lower, m.band_upper, oracle,
                         reference_mean))
        out[name] = rows
    return out


def run_dle(sim: Simulated) -> dict[str, Any]:
    """rasad's DLE on one simulation."""
    from rasad.drift.chunking import Chunker
    from rasad.monitoring import DLE

    dle = DLE(target="y", prediction="pred", features=FEATURES, chunker=Chunker(size=sim.chunk))
    started = time.perf_counter()
    report = dle.fit(sim.reference).estimate(sim.current.drop(columns="y"))
    elapsed = time.perf_counter() - started
    labelled = dle.estimate(sim.current)
    out: dict[str, Any] = {"seconds": elapsed}
    for name in REGRESSION_METRICS:
        reference_mean = float(np.mean([c.metrics[name].realized for c in labelled.reference]))
        rows = []
        for chunk, with_labels in zip(report.current, labelled.current, strict=True):
            m = chunk.metrics[name]
            rows.append((m.estimate, with_labels.metrics[name].realized, m.band_lower,
                         m.band_upper, None, reference_mean))
        out[name] = rows
    return out


def summarise(runs: list[dict[str, Any]], metrics: list[str]) -> dict[str, Any]:
    """MAE of the estimates and the yardsticks, and band coverage, over all chunks of all runs."""
    out: dict[str, Any] = {"seconds_median": float(np.median([r["seconds"] for r in runs]))}
    for name in metrics:
        rows = np.array([row for r in runs for row in r[name]], dtype=np.float64)
        estimate, realized, low, high, oracle, carried = rows.T
        out[name] = {
            "mae": float(np.mean(np.abs(estimate - realized))),
            "max_error": float(np.max(np.abs(estimate - realized))),
            "band_coverage": float(np.mean((realized >= low) & (realized <= high))),
            "mae_no_change": float(np.mean(np.abs(carried - realized))),
            "mae_oracle": (None if np.isnan(oracle).all()
                           else float(np.mean(np.abs(oracle - realized)))),
            "realized_range": [float(realized.min()), float(realized.max())],
        }
    return out


_NANNYML = r"""
import json, os, sys, time, warnings
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
warnings.filterwarnings("ignore")
import pandas as pd
import nannyml as nml
kind, ref_path, cur_path, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
metrics = json.loads(sys.argv[5])
started = time.perf_counter()
if kind == "cbpe":
    est = nml.CBPE(y_pred_proba="score", y_pred="pred", y_true="y", metrics=metrics,
                   problem_type="classification_binary", chunk_size=chunk)
else:
    est = nml.DLE(feature_column_names=json.loads(sys.argv[6]), y_pred="pred", y_true="y",
                  metrics=metrics, chunk_size=chunk)
est.fit(ref)
res = est.estimate(cur.drop(columns="y"))
elapsed = time.perf_counter() - started
df = res.filter(period="analysis").to_df()
print(json.dumps({"seconds": elapsed, "version": nml.__version__,
                  "estimates": {m: df[(m, "value")].tolist() for m in metrics}}))
"""


def run_nannyml(kind: str, sim: Simulated, metrics: list[str]) -> dict[str, Any]:
    python = PEERS / "nannyml-venv" / "bin" / "python"
    if not python.exists():
        return {"error": f"NannyML venv not found at {python}"}
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, cur_path = Path(tmp) / "reference.parquet", Path(tmp) / "current.parquet"
        sim.reference.to_parquet(ref_path)
        sim.current.to_parquet(cur_path)
        env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}
        done = subprocess.run(
            [str(python), "-c", _NANNYML, kind, str(ref_path), str(cur_path), str(sim.chunk),
             json.dumps(metrics), json.dumps(FEATURES)],
            capture_output=True, text=True, timeout=1800, env=env, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout)[-2000:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def peer_summary(peer_runs: list[dict[str, Any]], ours: list[dict[str, Any]],
                 metrics: list[str]) -> dict[str, Any]:
    """NannyML's MAE against the same realized values rasad is scored on."""
    if any("error" in run for run in peer_runs):
        return {"error": next(run["error"] for run in peer_runs if "error" in run)}
    out: dict[str, Any] = {"version": peer_runs[0]["version"],
                           "seconds_median": float(np.median([r["seconds"] for r in peer_runs]))}
    for name in metrics:
        errors = [abs(est - row[1]) for peer, run in zip(peer_runs, ours, strict=True)
                  for est, row in zip(peer["estimates"][name], run[name], strict=True)]
        out[name] = {"mae": float(np.mean(errors))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5, help="independent simulations")
    parser.add_argument("--reference", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--nonlinearity", default="0,0.5,1",
                        help="comma-separated misspecification levels of the classifier")
    parser.add_argument("--adaptive", action="store_true",
                        help="also run CBPE with adaptive (importance-weighted) calibration")
    parser.add_argument("--peers", action="store_true", help="also run NannyML side by side")
    args = parser.parse_args()
    sizes = {"reference": args.reference, "chunk": args.chunk, "chunks": args.chunks}
    seeds = range(args.seeds)
    out: dict[str, Any] = {"bench": "estimation", "seeds": args.seeds, **sizes,
                           "max_shift": 1.5, "cbpe": {}}
    for level in (float(v) for v in args.nonlinearity.split(",")):
        sims = [simulate_classification(seed, nonlinearity=level, **sizes) for seed in seeds]
        runs = [run_cbpe(sim) for sim in sims]
        entry = {"calibrated": [run["calibrated"] for run in runs],
                 "rasad": summarise(runs, CLASSIFICATION_METRICS)}
        if args.adaptive:
            adaptive = [run_cbpe(sim, adaptive=True) for sim in sims]
            entry["rasad_adaptive"] = summarise(adaptive, CLASSIFICATION_METRICS)
        if args.peers:
            peer = [run_nannyml("cbpe", sim, CLASSIFICATION_METRICS) for sim in sims]
            entry["nannyml"] = peer_summary(peer, runs, CLASSIFICATION_METRICS)
        out["cbpe"][f"nonlinearity={level:g}"] = entry
    sims = [simulate_regression(seed, **sizes) for seed in seeds]
    runs = [run_dle(sim) for sim in sims]
    out["dle"] = {"rasad": summarise(runs, REGRESSION_METRICS)}
    if args.peers:
        peer = [run_nannyml("dle", sim, REGRESSION_METRICS) for sim in sims]
        out["dle"]["nannyml"] = peer_summary(peer, runs, REGRESSION_METRICS)
    emit(out)


if __name__ == "__main__":
    main()
