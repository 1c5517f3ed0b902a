"""to_junit(): JUnit XML that CI viewers load."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd

from rasad.examples import generate_portfolio
from rasad.validation import infer_schema, to_junit, validate


def test_counts_match_report() -> None:
    reference = generate_portfolio(months=1, rows_per_month=300, seed=3)
    schema = infer_schema(reference)
    batch = reference.copy()
    batch.loc[[4, 9], "region"] = "Nowhere"
    batch.loc[7, "age"] = 400
    batch = batch.assign(extra=1)
    report = validate(batch, schema)
    text = to_junit(report, "portfolio")
    suite = ET.fromstring(text)
    assert suite.tag == "testsuite" and suite.get("name") == "portfolio"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "")) == len(report.results)
    failures = suite.findall("testcase/failure")
    assert len(failures) == int(suite.get("failures", "")) == len(report.errors) == 2
    region = next(c for c in cases if c.get("classname") == "portfolio.region"
                  and c.get("name") == "unseen_category")
    failure = region.find("failure")
    assert failure is not None and "row 4: 'N*****e'" in (failure.text or "")
    assert "Nowhere" not in text
    warning = next(c for c in cases if c.get("name") == "unexpected_column")
    assert warning.find("failure") is None
    assert "warning" in (warning.findtext("system-out") or "")


def test_clean_report_has_no_failures() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    suite = ET.fromstring(to_junit(validate(frame, infer_schema(frame)), "clean & <ok>"))
    assert suite.get("failures") == "0" and suite.get("name") == "clean & <ok>"
    assert suite.findall("testcase/failure") == []
