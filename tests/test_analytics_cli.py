"""`edusdk analytics …` commands (JSON contracts) and the HTML report, rendered in headless Chromium when present."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_analytics_support import CONFIG, register, watch

from edusdk.analytics import Analytics
from edusdk.cli import main

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An SQLite file with two registered variants and some viewing; the CLI reads it through EDUSDK_DB."""
    path = str(tmp_path / "cli.db")
    monkeypatch.setenv("EDUSDK_DB", path)
    monkeypatch.setenv("EDUSDK_ANALYTICS_KEY", CONFIG.key)
    with Analytics(path, config=CONFIG) as store:
        register(store, "L1", shots=3, protagonist="robot")
        register(store, "L2", shots=3, protagonist="kangaroo")
        store.record(watch("alice", "a1", 0, 12) + watch("bob", "b1", 0, 6) + watch("carol", "c1", 0, 12, lesson="L2"))
    return path


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ingest_retention_forget_export(db: str, tmp_path: Path) -> None:
    file = tmp_path / "more.jsonl"
    lines = [json.dumps(e) for e in watch("dave", "d1", 0, 3)] + ["[]", '{"type": "play"}']
    file.write_text("\n".join(lines))
    out = run("analytics", "ingest", str(file), "--json")
    assert (out["stored"], out["duplicates"], out["rejected"]) == (2, 0, 1)
    assert out["errors"][0]["where"] == "more.jsonl:4"
    again = run("analytics", "ingest", str(file), "--workers", "2", "--json")  # the file in two worker processes
    assert (again["stored"], again["duplicates"], again["rejected"]) == (0, 2, 1)

    curve = run("analytics", "retention", "L1", "--json")
    assert {k: curve[k] for k in ("lesson_id", "length_s", "bucket_s", "viewers")} == {
        "lesson_id": "L1",
        "length_s": 12.0,
        "bucket_s": 1,
        "viewers": 3,
    }
    assert curve["retention"][:4] == [1.0, 1.0, 1.0, pytest.approx(2 / 3)] and len(curve["retention"]) == 12

    assert run("analytics", "metrics", "L1", "--json")["completions"] == 1
    assert [s["shot_id"] for s in run("analytics", "dropoff", "L1", "--json")] == ["s0", "s1", "s2"]
    assert run("analytics", "compare", "--by", "protagonist", "--json")["sample_too_small"] is True
    assert run("analytics", "student", "bob", "--json")["recommendation"]["lesson_id"] == "L2"
    exported = run("analytics", "export", "alice")
    assert [s["actor"]["account"]["name"] for s in exported["statements"]] == ["alice", "alice"]
    assert run("analytics", "forget", "alice", "--json") == {"deleted": 2}
    assert run("analytics", "purge", "--older-than-days", "36500", "--json") == {"deleted": 0}


def test_bad_input_exits_2(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["analytics", "retention", "missing", "--json"])
    assert result.exit_code == 2 and "unknown lesson 'missing'" in result.output
    result = CliRunner().invoke(main, ["analytics", "ingest", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_report_is_self_contained(db: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    assert run("analytics", "report", "--html", str(path), "--lesson", "L1", "--json") == {"report": str(path)}
    page = path.read_text()
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    for marker in (
        'class="retention-curve"',
        'class="shot-boundary"',
        'class="dropoff-bar"',
        'id="completion-trend"',
        'class="variants" data-by="protagonist"',
    ):
        assert marker in page
    run("analytics", "report", "--html", str(tmp_path / "all.html"), "--json")
    assert (tmp_path / "all.html").read_text().count('class="lesson"') == 2


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package `chromium`): report not rendered")
def test_report_renders_in_headless_chromium(db: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    run("analytics", "report", "--html", str(path), "--lesson", "L1", "--json")
    assert CHROMIUM is not None
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1000,1600", path.as_uri()],
        check=True,
        capture_output=True,
        timeout=90,
    )
    assert shot.stat().st_size > 5_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = subprocess.run([*flags, "--dump-dom", path.as_uri()], check=True, capture_output=True, text=True, timeout=90)
    assert dom.stdout.count("<polyline") >= 1 and 'class="dropoff-bar"' in dom.stdout
    assert dom.stdout.count('class="shot-boundary"') == 3 and 'id="completion-trend"' in dom.stdout
