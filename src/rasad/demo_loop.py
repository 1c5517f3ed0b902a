"""``rasad demo --loop``: the automation loop over twelve simulated months of the portfolio.

The credit portfolio of :func:`rasad.examples.portfolio.months` reaches a bank month by
month: the applications of a month in a file, their outcomes (did the loan default?) a
month later. Months 1-6 are the history a first model is trained on; months 7-12 go
through the real agent (:func:`rasad.automation.agent.run_pass`), one pass per month at a
simulated time (06:00 UTC on the first day of the next month). Each month the demo plays
the outside world and the agent does the rest:

1. the month's applications arrive in ``incoming/applications/`` (written under a dot
   name, then renamed, as the sources expect), and the model serving production scores
   them; each scored application goes to the prediction log as the server would write
   it (:class:`rasad.serving.predlog.PredictionLog`, the request id is the application
   id, the arrival time the application date);
2. the previous month's outcomes arrive: four fifths in ``incoming/outcomes/`` (appended
   to the training dataset ``loans``), the held-back fifth in ``incoming/holdout/``
   (each a version of ``loans_holdout``, the evaluation data of the promotion gates, so
   a candidate is judged on the newest outcomes it never trained on), and the same
   labels as prediction-log feedback for those applications;
3. the agent makes its pass: it ingests the files, judges the applications for drift
   against the serving version's training data, measures realized ROC AUC on the
   labelled predictions (a monthly cron), raises alerts into ``.rasad/alerts.jsonl`` and
   retrains when realized performance falls below its floor;
4. a retraining's candidate waits for approval in production; the demo's model-risk
   officer approves it (the agent may not: maker-checker) and it serves from then on.

What to expect with the default seed: income drifts from month 7 and the drift monitor
alerts every month from then; the debt-to-income concept change of month 10 drags the
realized ROC AUC of the serving version below 0.65 once month 10's outcomes arrive
(month 11's pass), which alerts and retrains; the candidate passes its gates, is
approved and serves month 12, when the old version's month-11 outcomes are still bad but
the monitor is within its cooldown. Everything is read back from the database into
``timeline.html`` (:mod:`rasad.reports.loop_timeline`) and a :class:`DemoLoopSummary`.

Database times (audit events, alerts) are the real clock; the months are simulated
through the pass's ``now`` and the prediction log's times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasad._files import write_text_atomic
from rasad.demo import APPROVER, prepare_folder
from rasad.errors import IntegrityError
from rasad.examples.portfolio import Month, months
from rasad.project import Project
from rasad.reports.loop_timeline import EventKind, TimelineEvent, render_timeline
from rasad.results import Result
from rasad.training.progress import Progress, Silent

if TYPE_CHECKING:
    from rasad.automation.agent import PassReport
    from rasad.serving.predlog import PredictionLog

MODEL = "credit-risk"
AGENT = "agent"
"""The agent's service account (data_scientist and deployer, as docs/automation.md says)."""
AGENT_OWNER = "demo-agent"
"""The agent's name on its claims."""
SERVER = "demo-server"
"""The prediction log's writer id: the demo scores as the production server would."""
ENVIRONMENT = "production"
HISTORY_MONTHS = 6
"""Months 1-6 are the history the first model is trained on; 7-12 run through the agent."""
HOLDOUT_SHARE = 0.2
"""The share of each month's outcomes held back as evaluation data for the gates."""
AUC_FLOOR = 0.65
"""The realized ROC AUC below which the performance monitor alerts and retrains."""
PERIOD = "month"
"""The generator's month label, left out of every file: it differs between months by
construction (drift would always see it), and application_date says the same."""
COOLDOWN_HOURS = 960.0
"""40 days: after a retraining the performance monitor does not set off another before
the new version has served a month (the old version's late outcomes still arrive)."""

