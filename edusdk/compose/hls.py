"""HLS for edtech players: fMP4 segments + a media playlist per stream, and a master playlist listing them all.

Made by stream copy from finished MP4s (the lesson and its renditions), never by re-encoding. ffmpeg's HLS
muxer cuts segments only at keyframes, so a segment lasts at least `HLS_TIME_S` and ends at the next
keyframe after it: edusdk's engine clips carry a closed-GOP keyframe every second (storyboard
`KEYFRAME_INTERVAL_S`) and smart compose copies them; full re-encodes and renditions force a keyframe a
second too. So segments come out at about 2 s; footage with longer GOPs gives longer segments, still valid
(the playlist's EXT-X-TARGETDURATION follows them).

Layout of `<stem>.hls/` (built in a temporary directory beside it, renamed into place only once every
stream checks out: nothing is left behind on failure):

    master.m3u8                   one EXT-X-STREAM-INF per stream (BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION,
                                  CODECS, FRAME-RATE), the main video first
    main/index.m3u8, init.mp4, seg_00000.m4s …
    720p/…, 9x16/…                one folder per rendition

Every stream is checked: the playlist parses (VOD, ENDLIST, init segment, every segment present), its segment
durations sum to the MP4's duration within a frame, and decoding the playlist gives the MP4's frame count.

Example:
    >>> result = write_hls(Path("out/lesson.mp4"), Path("out/lesson.hls"),
    ...                    renditions=[("720p", Path("out/lesson.720p.mp4"))])
    >>> result.master.name, [s.name for s in result.streams]
    ('master.m3u8', ['main', '720p'])
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import _UMASK, check_output_path
from edusdk._media import ffmpeg_exe, probe, run_ffmpeg

HLS_TIME_S = 2  # two of the engine clips' 1 s GOPs per segment: quick start and seeks, few files
MASTER = "master.m3u8"
MEDIA = "index.m3u8"
INIT = "init.mp4"
SEGMENTS = "seg_%05d.m4s"
MAIN = "main"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_AUDIO = re.compile(r"Stream #0:\d+[^:]*: Audio: (\w+)(?: \(([^)]*)\))?")
_FRAME = re.compile(r"frame=\s*(\d+)")
_AAC_OBJECT_TYPES = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29}
_STDERR_TAIL = 1500


@dataclass(frozen=True)
class MediaPlaylist:
    """What a media playlist says: its segments (duration, uri), target duration, init segment and type."""

    segments: list[tuple[float, str]]
    target_duration: int
    init: str
    playlist_type: str
    ended: bool

    @property
    def duration_s(self) -> float:
        return sum(d for d, _ in self.segments)


@dataclass(frozen=True)
class HlsStream:
    """One stream of the master playlist, as checked on disk."""

    name: str
    playlist: str  # relative to the master playlist, e.g. "main/index.m3u8"
    width: int
    height: int
    fps: float
    codecs: str
    bandwidth: int  # peak segment bit rate, bits/s (HLS BANDWIDTH)
    average_bandwidth: int
    segments: int
    duration_s: float
    frames: int


@dataclass(frozen=True)
class HlsResult:
    """The finished `<stem>.hls/` directory, its master playlist and its streams."""

    directory: Path
    master: Path
    streams: list[HlsStream]


def stream_name(rendition: str) -> str:
    """The folder name for a rendition name: `9:16` → `9x16`, `720p` → `720p`.

    Example:
        >>> stream_name("9:16"), stream_name("1280x720")
        ('9x16', '1280x720')
    """
    name = re.sub(r"[^a-z0-9_-]", "x", rendition.strip().lower())
    if not _NAME.match(name) or name == MAIN:
        raise BadInputError(f"rendition name {rendition!r} cannot name an HLS stream")
    return name


def hls_command(source: Path, playlist: Path, *, hls_time: float = HLS_TIME_S, audio: bool = False) -> list[str]:
    """ffmpeg arguments (without the binary) that stream-copy `source` into fMP4 HLS at `playlist`.

    The init segment and the segments go beside the playlist. Only the first video stream (and, with
    `audio`, the first audio stream, muxed into the same segments) is copied: the MP4's mov_text subtitle
    track cannot go into fMP4 segments (the WebVTT sidecar stays the captions file).

    Example:
        >>> hls_command(Path("a.mp4"), Path("out/main/index.m3u8"))[:6]
        ['-i', 'a.mp4', '-map', '0:v:0', '-c', 'copy']
    """
    if hls_time <= 0:
        raise BadInputError(f"hls_time must be positive, not {hls_time}")
    maps = ["-map", "0:v:0", *(["-map", "0:a:0"] if audio else [])]
    return [
        "-i", str(source), *maps, "-c", "copy", "-f", "hls",
        "-hls_time", f"{hls_time:g}", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
        "-hls_fmp4_init_filename", INIT, "-hls_segment_filename", str(playlist.parent / SEGMENTS),
        "-hls_flags", "independent_segments", "-y", str(playlist),
    ]  # fmt: skip


def parse_media_playlist(text: str, *, where: str = "playlist") -> MediaPlaylist:
    """Parse an HLS media playlist; MediaError naming `where` if it is not a complete fMP4 VOD playlist.

    Example:
        >>> p = parse_media_playlist('#EXTM3U\\n#EXT-X-TARGETDURATION:2\\n#EXT-X-PLAYLIST-TYPE:VOD\\n'
        ...                          '#EXT-X-MAP:URI="init.mp4"\\n#EXTINF:2.0,\\nseg_00000.m4s\\n#EXT-X-ENDLIST\\n')
        >>> p.segments, p.init
        ([(2.0, 'seg_00000.m4s')], 'init.mp4')
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise MediaError(f"{where} is not an HLS playlist (no #EXTM3U)")
    segments: list[tuple[float, str]] = []
    target, init, kind, ended, pending = -1, "", "", False, None
    for line in lines[1:]:
        tag, _, value = line.partition(":")
        try:
            if tag == "#EXT-X-TARGETDURATION":
                target = int(value)
            elif tag == "#EXTINF":
                pending = float(value.split(",")[0])
            elif tag == "#EXT-X-MAP":
                found = re.search(r'URI="([^"]+)"', value)
                init = found.group(1) if found else ""
            elif tag == "#EXT-X-PLAYLIST-TYPE":
                kind = value
            elif tag == "#EXT-X-ENDLIST":
                ended = True
            elif not line.startswith("#"):
                if pending is None:
                    raise MediaError(f"{where}: segment {line!r} has no #EXTINF")
                segments.append((pending, line))
                pending = None
        except ValueError:
            raise MediaError(f"{where}: cannot read {line!r}") from None
    problems = [
        *(["no segments"] if not segments else []),
        *(["no #EXT-X-TARGETDURATION"] if target < 0 else []),
        *(["no #EXT-X-MAP init segment"] if not init else []),
        *([f"playlist type {kind or 'missing'} instead of VOD"] if kind != "VOD" else []),
        *(["no #EXT-X-ENDLIST"] if not ended else []),
    ]
    longest = max((d for d, _ in segments), default=0.0)
    if target >= 0 and math.floor(longest + 0.5) > target:  # RFC 8216: EXTINF rounded to nearest ≤ target
        problems.append(f"a {longest:.3f} s segment exceeds the target duration {target} s")
    if problems:
        raise MediaError(f"{where}: {'; '.join(problems)}")
    return MediaPlaylist(segments, target, init, kind, ended)


