"""The promotion gates, and :func:`evaluate`, which runs an environment's gates in order.

Each gate is one module with ``run(inputs: GateInputs) -> GateResult``:

- :mod:`~rasad.release.gates.validation`: training and evaluation data pass their schemas;
- :mod:`~rasad.release.gates.metrics`: thresholds with bootstrap confidence intervals;
- :mod:`~rasad.release.gates.champion`: the candidate against the serving version, paired;
- :mod:`~rasad.release.gates.fairness`: the fairness engine's verdicts;
- :mod:`~rasad.release.gates.model_tests`: the behavioural tests of ``promotion.tests``;
- :mod:`~rasad.release.gates.personal_data`: no undeclared personal data among the inputs.

:func:`evaluate` computes and writes nothing; :func:`evidence_key` is the cheap part of it
that a later approval compares against, to tell whether the evidence still holds.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from typing import TYPE_CHECKING, Any

from rasad import ledger
from rasad.release.gates._base import GateInputs
from rasad.release.report import GateReport

if TYPE_CHECKING:
    from rasad.config import EnvironmentPolicy
    from rasad.core import Context
    from rasad.registry.version import ModelVersion


def environment_policy(ctx: Context, env: str) -> EnvironmentPolicy:
    """The policy ``env`` runs under (declared in ``rasad.yaml`` or its default)."""
    return ctx.config.promotion.policy(env, ctx.config.registry.environments)


def policy_sha256(ctx: Context, env: str) -> str:
    """A hash of everything in ``rasad.yaml`` that decides ``env``'s gates and approvals.

    A request opened under one policy is stale once this changes.
    """
    config = ctx.config
    policy = environment_policy(ctx, env)
    decided_by = {
        "environment": env,
        "policy": policy.model_dump(mode="json"),
        "promotion": config.promotion.model_dump(mode="json", exclude={"environments"}),
        "protected_attributes": config.data.protected_attributes,
        "favorable_outcomes": config.governance.fairness.favorable_outcomes,
    }
    if policy.require_card:  # the card gate reads what people declare about the models
        decided_by["model_declarations"] = {
            name: declared.model_dump(mode="json")
            for name, declared in sorted(config.governance.models.items())}
    text = json.dumps(decided_by, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def evidence_key(ctx: Context, candidate: ModelVersion, env: str,
                 inputs: GateInputs | None = None) -> dict[str, Any]:
    """What a gate report depends on beyond the candidate itself.

    The policy's hash, the evaluation dataset version (and content hash) the gates read,
    and the version serving in ``env`` (the champion). Reads two rows; scores nothing.
    """
    inputs = inputs or GateInputs(ctx, candidate, env, environment_policy(ctx, env),
                                  ctx.config.promotion)
    evaluation = inputs.evaluation_version
    champion = inputs.champion
    return {
        "policy_sha256": policy_sha256(ctx, env),
        "evaluation_data": None if evaluation is None else evaluation.ref,
        "evaluation_sha256": None if evaluation is None else evaluation.content_hash,
        "champion": None if champion is None else champion.ref,
    }


def evaluate(ctx: Context, candidate: ModelVersion, env: str) -> GateReport:
    """Run ``env``'s gates on ``candidate`` and return their report (writes nothing)."""
    policy = environment_policy(ctx, env)
    inputs = GateInputs(ctx, candidate, env, policy, ctx.config.promotion)
    key = evidence_key(ctx, candidate, env, inputs)
    results = []
    for name in policy.gate_names:
        gate = importlib.import_module(f"rasad.release.gates.{name}")
        results.append(gate.run(inputs))
    return GateReport(model=candidate.ref, environment=env,
                      policy_sha256=key["policy_sha256"], evidence_key=key, gates=results,
                      strict=policy.strict, created_at=ledger.utc_now())


__all__ = ["GateInputs", "GateReport", "environment_policy", "evaluate", "evidence_key",
           "policy_sha256"]
