"""The model registry: versions with lineage, environments, promotions and rollbacks."""

from rasad.registry.version import Deployment, ModelDetail, ModelVersion, Registration
from rasad.tables.signature import ColumnSpec, Signature, SignatureReport

__all__ = [
    "ColumnSpec",
    "Deployment",
    "ModelDetail",
    "ModelVersion",
    "Registration",
    "Signature",
    "SignatureReport",
]
