"""rasad's default pipeline as plain array operations, for one-row requests.

scikit-learn's ``Pipeline`` and ``ColumnTransformer`` validate, index and wrap their
input at every step: on a one-row DataFrame that costs several milliseconds, twenty times
what the fitted trees of a gradient-boosted model take. A pipeline built by
:func:`rasad.training.pipeline.build_pipeline` does fixed arithmetic (impute, scale,
one-hot encode) with parameters it learned, so :func:`compile_pipeline` reads those
parameters and redoes the same operations on NumPy arrays, then hands the matrix to the
fitted estimator, which is used as it is.

Exactness is checked, not assumed. A pipeline whose shape is not the default one (another
step, another strategy, infrequent categories, a feature dropped for being empty) is not
compiled, and a compiled one must give, on a probe frame built from the model's signature
(numbers, missing values, every known category, unseen ones), bit for bit the matrix and
the predictions the pipeline gives. Otherwise the server scores with the pipeline itself.

>>> import pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> from rasad.tables.kinds import ColumnKind
>>> from rasad.tables.signature import Signature
>>> from rasad.training.pipeline import build_pipeline
>>> train = pd.DataFrame({"age": [25.0, None, 47.0, 52.0, 33.0, 61.0],
...                       "city": ["Riyadh", "Jeddah", None, "Riyadh", "Dammam", "Jeddah"]})
>>> pipeline = build_pipeline(["age"], ["city"], [], LogisticRegression())
>>> pipeline = pipeline.fit(train, [0, 0, 1, 1, 0, 1])
>>> signature = Signature.from_frame(train, {"age": ColumnKind.NUMERIC,
...                                          "city": ColumnKind.CATEGORICAL})
>>> compiled = compile_pipeline(pipeline, signature)
>>> one = signature.coerce(pd.DataFrame({"age": [58.0], "city": ["Mecca"]}))
>>> compiled.predict(one), pipeline.predict(one)
(array([1]), array([1]))
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from numpy.typing import NDArray

from rasad.tables.kinds import ColumnKind
from rasad.tables.signature import Signature
from rasad.training.pipeline import booleans_as_float, categories_as_text

PROBE_ROWS = 48
"""Rows of the frame a compiled pipeline is checked on."""


@dataclass(frozen=True)
class _Numeric:
    columns: tuple[str, ...]
    fill: NDArray[np.float64]
    mean: NDArray[np.float64] | None
    scale: NDArray[np.float64] | None
    last: list[pd.Index | None] = field(default_factory=lambda: [None], compare=False,
                                        repr=False)
    """The last column index found to be exactly ``columns``: a decoder reuses one index
    object per signature, and comparing text indexes costs more than the arithmetic."""

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        x = self._floats(frame)
        missing = np.isnan(x)
        if missing.any():
            x[missing] = np.broadcast_to(self.fill, x.shape)[missing]
        if self.mean is not None:
            x -= self.mean
        if self.scale is not None:
            x /= self.scale
        return x

    def _floats(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        # A frame holding exactly these columns, in order, converts in one call (one
        # block); selecting columns from a wider frame costs far more in pandas.
        index = frame.columns
        if index is not self.last[0]:
            if len(index) != len(self.columns) or tuple(index) != self.columns:
                return np.column_stack([frame[c].to_numpy(dtype=np.float64)
                                        for c in self.columns])
            self.last[0] = index
        return frame.to_numpy(dtype=np.float64, copy=True)


@dataclass(frozen=True)
class _Categorical:
    columns: tuple[str, ...]
    text: Callable[[Any], Any]
    fill: tuple[Any, ...]
    codes: tuple[dict[Any, int], ...]
    widths: tuple[int, ...]

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        values = self.text(frame[list(self.columns)])
        rows = len(values)
        out = np.zeros((rows, sum(self.widths)), dtype=np.float64)
        offset = 0
        for j, (codes, width) in enumerate(zip(self.codes, self.widths, strict=True)):
            fill = self.fill[j]
            for i in range(rows):
                value = values[i, j]
                if value != value:  # NaN: missing, imputed as the imputer would
                    value = fill
                code = codes.get(value)
                if code is not None:  # unseen: all zeros (handle_unknown="ignore")
                    out[i, offset + code] = 1.0
            offset += width
        return out


@dataclass(frozen=True)
class _Boolean:
    columns: tuple[str, ...]
    number: Callable[[Any], Any]
    fill: NDArray[np.float64]

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        x = np.array(self.number(frame[list(self.columns)]), dtype=np.float64)
        missing = np.isnan(x)
        if missing.any():
            x[missing] = np.broadcast_to(self.fill, x.shape)[missing]
        return x


_Part = _Numeric | _Categorical | _Boolean


@dataclass(frozen=True)
class Compiled:
    """A fitted default pipeline's preprocessing as array operations, and its estimator."""

    parts: tuple[_Part, ...]
    estimator: Any

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The matrix the pipeline's ``preprocess`` step would give for ``frame``."""
        blocks = [part.transform(frame) for part in self.parts]
        return blocks[0] if len(blocks) == 1 else np.hstack(blocks)

    def predict(self, frame: pd.DataFrame) -> Any:
        return self._call(self.estimator.predict, self.transform(frame))

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return self._call(self.estimator.predict_proba, self.transform(frame))

    @staticmethod
    def _call(method: Callable[[Any], Any], x: NDArray[np.float64]) -> Any:
        # Missing values were imputed, so the matrix is finite; said so, scikit-learn
        # skips checking it again. A matrix that is not (an overflow) is checked as usual.
        if np.isfinite(x).all():
            with sklearn.config_context(assume_finite=True):
                return method(x)
        return method(x)


