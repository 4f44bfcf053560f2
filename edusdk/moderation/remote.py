"""An optional remote moderation provider speaking the OpenAI `/v1/moderations` shape, used in addition to the local
checks. Texts are PII-redacted before they are sent: nothing personal leaves the process.

Configure with `RemoteModeration(base_url=..., api_key=...)` or EDUSDK_MODERATION_URL / EDUSDK_MODERATION_API_KEY
(/ EDUSDK_MODERATION_MODEL). A category the provider scores at or above the policy's threshold for it (else
`DEFAULT_THRESHOLD`), or flags, becomes a finding with `check="remote"`.

Example:
    >>> remote = RemoteModeration(base_url="https://api.openai.com/v1", api_key="sk-…")
    >>> remote.check_texts([("text", "how do I hurt my brother")], Policy.load("k12"))[0][0].category
    'violence'
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from edusdk._errors import BadInputError, EduSDKError
from edusdk.models.moderation import Finding
from edusdk.moderation.pii import find_pii, redact
from edusdk.moderation.policy import CATEGORIES, Policy

DEFAULT_THRESHOLD = 0.5
DEFAULT_MODEL = "omni-moderation-latest"
TIMEOUT_S = 10.0


class RemoteModeration:
    """A `/v1/moderations` client (the transport is injectable: tests pass `httpx.MockTransport`)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        model: str = DEFAULT_MODEL,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise BadInputError(f"moderation base_url {base_url!r} must start with http:// or https://")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=TIMEOUT_S, transport=transport
        )

    @classmethod
    def from_env(cls) -> RemoteModeration | None:
        """From EDUSDK_MODERATION_URL (and _API_KEY, _MODEL); None when unset."""
        url = os.environ.get("EDUSDK_MODERATION_URL")
        if not url:
            return None
        return cls(base_url=url, api_key=os.environ.get("EDUSDK_MODERATION_API_KEY"),
                   model=os.environ.get("EDUSDK_MODERATION_MODEL", DEFAULT_MODEL))  # fmt: skip

    def check_texts(self, texts: list[tuple[str, str]], policy: Policy) -> list[list[Finding]]:
        """Findings per `(where, text)`, from one request carrying every (redacted) text."""
        if not texts:
            return []
        inputs = [redact(text, find_pii(text)) for _where, text in texts]
        try:
            response = self._http.post("/moderations", json={"model": self.model, "input": inputs})
            response.raise_for_status()
            results: list[dict[str, Any]] = response.json()["results"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise EduSDKError(f"remote moderation at {self._http.base_url} failed: {exc}") from None
        if len(results) != len(texts):
            raise EduSDKError(f"remote moderation returned {len(results)} results for {len(texts)} inputs")
        out: list[list[Finding]] = []
        for (where, _text), sent, result in zip(texts, inputs, results, strict=True):
            scores: dict[str, float] = result.get("category_scores") or {}
            flagged: dict[str, bool] = result.get("categories") or {}
            findings = []
            for category in sorted(set(scores) | {c for c, f in flagged.items() if f}):
                if category not in CATEGORIES or policy.action_for(category) == "allow":
                    continue
                score = float(scores.get(category, 1.0 if flagged.get(category) else 0.0))
                threshold = policy.threshold_for(category) or DEFAULT_THRESHOLD
                if score >= threshold or (flagged.get(category) and category not in scores):
                    action = policy.action_for(category)
                    findings.append(Finding(check="remote", category=category, action=action, score=round(score, 4),
                                            where=where, span=sent, rule=self.model))  # fmt: skip
            out.append(findings)
        return out

    def close(self) -> None:
        self._http.close()
