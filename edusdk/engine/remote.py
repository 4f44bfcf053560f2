"""The `remote` engine: any server speaking the OpenAI Videos API shape, edusdk's own engine server included.

`RemoteEngine` (sync, a VideoEngine) and `AsyncRemoteEngine` (async, with bounded concurrent renders)
are thin twins over `_remote_base.RemoteBase`, which holds every decision that is not I/O. A render is
create (with an Idempotency-Key, so a retried create never makes two jobs) → poll (honouring
`openai-poll-after-ms`) → download (streamed to a temporary file, checked, then renamed). Connection
errors, 408/409/429 and 5xx are retried with exponential backoff and jitter, honouring `Retry-After`.

Example:
    >>> engine = RemoteEngine("http://127.0.0.1:8700/v1", api_key="sk-…")
    >>> clip = engine.generate(request, output=Path("shot-01.mp4"))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from edusdk._errors import RemoteAPIError, RemoteConnectionError, RemoteError, RemoteTimeoutError
from edusdk._fs import atomic_output
from edusdk.engine._remote_base import (
    DEFAULT_CAPABILITIES,
    DEFAULT_REQUEST_TIMEOUT,
    DOWNLOAD_CHUNK,
    RemoteBase,
)
from edusdk.engine.base import ProgressCallback, require_mode
from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest

_UNFINISHED = ("queued", "in_progress")


class _Retryable(Exception):
    """A failed attempt worth repeating; `headers` may carry Retry-After."""

    def __init__(self, message: str, headers: httpx.Headers | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.headers, self.request_id = headers, request_id


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def timeout(self) -> httpx.Timeout:
        left = max(0.01, self.left())
        return httpx.Timeout(min(DEFAULT_REQUEST_TIMEOUT.read or left, left), connect=min(5.0, left))

    def check(self, wait: float, what: str, request_id: str | None = None) -> None:
        if wait >= self.left():
            raise RemoteTimeoutError(f"{what}: no result within the overall timeout of {self.seconds:g} s",
                                     request_id=request_id)  # fmt: skip


def _classify(response: httpx.Response, base: RemoteBase) -> None:
    """Raise _Retryable or RemoteAPIError for an error status (the body must have been read)."""
    if response.status_code < 400:
        return
    if base.should_retry(response.status_code):
        raise _Retryable(f"HTTP {response.status_code}", response.headers, base.request_id(response))
    raise base.api_error(response)


class RemoteEngine(RemoteBase):
    """A VideoEngine that renders on a remote server. `transport` is the seam for tests (httpx transports)."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str | None = None, *,
                 transport: httpx.BaseTransport | None = None, **options: Any) -> None:  # fmt: skip
        super().__init__(base_url, api_key, model, **options)
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=DEFAULT_REQUEST_TIMEOUT,
                                  headers=self.default_headers())  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def capabilities(self) -> EngineCapabilities:
        """The server's engine capabilities (GET /engine), or DEFAULT_CAPABILITIES for other servers."""
        if self._capabilities is None:
            try:
                data = self._send("GET", "/engine", _Deadline(60.0)).json()
                self._capabilities = self.capabilities_from(data)
            except RemoteAPIError as exc:
                if exc.status != 404:
                    raise
                self._capabilities = DEFAULT_CAPABILITIES
        return self._capabilities

    def _send(self, method: str, path: str, deadline: _Deadline, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, timeout=deadline.timeout(), **kwargs)
                _classify(response, self)
                return response
            except (_Retryable, httpx.TransportError) as exc:
                headers = exc.headers if isinstance(exc, _Retryable) else None
                request_id = exc.request_id if isinstance(exc, _Retryable) else None
                if attempt >= self.max_retries:
                    raise _final_error(exc, method, path, request_id) from None
                delay = self.retry_delay(attempt, headers)
                deadline.check(delay, f"{method} {path}", request_id)
                time.sleep(delay)
                attempt += 1

    def generate(self, request: ShotRequest, *, output: Path, on_progress: ProgressCallback | None = None) -> Clip:
        """Render `request` remotely and download it to `output` (whole or not at all)."""
        require_mode(self, request)
        deadline = _Deadline(self.timeout)
        call = self.build_create(request)
        response = self._send("POST", "/videos", deadline, json=call.json, data=call.data, files=call.files,
                              headers=call.headers)  # fmt: skip
        video = self.video_object(response)
        while video["status"] in _UNFINISHED:
            if on_progress is not None:
                on_progress(min(0.99, float(video.get("progress") or 0) / 100))
            wait = self.poll_delay(response)
            deadline.check(wait, f"video {video['id']}", self.request_id(response))
            time.sleep(wait)
            response = self._send("GET", f"/videos/{video['id']}", deadline)
            video = self.video_object(response)
        if video["status"] != "completed":
            raise self.failed_error(video, response)
        clip = self._download(video, request, Path(output), deadline)
        if on_progress is not None:
            on_progress(1.0)
        return clip

    def _download(self, video: dict[str, Any], request: ShotRequest, output: Path, deadline: _Deadline) -> Clip:
        path, attempt = f"/videos/{video['id']}/content", 0
        while True:
            try:
                with atomic_output(output) as tmp:
                    with self._http.stream("GET", path, params={"variant": "video"}, timeout=deadline.timeout()) as r:
                        if r.status_code >= 400:
                            r.read()
                            _classify(r, self)
                        expected = int(r.headers["content-length"]) if "content-length" in r.headers else None
                        with tmp.open("wb") as file:
                            for chunk in r.iter_bytes(DOWNLOAD_CHUNK):
                                file.write(chunk)
                    if expected is not None and tmp.stat().st_size != expected:
                        raise _Retryable(f"download truncated ({tmp.stat().st_size} of {expected} bytes)")
                    clip = self.verify_download(tmp, expected, request)
                return clip.model_copy(update={"path": output.absolute(), "model": self.model or video.get("model")})
            except (_Retryable, httpx.TransportError) as exc:
                if attempt >= self.max_retries:
                    raise _final_error(exc, "GET", path, getattr(exc, "request_id", None)) from None
                delay = self.retry_delay(attempt, getattr(exc, "headers", None))
                deadline.check(delay, f"download of {video['id']}")
                time.sleep(delay)
                attempt += 1


