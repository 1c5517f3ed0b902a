"""The rasad error hierarchy.

Every error rasad raises on purpose derives from :class:`RasadError`. Subclasses
also inherit the matching builtin, so callers can catch ``ValueError`` or
``LookupError`` as usual. Each message names the bad value and the next step.
The CLI maps these classes to exit codes in one place (``rasad.cli.app.run``).

>>> issubclass(NotFoundError, LookupError)
True
>>> str(InputError("Column 'x' is missing; add it or drop it from the features."))
"Column 'x' is missing; add it or drop it from the features."
"""

from __future__ import annotations

from typing import Any


class RasadError(Exception):
    """Base class of every error rasad raises on purpose."""

    exit_code: int = 2


class InputError(RasadError, ValueError):
    """Bad input from the user: a file, a value, an argument."""


class ConfigError(InputError):
    """``rasad.yaml`` or an environment variable holds a value that is not allowed."""


class NotFoundError(RasadError, LookupError):
    """A named thing (project, dataset, run, model, version, environment) does not exist."""


class ConflictError(RasadError):
    """The request conflicts with the current state (for example, a non-empty folder)."""


class SchemaVersionError(RasadError):
    """The metadata database is older (or newer) than this version of rasad."""


class IntegrityError(RasadError):
    """Stored bytes do not match their recorded hash, or a chain is broken."""

    exit_code = 1


class UntrustedArtifactError(RasadError, PermissionError):
    """An artifact holds types that rasad's trusted-types policy does not allow.

    A refused artifact is a failed check (exit 1), like a corrupt one.
    """

    exit_code = 1


class PermissionDenied(RasadError, PermissionError):
    """The acting principal lacks the permission an action needs; nothing was changed.

    A usage error (exit 2 on the CLI; 403 over HTTP). The message names the principal, the
    missing permission, the roles that grant it and who can grant them.
    """


class CheckFailed(RasadError):
    """A check ran and failed (for example, the audit chain is broken)."""

    exit_code = 1


class GatesFailed(CheckFailed):
    """A promotion's gates blocked it; nothing was deployed.

    ``request`` is the promotion request recorded as failed, with every gate's result and
    evidence (a :class:`rasad.release.requests.PromotionRequest`; typed loosely here, since
    this module sits below everything that defines results).
    """

    def __init__(self, message: str, request: Any = None) -> None:
        super().__init__(message)
        self.request = request


__all__ = [
    "CheckFailed",
    "ConfigError",
    "ConflictError",
    "GatesFailed",
    "InputError",
    "IntegrityError",
    "NotFoundError",
    "PermissionDenied",
    "RasadError",
    "SchemaVersionError",
    "UntrustedArtifactError",
]
