"""Reading the images engines are given (a shot's reference image, first/last frames), one way for all."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from edusdk._errors import BadInputError


def open_rgb(path: Path, what: str) -> Image.Image:
    """The image at `path`, upright (EXIF orientation applied) and RGB.

    Raises:
        BadInputError: `cannot read {what} {path}: …` when it is missing or not an image.
    """
    try:
        with Image.open(path) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError) as exc:
        raise BadInputError(f"cannot read {what} {path}: {exc}") from None
