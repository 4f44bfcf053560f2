"""Completion and watch time per template and per template-variable value, and A/B comparisons between them.

Per lesson, one SQL pass over the session summaries (`analytics_sessions`, kept at ingest) counts views: a
**view** is a session with a play; it is **complete** (edX) if it sent `complete` or a segment-closing event
(pause, seek's time-from, complete, terminate) reached max(length − 30 s, 95 %). **Estimated watch time** of a
session is Σ time at closing events − Σ time at plays (exact when plays and closes alternate; clipped at 0).
Lessons group by `LessonRecord.template` or by the value of one of their `variables`.

Significance: a two-proportion z-test on completion rates (pooled standard error, two-sided), or Fisher's
exact test when any expected cell count is below 5; and a Bayesian probability-to-be-best from Beta(1 + completions,
1 + views − completions) posteriors by Monte Carlo with a fixed seed, so the same data gives the same answer.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import Engine, text

MIN_VIEWS_PER_VARIANT = 30
ALPHA = 0.05
BEST_THRESHOLD = 0.95
MONTE_CARLO_DRAWS = 20_000
SEED = 20_240_601

_SESSION_SQL = """
SELECT s.lesson_id, COUNT(*) AS views,
       SUM(CASE WHEN s.done = 1 OR s.reach >= (CASE WHEN l.duration_s - 30 > 0.95 * l.duration_s
                THEN l.duration_s - 30 ELSE 0.95 * l.duration_s END) THEN 1 ELSE 0 END) AS completions,
       SUM(CASE WHEN s.watch > 0 THEN s.watch ELSE 0 END) AS watch
