"""Lesson templates: a sandboxed Jinja2 environment over the templates directories, the style presets
they share, and the translation of every template failure into a ScriptTemplateError naming file and line.

Templates are operator-editable data, so they are rendered in `jinja2.sandbox.SandboxedEnvironment`
(no reaching into Python internals) with `StrictUndefined` (a typo is an error, not an empty string).
Besides the context, a template can call these pure helpers:

    describe_camera(camera)                    -> "wide shot, slow pan right"
    pick_camera(cycle, n, prev=, hint=)        -> the next camera, never equal to `prev`
    fit_narration(text, wpm)                   -> narration split into parts that fit one shot each
    spread(items, groups)                      -> items dealt in order into `groups` groups
    require(condition, message)                -> fails the expansion with `message` when false
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edusdk._errors import ScriptTemplateError
from edusdk._resources import data_dir
from edusdk.models.outline import validation_problems
from edusdk.models.script import Camera
from edusdk.script.timing import fit_narration, spread

TEMPLATE_SUFFIX = ".j2"
STYLES_FILE = "_styles.yaml"
DEFAULT_STYLE = "default"  # the preset whose lighting and negative prompt a free-text style borrows
T = TypeVar("T")
LayeredYaml = list[tuple[Path, Any]]  # (file, parsed YAML), lowest priority first
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_UNDEFINED_NAME_RE = re.compile(r"^'(?P<name>[^']+)' is undefined$")
_UNDEFINED_ATTR_RE = re.compile(r"^'(?P<owner>[^']+)' has no (?:attribute|element) '?(?P<name>[^']+?)'?$")


class StylePreset(BaseModel):
    """A visual style: how it is described to the model, its lighting and what to steer away from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=1, description="appended to every prompt through the bible")
    lighting: str = Field(min_length=1)
    negative_prompt: str = Field(min_length=1)


def default_templates_dir() -> Path:
    """The shipped templates directory (checkout: ./templates; wheel: edusdk/_data/templates)."""
    return data_dir("templates")


def search_path(templates_dir: Path | None = None) -> tuple[Path, ...]:
    """Where templates are looked up, first match wins: `templates_dir` (if given), then the shipped
    templates, so an operator directory can override or add templates and still import the shared
    `_macros.j2` and `_styles.yaml`."""
    dirs: list[Path] = []
    if templates_dir is not None:
        given = Path(templates_dir).expanduser().resolve()
        if not given.is_dir():
            raise ScriptTemplateError(f"templates directory not found: {given}")
        dirs.append(given)
    try:
        shipped = default_templates_dir().resolve()
    except FileNotFoundError as exc:
        if not dirs:
            raise ScriptTemplateError(str(exc)) from None
    else:
        if shipped not in dirs:
            dirs.append(shipped)
    return tuple(dirs)


def available_templates(templates_dir: Path | None = None) -> list[str]:
    """Names of the lesson templates (files `<name>.j2` not starting with `_`), sorted."""
    names = {
        path.name.removesuffix(TEMPLATE_SUFFIX)
        for directory in search_path(templates_dir)
        for path in directory.glob(f"*{TEMPLATE_SUFFIX}")
        if not path.name.startswith("_") and _NAME_RE.match(path.name.removesuffix(TEMPLATE_SUFFIX))
    }
    return sorted(names)


def load_layered(name: str, templates_dir: Path | None, build: Callable[[LayeredYaml], T]) -> T:
    """`build` applied to every `name` file on the templates search path, parsed, lowest priority first.

    Cached per set of files and their modification times and sizes, so an operator's edit is seen at
    once; `build` must be a module-level function (it is part of the cache key).

    Example:
        >>> styles = load_layered("_styles.yaml", None, _build_styles)
    """
    files = tuple(d / name for d in search_path(templates_dir) if (d / name).is_file())
    stamps = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return cast(T, _load_layered(files, stamps, build))


