"""The drift HTML report of a real comparison (chunks, multivariate) in offline Chromium."""

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

TAGGED = "<i>tier</i>"  # a column name and category labels that must stay text
TIERS = ["<b>gold</b>", "silver & co", "bronze"]


def _side(rng: np.random.Generator, rows: int, *, drift: bool) -> pd.DataFrame:
    return pd.DataFrame({
        "income": rng.lognormal(3.6 if drift else 3.0, 0.5, rows),
        "age": rng.normal(40, 10, rows),
        "region": rng.choice(["north", "south", "east"], rows),
        TAGGED: rng.choice(TIERS, rows, p=[0.6, 0.3, 0.1] if drift else [0.2, 0.3, 0.5]),
    })


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """`rasad drift --chunk-period day --multivariate --html -o` on seeded files."""
    folder = tmp_path_factory.mktemp("drift_html")
    rng = np.random.default_rng(3)
    reference = _side(rng, 400, drift=False)
    # The PCA band comes from the reference's own days, so it has the time column too.
    reference["day"] = pd.date_range("2025-02-03", periods=400, freq="18min")  # 5 days
    reference["application_id"] = [f"A{i:05d}" for i in range(400)]
    reference.to_csv(folder / "reference.csv", index=False)
    current = _side(rng, 360, drift=True)
    current["day"] = pd.date_range("2025-03-03", periods=360, freq="16min")  # 4 days
    current["application_id"] = [f"A{i:05d}" for i in range(1000, 1360)]
    current.to_parquet(folder / "current.parquet")
    html, data = folder / "drift.html", folder / "drift.json"
    code = run(["drift", str(folder / "reference.csv"), str(folder / "current.parquet"),
                "--chunk-period", "day", "--time-column", "day", "--multivariate",
                "--html", str(html), "-o", str(data)])
    assert code == 0
    return html, json.loads(data.read_text(encoding="utf-8"))


def _section(name: str) -> str:
    """XPath of the block that follows the heading ``name``."""
    return f"xpath=//h2[normalize-space()='{name}']/following-sibling::*[1]"


def test_the_page_is_self_contained(report: tuple[Path, dict[str, Any]]) -> None:
    html = report[0].read_text(encoding="utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>)]*", html)) == {"http://www.w3.org/2000/svg"}
    assert "<link" not in html and "<script src" not in html and "@import" not in html
    assert "<b>gold</b>" not in html and TAGGED not in html  # escaped everywhere