def _final_error(exc: Exception, method: str, path: str, request_id: str | None) -> RemoteError:
    if isinstance(exc, _Retryable):
        status = int(str(exc).split()[1]) if str(exc).startswith("HTTP ") else 502
        return RemoteAPIError(status, "retries_exhausted", f"{method} {path}: {exc} after every retry",
                              request_id=request_id)  # fmt: skip
    if isinstance(exc, httpx.TimeoutException):
        return RemoteTimeoutError(f"{method} {path}: timed out after every retry ({exc!r})", request_id=request_id)
    return RemoteConnectionError(f"{method} {path}: {exc!r} after every retry", request_id=request_id)


class AsyncRemoteEngine(RemoteBase):
    """The async twin of RemoteEngine; `generate_many` renders several shots at once (bounded).

    Example:
        >>> async with AsyncRemoteEngine("http://127.0.0.1:8700/v1", api_key="sk-…") as engine:
        ...     clips = await engine.generate_many([(req1, Path("a.mp4")), (req2, Path("b.mp4"))], concurrency=4)
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> None:  # fmt: skip
        super().__init__(base_url, api_key, model, **options)
        self._http = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=DEFAULT_REQUEST_TIMEOUT,
                                       headers=self.default_headers())  # fmt: skip

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRemoteEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get_capabilities(self) -> EngineCapabilities:
        if self._capabilities is None:
            try:
                response = await self._send("GET", "/engine", _Deadline(60.0))
                self._capabilities = self.capabilities_from(response.json())
            except RemoteAPIError as exc:
                if exc.status != 404:
                    raise
                self._capabilities = DEFAULT_CAPABILITIES
        return self._capabilities

    async def _send(self, method: str, path: str, deadline: _Deadline, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, timeout=deadline.timeout(), **kwargs)
                _classify(response, self)
                return response
            except (_Retryable, httpx.TransportError) as exc:
                if attempt >= self.max_retries:
                    raise _final_error(exc, method, path, getattr(exc, "request_id", None)) from None
                delay = self.retry_delay(attempt, getattr(exc, "headers", None))
                deadline.check(delay, f"{method} {path}", getattr(exc, "request_id", None))
                await asyncio.sleep(delay)
                attempt += 1

    async def generate(self, request: ShotRequest, *, output: Path,
                       on_progress: ProgressCallback | None = None) -> Clip:  # fmt: skip
        """Render `request` remotely and download it to `output` (whole or not at all)."""
        caps = await self.get_capabilities()
        if request.mode not in caps.modes:
            from edusdk._errors import UnsupportedModeError

            raise UnsupportedModeError(self.name, request.mode, caps.modes)
        deadline = _Deadline(self.timeout)
        call = self.build_create(request)
        response = await self._send("POST", "/videos", deadline, json=call.json, data=call.data, files=call.files,
                                    headers=call.headers)  # fmt: skip
        video = self.video_object(response)
        while video["status"] in _UNFINISHED:
            if on_progress is not None:
                on_progress(min(0.99, float(video.get("progress") or 0) / 100))
            wait = self.poll_delay(response)
            deadline.check(wait, f"video {video['id']}", self.request_id(response))
            await asyncio.sleep(wait)
            response = await self._send("GET", f"/videos/{video['id']}", deadline)
            video = self.video_object(response)
        if video["status"] != "completed":
            raise self.failed_error(video, response)
        clip = await self._download(video, request, Path(output), deadline)
        if on_progress is not None:
            on_progress(1.0)
        return clip

    async def _download(self, video: dict[str, Any], request: ShotRequest, output: Path, deadline: _Deadline) -> Clip:
        path, attempt = f"/videos/{video['id']}/content", 0
        while True:
            try:
                with atomic_output(output) as tmp:
                    async with self._http.stream("GET", path, params={"variant": "video"},
                                                 timeout=deadline.timeout()) as r:  # fmt: skip
                        if r.status_code >= 400:
                            await r.aread()
                            _classify(r, self)
                        expected = int(r.headers["content-length"]) if "content-length" in r.headers else None
                        with tmp.open("wb") as file:
                            async for chunk in r.aiter_bytes(DOWNLOAD_CHUNK):
                                file.write(chunk)
                    if expected is not None and tmp.stat().st_size != expected:
                        raise _Retryable(f"download truncated ({tmp.stat().st_size} of {expected} bytes)")
                    clip = await asyncio.to_thread(self.verify_download, tmp, expected, request)
                return clip.model_copy(update={"path": output.absolute(), "model": self.model or video.get("model")})
            except (_Retryable, httpx.TransportError) as exc:
                if attempt >= self.max_retries:
                    raise _final_error(exc, "GET", path, getattr(exc, "request_id", None)) from None
                delay = self.retry_delay(attempt, getattr(exc, "headers", None))
                deadline.check(delay, f"download of {video['id']}")
                await asyncio.sleep(delay)
                attempt += 1

    async def generate_many(self, jobs: Sequence[tuple[ShotRequest, Path]], *, concurrency: int = 4,
                            on_progress: Any = None) -> list[Clip]:  # fmt: skip
        """Render several shots at once, at most `concurrency` in flight; `on_progress(index, fraction)` per shot."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(i: int, request: ShotRequest, output: Path) -> Clip:
            async with gate:
                report = (lambda f: on_progress(i, f)) if on_progress is not None else None
                return await self.generate(request, output=output, on_progress=report)

        return list(await asyncio.gather(*(one(i, r, o) for i, (r, o) in enumerate(jobs))))


__all__ = ["AsyncRemoteEngine", "RemoteEngine"]
