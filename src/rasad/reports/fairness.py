"""The fairness report as a self-contained HTML page (from ``FairnessReport.to_dict()``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from rasad.reports.page import cards, page, table
from rasad.reports.svg import interval_bars

CLASSES = {"pass": "good", "fail": "bad", "inconclusive": "warn", "not_judged": "warn",
           "not judged": "warn"}
PLOTTED = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision",
           "accuracy", "roc_auc")


def render_fairness(report: Mapping[str, Any], *, title: str = "Fairness report",
                    subtitle: str = "") -> str:
    verdict = str(report.get("verdict", ""))
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    attributes = list(report.get("attributes", []))
    outcome = report.get("outcome") or {}
    body.append(cards([
        ("overall verdict", verdict, CLASSES.get(verdict, "")),
        ("favourable outcome", f"{outcome.get('target') or 'label'} = "
                               f"{outcome.get('favorable', 1)}",
         "" if outcome.get("declared") else "warn"),
        ("rows", f"{report.get('rows', 0):,}", ""),
        ("attributes", str(len(attributes)), ""),
        ("bootstrap resamples", str(report.get("n_boot", "")), ""),
    ]))
    body.append(f'<p id="verdict">{escape(str(report.get("reason", "")))}</p>')
    body.append(f'<p id="outcome" class="meta">Outcome measured: {escape(_outcome(outcome))}</p>')
    body.append("<h2>Verdicts</h2>")
    body.append(_verdicts(attributes))
    for attribute in attributes:
        body.append(_attribute(attribute, report.get("confidence")))
    return page(title, "".join(body), data=report)


def _outcome(outcome: Mapping[str, Any]) -> str:
    """Which outcome the rates count, and where that was declared (or that it was assumed)."""
    text = str(outcome.get("description") or "label = 1 is the favourable outcome (assumed: "
                                              "none declared); rates count predictions of 1")
    where = outcome.get("declared_in")
    return f"{text}; declared in {where}." if where else f"{text}."


def _verdicts(attributes: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for attribute in attributes:
        for d in attribute.get("disparities", []):
            verdict = str(d.get("verdict") or "-")
            cls = CLASSES.get(verdict, "")
            rows.append([attribute.get("name"), d.get("measure"), d.get("value"),
                         d.get("lower"), d.get("upper"), d.get("threshold"),
                         f'<span class="{cls}">{escape(verdict)}</span>', d.get("reason")])
    return table(["attribute", "measure", "value", "lower", "upper", "threshold", "verdict",
                  "reason"], rows, html_columns=(6,))


def _attribute(attribute: Mapping[str, Any], confidence: Any) -> str:
    name = str(attribute.get("name"))
    groups = list(attribute.get("groups", []))
    parts = [f"<h2>{escape(name)}</h2>"]
    if attribute.get("bins"):
        parts.append(f'<p class="meta">Bins ({escape(str(attribute.get("bins_source")))}): '
                     f"{escape(', '.join(str(b) for b in attribute['bins']))}</p>")
    rows = [[g.get("group"), g.get("count"), g.get("positives"),
             "yes" if g.get("judged") else "no", g.get("reason")] for g in groups]
    parts.append(table(["group", "rows", "favourable labels", "judged", "reason"], rows))
    level = f"{float(confidence):.0%} " if isinstance(confidence, (int, float)) else ""
    parts.append('<div class="grid">')
    for metric in PLOTTED:
        entries = [g.get("metrics", {}).get(metric) for g in groups]
        if not any(e and e.get("value") is not None for e in entries):
            continue
        svg = interval_bars([str(g.get("group")) for g in groups],
                            [(e or {}).get("value") for e in entries],
                            [(e or {}).get("lower") for e in entries],
                            [(e or {}).get("upper") for e in entries],
                            title=f"{name}: {metric}")
        parts.append(f'<div class="plot"><h3>{escape(metric)} by group '
                     f"({level}interval)</h3>{svg}</div>")
    parts.append("</div>")
    return "".join(parts)
