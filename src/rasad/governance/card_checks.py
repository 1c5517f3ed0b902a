"""When a model card is complete: the one rule the card and the card gate share.

A model card (:mod:`rasad.compliance.card`) is generated from the records, but some of
what it must say only people can declare, in ``rasad.yaml``. :func:`card_gaps` lists
every declaration the card of a model would miss, each with the key that supplies it;
nothing is ever filled in for a missing one. A gap is *required* (the card is incomplete
and the ``card`` promotion gate blocks: ``promotion.environments.ENV.require_card``) or
*recommended* (listed on the card, blocking nothing). :data:`MODEL_FIELDS` and
:data:`EVIDENCE` are the table, with the reason for each row.

The rule reads the configuration only, so the gate costs nothing and the card and the
gate cannot disagree. It sits in ``governance`` (below ``release``, which the gate is in)
and imports nothing that touches the store.

>>> from rasad.config import ProjectConfig
>>> config = ProjectConfig(name="demo")
>>> gaps = card_gaps(config, "credit", ["loans"])
>>> [g.key for g in gaps if g.required][:3]
['governance.models.credit.owner', 'governance.models.credit.risk_tier', \
'governance.models.credit.intended_use']
>>> complete(gaps)
False
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from rasad.governance.datasheet_result import QUESTIONS
from rasad.results import Result

if TYPE_CHECKING:
    from rasad.config import ProjectConfig

MODEL_FIELDS: Final[tuple[tuple[str, bool, str], ...]] = (
    ("owner", True, "who answers for the model (model details: owners)"),
    ("risk_tier", True, "how much validation and review the model needs"),
    ("intended_use", True, "what the model is for (considerations: use cases)"),
    ("out_of_scope_uses", True, "what it must not be used for"),
    ("limitations", True, "where it is known to fail or degrade"),
    ("users", True, "who is meant to use its outputs"),
    ("ethical_considerations", True, "the risks people identified and their mitigation"),
    ("description", False, "the card's overview"),
    ("license", False, "under what terms the model may be used"),
    ("references", False, "papers, design notes, validation reports"),
)
"""``governance.models.NAME`` keys: (key, required, what the card uses it for)."""

EVIDENCE: Final[tuple[tuple[str, bool, str], ...]] = (
    ("promotion.evaluation_data", True,
     "labelled data the card's metrics, slices, fairness and importances are measured on"),
    ("data.protected_attributes", True, "the groups fairness is assessed across"),
)
"""Declarations outside ``governance.models`` without which the card has no figures."""


class Gap(Result):
    """One declaration the card lacks: the ``rasad.yaml`` key that would supply it."""

    key: str
    what: str
    required: bool


def card_gaps(config: ProjectConfig, model: str, datasets: Iterable[str]) -> tuple[Gap, ...]:
    """Every declaration the card of ``model`` lacks, required ones first in table order.

    Parameters
    ----------
    config : ProjectConfig
        The project's configuration.
    model : str
        The model's name (``governance.models.NAME``).
    datasets : iterable of str
        The names of the datasets the card describes (training and evaluation data):
        each question of their datasheet left open is a recommended gap.
    """
    declared = config.governance.models.get(model)
    gaps: list[Gap] = []
    for key, required, what in MODEL_FIELDS:
        value = None if declared is None else getattr(declared, key)
        if value is None or value == [] or value == {} or (isinstance(value, str)
                                                           and not value.strip()):
            gaps.append(Gap(key=f"governance.models.{model}.{key}", what=what,
                            required=required))
    present = {"promotion.evaluation_data": config.promotion.evaluation_data is not None,
               "data.protected_attributes": bool(config.data.protected_attributes)}
    gaps += [Gap(key=key, what=what, required=required)
             for key, required, what in EVIDENCE if not present[key]]
    for name in dict.fromkeys(datasets):
        answers = config.governance.datasets.get(name)
        for topic, question in QUESTIONS:
            answer = None if answers is None else getattr(answers, topic)
            if answer is None or not answer.strip():
                gaps.append(Gap(key=f"governance.datasets.{name}.{topic}",
                                what=f"datasheet of {name}: {question}", required=False))
    return tuple(sorted(gaps, key=lambda g: not g.required))


def complete(gaps: Sequence[Gap]) -> bool:
    """True when no gap is required."""
    return not any(g.required for g in gaps)


__all__ = ["EVIDENCE", "MODEL_FIELDS", "Gap", "card_gaps", "complete"]
