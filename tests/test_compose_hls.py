"""compose HLS: the pure command and playlist builders, and real stream-copied HLS checked against the MP4s."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edusdk._errors import BadInputError, MediaError
from edusdk._media import ffmpeg_exe, probe
from edusdk.compose import render
from edusdk.compose.hls import (
    HlsStream,
    audio_codec,
    avc_codec,
    decoded_frames,
    hls_command,
    master_playlist,
    parse_media_playlist,
    stream_name,
    write_hls,
)
from edusdk.models.engine import Clip
from edusdk.models.script import Script, Shot, Transition

FPS = 30
W, H = 160, 90
PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:3
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000000,
seg_00000.m4s
#EXTINF:2.500000,
seg_00001.m4s
#EXT-X-ENDLIST
"""


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


def _clip(folder: Path, name: str, frames: int) -> Clip:
    path = folder / f"{name}.mp4"
    # A keyframe every second, as edusdk's engines encode them.
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}", "-frames:v", str(frames), "-pix_fmt", "yuv420p",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS), str(path))  # fmt: skip
    return Clip(shot_id=name, path=path, width=W, height=H, fps=FPS, num_frames=frames, engine="test", seed=0)


def _script(ids: list[str]) -> Script:
    shots = [Shot(id=i, section=0, prompt=f"prompt {i}", duration_s=3, seed=n, narration="Light becomes sugar.",
                  transition=Transition(name="fade", duration_s=0.5)) for n, i in enumerate(ids)]  # fmt: skip
    return Script(title="T", subject="s", audience="a", style="flat", template="t", outline_hash="h", shots=shots)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Clip]:
    folder = tmp_path_factory.mktemp("clips")
    return [_clip(folder, "a", 90), _clip(folder, "b", 90)]


# ------------------------------------------------------------------------------------------- pure builders


def test_hls_command_is_a_vod_fmp4_stream_copy() -> None:
    args = hls_command(Path("in.mp4"), Path("out/main/index.m3u8"))
    assert args[:6] == ["-i", "in.mp4", "-map", "0:v:0", "-c", "copy"]
    pairs = dict(zip(args[6:-2:2], args[7:-2:2], strict=True))
    assert pairs["-hls_playlist_type"] == "vod" and pairs["-hls_segment_type"] == "fmp4"
    assert pairs["-hls_time"] == "2" and pairs["-hls_fmp4_init_filename"] == "init.mp4"
    assert pairs["-hls_segment_filename"] == "out/main/seg_%05d.m4s"
    assert args[-1] == "out/main/index.m3u8" and "-c:v" not in args  # never a re-encode
    assert hls_command(Path("a.mp4"), Path("i.m3u8"), audio=True)[4:6] == ["-map", "0:a:0"]
    with pytest.raises(BadInputError, match="hls_time"):
        hls_command(Path("a.mp4"), Path("i.m3u8"), hls_time=0)


def test_media_playlist_parses_and_incomplete_ones_are_named() -> None:
    parsed = parse_media_playlist(PLAYLIST)
    assert parsed.segments == [(2.0, "seg_00000.m4s"), (2.5, "seg_00001.m4s")]
    assert (parsed.init, parsed.target_duration, parsed.duration_s) == ("init.mp4", 3, 4.5)
    with pytest.raises(MediaError, match=r"main: .*no #EXT-X-ENDLIST"):
        parse_media_playlist(PLAYLIST.replace("#EXT-X-ENDLIST\n", ""), where="main")
    with pytest.raises(MediaError, match="instead of VOD"):
        parse_media_playlist(PLAYLIST.replace("VOD", "EVENT"))
    with pytest.raises(MediaError, match="exceeds the target duration"):
        parse_media_playlist(PLAYLIST.replace("2.500000", "4.2"))
    with pytest.raises(MediaError, match="no #EXTM3U"):
        parse_media_playlist("seg.m4s\n")


def test_master_playlist_lists_every_stream_with_its_attributes() -> None:
    main = HlsStream("main", "main/index.m3u8", 1280, 720, 30.0, "avc1.64001f", 900_000, 600_000, 3, 6.0, 180)
    tall = HlsStream("9x16", "9x16/index.m3u8", 406, 720, 30.0, "avc1.64001e,mp4a.40.2", 500_000, 300_000, 3, 6, 180)
    text = master_playlist([main, tall])
    assert text.splitlines() == [
        "#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=600000,RESOLUTION=1280x720,CODECS="avc1.64001f",'
        "FRAME-RATE=30.000",
        "main/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=300000,RESOLUTION=406x720,'
        'CODECS="avc1.64001e,mp4a.40.2",FRAME-RATE=30.000',
        "9x16/index.m3u8",
    ]  # fmt: skip
    with pytest.raises(BadInputError):
        master_playlist([])


def test_codec_strings_and_stream_names() -> None:
    assert avc_codec(b"\x00\x00\x00\x2bavcC\x01\x4d\x40\x1e\xff") == "avc1.4d401e"
    with pytest.raises(MediaError, match="avcC"):
        avc_codec(b"no config here")
    assert audio_codec("Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz") == "mp4a.40.2"
    assert audio_codec("Stream #0:1: Audio: aac (HE-AAC), 44100 Hz") == "mp4a.40.5"
    assert audio_codec("Stream #0:0: Video: h264") is None
    assert [stream_name(n) for n in ("720p", "9:16", "1:1", "640x360")] == ["720p", "9x16", "1x1", "640x360"]
    with pytest.raises(BadInputError):
        stream_name("main")