FROM analytics_sessions s LEFT JOIN lessons l ON l.lesson_id = s.lesson_id
WHERE s.plays > 0
GROUP BY s.lesson_id
"""


class GroupMetrics(BaseModel):
    """Completion and watch time of the lessons sharing one template or one variable value."""

    group: str
    value: str
    lessons: int
    views: int
    completions: int
    completion_rate: float
    average_watch_s: float


class PairTest(BaseModel):
    """One variant against the baseline (the first group)."""

    variant: str
    baseline: str
    difference: float
    method: str
    statistic: float | None
    p_value: float


class Comparison(BaseModel):
    """An A/B (or A/B/n) comparison of completion rates, with a verdict in words."""

    by: str
    groups: list[GroupMetrics]
    probability_best: dict[str, float]
    tests: list[PairTest]
    verdict: str
    sample_too_small: bool


def lesson_totals(engine: Engine) -> dict[str, tuple[int, int, float]]:
    """Per lesson id: (views, completions, estimated watch seconds), in one aggregate query."""
    with engine.connect() as conn:
        return {
            row[0]: (int(row[1]), int(row[2] or 0), float(row[3] or 0.0)) for row in conn.execute(text(_SESSION_SQL))
        }


def group_metrics(engine: Engine, by: str = "template") -> list[GroupMetrics]:
    """Completion and watch time per template (`by="template"`), per lesson (`"lesson"`), or per value of the
    template variable `by` (e.g. `"protagonist"`); lessons without that variable are left out.

    Example:
        >>> [(g.value, g.completion_rate) for g in group_metrics(engine, "protagonist")]
        [('kangaroo', 0.62), ('robot', 0.48)]
    """
    totals = lesson_totals(engine)
    with engine.connect() as conn:
        lessons = conn.execute(text("SELECT lesson_id, template, variables FROM lessons")).all()
    groups: dict[str, list[int | float]] = {}
    for lesson_id, template, variables in lessons:
        if by == "lesson":
            value: Any = lesson_id
        elif by == "template":
            value = template or "(none)"
        else:
            values = json.loads(variables) if isinstance(variables, str) else (variables or {})
            if by not in values:
                continue
            value = values[by]
        views, completions, watch = totals.get(lesson_id, (0, 0, 0.0))
        acc = groups.setdefault(str(value), [0, 0, 0, 0.0])
        acc[0] += 1
        acc[1] += views
        acc[2] += completions
        acc[3] += watch
    return [
        GroupMetrics(
            group=by,
            value=value,
            lessons=int(acc[0]),
            views=int(acc[1]),
            completions=int(acc[2]),
            completion_rate=acc[2] / acc[1] if acc[1] else 0.0,
            average_watch_s=acc[3] / acc[1] if acc[1] else 0.0,
        )
        for value, acc in sorted(groups.items())
    ]


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) for H0: p1 = p2, with the pooled standard error.

    Example:
        >>> round(two_proportion_z(60, 100, 40, 100)[1], 4)
        0.0047
    """
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p of Fisher's exact test on [[x1, n1 − x1], [x2, n2 − x2]] (sum of tables no likelier).

    Example:
        >>> round(fisher_exact(1, 10, 9, 10), 4)
        0.0011
    """
    total, successes = n1 + n2, x1 + x2

    def log_p(a: int) -> float:
        return _log_comb(n1, a) + _log_comb(n2, successes - a) - _log_comb(total, successes)

    low, high = max(0, successes - n2), min(successes, n1)
    observed = log_p(x1)
    p = sum(math.exp(log_p(a)) for a in range(low, high + 1) if log_p(a) <= observed + 1e-7)
    return min(1.0, p)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def probability_best(groups: list[GroupMetrics], *, draws: int = MONTE_CARLO_DRAWS, seed: int = SEED) -> list[float]:
    """P(each group has the highest completion rate) under Beta(1 + completions, 1 + misses) posteriors."""
    if not groups:
        return []
    rng = np.random.default_rng(seed)
    samples = np.stack([rng.beta(1 + g.completions, 1 + g.views - g.completions, draws) for g in groups])
    wins = np.bincount(samples.argmax(axis=0), minlength=len(groups))
    return [float(w) / draws for w in wins]


def compare(groups: list[GroupMetrics], *, by: str) -> Comparison:
    """Compare completion rates of `groups` (the first is the baseline) and say what the data supports.

    Example:
        >>> compare(group_metrics(engine, "protagonist"), by="protagonist").verdict
        'kangaroo completes more than robot (62.0 % vs 48.0 %, p = 0.012; P(best) = 0.99)'
    """
    best = probability_best(groups)
    tests: list[PairTest] = []
    if groups:
        base = groups[0]
        for other in groups[1:]:
            x1, n1, x2, n2 = other.completions, other.views, base.completions, base.views
            pooled = (x1 + x2) / (n1 + n2) if n1 + n2 else 0.0
            expected = min(n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
            if expected < 5:
                method, statistic, p = "fisher-exact", None, fisher_exact(x1, n1, x2, n2)
            else:
                z, p = two_proportion_z(x1, n1, x2, n2)
                method, statistic = "two-proportion-z", z
            tests.append(
                PairTest(
                    variant=other.value,
                    baseline=base.value,
                    method=method,
                    statistic=statistic,
                    p_value=p,
                    difference=other.completion_rate - base.completion_rate,
                )
            )
    smallest = min((g.views for g in groups), default=0)
    too_small = len(groups) < 2 or smallest < MIN_VIEWS_PER_VARIANT
    return Comparison(
        by=by,
        groups=groups,
        probability_best={g.value: p for g, p in zip(groups, best, strict=True)},
        tests=tests,
        verdict=_verdict(groups, best, tests, too_small),
        sample_too_small=too_small,
    )


def _verdict(groups: list[GroupMetrics], best: list[float], tests: list[PairTest], too_small: bool) -> str:
    if len(groups) < 2:
        return f"nothing to compare: {len(groups)} variant(s) with views"
    if too_small:
        smallest = min(groups, key=lambda g: g.views)
        return (
            f"sample too small: {smallest.value!r} has {smallest.views} views; collect at least "
            f"{MIN_VIEWS_PER_VARIANT} views per variant before deciding"
        )
    lead = max(range(len(groups)), key=lambda i: best[i])
    leader = groups[lead]
    significant = [t for t in tests if t.p_value < ALPHA]
    if best[lead] >= BEST_THRESHOLD and significant:
        runner = max((g for i, g in enumerate(groups) if i != lead), key=lambda g: g.completion_rate)
        p = min(t.p_value for t in significant)
        return (
            f"{leader.value} completes more than {runner.value} ({leader.completion_rate:.1%} vs "
            f"{runner.completion_rate:.1%}, p = {p:.3g}; P(best) = {best[lead]:.2f})"
        )
    p = min((t.p_value for t in tests), default=1.0)
    return f"no significant difference yet (smallest p = {p:.3g}; P(best) of {leader.value} = {best[lead]:.2f})"
