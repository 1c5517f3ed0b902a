"""The model inventory: the register a model-risk function keeps, as typed results.

One :class:`InventoryEntry` per registered model: its declared owner and risk tier
(``governance.models.NAME`` in ``rasad.yaml``; a declaration that is not there is listed
in ``missing``, never filled in), where it serves (primary, canary, shadow per
environment), when its training data was last validated and its last approval, its open
promotion requests, its break-glass promotions awaiting review, the automation loop's
state for it (open triggers, the last retraining), its monitors' last alert, and its
versions flagged 'retrain required' by a data subject's erasure (docs/subjects.md).

The types live here, with the controls the register evidences (:data:`CONTROLS`); the
service that reads them from the registry, the release records and the automation tables
is :func:`rasad.automation.inventory.inventory` (it needs ``rasad.release``, which
imports ``rasad.governance`` for the fairness gate, so it cannot live in this package
without an import cycle).

>>> entry = InventoryEntry(model="credit", latest_version=2, versions=2, declared=False,
...                        missing=["owner", "risk_tier"])
>>> entry.owner is None, entry.to_dict()["missing"]
(True, ['owner', 'risk_tier'])
>>> [c.id for c in CONTROLS][:2]
['SR 11-7 / SR 26-2', 'SAMA CSF 3.3.3']
"""

from __future__ import annotations

from typing import Final

from rasad.results import Result

DECLARED_FIELDS: Final = ("owner", "risk_tier")
"""What ``governance.models.NAME`` must declare for the inventory; each one left out is
listed in :attr:`InventoryEntry.missing`."""

NOT_TRACKED: Final[tuple[str, ...]] = ()
"""What the register is expected to hold and rasad does not record yet (nothing now: the
'retrain required' flag of an erasure is :attr:`InventoryEntry.retrain_required`)."""


class Control(Result):
    """A control or supervisory element the inventory is evidence for, with its verified
    title and how well that title is sourced (``V-official`` or ``V-secondary``,
    from ``research/regulation.md``)."""

    framework: str
    id: str
    title: str
    status: str


CONTROLS: Final = (
    Control(framework="US Fed SR 11-7 (superseded by SR 26-2, Apr 2026)",
            id="SR 11-7 / SR 26-2", title="Model inventory", status="V-secondary"),
    Control(framework="SAMA Cyber Security Framework v1.0", id="SAMA CSF 3.3.3",
            title="Asset Management", status="V-secondary"),
    Control(framework="SAMA Cyber Security Framework v1.0", id="SAMA CSF 3.2.1",
            title="Cyber Security Risk Management", status="V-official"),
    Control(framework="NCA Essential Cybersecurity Controls (ECC-2:2024)", id="ECC 2-1",
            title="Asset Management", status="V-official"),
)
"""The register rows this inventory serves. SAMA has no model-risk guideline that could be
verified; SR 11-7's element name (not its section numbers, unverified) is cited."""


class Serving(Result):
    """What serves a model in one environment: the version in each slot (None: empty)."""

    environment: str
    primary: int | None = None
    canary: int | None = None
    shadow: int | None = None


class DataValidation(Result):
    """A training dataset version of a serving (or, when none serves, the latest) version,
    and its last recorded validation (None: never validated)."""

    dataset: str
    model_versions: list[int]
    last_validated_at: str | None = None
    ok: bool | None = None


class LastApproval(Result):
    """The newest approval given on any promotion request of the model."""

    request_id: int
    version: int
    environment: str
    approver: str
    approved_at: str


class OpenRequest(Result):
    """A promotion request waiting for approvers (``stale``: why its evidence no longer
    holds, None when it does)."""

    id: int
    version: int
    environment: str
    opened_by: str
    opened_at: str
    expires_at: str | None
    approvals: int
    approvals_required: int
    stale: str | None = None


class BreakGlass(Result):
    """A forced promotion no approver has reviewed yet."""

    request_id: int
    version: int
    environment: str
    forced_by: str
    forced_at: str
    justification: str | None


class LoopTrigger(Result):
    """An open trigger of one of the model's monitors; ``retraining`` lists the steps of its
    retraining finished so far (empty when it has not started or does not retrain)."""

    id: int
    monitor: str
    kind: str
    summary: str
    actions: list[str]
    fired_at: str
    retraining: list[str] = []


class LastRetraining(Result):
    """How the model's newest finished retraining ended."""

    trigger_id: int
    status: str
    version: int | None
    request_id: int | None
    reason: str | None
    finished_at: str


class LastAlert(Result):
    """The newest drift or performance monitor result that alerted for the model."""

    monitor: str
    kind: str
    result_id: int
    reference: str
    current: str
    created_at: str


class RetrainRequired(Result):
    """A version of the model trained on data that held an erased subject: it must be
    retrained by ``due_at`` (``overdue`` once that has passed). The flag stays until a newer
    version, trained on none of the erasure's data, is registered."""

    version: int
    erasure_id: int
    due_at: str
    flagged_at: str
    overdue: bool


class InventoryEntry(Result):
    """One model in the register. ``declared`` is False when ``governance.models.NAME`` is
    absent; ``missing`` names each of :data:`DECLARED_FIELDS` not declared."""

    model: str
    latest_version: int
    versions: int
    declared: bool
    owner: str | None = None
    risk_tier: str | None = None
    missing: list[str] = []
    serving: list[Serving] = []
    training_data: list[DataValidation] = []
    last_approval: LastApproval | None = None
    open_requests: list[OpenRequest] = []
    break_glass_unreviewed: list[BreakGlass] = []
    monitors: list[str] = []
    open_triggers: list[LoopTrigger] = []
    last_retraining: LastRetraining | None = None
    last_alert: LastAlert | None = None
    retrain_required: list[RetrainRequired] = []


class Inventory(Result):
    """Every registered model, by name; ``orphan_declarations`` are ``governance.models``
    entries naming no registered model (a typo, or a model not registered yet)."""

    project: str
    generated_at: str
    controls: list[Control]
    models: list[InventoryEntry]
    orphan_declarations: list[str] = []
    not_tracked: list[str] = list(NOT_TRACKED)


__all__ = ["CONTROLS", "DECLARED_FIELDS", "NOT_TRACKED", "BreakGlass", "Control",
           "DataValidation", "Inventory", "InventoryEntry", "LastAlert", "LastApproval",
           "LastRetraining", "LoopTrigger", "OpenRequest", "RetrainRequired", "Serving"]
