"""A project holding one data subject in several places, for the data-subject tests.

``loans`` declares ``application_id`` as its subject-id column; ``people`` declares
``customer`` and never holds the subject. The subject ``APP-000123``:

- is in ``loans@1`` and ``loans@3`` (the latest), not in ``loans@2``;
- ``credit@1`` was trained on ``loans@1``, ``credit@2`` on ``loans@2``, ``scorecard@1``
  on ``loans@3``;
- was scored in ``production`` (``application_id`` logged as is: request ``r-prod`` row 1,
  with feedback for rows 0 and 1) and in ``staging`` (``application_id`` masked: request
  ``r-stage`` row 0), and is absent from request ``r-other``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from rasad import Project
from rasad.config import PredictionLogConfig
from rasad.core import Context
from rasad.serving.predlog import PredictionLog, SegmentKind, subject_key
from rasad.serving.predlog._segments import list_segments
from rasad.serving.records import Feedback, Scored
from tests.registry._helpers import FEATURES, portfolio, train

SUBJECT = "APP-000123"
OTHER = "APP-000124"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclasses.dataclass
class World:
    project: Project

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def ctx(self) -> Context:
        return self.project.context


def configure(root: Path, **governance: Any) -> None:
    """Declare the subject columns (and any other ``governance`` keys) in rasad.yaml."""
    path = root / "rasad.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    section = config.setdefault("governance", {})
    section["datasets"] = {"loans": {"subject_columns": ["application_id"]},
                           "people": {"subject_columns": ["customer"]}}
    section.update(governance)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def loans(seed: int, *, with_subject: bool) -> pd.DataFrame:
    frame = portfolio(seed)
    if not with_subject:
        frame = frame[frame["application_id"] != SUBJECT].reset_index(drop=True)
    return frame


def build(root: Path, **governance: Any) -> Project:
    """The world described in the module docstring (the project is reopened with the
    governance configuration)."""
    with Project.init(root, name="subjects") as made:
        pass
    configure(made.root, **governance)
    project = Project.open(made.root)
    project.add_dataset(loans(7, with_subject=True), "loans")
    project.add_dataset(loans(8, with_subject=False), "loans")
    project.add_dataset(loans(9, with_subject=True), "loans")
    project.add_dataset(pd.DataFrame({"customer": ["P-1", "P-2"], "x": [1.0, 2.0]}), "people")
    project.register(train(project, version=1).id, "credit")
    project.register(train(project, version=2).id, "credit")
    project.register(train(project, version=3).id, "scorecard")
    write_log(project)
    return project


def _scored(request_id: str, ids: list[str], at: float) -> Scored:
    frame = portfolio(7).head(len(ids))[FEATURES].copy()
    frame.insert(0, "application_id", ids)
    return Scored(request_id=request_id, received_at=at, model="credit", version=1,
                  role="primary", inputs=frame, outputs=np.zeros(len(ids)),
                  scores=np.full(len(ids), 0.25), latency_ms=1.0)


def write_log(project: Project) -> None:
    ctx = project.context
    production = PredictionLog(ctx.artifacts, "production", PredictionLogConfig(),
                               writer_id="w-prod")
    production.submit(_scored("r-prod", [OTHER, SUBJECT, "APP-000200"], T0))
    production.submit(_scored("r-other", [OTHER], T0 + 60))
    production.submit_feedback(Feedback(request_id="r-prod", received_at=T0 + 120,
                                        model="credit", rows=[0, 1], labels=[0, 1]))
    production.close()
    masked = PredictionLogConfig(personal_data={"application_id": "mask"})
    staging = PredictionLog(ctx.artifacts, "staging", masked, writer_id="w-stage",
                            key=subject_key(ctx))
    staging.submit(_scored("r-stage", [SUBJECT, OTHER], T0 + 30))
    staging.close()


def log_frames(project: Project) -> dict[str, pd.DataFrame]:
    """Every segment of the log, read back, by path."""
    store = project.artifacts
    found = {}
    for kind in SegmentKind:
        for segment in list_segments(store, kind):
            with store.fs.open(segment.path, "rb") as fh:
                found[segment.path] = pq.read_table(fh).to_pandas()
    return found


def log_bytes(project: Project) -> dict[str, bytes]:
    store = project.artifacts
    found = {}
    for kind in SegmentKind:
        for segment in list_segments(store, kind):
            with store.fs.open(segment.path, "rb") as fh:
                found[segment.path] = fh.read()
    return found


@contextmanager
def acting(project: Project, name: str) -> Iterator[Context]:
    ctx = Context.build(project.root, project.config, actor=name)
    try:
        yield ctx
    finally:
        ctx.close()
