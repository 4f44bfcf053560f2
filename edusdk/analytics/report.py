"""A self-contained HTML engagement report: inline SVG charts and CSS, no scripts, no CDN, opens offline.

Sections: per lesson, the retention curve over the shot boundaries and the drop-off per shot (with each shot's
prompt); the variant comparison tables (per template and per template variable); the completion trend by day.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from edusdk._fs import write_text_atomic
from edusdk.analytics.abtest import Comparison
from edusdk.analytics.metrics import LessonMetrics, RetentionCurve, ShotDropoff, completion_point
from edusdk.analytics.service import Analytics

W, H, PAD = 720, 240, 36
MAX_LESSONS = 20
_CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#1f2933;max-width:900px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #cbd2d9;padding:4px 8px;text-align:right}
th{background:#f0f4f8}td.l,th.l{text-align:left}.verdict{font-weight:600}
svg{background:#fff;border:1px solid #e4e7eb}.muted{color:#7b8794}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def retention_svg(curve: RetentionCurve, dropoff: list[ShotDropoff]) -> str:
    """The retention curve (share of viewers per second) with dashed shot boundaries and shot labels."""
    n = max(len(curve.retention), 1)
    sx = (W - 2 * PAD) / n
    sy = H - 2 * PAD

    def x(second: float) -> float:
        return PAD + second * sx

    def y(share: float) -> float:
        return H - PAD - share * sy

    points = " ".join(f"{x(i + 0.5):.1f},{y(v):.1f}" for i, v in enumerate(curve.retention))
    parts = [
        f'<svg class="chart retention" id="retention-{_esc(curve.lesson_id)}" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img">',
        f"<title>Retention of {_esc(curve.lesson_id)}</title>",
    ]
    for share in (0, 0.5, 1):
        parts.append(f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(share):.1f}" y2="{y(share):.1f}" stroke="#e4e7eb"/>')
        parts.append(f'<text x="4" y="{y(share) + 4:.1f}" font-size="10">{share:.0%}</text>')
    for shot in dropoff:
        bx = x(shot.start_s)
        parts.append(
            f'<line class="shot-boundary" x1="{bx:.1f}" x2="{bx:.1f}" y1="{PAD}" y2="{H - PAD}" '
            f'stroke="#9aa5b1" stroke-dasharray="4 3"><title>{_esc(shot.prompt)}</title></line>'
        )
        parts.append(f'<text x="{bx + 3:.1f}" y="{PAD - 6}" font-size="10">{_esc(shot.shot_id)}</text>')
    parts.append(f'<polyline class="retention-curve" fill="none" stroke="#2563eb" stroke-width="2" points="{points}"/>')
    parts.append(f'<text x="{W - PAD}" y="{H - 8}" font-size="10" text-anchor="end">{curve.length_s:.0f} s</text>')
    return "".join(parts) + "</svg>"


def dropoff_svg(lesson_id: str, dropoff: list[ShotDropoff]) -> str:
    """One bar per shot: the share of viewers who reached it and left during it."""
    n = max(len(dropoff), 1)
    bw = (W - 2 * PAD) / n
    parts = [
        f'<svg class="chart dropoff" id="dropoff-{_esc(lesson_id)}" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" role="img"><title>Drop-off per shot</title>'
    ]
    for i, shot in enumerate(dropoff):
        height = shot.dropoff_rate * (H - 2 * PAD)
        bx = PAD + i * bw + bw * 0.1
        parts.append(
            f'<rect class="dropoff-bar" x="{bx:.1f}" y="{H - PAD - height:.1f}" width="{bw * 0.8:.1f}" '
            f'height="{max(height, 0.5):.1f}" fill="#dc2626"><title>{_esc(shot.shot_id)}: '
            f"{shot.dropoff_rate:.0%} left — {_esc(shot.prompt)}</title></rect>"
        )
        parts.append(
            f'<text x="{bx + bw * 0.4:.1f}" y="{H - PAD + 14}" font-size="10" text-anchor="middle">'
            f"{_esc(shot.shot_id)} {shot.dropoff_rate:.0%}</text>"
        )
    return "".join(parts) + "</svg>"


def trend_svg(days: list[tuple[str, int, float]]) -> str:
    """Completion rate per day (points sized by views)."""
    n = max(len(days), 1)
    sx = (W - 2 * PAD) / max(n - 1, 1)
    coords = [(PAD + i * sx, H - PAD - rate * (H - 2 * PAD)) for i, (_, _, rate) in enumerate(days)]
    parts = [
        f'<svg class="chart trend" id="completion-trend" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'xmlns="http://www.w3.org/2000/svg" role="img"><title>Completion rate by day</title>'
    ]
    if coords:
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        parts.append(f'<polyline class="trend-line" fill="none" stroke="#059669" stroke-width="2" points="{path}"/>')
    for (cx, cy), (day, views, rate) in zip(coords, days, strict=True):
        radius = 2 + min(math.sqrt(views), 8)
        parts.append(
            f'<circle class="trend-point" cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}" fill="#059669">'
            f"<title>{day}: {rate:.0%} of {views} views</title></circle>"
        )
    if days:
        parts.append(f'<text x="{PAD}" y="{H - 8}" font-size="10">{days[0][0]}</text>')
        parts.append(f'<text x="{W - PAD}" y="{H - 8}" font-size="10" text-anchor="end">{days[-1][0]}</text>')
    return "".join(parts) + "</svg>"


def completion_by_day(analytics: Analytics) -> list[tuple[str, int, float]]:
    """(day, views, completion rate) for each UTC day a view started (edX completion; definitions: metrics)."""
    lengths = {lesson.lesson_id: lesson.duration_s for lesson in analytics.list_lessons()}
    sql = text("SELECT lesson_id, first_ts, done, reach FROM analytics_sessions WHERE plays > 0")
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with analytics.engine.connect() as conn:
        for lesson_id, first, done, reach in conn.execute(sql):
            day = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d")
            length = lengths.get(lesson_id)
            complete = bool(done) or (length is not None and reach is not None and reach >= completion_point(length))
            days[day][0] += 1
            days[day][1] += complete
    return [(day, views, done / views) for day, (views, done) in sorted(days.items())]


def _metrics_table(m: LessonMetrics) -> str:
    rows = [
        ("views", m.views),
        ("unique viewers", m.unique_viewers),
        ("play rate", f"{m.play_rate:.0%}"),
        ("average view duration", f"{m.average_view_duration_s:.1f} s"),
        ("average % viewed", f"{m.average_percentage_viewed:.0%}"),
        ("completion rate (edX)", f"{m.completion_rate:.0%}"),
        ("ratings", f"{m.ratings} (avg {m.average_rating:.1f})" if m.average_rating is not None else "0"),
    ]
    body = "".join(f'<tr><th class="l">{k}</th><td>{_esc(v)}</td></tr>' for k, v in rows)
    return f'<table class="metrics">{body}</table>'


def _comparison_table(comparison: Comparison) -> str:
    head = (
        '<tr><th class="l">value</th><th>lessons</th><th>views</th><th>completion</th><th>avg watch</th>'
        "<th>P(best)</th><th>p vs baseline</th></tr>"
    )
    tests = {t.variant: t for t in comparison.tests}
    rows = []
    for g in comparison.groups:
        test = tests.get(g.value)
        p = f"{test.p_value:.3g} ({test.method})" if test else "baseline"
        rows.append(
            f'<tr><td class="l">{_esc(g.value)}</td><td>{g.lessons}</td><td>{g.views}</td>'
            f"<td>{g.completion_rate:.1%}</td><td>{g.average_watch_s:.1f} s</td>"
            f"<td>{comparison.probability_best.get(g.value, 0):.2f}</td><td>{_esc(p)}</td></tr>"
        )
    return (
        f'<h3>by {_esc(comparison.by)}</h3><table class="variants" data-by="{_esc(comparison.by)}">{head}'
        f'{"".join(rows)}</table><p class="verdict">{_esc(comparison.verdict)}</p>'
    )


def build_report(analytics: Analytics, lesson_id: str | None = None) -> str:
    """The report's HTML for one lesson (`lesson_id`) or the most recent registered lessons."""
    lessons = analytics.list_lessons()
    chosen = [lesson_id] if lesson_id else [lesson.lesson_id for lesson in lessons[:MAX_LESSONS]]
    sections = []
    for lid in chosen:
        metrics = analytics.lesson_metrics(lid)
        curve = analytics.retention(lid)
        drop = analytics.dropoff(lid)
        sections.append(
            f'<section class="lesson" id="lesson-{_esc(lid)}"><h2>Lesson {_esc(lid)}</h2>'
            f"{_metrics_table(metrics)}<h3>Retention over shots</h3>{retention_svg(curve, drop)}"
            f"<h3>Drop-off per shot</h3>{dropoff_svg(lid, drop)}</section>"
        )
    variables = sorted({name for lesson in lessons for name in lesson.variables})
    comparisons = [analytics.compare("template")] + [analytics.compare(name) for name in variables]
    variant_html = "".join(_comparison_table(c) for c in comparisons)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>edusdk engagement report</title>'
        f"<style>{_CSS}</style></head><body><h1>edusdk engagement report</h1>"
        f'<p class="muted">generated {generated} · {len(lessons)} lessons registered</p>{"".join(sections)}'
        f'<h2>Variant comparison</h2><div id="variants">{variant_html}</div>'
        f"<h2>Completion trend</h2>{trend_svg(completion_by_day(analytics))}</body></html>"
    )


def write_report(analytics: Analytics, path: str | Path, lesson_id: str | None = None) -> Path:
    """Write the report to `path` atomically (no partial file on failure); the absolute path."""
    return write_text_atomic(path, build_report(analytics, lesson_id))
