"""Data quality report: what a person should look at before training on a table.

:func:`quality` summarises missing values, duplicate rows, constant columns,
high-cardinality categories, outliers by the IQR rule, target class imbalance, and
features that predict the target almost perfectly (likely leakage). Thresholds live
in :class:`QualityPolicy`.

>>> import numpy as np
>>> import pandas as pd
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 400)
>>> frame = pd.DataFrame({"x": rng.normal(size=400), "leak": y * 10.0 + rng.normal(size=400) / 10,
...     "const": 1, "y": y})
>>> report = quality(frame, target="y")
>>> report.constant_columns, tuple(f.column for f in report.leakage)
(('const',), ('leak',))
>>> report.outlier("x").count, report.issues()[:2]
(7, ('constant column const', 'possible leakage: leak (ROC AUC 1)'))
"""

from __future__ import annotations

import math
import os
from typing import Annotated, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BeforeValidator, Field, WithJsonSchema, computed_field
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeClassifier

from rasad.errors import InputError, NotFoundError
from rasad.results import Result
from rasad.tables import ColumnKind, infer_kinds, read_table


def _nan_if_none(value: Any) -> Any:
    return math.nan if value is None else value


Bound = Annotated[
    float,
    BeforeValidator(_nan_if_none),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}],
                    "description": "null when the column has no numeric value"}),
]
"""An outlier bound: NaN for a column without values, written as ``null`` and read back."""


class QualityPolicy(Result):
    """Thresholds of :func:`quality`.

    Parameters
    ----------
    iqr_factor : float
        A value is an outlier below ``Q1 - iqr_factor * IQR`` or above
        ``Q3 + iqr_factor * IQR`` (Tukey's rule).
    high_cardinality : int
        A categorical or text column with more distinct values is high-cardinality.
    min_class_share : float
        The target is imbalanced when its rarest class has a smaller share.
    leakage_auc : float
        A feature is flagged when a depth-3 decision tree on that feature alone reaches
        at least this cross-validated ROC AUC (one-vs-rest macro average for more than
        two classes); for a numeric target (more than ``max_classes`` values), when
        its absolute Spearman correlation reaches it.
    max_classes : int
        A target with more distinct values is treated as numeric.
    leakage_folds : int
        Cross-validation folds.
    leakage_rows : int
        At most this many rows (a seeded sample) enter the leakage check.
    seed : int
        Seed of the folds and of the sample.
    """

    iqr_factor: float = 1.5
    high_cardinality: int = 50
    min_class_share: float = 0.1
    leakage_auc: float = 0.98
    max_classes: int = 20
    leakage_folds: int = 3
    leakage_rows: int = 20_000
    seed: int = 0


DEFAULT_QUALITY_POLICY: Final[QualityPolicy] = QualityPolicy()


class ColumnQuality(Result):
    """Per-column facts: kind, missing values, distinct values."""

    name: str
    kind: ColumnKind
    missing: int
    missing_share: float
    n_unique: int


class Outliers(Result):
    """IQR-rule outliers of one numeric column."""

    column: str
    count: int
    share: float
    lower: Bound
    upper: Bound


class ClassBalance(Result):
    """Class counts of the target, most frequent first, and whether it is imbalanced."""

    counts: tuple[tuple[str, int], ...]
    minority_share: float
    imbalanced: bool


class Leakage(Result):
    """A feature that predicts the target almost perfectly on its own."""

    column: str
    metric: str
    score: float


def _absent(value: Any) -> bool:
    return value is None


