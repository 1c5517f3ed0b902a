"""The model registry: versions with lineage, environments and their deployment slots,
promotions, rollbacks and retirements."""

from rasad.registry.slots import Slot
from rasad.registry.version import (
    Deployment,
    DeploymentKind,
    ModelDetail,
    ModelVersion,
    Registration,
    Retirement,
    ServingSet,
)
from rasad.tables.signature import ColumnSpec, Signature, SignatureReport

__all__ = [
    "ColumnSpec",
    "Deployment",
    "DeploymentKind",
    "ModelDetail",
    "ModelVersion",
    "Registration",
    "Retirement",
    "ServingSet",
    "Signature",
    "SignatureReport",
    "Slot",
]
