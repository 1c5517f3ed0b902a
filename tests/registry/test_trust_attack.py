"""Crafted models never run code: refused by log_model, register, promote and predict.

The attacks of issue 8: a function that scikit-learn merely imports (so its name starts
with ``sklearn.``) placed in a ``FunctionTransformer``, by a stand-in function that
claims that name when the model is saved, or by editing ``schema.json`` inside the
skops archive; and pickles, corrupt or missing blobs pointed at by forged rows.
Every door is driven for real (the Python API and the CLI, on both databases); the
canaries are files a payload creates when it runs, and a tripwire on skops' loader.
"""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import skops.io
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from rasad import Project
from rasad.artifacts.skops import dump_model, load_model
from rasad.errors import ConflictError, IntegrityError, UntrustedArtifactError
from rasad.ledger import canonical_json
from rasad.registry import ModelVersion
from rasad.training.pipeline import build_pipeline

from ..cli._helpers import Cli, snapshot
from ._helpers import FEATURES, TARGET, blob_path, flip_one_byte, portfolio, registered

# Where the installed scikit-learn (1.9) imports each dangerous object into its namespace.
SMUGGLED = {
    "check_output": ("sklearn.utils._testing", "check_output"),  # subprocess.check_output
    "remove": ("sklearn.datasets._california_housing", "remove"),  # os.remove
    "import_module": ("sklearn.utils.discovery", "import_module"),  # importlib
    "Memory": ("sklearn.datasets._lfw", "Memory"),  # joblib.Memory, a class
}
TOUCH = shutil.which("touch")


def stand_in(module: str, name: str) -> Callable[..., Any]:
    """A harmless function that skops will record as ``module.name``."""
    def function(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the stand-in itself never runs")
    function.__module__, function.__name__, function.__qualname__ = module, name, name
    return function


@pytest.fixture(scope="module")
def fitted() -> Pipeline:
    frame = portfolio()
    model = build_pipeline(["income", "age", "debt_to_income"], ["employment_type"], [],
                           LogisticRegression(max_iter=200))
    return model.fit(frame[FEATURES], frame[TARGET])


def payload(fitted: Pipeline, key: str, canary: Path) -> Pipeline:
    """The scoring pipeline with the smuggled callable run on its input first.

    With ``check_output`` this runs ``touch`` in ``canary`` on the input's column names.
    """
    kwargs = {"executable": TOUCH, "cwd": str(canary)} if key == "check_output" else None
    evil = FunctionTransformer(stand_in(*SMUGGLED[key]), kw_args=kwargs)
    return Pipeline([("evil", evil), ("model", fitted)])


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "canary"
    folder.mkdir()
    yield folder
    assert list(folder.iterdir()) == [], "a payload ran"


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Any call of skops' loader leaves a file behind: refused models are never built."""
    marker = tmp_path / "skops-loads-ran"
    real = skops.io.loads

    def loads(*args: Any, **kwargs: Any) -> Any:
        marker.touch()
        return real(*args, **kwargs)

    monkeypatch.setattr(skops.io, "loads", loads)
    yield marker
    assert not marker.exists(), "skops built a refused model"


def test_the_check_output_payload_really_runs_when_loaded_without_rasad(
        fitted: Pipeline, tmp_path: Path) -> None:
    # The control: skops trusting the name, as the old prefix policy did, lets the
    # payload create files. Every refusal below is therefore a real protection.
    data, untrusted = dump_model(payload(fitted, "check_output", tmp_path))
    assert "sklearn.utils._testing.check_output" in untrusted
    built = skops.io.loads(data, trusted=untrusted)
    with pytest.raises(Exception):  # noqa: B017, PT011 - touch's empty output breaks the model
        built.predict(portfolio()[FEATURES])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FEATURES[1:])


def rewrite_schema(data: bytes, renames: dict[tuple[str, str], tuple[str, str]]) -> bytes:
    """The archive with each (module, class) in ``schema.json`` renamed: a hand edit."""
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: walk(v) for k, v in node.items()}
            key = (node.get("__module__"), node.get("__class__"))
            if key in renames:
                node["__module__"], node["__class__"] = renames[key]  # type: ignore[index]
            return node
        return [walk(v) for v in node] if isinstance(node, list) else node

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "schema.json":
                content = json.dumps(walk(json.loads(content))).encode()
            dst.writestr(item, content)
    return out.getvalue()