def fix_target_duration(playlist: Path) -> None:
    """Raise `#EXT-X-TARGETDURATION` to the longest segment, rounded up, where ffmpeg wrote less.

    ffmpeg rounds a 5.5 s segment's target down to 5, which RFC 8216 forbids (and strict players refuse).
    """
    text = playlist.read_text(encoding="utf-8")
    longest = max((float(m) for m in re.findall(r"^#EXTINF:([\d.]+)", text, flags=re.M)), default=0.0)
    found = re.search(r"^#EXT-X-TARGETDURATION:(\d+)$", text, flags=re.M)
    if found is not None and int(found.group(1)) < math.ceil(longest - 1e-6):
        start, end = found.span(1)
        playlist.write_text(text[:start] + str(math.ceil(longest - 1e-6)) + text[end:], encoding="utf-8")


def avc_codec(init_segment: bytes) -> str:
    """The RFC 6381 codec string (`avc1.PPCCLL`) from the avcC box of an fMP4 init segment.

    Example:
        >>> avc_codec(b"...avcC\\x01\\x64\\x00\\x1f...")
        'avc1.64001f'
    """
    at = init_segment.find(b"avcC")
    if at < 0 or len(init_segment) < at + 8:
        raise MediaError("the HLS init segment has no H.264 (avcC) configuration")
    return "avc1." + init_segment[at + 5 : at + 8].hex()


