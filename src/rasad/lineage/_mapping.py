"""Audit events as OpenLineage run events: :data:`MAPPERS` is the table of what each
ledger action means in lineage (docs/lineage.md has it as prose).

Names in the configured namespace follow the ledger's subjects: dataset versions are
versions of ``dataset:NAME``, model versions of ``model:NAME``, a run's fitted model is
``model-artifact:SHA256`` (content-addressed, as rasad stores it), and what serves a model
in an environment is ``deployment:MODEL:ENV`` (``:canary``/``:shadow`` for a slot).
Every ``datasetVersion`` is the sha256 of the bytes rasad stores.

The events carry names, types, sizes and hashes, never a value from the data: a dataset's
schema facet lists its columns and their types (no profile statistics, no top values),
and a failed run's error facet names the exception type only, since an error message can
quote a value (the full message stays in the ledger).

This module imports the OpenLineage client at the top: import it only once the client is
known to be installed (:class:`rasad.lineage.Emitter` checks).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from os.path import isabs
from typing import Any, Final
from urllib.parse import urlsplit

from openlineage.client.constants import __version__ as CLIENT_VERSION  # noqa: N812
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    dataset_type_dataset,
    dataset_version_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
    tags_run,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from rasad.ledger import AuditEvent
from rasad.lineage._safe import safe_url
from rasad.store._tables import AuditEventRow, DatasetVersionRow


def _installed() -> str:
    try:
        return version("rasad")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "0+unknown"


RASAD_VERSION: Final = _installed()

PRODUCER: Final = f"https://pypi.org/project/rasad/{RASAD_VERSION}/"
"""The ``producer`` of every event: the rasad release that wrote it."""

RUN_IDS: Final = uuid.UUID("6f1b6a4e-2d0c-5c5e-9a53-7261736164a1")
"""The uuid5 namespace of rasad's OpenLineage run ids (a fixed constant: changing it would
give every replayed event a new run)."""

INTEGRATION: Final = "RASAD"
TAG_SOURCE: Final = "RASAD"
# Exception names at the start of an error message: "ValueError: could not convert...".
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning))\b")
# Object stores name an object by its key, without the leading slash (OpenLineage naming).
_KEYED = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "az", "abfs", "abfss", "wasb", "wasbs"})


def run_id(namespace: str, key: str) -> str:
    """The OpenLineage run id of ``key`` in ``namespace``: a uuid5, so a replay sends the
    same id and Marquez updates the run it has instead of adding one.

    ``key`` is ``run:ID`` for a training run (its START and its end share it) and
    ``ledger:HASH`` for a change that is one ledger entry.

    >>> run_id("loans", "run:0af3") == run_id("loans", "run:0af3") != run_id("other", "run:0af3")
    True
    """
    return str(uuid.uuid5(RUN_IDS, f"{namespace}\n{key}"))


@dataclass(frozen=True)
class Scope:
    """What a mapper reads besides the event: the namespace and a read session."""

    namespace: str
    session: Session


Mapper = Callable[[Scope, AuditEvent], list[RunEvent]]


def to_openlineage(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    """The OpenLineage events ``event`` stands for: none for an action without lineage
    meaning (an identity change, a monitor result...)."""
    mapper = MAPPERS.get(event.action)
    return [] if mapper is None else mapper(scope, event)


# -- datasets ------------------------------------------------------------------------------

def _dataset_added(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    name, number = _versioned(event.subject, "dataset:")
    details = event.details
    row = scope.session.execute(select(DatasetVersionRow).where(
        DatasetVersionRow.name == name, DatasetVersionRow.version == number)
    ).scalar_one_or_none()
    facets: dict[str, DatasetFacet] = {
        "version": _version_facet(str(details.get("content_hash", ""))),
        "datasetType": _typed("TABLE"),
        "documentation": _documented(_described(f"{name}@{number}",
                                                details.get("description"))),
    }
    if row is not None:
        facets["schema"] = _schema(row.profile)
    output = OutputDataset(
        namespace=scope.namespace, name=f"dataset:{name}", facets=facets,
        outputFacets={"outputStatistics":
                      output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                          producer=PRODUCER, rowCount=_int(details.get("rows")))})
    inputs = [*_source(details), *_parent(scope, row, details)]
    return [_event(scope, event, RunState.COMPLETE, f"dataset.add:{name}", "DATASET",
                   key=f"ledger:{event.hash}", inputs=inputs, outputs=[output])]


def _schema(profile_json: str) -> schema_dataset.SchemaDatasetFacet:
    columns = json.loads(profile_json).get("columns", [])
    return schema_dataset.SchemaDatasetFacet(producer=PRODUCER, fields=[
        schema_dataset.SchemaDatasetFacetFields(
            name=str(column["name"]), type=str(column.get("dtype")),
            description=f"rasad column kind: {column.get('kind')}", ordinal_position=i)
        for i, column in enumerate(columns, start=1)])


def _source(details: Mapping[str, Any]) -> list[InputDataset]:
    """The file a version was read from, when rasad can name it: a local path or a URL
    (credentials, query and fragment left out). A client's file (``source_from: client``)
    lives on a machine the server cannot name, and a data frame is no file."""
    source = details.get("source")
    if not isinstance(source, str) or details.get("source_from") == "client":
        return []
    if "://" in source:
        parts = urlsplit(safe_url(source))
        if parts.scheme == "file":
            return [InputDataset(namespace="file", name=parts.path)]
        if not parts.scheme or not parts.netloc:
            return []
        path = parts.path.lstrip("/") if parts.scheme in _KEYED else parts.path
        return [InputDataset(namespace=f"{parts.scheme}://{parts.netloc}", name=path or "/")]
    if isabs(source):
        return [InputDataset(namespace="file", name=source)]
    return []


def _parent(scope: Scope, row: DatasetVersionRow | None,
            details: Mapping[str, Any]) -> list[InputDataset]:
    """The version a derived version (an append, an erasure) was made from."""
    ref = details.get("parent")
    if not isinstance(ref, str):
        return []
    name = ref.rpartition("@")[0] or ref
    facets: dict[str, DatasetFacet] = {}
    parent = None
    if row is not None and row.parent_id is not None:
        parent = scope.session.get(DatasetVersionRow, row.parent_id)
    if parent is not None:
        facets["version"] = _version_facet(parent.content_hash)
    return [InputDataset(namespace=scope.namespace, name=f"dataset:{name}", facets=facets)]


# -- training runs -------------------------------------------------------------------------

def _run_started(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    rasad_run = event.subject.removeprefix("run:")
    return [_event(scope, event, RunState.START, _train_job(event.details.get("name")),
                   "TRAINING", key=f"run:{rasad_run}", tags={"rasad.run_id": rasad_run})]


def _run_ended(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    """COMPLETE (``run.finish``) or FAIL (``run.fail``): the datasets the run used are
    its inputs, its fitted model its output, read from the run's own ledger entries up to
    this one (so a replay sends what the first emission sent)."""
    rasad_run = event.subject.removeprefix("run:")
    history = [AuditEvent.from_row(row) for row in scope.session.execute(
        select(AuditEventRow).where(AuditEventRow.subject == event.subject,
                                    AuditEventRow.seq < event.seq)
        .order_by(AuditEventRow.seq)).scalars()]
    started = next((e for e in history if e.action == "run.start"), None)
    inputs: dict[str, InputDataset] = {}
    for used in history:
        if used.action != "run.use_dataset":
            continue
        ref = str(used.details.get("dataset", ""))
        name = f"dataset:{ref.rpartition('@')[0] or ref}"
        inputs.setdefault(f"{name}\n{used.details.get('content_hash')}", InputDataset(
            namespace=scope.namespace, name=name,
            facets={"version": _version_facet(str(used.details.get("content_hash", "")))}))
    outputs = []
    blob = event.details.get("model_blob")
    if isinstance(blob, str) and blob:
        outputs.append(_artifact(scope, blob, OutputDataset))
    failed = event.action == "run.fail"
    facets: dict[str, RunFacet] = {}
    if failed:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            producer=PRODUCER, message=_error_summary(event.details.get("error"), event.seq),
            programmingLanguage="python")
    run_name = started.details.get("name") if started is not None else None
    return [_event(scope, event, RunState.FAIL if failed else RunState.COMPLETE,
                   _train_job(run_name), "TRAINING", key=f"run:{rasad_run}",
                   inputs=list(inputs.values()), outputs=outputs, run_facets=facets,
                   tags={"rasad.run_id": rasad_run})]


def _train_job(name: object) -> str:
    return f"train:{name}" if isinstance(name, str) and name else "train"


def _error_summary(error: object, seq: int) -> str:
    """The exception type of a failed run's error, never its message (which can quote a
    data value); the message is in the ledger entry ``seq``.

    >>> _error_summary("ValueError: could not convert string to float: 'Amal'", 7)
    "ValueError (the message is in rasad's audit ledger, entry 7)"
    >>> _error_summary("The process exited.", 8)
    "the run failed (the message is in rasad's audit ledger, entry 8)"
    """
    found = _EXCEPTION.match(error) if isinstance(error, str) else None
    head = found.group(1) if found else "the run failed"
    return f"{head} (the message is in rasad's audit ledger, entry {seq})"


# -- registry and deployments --------------------------------------------------------------

def _model_registered(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    name, number = _versioned(event.subject, "model:")
    details = event.details
    blob = str(details.get("artifact_sha256", ""))
    output = OutputDataset(namespace=scope.namespace, name=f"model:{name}", facets={
        "version": _version_facet(blob),
        "datasetType": _typed("MODEL"),
        "documentation": _documented(
            f"{name}@{number}, registered from run {details.get('run_id')}")})
    tags = {"rasad.model_version": str(number), "rasad.run_id": str(details.get("run_id"))}
    return [_event(scope, event, RunState.COMPLETE, f"model.register:{name}", "REGISTRATION",
                   key=f"ledger:{event.hash}", inputs=[_artifact(scope, blob, InputDataset)],
                   outputs=[output], tags=tags)]


def _deployed(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    """``model.promotion`` and ``model.rollback``: the model version starts serving."""
    name = event.subject.removeprefix("model:")
    details = event.details
    target = str(details.get("environment"))
    blob = str(details.get("artifact_sha256", ""))
    source = InputDataset(namespace=scope.namespace, name=f"model:{name}",
                          facets={"version": _version_facet(blob)})
    output = OutputDataset(namespace=scope.namespace, name=f"deployment:{name}:{target}",
                           facets={"version": _version_facet(blob),
                                   "datasetType": _typed("MODEL", "DEPLOYMENT")})
    tags = {"rasad.kind": event.action.removeprefix("model."),
            "rasad.model_version": str(details.get("version")),
            "rasad.previous_version": str(details.get("previous_version")),
            **({"rasad.request_id": str(details["request_id"])}
               if details.get("request_id") is not None else {}),
            **({"rasad.break_glass": "true"} if details.get("break_glass") else {})}
    return [_event(scope, event, RunState.COMPLETE, f"model.deploy:{name}:{target}",
                   "DEPLOYMENT", key=f"ledger:{event.hash}", inputs=[source],
                   outputs=[output], tags=tags)]


def _retired(scope: Scope, event: AuditEvent) -> list[RunEvent]:
    """``model.retire``: a canary or shadow slot is emptied (the dataset is dropped)."""
    name = event.subject.removeprefix("model:")
    target = str(event.details.get("environment"))
    lifecycle = lifecycle_state_change_dataset
    dropped = lifecycle.LifecycleStateChangeDatasetFacet(
        producer=PRODUCER, lifecycleStateChange=lifecycle.LifecycleStateChange.DROP)
    output = OutputDataset(namespace=scope.namespace, name=f"deployment:{name}:{target}",
                           facets={"datasetType": _typed("MODEL", "DEPLOYMENT"),
                                   "lifecycleStateChange": dropped})
    tags = {"rasad.kind": "retire", "rasad.model_version": str(event.details.get("version"))}
    return [_event(scope, event, RunState.COMPLETE, f"model.deploy:{name}:{target}",
                   "DEPLOYMENT", key=f"ledger:{event.hash}", outputs=[output], tags=tags)]


MAPPERS: Final[dict[str, Mapper]] = {
    "dataset.add": _dataset_added,
    "run.start": _run_started,
    "run.finish": _run_ended,
    "run.fail": _run_ended,
    "model.register": _model_registered,
    "model.promotion": _deployed,
    "model.rollback": _deployed,
    "model.retire": _retired,
}
"""Ledger action -> the function that maps its event. Every other action has no lineage
meaning and sends nothing."""


# -- building blocks -----------------------------------------------------------------------

def _event(scope: Scope, event: AuditEvent, state: RunState, job: str, job_type: str, *,
           key: str, inputs: list[InputDataset] | None = None,
           outputs: list[OutputDataset] | None = None,
           run_facets: dict[str, RunFacet] | None = None,
           tags: Mapping[str, str] | None = None) -> RunEvent:
    ledger_tags = {"rasad.ledger.seq": str(event.seq), "rasad.ledger.hash": event.hash,
                   "rasad.action": event.action, "rasad.subject": event.subject,
                   **(tags or {})}
    facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            producer=PRODUCER, version=RASAD_VERSION, name="rasad",
            openlineageAdapterVersion=CLIENT_VERSION),
        "tags": tags_run.TagsRunFacet(producer=PRODUCER, tags=[
            tags_run.TagsRunFacetFields(key=k, value=v, source=TAG_SOURCE)
            for k, v in ledger_tags.items()]),
        **(run_facets or {}),
    }
    return RunEvent(
        eventType=state, eventTime=event.occurred_at, producer=PRODUCER,
        run=Run(runId=run_id(scope.namespace, key), facets=facets),
        job=Job(namespace=scope.namespace, name=job, facets={
            "jobType": job_type_job.JobTypeJobFacet(producer=PRODUCER, processingType="BATCH",
                                                    integration=INTEGRATION,
                                                    jobType=job_type)}),
        inputs=inputs or [], outputs=outputs or [])


def _artifact(scope: Scope, blob: str, kind: type[Any]) -> Any:
    """A run's fitted model, named by its content (input or output dataset)."""
    return kind(namespace=scope.namespace, name=f"model-artifact:{blob}", facets={
        "version": _version_facet(blob),
        "datasetType": _typed("MODEL")})


def _version_facet(digest: str) -> dataset_version_dataset.DatasetVersionDatasetFacet:
    return dataset_version_dataset.DatasetVersionDatasetFacet(producer=PRODUCER,
                                                              datasetVersion=digest)


def _typed(kind: str, sub: str | None = None) -> dataset_type_dataset.DatasetTypeDatasetFacet:
    return dataset_type_dataset.DatasetTypeDatasetFacet(producer=PRODUCER, datasetType=kind,
                                                        subType=sub)


def _documented(text: str) -> documentation_dataset.DocumentationDatasetFacet:
    return documentation_dataset.DocumentationDatasetFacet(producer=PRODUCER, description=text)


def _versioned(subject: str, prefix: str) -> tuple[str, int]:
    """``dataset:loans@3`` -> ``("loans", 3)``."""
    name, _, number = subject.removeprefix(prefix).rpartition("@")
    return name, int(number)


def _described(ref: str, description: object) -> str:
    return f"{ref}: {description}" if isinstance(description, str) and description else ref


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
