"""The model registry: versions with lineage, environments, promotions and rollbacks."""

from rasad.registry.version import (
    Deployment,
    DeploymentKind,
    ModelDetail,
    ModelVersion,
    Registration,
)
from rasad.tables.signature import ColumnSpec, Signature, SignatureReport

__all__ = [
    "ColumnSpec",
    "Deployment",
    "DeploymentKind",
    "ModelDetail",
    "ModelVersion",
    "Registration",
    "Signature",
    "SignatureReport",
]