LOOP_CONFIG = f"""\
# rasad demo --loop: credit-risk scoring, watched and retrained by the automation agent.
name: credit-risk-loop-demo

data:
  id_columns: [application_id]
  time_columns: [application_date]
  protected_attributes: [gender, nationality, age]

training:
  dataset: loans
  target: default
  features: [income, employment_type, employment_years, loan_amount, loan_term_months,
             debt_to_income, credit_history_years, age]
  estimator:
    class: sklearn.ensemble.HistGradientBoostingClassifier
    params: {{max_iter: 200, learning_rate: 0.05, early_stopping: false}}
  split:
    method: stratified
    validation: 0.2
    test: 0.2
  seed: 7
  register_as: {MODEL}

registry:
  environments: [dev, staging, production]

governance:
  fairness:
    favorable_outcomes: {{default: 0}}

promotion:
  # The latest version: the held-back fifth of the newest outcomes (of months 1-6 at
  # first, then of each month as it arrives).
  evaluation_data: loans_holdout
  metrics:
    roc_auc: {{min: 0.65, basis: bound}}
    # After the concept change defaults are more common and harder to call: no worse
    # than a coin toss (0.25) is the bar, the champion gate does the comparing.
    brier: {{max: 0.25}}
  champion: {{metric: roc_auc, margin: 0.01}}
  personal_data:
    allowed:
      age: "Age is a lawful credit-risk factor here; the fairness gate checks age bands."
  tests:
    - {{name: higher debt-to-income never lowers risk, kind: directional,
       column: debt_to_income, change: 0.1, direction: no_decrease, outcome: 1}}
    - {{name: region does not change decisions, kind: invariance, column: region}}
    - {{name: odd inputs never crash, kind: robustness}}
  environments:
    production:
      approval: {{approvals: 1, roles: [approver]}}

automation:
  sources:
    applications:                  # each month's applications, a version each
      kind: files
      dataset: applications
      path: incoming/applications/*.csv
    outcomes:                      # four fifths of last month's outcomes, for training
      kind: files
      dataset: loans
      path: incoming/outcomes/*.csv
      combine: append
    holdout:                       # the held-back fifth, for the promotion gates
      kind: files
      dataset: loans_holdout
      path: incoming/holdout/*.csv
    live:                          # what production served, with the feedback joined
      kind: prediction_log
      model: {MODEL}
      environment: {ENVIRONMENT}
  monitors:
    applicant-drift:
      kind: drift
      source: applications
      model: {MODEL}
      schedule: on_arrival
      actions: [alert]
      severity: warning
    realized-auc:
      kind: performance
      source: live
      schedule: "0 6 1 * *"        # monthly, when last month's outcomes are in
      window_days: 62              # this month's and last month's predictions
      metrics: {{roc_auc: {{min: {AUC_FLOOR}}}}}
      actions: [alert, retrain]
      cooldown_hours: {COOLDOWN_HOURS:g}
      severity: critical
  alerts:
    channels:
      file: {{kind: file, path: .rasad/alerts.jsonl}}
  retraining:
    {MODEL}:
      dataset: loans
      combine: latest
      request_to: {ENVIRONMENT}
"""


class MonthSummary(Result):
    """What happened in one simulated month of the loop."""

    month: int
    label: str
    pass_at: str
    scored_by: int
    """The version serving production that scored the month's applications."""
    ingested: list[str] = []
    monitors: dict[str, str] = {}
    """Monitor -> how its run ended (ok, fired, skipped, failed)."""
    alerts: list[str] = []
    cooled: list[str] = []
    retraining: dict[str, Any] | None = None
    approved_request: int | None = None
    serving_after: int
    problems: list[str] = []


class DemoLoopSummary(Result):
    """What ``rasad demo --loop`` did and where it left everything (``--json``)."""

    project_dir: str
    seed: int
    rows_per_month: int
    first_version: int
    serving_version: int
    drift_alert_months: list[int]
    performance_alert_months: list[int]
    retrainings: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    months: list[MonthSummary]
    timeline: str
    alerts_file: str
    audit_events: int
    seconds: float


