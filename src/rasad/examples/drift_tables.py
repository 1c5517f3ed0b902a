"""Seeded synthetic tables with drift injected in ten known columns.

These are the tables rasad's drift tests and benchmarks share with the peer tools
(Evidently, NannyML, SciPy) in the side-by-side benchmarks: for the same number of
rows they are identical, value for value, to ``make_table`` of the peer folder's
``common.py``, so every tool sees the same data. They live here so that the test
suite needs nothing outside the repository.

Fifty columns:

- ``n00`` .. ``n39``, numeric: column ``i`` is normal when ``i % 3 == 0``, lognormal
  when it is 1 and uniform when it is 2, with parameters drawn once from :data:`SEED`;
- ``c00`` .. ``c09``, categorical (text labels ``k0`` .. ``k{K-1}``) with
  ``K`` = 5, 10, ..., 50 categories and Dirichlet-drawn frequencies.

The *current* table carries drift in ten columns (:data:`DRIFTED_COLUMNS`): a mean
shift of half a standard deviation in :data:`MEAN_SHIFT_COLUMNS`, a scale change
(x1.5 around the mean) in :data:`SCALE_CHANGE_COLUMNS`, and 40% of the category
mass moved onto the reversed profile in :data:`CATEGORY_SHIFT_COLUMNS`. The other
forty columns are independent samples of the same distribution in both tables, so
any flag on them is a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from rasad.errors import InputError

SEED = 20240611
"""Seed of the column parameters; each table's rows use ``SEED + 7919 * current + rows``."""

MEAN_SHIFT_COLUMNS = ("n00", "n01", "n02", "n09")
SCALE_CHANGE_COLUMNS = ("n03", "n04", "n05")
CATEGORY_SHIFT_COLUMNS = ("c00", "c04", "c09")
DRIFTED_COLUMNS = tuple(sorted(MEAN_SHIFT_COLUMNS + SCALE_CHANGE_COLUMNS
                               + CATEGORY_SHIFT_COLUMNS))

_MEAN_SHIFT = 0.5
_SCALE_FACTOR = 1.5
_CATEGORY_MOVED = 0.4
_CURRENT_OFFSET = 7919


class Distribution(StrEnum):
    """The distribution a numeric column is drawn from."""

    NORMAL = "normal"
    LOGNORMAL = "lognormal"
    UNIFORM = "uniform"


@dataclass(frozen=True)
class NumericColumn:
    """A numeric column's distribution and its two parameters.

    ``first`` and ``second`` are NumPy's: mean and standard deviation (normal), mean
    and standard deviation of the logarithm (lognormal), low and high (uniform).
    """

    name: str
    distribution: Distribution
    first: float
    second: float

    @property
    def mean(self) -> float:
        """The distribution's mean."""
        return self._moments()[0]

    @property
    def std(self) -> float:
        """The distribution's standard deviation."""
        return self._moments()[1]

    def _moments(self) -> tuple[float, float]:
        # NumPy's exp and sqrt, as the peer folder uses, so shifted values match to the bit.
        if self.distribution is Distribution.NORMAL:
            return self.first, self.second
        if self.distribution is Distribution.LOGNORMAL:
            mu, s = self.first, self.second
            mean = np.exp(mu + s * s / 2)
            variance = (np.exp(s * s) - 1) * np.exp(2 * mu + s * s)
            return float(mean), float(np.sqrt(variance))
        low, high = self.first, self.second
        return (low + high) / 2, float((high - low) / np.sqrt(12))

    def sample(self, rng: np.random.Generator, rows: int) -> npt.NDArray[np.float64]:
        """Draw ``rows`` values from the column's distribution."""
        if self.distribution is Distribution.NORMAL:
            return rng.normal(self.first, self.second, rows)
        if self.distribution is Distribution.LOGNORMAL:
            return rng.lognormal(self.first, self.second, rows)
        return rng.uniform(self.first, self.second, rows)


