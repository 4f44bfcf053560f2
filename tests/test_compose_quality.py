"""Quality checks: per-frame flags, flags joined across pieces, inline detection, static-by-design shots."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edusdk._media import ffmpeg_exe
from edusdk.compose import render
from edusdk.compose.quality import (
    FrameFlags,
    QualityFinding,
    QualityReport,
    QualityThresholds,
    analyse_clips,
    check_quality,
    findings_from_flags,
    forget_clip_analyses,
    in_shots,
    join_flags,
    read_flags,
    static_spans,
)
from edusdk.models.engine import Clip
from edusdk.models.lesson import TimelineEntry
from edusdk.models.script import Script, Shot, Transition

W, H, FPS = 160, 90, 30
KEYFRAMES = "expr:gte(t,n_forced*1)"

# ----------------------------------------------------------------------------------------------- pure


def test_read_flags_turns_detector_events_into_per_frame_flags(tmp_path: Path) -> None:
    events = tmp_path / "events.txt"
    events.write_text(
        "frame:0    pts:0       pts_time:0\nlavfi.black_start=0\n"
        "frame:1    pts:100000  pts_time:0.1\nlavfi.freezedetect.freeze_start=0\n"
        "frame:4    pts:400000  pts_time:0.4\nlavfi.black_end=0.4\nlavfi.freezedetect.freeze_end=0.4\n"
        "frame:6    pts:600000  pts_time:0.6\nlavfi.freezedetect.freeze_start=0.5\n",
        encoding="utf-8",
    )
    flags = read_flags(events, 8)
    assert flags.black == (True,) * 4 + (False,) * 4
    assert flags.same == (False, True, True, True, False, False, True, True)  # the open freeze runs to the end
    assert read_flags(tmp_path / "missing.txt", 3) == FrameFlags((False,) * 3, (False,) * 3)


def test_findings_from_flags_measure_freezes_from_the_repeated_frame() -> None:
    flags = FrameFlags(black=(True,) * 3 + (False,) * 5, same=(False,) + (True,) * 4 + (False,) * 3)
    found = findings_from_flags(flags, fps=1, thresholds=QualityThresholds(black_s=3, freeze_s=5))
    assert found == [QualityFinding("black", 0.0, 3.0), QualityFinding("frozen", 0.0, 5.0)]
    assert findings_from_flags(flags, fps=1, thresholds=QualityThresholds(black_s=0, freeze_s=6)) == []


def test_joined_flags_keep_a_freeze_only_where_the_frame_before_continues() -> None:
    clip = FrameFlags(black=(False,) * 6, same=(False,) + (True,) * 5)
    window = FrameFlags(black=(False,) * 3, same=(False, True, True))
    joined = join_flags([clip.part(2, 6, continues=True), window, clip.part(0, 3, continues=False)])
    assert joined.same == (True,) * 4 + (False, True, True) + (False, True, True)


def _entry(index: int, shot: str, start: float, end: float) -> TimelineEntry:
    return TimelineEntry(index=index, shot_id=shot, start_s=start, end_s=end, visible_start_s=start,
                         visible_end_s=end, transition_out="cut", prompt="p", narration="n")  # fmt: skip


def test_static_shots_are_cut_out_of_frozen_findings() -> None:
    timeline = [_entry(0, "card", 0, 6), _entry(1, "film", 6, 12), _entry(2, "held", 12, 20)]
    report = QualityReport(
        QualityThresholds(freeze_s=4),
        [QualityFinding("frozen", 1.0, 5.5), QualityFinding("frozen", 3.0, 11.0), QualityFinding("black", 0, 3)],
    )
    labelled = in_shots(report, timeline, static=[(0.0, 6.0), (14.0, 20.0)])
    # the card's own freeze goes; a freeze running on 5 s into the next shot stays (its part outside the card)
    assert [(f.kind, f.start_s, f.end_s, f.shot_id) for f in labelled.findings] == [
        ("frozen", 6.0, 11.0, "film"),
        ("black", 0, 3, "card"),
    ]


def test_static_spans_come_from_still_shots_and_clip_metadata() -> None:
    script = _script(["still", "text", "text", "video"])
    clips = [
        _clip("s0", metadata={}),
        _clip("s1", metadata={"static_from_frame": 30}),
        _clip("s2", metadata={"static_from_frame": None}),  # an image panel that pans: not static
        _clip("s3", metadata={"static": True}),
    ]
    timeline = [_entry(i, f"s{i}", 2.0 * i, 2.0 * i + 2) for i in range(4)]
    assert static_spans(script, clips, timeline) == [(0.0, 2.0), (3.0, 4.0), (6.0, 8.0)]


# ----------------------------------------------------------------------------------------------- renders


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], check=True)


def _encode(path: Path, sources: list[str], frames: int) -> Path:
    """An H.264 clip encoded like the storyboard engine's (so smart rendering can copy it) from lavfi sources."""
    inputs = [
        x for s in sources for x in ("-f", "lavfi", "-i", f"{s}{':' if '=' in s else '='}size={W}x{H}:rate={FPS}")
    ]
    graph = "".join(f"[{i}:v]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=1:a=0[v]"
    _ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-frames:v", str(frames), "-c:v", "libx264",
            "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-force_key_frames", KEYFRAMES,
            "-sc_threshold", "0", "-flags", "+cgop", "-y", str(path))  # fmt: skip
    return path


