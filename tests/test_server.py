"""The engine server over real loopback HTTP: the official `openai` client, auth and tenant isolation,
limits, the error shape, pagination, idempotency and restart persistence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edusdk._media import probe
from edusdk.server import ServerConfig, create_app
from edusdk.server.store import JobStore, VideoJob
from edusdk.server.testing import serve_in_thread

KEY_A, KEY_B = "sk-tenant-a-0123456789abcdef", "sk-tenant-b-0123456789abcdef"
TINY = {"prompt": "a leaf in sunlight", "size": "64x64", "seconds": "0.5"}


def config(data_dir: Path, **extra: Any) -> ServerConfig:
    return ServerConfig(data_dir=data_dir, api_keys={"a": KEY_A, "b": KEY_B}, poll_after_ms=50, **extra)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(create_app(config(tmp_path / "srv"))) as url:
        yield url


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait(url: str, video_id: str, key: str = KEY_A, timeout: float = 30) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        video: dict[str, Any] = httpx.get(f"{url}/v1/videos/{video_id}", headers=auth(key)).json()
        if video["status"] in ("completed", "failed"):
            return video
        time.sleep(0.05)
    raise AssertionError(f"{video_id} did not finish")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openai_client_creates_polls_lists_downloads_and_deletes(server: str, tmp_path: Path) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server}/v1", api_key=KEY_A, max_retries=0)
    video = client.videos.create_and_poll(prompt="a leaf in sunlight", size="64x64", seconds="1")
    assert video.status == "completed" and video.progress == 100 and video.object == "video"
    assert video.size == "64x64" and video.seconds == "1" and video.completed_at is not None
    listed = client.videos.list(limit=10)
    assert [v.id for v in listed.data] == [video.id]
    content = client.videos.download_content(video.id)
    out = tmp_path / "dl.mp4"
    content.write_to_file(out)
    info = probe(out)
    assert (info.width, info.height, info.frames) == (64, 64, 24)
    thumb = client.videos.download_content(video.id, variant="thumbnail")
    assert thumb.content[:2] == b"\xff\xd8"  # JPEG
    deleted = client.videos.delete(video.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


def test_auth_and_tenant_isolation(server: str) -> None:
    assert httpx.get(f"{server}/v1/videos").status_code == 401
    wrong = httpx.get(f"{server}/v1/videos", headers=auth("sk-not-a-key-0123456789"))
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
    vid = httpx.post(f"{server}/v1/videos", json=TINY, headers=auth(KEY_A)).json()["id"]
    wait(server, vid)
    b = auth(KEY_B)
    assert httpx.get(f"{server}/v1/videos", headers=b).json()["data"] == []
    for response in (
        httpx.get(f"{server}/v1/videos/{vid}", headers=b),
        httpx.get(f"{server}/v1/videos/{vid}/content", headers=b),
        httpx.delete(f"{server}/v1/videos/{vid}", headers=b),
        httpx.post(f"{server}/v1/videos/{vid}/remix", json={"prompt": "x"}, headers=b),
        httpx.post(f"{server}/v1/videos", json={**TINY, "input_video_id": vid, "mode": "text"}, headers=b),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "video_not_found"
    assert httpx.get(f"{server}/v1/videos/{vid}", headers=auth(KEY_A)).status_code == 200
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"  # no key needed


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({**TINY, "size": "63x64"}, 400, "size"),
        ({**TINY, "size": "8x8"}, 400, "size"),
        ({**TINY, "size": "../../etc"}, 400, "size"),
        ({**TINY, "seconds": "0"}, 400, "seconds"),
        ({**TINY, "seconds": "9999"}, 400, "seconds"),
        ({**TINY, "prompt": "x" * 5000}, 400, "prompt"),
        ({**TINY, "prompt": ""}, 400, "prompt"),
        ({**TINY, "mode": "extend"}, 400, "mode"),
        ({**TINY, "mode": "image"}, 400, "input_reference"),
        ({**TINY, "model": "sora-2"}, 400, "model"),
        ({**TINY, "colour": "red"}, 400, "colour"),
    ],
)
def test_bad_requests_are_400_naming_the_field(server: str, body: dict[str, Any], status: int, param: str) -> None:
    response = httpx.post(f"{server}/v1/videos", json=body, headers=auth(KEY_A))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


def test_upload_limit_is_413_and_bad_ids_are_404(tmp_path: Path) -> None:
    with serve_in_thread(create_app(config(tmp_path / "srv", max_upload_bytes=1000))) as url:
        files = {"input_reference": ("big.png", b"\x89PNG" + b"0" * 5000, "image/png")}
        response = httpx.post(f"{url}/v1/videos", data=TINY, files=files, headers=auth(KEY_A))
        assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
        bad = httpx.post(f"{url}/v1/videos", data=TINY, files={"input_reference": ("x.png", b"nope", "image/png")},
                         headers=auth(KEY_A))  # fmt: skip
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "input_reference"
        for vid in ("..%2F..%2Fetc", "video_123", "video_" + "0" * 32):
            assert httpx.get(f"{url}/v1/videos/{vid}/content", headers=auth(KEY_A)).status_code == 404


def test_idempotency_key_pagination_and_remix_refusal(server: str) -> None:
    a = auth(KEY_A)
    first = httpx.post(f"{server}/v1/videos", json=TINY, headers={**a, "Idempotency-Key": "k1"}).json()
    again = httpx.post(f"{server}/v1/videos", json=TINY, headers={**a, "Idempotency-Key": "k1"}).json()
    assert again["id"] == first["id"]
    reused = httpx.post(f"{server}/v1/videos", json={**TINY, "prompt": "other"}, headers={**a, "Idempotency-Key": "k1"})
    assert reused.status_code == 409
    ids = [first["id"]] + [httpx.post(f"{server}/v1/videos", json=TINY, headers=a).json()["id"] for _ in range(4)]
    seen, after = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2, "order": "asc", **({"after": after} if after else {})}
        page = httpx.get(f"{server}/v1/videos", params=params, headers=a).json()
        seen += [v["id"] for v in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == ids
    desc = httpx.get(f"{server}/v1/videos", params={"limit": 100}, headers=a).json()
    assert [v["id"] for v in desc["data"]] == ids[::-1]
    wait(server, ids[-1])
    remix = httpx.post(f"{server}/v1/videos/{ids[0]}/remix", json={"prompt": "in autumn"}, headers=a)
    assert remix.status_code == 400 and remix.json()["error"]["code"] == "unsupported_mode"


def test_progress_is_reported_from_the_engine(server: str) -> None:
    vid = httpx.post(f"{server}/v1/videos", json={**TINY, "size": "256x256", "seconds": "4"},
                     headers=auth(KEY_A)).json()["id"]  # fmt: skip
    seen = set()
    while (video := httpx.get(f"{server}/v1/videos/{vid}", headers=auth(KEY_A))).json()["status"] != "completed":
        seen.add(video.json()["progress"])
        if video.json()["status"] in ("queued", "in_progress"):
            assert video.headers["openai-poll-after-ms"] == "50"
        time.sleep(0.02)
    assert any(0 < p < 100 for p in seen), seen


def test_restart_keeps_finished_videos_and_fails_interrupted_ones(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    with serve_in_thread(create_app(config(data))) as url:
        vid = httpx.post(f"{url}/v1/videos", json=TINY, headers=auth(KEY_A)).json()["id"]
        wait(url, vid)
    store = JobStore(data)  # simulate a crash mid-render: a job left in_progress on disk
    running = store.get(vid)
    assert running is not None
    crashed = VideoJob.model_validate({**running.model_dump(), "id": "video_" + "a" * 32, "status": "in_progress",
                                       "idempotency_key": None})  # fmt: skip
    store.insert(crashed)
    with serve_in_thread(create_app(config(data))) as url:
        video = httpx.get(f"{url}/v1/videos/{vid}", headers=auth(KEY_A)).json()
        assert video["status"] == "completed"
        assert httpx.get(f"{url}/v1/videos/{vid}/content", headers=auth(KEY_A)).status_code == 200
        failed = httpx.get(f"{url}/v1/videos/{crashed.id}", headers=auth(KEY_A)).json()
        assert failed["status"] == "failed" and failed["error"]["code"] == "server_restarted"


def test_openapi_document_lists_the_endpoints(server: str) -> None:
    doc = httpx.get(f"{server}/openapi.json").json()
    for path in ("/v1/videos", "/v1/videos/{video_id}", "/v1/videos/{video_id}/content",
                 "/v1/videos/{video_id}/remix", "/v1/engine", "/healthz"):  # fmt: skip
        assert path in doc["paths"]
    assert "multipart/form-data" in doc["paths"]["/v1/videos"]["post"]["requestBody"]["content"]
    assert "/xapi/statements" in doc["paths"]
    assert httpx.post(f"{server}/xapi/statements", json={}).status_code == 401  # same keys as the videos
