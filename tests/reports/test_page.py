"""The report shell renders offline in a real browser, and its table sorts."""

from __future__ import annotations

from pathlib import Path

from rasad.reports import bars, cards, histogram, page, table, timeline
from tests._browser import open_offline


def _document() -> str:
    body = "<h1>Report</h1>" + cards([("columns drifted", "2 of 5", "bad")])
    body += table(["column", "score"], [["b", 0.5], ["a", 2.0], ["c", 1.0]])
    body += histogram([0, 1, 2, 3], {"reference": [0.2, 0.5, 0.3], "current": [0.1, 0.3, 0.6]})
    body += bars(["x", "y"], {"reference": [0.4, 0.6], "current": [0.7, 0.3]})
    body += timeline(["c1", "c2", "c3"], {"auc": [0.8, 0.79, 0.6]}, lower=0.75, upper=0.85,
                     alerts=[False, False, True])
    return page("Report", body, data={"ok": True, "tricky": "</script>"})


def test_page_is_self_contained(tmp_path: Path) -> None:
    html = _document()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<\\/script>" in html  # embedded JSON cannot close the script element


def test_renders_and_sorts_in_chromium(chromium: object, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(_document(), encoding="utf-8")
    view, errors = open_offline(chromium, path)
    assert view.locator("h1").inner_text() == "Report"
    assert view.locator("svg.chart").count() == 3
    assert view.locator("svg.chart").first.is_visible()
    assert view.locator("circle[r='3.5']").count() == 1  # the alert marker
    first_column = "table.sortable tbody tr td:first-child"
    view.locator("th.sortable").nth(1).click()
    assert view.locator(first_column).all_inner_texts() == ["b", "c", "a"]
    view.locator("th.sortable").nth(1).click()
    assert view.locator(first_column).all_inner_texts() == ["a", "c", "b"]
    assert errors == []
    view.close()
