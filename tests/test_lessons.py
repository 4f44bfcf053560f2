"""`client.lessons.render` through the SDK: the manifest matches the real video, the store has the timeline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from edusdk import AsyncEduClient, EduClient, Manifest, Outline, PolicyRefusedError, RenderProgress
from edusdk._media import probe

ROOT = Path(__file__).resolve().parents[1]
PHOTOSYNTHESIS = ROOT / "examples" / "outlines" / "photosynthesis.yaml"


@pytest.fixture
def client(tmp_path: Path) -> EduClient:
    return EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")


def test_render_writes_video_captions_manifest_and_registers(client: EduClient, tmp_path: Path) -> None:
    events: list[RenderProgress] = []
    outline = Outline.from_file(PHOTOSYNTHESIS)
    lesson = client.lessons.render(outline, output=tmp_path / "lesson.mp4", size=(192, 108), fps=12,
                                   on_progress=events.append)  # fmt: skip
    info = probe(lesson.video)
    assert info.frames == round(lesson.duration_s * 12)
    assert abs(info.duration_s - lesson.timeline[-1].end_s) <= 1 / 12 + 1e-6

    manifest = Manifest.model_validate_json(lesson.manifest.read_text())
    assert manifest.lesson_id == lesson.lesson_id
    assert manifest.outline_hash == outline.content_hash()
    assert manifest.video.frames == info.frames and manifest.video.subtitle_tracks == 1
    assert manifest.engine["name"] == "storyboard"
    assert set(manifest.engine["seeds"]) == {s.id for s in manifest.script.shots}
    assert manifest.provenance["ai_generated"] is True
    assert manifest.moderation.decision == lesson.moderation.decision
    assert "ffmpeg" in manifest.tools and lesson.captions.suffix == ".vtt"

    # the shots' nominal lengths minus the transition overlaps is the container's duration (within a frame)
    shots = manifest.script.shots
    nominal = sum(round(s.duration_s * 12) for s in shots) - sum(
        round(s.transition.duration_s * 12) for s in shots[:-1]
    )
    assert info.frames == nominal

    stages = [e.stage for e in events]
    assert stages[0] == "script" and stages[-1] == "done" and "compose" in stages
    assert {e.shot_index for e in events if e.stage == "generate"} == set(range(len(shots)))

    segments = client.analytics.shot_segments(lesson.lesson_id)
    assert [s.shot_id for s in segments] == [t.shot_id for t in lesson.timeline]
    assert [s.start_s for s in segments] == pytest.approx([t.start_s for t in lesson.timeline])


def test_rerender_is_the_same_lesson(client: EduClient, tmp_path: Path) -> None:
    outline = Outline.from_file(PHOTOSYNTHESIS)
    a = client.lessons.render(outline, output=tmp_path / "a.mp4", size="128x72", fps=8)
    b = client.lessons.render(outline, output=tmp_path / "b.mp4", size="128x72", fps=8)
    assert a.lesson_id == b.lesson_id
    assert len(client.analytics.list_lessons()) == 1
    assert len(client.analytics.shot_segments(a.lesson_id)) == len(a.timeline)


def test_block_raises_before_any_engine_call(client: EduClient, tmp_path: Path) -> None:
    outline = Outline.from_file(PHOTOSYNTHESIS)
    outline.sections[0].narration += " Then we explain how to build a pipe bomb."

    class ExplodingEngine:  # test double: fails the test if the engine is ever reached
        name = "exploding"

        @property
        def capabilities(self) -> object:
            raise AssertionError("engine reached")

        def generate(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("engine reached")

    with pytest.raises(PolicyRefusedError) as exc:
        client.lessons.render(outline, output=tmp_path / "x.mp4", engine=ExplodingEngine())  # type: ignore[arg-type]
    assert exc.value.report.decision == "block"
    assert any("narration" in f.where for f in exc.value.report.findings)
    assert list(tmp_path.glob("x.*")) == []


def test_async_client_renders(tmp_path: Path) -> None:
    async def go() -> str:
        async with AsyncEduClient(db=f"sqlite:///{tmp_path / 'a.db'}") as client:
            lesson = await client.lessons.render(Outline.from_file(PHOTOSYNTHESIS), output=tmp_path / "a.mp4",
                                                 size="96x54", fps=6)  # fmt: skip
            return lesson.lesson_id

    lesson_id = asyncio.run(go())
    assert json.loads((tmp_path / "a.json").read_text())["lesson_id"] == lesson_id


def test_async_render_signature_matches_sync() -> None:
    import inspect

    from edusdk._client import AsyncLessonsResource
    from edusdk._lessons import LessonsResource

    sync = inspect.signature(LessonsResource.render).parameters
    async_ = inspect.signature(AsyncLessonsResource.render).parameters
    assert list(sync) == list(async_)
    assert all(sync[name].default == async_[name].default for name in sync)


def test_shot_requests_ask_for_keyframes_just_outside_the_transitions() -> None:
    from edusdk._lessons import transition_keyframes
    from edusdk.models.script import Script, Shot, Transition

    fade, cut = Transition(name="fade", duration_s=0.5), Transition(name="cut")
    moves = [fade, cut, Transition(name="wipeleft", duration_s=0.1)]
    shots = [Shot(id=f"s{i}", section=0, prompt="p", duration_s=2, seed=i, narration="n", transition=t)
             for i, t in enumerate([*moves, Transition(name="fade", duration_s=1)])]  # fmt: skip
    script = Script(title="t", subject="s", audience="a", style="flat", template="t", outline_hash="h", shots=shots)
    # 24 fps: the fade is 12 frames, the cut 0, the wipe round(2.4) = 2; the last shot has no outgoing transition
    assert [transition_keyframes(script, i, 24) for i in range(4)] == [[35], [13], [45], [3]]
