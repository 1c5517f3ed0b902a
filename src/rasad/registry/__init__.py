"""The model registry: versions with lineage, environments, promotions and rollbacks."""

from rasad.registry.signature import ColumnSpec, Signature, SignatureReport
from rasad.registry.version import Deployment, ModelDetail, ModelVersion

__all__ = [
    "ColumnSpec",
    "Deployment",
    "ModelDetail",
    "ModelVersion",
    "Signature",
    "SignatureReport",
]
