"""Batch generation: matrix expansion, the job store, local runs with blocked lessons and retries, the CLI
and `client.batch`. Renders are tiny (96x54, 5 fps) with a blocklist-only moderation pack."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from test_batch_support import BASE_OUTLINE, FAST_POLICY, TINY, fast_env, lesson_files, write_matrix

from edusdk import EduClient
from edusdk._errors import BadInputError, OutlineError
from edusdk._media import ffmpeg_exe, probe
from edusdk.batch import JobStore, load_matrix, matrix_from_spec, run_batch
from edusdk.cli import main
from edusdk.models.outline import Outline
from edusdk.script.matrix import variant_id

__all__ = ["fast_env"]  # the fixture, re-exported so pytest finds it here

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "batch" / "fractions-matrix.yaml"


# ---- matrix ------------------------------------------------------------------------------------------------------
def test_example_matrix_is_108_lessons_with_stable_ids() -> None:
    matrix = load_matrix(EXAMPLE)
    assert len(matrix.items) == 108
    first = matrix.items[0]
    assert first.variables == {"protagonist": "Mia", "outfit": "a yellow raincoat", "setting": "in a sunny park",
                               "time_of_day": "in the morning"}  # fmt: skip
    assert first.item_id == variant_id(first.variables)
    assert first.outline.title == "Fractions with Mia" and first.outline.variables == first.variables
    assert load_matrix(EXAMPLE).fingerprint == matrix.fingerprint  # deterministic
    assert len({item.item_id for item in matrix.items}) == 108
    assert matrix.render.size == "640x360"


def test_exclude_and_seeded_sample_are_deterministic(tmp_path: Path) -> None:
    spec = {"outline": str(BASE_OUTLINE), "variables": {"protagonist": ["Mia", "Omar", "Ada"], "outfit": ["a", "b"]},
            "exclude": [{"protagonist": "Ada", "outfit": "b"}], "sample": 3, "seed": 7}  # fmt: skip
    one = matrix_from_spec(spec, source="m.yaml")
    two = matrix_from_spec(spec, source="m.yaml")
    assert [i.item_id for i in one.items] == [i.item_id for i in two.items]
    assert len(one.items) == 3
    assert {"protagonist": "Ada", "outfit": "b"} not in [i.variables for i in one.items]
    other = matrix_from_spec({**spec, "seed": 8}, source="m.yaml")
    assert {i.item_id for i in other.items} <= {i.item_id for i in matrix_from_spec({**spec, "sample": None}).items}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"outline": "missing.yaml", "variables": {"a": [1]}}, "outline"),
        ({"outline": str(BASE_OUTLINE), "variables": {"Bad-Name": [1]}}, "variables"),
        ({"outline": str(BASE_OUTLINE), "variables": {"protagonist": ["Mia"]}, "exclude": [{"nope": 1}]}, "exclude"),
        ({"outline": str(BASE_OUTLINE), "variables": {"protagonist": ["Mia"]}, "sample": 5}, "variants.sample"),
        ({"outline": str(BASE_OUTLINE), "variables": {"protagonist": ["Mia"]}, "colour": "red"}, "colour"),
        ({"outline": str(BASE_OUTLINE), "variables": {"who": ["Mia"]}}, "title"),  # ${protagonist} undefined
        ({"outline": str(BASE_OUTLINE), "render": {"size": "big"}}, "render.size"),
    ],
)
def test_bad_spec_names_the_file_and_field(tmp_path: Path, spec: dict[str, object], field: str) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(OutlineError) as info:
        load_matrix(path)
    assert str(path) in str(info.value)
    assert any(field in f"{where} {msg}" for where, msg in info.value.problems), info.value.problems


def test_jsonl_and_csv_of_whole_outlines(tmp_path: Path) -> None:
    base = Outline.from_file("examples/outlines/photosynthesis.yaml").model_dump(mode="json", exclude_none=True)
    rows = [{**base, "title": f"Photosynthesis {n}"} for n in (1, 2)]
    jsonl = tmp_path / "outlines.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    matrix = load_matrix(jsonl)
    assert [i.outline.title for i in matrix.items] == ["Photosynthesis 1", "Photosynthesis 2"]
    assert all(i.item_id.startswith("o-") for i in matrix.items)
    sections = json.dumps([{"title": "Halves", "narration": "Two equal parts are halves."}])
    csv_file = tmp_path / "outlines.csv"
    csv_file.write_text(
        f'title,subject,audience,sections\nHalves,math,grade 3,"{sections.replace(chr(34), 2 * chr(34))}"\n'
    )
    assert load_matrix(csv_file).items[0].outline.sections[0].title == "Halves"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n{not json\n")
    with pytest.raises(OutlineError, match="line 2"):
        load_matrix(bad)
    with pytest.raises(OutlineError, match="the same lesson"):
        load_matrix(_write(tmp_path / "dup.jsonl", json.dumps(rows[0]) + "\n" + json.dumps(rows[0]) + "\n"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- local runs ----------------------------------------------------------------------------------------------
def test_local_batch_renders_blocks_and_records_variables(tmp_path: Path, fast_env: dict[str, str]) -> None:
    matrix = write_matrix(tmp_path, {"protagonist": ["Mia", "Omar"], "outfit": ["a green hat", "how to cook meth"]})
    out = tmp_path / "out"
    events: list[str] = []
    summary = run_batch(matrix, out, workers=2, on_event=lambda e: events.append(e.kind))
    assert summary.counts == {"pending": 0, "running": 0, "done": 2, "blocked": 2, "failed": 0}
    assert not summary.ok and summary.video_s > 0
    assert {f["state"] for f in summary.failures} == {"blocked"} and "illicit" in summary.failures[0]["error"]
    assert events.count("started") == 4 and events.count("finished") == 4
    store = JobStore(out / "batch.db")
    done = store.lessons(state="done")
    store.close()
    for row in done:
        info = probe(row.video or "")
        assert (info.width, info.height) == (96, 54) and info.frames > 0
        manifest = json.loads(Path(row.manifest or "").read_text())
        assert manifest["script"]["variables"] == row.variables and row.variables["outfit"] == "a green hat"
    assert lesson_files(out) == {r.item_id: ["lesson.json", "lesson.mp4", "lesson.srt", "lesson.vtt"] for r in done}
    with EduClient() as client:  # EDUSDK_DB from fast_env: the workers registered there
        registered = {lesson.lesson_id: lesson for lesson in client.analytics.list_lessons()}
    assert {r.lesson_id for r in done} == set(registered)
    assert all(registered[r.lesson_id or ""].variables == r.variables for r in done)
    assert json.loads((out / "summary.json").read_text())["counts"]["blocked"] == 2
    # a second run without --resume is refused; with it, nothing is left to do
    with pytest.raises(BadInputError, match="already holds a batch"):
        run_batch(matrix, out, workers=1)
    again = run_batch(matrix, out, workers=1, resume=True)
    assert again.rendered == 0 and again.counts["done"] == 2
    Path(done[0].video or "").unlink()  # a deleted output is rendered again on resume
    third = run_batch(matrix, out, workers=1, resume=True)
    assert third.rendered == 1 and third.counts["done"] == 2 and Path(done[0].video or "").is_file()


def _flaky_ffmpeg(tmp_path: Path, failures: int) -> Path:
    """A real ffmpeg behind a wrapper that fails the first `failures` encodes (counted in a file)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    counter = tmp_path / "ffmpeg-calls"
    script = tmp_path / "flaky-ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'case "$*" in *-version*) exec "$REAL" "$@";; esac\n'
        f'n=$(cat "{counter}" 2>/dev/null || echo 0); echo $((n+1)) > "{counter}"\n'
        f'if [ "$n" -lt {failures} ]; then echo "simulated encoder crash" >&2; exit 1; fi\n'
        'exec "$REAL" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_failures_are_retried_then_recorded(tmp_path: Path, fast_env: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    matrix = write_matrix(tmp_path, {"protagonist": ["Mia", "Omar"], "outfit": ["a hat"]})
    monkeypatch.setenv("REAL", ffmpeg_exe())
    monkeypatch.setenv("EDUSDK_FFMPEG", str(_flaky_ffmpeg(tmp_path / "once", failures=1)))
    summary = run_batch(matrix, tmp_path / "flaky", workers=1, retries=2, backoff_s=0.01)
    assert summary.ok, summary.failures
    attempts = sorted(r.attempts for r in JobStore(tmp_path / "flaky" / "batch.db").lessons())
    assert attempts == [1, 2]  # the first encode failed once, then the lesson rendered

    monkeypatch.setenv("EDUSDK_FFMPEG", str(_flaky_ffmpeg(tmp_path / "always", failures=10_000)))
    summary = run_batch(matrix, tmp_path / "broken", workers=1, retries=1, backoff_s=0.01)
    assert summary.counts["failed"] == 2 and not summary.ok
    assert all(f["attempts"] == 2 and "simulated encoder crash" in f["error"] for f in summary.failures)


