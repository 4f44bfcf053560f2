"""The FastAPI app: the OpenAI Videos API routes over a JobStore and a JobRunner.

POST   /v1/videos                  create (multipart or JSON; `Idempotency-Key` honoured per tenant)
GET    /v1/videos                  list your videos (cursor: `after`, `limit`, `order`)
GET    /v1/videos/{id}             retrieve (`openai-poll-after-ms` while unfinished)
GET    /v1/videos/{id}/content     download (`variant=video|thumbnail`)
DELETE /v1/videos/{id}             delete
POST   /v1/videos/{id}/remix       video → video with a new prompt (needs the engine's `video` mode)
GET    /v1/engine                  edusdk: the served engine's capabilities and the server's limits
GET    /healthz                    liveness and queue depth (no key needed)
POST   /xapi/statements            xAPI statements for analytics (edusdk.server.xapi), same API keys
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from hashlib import sha256
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from edusdk._version import __version__
from edusdk.engine import VideoEngine, get_engine
from edusdk.server.config import ServerConfig
from edusdk.server.errors import APIError, install_error_handlers, not_found
from edusdk.server.params import FILE_FIELDS, VideoCreateParams, check_create, read_create
from edusdk.server.runner import JobRunner
from edusdk.server.store import INPUTS_DIR, THUMBNAIL_FILE, VIDEO_FILE, JobStore, VideoJob, new_video_id, request_hash
from edusdk.server.xapi import router as xapi_router

ANONYMOUS = "anonymous"
_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": VideoCreateParams.model_json_schema()},
            "multipart/form-data": {"schema": {"type": "object", "required": ["prompt"], "properties": {
                **{k: {"type": "string"} for k in VideoCreateParams.model_fields if k != "input_reference"},
                **{k: {"type": "string", "format": "binary"} for k in FILE_FIELDS},
            }}},
        },
    }
}  # fmt: skip
_FILE_NAMES = {"image": "image.png", "end_image": "end_image.png", "video": "video.mp4"}


class RemixParams(BaseModel):
    prompt: str = Field(min_length=1)


class Tenants:
    """Bearer-key authentication: constant-time comparison of digests against every configured key."""

    def __init__(self, keys: dict[str, str]) -> None:
        self._digests = [(name, sha256(key.encode()).digest()) for name, key in keys.items()]

    def __call__(self, request: Request) -> str:
        if not self._digests:
            return ANONYMOUS
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise APIError(401, "missing API key: send `Authorization: Bearer <key>`", code="missing_api_key",
                           headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        given = sha256(token.strip().encode()).digest()
        found = None
        for name, digest in self._digests:  # no early exit: the time taken says nothing about which key matched
            if hmac.compare_digest(given, digest):
                found = name
        if found is None:
            raise APIError(401, "invalid API key", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
        return found


def current_tenant(request: Request) -> str:
    """The tenant of the request's API key (401 without a valid one)."""
    tenants: Tenants = request.app.state.tenants
    return tenants(request)


Tenant = Annotated[str, Depends(current_tenant)]


