"""The drift policy: which methods decide each column, with which thresholds.

A :class:`DriftPolicy` is an explicit table, not logic hidden in a function. For
each value kind (numeric, categorical, binary) it lists one or more :class:`Rule`
objects; a rule names the deciding methods, how they combine (all must flag, or any
one), methods reported alongside, and from how many values it applies. Per-column
overrides replace the rule for one column. Every column of a report says which rule
was chosen and why.

The default rule for every kind pairs a significance test with an effect size and
requires both, at every sample size:

========== ============================= ============================================
kind       deciding (all must flag)      also reported
========== ============================= ============================================
numeric    KS p < alpha and              PSI, Jensen-Shannon (10 reference-quantile
           Wasserstein / std >= 0.1      bins)
categorical chi-square p < alpha and     PSI
           Jensen-Shannon >= 0.1
binary     z-test p < alpha and          PSI
           Jensen-Shannon >= 0.1
========== ============================= ============================================

``alpha`` is 0.05 after Benjamini-Hochberg correction across the columns. A rule
applies from 10 values on the smaller side; below, the column is reported as having
too few values. A p-value alone flags every trivial difference at a million rows; a
distance alone flags noise in small samples (a 50-category column of 1,000 rows has a
Jensen-Shannon distance above 0.1 with no drift at all). Requiring both makes the
significance test decide small samples and the effect size decide large ones, with
no silent switch between them.

>>> policy = DriftPolicy(overrides={"income": MethodSpec("ks", threshold=0.01)})
>>> rule, why = policy.rule_for("income", ValueKind.NUMERIC, 5_000)
>>> [str(spec) for spec in rule.methods], why
(['ks < 0.01'], "override for column 'income'")
>>> rule, why = policy.rule_for("age", ValueKind.NUMERIC, 5_000)
>>> [str(spec) for spec in rule.methods]
['ks < alpha', 'wasserstein >= 0.1']
>>> policy.rule_for("age", ValueKind.NUMERIC, 3)
(None, 'numeric column with 3 values on the smaller side: no rule applies below 10 values')
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from rasad.drift._model import checked
from rasad.drift.methods import METHODS, Method, MethodKind, ValueKind
from rasad.errors import InputError
from rasad.results import Result


class Combine(enum.StrEnum):
    """How a rule's deciding methods combine: every one must flag, or any one."""

    ALL = "all"
    ANY = "any"


class Correction(enum.StrEnum):
    """Multiple-testing correction of the deciding p-values across a report's columns."""

    NONE = "none"
    BONFERRONI = "bonferroni"
    BENJAMINI_HOCHBERG = "benjamini-hochberg"


class MethodSpec(Result):
    """One method with its threshold; ``threshold=None`` takes the default.

    The default is the policy's ``alpha`` for p-value tests and the method's own
    (:data:`rasad.drift.methods.METHODS`) for distances.

    Examples
    --------
    >>> MethodSpec("psi", threshold=0.25)
    MethodSpec(method=<Method.PSI: 'psi'>, threshold=0.25)
    >>> MethodSpec("kss")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Unknown drift method 'kss'; methods are ks, wasserstein, psi,
    jensen_shannon, anderson_darling, cramer_von_mises, chi_square, z_test.
    """

    method: Method
    threshold: float | None = None

    def __init__(self, method: Method | str, threshold: float | None = None) -> None:
        with checked("Drift method"):
            # BaseModel's own __init__ (what super() is at run time), typed as pydantic's.
            BaseModel.__init__(self, method=method, threshold=threshold)

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: Any) -> Method:
        try:
            return Method(value)
        except ValueError:
            raise InputError(
                f"Unknown drift method {value!r}; methods are "
                f"{', '.join(m.value for m in Method)}."
            ) from None

    @model_validator(mode="after")
    def _threshold_in_range(self) -> MethodSpec:
        threshold = self.threshold
        if threshold is not None:
            if METHODS[self.method].kind is MethodKind.P_VALUE and not 0.0 < threshold < 1.0:
                raise InputError(f"Threshold {threshold!r} for {self.method.value} is a p-value "
                                 "cut-off; use a number between 0 and 1, e.g. 0.05.")
            if not threshold > 0.0:
                raise InputError(f"Threshold {threshold!r} for {self.method.value} must be "
                                 "above 0.")
        return self

    @property
    def kind(self) -> MethodKind:
        return METHODS[self.method].kind

    def __str__(self) -> str:
        sign = "<" if self.kind is MethodKind.P_VALUE else ">="
        default = METHODS[self.method].default_threshold
        threshold = self.threshold if self.threshold is not None else (
            "alpha" if default is None else default)
        return f"{self.method.value} {sign} {threshold}"


