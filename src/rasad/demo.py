"""``rasad demo``: the whole loop on the embedded default, in well under a minute.

It generates a seeded credit portfolio (:mod:`rasad.examples.credit`), creates a
fresh project, versions the first six months, trains and registers a model,
promotes it to dev, then to staging through every promotion gate (validation,
metrics with confidence intervals, champion, fairness, behavioural model tests,
personal data) on a labelled hold-out month, then asks for production: that opens a
request, which the trainer may not approve (maker-checker) and a second user, a
model-risk officer, approves. It scores a later month through staging, checks that
month's inputs for drift against the training data (saved as a monitor result, with
an HTML report), and verifies the audit chain. Later issues extend it through
serving, retraining and governance.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rasad._files import write_text_atomic
from rasad.errors import ConflictError, IntegrityError, RasadError
from rasad.examples import generate_portfolio, month_range
from rasad.project import Project
from rasad.training.progress import Progress, Silent

DEMO_CONFIG = """\
# rasad demo project: credit-risk scoring on a synthetic Saudi consumer-credit portfolio.
name: credit-risk-demo

data:
  id_columns: [application_id]
  time_columns: [application_date]
  # Reported by fairness and PII checks; not used as model features below.
  protected_attributes: [gender, nationality, age]

training:
  dataset: loans
  target: default
  # Protected attributes and region are left out on purpose.
  features: [income, employment_type, employment_years, loan_amount, loan_term_months,
             debt_to_income, credit_history_years, age]
  estimator:
    class: sklearn.ensemble.HistGradientBoostingClassifier
    params: {max_iter: 200, learning_rate: 0.05, early_stopping: false}
  split:
    method: stratified
    validation: 0.2
    test: 0.2
  seed: 7
  register_as: credit-risk

registry:
  environments: [dev, staging, production]

governance:
  fairness:
    # default = 1 is a loan default (the applicant is refused): approvals, 0, are the
    # favourable outcome that `rasad fairness` compares across groups.
    favorable_outcomes: {default: 0}

promotion:
  # Every gate evaluates on a labelled month the model never saw.
  evaluation_data: loans_holdout
  metrics:
    roc_auc: {min: 0.65, basis: bound}   # the 95% interval's lower bound
    brier: {max: 0.20}
  champion: {metric: roc_auc, margin: 0.01}
  personal_data:
    allowed:
      age: "Age is a lawful credit-risk factor here; the fairness gate checks age bands."
  tests:
    - {name: higher debt-to-income never lowers risk, kind: directional,
       column: debt_to_income, change: 0.1, direction: no_decrease, outcome: 1}
    - {name: region does not change decisions, kind: invariance, column: region}
    - {name: young applicants, kind: slice_performance, metric: roc_auc,
       slice: {column: age, max: 30}, min: 0.6}
    - {name: odd inputs never crash, kind: robustness}
  environments:
    production:
      approval: {approvals: 1, roles: [approver]}
"""

APPROVER = "noura@bank.example"
"""The demo's model-risk officer: approves production requests (approver and auditor)."""

TRAIN_MONTHS = (0, 5)
HOLDOUT_MONTH = 6
SCORE_MONTH = 10


@dataclass
class DemoSummary:
    """What the demo did and where it left everything."""

    project_dir: Path
    dataset: str = ""
    run_id: str = ""
    model: str = ""
    test_metrics: dict[str, Any] = field(default_factory=dict)
    deployed: dict[str, int] = field(default_factory=dict)
    gates: dict[str, str] = field(default_factory=dict)
    request_id: int | None = None
    refused: str = ""
    approved_by: str = ""
    predictions: Path | None = None
    scored_rows: int = 0
    warnings: list[str] = field(default_factory=list)
    drift_html: Path | None = None
    drifted_columns: list[str] = field(default_factory=list)
    audit_events: int = 0
    seconds: float = 0.0


def prepare_folder(folder: Path, force: bool) -> None:
    """Refuse a non-empty folder unless ``force``; even then, only replace a rasad project."""
    if not folder.exists() or not any(folder.iterdir()):
        return
    if not force:
        raise ConflictError(f"{folder} is not empty. Pass --force to replace the demo project "
                            "there, or choose another folder with --dir.")
    if not (folder / "rasad.yaml").is_file():
        raise ConflictError(f"{folder} is not empty and holds no rasad.yaml; the demo will not "
                            "delete it even with --force. Choose another folder with --dir.")
    shutil.rmtree(folder)


