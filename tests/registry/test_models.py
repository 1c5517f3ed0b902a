"""Registering runs as model versions, resolving them, and loading them only when safe."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from rasad import Project
from rasad.config import CONFIG_FILE
from rasad.errors import (
    ConflictError,
    InputError,
    IntegrityError,
    NotFoundError,
    UntrustedArtifactError,
)
from rasad.ledger import canonical_json
from rasad.tables.kinds import ColumnKind

from ._helpers import (
    CUSTOM_ESTIMATOR,
    FEATURES,
    add_loans,
    audit_count,
    blob_path,
    flip_one_byte,
    portfolio,
    registered,
    train,
)

pytestmark = pytest.mark.over_http  # the project-level tests run through the API too

# -- registering ------------------------------------------------------------------------------


def test_version_numbers_count_up_per_name_from_one(project: Project) -> None:
    first, second = train(project), train(project)
    numbers = [(mv.name, mv.version) for mv in (
        project.register(first.id, "credit"),
        project.register(second.id, "credit"),
        project.register(first.id, "scorecard"),
        project.register(second.id[:10], "scorecard"),  # a unique run id prefix is enough
    )]
    assert numbers == [("credit", 1), ("credit", 2), ("scorecard", 1), ("scorecard", 2)]
    assert [m.name for m in project.models()] == ["credit", "scorecard"]
    assert [v.version for v in project.model("credit").versions] == [1, 2]


@pytest.mark.local_only(reason="calls the service and the CLI on the project folder")
def test_registering_a_run_again_returns_its_version(project: Project,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from rasad.registry.models import register

    first = register(project, train(project).id, "credit")
    assert first.created and first.message.startswith("Registered credit@1 from run ")
    again = register(project, first.version.run_id[:10], "credit")
    assert not again.created and again.version == first.version
    assert again.message == (f"Run {first.version.run_id[:8]} is already registered as "
                             f"credit@1 (artifact sha256 {first.version.blob[:12]}); nothing "
                             "was registered.")
    assert again.to_dict()["created"] is False and again.to_dict()["version"] == 1
    assert project.register(first.version.run_id, "credit") == first.version
    assert [v.version for v in project.model("credit").versions] == [1]
    assert audit_count(project, "model.register") == 1
    assert register(project, first.version.run_id, "other").created  # another model may

    from ..cli._helpers import Cli
    cli = Cli(capsys, project.root)
    out = cli.ok("models", "register", first.version.run_id, "--name", "credit").out
    assert "already registered as credit@1" in out and "nothing was registered" in out
    assert cli.ok("models", "register", first.version.run_id, "--name", "credit",
                  "--json").json()["created"] is False
    assert audit_count(project, "model.register") == 2


def test_register_stores_lineage_metrics_and_signature(project: Project) -> None:
    first = add_loans(project, seed=7)
    second = add_loans(project, seed=8)
    assert first.content_hash != second.content_hash
    run = train(project, version=1)  # trained on loans@1 although loans@2 is the latest
    registered_now = project.register(run.id, "credit")
    stored = project.model_version("credit", 1)  # read back from the database
    for mv in (registered_now, stored):
        assert mv.run_id == run.id
        assert mv.blob == run.model_blob
        assert mv.datasets == [{"dataset": "loans@1", "content_hash": first.content_hash,
                                "role": "train"}]
        assert mv.metrics == run.metrics
        assert set(mv.metrics) == {"train", "validation", "test"}
        assert 0.0 <= mv.metrics["test"]["roc_auc"] <= 1.0
        assert mv.task == "classification" and mv.classes == [0, 1]
        assert list(mv.signature.names) == FEATURES
        kinds = {spec.name: spec.kind for spec in mv.signature.columns}
        assert kinds["employment_type"] is ColumnKind.CATEGORICAL
        assert kinds["income"] is ColumnKind.NUMERIC
        employment = next(s for s in mv.signature.columns if s.name == "employment_type")
        training_values = project.load_dataset("loans", 1)["employment_type"]
        assert set(employment.categories or ()) == set(training_values.dropna())
        assert mv.trusted_types == run.model_info["untrusted_types"]
        assert mv.created_by == "tester"
    assert stored == registered_now


@pytest.mark.local_only(reason="reads the artifact store")
def test_register_writes_one_audit_event_with_the_artifact_hash(project: Project) -> None:
    (mv,) = registered(project)
    events = project.audit_log(action="model.register")
    assert len(events) == 1
    event = events[0]
    assert event.subject == "model:credit@1" and event.actor == "tester"
    on_disk = hashlib.sha256(blob_path(project, mv.blob).read_bytes()).hexdigest()
    assert event.details["artifact_sha256"] == mv.blob == on_disk
    assert event.details["run_id"] == mv.run_id
    assert event.details["datasets"] == mv.datasets
    assert event.details["trusted_types"] == mv.trusted_types
    assert project.verify_audit().ok


def test_failed_running_and_model_less_runs_cannot_be_registered(project: Project) -> None:
    with pytest.raises(RuntimeError), project.start_run("broken") as failed:
        raise RuntimeError("diverged")
    with project.start_run("no model") as empty:
        empty.log_metric("loss", 0.5)
    running = project.start_run("still going")
    try:
        for run_id, status in ((failed.id, "failed"), (running.id, "running")):
            with pytest.raises(ConflictError, match=f"{run_id}.*{status}"):
                project.register(run_id, "credit")
        with pytest.raises(ConflictError, match="stored no model"):
            project.register(empty.id, "credit")
    finally:
        running.finish()
    with pytest.raises(NotFoundError, match="No run 'feedface'"):
        project.register("feedface", "credit")
    assert project.models() == []
    assert audit_count(project, "model.register") == 0


BAD_NAMES = ["", "credit model", "-credit", ".hidden", "../credit", "credit/v2", "x" * 201,
             "kredit\u00e9", "\ncredit"]


def test_bad_model_names_are_refused(project: Project) -> None:
    with project.start_run() as run:
        pass
    for name in BAD_NAMES:
        with pytest.raises(InputError, match=r"Model name .* is not allowed") as info:
            project.register(run.id, name)
        assert repr(name) in str(info.value)
    assert project.models() == []
    assert audit_count(project, "model.register") == 0


def test_a_trailing_newline_is_not_a_valid_model_name(project: Project) -> None:
    with project.start_run() as run:  # no model: a name that passes ends in ConflictError
        pass
    with pytest.raises(InputError, match="Model name 'credit\\\\n' is not allowed"):
        project.register(run.id, "credit\n")


# -- resolving --------------------------------------------------------------------------------


def test_resolve_by_version_environment_and_latest(project: Project) -> None:
    registered(project, versions=3)
    project.promote("credit", 2, "staging")
    assert project.model_version("credit").version == 3
    assert project.model_version("credit", version=1).version == 1
    assert project.model_version("credit", env="staging").version == 2
    detail = project.model("credit")
    assert detail.deployed == {"staging": 2}
    assert detail.environments_of(2) == ["staging"]
    pipeline = project.load_model("credit", env="staging")
    frame = portfolio(seed=3)[FEATURES]
    proba = pipeline.predict_proba(frame)
    assert proba.shape == (len(frame), 2)
    assert proba.sum(axis=1) == pytest.approx(1.0)


def test_not_found_messages_list_the_valid_options(project: Project) -> None:
    with pytest.raises(NotFoundError, match="registry is empty"):
        project.model_version("credit")
    registered(project, versions=2)
    run = project.model_version("credit").run_id
    project.register(run, "scorecard")
    with pytest.raises(NotFoundError, match=r"No model named 'credt'.*credit, scorecard"):
        project.model_version("credt")
    with pytest.raises(NotFoundError, match=r"No model named 'credt'.*credit, scorecard"):
        project.model("credt")
    with pytest.raises(NotFoundError, match=r"no version 7; versions are 1, 2\."):
        project.model_version("credit", version=7)
    with pytest.raises(NotFoundError, match=r"No environment 'prod'; environments are dev, "
                                            r"staging, production"):
        project.model_version("credit", env="prod")
    with pytest.raises(NotFoundError, match=r"no version in 'production'.*rasad promote"):
        project.model_version("credit", env="production")
    with pytest.raises(InputError, match="either a version or an environment"):
        project.model_version("credit", version=1, env="dev")


# -- loading ----------------------------------------------------------------------------------


@pytest.mark.local_only(reason="damages a blob in the artifact store")
def test_one_changed_byte_refuses_to_load_and_writes_nothing(project: Project,
                                                            tmp_path: Path) -> None:
    (mv,) = registered(project)
    flip_one_byte(blob_path(project, mv.blob))
    with pytest.raises(IntegrityError, match=f"{mv.blob[:12]}.*corrupt"):
        project.load_model("credit")
    out_dir = tmp_path / "scores"
    out_dir.mkdir()
    for name in ("scored.csv", "scored.parquet"):
        with pytest.raises(IntegrityError):
            project.predict("credit", portfolio(seed=3), output=out_dir / name)
    assert list(out_dir.iterdir()) == []  # no output, no temporary file left behind
    assert audit_count(project, "model.predict") == 0
    with pytest.raises(IntegrityError):  # nor can the corrupt run be registered again
        project.register(mv.run_id, "credit")
    assert [v.version for v in project.model("credit").versions] == [1]


@pytest.mark.local_only(reason="edits the database")
def test_a_type_missing_from_the_registration_record_is_refused(project: Project,
                                                               tmp_path: Path) -> None:
    (mv,) = registered(project)
    assert "rasad.training.pipeline.categories_as_text" in mv.trusted_types
    fewer = [t for t in mv.trusted_types if t != "rasad.training.pipeline.categories_as_text"]
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE model_versions SET trusted_types = :t "
                             "WHERE name = 'credit' AND version = 1"),
                     {"t": canonical_json(fewer)})
    with pytest.raises(UntrustedArtifactError,
                       match="not recorded when it was registered: "
                             "'rasad.training.pipeline.categories_as_text'"):
        project.load_model("credit")
    out = tmp_path / "scored.csv"
    with pytest.raises(UntrustedArtifactError):
        project.predict("credit", portfolio(seed=3), output=out)
    assert not out.exists()


@pytest.mark.local_only(reason="edits rasad.yaml and promotes")
def test_a_custom_estimator_needs_an_explicit_trust_decision(project: Project,
                                                             tmp_path: Path) -> None:
    run = train(project, estimator=CUSTOM_ESTIMATOR)
    assert CUSTOM_ESTIMATOR in run.model_info["untrusted_types"]
    with pytest.raises(UntrustedArtifactError, match=f"'{CUSTOM_ESTIMATOR}'.*trusted_types"):
        project.register(run.id, "custom")
    assert project.models() == [] and audit_count(project, "model.register") == 0

    config = project.root / CONFIG_FILE
    default_text = config.read_text(encoding="utf-8")
    assert "  trusted_types: []\n" in default_text
    config.write_text(default_text.replace(
        "  trusted_types: []\n", f"  trusted_types: [{CUSTOM_ESTIMATOR}]\n"), encoding="utf-8")
    with Project.open(project.root) as trusting:
        mv = trusting.register(run.id, "custom")
        assert CUSTOM_ESTIMATOR in mv.trusted_types
        loaded = trusting.load_model("custom")
        assert type(loaded.named_steps["model"]).__name__ == "CustomLogistic"
        trusting.promote("custom", 1, "dev")
        trusting.promote("custom", 1, "dev")  # nothing changes, nothing relies on trust anew

    # the trust decision is in the ledger: once with the registration, once with the promotion
    trust = project.audit_log(action="registry.trust")
    assert [(e.subject, e.details["use"]) for e in trust] == [
        ("model:custom@1", "register"), ("model:custom@1", "promotion to dev")]
    for event in trust:
        assert event.details["types"] == [CUSTOM_ESTIMATOR]
        assert event.details["source"] == f"registry.trusted_types in {config}"
    register_event = project.audit_log(action="model.register")[-1]
    assert trust[0].seq == register_event.seq + 1  # same transaction, right after

    config.write_text(default_text, encoding="utf-8")  # the trust decision is withdrawn
    out = tmp_path / "scored.parquet"
    with Project.open(project.root) as distrusting:
        with pytest.raises(UntrustedArtifactError, match=CUSTOM_ESTIMATOR):
            distrusting.load_model("custom")
        with pytest.raises(UntrustedArtifactError):
            distrusting.predict("custom", portfolio(seed=3), output=out)
        with pytest.raises(UntrustedArtifactError):
            distrusting.promote("custom", 1, "staging")
    assert not out.exists()
    assert audit_count(project, "model.predict") == 0
    assert audit_count(project, "registry.trust") == 2
    assert project.model("custom").deployed == {"dev": 1}


def test_default_trust_writes_no_trust_event(project: Project) -> None:
    registered(project)
    project.promote("credit", 1, "dev")
    assert audit_count(project, "registry.trust") == 0


@pytest.mark.local_only(reason="edits the database")
def test_a_run_row_hiding_a_type_its_bytes_hold_is_refused(project: Project) -> None:
    run = train(project)
    info = dict(run.model_info or {})
    info["untrusted_types"] = [t for t in info["untrusted_types"]
                               if t != "rasad.training.pipeline.categories_as_text"]
    with project.db.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET model_info = :i WHERE id = :r"),
                     {"i": canonical_json(info), "r": run.id})
    with pytest.raises(UntrustedArtifactError, match="not recorded when it was registered"):
        project.register(run.id, "credit")
    assert project.models() == [] and audit_count(project, "model.register") == 0


def test_trusted_types_takes_exact_names_only(tmp_path: Path) -> None:
    from rasad.errors import ConfigError

    for entry in ("mylib.", "sklearn.*", "mylib", "mylib..Model", "1lib.Model"):
        text = f"name: x\nregistry:\n  trusted_types: ['{entry}']\n"
        with pytest.raises(ConfigError, match="not the full name of one class or function"):
            Project.init(tmp_path / "p", config_text=text)
    text = "name: x\nregistry:\n  trusted_types: [mylib.models.Ranker]\n"
    with Project.init(tmp_path / "ok", config_text=text) as ok:
        assert ok.config.registry.trusted_types == ["mylib.models.Ranker"]
