"""Quality checks: per-frame flags, flags joined across pieces, inline detection, static-by-design shots."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edusdk._media import ffmpeg_exe, run_ffmpeg
from edusdk.compose import ComposeResult, render
from edusdk.compose.quality import (
    FrameFlags,
    QualityFinding,
    QualityReport,
    QualityThresholds,
    analyse_clip_details,
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


# ------------------------------------------------------------------------------------- keyframe screening

SW, SH = 320, 180


def _encode_screen(path: Path, sources: list[str], *, keyframes: list[str] | None = None,
                   lossless: bool = False) -> Path:  # fmt: skip
    """A 320x180 clip from lavfi sources (each with its duration) joined in order; a keyframe every second
    unless `keyframes` gives other x264 options."""
    sized = [s.replace(",", f":size={SW}x{SH}:rate={FPS},", 1) if "," in s else f"{s}:size={SW}x{SH}:rate={FPS}"
             for s in sources]  # fmt: skip
    inputs = [x for s in sized for x in ("-f", "lavfi", "-i", s)]
    graph = "".join(f"[{i}:v]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=1:a=0[v]"
    keys = keyframes if keyframes is not None else ["-force_key_frames", KEYFRAMES, "-sc_threshold", "0"]
    rate = ["-qp", "0"] if lossless else ["-crf", "23"]
    _ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", *rate,
            "-pix_fmt", "yuv420p", *keys, "-flags", "+cgop", "-y", str(path))  # fmt: skip
    return path


def _frames_of(path: Path) -> int:
    from edusdk.compose.mp4 import read_video_track

    track = read_video_track(path)
    assert track is not None
    return track.sample_count


@pytest.fixture(scope="module")
def screen_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("screen")
    move, gray = "testsrc2=duration={}", "color=0x3366cc:duration={}"
    specs = {
        "black": [move.format(1.5), "color=black:duration=2.5", move.format(2)],
        "frozen": [move.format(1.2), gray.format(4.6), move.format(1)],
        # black for 0.5 s and one colour for 0.8 s, both between two keyframes: found in neither
        "short": [move.format(1.2), "color=black:duration=0.5", move.format(1), gray.format(0.8), move.format(1.5)],
        # black for 1.2 s and one colour for 2.5 s: keyframes in both, so decoded, but not long enough
        "keyed": [move.format(1), "color=black:duration=1.2", move.format(1), gray.format(2.5), move.format(1)],
        "tail": [move.format(2.5), gray.format(3)],  # frozen for its last 3 s
        "held": [move.format(3.4), gray.format(1.6)],  # frozen for its last 1.6 s: one keyframe (4 s) in it
        "head": [gray.format(2), move.format(2)],  # the same colour for its first 2 s
        "opens": [gray.format(3), move.format(1)],  # and for 3 s
        "fade": ["color=0x808080:duration=12,fade=in:st=0:d=6", move.format(1)],  # too slow to tell frames apart
        "darkens": [move.format(4.3), "color=black:duration=0.7"],  # black after its last keyframe (4 s)
        "dark": ["color=black:duration=1.5", move.format(2.5)],
    }
    clips = {name: _encode_screen(folder / f"{name}.mp4", sources) for name, sources in specs.items()}
    # a fade in so slow (and lossless, so no encoder noise) that no frame is far enough from the one before
    # to show where freezedetect's stretches begin, then 5 s held
    slow = ["smptebars=duration=13,fade=in:st=0:d=8"]
    return clips | {"slow": _encode_screen(folder / "slow.mp4", slow, lossless=True)}


def _found(flags: FrameFlags, thresholds: QualityThresholds) -> list[QualityFinding]:
    return findings_from_flags(flags, fps=FPS, thresholds=thresholds)


@pytest.mark.parametrize(
    "thresholds",
    [
        QualityThresholds(),
        QualityThresholds(black_s=1, freeze_s=2),
        QualityThresholds(black_s=0, freeze_s=3),
        # so loose that most frames repeat the one before and none is sure to start a stretch: decoded again
        # from earlier keyframes, then from the clip's start, and still the same findings
        QualityThresholds(freeze_noise_db=-32),
    ],
)
def test_screening_finds_what_a_full_decode_finds(screen_clips: dict[str, Path], tmp_path: Path,
                                                  thresholds: QualityThresholds) -> None:  # fmt: skip
    names = ["black", "frozen", "short", "keyed", "fade", "slow"]
    paths = [screen_clips[n] for n in names]
    frames = [_frames_of(p) for p in paths]
    forget_clip_analyses()
    full = analyse_clip_details(paths, frames, thresholds=thresholds, folder=tmp_path)
    forget_clip_analyses()
    screened = analyse_clip_details(paths, frames, thresholds=thresholds, folder=tmp_path, exact=[[]] * len(paths))
    assert [a.mode for a in full] == ["full"] * 6 and [a.mode for a in screened] == ["screened"] * 6
    for name, whole, quick in zip(names, full, screened, strict=True):
        assert _found(quick.flags, thresholds) == _found(whole.flags, thresholds), name
        # never more than the full decode says, so nothing is found that is not there
        assert all(w or not q for w, q in zip(whole.flags.black + whole.flags.same,
                                              quick.flags.black + quick.flags.same, strict=True)), name  # fmt: skip
    expected = {  # the default thresholds: black 2 s, frozen 4 s; the short runs are under both
        "black": [QualityFinding("black", 1.5, 4.0)],
        "frozen": [QualityFinding("frozen", 1.2, 5.8)],
        "short": [],
        "keyed": [],
    }
    if thresholds == QualityThresholds():
        for name, quick in zip(names, screened, strict=True):
            if name in expected:
                assert [(f.kind, round(f.start_s, 1), round(f.end_s, 1)) for f in _found(quick.flags, thresholds)] \
                    == [(f.kind, f.start_s, f.end_s) for f in expected[name]], name  # fmt: skip
        short = screened[names.index("short")]
        assert short.decoded < frames[names.index("short")] // 10  # its keyframes and little else


def test_clips_with_sparse_keyframes_are_decoded_whole(screen_clips: dict[str, Path], tmp_path: Path) -> None:
    sparse = _encode_screen(tmp_path / "sparse.mp4", ["testsrc2=duration=2", "color=black:duration=3"],
                            keyframes=["-g", "90", "-keyint_min", "90", "-sc_threshold", "0"])  # fmt: skip
    forget_clip_analyses()
    [result] = analyse_clip_details([sparse], [_frames_of(sparse)], thresholds=QualityThresholds(),
                                    folder=tmp_path, exact=[[]])  # fmt: skip
    assert result.mode == "full" and "90 frames apart" in result.reason
    assert _found(result.flags, QualityThresholds()) == [QualityFinding("black", 2.0, 5.0)]
    # a freeze threshold under two keyframe intervals cannot be screened either
    forget_clip_analyses()
    tight = QualityThresholds(freeze_s=1.5)
    [result] = analyse_clip_details([screen_clips["frozen"]], [_frames_of(screen_clips["frozen"])],
                                    thresholds=tight, folder=tmp_path, exact=[[]])  # fmt: skip
    assert result.mode == "full" and "fewer than two" in result.reason


def _two_clip_render(paths: list[Path], tmp_path: Path, name: str, transition: str = "fade") -> ComposeResult:
    frames = [_frames_of(p) for p in paths]
    clips = [Clip(shot_id=f"s{i}", path=p, width=SW, height=SH, fps=FPS, num_frames=n, engine="test", seed=0)
             for i, (p, n) in enumerate(zip(paths, frames, strict=True))]  # fmt: skip
    script = _script(["text"] * len(paths))
    if transition == "cut":
        cut = Transition(name="cut", duration_s=0)
        script = script.model_copy(update={"shots": [s.model_copy(update={"transition": cut}) for s in script.shots]})
    return render(script, clips, output=tmp_path / name / "l.mp4", width=SW, height=SH, fps=FPS)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("tail", "head", [("frozen", 2.5, 7.0, "s0")]),  # 3 s + the fade + 2 s of one colour: one 4.5 s freeze
        # 1.6 s + 3 s: its only keyframe in the freeze starts the window, so only the frames beside the
        # window (asked for once the window's flags show it repeats its first frame) reveal where it starts
        ("held", "opens", [("frozen", 3.4, 7.5, "s0")]),
        ("held", "head", []),  # 1.6 s + 2 s - the fade: 3.1 s, under the threshold
    ],
)
def test_a_freeze_running_from_a_clip_through_the_transition_is_found_as_with_a_full_decode(
    screen_clips: dict[str, Path],
    tmp_path: Path,
    first: str,
    second: str,
    expected: list[tuple[str, float, float, str]],
) -> None:
    paths = [screen_clips[first], screen_clips[second]]
    frames = [_frames_of(p) for p in paths]
    forget_clip_analyses()
    analyse_clips(paths, frames, thresholds=QualityThresholds(), folder=tmp_path)  # full analyses, cached
    full = _two_clip_render(paths, tmp_path, "full")
    forget_clip_analyses()
    quick = _two_clip_render(paths, tmp_path, "quick")
    assert full.method == quick.method == "smart"
    details = analyse_clip_details(paths, frames, thresholds=QualityThresholds(), folder=tmp_path / "none",
                                   exact=[[], []])  # fmt: skip
    assert [d.mode for d in details] == ["screened", "screened"] and not (tmp_path / "none").exists()
    assert _spans(quick.quality) == _spans(full.quality) == expected
    # neither clip alone holds a 4 s freeze: only the frames next to the window were decoded for it
    assert all(_found(d.flags, QualityThresholds()) == [] for d in details)


def test_screening_decodes_from_the_start_when_nothing_shows_where_a_freeze_begins(
    screen_clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edusdk.compose.quality as quality

    runs: list[str] = []

    def counting(args: list[str], *, what: str, loglevel: str = "error") -> str:
        runs.append(what)
        return run_ffmpeg(args, what=what, loglevel=loglevel)

    path = screen_clips["slow"]
    frames = [_frames_of(path)]
    forget_clip_analyses()
    [whole] = analyse_clip_details([path], frames, thresholds=QualityThresholds(), folder=tmp_path)
    forget_clip_analyses()
    monkeypatch.setattr(quality, "run_ffmpeg", counting)
    [quick] = analyse_clip_details([path], frames, thresholds=QualityThresholds(), folder=tmp_path, exact=[[]])
    # keyframes, then the GOP before the held part (no frame there is far enough from the one before), then
    # from the clip's first frame
    assert quick.mode == "screened" and sum("range" in r for r in runs) == 2, runs
    assert _found(quick.flags, QualityThresholds()) == _found(whole.flags, QualityThresholds())
    assert [(f.kind, round(f.end_s, 1)) for f in _found(quick.flags, QualityThresholds())] == [("frozen", 13.0)]


def test_a_black_run_across_a_cut_is_found_as_with_a_full_decode(screen_clips: dict[str, Path], tmp_path: Path) -> None:
    # 0.7 s of black after clip 0's last keyframe, cut to 1.5 s of black: one 2.2 s run, both clips copied whole
    paths = [screen_clips["darkens"], screen_clips["dark"]]
    frames = [_frames_of(p) for p in paths]
    forget_clip_analyses()
    analyse_clips(paths, frames, thresholds=QualityThresholds(), folder=tmp_path)  # full analyses, cached
    full = _two_clip_render(paths, tmp_path, "full", transition="cut")
    forget_clip_analyses()
    quick = _two_clip_render(paths, tmp_path, "quick", transition="cut")
    assert full.method == quick.method == "smart" and full.copied_frames == quick.copied_frames == sum(frames)
    details = analyse_clip_details(paths, frames, thresholds=QualityThresholds(), folder=tmp_path / "none",
                                   exact=[[], []])  # fmt: skip
    assert [d.mode for d in details] == ["screened", "screened"]
    assert details[0].decoded < frames[0] // 2  # its keyframes and its last GOP
    assert _spans(quick.quality) == _spans(full.quality) == [("black", 4.3, 6.5, "s0")]
