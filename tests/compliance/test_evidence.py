"""Evidence packs: every control row cites its catalogue's ID and title, the manifest
verifies under the trusted key and fails on any tampering, statuses follow the evidence,
no secret or personal value leaves the project, and a failed export leaves nothing.

Every test with a project runs on SQLite and PostgreSQL (the ``project`` fixture).
"""

from __future__ import annotations

import hashlib
import json
from base64 import b64encode
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rasad import Project
from rasad.compliance.controls import EvidenceKind, load_catalogue
from rasad.compliance.evidence import (
    ACTION,
    MANIFEST,
    ControlStatus,
    EvidencePack,
    sign_manifest,
    verify_pack,
)
from rasad.config import CONFIG_FILE, ProjectConfig
from rasad.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from rasad.identity import Role
from rasad.ledger.keys import load_public_key, public_key_text
from tests.registry._helpers import portfolio, train

SEED = bytes(range(32))
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC = public_key_text(KEY.public_key())
OTHER = public_key_text(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())
EMAIL = "fatimah.alharbi@example.com"


@pytest.fixture(autouse=True)
def _signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_CHECKPOINT_KEY", b64encode(SEED).decode())


def _as(root: Path, name: str) -> Project:
    return Project(root, ProjectConfig.load(root / CONFIG_FILE), actor=name)


def configure(project: Project, **sections: Mapping[str, object]) -> Project:
    """``project`` reopened with ``audit.public_keys`` trusting :data:`KEY` and ``sections``
    merged into rasad.yaml."""
    path = project.root / CONFIG_FILE
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["audit"]["public_keys"] = [PUBLIC]
    for name, values in sections.items():
        config.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    project.close()
    return Project.open(project.root)


def with_model(project: Project) -> Project:
    """loans@1 with one planted e-mail address, and credit@1 trained on it."""
    frame = portfolio()
    frame["memo"] = "note"
    frame.loc[7, "memo"] = EMAIL
    project.add_dataset(frame, "loans")
    run = train(project)
    project.register(run.id, "credit")
    return project


def rows(pack: EvidencePack) -> dict[str, ControlStatus]:
    return {c.id: c.status for c in pack.controls}


def pack_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(folder.rglob("*")) if p.is_file())


# ---- citations, manifest, signature ---------------------------------------------------


@pytest.mark.parametrize("framework", ["gdpr", "eu-ai-act", "pdpl", "nca-ecc", "sama-csf"])
def test_every_control_row_cites_its_catalogue_id_and_title(project: Project, tmp_path: Path,
                                                            framework: str) -> None:
    project = configure(with_model(project))
    pack = project.evidence(framework, tmp_path / "pack")
    catalogue = load_catalogue(framework)
    expected = [(c.id, c.title, c.verification) for c in catalogue]
    assert [(c.id, c.title, c.verification) for c in pack.controls] == expected
    stored = json.loads((tmp_path / "pack" / "controls.json").read_text())
    assert [(c["id"], c["title"]) for c in stored["controls"]] == [e[:2] for e in expected]
    index = (tmp_path / "pack" / "index.html").read_text()
    for control in catalogue:
        assert f"{control.id} {control.title}".replace("'", "&#x27;") in index
    for row in pack.controls:
        # What is not evidenced says why; every file a row names is in the pack.
        if row.status is ControlStatus.OUTSIDE:
            assert row.beyond and not row.files
        assert all((tmp_path / "pack" / f).is_file() for f in row.files)
        assert all(g.reason for g in row.missing)
    assert project.verify_evidence(tmp_path / "pack").ok


