"""OpenLineage run events for what the ledger records: dataset versions, runs,
registrations and deployments (docs/lineage.md).

It maps audit events to OpenLineage events and sends them through the ``openlineage-python``
client; it reads the configuration and the ledger only, so the context can call it after a
transaction commits.
"""

__all__: list[str] = []
