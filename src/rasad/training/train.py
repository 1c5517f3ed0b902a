"""``rasad train``: a run from data to a fitted, evaluated, stored pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rasad.artifacts.skops import dump_model
from rasad.config import TrainingConfig
from rasad.datasets import service as datasets
from rasad.errors import CheckFailed, InputError
from rasad.evaluation.metrics import DEFAULT_METRICS, Task, compute_metrics, parse_metrics
from rasad.identity import Permission
from rasad.registry import models
from rasad.tables import ColumnKind
from rasad.tables.signature import Signature
from rasad.training.environment import distribution_of
from rasad.training.estimator import infer_task, load_estimator
from rasad.training.pipeline import build_pipeline, default_features
from rasad.training.progress import Progress, Silent
from rasad.training.run import Run, get, start
from rasad.training.split import SplitMethod, SplitSpec, split_frame

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.registry import ModelVersion

OVERRIDABLE = ("dataset", "version", "target", "features", "seed", "metrics", "register_as")


@dataclass(frozen=True)
class TrainResult:
    """The finished run, and the model version when the run was registered."""

    run: Run
    model_version: ModelVersion | None

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.to_dict(),
                "model_version": self.model_version.to_dict() if self.model_version else None}


def resolve_config(base: TrainingConfig, **overrides: Any) -> TrainingConfig:
    """``rasad.yaml``'s training section with the non-None keyword overrides applied."""
    unknown = set(overrides) - {*OVERRIDABLE, "estimator", "params", "split", "validation",
                                "test", "time_column"}
    if unknown:
        raise InputError(f"Unknown training option(s) {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(OVERRIDABLE)}, estimator, params, split, validation, "
                         "test, time_column.")
    data = base.model_dump(by_alias=True)
    for key in OVERRIDABLE:
        if overrides.get(key) is not None:
            data[key] = overrides[key]
    if overrides.get("estimator") is not None:
        data["estimator"] = {"class": overrides["estimator"], "params": {}}
    if overrides.get("params") is not None:
        data["estimator"]["params"] = overrides["params"]
    for key, name in (("split", "method"), ("validation", "validation"), ("test", "test"),
                      ("time_column", "time_column")):
        if overrides.get(key) is not None:
            data["split"][name] = overrides[key]
    from pydantic import ValidationError

    from rasad.config import _describe
    try:
        return TrainingConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(_describe(exc, "training options")) from None


