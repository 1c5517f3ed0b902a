"""Batch scoring: a file or frame in, predictions with the model version that made them out.

With ``explain=True`` each row also gets its reason codes (:mod:`rasad.evaluation.reasons`,
docs/explanations.md): the features that pushed its score most, against the typical
values of the model's training data (:func:`training_references`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr

from rasad._files import check_outputs, write_atomic
from rasad.datasets import service as datasets
from rasad.errors import InputError
from rasad.evaluation.reasons import Explainer, References, references_from_profile
from rasad.names import parse_ref
from rasad.registry import models
from rasad.results import Result
from rasad.tables._reader import read_table

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.registry import ModelVersion

OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


class BatchResult(Result):
    """What a batch scoring wrote, and what it noticed about the input.

    The scored rows themselves are :attr:`frame`, kept out of the JSON (a result read
    back from JSON has no frame).

    >>> result = BatchResult(model="credit", version=2, rows=3, output="scores.csv")
    >>> result.to_json()
    '{"model":"credit","version":2,"rows":3,"output":"scores.csv","warnings":[]}'
    >>> result.frame is None
    True
    """

    model: str
    version: int
    rows: int
    output: str | None
    warnings: list[str] = Field(default_factory=list)
    explained_with: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """How the reason codes were computed (``shap`` or ``substitution``); None (and left
    out of the JSON) when the scoring was not explained."""
    _frame: pd.DataFrame | None = PrivateAttr(default=None)

    @property
    def frame(self) -> pd.DataFrame | None:
        """The predictions (with declared id columns, probabilities and the model version)."""
        return self._frame

    @classmethod
    def with_frame(cls, frame: pd.DataFrame, *, model: str, version: int, output: str | None,
                   warnings: list[str], explained_with: str | None = None) -> BatchResult:
        """The result of scoring that produced ``frame``."""
        result = cls(model=model, version=version, rows=len(frame), output=output,
                     warnings=warnings, explained_with=explained_with)
        result._frame = frame  # private state: frozen applies to the fields only
        return result

    def __eq__(self, other: object) -> bool:
        # What a result reports is its value; the frame is not compared (pandas frames
        # have no single truth value), as it is not serialised.
        if not isinstance(other, BatchResult):
            return NotImplemented
        return self.model_dump() == other.model_dump()


class ClientFiles(Result):
    """The files of a scoring as the remote caller named them.

    Over the management API the server scores a temporary copy of the uploaded rows and
    sends the scores back for the client to write; the audit event records these names
    instead of the server's copies, marked ``"input_from": "client"`` and
    ``"output_from": "client"`` (the server cannot check them: only the client saw them).

    >>> ClientFiles(input="/home/amal/scores.csv", output=None).to_json()
    '{"input":"/home/amal/scores.csv","output":null}'
    """

    input: str
    output: str | None = None


def predict(ctx: Context, name: str, data: str | os.PathLike[str] | pd.DataFrame, *,
            version: int | None = None, env: str | None = None,
            output: str | os.PathLike[str] | None = None,
            strict_categories: bool = False,
            client_files: ClientFiles | None = None, explain: bool = False) -> BatchResult:
    """Score ``data`` with ``name`` (a version, an environment's version, or the latest).

    ``explain`` adds each row's reason codes after the model version columns:
    ``reason_1`` .. ``reason_K`` in words (K is ``governance.explanations.reasons``; empty
    where a row has fewer) and ``reasons``, all of them as JSON (see
    :meth:`rasad.evaluation.reasons.Explanation.to_frame`).

    ``client_files`` is for a door that scores a copy of a caller's file (the HTTP API):
    the audit event names the caller's files, not ``data`` and ``output``.
    """
    out_path = Path(output) if output is not None else None
    if out_path is not None and out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"Output {out_path} must end in {', '.join(OUTPUT_SUFFIXES)}.")
    if out_path is not None and out_path.is_dir():
        raise InputError(f"Output {out_path} is a folder; give a file name such as "
                         f"{out_path / 'scores.csv'}.")
    source = [] if isinstance(data, pd.DataFrame) else [data]
    check_outputs([out_path], source)  # before any work: an output must not destroy an input
    model_version = models.resolve(ctx, name, version=version, env=env)
    frame = data if isinstance(data, pd.DataFrame) else read_table(data).to_pandas()
    if len(frame) == 0:  # read_table refuses empty files; a DataFrame skips it
        raise InputError("The input DataFrame has no rows; there is nothing to score.")
    report = model_version.signature.check(frame)
    report.raise_for_errors(strict_categories=strict_categories)
    pipeline = models.load(ctx, model_version)
    inputs = model_version.signature.coerce(frame)
    # Declared id columns travel with the predictions so they can be joined back.
    ids = [c for c in ctx.config.data.id_columns if c in frame.columns]
    result = frame[ids].copy() if ids else pd.DataFrame(index=frame.index)
    result["prediction"] = pipeline.predict(inputs)
    if model_version.task == "classification" and hasattr(pipeline, "predict_proba"):
        proba = np.asarray(pipeline.predict_proba(inputs))
        for i, cls in enumerate(pipeline.classes_):
            result[f"proba_{cls}"] = proba[:, i]
    result["model_name"] = name
    result["model_version"] = model_version.version
    explained_with = None
    if explain:
        explanation = explainer(ctx, model_version, pipeline).explain(inputs)
        result = pd.concat([result, explanation.to_frame(index=result.index)], axis=1)
        explained_with = str(explanation.method)
    warnings = [] if strict_categories else [u.describe() for u in report.unseen_categories]
    if report.extra_columns:
        warnings.append(f"{len(report.extra_columns)} input column(s) not used by the model: "
                        + ", ".join(report.extra_columns))
    if out_path is not None:
        write_atomic(out_path, lambda tmp: _write_frame(result, tmp, out_path.suffix))
    with ctx.transaction() as tx:
        details = {"rows": len(result), "environment": env,
                   "artifact_sha256": model_version.blob,
                   **_files(data, out_path, client_files)}
        if explained_with is not None:
            details["explained_with"] = explained_with
        tx.record("model.predict", f"model:{name}@{model_version.version}", details)
    return BatchResult.with_frame(result, model=name, version=model_version.version,
                                  output=str(out_path) if out_path else None,
                                  warnings=warnings, explained_with=explained_with)


def training_references(ctx: Context, version: ModelVersion) -> References:
    """The typical values reason codes compare a row with: from the profile of the
    dataset version ``version`` was trained on (role ``train`` in its run's record).

    Raises
    ------
    InputError
        The version's run records no training dataset (a model logged by hand).
    """
    trained = [d["dataset"] for d in version.datasets if d.get("role") == "train"]
    if not trained:
        raise InputError(f"{version.ref} records no training dataset, so its reason codes "
                         "have no typical values to compare with. Train it with `rasad "
                         "train`, or record the data its run used (Run.use_dataset) before "
                         "registering it.")
    dataset_name, number = parse_ref(trained[0])
    dataset = datasets.get(ctx, dataset_name, number)
    return references_from_profile(dataset.profile, version.signature,
                                   source=f"profile of {dataset.ref}")


def explainer(ctx: Context, version: ModelVersion, model: object, *,
              scorer: object = None) -> Explainer:
    """The reason-code explainer of a loaded ``version`` (``model`` as
    :func:`rasad.registry.models.load` gives it), with ``governance.explanations``'
    settings and typical values from its training data (:func:`training_references`)."""
    settings = ctx.config.governance.explanations
    return Explainer(model, training_references(ctx, version), task=version.task,
                     reasons=settings.reasons, method=settings.method,
                     target=models.trained_target(ctx, version), scorer=scorer)


def _files(data: str | os.PathLike[str] | pd.DataFrame, output: Path | None,
           client: ClientFiles | None) -> dict[str, str | None]:
    """The audit event's ``input`` and ``output``: what was scored and written here, or
    the caller's names for them (marked as the client's)."""
    if client is not None:
        return {"input": client.input, "input_from": "client",
                "output": client.output, "output_from": "client"}
    return {"input": "pandas.DataFrame" if isinstance(data, pd.DataFrame)
            else str(Path(data).resolve()),
            "output": str(output.resolve()) if output else None}


def _write_frame(frame: pd.DataFrame, tmp: Path, suffix: str) -> None:
    if suffix.lower() == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)
