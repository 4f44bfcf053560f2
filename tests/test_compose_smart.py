"""Smart rendering: the segment plan, the MP4 sample-table reader, and smart vs full renders of real clips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edusdk._media import ffmpeg_exe, probe
from edusdk.compose import render
from edusdk.compose.graph import ComposeInput, Join, build_compose_command
from edusdk.compose.mp4 import read_video_track
from edusdk.compose.quality import InlineQuality, QualityThresholds
from edusdk.compose.smart import CopySegment, EncodePart, EncodeSegment, plan_segments
from edusdk.models.engine import Clip
from edusdk.models.script import Script, Shot, Transition

W, H, FPS = 160, 90, 30
KEYFRAMES = "expr:gte(t,n_forced*1)"


# ----------------------------------------------------------------------------------------------- plan


def _total(segments: list[CopySegment | EncodeSegment]) -> int:
    return sum(s.frames for s in segments)


def test_plan_copies_between_the_transitions() -> None:
    cuts = [list(range(0, 180, 30))] * 3
    plan = plan_segments([180, 180, 180], [Join("fade", 15), Join("cut", 0)], cuts)
    assert plan == [
        CopySegment(0, 0, 150),
        EncodeSegment((EncodePart(0, 150, 30), EncodePart(1, 0, 30)), (Join("fade", 15),)),
        CopySegment(1, 30, 180),
        CopySegment(2, 0, 180),  # a cut needs no window: clip 2 is copied whole
    ]
    assert _total(plan) == 540 - 15


def test_plan_never_cuts_on_a_transition_boundary() -> None:
    # a keyframe exactly where the transition starts/ends is not used: each window part outlasts its transition
    plan = plan_segments([90, 90], [Join("fade", 30)], [[0, 30, 60], [0, 30, 60]])
    assert plan[0] == CopySegment(0, 0, 30)
    window = plan[1]
    assert isinstance(window, EncodeSegment) and window.parts == (EncodePart(0, 30, 60), EncodePart(1, 0, 60))
    assert plan[2] == CopySegment(1, 60, 90) and _total(plan) == 150


def test_plan_merges_windows_across_a_short_clip() -> None:
    plan = plan_segments([40, 45, 180], [Join("fade", 15), Join("wipeleft", 15)], [[0, 30], [0, 30], [0, 30, 60]])
    assert plan[0] == EncodeSegment(
        (EncodePart(0, 0, 40), EncodePart(1, 0, 45), EncodePart(2, 0, 30)), (Join("fade", 15), Join("wipeleft", 15))
    )
    assert plan[1] == CopySegment(2, 30, 180) and _total(plan) == 265 - 30


def test_windowed_graph_sends_only_the_transition_windows_through_xfade(tmp_path: Path) -> None:
    inputs = [ComposeInput(Path(f"/c/{n}.mp4"), W, H, FPS, 60) for n in "abc"]
    inline = InlineQuality(tmp_path, fps=FPS, frames=165, thresholds=QualityThresholds())
    args = build_compose_command(inputs, [Join("fade", 15), Join("cut", 0)], width=W, height=H, fps=FPS,
                                 captions=None, output=Path("o.mp4"), windowed=True, detect=inline,
                                 keyframes=[0, 17])  # fmt: skip
    graph = args[args.index("-filter_complex") + 1]
    # copy a[0:44), window a[44:60) × b[0:16) (its xfade starts at the window's frame 1), copy b[16:60), all of c
    assert graph.count("xfade=") == 1 and "offset=0.016667" in graph and "concat=n=4:v=1:a=0" in graph
    assert "trim=start_frame=44:end_frame=60" in graph and "trim=start_frame=16:end_frame=60" in graph
    assert "setpts=expr=N/(30*TB)" in graph and "freezedetect" in graph and "quality-output.txt" in graph
    assert args[args.index("-force_key_frames") + 1] == "expr:eq(n,0)+eq(n,17)"
    assert args[-3:] == ["-f", "null", "-"] and "o.mp4" in args  # the detectors' branch writes nothing


def test_plan_without_clean_cuts_encodes_everything() -> None:
    plan = plan_segments([60, 60], [Join("fade", 10)], [[], []])
    assert len(plan) == 1 and isinstance(plan[0], EncodeSegment) and _total(plan) == 110


# ----------------------------------------------------------------------------------------------- clips


def _ffmpeg(*args: str) -> str:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return proc.stdout


def _make_clip(path: Path, frames: int, hue: int, *, preset: str = "veryfast", size: str = f"{W}x{H}") -> Path:
    source = f"testsrc2=size={size}:rate={FPS},hue=h={hue}"
    _ffmpeg("-f", "lavfi", "-i", source, "-frames:v", str(frames), "-c:v", "libx264", "-preset", preset, "-crf", "23",
            "-pix_fmt", "yuv420p", "-force_key_frames", KEYFRAMES, "-sc_threshold", "0", "-flags", "+cgop",
            "-movflags", "+faststart", "-y", str(path))  # fmt: skip
    return path


FRAMES = [75, 64, 40, 90, 70]


@pytest.fixture(scope="module")
def engine_like_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """H.264 clips encoded like the storyboard engine's (compose settings, a keyframe every second)."""
    folder = tmp_path_factory.mktemp("smart")
    return [_make_clip(folder / f"c{i}.mp4", n, 40 * i) for i, n in enumerate(FRAMES)]


