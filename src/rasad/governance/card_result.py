"""The model card of a model version as a typed value, its Markdown form and its Model
Card Toolkit JSON.

Pure: these models import nothing that touches the store, so the HTML renderer
(:func:`rasad.reports.card.render_card`) can draw them. The service that fills them from
the registry, the run, the datasets, the release records and the monitors is
:func:`rasad.compliance.card.model_card`.

The JSON keeps the Model Card Toolkit's field names where they exist (schema 0.0.2:
``model_details``, ``model_parameters``, ``quantitative_analysis``, ``considerations``
and their fields), and adds rasad's own sections beside them (fairness, releases,
monitoring, explanations, missing). :meth:`ModelCard.to_mct` drops rasad's additions and
writes values as the toolkit's schema types them (strings), for tools that read only that.

Nothing on a card is invented: a declaration ``rasad.yaml`` lacks is listed in
``missing`` (:mod:`rasad.governance.card_checks`) and left empty where it would go.

>>> m = PerformanceMetric(type="roc_auc", value=0.81, slice=None, dataset="holdout@1", rows=900,
...                       confidence_interval=Interval(lower_bound=0.78, upper_bound=0.84))
>>> m.to_mct()
{'type': 'roc_auc', 'value': '0.81', 'confidence_interval': {'lower_bound': '0.78', \
'upper_bound': '0.84'}}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import computed_field

from rasad.evaluation.importance import GlobalImportance
from rasad.governance._markdown import cell, md_table
from rasad.governance.card_checks import Gap, complete
from rasad.governance.datasheet_result import Control, Datasheet
from rasad.governance.fairness.report import FairnessReport
from rasad.results import Result

SCHEMA_VERSION: Final = "0.0.2"
"""The Model Card Toolkit JSON schema version whose field names the card follows."""

CONTROLS: Final[tuple[tuple[str, str, str], ...]] = (
    ("EU AI Act", "Art. 11", "Technical documentation"),
    ("EU AI Act", "Art. 13", "Transparency and provision of information to deployers"),
    ("GDPR", "Art. 13 / Art. 14", "Information to be provided where personal data are "
                                  "collected from the data subject / have not been "
                                  "obtained from the data subject"),
)
"""The controls a model card is evidence for: (framework, ID, official title), only those
marked verified in the project's regulatory research (shared/research/regulation.md)."""


class Owner(Result):
    """MCT ``owner``: who owns the model, as declared."""

    name: str
    contact: str | None = None


class VersionInfo(Result):
    """MCT ``version``: the version's number and registration time; ``diff`` names the
    version it follows, if any."""

    name: str
    date: str
    diff: str | None = None


class License(Result):
    """MCT ``license``: an SPDX identifier, or the declared text when it is not one."""

    identifier: str | None = None
    custom_text: str | None = None


class Reference(Result):
    """MCT ``reference``: a link or citation people declared."""

    reference: str


class Described(Result):
    """MCT ``user``, ``use_case``, ``limitation`` and ``tradeoff``: one description."""

    description: str


class Risk(Result):
    """MCT ``risk``: an ethical consideration and how it is mitigated, as declared."""

    name: str
    mitigation_strategy: str


class RunDetails(Result):
    """The training run: what it ran, where, from which code, and what it recorded."""

    id: str
    name: str | None
    status: str
    started_at: str
    ended_at: str | None
    duration_s: float | None
    created_by: str
    seed: int | None
    estimator: str | None
    params: dict[str, Any]
    python: str | None
    platform: str | None
    packages: dict[str, str]
    git_commit: str | None
    git_dirty: bool | None
    git_branch: str | None
    metrics: dict[str, Any]


class DeploymentEntry(Result):
    """A deployment of this version: where, how, by whom, and whether it still serves."""

    environment: str
    kind: str
    deployed_by: str
    deployed_at: str
    reason: str | None
    request_id: int | None
    serving_now: bool


