"""``rasad test``: the behavioural model tests of ``rasad.yaml`` on a model version.

A thin door over :meth:`rasad.Project.test_model` (the service
:func:`rasad.release.model_tests.run_model_tests`): a table of the tests, JUnit XML for
CI with ``--junit``, exit 1 when any test fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rasad._files import check_outputs, write_text_atomic
from rasad.cli._context import state
from rasad.cli._output import JsonFlag, clean, emit_json, say, table
from rasad.cli._release import warn_break_glass

if TYPE_CHECKING:
    from rasad.evaluation.behaviour import ModelTestReport


def model_test(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(
        metavar="NAME@VERSION", help="The model version to test (NAME alone: the latest).")],
    data: Annotated[str | None, typer.Option(
        "--data", metavar="NAME@VERSION",
        help="Labelled dataset version to test on; default promotion.evaluation_data in "
             "rasad.yaml.")] = None,
    junit: Annotated[Path | None, typer.Option(
        "--junit", help="Also write the results as JUnit XML (one test case per test).")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the model tests of rasad.yaml (promotion.tests) on a version; exit 1 when any fails.

    The test kinds and their options: docs/promotion.md, "Model tests". Nothing is stored.
    """
    from rasad.config import CONFIG_FILE, STATE_DIR
    from rasad.evaluation.behaviour import to_junit
    from rasad.project import Project

    project = state(ctx).project()
    if isinstance(project, Project):  # a local project's own files must not be overwritten
        check_outputs([junit], inputs=[project.root / CONFIG_FILE, project.root / STATE_DIR])
    report = project.test_model(model, data=data)
    warn_break_glass(project, model)
    if junit is not None:
        write_text_atomic(junit, to_junit(report, f"rasad test {report.model}"))
    if as_json:
        emit_json(report)
    else:
        _show(report, junit)
    if not report.passed:
        raise typer.Exit(1)


def _show(report: ModelTestReport, junit: Path | None) -> None:
    table(f"Model tests of {report.model} on {report.data}",
          ["test", "kind", "result", "summary"],
          [[test.name, test.kind.value, "pass" if test.passed else "FAIL", test.summary]
           for test in report.tests])
    passed = len(report.tests) - len(report.failed)
    line = f"{passed} of {len(report.tests)} tests pass on {report.rows:,} rows"
    if report.failed:
        line += f"; failed: {', '.join(report.failed)}"
    say(clean(line) + ".")
    if junit is not None:
        say(f"JUnit XML: {clean(junit)}")


__all__ = ["model_test"]
