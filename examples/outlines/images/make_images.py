"""Draw the example outlines' reference images (a labelled leaf diagram) with Pillow.

Run from anywhere: `python examples/outlines/images/make_images.py`; writes leaf.png beside this file.
The PNG is committed too, so the examples work without running this.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
SIZE = (640, 400)
SKY = (232, 244, 255)
LEAF = (76, 161, 72)
LEAF_DARK = (46, 112, 48)
SUN = (255, 200, 40)
ARROW = (60, 60, 60)


def leaf_outline(cx: float, cy: float, length: float, width: float, steps: int = 60) -> list[tuple[float, float]]:
    """A pointed leaf shape along the x axis: two arcs meeting at the base and the tip."""
    top = [(cx - length / 2 + length * t / steps, cy - width / 2 * math.sin(math.pi * t / steps)) for t in range(steps)]
    bottom = [
        (cx + length / 2 - length * t / steps, cy + width / 2 * math.sin(math.pi * t / steps)) for t in range(steps)
    ]
    return top + bottom


def arrow(
    draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], colour: tuple[int, int, int]
) -> None:
    draw.line([start, end], fill=colour, width=5)
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    head = [end] + [(end[0] - 16 * math.cos(angle + s), end[1] - 16 * math.sin(angle + s)) for s in (0.45, -0.45)]
    draw.polygon(head, fill=colour)


def make_leaf(path: Path) -> None:
    image = Image.new("RGB", SIZE, SKY)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=22) if hasattr(ImageFont, "load_default") else ImageFont.load_default()

    # the sun, its light arriving at the leaf
    draw.ellipse([30, 25, 120, 115], fill=SUN)
    for k in range(8):
        a = k * math.pi / 4
        draw.line([(75 + 52 * math.cos(a), 70 + 52 * math.sin(a)), (75 + 68 * math.cos(a), 70 + 68 * math.sin(a))],
                  fill=SUN, width=4)  # fmt: skip
    arrow(draw, (140, 110), (250, 175), SUN)

    # the leaf with its midrib, veins and stem
    cx, cy = 360, 215
    draw.polygon(leaf_outline(cx, cy, 300, 150), fill=LEAF, outline=LEAF_DARK)
    draw.line([(cx - 150, cy), (cx + 150, cy)], fill=LEAF_DARK, width=4)
    for k in range(1, 6):
        x = cx - 150 + k * 50
        reach = 0.7 * 75 * math.sin(math.pi * (x + 35 - (cx - 150)) / 300)  # stay inside the blade
        for sign in (-1, 1):
            draw.line([(x, cy), (x + 35, cy + sign * reach)], fill=LEAF_DARK, width=3)
    draw.line([(cx - 150, cy), (cx - 210, cy + 95)], fill=LEAF_DARK, width=6)

    # what goes in and what comes out
    arrow(draw, (560, 90), (470, 160), ARROW)
    arrow(draw, (150, 340), (230, 290), (40, 110, 200))
    arrow(draw, (470, 270), (570, 340), ARROW)
    draw.text((400, 55), "carbon dioxide in", fill=ARROW, font=font)
    draw.text((20, 350), "water in (from the roots)", fill=(40, 110, 200), font=font)
    draw.text((470, 350), "oxygen out", fill=ARROW, font=font)
    draw.text((150, 30), "sunlight", fill=(190, 120, 0), font=font)
    image.save(path, optimize=True)


if __name__ == "__main__":
    make_leaf(HERE / "leaf.png")
    print(HERE / "leaf.png")
