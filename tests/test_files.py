"""Outputs never destroy inputs: `rasad._files` and every command that writes a file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from rasad import Project
from rasad._files import check_outputs, write_atomic, write_text_atomic
from rasad.errors import InputError

from .cli._helpers import Cli, add_and_train, assert_user_error, portfolio, write_csv

# -- the writer ------------------------------------------------------------------------------


def _links(tmp_path: Path) -> tuple[Path, Path, Path]:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    symlink = tmp_path / "sym.csv"
    symlink.symlink_to(data)
    hardlink = tmp_path / "hard.csv"
    os.link(data, hardlink)
    return data, symlink, hardlink


def test_an_output_that_is_an_input_is_refused_by_any_name(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    data, symlink, hardlink = _links(tmp_path)
    monkeypatch.chdir(tmp_path)
    for output in (data, Path("data.csv"), tmp_path / "sub" / ".." / "data.csv", symlink,
                   hardlink):
        with pytest.raises(InputError, match="would destroy the input") as caught:
            write_text_atomic(output, "overwritten", inputs=["data.csv"])
        assert str(output) in str(caught.value) and "data.csv" in str(caught.value)
    # An input given through a link protects the file it names, too.
    with pytest.raises(InputError, match="would destroy the input"):
        check_outputs([data], inputs=[symlink])
    assert data.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "hard.csv", "sym.csv"]


def test_inputs_that_are_not_files_and_other_outputs(tmp_path: Path) -> None:
    data, _, _ = _links(tmp_path)
    check_outputs([tmp_path / "out.csv", None], inputs=["loans@2", None, pd.DataFrame(), data])
    folder = tmp_path / "partitioned"
    folder.mkdir()
    with pytest.raises(InputError, match="inside the input folder"):
        check_outputs([folder / "new.parquet"], inputs=[folder])
    with pytest.raises(InputError, match="same file"):
        check_outputs([tmp_path / "r.html", tmp_path / "." / "r.html"])


def test_replacing_a_file_keeps_its_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    write_text_atomic(target, "first")
    default = stat.S_IMODE(target.stat().st_mode)
    seen: list[int] = []

    def write(tmp: Path) -> None:
        seen.append(stat.S_IMODE(tmp.stat().st_mode))
        tmp.write_text("next")

    for mode in (0o600, 0o640, 0o755):
        target.chmod(mode)
        write_atomic(target, write)
        assert stat.S_IMODE(target.stat().st_mode) == mode
        assert seen.pop() & ~mode == 0  # never wider while the new content is written
    fresh = tmp_path / "new.csv"
    write_text_atomic(fresh, "x")
    assert stat.S_IMODE(fresh.stat().st_mode) == default


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o600)

    def explode(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, explode)
    assert target.read_text() == "old" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


# -- the commands ---------------------------------------------------------------------------


def _refused(result: object, output: Path, source: Path) -> None:
    assert_user_error(result, "would destroy the input", str(output), str(source))  # type: ignore[arg-type]


def test_predict_refuses_to_write_over_its_input_or_the_project(
        project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rasad = Cli(capsys, project.root)
    trained = add_and_train(rasad, write_csv(tmp_path / "loans.csv"))
    before = trained.csv.read_bytes()
    symlink = tmp_path / "latest.csv"
    symlink.symlink_to(trained.csv)
    hardlink = tmp_path / "hard.csv"
    os.link(trained.csv, hardlink)
    events = len(project.audit_log())
    for output in (trained.csv, symlink, hardlink):
        _refused(rasad("predict", "credit", trained.csv, "--version", "1", "-o", output),
                 output, trained.csv)
    inside = project.root / ".rasad" / "scores.csv"
    assert_user_error(rasad("predict", "credit", trained.csv, "--version", "1", "-o", inside),
                      "inside the input folder", str(project.root / ".rasad"))
    assert trained.csv.read_bytes() == before and not inside.exists()
    assert len(project.audit_log()) == events  # refused before any work

    scores = tmp_path / "scores.csv"
    scores.write_text("old scores\n")
    scores.chmod(0o640)
    rasad.ok("predict", "credit", trained.csv, "--version", "1", "-o", scores)
    assert stat.S_IMODE(scores.stat().st_mode) == 0o640
    assert len(pd.read_csv(scores)) == len(portfolio())


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[Cli, Path, Path]:
    """Two files of the demo's shape, and `rasad` run outside any project."""
    monkeypatch.chdir(tmp_path)
    frame = portfolio()
    reference = write_csv(tmp_path / "reference.csv", frame.iloc[:300])
    current = write_csv(tmp_path / "current.csv", frame.iloc[300:])
    return Cli(capsys), reference, current


def test_drift_reports_never_replace_the_compared_files(files: tuple[Cli, Path, Path],
                                                       tmp_path: Path) -> None:
    rasad, reference, current = files
    before = (reference.read_bytes(), current.read_bytes())
    _refused(rasad("drift", reference, current, "--html", reference), reference, reference)
    link = tmp_path / "cur-link.json"
    link.symlink_to(current)
    _refused(rasad("drift", reference, current, "-o", link), link, current)
    assert_user_error(rasad("drift", reference, current, "-o", tmp_path / "r.out",
                            "--html", tmp_path / "r.out"), "same file")
    assert (reference.read_bytes(), current.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur-link.json", "current.csv",
                                                          "reference.csv"]


def test_validate_junit_never_replaces_the_data_or_the_schema(
        files: tuple[Cli, Path, Path], tmp_path: Path) -> None:
    rasad, reference, _ = files
    schema = tmp_path / "schema.yaml"
    rasad.ok("schema", "infer", reference, "-o", schema)
    _refused(rasad("schema", "infer", reference, "-o", reference), reference, reference)
    before = (reference.read_bytes(), schema.read_bytes())
    _refused(rasad("validate", reference, "--schema", schema, "--junit", reference),
             reference, reference)
    _refused(rasad("validate", reference, "--schema", schema, "--junit", schema),
             schema, schema)
    assert (reference.read_bytes(), schema.read_bytes()) == before


def test_fairness_html_never_replaces_the_data(files: tuple[Cli, Path, Path],
                                               tmp_path: Path) -> None:
    rasad, reference, _ = files
    frame = pd.read_csv(reference).assign(pred=lambda f: f["default"])
    scored = tmp_path / "scored.csv"
    frame.to_csv(scored, index=False)
    before = scored.read_bytes()
    hard = tmp_path / "report.html"
    os.link(scored, hard)
    for output in (scored, hard):
        _refused(rasad("fairness", scored, "--target", "default", "--prediction", "pred",
                       "--sensitive", "gender", "--html", output), output, scored)
    assert scored.read_bytes() == before


def test_performance_reports_never_replace_the_compared_files(
        files: tuple[Cli, Path, Path]) -> None:
    rasad, reference, current = files
    before = current.read_bytes()
    _refused(rasad("performance", "track", reference, current, "--target", "default",
                   "--prediction", "default", "-o", current), current, current)
    assert current.read_bytes() == before
