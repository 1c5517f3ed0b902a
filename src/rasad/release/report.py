"""Gate results: what each promotion gate found, with the evidence to re-check it.

>>> result = GateResult(gate="metrics", status=GateStatus.FAILED,
...                     summary="roc_auc 0.71 < 0.75", evidence={"roc_auc": 0.71})
>>> report = GateReport(model="credit@2", environment="production", policy_sha256="ab" * 32,
...                     evidence_key={"evaluation_data": None}, gates=[result],
...                     created_at="2026-12-06T10:00:00Z")
>>> report.passed, report.blocking
(False, ['metrics'])
>>> GateReport.from_json(report.to_json()) == report
True
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import computed_field

from rasad.results import Result


class GateStatus(StrEnum):
    """How a gate ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    """The gate could not run: nothing was declared for it (no evaluation data, no
    protected attributes, no tests), or it does not apply (the first version has no
    champion). The summary says which. Blocks only under a ``strict`` policy."""


class GateResult(Result):
    """One gate's outcome: a one-line summary, and every figure behind it."""

    gate: str
    status: GateStatus
    summary: str
    evidence: dict[str, Any]


class GateReport(Result):
    """Every gate an environment's policy ran for one candidate, and whether it may pass.

    ``evidence_key`` names what the results depend on (the policy's hash, the evaluation
    dataset version and its content hash, the serving champion): a promotion request
    whose key no longer matches the project is stale.
    """

    model: str
    environment: str
    policy_sha256: str
    evidence_key: dict[str, Any]
    gates: list[GateResult]
    strict: bool = False
    created_at: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def blocking(self) -> list[str]:
        """The gates that stop the promotion: failed ones (and skipped ones when strict)."""
        stops = {GateStatus.FAILED} | ({GateStatus.SKIPPED} if self.strict else set())
        return [result.gate for result in self.gates if result.status in stops]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """True when no gate blocks."""
        return not self.blocking

    def gate(self, name: str) -> GateResult | None:
        """The result of gate ``name``, if it ran."""
        return next((result for result in self.gates if result.gate == name), None)


__all__ = ["GateReport", "GateResult", "GateStatus"]
