"""Online concept drift: River's detectors behind one small rasad interface.

A stream of per-prediction errors (1 when the model was wrong, 0 when it was
right) or of any metric goes through one of River's drift detectors, value by
value; rasad reports where (and, given times, when) the detector fired. The
detectors are River's own, unchanged, with River's defaults; rasad adds input
checks, one name for each detector, warm-up on reference values, and a typed,
JSON-ready result.

======================  ==========================  ======  ========
:class:`Detector`       River class                 input   warnings
======================  ==========================  ======  ========
``adwin``               ``drift.ADWIN``             number  no
``page_hinkley``        ``drift.PageHinkley``       number  no
``kswin``               ``drift.KSWIN``             number  no
``ddm``                 ``drift.binary.DDM``        0 / 1   yes
``eddm``                ``drift.binary.EDDM``       0 / 1   yes
``hddm_a``              ``drift.binary.HDDMA``      0 / 1   yes
``hddm_w``              ``drift.binary.HDDMW``      0 / 1   yes
======================  ==========================  ======  ========

One default differs from River's: KSWIN's ``seed`` is 0, not None, so that the
same stream always gives the same detections.

River is imported on first use, not with this module: it takes seconds to load.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> errors = np.r_[rng.random(2000) < 0.1, rng.random(2000) < 0.4].astype(int)
>>> detect(errors, Detector.DDM).detections
(2008,)
"""

from __future__ import annotations

import enum
import importlib
import inspect
import math
import re
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from pydantic import JsonValue, computed_field, field_validator

from rasad.errors import InputError
from rasad.results import Result

if TYPE_CHECKING:
    pass


class Detector(enum.StrEnum):
    """A River drift detector rasad can run."""

    ADWIN = "adwin"
    PAGE_HINKLEY = "page_hinkley"
    KSWIN = "kswin"
    DDM = "ddm"
    EDDM = "eddm"
    HDDM_A = "hddm_a"
    HDDM_W = "hddm_w"


@dataclass(frozen=True)
class DetectorSpec:
    """Where a detector lives in River and what it takes.

    ``binary`` detectors take 0/1 values only; ``warns`` ones also report a
    warning zone before a drift; ``overrides`` are rasad's defaults where they
    differ from River's.
    """

    module: str
    name: str
    binary: bool
    warns: bool
    overrides: tuple[tuple[str, Any], ...] = ()


DETECTORS: Final[Mapping[Detector, DetectorSpec]] = types.MappingProxyType({
    Detector.ADWIN: DetectorSpec("river.drift", "ADWIN", binary=False, warns=False),
    Detector.PAGE_HINKLEY: DetectorSpec("river.drift", "PageHinkley", binary=False,
                                        warns=False),
    Detector.KSWIN: DetectorSpec("river.drift", "KSWIN", binary=False, warns=False,
                                 overrides=(("seed", 0),)),
    Detector.DDM: DetectorSpec("river.drift.binary", "DDM", binary=True, warns=True),
    Detector.EDDM: DetectorSpec("river.drift.binary", "EDDM", binary=True, warns=True),
    Detector.HDDM_A: DetectorSpec("river.drift.binary", "HDDMA", binary=True, warns=True),
    Detector.HDDM_W: DetectorSpec("river.drift.binary", "HDDMW", binary=True, warns=True),
})
"""The detectors, as an explicit table: :class:`Detector` to its River class."""


def parse_detector(value: Detector | str) -> Detector:
    """Return the :class:`Detector` named by ``value``.

    Case, hyphens, underscores and spaces do not matter, so River's class names
    work too.

    Raises
    ------
    InputError
        If ``value`` names no detector; the message lists them.

    Examples
    --------
    >>> parse_detector("PageHinkley"), parse_detector("HDDM-A")
    (<Detector.PAGE_HINKLEY: 'page_hinkley'>, <Detector.HDDM_A: 'hddm_a'>)
    >>> parse_detector("cusum")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: Unknown drift detector 'cusum'; choose one of adwin,
    page_hinkley, kswin, ddm, eddm, hddm_a, hddm_w.
    """
    if isinstance(value, Detector):
        return value
    key = re.sub(r"[\s_-]", "", str(value)).lower()
    for detector in Detector:
        if detector.value.replace("_", "") == key:
            return detector
    allowed = ", ".join(detector.value for detector in Detector)
    raise InputError(f"Unknown drift detector {value!r}; choose one of {allowed}.")


