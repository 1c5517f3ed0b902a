"""Model cards: each figure compared with what the registry, the run, the datasets, the gate
reports and the monitor results hold; missing declarations listed, never filled in.

Every test runs on SQLite and PostgreSQL (the ``project`` fixture).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rasad import Project
from rasad.compliance.card import model_card
from rasad.config import ProjectConfig
from rasad.demo import DEMO_CONFIG
from rasad.errors import NotFoundError
from rasad.evaluation.uncertainty import MetricInterval
from rasad.governance.card_checks import card_gaps
from rasad.governance.card_result import ModelCard
from rasad.reports.card import render_card
from tests.release._seed import EVAL, TARGET, TRAIN, add_data, train

FEATURES = ["income", "debt_to_income", "credit_history_years", "age"]

GOVERNANCE = """
governance:
  fairness:
    favorable_outcomes: {default: 0}
  models:
    credit:
      owner: Credit risk <team> | retail
      risk_tier: high
      description: Default risk of consumer loans.
      intended_use: Rank applications for a credit officer's review.
      out_of_scope_uses: [Automated refusal without review]
      limitations: [Six months of history only]
      users: [Credit officers]
      license: proprietary
      references: [docs/cards.md]
      ethical_considerations: {Disparate impact: The fairness gate checks every promotion.}
"""

PROMOTION = f"""
promotion:
  evaluation_data: {EVAL}
  bootstrap: 200
  metrics:
    roc_auc: {{min: 0.55, basis: bound}}
  tests:
    - {{name: young applicants, kind: slice_performance, metric: roc_auc,
       slice: {{column: age, max: 30}}, min: 0.5}}
  environments:
    staging: {{gates: [metrics, fairness, model_tests]}}
"""


def configure(project: Project, *, governance: bool = True) -> Project:
    """The project's rasad.yaml replaced by one declaring evaluation data, protected
    attributes, a slice test and (unless ``governance`` is False) the model's card fields."""
    text = ("name: test\ndata:\n  protected_attributes: [gender, nationality]\n"
            + PROMOTION + (GOVERNANCE if governance else ""))
    (project.root / "rasad.yaml").write_text(text)
    return Project.open(project.root)


def trained(project: Project, *, governance: bool = True) -> tuple[Project, int]:
    """credit@1 on loans@1, promoted to dev and through staging's gates."""
    project = configure(project, governance=governance)
    add_data(project)
    version = train(project, FEATURES)
    project.promote("credit", version.version, "dev")
    project.promote("credit", version.version, "staging")
    return project, version.version


@pytest.fixture
def card_project(project: Project) -> tuple[Project, ModelCard]:
    project, version = trained(project)
    return project, project.card("credit", version)


def test_details_data_and_run_are_the_records(card_project: tuple[Project, ModelCard]
                                              ) -> None:
    project, card = card_project
    version = project.model_version("credit", 1)
    run = project.run(version.run_id)
    d = card.model_details
    assert (card.model, d.ref, d.artifact_sha256, d.created_by, d.created_at) == (
        "credit@1", version.ref, version.blob, version.created_by, version.created_at)
    assert (d.run.id, d.run.seed, d.run.status, d.run.started_at) == (
        run.id, run.seed, str(run.status), run.started_at)
    assert d.run.estimator == run.params["estimator"]
    assert d.run.packages == run.environment["packages"]
    assert d.run.python == run.environment["python"]
    assert d.run.git_commit == run.code_version.get("git_commit")
    assert d.run.metrics == run.metrics
    assert [o.name for o in d.owners] == ["Credit risk <team> | retail"]
    assert d.risk_tier == "high" and d.licenses[0].identifier == "proprietary"
    history = [h for h in project.model("credit").history if h.version == 1]
    assert [(e.environment, e.deployed_at, e.request_id) for e in d.deployments] == [
        (h.environment, h.deployed_at, h.request_id) for h in history]
    assert set(d.serving) == {"dev", "staging"}

    data = {e.name: e for e in card.model_parameters.data}
    assert set(data) == {f"{TRAIN}@1", f"{EVAL}@1"}
    for ref, entry in data.items():
        name, number = ref.split("@")
        stored = project.dataset(name, int(number))
        assert (entry.content_hash, entry.rows) == (stored.content_hash, stored.rows)
        sheet = project.datasheet(name, int(number))
        assert entry.datasheet.model_copy(update={"generated_at": ""}) == sheet.model_copy(
            update={"generated_at": ""})
        assert "gender: protected attribute" in entry.sensitive
    assert data[f"{TRAIN}@1"].role == next(e["role"] for e in version.datasets)
    assert data[f"{EVAL}@1"].role == "evaluation"
    assert [c.name for c in card.model_parameters.inputs] == [
        c.name for c in version.signature.columns]
    assert card.considerations.use_cases[0].description.startswith("Rank applications")
    assert card.complete and [g for g in card.missing if g.required] == []


