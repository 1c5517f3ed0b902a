"""Running the behavioural tests of ``rasad.yaml`` on a registered model version.

:func:`run_model_tests` is the use-case behind ``rasad test NAME@VERSION`` and
:meth:`rasad.Project.test_model`; :func:`run_version_tests` is the part the
``model_tests`` promotion gate shares with it, once the data are loaded. Both hand the
pure engine (:func:`rasad.evaluation.behaviour.run_tests`) the model as callables that
first fit the rows to the model's signature (:meth:`~rasad.tables.signature.Signature.coerce`,
which refuses values of the wrong type with a clear :class:`~rasad.errors.InputError`)
and then call the pipeline loaded through the registry: its bytes checked against their
hash, and built from trusted types only.

Where the inputs come from:

- the tests: ``promotion.tests`` (none declared: an error saying to declare them);
- the data: the ``data`` argument (``NAME@VERSION``, or ``NAME`` for the latest), else
  ``promotion.evaluation_data``;
- the label column: ``promotion.target``, else the column the model was trained to
  predict.

Reading is all this does: it needs the ``read`` permission and writes nothing, not even
an audit event. The promotion gate stores the report as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rasad.datasets import service as datasets
from rasad.errors import InputError, NotFoundError
from rasad.evaluation.behaviour import ModelTestReport, run_tests
from rasad.names import parse_ref
from rasad.registry import models

if TYPE_CHECKING:
    import pandas as pd

    from rasad.config import ModelTestConfig
    from rasad.core import Context
    from rasad.datasets.version import DatasetVersion
    from rasad.registry.version import ModelVersion


def run_model_tests(ctx: Context, name: str, version: int | None = None, *,
                    data: str | None = None) -> ModelTestReport:
    """Run ``promotion.tests`` on a model version and return their report.

    Parameters
    ----------
    ctx : Context
        The project's context (needs ``read``).
    name : str
        The model's name, or ``NAME@VERSION``.
    version : int, optional
        The version (default: the latest); not with ``NAME@VERSION``.
    data : str, optional
        The labelled dataset version, ``NAME@VERSION`` (``NAME``: its latest version);
        default ``promotion.evaluation_data``.

    Returns
    -------
    ModelTestReport
        One result per declared test, with the model, its artifact's sha256, the dataset
        version and its content hash.

    Raises
    ------
    InputError
        No test is declared, no data is named, the label column is unknown or missing,
        the data do not fit the model's signature, or a test is declared wrongly.
    NotFoundError
        No such model, version or dataset version.
    IntegrityError, UntrustedArtifactError
        The model's bytes fail their hash check or hold a type the trust policy refuses.
    """
    tests = ctx.config.promotion.tests
    if not tests:
        raise InputError("No model tests are declared: list them under promotion.tests in "
                         "rasad.yaml (kinds slice_performance, invariance, directional, "
                         "robustness; see docs/promotion.md, \"Model tests\").")
    model = _model_version(ctx, name, version)
    data_version = _dataset(ctx, data)
    frame = datasets.load_frame(ctx, data_version).reset_index(drop=True)
    target = ctx.config.promotion.target or _trained_target(ctx, model)
    return run_version_tests(ctx, model, data_version, frame, target, tests)


def run_version_tests(ctx: Context, model: ModelVersion, data_version: DatasetVersion,
                      frame: pd.DataFrame, target: str, tests: Sequence[ModelTestConfig]
                      ) -> ModelTestReport:
    """Run ``tests`` on ``model`` over ``frame``, the rows of ``data_version``.

    The rows must fit the model's signature as they are (no missing column, no value of
    the wrong type); the tests then change them.
    """
    if target not in frame.columns:
        raise InputError(f"The data {data_version.ref} have no label column {target!r}; set "
                         "promotion.target in rasad.yaml, or test on labelled data.")
    signature = model.signature
    signature.check(frame, model.ref).raise_for_errors()
    pipeline = models.load(ctx, model)  # hash checked, trusted types only

    def predict(rows: pd.DataFrame) -> Any:
        return pipeline.predict(signature.coerce(rows))

    def predict_proba(rows: pd.DataFrame) -> Any:
        return pipeline.predict_proba(signature.coerce(rows))

    has_proba = model.task == "classification" and hasattr(pipeline, "predict_proba")
    report = run_tests(tests, frame, target, task=model.task, classes=model.classes,
                       predict=predict, predict_proba=predict_proba if has_proba else None,
                       features=signature.names)
    return report.model_copy(update={
        "model": model.ref, "artifact_sha256": model.blob, "data": data_version.ref,
        "data_sha256": data_version.content_hash})


def _model_version(ctx: Context, name: str, version: int | None) -> ModelVersion:
    base, pinned = parse_ref(name)
    if pinned is not None and version is not None and pinned != version:
        raise InputError(f"{name!r} already names version {pinned}; drop the separate "
                         f"version {version}.")
    return models.resolve(ctx, base, version=pinned if pinned is not None else version)


def _dataset(ctx: Context, data: str | None) -> DatasetVersion:
    ref = data if data is not None else ctx.config.promotion.evaluation_data
    if ref is None:
        raise InputError("No data to test on: name labelled data with --data NAME@VERSION "
                         "(data=... in Python), or set promotion.evaluation_data in "
                         "rasad.yaml.")
    name, number = parse_ref(ref)
    try:
        return datasets.get(ctx, name, number)
    except NotFoundError as exc:
        if data is not None:
            raise
        raise NotFoundError(f"promotion.evaluation_data in rasad.yaml names {ref!r}: {exc} "
                            "Add it with `rasad data add` or fix the name.") from None


def _trained_target(ctx: Context, model: ModelVersion) -> str:
    """The column the model was trained to predict, from its run's record."""
    target = models.trained_target(ctx, model)
    if target is None:
        raise InputError(f"Model {model.ref} does not record the column it predicts; set "
                         "promotion.target in rasad.yaml.")
    return target


__all__ = ["run_model_tests", "run_version_tests"]