def run_demo(folder: Path, *, force: bool = False, seed: int = 0, rows_per_month: int = 2000,
             say: Callable[[str], None] = lambda _: None,
             progress: Progress | None = None) -> DemoSummary:
    """Run the demo in ``folder`` and return its summary."""
    started = time.monotonic()
    folder = folder.resolve()
    prepare_folder(folder, force)
    summary = DemoSummary(folder)

    portfolio = generate_portfolio(months=12, rows_per_month=rows_per_month, seed=seed)
    data_dir = folder / "data"
    data_dir.mkdir(parents=True)
    history = month_range(portfolio, *TRAIN_MONTHS)
    history_csv = data_dir / "loans_2025-01_to_2025-06.csv"
    history.to_csv(history_csv, index=False)
    holdout_csv = data_dir / "loans_holdout.csv"
    month_range(portfolio, HOLDOUT_MONTH, HOLDOUT_MONTH).to_csv(holdout_csv, index=False)
    later = month_range(portfolio, SCORE_MONTH, SCORE_MONTH).drop(columns=["default"])
    later_month = str(later["month"].iloc[0])
    score_csv = data_dir / f"applications_{later_month}.csv"
    later.to_csv(score_csv, index=False)
    say(f"Generated {len(portfolio):,} loan applications over 12 months (seed {seed}).")

    with Project.init(folder, config_text=DEMO_CONFIG) as project:
        say(f"Created project {folder}")
        added = project.add_dataset(history_csv, "loans", description="applications 2025-01..06")
        summary.dataset = added.version.ref
        say(added.message)
        again = project.add_dataset(history_csv, "loans")
        say("Added the same file again: " + again.message)

        result = project.train(progress=progress or Silent(), name="baseline")
        run = result.run
        assert result.model_version is not None
        summary.run_id, summary.model = run.id, result.model_version.ref
        summary.test_metrics = dict(run.metrics.get("test", {}))
        say(f"Trained run {run.id[:8]} ({run.params['estimator'].rsplit('.', 1)[-1]}) in "
            f"{run.duration_s:.1f}s: test roc_auc {summary.test_metrics.get('roc_auc', 0):.3f}, "
            f"accuracy {summary.test_metrics.get('accuracy', 0):.3f}")
        say(f"Registered {result.model_version.ref}")

        holdout = project.add_dataset(holdout_csv, "loans_holdout",
                                      description="applications 2025-07, labelled hold-out")
        for name in ("loans", "loans_holdout"):
            project.infer_schema(name)
        say(f"Added {holdout.version.ref} for the promotion gates; saved the schemas of "
            "loans and loans_holdout")
        _promote(project, result.model_version.version, summary, say)

        out = folder / "predictions" / f"scores_{later_month}.csv"
        scored = project.predict("credit-risk", score_csv, env="staging", output=out)
        summary.predictions, summary.scored_rows = out, scored.rows
        summary.warnings = list(scored.warnings)
        say(f"Scored {scored.rows:,} applications from {later_month} with staging "
            f"(credit-risk v{scored.version}) -> {out.relative_to(folder)}")
        for warning in scored.warnings:
            say(f"  warning: {warning}")

        drift_html = folder / "reports" / f"drift_{later_month}.html"
        current = project.add_dataset(score_csv, "applications",
                                      description=f"applications {later_month}, unlabelled")
        report = _drift(project, summary.dataset, current.version.ref, drift_html)
        summary.drift_html, summary.drifted_columns = drift_html, list(report.drifted_columns)
        say(f"Drift of {current.version.ref} against {summary.dataset}: "
            f"{'drift' if report.drifted else 'no drift'} in "
            f"{', '.join(report.drifted_columns) or 'no column'} -> "
            f"{drift_html.relative_to(folder)}")

        check = project.verify_audit()
        if not check.ok:
            raise IntegrityError(f"The demo's audit chain is broken: {check.reason}")
        summary.audit_events = check.events
        say(f"Audit chain verified: {check.events} events, intact.")
    summary.seconds = time.monotonic() - started
    return summary


