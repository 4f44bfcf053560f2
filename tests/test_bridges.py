"""Generated bridge transitions: the model, the timeline maths, the storyboard's connect mode, compose and render."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from edusdk._bridges import bridge_clips, make_bridges
from edusdk._errors import BadInputError
from edusdk._media import ffmpeg_exe, probe
from edusdk.compose import render
from edusdk.compose.timeline import Bridge, build_timeline, join_plan, shot_lanes
from edusdk.engine.storyboard import ConnectRenderer, StoryboardEngine
from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest
from edusdk.models.script import TRANSITION_NAMES, Script, Shot, Transition

FPS = 10
W, H = 160, 90


def _script(transition: Transition, durations: tuple[float, ...] = (2.0, 2.0, 2.0)) -> Script:
    shots = [Shot(id=f"s{i}", section=0, prompt=f"card {i}", duration_s=d, seed=i, narration=f"Shot {i} speaks.",
                  transition=transition if i == 0 else Transition(name="fade", duration_s=0.5),
                  on_screen={"title": f"Card {i}"}) for i, d in enumerate(durations)]  # fmt: skip
    return Script(title="Joining shots", subject="s", audience="a", style="flat", template="t", outline_hash="h",
                  shots=shots)  # fmt: skip


def _fake(shot_id: str, frames: int) -> Clip:
    return Clip(shot_id=shot_id, path=Path(f"/nonexistent/{shot_id}.mp4"), width=W, height=H, fps=FPS,
                num_frames=frames, engine="test", seed=0)  # fmt: skip


class NoConnectEngine:
    """Test double: the storyboard engine without the connect mode (as most text-to-video engines are)."""

    name = "no-connect"

    def __init__(self) -> None:
        self.inner = StoryboardEngine()

    @property
    def capabilities(self) -> EngineCapabilities:
        caps = self.inner.capabilities
        return caps.model_copy(update={"modes": tuple(m for m in caps.modes if m != "connect")})

    def generate(self, request: ShotRequest, *, output: Path, on_progress: object = None) -> Clip:
        return self.inner.generate(request, output=output)


def _frame(video: Path, index: int) -> np.ndarray:  # type: ignore[type-arg]
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-vf", f"select=eq(n\\,{index})",
                          "-fps_mode", "passthrough", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(H, W, 3).astype(np.float32)


# ------------------------------------------------------------------------------------------------- the model


def test_bridge_is_a_transition_with_a_validated_fallback() -> None:
    assert "bridge" in TRANSITION_NAMES
    bridge = Transition(name="bridge", duration_s=0.8)
    assert bridge.fallback == "fade" and bridge.model_dump() == {"name": "bridge", "duration_s": 0.8}
    custom = Transition(name="bridge", duration_s=0.8, fallback="wipeleft")
    assert Transition.model_validate(custom.model_dump()) == custom
    with pytest.raises(ValidationError, match="unknown fallback transition 'morph'; valid: fade, wipeleft"):
        Transition(name="bridge", duration_s=0.8, fallback="morph")
    with pytest.raises(ValidationError, match="fallback only applies to the 'bridge'"):
        Transition(name="fade", duration_s=0.5, fallback="wipeleft")
    with pytest.raises(ValidationError, match="needs a duration"):
        Transition(name="bridge")
    assert Transition(name="fade", duration_s=0.5).model_dump() == {"name": "fade", "duration_s": 0.5}


# ------------------------------------------------------------------------------------------ the timeline maths


def test_a_generated_bridge_adds_its_frames_with_the_boundary_in_its_middle() -> None:
    script = _script(Transition(name="bridge", duration_s=0.7))
    clips = [_fake("s0", 20), _fake("s1", 20), _fake("s2", 20)]
    bridge = _fake("s0-bridge", 7)
    plan = join_plan(script, clips, [Bridge(0, bridge, "made")])
    assert [c.shot_id for c in plan.clips] == ["s0", "s0-bridge", "s1", "s2"]
    assert [t.name for t in plan.transitions] == ["cut", "cut", "fade", "fade"] and plan.positions == [0, 2, 3]
    assert plan.notes == [{"after": "s0", "method": "generated", "frames": 7, "note": "made"}]
    tl = build_timeline(script, clips, FPS, [Bridge(0, bridge)])
    # 20 + 7 (cuts) + 20 - 5 (fade) + 20 = 62 frames; s0|s1 at 20 + 3.5, s1|s2 at 42 + 2.5 (mid-fade)
    assert tl[-1].end_s == pytest.approx(6.2)
    assert [e.start_s for e in tl] == pytest.approx([0, 2.35, 4.45])
    assert (tl[0].visible_end_s, tl[1].visible_start_s) == (2.0, 2.7)
    assert [e.transition_out for e in tl] == ["bridge", "fade", "cut"]
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(tl))
    lanes, joins = shot_lanes(plan, FPS)
    assert (lanes, joins) == ([27, 20, 20], [0, 5]) and sum(lanes) - sum(joins) == 62


def test_without_a_bridge_clip_the_fallback_xfade_is_used_and_noted() -> None:
    script = _script(Transition(name="bridge", duration_s=0.7, fallback="wipeleft"))
    clips = [_fake("s0", 20), _fake("s1", 20), _fake("s2", 20)]
    plan = join_plan(script, clips, [Bridge(0, None, "engine has no connect mode")])
    assert [t.name for t in plan.transitions][:2] == ["wipeleft", "fade"] and len(plan.clips) == 3
    assert plan.notes[0] == {"after": "s0", "method": "fallback", "transition": "wipeleft",
                             "note": "engine has no connect mode"}  # fmt: skip
    tl = build_timeline(script, clips, FPS)  # no Bridge at all: the same fallback
    assert tl[-1].end_s == pytest.approx((60 - 7 - 5) / FPS) and tl[0].transition_out == "wipeleft"
    with pytest.raises(BadInputError, match="matches no 'bridge' transition"):
        join_plan(script, clips, [Bridge(1, None)])
    with pytest.raises(BadInputError, match="two bridges"):
        join_plan(script, clips, [Bridge(0, None), Bridge(0, None)])


# ------------------------------------------------------------------------------------- storyboard connect mode


def test_storyboard_connect_blends_from_a_to_b_without_repeating_either(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (W, H), (200, 30, 30)).save(a)
    Image.new("RGB", (W * 2, H * 2), (30, 30, 200)).save(b)  # any size: fitted to the frame
    request = ShotRequest(shot_id="x-bridge", mode="connect", prompt="p", width=W, height=H, fps=FPS, num_frames=8,
                          seed=1, image=a, end_image=b)  # fmt: skip
    frames = list(ConnectRenderer(request).frames())
    assert len(frames) == 8 and frames[0].shape == (H, W, 3)
    red = [int(f[H // 2, W // 2, 0]) for f in frames]
    assert red == sorted(red, reverse=True) and 30 < red[-1] < red[0] < 200  # strictly between A and B
    assert "connect" in StoryboardEngine().capabilities.modes
    clip = StoryboardEngine().generate(request, output=tmp_path / "bridge.mp4")
    assert probe(clip.path).frames == 8 and clip.metadata["layout"] == "connect"
    with pytest.raises(BadInputError, match="end_image"):
        StoryboardEngine().generate(request.model_copy(update={"end_image": None}), output=tmp_path / "x.mp4")


# ------------------------------------------------------------------------------------- make_bridges + compose


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Script, list[Clip]]:
    folder = tmp_path_factory.mktemp("shots")
    script = _script(Transition(name="bridge", duration_s=0.6, fallback="wipeleft"))
    engine = StoryboardEngine()
    clips = [engine.generate(ShotRequest(shot_id=s.id, prompt=s.prompt, width=W, height=H, fps=FPS, num_frames=20,
                                         seed=s.seed, on_screen=s.on_screen), output=folder / f"{s.id}.mp4")
             for s in script.shots]  # fmt: skip
    return script, clips


def test_make_bridges_generates_with_connect_and_compose_shows_it_between_cuts(
    shots: tuple[Script, list[Clip]], tmp_path: Path
) -> None:
    script, clips = shots
    bridges = make_bridges(StoryboardEngine(), script, clips, tmp_path, FPS)
    assert [(b.after, b.clip.num_frames if b.clip else None) for b in bridges] == [(0, 6)]
    assert "connect mode" in bridges[0].note and len(bridge_clips(bridges)) == 1
    out = tmp_path / "lesson.mp4"
    result = render(script, clips, output=out, width=W, height=H, fps=FPS, bridges=bridges)
    assert probe(out).frames == result.info.frames == 20 + 6 + 20 - 5 + 20
    assert result.timeline[0].end_s == pytest.approx(2.3) and result.timeline[1].visible_start_s == 2.6
    assert result.manifest_entry()["bridges"] == [
        {"after": "s0", "method": "generated", "frames": 6, "note": bridges[0].note}
    ]  # fmt: skip
    # The bridge frames lie between A's last frame and B's first: each is closer to A early, to B late.
    a_last, b_first = _frame(out, 19), _frame(out, 26)
    early, late = _frame(out, 20), _frame(out, 25)
    assert np.abs(early - a_last).mean() < np.abs(early - b_first).mean()
    assert np.abs(late - b_first).mean() < np.abs(late - a_last).mean()


def test_an_engine_without_connect_gets_the_declared_fallback_noted(
    shots: tuple[Script, list[Clip]], tmp_path: Path
) -> None:
    script, clips = shots
    bridges = make_bridges(NoConnectEngine(), script, clips, tmp_path, FPS)
    assert bridges == [Bridge(0, None, "engine 'no-connect' has no connect mode: wipeleft (0.6 s) instead")]
    assert list(tmp_path.iterdir()) == []  # nothing generated, not even the frames
    result = render(script, clips, output=tmp_path / "l.mp4", width=W, height=H, fps=FPS, bridges=bridges)
    assert result.info.frames == 60 - 6 - 5
    note = result.manifest_entry()["bridges"]
    assert note == [{"after": "s0", "method": "fallback", "transition": "wipeleft", "note": bridges[0].note}]


def test_lessons_render_makes_the_bridge_and_the_manifest_says_how(tmp_path: Path) -> None:
    from edusdk import EduClient

    script = _script(Transition(name="bridge", duration_s=0.5), durations=(1.5, 1.5, 1.5))
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")
    made = client.lessons.render(script, output=tmp_path / "a.mp4", size=(W, H), fps=FPS)
    fell_back = client.lessons.render(script, output=tmp_path / "b.mp4", size=(W, H), fps=FPS,
                                      engine=NoConnectEngine())  # fmt: skip
    first = json.loads(made.manifest.read_text())["compose"]["bridges"][0]
    second = json.loads(fell_back.manifest.read_text())["compose"]["bridges"][0]
    assert (first["method"], first["frames"], second["method"], second["transition"]) == (
        "generated", 5, "fallback", "fade"
    )  # fmt: skip
    # generated: 15 + 5 + 15 - 5 + 15; fallback fade: 15 - 5 + 15 - 5 + 15
    assert (probe(made.video).frames, probe(fell_back.video).frames) == (45, 35)
    assert made.timeline[0].transition_out == "bridge" and fell_back.timeline[0].transition_out == "fade"
