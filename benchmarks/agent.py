"""The automation agent: what an idle pass costs, and how long a file takes to become an alert.

    .venv/bin/python benchmarks/agent.py [--monitors 50] [--files 20] [--repeats 5]

Prints one JSON line. A fresh SQLite project gets ``loans@1`` (600 rows of the synthetic
portfolio), ``credit@1`` trained on it and serving in dev, an ``agent`` service account,
and an ``automation:`` section with ``--monitors`` drift monitors of the ``incoming``
folder (half on arrival, half on a yearly cron slot, so none is due again) and a file
alert channel. ``--files`` files land first and one pass ingests and judges them all.

- ``idle_pass_s``: median of ``--repeats`` passes after that, with nothing new and nothing
  due: the agent's own overhead (listing and hashing the folder, reading the monitor
  states, finding no work). Target: under 1 s with 50 monitors.
- ``file_to_alert_s``: median over ``--repeats`` files with drifted income, each written
  into the folder and followed by one pass: from the file landing to its alert's delivery
  recorded as sent (ingest, validation of columns, every on-arrival monitor's drift run
  against the stored reference profile, trigger, alert, delivery). A long-running agent
  adds up to ``agent.interval_seconds`` of waiting before the pass starts.
- ``first_pass_s``: the pass that ingests the first ``--files`` files.

No peer tool runs this loop (MLflow, Evidently and NannyML leave scheduling and alerting
to the user), so there is no side-by-side figure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import emit, median

FEATURES = ["income", "age", "debt_to_income", "credit_history_years", "employment_years"]


def _project(root: Path, monitors: int) -> Any:
    from rasad import Project
    from rasad.examples import generate_portfolio

    half = monitors // 2
    watched: dict[str, Any] = {}
    for i in range(monitors):
        watched[f"drift-{i:03d}"] = {
            "kind": "drift", "source": "incoming", "model": "credit", "environment": "dev",
            "schedule": "on_arrival" if i < half else "0 0 1 1 *", "cooldown_hours": 0}
    config = {
        "name": "agent-bench",
        "training": {"dataset": "loans", "target": "default", "features": FEATURES,
                     "estimator": {"class": "sklearn.linear_model.LogisticRegression",
                                   "params": {"max_iter": 200}}},
        "automation": {
            "sources": {"incoming": {"kind": "files", "dataset": "loans",
                                     "path": "incoming/*.csv"}},
            "monitors": watched,
            "alerts": {"channels": {"sink": {"kind": "file", "path": "alerts.jsonl"}}}},
    }
    project = Project.init(root, config_text=yaml.safe_dump(config))
    project.add_dataset(generate_portfolio(months=2, rows_per_month=300, seed=7), "loans")
    project.add_principal("agent", kind="service", roles=["data_scientist", "deployer"])
    project.register(project.train().run.id, "credit")
    project.promote("credit", 1, to="dev")
    (root / "incoming").mkdir()
    return project


def _land(root: Path, name: str, seed: int, income: float) -> None:
    from rasad.examples import generate_portfolio

    frame = generate_portfolio(months=1, rows_per_month=300, seed=seed)
    frame["income"] = frame["income"] * income
    part = root / "incoming" / f".{name}.part"
    frame.to_csv(part, index=False)
    part.rename(root / "incoming" / name)  # whole, as docs/automation.md asks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--monitors", type=int, default=50)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from rasad.automation.agent import run_pass
    from rasad.core import Context

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        project = _project(root, args.monitors)
        ctx = Context.build(root, project.config, actor="agent")
        for i in range(args.files):
            _land(root, f"2026-{i:03d}.csv", seed=100 + i, income=1.0)
        started = time.perf_counter()
        first = run_pass(ctx, owner="bench")
        first_pass = time.perf_counter() - started
        idle = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            report = run_pass(ctx, owner="bench")
            idle.append(time.perf_counter() - started)
            assert not report.ingested and not report.monitors, report
        to_alert = []
        alerts_file = root / "alerts.jsonl"
        for i in range(args.repeats):
            before = alerts_file.read_text().count("\n") if alerts_file.exists() else 0
            started = time.perf_counter()
            _land(root, f"drifted-{i}.csv", seed=500 + i, income=1.6)
            report = run_pass(ctx, owner="bench")
            to_alert.append(time.perf_counter() - started)
            after = alerts_file.read_text().count("\n")
            assert after > before and report.deliveries, report
        ctx.close()
        project.close()
    emit({"bench": "agent", "monitors": args.monitors, "files": args.files,
          "repeats": args.repeats, "first_pass_s": first_pass,
          "first_pass_ingested": len(first.ingested),
          "idle_pass_s": median(idle), "idle_pass_runs_s": idle,
          "file_to_alert_s": median(to_alert), "file_to_alert_runs_s": to_alert})


if __name__ == "__main__":
    main()