def _promote(project: Project, version: int, summary: DemoSummary,
             say: Callable[[str], None]) -> None:
    """dev (no gates), staging (every gate), production (gates, then a maker-checker
    approval: the trainer is refused, the model-risk officer approves)."""
    from rasad.identity import Role
    from rasad.release.requests import PromotionRequest

    for env in ("dev", "staging"):
        outcome = project.promote("credit-risk", version, env, reason="demo: baseline model")
        assert not isinstance(outcome, PromotionRequest)  # no approval below production
        summary.deployed[env] = outcome.version
        gates = project.request(outcome.request_id) if outcome.request_id else None
        if gates is None or not gates.gates.gates:
            say(f"Promoted credit-risk v{outcome.version} to {env} (no gates in {env})")
            continue
        say(f"Promoted credit-risk v{outcome.version} to {env}; its gates:")
        for gate in gates.gates.gates:
            summary.gates[gate.gate] = str(gate.status)
            say(f"  {gate.gate:<14} {gate.status:<8} {gate.summary}")

    request = project.promote("credit-risk", version, "production",
                              reason="demo: baseline model")
    assert isinstance(request, PromotionRequest)
    summary.request_id = request.id
    say(f"Production needs approval: opened request #{request.id} (gates passed; needs "
        f"{request.approvals_required} approval from {', '.join(request.approver_roles)})")
    try:
        project.approve(request.id, comment="I trained it, so it must be fine")
    except RasadError as refused:
        summary.refused = str(refused)
        say(f"  {project.actor} tries to approve: refused: {refused}")
    project.add_principal(APPROVER, roles=[Role.APPROVER, Role.AUDITOR])
    officer = Project(project.root, project.config, actor=APPROVER)
    with officer:
        approved = officer.approve(request.id, comment="Gates and evidence reviewed.")
    assert approved.deployment_id is not None
    summary.deployed["production"] = approved.version
    summary.approved_by = APPROVER
    say(f"  {APPROVER} (approver) approves: credit-risk v{approved.version} serves production")


def _drift(project: Project, reference: str, current: str, html: Path) -> Any:
    """Compare two dataset versions, save the result as a monitor result, write the page."""
    from rasad.drift import compare
    from rasad.names import parse_ref
    from rasad.reports.drift import render_drift

    ref = project.load_dataset(*parse_ref(reference))
    cur = project.load_dataset(*parse_ref(current))
    # "month" labels the period itself: it differs by construction, so it is left out.
    report = compare(ref, cur, columns=[c for c in cur.columns if c != "month"])
    payload: dict[str, Any] = {"reference": reference, "current": current,
                               "drift": report.to_dict(), "multivariate": []}
    project.save_monitor_result(
        monitor="credit-risk-inputs", kind="drift", reference=reference, current=current,
        alert=report.drifted, payload=payload,
        summary={"drifted": report.drifted, "reason": report.reason,
                 "drifted_columns": list(report.drifted_columns)})
    write_text_atomic(html, render_drift(payload["drift"],
                                         title=f"Drift: {current} against {reference}"))
    return report


def next_steps(summary: DemoSummary) -> list[str]:
    import shutil
    import sys

    # Not on PATH (a fresh `make demo` installs into .venv): show the full command.
    command = "rasad" if shutil.which("rasad") else str(Path(sys.executable).parent / "rasad")
    p = f"--project {summary.project_dir}"
    steps = [
        f"rasad {p} data show loans",
        f"rasad {p} runs show {summary.run_id[:8]}",
        f"rasad {p} models show credit-risk",
        f"rasad {p} requests list",
        f"rasad {p} requests show {summary.request_id or 1}",
        f"rasad {p} test credit-risk@1",
        f"rasad {p} drift loans@1 applications@1 --multivariate --html drift.html",
        f"rasad {p} fairness --model credit-risk@1 --data loans@1 --target default "
        "--sensitive gender,nationality,age --html fairness.html",
        f"rasad {p} audit log",
        f"rasad {p} audit verify",
    ]
    return [step.replace("rasad", command, 1) for step in steps]
