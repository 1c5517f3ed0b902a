"""Split a table into train, validation and test rows.

A split is recorded as row positions, so a run can say exactly which rows each
part held, and the same frame, spec and seed always give the same split.

Part sizes: the test part has ``ceil(test * rows)`` rows and the validation part
``ceil(validation * rows)`` rows (a fraction of 0 gives an empty part); the train
part has the rest and must keep at least one row.
"""

from __future__ import annotations

import enum
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

from rasad.errors import InputError


class SplitMethod(enum.StrEnum):
    """How rows are assigned to train, validation and test.

    RANDOM shuffles rows with the seed. STRATIFIED shuffles too, but keeps each
    target class in the same proportion in every part. TIME sorts rows by a time
    column: the oldest rows train, the newest test, nothing is shuffled.
    """

    RANDOM = "random"
    STRATIFIED = "stratified"
    TIME = "time"


@dataclass(frozen=True)
class SplitSpec:
    """How to split: the method and the fractions of rows held out.

    Parameters
    ----------
    method : SplitMethod
        The split method; its name (``"time"``) is accepted too.
    validation : float, default 0.2
        Fraction of rows for validation, in [0, 1).
    test : float, default 0.2
        Fraction of rows for test, in [0, 1); ``validation + test`` must be below 1.
    time_column : str, optional
        The column that orders rows; required by ``SplitMethod.TIME`` and
        ignored by the other methods.

    Raises
    ------
    InputError
        If the method is unknown, a fraction is out of range, or a time split
        has no time column.

    Examples
    --------
    >>> SplitSpec("time", validation=0.1, test=0.2, time_column="day").to_dict()
    {'method': 'time', 'validation': 0.1, 'test': 0.2, 'time_column': 'day'}
    >>> SplitSpec(SplitMethod.RANDOM, validation=0.5, test=0.5)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Split fractions validation=0.5 and test=0.5 leave no rows \
for training; their sum must be below 1, for example validation=0.2 and test=0.2.
    """

    method: SplitMethod
    validation: float = 0.2
    test: float = 0.2
    time_column: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.method, SplitMethod):
            try:
                object.__setattr__(self, "method", SplitMethod(str(self.method).strip().lower()))
            except ValueError:
                allowed = ", ".join(method.value for method in SplitMethod)
                raise InputError(
                    f"Unknown split method {self.method!r}; choose one of {allowed}."
                ) from None
        for name in ("validation", "test"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
                raise InputError(
                    f"Split fraction {name}={value!r} must be a number in [0, 1), for example 0.2."
                )
        if self.validation + self.test >= 1:
            raise InputError(
                f"Split fractions validation={self.validation} and test={self.test} leave no rows "
                "for training; their sum must be below 1, for example validation=0.2 and test=0.2."
            )
        if self.method is SplitMethod.TIME and not self.time_column:
            raise InputError(
                "A time split needs a time column: set split.time_column to the column that "
                "orders the rows, or choose method 'random' or 'stratified'."
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-ready values."""
        return {
            "method": self.method.value,
            "validation": self.validation,
            "test": self.test,
            "time_column": self.time_column,
        }


@dataclass(frozen=True, eq=False)
class Split:
    """Row positions of each part; disjoint, together every row, each ascending.

    Positions index rows with ``frame.iloc``. The arrays are read-only.
    """

    train: NDArray[np.intp]
    validation: NDArray[np.intp]
    test: NDArray[np.intp]

    def to_dict(self) -> dict[str, int]:
        """Return the number of rows in each part."""
        return {
            "train": int(self.train.shape[0]),
            "validation": int(self.validation.shape[0]),
            "test": int(self.test.shape[0]),
        }


def split_frame(frame: pd.DataFrame, spec: SplitSpec, target: str, seed: int) -> Split:
    """Split the rows of a frame into train, validation and test parts.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows to split, features and target together.
    spec : SplitSpec
        The method and fractions.
    target : str
        The target column; a stratified split keeps its class proportions.
    seed : int
        Seeds the shuffle of random and stratified splits (a time split does
        not shuffle). The same frame, spec and seed give the same split.

    Returns
    -------
    Split

    Raises
    ------
    InputError
        If a column is missing, the frame is too small for the fractions, a
        stratified split meets a missing target or a class too small to share
        across the parts, or a time column has missing or unorderable values.

    Examples
    --------
    >>> frame = pd.DataFrame({"day": range(10), "label": [0, 1] * 5})
    >>> split = split_frame(frame, SplitSpec("stratified"), target="label", seed=0)
    >>> split.to_dict()
    {'train': 6, 'validation': 2, 'test': 2}
    >>> split.test.tolist(), frame["label"].iloc[split.test].tolist()
    ([7, 8], [1, 0])
    >>> later = split_frame(frame, SplitSpec("time", time_column="day"), target="label", seed=0)
    >>> later.test.tolist()
    [8, 9]
    """
    if target not in frame.columns:
        raise InputError(
            f"Target {target!r} is not a column of the frame; columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    rows = len(frame)
    n_test = math.ceil(spec.test * rows)
    n_validation = math.ceil(spec.validation * rows)
    if rows - n_test - n_validation < 1:
        raise InputError(
            f"The frame has {rows} rows: too few to hold out validation={spec.validation} and "
            f"test={spec.test} and still train; add rows or lower the fractions."
        )
    if spec.method is SplitMethod.TIME:
        order = _time_order(frame, spec.time_column)
        parts = (
            order[: rows - n_test - n_validation],
            order[rows - n_test - n_validation : rows - n_test],
            order[rows - n_test :],
        )
    else:
        labels = _strata(frame, target) if spec.method is SplitMethod.STRATIFIED else None
        parts = _shuffled(rows, n_validation, n_test, labels, seed, target)
    train, validation, test = (_frozen(part) for part in parts)
    return Split(train=train, validation=validation, test=test)


def _shuffled(
    rows: int,
    n_validation: int,
    n_test: int,
    labels: NDArray[np.intp] | None,
    seed: int,
    target: str,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    empty = np.empty(0, dtype=np.intp)
    rest = np.arange(rows, dtype=np.intp)
    test = empty
    try:
        if n_test:
            rest, test = train_test_split(
                rest, test_size=n_test, random_state=seed, stratify=labels
            )
        if not n_validation:
            return rest, empty, test
        remaining = None if labels is None else labels[rest]
        train, validation = train_test_split(
            rest, test_size=n_validation, random_state=seed, stratify=remaining
        )
    except ValueError as error:
        if labels is None:
            raise
        raise InputError(
            f"Cannot stratify on {target!r}: {error} Its smallest class has "
            f"{int(np.bincount(labels).min())} rows. Use split method 'random', or add rows "
            "of the rare classes."
        ) from None
    return train, validation, test


def _strata(frame: pd.DataFrame, target: str) -> NDArray[np.intp]:
    codes, _ = pd.factorize(frame[target])
    missing = int(np.count_nonzero(codes < 0))
    if missing:
        raise InputError(
            f"Target {target!r} is missing on {missing} rows; drop them before a stratified split."
        )
    counts = np.bincount(codes)
    if counts.min() < 2:
        rare = frame[target].iloc[int(np.flatnonzero(codes == counts.argmin())[0])]
        raise InputError(
            f"Cannot stratify on {target!r}: class {rare!r} has only {counts.min()} row, and a "
            "stratified split needs at least 2 per class. Use split method 'random', or add "
            "rows of the rare classes."
        )
    return codes.astype(np.intp)


def _time_order(frame: pd.DataFrame, time_column: str | None) -> NDArray[np.intp]:
    if time_column is None or time_column not in frame.columns:
        raise InputError(
            f"Time column {time_column!r} is not a column of the frame; columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    column = frame[time_column]
    missing = int(column.isna().sum())
    if missing:
        raise InputError(
            f"Time column {time_column!r} is missing on {missing} rows; fill or drop them "
            "before a time split."
        )
    keys = column
    if not (pd.api.types.is_datetime64_any_dtype(column) or _is_number(column)):
        try:
            with warnings.catch_warnings():
                # pandas warns when it parses element by element; the result is the same.
                warnings.simplefilter("ignore", UserWarning)
                keys = pd.to_datetime(column)
        except (TypeError, ValueError) as error:
            raise InputError(
                f"Time column {time_column!r} holds values that are not times ({error}); "
                "convert it to datetimes or numbers."
            ) from None
    # A stable sort keeps rows with equal times in their original order.
    return np.asarray(np.argsort(keys.to_numpy(), kind="stable"), dtype=np.intp)


def _is_number(column: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(column)) and not pd.api.types.is_bool_dtype(column)


def _frozen(positions: NDArray[Any]) -> NDArray[np.intp]:
    result = np.sort(np.asarray(positions, dtype=np.intp))
    result.flags.writeable = False
    return result


__all__ = ["Split", "SplitMethod", "SplitSpec", "split_frame"]
