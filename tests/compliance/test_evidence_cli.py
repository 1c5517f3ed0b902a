"""``rasad evidence`` and ``rasad evidence verify``: exit codes, JSON, and the remote side
(the pack is built where the key is; a client verifies it against the server's keys).

Every test runs on SQLite and PostgreSQL (the ``project`` fixture).
"""

from __future__ import annotations

import json
from base64 import b64encode
from pathlib import Path

import pytest

from rasad import Project
from rasad.errors import InputError, PermissionDenied
from rasad.identity import Role
from tests._http import Server
from tests.cli._helpers import Cli, assert_user_error, only_json
from tests.compliance.test_evidence import OTHER, PUBLIC, SEED, configure, with_model


@pytest.fixture(autouse=True)
def _signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASAD_CHECKPOINT_KEY", b64encode(SEED).decode())


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    configure(with_model(project)).close()
    return Cli(capsys, project.root)


def test_export_then_verify(rasad: Cli, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    result = rasad.ok("evidence", "--framework", "sama-csf", "-o", out)
    assert "3.3.7" in result.out and "Change Management" in result.out
    assert f"Evidence pack written to {out}" in result.out
    verified = rasad.ok("evidence", "verify", out)
    assert "verifies" in verified.out and "rasad.yaml audit.public_keys" in verified.out
    document = only_json(rasad.ok("evidence", "verify", out, "--json"))
    assert document["ok"] is True and document["framework"] == "sama-csf"


def test_json_is_the_pack(rasad: Cli, tmp_path: Path) -> None:
    pack = only_json(rasad.ok("evidence", "--framework", "gdpr", "-o", tmp_path / "p",
                              "--model", "credit", "--json"))
    assert pack["framework"] == "gdpr" and pack["model"] == "credit"
    assert [c["id"] for c in pack["controls"]][:2] == ["Art. 5", "Art. 6"]
    assert pack["controls"][1]["status"] == "outside_rasad"
    assert pack["controls"][1]["status_label"] == "not evidenced by rasad"


def test_a_tampered_pack_exits_1_naming_the_file(rasad: Cli, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    rasad.ok("evidence", "--framework", "pdpl", "-o", out)
    (out / "inventory.json").write_text("[]")
    result = rasad("evidence", "verify", out)
    assert result.code == 1, str(result)
    assert "inventory.json was changed" in result.out
    untrusted = rasad("evidence", "verify", out, "--public-key", OTHER)
    assert untrusted.code == 1 and "not a trusted key" in untrusted.out


def test_usage_errors_exit_2(rasad: Cli, tmp_path: Path) -> None:
    assert_user_error(rasad("evidence", "--framework", "gdpr"), "-o DIR")
    assert_user_error(rasad("evidence", "--framework", "hipaa", "-o", tmp_path / "p"),
                      "No control catalogue for framework 'hipaa'", "gdpr")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert_user_error(rasad("evidence", "--framework", "gdpr", "-o", tmp_path / "full"),
                      "is not empty", "--force")
    assert_user_error(rasad("evidence", "verify", tmp_path / "missing"), "is not a folder")


def test_over_the_server_a_pack_is_verified_here_and_never_built(
        project: Project, tmp_path: Path) -> None:
    project = configure(with_model(project))
    project.add_principal("vic", roles=[Role.VIEWER])
    project.add_principal("aud", roles=[Role.AUDITOR])
    project.evidence("eu-ai-act", tmp_path / "pack")
    server = Server(project)
    auditor = server.connect("aud")
    found = auditor.verify_evidence(tmp_path / "pack")
    assert found.ok and found.key_source == "rasad.yaml audit.public_keys"
    assert found.trusted_keys == project.verify_evidence(tmp_path / "pack").trusted_keys
    assert not auditor.verify_evidence(tmp_path / "pack", public_keys=[OTHER]).ok
    assert auditor.verify_evidence(tmp_path / "pack", public_keys=[PUBLIC]).ok
    with pytest.raises(PermissionDenied, match="audit.read"):
        server.connect("vic").verify_evidence(tmp_path / "pack")
    with pytest.raises(InputError, match="`evidence` is not available over the server"):
        auditor.evidence("gdpr", tmp_path / "remote")  # type: ignore[attr-defined]
    assert not (tmp_path / "remote").exists()
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert manifest["payload"]["framework"] == "eu-ai-act"


def test_the_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    text = (Path(__file__).parents[2] / "docs" / "evidence.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    expected = re.search(r"prints\n\n```\n(.*?)```", text, flags=re.S)
    assert expected is not None
    exec(compile(block, "docs/evidence.md", "exec"), {})  # noqa: S102 - the page's own example
    assert capsys.readouterr().out == expected.group(1)
