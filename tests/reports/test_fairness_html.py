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
    html = render_fairness(report, title="Fairness <test>")
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


def test_assessment_page_names_what_was_assessed_and_embeds_its_json() -> None:
    import json
    import re

    from rasad.governance.fairness import FairnessAssessment
    from rasad.reports.fairness import render_assessment

    rng = np.random.default_rng(5)
    n = 1000
    y = pd.Series((rng.random(n) < 0.3).astype(int), name="default")
    pred = (rng.random(n) < 0.5).astype(int)
    report = assess(y, pred, {"gender": rng.choice(["f", "m"], n)}, favorable=0, n_boot=100)
    assessment = FairnessAssessment(data="loans@1 scored by credit@1", model="credit@1",
                                    dataset="loans@1", declared_in="rasad.yaml", result_id=7,
                                    report=report)
    html = render_assessment(assessment)
    assert "<h1>Fairness: loans@1 scored by credit@1</h1>" in html
    assert "Stored as monitor result 7" in html
    assert ("Outcome measured: default = 0 is the favourable outcome; rates count "
            "predictions of 0; declared in rasad.yaml.") in html
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                         html, flags=re.DOTALL)
    assert embedded is not None
    assert json.loads(embedded.group(1).replace("<\\/", "</")) == assessment.to_dict()
