"""The engine server's settings and API keys (a keys file and/or the EDUSDK_API_KEYS variable).

Keys file format: one key per line, `tenant-name:key` or a bare `key` (its tenant is then named after a
hash of the key); blank lines and `#` comments are ignored. EDUSDK_API_KEYS holds the same entries,
separated by commas. Every job belongs to the tenant of the key that created it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edusdk._errors import BadInputError

MIN_KEY_LENGTH = 16  # short keys are guessable; refuse them at start-up rather than serve them
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# Request limits: a request past one of these is refused before any work is done.
MAX_PROMPT_CHARS = 4000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 60.0
MAX_QUEUED_JOBS = 1000
DEFAULT_SECONDS = "4"
DEFAULT_SIZE = "720x1280"  # the OpenAI Videos API's default


@dataclass
class ServerConfig:
    """Everything `create_app` needs. `api_keys` maps tenant name → key; empty means no auth (loopback only)."""

    engine: str = "storyboard"
    data_dir: Path = Path("edusdk-server")
    api_keys: dict[str, str] = field(default_factory=dict)
    engine_options: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 1  # renders at once: one per GPU
    max_queued: int = MAX_QUEUED_JOBS
    max_prompt_chars: int = MAX_PROMPT_CHARS
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_seconds: float = MAX_SECONDS
    poll_after_ms: int = 500  # the `openai-poll-after-ms` hint sent with unfinished jobs


def _tenant_for(entry: str, where: str) -> tuple[str, str]:
    name, sep, key = entry.partition(":")
    if not sep:
        key, name = entry, "key-" + hashlib.sha256(entry.encode()).hexdigest()[:12]
    name, key = name.strip(), key.strip()
    if not _TENANT.match(name):
        raise BadInputError(f"{where}: tenant name {name!r} must be 1–64 letters, digits, '_', '.', '-'")
    if len(key) < MIN_KEY_LENGTH or any(c.isspace() for c in key):
        raise BadInputError(f"{where}: the key of tenant {name!r} must be at least {MIN_KEY_LENGTH} characters, "
                            "without spaces")  # fmt: skip
    return name, key


def load_api_keys(path: str | Path | None = None, *, env: str | None = None) -> dict[str, str]:
    """Tenant name → key, from a keys file and/or `env` (default: $EDUSDK_API_KEYS).

    Example:
        >>> load_api_keys("engine/api-keys.example.txt")
        {'school-a': 'sk-school-a-0123456789abcdef', ...}
    """
    keys: dict[str, str] = {}
    entries: list[tuple[str, str]] = []
    if path is not None:
        file = Path(path)
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BadInputError(f"cannot read the API keys file {file}: {exc.strerror or exc}") from None
        entries += [(line.strip(), f"{file}:{n}") for n, line in enumerate(lines, 1)]
    raw = os.environ.get("EDUSDK_API_KEYS", "") if env is None else env
    entries += [(part.strip(), "EDUSDK_API_KEYS") for part in raw.split(",")]
    for entry, where in entries:
        if not entry or entry.startswith("#"):
            continue
        name, key = _tenant_for(entry, where)
        if name in keys and keys[name] != key:
            raise BadInputError(f"{where}: tenant {name!r} is given two different keys")
        if key in keys.values() and keys.get(name) != key:
            raise BadInputError(f"{where}: the same key is given to two tenants")
        keys[name] = key
    return keys