def test_metrics_and_fairness_are_the_gates_figures(card_project: tuple[Project, ModelCard]
                                                    ) -> None:
    project, card = card_project
    (staging,) = [r for r in project.requests(model="credit") if r.environment == "staging"]
    metrics_gate = staging.gates.gate("metrics")
    fairness_gate = staging.gates.gate("fairness")
    assert metrics_gate is not None and fairness_gate is not None
    q = card.quantitative_analysis
    assert (q.evaluation_data, q.n_boot, q.seed) == (f"{EVAL}@1", 200, 0)
    assert q.evaluation_sha256 == project.dataset(EVAL).content_hash
    whole = {m.type: m for m in q.performance_metrics if m.slice is None}
    gate_auc = MetricInterval.from_dict(metrics_gate.evidence["thresholds"][0]["interval"])
    auc = whole["roc_auc"]
    assert auc.value == gate_auc.estimate and auc.rows == gate_auc.n
    assert auc.confidence_interval is not None
    assert (auc.confidence_interval.lower_bound, auc.confidence_interval.upper_bound) == (
        gate_auc.lower, gate_auc.upper)
    assert set(whole) == {"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss",
                          "brier"}

    young = [m for m in q.performance_metrics if m.slice == "age < 30"]
    assert {m.slice_source for m in young} == {"promotion.tests: young applicants"}
    tests_gate = staging.gates.gate("model_tests")
    assert tests_gate is not None
    (slice_test,) = [t for t in tests_gate.evidence["tests"]
                     if t["name"] == "young applicants"]
    young_auc = next(m for m in young if m.type == "roc_auc")
    assert young_auc.value == pytest.approx(slice_test["evidence"]["value"], abs=1e-12)
    assert young_auc.rows == slice_test["evidence"]["rows"]
    frame = project.load_dataset(EVAL)
    groups = {m.slice for m in q.performance_metrics
              if m.slice_source == "data.protected_attributes"}
    assert groups == {f"gender = {g}" for g in frame["gender"].unique()} | {
        f"nationality = {g}" for g in frame["nationality"].unique()}
    female = next(m for m in q.performance_metrics if m.slice == "gender = female"
                  and m.type == "accuracy")
    assert female.rows == int((frame["gender"] == "female").sum())

    assert card.fairness.report is not None
    assert card.fairness.report.to_dict() == fairness_gate.evidence["report"]


def test_releases_monitoring_and_importance(card_project: tuple[Project, ModelCard]) -> None:
    project, card = card_project
    requests = sorted((r for r in project.requests(model="credit") if r.version == 1),
                      key=lambda r: r.id)
    assert [(r.request_id, r.environment, r.status, r.gates_passed) for r in card.releases] == [
        (r.id, r.environment, str(r.status), r.gates.passed) for r in requests]
    staging = card.releases[-1]
    assert [(g.gate, g.status) for g in staging.gates] == [
        (g.gate, str(g.status)) for g in requests[-1].gates.gates]
    assert card.monitoring == ()

    importance = card.explanations.importance
    assert importance is not None and importance.rows == len(project.load_dataset(EVAL))
    assert importance.n_repeats == project.config.governance.explanations.permutation_repeats
    assert {f.feature for f in importance.features} == set(FEATURES)
    assert [f.rank for f in importance.features] == list(range(1, len(FEATURES) + 1))
    assert all(len(f.values) == importance.n_repeats for f in importance.features)
    assert all(f.std == pytest.approx(float(np.std(f.values))) for f in importance.features)