@dataclass(frozen=True)
class Bare:
    """A bare estimator fitted on a frame of numbers, fed the matrix of its columns.

    scikit-learn checks a DataFrame's column names and dtypes at every ``predict``: on one
    row that costs several times what the trees take. ``twin`` is the same fitted
    estimator (its learned arrays shared, not copied) without the recorded column names,
    so it takes the matrix without that check; the columns are put in the fitted order
    here. A frame with a missing or infinite value goes to ``estimator`` itself, so its
    errors and warnings stay scikit-learn's own.
    """

    columns: tuple[str, ...]
    estimator: Any
    twin: Any

    def _matrix(self, frame: pd.DataFrame) -> NDArray[np.float64] | None:
        try:
            # The request's columns are usually the signature's, in the fitted order:
            # then no selection (a pandas reindex costs more than the trees).
            same = frame.columns.tolist() == list(self.columns)
            x = (frame if same else frame[list(self.columns)]).to_numpy(dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            return None
        return x if np.isfinite(x).all() else None

    def predict(self, frame: pd.DataFrame) -> Any:
        x = self._matrix(frame)
        if x is None:
            return self.estimator.predict(frame)
        with sklearn.config_context(assume_finite=True):
            return self.twin.predict(x)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        x = self._matrix(frame)
        if x is None:
            return self.estimator.predict_proba(frame)
        with sklearn.config_context(assume_finite=True):
            return self.twin.predict_proba(x)


def _bare(estimator: Any, signature: Signature) -> Bare | None:
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    names = getattr(estimator, "feature_names_in_", None)
    kinds = {spec.name: spec.kind for spec in signature.columns}
    if (not isinstance(estimator, BaseEstimator) or isinstance(estimator, Pipeline)
            or names is None or len(names) == 0
            or any(kinds.get(str(n)) is not ColumnKind.NUMERIC for n in names)):
        return None
    twin = copy.copy(estimator)  # shallow: the fitted arrays are shared
    del twin.feature_names_in_
    return Bare(tuple(str(n) for n in names), estimator, twin)


def _same_answers(original: Any, fast: Compiled | Bare, probe: pd.DataFrame) -> bool:
    for method in ("predict", "predict_proba"):
        if not hasattr(original, method):
            continue
        expected = np.asarray(getattr(original, method)(probe))
        got = np.asarray(getattr(fast, method)(probe))
        if expected.shape != got.shape or expected.dtype != got.dtype \
                or not np.array_equal(expected, got):
            return False
    return True


def compile_pipeline(pipeline: Any, signature: Signature) -> Compiled | Bare | None:
    """``pipeline`` compiled, or None when it is not a default pipeline (nor a bare
    estimator of numeric columns) or the compiled form does not give exactly what it
    gives on a probe built from ``signature``."""
    try:
        compiled = _compile(pipeline)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    if compiled is None:
        return _checked_bare(pipeline, signature)
    try:
        probe = signature.coerce(probe_frame(signature))
        expected = pipeline[:-1].transform(probe)
        got = compiled.transform(probe)
        if not (isinstance(expected, np.ndarray) and expected.shape == got.shape
                and np.array_equal(expected, got, equal_nan=True)):
            return None
        if not np.array_equal(np.asarray(pipeline.predict(probe)),
                              np.asarray(compiled.predict(probe))):
            return None
    except Exception:  # noqa: BLE001 - any failure means: score with the pipeline itself
        return None
    return compiled


def _checked_bare(estimator: Any, signature: Signature) -> Bare | None:
    try:
        bare = _bare(estimator, signature)
        if bare is None:
            return None
        # Both paths see the same rows, filled where the probe has gaps: a missing value
        # is always scored by the estimator itself.
        probe = signature.coerce(probe_frame(signature))
        probe = probe.fillna({c: 1.5 for c in bare.columns})
        return bare if _same_answers(estimator, bare, probe) else None
    except Exception:  # noqa: BLE001 - any failure means: score with the estimator itself
        return None


def _compile(pipeline: Any) -> Compiled | None:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    if not (isinstance(pipeline, Pipeline) and [n for n, _ in pipeline.steps]
            == ["preprocess", "model"]):
        return None
    pre = pipeline.named_steps["preprocess"]
    if (type(pre) is not ColumnTransformer or pre.remainder != "drop"
            or getattr(pre, "sparse_output_", True)):
        return None

    def imputer(step: Any, strategy: str) -> Any:
        ok = (type(step) is SimpleImputer and step.strategy == strategy
              and not step.add_indicator and _is_nan(step.missing_values))
        return step.statistics_ if ok else None

    parts: list[_Part] = []
    for name, transformer, columns in pre.transformers_:
        if transformer == "drop" or name == "remainder":
            continue
        if not (isinstance(transformer, Pipeline) and isinstance(columns, list)
                and all(isinstance(c, str) for c in columns) and columns):
            return None
        steps = [step for _, step in transformer.steps]
        kinds = [type(step) for step in steps]
        cols = tuple(columns)
        if name == "numeric" and kinds == [SimpleImputer, StandardScaler]:
            stats = imputer(steps[0], "median")
            scaler = steps[1]
            if stats is None or np.isnan(stats.astype(np.float64)).any():
                return None  # an all-missing training column is dropped by the imputer
            parts.append(_Numeric(
                cols, stats.astype(np.float64),
                scaler.mean_ if scaler.with_mean else None,
                scaler.scale_ if scaler.with_std else None))
        elif name == "categorical" and kinds == [FunctionTransformer, SimpleImputer,
                                                OneHotEncoder]:
            text, impute, encode = steps
            stats = imputer(impute, "most_frequent")
            if (text.func is not categories_as_text or text.kw_args or stats is None
                    or encode.handle_unknown != "ignore" or encode.drop is not None
                    or encode.min_frequency is not None or encode.max_categories is not None
                    or encode.sparse_output or encode.dtype not in (np.float64, float)):
                return None
            codes = tuple({value: i for i, value in enumerate(categories)}
                          for categories in encode.categories_)
            if any(len(c) != len(cats) for c, cats in zip(codes, encode.categories_,
                                                          strict=True)):
                return None
            parts.append(_Categorical(cols, text.func, tuple(stats), codes,
                                      tuple(len(c) for c in encode.categories_)))
        elif name == "boolean" and kinds == [FunctionTransformer, SimpleImputer]:
            number, impute = steps
            stats = imputer(impute, "most_frequent")
            if number.func is not booleans_as_float or number.kw_args or stats is None:
                return None
            parts.append(_Boolean(cols, number.func, stats.astype(np.float64)))
        else:
            return None
    return Compiled(tuple(parts), pipeline.named_steps["model"]) if parts else None


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def probe_frame(signature: Signature, rows: int = PROBE_ROWS, seed: int = 0) -> pd.DataFrame:
    """A frame of ``rows`` rows in the signature's columns: numbers of every size, missing
    values, every known category and unseen ones (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Sequence[Any]] = {}
    for spec in signature.columns:
        if spec.kind is ColumnKind.NUMERIC:
            values: list[Any] = list(rng.normal(0.0, 10.0, rows) * rng.choice([1, 100], rows))
            values[::7] = [None] * len(values[::7])
        elif spec.kind is ColumnKind.BOOLEAN:
            values = [[True, False, None][i % 3] for i in range(rows)]
        else:
            known = list(spec.categories or ()) + ["unseen-in-training", None]
            values = [known[i % len(known)] for i in range(rows)]
        data[spec.name] = values
    return pd.DataFrame(data)


__all__ = ["Bare", "Compiled", "compile_pipeline", "probe_frame"]
