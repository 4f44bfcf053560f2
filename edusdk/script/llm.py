"""LLM expansion (optional): a chat model rewrites the narration and shot prompts of the template script.

Any server speaking the OpenAI chat-completions shape works (`POST {base_url}/chat/completions` with a
bearer key; OpenAI, vLLM, llama.cpp, Ollama's /v1 …). The flow, in order:

1. The template expansion runs first: it fixes the structure (shots, sections, cameras, on-screen text,
   transitions, seeds) and is the fallback whatever happens next.
2. The model is asked for `{"shots": [{"id", "narration", "prompt"}]}` — one entry per template shot, same
   ids, same order — under a JSON schema (`response_format: json_schema`, strict).
3. The reply is validated with pydantic plus the rules a template must meet (same ids, narration that fits
   the audience's longest shot). An invalid reply is retried (up to `max_attempts`, telling the model what
   was wrong); a server error (5xx, connection) is retried too; anything else falls back at once.
4. The style/cast bible and the camera are re-attached to every prompt if the model dropped them, and
   shot lengths are re-derived from the new narration.
5. Moderation (`edusdk.moderation.check_text` under the expander's policy) checks every returned text.
   Model output is accepted only when the decision is `allow`: `review` or `block` means the template
   script is used instead (`on_unsafe="fallback"`, the default) or `PolicyRefusedError` is raised
   (`on_unsafe="refuse"`). The authored template text is still moderated later, before any engine call.

Layering: script/ imports no later stage except moderation's text check; that check runs before the
engines anyway, and LLM output must not leave this module unchecked.

Example:
    >>> expander = LLMExpander(base_url="http://127.0.0.1:8000/v1", api_key="sk-…", model="gpt-4o-mini")
    >>> result = expander.expand(Outline.from_file("examples/outlines/photosynthesis.yaml"))
    >>> result.source, result.attempts, result.script.shots[0].prompt
    ('llm', 1, '…')
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edusdk._errors import PolicyRefusedError
from edusdk.models.moderation import ModerationReport
from edusdk.models.outline import Outline
from edusdk.models.script import Script, Shot
from edusdk.moderation import Policy, check_text  # the one later stage script/ may use (see the docstring)
from edusdk.script import timing
from edusdk.script.expand import expand, fit_transitions
from edusdk.script.matrix import apply_variables

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_TIMEOUT_S = 60.0
MAX_PROMPT_CHARS = 2000
SYSTEM_PROMPT = (
    "You write shot prompts and narration for short educational videos for {audience}. "
    "For every shot you are given, return the same id with: `narration`, rewritten for the audience "
    "(at most {max_words} words, language '{language}'), and `prompt`, one paragraph for a text-to-video "
    "model stating subject, action, setting, camera (shot size and movement), lighting and style, keeping "
    "the cast's fixed looks. Never ask the video model for written text, letters, captions or logos; "
    "titles and formulas are added in editing. Content must be safe for children. Reply with JSON only."
)


class LLMShot(BaseModel):
    """One shot as the model returns it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    narration: str = Field(max_length=1200)
    prompt: str = Field(min_length=10, max_length=MAX_PROMPT_CHARS)


class LLMRewrite(BaseModel):
    """The JSON document the model must return."""

    model_config = ConfigDict(extra="forbid")

    shots: list[LLMShot] = Field(min_length=1)


@dataclass
class LLMExpansion:
    """What `LLMExpander.expand` produced: the script, whether the model's text was used (`source`), how
    many requests it took, why attempts failed, and the moderation report of the model's output."""

    script: Script
    source: Literal["llm", "template"]
    attempts: int
    problems: list[str] = field(default_factory=list)
    moderation: ModerationReport | None = None