def run_loop_demo(folder: Path, *, force: bool = False, seed: int = 0,
                  rows_per_month: int = 2000, say: Callable[[str], None] = lambda _: None,
                  progress: Progress | None = None) -> DemoLoopSummary:
    """Run the automation loop demo in ``folder`` (see the module notes).

    Parameters
    ----------
    folder : Path
        Where the project is created; refused if it is not empty, unless ``force`` and it
        holds a rasad project (then it is replaced).
    seed, rows_per_month : int
        Of the generated portfolio (:func:`rasad.examples.portfolio.months`).
    say : callable
        Receives one line per step, for people.
    progress : Progress, optional
        Training progress.

    Returns
    -------
    DemoLoopSummary
    """
    started = time.monotonic()
    folder = folder.resolve()
    prepare_folder(folder, force)
    year = months(seed=seed, rows_per_month=rows_per_month)
    kept, held = _hold_back(year, seed)
    data_dir = folder / "data"
    data_dir.mkdir(parents=True)
    history_csv = data_dir / "loans_2025-01_to_2025-06.csv"
    pd.concat(kept[:HISTORY_MONTHS], ignore_index=True).to_csv(history_csv, index=False)
    holdout_csv = data_dir / "loans_holdout_2025-01_to_2025-06.csv"
    pd.concat(held[:HISTORY_MONTHS], ignore_index=True).to_csv(holdout_csv, index=False)
    say(f"Generated 12 months of {rows_per_month:,} loan applications (seed {seed}); "
        f"months 1-{HISTORY_MONTHS} are the history, months {HISTORY_MONTHS + 1}-12 run "
        "through the agent.")

    with Project.init(folder, config_text=LOOP_CONFIG) as project:
        loop = _Loop(project, folder, say)
        first = loop.set_up(history_csv, holdout_csv, year[HISTORY_MONTHS - 1],
                            progress or Silent())
        plog = _open_log(project)
        try:
            previous: Month | None = None
            for month in year[HISTORY_MONTHS:]:
                loop.month(month, previous, kept, held, plog)
                previous = month
        finally:
            plog.close()
        timeline = folder / "timeline.html"
        write_text_atomic(timeline, render_timeline(
            loop.events, title="rasad demo --loop: the automation timeline",
            subtitle=(f"Project {project.config.name}; the credit portfolio, months "
                      f"{HISTORY_MONTHS}-12 (seed {seed}, {rows_per_month:,} applications a "
                      "month). Months are simulated; database times are real."),
            months=range(HISTORY_MONTHS, 13)))
        say(f"Timeline: {timeline.relative_to(folder)}")
        check = project.verify_audit()
        if not check.ok:
            raise IntegrityError(f"The demo's audit chain is broken: {check.reason}")
        say(f"Audit chain verified: {check.events} events, intact.")
        return DemoLoopSummary(
            project_dir=str(folder), seed=seed, rows_per_month=rows_per_month,
            first_version=first, serving_version=loop.serving(),
            drift_alert_months=loop.alert_months("applicant-drift"),
            performance_alert_months=loop.alert_months("realized-auc"),
            retrainings=loop.retrainings, approvals=loop.approvals, months=loop.summaries,
            timeline=str(timeline),
            alerts_file=str(folder / ".rasad" / "alerts.jsonl"),
            audit_events=check.events, seconds=round(time.monotonic() - started, 2))


def _hold_back(year: list[Month], seed: int) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Each month's labelled rows split into the four fifths for training and the fifth
    held back for the gates (seeded, so the same seed holds back the same rows)."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for month in year:
        rows = month.labelled().drop(columns=PERIOD)
        back = rng.random(len(rows)) < HOLDOUT_SHARE
        kept.append(rows[~back].reset_index(drop=True))
        held.append(rows[back].reset_index(drop=True))
    return kept, held


def _open_log(project: Project) -> PredictionLog:
    from rasad.serving.predlog import PredictionLog

    return PredictionLog.open(project.context, ENVIRONMENT, project.config.serving.log,
                              writer_id=SERVER)


