"""Behavioural tests of a model: what it does when its input changes, not only how often
it is right.

The tests are declared in ``rasad.yaml`` (``promotion.tests``, one
:class:`~rasad.config.ModelTestConfig` each) and run by :func:`run_tests` on labelled
rows, with the model given as callables, so this engine needs no project: ``rasad test``
and the ``model_tests`` promotion gate hand it a registered model, and a notebook any
fitted estimator.

Four kinds (:class:`ModelTestKind`):

- **slice_performance**: a metric (computed by :func:`rasad.evaluation.compute_metrics`,
  so by scikit-learn) on the rows of a slice (``values``, or ``[min, max)``) is at least
  ``min`` or at most ``max``. A slice with no labelled rows, or a metric that cannot be
  computed on it (ROC AUC with one class present, a probability metric of a model without
  ``predict_proba``), fails and says why: a declared check that cannot be made does not
  pass.
- **invariance**: ``column`` is set to each of ``values`` on every row; the share of
  decisions (predicted labels; for a regressor, predictions that move by more than a
  relative ``1e-9``) that differ from the unchanged rows' must stay at or under
  ``tolerance``. Without ``values``: the column's own values (see
  :class:`BehaviourPolicy`). The worst value and its share are reported.
- **directional**: ``change`` is added to numeric ``column``; the mean predicted
  probability of ``outcome`` (default the positive class ``classes[1]``; a regressor's
  mean prediction) must move in ``direction``: ``increase`` and ``decrease`` strictly,
  ``no_decrease`` and ``no_increase`` allowing no move at all.
- **robustness**: each of ``columns`` (default every model input) in turn is set
  missing, to an unseen category (text columns) and to extreme values (numeric columns:
  +-1e12 and the column's minimum and maximum times 1e6), on the first rows of the data.
  Every such input must get finite answers from ``predict`` (and ``predict_proba``) or a
  clear :class:`~rasad.errors.InputError`; any other exception, a missing or infinite
  answer, or the wrong number of answers fails, with the exception's type and message.

An exception the model raises in any test is reported as that test's failure, never
raised through: one test that crashes the model does not hide the others. A test that
is declared wrongly (a column the data does not have, a directional test on a text
column, an unknown metric, a value the model cannot take) raises
:class:`~rasad.errors.InputError` naming the test and the fix, before anything runs.

>>> import pandas as pd
>>> from rasad.config import ModelTestConfig
>>> frame = pd.DataFrame({"debt": [0.1, 0.5, 0.9, 0.3], "region": ["n", "s", "n", "s"],
...                       "default": [0, 1, 1, 0]})
>>> def proba(rows):  # the risk rises with debt; region plays no part
...     risk = rows["debt"].clip(0, 1).to_numpy()
...     return np.column_stack([1 - risk, risk])
>>> def predict(rows):
...     return (proba(rows)[:, 1] >= 0.5).astype(int)
>>> tests = [
...     ModelTestConfig(name="region does not matter", kind="invariance", column="region"),
...     ModelTestConfig(name="more debt, more risk", kind="directional", column="debt",
...                     change=0.1, direction="increase"),
...     ModelTestConfig(name="accurate in the north", kind="slice_performance",
...                     metric="accuracy", min=0.9,
...                     slice={"column": "region", "values": ["n"]})]
>>> report = run_tests(tests, frame, "default", task="classification", classes=[0, 1],
...                    predict=predict, predict_proba=proba)
>>> [(test.name, test.passed) for test in report.tests]  # doctest: +NORMALIZE_WHITESPACE
[('region does not matter', True), ('more debt, more risk', True),
 ('accurate in the north', True)]
>>> report.tests[1].summary
'mean probability of 1 increases (0.45 -> 0.55, +0.1) when debt changes by +0.1'
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike
from pydantic import computed_field

from rasad.errors import InputError
from rasad.evaluation.metrics import Metric, Task, compute_metrics, parse_metrics, parse_task
from rasad.results import Result

if TYPE_CHECKING:
    from rasad.config import ModelTestConfig, SliceConfig

Predict = Callable[[pd.DataFrame], ArrayLike]
"""A model's ``predict`` or ``predict_proba``: input rows in, one answer per row out."""

