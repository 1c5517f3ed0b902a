"""Deployment slots: the primary of an environment, its canary and its shadow.

A model has up to three deployments per environment. The **primary** answers the
requests (everything deployed before slots existed is a primary); a **canary** answers a
share of them (``serving.environments.ENV.canary`` in ``rasad.yaml``); a **shadow**
scores the same requests without answering, for comparison in the prediction log.

A slot is stored without a column of its own: the ``environment`` column of
``deployments``, ``current_deployments`` and ``promotion_requests`` holds a *target*,
the environment's name for its primary and ``ENV:SLOT`` for the others. So the primary
key of ``current_deployments`` still allows at most one version per (model,
environment, slot) (invariant 3), and every existing query for a (model, environment)
still means its primary. Environment names cannot hold ``:``
(``registry.environments``), so a target splits one way only. This module is the one
place that spells or reads a target.

>>> target("production", Slot.CANARY), target("production", "primary")
('production:canary', 'production')
>>> split("production:shadow"), split("production")
(('production', <Slot.SHADOW: 'shadow'>), ('production', <Slot.PRIMARY: 'primary'>))
>>> [target("staging", slot) for slot in Slot]
['staging', 'staging:canary', 'staging:shadow']
"""

from __future__ import annotations

from enum import StrEnum

from rasad.errors import InputError

SEPARATOR = ":"
"""Between an environment and its slot in a target (``production:canary``)."""


class Slot(StrEnum):
    """Which deployment of a model in an environment: the one that answers, or beside it."""

    PRIMARY = "primary"
    """Answers the environment's requests."""
    CANARY = "canary"
    """Answers ``serving.environments.ENV.canary.share`` of them, sticky by its ``key``."""
    SHADOW = "shadow"
    """Scores the same requests as the primary without answering; only logged."""


def parse_slot(value: Slot | str) -> Slot:
    """A slot from its name, case and spaces forgiven; an InputError listing the slots.

    >>> parse_slot(" Canary ")
    <Slot.CANARY: 'canary'>
    >>> parse_slot("blue")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: 'blue' is not a deployment slot; slots are primary, canary, \
shadow.
    """
    try:
        return Slot(str(value).strip().lower())
    except ValueError:
        raise InputError(f"{str(value)!r} is not a deployment slot; slots are "
                         f"{', '.join(Slot)}.") from None


def target(env: str, slot: Slot | str = Slot.PRIMARY) -> str:
    """The stored name of ``slot`` in environment ``env``: ``env`` itself for the primary,
    ``env:slot`` for the others."""
    chosen = parse_slot(slot)
    return env if chosen is Slot.PRIMARY else f"{env}{SEPARATOR}{chosen}"


def split(stored: str) -> tuple[str, Slot]:
    """The environment and slot a stored target names (the inverse of :func:`target`).

    >>> split("production:canary")
    ('production', <Slot.CANARY: 'canary'>)
    >>> split("production:primary")
    Traceback (most recent call last):
    ...
    rasad.errors.InputError: 'production:primary' is not a deployment target: the primary \
is stored as 'production'.
    """
    env, separator, slot = stored.partition(SEPARATOR)
    if not separator:
        return env, Slot.PRIMARY
    chosen = parse_slot(slot)
    if chosen is Slot.PRIMARY:
        raise InputError(f"{stored!r} is not a deployment target: the primary is stored as "
                         f"{env!r}.")
    return env, chosen


def environment_of(stored: str) -> str:
    """The environment of a stored target, whose policy and gates apply to it.

    >>> environment_of("production:canary"), environment_of("dev")
    ('production', 'dev')
    """
    return split(stored)[0]


def to_options(stored: str) -> str:
    """The ``rasad promote`` options that name a stored target.

    >>> to_options("production:canary"), to_options("staging")
    ('--to production --slot canary', '--to staging')
    """
    env, slot = split(stored)
    return f"--to {env}" if slot is Slot.PRIMARY else f"--to {env} --slot {slot}"


def describe(stored: str) -> str:
    """A stored target in words.

    >>> describe("production:shadow"), describe("production")
    ('the shadow of production', 'production')
    """
    env, slot = split(stored)
    return env if slot is Slot.PRIMARY else f"the {slot} of {env}"


__all__ = ["SEPARATOR", "Slot", "describe", "environment_of", "parse_slot", "split", "target",
           "to_options"]