def test_the_manifest_lists_every_file_and_verifies_under_the_trusted_key(
        project: Project, tmp_path: Path) -> None:
    project = configure(with_model(project))
    head = project.audit_log()[-1]
    pack = project.evidence("sama-csf", tmp_path / "pack")
    folder = tmp_path / "pack"
    manifest = json.loads((folder / MANIFEST).read_text())
    listed = {f["path"] for f in manifest["payload"]["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert listed == on_disk - {MANIFEST}
    assert {"index.html", "controls.json", "ledger/events.jsonl", "access/tokens.json",
            "inventory.json", "models/credit/requests.json", "models/credit/card.md",
            "datasets/loans@1/datasheet.md", "pii/loans@1.json"} <= listed
    assert manifest["payload"]["ledger_head"] == {"seq": head.seq, "hash": head.hash}
    assert manifest["public_key"] == PUBLIC
    found = project.verify_evidence(folder)
    assert found.ok, found.problems
    assert (found.files, found.key_source) == (len(listed), "rasad.yaml audit.public_keys")
    assert found.head is not None and found.head.seq == pack.head.seq == head.seq
    # The export itself is in the ledger, naming the manifest it issued.
    event = project.audit_log(action=ACTION)[-1]
    assert event.details["manifest_sha256"] == pack.manifest_sha256
    assert event.seq == head.seq + 1


def test_another_key_is_not_trusted(project: Project, tmp_path: Path) -> None:
    project = configure(project)
    project.evidence("gdpr", tmp_path / "pack")
    found = project.verify_evidence(tmp_path / "pack", public_keys=[OTHER])
    assert not found.ok
    assert any("not a trusted key" in p for p in found.problems)
    assert project.verify_evidence(tmp_path / "pack", public_keys=[PUBLIC]).ok


def test_without_configured_keys_the_ledgers_checkpoint_key_is_trusted(
        project: Project, tmp_path: Path) -> None:
    project.evidence("gdpr", tmp_path / "pack")
    found = project.verify_evidence(tmp_path / "pack")
    assert not found.ok and "No trusted public key" in found.problems[0]
    project.checkpoint(to=str(tmp_path / "checkpoints"))  # records the key in the ledger
    found = project.verify_evidence(tmp_path / "pack")
    assert found.ok and found.key_source.startswith("the first checkpoint key")


# ---- tampering ------------------------------------------------------------------------


@pytest.fixture
def signed(project: Project, tmp_path: Path) -> Path:
    project = configure(with_model(project))
    project.evidence("eu-ai-act", tmp_path / "pack")
    return tmp_path / "pack"


def check(folder: Path) -> list[str]:
    return list(verify_pack(folder, [load_public_key(PUBLIC)], "test").problems)


def test_a_changed_file_fails_naming_it(signed: Path) -> None:
    events = signed / "ledger" / "events.jsonl"
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines[1:]) + "\n")  # an event removed from the extract
    assert check(signed) == ["ledger/events.jsonl was changed: its sha256 is not the one the "
                             "manifest signed."]


def test_a_removed_or_added_file_fails(signed: Path) -> None:
    (signed / "access" / "tokens.json").unlink()
    (signed / "models" / "credit" / "extra.txt").write_text("approved by the board")
    assert check(signed) == [
        "access/tokens.json is listed in the manifest but missing.",
        "models/credit/extra.txt is not listed in the manifest: it was added to the pack."]


def test_an_edited_manifest_fails_its_signature(signed: Path) -> None:
    document = json.loads((signed / MANIFEST).read_text())
    (signed / "index.html").write_text("<p>all evidenced</p>")
    for entry in document["payload"]["files"]:  # the forger updates the hash too
        if entry["path"] == "index.html":
            entry["sha256"] = hashlib.sha256(b"<p>all evidenced</p>").hexdigest()
            entry["size"] = len(b"<p>all evidenced</p>")
    (signed / MANIFEST).write_text(json.dumps(document))
    problems = check(signed)
    assert problems == [f"The signature of {MANIFEST} does not verify: the manifest was "
                        "changed after it was signed."]


def test_a_manifest_re_signed_by_another_key_is_not_trusted(signed: Path) -> None:
    document = json.loads((signed / MANIFEST).read_text())
    payload = document["payload"]
    forger = Ed25519PrivateKey.generate()
    payload["key"] = "SHA256:" + hashlib.sha256(
        forger.public_key().public_bytes_raw()).hexdigest()
    payload["files"].append({"path": "../outside.txt", "sha256": "0" * 64, "size": 0})
    (signed / MANIFEST).write_bytes(sign_manifest(forger, payload))
    problems = check(signed)
    assert any("not a trusted key" in p for p in problems)
    assert "The manifest lists '../outside.txt', a path outside the pack." in problems
    assert not any("signature" in p for p in problems)  # it is a valid signature, untrusted


def test_a_folder_without_a_manifest_is_not_a_pack(tmp_path: Path) -> None:
    assert check(tmp_path) == [f"{MANIFEST} is missing: this is not an evidence pack, or it "
                               "was removed."]
    (tmp_path / MANIFEST).write_text("{}")
    assert "is not an evidence-pack manifest" in check(tmp_path)[0]
    with pytest.raises(InputError, match="is not a folder"):
        verify_pack(tmp_path / MANIFEST, [], "test")