def crafted(fitted: Pipeline) -> dict[str, bytes]:
    """Archives of rasad's own pipeline, edited so sklearn names point at danger."""
    data, _ = dump_model(fitted)
    converter = ("rasad.training.pipeline", "categories_as_text")
    scaler = ("sklearn.preprocessing._data", "StandardScaler")
    return {
        # a function where rasad's converter was: subprocess.check_output
        "function": rewrite_schema(data, {converter: SMUGGLED["check_output"]}),
        # a non-sklearn class where scikit-learn's scaler was: joblib.Memory
        "class": rewrite_schema(data, {scaler: SMUGGLED["Memory"]}),
        # a function built as an object: os.remove
        "object": rewrite_schema(data, {scaler: SMUGGLED["remove"]}),
    }


# -- log_model ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SMUGGLED))
def test_log_model_refuses_a_smuggled_function(project: Project, fitted: Pipeline,
                                               canary: Path, tripwire: Path, key: str) -> None:
    name = ".".join(SMUGGLED[key])
    blobs = {b.digest for b in project.artifacts.list_blobs()}
    with project.start_run() as run:
        with pytest.raises(UntrustedArtifactError, match=f"'{name}'"):
            run.log_model(payload(fitted, key, canary), portfolio()[FEATURES])
    stored = project.run(run.id)
    assert stored.model_blob is None and stored.model_info is None
    assert {b.digest for b in project.artifacts.list_blobs()} == blobs  # nothing written
    with pytest.raises(ConflictError, match="stored no model"):
        project.register(run.id, "evil")
    assert project.models() == []


# -- forged rows: register, promote, predict ---------------------------------------------------


def forge_run(project: Project, run_id: str, data: bytes,
              recorded: list[str] | None = None) -> None:
    """An insider's work: bytes put in the store, a finished run row pointed at them."""
    digest = project.artifacts.put_bytes(data)
    info = dict(project.run(run_id).model_info or {})
    if recorded is not None:
        info["untrusted_types"] = recorded
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET model_blob = :b, model_info = :i WHERE id = :r"),
                     {"b": digest, "i": canonical_json(info), "r": run_id})


def forge_version(project: Project, data: bytes, recorded: list[str]) -> None:
    """An insider's work: the row of 'evil' v1, copied from credit@1, pointing at the bytes."""
    digest = project.artifacts.put_bytes(data)
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM model_versions WHERE name = 'evil'"))
        conn.execute(sa.text(
            "INSERT INTO model_versions (name, version, run_id, blob, task, signature, "
            "trusted_types, metrics, classes, created_by, created_at) "
            "SELECT 'evil', 1, run_id, :b, task, signature, :t, metrics, classes, created_by, "
            "created_at FROM model_versions WHERE name = 'credit' AND version = 1"),
            {"b": digest, "t": canonical_json(recorded)})


@pytest.fixture
def genuine(project: Project) -> ModelVersion:
    """credit@1, trained and registered honestly: the template the insider forges from."""
    (version,) = registered(project)
    return version


@pytest.fixture
def rasad(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, project.root)


def refused(rasad: Cli, project: Project, *args: str, fragment: str) -> None:
    """The command exits 1 naming ``fragment`` and changes nothing, not even the ledger."""
    before = snapshot(project)
    result = rasad(*args)
    assert result.code == 1, str(result)
    assert "Traceback" not in result.out + result.err, str(result)
    assert fragment in result.err, str(result)
    assert snapshot(project) == before


def attack_bytes(fitted: Pipeline, canary: Path) -> list[tuple[bytes, str]]:
    """Every crafted archive, with the type name its refusal must name."""
    out = []
    for key in sorted(SMUGGLED):
        data, _ = dump_model(payload(fitted, key, canary))
        out.append((data, ".".join(SMUGGLED[key])))
    for kind, data in crafted(fitted).items():
        name = {"function": "check_output", "class": "Memory", "object": "remove"}[kind]
        out.append((data, ".".join(SMUGGLED[name])))
    return out


def test_register_refuses_every_crafted_archive(project: Project, rasad: Cli, fitted: Pipeline,
                                                genuine: ModelVersion, canary: Path,
                                                tripwire: Path) -> None:
    for data, name in attack_bytes(fitted, canary):
        found = skops.io.get_untrusted_types(data=data)
        assert name in found
        # recorded honestly, or hidden from the run row: refused either way
        for recorded in (found, [t for t in found if t != name]):
            forge_run(project, genuine.run_id, data, recorded)
            refused(rasad, project, "models", "register", genuine.run_id, "--name", "evil",
                    fragment=f"'{name}'")
            with pytest.raises(UntrustedArtifactError):
                project.register(genuine.run_id, "evil")
    assert [m.name for m in project.models()] == ["credit"]


