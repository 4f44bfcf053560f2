"""Fuzz the engine server from its own OpenAPI document (schemathesis) over real loopback HTTP: whatever
a generated request holds, the server answers it without a 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402 — after the importorskip above
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from edusdk.engine.storyboard import CAPABILITIES, StoryboardEngine  # noqa: E402
from edusdk.models.engine import EngineCapabilities  # noqa: E402
from edusdk.server import ServerConfig, create_app  # noqa: E402
from edusdk.server.testing import serve_in_thread  # noqa: E402

KEY = "sk-fuzz-tenant-0123456789abcdef"
VALID = {"prompt": "a leaf", "size": "64x48", "seconds": "0.5"}
MAX_EXAMPLES = 20  # per operation: ~10 operations, a few seconds in all


class SmallStoryboardEngine(StoryboardEngine):
    """Test double: the real storyboard engine, with bounds small enough that fuzzed jobs render in moments."""

    @property
    def capabilities(self) -> EngineCapabilities:
        return CAPABILITIES.model_copy(update={"max_size": 96, "max_frames": 12})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = ServerConfig(data_dir=tmp_path_factory.mktemp("srv"), api_keys={"fuzz": KEY}, max_seconds=1.0,
                          max_queued=8, max_upload_bytes=200_000)  # fmt: skip
    with serve_in_thread(create_app(config, engine=SmallStoryboardEngine())) as url:
        yield url


def operations(server: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def seed_video(server: str) -> str:
    """A completed video of the fuzz tenant, so id-taking operations also reach past the 404."""
    headers = {"Authorization": f"Bearer {KEY}"}
    video = httpx.post(f"{server}/v1/videos", json=VALID, headers=headers).json()
    for _ in range(600):
        if httpx.get(f"{server}/v1/videos/{video['id']}", headers=headers).json()["status"] == "completed":
            return str(video["id"])
        time.sleep(0.05)
    raise AssertionError("the seed video did not complete")


def deepen(operation: Any, video_id: str) -> Any:
    """Positive and negative (schema-violating) cases; half get a real video id and a valid create body as a base."""

    def real(case: Any) -> Any:
        if "video_id" in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, "video_id": video_id}
        if operation.label == "POST /v1/videos" and isinstance(case.body, dict):
            case.body = {**VALID, **{k: v for k, v in case.body.items() if k not in ("size", "seconds")}}
        return case

    modes = st.sampled_from(list(GenerationMode))
    cases = modes.flatmap(operation.as_strategy)
    return st.tuples(cases, st.booleans()).map(lambda pair: real(pair[0]) if pair[1] else pair[0])


# schemathesis' own pytest plugin (`from_fixture`) breaks on pytest 9's nodes, so the operations are driven
# with hypothesis directly: one property per operation, the same `not_a_server_error` check.
def test_no_server_error_on_any_generated_request(server: str) -> None:
    ops = operations(server)
    assert {op.label for op in ops} >= {"POST /v1/videos", "GET /v1/videos", "POST /v1/videos/{video_id}/remix"}
    video_id = seed_video(server)
    for operation in sorted(ops, key=lambda op: op.method == "delete"):  # deletes last: they remove the seed

        @given(case=deepen(operation, video_id))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def property(case: Any) -> None:
            response = case.call(base_url=server, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])

        property()
