"""Promotion requests and the decisions on them, as typed results.

A :class:`PromotionRequest` is one candidate for one environment: the gate report its
promotion ran, the approval rule it waits on, the decisions people made, and where it
stands. :mod:`rasad.release.service` writes and reads them; the CLI, the HTTP API and
Python show the same JSON.

>>> from rasad.release.report import GateReport
>>> gates = GateReport(model="credit@2", environment="production", policy_sha256="ab" * 32,
...                    evidence_key={}, gates=[], created_at="2026-12-06T10:00:00.000000Z")
>>> request = PromotionRequest(
...     id=7, model="credit", version=2, environment="production", status="open",
...     opened_by="dana", opened_at="2026-12-06T10:00:00.000000Z",
...     expires_at="2026-12-20T10:00:00.000000Z", gates=gates, approvals_required=2,
...     approver_roles=["approver"], approvals=[Approval(
...         principal="amal", auth="token:1a2b", decision="approve", comment=None,
...         created_at="2026-12-06T11:00:00.000000Z")])
>>> request.ref, request.approved_by
('credit@2', ['amal'])
>>> request.message
'Request #7 (credit@2 -> production) has 1 of 2 approval(s) from approver; it expires at \
2026-12-20T10:00:00.000000Z.'
>>> PromotionRequest.from_json(request.to_json()) == request
True
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import computed_field

from rasad.registry.slots import Slot, environment_of, split, to_options
from rasad.release.report import GateReport
from rasad.results import Result


class RequestStatus(StrEnum):
    """Where a promotion request stands."""

    OPEN = "open"
    """Its gates passed; it waits for approvals."""
    PROMOTED = "promoted"
    """It deployed: at once (the environment needs no approval) or on its last approval."""
    REJECTED = "rejected"
    """An approver rejected it."""
    SUPERSEDED = "superseded"
    """A newer request for the same model and environment replaced it while it was open."""
    EXPIRED = "expired"
    """It stayed open past ``promotion.request_ttl_days`` (shown from then on; not stored)."""
    FAILED = "failed"
    """A gate blocked it; nothing was deployed."""
    FORCED = "forced"
    """Break-glass: an admin deployed it past its gates or approvals, with a justification."""


class Decision(StrEnum):
    """What a person decided on a request."""

    APPROVE = "approve"
    REJECT = "reject"
    REVIEW = "review"
    """The after-the-fact review of a break-glass promotion."""


class Approval(Result):
    """One person's decision on a request, and how they authenticated (``auth``)."""

    principal: str
    auth: str
    decision: Decision
    comment: str | None
    created_at: str


class PromotionRequest(Result):
    """A candidate version for an environment, its gate report, and the decisions on it.

    ``approvals`` holds the approvals and rejections in order; ``reviewed`` the review of a
    break-glass promotion. ``stale`` says why the evidence the gates used no longer holds
    (computed when the request is read, for open requests only); ``deployment_id`` is the
    deployment it made, if any.
    """

    id: int
    model: str
    version: int
    environment: str
    status: RequestStatus
    reason: str | None = None
    opened_by: str
    opened_at: str
    expires_at: str | None
    gates: GateReport
    approvals_required: int
    approver_roles: list[str]
    approvals: list[Approval] = []
    break_glass: bool = False
    justification: str | None = None
    reviewed: Approval | None = None
    deployment_id: int | None = None
    closed_at: str | None = None
    stale: str | None = None

    @property
    def ref(self) -> str:
        """``name@version`` of the candidate."""
        return f"{self.model}@{self.version}"

    @property
    def slot(self) -> Slot:
        """Which deployment of the environment the request is for.

        ``environment`` holds the stored target: the environment for its primary,
        ``ENV:SLOT`` for a canary or shadow, whose gates and approval rule are the
        environment's. The slot is read from it, so the JSON keeps the keys it always had.
        """
        return split(self.environment)[1]

    @property
    def approved_by(self) -> list[str]:
        """Who approved, in order."""
        return [a.principal for a in self.approvals if a.decision is Decision.APPROVE]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """One sentence: where the request stands and what can happen next."""
        head = f"Request #{self.id} ({self.ref} -> {self.environment})"
        rerun = f"`rasad promote {self.model} {self.version} {to_options(self.environment)}`"
        status = self.status
        if status is RequestStatus.OPEN and self.stale:
            return f"{head} is stale: {self.stale}. Run {rerun} to open a new request."
        if status is RequestStatus.OPEN:
            roles = " or ".join(self.approver_roles)
            return (f"{head} has {len(self.approved_by)} of {self.approvals_required} "
                    f"approval(s) from {roles}; it expires at {self.expires_at}.")
        if status is RequestStatus.PROMOTED and self.approvals_required:
            return f"{head} was approved by {', '.join(self.approved_by)} and deployed."
        if status is RequestStatus.PROMOTED:
            return (f"{head} passed its gates and deployed; "
                    f"{environment_of(self.environment)} needs no approval.")
        if status is RequestStatus.FAILED:
            return (f"{head} was blocked by its gates ({', '.join(self.gates.blocking)}); "
                    "nothing was deployed.")
        if status is RequestStatus.FORCED:
            review = (f"reviewed by {self.reviewed.principal}" if self.reviewed else
                      f"not reviewed yet: an approver runs `rasad requests review {self.id} "
                      "--comment TEXT`")
            return (f"{head} was forced by {self.opened_by} (break-glass: "
                    f"{self.justification}); {review}.")
        if status is RequestStatus.REJECTED:
            by = [a.principal for a in self.approvals if a.decision is Decision.REJECT]
            return f"{head} was rejected by {', '.join(by)}."
        if status is RequestStatus.EXPIRED:
            return f"{head} expired at {self.expires_at}. Run {rerun} to open a new request."
        return f"{head} was superseded by a newer request for {self.model} in " \
            f"{self.environment}."


class EnvironmentStatus(Result):
    """What serves a model in one environment, and the request that put it there.

    ``request_id`` is the request behind the serving deployment (for a rollback, the
    request that first deployed that version there); ``gates_passed`` and ``blocking``
    are its gate report's verdict, ``approvers`` who approved it. ``unreviewed`` lists the
    break-glass requests of this environment no approver has reviewed yet: the model is
    marked until they are (``break_glass_unreviewed``).
    """

    environment: str
    version: int | None
    deployment_id: int | None
    kind: str | None
    deployed_by: str | None
    deployed_at: str | None
    request_id: int | None
    gates_passed: bool | None
    blocking: list[str]
    approvers: list[str]
    break_glass: bool
    unreviewed: list[int]

    @property
    def slot(self) -> Slot:
        """Which deployment of the environment this is: primary, canary or shadow.

        ``environment`` holds the stored target: ``production`` for the primary,
        ``production:canary`` for its canary; the slot is read from it.
        """
        return split(self.environment)[1]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def break_glass_unreviewed(self) -> bool:
        """True while a break-glass promotion in this environment awaits its review."""
        return bool(self.unreviewed)


__all__ = ["Approval", "Decision", "EnvironmentStatus", "PromotionRequest", "RequestStatus"]
