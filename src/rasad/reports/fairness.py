"""The fairness report as a self-contained HTML page, rendered from the typed report.

:func:`render_fairness` draws a :class:`~rasad.governance.fairness.FairnessReport`;
:func:`render_assessment` draws a
:class:`~rasad.governance.fairness.report.FairnessAssessment` (the report with what was
assessed and where the favourable outcome was declared). The report's JSON is
embedded in the page for machine readers.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from rasad.governance.fairness.terms import GroupMetric, Verdict, finite
from rasad.reports.page import cards, page, table
from rasad.reports.svg import interval_bars

if TYPE_CHECKING:
    from rasad.governance.fairness.report import (
        AttributeResult,
        FairnessAssessment,
        FairnessReport,
        Outcome,
    )

CLASSES = {Verdict.PASS: "good", Verdict.FAIL: "bad", Verdict.INCONCLUSIVE: "warn",
           Verdict.NOT_JUDGED: "warn"}
PLOTTED = (GroupMetric.SELECTION_RATE, GroupMetric.TRUE_POSITIVE_RATE,
           GroupMetric.FALSE_POSITIVE_RATE, GroupMetric.PRECISION, GroupMetric.ACCURACY,
           GroupMetric.ROC_AUC)


def render_fairness(report: FairnessReport, *, title: str = "Fairness report",
                    subtitle: str = "", declared_in: str | None = None,
                    data: Any = None) -> str:
    """The report as one HTML page.

    Parameters
    ----------
    report : FairnessReport
        What to draw.
    title, subtitle : str
        The page's heading and the line under it.
    declared_in : str, optional
        Where the favourable outcome was declared, shown beside it.
    data : optional
        What to embed as JSON (default: the report's JSON form).
    """
    verdict = report.verdict
    outcome = report.outcome
    body = [f"<h1>{escape(title)}</h1>"]
    if subtitle:
        body.append(f'<p class="meta">{escape(subtitle)}</p>')
    body.append(cards([
        ("overall verdict", str(verdict), CLASSES.get(verdict, "")),
        ("favourable outcome", f"{outcome.target or 'label'} = {outcome.favorable!s}",
         "" if outcome.declared else "warn"),
        ("rows", f"{report.rows:,}", ""),
        ("attributes", str(len(report.attributes)), ""),
        ("bootstrap resamples", str(report.n_boot), ""),
    ]))
    body.append(f'<p id="verdict">{escape(report.reason)}</p>')
    body.append(f'<p id="outcome" class="meta">Outcome measured: '
                f"{escape(_outcome(outcome, declared_in))}</p>")
    body.append("<h2>Verdicts</h2>")
    body.append(_verdicts(report.attributes))
    for attribute in report.attributes:
        body.append(_attribute(attribute, report.confidence))
    return page(title, "".join(body), data=report.to_dict() if data is None else data)


def render_assessment(assessment: FairnessAssessment, *, title: str | None = None) -> str:
    """An assessment's report as one HTML page, titled by what was assessed."""
    subtitle = (f"Stored as monitor result {assessment.result_id}"
                if assessment.result_id is not None else "")
    return render_fairness(assessment.report, title=title or f"Fairness: {assessment.data}",
                           subtitle=subtitle, declared_in=assessment.declared_in,
                           data=assessment.to_dict())


def _outcome(outcome: Outcome, declared_in: str | None) -> str:
    """Which outcome the rates count, and where that was declared (or that it was assumed)."""
    text = outcome.describe()
    return f"{text}; declared in {declared_in}." if declared_in else f"{text}."


def _verdicts(attributes: tuple[AttributeResult, ...]) -> str:
    rows = []
    for attribute in attributes:
        for d in attribute.disparities:
            verdict = "-" if d.verdict is None else str(d.verdict)
            cls = "" if d.verdict is None else CLASSES.get(d.verdict, "")
            rows.append([attribute.name, str(d.measure), finite(d.value), finite(d.lower),
                         finite(d.upper), d.threshold,
                         f'<span class="{cls}">{escape(verdict)}</span>', d.reason])
    return table(["attribute", "measure", "value", "lower", "upper", "threshold", "verdict",
                  "reason"], rows, html_columns=(6,))


def _attribute(attribute: AttributeResult, confidence: float) -> str:
    groups = attribute.groups
    parts = [f"<h2>{escape(attribute.name)}</h2>"]
    if attribute.bins:
        parts.append(f'<p class="meta">Bins ({escape(str(attribute.bins_source))}): '
                     f"{escape(', '.join(_edge(b) for b in attribute.bins))}</p>")
    rows = [[g.group, g.count, g.positives, "yes" if g.judged else "no", g.reason]
            for g in groups]
    parts.append(table(["group", "rows", "favourable labels", "judged", "reason"], rows))
    parts.append('<div class="grid">')
    for metric in PLOTTED:
        entries = [g.metrics.get(metric) for g in groups]
        values = [None if e is None else finite(e.value) for e in entries]
        if all(v is None for v in values):
            continue
        svg = interval_bars([g.group for g in groups], values,
                            [None if e is None else finite(e.lower) for e in entries],
                            [None if e is None else finite(e.upper) for e in entries],
                            title=f"{attribute.name}: {metric}")
        parts.append(f'<div class="plot"><h3>{escape(str(metric))} by group '
                     f"({confidence:.0%} interval)</h3>{svg}</div>")
    parts.append("</div>")
    return "".join(parts)


def _edge(value: float) -> str:
    # Edges read as the user gave them: 18 rather than 18.0.
    return str(int(value)) if float(value).is_integer() else str(value)


__all__ = ["render_fairness", "render_assessment"]
