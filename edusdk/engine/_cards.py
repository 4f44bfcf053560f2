"""Drawing for the storyboard engine: the layout, background, title, and the point and formula layers.

Everything here runs once per shot (`build_card`). The per-frame work — blending a fading layer and
cropping the image panel — lives in `storyboard`, so a frame costs a few small array operations and
the encoder stays the bottleneck.
"""

from __future__ import annotations

import functools
import math
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from edusdk._errors import BadInputError
from edusdk.models.engine import ShotRequest

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
RGB = tuple[int, int, int]

# Body text shrinks through these scales until it fits; past the last one, trailing items are dropped.
TEXT_SCALES = (1.0, 0.88, 0.77, 0.67, 0.58, 0.5)
MIN_FONT_PX = 5


def _rgb(hex_color: str) -> RGB:
    value = int(hex_color.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


@dataclass(frozen=True)
class Palette:
    """Colours of one card: a dark two-colour gradient (light text stays readable), a glow and an accent."""

    top: RGB
    bottom: RGB
    glow: RGB
    accent: RGB
    text: RGB = (244, 246, 250)


PALETTES: tuple[Palette, ...] = (
    Palette(_rgb("#1e3c72"), _rgb("#2a5298"), _rgb("#5b8def"), _rgb("#ffd166")),
    Palette(_rgb("#0f2027"), _rgb("#2c5364"), _rgb("#3f8f9e"), _rgb("#4fd1c5")),
    Palette(_rgb("#42275a"), _rgb("#734b6d"), _rgb("#a86a8f"), _rgb("#f6ad55")),
    Palette(_rgb("#10394a"), _rgb("#1f6a5a"), _rgb("#3e9a78"), _rgb("#f9f871")),
    Palette(_rgb("#232526"), _rgb("#414345"), _rgb("#5d6d7e"), _rgb("#63b3ed")),
    Palette(_rgb("#3a1c71"), _rgb("#5b3c88"), _rgb("#8e5aa8"), _rgb("#ffaf7b")),
    Palette(_rgb("#1a2a6c"), _rgb("#3f4c8c"), _rgb("#6b6fb8"), _rgb("#fdbb2d")),
    Palette(_rgb("#2b1e3f"), _rgb("#2f4f6f"), _rgb("#4a7fa0"), _rgb("#a8ff78")),
)


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Layer:
    """A pre-drawn item (a point or a formula): colour premultiplied by alpha, both float32, at (x, y)."""

    x: int
    y: int
    premult: F32  # (h, w, 3)
    alpha: F32  # (h, w, 1)

    @property
    def h(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def w(self) -> int:
        return int(self.alpha.shape[1])


@dataclass
class Card:
    """The static parts of one card, ready to animate."""

    base: U8  # background + title (+ prompt): what every frame starts from
    layers: list[Layer]  # points then formulas, in the order they appear
    slide: int  # how far (px) a layer rises while it fades in; never more than the gap below it
    panel: Box | None  # where the reference image goes (animated by storyboard.KenBurns)
    image_path: Path | None
    info: dict[str, Any] = field(default_factory=dict)


# --- fonts and text ---------------------------------------------------------------------------------


@functools.cache
def _font_path(bold: bool) -> str:
    # The copy matplotlib ships is the same file on every machine, unlike whatever the OS has installed.
    import matplotlib
    from matplotlib import font_manager

    shipped = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if shipped.is_file():
        return str(shipped)
    props = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    return str(font_manager.findfont(props))


@functools.lru_cache(maxsize=128)
def font(px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at `px` pixels."""
    return ImageFont.truetype(_font_path(bold), size=max(1, px))


def _fit_chars(word: str, fnt: ImageFont.FreeTypeFont, width: int) -> int:
    """How many leading characters of `word` fit in `width` (at least 1, so wrapping always advances)."""
    lo, hi = 1, len(word)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fnt.getlength(word[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


def wrap(text: str, fnt: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to `width` pixels; words longer than a line are broken between characters."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if fnt.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and fnt.getlength(word) > width:
                cut = _fit_chars(word, fnt, width)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            lines.append(line)
    return lines


def ellipsize(lines: list[str], max_lines: int, fnt: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Keep at most `max_lines`; mark the cut with an ellipsis that still fits the width."""
    if len(lines) <= max_lines:
        return lines
    if max_lines <= 0:
        return []
    kept = lines[:max_lines]
    last = kept[-1]
    while last and fnt.getlength(last + "…") > width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return kept


def _line_height(px: int) -> int:
    return max(1, round(px * 1.25))


def _draw_lines(draw: ImageDraw.ImageDraw, lines: list[str], x: int, y: int, fnt: ImageFont.FreeTypeFont,
                fill: int | RGB) -> None:  # fmt: skip
    lh = _line_height(int(fnt.size))
    for i, line in enumerate(lines):
        # Anchor at the ascender so every line sits at the same place whatever its glyphs.
        draw.text((x, y + i * lh), line, font=fnt, fill=fill, anchor="la")


# --- formulas ---------------------------------------------------------------------------------------

_MATPLOTLIB_LOCK = threading.Lock()  # matplotlib's text machinery is not thread-safe


@functools.lru_cache(maxsize=256)
def formula_mask(formula: str, px: int) -> U8:
    """Coverage mask (h, w) of `formula` (LaTeX, matplotlib mathtext) at a font size of `px` pixels.

    Raises ValueError if mathtext cannot parse it. The array is shared by the cache: read-only.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    text = f"${formula}$"
    # An explicit math font family keeps the output independent of the user's matplotlibrc.
    prop = FontProperties(family="DejaVu Sans", size=max(1, px), math_fontfamily="dejavusans")
    with _MATPLOTLIB_LOCK:
        width, height, depth, *_ = MathTextParser("path").parse(text, dpi=72, prop=prop)
        pad = 2  # antialiased edges spill past the parser's box
        w, h = math.ceil(width) + 2 * pad, math.ceil(height) + 2 * pad
        fig = Figure(figsize=(w / 72, h / 72), dpi=72, facecolor="none")
        canvas = FigureCanvasAgg(fig)
        fig.text(pad / w, (pad + depth) / h, text, fontproperties=prop, color="white")
        canvas.draw()  # type: ignore[no-untyped-call]
        rgba = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
        alpha = np.array(rgba, dtype=np.uint8)[:, :, 3]
    rows, cols = np.nonzero(alpha)
    if rows.size:
        alpha = alpha[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    out = np.ascontiguousarray(alpha)
    out.flags.writeable = False
    return out


# --- layers -----------------------------------------------------------------------------------------


def _layer(x: int, y: int, masks: list[tuple[Image.Image, RGB]]) -> Layer:
    """A layer from same-sized coverage masks, each with its colour (they do not overlap)."""
    alpha8 = np.zeros((masks[0][0].height, masks[0][0].width), dtype=np.uint8)
    color = np.zeros((*alpha8.shape, 3), dtype=np.float32)
    for mask, rgb in masks:
        m = np.asarray(mask, dtype=np.uint8)
        color[m > 0] = rgb
        np.maximum(alpha8, m, out=alpha8)
    rows, cols = np.nonzero(alpha8)
    if rows.size:  # crop to the ink so per-frame blends touch as few pixels as possible
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        alpha8, color, x, y = alpha8[r0:r1, c0:c1], color[r0:r1, c0:c1], x + int(c0), y + int(r0)
    alpha = (alpha8.astype(np.float32) / 255.0)[:, :, None]
    return Layer(x=x, y=y, premult=np.ascontiguousarray(color * alpha), alpha=np.ascontiguousarray(alpha))


def _point_layer(text: str, box: Box, px: int, palette: Palette) -> tuple[Layer, int] | None:
    """A bulleted point wrapped into `box.w`, placed at box.x, box.y; returns it and its line-box height."""
    fnt = font(px)
    indent = max(2, round(px * 1.2))
    lines = wrap(text, fnt, max(1, box.w - indent))
    if not lines:
        return None
    lh = _line_height(px)
    size = (max(1, box.w), len(lines) * lh)
    text_mask, bullet_mask = Image.new("L", size, 0), Image.new("L", size, 0)
    _draw_lines(ImageDraw.Draw(text_mask), lines, indent, 0, fnt, 255)
    d = max(2, round(px * 0.36))
    top = (lh - d) // 2 + round(px * 0.08)
    ImageDraw.Draw(bullet_mask).ellipse((round(px * 0.2), top, round(px * 0.2) + d, top + d), fill=255)
    return _layer(box.x, box.y, [(text_mask, palette.text), (bullet_mask, palette.accent)]), size[1]


def _formula_layer(formula: str, box: Box, px: int, palette: Palette) -> tuple[Layer, int]:
    """A formula centred in `box.w` (scaled down if wider), placed at box.y; returns it and its height."""
    mask = Image.fromarray(formula_mask(formula, px))
    if mask.width > box.w:
        scale = box.w / mask.width
        mask = mask.resize((max(1, box.w), max(1, round(mask.height * scale))), Image.Resampling.LANCZOS)
    x = box.x + (box.w - mask.width) // 2
    return _layer(x, box.y, [(mask, palette.text)]), mask.height


def _body_layers(points: list[str], formulas: list[str], box: Box, unit: float, palette: Palette,
                 shot_id: str) -> tuple[list[Layer], int, int]:  # fmt: skip
    """Lay points then formulas top-down in `box`; returns the layers that fit, the gap and how many did not."""
    px_point = max(MIN_FONT_PX, round(0.064 * unit))
    px_formula = max(MIN_FONT_PX + 1, round(0.085 * unit))
    gap = max(1, round(px_point * 0.6))
    layers: list[Layer] = []
    y, dropped = box.y, 0
    items: list[tuple[str, str]] = [("point", p) for p in points] + [("formula", f) for f in formulas]
    for kind, content in items:
        row = Box(box.x, y, box.w, max(1, box.y + box.h - y))
        if kind == "point":
            made = _point_layer(content, row, px_point, palette)
        else:
            try:
                made = _formula_layer(content, row, px_formula, palette)
            except ValueError as exc:
                # mathtext's message is the formula, a caret line, then the reason: keep the reason.
                lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
                reason = lines[-1] if lines else type(exc).__name__
                raise BadInputError(f"shot {shot_id!r}: formula {content!r} is not valid mathtext: {reason}") from None
        if made is None:
            continue
        layer, height = made
        if dropped or y + height > box.y + box.h:
            dropped += 1  # keep the reading order: once one item does not fit, none after it is drawn
            continue
        layers.append(layer)
        y += height + gap
    return layers, gap, dropped


# --- background -------------------------------------------------------------------------------------


def gradient(width: int, height: int, palette: Palette, rng: random.Random) -> Image.Image:
    """A mostly top-to-bottom two-colour gradient with a soft glow, both placed by `rng`."""
    angle = math.pi / 2 + rng.uniform(-0.6, 0.6)
    gx, gy = rng.uniform(0.15, 0.85), rng.uniform(0.1, 0.6)
    # The field is smooth, so it is computed at a quarter of the size and scaled up: ~10x cheaper.
    w, h = max(2, width // 4), max(2, height // 4)
    xs = np.linspace(0.0, width, w, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, height, h, dtype=np.float32)[:, None]
    t = xs * np.float32(math.cos(angle)) + ys * np.float32(math.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    top, bottom, glow = (np.array(c, dtype=np.float32) for c in (palette.top, palette.bottom, palette.glow))
    rgb = top + (bottom - top) * t[:, :, None]
    sigma = 0.45 * max(width, height)
    d2 = (xs - gx * width) ** 2 + (ys - gy * height) ** 2
    g = (np.exp(-d2 / np.float32(2 * sigma * sigma)) * np.float32(0.35))[:, :, None]
    rgb += (glow - rgb) * g
    small = Image.fromarray((rgb + 0.5).clip(0, 255).astype(np.uint8))
    return small.resize((width, height), Image.Resampling.BILINEAR)


def _translucent_rect(image: Image.Image, box: Box, color: RGB, opacity: int, radius: int) -> None:
    """Darken/tint `box` of `image` in place with `color` at `opacity` (0–255), corners rounded."""
    if box.w <= 0 or box.h <= 0:
        return
    mask = Image.new("L", (box.w, box.h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, box.w - 1, box.h - 1), radius=max(0, radius), fill=opacity)
    image.paste(Image.new("RGB", (box.w, box.h), color), (box.x, box.y), mask)


# --- the card ---------------------------------------------------------------------------------------


def card_image_path(request: ShotRequest) -> Path | None:
    """The image a card shows: image mode prefers the request's image; every mode falls back to on_screen's."""
    if request.mode == "image":
        path = request.image or request.on_screen.image
        if path is None:
            raise BadInputError(f"shot {request.shot_id!r}: image mode needs request.image or on_screen.image")
        return path
    return request.on_screen.image


def build_card(request: ShotRequest) -> Card:
    """Draw everything static about the card of `request` (raises BadInputError for bad images or formulas)."""
    width, height = request.width, request.height
    unit = float(min(width, height))  # fonts follow the short side, so portrait text is not oversized
    margin = max(1, round(0.055 * unit))
    rng = random.Random(request.seed)
    palette_index = rng.randrange(len(PALETTES))
    palette = PALETTES[palette_index]
    image = gradient(width, height, palette, rng)

    on_screen = request.on_screen
    title = " ".join(on_screen.title.split())
    points = [p.strip() for p in on_screen.points if p.strip()]
    formulas = [f.strip() for f in on_screen.formulas if f.strip()]
    image_path = card_image_path(request)
    if image_path is not None and not Path(image_path).is_file():
        raise BadInputError(f"shot {request.shot_id!r}: image {image_path} does not exist")
    has_body = bool(points or formulas)
    info: dict[str, Any] = {"palette": palette_index, "layout": "text", "points": len(points),
                            "formulas": len(formulas), "dropped_items": 0, "text_scale": 1.0,
                            "image": str(image_path) if image_path else None}  # fmt: skip

    y = margin
    inner_w = max(1, width - 2 * margin)
    if title:
        title_card = not has_body and image_path is None
        tf = font(max(MIN_FONT_PX + 1, round((0.12 if title_card else 0.092) * unit)), bold=True)
        lines = ellipsize(wrap(title, tf, inner_w), 3 if height > 1.2 * width else 2, tf, inner_w)
        block = len(lines) * _line_height(int(tf.size))
        if title_card:
            y = max(margin, (height - block) // 2)
        draw = ImageDraw.Draw(image)
        _draw_lines(draw, lines, margin, y, tf, palette.text)
        y += block + max(1, round(0.02 * unit))
        bar_h = max(1, round(0.008 * unit))
        draw.rectangle((margin, y, margin + max(2, round(0.12 * width)), y + bar_h - 1), fill=palette.accent)
        y += bar_h + max(1, round(0.035 * unit))
    body = Box(margin, y, inner_w, max(0, height - margin - y))

    if not (title or has_body or image_path):
        info["layout"] = "prompt"  # nothing to show on screen: the prompt keeps the card from being blank
        pf = font(max(MIN_FONT_PX, round(0.045 * unit)))
        lh = _line_height(int(pf.size))
        lines = ellipsize(wrap(request.prompt, pf, inner_w), max(1, body.h // lh), pf, inner_w)
        top = max(margin, (height - len(lines) * lh) // 2)
        _draw_lines(ImageDraw.Draw(image), lines, margin, top, pf, (205, 212, 224))
        return Card(base=np.array(image, dtype=np.uint8), layers=[], slide=0, panel=None, image_path=None, info=info)

    text_box, panel = body, None
    gap = margin
    if image_path is not None:
        if not has_body:
            panel, info["layout"] = body, "image"
        elif width >= 1.2 * height:  # landscape: image beside the text
            pw = round(body.w * 0.42)
            panel = Box(body.x + body.w - pw, body.y, pw, body.h)
            text_box, info["layout"] = Box(body.x, body.y, body.w - pw - gap, body.h), "side-by-side"
        else:  # portrait and square: image above the text
            ph = round(body.h * 0.42)
            panel = Box(body.x, body.y, body.w, ph)
            text_box, info["layout"] = Box(body.x, body.y + ph + gap, body.w, body.h - ph - gap), "stacked"
        if panel.w < 4 or panel.h < 4:
            panel, text_box, info["layout"] = None, body, "text"  # too small to show anything useful

    if panel is not None:
        shadow = max(1, round(0.01 * unit))
        _translucent_rect(image, Box(panel.x + shadow, panel.y + shadow, panel.w, panel.h), (0, 0, 0), 90, 0)

    layers: list[Layer] = []
    item_gap = 0
    if has_body and text_box.w > 0 and text_box.h > 0:
        pad = max(1, round(0.028 * unit))
        inner = Box(text_box.x + pad, text_box.y + pad, max(1, text_box.w - 2 * pad), max(1, text_box.h - 2 * pad))
        for scale in TEXT_SCALES:
            layers, item_gap, dropped = _body_layers(points, formulas, inner, unit * scale, palette, request.shot_id)
            info["text_scale"], info["dropped_items"] = scale, dropped
            if not dropped:
                break
        # The translucent panel behind the text ends under its last item, not at the bottom of the frame.
        bottom = max((layer.y + layer.h for layer in layers), default=inner.y) + pad + item_gap // 2
        panel_h = min(text_box.h, bottom - text_box.y)
        _translucent_rect(image, Box(text_box.x, text_box.y, text_box.w, panel_h), (0, 0, 0), 60, round(0.02 * unit))
    elif has_body:
        info["dropped_items"] = len(points) + len(formulas)

    slide = min(item_gap, max(0, round(0.012 * unit)))
    return Card(base=np.array(image, dtype=np.uint8), layers=layers, slide=slide, panel=panel,
                image_path=image_path if panel is not None else None, info=info)  # fmt: skip
