"""`POST /xapi/statements`: xAPI Video Profile statements (or the SDK's compact events) into the analytics store.

The body is one statement or an array; the `X-Experience-API-Version` header (1.0.x) is required.

| outcome | status | body |
|---|---|---|
| all stored (or already stored with the same body: idempotent) | 200 | `["<statement id>", …]` in request order |
| some malformed (the good ones are stored) | 400 | `{"error", "stored": [ids], "rejected": [{"index", "reason"}]}` |
| an id already stored with a different body | 409 | `{"error", "conflicts": [ids], "stored": [ids]}` |

The store is `app.state.analytics` (an `Analytics`) if the app sets one, else `Analytics()` on `$EDUSDK_DB`,
created on first use. Mount it with `app.include_router(router)`; `create_router(analytics)` binds one store.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from edusdk.analytics.events import XAPI_VERSION, EventError, EventRow, normalize
from edusdk.analytics.ingest import Ingestor, Rejection, scrub
from edusdk.analytics.service import Analytics

VERSION_HEADER = "X-Experience-API-Version"
_HEADERS = {VERSION_HEADER: XAPI_VERSION}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=_HEADERS)


def store_statements(analytics: Analytics, payload: Any) -> JSONResponse:
    """Validate and store `payload` (a statement or a list); the response the endpoint sends (table above)."""
    items = payload if isinstance(payload, list) else [payload]
    config = analytics.config
    rows: list[EventRow] = []
    rejected: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            rows.append(normalize(item, config))
        except EventError as exc:
            data, student = scrub(item, config)
            sid = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
            rejections.append(Rejection(f"http[{index}]", str(exc), data, sid, student))
            rejected.append({"index": index, "reason": str(exc)})
    outcomes = Ingestor(analytics.engine, config).write(rows, rejections)
    ids = [row.statement_id for row, outcome in zip(rows, outcomes, strict=True) if outcome != "conflict"]
    conflicts = [row.statement_id for row, outcome in zip(rows, outcomes, strict=True) if outcome == "conflict"]
    if conflicts:
        return _error(409, "statement id(s) already stored with a different body", conflicts=conflicts, stored=ids)
    if rejected:
        return _error(400, f"{len(rejected)} of {len(items)} statement(s) rejected", stored=ids, rejected=rejected)
    return JSONResponse(ids, headers=_HEADERS)


def create_router(analytics: Analytics | None = None) -> APIRouter:
    """The xAPI router, bound to `analytics` (else the app's `state.analytics`, else `Analytics()`)."""
    api = APIRouter(tags=["xAPI"])

    @api.post("/xapi/statements", summary="Store xAPI statements (one or an array)")
    async def post_statements(request: Request) -> JSONResponse:
        version = request.headers.get(VERSION_HEADER, "")
        if not version.startswith("1.0"):
            return _error(400, f"the {VERSION_HEADER} header must be 1.0.x, got {version or 'nothing'!r}")
        try:
            payload = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"the body is not JSON: {exc}")
        if not isinstance(payload, dict | list) or payload == []:
            return _error(400, "the body must be a statement object or a non-empty array of statements")
        store = analytics or getattr(request.app.state, "analytics", None)
        if store is None:
            store = request.app.state.analytics = Analytics()
        # Database work off the event loop.
        return await run_in_threadpool(store_statements, store, payload)

    return api


router = create_router()

__all__ = ["VERSION_HEADER", "create_router", "router", "store_statements"]
