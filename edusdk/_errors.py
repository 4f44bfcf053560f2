"""One exception tree for the whole SDK; the CLI maps each branch to an exit code.

EduSDKError
├── BadInputError (exit 2)          the caller's input is wrong: file, field, template, path
│   ├── OutlineError                 an outline file that does not load or validate
│   ├── ScriptTemplateError          a template that fails (undefined variable, sandbox violation)
│   └── OutputPathError              an output location that cannot be written
├── PolicyRefusedError (exit 1)      moderation blocked the content
└── EngineError (exit 1)             an engine failed to produce a clip
    ├── UnsupportedModeError         the engine cannot do the requested mode (exit 2: a bad request)
    ├── MediaError                   ffmpeg failed or produced something unexpected
    └── RemoteError                  a remote engine call failed (carries `request_id`)
        ├── RemoteAPIError           an error status or a failed job: `status`, `code`, `message`
        ├── RemoteConnectionError    unreachable or dropped, after every retry
        └── RemoteTimeoutError       the overall timeout passed
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edusdk.models.moderation import ModerationReport


class EduSDKError(Exception):
    """Base of every error edusdk raises on purpose."""

    exit_code: int = 1
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint


class BadInputError(EduSDKError):
    """Input from the caller is invalid; nothing was written."""

    exit_code = 2


class OutlineError(BadInputError):
    """An outline failed to load; `problems` lists every `(field path, message)`."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s) in the outline"]
        lines += [f"  {path or '<root>'}: {msg}" for path, msg in self.problems]
        super().__init__("\n".join(lines))


class ScriptTemplateError(BadInputError):
    """A lesson template failed to render (undefined variable, syntax or sandbox error)."""


class OutputPathError(BadInputError):
    """The output path cannot be written."""


class PolicyRefusedError(EduSDKError):
    """Moderation blocked the content; `report` explains every finding."""

    exit_code = 1

    def __init__(self, message: str, report: ModerationReport) -> None:
        super().__init__(message)
        self.report = report


class EngineError(EduSDKError):
    """An engine failed to produce a clip."""

    exit_code = 1


class UnsupportedModeError(EngineError):
    """The engine cannot do the requested generation mode."""

    exit_code = 2

    def __init__(self, engine: str, mode: str, supported: Sequence[str]) -> None:
        super().__init__(f"engine {engine!r} does not support mode {mode!r}; it supports: {', '.join(supported)}")
        self.engine = engine
        self.mode = mode


class MediaError(EngineError):
    """ffmpeg failed, or its output was not what was asked for."""


class RemoteError(EngineError):
    """A remote engine call failed; `request_id` is the server's `x-request-id` when one was received."""

    def __init__(self, message: str, *, request_id: str | None = None, hint: str | None = None) -> None:
        super().__init__(message if request_id is None else f"{message} (request id {request_id})", hint=hint)
        self.request_id = request_id


class RemoteAPIError(RemoteError):
    """The remote engine answered with an error status (or a job that failed): `status`, `code`, `message`."""

    def __init__(self, status: int, code: str | None, message: str, *, request_id: str | None = None) -> None:
        super().__init__(f"remote engine error {status} ({code or 'no code'}): {message}", request_id=request_id)
        self.status = status
        self.code = code
        self.detail = message


class RemoteConnectionError(RemoteError):
    """The remote engine could not be reached, or dropped the connection, after every retry."""


class RemoteTimeoutError(RemoteError):
    """The remote render did not finish within the client's overall timeout."""
