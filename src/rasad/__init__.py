"""rasad: MLOps automation with governance built in.

The entry object is :class:`Project`; pure computations live in their packages
(``rasad.drift``, ``rasad.evaluation``, ...). ``Project`` loads on first use, so
``import rasad.drift`` does not pay for the database and ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasad.errors import RasadError

if TYPE_CHECKING:
    from rasad.project import Project

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Project":
        from rasad.project import Project

        return Project
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Project", "RasadError", "__version__"]
