"""The model-tests gate: the behavioural tests of ``promotion.tests`` on the evaluation data.

The tests are those ``rasad test NAME@VERSION`` runs (:mod:`rasad.release.model_tests`,
the engine :mod:`rasad.evaluation.behaviour`): minimum performance on named slices,
invariance to columns that must not matter, directional expectations, and robustness to
missing, unseen and extreme values. They run on the declared evaluation dataset version
with the candidate loaded through the registry. The gate fails when any test fails, and
its evidence is the whole report: every test's figures, the candidate and its artifact's
sha256, the dataset version and its content hash.

Nothing declared (no tests, or no evaluation data) skips the gate, naming the key to set.
A test declared wrongly is a mistake in ``rasad.yaml`` and raises
:class:`~rasad.errors.InputError` naming the test.
"""

from __future__ import annotations

from rasad.release.gates._base import GateInputs, skipped
from rasad.release.model_tests import run_version_tests
from rasad.release.report import GateResult, GateStatus

GATE = "model_tests"


def run(inputs: GateInputs) -> GateResult:
    """Run every test of ``promotion.tests`` on the candidate and the evaluation data."""
    tests = inputs.config.tests
    if not tests:
        return skipped(GATE, "No model tests are declared; list them under promotion.tests "
                             "in rasad.yaml (see docs/promotion.md, \"Model tests\").")
    evaluation = inputs.evaluation
    if evaluation is None:
        return skipped(GATE, "No evaluation data is declared; set promotion.evaluation_data "
                             "in rasad.yaml to run promotion.tests.")
    report = run_version_tests(inputs.ctx, inputs.candidate, evaluation.version,
                               evaluation.frame, evaluation.target, tests)
    failed = [test for test in report.tests if not test.passed]
    where = f"{report.data} ({report.rows} rows)"
    if failed:
        summary = (f"{len(failed)} of {len(report.tests)} model tests fail on {where}: "
                   + "; ".join(f"{test.name}: {test.summary}" for test in failed))
    else:
        summary = (f"{len(report.tests)} of {len(report.tests)} model tests pass on {where}: "
                   + ", ".join(test.name for test in report.tests))
    return GateResult(gate=GATE, status=GateStatus.FAILED if failed else GateStatus.PASSED,
                      summary=summary, evidence=report.to_dict())


__all__ = ["GATE", "run"]
