"""compose: timeline and caption maths, the ffmpeg argument list, and real renders of tiny clips."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import pytest

from edusdk._errors import BadInputError, MediaError
from edusdk._media import ffmpeg_exe, probe
from edusdk.compose import (
    ComposeInput,
    Join,
    build_compose_command,
    build_timeline,
    cues_for,
    render,
    to_srt,
    to_webvtt,
)
from edusdk.compose.captions import MAX_LINE_CHARS, MIN_CUE_S, split_narration, wrap_cue
from edusdk.models.engine import Clip
from edusdk.models.lesson import CaptionCue, TimelineEntry
from edusdk.models.script import Script, Shot, Transition

FPS = 30
W, H = 160, 90

NARRATION = (
    "Photosynthesis turns light into chemical energy. "
    "Inside the chloroplast, chlorophyll absorbs red and blue light, reflecting green, "
    "which is why leaves look green to us. Water is split; oxygen is released."
)


def make_script(
    specs: list[tuple[str, str, float]], *, narration: str = "", durations: list[float] | None = None
) -> Script:
    """specs: (shot id, transition name, transition seconds) per shot."""
    shots = [
        Shot(
            id=shot_id,
            section=0,
            prompt=f"prompt {shot_id}",
            duration_s=(durations[i] if durations else 2.0),
            seed=i,
            transition=Transition(name=name, duration_s=seconds),
            narration=narration or f"Shot {shot_id} says something short.",
            variables={"n": i},
        )
        for i, (shot_id, name, seconds) in enumerate(specs)
    ]
    return Script(
        title="Light: a lesson", subject="biology", audience="grade 7", style="flat", template="t", outline_hash="h",
        shots=shots,
    )  # fmt: skip


def fake_clip(shot_id: str, frames: int, *, path: Path | None = None, size: tuple[int, int] = (W, H)) -> Clip:
    return Clip(
        shot_id=shot_id, path=path or Path(f"/nonexistent/{shot_id}.mp4"), width=size[0], height=size[1], fps=FPS,
        num_frames=frames, engine="test", seed=0,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------- timeline


def test_timeline_partitions_the_video_with_exact_frame_maths() -> None:
    script = make_script([("a", "fade", 0.5), ("b", "cut", 0), ("c", "wipeleft", 0.3), ("d", "fade", 1.0)])
    clips = [fake_clip("a", 60), fake_clip("b", 45), fake_clip("c", 50), fake_clip("d", 40)]
    tl = build_timeline(script, clips, FPS)
    # n = 60, 45, 50, 40; t = 15, 0, 9 (last ignored) → 195 - 24 = 171 frames.
    assert [e.visible_start_s for e in tl] == [0, 45 / FPS, 90 / FPS, 131 / FPS]
    assert [e.visible_end_s for e in tl] == [60 / FPS, 90 / FPS, 140 / FPS, 171 / FPS]
    assert tl[0].start_s == 0 and tl[-1].end_s == 171 / FPS
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(tl))
    assert tl[0].end_s == pytest.approx(52.5 / FPS)  # middle of the fade
    assert tl[1].end_s == 90 / FPS  # a cut: no overlap
    assert tl[2].end_s == pytest.approx(135.5 / FPS)  # middle of an odd 9-frame transition
    assert [e.transition_out for e in tl] == ["fade", "cut", "wipeleft", "cut"]
    assert [e.index for e in tl] == [0, 1, 2, 3] and tl[2].prompt == "prompt c" and tl[3].variables == {"n": 3}
    assert tl[0].narration.startswith("Shot a")


def test_timeline_uses_the_clips_frames_not_the_nominal_durations() -> None:
    script = make_script([("a", "fade", 0.5), ("b", "cut", 0)], durations=[5.0, 5.0])
    tl = build_timeline(script, [fake_clip("a", 31), fake_clip("b", 29)], FPS)
    assert tl[-1].end_s == (31 + 29 - 15) / FPS


def test_single_shot_timeline() -> None:
    tl = build_timeline(make_script([("only", "fade", 0.5)]), [fake_clip("only", 48)], FPS)
    assert len(tl) == 1 and tl[0].start_s == tl[0].visible_start_s == 0
    assert tl[0].end_s == tl[0].visible_end_s == 48 / FPS and tl[0].transition_out == "cut"


def test_transition_longer_than_a_clip_names_the_shot() -> None:
    script = make_script([("intro", "fade", 1.0), ("short-one", "cut", 0)])
    with pytest.raises(BadInputError, match="intro"):
        build_timeline(script, [fake_clip("intro", 60), fake_clip("short-one", 30)], FPS)  # 30-frame fade, 30 frames
    with pytest.raises(BadInputError, match="intro"):
        build_timeline(script, [fake_clip("intro", 20), fake_clip("short-one", 90)], FPS)


def test_clips_must_match_the_shots() -> None:
    script = make_script([("a", "cut", 0), ("b", "cut", 0)])
    with pytest.raises(BadInputError, match="2 shots but 1 clips"):
        build_timeline(script, [fake_clip("a", 30)], FPS)
    with pytest.raises(BadInputError, match="clip 0 is for shot 'b'"):
        build_timeline(script, [fake_clip("b", 30), fake_clip("a", 30)], FPS)


# ----------------------------------------------------------------------------------------------- captions


def _check_cues(cues: list[CaptionCue], timeline: list[TimelineEntry]) -> None:
    for cue in cues:
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= 2 and all(0 < len(line) <= MAX_LINE_CHARS for line in lines), cue.text
        assert cue.start_s < cue.end_s
        assert any(e.start_s - 1e-9 <= cue.start_s and cue.end_s <= e.end_s + 1e-9 for e in timeline), cue
        assert all(abs(t * 1000 - round(t * 1000)) < 1e-6 for t in (cue.start_s, cue.end_s))  # whole ms
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(cues))
    assert cues[-1].end_s <= timeline[-1].end_s


def test_cues_fit_their_shot_segment_and_the_line_limits() -> None:
    script = make_script([("a", "fade", 0.5), ("b", "dissolve", 0.4), ("c", "cut", 0)], narration=NARRATION)
    tl = build_timeline(script, [fake_clip("a", 301), fake_clip("b", 277), fake_clip("c", 250)], FPS)
    cues = cues_for(script, tl)
    _check_cues(cues, tl)
    for entry in tl:  # every shot's narration is said, whole, inside its own segment
        inside = [c for c in cues if entry.start_s <= c.start_s and c.end_s <= entry.end_s]
        assert " ".join(c.text.replace("\n", " ") for c in inside) == NARRATION
        assert inside[0].start_s == pytest.approx(entry.start_s, abs=1e-3)
        assert inside[-1].end_s == pytest.approx(entry.end_s, abs=1e-3)
        assert all(c.end_s - c.start_s >= MIN_CUE_S - 1e-3 for c in inside)
    longer, shorter = sorted(cues[:4], key=lambda c: len(c.text))[-1], sorted(cues[:4], key=lambda c: len(c.text))[0]
    assert longer.end_s - longer.start_s > shorter.end_s - shorter.start_s  # time follows the amount of text


def test_narration_splits_at_sentences_then_clauses_then_words() -> None:
    assert split_narration("One. Two?  Three!") == ["One.", "Two?", "Three!"]
    chunks = split_narration(NARRATION)
    assert chunks[0] == "Photosynthesis turns light into chemical energy."
    assert all(len(wrap_cue(c)) <= 2 for c in chunks)
    assert any(c.endswith(",") for c in chunks)  # the long sentence broke at a clause
    long_word = "x" * 200
    assert all(len(wrap_cue(c)) <= 2 for c in split_narration(f"See {long_word} now."))
    assert split_narration("  \n ") == []


def test_wrap_balances_two_lines() -> None:
    lines = wrap_cue("The quick brown fox jumps over the lazy dog and runs away")
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 8
    assert wrap_cue("Short line.") == ["Short line."]


def test_short_segments_merge_cues_then_shorten_them() -> None:
    script = make_script([("a", "cut", 0)], narration="Yes. No. Maybe. Why? Because.")
    tl = build_timeline(script, [fake_clip("a", 75)], FPS)  # 2.5 s: room for two 1-second cues
    cues = cues_for(script, tl)
    _check_cues(cues, tl)
    assert len(cues) == 2 and all(c.end_s - c.start_s >= MIN_CUE_S for c in cues)
    script = make_script([("a", "cut", 0)], narration=NARRATION)
    tl = build_timeline(script, [fake_clip("a", 12)], FPS)  # 0.4 s: nothing can last a second
    cues = cues_for(script, tl)
    _check_cues(cues, tl)
    assert " ".join(c.text.replace("\n", " ") for c in cues) == NARRATION


def test_cue_times_are_whole_milliseconds_that_never_overlap() -> None:
    specs = [(f"s{i}", "fade", 0.2) for i in range(6)]
    script = make_script(specs, narration="A first sentence here. And a second one, with a clause.")
    tl = build_timeline(script, [fake_clip(f"s{i}", 37 + i) for i in range(6)], FPS)  # boundaries at 1/60 s
    cues = cues_for(script, tl)
    _check_cues(cues, tl)
    vtt = to_webvtt(cues)
    stamps = [line.split(" --> ") for line in vtt.splitlines() if " --> " in line]
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(stamps))


def test_cues_need_the_scripts_timeline() -> None:
    script = make_script([("a", "cut", 0)])
    other = build_timeline(make_script([("z", "cut", 0)]), [fake_clip("z", 30)], FPS)
    with pytest.raises(BadInputError):
        cues_for(script, other)


def test_webvtt_and_srt_formats() -> None:
    cues = [
        CaptionCue(start_s=0, end_s=1.5, text="Hello <world> & you"),
        CaptionCue(start_s=1.5, end_s=3723.25, text="Two\nlines"),
    ]
    assert to_webvtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello &lt;world&gt; &amp; you\n\n"
        "00:00:01.500 --> 01:02:03.250\nTwo\nlines\n"
    )
    assert to_srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello <world> & you\n\n2\n00:00:01,500 --> 01:02:03,250\nTwo\nlines\n"
    )
    assert to_webvtt([]) == "WEBVTT\n" and to_srt([]) == ""


# ----------------------------------------------------------------------------------------------- graph


def _inputs() -> list[ComposeInput]:
    return [
        ComposeInput(Path("/c/a.mp4"), W, H, FPS, 60),
        ComposeInput(Path("/c/b.mp4"), 120, 120, FPS, 45),
        ComposeInput(Path("/c/c.mp4"), W, H, FPS, 50),
        ComposeInput(Path("/c/d.mp4"), W, H, FPS, 40),
    ]


def test_compose_command_arguments() -> None:
    transitions = [Transition(name="fade", duration_s=0.5), Transition(), Transition(name="wipeleft", duration_s=0.3)]
    args = build_compose_command(
        _inputs(), transitions, width=W, height=H, fps=FPS, captions=Path("/c/cap.vtt"), output=Path("/c/out.mp4"),
        title="My lesson",
    )  # fmt: skip
    assert args[0] == "-y" and args[-1] == "/c/out.mp4" and "ffmpeg" not in args[0]
    graph = args[args.index("-filter_complex") + 1]
    # offsets: half a frame before the incoming clip's first visible frame (45 and 131)
    assert "xfade=transition=fade:duration=0.500000:offset=1.483333" in graph
    assert "xfade=transition=wipeleft:duration=0.300000:offset=4.350000" in graph
    assert graph.count("concat=n=2:v=1:a=0") == 1
    assert graph.count("scale=") == 1 and graph.count("pad=") == 1  # only the 120x120 clip is resized
    assert "pad=width=160:height=90" in graph and graph.count("settb=expr=AVTB") == 4
    assert graph.count("fps=fps=30") == 4 and graph.count("format=pix_fmts=yuv420p") == 4
    vtt_index = [args[i + 1] for i, a in enumerate(args) if a == "-i"].index("/c/cap.vtt")
    assert f"{vtt_index}:s" in [args[i + 1] for i, a in enumerate(args) if a == "-map"]

    def opt(name: str) -> str:
        return args[args.index(name) + 1]

    assert opt("-c:s") == "mov_text" and opt("-movflags") == "+faststart" and opt("-vcodec") == "libx264"
    assert opt("-preset") == "veryfast" and opt("-crf") == "23" and opt("-r") == "30" and opt("-pix_fmt") == "yuv420p"
    assert opt("-metadata") == "title=My lesson" and "-an" in args


def test_compose_command_single_clip_and_explicit_joins() -> None:
    args = build_compose_command(
        _inputs()[:1], [], width=W, height=H, fps=FPS, captions=None, output=Path("o.mp4"), preset="ultrafast", crf=30
    )
    graph = args[args.index("-filter_complex") + 1]
    assert "xfade" not in graph and "concat" not in graph and "-c:s" not in args and "-metadata" not in args
    assert args[args.index("-preset") + 1] == "ultrafast" and args[args.index("-crf") + 1] == "30"
    joins = [Join("circleopen", 10), Join("cut", 0), Join("fadeblack", 3), Join("fade", 99)]  # last one ignored
    args = build_compose_command(_inputs(), joins, width=W, height=H, fps=FPS, captions=None, output=Path("o.mp4"))
    graph = args[args.index("-filter_complex") + 1]
    assert "transition=circleopen:duration=0.333333:offset=1.650000" in graph  # frame 50 - ½
    assert "transition=fadeblack:duration=0.100000:offset=4.716667" in graph  # frame 50 + 45 + 50 - 3 = 142, - ½


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 161}, "even"),
        ({"fps": 0}, "fps"),
        ({"preset": "warp"}, "preset"),
        ({"crf": 60}, "crf"),
    ],
)
def test_compose_command_rejects_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"width": W, "height": H, "fps": FPS, "captions": None, "output": Path("o.mp4")}
    with pytest.raises(BadInputError, match=message):
        build_compose_command(_inputs()[:1], [], **(settings | kwargs))


def test_compose_command_rejects_bad_joins() -> None:
    settings: dict[str, Any] = {"width": W, "height": H, "fps": FPS, "captions": None, "output": Path("o.mp4")}
    with pytest.raises(BadInputError, match="need 3 transitions"):
        build_compose_command(_inputs(), [Transition()], **settings)
    with pytest.raises(BadInputError, match=r"'c\.mp4'"):
        build_compose_command(_inputs(), [Join("cut", 0), Join("cut", 0), Join("fade", 40)], **settings)
    with pytest.raises(BadInputError, match="no input"):
        build_compose_command([], [], **settings)


# ----------------------------------------------------------------------------------------------- rendering

_COLOURS = ["red", "green", "blue", "yellow", "cyan", "magenta", "orange", "purple"]
_FRAMES = [60, 45, 50, 40, 60, 36, 48, 42]


def _ffmpeg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], capture_output=True,
                          text=True, check=True)  # fmt: skip


@pytest.fixture(scope="session")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny H.264 test clips: a coloured test pattern per clip, plus a 120x120 white square."""
    folder = tmp_path_factory.mktemp("clips")
    files: dict[str, Path] = {}
    for colour, frames in zip(_COLOURS, _FRAMES, strict=True):
        path = folder / f"{colour}.mp4"
        source = f"testsrc2=size={W}x{H}:rate={FPS},drawbox=w=40:h=40:color={colour}:t=fill"
        _ffmpeg("-f", "lavfi", "-i", source, "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast",
                "-pix_fmt", "yuv420p", str(path))  # fmt: skip
        files[colour] = path
    square = folder / "square.mp4"
    _ffmpeg("-f", "lavfi", "-i", f"color=c=white:size=120x120:rate={FPS}", "-frames:v", "30", "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(square))  # fmt: skip
    files["square"] = square
    return files


def _clips_for(script: Script, paths: list[Path], frames: list[int]) -> list[Clip]:
    return [fake_clip(s.id, n, path=p) for s, p, n in zip(script.shots, paths, frames, strict=True)]


def test_render_every_transition_kind_in_one_lesson(clip_files: dict[str, Path], tmp_path: Path) -> None:
    names = ["fade", "dissolve", "wipeleft", "slideleft", "circleopen", "fadeblack", "cut", "fade"]
    seconds = [0.5, 0.4, 0.3, 0.5, 0.6, 0.2, 0, 0.5]
    script = make_script([(f"s{i}", n, t) for i, (n, t) in enumerate(zip(names, seconds, strict=True))],
                         narration=NARRATION)  # fmt: skip
    clips = _clips_for(script, [clip_files[c] for c in _COLOURS], _FRAMES)
    out = tmp_path / "out" / "lesson.mp4"
    result = render(script, clips, output=out, width=W, height=H, fps=FPS, preset="ultrafast")

    expected = sum(_FRAMES) - sum(round(t * FPS) for t in seconds[:-1])
    assert result.video == out.absolute() and result.captions == out.absolute().with_suffix(".vtt")
    info = probe(out)
    assert info.frames == result.info.frames == expected
    assert info.codec == "h264" and (info.width, info.height) == (W, H) and info.subtitle_tracks == 1
    assert abs(info.duration_s - result.timeline[-1].end_s) <= 1 / FPS
    assert result.timeline[0].start_s == 0 and result.timeline[-1].end_s == expected / FPS
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(result.timeline))
    _check_cues(result.cues, result.timeline)
    assert result.captions.read_text(encoding="utf-8") == to_webvtt(result.cues)
    extracted = _ffmpeg("-i", str(out), "-map", "0:s:0", "-f", "webvtt", "-").stdout
    for cue in result.cues[:5]:
        for line in cue.text.split("\n"):
            assert line in extracted
    # no temporaries left
    assert sorted(p.name for p in out.parent.iterdir()) == ["lesson.mp4", "lesson.srt", "lesson.vtt"]