def pass_time(month: Month) -> datetime:
    """When the agent's pass for ``month`` runs: 06:00 UTC on the first of the next month.

    >>> from rasad.examples.portfolio import months
    >>> pass_time(months(rows_per_month=1)[11]).isoformat()
    '2026-01-01T06:00:00+00:00'
    """
    year, number = (int(part) for part in month.label.split("-"))
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, 1, 6, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _place(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV under a dot name in the watched folder, then rename it: the
    agent never lists a dot name, so it never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hidden = path.with_name("." + path.name + ".part")
    frame.to_csv(hidden, index=False)
    hidden.replace(path)


class _Loop:
    """The demo's state across months: the projects of each actor, what was seen in the
    database so far, and the timeline events."""

    def __init__(self, project: Project, folder: Path, say: Callable[[str], None]) -> None:
        self.project = project
        self.folder = folder
        self.say = say
        self.agent: Project | None = None
        self.officer: Project | None = None
        self.events: list[TimelineEvent] = []
        self.summaries: list[MonthSummary] = []
        self.retrainings: list[dict[str, Any]] = []
        self.approvals: list[dict[str, Any]] = []
        self.alert_month: dict[int, tuple[str, int]] = {}  # alert id -> (monitor, month)
        self.seen_requests: set[int] = set()
        self.seen_deployments: set[int] = set()

    # -- before the loop -------------------------------------------------------------------

    def set_up(self, history_csv: Path, holdout_csv: Path, last: Month,
               progress: Progress) -> int:
        """History in, first model trained, promoted to production with an approval; the
        agent's service account and the approver added."""
        from rasad.identity import Role
        from rasad.release.requests import PromotionRequest

        project, month = self.project, HISTORY_MONTHS
        at = _iso(pass_time(last))
        history_text = "four fifths of the outcomes of months 1-6, for training"
        holdout_text = "the held-back fifth of the outcomes of months 1-6, for the gates"
        history = project.add_dataset(history_csv, "loans", description=history_text)
        holdout = project.add_dataset(holdout_csv, "loans_holdout", description=holdout_text)
        for added, text in ((history, history_text), (holdout, holdout_text)):
            # The schema every later file of the dataset is checked against on arrival.
            schema = project.infer_schema(added.version.name)
            self.say(f"{added.message} Saved its schema ({schema.label}).")
            self.event(month, at, EventKind.INGEST, f"History: {added.version.ref}",
                       f"{added.version.rows:,} labelled applications: {text}; arriving "
                       f"files are checked against {schema.label}", status="ingested")
        trained = project.train(progress=progress, name="baseline")
        assert trained.model_version is not None  # training.register_as is set
        version = trained.model_version.version
        auc = trained.run.metrics.get("test", {}).get("roc_auc", float("nan"))
        self.say(f"Trained {trained.model_version.ref} on {history.version.ref}: test roc_auc "
                 f"{auc:.3f}")
        request = project.promote(MODEL, version, ENVIRONMENT,
                                  reason="demo: the first model goes live")
        assert isinstance(request, PromotionRequest)  # production waits for approvers
        self.say(f"Production needs approval: request #{request.id} (gates "
                 f"{'passed' if request.gates.passed else 'failed'})")
        project.add_principal(APPROVER, roles=[Role.APPROVER, Role.AUDITOR])
        project.add_principal(AGENT, kind="service", roles=[Role.DATA_SCIENTIST, Role.DEPLOYER])
        self.officer = Project(project.root, project.config, actor=APPROVER)
        self.agent = Project(project.root, project.config, actor=AGENT)
        self.collect(month, at)
        self.approve_open(month, at)
        self.say(f"{MODEL} v{version} serves {ENVIRONMENT}; the agent (service account {AGENT!r}) "
                 "takes over.")
        return version

    # -- one month -------------------------------------------------------------------------

    def month(self, month: Month, previous: Month | None, kept: list[pd.DataFrame],
              held: list[pd.DataFrame], plog: PredictionLog) -> None:
        from rasad.automation.agent import run_pass

        assert self.agent is not None
        moment = pass_time(month)
        at = _iso(moment)
        serving = self.serving()
        _place(self.folder / "incoming" / "applications" / f"{month.label}.csv",
               month.applicants.drop(columns=PERIOD))
        self.score(month, serving, plog)
        if previous is not None:
            index = previous.number - 1
            _place(self.folder / "incoming" / "outcomes" / f"{previous.label}.csv", kept[index])
            _place(self.folder / "incoming" / "holdout" / f"{previous.label}.csv", held[index])
            self.feedback(previous, moment, plog)
        report = run_pass(self.agent.context, owner=AGENT_OWNER, now=at)
        summary = self.record(month, at, serving, report)
        approved = self.approve_open(month.number, at)
        self.summaries.append(summary.model_copy(update={
            "approved_request": approved, "serving_after": self.serving()}))

    def serving(self) -> int:
        return self.project.model_version(MODEL, env=ENVIRONMENT).version

    def score(self, month: Month, version: int, plog: PredictionLog) -> None:
        """Score the month's applications with the serving version and log each one as
        the server logs a request: request id = application id, arrival = its date."""
        from rasad.serving.records import Scored

        model = self.project.model_version(MODEL, version)
        scored = self.project.predict(MODEL, month.applicants, env=ENVIRONMENT)
        frame = scored.frame
        assert frame is not None and scored.version == version
        inputs = month.applicants[list(model.signature.names)]
        arrived = pd.to_datetime(month.applicants["application_date"], utc=True)
        predictions = frame["prediction"].to_numpy()
        scores = frame["proba_1"].to_numpy(dtype=float)
        for i, application in enumerate(month.applicants["application_id"].astype(str)):
            item = Scored(request_id=application, received_at=arrived.iloc[i].timestamp(),
                          model=MODEL, version=version, role="primary",
                          inputs=inputs.iloc[i:i + 1], outputs=predictions[i:i + 1],
                          scores=scores[i:i + 1], latency_ms=0.0)
            if not plog.submit(item):
                raise IntegrityError(f"The prediction log dropped application {application}.")
        if not plog.flush(timeout=60):
            raise IntegrityError("The prediction log did not write the month's predictions.")
        self.say(f"{month.label}: {len(frame):,} applications arrived and were scored by "
                 f"{MODEL} v{version}")

    def feedback(self, month: Month, moment: datetime, plog: PredictionLog) -> None:
        """The month's outcomes as feedback for the predictions logged for it."""
        from rasad.serving.records import Feedback

        received = moment.timestamp() - 3600.0  # an hour before the pass
        for application, label in zip(month.labels["application_id"].astype(str),
                                      month.labels["default"].astype(int), strict=True):
            plog.submit_feedback(Feedback(request_id=application, received_at=received,
                                          model=MODEL, rows=(0,), labels=(int(label),)))
        if not plog.flush(timeout=60):
            raise IntegrityError("The prediction log did not write the month's feedback.")

    # -- after a pass ----------------------------------------------------------------------

    def record(self, month: Month, at: str, serving: int, report: PassReport) -> MonthSummary:
        """The pass's events, and what it left in the database, on the timeline."""
        config = self.project.config.automation.monitors
        for item in report.ingested:
            ref = f"{item['dataset']}@{item['version']}" if item.get("version") else "nothing"
            self.event(month.number, at, EventKind.INGEST,
                       f"{Path(item['path']).relative_to(self.folder)} -> {ref}",
                       "; ".join(item.get("problems") or []), status=item["status"])
        statuses: dict[str, str] = {}
        for run in report.monitors:
            statuses[run.monitor] = run.status.value
            cooled = [line for line in report.cooled if line.startswith(run.monitor + ":")]
            detail = run.summary + ("\n" + "\n".join(cooled) if cooled else "")
            severity = config[run.monitor].severity if run.fired else None
            self.event(month.number, at, EventKind.MONITOR, f"{run.monitor}: {run.status.value}",
                       detail, severity=severity,
                       status="cooled down" if cooled else run.status.value)
        retraining = None
        for trigger in report.triggers:
            outcome = trigger.outcome.get("retrain")
            if trigger.status == "open" or not isinstance(outcome, dict):
                continue
            retraining = {"month": month.number, "trigger": trigger.id, **outcome}
            self.retrainings.append(retraining)
            self.event(month.number, at, EventKind.RETRAIN,
                       f"Retraining of {MODEL} for trigger #{trigger.id} ({trigger.monitor}): "
                       f"{outcome.get('status', 'failed')}",
                       self.retrain_detail(trigger.id, outcome),
                       status=str(outcome.get("status", "failed")))
        alerts = self.collect(month.number, at)
        files = len(report.ingested)
        line = (f"{month.label} pass: {files} file{'' if files == 1 else 's'} ingested; "
                + ", ".join(f"{name} {status}" for name, status in statuses.items()))
        self.say(line)
        for title in alerts:
            self.say(f"  alert: {title}")
        for text in report.cooled:
            self.say(f"  {text}")
        if retraining is not None:
            self.say(f"  retraining: {retraining.get('status')} {MODEL} "
                     f"v{retraining.get('version')} (request #{retraining.get('request_id')})")
        for problem in report.problems:
            self.say(f"  problem: {problem}")
        return MonthSummary(month=month.number, label=month.label, pass_at=at, scored_by=serving,
                            ingested=[str(i["path"]) for i in report.ingested],
                            monitors=statuses, alerts=alerts, cooled=list(report.cooled),
                            retraining=retraining, serving_after=serving,
                            problems=list(report.problems))

    def retrain_detail(self, trigger: int, outcome: dict[str, Any]) -> str:
        """The pipeline's steps, from its ``automation.retrain`` audit event."""
        lines = []
        for event in self.project.audit_log(subject=f"model:{MODEL}", action="automation.retrain"):
            details = event.details
            if details.get("trigger_id") != trigger:
                continue
            lines.append("steps: " + ", ".join(
                f"{step['step']}{' (reused)' if step.get('reused') else ''}"
                for step in details.get("steps", [])))
        if outcome.get("reason"):
            lines.append(f"reason: {outcome['reason']}")
        if outcome.get("version") is not None:
            lines.append(f"candidate: {MODEL} v{outcome['version']}, request "
                         f"#{outcome.get('request_id')}")
        return "\n".join(lines)

    def collect(self, month: int, at: str) -> list[str]:
        """New alerts (with their deliveries), requests and deployments since the last
        look, as timeline events; returns the new alerts' titles."""
        from rasad.automation import alerts as alert_service

        titles = []
        for alert in sorted(alert_service.alerts(self.project.context, limit=1000),
                            key=lambda a: a.id):
            if alert.id in self.alert_month:
                continue
            self.alert_month[alert.id] = (alert.monitor, month)
            deliveries = ", ".join(f"{d.channel}: {d.status}" for d in alert.deliveries)
            statuses = {str(d.status) for d in alert.deliveries}
            self.event(month, at, EventKind.ALERT, alert.title,
                       f"alert #{alert.id}, {alert.monitor}; delivered {deliveries}",
                       severity=str(alert.severity),
                       status=statuses.pop() if len(statuses) == 1 else "mixed")
            titles.append(alert.title)
        for request in sorted(self.project.requests(model=MODEL), key=lambda r: r.id):
            if request.id in self.seen_requests:
                continue
            self.seen_requests.add(request.id)
            gates = ", ".join(f"{g.gate} {g.status}" for g in request.gates.gates)
            self.event(month, at, EventKind.REQUEST,
                       f"{MODEL} v{request.version} requested for {request.environment} "
                       f"(#{request.id}, by {request.opened_by})",
                       f"gates: {gates}\nreason: {request.reason or ''}",
                       status=str(request.status))
        self.deployments(month, at)
        return titles

    def deployments(self, month: int, at: str) -> None:
        from rasad.registry import models

        for deployment in models.history(self.project.context, MODEL):
            if deployment.id in self.seen_deployments:
                continue
            self.seen_deployments.add(deployment.id)
            was = (f"v{deployment.previous_version}" if deployment.previous_version
                   else "nothing")
            self.event(month, at, EventKind.DEPLOYMENT,
                       f"{MODEL} v{deployment.version} serves {deployment.environment}",
                       f"replaces {was}; deployed by {deployment.deployed_by} "
                       f"(request #{deployment.request_id})", status="deployed")

    def approve_open(self, month: int, at: str) -> int | None:
        """The model-risk officer approves the open production request, if any."""
        assert self.officer is not None
        pending = self.project.requests(model=MODEL, environment=ENVIRONMENT, status="open")
        if not pending:
            return None
        request = pending[0]
        approved = self.officer.approve(
            request.id, comment="Gates and evidence reviewed; the candidate may serve.")
        self.approvals.append({"month": month, "request_id": request.id,
                               "version": approved.version, "approver": APPROVER})
        self.event(month, at, EventKind.APPROVAL,
                   f"{APPROVER} approved request #{request.id} ({MODEL} v{approved.version})",
                   f"opened by {request.opened_by}; maker-checker: they may not approve it "
                   "themselves", status="approved")
        self.say(f"  {APPROVER} (approver) approves request #{request.id}: {MODEL} "
                 f"v{approved.version} serves {ENVIRONMENT}")
        self.deployments(month, at)
        return request.id

    def alert_months(self, monitor: str) -> list[int]:
        return sorted({month for name, month in self.alert_month.values() if name == monitor})

    def event(self, month: int, at: str, kind: EventKind, title: str, detail: str = "", *,
              severity: str | None = None, status: str | None = None) -> None:
        self.events.append(TimelineEvent(month=month, at=at, kind=kind, title=title,
                                         detail=detail, severity=severity, status=status))


__all__ = ["LOOP_CONFIG", "DemoLoopSummary", "MonthSummary", "pass_time", "run_loop_demo"]
