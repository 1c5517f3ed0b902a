"""Batch scoring: a file or frame in, predictions with the model version that made them out."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasad._files import check_outputs, write_atomic
from rasad.errors import InputError
from rasad.registry import models
from rasad.tables._reader import read_table

if TYPE_CHECKING:
    from rasad.core import Context

OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class BatchResult:
    """What a batch scoring wrote, and what it noticed about the input."""

    model: str
    version: int
    rows: int
    output: str | None
    warnings: list[str] = field(default_factory=list)
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "rows": self.rows,
                "output": self.output, "warnings": self.warnings}


def predict(ctx: Context, name: str, data: str | os.PathLike[str] | pd.DataFrame, *,
            version: int | None = None, env: str | None = None,
            output: str | os.PathLike[str] | None = None,
            strict_categories: bool = False) -> BatchResult:
    """Score ``data`` with ``name`` (a version, an environment's version, or the latest)."""
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
    warnings = [] if strict_categories else [u.describe() for u in report.unseen_categories]
    if report.extra_columns:
        warnings.append(f"{len(report.extra_columns)} input column(s) not used by the model: "
                        + ", ".join(report.extra_columns))
    if out_path is not None:
        write_atomic(out_path, lambda tmp: _write_frame(result, tmp, out_path.suffix))
    with ctx.transaction() as tx:
        tx.record("model.predict", f"model:{name}@{model_version.version}", {
            "rows": len(result), "environment": env, "artifact_sha256": model_version.blob,
            "input": "pandas.DataFrame" if isinstance(data, pd.DataFrame) else str(
                Path(data).resolve()),
            "output": str(out_path.resolve()) if out_path else None})
    return BatchResult(name, model_version.version, len(result),
                       str(out_path) if out_path else None, warnings, result)


def _write_frame(frame: pd.DataFrame, tmp: Path, suffix: str) -> None:
    if suffix.lower() == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_parquet(tmp, index=False)
