"""`rasad serve` as a real process: uvicorn with two workers on a free port, called by a
real Open Inference Protocol client (tritonclient), with MLflow-format requests, and
stopped with SIGTERM, which flushes the prediction log."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

from rasad.cli import run as cli
from rasad.serving.predlog import read_log
from tests.serving.online.conftest import (
    ENV,
    MODEL,
    Served,
    configure,
    expected,
    mlflow_split,
    rows,
)

RASAD = str(Path(sys.executable).parent / "rasad")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(shared: Served, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    # Segments are written only on shutdown (or past 10,000 rows), so what the log holds
    # after the test is what SIGTERM flushed.
    configure(shared.root, log={"flush_seconds": 300})
    port = free_port()
    output = tmp_path / "serve.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([RASAD, "--project", str(shared.root), "serve", "--port",
                                    str(port), "--workers", "2"], stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise AssertionError(f"rasad serve exited: {output.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError("rasad serve did not answer in 90 s")
            time.sleep(0.2)
        yield url, process, output
    finally:
        configure(shared.root, log={})
        if process.poll() is None:
            process.kill()
            process.wait()


def test_rasad_serve_answers_triton_and_mlflow_clients_and_flushes_on_sigterm(
        server: tuple[str, subprocess.Popen[bytes], Path], shared: Served) -> None:
    url, process, output = server
    auth = shared.as_predictor
    frame = rows(4)

    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(MODEL, headers=auth)
    metadata = client.get_model_metadata(MODEL, headers=auth)
    assert [i["name"] for i in metadata["inputs"]] == list(frame.columns)
    inputs = []
    for spec in metadata["inputs"]:
        values = frame[spec["name"]].to_numpy()
        tensor = triton.InferInput(spec["name"], [len(frame)], spec["datatype"])
        tensor.set_data_from_numpy(values.astype(np.float64 if spec["datatype"] == "FP64"
                                                 else np.object_), binary_data=False)
        inputs.append(tensor)
    outputs = [triton.InferRequestedOutput("predict", binary_data=False),
               triton.InferRequestedOutput("predict_proba", binary_data=False)]
    result = client.infer(MODEL, inputs, outputs=outputs, request_id="triton-1",
                          headers=auth)
    assert result.as_numpy("predict").tolist() == expected(shared.project, frame)
    assert result.as_numpy("predict_proba").shape == (4, 2)
    assert result.get_response()["model_version"] == "1"
    with pytest.raises(triton.InferenceServerException, match="401|token"):
        client.infer(MODEL, inputs, outputs=outputs)

    # MLflow clients, each request on a new connection so both workers take some.
    sent = 12
    for i in range(sent):
        answer = httpx.post(f"{url}/invocations?model={MODEL}", json=mlflow_split(rows(1, i)),
                            headers={**auth, "x-request-id": f"mlflow-{i}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected(shared.project, rows(1, i))
    # Metrics add every worker's counts up.
    metrics = httpx.get(f"{url}/metrics").text
    assert (f'rasad_requests_total{{model="{MODEL}",protocol="mlflow",role="primary",'
            f'status="200",version="1"}} {float(sent)}') in metrics
    assert ('rasad_requests_total{model="credit",protocol="v2",role="primary",status="401",'
            'version="1"}') not in metrics  # refused before the model was looked at: no model label

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    logged = read_log(shared.project.context, MODEL, environment=ENV, with_feedback=False)
    ids = set(logged["request_id"])
    assert {"triton-1", *(f"mlflow-{i}" for i in range(sent))} <= ids
    events = [json.loads(line) for line in output.read_text().splitlines()
              if line.startswith("{")]
    names = [e["event"] for e in events]
    assert names.count("server.started") == 2 and names.count("server.stopped") == 2
    assert names.count("model.loaded") == 4  # two models in each worker
    assert shared.tokens.predictor not in output.read_text()


def test_serve_refuses_an_environment_with_nothing_deployed(
        shared: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(["--project", str(shared.root), "serve", "--env", "staging"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "Nothing is deployed to 'staging'" in err
    assert "rasad promote NAME VERSION --to staging" in err
    code = cli(["--project", str(shared.root), "serve", "--model", "nope", "--workers", "2"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "Model 'nope' has no version in 'production'" in err
    assert "Deployed there: credit, fraud." in err
    code = cli(["--project", str(shared.root), "serve", "--env", "qa"])
    assert code == 2 and "No environment 'qa'" in capsys.readouterr().err


def test_a_refused_serve_in_process_leaves_logging_as_it_found_it(
        shared: Served, capsys: pytest.CaptureFixture[str]) -> None:
    # A server's JSON-lines handler once outlived a refused `serve` run in process: the
    # next command's lock notice went to pytest's closed capture stream ("Logging error")
    # and never reached the CLI's own console handler.
    import logging

    loggers = [logging.getLogger(name) for name in ("rasad.serve", "rasad.store")]
    before = [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    assert cli(["--project", str(shared.root), "serve", "--env", "staging"]) == 2
    assert cli(["--project", str(shared.root), "serve", "--model", "nope",
                "--workers", "2"]) == 2
    capsys.readouterr()
    assert [(list(lg.handlers), lg.level, lg.propagate) for lg in loggers] == before


def test_the_servers_log_handler_writes_to_the_stderr_of_the_moment(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import logging

    from rasad.serving.online.metrics import configure_logging, event

    restore = configure_logging(loggers=("rasad.serve",))
    try:
        swapped = io.StringIO()
        monkeypatch.setattr(sys, "stderr", swapped)
        event("model.loaded", model="credit")
        assert json.loads(swapped.getvalue())["event"] == "model.loaded"
    finally:
        restore()
    assert not [h for h in logging.getLogger("rasad.serve").handlers
                if h.__class__.__name__ == "_Stderr"]
