"""The card gate: the candidate's model card must be complete.

Runs only where ``promotion.environments.ENV.require_card`` is true (production, as a
rule). It applies the rule the card itself applies
(:func:`rasad.governance.card_checks.card_gaps`): every required declaration of
``governance.models.NAME`` (owner, risk tier, intended use, out-of-scope uses,
limitations, users, ethical considerations), evaluation data and protected attributes
must be declared. It fails listing each missing key; recommended gaps (description,
licence, references, open datasheet questions of the candidate's training and evaluation
data) are in the evidence but block nothing. It reads the configuration and the
candidate's recorded datasets only: no data is scored.
"""

from __future__ import annotations

from rasad.governance.card_checks import card_gaps, complete
from rasad.names import parse_ref
from rasad.release.gates._base import GateInputs
from rasad.release.report import GateResult, GateStatus

GATE = "card"


def run(inputs: GateInputs) -> GateResult:
    """Check that ``rasad.yaml`` declares everything the candidate's card needs."""
    ctx, candidate = inputs.ctx, inputs.candidate
    described = [parse_ref(str(entry["dataset"]))[0] for entry in candidate.datasets]
    if inputs.config.evaluation_data is not None:
        described.append(parse_ref(inputs.config.evaluation_data)[0])
    gaps = card_gaps(ctx.config, candidate.name, described)
    required = [g.key for g in gaps if g.required]
    if complete(gaps):
        summary = (f"The model card of {candidate.ref} is complete"
                   + (f" ({len(gaps)} recommended declaration(s) open: "
                      f"{', '.join(g.key for g in gaps)})." if gaps else "."))
    else:
        summary = (f"The model card of {candidate.ref} is incomplete: declare "
                   f"{', '.join(required)} in rasad.yaml (`rasad card {candidate.ref}` "
                   "lists what is missing).")
    return GateResult(gate=GATE, status=GateStatus.PASSED if complete(gaps)
                      else GateStatus.FAILED, summary=summary,
                      evidence={"model": candidate.ref, "artifact_sha256": candidate.blob,
                                "datasets": list(dict.fromkeys(described)),
                                "missing": [g.to_dict() for g in gaps],
                                "blocking": required})


__all__ = ["GATE", "run"]