class ModelDetails(Result):
    """MCT ``model_details``, with the registry's record of the version beside it."""

    name: str
    overview: str | None
    owners: tuple[Owner, ...]
    version: VersionInfo
    licenses: tuple[License, ...]
    references: tuple[Reference, ...]
    ref: str
    risk_tier: str | None
    task: str
    classes: list[Any] | None
    artifact_sha256: str
    created_by: str
    created_at: str
    run: RunDetails
    deployments: tuple[DeploymentEntry, ...]
    serving: tuple[str, ...]


class InputColumn(Result):
    """One input of the model's signature."""

    name: str
    kind: str
    dtype: str


class DataEntry(Result):
    """MCT ``dataset``: a dataset version the card describes, with its datasheet."""

    name: str
    role: str
    content_hash: str
    rows: int
    description: str
    sensitive: tuple[str, ...]
    datasheet: Datasheet


class ModelParameters(Result):
    """MCT ``model_parameters``: the estimator, the data, the inputs and the outputs."""

    model_architecture: str | None
    data: tuple[DataEntry, ...]
    input_format: str
    output_format: str
    inputs: tuple[InputColumn, ...]
    target: str | None


class Interval(Result):
    """MCT ``confidence_interval``."""

    lower_bound: float
    upper_bound: float


class PerformanceMetric(Result):
    """MCT ``performance_metric``: a metric on the evaluation data or one slice of it, with
    its percentile bootstrap interval. ``value`` is None when it could not be computed on
    those rows (``note`` says why)."""

    type: str
    value: float | None
    slice: str | None
    dataset: str
    rows: int
    confidence_interval: Interval | None = None
    slice_source: str | None = None
    note: str | None = None

    def to_mct(self) -> dict[str, Any]:
        """The toolkit's form: values as text, the slice only when there is one."""
        out: dict[str, Any] = {"type": self.type,
                               "value": "null" if self.value is None else f"{self.value:.6g}"}
        if self.slice is not None:
            out["slice"] = self.slice
        if self.confidence_interval is not None:
            out["confidence_interval"] = {
                "lower_bound": f"{self.confidence_interval.lower_bound:.6g}",
                "upper_bound": f"{self.confidence_interval.upper_bound:.6g}"}
        return out


class QuantitativeAnalysis(Result):
    """MCT ``quantitative_analysis``: metrics with intervals on the evaluation data and its
    slices, and how the intervals were drawn."""

    performance_metrics: tuple[PerformanceMetric, ...]
    evaluation_data: str | None
    evaluation_sha256: str | None
    confidence: float
    n_boot: int
    seed: int
    method: str = "percentile bootstrap"
    note: str | None = None


class Considerations(Result):
    """MCT ``considerations``, as ``governance.models.NAME`` declares them (out-of-scope
    uses are rasad's; the toolkit's JSON lists them among the limitations)."""

    users: tuple[Described, ...]
    use_cases: tuple[Described, ...]
    out_of_scope_uses: tuple[Described, ...]
    limitations: tuple[Described, ...]
    tradeoffs: tuple[Described, ...] = ()
    ethical_considerations: tuple[Risk, ...]


class FairnessSection(Result):
    """The fairness engine's report on the evaluation data (None: ``note`` says why)."""

    evaluation_data: str | None
    report: FairnessReport | None
    note: str | None = None


class GateEntry(Result):
    """One gate of a promotion request."""

    gate: str
    status: str
    summary: str


class Decision(Result):
    """One person's decision on a promotion request."""

    principal: str
    decision: str
    comment: str | None
    created_at: str


class ReleaseEntry(Result):
    """A promotion request of this version: its gates, the decisions on it, its outcome."""

    request_id: int
    environment: str
    status: str
    opened_by: str
    opened_at: str
    closed_at: str | None
    policy_sha256: str
    gates_passed: bool
    gates: tuple[GateEntry, ...]
    approvals_required: int
    decisions: tuple[Decision, ...]
    break_glass: bool
    justification: str | None


