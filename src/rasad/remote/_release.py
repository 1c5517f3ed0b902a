"""The governed-promotion verbs of :class:`rasad.remote.RemoteProject`.

Promote through the environment's gates, force a promotion (break-glass), and decide on
promotion requests from another machine, with an API token: each verb is one request to
the management API, read back into what the :class:`rasad.Project` verb returns. A gate
that blocks comes back as the same :class:`~rasad.errors.GatesFailed`, its ``request``
rebuilt from the problem (:func:`rasad.remote.client.error_for`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rasad.errors import InputError
from rasad.evaluation.behaviour import ModelTestReport
from rasad.names import parse_ref
from rasad.registry import Deployment, Retirement
from rasad.registry.slots import Slot, parse_slot
from rasad.release.requests import EnvironmentStatus, PromotionRequest, RequestStatus
from rasad.remote.client import segment

if TYPE_CHECKING:
    from rasad.remote.client import Client


class ReleaseVerbs:
    """``promote``, ``force_promote``, ``approve``, ``reject``, ``review``, ``requests``,
    ``request``, ``environment_status`` and ``test_model`` over the server."""

    client: Client

    def promote(self, name: str, version: int, to: str, *, reason: str | None = None,
                slot: Slot | str = "primary") -> Deployment | PromotionRequest:
        """Run ``to``'s gates on the server; a deployment, or the request opened.

        Raises
        ------
        GatesFailed
            If a gate blocks; ``.request`` is the failed request the server recorded.
        """
        body = {"version": version, "to": to, "reason": reason, "slot": str(parse_slot(slot))}
        answer = self.client.post(f"/models/{segment(name)}/promotions", body)
        return _promoted(answer)

    def force_promote(self, name: str, version: int, to: str, *, justification: str,
                      slot: Slot | str = "primary") -> PromotionRequest:
        """Break-glass: deploy whatever the gates and approvals say (admins only)."""
        body = {"version": version, "to": to, "justification": justification,
                "slot": str(parse_slot(slot))}
        return PromotionRequest.from_dict(
            self.client.post(f"/models/{segment(name)}/break-glass", body))

    def retire(self, name: str, env: str, slot: Slot | str, *,
               reason: str | None = None) -> Retirement:
        """End the canary or shadow of ``name`` in ``env`` on the server."""
        chosen = parse_slot(slot)
        if chosen is Slot.PRIMARY:
            # The API's body takes canary or shadow only; this is the refusal a local
            # `retire` gives (rasad.registry.promotion.retire), in the same words.
            raise InputError(f"The primary of {env} is not retired: it answers the requests. "
                             f"Promote another version (`rasad promote {name} VERSION --to "
                             f"{env}`) or roll back (`rasad rollback {name} --env {env}`); "
                             "retire takes --slot canary or --slot shadow.")
        body = {"env": env, "slot": str(chosen), "reason": reason}
        return Retirement.from_dict(
            self.client.post(f"/models/{segment(name)}/retirements", body))

    def approve(self, request_id: int, *, comment: str | None = None) -> PromotionRequest:
        return self._decide(request_id, "approve", comment)

    def reject(self, request_id: int, *, comment: str) -> PromotionRequest:
        return self._decide(request_id, "reject", comment)

    def review(self, request_id: int, *, comment: str) -> PromotionRequest:
        return self._decide(request_id, "review", comment)

    def requests(self, *, model: str | None = None, environment: str | None = None,
                 status: RequestStatus | str | None = None) -> list[PromotionRequest]:
        """Promotion requests, newest first, optionally of one model, environment or status."""
        found = self.client.get("/requests", {
            "model": model, "env": environment,
            "status": None if status is None else str(status)})
        return [PromotionRequest.from_dict(item) for item in found]

    def request(self, request_id: int) -> PromotionRequest:
        return PromotionRequest.from_dict(self.client.get(f"/requests/{int(request_id)}"))

    def environment_status(self, name: str) -> list[EnvironmentStatus]:
        """Per environment: what serves, the request behind it, break-glass not reviewed."""
        found = self.client.get(f"/models/{segment(name)}/environments")
        return [EnvironmentStatus.from_dict(item) for item in found]

    def test_model(self, name: str, version: int | None = None, *,
                   data: str | None = None) -> ModelTestReport:
        """The behavioural tests of ``promotion.tests``, run by the server (stores nothing)."""
        model, pinned = parse_ref(name)
        if pinned is not None and version is not None and pinned != version:
            raise InputError(f"{name!r} already names version {pinned}; drop the separate "
                             f"version {version}.")
        number = pinned if pinned is not None else version
        return ModelTestReport.from_dict(self.client.get(
            f"/models/{segment(model)}/tests", {"version": number, "data": data}))

    def _decide(self, request_id: int, verb: str, comment: str | None) -> PromotionRequest:
        answer = self.client.post(f"/requests/{int(request_id)}/{verb}", {"comment": comment})
        return PromotionRequest.from_dict(answer)


def _promoted(answer: dict[str, Any]) -> Deployment | PromotionRequest:
    # A deployment has `deployed_at`; a request (202) has its `status` instead.
    if "deployed_at" in answer:
        return Deployment.from_dict(answer)
    return PromotionRequest.from_dict(answer)