def create_app(config: ServerConfig, *, engine: VideoEngine | None = None) -> FastAPI:
    """The engine server app for `config` (pass `engine` to serve an engine object instead of a name).

    Example:
        >>> app = create_app(ServerConfig(engine="storyboard", data_dir=Path("srv"), api_keys={"a": "sk-" + "0" * 20}))
        >>> uvicorn.run(app, host="127.0.0.1", port=8700)
    """
    video_engine = engine or get_engine(config.engine, **config.engine_options)
    caps = video_engine.capabilities
    model = str(getattr(video_engine, "model", "") or getattr(video_engine, "model_name", "") or video_engine.name)
    store = JobStore(config.data_dir)
    runner = JobRunner(video_engine, store, concurrency=config.concurrency)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        yield
        await runner.stop()

    app = FastAPI(title="edusdk engine server", version=__version__, lifespan=lifespan,
                  description="The OpenAI Videos API shape over an edusdk engine.")  # fmt: skip
    app.state.store, app.state.runner = store, runner
    install_error_handlers(app)
    app.state.tenants = Tenants(config.api_keys)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["x-request-id"] = "req_" + secrets.token_hex(12)
        return response

    def owned(video_id: str, tenant: str) -> VideoJob:
        job = store.get(video_id, tenant)
        if job is None:
            raise not_found(video_id)
        return job

    def enqueue(job: VideoJob, files: dict[str, bytes]) -> VideoJob:
        if runner.pending >= config.max_queued:
            raise APIError(
                429, "the render queue is full; retry later", code="queue_full", headers={"Retry-After": "5"}
            )
        inputs = store.directory(job.id) / INPUTS_DIR
        if files:
            inputs.mkdir(parents=True, exist_ok=True)
        for field, data in files.items():
            (inputs / _FILE_NAMES[field]).write_bytes(data)
        job.inputs = {field: _FILE_NAMES[field] for field in files}
        store.insert(job)
        runner.submit(job)
        return job

    @app.post("/v1/videos", openapi_extra=_CREATE_BODY, summary="Create a video")
    async def create_video(request: Request, tenant: Tenant) -> dict[str, Any]:
        fields, uploads = await read_create(request, config)
        checked = await asyncio.to_thread(check_create, fields, uploads, config=config, caps=caps, model=model)
        params = checked.params
        if params.input_video_id:
            source = owned(params.input_video_id, tenant)
            if source.status != "completed":
                raise APIError(409, f"video {source.id!r} is not completed", code="video_not_ready",
                               param="input_video_id")  # fmt: skip
            checked.files["video"] = (store.directory(source.id) / VIDEO_FILE).read_bytes()
        digest = request_hash({**params.model_dump(exclude={"input_reference"}), "files": sorted(uploads)})
        key = request.headers.get("idempotency-key", "").strip()[:200] or None
        if key is not None:
            existing = store.by_idempotency_key(tenant, key)
            if existing is not None:
                if existing.request_hash != digest:
                    raise APIError(409, "this Idempotency-Key was used with a different request",
                                   code="idempotency_key_reused")  # fmt: skip
                return existing.public()
        job = VideoJob(id=new_video_id(), owner=tenant, model=model, prompt=params.prompt,
                       size=f"{checked.width}x{checked.height}", seconds=checked.seconds, mode=checked.mode,
                       fps=checked.fps, num_frames=checked.num_frames, seed=params.seed,
                       negative_prompt=params.negative_prompt, on_screen=params.on_screen, strength=params.strength,
                       extend_direction=params.extend_direction, idempotency_key=key, request_hash=digest)  # fmt: skip
        return enqueue(job, checked.files).public()

    @app.get("/v1/videos", summary="List videos")
    async def list_videos(
        tenant: Tenant,
        after: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> dict[str, Any]:
        jobs, has_more = store.list(tenant, after=after, limit=limit, order=order)
        data = [j.public() for j in jobs]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": has_more}  # fmt: skip

    @app.get("/v1/videos/{video_id}", summary="Retrieve a video")
    async def retrieve_video(video_id: str, tenant: Tenant, response: Response) -> dict[str, Any]:
        job = owned(video_id, tenant)
        if job.status in ("queued", "in_progress"):
            response.headers["openai-poll-after-ms"] = str(config.poll_after_ms)
        return job.public()

    @app.get("/v1/videos/{video_id}/content", summary="Download a video or its thumbnail",
             response_class=FileResponse)  # fmt: skip
    async def video_content(video_id: str, tenant: Tenant,
                            variant: Literal["video", "thumbnail"] = "video") -> FileResponse:  # fmt: skip
        job = owned(video_id, tenant)
        if job.status != "completed":
            raise APIError(409, f"video {video_id!r} is {job.status}, not completed", code="video_not_ready")
        path = store.directory(job.id) / (VIDEO_FILE if variant == "video" else THUMBNAIL_FILE)
        if not path.is_file():
            raise APIError(404, f"the {variant} of {video_id!r} is missing", code="content_not_found", param="variant")
        media = "video/mp4" if variant == "video" else "image/jpeg"
        return FileResponse(path, media_type=media, filename=f"{job.id}{Path(path).suffix}")

    @app.delete("/v1/videos/{video_id}", summary="Delete a video")
    async def delete_video(video_id: str, tenant: Tenant) -> dict[str, Any]:
        job = owned(video_id, tenant)
        await asyncio.to_thread(store.delete, job.id)
        return {"id": job.id, "object": "video.deleted", "deleted": True}

    @app.post("/v1/videos/{video_id}/remix", summary="Remix a completed video with a new prompt")
    async def remix_video(video_id: str, body: RemixParams, tenant: Tenant) -> dict[str, Any]:
        source = owned(video_id, tenant)
        if "video" not in caps.modes:
            raise APIError(400, f"engine {caps.name!r} does not support mode 'video' (remix); it supports: "
                           f"{', '.join(caps.modes)}", code="unsupported_mode", param="mode")  # fmt: skip
        if len(body.prompt) > config.max_prompt_chars:
            raise APIError(400, f"prompt: longer than {config.max_prompt_chars} characters",
                           code="string_above_max_length", param="prompt")  # fmt: skip
        if source.status != "completed":
            raise APIError(409, f"video {video_id!r} is {source.status}, not completed", code="video_not_ready")
        data = (store.directory(source.id) / VIDEO_FILE).read_bytes()
        job = source.model_copy(update={
            "id": new_video_id(), "prompt": body.prompt, "status": "queued", "progress": 0, "completed_at": None,
            "error": None, "mode": "video", "remixed_from_video_id": source.id, "inputs": {}, "idempotency_key": None,
        })  # fmt: skip
        job.created_at = int(time.time())
        return enqueue(job, {"video": data}).public()

    @app.get("/v1/engine", summary="edusdk: the served engine's capabilities and limits")
    async def engine_info(tenant: Tenant) -> dict[str, Any]:
        return {"object": "engine", "model": model, "capabilities": caps.model_dump(mode="json"),
                "limits": {"max_prompt_chars": config.max_prompt_chars, "max_upload_bytes": config.max_upload_bytes,
                           "max_seconds": config.max_seconds, "concurrency": runner.concurrency}}  # fmt: skip

    @app.get("/healthz", summary="Liveness and queue depth")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "engine": video_engine.name, "model": model, "queued": runner.queue.qsize(),
                "running": runner.running}  # fmt: skip

    # The xAPI statements endpoint (edusdk.server.xapi), behind the same API keys as the videos.
    app.include_router(xapi_router, dependencies=[Depends(current_tenant)])
    return app


__all__ = ["create_app"]
