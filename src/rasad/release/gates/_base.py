"""What every gate reads: the candidate, the policy, and the evaluation data, scored once.

:class:`GateInputs` is built once per promotion by :func:`rasad.release.gates.evaluate`
and handed to each gate. What is expensive is loaded on first use and shared: the
evaluation dataset version and its rows, the candidate's predictions on them, the
champion (the version serving in the target environment) and its predictions. A gate
that needs none of it (personal data, validation) costs nothing extra.

Each gate is a function ``run(inputs: GateInputs) -> GateResult`` in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from rasad.datasets import service as datasets
from rasad.errors import InputError, NotFoundError
from rasad.names import parse_ref
from rasad.registry import models
from rasad.release.report import GateResult, GateStatus

if TYPE_CHECKING:
    import pandas as pd

    from rasad.config import EnvironmentPolicy, PromotionConfig
    from rasad.core import Context
    from rasad.datasets.version import DatasetVersion
    from rasad.registry.version import ModelVersion


@dataclass(frozen=True)
class Scores:
    """A model's answers on the evaluation rows.

    ``proba`` has one column per class of ``classes`` (None for regressors and for
    classifiers without ``predict_proba``).
    """

    predictions: npt.NDArray[Any]
    proba: npt.NDArray[np.float64] | None
    classes: list[Any] | None


@dataclass(frozen=True)
class EvaluationData:
    """The declared evaluation dataset version, its rows and its label column."""

    version: DatasetVersion
    frame: pd.DataFrame
    target: str

    @property
    def y_true(self) -> npt.NDArray[Any]:
        return self.frame[self.target].to_numpy()


class GateInputs:
    """The candidate, the environment's policy, and lazily loaded shared evidence."""

    def __init__(self, ctx: Context, candidate: ModelVersion, env: str,
                 policy: EnvironmentPolicy, config: PromotionConfig) -> None:
        self.ctx = ctx
        self.candidate = candidate
        self.env = env
        self.policy = policy
        self.config = config

    # -- what the candidate was trained on -------------------------------------------------
    @cached_property
    def trained_target(self) -> str | None:
        """The column the candidate was trained to predict (None if its run does not say)."""
        return models.trained_target(self.ctx, self.candidate)

    @cached_property
    def training_data(self) -> list[DatasetVersion]:
        """The dataset versions the candidate's run read."""
        found = []
        for entry in self.candidate.datasets:  # {"dataset": "name@v", "content_hash", "role"}
            name, number = parse_ref(entry["dataset"])
            found.append(datasets.get(self.ctx, name, number))
        return found

    # -- evaluation data -------------------------------------------------------------------
    @cached_property
    def evaluation_version(self) -> DatasetVersion | None:
        """The declared evaluation dataset version (None when none is declared)."""
        declared = self.config.evaluation_data
        if declared is None:
            return None
        name, number = parse_ref(declared)
        try:
            return datasets.get(self.ctx, name, number)
        except NotFoundError as exc:
            raise InputError(f"promotion.evaluation_data in rasad.yaml names {declared!r}: "
                             f"{exc} Add it with `rasad data add` or fix the name.") from None

    @cached_property
    def evaluation(self) -> EvaluationData | None:
        """The evaluation rows and label column (None when no evaluation data is declared)."""
        version = self.evaluation_version
        if version is None:
            return None
        target = self.config.target or self.trained_target
        if target is None:
            raise InputError(f"Model {self.candidate.ref} does not record the column it "
                             "predicts; set promotion.target in rasad.yaml.")
        frame = datasets.load_frame(self.ctx, version).reset_index(drop=True)
        if target not in frame.columns:
            raise InputError(f"The evaluation data {version.ref} has no label column "
                             f"{target!r}; set promotion.target or promotion.evaluation_data "
                             "in rasad.yaml.")
        return EvaluationData(version=version, frame=frame, target=target)

    @cached_property
    def candidate_scores(self) -> Scores:
        """The candidate's predictions on the evaluation rows (evaluation must exist)."""
        return self.score(self.candidate)

    # -- champion --------------------------------------------------------------------------
    @cached_property
    def champion(self) -> ModelVersion | None:
        """The version serving the model in the target environment (None: first there)."""
        serving = models.detail(self.ctx, self.candidate.name).deployed.get(self.env)
        if serving is None:
            return None
        return models.resolve(self.ctx, self.candidate.name, version=serving)

    @cached_property
    def champion_scores(self) -> Scores | None:
        champion = self.champion
        return None if champion is None else self.score(champion)

    def score(self, version: ModelVersion) -> Scores:
        """``version``'s predictions on the evaluation rows (bytes and types checked)."""
        evaluation = self.evaluation
        if evaluation is None:
            raise InputError("No evaluation data is declared (promotion.evaluation_data).")
        frame = evaluation.frame
        version.signature.check(frame).raise_for_errors()
        pipeline = models.load(self.ctx, version)
        inputs = version.signature.coerce(frame)
        predictions = np.asarray(pipeline.predict(inputs))
        proba = None
        if version.task == "classification" and hasattr(pipeline, "predict_proba"):
            proba = np.asarray(pipeline.predict_proba(inputs), dtype=float)
        return Scores(predictions=predictions, proba=proba,
                      classes=list(version.classes) if version.classes else None)


def skipped(gate: str, reason: str, **evidence: Any) -> GateResult:
    """A gate that could not run, and why (the reason names what to declare)."""
    return GateResult(gate=gate, status=GateStatus.SKIPPED, summary=reason, evidence=evidence)


__all__ = ["EvaluationData", "GateInputs", "Scores", "skipped"]
