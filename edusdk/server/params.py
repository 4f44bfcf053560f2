"""Reading and checking `POST /v1/videos` (multipart form or JSON) into the fields of a job.

OpenAI fields: `model`, `prompt`, `size` ("WxH": any size within the engine's bounds), `seconds`,
`input_reference` (an image: a multipart file, or a `data:` URL in JSON). edusdk's extra fields:
`mode` (text | image | video | extend | loop | connect | still), `negative_prompt`, `seed`, `fps`,
`on_screen` (title/points/formulas, a JSON object), `strength`, `extend_direction`, `end_reference`
(an image: the last frame, connect mode), `input_video` (a video file) or `input_video_id` (one of your
completed videos) for video/extend modes.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from edusdk._errors import EduSDKError
from edusdk._media import probe
from edusdk.models.engine import EngineCapabilities
from edusdk.models.script import OnScreen
from edusdk.server.config import DEFAULT_SECONDS, DEFAULT_SIZE, ServerConfig
from edusdk.server.errors import APIError

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,(.*)$", re.S)
_MAX_IMAGE_PIXELS = 40_000_000
FILE_FIELDS = ("input_reference", "end_reference", "input_video")
VIDEO_MODES = ("video", "extend")  # modes that start from an input video


class VideoCreateParams(BaseModel):
    """The body of `POST /v1/videos` (files travel as multipart parts of the same names)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, description="what the video shows")
    model: str | None = None
    size: str = Field(default=DEFAULT_SIZE, description="WxH, any size within the engine's bounds")
    seconds: str | float = Field(default=DEFAULT_SECONDS, description="clip length in seconds")
    mode: Literal["text", "image", "video", "extend", "loop", "connect", "still"] | None = None
    negative_prompt: str = ""
    seed: int = Field(default=0, ge=0, lt=2**32)
    fps: int | None = Field(default=None, ge=1, le=120)
    on_screen: dict[str, Any] = Field(default_factory=dict, description="edusdk: title, points, formulas")
    strength: float = Field(default=0.6, ge=0, le=1)
    extend_direction: Literal["forward", "backward"] = "forward"
    input_video_id: str | None = None
    input_reference: str | None = Field(default=None, description="JSON only: an image as a data: URL")


class CreateRequest(BaseModel):
    """A checked create request: the job's fields and its uploads (re-encoded, ready to store)."""

    params: VideoCreateParams
    width: int
    height: int
    fps: int
    num_frames: int
    seconds: str
    mode: str
    files: dict[str, bytes] = Field(default_factory=dict, description="ShotRequest field → file bytes")


def _too_large(config: ServerConfig) -> APIError:
    return APIError(413, f"upload larger than {config.max_upload_bytes} bytes", code="request_too_large")


async def _read_json(request: Request, config: ServerConfig) -> dict[str, Any]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > config.max_upload_bytes * 2:  # base64 images are 4/3 of their size, plus the fields
            raise _too_large(config)
    try:
        data = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise APIError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, "the body must be a JSON object", code="invalid_json")
    return data