def test_monitor_results_about_the_version_and_no_others(project: Project) -> None:
    project, version = trained(project)
    about = project.save_monitor_result(
        monitor="credit-perf", kind="performance", reference="credit@1", current="log",
        alert=False, summary={"values": {"roc_auc": 0.7}}, payload={})
    drift = project.save_monitor_result(
        monitor="inputs", kind="drift", reference=f"{TRAIN}@1", current="apps@1", alert=True,
        summary={"drifted": True}, payload={})
    project.save_monitor_result(monitor="other", kind="performance", reference="credit@9",
                                current="log", alert=True, summary={}, payload={})
    card = project.card("credit", version)
    assert [(m.result_id, m.kind, m.alert, m.summary) for m in card.monitoring] == [
        (about.id, "performance", False, {"values": {"roc_auc": 0.7}}),
        (drift.id, "drift", True, {"drifted": True})]


def test_missing_declarations_are_listed_not_invented(project: Project) -> None:
    project, version = trained(project, governance=False)
    card = model_card(project.context, "credit", version)
    assert not card.complete
    required = [g.key for g in card.missing if g.required]
    assert required == [f"governance.models.credit.{k}" for k in (
        "owner", "risk_tier", "intended_use", "out_of_scope_uses", "limitations", "users",
        "ethical_considerations")]
    assert card.model_details.owners == () and card.model_details.risk_tier is None
    assert card.considerations.use_cases == () and card.considerations.limitations == ()
    md = card.to_markdown()
    assert "**Incomplete**" in md and "governance.models.credit.owner" in md
    assert md.count("**Missing**: not declared in rasad.yaml.") == 4
    html = render_card(card)
    assert "incomplete" in html and "governance.models.credit.users" in html


def test_outputs_escape_values_and_round_trip(card_project: tuple[Project, ModelCard]) -> None:
    _, card = card_project
    md = card.to_markdown()
    assert "Credit risk &lt;team> \\| retail" in md and "<team>" not in md
    html = render_card(card)
    assert "<team>" not in html and "&lt;team&gt;" in html
    embedded = html.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    # Through JSON (NaN figures of small groups read back as null, so compare the JSON).
    assert ModelCard.from_json(embedded).to_dict() == card.to_dict()
    assert ModelCard.from_json(card.to_json()).to_dict() == card.to_dict()
    dumped = card.model_dump(mode="json")
    assert dumped["complete"] is True and dumped["schema_version"] == "0.0.2"
    mct = card.to_mct()
    json.dumps(mct)  # plain JSON
    assert mct["model_details"]["owners"] == [{"name": "Credit risk <team> | retail"}]
    assert {"description": "Out of scope: Automated refusal without review"} in \
        mct["considerations"]["limitations"]


def test_unknown_model_or_version_is_a_clear_error(project: Project) -> None:
    project, _ = trained(project)
    with pytest.raises(NotFoundError, match="no version 5; versions are 1"):
        project.card("credit", 5)
    with pytest.raises(NotFoundError, match="No model named 'nope'"):
        project.card("nope")


def test_the_demo_declares_a_complete_card_and_datasheets() -> None:
    config = ProjectConfig.from_yaml_text(DEMO_CONFIG)
    model = config.training.register_as
    assert model is not None and config.promotion.evaluation_data is not None
    described = [config.training.dataset or "", config.promotion.evaluation_data]
    assert card_gaps(config, model, described) == ()
    policy = config.promotion.policy("production", config.registry.environments)
    assert policy.require_card and policy.gate_names[-1] == "card"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_remote_card_is_the_local_one(backend: str, tmp_path: Path) -> None:
    from tests._http import Server

    with Project.init(tmp_path / "proj", name="test") as local:
        local, version = trained(local)
        local_card = local.card("credit", version)
        with Server(local) as server:
            remote = server.connect()
            remote_card = remote.card("credit", version)
            latest = remote.card("credit")
            with pytest.raises(NotFoundError, match="no version 9"):
                remote.card("credit", 9)
    blank = {"generated_at": ""}
    remote_json = remote_card.model_copy(update=blank).to_dict()
    local_json = local_card.model_copy(update=blank).to_dict()
    for entry in (*remote_json["model_parameters"]["data"],
                  *local_json["model_parameters"]["data"]):
        entry["datasheet"]["generated_at"] = ""
    assert remote_json == local_json
    assert latest.model == "credit@1"
    assert TARGET == local_card.model_parameters.target