def train(ctx: Context, *, name: str | None = None, progress: Progress | None = None,
          **overrides: Any) -> TrainResult:
    """Train, evaluate and store a pipeline as configured; register it when asked.

    Every mistake that can be seen before training is refused before anything is
    written (no run, event or blob): the actor and run name must fit their columns,
    ``register_as`` must be a valid model name of the same task as the estimator, and
    the target must exist and not be an identifier column. The principal needs
    ``run.write`` (and ``model.register`` with ``register_as``, ``dataset.write`` when the
    dataset has a schema, for the stored validation), checked before training too.
    """
    from rasad.identity import current_actor
    from rasad.names import check_name
    from rasad.store.lengths import check_length

    steps = progress or Silent()
    current_actor()  # a RASAD_USER too long for the ledger fails here, not after training
    check_length(name, "runs.name", "Run name")
    cfg = resolve_config(ctx.config.training, **overrides)
    ctx.require(Permission.RUN_WRITE, "train a model")
    if cfg.register_as:
        check_name(cfg.register_as, "Model")
        ctx.require(Permission.MODEL_REGISTER, f"register the trained run as {cfg.register_as!r}")
    if not cfg.dataset:
        raise InputError("No dataset to train on: set training.dataset in rasad.yaml or pass "
                         "--dataset NAME.")
    if not cfg.target:
        raise InputError("No target column: set training.target in rasad.yaml or pass "
                         "--target COLUMN.")
    version = datasets.get(ctx, cfg.dataset, cfg.version)
    if cfg.target not in version.kinds:
        raise InputError(f"Target {cfg.target!r} is not a column of {version.ref}; columns are "
                         f"{', '.join(version.kinds)}.")
    if (version.kinds[cfg.target] is ColumnKind.IDENTIFIER
            or cfg.target in ctx.config.data.id_columns):
        raise InputError(f"Target {cfg.target!r} is an identifier column of {version.ref}: a "
                         "model cannot learn to predict row ids. Pass the column to predict "
                         "with --target (or training.target in rasad.yaml).")
    features = _features(ctx, cfg, version.kinds)
    _check_finite(version, features)
    estimator = load_estimator(cfg.estimator.class_path, cfg.estimator.params)
    task = infer_task(estimator)
    if cfg.register_as:
        _check_model_task(ctx, cfg.register_as, task, cfg.estimator.class_path)
    metric_names = (parse_metrics(cfg.metrics, task) if cfg.metrics
                    else DEFAULT_METRICS[task])
    method = cfg.split.method
    if method == "auto":
        method = "stratified" if task is Task.CLASSIFICATION else "random"
    spec = SplitSpec(method=SplitMethod(method), validation=cfg.split.validation,
                     test=cfg.split.test, time_column=cfg.split.time_column)
    if spec.time_column and spec.time_column not in version.kinds:
        raise InputError(f"Split time column {spec.time_column!r} is not a column of "
                         f"{version.ref}.")
    validation = _validate(ctx, version)
    params = {"dataset": version.ref, "target": cfg.target, "features": features,
              "estimator": cfg.estimator.class_path, "estimator_params": cfg.estimator.params,
              "split": cfg.split.model_dump(), "seed": cfg.seed,
              "metrics": [str(m) for m in metric_names], "validation": validation}
    dist = distribution_of(estimator)
    with start(ctx, name=name, params=params, seed=cfg.seed,
               extra_packages=(dist,) if dist else ()) as run:
        run.use_dataset(version, "train")
        with steps.step(f"Loading {version.ref} ({version.rows:,} rows)"):
            frame = datasets.load_frame(ctx, version)
        frame = frame[frame[cfg.target].notna()].reset_index(drop=True)
        if frame.empty:
            raise InputError(f"Target {cfg.target!r} is missing on every row of {version.ref}.")
        with steps.step("Splitting"):
            split = split_frame(frame, spec, target=cfg.target, seed=cfg.seed)
        kinds = {c: version.kinds[c] for c in features}
        # Train on exactly the dtypes scoring will see: the signature's coercion.
        signature = Signature.from_frame(frame[features].iloc[split.train], kinds)
        x, y = signature.coerce(frame[features]), frame[cfg.target]
        pipeline = build_pipeline(
            numeric=[c for c in features if kinds[c] is ColumnKind.NUMERIC],
            categorical=[c for c in features if kinds[c] is ColumnKind.CATEGORICAL],
            boolean=[c for c in features if kinds[c] is ColumnKind.BOOLEAN],
            estimator=estimator)
        _seed_estimator(pipeline, cfg.seed)
        x_train, y_train = x.iloc[split.train], y.iloc[split.train]
        with steps.step(f"Fitting {type(estimator).__name__} on {len(split.train):,} rows"):
            pipeline.fit(x_train, y_train)
        with steps.step("Evaluating"):
            metrics = {}
            for part, index in (("train", split.train), ("validation", split.validation),
                                ("test", split.test)):
                if len(index):
                    metrics[part] = _evaluate(pipeline, task, x.iloc[index], y.iloc[index],
                                              metric_names)
        run.set_summary_metrics(metrics)
        run.log_params({"split_sizes": split.to_dict()})
        with steps.step("Saving the fitted pipeline"):
            data, untrusted = dump_model(pipeline)
            run.model_blob = ctx.artifacts.put_bytes(data)
            classes = getattr(pipeline, "classes_", None)
            run.model_info = {
                "task": str(task), "target": cfg.target, "features": features,
                "classes": [_plain(c) for c in classes] if classes is not None else None,
                "signature": signature.to_dict(),
                "untrusted_types": untrusted, "estimator": cfg.estimator.class_path,
                "size_bytes": len(data),
            }
    stored = get(ctx, run.id)
    model_version = None
    if cfg.register_as:
        model_version = models.register(ctx, stored.id, cfg.register_as).version
    return TrainResult(stored, model_version)