def test_promote_and_predict_refuse_a_forged_version(project: Project, rasad: Cli,
                                                     fitted: Pipeline, genuine: ModelVersion,
                                                     canary: Path, tripwire: Path,
                                                     tmp_path: Path) -> None:
    scores = tmp_path / "scores.csv"
    inputs = tmp_path / "inputs.csv"
    portfolio(seed=3)[FEATURES].to_csv(inputs, index=False)
    for data, name in attack_bytes(fitted, canary):
        forge_version(project, data, skops.io.get_untrusted_types(data=data))
        refused(rasad, project, "promote", "evil", "1", "--to", "production",
                fragment=f"'{name}'")
        refused(rasad, project, "predict", "evil", inputs, "--version", "1", "-o", scores,
                fragment=f"'{name}'")
        with pytest.raises(UntrustedArtifactError):
            project.load_model("evil", 1)
        assert not scores.exists()
    assert project.audit_log(action="model.predict") == []
    assert project.audit_log(action="model.promotion") == []


def test_load_model_refuses_crafted_archives_even_when_recorded(fitted: Pipeline, canary: Path,
                                                                tripwire: Path) -> None:
    for data, name in attack_bytes(fitted, canary):
        recorded = skops.io.get_untrusted_types(data=data)
        with pytest.raises(UntrustedArtifactError, match=f"'{name}'"):
            load_model(data, recorded)
        with pytest.raises(UntrustedArtifactError, match=f"'{name}'.*refused even if listed"):
            load_model(data, recorded, user_trusted=[name])  # a listed re-export stays refused


# -- pickles, corrupt and missing blobs -----------------------------------------------------


class Touch:
    """Unpickling this creates ``path``: the canary for 'a pickle was loaded'."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def pickles(canary: Path) -> list[bytes]:
    import joblib

    handle = io.BytesIO()
    joblib.dump(Touch(canary / "unpickled-joblib"), handle)
    return [pickle.dumps(Touch(canary / "unpickled")), handle.getvalue()]


def test_register_and_promote_refuse_pickles(project: Project, rasad: Cli, genuine: ModelVersion,
                                             canary: Path, tripwire: Path,
                                             tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.csv"
    portfolio(seed=3)[FEATURES].to_csv(inputs, index=False)
    for data in pickles(canary):
        forge_run(project, genuine.run_id, data)
        refused(rasad, project, "models", "register", genuine.run_id, "--name", "evil",
                fragment="not a skops model archive")
        with pytest.raises(IntegrityError, match="not a skops model archive"):
            project.register(genuine.run_id, "evil")
        forge_version(project, data, [])
        refused(rasad, project, "promote", "evil", "1", "--to", "dev",
                fragment="not a skops model archive")
        refused(rasad, project, "predict", "evil", inputs, "--version", "1", "-o",
                tmp_path / "out.csv", fragment="not a skops model archive")


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_register_and_promote_refuse_a_damaged_blob(project: Project, rasad: Cli,
                                                    damage: str) -> None:
    (mv,) = registered(project)
    path = blob_path(project, mv.blob)
    if damage == "missing":
        path.unlink()
    else:
        flip_one_byte(path)
    fragment = "is missing" if damage == "missing" else "is corrupt"
    refused(rasad, project, "models", "register", mv.run_id, "--name", "other",
            fragment=fragment)
    refused(rasad, project, "models", "register", mv.run_id, "--name", "credit",
            fragment=fragment)  # even the run's existing version is not handed back
    refused(rasad, project, "promote", "credit", "1", "--to", "dev", fragment=fragment)


def test_rollback_refuses_bytes_damaged_since_they_served(project: Project, rasad: Cli) -> None:
    registered(project, versions=2)
    project.promote("credit", 1, "dev")
    project.promote("credit", 2, "dev")
    gone = project.artifacts.put_bytes(b"bytes deleted later")
    blob_path(project, gone).unlink()
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE model_versions SET blob = :b "
                             "WHERE name = 'credit' AND version = 1"), {"b": gone})
    refused(rasad, project, "rollback", "credit", "--env", "dev", fragment="is missing")
    assert project.model("credit").deployed == {"dev": 2}