SpecLike = MethodSpec | Method | str


class Rule(Result):
    """Deciding methods for a column, how they combine, and what is reported besides.

    Parameters
    ----------
    methods : sequence of MethodSpec or str
        The deciding methods, at least one.
    combine : Combine
        ``ALL``: the column drifts when every deciding method flags; ``ANY``: when one
        does.
    report : sequence of MethodSpec or str
        Methods computed and reported but not deciding.
    min_values : int
        The rule applies to columns with at least this many present values on the
        smaller side. A kind may have several rules; the one with the largest
        ``min_values`` that the column reaches applies.
    why : str
        Why these methods: shown with every column the rule decides.

    Examples
    --------
    >>> Rule(["psi"], min_values=1000).methods
    (MethodSpec(method=<Method.PSI: 'psi'>, threshold=None),)
    >>> Rule([])
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: A drift rule needs at least one deciding method.
    """

    methods: tuple[MethodSpec, ...]
    combine: Combine = Combine.ALL
    report: tuple[MethodSpec, ...] = ()
    min_values: int = 0
    why: str = ""

    def __init__(self, methods: Sequence[SpecLike] | SpecLike,
                 combine: Combine | str = Combine.ALL,
                 report: Sequence[SpecLike] | SpecLike = (), min_values: int = 0,
                 why: str = "") -> None:
        with checked("Drift rule"):
            BaseModel.__init__(self, methods=methods, combine=combine, report=report,
                               min_values=min_values, why=why)

    @field_validator("methods", mode="before")
    @classmethod
    def _deciding(cls, value: object) -> tuple[MethodSpec, ...]:
        methods = _specs(value)
        if not methods:
            raise InputError("A drift rule needs at least one deciding method.")
        return methods

    @field_validator("report", mode="before")
    @classmethod
    def _reported(cls, value: object) -> tuple[MethodSpec, ...]:
        return _specs(value)

    @field_validator("report", mode="after")
    @classmethod
    def _not_deciding(cls, value: tuple[MethodSpec, ...], info: ValidationInfo
                      ) -> tuple[MethodSpec, ...]:
        deciding = {spec.method for spec in info.data.get("methods", ())}
        return tuple(spec for spec in value if spec.method not in deciding)

    @field_validator("combine", mode="before")
    @classmethod
    def _combine(cls, value: Any) -> Combine:
        try:
            return Combine(value)
        except ValueError:
            raise InputError(f"Rule combine must be 'all' or 'any', not {value!r}.") from None

    @field_validator("min_values", mode="before")
    @classmethod
    def _min_values(cls, value: object) -> int:
        if not isinstance(value, int) or value < 0:
            raise InputError(f"Rule min_values must be a whole number >= 0; got {value!r}.")
        return value

    def check(self, kind: ValueKind, where: str) -> None:
        """Raise InputError when a method of this rule does not apply to ``kind``."""
        for spec in (*self.methods, *self.report):
            if kind not in METHODS[spec.method].value_kinds:
                usable = [m.value for m, info in METHODS.items() if kind in info.value_kinds]
                raise InputError(
                    f"Drift method {spec.method.value!r} does not apply to {kind.value} "
                    f"columns ({where}); use one of {', '.join(usable)}.")

    def describe(self) -> str:
        """``'ks < alpha and wasserstein >= 0.1'``."""
        joiner = " and " if self.combine is Combine.ALL else " or "
        return joiner.join(str(spec) for spec in self.methods)


RuleLike = Rule | MethodSpec | Method | str
KindRules = RuleLike | Sequence[Rule]


_Stored = TypeVar("_Stored", bound=Result)


