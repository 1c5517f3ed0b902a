"""The packaged entry point runs: a fresh virtual environment gets exactly
``requirements.txt``, the Dockerfile's ``ENTRYPOINT`` starts in it with the environment
the manifests give the container, and it answers an Open Inference Protocol request with
the deployed model's predictions.

There is no Docker engine here, so this is as close to the container as the machine
allows: the same requirements, the same command, the same files in the working folder
(what the Dockerfile copies), the same variables (ConfigMap and Secret). It installs
several dozen packages (from pip's cache or the local index): minutes, hence ``slow``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from rasad import Project
from rasad.identity import Role
from tests.registry._helpers import FEATURES, portfolio
from tests.serving._package_helpers import deployed, manifests

pytestmark = pytest.mark.slow

INSTALL_TIMEOUT_S = 900
READY_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _dockerfile(folder: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """The ENTRYPOINT, the ENV values and the files COPY puts in the working folder."""
    text = (folder / "Dockerfile").read_text().replace("\\\n", " ")
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, flags=re.M)[1])  # type: ignore[index]
    env_line = re.search(r"^ENV (.*)$", text, flags=re.M)[1]  # type: ignore[index]
    env = dict(pair.split("=", 1) for pair in env_line.split())
    copied = [match.split()[0] for match in re.findall(r"^COPY (.*)$", text, flags=re.M)]
    return entrypoint, env, copied


def _container_env(folder: Path, secrets: dict[str, str], image_env: dict[str, str],
                   home: Path) -> dict[str, str]:
    """What the Deployment gives the container: ConfigMap, Secret, and the image's ENV."""
    docs = manifests(folder)
    container = docs["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    env = {"PATH": os.environ["PATH"], **image_env, "HOME": str(home)}
    env.update(docs["configmap.yaml"]["data"])
    for item in container["env"]:
        env[item["name"]] = secrets[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


def _wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the entry point exited with {process.returncode}:\n"
                        f"{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not ready after {READY_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def _v2_inputs(metadata: dict[str, Any], rows: Any) -> list[dict[str, Any]]:
    inputs = []
    for spec in metadata["inputs"]:
        values = rows[spec["name"]].tolist()
        inputs.append({"name": spec["name"], "shape": [len(values)],
                       "datatype": spec["datatype"], "data": values})
    return inputs


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_entry_point_serves_from_the_generated_requirements(
        project: Project, tmp_path: Path) -> None:
    if not shutil.which("rasad", path=str(Path(sys.executable).parent)):
        pytest.fail("rasad is not installed in this environment")
    deployed(project)
    project.add_principal("scoring-app", kind="service", roles=[Role.PREDICTOR])
    token = project.create_token("scoring-app").token
    port = _free_port()
    folder = tmp_path / "deploy"
    result = project.package("dev", folder, port=port)

    # A fresh virtual environment gets requirements.txt, run where the Dockerfile runs it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install_env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("RASAD_", "PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run([str(python), "-m", "pip", "install", "-r",
                           "requirements.txt"], cwd=folder, env=install_env,
                          capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True,
                            text=True, check=True).stdout
    installed = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
                 for line in frozen.splitlines() if "==" in line}
    for name, version in result.requirements.items():  # exactly the pinned versions
        assert installed[name.lower().replace("_", "-")] == version, name
    assert "lightgbm" not in installed and "pytest" not in installed

    # The working folder holds what the Dockerfile copies, and nothing else.
    entrypoint, image_env, copied = _dockerfile(folder)
    workdir = tmp_path / "srv"
    workdir.mkdir()
    for name in copied:
        source = folder / name.rstrip("/")
        if source.is_dir():
            shutil.copytree(source, workdir / source.name)
        else:
            shutil.copy2(source, workdir / source.name)
    assert entrypoint[:4] == ["rasad", "serve", "--env", "dev"]
    command = [str(venv / "bin" / entrypoint[0]), *entrypoint[1:]]
    env = _container_env(folder, {"RASAD_DATABASE_URL": os.environ["RASAD_DATABASE_URL"]},
                         image_env, tmp_path / "home")
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=sink,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(port, server, log)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/v2/health/live", timeout=5).status_code == 200
        headers = {"Authorization": f"Bearer {token}"}
        metadata = httpx.get(f"{base}/v2/models/credit", headers=headers, timeout=10).json()
        rows = portfolio(seed=11).head(5)
        body = {"id": "package-check", "inputs": _v2_inputs(metadata, rows),
                "outputs": [{"name": "predict"}, {"name": "predict_proba"}]}
        answer = httpx.post(f"{base}/v2/models/credit/infer", json=body, headers=headers,
                            timeout=30)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        assert data["model_name"] == "credit" and data["id"] == "package-check"
        assert answer.headers["x-rasad-model-version"] == "1"
        outputs = {o["name"]: o for o in data["outputs"]}
        pipeline = project.load_model("credit", 1)
        expected = pipeline.predict(rows[FEATURES])
        assert outputs["predict"]["data"] == expected.tolist()
        proba = np.array(outputs["predict_proba"]["data"]).reshape(
            outputs["predict_proba"]["shape"])
        np.testing.assert_allclose(proba, pipeline.predict_proba(rows[FEATURES]), rtol=1e-9)
        # Without the token: refused, as the README says.
        assert httpx.post(f"{base}/v2/models/credit/infer", json=body,
                          timeout=10).status_code == 401
        metrics = httpx.get(f"{base}/metrics", timeout=10)
        assert metrics.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)  # what Kubernetes sends; the server drains
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # A clean stop: uvicorn drains, then ends by the signal it was sent (or exits 0).
    assert server.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert '"event":"server.stopped"' in log.read_text()
    assert not (workdir / ".rasad").exists()  # nothing written beside the configuration
    assert yaml.safe_load((workdir / "rasad.yaml").read_text())["name"] == "test"