# ---- statuses -----------------------------------------------------------------------


def test_statuses_follow_the_evidence_held(project: Project, tmp_path: Path) -> None:
    policy = {"environments": {"dev": {"gates": []}, "staging": {"gates": []},
                               "production": {"gates": [], "approval": {
                                   "approvals": 1, "roles": ["approver"]}}}}
    project = configure(with_model(project), promotion=policy)
    project.add_principal("amal", roles=[Role.APPROVER])

    before = project.evidence("sama-csf", tmp_path / "before")
    assert rows(before)["3.3.7"] is ControlStatus.NO_EVIDENCE
    assert rows(before)["3.3.9"] is ControlStatus.OUTSIDE
    assert rows(before)["3.3.3"] is ControlStatus.EVIDENCED  # inventory and datasheet

    project.promote("credit", 1, "dev")  # deployed, and a request with its gate report
    middle = project.evidence("sama-csf", tmp_path / "middle")
    change = next(c for c in middle.controls if c.id == "3.3.7")
    assert change.status is ControlStatus.PARTLY
    assert [g.kind for g in change.missing] == [EvidenceKind.APPROVALS]
    assert "no approval or rejection" in change.missing[0].reason
    assert "models/credit/requests.json" in change.files

    request = project.promote("credit", 1, "production")
    with _as(project.root, "amal") as amal:
        amal.approve(request.id)
    after = project.evidence("sama-csf", tmp_path / "after")
    assert rows(after)["3.3.7"] is ControlStatus.EVIDENCED
    approvals = json.loads((tmp_path / "after/models/credit/requests.json").read_text())
    assert any(a["principal"] == "amal" for r in approvals for a in r["approvals"])


def test_checkpoints_count_only_once_signed_and_reproduced(project: Project,
                                                          tmp_path: Path) -> None:
    store = tmp_path / "checkpoints"
    project = configure(project, audit={"checkpoints": str(store)})
    first = project.evidence("nca-ecc", tmp_path / "first")
    gap = next(g for c in first.controls if c.id == "2-12" for g in c.missing)
    assert gap.kind is EvidenceKind.CHECKPOINTS and "no signed checkpoint yet" in gap.reason
    project.checkpoint()
    second = project.evidence("nca-ecc", tmp_path / "second")
    logs = next(c for c in second.controls if c.id == "2-12")
    assert not logs.missing and logs.status is ControlStatus.PARTLY  # SIEM is beyond rasad
    assert any(f.startswith("ledger/checkpoints/") for f in logs.files)


