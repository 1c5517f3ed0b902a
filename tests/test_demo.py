"""`rasad demo` through the real console script, and what the demo's project detects afterwards.

The demo runs on the embedded default (SQLite and local artifacts), so these tests need
no backend fixture. Each `rasad demo` takes a few seconds; the main test runs it twice.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pandas as pd

from rasad.demo import DemoSummary, next_steps
from rasad.examples.credit import FAVORABLE_OUTCOME

RASAD = Path(sys.executable).parent / "rasad"


def rasad(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RASAD), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr


def test_demo_end_to_end_then_tampering_is_caught(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    done = rasad("demo", "--dir", demo, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_no_traceback(done)
    assert "Audit chain verified" in done.stdout and "intact" in done.stdout
    assert "Registered credit-risk@1" in done.stdout
    assert f"rasad --project {demo} audit verify" in done.stdout
    # Each suggested command is printed on one line, as it must be pasted.
    suggested = done.stdout.split("Try next:\n", 1)[1].splitlines()
    assert len(suggested) == len(next_steps(DemoSummary(demo)))
    assert all(line.startswith("  ") and " --project " in line for line in suggested)
    assert any(" fairness " in line and "--sensitive" in line for line in suggested)

    (applications,) = (demo / "data").glob("applications_*.csv")
    (predictions,) = (demo / "predictions").glob("scores_*.csv")
    scored, inputs = pd.read_csv(predictions), pd.read_csv(applications)
    assert len(scored) == len(inputs) > 0
    assert list(scored["application_id"]) == list(inputs["application_id"])
    assert {"prediction", "proba_1", "model_version"} <= set(scored.columns)
    assert f"Scored {len(inputs):,} applications" in done.stdout

    verified = rasad("--project", demo, "audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("Audit chain intact")

    # The demo model's card and its training data's datasheet are complete, and the card's
    # figures are the records': the run, the datasets' hashes, the gate that let it through.
    card = json.loads(rasad("--project", demo, "card", "credit-risk@1", "--json",
                            cwd=tmp_path).stdout)
    assert card["complete"] is True and card["missing"] == []
    sheet = json.loads(rasad("--project", demo, "datasheet", "loans@1", "--json",
                             cwd=tmp_path).stdout)
    assert sheet["open_questions"] == []
    with closing(sqlite3.connect(demo / ".rasad" / "rasad.db")) as conn:
        run_id, blob = conn.execute("SELECT run_id, blob FROM model_versions WHERE "
                                    "name = 'credit-risk' AND version = 1").fetchone()
        loans_hash = conn.execute("SELECT content_hash FROM dataset_versions WHERE "
                                  "name = 'loans' AND version = 1").fetchone()[0]
    text = json.dumps(card)
    assert run_id in text and blob in text and loans_hash in text
    assert sheet["lineage"]["content_hash"] == loans_hash

    # A second run into the same folder is refused without --force, and changes nothing.
    db = demo / ".rasad" / "rasad.db"
    before = db.read_bytes()
    again = rasad("demo", "--dir", demo, cwd=tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr
    assert_no_traceback(again)
    assert again.stderr.strip().splitlines() == [again.stderr.strip()]
    assert "is not empty" in again.stderr and "--force" in again.stderr
    assert db.read_bytes() == before

    # One changed byte in the registered model: scoring refuses (exit 1), writes nothing.
    with closing(sqlite3.connect(db)) as conn:
        (digest,) = conn.execute("SELECT blob FROM model_versions WHERE name = 'credit-risk' "
                                 "AND version = 1").fetchone()
        (seq,) = conn.execute("SELECT seq FROM audit_events WHERE action = 'model.register'"
                              ).fetchone()
    blob = demo / ".rasad" / "artifacts" / "blobs" / digest[:2] / digest
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    out = demo / "predictions" / "tampered.csv"
    refused = rasad("--project", demo, "predict", "credit-risk", applications, "--env",
                    "staging", "-o", out, cwd=tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert_no_traceback(refused)
    assert refused.stderr.startswith(f"error: Blob {digest[:12]}")
    assert "corrupt" in refused.stderr
    assert not out.exists()

    # One edited ledger row: verification fails and names the event.
    with closing(sqlite3.connect(db)) as conn, conn:  # the inner `conn` commits
        edited = conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = ?", (seq,))
        assert edited.rowcount == 1
    broken = rasad("--project", demo, "audit", "verify", cwd=tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert_no_traceback(broken)
    assert f"Audit chain broken at event {seq}" in broken.stdout
    assert "model.register" in broken.stdout

    # --force replaces the damaged demo project with a fresh one whose chain verifies.
    forced = rasad("demo", "--dir", demo, "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "Audit chain verified" in forced.stdout
    assert not out.exists()

    # The suggested fairness command measures approvals (default = 0, declared in the demo's
    # rasad.yaml), not defaults: age then passes the four-fifths rule.
    (step,) = [command.split()[1:] for command in next_steps(DemoSummary(demo))
               if " fairness " in command]
    report_json = tmp_path / "fairness.json"
    fair = rasad(*step, "--n-boot", "200", "-o", report_json, cwd=tmp_path)
    assert_no_traceback(fair)
    assert "Outcome measured: default = 0 is the favourable outcome" in fair.stdout
    assert "declared in rasad.yaml (governance.fairness.favorable_outcomes)" in fair.stdout
    assessment = json.loads(report_json.read_text())
    assert assessment["model"] == "credit-risk@1" and assessment["dataset"] == "loans@1"
    report = assessment["report"]
    assert report["outcome"]["favorable"] == FAVORABLE_OUTCOME == 0
    assert report["outcome"]["declared"] is True
    age = next(a for a in report["attributes"] if a["name"] == "age")
    ratio = next(d for d in age["disparities"] if d["measure"] == "disparate_impact_ratio")
    assert ratio["value"] > 0.9 and ratio["verdict"] == "pass"
    young = age["groups"][0]["metrics"]["selection_rate"]["value"]
    assert young > 0.8  # an approval rate, not a default rate of a few percent
    assert fair.returncode in (0, 1), fair.stdout + fair.stderr
    assert "default = 0" in (tmp_path / "fairness.html").read_text()


def test_demo_never_deletes_a_folder_it_did_not_create(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "thesis.md").write_text("years of work")
    for extra in ([], ["--force"]):
        done = rasad("demo", "--dir", notes, *extra, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert_no_traceback(done)
        assert len(done.stderr.strip().splitlines()) == 1
        assert "is not empty" in done.stderr
    assert "holds no rasad.yaml" in done.stderr
    assert [p.name for p in notes.iterdir()] == ["thesis.md"]
    assert (notes / "thesis.md").read_text() == "years of work"

