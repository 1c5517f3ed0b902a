"""A prediction_log source: the last rows or days of what a model served, with feedback.

The log lives in the artifact store, so these tests need no PostgreSQL variant."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rasad import Project
from rasad.automation.sources import log_window
from rasad.errors import InputError
from rasad.serving.predlog import PredictionLog
from tests.serving.test_predlog import DAY, config, feedback, scored

from .test_sources import CONFIG, make

HOUR = 3600.0
AFTER_TWO_DAYS = "2026-05-06T12:00:00.000000Z"  # DAY (noon, 2026-05-04) + 48 hours


def _served(project: Project, env: str = "production") -> None:
    """Request r{h} at DAY + h hours for two days; labels for the even hours."""
    log = PredictionLog.open(project.context, env, config())
    for h in range(48):
        log.submit(scored(h, at=DAY + h * HOUR))
    for h in range(0, 48, 2):
        log.submit_feedback(feedback(h, (h % 3,), at=DAY + h * HOUR + 60))
    log.close()


def test_the_last_rows_and_days_with_labels(tmp_path: Path) -> None:
    with make(tmp_path / "proj") as proj:
        _served(proj)
        ctx = dataclasses.replace(proj.context, clock=lambda: AFTER_TWO_DAYS)
        everything = log_window(ctx, "served")
        assert len(everything) == 48
        last = log_window(ctx, "served", rows=5)
        assert last["request_id"].tolist() == [f"r{h}" for h in range(43, 48)]
        assert last.index.tolist() == list(range(5))
        assert last["label"].tolist()[1::2] == [44 % 3, 46 % 3]
        assert last["label"].isna().tolist() == [h % 2 == 1 for h in range(43, 48)]
        day = log_window(ctx, "served", days=1)
        assert day["request_id"].tolist() == [f"r{h}" for h in range(24, 48)]
        both = log_window(ctx, "served", days=0.5, rows=100)  # the days bound decides
        assert len(both) == 12
        assert "masked_columns" in last.attrs


def test_the_sources_environment_is_read(tmp_path: Path) -> None:
    staged = CONFIG.replace("model: credit", "model: credit\n      environment: staging")
    with make(tmp_path / "proj", staged) as proj:
        _served(proj, env="production")
        with pytest.raises(InputError, match="give --env production"):
            log_window(proj.context, "served")
        _served(proj, env="staging")
        assert len(log_window(proj.context, "served", rows=3)) == 3


@pytest.mark.parametrize(("rows", "days", "message"), [
    (0, None, "at least 1 row"),
    (None, 0.0, "positive number of days"),
    (None, -1.0, "positive number of days"),
])
def test_empty_windows_are_refused(tmp_path: Path, rows: int | None, days: float | None,
                                   message: str) -> None:
    with make(tmp_path / "proj") as proj, pytest.raises(InputError, match=message):
        log_window(proj.context, "served", rows=rows, days=days)


def test_a_model_that_served_nothing_says_so(tmp_path: Path) -> None:
    with make(tmp_path / "proj") as proj, pytest.raises(InputError, match="no predictions"):
        log_window(proj.context, "served", days=7)
