"""A lesson's shots go to a remote engine concurrently (bounded), over real loopback HTTP: clips stay in
order, the server sees overlapping jobs, per-shot progress is reported, and the first failure stops the rest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edusdk import EduClient, Outline
from edusdk._errors import MediaError, RemoteAPIError
from edusdk._lessons import RenderProgress, engine_concurrency
from edusdk.engine.base import ProgressCallback
from edusdk.engine.remote import RemoteEngine
from edusdk.engine.storyboard import StoryboardEngine
from edusdk.models.engine import Clip, ShotRequest
from edusdk.models.script import Script
from edusdk.server import ServerConfig, create_app
from edusdk.server.testing import serve_in_thread

KEY = "sk-tenant-c-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]
OUTLINE = ROOT / "examples" / "outlines" / "photosynthesis.yaml"
FAIL_WORD = "FAILME"


class OverlapRecordingEngine(StoryboardEngine):
    """Test double: the real storyboard engine, recording how many renders overlap; fails prompts with FAIL_WORD."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.active = self.max_active = 0
        self.prompts: list[str] = []

    def generate(self, request: ShotRequest, *, output: Path, on_progress: ProgressCallback | None = None) -> Clip:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.prompts.append(request.prompt)
        try:
            if FAIL_WORD in request.prompt:
                raise MediaError(f"test double: refusing {request.prompt!r}")
            return super().generate(request, output=output, on_progress=on_progress)
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, OverlapRecordingEngine]]:
    engine = OverlapRecordingEngine()
    config = ServerConfig(data_dir=tmp_path_factory.mktemp("srv"), api_keys={"c": KEY}, poll_after_ms=20,
                          concurrency=2)  # fmt: skip
    with serve_in_thread(create_app(config, engine=engine)) as url:
        yield url, engine


def test_local_engines_stay_sequential_and_remote_defaults_to_four() -> None:
    assert engine_concurrency(StoryboardEngine()) == 1
    assert engine_concurrency(RemoteEngine("http://127.0.0.1:1/v1")) == 4
    assert engine_concurrency(RemoteEngine("http://127.0.0.1:1/v1", max_concurrency=2)) == 2


def test_concurrent_render_overlaps_keeps_order_and_equals_sequential(
    served: tuple[str, OverlapRecordingEngine], tmp_path: Path
) -> None:
    url, engine = served
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")
    outline = Outline.from_file(OUTLINE)

    def render(name: str, concurrency: int) -> tuple[list[str], list[RenderProgress], object]:
        events: list[RenderProgress] = []
        remote = RemoteEngine(f"{url}/v1", api_key=KEY, max_concurrency=concurrency, poll_interval=0.02)
        lesson = client.lessons.render(outline, output=tmp_path / name / "lesson.mp4", size=(64, 36), fps=6,
                                       engine=remote, on_progress=events.append)  # fmt: skip
        return [t.shot_id for t in lesson.timeline], events, lesson.timeline

    engine.max_active = 0
    ids, events, timeline = render("concurrent", 4)
    assert engine.max_active >= 2  # the server ran two of this lesson's jobs at once
    shot_ids = [s.id for s in client.scripts.expand(outline).shots]
    assert ids == shot_ids  # clips in script order
    done = {e.shot_index for e in events if e.stage == "generate" and e.fraction == 1.0}
    assert done == set(range(len(shot_ids))) and all(e.shot_count == len(shot_ids) for e in events if e.shot_count)

    engine.max_active = 0
    seq_ids, _, seq_timeline = render("sequential", 1)
    assert engine.max_active == 1 and seq_ids == ids and seq_timeline == timeline


def test_first_failure_stops_the_other_shots(served: tuple[str, OverlapRecordingEngine], tmp_path: Path) -> None:
    url, _ = served
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")
    script = client.scripts.expand(Outline.from_file(OUTLINE))
    shots = [s.model_copy(update={"prompt": f"{FAIL_WORD} {s.prompt}"}) if i == 0 else s
             for i, s in enumerate(script.shots)]  # fmt: skip
    failing = Script.model_validate({**script.model_dump(), "shots": [s.model_dump() for s in shots]})
    headers = {"Authorization": f"Bearer {KEY}"}
    before = len(httpx.get(f"{url}/v1/videos", params={"limit": 100}, headers=headers).json()["data"])
    remote = RemoteEngine(f"{url}/v1", api_key=KEY, max_concurrency=2, poll_interval=0.02)
    with pytest.raises(RemoteAPIError, match="test double"):
        client.lessons.render(failing, output=tmp_path / "lesson.mp4", size=(64, 36), fps=6, engine=remote)
    created = len(httpx.get(f"{url}/v1/videos", params={"limit": 100}, headers=headers).json()["data"]) - before
    assert created <= 2 < len(shots)  # the shots still queued were never sent
    assert not (tmp_path / "lesson.mp4").exists()
