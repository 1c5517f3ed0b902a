"""The catalogue's types and loader (re-exported by :mod:`rasad.compliance.controls`).

The YAML files sit beside this module, in the package :mod:`rasad.compliance.controls`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rasad.errors import ConfigError, NotFoundError

_PACKAGE = "rasad.compliance.controls"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class EvidenceKind(enum.StrEnum):
    """A kind of evidence rasad holds and puts in an evidence pack."""

    LEDGER = "ledger"
    """The audit events of the period, and the verification of the chain."""
    CHECKPOINTS = "checkpoints"
    """Signed ledger checkpoints that the ledger reproduces (``audit.checkpoints``)."""
    APPROVALS = "approvals"
    """Decisions people recorded on promotion requests (maker-checker)."""
    GATE_REPORTS = "gate_reports"
    """The promotion gates' reports, with the evidence each gate used."""
    DEPLOYMENTS = "deployments"
    """Which version served in which environment, when, and who deployed or rolled back."""
    MODEL_CARD = "model_card"
    """The model card of each model version in scope."""
    DATASHEET = "datasheet"
    """The datasheet (profile, schema, lineage, open questions) of each training dataset."""
    FAIRNESS = "fairness"
    """Stored fairness assessments of the models."""
    VALIDATION = "validation"
    """Data validations recorded against the training datasets."""
    PII_SCAN = "pii_scan"
    """Personal-data scans of the training datasets: kinds and shares, never values."""
    MONITORING = "monitoring"
    """Drift, performance and estimated-performance results, and the alert history."""
    ACCESS_REVIEW = "access_review"
    """Principals, their roles and tokens (never a secret), and the role table."""
    INVENTORY = "inventory"
    """The model inventory: owner, risk tier, serving, approvals, loop state."""
    ERASURES = "erasures"
    """Data-subject erasures of the period (keyed hashes, never an id; reasons, what was
    rewritten, redacted and flagged) and the open 'retrain required' flags."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Control(_Strict):
    """One control of a framework, as the catalogue declares it.

    ``evidence`` lists the kinds of evidence rasad holds for it, empty when rasad can hold
    none; ``beyond`` says what the control needs that rasad cannot hold (required when
    ``evidence`` is empty: it is the reason).
    """

    id: str = Field(min_length=1, max_length=80)
    title: str = Field(min_length=1, max_length=300)
    verification: Literal["official", "secondary"]
    expects: str = Field(min_length=1)
    evidence: tuple[EvidenceKind, ...] = ()
    beyond: str | None = None

    @field_validator("evidence")
    @classmethod
    def _distinct(cls, value: tuple[EvidenceKind, ...]) -> tuple[EvidenceKind, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists an evidence kind twice")
        return value

    @model_validator(mode="after")
    def _reasoned(self) -> Control:
        if not self.evidence and not (self.beyond or "").strip():
            raise ValueError(f"control {self.id!r} lists no evidence kind and no `beyond` "
                             "reason: say why rasad cannot evidence it")
        return self


class Catalogue(_Strict):
    """The controls of one framework that rasad maps evidence to.

    ``citation`` says how the framework's IDs and titles are cited (for example, that
    PDPL titles are descriptive labels and the article number is the citation).
    """

    framework: str
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    citation: str | None = None
    controls: tuple[Control, ...] = Field(min_length=1)

    @field_validator("framework")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"framework {value!r} must be lowercase letters, digits and "
                             "dashes")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Catalogue:
        seen: set[str] = set()
        for control in self.controls:
            if control.id in seen:
                raise ValueError(f"control {control.id!r} is listed twice")
            seen.add(control.id)
        return self

    def control(self, control_id: str) -> Control:
        """The control with this ID; :class:`NotFoundError` listing the IDs otherwise."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise NotFoundError(f"{self.name} has no control {control_id!r} in rasad's catalogue; "
                            f"its controls: {', '.join(c.id for c in self.controls)}.")

    def __iter__(self) -> Iterator[Control]:  # type: ignore[override]
        return iter(self.controls)


def _files() -> dict[str, str]:
    folder = resources.files(_PACKAGE)
    return {entry.name.removesuffix(".yaml"): entry.name for entry in folder.iterdir()
            if entry.name.endswith(".yaml")}


def frameworks() -> list[str]:
    """The frameworks that have a catalogue in this package, sorted."""
    return sorted(_files())


def load_catalogue(framework: str) -> Catalogue:
    """The catalogue of ``framework`` (a file name without ``.yaml``), validated.

    Raises
    ------
    NotFoundError
        No catalogue has that name; the message lists those there are.
    ConfigError
        The file is not valid YAML or not a catalogue; the message names the field.
    """
    files = _files()
    if framework not in files:
        raise NotFoundError(f"No control catalogue for framework {framework!r}; frameworks: "
                            f"{', '.join(sorted(files))}.")
    text = resources.files(_PACKAGE).joinpath(files[framework]).read_text(encoding="utf-8")
    return parse_catalogue(text, f"{framework}.yaml", framework=framework)


def parse_catalogue(text: str, source: str, *, framework: str | None = None) -> Catalogue:
    """A catalogue from YAML ``text`` (named ``source`` in errors); ``framework``, when
    given, must be the one the file declares.

    >>> parse_catalogue("framework: x\\nname: X\\nsource: s\\ncontrols: []", "x.yaml")
    Traceback (most recent call last):
    ...
    rasad.errors.ConfigError: Control catalogue x.yaml is not valid: controls: Tuple should \
have at least 1 item after validation, not 0.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Control catalogue {source} is not valid YAML: {exc}.") from None
    try:
        catalogue = Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'the file'}: {error['msg']}"
            for error in exc.errors())
        raise ConfigError(f"Control catalogue {source} is not valid: {problems}.") from None
    if framework is not None and catalogue.framework != framework:
        raise ConfigError(f"Control catalogue {source} declares framework "
                          f"{catalogue.framework!r}; it must be {framework!r}, its file name.")
    return catalogue


__all__ = ["Catalogue", "Control", "EvidenceKind", "frameworks", "load_catalogue",
           "parse_catalogue"]
