"""Performance tracking and estimation HTML reports of real runs, in offline Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rasad.cli import run
from tests._browser import open_offline


def _applications(rng: np.random.Generator, start: str, months: int, shift: float,
                  per_month: int = 400) -> pd.DataFrame:
    rows = months * per_month
    x = rng.normal(shift, 1.0, rows)
    score = 1 / (1 + np.exp(-2 * x))
    when = pd.date_range(start, periods=months, freq="MS").repeat(per_month)
    return pd.DataFrame({"when": when + pd.Timedelta(hours=12), "x": x,
                         "default": (rng.random(rows) < score).astype(int), "score": score,
                         "decision": (score >= 0.5).astype(int)})


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """`rasad performance track` by month and `estimate` by rows, as HTML and JSON."""
    folder = tmp_path_factory.mktemp("performance_html")
    rng = np.random.default_rng(11)
    _applications(rng, "2024-01-01", 6, 0.0).to_csv(folder / "reference.csv", index=False)
    _applications(rng, "2025-01-01", 4, 1.0).to_csv(folder / "current.csv", index=False)
    common = [str(folder / "reference.csv"), str(folder / "current.csv"), "--target", "default",
              "--prediction", "decision", "--score", "score"]
    out = {}
    for name, args in (("track", ["--chunk-period", "month", "--time-column", "when"]),
                       ("estimate", ["--chunk-size", "400"])):
        html, data = folder / f"{name}.html", folder / f"{name}.json"
        assert run(["performance", name, *common, *args, "--html", str(html),
                    "-o", str(data)]) == 0
        out[name] = (html, json.loads(data.read_text(encoding="utf-8")))
    return out


@pytest.mark.parametrize("name", ["track", "estimate"])
def test_the_page_is_self_contained(name: str,
                                    reports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    html = reports[name][0].read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>)]*", html)) == {"http://www.w3.org/2000/svg"}
    assert "<link" not in html and "<script src" not in html and "@import" not in html


def _metric_plots(view: Any, data: dict[str, Any], series: list[str]) -> None:
    """One timeline per metric: every reference and current chunk, thresholds, alerts."""
    metrics = data["metrics"]
    plots = view.locator("div.plot")
    assert plots.locator("h3").all_inner_texts() == metrics
    assert view.locator("svg.chart").count() == len(metrics)
    chunks = len(data["reference"]) + len(data["current"])
    for i, metric in enumerate(metrics):
        svg = plots.nth(i).locator("svg.chart")
        assert svg.locator("polyline").count() == len(series)
        assert svg.locator("circle").count() == chunks * len(series)
        bounds = data["thresholds"][metric]
        assert svg.locator("line.threshold").count() == sum(
            bounds[side] is not None for side in ("lower", "upper"))
        alerting = sum(c["metrics"][metric]["alert"] for c in data["current"])
        assert svg.locator("circle[r='3.5']").count() == alerting * len(series)
        assert svg.locator("text").all_text_contents()[-len(series):] == series  # the legend


def _table(view: Any, data: dict[str, Any], value: str) -> Any:
    table = view.locator("table.sortable")
    header = table.locator("th").all_inner_texts()
    assert header == ["chunk", "rows", "status", *data["metrics"], "alerts"]
    rows = table.locator("tbody tr")
    assert rows.count() == len(data["current"])
    for i, chunk in enumerate(data["current"]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[:3] == [chunk["key"], str(chunk["rows"]), chunk["status"]]
        for j, metric in enumerate(data["metrics"]):
            expected = round(chunk["metrics"][metric][value], 4)
            assert cells[3 + j] == f"{expected:.4g}"
        alerting = [m for m in data["metrics"] if chunk["metrics"][m]["alert"]]
        assert cells[-1] == (", ".join(alerting) or "–")
    return table


def test_tracking_in_chromium(chromium: object,
                              reports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    path, data = reports["track"]
    assert [c["key"] for c in data["current"]] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    view: Any
    view, errors = open_offline(chromium, path)
    try:
        assert view.locator("h1").inner_text() == "Performance: current.csv"
        cards = dict(zip(view.locator(".card .k").all_inner_texts(),
                         view.locator(".card .v").all_inner_texts(), strict=True))
        assert cards["current chunks"] == "4"
        assert cards["alerts"] == str(data["summary"]["alerts"])
        _metric_plots(view, data, ["realized"])
        table = _table(view, data, "value")
        # Month keys sort as text: "2025-01" is not the number 2025.
        keys = table.locator("tbody tr td:first-child")
        table.locator("th", has_text="chunk").click()
        table.locator("th", has_text="chunk").click()
        assert keys.all_inner_texts() == ["2025-04", "2025-03", "2025-02", "2025-01"]
        table.locator("th", has_text="accuracy").click()
        accuracy = [c["metrics"]["accuracy"]["value"] for c in data["current"]]
        assert keys.all_inner_texts() == [
            c["key"] for _, c in sorted(zip(accuracy, data["current"], strict=True),
                                        key=lambda pair: pair[0])]
        assert errors == []
    finally:
        view.close()


def test_estimation_in_chromium(chromium: object,
                                reports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    path, data = reports["estimate"]
    view: Any
    view, errors = open_offline(chromium, path)
    try:
        assert view.locator("h1").inner_text() == "Estimated performance: current.csv"
        cards = dict(zip(view.locator(".card .k").all_inner_texts(),
                         view.locator(".card .v").all_inner_texts(), strict=True))
        assert cards["method"] == data["method"]
        assert cards["MAE of estimated roc_auc"] == f"{data['estimation_error']['roc_auc']:.4f}"
        assert view.locator("p.meta", has_text="Calibration:").count() == 1
        # The current file has labels, so each timeline shows the realized values too.
        _metric_plots(view, data, ["estimated", "realized"])
        _table(view, data, "estimate")
        assert errors == []
    finally:
        view.close()
