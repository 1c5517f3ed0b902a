"""OpenLineage run events for what the ledger records: dataset versions, runs,
registrations and deployments (docs/lineage.md).

It maps audit events to OpenLineage events and sends them through the ``openlineage-python``
client; it reads the configuration and the ledger only, so the context can call it after a
transaction commits (:meth:`rasad.core.Context.transaction`), and :func:`replay` sends a
range of entries again. The client is an optional dependency (``rasad[lineage]``), loaded
only when ``lineage.transport`` is not ``none``.
"""

from rasad.lineage.emitter import ACTIONS, INSTALL, ContextLike, Emission, Emitter, replay

__all__ = ["ACTIONS", "INSTALL", "ContextLike", "Emission", "Emitter", "replay"]