def test_the_page_in_chromium(chromium: object, report: tuple[Path, dict[str, Any]]) -> None:
    path, payload = report
    drift, multivariate = payload["drift"], payload["multivariate"]
    assert drift["drifted_columns"] == ["income", TAGGED]
    assert [c["rows"] for c in drift["chunks"]] == [90, 90, 90, 90]
    view: Any
    view, errors = open_offline(chromium, path)
    try:
        assert view.locator("h1").inner_text() == (
            f"Drift: {payload['current']} against {payload['reference']}")
        assert view.locator("#verdict").inner_text() == drift["reason"]
        cards = dict(zip(view.locator(".card .k").all_inner_texts(),
                         view.locator(".card .v").all_inner_texts(), strict=True))
        assert cards["dataset verdict"] == "drift"
        assert cards["columns drifted"] == "2 of 4"
        assert cards["domain_classifier"] == (
            "drift" if multivariate[0]["drifted"] else "no drift")
        assert view.locator("i, b").count() == 0  # names and labels are text, not markup

        # One plot per column with a histogram, drifted first, each one chart.
        plots = view.locator(f"{_section('Distributions')}/div[@class='plot']")
        columns = sorted((c for c in drift["columns"] if c["histogram"]),
                         key=lambda c: (not c["drifted"], c["name"]))
        assert plots.locator("h3").all_inner_texts() == [
            c["name"] + (" (drifted)" if c["drifted"] else "") for c in columns]
        for i, column in enumerate(columns):
            plot = plots.nth(i)
            assert plot.locator("svg.chart").count() == 1
            if column["histogram"]["edges"]:
                assert plot.locator("polygon.series").count() == 2  # reference and current
            else:
                titles = plot.locator("rect title").all_text_contents()
                assert len(titles) == 2 * len(column["histogram"]["labels"])
        # Category labels are shown as text (long ones shortened), in full in the tooltips.
        assert "<b>gold</…" in plots.nth(0).locator("svg text").all_text_contents()
        assert any(t.startswith("silver & co current: ")
                   for t in plots.nth(0).locator("rect title").all_text_contents())

        # Timelines: the share of drifted columns, then each drifted column, one point per chunk.
        timelines = view.locator(f"{_section('Over time')}/div[@class='plot']")
        assert timelines.locator("h3").all_inner_texts() == [
            "share of drifted columns", "income per chunk", f"{TAGGED} per chunk"]
        chunks = drift["chunks"]
        share = timelines.nth(0).locator("circle")
        assert share.count() == len(chunks)
        assert timelines.nth(0).locator("circle[r='3.5']").count() == sum(
            c["drifted"] for c in chunks)
        assert share.locator("title").all_text_contents() == [
            f"{c['key']} share: {c['share']:.4g}" + (" (alert)" if c["drifted"] else "")
            for c in chunks]

        # Multivariate: both methods, with their figures, importances and chunk errors.
        headings = view.locator("xpath=//h2[.='Multivariate drift']/following-sibling::h3")
        assert headings.all_inner_texts()[:2] == ["domain_classifier", "pca_reconstruction"]
        classifier_rows = view.locator(
            "xpath=//h3[.='domain_classifier']/following-sibling::table[1]//tr/td[1]")
        assert "roc_auc" in classifier_rows.all_inner_texts()
        assert view.locator("svg.chart title", has_text="features that separate").count() == 1
        pca = view.locator("svg.chart", has=view.locator("title",
                                                         has_text="pca_reconstruction per chunk"))
        assert pca.locator("circle").count() == len(multivariate[1]["chunks"]) == len(chunks)
        # What each method left out, and why: the identifier, and the time column.
        for method in multivariate:
            left_out = view.locator(f"xpath=//h3[.='{method['method']}']/following-sibling::"
                                    "table[2]//tbody/tr")
            assert [row.locator("td").all_inner_texts() for row in left_out.all()] == [
                [e["column"], e["kind"], e["reason"]] for e in method["excluded"]]
            assert {e["column"] for e in method["excluded"]} == {"application_id", "day"}
            assert "application_id" not in method["columns"]

        # The column table sorts on a click, both ways.
        table = view.locator("table.sortable").first
        names = table.locator("tbody tr td:first-child")
        assert names.all_inner_texts() == [TAGGED, "income", "age", "application_id",
                                           "region"]  # drifted first
        table.locator("th", has_text="column").click()
        ascending = names.all_inner_texts()
        assert [n for n in ascending if n.isalpha()] == ["age", "income", "region"]
        assert ascending.index("age") < ascending.index("application_id") < ascending.index(
            "income")
        table.locator("th", has_text="column").click()
        assert names.all_inner_texts() == ascending[::-1]
        assert errors == []
    finally:
        view.close()


def test_a_stored_report_renders_as_its_model_does() -> None:
    """JSON stored by an earlier rasad (tests/drift/data) is read back, then rendered."""
    from rasad.drift import DomainClassifierResult, DriftReport, PCAReconstructionResult
    from rasad.reports.drift import render_drift

    stored = Path(__file__).resolve().parents[1] / "drift" / "data"
    data = json.loads((stored / "drift_report.json").read_text(encoding="utf-8"))
    extra = [json.loads((stored / f"{name}.json").read_text(encoding="utf-8"))
             for name in ("domain_classifier", "pca_reconstruction")]
    models: list[DomainClassifierResult | PCAReconstructionResult] = [
        DomainClassifierResult.from_dict(extra[0]), PCAReconstructionResult.from_dict(extra[1])]
    page = render_drift(DriftReport.from_dict(data), multivariate=models, title="stored")
    assert render_drift(data, multivariate=extra, title="stored") == page
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                         page, re.S)
    assert embedded is not None
    assert json.loads(embedded.group(1).replace("<\\/", "</")) == {
        "drift": data, "multivariate": extra}
    assert '<p id="verdict">drift: 5 of 7 counted columns drifted (71%)' in page
    assert "<h3>pca_reconstruction</h3>" in page and "w (" in page  # a new category, shown
