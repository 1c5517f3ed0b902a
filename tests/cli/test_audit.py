"""`rasad audit log` and `rasad audit verify`, including a ledger edited behind rasad's back."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project
from tests.ledger import _attacks as attack

from ._helpers import Cli, add_and_train, assert_user_error, write_csv


@pytest.fixture
def rasad(project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(capsys, project.root)
    add_and_train(cli, write_csv(tmp_path / "loans.csv"))
    cli.ok("promote", "credit", "1", "--to", "dev")
    return cli


def _exec(project: Project, sql: str, **params: object) -> None:
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _seq_of(rasad: Cli, action: str) -> int:
    return int(rasad.ok("audit", "log", "--action", action, "--json").json()[0]["seq"])


def test_log_filters_and_json(rasad: Cli) -> None:
    everything = rasad.ok("audit", "log", "--json").json()
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    assert [e["action"] for e in everything] == [
        "project.init", "dataset.add", "run.start", "run.use_dataset", "run.finish",
        "model.register", "model.promotion"]
    assert all(e["actor"] == "tester" for e in everything)
    for earlier, later in zip(everything, everything[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]

    promotions = rasad.ok("audit", "log", "--json", "--subject", "model:credit",
                          "--action", "model.promotion").json()
    assert [(e["action"], e["details"]["environment"], e["details"]["version"])
            for e in promotions] == [("model.promotion", "dev", 1)]
    models = rasad.ok("audit", "log", "--json", "--subject", "model:*").json()
    assert [e["subject"] for e in models] == ["model:credit@1", "model:credit"]
    exact = rasad.ok("audit", "log", "--json", "--subject", "model:credit@1").json()
    assert [e["action"] for e in exact] == ["model.register"]
    assert len(rasad.ok("audit", "log", "--json", "--limit", "2").json()) == 2

    table = rasad.ok("audit", "log").out
    assert "dataset.add" in table and "model.promotion" in table and "dataset:loans@1" in table


def test_verify_passes_on_an_untouched_ledger(rasad: Cli) -> None:
    out = rasad.ok("audit", "verify").out.splitlines()
    assert out[0] == "Audit chain intact: 7 events."
    assert out[1].startswith("State tables match the ledger (1 dataset_versions, "
                             "1 model_versions, 1 current_deployments, 1 deployments, 1 runs")
    report = rasad.ok("audit", "verify", "--json").json()
    assert {k: report[k] for k in ("ok", "events", "first_bad_seq", "reason", "problems")} == {
        "ok": True, "events": 7, "first_bad_seq": None, "reason": None, "problems": []}
    assert report["checkpoints"]["verified"] == 0 and report["state"]["model_versions"] == 1


def test_verify_names_an_edited_event(rasad: Cli, project: Project) -> None:
    seq = _seq_of(rasad, "model.register")
    _exec(project, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :seq", seq=seq)
    result = rasad("audit", "verify")
    assert result.code == 1, str(result)
    assert f"Audit chain broken at event {seq}" in result.out
    assert "was edited" in result.out
    assert "Traceback" not in result.out + result.err
    report = rasad("audit", "verify", "--json")
    assert report.code == 1
    assert report.json()["first_bad_seq"] == seq and report.json()["ok"] is False


def test_verify_names_a_deleted_event(rasad: Cli, project: Project) -> None:
    seq = _seq_of(rasad, "run.use_dataset")
    _exec(project, "DELETE FROM audit_events WHERE seq = :seq", seq=seq)
    result = rasad("audit", "verify")
    assert result.code == 1, str(result)
    assert f"Audit chain broken at event {seq}" in result.out
    assert f"event {seq} is missing" in result.out


def test_verify_notices_the_newest_event_deleted(rasad: Cli, project: Project) -> None:
    _exec(project, "DELETE FROM audit_events WHERE seq = 7")
    result = rasad("audit", "verify", "--json")
    assert result.code == 1, str(result)
    assert result.json()["first_bad_seq"] == 7


def test_subject_shows_the_model_and_every_version(rasad: Cli, tmp_path: Path) -> None:
    """`--subject model:NAME` is every event about the model: register, promote, predict."""
    rasad.ok("predict", "credit", write_csv(tmp_path / "new.csv"), "--env", "dev",
             "-o", tmp_path / "scores.csv")
    rasad.ok(*train_args_for("credit2"))
    events = rasad.ok("audit", "log", "--json", "--subject", "model:credit").json()
    assert [(e["action"], e["subject"]) for e in events] == [
        ("model.register", "model:credit@1"), ("model.promotion", "model:credit"),
        ("model.predict", "model:credit@1")]
    register, _, predict = events
    # The scoring event names the exact bytes that scored: the registered artifact.
    assert predict["details"]["artifact_sha256"] == register["details"]["artifact_sha256"]
    table = rasad.ok("audit", "log", "--subject", "model:credit").out
    assert "model:credit@1" in table and "credit2" not in table


def train_args_for(name: str) -> list[str]:
    from ._helpers import train_args
    return train_args(register_as=name)


def test_keygen_checkpoint_and_verify(rasad: Cli, project: Project, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "signing"
    key.parent.mkdir()
    out = rasad.ok("audit", "keygen", key).out
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    public = key.with_name("signing.pub").read_text().strip()
    assert f"Public key:  {public}" in out and "public_keys: [" + public in out
    assert_user_error(rasad("audit", "keygen", key), "already exists")
    assert key.stat().st_mode & 0o777 == 0o600

    store = tmp_path / "checkpoints"
    first = rasad.ok("audit", "checkpoint", "--to", store, "--key", key).out
    assert "Recorded checkpoint key SHA256:" in first and "Signed checkpoint of event 8" in first
    assert "already checkpointed" in rasad.ok("audit", "checkpoint", "--to", store,
                                              "--key", key).out
    verified = rasad.ok("audit", "verify", "--checkpoints", store, "--public-key", public).out
    assert "Checkpoints: 1 reproduced, the latest at event 8" in verified
    assert "(--public-key)" in verified

    attack.delete(project, 3)
    result = rasad("audit", "verify", "--checkpoints", store, "--public-key", key.with_name(
        "signing.pub"))
    assert result.code == 1, str(result)
    assert "Audit chain broken at event 3 (deleted): event 3 signed in checkpoint 8 was " \
        "deleted" in result.out
    assert "Traceback" not in result.out + result.err
    report = rasad("audit", "verify", "--checkpoints", store, "--json").json()
    assert [(p["kind"], p["seq"], p["checkpoint"]) for p in report["problems"]][0] == (
        "deleted", 3, 8)


def test_checkpoint_store_from_rasad_yaml(rasad: Cli, project: Project, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    key = attack.new_key(tmp_path)
    store = tmp_path / "cps"
    config = project.root / "rasad.yaml"
    public = key.with_name(key.name + ".pub").read_text().strip()
    config.write_text(config.read_text().replace(
        "  checkpoints: null", f"  checkpoints: {store}").replace(
        "  public_keys: []", f"  public_keys: ['{public}']"))
    monkeypatch.setenv("RASAD_CHECKPOINT_KEY_FILE", str(key))
    rasad.ok("audit", "checkpoint")
    assert "trusted key SHA256:" in rasad.ok("audit", "verify").out
    attack.edit(project, 2)
    result = rasad("audit", "verify")
    assert result.code == 1 and "(edited)" in result.out
    assert "is not the event checkpoint 8 signed as event 2" in result.out


def test_checkpoint_without_key_or_store_is_a_user_error(rasad: Cli, tmp_path: Path) -> None:
    assert_user_error(rasad("audit", "checkpoint", "--to", tmp_path / "cps"),
                      "No checkpoint signing key", "rasad audit keygen")
    assert_user_error(rasad("audit", "checkpoint"), "No checkpoint store", "--to")
    assert_user_error(rasad("audit", "verify", "--checkpoints", tmp_path, "--public-key",
                            "not-a-key"), "not an Ed25519 public key")


def test_missing_ledger_head_is_one_clear_line(rasad: Cli, project: Project,
                                               tmp_path: Path) -> None:
    _exec(project, "DELETE FROM ledger_head")
    for args in (("promote", "credit", "1", "--to", "staging"),
                 ("data", "add", write_csv(tmp_path / "other.csv"), "--name", "other"),
                 ("audit", "checkpoint", "--to", tmp_path / "cps", "--key",
                  attack.new_key(tmp_path))):
        assert_user_error(rasad(*args), "ledger head row is missing", "Restore the database")
    result = rasad("audit", "verify")
    assert result.code == 1 and "ledger head row is missing" in result.out, str(result)
    assert "Traceback" not in result.out + result.err
    # Nothing was written by the refused commands.
    assert len(rasad.ok("audit", "log", "--json").json()) == 7
