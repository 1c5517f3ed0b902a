"""The model registry: versions with lineage, environments, promotions and rollbacks."""

from rasad.registry.signature import ColumnSpec, Signature, SignatureReport
from rasad.registry.version import Deployment, ModelDetail, ModelVersion, Registration

__all__ = [
    "ColumnSpec",
    "Deployment",
    "ModelDetail",
    "ModelVersion",
    "Registration",
    "Signature",
    "SignatureReport",
]