def _stored(cls: type[_Stored], data: Mapping[str, Any]) -> _Stored:
    """A policy object from its stored JSON form.

    The policy's classes take their arguments by position too, so pydantic builds
    them through their ``__init__``; stored data goes through here instead, so that a
    key this version does not know (written by a newer rasad) is ignored and a
    missing one is named.
    """
    fields = cls.model_fields
    missing = [name for name, field in fields.items()
               if field.is_required() and name not in data]
    if missing:
        raise InputError(f"A stored {cls.__name__} lacks {', '.join(map(repr, missing))}.")
    return cls(**{name: value for name, value in data.items() if name in fields})


def _specs(values: object) -> tuple[MethodSpec, ...]:
    """Method specs from names, MethodSpecs or stored specs (dicts)."""
    if isinstance(values, MethodSpec | str | Mapping):
        values = [values]
    if not isinstance(values, Sequence):
        raise InputError(f"Drift methods must be a method name, a MethodSpec or a list of "
                         f"them, not {type(values).__name__}.")
    # MethodSpec turns a name into a Method, or says which names exist.
    return tuple(v if isinstance(v, MethodSpec) else
                 _stored(MethodSpec, v) if isinstance(v, Mapping) else MethodSpec(v)
                 for v in values)


def _rule(value: object) -> Rule:
    if isinstance(value, Rule):
        return value
    if isinstance(value, Mapping):
        return _stored(Rule, value)
    if isinstance(value, MethodSpec | str):
        return Rule((value,))
    raise InputError(f"A drift rule must be a Rule, a MethodSpec or a method name, not "
                     f"{type(value).__name__}.")


def _rules(value: object) -> tuple[Rule, ...]:
    if isinstance(value, Rule | MethodSpec | str | Mapping):
        return (_rule(value),)
    if not isinstance(value, Sequence):
        raise InputError(f"A drift rule must be a Rule, a MethodSpec or a method name, not "
                         f"{type(value).__name__}.")
    rules = tuple(_rule(v) for v in value)
    if not rules:
        raise InputError("A value kind needs at least one drift rule.")
    return rules


MIN_VALUES: Final[int] = 10
"""Fewest present values, on the smaller side, the default rules test."""

NUMERIC_RULE: Final[Rule] = Rule(
    methods=(MethodSpec(Method.KS), MethodSpec(Method.WASSERSTEIN)),
    report=(MethodSpec(Method.PSI), MethodSpec(Method.JENSEN_SHANNON)),
    min_values=MIN_VALUES,
    why="KS decides whether the change is real, Wasserstein / std whether it is big "
        "enough to matter; both must flag",
)
CATEGORICAL_RULE: Final[Rule] = Rule(
    methods=(MethodSpec(Method.CHI_SQUARE), MethodSpec(Method.JENSEN_SHANNON)),
    report=(MethodSpec(Method.PSI),),
    min_values=MIN_VALUES,
    why="chi-square decides whether the change is real, Jensen-Shannon whether it is "
        "big enough to matter; both must flag",
)
BINARY_RULE: Final[Rule] = Rule(
    methods=(MethodSpec(Method.Z_TEST), MethodSpec(Method.JENSEN_SHANNON)),
    report=(MethodSpec(Method.PSI),),
    min_values=MIN_VALUES,
    why="the z-test decides whether the change in proportion is real, Jensen-Shannon "
        "whether it is big enough to matter; both must flag",
)


