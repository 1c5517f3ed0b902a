"""Reason codes: which features pushed one scored row's score most, in plain words.

A lender that refuses credit owes the applicant the main reasons (an adverse-action
notice), and GDPR Articles 13-15 and 22 give a person subject to an automated decision
"meaningful information about the logic involved". :class:`Explainer` answers that per
row: for each feature it measures how much the row's own value, rather than a *typical*
value, moved the score, and reports the features that moved it most.

The typical values (:class:`References`) come from the profile of the dataset version
the model was trained on (:func:`references_from_profile`): the median of a numeric
column, the most frequent value of a categorical or boolean one. The score explained is,
for a classifier, the probability of the class it predicted for the row (so the reasons
of a refusal are what pushed towards the refusal, and those of an approval what pushed
towards the approval); for a regressor, the prediction.

Two methods (:class:`ReasonMethod`), chosen by ``governance.explanations.method``:

- **substitution** (any model): the effect of feature ``j`` on row ``x`` is
  ``score(x) - score(x with j set to its typical value)``. One batch prediction of
  ``rows x features`` rows, in chunks of at most :data:`CHUNK_ROWS` rows.
- **shap** (tree models, the ``explain`` extra): SHAP's ``TreeExplainer`` with the one
  typical row as background (interventional), in probability units for a classifier:
  the effects are Shapley values that add up exactly to ``score(x) - score(typical
  row)``. A one-hot encoded feature's columns are summed back into the feature. The sum
  is checked against the model's own scores on every call; when it does not hold (a
  model SHAP reads differently from scikit-learn), ``auto`` falls back to substitution
  and ``shap`` refuses.
- **auto** (the default): shap when it is installed and the model is a tree model it
  supports, substitution otherwise.

A classifier's reasons are the features with a positive effect (towards its decision),
largest first; a regressor's those with the largest effect either way, with the
direction said. A feature at its typical value has no effect and is never a reason.
What the reasons mean and do not mean (correlated features, not causal) is in
docs/explanations.md.

>>> import pandas as pd
>>> from sklearn.linear_model import LinearRegression
>>> train = pd.DataFrame({"income": [3000.0, 4500.0, 6000.0], "debt": [1.0, 2.0, 3.0]})
>>> model = LinearRegression().fit(train, 2 * train["income"] + 0 * train["debt"])
>>> references = References(values={"income": 4500.0, "debt": 2.0})
>>> explainer = Explainer(model, references, task="regression", reasons=2,
...                       method="substitution")
>>> explanation = explainer.explain(pd.DataFrame({"income": [1200.0], "debt": [2.0]}))
>>> [reason.text for reason in explanation.row(0).reasons]
['income = 1,200 (typical: 4,500) lowered the prediction by 6,600']
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import Field

from rasad.errors import ConfigError, InputError
from rasad.results import Result
from rasad.tables.kinds import ColumnKind
from rasad.tables.profile import TableProfile
from rasad.tables.signature import Signature

CHUNK_ROWS: Final[int] = 65_536
"""Most rows one prediction of the substitution method holds (memory stays bounded)."""
SHAP_INSTALL: Final[str] = "pip install 'rasad[explain]'"
MIN_SHARE: Final[float] = 0.01
"""A reason moves the score by at least this share of the row's largest effect: a feature
whose effect is a rounding error next to the first reason's (1e-12 against 0.6) is not
listed as a reason of its own."""
"""How to install SHAP, as error messages say it."""
ADDITIVITY_TOLERANCE: Final[float] = 1e-6
"""Largest gap (absolute, plus the same relative) allowed between the sum of a row's SHAP
values and its score's distance from the typical row's, before they are not trusted."""

_EXPLAINED_KINDS: Final[frozenset[ColumnKind]] = frozenset(
    {ColumnKind.NUMERIC, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN})


class ReasonMethod(StrEnum):
    """How the effects are measured (``governance.explanations.method``)."""

    AUTO = "auto"
    SHAP = "shap"
    SUBSTITUTION = "substitution"


class References(Result):
    """The typical value of each feature that a row's values are compared with.

    ``source`` says where they come from (``"profile of loans@3"``); ``unexplained``
    lists the model's inputs that have none (text, identifiers, dates, a column with no
    values in training): they are never substituted, so never a reason.

    >>> References(values={"income": 4500.0, "region": "north"}).to_json()
    '{"values":{"income":4500.0,"region":"north"},"source":null,"unexplained":[]}'
    """

    values: dict[str, float | bool | str]
    source: str | None = None
    unexplained: tuple[str, ...] = ()


class Reason(Result):
    """One reason: a feature, its value in the row, its typical value, and its effect
    (the change of the explained score it caused; positive: raised it)."""

    feature: str
    value: float | bool | str | None
    reference: float | bool | str
    effect: float
    text: str


class RowReasons(Result):
    """The reasons of one row, largest first; ``outcome`` is the predicted class whose
    probability ``score`` is (None for a regressor, whose ``score`` is the prediction)."""

    outcome: Any = None
    score: float
    reasons: tuple[Reason, ...] = Field(default_factory=tuple)


def references_from_profile(profile: TableProfile, signature: Signature, *,
                            source: str | None = None) -> References:
    """The typical values of a model's inputs, from its training data's profile.

    Numeric: the median; categorical: the most frequent label; boolean: the most frequent
    value. Other kinds, and columns the profile lacks or holds no value of, are left
    ``unexplained``.

    >>> import pyarrow as pa
    >>> from rasad.tables.profile import profile_table
    >>> table = pa.table({"income": [3000.0, 4500.0, 9000.0], "owner": [True, True, False],
    ...                   "region": ["n", "s", "s"]})
    >>> kinds = {"income": ColumnKind.NUMERIC, "owner": ColumnKind.BOOLEAN,
    ...          "region": ColumnKind.CATEGORICAL}
    >>> signature = Signature.from_frame(table.to_pandas(), kinds)
    >>> references_from_profile(profile_table(table, kinds), signature).values
    {'income': 4500.0, 'owner': True, 'region': 's'}
    """
    values: dict[str, float | bool | str] = {}
    unexplained: list[str] = []
    by_name = {column.name: column for column in profile.columns}
    for spec in signature.columns:
        column = by_name.get(spec.name)
        value: float | bool | str | None = None
        if column is not None and spec.kind in _EXPLAINED_KINDS:
            if spec.kind is ColumnKind.NUMERIC:
                median = (column.quantiles or {}).get("0.5")
                value = float(median) if median is not None and math.isfinite(median) else None
            elif column.top:
                label = column.top[0][0]
                value = (label.lower() == "true") if spec.kind is ColumnKind.BOOLEAN else label
        if value is None:
            unexplained.append(spec.name)
        else:
            values[spec.name] = value
    return References(values=values, source=source, unexplained=tuple(unexplained))


@dataclass(frozen=True)
class Explanation:
    """The effects of every feature on every row, and the reasons they make.

    ``effects[i, j]`` is the change of row ``i``'s explained score caused by
    ``features[j]``; ``scores[i]`` the explained score; ``outcomes[i]`` the predicted
    class (None for a regressor). :meth:`row` gives one row's reasons as a typed result,
    :meth:`to_frame` the reason columns of a batch output.
    """

    method: ReasonMethod
    features: tuple[str, ...]
    effects: NDArray[np.float64]
    scores: NDArray[np.float64]
    outcomes: Sequence[Any] | None
    values: pd.DataFrame = field(repr=False)
    references: References
    reasons: int
    target: str | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def ranked(self) -> list[list[int]]:
        """For each row, the positions (in ``features``) of its reasons, largest first."""
        regression = self.outcomes is None
        strength = np.abs(self.effects) if regression else self.effects
        # Stable: equal effects keep the features' order.
        order = np.argsort(-strength, axis=1, kind="stable")[:, :self.reasons]
        ranked = np.take_along_axis(strength, order, axis=1)
        floor = MIN_SHARE * ranked[:, :1] if ranked.size else 0.0
        chosen = (ranked > 0) & (ranked >= floor)
        return [[int(j) for j, keep in zip(row, mask, strict=True) if keep]
                for row, mask in zip(order, chosen, strict=True)]

    def row(self, i: int) -> RowReasons:
        """Row ``i``'s reasons, largest first."""
        return self.rows([i])[0]

    def rows(self, which: Sequence[int] | None = None) -> list[RowReasons]:
        """The reasons of the rows ``which`` (all by default), as typed results."""
        ranked = self.ranked()
        chosen = range(len(self)) if which is None else which
        return [RowReasons(outcome=None if self.outcomes is None else _plain(self.outcomes[i]),
                           score=float(self.scores[i]),
                           reasons=tuple(Reason(**self._reason(i, j)) for j in ranked[i]))
                for i in chosen]

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """``reason_1`` .. ``reason_K`` (the reasons in words; empty where a row has
        fewer) and ``reasons`` (all of them as a JSON list of objects: ``feature``,
        ``value``, ``reference``, ``effect``, ``text``)."""
        ranked = self.ranked()
        texts: list[list[str]] = [[] for _ in range(self.reasons)]
        records = []
        for i, positions in enumerate(ranked):
            reasons = [self._reason(i, j) for j in positions]
            for rank in range(self.reasons):
                texts[rank].append(reasons[rank]["text"] if rank < len(reasons) else "")
            records.append(json.dumps(reasons, ensure_ascii=False, allow_nan=False))
        columns: dict[str, Any] = {f"reason_{rank + 1}": texts[rank]
                                   for rank in range(self.reasons)}
        columns["reasons"] = records
        return pd.DataFrame(columns, index=index)

    def grid(self) -> ReasonGrid:
        """Every row's reasons as ``(rows, K)`` arrays, padded past a row's last reason
        (the prediction server's tensors)."""
        k, ranked = self.reasons, self.ranked()
        features = [[""] * k for _ in ranked]
        texts = [[""] * k for _ in ranked]
        effects = np.full((len(ranked), k), np.nan)
        for i, positions in enumerate(ranked):
            for rank, j in enumerate(positions):
                reason = self._reason(i, j)
                features[i][rank] = reason["feature"]
                texts[i][rank] = reason["text"]
                effects[i, rank] = reason["effect"]
        return ReasonGrid(features=features, effects=effects, texts=texts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: method, features, the typical values and every row's reasons."""
        return {"method": str(self.method), "features": list(self.features),
                "references": self.references.to_dict(),
                "rows": [row.to_dict() for row in self.rows()]}

    def _reason(self, i: int, j: int) -> dict[str, Any]:
        feature = self.features[j]
        value = _plain(self.values[feature].iat[i])
        reference = self.references.values[feature]
        effect = float(self.effects[i, j])
        if self.outcomes is None:
            verb = "raised" if effect > 0 else "lowered"
            what = "the prediction"
        else:
            verb = "raised"
            label = _shown(_plain(self.outcomes[i]))
            what = (f"the probability of {self.target} = {label}" if self.target
                    else f"the probability of class {label}")
        text = (f"{feature} = {_shown(value)} (typical: {_shown(reference)}) {verb} {what} "
                f"by {_shown(abs(effect), digits=2 if self.outcomes is not None else 3)}")
        return {"feature": feature, "value": value, "reference": reference,
                "effect": effect, "text": text}


@dataclass(frozen=True)
class ReasonGrid:
    """Reasons as arrays of shape ``(rows, K)``: feature names and texts (``""`` past a
    row's last reason), effects (NaN there)."""

    features: list[list[str]]
    effects: NDArray[np.float64]
    texts: list[list[str]]


class Explainer:
    """Reason codes for a fitted model, against fixed typical values.

    Parameters
    ----------
    model : estimator or Pipeline
        Fitted; takes the frame :meth:`explain` is given (the model's input columns).
    references : References
        The typical value of each feature.
    task : {"classification", "regression"}
        A classifier needs ``predict_proba``.
    reasons : int
        Most reasons per row.
    method : ReasonMethod or str
        ``auto``, ``shap`` or ``substitution`` (see the module's docstring).
    target : str or None
        The predicted column's name, for the words (``the probability of default = 1``).
    scorer : object or None
        What predicts for the substitution method, when faster than ``model`` and equal
        to it (the prediction server's compiled pipeline); ``model`` by default.
    chunk_rows : int
        Most rows in one prediction of the substitution method.

    Raises
    ------
    ConfigError
        ``method="shap"`` without SHAP installed.
    InputError
        A classifier without ``predict_proba``; ``reasons`` below 1.

    Nothing is computed at construction but the checks: SHAP is imported and its
    explainer built at the first :meth:`explain` (thread-safe), so a model that is never
    explained costs nothing more to load.
    """

    def __init__(self, model: Any, references: References, *, task: str, reasons: int = 4,
                 method: ReasonMethod | str = ReasonMethod.AUTO, target: str | None = None,
                 scorer: Any = None, chunk_rows: int = CHUNK_ROWS) -> None:
        self.model = model
        self.references = references
        self.task = task
        self.reasons = reasons
        self.method = ReasonMethod(method)
        self.target = target
        self.scorer = scorer
        self.chunk_rows = chunk_rows
        if task not in ("classification", "regression"):
            raise InputError(f"Task {task!r} is not one reason codes explain; "
                             "use 'classification' or 'regression'.")
        if task == "classification" and not hasattr(model, "predict_proba"):
            raise InputError("Reason codes of a classifier explain its class probabilities, "
                             f"but {type(model).__name__} has no predict_proba.")
        if reasons < 1:
            raise InputError(f"reasons is {reasons}; ask for at least 1.")
        if self.method is ReasonMethod.SHAP and not shap_installed():
            raise ConfigError("governance.explanations.method is 'shap' but SHAP is not "
                              f"installed: run `{SHAP_INSTALL}`, or set the method to auto "
                              "or substitution.")
        self._lock = threading.Lock()
        self._tree: _TreeShap | None = None
        self._tree_tried = self.method is ReasonMethod.SUBSTITUTION

    @property
    def classifier(self) -> bool:
        return self.task == "classification"

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """The effects of every explained feature on every row of ``frame``.

        ``frame`` holds the model's input columns, as it scores them. The explanation's
        features are the frame's columns that have a typical value, in the frame's order.
        """
        if len(frame) == 0:
            raise InputError("There are no rows to explain.")
        features = tuple(str(c) for c in frame.columns if c in self.references.values)
        if not features:
            raise InputError("None of the model's inputs has a typical value in the "
                             "training profile, so no reason can be given.")
        frame = frame.reset_index(drop=True)
        outcomes, positions, scores = self._scores(frame)
        tree = self._tree_explainer(frame)
        method = ReasonMethod.SUBSTITUTION
        effects = None
        if tree is not None:
            effects = tree.effects(frame, features, positions, scores)
            if effects is not None:
                method = ReasonMethod.SHAP
            elif self.method is ReasonMethod.SHAP:
                raise InputError(f"SHAP's values for {type(tree.estimator).__name__} do not add "
                                 "up to its own scores on these rows, so they would not explain "
                                 "it; set governance.explanations.method to substitution.")
            else:
                with self._lock:  # auto: this model is explained by substitution from now on
                    self._tree = None
        if effects is None:
            effects = self._substitution(frame, features, positions, scores)
        return Explanation(method=method, features=features, effects=effects, scores=scores,
                           outcomes=outcomes, values=frame, references=self.references,
                           reasons=self.reasons, target=self.target)

    # -- the score explained ------------------------------------------------------------

    def _scores(self, frame: pd.DataFrame
                ) -> tuple[list[Any] | None, NDArray[np.intp] | None, NDArray[np.float64]]:
        """The predicted classes, their positions among the probability columns, and the
        explained scores (a regressor: its predictions, no classes)."""
        if not self.classifier:
            return None, None, np.asarray(self.model.predict(frame), dtype=np.float64)
        proba = np.asarray(self.model.predict_proba(frame), dtype=np.float64)
        classes = list(self.model.classes_)
        predicted = np.asarray(self.model.predict(frame))
        index = {_key(c): k for k, c in enumerate(classes)}
        positions = np.array([index.get(_key(p), -1) for p in predicted], dtype=np.intp)
        unknown = positions < 0  # a predict that does not name a class: the likeliest one
        positions[unknown] = np.argmax(proba[unknown], axis=1)
        outcomes = [classes[k] for k in positions]
        return outcomes, positions, proba[np.arange(len(frame)), positions]

    def _score_of(self, frame: pd.DataFrame, positions: NDArray[np.intp] | None
                  ) -> NDArray[np.float64]:
        scorer = self.scorer if self.scorer is not None else self.model
        if positions is None:
            return np.asarray(scorer.predict(frame), dtype=np.float64)
        proba = np.asarray(scorer.predict_proba(frame), dtype=np.float64)
        return proba[np.arange(len(frame)), positions]

    # -- substitution -------------------------------------------------------------------

    def _substitution(self, frame: pd.DataFrame, features: tuple[str, ...],
                      positions: NDArray[np.intp] | None, scores: NDArray[np.float64]
                      ) -> NDArray[np.float64]:
        n, m = len(frame), len(features)
        effects = np.empty((n, m), dtype=np.float64)
        step = max(1, self.chunk_rows // m)
        for start in range(0, n, step):
            chunk = frame.iloc[start:start + step]
            rows = len(chunk)
            varied = _substituted(chunk, features, self.references.values)
            chunk_positions = None if positions is None else np.tile(
                positions[start:start + rows], m)
            changed = self._score_of(varied, chunk_positions).reshape(m, rows).T
            effects[start:start + rows] = scores[start:start + rows, None] - changed
        return effects

    # -- SHAP ---------------------------------------------------------------------------

    def _tree_explainer(self, frame: pd.DataFrame) -> _TreeShap | None:
        if self._tree_tried:
            return self._tree
        with self._lock:
            if not self._tree_tried:
                self._tree = _TreeShap.build(self, frame)
                self._tree_tried = True
            return self._tree


@dataclass
class _TreeShap:
    """SHAP's TreeExplainer for a tree model (bare, or the last step of a pipeline)."""

    explainer: Any
    estimator: Any
    prepare: Any
    """The pipeline's steps before the estimator (None: a bare estimator)."""
    groups: NDArray[np.float64]
    """``(model columns, features)``: 1 where a column the estimator sees comes from a
    feature (a one-hot column from its categorical)."""
    features: tuple[str, ...]
    background: pd.DataFrame
    reference_scores: NDArray[np.float64]
    """The typical row's score for each class (a regressor: its prediction, once)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """SHAP's explainer is not documented as thread-safe: a server's concurrent explain
    requests take turns on it."""

    @classmethod
    def build(cls, owner: Explainer, frame: pd.DataFrame) -> _TreeShap | None:
        """The explainer, or None when SHAP is not installed or does not take this model
        (in ``shap`` mode: an error saying why)."""
        strict = owner.method is ReasonMethod.SHAP
        if not shap_installed():
            return None
        features = tuple(str(c) for c in frame.columns)
        missing = [f for f in features if f not in owner.references.values]
        prepare, estimator = _split_model(owner.model)
        try:
            if missing:
                raise _Unsupported(f"inputs without a typical value: {', '.join(missing)}")
            # The typical row, every feature at its typical value: SHAP's one background.
            varied = _substituted(frame.iloc[:1], features, owner.references.values)
            background = pd.DataFrame({name: varied[name].iloc[[j]].reset_index(drop=True)
                                       for j, name in enumerate(features)})
            groups = _groups(prepare, estimator, features)
            seen = prepare.transform(background) if prepare is not None else background
            import shap

            output = "probability" if owner.classifier else "raw"
            explainer = shap.TreeExplainer(estimator, data=np.asarray(seen, dtype=np.float64),
                                           feature_perturbation="interventional",
                                           model_output=output)
        except Exception as error:  # noqa: BLE001 - SHAP says "not supported" many ways
            if strict:
                raise InputError(f"SHAP cannot explain {type(estimator).__name__} "
                                 f"({type(error).__name__}: {str(error)[:200]}); set "
                                 "governance.explanations.method to auto or substitution.") \
                    from None
            return None
        reference = (np.asarray(owner.model.predict_proba(background), dtype=np.float64)[0]
                     if owner.classifier
                     else np.asarray(owner.model.predict(background), dtype=np.float64))
        return cls(explainer=explainer, estimator=estimator, prepare=prepare, groups=groups,
                   features=features, background=background, reference_scores=reference)

    def effects(self, frame: pd.DataFrame, features: tuple[str, ...],
                positions: NDArray[np.intp] | None, scores: NDArray[np.float64]
                ) -> NDArray[np.float64] | None:
        """The rows' effects, None when they do not add up to the model's scores."""
        if features != self.features:
            return None
        seen = self.prepare.transform(frame) if self.prepare is not None else frame
        with self.lock:
            values = np.asarray(self.explainer.shap_values(
                np.asarray(seen, dtype=np.float64), check_additivity=False), dtype=np.float64)
        rows = np.arange(len(frame))
        if positions is None:
            per_column = values
            base = np.full(len(frame), float(np.ravel(self.reference_scores)[0]))
        elif values.ndim == 3:
            per_column = values[rows, :, positions]
            base = self.reference_scores[positions]
        elif self.reference_scores.shape[0] == 2:
            # One output: the second class's probability (a binary classifier).
            sign = np.where(positions == 1, 1.0, -1.0)
            per_column = values * sign[:, None]
            base = self.reference_scores[positions]
        else:
            return None
        effects = per_column @ self.groups
        gap = np.abs(effects.sum(axis=1) - (scores - base))
        if not np.all(gap <= ADDITIVITY_TOLERANCE * (1 + np.abs(scores))):
            return None
        return np.asarray(effects, dtype=np.float64)


class _Unsupported(Exception):
    """A model whose columns cannot be traced back to its inputs."""


def shap_installed() -> bool:
    """Whether SHAP (the ``explain`` extra) can be imported."""
    return importlib.util.find_spec("shap") is not None


def _split_model(model: Any) -> tuple[Any, Any]:
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return (model[:-1] if len(steps) > 1 else None), steps[-1][1]
    return None, model


def _groups(prepare: Any, estimator: Any, features: tuple[str, ...]) -> NDArray[np.float64]:
    """Which input feature each column the estimator sees comes from."""
    width = int(getattr(estimator, "n_features_in_", len(features)))
    owners: list[str] | None = None
    if prepare is None:
        owners = list(features) if width == len(features) else None
    else:
        from sklearn.compose import ColumnTransformer

        last = prepare.steps[-1][1] if hasattr(prepare, "steps") else prepare
        if hasattr(prepare, "steps") and len(prepare.steps) != 1:
            owners = None
        elif isinstance(last, ColumnTransformer):
            owners = _column_owners(last, width)
    if owners is None or len(owners) != width:
        raise _Unsupported("the columns the estimator sees cannot be traced to the inputs")
    index = {name: j for j, name in enumerate(features)}
    groups = np.zeros((width, len(features)), dtype=np.float64)
    for column, name in enumerate(owners):
        if name not in index:
            raise _Unsupported(f"column {name!r} is not an input")
        groups[column, index[name]] = 1.0
    return groups


def _column_owners(transformer: Any, width: int) -> list[str] | None:
    from sklearn.preprocessing import OneHotEncoder

    owners: list[str | None] = [None] * width
    for name, step, columns in transformer.transformers_:
        span = transformer.output_indices_.get(name)
        if span is None or span.stop == span.start:
            continue
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            return None
        size = span.stop - span.start
        if size == len(columns):
            widths = [1] * len(columns)
        else:
            encoder = step.steps[-1][1] if hasattr(step, "steps") else step
            if not isinstance(encoder, OneHotEncoder) or encoder.drop_idx_ is not None or \
                    getattr(encoder, "_infrequent_enabled", False):
                return None
            widths = [len(c) for c in encoder.categories_]
            if sum(widths) != size or len(widths) != len(columns):
                return None
        position = span.start
        for column, columns_wide in zip(columns, widths, strict=True):
            owners[position:position + columns_wide] = [column] * columns_wide
            position += columns_wide
    return None if any(owner is None for owner in owners) else [str(o) for o in owners]


def _substituted(chunk: pd.DataFrame, features: tuple[str, ...],
                 references: Mapping[str, Any]) -> pd.DataFrame:
    """``len(features)`` copies of ``chunk`` one after the other, copy ``j`` with
    ``features[j]`` set to its typical value."""
    rows, m = len(chunk), len(features)
    columns: dict[str, pd.Series] = {}
    for name in chunk.columns:
        values = np.tile(chunk[name].to_numpy(), m)
        if name in features:
            reference = references[name]
            values = _holding(values, reference)
            j = features.index(name)
            values[j * rows:(j + 1) * rows] = reference
        # Object stays object: pandas would otherwise infer its own text dtype.
        columns[name] = pd.Series(values, dtype=object if values.dtype.kind == "O"
                                  else values.dtype, copy=False)
    return pd.DataFrame(columns)


def _holding(values: NDArray[Any], reference: Any) -> NDArray[Any]:
    """``values``, retyped if its dtype cannot hold ``reference`` exactly."""
    kind = values.dtype.kind
    if isinstance(reference, str) and kind != "O":
        return values.astype(object)
    if kind == "b" and not isinstance(reference, bool | np.bool_):
        return values.astype(object)
    if kind in "iu" and not (isinstance(reference, int | float)
                             and float(reference).is_integer()):
        return values.astype(np.float64)
    return values


def _key(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars unwrapped, missing as None."""
    value = _key(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _shown(value: Any, digits: int = 4) -> str:
    """A value as the words show it: thousands separated, a few significant digits."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            return str(number)
        if abs(number) >= 1000 or number.is_integer():
            return f"{number:,.0f}"
        return f"{number:.{digits}g}"
    return str(value)


__all__ = ["ADDITIVITY_TOLERANCE", "CHUNK_ROWS", "SHAP_INSTALL", "Explainer", "Explanation",
           "Reason", "ReasonGrid", "ReasonMethod", "References", "RowReasons",
           "references_from_profile", "shap_installed"]
