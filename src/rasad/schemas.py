"""The published JSON Schemas of rasad's reports and results (``docs/schemas/``).

Each entry names a :class:`rasad.results.Result` subclass by import path, so this
table costs nothing to import; :func:`schema` loads the class and returns the JSON
Schema of its serialised form, which is exactly what ``--json`` prints, what the HTTP
API returns and what is stored. ``python -m rasad.schemas docs/schemas`` writes them;
a test checks the published files match the code.

>>> schema("monitor-result")["title"]
'MonitorResult'
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any, Final

from rasad.errors import InputError

REPORTS: Final[dict[str, str]] = {
    "drift-report": "rasad.drift.report:DriftReport",
    "serving-comparison": "rasad.serving.compare:ServingComparison",
    "drift-check": "rasad.monitoring.drift_check:DriftCheck",
    "reference-profile": "rasad.drift.reference:ReferenceProfile",
    "validation-report": "rasad.validation.validate:ValidationReport",
    "quality-report": "rasad.validation.quality:QualityReport",
    "pii-report": "rasad.validation.pii:PIIReport",
    "fairness-report": "rasad.governance.fairness.report:FairnessReport",
    "fairness-assessment": "rasad.governance.fairness.report:FairnessAssessment",
    "mitigation-result": "rasad.governance.fairness.mitigation:MitigationResult",
    "performance-report": "rasad.monitoring.performance:PerformanceReport",
    "estimation-report": "rasad.monitoring.estimation:EstimationReport",
    "monitor-result": "rasad.monitoring.results:MonitorResult",
    "dataset-version": "rasad.datasets.version:DatasetVersion",
    "run": "rasad.training.run:Run",
    "model-version": "rasad.registry.version:ModelVersion",
    "model-detail": "rasad.registry.version:ModelDetail",
    "deployment": "rasad.registry.version:Deployment",
    "promotion-request": "rasad.release.requests:PromotionRequest",
    "environment-status": "rasad.release.requests:EnvironmentStatus",
    "model-test-report": "rasad.evaluation.behaviour:ModelTestReport",
}
"""Schema file name (without ``.schema.json``) -> ``module:Class``."""


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of report ``name`` as serialised (aliases, computed fields)."""
    target = REPORTS.get(name)
    if target is None:
        raise InputError(f"No report schema {name!r}; known: {', '.join(sorted(REPORTS))}.")
    module, _, attribute = target.partition(":")
    cls = getattr(importlib.import_module(module), attribute)
    found: dict[str, Any] = cls.model_json_schema(mode="serialization", by_alias=True)
    return found


def render(name: str) -> str:
    """The published text of a schema file: sorted keys, two-space indent, final newline."""
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"


def write(folder: str | Path) -> list[Path]:
    """Write every schema into ``folder`` as ``NAME.schema.json``; return the paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(REPORTS):
        path = target / f"{name}.schema.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for path in write(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas"):
        print(path)


__all__ = ["REPORTS", "render", "schema", "write"]