@functools.lru_cache(maxsize=32)
def _load_layered(
    files: tuple[Path, ...], _stamps: tuple[tuple[int, int], ...], build: Callable[[LayeredYaml], Any]
) -> Any:
    layers: LayeredYaml = []
    for path in reversed(files):
        try:
            layers.append((path, yaml.safe_load(path.read_text(encoding="utf-8"))))
        except yaml.YAMLError as exc:
            raise ScriptTemplateError(f'"{path}": invalid YAML: {exc}') from None
    return build(layers)


def load_styles(templates_dir: Path | None = None) -> dict[str, StylePreset]:
    """The style presets: every `_styles.yaml` on the search path, earlier directories overriding
    presets of the same name. A preset's negative prompt is the file's `common_negative_prompt`
    followed by its own."""
    return dict(load_layered(STYLES_FILE, templates_dir, _build_styles))


def _build_styles(layers: LayeredYaml) -> dict[str, StylePreset]:
    styles: dict[str, StylePreset] = {}
    for path, data in layers:
        raw = data.get("styles") if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise ScriptTemplateError(f'"{path}": expected a mapping under `styles:`')
        common = str(data.get("common_negative_prompt") or "").strip()
        for name, fields in raw.items():
            try:
                preset = dict(fields or {})
                extra = str(preset.get("negative_prompt") or "").strip()
                preset["negative_prompt"] = ", ".join(p for p in (common, extra) if p)
                styles[str(name)] = StylePreset.model_validate({"name": str(name), **preset})
            except (ValidationError, TypeError, ValueError) as exc:
                detail = (
                    "; ".join(f"{p}: {m}" for p, m in validation_problems(exc))
                    if isinstance(exc, ValidationError)
                    else str(exc)
                )
                raise ScriptTemplateError(f'"{path}": style {name!r}: {detail}') from None
    if DEFAULT_STYLE not in styles:
        raise ScriptTemplateError(f"no {DEFAULT_STYLE!r} style preset in {STYLES_FILE} (looked in the templates dirs)")
    return styles


def resolve_style(name: str, styles: Mapping[str, StylePreset]) -> StylePreset:
    """The preset called `name`; any other name is taken as a free-text style description that
    borrows the default preset's lighting and negative prompt."""
    if name in styles:
        return styles[name]
    fallback = styles[DEFAULT_STYLE]
    return StylePreset(
        name=name, description=name, lighting=fallback.lighting, negative_prompt=fallback.negative_prompt
    )


def render_template(name: str, context: Mapping[str, Any], *, templates_dir: Path | None = None) -> tuple[str, Path]:
    """Render template `name` with `context`; returns the text and the template file's path.

    Every failure (unknown template, syntax error, undefined variable, sandbox refusal, an error raised
    by a helper) becomes a ScriptTemplateError naming the template file and line.
    """
    dirs = search_path(templates_dir)
    if not _NAME_RE.match(name) or name not in available_templates(templates_dir):
        raise ScriptTemplateError(
            f"unknown template {name!r}; available: {', '.join(available_templates(templates_dir)) or 'none'}",
            hint=f"templates are the .j2 files in {', '.join(map(str, dirs))}",
        )
    env = _environment(dirs)
    try:
        template = env.get_template(name + TEMPLATE_SUFFIX)
        return template.render(**context), Path(template.filename or name + TEMPLATE_SUFFIX)
    except Exception as exc:  # a template may fail in any way; each becomes one located error
        raise _template_error(exc) from None


# --- helpers a template can call ----------------------------------------------------------------


def describe_camera(camera: Mapping[str, str]) -> str:
    """'wide shot, slow pan right' for {'shot_size': 'wide', 'movement': 'pan-right'}."""
    return Camera.model_validate(dict(camera)).describe()