# ---- CLI and client ------------------------------------------------------------------------------------------
def test_cli_batch_alias_json_status_and_exit_codes(tmp_path: Path, fast_env: dict[str, str]) -> None:
    matrix = write_matrix(tmp_path, {"protagonist": ["Mia", "how to cook meth"], "outfit": ["a hat"]})
    out = tmp_path / "cli"
    runner = CliRunner()
    result = runner.invoke(main, ["batch", str(matrix), "-o", str(out), "--workers", "1", "--json"])
    assert result.exit_code == 1, result.output  # one lesson blocked
    data = json.loads(result.stdout)
    assert data["counts"]["done"] == 1 and data["counts"]["blocked"] == 1 and data["video_s"] > 0
    assert (
        data["failures"][0]["variables"] == {"protagonist": "how to cook meth", "outfit": "a hat"}
        and data["wall_s"] > 0
    )
    status = runner.invoke(main, ["batch", "status", str(out), "--json", "--lessons"])
    assert status.exit_code == 0, status.output
    assert [r["state"] for r in json.loads(status.stdout)["lessons"]] == ["done", "blocked"]
    human = runner.invoke(main, ["batch", "status", str(out)])
    assert "done 1" in human.stdout
    refused = runner.invoke(main, ["batch", "run", str(matrix), "-o", str(out)])
    assert refused.exit_code == 2 and "--resume" in refused.output
    assert runner.invoke(main, ["batch", "status", str(tmp_path / "nothing")]).exit_code == 2
    wrong = runner.invoke(main, ["batch", str(matrix), "-o", str(tmp_path / "y"), "--address", "auto"])
    assert wrong.exit_code == 2 and "--address is for --executor ray" in wrong.output
    assert not (tmp_path / "y").exists()  # refused before anything was written
    bad = runner.invoke(main, ["batch", str(tmp_path / "missing.yaml"), "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "missing.yaml" in bad.output


def test_client_batch_submit_yields_results(tmp_path: Path, fast_env: dict[str, str]) -> None:
    matrix = load_matrix(write_matrix(tmp_path, {"protagonist": ["Mia", "Omar"], "outfit": ["a hat"]}))
    with EduClient(policy=FAST_POLICY, db=os.environ["EDUSDK_DB"]) as client:
        job = client.batch.submit(matrix, output_dir=tmp_path / "sdk", workers=2, **TINY)
        results = list(job.results())
        assert sorted(r.item_id for r in results) == sorted(i.item_id for i in matrix.items)
        assert all(r.state == "done" and Path(r.video or "").is_file() for r in results)
        assert job.summary().ok and job.status().counts["done"] == 2
        with pytest.raises(BadInputError):
            client.batch.submit(tmp_path / "missing.yaml", output_dir=tmp_path / "none")


# ---- job store and executor sizing (no rendering) ---------------------------------------------------------------
def test_job_store_transitions_and_resume_reset(tmp_path: Path) -> None:
    matrix = matrix_from_spec({"outline": str(BASE_OUTLINE), "variables": {"protagonist": ["A", "B", "C"],
                                                                          "outfit": ["x"]}})  # fmt: skip
    ids = [item.item_id for item in matrix.items]
    store = JobStore(tmp_path / "batch.db")
    store.create(source="m", fingerprint=matrix.fingerprint, settings={"fps": 5}, items=matrix.items)
    assert store.pending() == ids and store.counts()["pending"] == 3
    assert store.mark_running(ids[0]) == 1 and store.mark_running(ids[1]) == 1
    store.mark_done(ids[0], lesson_id="les_1", video="v.mp4", manifest="v.json", duration_s=2.0, render_s=0.5)
    store.mark_failed(ids[1], error="boom", render_s=0.1, final=False)  # back to pending for a retry
    assert store.get(ids[1]).state == "pending" and store.get(ids[1]).error == "boom"  # type: ignore[union-attr]
    store.mark_running(ids[1])
    store.mark_failed(ids[1], error="boom again", render_s=0.1, final=True)
    store.mark_running(ids[2])  # then the process dies
    assert store.counts() == {"pending": 0, "running": 1, "done": 1, "blocked": 0, "failed": 1}
    assert store.reset_interrupted() == 2  # running and failed go back to pending; done stays
    assert store.pending() == ids[1:] and store.get(ids[1]).attempts == 2  # type: ignore[union-attr]
    store.close()


def test_default_workers_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from edusdk.batch import default_workers

    assert default_workers("storyboard") == (os.cpu_count() or 1)
    assert default_workers("remote") == 4
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    assert default_workers("diffusers") == 3
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert default_workers("diffusers") == 1  # no GPU: one render at a time on the CPU
