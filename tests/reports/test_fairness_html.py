"""The fairness page renders offline in Chromium: verdict table and per-group whiskers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rasad.governance.fairness import assess
from rasad.reports.fairness import render_fairness
from tests._browser import open_offline


def test_fairness_page_in_chromium(chromium: object, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 3000
    sensitive = pd.DataFrame({"gender": rng.choice(["f", "m"], n),
                              "region": rng.choice(["north", "south", "east"], n)})
    y = (rng.random(n) < 0.3).astype(int)
    pred = (rng.random(n) < np.where(sensitive["gender"] == "f", 0.2, 0.4)).astype(int)
    report = assess(y, pred, sensitive, rng.random(n), n_boot=200, seed=1)
    html = render_fairness(report.to_dict(), title="Fairness <test>")
    assert "https://" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    path = tmp_path / "fairness.html"
    path.write_text(html, encoding="utf-8")
    view, errors = open_offline(chromium, path)
    assert view.locator("h1").inner_text() == "Fairness <test>"
    assert view.locator("#verdict").inner_text() == report.reason
    assert view.locator("#outcome").inner_text() == (
        "Outcome measured: label = 1 is the favourable outcome (assumed: none declared); "
        "rates count predictions of 1.")
    assert "label = 1" in view.locator(".summary").inner_text()
    groups = sum(len(a.groups) for a in report.attributes)
    assert view.locator("line.whisker").count() >= groups  # one interval per group and metric
    assert view.locator("svg.chart").count() >= 2 * 4
    fails = [d for a in report.attributes for d in a.disparities if str(d.verdict) == "fail"]
    assert view.locator("td span.bad").count() == len(fails) > 0
    assert errors == []
    view.close()