class MonitoringEntry(Result):
    """A saved monitor result about this version (drift, performance, estimation)."""

    result_id: int
    monitor: str
    kind: str
    reference: str
    current: str
    alert: bool
    created_at: str
    summary: dict[str, Any]
    why: str


class ExplanationSection(Result):
    """Global importance of the inputs on the evaluation data (None: ``note`` says why)."""

    evaluation_data: str | None
    importance: GlobalImportance | None
    note: str | None = None


class ModelCard(Result):
    """The model card of one model version, generated from what rasad holds."""

    schema_version: str = SCHEMA_VERSION
    model: str
    generated_at: str
    model_details: ModelDetails
    model_parameters: ModelParameters
    quantitative_analysis: QuantitativeAnalysis
    considerations: Considerations
    fairness: FairnessSection
    releases: tuple[ReleaseEntry, ...]
    monitoring: tuple[MonitoringEntry, ...]
    explanations: ExplanationSection
    missing: tuple[Gap, ...]
    controls: tuple[Control, ...] = tuple(
        Control(framework=f, id=i, title=t) for f, i, t in CONTROLS)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        """True when no required declaration is missing (what the card gate checks)."""
        return complete(self.missing)

    def to_markdown(self) -> str:
        """The card as Markdown (table cells escaped)."""
        return _markdown(self)

    def to_mct(self) -> dict[str, Any]:
        """The card as Model Card Toolkit JSON (schema 0.0.2): its fields only, values
        typed as its schema types them."""
        d, p, c = self.model_details, self.model_parameters, self.considerations
        details: dict[str, Any] = {
            "name": d.name, "owners": [o.model_dump(exclude_none=True) for o in d.owners],
            "version": d.version.model_dump(exclude_none=True),
            "licenses": [lic.model_dump(exclude_none=True) for lic in d.licenses],
            "references": [r.model_dump() for r in d.references],
            "path": f"sha256:{d.artifact_sha256}"}
        if d.overview is not None:
            details["overview"] = d.overview
        parameters: dict[str, Any] = {
            "data": [{"name": e.name, "description": e.description,
                      "sensitive": {"sensitive_data": list(e.sensitive)}} for e in p.data],
            "input_format": p.input_format, "output_format": p.output_format}
        if p.model_architecture is not None:
            parameters["model_architecture"] = p.model_architecture
        return {
            "schema_version": self.schema_version, "model_details": details,
            "model_parameters": parameters,
            "quantitative_analysis": {"performance_metrics": [
                m.to_mct() for m in self.quantitative_analysis.performance_metrics
                if m.value is not None]},
            "considerations": {
                "users": [u.model_dump() for u in c.users],
                "use_cases": [u.model_dump() for u in c.use_cases],
                "limitations": [*(lim.model_dump() for lim in c.limitations),
                                *({"description": f"Out of scope: {u.description}"}
                                  for u in c.out_of_scope_uses)],
                "tradeoffs": [t.model_dump() for t in c.tradeoffs],
                "ethical_considerations": [r.model_dump() for r in c.ethical_considerations]},
        }