def _image(data: bytes, field: str) -> bytes:
    """The upload re-encoded as PNG: only pixels reach the engine, never the client's file or name."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > _MAX_IMAGE_PIXELS:
                raise APIError(400, f"{field}: image larger than {_MAX_IMAGE_PIXELS} pixels", code="invalid_image",
                               param=field)  # fmt: skip
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise APIError(400, f"{field}: not a readable image", code="invalid_image", param=field) from None


def _video(data: bytes, field: str) -> bytes:
    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        Path(tmp.name).write_bytes(data)
        try:
            probe(tmp.name)
        except EduSDKError:
            raise APIError(400, f"{field}: not a readable video", code="invalid_video", param=field) from None
    return data


async def read_create(request: Request, config: ServerConfig) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The raw fields and raw uploads of a create request, multipart or JSON; 413 past the upload limit."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > config.max_upload_bytes * 2:
        raise _too_large(config)
    content_type = request.headers.get("content-type", "")
    uploads: dict[str, bytes] = {}
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        try:
            form = await request.form(max_files=len(FILE_FIELDS), max_fields=32)
        except Exception as exc:  # starlette raises several kinds for a malformed form
            raise APIError(400, f"malformed form: {exc}", code="invalid_form") from None
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in FILE_FIELDS:
                    raise APIError(400, f"unexpected file field {key!r}", code="unknown_parameter", param=key)
                if (value.size or 0) > config.max_upload_bytes:
                    raise _too_large(config)
                uploads[key] = await value.read(config.max_upload_bytes + 1)
                if len(uploads[key]) > config.max_upload_bytes:
                    raise _too_large(config)
            elif key == "on_screen":
                try:
                    fields[key] = json.loads(value)
                except json.JSONDecodeError:
                    raise APIError(400, "on_screen: not a JSON object", code="invalid_value", param=key) from None
            else:
                fields[key] = value
        return fields, uploads
    data = await _read_json(request, config)
    ref = data.get("input_reference")
    if isinstance(ref, str):
        match = _DATA_URL.match(ref)
        if match is None:
            raise APIError(400, "input_reference: in JSON, give a data:image/…;base64 URL", code="invalid_value",
                           param="input_reference")  # fmt: skip
        try:
            uploads["input_reference"] = base64.b64decode(match.group(1), validate=True)
        except (binascii.Error, ValueError):
            raise APIError(
                400, "input_reference: invalid base64", code="invalid_value", param="input_reference"
            ) from None
        if len(uploads["input_reference"]) > config.max_upload_bytes:
            raise _too_large(config)
        data = {k: v for k, v in data.items() if k != "input_reference"}
    return data, uploads


def check_create(fields: dict[str, Any], uploads: dict[str, bytes], *, config: ServerConfig,
                 caps: EngineCapabilities, model: str) -> CreateRequest:  # fmt: skip
    """Validate the fields against the limits and the engine's capabilities (400 naming the field)."""
    try:
        params = VideoCreateParams.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise APIError(400, f"{param}: {first['msg']}", code="invalid_value", param=param) from None
    if len(params.prompt) > config.max_prompt_chars:
        raise APIError(400, f"prompt: longer than {config.max_prompt_chars} characters", code="string_above_max_length",
                       param="prompt")  # fmt: skip
    if params.model not in (None, "", model):
        raise APIError(400, f"model {params.model!r} is not served here; this server serves {model!r}",
                       code="model_not_found", param="model")  # fmt: skip
    match = _SIZE.match(params.size)
    if match is None:
        raise APIError(400, f"size {params.size!r} must be WxH, e.g. 1280x720", code="invalid_value", param="size")
    width, height = int(match.group(1)), int(match.group(2))
    if not (caps.min_size <= min(width, height) and max(width, height) <= caps.max_size) or (
        width % caps.size_multiple or height % caps.size_multiple
    ):
        raise APIError(400, f"size {params.size} is outside {caps.min_size}–{caps.max_size} or not a multiple of "
                       f"{caps.size_multiple}", code="invalid_value", param="size")  # fmt: skip
    try:
        seconds = float(params.seconds)
    except ValueError:
        raise APIError(
            400, f"seconds {params.seconds!r} is not a number", code="invalid_value", param="seconds"
        ) from None
    fps = params.fps or caps.fps[0]
    num_frames = max(1, round(seconds * fps))
    if not 0 < seconds <= config.max_seconds or num_frames > caps.max_frames:
        raise APIError(400, f"seconds {params.seconds} must be > 0 and at most {config.max_seconds} "
                       f"({caps.max_frames} frames)", code="invalid_value", param="seconds")  # fmt: skip
    try:
        OnScreen.model_validate({k: v for k, v in params.on_screen.items() if k != "image"})
    except ValidationError as exc:
        raise APIError(400, f"on_screen: {exc.errors()[0]['msg']}", code="invalid_value", param="on_screen") from None
    mode = params.mode or ("image" if "input_reference" in uploads else "text")
    if mode not in caps.modes:
        raise APIError(400, f"engine {caps.name!r} does not support mode {mode!r}; it supports: "
                       f"{', '.join(caps.modes)}", code="unsupported_mode", param="mode")  # fmt: skip
    files: dict[str, bytes] = {}
    if "input_reference" in uploads:
        files["image"] = _image(uploads["input_reference"], "input_reference")
    if "end_reference" in uploads:
        files["end_image"] = _image(uploads["end_reference"], "end_reference")
    if "input_video" in uploads:
        files["video"] = _video(uploads["input_video"], "input_video")
    needs = {"image": ("image", "input_reference"), "connect": ("end_image", "end_reference")}
    if mode in needs and needs[mode][0] not in files:
        raise APIError(400, f"mode {mode!r} needs {needs[mode][1]}", code="missing_required_parameter",
                       param=needs[mode][1])  # fmt: skip
    if mode in VIDEO_MODES and "video" not in files and not params.input_video_id:
        raise APIError(400, f"mode {mode!r} needs input_video or input_video_id", code="missing_required_parameter",
                       param="input_video")  # fmt: skip
    return CreateRequest(params=params, width=width, height=height, fps=fps, num_frames=num_frames,
                         seconds=f"{seconds:g}", mode=mode, files=files)  # fmt: skip
