"""The automation timeline page: every event shown in its month, every text escaped, offline."""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

import pytest
from pydantic import ValidationError

from rasad.errors import InputError
from rasad.reports.loop_timeline import EventKind, TimelineEvent, render_timeline
from tests._browser import open_offline

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _at(month: int, minute: int = 0) -> str:
    return f"2025-{month:02d}-28T09:{minute:02d}:00+00:00"


def _loop_events() -> list[TimelineEvent]:
    """A year of the loop as the demo tells it, given out of order on purpose."""
    events = [
        TimelineEvent(month=m, at=_at(m), kind="ingest", title=f"loans_2025-{m:02d}.csv",
                      detail="2000 rows", status="ingested") for m in range(1, 13)
    ]
    events += [
        TimelineEvent(month=m, at=_at(m, 1), kind="monitor", title=f"input drift month {m}",
                      detail="no column drifted") for m in range(1, 7)
    ]
    events += [
        TimelineEvent(month=11, at=_at(11, 9), kind="deployment",
                      title="credit-risk v2 serves production", detail="approved request 3"),
        TimelineEvent(month=11, at=_at(11, 8), kind="approval",
                      title="noura@bank.example approves request 3", status="approved"),
        TimelineEvent(month=7, at=_at(7, 1), kind="monitor", title="input drift month 7",
                      detail="income: ks p=1e-40", severity="warning", status="fired"),
        TimelineEvent(month=7, at=_at(7, 2), kind="alert", title="Drift in income",
                      detail="webhook: sent; email: failed after 5 attempts",
                      severity="warning", status="failed"),
        TimelineEvent(month=11, at=_at(11, 1), kind="monitor", title="realized roc_auc",
                      detail="0.64 < 0.70", severity="critical", status="fired"),
        TimelineEvent(month=11, at=_at(11, 2), kind="alert", title="Performance dropped",
                      severity="critical", status="sent"),
        TimelineEvent(month=11, at=_at(11, 3), kind="retrain",
                      title="trigger 4 -> credit-risk v2", detail="steps: 5, reused 0"),
        TimelineEvent(month=11, at=_at(11, 4), kind="request",
                      title="credit-risk v2 requested for production", status="pending"),
    ]
    return events


def _sections(html: str) -> dict[int, str]:
    found = re.findall(r'<section class="month" id="month-(\d+)">(.*?)</section>', html)
    return {int(month): text for month, text in found}


def test_each_event_appears_once_in_its_month_in_time_order() -> None:
    events = _loop_events()
    html = render_timeline(events, months=range(1, 13))
    sections = _sections(html)
    assert list(sections) == list(range(1, 13))
    for event in events:
        shown = f'<div class="title">{escape(event.title)}</div>'
        assert sections[event.month].count(shown) == 1
        assert html.count(shown) == 1
    eleven = sections[11]
    in_eleven = sorted((e for e in events if e.month == 11), key=lambda e: e.at)
    titles = [escape(e.title) for e in in_eleven]
    positions = [eleven.index(title) for title in titles]
    assert positions == sorted(positions), "events of a month are not in time order"
    assert re.findall(r'data-kind="(\w+)"', eleven)[-1] == "deployment"


def test_severity_status_and_firing_are_shown() -> None:
    html = render_timeline(_loop_events())
    seven = _sections(html)[7]
    assert '<li class="event sev-warning" data-kind="monitor">' in seven
    assert '<span class="badge status bad">failed</span>' in seven
    quiet = _sections(html)[3]
    assert "did not fire" in quiet and "sev-warning" not in quiet
    assert '<span class="badge status warn">pending</span>' in _sections(html)[11]
    # the summary counts what fired and which deliveries failed
    assert "2 of 8" in html
    assert re.search(r'<div class="v bad">1</div><div class="k">alert deliveries failed', html)


