"""The engine server with the diffusers engine (a tiny random-weight LTX model, CPU, offline), over real
loopback HTTP: text, then remix (video → video) and extend, end to end through the server and RemoteEngine."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing below may touch the network

from edusdk._media import probe
from edusdk.engine.remote import RemoteEngine
from edusdk.engine.tiny_models import write_tiny_model
from edusdk.models.engine import ShotRequest
from edusdk.server import ServerConfig, create_app
from edusdk.server.testing import serve_in_thread

pytest.importorskip("diffusers")
KEY = "sk-diffusers-tenant-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from edusdk.engine.diffusers_engine import DiffusersEngine

    root = tmp_path_factory.mktemp("diffusers-srv")
    model = write_tiny_model(root / "ltx", family="ltx")
    engine = DiffusersEngine.from_pretrained(model, steps=2, max_frames=17, cache_dir=root / "cache")
    config = ServerConfig(data_dir=root / "data", api_keys={"t": KEY}, poll_after_ms=50)
    with serve_in_thread(create_app(config, engine=engine)) as url:
        yield url


def wait(url: str, video_id: str, timeout: float = 120) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        video: dict[str, Any] = httpx.get(f"{url}/v1/videos/{video_id}", headers=AUTH).json()
        if video["status"] in ("completed", "failed"):
            return video
        time.sleep(0.05)
    raise AssertionError(f"{video_id} did not finish")


@pytest.mark.slow  # ~15 s on 2 CPU cores: four tiny LTX renders
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_text_then_remix_and_extend_over_http(server: str, tmp_path: Path) -> None:
    engine_info = httpx.get(f"{server}/v1/engine", headers=AUTH).json()
    assert {"text", "video", "extend"} <= set(engine_info["capabilities"]["modes"])
    body = {"prompt": "a green leaf in the sun", "size": "64x64", "seconds": "0.5", "seed": 7}
    first = wait(server, httpx.post(f"{server}/v1/videos", json=body, headers=AUTH).json()["id"])
    assert first["status"] == "completed", first

    remix = httpx.post(f"{server}/v1/videos/{first['id']}/remix", json={"prompt": "the leaf in autumn"}, headers=AUTH)
    assert remix.status_code == 200, remix.text
    remixed = wait(server, remix.json()["id"])
    assert remixed["status"] == "completed" and remixed["remixed_from_video_id"] == first["id"], remixed
    out = tmp_path / "remix.mp4"
    out.write_bytes(httpx.get(f"{server}/v1/videos/{remixed['id']}/content", headers=AUTH).content)
    assert (probe(out).width, probe(out).height) == (64, 64)

    # extend by id (JSON, the server reads the source video) …
    by_id = {**body, "mode": "extend", "input_video_id": first["id"], "prompt": "the leaf grows"}
    extended = wait(server, httpx.post(f"{server}/v1/videos", json=by_id, headers=AUTH).json()["id"])
    assert extended["status"] == "completed", extended

    # … and by upload, through the remote engine (multipart input_video), with per-shot progress.
    fractions: list[float] = []
    request = ShotRequest(shot_id="ext", mode="extend", prompt="the leaf grows", width=64, height=64, fps=24,
                          num_frames=12, seed=3, video=out, extend_direction="backward")  # fmt: skip
    with RemoteEngine(f"{server}/v1", api_key=KEY, poll_interval=0.05) as remote:
        assert "extend" in remote.capabilities.modes
        clip = remote.generate(request, output=tmp_path / "ext.mp4", on_progress=fractions.append)
    info = probe(clip.path)
    assert (info.width, info.height) == (64, 64) and info.frames > 0 and fractions[-1] == 1.0
