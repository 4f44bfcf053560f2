"""The ffmpeg binary and what we learn from it: one place to find it, run it and probe its output.

The binary is `$EDUSDK_FFMPEG` if set, else the static ffmpeg shipped by imageio-ffmpeg. There is no
ffprobe in that wheel, so probing parses `ffmpeg -i` and counts packets with a stream copy.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from edusdk._errors import MediaError
from edusdk.models.lesson import VideoInfo

_STDERR_TAIL = 1500


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary edusdk runs."""
    env = os.environ.get("EDUSDK_FFMPEG")
    if env:
        found = shutil.which(env)
        if found is None:
            raise MediaError(f"EDUSDK_FFMPEG={env!r} is not an executable")
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@functools.cache
def ffmpeg_version() -> str:
    """The first line of `ffmpeg -version`'s answer, e.g. 'ffmpeg version n9.0.2-…'."""
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def run_ffmpeg(args: Sequence[str], *, what: str, loglevel: str = "error") -> str:
    """Run ffmpeg with `args` (without the binary) and return its log (stderr); MediaError with its tail on failure.

    `loglevel="info"` keeps what filters report (blackdetect, loudnorm, ebur128…) and the progress `time=`.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg failed while {what} (exit {proc.returncode}): {proc.stderr[-_STDERR_TAIL:].strip()}")
    return proc.stderr


_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")


def audio_seconds(path: str | Path) -> float:
    """How long the first audio track of `path` lasts: its packets copied to nowhere, read from the last `time=`.

    Raises:
        MediaError: `path` cannot be read or holds no audio.
    """
    path = Path(path)
    stderr = run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-c", "copy", "-f", "null", "-"],
                        what=f"reading the audio of {path}", loglevel="info")  # fmt: skip
    stamps = _TIME.findall(stderr)
    seconds = int(stamps[-1][0]) * 3600 + int(stamps[-1][1]) * 60 + float(stamps[-1][2]) if stamps else 0.0
    if seconds <= 0:
        raise MediaError(f"{path} holds no audio")
    return seconds


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #0:\d+[^:]*: Video: (\w+).*?, (\d{2,5})x(\d{2,5})[, ]")
_FPS = re.compile(r"([\d.]+) fps")
_FRAME = re.compile(r"frame=\s*(\d+)")


def probe(path: str | Path) -> VideoInfo:
    """What the video file at `path` really holds: duration, size, fps, frame count, codec, subtitles.

    Frames are counted from the first video stream's packets (one packet per frame for the codecs
    edusdk writes), so this reads the file once without decoding it.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"no video file at {path}")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=False).stderr
    head = err.split("Stream mapping:")[0]
    duration, video, frames = _DURATION.search(head), _VIDEO.search(head), _FRAME.findall(err)
    if duration is None or video is None or not frames:
        raise MediaError(f"{path} is not a readable video: {err[-_STDERR_TAIL:].strip()}")
    hours, minutes, seconds = duration.groups()
    fps = _FPS.search(head[video.start() :])
    return VideoInfo(
        path=path,
        duration_s=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        width=int(video.group(2)),
        height=int(video.group(3)),
        fps=float(fps.group(1)) if fps else 0.0,
        frames=int(frames[-1]),
        codec=video.group(1),
        size_bytes=path.stat().st_size,
        subtitle_tracks=head.count(": Subtitle: "),
        audio_tracks=head.count(": Audio: "),
    )