def pick_camera(
    cycle: Sequence[Mapping[str, str]],
    n: int,
    prev: Mapping[str, str] | None = None,
    hint: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The camera for the `n`-th shot: the cycle's entry `n` with the visual hint's camera fields (`hint`)
    laid over it, moving on through the cycle until it differs from the previous shot's camera `prev`."""
    cameras = [Camera.model_validate(dict(c)) for c in cycle]
    if len({(c.shot_size, c.movement) for c in cameras}) < 2:
        raise ValueError("the camera cycle needs at least two different cameras")
    start = n % len(cameras)
    rotation = cameras[start:] + cameras[:start]
    before = Camera.model_validate(dict(prev)) if prev else None
    # the full hint first; if that would repeat `prev`, keep the hint's shot size, then its movement
    overlays = [dict(hint), *({k: v} for k, v in hint.items())] if hint else []
    hinted = [Camera.model_validate({**c.model_dump(), **overlay}) for overlay in overlays for c in rotation]
    for camera in [*hinted, *rotation]:
        if camera != before:
            return camera.model_dump()
    raise AssertionError("unreachable: the rotation holds two different cameras")


def require(condition: object, message: str) -> str:
    """Fail the expansion with `message` (located at the template line) unless `condition` holds; renders
    as nothing. For what a template needs from its outline, e.g. two cast members for a dialogue."""
    if not condition:
        raise TemplateRequirementError(message)
    return ""


class TemplateRequirementError(ValueError):
    """A template's `require(...)` failed: the outline does not give what the template needs."""


# --- internals ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _environment(dirs: tuple[Path, ...]) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    # `tojson` of an undefined value must fail as undefined (naming it), not as "not JSON serializable".
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": _json_default}
    env.globals.update(
        describe_camera=describe_camera, pick_camera=pick_camera, fit_narration=fit_narration, spread=spread,
        require=require,
    )  # fmt: skip
    return env


def _json_default(value: object) -> object:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError here, naming the missing variable
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _template_frames(exc: BaseException) -> list[tuple[str, int]]:
    """(file, line) of each template frame in the traceback, innermost last: Jinja rewrites its
    tracebacks so that frames of compiled template code carry the template file and line."""
    return [
        (frame.filename, frame.lineno or 0)
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.endswith(TEMPLATE_SUFFIX) or frame.filename == "<template>"
    ]


def _where(exc: BaseException) -> str:
    frames = _template_frames(exc)
    if not frames:
        return "template"
    (file, line), callers = frames[-1], frames[:-1]
    where = f'"{file}", line {line}'
    for caller_file, caller_line in reversed(callers):
        if (caller_file, caller_line) != (file, line):
            where += f' (called from "{caller_file}", line {caller_line})'
            break
    return where


def _template_error(exc: Exception) -> ScriptTemplateError:
    if isinstance(exc, ScriptTemplateError):
        return exc
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return ScriptTemplateError(f'"{exc.filename or exc.name}", line {exc.lineno}: syntax error: {exc.message}')
    where = _where(exc)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return ScriptTemplateError(f"{where}: refused by the sandbox: {exc}")
    if isinstance(exc, jinja2.UndefinedError):
        message = exc.message or str(exc)
        if m := _UNDEFINED_NAME_RE.match(message):
            what = f"undefined variable {m['name']!r}"
        elif m := _UNDEFINED_ATTR_RE.match(message):
            what = f"undefined variable {m['name']!r} (no such attribute of a {m['owner']})"
        else:
            what = "undefined variable"
        return ScriptTemplateError(f"{where}: {what}: {message}", hint="check the spelling against the context")
    if isinstance(exc, jinja2.TemplateNotFound):
        return ScriptTemplateError(f"{where}: included template {exc.name!r} not found")
    if isinstance(exc, TemplateRequirementError):
        return ScriptTemplateError(f"{where}: the outline does not fit this template: {exc}")
    if isinstance(exc, ValidationError):
        detail = "; ".join(f"{p}: {m}" for p, m in validation_problems(exc))
        return ScriptTemplateError(f"{where}: invalid value: {detail}")
    return ScriptTemplateError(f"{where}: {type(exc).__name__}: {exc}")