def _script(transitions: list[tuple[str, float]]) -> Script:
    shots = [
        Shot(id=f"s{i}", section=0, prompt="p", duration_s=2.0, seed=i, narration=f"Shot {i} has a caption.",
             transition=Transition(name=name, duration_s=seconds))
        for i, (name, seconds) in enumerate(transitions)
    ]  # fmt: skip
    return Script(title="Smart", subject="s", audience="grade 7", style="flat", template="t", outline_hash="h",
                  shots=shots)  # fmt: skip


def _clips(paths: list[Path], frames: list[int], size: tuple[int, int] = (W, H)) -> list[Clip]:
    return [
        Clip(shot_id=f"s{i}", path=p, width=size[0], height=size[1], fps=FPS, num_frames=n, engine="test", seed=0)
        for i, (p, n) in enumerate(zip(paths, frames, strict=True))
    ]


def _decoded_timestamps(video: Path) -> list[float]:
    """Presentation time (seconds) of every decoded frame."""
    lines = _ffmpeg("-i", str(video), "-map", "0:v:0", "-f", "framecrc", "-").splitlines()
    timebase = next(line for line in lines if line.startswith("#tb 0:")).split(":", 1)[1].strip()
    num, den = (int(x) for x in timebase.split("/"))
    return [round(int(line.split(",")[2]) * num / den, 4) for line in lines if line and not line.startswith("#")]


def _frame(video: Path, index: int) -> bytes:
    return subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(video), "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


def _mean_abs_diff(a: bytes, b: bytes) -> float:
    assert len(a) == len(b) == W * H
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def test_mp4_reader_finds_the_forced_keyframes(engine_like_clips: list[Path], tmp_path: Path) -> None:
    track = read_video_track(engine_like_clips[3])
    assert track is not None and track.codec == "avc1" and (track.width, track.height) == (W, H)
    assert track.sample_count == 90 and track.fps == FPS and track.clean_cuts == [0, 30, 60]
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x08free" + b"not a video" * 10)
    assert read_video_track(junk) is None and read_video_track(tmp_path / "missing.mp4") is None


def test_smart_render_matches_the_full_render_frame_for_frame(engine_like_clips: list[Path], tmp_path: Path) -> None:
    script = _script([("fade", 0.5), ("wipeleft", 0.3), ("cut", 0), ("dissolve", 0.4), ("fade", 0.5)])
    clips = _clips(engine_like_clips, FRAMES)
    smart = render(script, clips, output=tmp_path / "smart" / "l.mp4", width=W, height=H, fps=FPS)
    full = render(script, clips, output=tmp_path / "full" / "l.mp4", width=W, height=H, fps=FPS, smart=False)

    assert smart.method == "smart" and smart.copied_frames > 0 and "copied" in smart.note
    assert full.method == "full" and full.note == "smart rendering was turned off"
    expected = sum(FRAMES) - (15 + 9 + 0 + 12)
    assert smart.info.frames == full.info.frames == expected
    assert smart.timeline == full.timeline and smart.cues == full.cues
    stamps = _decoded_timestamps(smart.video)
    assert len(stamps) == expected and stamps == _decoded_timestamps(full.video)
    assert stamps == [round(i / FPS, 4) for i in range(expected)]
    info = probe(smart.video)
    assert info.subtitle_tracks == 1 and info.codec == "h264"
    assert abs(info.duration_s - full.info.duration_s) <= 1 / FPS
    # the same pictures at the same indices: in a copied stretch, inside a transition, and after the cut
    for index in (10, 60, 68, 120, expected - 1):
        assert _mean_abs_diff(_frame(smart.video, index), _frame(full.video, index)) < 6, index
    assert smart.srt is not None and smart.srt.read_text().startswith("1\n00:00:00,000 --> ")
    assert sorted(p.name for p in smart.video.parent.iterdir()) == ["l.mp4", "l.srt", "l.vtt"]


