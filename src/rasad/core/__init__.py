"""The core below every service: the :class:`Context` that carries the database,
artifact store, configuration, clock and acting principal into each service call."""

from rasad.core.context import Context

__all__ = ["Context"]
