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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from rasad.drift.methods import METHODS, Method, MethodKind, ValueKind
from rasad.errors import InputError


class Combine(enum.StrEnum):
    """How a rule's deciding methods combine: every one must flag, or any one."""

    ALL = "all"
    ANY = "any"


class Correction(enum.StrEnum):
    """Multiple-testing correction of the deciding p-values across a report's columns."""

    NONE = "none"
    BONFERRONI = "bonferroni"
    BENJAMINI_HOCHBERG = "benjamini-hochberg"


@dataclass(frozen=True)
class MethodSpec:
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

    def __post_init__(self) -> None:
        try:
            method = Method(self.method)
        except ValueError:
            raise InputError(
                f"Unknown drift method {self.method!r}; methods are "
                f"{', '.join(m.value for m in Method)}."
            ) from None
        object.__setattr__(self, "method", method)
        if self.threshold is not None:
            threshold = float(self.threshold)
            if METHODS[method].kind is MethodKind.P_VALUE and not 0.0 < threshold < 1.0:
                raise InputError(f"Threshold {threshold!r} for {method.value} is a p-value "
                                 "cut-off; use a number between 0 and 1, e.g. 0.05.")
            if not threshold > 0.0:
                raise InputError(f"Threshold {threshold!r} for {method.value} must be above 0.")
            object.__setattr__(self, "threshold", threshold)

    @property
    def kind(self) -> MethodKind:
        return METHODS[self.method].kind

    def __str__(self) -> str:
        sign = "<" if self.kind is MethodKind.P_VALUE else ">="
        default = METHODS[self.method].default_threshold
        threshold = self.threshold if self.threshold is not None else (
            "alpha" if default is None else default)
        return f"{self.method.value} {sign} {threshold}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method.value, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> MethodSpec:
        if isinstance(data, str):
            return cls(data)  # type: ignore[arg-type]  # __post_init__ converts the name
        return cls(data["method"], data.get("threshold"))


SpecLike = MethodSpec | Method | str


@dataclass(frozen=True)
class Rule:
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

    def __post_init__(self) -> None:
        methods = _specs(self.methods)
        if not methods:
            raise InputError("A drift rule needs at least one deciding method.")
        object.__setattr__(self, "methods", methods)
        object.__setattr__(self, "report", tuple(
            spec for spec in _specs(self.report)
            if spec.method not in {m.method for m in methods}))
        try:
            object.__setattr__(self, "combine", Combine(self.combine))
        except ValueError:
            raise InputError(
                f"Rule combine must be 'all' or 'any', not {self.combine!r}.") from None
        if not isinstance(self.min_values, int) or self.min_values < 0:
            raise InputError(
                f"Rule min_values must be a whole number >= 0; got {self.min_values!r}.")

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "methods": [spec.to_dict() for spec in self.methods],
            "combine": self.combine.value,
            "report": [spec.to_dict() for spec in self.report],
            "min_values": self.min_values,
            "why": self.why,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        return cls(
            methods=tuple(MethodSpec.from_dict(m) for m in data["methods"]),
            combine=Combine(data.get("combine", "all")),
            report=tuple(MethodSpec.from_dict(m) for m in data.get("report", ())),
            min_values=data.get("min_values", 0),
            why=data.get("why", ""),
        )


RuleLike = Rule | MethodSpec | Method | str
KindRules = RuleLike | Sequence[Rule]


def _specs(values: Sequence[SpecLike] | SpecLike) -> tuple[MethodSpec, ...]:
    if isinstance(values, (MethodSpec, str)):
        values = [values]
    # MethodSpec.__post_init__ turns a name into a Method, or says which names exist.
    return tuple(v if isinstance(v, MethodSpec) else MethodSpec(v)  # type: ignore[arg-type]
                 for v in values)


def _rule(value: RuleLike) -> Rule:
    if isinstance(value, Rule):
        return value
    if isinstance(value, (MethodSpec, str)):
        return Rule(_specs(value))
    raise InputError(f"A drift rule must be a Rule, a MethodSpec or a method name, not "
                     f"{type(value).__name__}.")


def _rules(value: KindRules) -> tuple[Rule, ...]:
    if isinstance(value, (Rule, MethodSpec, str)):
        return (_rule(value),)
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


@dataclass(frozen=True)
class DriftPolicy:
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

    numeric: KindRules = NUMERIC_RULE
    categorical: KindRules = CATEGORICAL_RULE
    binary: KindRules = BINARY_RULE
    overrides: Mapping[str, RuleLike] = field(default_factory=dict, hash=False)
    alpha: float = 0.05
    correction: Correction = Correction.BENJAMINI_HOCHBERG
    drift_share: float = 0.0
    missing_min_change: float = 0.02
    bins: int = 10

    def __post_init__(self) -> None:
        for kind in ValueKind:
            rules = _rules(getattr(self, kind.value))
            for rule in rules:
                rule.check(kind, f"the policy's {kind.value} rules")
            object.__setattr__(self, kind.value, rules)
        overrides = {}
        for name, value in dict(self.overrides).items():
            overrides[str(name)] = _rule(value)
        object.__setattr__(self, "overrides", MappingProxyType(overrides))
        try:
            object.__setattr__(self, "correction", Correction(self.correction))
        except ValueError:
            raise InputError(f"Unknown correction {self.correction!r}; use one of "
                             f"{', '.join(c.value for c in Correction)}.") from None
        if not 0.0 < self.alpha < 1.0:
            raise InputError(f"DriftPolicy alpha={self.alpha!r} is not a p-value cut-off; "
                             "use a number between 0 and 1, e.g. 0.05.")
        for name in ("drift_share", "missing_min_change"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"DriftPolicy {name}={value!r} is not a share; "
                                 "use a number from 0 to 1.")
        if not isinstance(self.bins, int) or self.bins < 2:
            raise InputError(f"DriftPolicy bins={self.bins!r}: use a whole number >= 2.")

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

    def to_dict(self) -> dict[str, Any]:
        """The policy as a JSON-ready dict; :meth:`from_dict` reads it back equal."""
        return {
            **{kind.value: [rule.to_dict() for rule in self.rules(kind)] for kind in ValueKind},
            "overrides": {name: rule.to_dict() for name, rule in self.overrides.items()
                          if isinstance(rule, Rule)},
            "alpha": self.alpha,
            "correction": self.correction.value,
            "drift_share": self.drift_share,
            "missing_min_change": self.missing_min_change,
            "bins": self.bins,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftPolicy:
        """Build a policy from :meth:`to_dict` output; missing keys take the defaults.

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
        try:
            kinds: dict[str, Any] = {kind.value: tuple(Rule.from_dict(r) for r in data[kind.value])
                     for kind in ValueKind if kind.value in data}
            overrides = {name: Rule.from_dict(rule)
                         for name, rule in data.get("overrides", {}).items()}
            scalars: dict[str, Any] = {name: data[name] for name in
                       ("alpha", "correction", "drift_share", "missing_min_change", "bins")
                       if name in data}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(f"Drift policy is malformed ({type(error).__name__}: {error}).") \
                from None
        return cls(**kinds, overrides=overrides, **scalars)

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
