"""Find personal data in a table: which columns hold it, of which kind, how much.

:func:`scan` reads column names and values and returns a :class:`PIIReport` with one
:class:`ColumnPII` per column that holds personal data or is a declared protected
attribute. Each :class:`PIIFinding` gives the :class:`PIIKind`, the :class:`Basis`
(values, column name or both), how many of the checked values hold the kind and up
to three masked examples. No raw value is ever stored in a report: examples are
masked when they are found, and errors never quote values.

Detection rules (the thresholds are a :class:`PIIPolicy`):

* **Checksum kinds** (IBAN with ISO 13616 mod 97, payment card and Saudi national
  ID / Iqama with Luhn), as whole values or inside free text: a column is reported
  when at least one value holds a valid number and at least ``min_checksum_share``
  (30%) of the values shaped like the kind pass the check. A look-alike that fails
  its check is never a match; the share guard keeps a column of random numbers (of
  which a tenth pass Luhn by chance) out.
* **Pattern kinds** (e-mail, phone, US SSN, UK NINO, IP address checked with
  :mod:`ipaddress`): reported when at least ``min_matches`` (1) values hold such an
  item, whether it is the whole value or written inside free text (``"wrote to
  jane@example.com"``): a notes column that mentions one address holds personal data.
  The finding's ``share`` says how much of the column does, and ``in_text`` how many
  matches sat inside longer text (redact those values rather than drop the column).
* **Name kinds** (person name, date of birth) are judged by the column name alone;
  the basis is ``both`` when at least ``min_share`` of the values also look like names
  or dates. For the other kinds a matching column name only turns ``values`` into
  ``both``: a name alone never reports an IBAN or a card.

Text columns are checked for every kind. Integer columns, and float columns of whole
numbers (a CSV reader makes numbers of card numbers, IDs and phones, dropping leading
zeros and ``+``), are checked for cards and Saudi IDs as above and for Saudi mobile
numbers (``9665XXXXXXXX``, ``5XXXXXXXX``) by share (``min_share``) only. Other types
(booleans, dates, binary) are judged by column name only. At most ``sample_rows`` rows are
checked, drawn at random with the policy's seed; ``sample_rows=None`` checks all.

Speed: one RE2 pass per text column with every kind's prefilter joined (in Arrow),
so a column without any candidate costs a single scan; the per-kind prefilters and
Python patterns then run only on the values it kept.

>>> import pandas as pd
>>> frame = pd.DataFrame({
...     "customer_name": ["Jane Doe", "John Roe", "Sara Ali"],
...     "contact": ["jane@example.com", "no contact", "+966 50 000 0000"],
...     "iban": ["SA0380000000608010167519", "SA0480000000608010167519", None],
...     "card": ["4111111111111111", "4111111111111112", "n/a"],
...     "gender": ["f", "m", "f"],
... })
>>> report = scan(frame, protected_attributes=["gender"])
>>> for column in report.columns:
...     print(column.column, [str(kind) for kind in column.kinds])
customer_name ['person name']
contact ['email', 'phone']
iban ['iban']
card ['payment card']
gender ['protected attribute']
>>> finding = report.column("iban").findings[0]
>>> finding.basis, finding.matches, finding.checked, finding.failed_checksum
(<Basis.BOTH: 'both'>, 1, 2, 1)
>>> finding.examples, report.column("contact").findings[0].examples
(('SA******************7519',), ('j***@e***.com',))
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, ValidationError, computed_field, model_validator

from rasad.errors import InputError, NotFoundError
from rasad.results import Result
from rasad.tables import read_table
from rasad.validation._pii_patterns import (
    ANY_INTEGER_PREFILTER,
    ANY_VALUE_PREFILTER,
    DATE_LIKE,
    EASTERN_DIGITS,
    EASTERN_DIGITS_RE2,
    INTEGER_RULES,
    PERSON_NAME_LIKE,
    VALUE_RULES,
    PIIKind,
    ValueRule,
    mask_name,
    mask_shape,
    name_suggests,
)

DEFAULT_SAMPLE_ROWS: Final[int] = 100_000
"""Rows checked per table unless ``sample_rows`` says otherwise."""

TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "column", "kind", "basis", "share", "checked", "examples",
)
"""The header of :meth:`PIIReport.to_rows`."""


class Basis(enum.StrEnum):
    """What a finding rests on."""

    VALUES = "values"
    COLUMN_NAME = "column name"
    BOTH = "both"


class PIIPolicy(Result):
    """The thresholds of :func:`scan`.

    Parameters
    ----------
    min_matches : int
        Values that must hold a pattern kind (whole or inside text) for the column to
        be reported; raise it to quieten columns that mention personal data rarely.
    min_share : float
        Share of an integer column's values that must be Saudi mobile numbers, and of
        a column's values that must look like names or dates for the basis of a name
        kind to be ``both``.
    min_checksum_share : float
        Share of the values shaped like a checksum kind that must pass the check.
    max_examples : int
        Masked examples kept per finding.
    seed : int
        Seed of the row sample.

    >>> PIIPolicy(min_share=1.5)
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: PIIPolicy min_share is 1.5; use a share between 0 and 1.
    """

    min_matches: int = 1
    min_share: float = 0.3
    min_checksum_share: float = 0.3
    max_examples: int = 3
    seed: int = 0

    def __init__(self, *, min_matches: int = 1, min_share: float = 0.3,
                 min_checksum_share: float = 0.3, max_examples: int = 3,
                 seed: int = 0) -> None:
        # pydantic wraps the InputError of the validator below; a caller gets it bare.
        values: dict[str, Any] = {
            "min_matches": min_matches, "min_share": min_share,
            "min_checksum_share": min_checksum_share, "max_examples": max_examples,
            "seed": seed}
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _input_error(error) from None

    @model_validator(mode="after")
    def _in_range(self) -> PIIPolicy:
        for name in ("min_share", "min_checksum_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"PIIPolicy {name} is {value}; use a share between 0 and 1.")
        if self.max_examples < 0:
            raise InputError(f"PIIPolicy max_examples is {self.max_examples}; use 0 or more.")
        if self.min_matches < 1:
            raise InputError(f"PIIPolicy min_matches is {self.min_matches}; use 1 or more.")
        return self


def _input_error(error: ValidationError) -> InputError:
    """The InputError a validator raised, or one naming the field pydantic rejected."""
    for item in error.errors():
        original = (item.get("ctx") or {}).get("error")
        if isinstance(original, InputError):
            return original
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    return InputError(f"PIIPolicy {where}: {first['msg']} (got {first['input']!r}).")


class PIIFinding(Result):
    """One kind of personal data in one column.

    ``matches`` counts the checked values holding the kind (for checksum kinds, a
    number that passes its check), ``in_text`` those of them where it sat inside
    longer text; ``failed_checksum`` the values shaped like a checksum kind whose
    every candidate failed. ``examples`` are masked.
    """

    kind: PIIKind
    basis: Basis
    matches: int
    in_text: int = 0
    checked: int
    checksum: bool = False
    failed_checksum: int = 0
    examples: tuple[str, ...] = ()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share(self) -> float:
        """Matches over checked values (0 when nothing was checked)."""
        return self.matches / self.checked if self.checked else 0.0


class ColumnPII(Result):
    """Everything the scan found in one column."""

    column: str
    findings: tuple[PIIFinding, ...] = ()
    protected: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kinds(self) -> tuple[PIIKind, ...]:
        """The kinds found, then :attr:`PIIKind.PROTECTED_ATTRIBUTE` if declared."""
        kinds = tuple(finding.kind for finding in self.findings)
        return kinds + ((PIIKind.PROTECTED_ATTRIBUTE,) if self.protected else ())


def _absent(value: Any) -> bool:
    return value is None


class PIIReport(Result):
    """The result of :func:`scan`: the columns holding personal data, in table order.

    ``data`` names what was scanned when the caller says so (the CLI and the project
    services do); it is left out of the JSON when unset.

    >>> report = scan(pa.table({"email": ["a@example.com"]}))
    >>> data = report.to_dict()
    >>> data["found"], data["columns"][0]["kinds"], data["columns"][0]["findings"][0]["examples"]
    (True, ['email'], ['a***@e***.com'])
    >>> PIIReport.from_dict(data) == report, "data" in report.labelled("mail.csv").to_dict()
    (True, True)
    """

    data: str | None = Field(default=None, exclude_if=_absent,
                             description="The data scanned: a path or NAME@VERSION.")
    rows: int
    sampled_rows: int
    columns_scanned: int
    missing_protected: tuple[str, ...] = ()
    policy: PIIPolicy = Field(default_factory=PIIPolicy)
    columns: tuple[ColumnPII, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def found(self) -> bool:
        """True when any column holds personal data (protected attributes aside)."""
        return any(column.findings for column in self.columns)

    def column(self, name: str) -> ColumnPII:
        """The result for column ``name``; raises NotFoundError listing the reported ones."""
        for column in self.columns:
            if column.column == name:
                return column
        listed = ", ".join(repr(column.column) for column in self.columns) or "none"
        raise NotFoundError(
            f"Column {name!r} holds no personal data in this report; reported columns: "
            f"{listed}.")

    def labelled(self, data: str) -> PIIReport:
        """A copy naming the data scanned (``data`` in the JSON)."""
        return self.model_copy(update={"data": data})

    def to_rows(self) -> list[tuple[str, ...]]:
        """One row of strings per finding (and per protected attribute), see TABLE_COLUMNS."""
        rows: list[tuple[str, ...]] = []
        for column in self.columns:
            for finding in column.findings:
                rows.append((column.column, finding.kind.value, finding.basis.value,
                             f"{finding.share:.1%}", str(finding.checked),
                             ", ".join(finding.examples)))
            if column.protected:
                rows.append((column.column, PIIKind.PROTECTED_ATTRIBUTE.value, "declared",
                             "", "", ""))
        return rows


def scan(data: pd.DataFrame | pa.Table | str | os.PathLike[str], *,
         protected_attributes: Iterable[str] = (),
         sample_rows: int | None = DEFAULT_SAMPLE_ROWS,
         policy: PIIPolicy | None = None) -> PIIReport:
    """Scan the column names and values of a table for personal data.

    Parameters
    ----------
    data : pandas.DataFrame, pyarrow.Table or path
        The table; a path or DataFrame is read with :func:`rasad.datasets.read_table`.
    protected_attributes : iterable of str
        Columns declared as protected attributes (such as in ``rasad.yaml``); they are
        reported as such whatever their values. Names that are not columns are listed
        in :attr:`PIIReport.missing_protected`. A single string is one name.
    sample_rows : int or None
        At most this many rows are checked, drawn at random; None checks every row.
    policy : PIIPolicy, optional
        The thresholds; the defaults are described in the module docstring.

    Returns
    -------
    PIIReport

    Raises
    ------
    InputError
        If the data cannot be read or ``sample_rows`` is not positive.

    Examples
    --------
    >>> import pyarrow as pa
    >>> table = pa.table({"note": ["ok", "mail omar@example.org", "call 4111 1111 1111 1111"],
    ...                   "ref": ["4111111111111112", "1234567812345678", None]})
    >>> report = scan(table)
    >>> [(column.column, [str(kind) for kind in column.kinds]) for column in report.columns]
    [('note', ['email', 'payment card'])]
    >>> for row in report.to_rows():
    ...     print(row)
    ('note', 'email', 'values', '33.3%', '3', 'o***@e***.org')
    ('note', 'payment card', 'values', '33.3%', '3', '************1111')
    >>> report.column("note").findings[0].in_text
    1
    """
    policy = policy or PIIPolicy()
    if sample_rows is not None and sample_rows < 1:
        raise InputError(f"sample_rows is {sample_rows}; use a positive number of rows or None.")
    table = data if isinstance(data, pa.Table) else read_table(data)
    rows = table.num_rows
    if sample_rows is not None and rows > sample_rows:
        rng = np.random.default_rng(policy.seed)
        table = table.take(pa.array(np.sort(rng.choice(rows, sample_rows, replace=False))))
    if isinstance(protected_attributes, str):
        protected_attributes = (protected_attributes,)
    protected = list(dict.fromkeys(protected_attributes))
    names = set(table.column_names)
    results: list[ColumnPII] = []
    for name in table.column_names:
        findings = _scan_column(name, table.column(name), policy)
        if findings or name in protected:
            results.append(ColumnPII(column=name, findings=findings,
                                     protected=name in protected))
    return PIIReport(
        columns=tuple(results), rows=rows, sampled_rows=table.num_rows,
        columns_scanned=table.num_columns,
        missing_protected=tuple(name for name in protected if name not in names),
        policy=policy)


def _scan_column(name: str, column: pa.ChunkedArray, policy: PIIPolicy) -> tuple[PIIFinding, ...]:
    values = column.drop_null()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    kind = values.type
    findings: list[PIIFinding] = []
    texts: pa.ChunkedArray | None = None
    rules: tuple[ValueRule, ...] = ()
    prefilter = ""
    if _is_text(kind):
        values = _western_digits(values.cast(pa.string()))
        texts, rules, prefilter = values, VALUE_RULES, ANY_VALUE_PREFILTER
    elif pa.types.is_integer(kind) or _integral_floats(values):
        texts = pc.cast(pc.cast(values, pa.int64()), pa.string())
        rules, prefilter = INTEGER_RULES, ANY_INTEGER_PREFILTER
    if texts is not None:
        checked = len(texts)
        # One pass with every prefilter joined: most columns hold no candidate at all.
        candidates = texts.filter(pc.match_substring_regex(texts, prefilter))
        for rule in rules if len(candidates) else ():
            finding = _value_finding(name, candidates, checked, rule, policy,
                                     by_share=texts is not values)
            if finding is not None:
                findings.append(finding)
    for name_kind in (PIIKind.PERSON_NAME, PIIKind.DATE_OF_BIRTH):
        if name_suggests(name, name_kind):
            findings.append(_name_finding(name_kind, values, policy))
    return tuple(findings)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(kind)))


def _western_digits(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """``texts`` with Arabic-Indic and Persian digits made ASCII (so ``٠٥...`` is a phone)."""
    # The ASCII test is far cheaper than a Unicode regex and settles most columns.
    if len(texts) == 0 or pc.all(pc.string_is_ascii(texts)).as_py():
        return texts
    eastern = pc.match_substring_regex(texts, EASTERN_DIGITS_RE2)
    if not pc.any(eastern).as_py():
        return texts
    return pa.chunked_array([pa.array(
        [value.translate(EASTERN_DIGITS) for value in texts.to_pylist()], pa.string())])


def _integral_floats(values: pa.ChunkedArray) -> bool:
    """True for a float column of whole numbers below 2**53 (a CSV column of phones)."""
    if not pa.types.is_floating(values.type) or len(values) == 0:
        return False
    array = values.to_numpy()
    return bool(np.all(np.isfinite(array)) and np.all(np.abs(array) < 2.0 ** 53)
                and np.all(array == np.floor(array)))


def _value_finding(name: str, candidates: pa.ChunkedArray, checked: int, rule: ValueRule,
                   policy: PIIPolicy, *, by_share: bool) -> PIIFinding | None:
    """The finding of ``rule`` among the ``candidates`` kept from ``checked`` values."""
    kept = candidates.filter(pc.match_substring_regex(candidates, rule.prefilter))
    shaped = matched = inside = masked = 0
    examples: dict[str, None] = {}
    # Each distinct value is matched and checked once (in order of first appearance).
    counted = pc.value_counts(kept) if len(kept) else pa.array([], pa.struct(
        [("values", pa.string()), ("counts", pa.int64())]))
    for value, rows in zip(counted.field("values").to_pylist(),
                           counted.field("counts").to_pylist(), strict=True):
        found = [match.group() for match in rule.pattern.finditer(value)]
        if not found:
            continue
        shaped += rows
        valid = next((text for text in found if rule.validate(text)), None)
        if valid is None:
            continue
        matched += rows
        inside += rows if valid != value.strip() else 0
        # Masks repeat (every address at one domain looks alike): stop trying after a few.
        if len(examples) < policy.max_examples and masked < 10 * policy.max_examples:
            masked += 1
            examples[rule.mask(valid)] = None
    if not matched:
        return None
    if rule.checksum:
        if matched / shaped < policy.min_checksum_share:
            return None
    elif matched < policy.min_matches or (by_share and matched / checked < policy.min_share):
        return None
    basis = Basis.BOTH if name_suggests(name, rule.kind) else Basis.VALUES
    return PIIFinding(kind=rule.kind, basis=basis, matches=matched, checked=checked,
                      examples=tuple(examples),
                      failed_checksum=shaped - matched if rule.checksum else 0,
                      checksum=rule.checksum, in_text=inside)


def _name_finding(kind: PIIKind, values: pa.ChunkedArray, policy: PIIPolicy) -> PIIFinding:
    checked = len(values)
    examples: dict[str, None] = {}
    if kind is PIIKind.DATE_OF_BIRTH and (pa.types.is_temporal(values.type)):
        matched = checked
        texts = [str(value) for value in values.slice(0, policy.max_examples).to_pylist()]
        examples = dict.fromkeys(mask_shape(text) for text in texts)
    elif _is_text(values.type):
        pattern, mask = ((PERSON_NAME_LIKE, mask_name) if kind is PIIKind.PERSON_NAME
                         else (DATE_LIKE, mask_shape))
        matched = 0
        for value in values.to_pylist():
            if pattern.fullmatch(value):
                matched += 1
                if len(examples) < policy.max_examples:
                    examples[mask(value.strip())] = None
    else:
        matched = 0
    both = checked > 0 and matched / checked >= policy.min_share
    return PIIFinding(kind=kind, basis=Basis.BOTH if both else Basis.COLUMN_NAME,
                      matches=matched, checked=checked, examples=tuple(examples))


__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "TABLE_COLUMNS",
    "Basis",
    "ColumnPII",
    "PIIFinding",
    "PIIKind",
    "PIIPolicy",
    "PIIReport",
    "scan",
]
