"""docs/serving.md: every request its console examples send gets the documented kind of
answer from a real server (the credit model of the test project has the same columns)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from rasad.serving.online import create_app
from tests.serving.online.conftest import MODEL, Served

DOCS = Path(__file__).parents[3] / "docs" / "serving.md"


def examples() -> list[tuple[str, dict[str, object], str | None]]:
    """(path, body, the answer shown after it, if any) of each documented curl."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", DOCS.read_text(), flags=re.S):
        lines = block.replace("\\\n", " ").splitlines()
        for i, line in enumerate(lines):
            call = re.search(r"curl -s http://127\.0\.0\.1:8080(\S+) .*-d '(.*)'", line)
            if call:
                shown = lines[i + 1] if i + 1 < len(lines) else None
                found.append((call.group(1), json.loads(call.group(2)), shown))
    return found


def test_every_documented_request_gets_the_documented_answer(shared: Served) -> None:
    documented = examples()
    assert len(documented) == 4
    app = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(app, headers=shared.as_predictor) as client:
        for path, body, shown in documented:
            answer = client.post(path, json=body)
            assert answer.status_code in (200, 202), (path, answer.text)
            if shown is not None:
                # Same keys and shapes; the numbers are the docs' model's, not this one's.
                expected = json.loads(shown)
                got = answer.json()
                assert set(got) == set(expected), path
                if "outputs" in got:
                    assert [(o["name"], o["shape"], o["datatype"]) for o in got["outputs"]] \
                        == [(o["name"], o["shape"], o["datatype"])
                            for o in expected["outputs"]]
                    assert got["id"] == expected["id"]


def test_the_documented_error_is_the_servers(shared: Served) -> None:
    shown = json.loads(re.search(r'```json\n(\{"error".*?)\n```', DOCS.read_text(),
                                 flags=re.S).group(1))  # type: ignore[union-attr]
    body = {"inputs": [  # every column but age
        {"name": "income", "shape": [1], "datatype": "FP64", "data": [5100.0]},
        {"name": "employment_type", "shape": [1], "datatype": "BYTES", "data": ["retired"]},
        {"name": "debt_to_income", "shape": [1], "datatype": "FP64", "data": [0.3]}]}
    app = create_app(shared.root, models=[MODEL], follow=False)
    with TestClient(app, headers=shared.as_predictor) as client:
        answer = client.post(f"/v2/models/{MODEL}/infer", json=body)
    assert answer.status_code == 422 and answer.json() == shown
