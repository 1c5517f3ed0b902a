"""``POST /runs`` (train), ``GET /run-comparisons`` and ``POST /models/{name}/predictions``
(batch scoring): ``rasad train``, ``rasad runs compare`` and ``rasad predict``.

Training runs in the request: a small model takes seconds, and the answer is the finished
run. Scoring takes the input as an uploaded file (the server reads no client path) and
sends the scored file back as the response body, CSV or Parquet as asked, with the
:class:`~rasad.serving.batch.BatchResult` summary as JSON in the ``Rasad-Result`` header
(its ``output`` is null: where the file goes is the client's business).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import ConfigDict, Field, StringConstraints
from starlette.background import BackgroundTask

from rasad.api.auth import ContextDep
from rasad.api.bodies import NO_NUL, ClientPath, NamePath, Text, respond
from rasad.api.routes.datasets import _file_name, client_file_name
from rasad.registry import ModelVersion
from rasad.results import Result
from rasad.serving import batch
from rasad.training import Run
from rasad.training import run as runs
from rasad.training import train as training

router = APIRouter(tags=["training"])

RESULT_HEADER: Final = "Rasad-Result"
"""The response header carrying a scoring's :class:`BatchResult` as ASCII JSON."""

MEDIA_TYPES: Final = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}

Short = Annotated[str, StringConstraints(pattern=NO_NUL, max_length=500)]


class TrainRequest(Result):
    """The keyword overrides of ``rasad.yaml``'s training section (``rasad train``): each
    one left out (or null) keeps the configured value. An unknown key is refused (422),
    not ignored: a misspelt option must not train with the configured value."""

    model_config = ConfigDict(extra="forbid")

    dataset: Short | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    target: Short | None = None
    features: list[Short] | None = Field(default=None, max_length=10_000)
    estimator: Short | None = Field(default=None, description=(
        "Import path of the estimator class; the server's trust policy applies."))
    params: dict[Short, Any] | None = Field(default=None, description="Estimator parameters.")
    split: Literal["auto", "random", "stratified", "time"] | None = None
    validation: float | None = Field(default=None, ge=0.0, lt=1.0)
    test: float | None = Field(default=None, ge=0.0, lt=1.0)
    time_column: Short | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    metrics: list[Short] | None = Field(default=None, max_length=100)
    register_as: Short | None = None
    name: Text | None = Field(default=None, description="A name for the run.")


class TrainResultBody(Result):
    """The finished run, and the model version when it was registered (``register_as``)."""

    run: Run
    model_version: ModelVersion | None


class RunComparisonBody(Result):
    """Runs side by side (``rasad runs compare --json``): for each flattened parameter and
    metric, its value in each run (in ``runs`` order)."""

    runs: list[str]
    params: dict[str, list[Any]]
    metrics: dict[str, list[Any]]
    differing_params: list[str]


@router.post("/runs", status_code=201, response_model=TrainResultBody)
def train(ctx: ContextDep, body: TrainRequest) -> Response:
    """Train, evaluate and store a pipeline from ``rasad.yaml``'s training section with
    these overrides; register it when ``register_as`` is given. ``rasad train``."""
    overrides = body.model_dump(exclude={"name"})
    result = training.train(ctx, name=body.name, **overrides)
    return respond(TrainResultBody(run=result.run, model_version=result.model_version), 201)


@router.get("/run-comparisons", response_model=RunComparisonBody)
def compare(ctx: ContextDep,
            run_id: Annotated[list[Annotated[str, StringConstraints(pattern=NO_NUL,
                                                                    max_length=64)]],
                              Query(min_length=2, max_length=100,
                                    description="Two or more run ids (or unique prefixes).")]
            ) -> Response:
    """Compare runs' parameters and metrics. ``rasad runs compare ID ID...``."""
    comparison = runs.compare(ctx, list(run_id))
    return respond(RunComparisonBody(runs=[r.id for r in comparison.runs],
                                     params=comparison.params, metrics=comparison.metrics,
                                     differing_params=comparison.differing_params))


@router.post("/models/{name}/predictions", response_class=FileResponse, responses={
    200: {"description": f"The scored rows; the summary is in the {RESULT_HEADER} header.",
          "content": {media: {"schema": {"type": "string", "format": "binary"}}
                      for media in MEDIA_TYPES.values()},
          "headers": {RESULT_HEADER: {"description": "The BatchResult as JSON.",
                                      "schema": {"type": "string"}}}}})
def predict(
    ctx: ContextDep,
    name: NamePath,
    file: Annotated[UploadFile, File(description="A CSV, TSV or Parquet file (by suffix).")],
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    env: Annotated[Short | None, Form(description="Use the version serving this "
                                                  "environment.")] = None,
    strict_categories: Annotated[bool, Form()] = False,
    explain: Annotated[bool, Form(description=(
        "Add each row's reason codes (reason_1..reason_K and reasons, as JSON).")
    )] = False,
    output_format: Annotated[Literal["csv", "parquet"], Form(alias="format")] = "csv",
    input_name: Annotated[ClientPath | None, Form(description=(
        "The input as the client names it (the remote client sends the file's absolute "
        "path, or 'pandas.DataFrame'); default the uploaded file's name."))] = None,
    output_name: Annotated[ClientPath | None, Form(description=(
        "Where the client writes the scores, as it names that file; default none."))] = None,
) -> Response:
    """Score the uploaded rows with a model version (by number, the one serving ``env``,
    or the latest), checking them against its signature first. ``rasad predict``.

    The ``model.predict`` audit event names the client's files (``input_name``,
    ``output_name``, marked ``input_from``/``output_from: client``), never the server's
    temporary copies."""
    client = batch.ClientFiles(input=input_name or client_file_name(file.filename),
                               output=output_name)
    folder = Path(tempfile.mkdtemp(prefix="rasad-predict-"))
    try:
        source = folder / "in" / _file_name(file.filename)
        source.parent.mkdir()
        with source.open("wb") as out:
            shutil.copyfileobj(file.file, out, length=1 << 20)
        target = folder / f"scores.{output_format}"
        result = batch.predict(ctx, name, source, version=version, env=env, output=target,
                               strict_categories=strict_categories, client_files=client,
                               explain=explain)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    summary = result.model_copy(update={"output": None})
    # ASCII JSON: a header must be Latin-1, and a warning can quote any category name.
    header = json.dumps(summary.model_dump(mode="json"), ensure_ascii=True,
                        separators=(",", ":"))
    return FileResponse(target, media_type=MEDIA_TYPES[output_format],
                        filename=f"{name}-scores.{output_format}",
                        headers={RESULT_HEADER: header},
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


__all__ = ["MEDIA_TYPES", "RESULT_HEADER", "RunComparisonBody", "TrainRequest",
           "TrainResultBody", "router"]
