"""The `remote` engine against the edusdk server over real loopback HTTP, directly and through a
fault-injecting proxy (dropped connections, 500/503/429 with Retry-After, stalls, truncated downloads)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from edusdk import EduClient, Outline
from edusdk._errors import RemoteAPIError, RemoteTimeoutError, UnsupportedModeError
from edusdk._media import probe
from edusdk.engine import get_engine
from edusdk.engine.remote import AsyncRemoteEngine, RemoteEngine
from edusdk.models.engine import ShotRequest
from edusdk.models.script import OnScreen
from edusdk.server import ServerConfig, create_app
from edusdk.server.testing import serve_in_thread

KEY = "sk-tenant-a-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]
IMAGE = next((ROOT / "examples" / "outlines" / "images").glob("*.png"))


def shot(mode: str = "text", **extra: Any) -> ShotRequest:
    return ShotRequest(shot_id="s1", mode=mode, prompt="chlorophyll", width=64, height=48, fps=24, num_frames=12,  # type: ignore[arg-type]
                       seed=3, on_screen=OnScreen(title="Leaves", points=["light"]), **extra)  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("srv")
    with serve_in_thread(create_app(ServerConfig(data_dir=data, api_keys={"a": KEY}, poll_after_ms=30))) as url:
        yield url


def job_count(server: str) -> int:
    return len(httpx.get(f"{server}/v1/videos", params={"limit": 100}, headers={"Authorization": f"Bearer {KEY}"})
               .json()["data"])  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "extra"),
    [("text", {}), ("image", {"image": IMAGE}), ("still", {}), ("connect", {"image": IMAGE, "end_image": IMAGE})],
)
def test_every_storyboard_mode_round_trips(server: str, tmp_path: Path, mode: str, extra: dict[str, Any]) -> None:
    engine = get_engine("remote", base_url=f"{server}/v1", api_key=KEY)
    assert set(engine.capabilities.modes) == {"text", "image", "still", "connect"}
    fractions: list[float] = []
    clip = engine.generate(shot(mode, **extra), output=tmp_path / "s1.mp4", on_progress=fractions.append)
    info = probe(clip.path)
    assert (info.width, info.height, info.frames) == (64, 48, 12) and clip.engine == "remote"
    assert fractions[-1] == 1.0


def test_unsupported_mode_and_api_errors(server: str, tmp_path: Path) -> None:
    engine = RemoteEngine(f"{server}/v1", api_key=KEY)
    with pytest.raises(UnsupportedModeError):
        engine.generate(shot("extend", video=IMAGE), output=tmp_path / "x.mp4")
    with pytest.raises(RemoteAPIError) as caught:
        RemoteEngine(f"{server}/v1", api_key="sk-wrong-0123456789abcdef").generate(shot(), output=tmp_path / "x.mp4")
    assert caught.value.status == 401 and caught.value.request_id and not (tmp_path / "x.mp4").exists()


def test_lesson_renders_through_the_remote_engine(server: str, tmp_path: Path) -> None:
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}")
    outline = Outline.from_file(ROOT / "examples" / "outlines" / "photosynthesis.yaml")
    lesson = client.lessons.render(outline, output=tmp_path / "lesson.mp4", size=(64, 36), fps=6,
                                   engine=RemoteEngine(f"{server}/v1", api_key=KEY))  # fmt: skip
    assert probe(lesson.video).frames > 0 and len(lesson.timeline) == len(lesson.script.shots)


def test_async_engine_renders_concurrently(server: str, tmp_path: Path) -> None:
    async def go() -> list[Any]:
        async with AsyncRemoteEngine(f"{server}/v1", api_key=KEY) as engine:
            jobs = [(shot(), tmp_path / f"{i}.mp4") for i in range(3)]
            return await engine.generate_many(jobs, concurrency=3)

    clips = asyncio.run(go())
    assert [probe(c.path).frames for c in clips] == [12, 12, 12]


class FaultProxy:
    """Forwards to the real server over HTTP; `faults[(method, suffix)]` lists what to do to the next calls."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: dict[tuple[str, str], list[str]] = {}
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "DELETE"])])

    def _next(self, request: Request) -> str | None:
        for (method, suffix), plan in self.faults.items():
            if request.method == method and request.url.path.endswith(suffix) and plan:
                return plan.pop(0)
        return None

    async def handle(self, request: Request) -> Response:
        fault = self._next(request)
        if fault in ("500", "503"):
            return Response(b'{"error": {"message": "boom"}}', int(fault), headers={"retry-after-ms": "20"})
        if fault == "429":
            return Response(b"{}", 429, headers={"Retry-After": "1"})
        if fault == "stall":
            await asyncio.sleep(3)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with httpx.AsyncClient() as client:
            target = self.upstream + request.url.path
            upstream = await client.request(request.method, target, params=request.query_params,
                                            content=await request.body(), headers=headers)  # fmt: skip
        body = upstream.content
        if fault in ("drop", "truncate"):  # headers promise the whole body; half arrives, then the socket closes

            async def half() -> AsyncIterator[bytes]:
                yield body[: len(body) // 2]
                raise ConnectionResetError("fault injection: the connection drops mid-answer")

            return StreamingResponse(half(), upstream.status_code, headers={"content-length": str(len(body))})
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in ("content-length", "content-encoding",
                                                                              "transfer-encoding")}  # fmt: skip
        return Response(body, upstream.status_code, headers=out)


@pytest.fixture
def proxy(server: str) -> Iterator[tuple[FaultProxy, str]]:
    fault_proxy = FaultProxy(server)
    with serve_in_thread(fault_proxy.app) as url:  # type: ignore[arg-type]
        yield fault_proxy, url


def test_faults_are_retried_without_duplicate_jobs(server: str, proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    fault_proxy, url = proxy
    before = job_count(server)
    fault_proxy.faults = {("POST", "/videos"): ["drop", "503", "429"], ("GET", "/content"): ["truncate", "500"],
                          ("GET", "/engine"): ["500"]}  # fmt: skip
    clip = RemoteEngine(f"{url}/v1", api_key=KEY).generate(shot(), output=tmp_path / "ok.mp4")
    assert probe(clip.path).frames == 12
    assert job_count(server) == before + 1  # the dropped create was retried with its Idempotency-Key
    assert not [p for p in tmp_path.iterdir() if p.name != "ok.mp4"]  # no temporary leftovers


def test_stall_past_the_timeout_raises_and_leaves_no_file(proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    fault_proxy, url = proxy
    fault_proxy.faults = {("GET", "/engine"): [], ("POST", "/videos"): ["stall"] * 5}
    engine = RemoteEngine(f"{url}/v1", api_key=KEY, timeout=1.5)
    engine.capabilities  # noqa: B018 — fetched before the stall
    with pytest.raises(RemoteTimeoutError):
        engine.generate(shot(), output=tmp_path / "late.mp4")
    assert list(tmp_path.iterdir()) == []


def test_retries_exhausted_raise_the_api_error(proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    fault_proxy, url = proxy
    fault_proxy.faults = {("POST", "/videos"): ["500"] * 5}
    engine = RemoteEngine(f"{url}/v1", api_key=KEY, max_retries=2)
    with pytest.raises(RemoteAPIError) as caught:
        engine.generate(shot(), output=tmp_path / "x.mp4")
    assert caught.value.status == 500