UNSEEN: Final = "__rasad_unseen__"
"""The category robustness gives a text column: a value no training data holds."""


class ModelTestKind(StrEnum):
    """What a behavioural test checks (``kind`` in ``promotion.tests``)."""

    SLICE_PERFORMANCE = "slice_performance"
    INVARIANCE = "invariance"
    DIRECTIONAL = "directional"
    ROBUSTNESS = "robustness"


@dataclass(frozen=True)
class BehaviourPolicy:
    """How much of the data the tests use when the declaration leaves it open.

    Parameters
    ----------
    max_values : int
        Invariance without declared ``values`` tries the column's own values, at most this
        many: every distinct value when there are no more; else the most frequent ones
        (text), or values at evenly spaced quantiles (numbers), so that a continuous
        column costs ``max_values`` scorings, not one per row.
    robustness_rows : int
        Robustness perturbs the first this many rows (a crash shows on a few rows; a
        100,000-row evaluation set must not be scored a hundred times over). Every
        perturbation is scored in one batch; only when the batch does not answer cleanly
        is each perturbation scored alone, to name the ones that break the model.
    extreme : tuple of float
        The extreme values every numeric column is set to, besides its minimum and maximum
        times ``extreme_scale``.
    extreme_scale : float
        How far beyond the observed range the data's own extremes are pushed.
    regression_rtol : float
        A regressor's prediction counts as a changed decision when it moves by more than
        this, relative to the unchanged prediction (with ``1e-12`` absolute near zero).

    Examples
    --------
    >>> DEFAULT_POLICY.max_values, DEFAULT_POLICY.robustness_rows
    (20, 200)
    """

    max_values: int = 20
    robustness_rows: int = 200
    extreme: tuple[float, ...] = (1e12, -1e12)
    extreme_scale: float = 1e6
    regression_rtol: float = 1e-9


DEFAULT_POLICY: Final = BehaviourPolicy()
"""The policy :func:`run_tests` uses unless given another."""


class ModelTestResult(Result):
    """One test's outcome: a one-line summary and every figure behind it."""

    name: str
    kind: ModelTestKind
    passed: bool
    summary: str
    evidence: dict[str, Any]


