"""The prediction log as the current data of a check: realized performance and drift.

Both read a :class:`LogWindow` and hand the monitoring services named rows
(:class:`rasad.monitoring.drift_check.Rows`, named by :attr:`LogWindow.ref`), so a saved
result records which window it checked.

- **Performance** (:func:`track_performance`): the log's ``label`` (the latest feedback)
  is the true value, ``prediction`` the prediction and ``score`` the score; they take the
  names the reference dataset uses for them (``target``, ``prediction``, ``score``), so
  the reference is labelled data scored by the model, as for any tracking. Predictions
  without feedback yet are left out of the metrics (counted as unlabelled), as the
  engine does for any missing label.
- **Drift** (:func:`check_drift`): the logged inputs (without their ``input.`` prefix) are
  the current data. Masked columns are left out (their values are keyed hashes, not
  comparable with raw values) and dropped ones were never logged. The reference is the
  one given, else the training data of the model version that scored the window's
  latest prediction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from rasad.errors import InputError
from rasad.identity import Permission
from rasad.monitoring.drift_check import Rows
from rasad.serving.predlog._reader import MASKED_ATTR, read_window
from rasad.serving.predlog._tables import INPUT_PREFIX
from rasad.serving.predlog._window import LogWindow

if TYPE_CHECKING:
    from rasad.core import Context
    from rasad.datasets import DatasetVersion
    from rasad.drift import Chunker
    from rasad.evaluation.metrics import Metric, Task
    from rasad.monitoring import PerformanceReport, Threshold
    from rasad.monitoring.drift_check import DriftCheck
    from rasad.monitoring.drift_check import Side as DriftSide
    from rasad.monitoring.tracking import PerformanceCheck

TIME_COLUMN = "time"
"""The column of the log's rows that holds when each was scored (for ``--chunk-period``)."""


def read_log_window(ctx: Context, window: LogWindow, *,
                    with_feedback: bool = True) -> pd.DataFrame:
    """The predictions in ``window`` (needs ``read``); as
    :func:`rasad.serving.predlog.read_log`."""
    ctx.require(Permission.READ, f"read the prediction log of model {window.model!r}")
    return read_window(ctx.artifacts, window, with_feedback=with_feedback)


def track_performance(
    ctx: Context,
    reference: DatasetVersion | str,
    window: LogWindow,
    *,
    target: str,
    prediction: str,
    task: Task | str = "classification",
    score: str | None = None,
    chunker: Chunker | None = None,
    metrics: Iterable[Metric | str] | str | None = None,
    threshold: Threshold | None = None,
    min_chunk_rows: int = 30,
    save: bool = False,
    monitor: str = "performance",
) -> PerformanceCheck[PerformanceReport]:
    """Realized performance of the predictions in ``window``, against their feedback.

    The current rows hold ``target`` (the log's label), ``prediction``, ``score`` (when
    given) and ``time``, so a chunker can split them by period of ``time``. The other
    parameters are those of :func:`rasad.monitoring.tracking.track_performance`.

    Raises
    ------
    InputError
        No predictions in the window (the message says how to get a log), or the
        engine refuses the data.
    """
    from rasad.monitoring import tracking

    if save:  # refused before the log is read, as the service refuses before any work
        from rasad.names import check_name

        check_name(monitor, "Monitor")
        ctx.require(Permission.MONITOR_WRITE, f"save results of monitor {monitor!r}")
    logged = read_log_window(ctx, window, with_feedback=True)
    names = [target, prediction, *([score] if score is not None else [])]
    if len(set(names)) != len(names):
        raise InputError(f"--target, --prediction and --score name one column twice "
                         f"({', '.join(names)}); give the reference's three columns.")
    current = pd.DataFrame({target: logged["label"], prediction: logged["prediction"]})
    if score is not None:
        current[score] = logged["score"]
    if TIME_COLUMN not in current:
        current[TIME_COLUMN] = logged[TIME_COLUMN]
    return tracking.track_performance(
        ctx, reference, Rows(window.ref, current), target=target, prediction=prediction,
        task=task, score=score, chunker=chunker, metrics=metrics, threshold=threshold,
        min_chunk_rows=min_chunk_rows, save=save, monitor=monitor)


def check_drift(
    ctx: Context,
    reference: DriftSide | None,
    window: LogWindow,
    *,
    columns: Sequence[str] | None = None,
    chunker: Chunker | None = None,
    multivariate: bool = False,
    use_profile: bool = False,
    save: bool = False,
    monitor: str = "drift",
) -> DriftCheck:
    """Drift of the inputs logged in ``window`` against ``reference``.

    ``reference`` None means the training data of the model version that scored the
    window's latest prediction (the dataset its run used with role ``train``). By
    default the logged, unmasked input columns are compared; the other parameters are
    those of :func:`rasad.monitoring.drift_check.check`.

    Raises
    ------
    InputError
        No predictions in the window, no unmasked input column to compare, or no
        reference given and the model's run recorded no training data.
    """
    from rasad.monitoring import drift_check

    logged = read_log_window(ctx, window, with_feedback=False)
    masked = set(logged.attrs.get(MASKED_ATTR, []))
    inputs = {column[len(INPUT_PREFIX):]: logged[column] for column in logged.columns
              if column.startswith(INPUT_PREFIX)
              and column[len(INPUT_PREFIX):] not in masked}
    if not inputs:
        raise InputError(f"The prediction log of {window.describe()} holds no input column "
                         "to compare: every one is masked or dropped "
                         "(serving.log.personal_data in rasad.yaml).")
    current = pd.DataFrame(inputs)
    if chunker is not None and chunker.time_column == TIME_COLUMN and TIME_COLUMN not in current:
        current[TIME_COLUMN] = logged[TIME_COLUMN]
    chosen = list(columns) if columns is not None else list(inputs)
    hidden = sorted(set(chosen) & masked)
    if hidden:
        raise InputError(f"Column(s) {', '.join(hidden)} are masked in the prediction log "
                         "(keyed hashes): they cannot be compared with raw values. Leave "
                         "them out of --columns.")
    if reference is None:
        reference = training_data(ctx, window.model, int(logged["version"].iloc[-1]))
    return drift_check.check(ctx, reference, Rows(window.ref, current), columns=chosen,
                             chunker=chunker, multivariate=multivariate,
                             use_profile=use_profile, save=save, monitor=monitor)


def training_data(ctx: Context, model: str, version: int) -> DatasetVersion:
    """The dataset version ``model@version`` was trained on (its run's ``train`` dataset).

    Raises
    ------
    InputError
        The run recorded no training dataset (a model logged by hand).
    """
    from rasad.datasets.service import get
    from rasad.names import parse_ref
    from rasad.registry import models

    found = models.resolve(ctx, model, version=version)
    trained = [d["dataset"] for d in found.datasets if d.get("role") == "train"]
    if not trained:
        raise InputError(f"{found.ref} has no training dataset on record (its run used none "
                         "with role 'train'): give the reference data, "
                         f"`rasad drift REFERENCE --from-log {model}`.")
    return get(ctx, *parse_ref(trained[0]))