class LLMExpander:
    """Rewrites template scripts with a chat model; see the module docstring for the exact flow.

    `transport` is the httpx seam for tests (e.g. `httpx.MockTransport`); by default real HTTP is used.

    Example:
        >>> with LLMExpander(base_url=url, api_key="test", model="tiny") as expander:
        ...     expander.expand(outline).source
        'llm'
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        policy: str | Policy = "k12",
        templates_dir: Path | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        on_unsafe: Literal["fallback", "refuse"] = "fallback",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = model
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.templates_dir = templates_dir
        self.max_attempts = max_attempts
        self.on_unsafe = on_unsafe
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )

    def __enter__(self) -> LLMExpander:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def expand(self, outline: Outline, *, template: str | None = None) -> LLMExpansion:
        """The template script rewritten by the model, or the template script itself when the model fails
        or returns unsafe text (`on_unsafe="refuse"` raises PolicyRefusedError instead)."""
        outline = apply_variables(outline)
        base = expand(outline, template=template, templates_dir=self.templates_dir)
        wpm = timing.words_per_minute(outline.grade)
        max_s = timing.max_shot_seconds(outline.grade)
        max_words = int((max_s - timing.LEAD_IN_S - timing.LEAD_OUT_S) * wpm / 60)
        messages: list[dict[str, str]] = [
            {"role": "system", "content": SYSTEM_PROMPT.format(
                audience=outline.audience, max_words=max_words, language=outline.language)},
            {"role": "user", "content": _request_document(outline, base)},
        ]  # fmt: skip
        problems: list[str] = []
        for attempt in range(1, self.max_attempts + 1):
            try:
                content = self._complete(messages)
            except _Retryable as exc:
                problems.append(f"attempt {attempt}: {exc}")
                continue
            except _Fatal as exc:
                problems.append(f"attempt {attempt}: {exc}")
                return LLMExpansion(base, "template", attempt, problems)
            try:
                rewrite = _validate(content, base, max_words)
            except ValueError as exc:
                problems.append(f"attempt {attempt}: invalid reply: {exc}")
                messages += [
                    {"role": "assistant", "content": content[:4000]},
                    {"role": "user", "content": f"Your reply was invalid: {exc}. Reply again with valid JSON only."},
                ]
                continue
            report = self._moderate(rewrite)
            if report.decision != "allow":
                problems.append(f"attempt {attempt}: moderation decided {report.decision!r} on the model's text")
                if self.on_unsafe == "refuse":
                    raise PolicyRefusedError(
                        f"the LLM expansion of {outline.title!r} was refused by policy {self.policy.name!r}", report
                    )
                return LLMExpansion(base, "template", attempt, problems, report)
            return LLMExpansion(_apply(base, rewrite, outline, wpm, max_s), "llm", attempt, problems, report)
        return LLMExpansion(base, "template", self.max_attempts, problems)

    def _complete(self, messages: list[dict[str, str]]) -> str:
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": 0.4,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "lesson_shots", "strict": True, "schema": LLMRewrite.model_json_schema()},
            },
        }
        try:
            response = self._http.post("chat/completions", json=body)
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise _Fatal(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _Retryable("the response is not a chat completion") from None
        if not isinstance(content, str):
            raise _Retryable("the completion has no text content")
        return content

    def _moderate(self, rewrite: LLMRewrite) -> ModerationReport:
        findings = []
        for i, shot in enumerate(rewrite.shots):
            findings += check_text(shot.prompt, self.policy, where=f"llm.shots[{i}].prompt")
            findings += check_text(shot.narration, self.policy, where=f"llm.shots[{i}].narration")
        return ModerationReport.from_findings(findings, policy=self.policy.name, policy_version=self.policy.version)


class _Retryable(Exception):
    """A failure worth another request (server error, rate limit, dropped connection, not a completion)."""


class _Fatal(Exception):
    """A failure another identical request will not fix (4xx: bad key, unknown model)."""


def _request_document(outline: Outline, base: Script) -> str:
    doc: dict[str, Any] = {
        "lesson": {"title": outline.title, "subject": outline.subject, "objectives": outline.objectives},
        "style_and_cast": base.bible,
        "shots": [
            {"id": s.id, "section": outline.sections[s.section].title, "camera": s.camera.describe(),
             "narration": s.narration, "prompt": s.prompt}
            for s in base.shots
        ],
    }  # fmt: skip
    return json.dumps(doc, ensure_ascii=False)


def _validate(content: str, base: Script, max_words: int) -> LLMRewrite:
    """Parse and check the model's reply; raises ValueError saying what is wrong (told to the model)."""
    try:
        rewrite = LLMRewrite.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise ValueError(f"{where}: {first['msg']}") from None
    ids = [s.id for s in rewrite.shots]
    expected = [s.id for s in base.shots]
    if ids != expected:
        raise ValueError(f"shot ids must be exactly {expected} in order, got {ids}")
    for shot in rewrite.shots:
        if timing.word_count(shot.narration) > max_words:
            raise ValueError(f"shot {shot.id}: narration has more than {max_words} words")
    return rewrite


def _apply(base: Script, rewrite: LLMRewrite, outline: Outline, wpm: int, max_s: float) -> Script:
    shots: list[Shot] = []
    for old, new in zip(base.shots, rewrite.shots, strict=True):
        prompt = " ".join(new.prompt.split())
        camera = f"Camera: {old.camera.describe()}."
        if camera.lower() not in prompt.lower():
            prompt = f"{prompt} {camera}"
        if base.bible not in prompt:
            prompt = f"{prompt} {base.bible}"  # the consistent look is not the model's to drop
        duration = old.duration_s
        if outline.sections[old.section].duration_s is None:
            duration = timing.shot_duration(new.narration, wpm, max_s=max_s)
        shots.append(old.model_copy(update={"prompt": prompt, "narration": new.narration, "duration_s": duration}))
    fit_transitions(shots)
    return Script.model_validate({**base.model_dump(), "shots": [s.model_dump() for s in shots]})