def _markdown(card: ModelCard) -> str:
    d, p = card.model_details, card.model_parameters
    lines = [f"# Model card: {cell(card.model)}", "",
             f"Generated by rasad at {card.generated_at} from the project's records "
             f"(Model Card Toolkit schema {card.schema_version} fields).", "",
             "Evidence for: " + "; ".join(f"{c.framework} {c.id} ({c.title})"
                                          for c in card.controls) + ".", ""]
    required = [g for g in card.missing if g.required]
    lines += [("**Complete**: every required declaration is there." if card.complete else
               f"**Incomplete**: {len(required)} required declaration(s) missing "
               "(see Missing declarations)."), ""]
    lines += ["## Model details", "",
              f"- Name: {cell(d.name)}; version {cell(d.version.name)} registered by "
              f"{cell(d.created_by)} at {d.created_at}"
              + (f" (follows {cell(d.version.diff)})" if d.version.diff else ""),
              f"- Owners: {cell(', '.join(o.name for o in d.owners) or None)}",
              f"- Risk tier: {cell(d.risk_tier)}",
              f"- Overview: {cell(d.overview)}",
              "- Licence: " + cell(", ".join(lic.identifier or lic.custom_text or ""
                                             for lic in d.licenses) or None),
              "- References: " + cell(", ".join(r.reference for r in d.references) or None),
              f"- Task: {d.task}; classes: {cell(', '.join(map(str, d.classes or [])) or None)}",
              f"- Artifact sha256: {d.artifact_sha256}",
              f"- Serving now: {cell(', '.join(d.serving) or 'nowhere')}", ""]
    run = d.run
    lines += ["### Training run", "",
              f"- Run {cell(run.id)} ({cell(run.name)}), {run.status}, by {cell(run.created_by)}, "
              f"{run.started_at} to {cell(run.ended_at)} ({cell(run.duration_s)} s)",
              f"- Estimator: {cell(run.estimator)}; seed {cell(run.seed)}",
              f"- Environment: Python {cell(run.python)} on {cell(run.platform)}",
              "- Packages: " + cell(", ".join(f"{k} {v}" for k, v in run.packages.items())
                                    or None),
              f"- Code: git commit {cell(run.git_commit or 'not recorded')}"
              + ("" if run.git_dirty is None else
                 f" ({'uncommitted changes' if run.git_dirty else 'clean'}"
                 f", branch {cell(run.git_branch)})"), ""]
    lines += md_table(["split", "metric", "value"],
                      [(split, metric, value) for split, found in run.metrics.items()
                       if isinstance(found, dict) for metric, value in found.items()])
    lines += ["### Deployments", ""]
    lines += md_table(["environment", "kind", "by", "at", "request", "serving now"],
                      [(e.environment, e.kind, e.deployed_by, e.deployed_at, e.request_id,
                        e.serving_now) for e in d.deployments])
    c = card.considerations
    lines += ["## Intended use", ""]
    lines += _items("Intended use", c.use_cases)
    lines += _items("Users", c.users)
    lines += _items("Out-of-scope uses", c.out_of_scope_uses)
    lines += _items("Limitations", c.limitations)
    lines += ["### Ethical considerations", ""]
    lines += md_table(["risk", "mitigation"],
                      [(r.name, r.mitigation_strategy) for r in c.ethical_considerations])
    lines += ["## Training and evaluation data", ""]
    lines += md_table(["dataset", "role", "rows", "sha256", "sensitive", "open questions"],
                      [(e.name, e.role, e.rows, e.content_hash, ", ".join(e.sensitive) or None,
                        ", ".join(e.datasheet.open_questions) or "none") for e in p.data])
    lines += ["Each dataset's datasheet is embedded in the JSON form "
              "(`rasad datasheet NAME@VERSION` prints it).", "",
              "## Inputs and outputs", "", f"- Inputs: {cell(p.input_format)}",
              f"- Output: {cell(p.output_format)}",
              f"- Architecture: {cell(p.model_architecture)}", ""]
    q = card.quantitative_analysis
    lines += ["## Metrics", ""]
    if q.evaluation_data is None:
        lines += [cell(q.note), ""]
    else:
        lines += [f"On {cell(q.evaluation_data)} (sha256 {q.evaluation_sha256}); "
                  f"{q.confidence:.0%} {q.method} intervals, {q.n_boot} resamples, "
                  f"seed {q.seed}.", ""]
        lines += md_table(["metric", "slice", "rows", "value", "lower", "upper", "note"],
                          [(m.type, m.slice or "all rows", m.rows, m.value,
                            m.confidence_interval.lower_bound if m.confidence_interval
                            else None,
                            m.confidence_interval.upper_bound if m.confidence_interval
                            else None, m.note) for m in q.performance_metrics])
    f = card.fairness
    lines += ["## Fairness", ""]
    if f.report is None:
        lines += [cell(f.note), ""]
    else:
        r = f.report
        lines += [f"On {cell(f.evaluation_data)}: verdict **{r.verdict}** ({cell(r.reason)}); "
                  f"favourable outcome {cell(r.outcome.favorable)}"
                  f"{'' if r.outcome.declared else ' (assumed)'}; {r.confidence:.0%} "
                  f"intervals, {r.n_boot} resamples, seed {r.seed}.", ""]
        lines += md_table(["attribute", "measure", "value", "lower", "upper", "threshold",
                           "verdict"],
                          [(a.name, x.measure, x.value, x.lower, x.upper, x.threshold,
                            x.verdict) for a in r.attributes for x in a.disparities])
    lines += ["## Gate results and approvals", ""]
    if not card.releases:
        lines += ["No promotion request names this version.", ""]
    for rel in card.releases:
        lines += [f"### Request #{rel.request_id}: {cell(rel.environment)}, {rel.status}", "",
                  f"Opened by {cell(rel.opened_by)} at {rel.opened_at}; gates "
                  f"{'passed' if rel.gates_passed else 'blocked'}; policy sha256 "
                  f"{rel.policy_sha256}"
                  + (f"; break-glass: {cell(rel.justification)}" if rel.break_glass else "")
                  + ".", ""]
        lines += md_table(["gate", "status", "summary"],
                          [(g.gate, g.status, g.summary) for g in rel.gates])
        lines += md_table(["decision", "by", "at", "comment"],
                          [(x.decision, x.principal, x.created_at, x.comment)
                           for x in rel.decisions]) if rel.decisions else [
            f"No decision recorded ({rel.approvals_required} approval(s) required).", ""]
    lines += ["## Drift and performance while serving", ""]
    lines += md_table(["result", "monitor", "kind", "reference", "current", "alert", "at",
                       "why listed"],
                      [(m.result_id, m.monitor, m.kind, m.reference, m.current, m.alert,
                        m.created_at, m.why) for m in card.monitoring])
    e = card.explanations
    lines += ["## Explanations", ""]
    if e.importance is None:
        lines += [cell(e.note), ""]
    else:
        imp = e.importance
        lines += [f"Permutation importance on {cell(e.evaluation_data)} ({imp.rows:,} rows): "
                  f"the drop in {imp.scoring} (baseline {imp.baseline:.4g}) when a column is "
                  f"shuffled, {imp.n_repeats} repeats, seed {imp.seed}.", ""]
        lines += md_table(["rank", "feature", "mean drop", "std", "min", "max"],
                          [(x.rank, x.feature, x.mean, x.std, x.spread[0], x.spread[1])
                           for x in imp.features])
    lines += ["## Missing declarations", ""]
    lines += md_table(["rasad.yaml key", "required", "what it is for"],
                      [(g.key, g.required, g.what) for g in card.missing])
    return "\n".join(lines).rstrip() + "\n"


def _items(title: str, items: Sequence[Described]) -> list[str]:
    if not items:
        return [f"### {title}", "", "**Missing**: not declared in rasad.yaml.", ""]
    return [f"### {title}", "", *(f"- {cell(i.description)}" for i in items), ""]


__all__ = ["CONTROLS", "SCHEMA_VERSION", "Considerations", "DataEntry",
           "Decision", "DeploymentEntry", "Described", "ExplanationSection",
           "FairnessSection", "GateEntry", "InputColumn", "Interval", "License", "ModelCard",
           "ModelDetails", "ModelParameters", "MonitoringEntry", "Owner", "PerformanceMetric",
           "QuantitativeAnalysis", "Reference", "ReleaseEntry", "Risk", "RunDetails",
           "VersionInfo", "cell", "md_table"]