class ModelTestReport(Result):
    """Every declared behavioural test of one model on one labelled dataset.

    ``model``, ``artifact_sha256``, ``data`` and ``data_sha256`` name what was tested
    when the tests ran on a registered model and a dataset version (``rasad test``, the
    ``model_tests`` gate); they are None when the engine ran on objects in memory.
    """

    model: str | None = None
    artifact_sha256: str | None = None
    data: str | None = None
    data_sha256: str | None = None
    target: str
    task: Task
    rows: int
    tests: list[ModelTestResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """True when every test passed."""
        return all(test.passed for test in self.tests)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> list[str]:
        """The names of the tests that failed, in declaration order."""
        return [test.name for test in self.tests if not test.passed]


def run_tests(tests: Sequence[ModelTestConfig], frame: pd.DataFrame, target: str, *,
              task: Task | str, classes: Sequence[Any] | None, predict: Predict,
              predict_proba: Predict | None = None, features: Sequence[str] | None = None,
              policy: BehaviourPolicy = DEFAULT_POLICY) -> ModelTestReport:
    """Run behavioural tests of a model on labelled rows.

    Parameters
    ----------
    tests : sequence of ModelTestConfig
        The declared tests (``promotion.tests``), run in order.
    frame : pandas.DataFrame
        Labelled rows: the model's inputs, the label column, and any other column a slice
        or an invariance test names.
    target : str
        The label column.
    task : Task or str
        Classification or regression.
    classes : sequence, optional
        A classifier's classes, in the order of ``predict_proba``'s columns
        (``estimator.classes_``); None for a regressor.
    predict, predict_proba : callable
        The model: rows (``frame``'s ``features`` columns) in, a label or value per row
        out; ``predict_proba`` one probability per class per row (None for a regressor
        or a classifier without probabilities).
    features : sequence of str, optional
        The model's input columns; default every column of ``frame`` but ``target``.
    policy : BehaviourPolicy
        How many values and rows the tests use where the declaration leaves it open.

    Returns
    -------
    ModelTestReport
        One :class:`ModelTestResult` per test, in declaration order.

    Raises
    ------
    InputError
        The data cannot be tested (no rows, no label column, an input column missing), a
        test is declared wrongly, or the model refuses a value a test declares; the
        message names the test and the fix.
    """
    parsed = parse_task(task)
    subject = _Subject.build(frame, target, parsed, classes, predict, predict_proba, features)
    for test in tests:
        _check_spec(test, subject)
    results = [_run_one(test, subject, policy) for test in tests]
    return ModelTestReport(target=target, task=parsed, rows=int(frame.shape[0]),
                           tests=results)


def to_junit(report: ModelTestReport, name: str) -> str:
    """``report`` as a JUnit XML ``testsuite`` named ``name``, one ``testcase`` per test.

    A failed test carries a ``failure`` element whose message is its summary; CI viewers
    (GitHub Actions, GitLab, Jenkins) show it as a failed test.

    >>> report = ModelTestReport(target="y", task="classification", rows=10, tests=[
    ...     ModelTestResult(name="stable", kind="invariance", passed=False,
    ...                     summary="30% of decisions change", evidence={})])
    >>> suite = ET.fromstring(to_junit(report, "credit@2"))
    >>> suite.get("tests"), suite.get("failures"), suite.find("testcase/failure").get("message")
    ('1', '1', '30% of decisions change')
    """
    suite = ET.Element("testsuite", {
        "name": name, "tests": str(len(report.tests)), "failures": str(len(report.failed)),
        "errors": "0", "skipped": "0",
    })
    for test in report.tests:
        case = ET.SubElement(suite, "testcase", {"classname": f"{name}.{test.kind.value}",
                                                 "name": test.name})
        if test.passed:
            ET.SubElement(case, "system-out").text = test.summary
            continue
        failure = ET.SubElement(case, "failure", {"message": test.summary,
                                                  "type": test.kind.value})
        failure.text = test.summary
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


# -- the model under test ---------------------------------------------------------------------


class _BadAnswer(Exception):
    """The model answered, but not with one finite answer per row."""


@dataclass(frozen=True)
class _Subject:
    """The data, the model's callables, and its answers on the unchanged rows (cached)."""

    frame: pd.DataFrame
    target: str
    task: Task
    classes: list[Any] | None
    predict_fn: Predict
    proba_fn: Predict | None
    features: tuple[str, ...]

    @classmethod
    def build(cls, frame: pd.DataFrame, target: str, task: Task,
              classes: Sequence[Any] | None, predict: Predict, predict_proba: Predict | None,
              features: Sequence[str] | None) -> _Subject:
        if target not in frame.columns:
            raise InputError(f"The data has no label column {target!r}; its columns are "
                             f"{_listed(frame.columns)}. Name the label column.")
        if frame.shape[0] == 0:
            raise InputError("The data has no rows; model tests need labelled rows.")
        chosen = (tuple(str(c) for c in frame.columns if c != target) if features is None
                  else tuple(features))
        missing = [column for column in chosen if column not in frame.columns]
        if missing:
            raise InputError(f"The data lacks the model's input column(s) {_listed(missing)}; "
                             "test on data that holds every input.")
        known = None if classes is None else list(classes)
        if task is Task.CLASSIFICATION and (known is None or len(known) < 2):
            raise InputError("A classifier's tests need its classes (at least two; pass "
                             "classes=estimator.classes_).")
        return cls(frame.reset_index(drop=True), target, task,
                   known if task is Task.CLASSIFICATION else None, predict,
                   predict_proba, chosen)

    @property
    def rows(self) -> int:
        return int(self.frame.shape[0])

    def predict(self, frame: pd.DataFrame) -> npt.NDArray[Any]:
        """The model's answers on ``frame`` (one per row, none missing or infinite)."""
        answers = np.asarray(self.predict_fn(frame.loc[:, list(self.features)]))
        if answers.ndim == 2 and answers.shape[1] == 1:
            answers = answers[:, 0]
        if answers.shape != (frame.shape[0],):
            raise _BadAnswer(f"predict gave answers of shape {answers.shape} for "
                             f"{frame.shape[0]} rows")
        bad = _not_finite(answers)
        if bad:
            raise _BadAnswer(f"predict gave {bad} missing or infinite answer(s) for "
                             f"{frame.shape[0]} rows")
        return answers

    def proba(self, frame: pd.DataFrame) -> npt.NDArray[np.float64] | None:
        """The model's class probabilities on ``frame`` (None without predict_proba)."""
        if self.proba_fn is None or self.classes is None:
            return None
        proba = np.asarray(self.proba_fn(frame.loc[:, list(self.features)]), dtype=float)
        if proba.shape != (frame.shape[0], len(self.classes)):
            raise _BadAnswer(f"predict_proba gave shape {proba.shape} for {frame.shape[0]} "
                             f"rows and {len(self.classes)} classes")
        bad = int(np.count_nonzero(~np.isfinite(proba)))
        if bad:
            raise _BadAnswer(f"predict_proba gave {bad} missing or infinite value(s)")
        return proba

    @cached_property
    def baseline(self) -> npt.NDArray[Any]:
        return self.predict(self.frame)

    @cached_property
    def baseline_proba(self) -> npt.NDArray[np.float64] | None:
        return self.proba(self.frame)

    def changed(self, after: npt.NDArray[Any], before: npt.NDArray[Any],
                policy: BehaviourPolicy) -> npt.NDArray[np.bool_]:
        """Rows whose decision differs between ``before`` and ``after``."""
        if self.task is Task.REGRESSION:
            return ~np.isclose(after.astype(float), before.astype(float),
                               rtol=policy.regression_rtol, atol=1e-12)
        return np.asarray(after != before, dtype=bool)


def _not_finite(answers: npt.NDArray[Any]) -> int:
    if answers.dtype.kind in "fc":
        return int(np.count_nonzero(~np.isfinite(answers)))
    if answers.dtype.kind == "O":
        return int(np.count_nonzero(pd.isna(answers)))
    return 0


# -- checking the declarations ----------------------------------------------------------------


def _check_spec(test: ModelTestConfig, subject: _Subject) -> None:
    """Refuse a test that cannot mean anything on this model and data, before any runs."""
    where = f"Test {test.name!r} ({test.kind})"
    if test.kind == ModelTestKind.SLICE_PERFORMANCE:
        assert test.slice is not None and test.metric is not None  # ModelTestConfig checks
        # A slice may select on the label (accuracy among the defaulters is their recall).
        _column(subject, test.slice.column, where, "slice.column", label_ok=True)
        if test.slice.values is None and _kind(subject.frame[test.slice.column]) != "numeric":
            raise InputError(f"{where}: slice.min/max need a numeric column and "
                             f"{test.slice.column!r} is not; slice it by values instead.")
        try:
            parse_metrics([test.metric], subject.task)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    elif test.kind == ModelTestKind.INVARIANCE:
        assert test.column is not None
        _column(subject, test.column, where, "column")
        if test.values is not None and not test.values:
            raise InputError(f"{where}: values is empty; list the values to try or leave "
                             "it out to try the column's own.")
    elif test.kind == ModelTestKind.DIRECTIONAL:
        assert test.column is not None and test.change is not None
        _column(subject, test.column, where, "column")
        if _kind(subject.frame[test.column]) != "numeric":
            raise InputError(f"{where}: column {test.column!r} is not numeric "
                             f"({subject.frame[test.column].dtype}), so a change cannot be "
                             "added to it; use an invariance test for a column of categories.")
        if not math.isfinite(test.change) or test.change == 0:
            raise InputError(f"{where}: change must be a finite number other than 0, not "
                             f"{test.change!r}.")
        _outcome_index(test, subject, where)
    else:
        for column in test.columns or ():
            _column(subject, column, where, "columns")
            if column not in subject.features:
                raise InputError(f"{where}: {column!r} is not an input of the model; its "
                                 f"inputs are {_listed(subject.features)}.")


def _column(subject: _Subject, column: str, where: str, key: str, *,
            label_ok: bool = False) -> None:
    if column not in subject.frame.columns:
        raise InputError(f"{where}: {key} {column!r} is not a column of the data; its "
                         f"columns are {_listed(subject.frame.columns)}.")
    if column == subject.target and not label_ok:
        raise InputError(f"{where}: {key} {column!r} is the label column; name an input.")


def _outcome_index(test: ModelTestConfig, subject: _Subject, where: str) -> int | None:
    """The probability column a directional test follows (None: a regressor's value)."""
    if subject.task is Task.REGRESSION:
        if test.outcome is not None:
            raise InputError(f"{where}: outcome applies to classifiers; a regressor's test "
                             "follows its mean prediction, so remove outcome.")
        return None
    classes = subject.classes or []
    if test.outcome is None:
        return 1
    for index, value in enumerate(classes):
        if _same_label(value, test.outcome):
            return index
    raise InputError(f"{where}: outcome {test.outcome!r} is not a class of the model "
                     f"(classes: {_listed(classes)}); name one of them.")


def _same_label(value: Any, label: Any) -> bool:
    if str(value) == str(label):
        return True
    try:
        return float(value) == float(label)
    except (TypeError, ValueError):
        return False


def _kind(column: pd.Series) -> str:
    """numeric, boolean, datetime or text: what a test may do to a column."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "text"


# -- running them -----------------------------------------------------------------------------


def _run_one(test: ModelTestConfig, subject: _Subject, policy: BehaviourPolicy
             ) -> ModelTestResult:
    kind = ModelTestKind(test.kind)
    if kind is not ModelTestKind.ROBUSTNESS:
        _check_baseline(subject)
    try:
        passed, summary, evidence = _RUNNERS[kind](test, subject, policy)
    except InputError as exc:
        # The model refused a value the test declares: the declaration is wrong.
        raise InputError(f"Test {test.name!r} ({kind}): {exc} Change the test in "
                         "promotion.tests.") from None
    except _BadAnswer as exc:
        return _failed(test.name, kind, f"the model's answers are unusable: {exc}", str(exc))
    except Exception as exc:  # noqa: BLE001 - the model's failure is this test's result
        reason = _exception(exc)
        return _failed(test.name, kind, f"the model failed: {reason}", reason)
    return ModelTestResult(name=test.name, kind=kind, passed=passed, summary=summary,
                           evidence=evidence)


def _check_baseline(subject: _Subject) -> None:
    """Refuse data the model refuses as it is: no test could say anything about it."""
    try:
        subject.baseline  # noqa: B018 - computed once, cached for every test
    except InputError as exc:
        raise InputError(f"The model refuses the data before any test changes it: {exc}"
                         ) from None
    except Exception:  # noqa: BLE001, S110 - each test that needs it reports the failure
        pass


def _failed(name: str, kind: ModelTestKind, summary: str, error: str) -> ModelTestResult:
    return ModelTestResult(name=name, kind=kind, passed=False, summary=summary,
                           evidence={"error": error})


_Outcome = tuple[bool, str, dict[str, Any]]


def _slice_performance(test: ModelTestConfig, subject: _Subject, policy: BehaviourPolicy
                       ) -> _Outcome:
    spec = test.slice
    assert spec is not None and test.metric is not None
    (metric,) = parse_metrics([test.metric], subject.task)
    column = subject.frame[spec.column]
    mask = _slice_mask(column, spec)
    labelled = mask & subject.frame[subject.target].notna().to_numpy()
    side, limit = ("min", test.min) if test.min is not None else ("max", test.max)
    assert limit is not None
    evidence: dict[str, Any] = {
        "slice": spec.model_dump(exclude_none=True), "metric": metric.value, "side": side,
        "threshold": limit, "rows": int(mask.sum()),
        "unlabelled_rows": int(mask.sum() - labelled.sum()), "value": None,
    }
    described = _describe_slice(spec)
    if not labelled.any():
        return False, f"no labelled rows where {described}", evidence
    proba = subject.baseline_proba
    try:
        value = compute_metrics(
            subject.task, subject.frame[subject.target].to_numpy()[labelled],
            subject.baseline[labelled], None if proba is None else proba[labelled],
            classes=subject.classes, metrics=[metric])[metric.value]
    except InputError as exc:
        return False, f"{metric.value} cannot be computed where {described}: {exc}", evidence
    if value is None:
        why = (" (the model gives no probabilities)" if proba is None and metric in
               (Metric.ROC_AUC, Metric.LOG_LOSS, Metric.BRIER) else "")
        return (False, f"{metric.value} cannot be computed on the {int(labelled.sum())} rows "
                       f"where {described}{why}", evidence)
    passed = value >= limit if side == "min" else value <= limit
    sign = (">=" if passed else "<") if side == "min" else ("<=" if passed else ">")
    evidence["value"] = value
    return (bool(passed), f"{metric.value} {value:.4g} {sign} {side} {limit:g} on "
                          f"{int(labelled.sum())} rows where {described}", evidence)


def _slice_mask(column: pd.Series, spec: SliceConfig) -> npt.NDArray[np.bool_]:
    if spec.values is not None:
        wanted = {_label(value) for value in spec.values}
        labels = column.map(_label, na_action="ignore")
        return np.asarray(labels.isin(wanted).to_numpy(), dtype=bool)
    numbers = column.astype(float)
    mask = numbers.notna()
    if spec.min is not None:
        mask &= numbers >= spec.min
    if spec.max is not None:
        mask &= numbers < spec.max
    return np.asarray(mask.to_numpy(), dtype=bool)


def _label(value: Any) -> str:
    """A value as text, integral floats without ``.0`` (``3`` and ``3.0`` are one value)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _describe_slice(spec: SliceConfig) -> str:
    if spec.values is not None:
        return f"{spec.column} in {_listed(spec.values)}"
    parts = ([f"{spec.column} >= {spec.min:g}"] if spec.min is not None else []) + \
        ([f"{spec.column} < {spec.max:g}"] if spec.max is not None else [])
    return " and ".join(parts)


def _invariance(test: ModelTestConfig, subject: _Subject, policy: BehaviourPolicy
                ) -> _Outcome:
    column = test.column
    assert column is not None
    values, source = ((list(test.values), "declared") if test.values is not None
                      else _own_values(subject.frame[column], policy.max_values))
    evidence: dict[str, Any] = {
        "column": column, "tolerance": test.tolerance, "rows": subject.rows,
        "values_from": source, "model_input": column in subject.features, "values": [],
        "worst_value": None, "worst_share": 0.0,
    }
    if not values:
        return False, f"{column} has no values to try (every row is missing)", evidence
    per_value = []
    for value in values:
        if column in subject.features:
            after = subject.predict(subject.frame.assign(**{column: value}))
            changed = int(subject.changed(after, subject.baseline, policy).sum())
        else:  # the model never sees the column: no decision can change
            changed = 0
        per_value.append({"value": _plain(value), "changed_rows": changed,
                          "share": changed / subject.rows})
    worst = max(per_value, key=lambda entry: entry["share"])
    evidence.update(values=per_value, worst_value=worst["value"], worst_share=worst["share"])
    passed = worst["share"] <= test.tolerance
    if column not in subject.features:
        return (passed, f"{column} is not an input of the model, so no decision can change; "
                        f"{len(values)} value(s) tried", evidence)
    sign = "<=" if passed else ">"
    what = "predictions" if subject.task is Task.REGRESSION else "decisions"
    return (passed, f"setting {column} to {worst['value']!r} changes {worst['share']:.2%} of "
                    f"{what} ({worst['changed_rows']} of {subject.rows} rows), {sign} "
                    f"tolerance {test.tolerance:.2%}; {len(values)} value(s) tried", evidence)


def _own_values(column: pd.Series, most: int) -> tuple[list[Any], str]:
    """The values invariance tries when none are declared, and how they were chosen."""
    present = column.dropna()
    counts = present.value_counts()
    numeric = _kind(column) == "numeric"
    if len(counts) <= most:
        values = [_plain(v) for v in counts.index]
        return sorted(values, key=float if numeric else _label), "data: every value"
    if numeric:
        picked = np.quantile(present.astype(float).to_numpy(), np.linspace(0.0, 1.0, most),
                             method="nearest")
        return (list(dict.fromkeys(float(v) for v in picked)),
                f"data: {most} quantiles of {len(counts)} values")
    ranked = sorted(counts.index, key=lambda value: (-int(counts[value]), _label(value)))
    return ([_plain(v) for v in ranked[:most]],
            f"data: the {most} most frequent of {len(counts)} values")


def _directional(test: ModelTestConfig, subject: _Subject, policy: BehaviourPolicy
                 ) -> _Outcome:
    column, change, direction = test.column, test.change, test.direction
    assert column is not None and change is not None and direction is not None
    index = _outcome_index(test, subject, "")
    evidence: dict[str, Any] = {
        "column": column, "change": change, "direction": direction, "rows": subject.rows,
        "model_input": column in subject.features, "mean_before": None, "mean_after": None,
        "delta": None,
    }
    if index is None:
        measure = "mean prediction"
        before = subject.baseline.astype(float)
    else:
        assert subject.classes is not None
        outcome = subject.classes[index]
        measure = f"mean probability of {_plain(outcome)}"
        evidence["outcome"] = _plain(outcome)
        proba = subject.baseline_proba
        if proba is None:
            return (False, f"{measure} cannot be measured: the model gives no probabilities "
                           "(no predict_proba)", evidence)
        before = proba[:, index]
    shifted = subject.frame.assign(**{column: subject.frame[column] + change})
    if column not in subject.features:
        after = before
    elif index is None:
        after = subject.predict(shifted).astype(float)
    else:
        moved = subject.proba(shifted)
        assert moved is not None
        after = moved[:, index]
    mean_before, mean_after = float(np.mean(before)), float(np.mean(after))
    delta = mean_after - mean_before
    passed = {"increase": delta > 0, "decrease": delta < 0, "no_decrease": delta >= 0,
              "no_increase": delta <= 0}[direction]
    against = after < before if direction in ("increase", "no_decrease") else after > before
    evidence.update(measure=measure, mean_before=mean_before, mean_after=mean_after,
                    delta=delta, rows_against=int(against.sum()),
                    share_against=float(against.mean()))
    word = _MOVES[direction][0 if passed else 1]
    expected = "" if passed else f", but the test expects it to {direction.replace('_', ' ')}"
    return (bool(passed), f"{measure} {word} ({mean_before:.4g} -> {mean_after:.4g}, "
                          f"{delta:+.4g}) when {column} changes by {change:+g}{expected}",
            evidence)


_MOVES: Final = {"increase": ("increases", "does not increase"),
                 "decrease": ("decreases", "does not decrease"),
                 "no_decrease": ("does not decrease", "decreases"),
                 "no_increase": ("does not increase", "increases")}
"""How a summary says the measure moved: (as the direction wants, otherwise)."""


def _robustness(test: ModelTestConfig, subject: _Subject, policy: BehaviourPolicy
                ) -> _Outcome:
    columns = list(test.columns) if test.columns is not None else list(subject.features)
    sample = subject.frame.head(policy.robustness_rows)
    cases = [(column, perturbation, value, sample.assign(**{column: value}))
             for column in columns
             # the extremes come from the whole column, the rows from the sample
             for perturbation, value in _perturbations(subject.frame[column], policy)]
    # One scoring of every perturbed row at once; one per perturbation only if that fails.
    together = _answer(subject, pd.concat([case[3] for case in cases], ignore_index=True)
                       ) if cases else ("answered", None)
    checks = []
    for column, perturbation, value, perturbed in cases:
        outcome, detail = together if together[0] == "answered" else _answer(subject, perturbed)
        checks.append({"column": column, "perturbation": perturbation,
                       "value": None if perturbation == "missing" else _plain(value),
                       "outcome": outcome, "detail": detail})
    failed = [check for check in checks if check["outcome"] in ("crashed", "bad answer")]
    evidence: dict[str, Any] = {"rows": int(sample.shape[0]), "columns": columns,
                                "checks": checks, "failures": len(failed)}
    refused = sum(check["outcome"] == "clear error" for check in checks)
    if failed:
        first = failed[0]
        return (False, f"{len(failed)} of {len(checks)} perturbed inputs broke the model; "
                       f"first: {first['column']} {first['perturbation']} -> "
                       f"{first['detail']}", evidence)
    return (True, f"{len(checks)} perturbed inputs over {len(columns)} column(s) on "
                  f"{sample.shape[0]} rows: {len(checks) - refused} answered, {refused} "
                  "refused with a clear error", evidence)


def _perturbations(column: pd.Series, policy: BehaviourPolicy) -> list[tuple[str, Any]]:
    """(name, the column's new values) for each way robustness breaks ``column``."""
    missing = None
    found: list[tuple[str, Any]] = [("missing", missing)]
    kind = _kind(column)
    if kind == "text":
        present = {_label(v) for v in column.dropna().unique()}
        unseen = UNSEEN
        while unseen in present:
            unseen += "_"
        found.append(("unseen category", unseen))
    elif kind == "numeric":
        extremes = list(policy.extreme)
        numbers = column.astype(float).dropna()
        if not numbers.empty:
            extremes += [float(numbers.min()) * policy.extreme_scale,
                         float(numbers.max()) * policy.extreme_scale]
        for value in dict.fromkeys(v for v in extremes if math.isfinite(v)):
            found.append(("extreme value", value))
    return found


def _answer(subject: _Subject, frame: pd.DataFrame) -> tuple[str, str | None]:
    """How the model met ``frame``: answered, clear error, crashed or bad answer."""
    try:
        subject.predict(frame)
        subject.proba(frame)
    except InputError as exc:
        return "clear error", str(exc)
    except _BadAnswer as exc:
        return "bad answer", str(exc)
    except Exception as exc:  # noqa: BLE001 - a crash is what this test looks for
        return "crashed", _exception(exc)
    return "answered", None


_RUNNERS: Final[dict[ModelTestKind, Callable[[ModelTestConfig, _Subject, BehaviourPolicy],
                                             _Outcome]]] = {
    ModelTestKind.SLICE_PERFORMANCE: _slice_performance,
    ModelTestKind.INVARIANCE: _invariance,
    ModelTestKind.DIRECTIONAL: _directional,
    ModelTestKind.ROBUSTNESS: _robustness,
}


# -- small helpers ----------------------------------------------------------------------------


def _exception(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    if len(message) > 500:
        message = message[:500] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _plain(value: Any) -> Any:
    """A data value as JSON-ready Python (numpy scalars unwrapped, times as ISO text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _listed(values: Any) -> str:
    return ", ".join(str(value) for value in values)


__all__ = ["DEFAULT_POLICY", "UNSEEN", "BehaviourPolicy", "ModelTestKind", "ModelTestReport",
           "ModelTestResult", "Predict", "run_tests", "to_junit"]