class QualityReport(Result):
    """The result of :func:`quality`; render with :meth:`to_json` or :meth:`to_rows`.

    ``data`` names what was checked when the caller says so (the CLI and the project
    services do); it is left out of the JSON when unset. ``issues`` in the JSON is
    :meth:`issues`.

    >>> report = quality(pd.DataFrame({"x": [1.0, 2.0, None], "k": ["a", "a", "a"]}))
    >>> data = report.to_dict()
    >>> data["issues"], data["columns"][0]["kind"]
    (['constant column k', 'column x missing 0.333'], 'numeric')
    >>> QualityReport.from_dict(data) == report
    True
    """

    data: str | None = Field(default=None, exclude_if=_absent,
                             description="The data checked: a path or NAME@VERSION.")
    rows: int
    columns: tuple[ColumnQuality, ...]
    duplicate_rows: int
    duplicate_share: float
    constant_columns: tuple[str, ...]
    high_cardinality: tuple[str, ...]
    outliers: tuple[Outliers, ...]
    target: str | None = None
    balance: ClassBalance | None = None
    leakage: tuple[Leakage, ...] = ()
    policy: QualityPolicy = DEFAULT_QUALITY_POLICY

    def outlier(self, column: str) -> Outliers:
        """The outliers of numeric column ``column``."""
        for item in self.outliers:
            if item.column == column:
                return item
        raise NotFoundError(
            f"No outlier summary for {column!r}; numeric columns are "
            f"{', '.join(repr(o.column) for o in self.outliers)}."
        )

    def issues(self) -> tuple[str, ...]:
        """One line per finding worth a look, most serious first."""
        lines = [f"constant column {name}" for name in self.constant_columns]
        lines += [f"possible leakage: {f.column} ({f.metric} {f.score:.3g})" for f in self.leakage]
        if self.balance is not None and self.balance.imbalanced:
            lines.append(f"target {self.target} imbalanced: rarest class share "
                         f"{self.balance.minority_share:.3g}")
        if self.duplicate_rows:
            lines.append(f"{self.duplicate_rows} duplicate rows ({self.duplicate_share:.3g})")
        lines += [f"high-cardinality column {name}" for name in self.high_cardinality]
        lines += [f"column {c.name} missing {c.missing_share:.3g}" for c in self.columns
                  if c.missing]
        return tuple(lines)

    @computed_field(alias="issues")  # type: ignore[prop-decorator]
    @property
    def issue_lines(self) -> tuple[str, ...]:
        """:meth:`issues`, as the JSON carries them (``issues``)."""
        return self.issues()

    def labelled(self, data: str) -> QualityReport:
        """A copy naming the data checked (``data`` in the JSON)."""
        return self.model_copy(update={"data": data})

    def to_rows(self) -> list[tuple[str, str, str, str, str]]:
        """A terminal table: a header, then one row per column.

        Columns: name, kind, missing share, distinct values, notes (constant,
        high-cardinality, outliers, leakage, target).
        """
        outliers = {o.column: o for o in self.outliers}
        leaks = {f.column: f for f in self.leakage}
        rows = [("column", "kind", "missing", "distinct", "notes")]
        for column in self.columns:
            notes = []
            if column.name == self.target:
                notes.append("target" + (" (imbalanced)" if self.balance is not None
                                         and self.balance.imbalanced else ""))
            if column.name in self.constant_columns:
                notes.append("constant")
            if column.name in self.high_cardinality:
                notes.append("high cardinality")
            if column.name in outliers and outliers[column.name].count:
                notes.append(f"{outliers[column.name].count} outliers")
            if column.name in leaks:
                notes.append(f"possible leakage ({leaks[column.name].score:.3g})")
            rows.append((column.name, column.kind.value, f"{column.missing_share:.1%}",
                         str(column.n_unique), ", ".join(notes)))
        return rows


def quality(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str],
    *,
    target: str | None = None,
    id_columns: tuple[str, ...] = (),
    time_columns: tuple[str, ...] = (),
    policy: QualityPolicy = DEFAULT_QUALITY_POLICY,
) -> QualityReport:
    """Compute the quality report of a table.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table, str or os.PathLike
        The table, or a CSV, TSV or Parquet path.
    target : str or None
        The label column: enables class balance and the leakage check.
    id_columns, time_columns : tuple of str
        Declared identifier and time columns (never checked for leakage).
    policy : QualityPolicy
        The thresholds.

    Returns
    -------
    QualityReport

    Raises
    ------
    InputError
        If the data cannot be read or ``target`` is not a column.
    """
    table = data if isinstance(data, pa.Table) else read_table(data)
    if target is not None and target not in table.schema.names:
        raise InputError(
            f"Target {target!r} is not a column; columns are "
            f"{', '.join(repr(n) for n in table.schema.names)}."
        )
    kinds = infer_kinds(table, id_columns=id_columns, time_columns=time_columns)
    frame = table.to_pandas()
    rows = len(frame)
    columns = []
    for name in frame.columns:
        missing = int(frame[name].isna().sum())
        columns.append(ColumnQuality(name=name, kind=kinds[name], missing=missing,
                                     missing_share=missing / rows if rows else 0.0,
                                     n_unique=int(frame[name].nunique(dropna=True))))
    duplicates = int(frame.duplicated().sum())
    constant = tuple(c.name for c in columns if c.n_unique <= 1)
    high = tuple(c.name for c in columns if c.kind in (ColumnKind.CATEGORICAL, ColumnKind.TEXT)
                 and c.n_unique > policy.high_cardinality)
    outliers = tuple(_outliers(name, frame[name], policy) for name in frame.columns
                     if kinds[name] is ColumnKind.NUMERIC and name != target)
    balance = None
    leakage: tuple[Leakage, ...] = ()
    if target is not None:
        balance = _balance(frame[target], policy)
        features = [n for n in frame.columns if n != target and kinds[n] in (
            ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)]
        leakage = _leakage(frame, target, features, policy)
    return QualityReport(
        rows=rows, columns=tuple(columns), duplicate_rows=duplicates,
        duplicate_share=duplicates / rows if rows else 0.0, constant_columns=constant,
        high_cardinality=high, outliers=outliers, target=target, balance=balance,
        leakage=leakage, policy=policy,
    )