class DriftPolicy(Result):
    """How :func:`rasad.drift.compare` decides drift, column by column and overall.

    Parameters
    ----------
    numeric, categorical, binary : Rule, MethodSpec, str, or sequence of Rule
        The rules for each value kind (see :class:`~rasad.drift.methods.ValueKind`).
        A method or its name stands for a rule with that one method.
    overrides : mapping of str to Rule, MethodSpec or str
        A rule for one column, replacing its kind's rules.
    alpha : float
        Default threshold of every p-value test, and of the missing-share test.
    correction : Correction
        Multiple-testing correction of the deciding p-values (and the missing-share
        tests) across the columns of a report, or of a chunk.
    drift_share : float
        The dataset drifts when at least one column drifted and the drifted share of
        the counted columns is at least this. The default 0.0 means one column is
        enough; Evidently's default is 0.5.
    missing_min_change : float
        The missing share drifts when its change is significant (two-proportion z-test,
        p < alpha after correction) and at least this large (absolute, 0.02 = two
        percentage points).
    bins : int
        Number of reference-quantile bins for numeric PSI and Jensen-Shannon.

    Examples
    --------
    >>> DriftPolicy(numeric="psi").rule_for("x", ValueKind.NUMERIC, 50)[0].describe()
    'psi >= 0.1'
    >>> DriftPolicy(drift_share=1.5)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: DriftPolicy drift_share=1.5 is not a share; use a number from 0 to 1.
    """

    numeric: tuple[Rule, ...] = (NUMERIC_RULE,)
    categorical: tuple[Rule, ...] = (CATEGORICAL_RULE,)
    binary: tuple[Rule, ...] = (BINARY_RULE,)
    overrides: dict[str, Rule] = Field(default_factory=dict)
    alpha: float = 0.05
    correction: Correction = Correction.BENJAMINI_HOCHBERG
    drift_share: float = 0.0
    missing_min_change: float = 0.02
    bins: int = 10

    def __init__(
        self,
        *,
        numeric: KindRules = NUMERIC_RULE,
        categorical: KindRules = CATEGORICAL_RULE,
        binary: KindRules = BINARY_RULE,
        overrides: Mapping[str, RuleLike] | None = None,
        alpha: float = 0.05,
        correction: Correction | str = Correction.BENJAMINI_HOCHBERG,
        drift_share: float = 0.0,
        missing_min_change: float = 0.02,
        bins: int = 10,
    ) -> None:
        with checked("DriftPolicy"):
            BaseModel.__init__(self, numeric=numeric, categorical=categorical, binary=binary,
                               overrides=dict(overrides or {}), alpha=alpha,
                               correction=correction, drift_share=drift_share,
                               missing_min_change=missing_min_change, bins=bins)

    @field_validator("numeric", "categorical", "binary", mode="before")
    @classmethod
    def _kind_rules(cls, value: object) -> tuple[Rule, ...]:
        return _rules(value)

    @field_validator("numeric", "categorical", "binary", mode="after")
    @classmethod
    def _rules_apply(cls, value: tuple[Rule, ...], info: ValidationInfo) -> tuple[Rule, ...]:
        kind = ValueKind(str(info.field_name))
        for rule in value:
            rule.check(kind, f"the policy's {kind.value} rules")
        return value

    @field_validator("overrides", mode="before")
    @classmethod
    def _override_rules(cls, value: object) -> dict[str, Rule]:
        if not isinstance(value, Mapping):
            raise InputError(f"DriftPolicy overrides must map column names to rules, not "
                             f"{type(value).__name__}.")
        return {str(name): _rule(rule) for name, rule in value.items()}

    @field_validator("correction", mode="before")
    @classmethod
    def _correction(cls, value: Any) -> Correction:
        try:
            return Correction(value)
        except ValueError:
            raise InputError(f"Unknown correction {value!r}; use one of "
                             f"{', '.join(c.value for c in Correction)}.") from None

    @field_validator("bins", mode="before")
    @classmethod
    def _bins(cls, value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 2:
            raise InputError(f"DriftPolicy bins={value!r}: use a whole number >= 2.")
        return value

    @model_validator(mode="after")
    def _shares(self) -> DriftPolicy:
        if not 0.0 < self.alpha < 1.0:
            raise InputError(f"DriftPolicy alpha={self.alpha!r} is not a p-value cut-off; "
                             "use a number between 0 and 1, e.g. 0.05.")
        for name in ("drift_share", "missing_min_change"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"DriftPolicy {name}={value!r} is not a share; "
                                 "use a number from 0 to 1.")
        return self

    def rules(self, kind: ValueKind) -> tuple[Rule, ...]:
        """The rules for ``kind``, normalised."""
        rules: tuple[Rule, ...] = getattr(self, kind.value)
        return rules

    def rule_for(self, column: str, kind: ValueKind, values: int, *, override: bool = True
                 ) -> tuple[Rule | None, str]:
        """The rule deciding ``column``, and why it was chosen.

        ``values`` is the number of present values on the smaller side. Returns
        ``(None, reason)`` when no rule applies at that size. With ``override=False``
        the column's override is ignored (rasad compares a constant reference column
        as binary, whatever its override says).

        Raises
        ------
        InputError
            If the column's override names a method that does not apply to ``kind``.
        """
        rule = self.overrides.get(column) if override else None
        if isinstance(rule, Rule):
            rule.check(kind, f"override for column {column!r}")
            if values < rule.min_values:
                return None, (f"{values:,} values on the smaller side: the override for "
                              f"column {column!r} applies from {rule.min_values:,} values")
            return rule, f"override for column {column!r}"
        candidates = [rule for rule in self.rules(kind) if rule.min_values <= values]
        if not candidates:
            least = min(rule.min_values for rule in self.rules(kind))
            return None, (f"{kind.value} column with {values:,} values on the smaller side: "
                          f"no rule applies below {least:,} values")
        rule = max(candidates, key=lambda r: r.min_values)
        why = f"{kind.value} column with {values:,} values on the smaller side"
        if rule.min_values:
            why += f" (rule from {rule.min_values:,} values)"
        return rule, f"{why}: {rule.why}" if rule.why else why

    def threshold(self, spec: MethodSpec) -> float:
        """The threshold ``spec`` uses under this policy."""
        if spec.threshold is not None:
            return spec.threshold
        default = METHODS[spec.method].default_threshold
        return self.alpha if default is None else default

    @classmethod
    def from_dict(cls, data: Any) -> DriftPolicy:
        """Build a policy from its JSON form (:meth:`to_dict`); missing keys take the defaults.

        Raises
        ------
        InputError
            If a value is malformed.

        Examples
        --------
        >>> policy = DriftPolicy(overrides={"x": "psi"}, correction="bonferroni")
        >>> DriftPolicy.from_dict(policy.to_dict()) == policy
        True
        """
        if isinstance(data, DriftPolicy):
            return data
        if not isinstance(data, Mapping):
            raise InputError(f"Drift policy is malformed (a {type(data).__name__}, not a "
                             "mapping of settings).")
        try:
            return _stored(cls, data)
        except InputError as error:
            raise InputError(f"Drift policy is malformed ({str(error).rstrip('.')}).") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> DriftPolicy:
        """Build a policy from JSON text (see :meth:`from_dict`)."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as error:
            raise InputError(f"Drift policy is not JSON ({error}).") from None

    @classmethod
    def evidently_like(cls) -> DriftPolicy:
        """Evidently 0.7's DataDriftPreset defaults, written as an explicit policy.

        KS (numeric) and chi-square or z-test (categorical, binary) up to 1,000 values;
        Wasserstein / std >= 0.1 and Jensen-Shannon >= 0.1 above; drift when half the
        columns drift; no correction. (Evidently switches on the reference's row
        count; rasad's rules switch on the smaller side's values.)

        >>> [r.describe() for r in DriftPolicy.evidently_like().rules(ValueKind.NUMERIC)]
        ['ks < alpha', 'wasserstein >= 0.1']
        """
        return cls(
            numeric=(Rule((MethodSpec(Method.KS),), why="Evidently: KS up to 1,000 rows"),
                     Rule((MethodSpec(Method.WASSERSTEIN),), min_values=1001,
                          why="Evidently: Wasserstein above 1,000 rows")),
            categorical=(Rule((MethodSpec(Method.CHI_SQUARE),),
                              why="Evidently: chi-square up to 1,000 rows"),
                         Rule((MethodSpec(Method.JENSEN_SHANNON),), min_values=1001,
                              why="Evidently: Jensen-Shannon above 1,000 rows")),
            binary=(Rule((MethodSpec(Method.Z_TEST),), why="Evidently: z-test up to 1,000 rows"),
                    Rule((MethodSpec(Method.JENSEN_SHANNON),), min_values=1001,
                         why="Evidently: Jensen-Shannon above 1,000 rows")),
            correction=Correction.NONE,
            drift_share=0.5,
        )
