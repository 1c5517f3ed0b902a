"""The card gate: ``require_card`` blocks a candidate whose card is incomplete, lists what
is missing, and lets a complete one through; without ``require_card`` it does not run."""

from __future__ import annotations

import pytest

from rasad import Project
from rasad.errors import GatesFailed
from rasad.registry import Deployment
from rasad.release.gates import card as card_gate
from rasad.release.report import GateStatus
from rasad.release.requests import RequestStatus
from tests.release._seed import EVAL, add_data, gate_inputs, train

COMPLETE = """
  models:
    credit:
      owner: Credit risk
      risk_tier: medium
      intended_use: Rank applications for review.
      out_of_scope_uses: [Automated refusal]
      limitations: [Short history]
      users: [Credit officers]
      ethical_considerations: {Disparate impact: Fairness gate on every promotion.}
"""


def configure(project: Project, *, models: str = "", require_card: bool = True) -> Project:
    text = (f"name: test\ndata:\n  protected_attributes: [gender]\n"
            f"governance:\n  fairness:\n    favorable_outcomes: {{default: 0}}\n{models}"
            f"promotion:\n  evaluation_data: {EVAL}\n  environments:\n"
            f"    production: {{gates: [], require_card: {str(require_card).lower()}}}\n")
    (project.root / "rasad.yaml").write_text(text)
    return Project.open(project.root)


def test_an_incomplete_card_blocks_production(project: Project) -> None:
    project = configure(project)
    add_data(project)
    version = train(project, ["income", "age"])
    with pytest.raises(GatesFailed, match="card: The model card of credit@1 is incomplete"
                       ) as blocked:
        project.promote("credit", version.version, "production")
    request = blocked.value.request
    assert request.status is RequestStatus.FAILED
    assert request.gates.blocking == ["card"]
    result = request.gates.gate("card")
    assert result is not None and result.status is GateStatus.FAILED
    assert "governance.models.credit.owner" in result.summary
    assert result.evidence["blocking"][:2] == ["governance.models.credit.owner",
                                               "governance.models.credit.risk_tier"]
    assert result.evidence["datasets"] == ["loans", EVAL]
    assert project.model("credit").deployed == {}


def test_a_complete_card_passes_with_recommendations_listed(project: Project) -> None:
    project = configure(project, models=COMPLETE)
    add_data(project)
    version = train(project, ["income", "age"])
    result = card_gate.run(gate_inputs(project, version))
    assert result.status is GateStatus.PASSED and result.evidence["blocking"] == []
    open_keys = {g["key"] for g in result.evidence["missing"]}
    assert "governance.models.credit.license" in open_keys
    assert "governance.datasets.loans.motivation" in open_keys
    assert all(not g["required"] for g in result.evidence["missing"])
    deployed = project.promote("credit", version.version, "production")  # no approval rule
    assert isinstance(deployed, Deployment) and deployed.request_id is not None
    assert project.model("credit").deployed == {"production": version.version}
    request = project.request(deployed.request_id)
    assert request.status is RequestStatus.PROMOTED and request.gates.passed
    assert [g.gate for g in request.gates.gates] == ["card"]


@pytest.mark.parametrize("missing", ["owner", "users", "ethical_considerations"])
def test_each_required_field_blocks_alone(project: Project, missing: str) -> None:
    lines = [line for line in COMPLETE.splitlines(keepends=True)
             if not line.strip().startswith(f"{missing}:")]
    project = configure(project, models="".join(lines))
    add_data(project)
    version = train(project, ["income", "age"])
    result = card_gate.run(gate_inputs(project, version))
    assert result.status is GateStatus.FAILED
    assert result.evidence["blocking"] == [f"governance.models.credit.{missing}"]


def test_without_require_card_the_gate_does_not_run(project: Project) -> None:
    project = configure(project, require_card=False)
    add_data(project)
    version = train(project, ["income", "age"])
    deployed = project.promote("credit", version.version, "production")
    assert isinstance(deployed, Deployment) and deployed.request_id is not None
    request = project.request(deployed.request_id)
    assert request.gates.gate("card") is None and request.gates.passed


def test_removing_a_declaration_makes_an_open_request_stale(project: Project) -> None:
    """An approval waits on a card that was complete; once a required declaration is gone
    from rasad.yaml, the request is stale and cannot be approved on the old evidence."""
    project = configure(project, models=COMPLETE)
    text = (project.root / "rasad.yaml").read_text().replace(
        "{gates: [], require_card: true}",
        "{gates: [], require_card: true, approval: {approvals: 1}}")
    (project.root / "rasad.yaml").write_text(text)
    project = Project.open(project.root)
    add_data(project)
    version = train(project, ["income", "age"])
    request = project.promote("credit", version.version, "production")
    assert request.status is RequestStatus.OPEN and request.stale is None
    (project.root / "rasad.yaml").write_text(text.replace("      owner: Credit risk\n", ""))
    reopened = Project.open(project.root)
    assert reopened.request(request.id).stale == (
        "the promotion policy of production in rasad.yaml changed since the gates ran")