def _outliers(name: str, series: pd.Series, policy: QualityPolicy) -> Outliers:
    values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return Outliers(column=name, count=0, share=0.0, lower=math.nan, upper=math.nan)
    q1, q3 = np.quantile(values, [0.25, 0.75])
    if q3 == q1:
        # A zero spread (a 0/1 flag, a mostly-constant count) would make every other
        # value an "outlier": Tukey's rule says nothing about such columns.
        return Outliers(column=name, count=0, share=0.0, lower=float(q1), upper=float(q3))
    spread = policy.iqr_factor * (q3 - q1)
    lower, upper = float(q1 - spread), float(q3 + spread)
    count = int(((values < lower) | (values > upper)).sum())
    return Outliers(column=name, count=count, share=count / len(series), lower=lower,
                    upper=upper)


def _balance(series: pd.Series, policy: QualityPolicy) -> ClassBalance | None:
    counts = series.dropna().astype(str).value_counts()
    if len(counts) == 0 or len(counts) > policy.max_classes:
        return None
    pairs = tuple(sorted(((str(k), int(v)) for k, v in counts.items()),
                         key=lambda kv: (-kv[1], kv[0])))
    share = pairs[-1][1] / sum(count for _, count in pairs)
    return ClassBalance(counts=pairs, minority_share=share,
                        imbalanced=share < policy.min_class_share)


def _leakage(frame: pd.DataFrame, target: str, features: list[str],
             policy: QualityPolicy) -> tuple[Leakage, ...]:
    known = frame[frame[target].notna()]
    if len(known) > policy.leakage_rows:
        known = known.sample(policy.leakage_rows, random_state=policy.seed)
    y = known[target]
    classes = y.astype(str).nunique()
    if classes < 2:
        return ()
    found = []
    if classes > policy.max_classes and pd.api.types.is_numeric_dtype(y):
        for name in features:
            x = pd.to_numeric(known[name], errors="coerce") if pd.api.types.is_numeric_dtype(
                known[name]) else None
            if x is None or x.nunique() < 2:
                continue
            score = abs(float(x.corr(y, method="spearman")))
            if score >= policy.leakage_auc:
                found.append(Leakage(column=name, metric="|Spearman|", score=round(score, 6)))
        return tuple(found)
    labels = y.astype(str).to_numpy()
    if min(pd.Series(labels).value_counts()) < policy.leakage_folds:
        return ()
    folds = list(StratifiedKFold(policy.leakage_folds, shuffle=True,
                                 random_state=policy.seed).split(labels, labels))
    for name in features:
        x = known[name]
        if x.nunique(dropna=True) < 2:
            continue
        score = _cv_auc(x, labels, folds, policy.seed)
        if score >= policy.leakage_auc:
            found.append(Leakage(column=name, metric="ROC AUC", score=round(score, 6)))
    return tuple(found)


def _cv_auc(x: pd.Series, labels: np.ndarray, folds: list[Any], seed: int) -> float:
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    classes = np.unique(labels)
    scores = []
    for train, test in folds:
        if numeric:
            values = x.to_numpy(dtype=float, na_value=np.nan)
            fill = np.nanmedian(values[train]) if np.isfinite(values[train]).any() else 0.0
            encoded = np.where(np.isnan(values), fill, values)
        else:
            # Categories ordered by their training-fold share of the first class.
            text = x.astype(str).to_numpy()
            rate = pd.Series(labels[train] == classes[0]).groupby(text[train]).mean()
            encoded = pd.Series(text).map(rate).fillna(0.5).to_numpy(dtype=float)
        tree = DecisionTreeClassifier(max_depth=3, random_state=seed)
        tree.fit(encoded[train].reshape(-1, 1), labels[train])
        proba = tree.predict_proba(encoded[test].reshape(-1, 1))
        if len(classes) == 2:
            scores.append(roc_auc_score(labels[test] == tree.classes_[1], proba[:, 1]))
        else:
            scores.append(roc_auc_score(labels[test], proba, multi_class="ovr",
                                        labels=tree.classes_))
    return float(np.mean(scores))
