"""The storyboard engine: every shot becomes an animated lesson card, drawn on the CPU, no model weights.

It is the SDK's default engine and the preview before GPU time. A card is the shot's title on a
gradient, its key points fading in one after another, its formulas (LaTeX, via matplotlib mathtext)
and its reference image with a slow Ken-Burns move. Static layers are drawn once (`_cards.build_card`);
each frame only blends what is fading in and re-crops the image panel, and frames go straight into one
ffmpeg process per shot as raw RGB, so x264 — not Python — sets the pace.

Example:
    >>> engine = StoryboardEngine()
    >>> clip = engine.generate(request, output=Path("shot-01.mp4"))
    >>> clip.num_frames == request.num_frames
    True
"""

from __future__ import annotations

import math
import random
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import atomic_output, check_output_path
from edusdk._media import ffmpeg_exe, ffmpeg_version, probe
from edusdk.engine._cards import U8, Box, Card, Layer, build_card
from edusdk.engine._images import open_rgb
from edusdk.engine.base import ProgressCallback, require_mode
from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest

MODEL = "storyboard-v1"
KEYFRAME_INTERVAL_S = 1  # closed GOPs on a fixed grid let compose cut clips without re-encoding
FADE_S = 0.5  # how long a point takes to fade in
KEN_BURNS_ZOOM = 1.15  # the largest zoom of the image panel
KEN_BURNS_PAN = 0.1  # how far the panel pans, as a fraction of its longer side
KEN_BURNS_FULL_S = 8.0  # shots this long or longer get the full zoom and pan; shorter ones move less
# The image panel drifts by under a pixel per frame; it is re-cropped only once it has moved this far
# from the crop on screen, which looks the same, saves resampling, and hands x264 repeated panels.
KEN_BURNS_MIN_SHIFT_PX = 0.5
_STDERR_TAIL = 1500
CONNECT_ZOOM = 0.06  # connect mode: image A pushes in by this much as it dissolves, B settles from it

CAPABILITIES = EngineCapabilities(
    name="storyboard",
    modes=("text", "image", "still", "connect"),
    min_size=16,
    max_size=4096,
    size_multiple=2,  # yuv420p needs even sizes
    max_frames=7200,
    fps=(24, 25, 30, 50, 60),
)


# --- the image panel --------------------------------------------------------------------------------