def audio_codec(ffmpeg_info: str) -> str | None:
    """The codec string of the first audio stream described in `ffmpeg -i` output (None if there is none).

    Example:
        >>> audio_codec("Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono")
        'mp4a.40.2'
    """
    found = _AUDIO.search(ffmpeg_info)
    if found is None:
        return None
    codec, profile = found.group(1), found.group(2) or "LC"
    if codec == "aac":
        return f"mp4a.40.{_AAC_OBJECT_TYPES.get(profile, 2)}"
    if codec == "mp3":
        return "mp4a.40.34"
    if codec in ("opus", "flac", "ac3", "eac3"):
        return {"opus": "Opus", "flac": "fLaC", "ac3": "ac-3", "eac3": "ec-3"}[codec]
    raise MediaError(f"audio codec {codec!r} cannot be listed in an HLS playlist")


def master_playlist(streams: Sequence[HlsStream]) -> str:
    """The master playlist text for `streams` (listed in the order given: players start on the first).

    Example:
        >>> print(master_playlist([HlsStream("main", "main/index.m3u8", 1280, 720, 30.0, "avc1.64001f",
        ...                                  900000, 600000, 3, 6.0, 180)]))  # doctest: +NORMALIZE_WHITESPACE
        #EXTM3U
        #EXT-X-VERSION:7
        #EXT-X-INDEPENDENT-SEGMENTS
        #EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=600000,RESOLUTION=1280x720,CODECS="avc1.64001f",FRAME-RATE=30.000
        main/index.m3u8
    """
    if not streams:
        raise BadInputError("an HLS master playlist needs at least one stream")
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for s in streams:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={s.bandwidth},AVERAGE-BANDWIDTH={s.average_bandwidth},"
            f'RESOLUTION={s.width}x{s.height},CODECS="{s.codecs}",FRAME-RATE={s.fps:.3f}'
        )
        lines.append(s.playlist)
    return "\n".join(lines) + "\n"


def _audio_in(source: Path) -> str | None:
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(source)],
                         capture_output=True, text=True, check=False).stderr  # fmt: skip
    return audio_codec(err.split("Stream mapping:")[0])


def decoded_frames(playlist: Path) -> int:
    """How many video frames decoding `playlist` (through ffmpeg's HLS demuxer) yields."""
    log = run_ffmpeg(["-i", str(playlist), "-map", "0:v:0", "-f", "null", "-"],
                     what=f"decoding the HLS playlist {playlist}", loglevel="info")  # fmt: skip
    frames = _FRAME.findall(log)
    if not frames:
        raise MediaError(f"ffmpeg decoded no frames from the HLS playlist {playlist}: {log[-_STDERR_TAIL:].strip()}")
    return int(frames[-1])