def test_crafted_text_is_escaped_everywhere() -> None:
    event = TimelineEvent(month=2, at=_at(2), kind="alert", title=EVIL, detail=EVIL,
                          severity=EVIL, status=EVIL)
    html = render_timeline([event], title=EVIL, subtitle=EVIL)
    assert "<script>alert" not in html and "<img" not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    # the only script element is the JSON data, and it cannot be closed from inside
    assert html.count("<script") == 1 and html.count("</script>") == 1
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)
    assert data is not None
    assert json.loads(data.group(1))["events"][0]["title"] == EVIL
    # an unknown severity never reaches a class attribute
    assert 'class="event sev-other"' in html


def test_page_is_self_contained_and_needs_no_script() -> None:
    html = render_timeline(_loop_events(), title="Loop", subtitle="seed 0")
    assert "http://" not in html and "https://" not in html
    assert re.search(r"\b(src|href)=\"(?!#month-)", html) is None
    assert "<script>" not in html  # the data block is JSON, nothing runs


def test_overview_marks_each_kind_in_each_month() -> None:
    html = render_timeline(_loop_events())
    overview = html[html.index('<div class="overview">'):html.index("</svg>")]
    marks = re.findall(r'<a href="#month-(\d+)" class="mark (sev-\w+)" data-kind="(\w+)">',
                       overview)
    assert ("7", "sev-warning", "alert") in marks
    assert ("11", "sev-critical", "monitor") in marks
    assert len([m for m in marks if m[2] == "ingest"]) == 12
    assert len(marks) == len({(e.month, str(e.kind)) for e in _loop_events()})


def test_months_default_to_the_span_of_events_and_zero_is_set_up() -> None:
    events = [TimelineEvent(month=0, at=_at(1), kind="deployment", title="v1 serves dev"),
              TimelineEvent(month=3, at=_at(3), kind="ingest", title="march")]
    sections = _sections(render_timeline(events))
    assert list(sections) == [0, 1, 2, 3]
    assert "Nothing happened." in sections[2]
    assert render_timeline(events).count("Before month 1") == 1
    assert list(_sections(render_timeline(events, months=[5]))) == [0, 3, 5]
    assert _sections(render_timeline([])) == {}


def test_events_read_back_from_json_and_dicts() -> None:
    event = _loop_events()[-1]
    assert TimelineEvent.from_json(event.to_json()) == event
    assert render_timeline([event.to_dict()]) == render_timeline([event])
    assert event.kind is EventKind.REQUEST


@pytest.mark.parametrize(("field", "value", "named"), [
    ("kind", "party", "kind"), ("month", -1, "month"), ("at", "last tuesday", "at"),
])
def test_bad_events_are_refused_with_the_field_named(field: str, value: object,
                                                     named: str) -> None:
    raw = {"month": 1, "at": _at(1), "kind": "alert", "title": "t", field: value}
    with pytest.raises(InputError, match=rf"event 0 is not valid \({named}:"):
        render_timeline([raw])
    with pytest.raises(ValidationError):
        TimelineEvent.model_validate(raw)
    with pytest.raises(InputError, match="months must be whole numbers, 0 or more"):
        render_timeline([], months=[-2, 1])
    with pytest.raises(InputError, match="'7'"):
        render_timeline([], months=["7"])  # type: ignore[list-item]


def test_times_with_different_offsets_sort_by_the_instant() -> None:
    later = TimelineEvent(month=4, at="2025-04-01T10:30:00+03:00", kind="alert", title="B")
    earlier = TimelineEvent(month=4, at="2025-04-01T07:00:00", kind="alert", title="A")
    html = render_timeline([later, earlier])
    assert html.index(">A<") < html.index(">B<")  # 07:00 UTC before 07:30 UTC


def test_renders_offline_without_javascript(chromium: object, tmp_path: Path) -> None:
    path = tmp_path / "timeline.html"
    path.write_text(render_timeline(_loop_events(), title=EVIL, months=range(1, 13)),
                    encoding="utf-8")
    context = chromium.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        view, errors = open_offline(context, path)
        assert view.locator("h1").inner_text() == EVIL
        assert view.locator("section.month").count() == 12
        assert view.locator("#month-7 li.event").count() == 3
        assert view.locator("svg.chart").is_visible()
        assert view.locator("#month-11 .title").last.inner_text() == (
            "credit-risk v2 serves production")
        assert errors == []
    finally:
        context.close()