class KenBurns:
    """A reference image filling `box`, slowly zooming and panning as t goes from 0 to 1.

    The move is scaled to the shot's length (full move at KEN_BURNS_FULL_S or longer), so a short shot
    drifts as slowly as a long one instead of lurching: under a pixel per frame at 720p.
    """

    def __init__(self, path: Path, box: Box, seed: int, seconds: float) -> None:
        image = open_rgb(path, "the shot image")
        self.box = box
        rng = random.Random(f"kenburns:{seed}")  # its own stream: the card's layout never shifts the move
        # Scaled once so the most zoomed-in crop is 1:1; every frame is then a small resample of it.
        k = max(box.w / image.width, box.h / image.height) * KEN_BURNS_ZOOM
        size = (max(box.w, math.ceil(image.width * k)), max(box.h, math.ceil(image.height * k)))
        self.source = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        amount = min(1.0, max(0.0, seconds) / KEN_BURNS_FULL_S)
        zoom = 1.0 + (KEN_BURNS_ZOOM - 1.0) * amount
        self.zooms = (1.0, zoom) if rng.random() < 0.5 else (zoom, 1.0)
        # Crop centres at both ends, each inside the source at its zoom; the straight line between two
        # valid centres stays valid, because the crop shrinks or grows linearly along the way.
        (lo_x0, hi_x0), (lo_y0, hi_y0) = self._centre_range(self.zooms[0])
        start = (lo_x0 + (hi_x0 - lo_x0) * rng.uniform(0.3, 0.7), lo_y0 + (hi_y0 - lo_y0) * rng.uniform(0.3, 0.7))
        angle, length = rng.uniform(0, 2 * math.pi), KEN_BURNS_PAN * max(box.w, box.h) * KEN_BURNS_ZOOM * amount
        (lo_x1, hi_x1), (lo_y1, hi_y1) = self._centre_range(self.zooms[1])
        end = (min(hi_x1, max(lo_x1, start[0] + length * math.cos(angle))),
               min(hi_y1, max(lo_y1, start[1] + length * math.sin(angle))))  # fmt: skip
        self.centres = (start, end)

    def _centre_range(self, z: float) -> tuple[tuple[float, float], tuple[float, float]]:
        cw, ch = self.box.w * KEN_BURNS_ZOOM / z, self.box.h * KEN_BURNS_ZOOM / z
        return (cw / 2, self.source.width - cw / 2), (ch / 2, self.source.height - ch / 2)

    def crop(self, t: float) -> tuple[float, float, float, float]:
        """The source rectangle (left, top, right, bottom) shown at time t ∈ [0, 1]."""
        e = 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, t)))  # ease in and out: no jolt at the cuts
        z = self.zooms[0] + (self.zooms[1] - self.zooms[0]) * e
        cw = min(self.source.width, self.box.w * KEN_BURNS_ZOOM / z)
        ch = min(self.source.height, self.box.h * KEN_BURNS_ZOOM / z)
        (x_start, y_start), (x_end, y_end) = self.centres
        x0 = min(self.source.width - cw, max(0.0, x_start + (x_end - x_start) * e - cw / 2))
        y0 = min(self.source.height - ch, max(0.0, y_start + (y_end - y_start) * e - ch / 2))
        return x0, y0, x0 + cw, y0 + ch

    def shift(self, a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
        """How far (panel pixels) any corner of the panel moves between crops `a` and `b`."""
        scale = self.box.w / (a[2] - a[0])
        return max(abs(p - q) for p, q in zip(a, b, strict=True)) * scale

    def render(self, crop: tuple[float, float, float, float]) -> U8:
        """The panel's pixels (h, w, 3) for a source rectangle from `crop`."""
        # BOX at these near-1 scales is area averaging: as smooth as bilinear here and ~30 % cheaper.
        image = self.source.resize((self.box.w, self.box.h), Image.Resampling.BOX, box=crop)
        pixels: U8 = np.asarray(image, dtype=np.uint8)
        return pixels

    def frame(self, t: float) -> U8:
        """The panel's pixels (h, w, 3) at time t ∈ [0, 1]."""
        return self.render(self.crop(t))


# --- frames -----------------------------------------------------------------------------------------


def fade_schedule(count: int, num_frames: int, fps: int) -> list[tuple[int, int]]:
    """(first frame, fade length in frames) of each of `count` items.

    Items appear one after another between a short pause for the title and 70 % of the shot, so the
    last one is on screen long enough to read; fades never overlap, and every item is fully shown by
    the last frame (a one-frame clip shows everything).
    """
    if count == 0:
        return []
    first = min(round(0.1 * num_frames), round(0.5 * fps))
    last = max(first, round(0.7 * num_frames))
    step = (last - first) / count
    length = max(1, min(round(FADE_S * fps), int(step))) if step >= 1 else 1
    return [(min(first + int(i * step), num_frames - length), length) for i in range(count)]


def _smoothstep(a: float) -> float:
    return a * a * (3.0 - 2.0 * a)


class CardRenderer:
    """The frames of one shot's card, without encoding (tests and benchmarks use it directly).

    Raises BadInputError for an unreadable image, an invalid formula, or image mode without an image.
    """

    def __init__(self, request: ShotRequest) -> None:
        self.request = request
        self.card: Card = build_card(request)
        panel, path = self.card.panel, self.card.image_path
        seconds = request.num_frames / request.fps
        self.kenburns = KenBurns(path, panel, request.seed, seconds) if panel and path else None
        self.schedule = fade_schedule(len(self.card.layers), request.num_frames, request.fps)

    @property
    def metadata(self) -> dict[str, Any]:
        """What was drawn: layout, palette, counts of points/formulas and of items left out for space."""
        return dict(self.card.info)

    @property
    def static_from_frame(self) -> int | None:
        """The frame from which the card holds still to its end (None when an image panel keeps moving).

        Clip metadata carries it so compose's quality check does not report a card held by design as frozen.
        """
        if self.request.mode == "still":
            return 0
        if self.kenburns is not None:
            return None
        return min(self.request.num_frames - 1, max((s + n - 1 for s, n in self.schedule), default=0))

    def frames(self, *, copy: bool = True) -> Iterator[U8]:
        """Yield `num_frames` frames, each (height, width, 3) uint8 RGB.

        With copy=False every frame is the same buffer, updated in place: write it out before asking
        for the next one (that is what the encoder does, and it saves a full-frame copy per frame).
        """
        request, card = self.request, self.card
        n = request.num_frames
        canvas = card.base.copy()
        kb = self.kenburns
        panel = (slice(kb.box.y, kb.box.y + kb.box.h), slice(kb.box.x, kb.box.x + kb.box.w)) if kb else None
        if request.mode == "still":
            for layer in card.layers:
                self._blend(canvas, layer, canvas[self._region(layer)].astype(np.float32), 1.0, 0)
            if kb is not None and panel is not None:
                canvas[panel] = kb.frame(0.0)
            for _ in range(n):
                yield canvas.copy() if copy else canvas
            return

        shown: tuple[float, float, float, float] | None = None  # the panel's crop now on the canvas
        pending = deque(sorted(range(len(card.layers)), key=lambda i: self.schedule[i][0]))
        fading: dict[int, np.ndarray[Any, np.dtype[np.float32]]] = {}  # item → the pixels under it
        for f in range(n):
            while pending and self.schedule[pending[0]][0] <= f:
                i = pending.popleft()
                fading[i] = canvas[self._region(card.layers[i])].astype(np.float32)
            for i in list(fading):
                start, length = self.schedule[i]
                a = min(1.0, (f - start + 1) / length)
                e = _smoothstep(a)
                self._blend(canvas, card.layers[i], fading[i], e, round((1.0 - e) * card.slide))
                if a >= 1.0:
                    del fading[i]  # fully drawn into the canvas: no more work for it
            if kb is not None and panel is not None:
                crop = kb.crop(f / (n - 1) if n > 1 else 0.0)
                if shown is None or kb.shift(shown, crop) >= KEN_BURNS_MIN_SHIFT_PX:
                    canvas[panel], shown = kb.render(crop), crop
            yield canvas.copy() if copy else canvas

    def _region(self, layer: Layer) -> tuple[slice, slice]:
        """Rows the layer covers while sliding up (its box plus `slide` below), clipped to the frame."""
        bottom = min(self.request.height, layer.y + layer.h + self.card.slide)
        return slice(layer.y, bottom), slice(layer.x, layer.x + layer.w)

    def _blend(self, canvas: U8, layer: Layer, under: np.ndarray[Any, np.dtype[np.float32]], opacity: float,
               dy: int) -> None:  # fmt: skip
        """Write `layer` at `opacity`, `dy` px below its place, over `under` (the pixels without it)."""
        rows = under.shape[0]
        dy = max(0, min(dy, rows - layer.h))
        out = under.copy()
        part = out[dy : dy + layer.h]
        part *= 1.0 - opacity * layer.alpha
        part += opacity * layer.premult
        out += 0.5
        canvas[self._region(layer)] = out.astype(np.uint8)


class ConnectRenderer:
    """Connect mode: the frames between image A (`request.image`) and image B (`request.end_image`).

    A zoom-through dissolve: A pushes in while it fades out and B settles from the same zoom as it fades
    in, eased at both ends. The frames lie strictly between A and B (neither is repeated), so a bridge
    from shot A's last frame to shot B's first joins both by cuts without a held frame.
    """

    def __init__(self, request: ShotRequest) -> None:
        self.request = request
        size = (request.width, request.height)
        self.images = [self._read(request.image, "image", size), self._read(request.end_image, "end_image", size)]

    @staticmethod
    def _read(path: Path | None, field: str, size: tuple[int, int]) -> Image.Image:
        if path is None:
            raise BadInputError(f"connect mode needs `{field}` (the {'first' if field == 'image' else 'last'} frame)")
        image = open_rgb(path, f"the connect {field}")
        return ImageOps.fit(image, size, Image.Resampling.LANCZOS)  # cover the frame, centred, as compose does

    @property
    def metadata(self) -> dict[str, Any]:
        return {"layout": "connect", "zoom": CONNECT_ZOOM}

    def _zoomed(self, image: Image.Image, zoom: float) -> np.ndarray[Any, np.dtype[np.float32]]:
        w, h = image.size
        cw, ch = w / zoom, h / zoom
        box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
        return np.asarray(image.resize((w, h), Image.Resampling.BILINEAR, box=box), dtype=np.float32)

    def frames(self, *, copy: bool = True) -> Iterator[U8]:
        """Yield `num_frames` frames (height, width, 3) uint8 RGB; `copy` is accepted for CardRenderer's API."""
        n = self.request.num_frames
        a, b = self.images
        for f in range(n):
            e = _smoothstep((f + 1) / (n + 1))
            out_of_a, into_b = self._zoomed(a, 1.0 + CONNECT_ZOOM * e), self._zoomed(b, 1.0 + CONNECT_ZOOM * (1 - e))
            mixed = (1.0 - e) * out_of_a + e * into_b
            yield (mixed + 0.5).astype(np.uint8)


def iter_frames(request: ShotRequest) -> Iterator[U8]:
    """The raw RGB frames (height, width, 3) the storyboard engine would encode for `request`."""
    return CardRenderer(request).frames(copy=True)


# --- encoding ---------------------------------------------------------------------------------------


def force_key_frames(fps: int, keyframes: Iterable[int] = ()) -> str:
    """The `-force_key_frames` value: a keyframe every KEYFRAME_INTERVAL_S plus one at each of `keyframes`.

    Frame-number based (`n`), so extra keyframes never shift the grid and land exactly on the frames asked for.

    Example:
        >>> force_key_frames(30, [15, 165])
        'expr:not(mod(n,30))+eq(n,15)+eq(n,165)'
    """
    grid = max(1, round(fps * KEYFRAME_INTERVAL_S))
    extra = sorted({int(k) for k in keyframes if k > 0 and k % grid})
    return "expr:" + "+".join([f"not(mod(n,{grid}))", *(f"eq(n,{k})" for k in extra)])


def encoder_args(*, width: int, height: int, fps: int, output: Path | str, crf: int = 23,
                 preset: str = "veryfast", keyframes: Iterable[int] = ()) -> list[str]:  # fmt: skip
    """ffmpeg arguments (without the binary) that read raw rgb24 frames on stdin and write an H.264 MP4.

    Keyframes are forced every KEYFRAME_INTERVAL_S and at each frame index in `keyframes` (see
    force_key_frames), with closed GOPs and no scene-cut keyframes, so the compose stage can cut on known
    frames; the colour matrix is BT.709, tagged, as players assume for HD.

    Example:
        >>> args = encoder_args(width=64, height=36, fps=30, output="a.mp4", keyframes=[15])
        >>> args[args.index("-force_key_frames") + 1]
        'expr:not(mod(n,30))+eq(n,15)'
    """
    return [
        "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        "-an", "-vf", "scale=out_color_matrix=bt709:out_range=tv,setsar=1",  # SAR 1:1, as compose writes it
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        "-force_key_frames", force_key_frames(fps, keyframes), "-sc_threshold", "0", "-flags", "+cgop",
        "-movflags", "+faststart", "-f", "mp4", "-y", str(output),
    ]  # fmt: skip


def encode_frames(frames: Iterable[U8], args: Sequence[str], *, num_frames: int,
                  on_progress: ProgressCallback | None = None) -> int:  # fmt: skip
    """Pipe `frames` into one ffmpeg process run with `args`; return how many frames were written.

    Reports progress (written / num_frames) about every 10 %, never 1.0 (the caller does, once the file
    is final). Raises MediaError with ffmpeg's stderr if ffmpeg fails or stops reading; on any error
    ffmpeg is stopped before the exception propagates.
    """
    written, next_report = 0, 0.1
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: ffmpeg can never block on a full stderr
        proc = subprocess.Popen([ffmpeg_exe(), *args], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)
        assert proc.stdin is not None
        broken = False
        try:
            for frame in frames:
                try:
                    proc.stdin.write(np.ascontiguousarray(frame).data.cast("B"))
                except (BrokenPipeError, ConnectionResetError):
                    broken = True  # ffmpeg gave up; its exit status and stderr say why
                    break
                written += 1
                if on_progress is not None and written / num_frames >= next_report and written < num_frames:
                    on_progress(written / num_frames)
                    next_report = int(written / num_frames * 10 + 1) / 10
            try:
                proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                broken = True
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if code != 0 or broken:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace")[-_STDERR_TAIL:].strip()
            raise MediaError(f"ffmpeg failed while encoding frames (exit {code}): {tail or 'it stopped reading input'}")
    return written


# --- the engine -------------------------------------------------------------------------------------


class StoryboardEngine:
    """Animated lesson cards, encoded with x264 on the CPU.

    Example:
        >>> engine = StoryboardEngine(crf=20)
        >>> engine.capabilities.modes
        ('text', 'image', 'still', 'connect')
    """

    name = "storyboard"

    # The compose stage's x264 settings: clips then share its SPS/PPS and are stream-copied, not re-encoded.
    def __init__(self, *, crf: int = 23, preset: str = "veryfast") -> None:
        if not 0 <= crf <= 51:
            raise BadInputError(f"crf must be between 0 and 51 (got {crf})")
        self.crf = crf
        self.preset = preset

    @property
    def capabilities(self) -> EngineCapabilities:
        return CAPABILITIES

    def check_inputs(self, request: ShotRequest) -> None:
        """Raise UnsupportedModeError or BadInputError for a request this engine cannot render as asked."""
        require_mode(self, request)
        if request.mode == "connect" and (request.image is None or request.end_image is None):
            raise BadInputError(f"shot {request.shot_id!r}: connect mode needs both `image` (first frame) and "
                                "`end_image` (last frame)")  # fmt: skip
        caps = self.capabilities
        w, h = request.width, request.height
        if w % caps.size_multiple or h % caps.size_multiple:
            raise BadInputError(f"shot {request.shot_id!r}: size {w}x{h} is not a multiple of {caps.size_multiple}",
                                hint="snap width and height to engine.capabilities.size_multiple")  # fmt: skip
        if not (caps.min_size <= min(w, h) and max(w, h) <= caps.max_size):
            raise BadInputError(f"shot {request.shot_id!r}: size {w}x{h} is outside {caps.min_size}–{caps.max_size}")
        if request.num_frames > caps.max_frames:
            raise BadInputError(f"shot {request.shot_id!r}: {request.num_frames} frames > max {caps.max_frames}")

    def generate(self, request: ShotRequest, *, output: Path, on_progress: ProgressCallback | None = None) -> Clip:
        """Render `request` to an MP4 at `output` (written whole or not at all) and describe it."""
        # 1. Check the request and draw the static card first: bad input fails before ffmpeg starts.
        self.check_inputs(request)
        renderer = ConnectRenderer(request) if request.mode == "connect" else CardRenderer(request)
        final = check_output_path(output)
        n = request.num_frames
        # 2. Stream the frames into ffmpeg, into a temporary file renamed into place on success.
        with atomic_output(final) as tmp:
            args = encoder_args(width=request.width, height=request.height, fps=request.fps, output=tmp,
                                crf=self.crf, preset=self.preset, keyframes=request.keyframes)  # fmt: skip
            encode_frames(renderer.frames(copy=False), args, num_frames=n, on_progress=on_progress)
            # 3. Verify frame count, not duration: compose cuts clips by frames.
            info = probe(tmp)
            if info.frames != n or (info.width, info.height) != (request.width, request.height):
                raise MediaError(f"shot {request.shot_id!r}: encoded {info.frames} frames of {info.width}x{info.height}"
                                 f", expected {n} of {request.width}x{request.height}")  # fmt: skip
        if on_progress is not None:
            on_progress(1.0)
        metadata: dict[str, Any] = {
            **renderer.metadata,
            "mode": request.mode,
            "encoder": "libx264",
            "preset": self.preset,
            "crf": self.crf,
            "keyframe_interval_s": KEYFRAME_INTERVAL_S,
            "keyframes": sorted(k for k in set(request.keyframes) if k < n),
            # still from this frame on by design, so compose's quality check does not call it frozen
            "static_from_frame": getattr(renderer, "static_from_frame", None),
            "ffmpeg": ffmpeg_version(),
        }
        return Clip(shot_id=request.shot_id, path=final, width=request.width, height=request.height, fps=request.fps,
                    num_frames=n, engine=self.name, model=MODEL, seed=request.seed, metadata=metadata)  # fmt: skip