def _segment(source: Path, name: str, root: Path, hls_time: float) -> HlsStream:
    """Stream-copy `source` into `root/name/` and check it against the MP4."""
    info = probe(source)
    folder = root / name
    folder.mkdir()
    playlist = folder / MEDIA
    audio = _audio_in(source)
    run_ffmpeg(hls_command(source, playlist, hls_time=hls_time, audio=audio is not None),
               what=f"writing the {name} HLS stream of {source.name}")  # fmt: skip
    fix_target_duration(playlist)
    where = f"the {name} HLS playlist"
    parsed = parse_media_playlist(playlist.read_text(encoding="utf-8"), where=where)
    missing = [uri for uri in (parsed.init, *(u for _, u in parsed.segments)) if not (folder / uri).is_file()]
    if missing:
        raise MediaError(f"{where} lists missing files: {', '.join(missing[:5])}")
    frame = 1 / info.fps if info.fps else 0.0
    if abs(parsed.duration_s - info.duration_s) > frame + 1e-3:
        raise MediaError(f"{where}: segments last {parsed.duration_s:.3f} s but {source.name} lasts "
                         f"{info.duration_s:.3f} s")  # fmt: skip
    frames = decoded_frames(playlist)
    if frames != info.frames:
        raise MediaError(f"{where} decodes to {frames} frames but {source.name} has {info.frames}")
    sizes = [(folder / uri).stat().st_size for _, uri in parsed.segments]
    peak = max(size * 8 / d for size, (d, _) in zip(sizes, parsed.segments, strict=True) if d > 0)
    codecs = avc_codec((folder / parsed.init).read_bytes()) + (f",{audio}" if audio else "")
    return HlsStream(
        name=name,
        playlist=f"{name}/{MEDIA}",
        width=info.width,
        height=info.height,
        fps=info.fps,
        codecs=codecs,
        bandwidth=math.ceil(peak),
        average_bandwidth=math.ceil(sum(sizes) * 8 / parsed.duration_s),
        segments=len(parsed.segments),
        duration_s=parsed.duration_s,
        frames=frames,
    )


def write_hls(
    video: Path,
    directory: Path,
    *,
    renditions: Sequence[tuple[str, Path]] = (),
    hls_time: float = HLS_TIME_S,
) -> HlsResult:
    """Write `directory` (e.g. `out/lesson.hls`): HLS of `video` (stream `main`) and of each `(name, mp4)` rendition.

    The directory appears whole or not at all: it is built in a temporary directory beside it
    (`.<stem>.hls.*`, which `_fs.remove_temporaries` of the video clears after a crash) and renamed into
    place once every stream checks out; an existing directory of that name is replaced.

    Raises:
        BadInputError: a rendition name that cannot name a stream, or two that clash.
        OutputPathError: `directory` cannot be created.
        MediaError: ffmpeg failed or a stream does not match its MP4 (duration, frames, files).
    """
    directory = Path(directory).expanduser().absolute()
    check_output_path(directory.parent / f".hls.{directory.name}")  # the parent exists (or is made) and is writable
    names = [MAIN, *(stream_name(name) for name, _ in renditions)]
    if len(set(names)) != len(names):
        raise BadInputError(f"rendition names clash as HLS streams: {', '.join(names[1:])}")
    sources = [Path(video), *(Path(path) for _, path in renditions)]
    for source in sources:
        if not source.is_file():
            raise MediaError(f"no video file at {source} to make HLS from")
    work = Path(tempfile.mkdtemp(prefix=f".{directory.stem}.hls.", dir=directory.parent))
    try:
        streams = [_segment(src, name, work, hls_time) for name, src in zip(names, sources, strict=True)]
        (work / MASTER).write_text(master_playlist(streams), encoding="utf-8")
        work.chmod(0o777 & ~_UMASK)  # mkdtemp makes it 0700; a finished output gets the usual permissions
        _replace_dir(work, directory)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return HlsResult(directory=directory, master=directory / MASTER, streams=streams)


def _replace_dir(new: Path, target: Path) -> None:
    """Rename `new` onto `target`; an existing `target` is moved aside first and removed after."""
    if not target.exists():
        os.replace(new, target)
        return
    if not target.is_dir():
        raise MediaError(f"cannot write HLS to {target}: a file of that name exists")
    old = Path(tempfile.mkdtemp(prefix=f".{target.stem}.hls.old.", dir=target.parent))
    os.replace(target, old / target.name)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old / target.name, target)  # put the previous one back
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def remove_hls(directory: Path | None) -> None:
    """Delete an HLS directory written by `write_hls` (e.g. when a later step of a render fails)."""
    if directory is not None and directory.is_dir():
        shutil.rmtree(directory, ignore_errors=True)
