"""Lesson metrics, retention, drop-off per shot, groups and A/B tests, students and recommendations — each
checked against numbers worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import test_analytics_support as support
from test_analytics_support import event, register, watch

from edusdk._errors import BadInputError
from edusdk.analytics import Analytics
from edusdk.analytics.abtest import GroupMetrics, compare, fisher_exact, probability_best, two_proportion_z

analytics, pg_schema_engine = support.analytics, support.pg_schema_engine  # the shared fixtures


def scenario() -> list[dict[str, Any]]:
    """L1 is 3 shots × 4 s (completion point 11.4 s)."""
    return [
        *watch("alice", "a1", 0, 12, at=0),
        *watch("alice", "a2", 4, 8, at=100),  # a rewatch of seconds 4–7
        *watch("bob", "b1", 0, 6, at=200),
        event("play", "carol", "c1", 0, 300),
        event("seek", "carol", "c1", None, 303, **{"from": 3.0, "to": 9.0}),  # skips 3–9 while playing
        event("pause", "carol", "c1", 11, 305),
        event("initialize", "dave", "d1", None, 400, length=12.0),  # loaded, never played
        event("play", "erin", "e1", 0, 500),
        event("complete", "erin", "e1", 12, 512),
        event("rate", "erin", "e1", None, 513, rating=5),
        event("rate", "bob", "b1", None, 514, rating=4),
        event("quiz_answer", "bob", "b1", None, 515, question_id="q1", correct=True),
        event("quiz_answer", "carol", "c1", None, 516, question_id="q1", correct=False),
    ]


def test_lesson_metrics_by_their_definitions(analytics: Analytics) -> None:
    register(analytics, "L1", shots=3)
    assert analytics.record(scenario()).rejected == 0
    m = analytics.lesson_metrics("L1")
    assert (m.length_s, m.sessions, m.views, m.unique_viewers) == (12.0, 6, 5, 4)
    assert m.play_rate == pytest.approx(5 / 6)
    assert m.watch_time_s == pytest.approx(39.0)  # 12 + 4 + 6 + 3 + 2 + 12
    assert m.average_view_duration_s == pytest.approx(7.8)
    assert m.average_percentage_viewed == pytest.approx(0.65)
    assert (m.completions, m.completion_rate) == (2, pytest.approx(0.4))  # a1 reached 12 ≥ 11.4; e1 completed
    assert (m.ratings, m.average_rating) == (2, pytest.approx(4.5))
    assert (m.quiz_answers, m.quiz_correct_rate) == (2, 0.5)


def test_retention_curve_counts_viewers_once_and_rewatches_apart(analytics: Analytics) -> None:
    register(analytics, "L1", shots=3)
    analytics.record(scenario())
    curve = analytics.retention("L1").as_json()
    assert {k: curve[k] for k in ("lesson_id", "length_s", "bucket_s", "viewers")} == {
        "lesson_id": "L1",
        "length_s": 12.0,
        "bucket_s": 1,
        "viewers": 4,
    }
    assert curve["retention"] == [1, 1, 1, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.75, 0.75, 0.5]
    assert curve["rewatches"] == [0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0]


def test_dropoff_per_shot_names_the_shot(analytics: Analytics) -> None:
    register(analytics, "L1", shots=3)
    analytics.record(scenario())
    shots = analytics.dropoff("L1")
    assert [(s.shot_id, s.reached, s.left) for s in shots] == [("s0", 4, 0), ("s1", 3, 1), ("s2", 2, 1)]
    assert [s.dropoff_rate for s in shots] == [0, pytest.approx(1 / 3), 0.5]
    assert shots[1].prompt == "shot 1" and shots[1].variables == {"i": 1}
    assert (shots[1].retention_start, shots[1].retention_end) == (0.75, 0.5)


def test_unknown_lesson_is_bad_input(analytics: Analytics) -> None:
    with pytest.raises(BadInputError, match="unknown lesson 'nope'"):
        analytics.retention("nope")


def views(lesson: str, n: int, completed: int, prefix: str) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        student, session = f"{prefix}{i}", f"{lesson}-{i}"
        out.append(event("play", student, session, 0, i, lesson))
        out.append(
            event("complete" if i < completed else "pause", student, session, 12 if i < completed else 3, i + 1, lesson)
        )
    return out


def test_variants_by_template_variable_with_significance(analytics: Analytics) -> None:
    register(analytics, "robot-1", protagonist="robot", grade=4)
    register(analytics, "kangaroo-1", protagonist="kangaroo", grade=4)
    analytics.record(views("robot-1", 40, 10, "r") + views("kangaroo-1", 40, 30, "k"))
    groups = analytics.groups("protagonist")
    assert [(g.value, g.lessons, g.views, g.completions) for g in groups] == [
        ("kangaroo", 1, 40, 30),
        ("robot", 1, 40, 10),
    ]
    assert groups[0].average_watch_s == pytest.approx((30 * 12 + 10 * 3) / 40)
    result = analytics.compare("protagonist", ["robot", "kangaroo"])
    assert result.tests[0].method == "two-proportion-z" and result.tests[0].p_value < 0.001
    assert result.probability_best["kangaroo"] > 0.99 and not result.sample_too_small
    assert result.verdict.startswith("kangaroo completes more than robot (75.0% vs 25.0%")
    assert analytics.compare("protagonist") == analytics.compare("protagonist")  # fixed seed: reproducible
    assert [g.value for g in analytics.groups("template")] == ["lesson"]


def test_a_small_sample_says_so(analytics: Analytics) -> None:
    register(analytics, "a", protagonist="robot")
    register(analytics, "b", protagonist="kangaroo")
    analytics.record(views("a", 5, 1, "x") + views("b", 6, 5, "y"))
    result = analytics.compare("protagonist")
    assert result.sample_too_small and result.tests[0].method == "fisher-exact"
    assert result.verdict.startswith("sample too small: 'robot' has 5 views")


def test_statistics_match_the_textbook() -> None:
    z, p = two_proportion_z(60, 100, 40, 100)
    assert z == pytest.approx(2.8284, abs=1e-4) and p == pytest.approx(0.004678, abs=1e-5)
    assert fisher_exact(1, 10, 9, 10) == pytest.approx(0.001093, abs=1e-6)
    assert fisher_exact(3, 5, 3, 5) == pytest.approx(1.0)
    stats = pytest.importorskip("scipy.stats", reason="scipy not installed: cross-check skipped")
    for table in [(2, 7, 8, 9), (0, 5, 5, 5), (12, 40, 20, 41)]:
        x1, n1, x2, n2 = table
        expected = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
        assert fisher_exact(*table) == pytest.approx(expected, rel=1e-9)
    groups = [
        GroupMetrics(group="g", value=v, lessons=1, views=n, completions=c, completion_rate=c / n, average_watch_s=0)
        for v, n, c in (("a", 100, 50), ("b", 100, 50))
    ]
    assert sum(probability_best(groups)) == pytest.approx(1.0)
    assert abs(probability_best(groups)[0] - 0.5) < 0.02
    assert compare(groups[:1], by="g").verdict.startswith("nothing to compare")


def test_student_progress_struggles_and_next_lesson(analytics: Analytics) -> None:
    register(analytics, "frac-g4", grade=4)
    register(analytics, "frac-g3", grade=3)
    analytics.record(
        [
            *watch("alice", "s1", 0, 2, at=0, lesson="frac-g4"),  # stopped early
            event("quiz_answer", "alice", "s1", None, 5, "frac-g4", question_id="q1", correct=False),
            *watch("bob", "s2", 0, 12, at=0, lesson="frac-g4"),
        ]
    )
    progress = analytics.student_progress("alice")
    assert [(p.lesson_id, p.completed, p.furthest_s) for p in progress] == [("frac-g4", False, 2.0)]
    assert progress[0].struggling == ["stopped before half way", "1 of 1 quiz answers wrong"]
    assert [p.lesson_id for p in analytics.struggling_topics("alice")] == ["frac-g4"]
    nxt = analytics.recommend_next("alice")
    assert nxt.lesson_id == "frac-g3" and "struggled with Photosynthesis" in nxt.reason and "easier" in nxt.reason
    # bob completed it: the next lesson of the subject is the other one he has not seen.
    bob = analytics.recommend_next("bob")
    assert bob.lesson_id == "frac-g3" and bob.reason.startswith("no struggling topics")
    analytics.forget("alice")
    analytics.record(watch("alice", "s9", 0, 1, lesson="frac-g3"))  # struggles on the easiest one: generate
    request = analytics.recommend_next("alice")
    assert request.lesson_id is None and request.generate is not None
    assert request.generate["variables"]["difficulty"] == "easier" and "no easier variant" in request.reason