def _clip(shot: str, *, path: Path = Path("x.mp4"), frames: int = 60, metadata: dict[str, object] | None = None,
          fps: int = FPS) -> Clip:  # fmt: skip
    return Clip(shot_id=shot, path=path, width=W, height=H, fps=fps, num_frames=frames, engine="test", seed=0,
                metadata=metadata or {})  # fmt: skip


def _script(modes: list[str], fade_s: float = 0.5) -> Script:
    shots = [
        Shot(id=f"s{i}", section=0, prompt="p", duration_s=2.0, seed=i, narration=f"Shot {i}.", mode=mode,
             transition=Transition(name="fade", duration_s=fade_s))
        for i, mode in enumerate(modes)
    ]  # fmt: skip
    return Script(title="Quality", subject="s", audience="grade 7", style="flat", template="t", outline_hash="h",
                  shots=shots)  # fmt: skip


@pytest.fixture(scope="module")
def flawed_clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    """Clip 0 moves for 2 s then goes black for 2.5 s; clip 1 holds one colour for 5 s; clip 2 moves."""
    folder = tmp_path_factory.mktemp("flawed")
    specs = [(["testsrc2=duration=2", "color=black:duration=2.5"], 135), (["color=0x3366cc"], 150), (["testsrc2"], 60)]
    return [
        _clip(f"s{i}", path=_encode(folder / f"c{i}.mp4", sources, n), frames=n) for i, (sources, n) in enumerate(specs)
    ]


def _spans(report: QualityReport | None) -> list[tuple[str, float, float, str]]:
    assert report is not None
    return [(f.kind, round(f.start_s, 2), round(f.end_s, 2), f.shot_id) for f in report.findings]


def test_inline_checks_match_a_decode_of_the_result_in_both_paths(flawed_clips: list[Clip], tmp_path: Path) -> None:
    script = _script(["text", "text", "text"])
    forget_clip_analyses()
    smart = render(script, flawed_clips, output=tmp_path / "smart.mp4", width=W, height=H, fps=FPS)
    full = render(script, flawed_clips, output=tmp_path / "full.mp4", width=W, height=H, fps=FPS, smart=False)
    assert smart.method == "smart" and full.method == "full"
    # black from 2 s into the fade to clip 1 (its first frames are still dark); clip 1's colour held from the
    # end of that fade (4.5 s) to the start of the next one (frame 255)
    expected = [("black", 2.0, 4.13, "s0"), ("frozen", 4.5, 8.5, "s1")]
    assert _spans(smart.quality) == _spans(full.quality) == expected
    decoded = in_shots(check_quality(full.video, duration_s=full.info.duration_s), full.timeline)
    assert _spans(decoded) == expected  # the detectors on the encoded result agree with the inline ones


def test_clip_analyses_are_reused(flawed_clips: list[Clip], tmp_path: Path) -> None:
    forget_clip_analyses()
    paths, frames = [c.path for c in flawed_clips], [c.num_frames for c in flawed_clips]
    first = analyse_clips(paths, frames, thresholds=QualityThresholds(), folder=tmp_path)
    again = analyse_clips(paths, frames, thresholds=QualityThresholds(), folder=tmp_path / "missing")
    assert first == again and not (tmp_path / "missing").exists()  # no ffmpeg run: nothing written
    assert sum(first[1].same) == 149 and not any(first[2].black)


def test_a_still_storyboard_card_is_not_frozen_but_a_held_clip_is(flawed_clips: list[Clip], tmp_path: Path) -> None:
    from edusdk.engine.storyboard import StoryboardEngine
    from edusdk.models.engine import ShotRequest

    card = StoryboardEngine().generate(
        ShotRequest(shot_id="s0", mode="still", prompt="A title card", width=W, height=H, fps=FPS, num_frames=150,
                    seed=1),
        output=tmp_path / "card.mp4",
    )  # fmt: skip
    assert card.metadata["static_from_frame"] == 0
    held = flawed_clips[1].model_copy(update={"shot_id": "s1"})
    script = _script(["still", "text"])
    result = render(script, [card, held], output=tmp_path / "lesson.mp4", width=W, height=H, fps=FPS)
    assert result.quality is not None
    # the card holds 5 s by design: not reported; the held colour clip (a real freeze) still is
    assert [(f.kind, f.shot_id) for f in result.quality.findings] == [("frozen", "s1")]
    as_text = script.model_copy(
        update={"shots": [script.shots[0].model_copy(update={"mode": "text"}), script.shots[1]]}
    )
    plain = card.model_copy(update={"metadata": {}})
    flagged = render(as_text, [plain, held], output=tmp_path / "flagged.mp4", width=W, height=H, fps=FPS)
    assert flagged.quality is not None and [f.shot_id for f in flagged.quality.findings] == ["s0", "s1"]