def test_the_period_limits_the_ledger_extract(project: Project, tmp_path: Path) -> None:
    project = configure(project)
    pack = project.evidence("gdpr", tmp_path / "future", since="2999-01-01")
    assert (tmp_path / "future/ledger/events.jsonl").read_text() == ""
    ledger = next(g for c in pack.controls if c.id == "Art. 17" for g in c.missing
                  if g.kind is EvidenceKind.LEDGER)
    assert ledger.reason == "no audit event falls in the period"
    whole = project.evidence("gdpr", tmp_path / "whole", until="2999-12-31")
    lines = (tmp_path / "whole/ledger/events.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, whole.head.seq + 1))
    with pytest.raises(InputError, match="--since 'last week' is not a date"):
        project.evidence("gdpr", tmp_path / "bad", since="last week")
    with pytest.raises(InputError, match="the period is empty"):
        project.evidence("gdpr", tmp_path / "bad", since="2026-02-01", until="2026-01-01")


# ---- what never leaves ----------------------------------------------------------------


def test_no_token_secret_and_no_personal_value_is_in_the_pack(project: Project,
                                                             tmp_path: Path) -> None:
    project = configure(with_model(project))
    project.add_principal("ci", kind="service", roles=[Role.VIEWER])
    token = project.create_token("ci")
    project.evidence("gdpr", tmp_path / "pack")
    text = pack_text(tmp_path / "pack")
    assert token.info.id in text  # the access review lists the token...
    assert token.token not in text  # ...never its secret
    assert token.token.rsplit(".", 1)[-1] not in text
    assert EMAIL not in text and "alharbi" not in text
    tokens = json.loads((tmp_path / "pack/access/tokens.json").read_text())
    assert {t["id"] for t in tokens} == {token.info.id}
    assert not any(k in t for t in tokens for k in ("token", "secret", "secret_sha256"))


# ---- refusals and atomicity -------------------------------------------------------------


def test_a_non_empty_folder_is_refused_unless_forced(project: Project, tmp_path: Path) -> None:
    project = configure(project)
    target = tmp_path / "pack"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ConflictError, match="is not empty.*--force"):
        project.evidence("gdpr", target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    project.evidence("gdpr", target, force=True)
    assert not (target / "notes.txt").exists() and project.verify_evidence(target).ok
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_error_while_writing_leaves_no_folder_and_no_event(project: Project,
                                                              tmp_path: Path) -> None:
    from rasad.compliance import evidence

    project = configure(project)
    events = len(project.audit_log())

    def broken(pack: EvidencePack) -> str:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        evidence.create(project.context, "gdpr", tmp_path / "pack", render=broken)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary
    assert not (tmp_path / "pack").exists()
    assert len(project.audit_log()) == events


def test_bad_input_is_refused_before_anything_is_written(project: Project,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    project = configure(project)
    with pytest.raises(NotFoundError, match="No control catalogue for framework 'hipaa'"):
        project.evidence("hipaa", tmp_path / "pack")
    with pytest.raises(NotFoundError, match="No model named 'nope'"):
        project.evidence("gdpr", tmp_path / "pack", model="nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        project.evidence("gdpr", tmp_path / "file")
    with pytest.raises(InputError, match="does not exist; create it first"):
        project.evidence("gdpr", tmp_path / "missing" / "pack")
    monkeypatch.delenv("RASAD_CHECKPOINT_KEY")
    with pytest.raises(InputError, match="No checkpoint signing key"):
        project.evidence("gdpr", tmp_path / "pack")
    assert not (tmp_path / "pack").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_viewer_may_not_export_evidence(project: Project, tmp_path: Path) -> None:
    project = configure(project)
    project.add_principal("vic", roles=[Role.VIEWER])
    project.add_principal("aud", roles=[Role.AUDITOR])
    with _as(project.root, "vic") as vic, pytest.raises(PermissionDenied, match="audit.read"):
        vic.evidence("gdpr", tmp_path / "pack")
    assert not (tmp_path / "pack").exists()
    with _as(project.root, "aud") as auditor:
        assert auditor.evidence("gdpr", tmp_path / "pack").generated_by == "aud"


def test_one_model_in_scope(project: Project, tmp_path: Path) -> None:
    project = configure(with_model(project))
    project.register(train(project).id, "scorecard")
    pack = project.evidence("eu-ai-act", tmp_path / "pack", model="credit")
    paths = {f.path for f in pack.files}
    assert "models/credit/card.md" in paths
    assert not any(p.startswith("models/scorecard/") for p in paths)
    inventory = json.loads((tmp_path / "pack/inventory.json").read_text())
    assert [m["model"] for m in inventory["models"]] == ["credit"]


def test_an_erasure_is_evidence_for_the_right_to_erasure(project: Project,
                                                        tmp_path: Path) -> None:
    """GDPR Art. 17 has no erasure to show until one is recorded; then the pack holds it
    by keyed hash (never the id), with the flag it raised on the model trained on it."""
    project = configure(with_model(project),
                        governance={"datasets": {"loans": {"subject_columns": ["application_id"]}}})
    before = project.evidence("gdpr", tmp_path / "before")
    art17 = next(c for c in before.controls if c.id == "Art. 17")
    assert EvidenceKind.ERASURES in [g.kind for g in art17.missing]
    assert "no data-subject erasure recorded" in next(
        g.reason for g in art17.missing if g.kind is EvidenceKind.ERASURES)

    erased = project.subject_erase("APP-000005", reason="GDPR Art. 17 request 41")
    after = project.evidence("gdpr", tmp_path / "after")
    art17 = next(c for c in after.controls if c.id == "Art. 17")
    assert EvidenceKind.ERASURES not in [g.kind for g in art17.missing]
    assert "erasures/erasures.json" in art17.files
    held = json.loads((tmp_path / "after/erasures/erasures.json").read_text())
    [event] = held["erasures"]
    assert event["subject"] == f"subject:{erased.subject_key}"
    assert event["details"]["reason"] == "GDPR Art. 17 request 41"
    assert [(f["model"], f["version"]) for f in held["open_retrain_flags"]] == [("credit", 1)]
    assert "APP-000005" not in pack_text(tmp_path / "after")
    assert project.verify_evidence(tmp_path / "after").ok
