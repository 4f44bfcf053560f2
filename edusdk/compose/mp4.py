"""Read an MP4's video sample table without decoding: what smart rendering needs to cut by packet count.

The static ffmpeg edusdk ships has no ffprobe, and decoding to find keyframes would cost as much as the
work smart rendering saves, so this walks the ISO-BMFF boxes (`moov/trak/mdia/minf/stbl`) of the first
video track: the codec and its configuration record (`avcC`: SPS/PPS), the sample count, the sync
samples (keyframes), and decode/composition times. From those it finds the *clean cuts*: keyframes
before which every earlier frame in decode order is also earlier on screen (a closed GOP), so the
packets [k, m) of two clean cuts are exactly the frames [k, m).

Example:
    >>> track = read_video_track(Path("clip.mp4"))
    >>> track.codec, track.sample_count, track.clean_cuts[:3]
    ('avc1', 180, [0, 30, 60])
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_VISUAL_SAMPLE_ENTRY_HEADER = 78  # bytes of fixed fields before a visual sample entry's child boxes


@dataclass(frozen=True)
class VideoTrack:
    """The first video track of an MP4/MOV file, as smart rendering needs it."""

    codec: str  # the sample entry type: avc1, avc3, hvc1, …
    config: bytes  # the decoder configuration record (avcC/hvcC payload): equal bytes ⇒ same SPS/PPS
    width: int
    height: int
    timescale: int
    sample_count: int
    sample_delta: int | None  # ticks per frame when constant, else None
    clean_cuts: list[int]  # decode indices of keyframes that start a closed GOP, ascending

    @property
    def fps(self) -> float | None:
        """Frames per second when the frame rate is constant."""
        return self.timescale / self.sample_delta if self.sample_delta else None


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    end = len(data) if end is None else end
    found = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            break
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def _read_moov(stream: BinaryIO) -> bytes | None:
    """The payload-bearing `moov` box, found by seeking over top-level boxes (mdat is never read)."""
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        used = 8
        if size == 1:
            (size,) = struct.unpack(">Q", stream.read(8))
            used = 16
        if kind == b"moov":
            body = stream.read(size - used) if size else stream.read()
            return header + body
        if size == 0 or size < used:
            return None
        stream.seek(size - used, 1)


def _find(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in _boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def _table(data: bytes, box: tuple[int, int] | None, fields: int) -> list[tuple[int, ...]]:
    """Entries of a full box whose payload is (version/flags, entry_count, entries of `fields` uint32)."""
    if box is None:
        return []
    s, _ = box
    (count,) = struct.unpack_from(">I", data, s + 4)
    return [struct.unpack_from(f">{fields}I", data, s + 8 + 4 * fields * i) for i in range(count)]


def _clean_cuts(sync: list[int], dts: list[int], offsets: list[int]) -> list[int]:
    """Sync samples k such that the first k samples in decode order are the first k on screen."""
    order = sorted(range(len(dts)), key=lambda j: (dts[j] + offsets[j], j))
    rank = [0] * len(dts)
    for position, j in enumerate(order):
        rank[j] = position
    cuts, highest, keys = [], -1, set(sync)
    for k in range(len(dts)):
        if k in keys and highest == k - 1 and rank[k] == k:
            cuts.append(k)
        highest = max(highest, rank[k])
    return cuts


def _track(data: bytes, trak: tuple[int, int]) -> VideoTrack | None:
    mdia = _find(data, *trak, b"mdia")
    if mdia is None:
        return None
    hdlr, mdhd, minf = (_find(data, *mdia, k) for k in (b"hdlr", b"mdhd", b"minf"))
    if hdlr is None or mdhd is None or minf is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
        return None
    version = data[mdhd[0]]
    (timescale,) = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))
    stbl = _find(data, *minf, b"stbl")
    stsd = _find(data, *stbl, b"stsd") if stbl else None
    if stbl is None or stsd is None:
        return None
    entries = _boxes(data, stsd[0] + 8, stsd[1])
    if not entries:
        return None
    kind, es, ee = entries[0]
    width, height = struct.unpack_from(">HH", data, es + 24)
    config = b""
    for child, cs, ce in _boxes(data, es + _VISUAL_SAMPLE_ENTRY_HEADER, ee):
        if child in (b"avcC", b"hvcC"):
            config = data[cs:ce]
    stsz = _find(data, *stbl, b"stsz")
    if stsz is None:
        return None
    (sample_count,) = struct.unpack_from(">I", data, stsz[0] + 8)
    deltas = [d for count, d in _table(data, _find(data, *stbl, b"stts"), 2) for _ in range(count)]
    ctts = _find(data, *stbl, b"ctts")
    signed = ctts is not None and data[ctts[0]] == 1
    offsets = []
    for count, off in _table(data, ctts, 2):
        offsets += [off - (1 << 32) if signed and off >= 1 << 31 else off] * count
    if len(deltas) != sample_count or len(offsets) not in (0, sample_count):
        return None
    stss = _find(data, *stbl, b"stss")
    sync = [n - 1 for (n,) in _table(data, stss, 1)] if stss else list(range(sample_count))
    dts = [0] * sample_count
    for j in range(1, sample_count):
        dts[j] = dts[j - 1] + deltas[j - 1]
    steady = set(deltas[:-1]) or set(deltas)  # the last sample's duration may be rounded by the muxer
    return VideoTrack(
        codec=kind.decode("latin-1"),
        config=config,
        width=width,
        height=height,
        timescale=timescale,
        sample_count=sample_count,
        sample_delta=steady.pop() if len(steady) == 1 else None,
        clean_cuts=_clean_cuts(sync, dts, offsets or [0] * sample_count),
    )


def read_video_track(path: Path) -> VideoTrack | None:
    """The first video track of the MP4/MOV at `path`, or None when it is not an ISO-BMFF file with one."""
    try:
        with path.open("rb") as stream:
            moov = _read_moov(stream)
    except OSError:
        return None
    if moov is None:
        return None
    try:
        for kind, s, e in _boxes(moov, 8):
            if kind == b"trak":
                track = _track(moov, (s, e))
                if track is not None:
                    return track
    except struct.error:  # a truncated or malformed table: not a file we can cut safely
        return None
    return None
