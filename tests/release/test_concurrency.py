"""Two approvers approving the same request at the same moment, from separate processes:
exactly one promotion, one clear refusal, one chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

from rasad import Project
from tests._race import race

APPROVERS = ("amal", "bilal")
TIMEOUT_S = 300  # generous: each process imports scikit-learn on a shared machine


def _approve(root: str, url: str | None, name: str, request_id: int, start: Any,
             results: Any) -> None:
    if url:
        os.environ["RASAD_DATABASE_URL"] = url
    os.environ["RASAD_USER"] = name
    from rasad.errors import ConflictError
    from rasad.registry.models import verify_artifact

    with Project.open(root) as project:
        # Connect, look the request up and load the trust policy before the race, so the
        # race is between approvals, not imports.
        request = project.request(request_id)
        candidate = project.model_version(request.model, request.version)
        verify_artifact(project.context, candidate.blob, candidate.trusted_types)
        start.wait(TIMEOUT_S)
        try:
            approved = project.approve(request_id, comment=f"{name} read the gates")
            results.put((name, str(approved.status), approved.deployment_id))
        except ConflictError as refused:
            results.put((name, "refused", str(refused)))


def test_concurrent_approvals_promote_once(project: Project) -> None:
    # Imported here: each spawned process imports this module, and the seed trains models.
    from rasad.release.requests import PromotionRequest

    from ._requests_seed import MODEL, team

    with team(project, versions=1) as t:
        request = t["omar"].promote(MODEL, 1, "production")
        assert isinstance(request, PromotionRequest)
        url = os.environ.get("RASAD_DATABASE_URL")
        outcomes: dict[str, tuple[str, Any]] = race(
            _approve, [(str(t.root), url, name, request.id) for name in APPROVERS],
            timeout=TIMEOUT_S)
        assert sorted(outcomes) == sorted(APPROVERS)
        statuses = sorted(status for status, _ in outcomes.values())
        assert statuses == ["promoted", "refused"], outcomes
        (winner,) = [name for name, (status, _) in outcomes.items() if status == "promoted"]
        (loser,) = [name for name, (status, _) in outcomes.items() if status == "refused"]
        assert f"Request #{request.id}" in outcomes[loser][1]
        assert "is promoted: it already deployed" in outcomes[loser][1]

        with t.admin.db.read_engine.connect() as conn:
            deployments = conn.execute(sa.text(
                "SELECT id, request_id, deployed_by FROM deployments WHERE model_name = :m"),
                {"m": MODEL}).all()
            approvals = conn.execute(sa.text(
                "SELECT principal, decision FROM approvals WHERE request_id = :r"),
                {"r": request.id}).all()
        assert [tuple(d) for d in deployments] == [(outcomes[winner][1], request.id, winner)]
        assert [tuple(a) for a in approvals] == [(winner, "approve")]
        seen = t["vic"].request(request.id)
        assert seen.status == "promoted" and seen.approved_by == [winner]
        assert t.admin.model(MODEL).deployed == {"production": 1}
        assert len(t.admin.audit_log(action="model.promotion")) == 1
        assert [e.actor for e in t.admin.audit_log(action="promotion.approved")] == [winner]
        verification = t.admin.verify_audit()
        assert verification.ok, verification.reason
