"""`POST /xapi/statements` over real HTTP on loopback (uvicorn) and through httpx's ASGI transport."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import test_analytics_support as support
from test_analytics_support import CONFIG, watch

from edusdk.analytics import Analytics, Event, to_xapi

fastapi = pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")

from edusdk.server.xapi import create_router, router  # noqa: E402

analytics, pg_schema_engine = support.analytics, support.pg_schema_engine  # the shared fixtures
HEADERS = {"X-Experience-API-Version": "1.0.3"}


def statements(student: str = "alice") -> list[dict[str, object]]:
    return [to_xapi(Event.model_validate(e), CONFIG) for e in watch(student, f"{student}-1", 0, 5)]


@pytest.fixture
def client(analytics: Analytics) -> Iterator[httpx.Client]:
    """A real uvicorn server on a free loopback port, serving only the xAPI router bound to `analytics`."""
    app = fastapi.FastAPI()
    app.include_router(create_router(analytics))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=HEADERS, timeout=10) as http:
        yield http
    server.should_exit = True
    thread.join(10)


def test_statements_are_stored_idempotently_and_clashes_are_409(client: httpx.Client, analytics: Analytics) -> None:
    batch = statements()
    response = client.post("/xapi/statements", json=batch)
    assert response.status_code == 200 and response.json() == [s["id"] for s in batch]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert client.post("/xapi/statements", json=batch[0]).json() == [batch[0]["id"]]  # same id, same body
    assert analytics.lesson_metrics("L1").views == 1

    clash = {**batch[0], "timestamp": "2030-01-01T00:00:00Z"}
    response = client.post("/xapi/statements", json=clash)
    assert response.status_code == 409 and response.json()["conflicts"] == [batch[0]["id"]]


def test_a_partly_bad_batch_stores_the_good_and_reports_the_bad(client: httpx.Client, analytics: Analytics) -> None:
    good = statements("bob")
    bad = {**good[0], "id": str(uuid.uuid4()), "verb": {"id": "http://example.com/danced"}}
    response = client.post("/xapi/statements", json=[good[0], bad, good[1]])
    assert response.status_code == 400
    body = response.json()
    assert body["stored"] == [good[0]["id"], good[1]["id"]]
    assert body["rejected"] == [{"index": 1, "reason": "verb.id: not a supported verb: 'http://example.com/danced'"}]
    assert analytics.export("bob")["rejected"][0]["reason"].startswith("verb.id")


def test_version_header_and_body_are_checked(client: httpx.Client) -> None:
    response = client.post("/xapi/statements", json=statements(), headers={"X-Experience-API-Version": ""})
    assert response.status_code == 400 and "X-Experience-API-Version" in response.json()["error"]
    response = client.post("/xapi/statements", content=b"{oops", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    assert client.post("/xapi/statements", json=[]).status_code == 400


@pytest.mark.anyio
async def test_the_module_router_uses_the_apps_store(tmp_path: object) -> None:
    app = fastapi.FastAPI()
    app.include_router(router)
    app.state.analytics = Analytics(":memory:", config=CONFIG)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=HEADERS) as http:
        response = await http.post("/xapi/statements", json=statements())
    assert response.status_code == 200
    assert app.state.analytics.lesson_metrics("L1").views == 1