def _check_model_task(ctx: Context, model: str, task: Task, estimator: str) -> None:
    """A model's versions all solve one task: refuse a run that could not be registered."""
    from rasad.errors import NotFoundError

    try:
        existing = models.detail(ctx, model).versions[-1].task
    except NotFoundError:
        return
    if existing != str(task):
        raise InputError(
            f"Model {model!r} is a {existing} model, but {estimator} is a {task} estimator; "
            f"register the run under another name, or train a {existing} estimator.")


def _validate(ctx: Context, version: Any) -> dict[str, Any]:
    """The gate before training: validate the dataset against its schema, if it has one."""
    from rasad.validation.service import find_schema, summary_line, validate_version

    schema = find_schema(ctx, version.name)
    if schema is None:
        return {"schema": None, "ok": None, "note": "no schema for this dataset"}
    report, stored = validate_version(ctx, version, schema)
    info = {"schema": schema.label, "schema_sha256": schema.content_hash, "ok": report.ok,
            "errors": len(report.errors), "warnings": len(report.warnings),
            "validation_id": stored.id}
    if not report.ok and ctx.config.validation.on_error == "fail":
        raise CheckFailed(
            f"{version.ref} fails validation against {schema.label}: {summary_line(report)}. "
            f"Training did not start. See `rasad validate {version.ref}`; fix the data, edit "
            "the schema, or set validation.on_error: warn in rasad.yaml.")
    return info


def _check_finite(version: Any, features: list[str]) -> None:
    """Refuse features holding inf before a run starts (the stored profile counts them)."""
    infinite = [(c.name, c.infinite) for c in version.profile.columns
                if c.name in features and c.infinite]
    if infinite:
        listed = ", ".join(f"{name!r} ({count:,})" for name, count in infinite)
        raise InputError(
            f"Feature column(s) {listed} of {version.ref} hold infinite values, which no "
            "model can train on; replace them with numbers or leave them missing and add "
            "the data again, or leave the column(s) out of --features.")


def _features(ctx: Context, cfg: TrainingConfig, kinds: dict[str, ColumnKind]) -> list[str]:
    assert cfg.target is not None
    if cfg.features:
        missing = [c for c in cfg.features if c not in kinds]
        if missing:
            raise InputError(f"Feature(s) {', '.join(map(repr, missing))} are not columns of the "
                             f"dataset; columns are {', '.join(kinds)}.")
        if cfg.target in cfg.features:
            raise InputError(f"The target {cfg.target!r} cannot also be a feature.")
        unusable = [c for c in cfg.features if kinds[c] not in
                    (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)]
        if unusable:
            raise InputError(
                f"Feature(s) {', '.join(f'{c!r} ({kinds[c]})' for c in unusable)} cannot be "
                "used by the default preprocessing, which takes numeric, categorical and "
                "boolean columns; drop them from training.features.")
        return list(cfg.features)
    data = ctx.config.data
    features = default_features({c: str(k) for c, k in kinds.items()}, cfg.target,
                                data.id_columns, data.time_columns)
    if not features:
        raise InputError("No usable feature columns remain after removing the target, id, "
                         "time, text and datetime columns; list training.features explicitly.")
    return features


def _seed_estimator(pipeline: Any, seed: int) -> None:
    params = pipeline.get_params()
    seeds = {k: seed for k in params if k.endswith("random_state") and params[k] is None}
    if seeds:
        pipeline.set_params(**seeds)


def _evaluate(pipeline: Any, task: Task, x: pd.DataFrame, y: pd.Series,
              metric_names: Any) -> dict[str, float | None]:
    y_pred = pipeline.predict(x)
    y_proba = None
    if task is Task.CLASSIFICATION and hasattr(pipeline, "predict_proba"):
        # float32 scores (XGBoost) sum to 1 only approximately; metrics want exact rows.
        y_proba = np.asarray(pipeline.predict_proba(x), dtype=np.float64)
        y_proba /= y_proba.sum(axis=1, keepdims=True)
    classes = getattr(pipeline, "classes_", None)
    return compute_metrics(task, np.asarray(y), y_pred, y_proba=y_proba,
                           classes=classes, metrics=metric_names)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