# ------------------------------------------------------------------------------------------- real HLS


def _check_stream(directory: Path, name: str, mp4: Path) -> None:
    info = probe(mp4)
    playlist = directory / name / "index.m3u8"
    parsed = parse_media_playlist(playlist.read_text())
    assert abs(parsed.duration_s - info.duration_s) <= 1 / FPS + 1e-6
    assert decoded_frames(playlist) == info.frames
    assert all((directory / name / uri).is_file() for _, uri in parsed.segments)
    assert max(d for d, _ in parsed.segments) <= parsed.target_duration


def test_render_writes_hls_for_the_video_and_its_renditions(clips: list[Clip], tmp_path: Path) -> None:
    out = tmp_path / "lesson.mp4"
    result = render(_script(["a", "b"]), clips, output=out, width=W, height=H, fps=FPS, renditions=["1:1"], hls=True)
    assert result.hls == tmp_path / "lesson.hls" and result.hls in result.extra_files()
    master = (result.hls / "master.m3u8").read_text().splitlines()
    assert [line for line in master if not line.startswith("#")] == ["main/index.m3u8", "1x1/index.m3u8"]
    assert "RESOLUTION=160x90" in master[3] and "RESOLUTION=90x90" in master[5]
    assert all('CODECS="avc1.' in line and "BANDWIDTH=" in line for line in master if "STREAM-INF" in line)
    _check_stream(result.hls, "main", out)
    _check_stream(result.hls, "1x1", tmp_path / "lesson.1x1.mp4")
    entry = result.manifest_entry()
    assert entry["hls"] == str(result.hls) and entry["hls_master"] == str(result.hls / "master.m3u8")
    json.dumps(entry)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporaries left


def test_without_hls_nothing_is_written(clips: list[Clip], tmp_path: Path) -> None:
    result = render(_script(["a", "b"]), clips, output=tmp_path / "l.mp4", width=W, height=H, fps=FPS)
    assert result.hls is None and "hls" not in result.manifest_entry()
    assert not (tmp_path / "l.hls").exists()


def test_hls_keeps_audio_and_lists_its_codec(tmp_path: Path) -> None:
    video = tmp_path / "talk.mp4"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate={FPS}", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS),
            "-c:a", "aac", "-shortest", str(video))  # fmt: skip
    result = write_hls(video, tmp_path / "talk.hls")
    assert result.streams[0].codecs.endswith(",mp4a.40.2")
    assert result.streams[0].frames == probe(video).frames


def test_a_failed_stream_leaves_nothing_and_an_old_directory_is_replaced(clips: list[Clip], tmp_path: Path) -> None:
    target = tmp_path / "lesson.hls"
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    with pytest.raises(MediaError):
        write_hls(clips[0].path, target, renditions=[("720p", broken)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4"]  # no directory, no temporary

    target.mkdir()
    (target / "stale.txt").write_text("old")
    result = write_hls(clips[0].path, target)
    assert sorted(p.name for p in target.iterdir()) == ["main", "master.m3u8"]
    assert result.streams[0].frames == 90
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "lesson.hls"]


def test_full_re_encode_still_makes_valid_hls(clips: list[Clip], tmp_path: Path) -> None:
    out = tmp_path / "full.mp4"
    result = render(_script(["a", "b"]), clips, output=out, width=W, height=H, fps=FPS, smart=False, hls=True)
    assert result.method == "full" and result.hls is not None
    parsed = parse_media_playlist((result.hls / "main" / "index.m3u8").read_text())
    assert abs(parsed.duration_s - probe(out).duration_s) <= 1 / FPS + 1e-6
    # a full re-encode forces a keyframe a second too: ~2 s segments, the target duration rounded up
    assert len(parsed.segments) >= 2 and max(d for d, _ in parsed.segments) <= parsed.target_duration <= 3


def test_smart_render_keeps_the_clips_one_second_keyframes_so_segments_are_about_hls_time(tmp_path: Path) -> None:
    from edusdk.engine.storyboard import StoryboardEngine
    from edusdk.models.engine import ShotRequest

    engine = StoryboardEngine()
    script = _script(["a", "b"])
    made = [engine.generate(ShotRequest(shot_id=s.id, prompt=s.prompt, width=W, height=H, fps=FPS, num_frames=90,
                                        seed=s.seed, keyframes=k), output=tmp_path / f"{s.id}.mp4")
            for s, k in zip(script.shots, ([74], [16]), strict=True)]  # fmt: skip
    result = render(script, made, output=tmp_path / "sb.mp4", width=W, height=H, fps=FPS, hls=True)
    assert result.method == "smart" and result.hls is not None
    parsed = parse_media_playlist((result.hls / "main" / "index.m3u8").read_text())
    assert len(parsed.segments) >= 2 and max(d for d, _ in parsed.segments) <= 3
    _check_stream(result.hls, "main", tmp_path / "sb.mp4")


def test_target_duration_is_raised_to_the_longest_segment_rounded_up(tmp_path: Path) -> None:
    from edusdk.compose.hls import fix_target_duration

    playlist = tmp_path / "index.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:5\n#EXTINF:5.500000,\nseg_00000.m4s\n#EXT-X-ENDLIST\n")
    fix_target_duration(playlist)  # ffmpeg rounded 5.5 down: RFC 8216 wants the ceiling
    assert "#EXT-X-TARGETDURATION:6\n" in playlist.read_text()
    fix_target_duration(playlist)
    assert playlist.read_text().count("TARGETDURATION:6") == 1
