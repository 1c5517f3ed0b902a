"""Reading the prediction log: windows, roles, environments, feedback, and clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rasad import Project
from rasad.errors import InputError, IntegrityError
from rasad.serving.predlog import LogWindow, PredictionLog, read_log

from .test_predlog import DAY, config, feedback, scored

NOON = datetime.fromtimestamp(DAY, UTC)
HOUR = 3600.0


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "proj", name="test") as proj:
        yield proj


def _ids(frame: pd.DataFrame) -> list[str]:
    return frame["request_id"].tolist()


def _hourly(project: Project, hours: int = 72, env: str = "production") -> None:
    """Request r{h} at NOON + h hours: three UTC days of predictions."""
    log = PredictionLog.open(project.context, env, config())
    for h in range(hours):
        log.submit(scored(h, at=DAY + h * HOUR))
    log.close()


def test_since_is_included_and_until_excluded(project: Project) -> None:
    _hourly(project)
    frame = read_log(project.context, "credit", since=NOON + timedelta(hours=11),
                     until=NOON + timedelta(hours=14))
    assert _ids(frame) == ["r11", "r12", "r13"]
    naive = read_log(project.context, "credit", since=datetime(2026, 5, 6, 11, 0))  # UTC
    assert _ids(naive) == [f"r{h}" for h in range(47, 72)]
    everything = read_log(project.context, "credit")
    assert len(everything) == 72 and everything["time"].is_monotonic_increasing


def test_days_outside_the_window_are_not_even_opened(local: Project) -> None:
    _hourly(local)
    day_folder = Path(local.artifacts.root) / "predictions/production/credit/date=2026-05-04"
    (day_folder / "0000000000000000000-junk-000001.parquet").write_bytes(b"not parquet")
    frame = read_log(local.context, "credit", since=datetime(2026, 5, 5, tzinfo=UTC))
    assert len(frame) == 60  # 2026-05-05 00:00 (r12) onwards
    with pytest.raises(IntegrityError, match="cannot be read.*changed or truncated"):
        read_log(local.context, "credit")  # the window that needs the broken segment


def test_role_filter(local: Project) -> None:
    log = PredictionLog.open(local.context, "production", config())
    log.submit(scored(0, role="primary", version=3))
    log.submit(scored(0, role="shadow", version=4))  # the same request, scored in the shadow
    log.submit(scored(1, role="canary", version=5))
    log.close()
    assert read_log(local.context, "credit")["version"].tolist() == [3]
    assert read_log(local.context, "credit", role="shadow")["version"].tolist() == [4]
    assert sorted(read_log(local.context, "credit", role=None)["version"]) == [3, 4, 5]
    with pytest.raises(InputError, match="Role 'backup' is not one of primary, canary, shadow"):
        read_log(local.context, "credit", role="backup")  # type: ignore[arg-type]


def test_environments_are_apart(local: Project) -> None:
    _hourly(local, hours=2, env="staging")
    _hourly(local, hours=3, env="production")
    assert len(read_log(local.context, "credit", environment="staging")) == 2
    assert len(read_log(local.context, "credit")) == 5
    with pytest.raises(InputError, match="it has some in production, staging: give --env"):
        read_log(local.context, "credit", environment="dev")


def test_feedback_joins_the_latest_label_per_prediction(project: Project) -> None:
    log = PredictionLog.open(project.context, "production", config())
    log.submit(scored(0, rows=3))
    log.submit(scored(1))
    log.submit(scored(2))
    log.submit(scored(0, model="fraud"))
    log.submit_feedback(feedback(0, (1, 0), at=DAY + 5))
    log.submit_feedback(feedback(0, (1,), rows=(1,), at=DAY + 9))        # a correction
    log.submit_feedback(feedback(1, (0,), at=DAY + 3 * 86_400))           # days later
    log.submit_feedback(feedback(9, (1,)))                                # no such request
    log.submit_feedback(feedback(2, (0,), model="fraud"))                 # another model's
    log.close()
    frame = read_log(project.context, "credit")
    labels = dict(zip(zip(frame["request_id"], frame["row"], strict=True), frame["label"],
                      strict=True))
    assert labels[("r0", 0)] == 1 and labels[("r0", 1)] == 1 and labels[("r1", 0)] == 0
    assert np.isnan(labels[("r0", 2)]) and np.isnan(labels[("r2", 0)])
    assert len(frame) == 5
    assert "label" not in read_log(project.context, "credit", with_feedback=False)


def test_a_log_without_feedback_has_an_empty_label_column(local: Project) -> None:
    _hourly(local, hours=2)
    assert read_log(local.context, "credit")["label"].isna().all()


def test_labels_of_every_kind(local: Project) -> None:
    log = PredictionLog.open(local.context, "dev", config())
    for i in range(4):
        log.submit(scored(i))
    log.submit_feedback(feedback(0, ("approved",)))
    log.flush(10)
    log.submit_feedback(feedback(1, (True,)))
    log.submit_feedback(feedback(2, (2.5,)))
    log.submit_feedback(feedback(3, (1,)))
    log.close()
    labels = read_log(local.context, "credit")["label"].tolist()
    assert labels == ["approved", "True", "2.5", "1"]  # one column: text where types differ


def test_no_log_says_how_to_get_one(local: Project) -> None:
    with pytest.raises(InputError, match=r"no predictions of model 'credit'.*rasad serve --env"):
        read_log(local.context, "credit")
    _hourly(local, hours=3)
    with pytest.raises(InputError, match="segments span 2026-05-04 to 2026-05-04 .*widen"):
        read_log(local.context, "credit", since=NOON + timedelta(days=30))
    with pytest.raises(InputError, match="Model name '../x' is not allowed"):
        read_log(local.context, "../x")


def test_window_checks() -> None:
    with pytest.raises(InputError, match="ends .* before it starts"):
        LogWindow("credit", since=NOON, until=NOON)
    now = datetime(2026, 5, 8, tzinfo=UTC)
    window = LogWindow.parse("credit", since="2026-05-01T12:00Z", until="1d", now=now)
    assert (window.since, window.until) == (datetime(2026, 5, 1, 12, tzinfo=UTC),
                                            datetime(2026, 5, 7, tzinfo=UTC))
    assert window.ref == "log:credit[2026-05-01T12:00:00Z..2026-05-07T00:00:00Z]"
    assert LogWindow("credit", "staging", role=None).ref == "log:credit@staging/all[..]"
    with pytest.raises(InputError, match="--until 'yesterday' is not understood"):
        LogWindow.parse("credit", until="yesterday")
