"""JUnit XML for CI: one test case per check and column of a validation report.

CI viewers (GitHub Actions, GitLab, Jenkins) show a failed check as a failed test
with its message; a warning is a passing test case that carries the message as
``system-out``, so only errors fail the pipeline's test view.

>>> import xml.etree.ElementTree as ET
>>> import pandas as pd
>>> from rasad.validation import infer_schema, validate
>>> report = validate(pd.DataFrame({"age": [30, 99]}),
...     infer_schema(pd.DataFrame({"age": [20, 40]})))
>>> suite = ET.fromstring(to_junit(report, "loans"))
>>> suite.get("tests"), suite.get("failures"), len(suite.findall("testcase/failure"))
('5', '1', 1)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rasad.validation.schema import Severity
from rasad.validation.validate import ValidationReport


def to_junit(report: ValidationReport, name: str) -> str:
    """Render ``report`` as a JUnit XML ``testsuite`` named ``name``.

    Parameters
    ----------
    report : ValidationReport
        From :func:`rasad.validation.validate`.
    name : str
        Suite name, typically the dataset name or file.

    Returns
    -------
    str
        XML text: one ``testcase`` per result (``classname`` the suite name plus the
        column, ``name`` the check), with a ``failure`` element for each failed check
        of severity error. Example rows are quoted masked (see
        :meth:`ValidationReport.masked`), so the file holds no raw text values.
    """
    suite = ET.Element("testsuite", {
        "name": name,
        "tests": str(len(report.results)),
        "failures": str(len(report.errors)),
        "errors": "0",
        "skipped": "0",
    })
    for result in report.results:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"{name}.{result.column}" if result.column else f"{name}.table",
            "name": result.check.value,
        })
        if result.passed:
            continue
        examples = ", ".join(f"row {e.row}: {e.value!r}" for e in result.masked().examples)
        text = result.message + (f" Examples: {examples}." if examples else "")
        if result.severity is Severity.ERROR:
            failure = ET.SubElement(case, "failure", {
                "message": result.message, "type": result.check.value,
            })
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = f"warning: {text}"
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