def test_smart_falls_back_when_parameters_differ(engine_like_clips: list[Path], tmp_path: Path) -> None:
    script = _script([("fade", 0.5), ("cut", 0)])
    other = _make_clip(tmp_path / "ultra.mp4", 64, 90, preset="ultrafast")
    result = render(script, _clips([engine_like_clips[0], other], FRAMES[:2]), output=tmp_path / "a.mp4",
                    width=W, height=H, fps=FPS)  # fmt: skip
    assert result.method == "full" and "codec parameters" in result.note
    assert result.info.frames == FRAMES[0] + FRAMES[1] - 15

    # clips that match each other but not the final encode (another preset): the first window tells
    ultra = [_make_clip(tmp_path / f"u{i}.mp4", 64, 20 * i, preset="ultrafast") for i in range(2)]
    result = render(script, _clips(ultra, [64, 64]), output=tmp_path / "b.mp4", width=W, height=H, fps=FPS)
    assert result.method == "full" and "windows" in result.note and result.info.frames == 128 - 15


def test_smart_falls_back_for_another_size(engine_like_clips: list[Path], tmp_path: Path) -> None:
    script = _script([("fade", 0.5), ("cut", 0)])
    big = _make_clip(tmp_path / "big.mp4", 64, 0, size="192x108")
    clips = _clips([engine_like_clips[0], big], FRAMES[:2])
    clips[1] = clips[1].model_copy(update={"width": 192, "height": 108})
    result = render(script, clips, output=tmp_path / "c.mp4", width=W, height=H, fps=FPS, preset="ultrafast")
    assert result.method == "full" and "192x108" in result.note and result.info.frames == 75 + 64 - 15


def test_storyboard_clips_are_smart_rendered(tmp_path: Path) -> None:
    from edusdk.engine.storyboard import StoryboardEngine
    from edusdk.models.engine import ShotRequest

    engine = StoryboardEngine()
    clips = [
        engine.generate(
            ShotRequest(shot_id=f"s{i}", prompt="card", width=W, height=H, fps=10, num_frames=25, seed=i),
            output=tmp_path / f"s{i}.mp4",
        )
        for i in range(2)
    ]
    script = _script([("fade", 0.5), ("cut", 0)])
    result = render(script, clips, output=tmp_path / "out" / "l.mp4", width=W, height=H, fps=10)
    assert result.method == "smart", result.note
    assert result.info.frames == 50 - 5 and result.manifest_entry()["method"] == "smart"


def test_edge_needs_ask_for_the_copied_frames_beside_a_window_that_could_continue_a_run() -> None:
    from edusdk.compose.quality import FrameFlags
    from edusdk.compose.smart import _edge_needs

    cuts = [[0, 30, 60], [0, 30, 60]]
    segments = plan_segments([90, 90], [Join("fade", 15)], cuts)
    assert [type(s).__name__ for s in segments] == ["CopySegment", "EncodeSegment", "CopySegment"]
    clips = {0: FrameFlags((False,) * 90, (False,) * 90), 1: FrameFlags((False,) * 90, (False,) * 90)}

    def window(black: bool = False, first: bool = False, last: bool = False) -> FrameFlags:
        same = [False] * 45
        same[1], same[-1] = first, last
        return FrameFlags((black,) + (False,) * 44, tuple(same))

    # a window that starts and ends on pictures of their own: no run can cross, nothing more to decode
    assert _edge_needs(segments, [90, 90], cuts, clips, window()) == {0: [], 1: []}
    # its second frame repeats its first (clip 0's frame 60): clip 0's frames 59 and 60, exactly
    assert _edge_needs(segments, [90, 90], cuts, clips, window(first=True)) == {0: [(59, 61)], 1: []}
    assert _edge_needs(segments, [90, 90], cuts, clips, window(black=True)) == {0: [(59, 61)], 1: []}
    # its last frame repeats the one before: clip 1's first copied GOP
    assert _edge_needs(segments, [90, 90], cuts, clips, window(last=True)) == {0: [], 1: [(30, 60)]}
    # clips joined by a cut: the end of clip 0 only matters when clip 1 starts black
    cut = plan_segments([90, 90], [Join("cut", 0)], cuts)
    empty = FrameFlags((), ())
    assert _edge_needs(cut, [90, 90], cuts, clips, empty) == {0: [], 1: []}
    dark = {0: clips[0], 1: FrameFlags((True,) + (False,) * 89, (False,) * 90)}
    assert _edge_needs(cut, [90, 90], cuts, dark, empty) == {0: [(89, 90)], 1: []}
