"""The card's pure parts: the completeness rule, the toolkit JSON of a metric, table cells."""

from __future__ import annotations

from rasad.config import ProjectConfig
from rasad.governance.card_checks import EVIDENCE, MODEL_FIELDS, card_gaps, complete
from rasad.governance.card_result import Interval, PerformanceMetric, cell, md_table
from rasad.governance.datasheet_result import QUESTIONS

# The Model Card Toolkit's performance_metric fields (schema 0.0.2).
MCT_METRIC_FIELDS = {"type", "value", "slice", "confidence_interval"}


def config(models: dict[str, object] | None = None, **extra: object) -> ProjectConfig:
    return ProjectConfig.model_validate({"name": "t", "governance": {
        "models": models or {}, "datasets": extra.get("datasets", {})},
        "promotion": extra.get("promotion", {}), "data": extra.get("data", {})})


def test_nothing_declared_lists_every_field_and_evidence() -> None:
    gaps = card_gaps(config(), "credit", ["loans", "loans"])
    assert {g.key for g in gaps if g.required} == {
        *(f"governance.models.credit.{k}" for k, r, _ in MODEL_FIELDS if r),
        *(k for k, _, _ in EVIDENCE)}
    assert [g.required for g in gaps] == sorted((g.required for g in gaps), reverse=True)
    assert sum(g.key.startswith("governance.datasets.loans.") for g in gaps) == len(QUESTIONS)
    assert not complete(gaps)


def test_blank_values_are_missing_and_a_full_declaration_is_complete() -> None:
    full = {"owner": "Risk", "risk_tier": "low", "intended_use": "Ranking",
            "out_of_scope_uses": ["Pricing"], "limitations": ["Short history"],
            "users": ["Officers"], "ethical_considerations": {"Bias": "Gate"},
            "description": "d", "license": "MIT", "references": ["r"]}
    answered = {topic: "answer" for topic, _ in QUESTIONS}
    done = config({"credit": full}, datasets={"loans": answered},
                  promotion={"evaluation_data": "loans"},
                  data={"protected_attributes": ["sex"]})
    assert card_gaps(done, "credit", ["loans"]) == ()
    blank = config({"credit": {**full, "owner": "  ", "users": []}},
                   promotion={"evaluation_data": "loans"},
                   data={"protected_attributes": ["sex"]})
    gaps = card_gaps(blank, "credit", [])
    assert [g.key for g in gaps] == ["governance.models.credit.owner",
                                     "governance.models.credit.users"]
    assert card_gaps(done, "other", [])[0].key == "governance.models.other.owner"


def test_a_metric_in_the_toolkit_form() -> None:
    metric = PerformanceMetric(type="roc_auc", value=0.7512345678, slice="age < 30",
                               dataset="holdout@1", rows=10,
                               confidence_interval=Interval(lower_bound=0.7, upper_bound=0.8))
    mct = metric.to_mct()
    assert set(mct) <= MCT_METRIC_FIELDS
    assert mct == {"type": "roc_auc", "value": "0.751235", "slice": "age < 30",
                   "confidence_interval": {"lower_bound": "0.7", "upper_bound": "0.8"}}
    bare = PerformanceMetric(type="f1", value=None, slice=None, dataset="d", rows=0,
                             note="one class only").to_mct()
    assert bare == {"type": "f1", "value": "null"}


def test_cells_cannot_break_a_table() -> None:
    assert cell("a|b\n<script>") == "a\\|b &lt;script>"
    assert cell(None) == "–" and cell(True) == "yes" and cell(0.123456) == "0.1235"
    assert md_table(["x"], []) == ["(none)", ""]
    assert md_table(["x"], [["|"]])[2] == "| \\| |"