def default_params(detector: Detector | str) -> dict[str, Any]:
    """The parameters ``detector`` runs with when none are given: River's, but KSWIN's seed.

    Examples
    --------
    >>> default_params("adwin")  # doctest: +NORMALIZE_WHITESPACE
    {'delta': 0.002, 'clock': 32, 'max_buckets': 5, 'min_window_length': 5,
     'grace_period': 10}
    >>> default_params("kswin")["seed"]
    0
    """
    spec = DETECTORS[parse_detector(detector)]
    signature = inspect.signature(_river_class(spec))
    params = {name: p.default for name, p in signature.parameters.items()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    params.update(spec.overrides)
    return params


class OnlineDriftResult(Result):
    """Where a detector fired on a stream.

    Attributes
    ----------
    detector : Detector
    params : mapping of str to value
        Every parameter the detector ran with, defaults included (as JSON values:
        sequences as lists, other objects as their text).
    values : int
        Values seen (reference values for warm-up not counted).
    drifted : bool
        Whether the detector fired at least once (derived from ``detections``).
    detections : tuple of int
        Positions (from 0) of the values at which drift was detected.
    detection_times : tuple of str, or None
        The time of each detection, when times were given.
    warnings : tuple of int, or None
        Positions at which a warning zone began; None for detectors without one.
    warning_times : tuple of str, or None
        Their times, when times were given and the detector warns.
    """

    detector: Detector
    params: dict[str, JsonValue]
    values: int
    detections: tuple[int, ...]
    detection_times: tuple[str, ...] | None
    warnings: tuple[int, ...] | None
    warning_times: tuple[str, ...] | None

    @field_validator("params", mode="before")
    @classmethod
    def _json_params(cls, value: object) -> object:
        if isinstance(value, Mapping):
            return {str(name): _json_value(item) for name, item in value.items()}
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drifted(self) -> bool:
        """Whether the detector fired at least once."""
        return bool(self.detections)


class OnlineMonitor:
    """A River drift detector fed one value (or a batch) at a time.

    Parameters
    ----------
    detector : Detector or str
        Which detector (see :data:`DETECTORS`).
    params : mapping of str to value, optional
        Parameters of the River detector, by River's names; the others keep their
        defaults (:func:`default_params`).

    Attributes
    ----------
    n_seen_ : int
        Values seen so far, not counting warm-up.
    detections_ : list of int
        Positions at which drift was detected.
    warnings_ : list of int
        Positions at which a warning zone began (always empty for detectors
        without warnings).

    Raises
    ------
    InputError
        If the detector is unknown, a parameter is not one of the detector's, or
        River rejects a value.

    Examples
    --------
    >>> monitor = OnlineMonitor("page_hinkley", {"threshold": 20.0})
    >>> fired = [monitor.update(x) for x in [0.0] * 50 + [1.0] * 30]
    >>> fired.index(True), monitor.detections_, monitor.n_seen_
    (75, [75], 80)
    >>> OnlineMonitor("adwin", {"window": 5})  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: ADWIN has no parameter 'window'; its parameters are delta,
    clock, max_buckets, min_window_length, grace_period.
    """

    def __init__(self, detector: Detector | str = Detector.ADWIN,
                 params: Mapping[str, Any] | None = None) -> None:
        self.detector = parse_detector(detector)
        self.params = dict(params or {})
        spec = DETECTORS[self.detector]
        defaults = default_params(self.detector)
        unknown = [name for name in self.params if name not in defaults]
        if unknown:
            raise InputError(f"{spec.name} has no parameter {unknown[0]!r}; its parameters are "
                             f"{', '.join(defaults)}.")
        self._effective = {**defaults, **self.params}
        try:
            self._river = _river_class(spec)(**self._effective)
        except (TypeError, ValueError) as error:
            raise InputError(f"{spec.name} rejected its parameters {self.params}: {error}") \
                from None
        self._binary, self._warns = spec.binary, spec.warns
        self._in_warning = False
        self.n_seen_ = 0
        self.detections_: list[int] = []
        self.warnings_: list[int] = []

    @property
    def drift_detected(self) -> bool:
        """Whether the last value fed made the detector fire."""
        return bool(self._river.drift_detected)

    @property
    def warning_detected(self) -> bool:
        """Whether the detector is in its warning zone (always False for those without one)."""
        return self._warns and bool(self._river.warning_detected)

    def warm_up(self, reference: Iterable[float]) -> None:
        """Feed values from a period known to be good, without reporting anything.

        Use it for values the model produced before monitoring began (for example
        its errors on the validation set), so the detector starts from a known
        state rather than from nothing. Positions keep counting from 0 afterwards.
        """
        update = self._river.update
        for x in self._check(reference, "reference").tolist():
            update(x)
        self._in_warning = self.warning_detected

    def update(self, value: float) -> bool:
        """Feed one value; return whether the detector fired on it."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise InputError(f"Value {_shown(value)} at position {self.n_seen_} is not a finite "
                             "number; drop or fill it before detecting drift.")
        if self._binary and number not in (0.0, 1.0):
            raise InputError(self._not_binary("the value", 1, _shown(value), self.n_seen_))
        return bool(self._feed([int(number) if self._binary else number]))

    def update_many(self, values: Iterable[float]) -> tuple[int, ...]:
        """Feed values in order; return the positions at which the detector fired."""
        return self._feed(self._check(values, "values").tolist())

    def _feed(self, values: list[float] | list[int]) -> tuple[int, ...]:
        river = self._river
        update = river.update
        found: list[int] = []
        for i, x in enumerate(values, start=self.n_seen_):
            update(x)
            if river.drift_detected:
                found.append(i)
            if self._warns:
                warning = river.warning_detected
                if warning and not self._in_warning:
                    self.warnings_.append(i)
                self._in_warning = warning
        self.n_seen_ += len(values)
        self.detections_.extend(found)
        return tuple(found)

    def result(self, times: Iterable[Any] | None = None) -> OnlineDriftResult:
        """The detections so far, with their times when ``times`` (one per value) is given.

        Times that are dates or timestamps are given in ISO 8601; others as text.
        """
        labels = _time_labels(times, self.n_seen_)
        return OnlineDriftResult(
            detector=self.detector,
            params=dict(self._effective),
            values=self.n_seen_,
            detections=tuple(self.detections_),
            detection_times=None if labels is None else labels(self.detections_),
            warnings=tuple(self.warnings_) if self._warns else None,
            warning_times=None if labels is None or not self._warns
            else labels(self.warnings_),
        )

    def _check(self, values: Iterable[float], what: str) -> npt.NDArray[Any]:
        """The values as an array River can take: floats, or 0/1 integers if binary."""
        numbers = _as_numbers(values, what)
        if self._binary:
            bad = np.flatnonzero((numbers != 0) & (numbers != 1))
            if len(bad):
                raise InputError(self._not_binary(f"the {what}", len(bad),
                                                  _shown(numbers[bad[0]]), int(bad[0])))
            return numbers.astype(np.int64)
        return numbers

    def _not_binary(self, what: str, count: int, first: str, position: int) -> str:
        return (f"{DETECTORS[self.detector].name} takes 0/1 values (1 = error), but {what} "
                f"has {count} other value(s), the first {first} at position {position}. Pass "
                "per-prediction errors as 0/1, or use adwin, page_hinkley or kswin for a "
                "continuous metric.")


def detect(
    values: Iterable[float],
    detector: Detector | str = Detector.ADWIN,
    *,
    params: Mapping[str, Any] | None = None,
    times: Iterable[Any] | None = None,
    reference: Iterable[float] | None = None,
) -> OnlineDriftResult:
    """Run a drift detector over a stream and report where it fired.

    Parameters
    ----------
    values : iterable of float
        The stream, in order: 0/1 errors for the binary detectors (ddm, eddm,
        hddm_a, hddm_w), any finite numbers for adwin, page_hinkley and kswin.
    detector : Detector or str
        Which detector; ADWIN by default (it takes any numbers and has a single,
        interpretable parameter, the confidence ``delta``).
    params : mapping of str to value, optional
        Parameters of the River detector by River's names; see :func:`default_params`.
    times : iterable, optional
        One time (or any label) per value, such as a datetime column or index;
        detections and warnings are then also reported by time.
    reference : iterable of float, optional
        Values from a period known to be good, fed first without being reported
        (see :meth:`OnlineMonitor.warm_up`).

    Returns
    -------
    OnlineDriftResult

    Raises
    ------
    InputError
        If the detector or a parameter is unknown, a value is not a finite number
        (or not 0/1 for a binary detector), or ``times`` has the wrong length.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> latency = np.r_[rng.normal(100, 5, 500), rng.normal(110, 5, 500)]
    >>> days = pd.date_range("2025-01-01", periods=1000, freq="h")
    >>> result = detect(latency, "adwin", times=days)
    >>> result.detections, result.detection_times
    ((511,), ('2025-01-22T07:00:00',))
    """
    import pandas as pd

    monitor = OnlineMonitor(detector, params)
    numbers = _as_numbers(values, "values")
    if times is not None and not isinstance(times, pd.Series | pd.Index | np.ndarray | Sequence):
        times = list(times)  # read a generator once
    _time_labels(times, len(numbers))  # a wrong length fails before the stream runs
    if reference is not None:
        monitor.warm_up(reference)
    monitor.update_many(numbers)
    return monitor.result(times)


def _river_class(spec: DetectorSpec) -> Any:
    return getattr(importlib.import_module(spec.module), spec.name)


def _as_numbers(values: Iterable[float], what: str) -> npt.NDArray[np.float64]:
    """``values`` as a 1-D float array, or an InputError naming the first bad value."""
    import pandas as pd  # loads with the first stream, not with the result type

    if isinstance(values, str | bytes) or not isinstance(values, Iterable) \
            or (isinstance(values, np.ndarray) and values.ndim != 1):
        raise InputError(f"The {what} must be a one-dimensional sequence of numbers, one per "
                         f"step; got {type(values).__name__}.")
    series = values if isinstance(values, pd.Series) else pd.Series(
        values if isinstance(values, np.ndarray) else list(values))
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.asarray(series, dtype=np.float64)
    numbers: npt.NDArray[np.float64] = pd.to_numeric(series, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        raise InputError(f"The {what} hold {len(bad)} value(s) that are not finite numbers, "
                         f"the first {_shown(series.iloc[bad[0]])} at position {bad[0]}; drop or "
                         "fill them before detecting drift.")
    return numbers


def _shown(value: Any) -> str:
    """A value as the user wrote it: ``0.5``, ``nan``, ``'high'``, not ``np.float64(0.5)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _time_labels(times: Iterable[Any] | None, n: int
                 ) -> Callable[[Sequence[int]], tuple[str, ...]] | None:
    """A function from positions to time labels, after checking there is one time per value."""
    if times is None:
        return None
    import pandas as pd

    series = times.reset_index(drop=True) if isinstance(times, pd.Series) \
        else pd.Series(times) if isinstance(times, pd.Index) else pd.Series(list(times))
    if len(series) != n:
        raise InputError(f"times has {len(series)} entries for {n} values; give one time per "
                         "value.")
    is_time = pd.api.types.is_datetime64_any_dtype(series.dtype)

    def labels(positions: Sequence[int]) -> tuple[str, ...]:
        picked = series.iloc[list(positions)]
        return tuple(value.isoformat() if is_time and not pd.isna(value) else str(value)
                     for value in picked)

    return labels


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Iterable):
        return [_json_value(item) for item in value]
    return str(value)


__all__ = [
    "DETECTORS",
    "Detector",
    "DetectorSpec",
    "OnlineDriftResult",
    "OnlineMonitor",
    "default_params",
    "detect",
    "parse_detector",
]
