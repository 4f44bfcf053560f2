"""LLM expansion against a fake OpenAI-compatible chat server on loopback (a real HTTP server in a thread):
valid, invalid and unsafe replies; retries; the template script as the fallback; moderation of the output."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from edusdk._errors import PolicyRefusedError
from edusdk.models.outline import Outline
from edusdk.script import expand
from edusdk.script.llm import LLMExpander

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "outlines" / "photosynthesis.yaml"
Reply = tuple[int, Any]  # (status, body: a dict sent as JSON, or a string sent as is)


class FakeChatServer:
    """A tiny OpenAI-compatible `POST /v1/chat/completions`: answers from a queue, records every request."""

    def __init__(self) -> None:
        self.replies: list[Reply | Callable[[dict[str, Any]], Reply]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                reply = server.replies.pop(0) if server.replies else (500, {"error": {"message": "no reply queued"}})
                status, payload = reply(body) if callable(reply) else reply
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status if self.path == "/v1/chat/completions" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def completion(self, content: str) -> Reply:
        return 200, {"id": "chatcmpl-1", "object": "chat.completion",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                  "finish_reason": "stop"}]}  # fmt: skip


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    fake.thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


@pytest.fixture
def outline() -> Outline:
    return Outline.from_file(EXAMPLE)


def rewrite(body: dict[str, Any], narration: str = "Plants make food from light.", extra: str = "") -> str:
    """A valid model answer for the request `body`: the same ids, new narration and prompts."""
    shots = json.loads(body["messages"][1]["content"])["shots"]
    return json.dumps({"shots": [{"id": s["id"], "narration": narration,
                                  "prompt": f"A leaf character waving in a sunny garden {extra}{i}"}
                                 for i, s in enumerate(shots)]})  # fmt: skip


def expander(server: FakeChatServer, **kwargs: Any) -> LLMExpander:
    return LLMExpander(base_url=server.url, api_key="test-key", model="tiny-chat", **kwargs)


def test_a_valid_reply_rewrites_narration_and_prompts_keeping_bible_camera_and_structure(
    server: FakeChatServer, outline: Outline
) -> None:
    server.replies.append(lambda body: server.completion(rewrite(body)))
    with expander(server) as llm:
        result = llm.expand(outline)
    base = expand(outline)
    assert result.source == "llm" and result.attempts == 1 and result.moderation is not None
    request = server.requests[0]
    assert request["model"] == "tiny-chat" and request["response_format"]["type"] == "json_schema"
    assert server.headers[0]["Authorization"] == "Bearer test-key"
    script = result.script
    assert [s.id for s in script.shots] == [s.id for s in base.shots]
    for new, old in zip(script.shots, base.shots, strict=True):
        assert new.narration == "Plants make food from light."
        assert new.prompt.startswith("A leaf character waving") and base.bible in new.prompt
        assert f"Camera: {old.camera.describe()}." in new.prompt
        assert (new.camera, new.seed, new.on_screen) == (old.camera, old.seed, old.on_screen)
        assert new.duration_s < old.duration_s  # re-timed from the shorter narration


def test_invalid_replies_are_retried_with_the_problem_then_accepted(server: FakeChatServer, outline: Outline) -> None:
    server.replies += [
        server.completion("this is not JSON"),
        server.completion(json.dumps({"shots": [{"id": "s99", "narration": "x", "prompt": "a long enough prompt"}]})),
        (503, {"error": {"message": "overloaded"}}),
        lambda body: server.completion(rewrite(body)),
    ]
    with expander(server, max_attempts=4) as llm:
        result = llm.expand(outline)
    assert result.source == "llm" and result.attempts == 4
    assert len(result.problems) == 3 and "invalid reply" in result.problems[0] and "s99" in result.problems[1]
    assert "HTTP 503" in result.problems[2]
    assert "Your reply was invalid" in server.requests[1]["messages"][-1]["content"]


def test_always_invalid_falls_back_to_the_template(server: FakeChatServer, outline: Outline) -> None:
    server.replies += [server.completion('{"shots": []}')] * 2
    with expander(server, max_attempts=2) as llm:
        result = llm.expand(outline)
    assert result.source == "template" and result.attempts == 2 and len(server.requests) == 2
    assert result.script == expand(outline)


def test_a_client_error_falls_back_at_once(server: FakeChatServer, outline: Outline) -> None:
    server.replies.append((401, {"error": {"message": "bad key"}}))
    with expander(server) as llm:
        result = llm.expand(outline)
    assert result.source == "template" and len(server.requests) == 1 and "HTTP 401" in result.problems[0]


def test_unsafe_output_falls_back_or_is_refused(server: FakeChatServer, outline: Outline) -> None:
    unsafe: Callable[[dict[str, Any]], Any] = lambda body: server.completion(  # noqa: E731
        rewrite(body, narration="A gory decapitation follows.")
    )
    server.replies.append(unsafe)
    with expander(server) as llm:
        result = llm.expand(outline)
    assert result.source == "template" and result.script == expand(outline)
    assert result.moderation is not None and result.moderation.decision == "block"
    assert any(f.where.startswith("llm.shots[") for f in result.moderation.findings)
    server.replies.append(unsafe)
    with expander(server, on_unsafe="refuse") as llm, pytest.raises(PolicyRefusedError) as err:
        llm.expand(outline)
    assert err.value.report.decision == "block"


def test_an_unreachable_server_falls_back(outline: Outline) -> None:
    with LLMExpander(base_url="http://127.0.0.1:9/v1", api_key="k", model="m", max_attempts=2, timeout_s=2) as llm:
        result = llm.expand(outline)
    assert result.source == "template" and result.attempts == 2 and "Connect" in result.problems[0]
