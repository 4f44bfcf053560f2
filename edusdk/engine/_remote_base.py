"""What the sync and async remote clients share: everything but the I/O (as openai-python's _base_client).

Request building, retry decisions, `Retry-After` parsing, poll intervals, error mapping and download
checks live here; `remote.py` holds the two thin clients that send the requests.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edusdk._errors import BadInputError, MediaError, RemoteAPIError, RemoteError
from edusdk._media import probe
from edusdk._version import __version__
from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest

# Every retry and timeout number in one place.
DEFAULT_BASE_URL = "http://127.0.0.1:8700/v1"
DEFAULT_TIMEOUT_S = 1800.0  # overall: create + render + download of one clip
DEFAULT_REQUEST_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 4
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0
MAX_RETRY_AFTER_S = 60.0  # a longer server hint is not honoured: we back off normally instead
DEFAULT_POLL_INTERVAL_S = 1.0
MIN_POLL_INTERVAL_S = 0.05
MAX_POLL_INTERVAL_S = 10.0
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
DOWNLOAD_CHUNK = 1 << 16
DEFAULT_MAX_CONCURRENCY = 4  # shots of one lesson in flight at once (`lessons.render` reads `max_concurrency`)

# What a server that is not edusdk's (no GET /engine) is assumed to do.
DEFAULT_CAPABILITIES = EngineCapabilities(name="remote", modes=("text", "image"), min_size=16, max_size=4096,
                                          size_multiple=2, max_frames=3600, fps=(24, 25, 30))  # fmt: skip


@dataclass(frozen=True)
class CreateCall:
    """One create request, built once: a retry sends the same body and the same Idempotency-Key."""

    json: dict[str, Any] | None
    data: dict[str, str] | None
    files: dict[str, tuple[str, bytes, str]] | None
    headers: dict[str, str]


class RemoteBase:
    """Settings and non-I/O logic of the remote engine clients."""

    name = "remote"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        poll_interval: float = DEFAULT_POLL_INTERVAL_S,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self.base_url = (base_url or os.environ.get("EDUSDK_REMOTE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise BadInputError(f"base_url {self.base_url!r} must start with http:// or https://")
        self.api_key = api_key if api_key is not None else os.environ.get("EDUSDK_API_KEY")
        self.model = model
        if timeout <= 0 or max_retries < 0 or poll_interval <= 0:
            raise BadInputError("timeout and poll_interval must be > 0, max_retries >= 0")
        self.timeout, self.max_retries, self.poll_interval = timeout, max_retries, poll_interval
        if max_concurrency < 1:
            raise BadInputError(f"max_concurrency {max_concurrency} must be >= 1")
        # The server renders; we only wait. `lessons.render` sends this many shots at once (one client,
        # httpx.Client is thread-safe); local engines have no such attribute and stay sequential.
        self.max_concurrency = max_concurrency
        self._capabilities: EngineCapabilities | None = None

    # --- requests -----------------------------------------------------------------------------------

    def default_headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"edusdk/{__version__}", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def build_create(self, request: ShotRequest) -> CreateCall:
        """The create request for `request`: JSON, or multipart when it carries files."""
        fields: dict[str, Any] = {
            "prompt": request.prompt, "size": f"{request.width}x{request.height}",
            "seconds": f"{request.num_frames / request.fps:.6g}", "fps": request.fps, "mode": request.mode,
            "seed": request.seed, "negative_prompt": request.negative_prompt,
            "on_screen": request.on_screen.model_dump(mode="json", exclude={"image"}),
            "strength": request.strength, "extend_direction": request.extend_direction,
        }  # fmt: skip
        if self.model:
            fields["model"] = self.model
        headers = {"Idempotency-Key": f"edusdk-{uuid.uuid4().hex}"}
        files: dict[str, tuple[str, bytes, str]] = {}
        for field, path, kind in (("input_reference", request.image, "image/png"),
                                  ("end_reference", request.end_image, "image/png"),
                                  ("input_video", request.video, "video/mp4")):  # fmt: skip
            if path is not None:
                try:
                    files[field] = (Path(path).name, Path(path).read_bytes(), kind)
                except OSError as exc:
                    raise BadInputError(f"shot {request.shot_id!r}: cannot read {field} {path}: {exc}") from None
        if not files:
            return CreateCall(json=fields, data=None, files=None, headers=headers)
        data = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in fields.items()}
        return CreateCall(json=None, data=data, files=files, headers=headers)

    # --- retries ------------------------------------------------------------------------------------

    @staticmethod
    def should_retry(status: int) -> bool:
        return status in RETRY_STATUSES or status >= 500

    @staticmethod
    def parse_retry_after(headers: httpx.Headers) -> float | None:
        """Seconds to wait from `retry-after-ms`, or `Retry-After` (seconds or an HTTP date); None if absent."""
        ms = headers.get("retry-after-ms")
        if ms is not None:
            try:
                return max(0.0, float(ms) / 1000)
            except ValueError:
                pass
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
            return max(0.0, float(parsed.timestamp()) - time.time()) if parsed else None

    def retry_delay(self, attempt: int, headers: httpx.Headers | None = None) -> float:
        """Seconds before retry `attempt` (0-based): the server's hint if sane, else backoff with jitter."""
        hint = self.parse_retry_after(headers) if headers is not None else None
        if hint is not None and hint <= MAX_RETRY_AFTER_S:
            return hint
        backoff = min(MAX_RETRY_DELAY_S, INITIAL_RETRY_DELAY_S * 2.0**attempt)
        return backoff * (1 - 0.25 * random.random())

    def poll_delay(self, response: httpx.Response) -> float:
        hint = response.headers.get("openai-poll-after-ms")
        try:
            seconds = float(hint) / 1000 if hint is not None else self.poll_interval
        except ValueError:
            seconds = self.poll_interval
        return min(MAX_POLL_INTERVAL_S, max(MIN_POLL_INTERVAL_S, seconds))

    # --- answers ------------------------------------------------------------------------------------

    @staticmethod
    def request_id(response: httpx.Response | None) -> str | None:
        return response.headers.get("x-request-id") if response is not None else None

    def api_error(self, response: httpx.Response) -> RemoteAPIError:
        code, message = None, response.reason_phrase or "error"
        try:
            error = response.json().get("error") or {}
            code, message = error.get("code") or error.get("type"), error.get("message") or message
        except (ValueError, AttributeError):
            pass
        return RemoteAPIError(response.status_code, code, str(message), request_id=self.request_id(response))

    @staticmethod
    def video_object(response: httpx.Response) -> dict[str, Any]:
        try:
            video = response.json()
            if isinstance(video, dict) and isinstance(video.get("id"), str) and "status" in video:
                return video
        except ValueError:
            pass
        raise RemoteError(f"the server answered {response.request.url.path} with something that is not a video "
                          "object", request_id=RemoteBase.request_id(response))  # fmt: skip

    @staticmethod
    def failed_error(video: dict[str, Any], response: httpx.Response) -> RemoteAPIError:
        error = video.get("error") or {}
        reason = error.get("message") or "no reason given"
        return RemoteAPIError(200, error.get("code") or "failed", f"video {video['id']} failed: {reason}",
                              request_id=RemoteBase.request_id(response))  # fmt: skip

    @staticmethod
    def capabilities_from(data: dict[str, Any]) -> EngineCapabilities:
        caps = data.get("capabilities") or {}
        return EngineCapabilities.model_validate({**caps, "name": "remote"})

    def verify_download(self, tmp: Path, expected_bytes: int | None, request: ShotRequest) -> Clip:
        """Check the downloaded file (size; decodes as video of the asked size) and describe it as a Clip."""
        size = tmp.stat().st_size
        if expected_bytes is not None and size != expected_bytes:
            raise MediaError(f"shot {request.shot_id!r}: download truncated ({size} of {expected_bytes} bytes)")
        info = probe(tmp)
        if (info.width, info.height) != (request.width, request.height):
            raise MediaError(f"shot {request.shot_id!r}: the server sent {info.width}x{info.height}, "
                             f"expected {request.width}x{request.height}")  # fmt: skip
        return Clip(shot_id=request.shot_id, path=tmp, width=info.width, height=info.height, fps=request.fps,
                    num_frames=info.frames, engine=self.name, model=self.model or "", seed=request.seed,
                    metadata={"mode": request.mode, "remote": self.base_url})  # fmt: skip