@dataclass(frozen=True)
class CategoricalColumn:
    """A categorical column's category frequencies (labels ``k0``, ``k1``, ...)."""

    name: str
    weights: tuple[float, ...]

    @property
    def labels(self) -> list[str]:
        """The category labels, in code order."""
        return [f"k{j}" for j in range(len(self.weights))]

    def shifted_weights(self, moved: float) -> npt.NDArray[np.float64]:
        """Frequencies with the share ``moved`` of the mass put onto the reversed profile."""
        w = np.asarray(self.weights)
        return (1 - moved) * w + moved * w[::-1]

    def sample(self, rng: np.random.Generator, rows: int,
               weights: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.object_]:
        """Draw ``rows`` labels (an object array sharing the label objects)."""
        p = np.asarray(self.weights) if weights is None else weights
        codes = rng.choice(len(self.weights), size=rows, p=p).astype(np.int16)
        values: npt.NDArray[np.object_] = np.asarray(
            pd.Categorical.from_codes(codes, categories=pd.Index(self.labels)).astype(object))
        return values


def _columns() -> tuple[tuple[NumericColumn, ...], tuple[CategoricalColumn, ...]]:
    # The draw order is the peer folder's: changing it changes every table.
    rng = np.random.default_rng(SEED)
    numeric = []
    for i in range(40):
        kind = (Distribution.NORMAL, Distribution.LOGNORMAL, Distribution.UNIFORM)[i % 3]
        if kind is Distribution.NORMAL:
            first, second = float(rng.uniform(-5, 5)), float(rng.uniform(0.5, 3.0))
        elif kind is Distribution.LOGNORMAL:
            first, second = float(rng.uniform(0.0, 2.0)), float(rng.uniform(0.25, 0.75))
        else:
            first = float(rng.uniform(-10, 10))
            second = first + float(rng.uniform(1, 20))
        numeric.append(NumericColumn(f"n{i:02d}", kind, first, second))
    categorical = [
        CategoricalColumn(f"c{i:02d}", tuple(float(w) for w in rng.dirichlet(np.full(k, 2.0))))
        for i, k in enumerate(range(5, 55, 5))
    ]
    return tuple(numeric), tuple(categorical)


NUMERIC_COLUMNS, CATEGORICAL_COLUMNS = _columns()


def generate_drift_table(rows: int, *, current: bool = False) -> pd.DataFrame:
    """The reference table, or with ``current=True`` the one with drift injected.

    Parameters
    ----------
    rows : int
        Number of rows, at least 1. Each size is its own sample: the first rows of a
        larger table are not a smaller table.
    current : bool
        Inject the drift described in the module docstring.

    Returns
    -------
    pandas.DataFrame
        Columns ``n00`` .. ``n39`` (float) then ``c00`` .. ``c09`` (text).

    Raises
    ------
    InputError
        If ``rows`` is not an integer of at least 1.

    Examples
    --------
    >>> table = generate_drift_table(1000, current=True)
    >>> table.shape
    (1000, 50)
    >>> table.iloc[0, :3].round(3).tolist()
    [-4.125, 1.958, -1.805]
    >>> sorted(table["c00"].unique())
    ['k0', 'k1', 'k2', 'k3', 'k4']
    """
    if not isinstance(rows, (int, np.integer)) or isinstance(rows, bool) or rows < 1:
        raise InputError(f"rows must be an integer >= 1; got {rows!r}.")
    rng = np.random.default_rng(SEED + (_CURRENT_OFFSET if current else 0) + int(rows))
    data: dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]] = {}
    for column in NUMERIC_COLUMNS:
        x = column.sample(rng, rows)
        if current and column.name in MEAN_SHIFT_COLUMNS:
            x = x + _MEAN_SHIFT * column.std
        elif current and column.name in SCALE_CHANGE_COLUMNS:
            x = column.mean + _SCALE_FACTOR * (x - column.mean)
        data[column.name] = x
    for cat in CATEGORICAL_COLUMNS:
        shifted = current and cat.name in CATEGORY_SHIFT_COLUMNS
        data[cat.name] = cat.sample(
            rng, rows, cat.shifted_weights(_CATEGORY_MOVED) if shifted else None)
    return pd.DataFrame(data)


def generate_drift_pair(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference and the current table of ``rows`` rows each.

    Examples
    --------
    >>> from rasad.drift import compare
    >>> reference, current = generate_drift_pair(5_000)
    >>> sorted(compare(reference, current).drifted_columns) == sorted(DRIFTED_COLUMNS)
    True
    """
    return generate_drift_table(rows), generate_drift_table(rows, current=True)