def _pixel(video: Path, at_s: float, x: int, y: int) -> tuple[int, int, int]:
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{at_s}", "-i", str(video), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    offset = (y * W + x) * 3
    return raw[offset], raw[offset + 1], raw[offset + 2]


def test_render_scales_and_pads_a_clip_of_another_size(clip_files: dict[str, Path], tmp_path: Path) -> None:
    script = make_script([("a", "cut", 0), ("sq", "fade", 0.2), ("b", "cut", 0)])
    clips = [
        fake_clip("a", 60, path=clip_files["red"]),
        fake_clip("sq", 30, path=clip_files["square"], size=(120, 120)),
        fake_clip("b", 45, path=clip_files["blue"]),
    ]
    result = render(script, clips, output=tmp_path / "pad.mp4", width=W, height=H, fps=FPS, preset="ultrafast")
    assert result.info.frames == 60 + 30 + 45 - 6 and (result.info.width, result.info.height) == (W, H)
    at = result.timeline[1].visible_start_s + 0.3  # only the square is on screen
    assert min(_pixel(result.video, at, W // 2, H // 2)) > 200  # the square fills the height, centred…
    assert max(_pixel(result.video, at, 5, H // 2)) < 40  # …with black bars at the sides


def test_render_a_single_clip(clip_files: dict[str, Path], tmp_path: Path) -> None:
    script = make_script([("only", "fade", 0.5)], narration="Just one shot.")
    result = render(script, [fake_clip("only", 60, path=clip_files["red"])], output=tmp_path / "one.mp4",
                    width=W, height=H, fps=FPS)  # fmt: skip
    assert result.info.frames == 60 and result.info.subtitle_tracks == 1
    assert [c.text for c in result.cues] == ["Just one shot."] and result.cues[-1].end_s == 2.0


def _assert_nothing_written(folder: Path) -> None:
    assert not folder.exists() or list(folder.iterdir()) == []


def test_missing_clip_raises_and_writes_nothing(clip_files: dict[str, Path], tmp_path: Path) -> None:
    script = make_script([("a", "fade", 0.5), ("b", "cut", 0)])
    clips = [fake_clip("a", 60, path=clip_files["red"]), fake_clip("b", 45, path=tmp_path / "missing.mp4")]
    with pytest.raises(MediaError, match=r"missing\.mp4"):
        render(script, clips, output=tmp_path / "out" / "lesson.mp4", width=W, height=H, fps=FPS)
    _assert_nothing_written(tmp_path / "out")


def test_ffmpeg_failure_leaves_no_partial_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    script = make_script([("a", "cut", 0)])
    with pytest.raises(MediaError, match="ffmpeg failed"):
        render(script, [fake_clip("a", 30, path=junk)], output=tmp_path / "out" / "x.mp4", width=W, height=H, fps=FPS)
    _assert_nothing_written(tmp_path / "out")


def test_a_clip_shorter_than_claimed_fails_verification(clip_files: dict[str, Path], tmp_path: Path) -> None:
    script = make_script([("a", "fade", 0.5), ("b", "cut", 0)])
    clips = [fake_clip("a", 60, path=clip_files["red"]), fake_clip("b", 80, path=clip_files["blue"])]  # blue has 50
    with pytest.raises(MediaError, match="frames instead of"):
        render(script, clips, output=tmp_path / "out" / "lesson.mp4", width=W, height=H, fps=FPS, preset="ultrafast")
    _assert_nothing_written(tmp_path / "out")


def test_bad_input_is_refused_before_writing(clip_files: dict[str, Path], tmp_path: Path) -> None:
    script = make_script([("a", "fade", 1.5), ("b", "cut", 0)])
    clips = [fake_clip("a", 60, path=clip_files["red"]), fake_clip("b", 40, path=clip_files["yellow"])]
    with pytest.raises(BadInputError, match="'a'"):
        render(script, clips, output=tmp_path / "out" / "lesson.mp4", width=W, height=H, fps=FPS)
    _assert_nothing_written(tmp_path / "out")
