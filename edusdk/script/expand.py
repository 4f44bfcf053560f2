"""Outline → Script: build the template context, render the lesson template, validate what it produced
into shots, then time them, seed them and give them ids.

The template decides the shot structure and the prompt wording (see templates/explainer.j2); Python
decides what must hold for every template: valid shots, the bible in every prompt, no camera repeated
on consecutive shots, durations from narration, transitions that fit, deterministic seeds.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edusdk._errors import OutlineError, ScriptTemplateError
from edusdk.models.outline import AspectRatio, Outline, Section, validation_problems
from edusdk.models.script import (
    TRANSITION_NAMES,
    Camera,
    CameraMove,
    OnScreen,
    Script,
    Shot,
    ShotMode,
    Transition,
)
from edusdk.script import readability, timing
from edusdk.script.matrix import apply_variables
from edusdk.script.templates import load_styles, render_template, resolve_style


class RenderedShot(BaseModel):
    """One shot as a template writes it; ids, durations and seeds are added by `expand`."""

    model_config = ConfigDict(extra="forbid")

    section: int = Field(ge=0)
    prompt: str = Field(min_length=1)
    negative_prompt: str = ""
    camera: Camera
    transition: Transition = Field(default_factory=Transition)
    narration: str = ""
    on_screen: OnScreen = Field(default_factory=OnScreen)
    mode: ShotMode = "text"


class RenderedScript(BaseModel):
    """What a lesson template renders to (YAML): the bible and the shots."""

    model_config = ConfigDict(extra="forbid")

    bible: str = Field(min_length=1)
    shots: list[RenderedShot] = Field(min_length=1)
    aspect: AspectRatio | None = Field(default=None, description="the template's own aspect (e.g. a 9:16 format)")
    max_duration_s: float | None = Field(default=None, gt=0, description="the template's limit on the lesson length")


def expand(outline: Outline, *, template: str | None = None, templates_dir: Path | None = None) -> Script:
    """Expand `outline` into a Script with the lesson template `template` (default: `outline.template`).

    `templates_dir` is searched before the shipped templates (override or add templates there).
    Raises ScriptTemplateError for an unknown or failing template, OutlineError for an unknown
    transition name in the outline.

    Example:
        >>> script = expand(Outline.from_file("examples/outlines/photosynthesis.yaml"))
        >>> script.shots[0].id, script.shots[0].camera.describe()
        ('s01', 'wide shot, slow pan right')
    """
    outline = apply_variables(outline)  # `${name}` placeholders; a matrix outline expands as its first variant
    name = template or outline.template
    _check_transitions(outline)
    styles = load_styles(templates_dir)
    style = resolve_style(outline.style, styles)
    wpm = timing.words_per_minute(outline.grade)
    max_s = timing.max_shot_seconds(outline.grade)
    context = _context(outline, style_fields=style.model_dump(), wpm=wpm, template=name)
    text, path = render_template(name, context, templates_dir=templates_dir)
    rendered = _parse_rendered(text, path)
    _check_rendered(rendered, outline, path)

    durations = _durations(rendered.shots, outline, wpm, max_s)
    ids = _shot_ids(rendered.shots)
    outline_hash = outline.content_hash()
    shots: list[Shot] = []
    for index, (raw, shot_id, duration) in enumerate(zip(rendered.shots, ids, durations, strict=True)):
        shots.append(
            Shot(
                id=shot_id,
                section=raw.section,
                prompt=raw.prompt,
                negative_prompt=raw.negative_prompt,
                duration_s=duration,
                camera=raw.camera,
                transition=raw.transition,
                narration=raw.narration,
                on_screen=raw.on_screen,
                seed=shot_seed(outline_hash, index),
                mode=raw.mode,
                variables=dict(outline.variables),
            )
        )
    fit_transitions(shots)
    _check_length(shots, rendered, outline, path, wpm)
    try:
        return Script(
            title=outline.title,
            subject=outline.subject,
            audience=outline.audience,
            language=outline.language,
            aspect=rendered.aspect or outline.aspect,
            style=outline.style,
            template=name,
            outline_hash=outline_hash,
            bible=rendered.bible,
            shots=shots,
            variables=dict(outline.variables),
        )
    except ValidationError as exc:
        detail = "; ".join(f"{p}: {m}" for p, m in validation_problems(exc))
        raise ScriptTemplateError(f'template "{path}" produced an invalid script: {detail}') from None


def shot_seed(outline_hash: str, index: int) -> int:
    """A deterministic 32-bit seed for shot `index` of the outline with `outline_hash`."""
    return int.from_bytes(hashlib.sha256(f"{outline_hash}:{index}".encode()).digest()[:4], "big")


def camera_hint(visual_hint: str) -> dict[str, str] | None:
    """The camera a visual hint asks for ('close-up of …', 'wide shot', 'slow zoom in'), as the fields
    it names, or None."""
    text = visual_hint.lower()
    hint: dict[str, str] = {}
    for pattern, size in _SIZE_PHRASES:
        if re.search(pattern, text):
            hint["shot_size"] = size
            break
    for pattern, move in _MOVE_PHRASES:
        if re.search(pattern, text):
            hint["movement"] = move
            break
    return hint or None


# Explicit camera phrases only: "a wide river" or "the Moon's orbit" must not move the camera.
_SIZE_PHRASES: list[tuple[str, str]] = [
    (r"\bextreme close[- ]?ups?\b", "extreme-close-up"),
    (r"\bextreme wide (?:shot|view|angle)\b", "extreme-wide"),
    (r"\bclose[- ]?ups?\b", "close-up"),
    (r"\bwide (?:shot|view|angle)\b", "wide"),
    (r"\bmedium (?:shot|view)\b", "medium"),
]
_MOVE_PHRASES: list[tuple[str, str]] = [
    *[(rf"\b{move.replace('-', ' ')}s?\b", move) for move in get_args(CameraMove) if "-" in move],
    (r"\bpush(?:es)? in\b", "dolly-in"),
    (r"\bpull(?:s)? (?:back|out)\b", "dolly-out"),
    (r"\b(?:camera orbits|orbiting camera|orbit shot)\b", "orbit"),
    (r"\bstatic (?:camera|shot)\b", "static"),
]


def _check_transitions(outline: Outline) -> None:
    problems = [
        (
            f"sections[{i}].transition",
            f"unknown transition {s.transition!r} in section {i + 1} ({s.title!r}); "
            f"valid: {', '.join(TRANSITION_NAMES)}",
        )
        for i, s in enumerate(outline.sections)
        if s.transition is not None and s.transition not in TRANSITION_NAMES
    ]
    if problems:
        raise OutlineError(f"outline {outline.title!r}", problems)


def _section_context(index: int, section: Section, *, wpm: int, grade: int | None, language: str) -> dict[str, Any]:
    # the narration adapted to the audience: authored per band, else (English only) mechanically simplified
    narration = readability.adapt_narration(
        section.narration, grade, section.narration_by_band, simplify_text=language.split("-")[0] == "en"
    )
    return {
        "index": index,
        "number": index + 1,
        "title": section.title,
        "key_points": list(section.key_points),
        "narration": narration,
        "sentences": timing.split_sentences(narration),
        "parts": timing.fit_narration(narration, wpm, max_s=timing.max_shot_seconds(grade)),
        "formulas": list(section.formulas),
        "image": str(section.image) if section.image is not None else None,
        "visual_hints": list(section.visual_hints),
        "camera_hints": [camera_hint(hint) for hint in section.visual_hints],  # one per visual hint
        "transition": section.transition,
        "duration_s": section.duration_s,
    }


def _context(outline: Outline, *, style_fields: dict[str, Any], wpm: int, template: str) -> dict[str, Any]:
    """Everything a template sees: plain data only (no models), so the sandbox has nothing to reach through."""
    return {
        "template": template,
        "outline": {
            "title": outline.title,
            "subject": outline.subject,
            "audience": outline.audience,
            "language": outline.language,
            "objectives": list(outline.objectives),
            "aspect": outline.aspect,
            "style": outline.style,
        },
        "audience": {
            "label": outline.audience,
            "grade": outline.grade,
            "band": timing.audience_band(outline.grade),
            "wpm": wpm,
            "max_shot_s": timing.max_shot_seconds(outline.grade),
        },
        "style": style_fields,
        "cast": [{"name": c.name, "look": c.look} for c in outline.cast],
        "variables": dict(outline.variables),
        "vars": dict(outline.variables),  # the short name templates use: {{ vars.protagonist }}
        "sections": [
            _section_context(i, s, wpm=wpm, grade=outline.grade, language=outline.language)
            for i, s in enumerate(outline.sections)
        ],
        "timing": {
            "min_s": timing.MIN_SHOT_S,
            "max_s": timing.max_shot_seconds(outline.grade),
            "transition_s": timing.DEFAULT_TRANSITION_S,
        },
    }


# libyaml's safe loader when PyYAML was built with it (about 10x faster on rendered scripts), else pure Python
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_rendered(text: str, path: Path) -> RenderedScript:
    try:
        data = yaml.load(text, Loader=YAML_LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = ""
        if mark is not None:
            lines = text.splitlines()
            line = lines[mark.line] if mark.line < len(lines) else ""
            where = f" at output line {mark.line + 1} ({line.strip()[:80]!r})"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScriptTemplateError(
            f'template "{path}" rendered invalid YAML{where}: {problem}',
            hint="quote strings in templates with the tojson filter",
        ) from None
    if not isinstance(data, dict):
        raise ScriptTemplateError(f'template "{path}" must render a mapping with `bible:` and `shots:`')
    try:
        return RenderedScript.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{p}: {m}" for p, m in validation_problems(exc))
        raise ScriptTemplateError(f'template "{path}" produced an invalid shot: {detail}') from None


def _check_rendered(rendered: RenderedScript, outline: Outline, path: Path) -> None:
    """What every template must guarantee, whatever its structure."""
    for i, shot in enumerate(rendered.shots):
        if shot.section >= len(outline.sections):
            raise ScriptTemplateError(
                f'template "{path}": shots[{i}].section: no section {shot.section} '
                f"(the outline has {len(outline.sections)}, numbered from 0)"
            )
        if rendered.bible not in shot.prompt:
            raise ScriptTemplateError(
                f'template "{path}": shots[{i}].prompt does not contain the bible '
                "(the cast and style text must be repeated into every prompt for a consistent look)"
            )
        if i and shot.camera == rendered.shots[i - 1].camera:
            raise ScriptTemplateError(
                f'template "{path}": shots[{i}].camera repeats the previous shot\'s camera '
                f"({shot.camera.describe()}); pick it with pick_camera(..., prev=...)"
            )


def _check_length(shots: list[Shot], rendered: RenderedScript, outline: Outline, path: Path, wpm: int) -> None:
    limit = rendered.max_duration_s
    total = sum(s.duration_s for s in shots) - sum(s.transition.duration_s for s in shots[:-1])
    if limit is not None and total > limit + 1e-6:
        raise ScriptTemplateError(
            f'template "{path}" allows at most {limit:g} s; outline {outline.title!r} needs {total:.1f} s '
            f"at the {outline.audience} pace ({wpm} words per minute)",
            hint="shorten the narration (or the sections' duration_s), or use another template",
        )


def _durations(shots: list[RenderedShot], outline: Outline, wpm: int, max_s: float) -> list[float]:
    """Narration-derived lengths; a section's `duration_s` is shared among its shots in proportion."""
    durations = [
        timing.shot_duration(
            s.narration,
            wpm,
            on_screen_words=timing.word_count(" ".join([s.on_screen.title, *s.on_screen.points])),
            max_s=max_s,
        )
        for s in shots
    ]
    by_section: dict[int, list[int]] = defaultdict(list)
    for i, shot in enumerate(shots):
        by_section[shot.section].append(i)
    for section_index, members in by_section.items():
        override = outline.sections[section_index].duration_s
        if override is not None:
            scaled = timing.scale_durations([durations[i] for i in members], override)
            for i, value in zip(members, scaled, strict=True):
                durations[i] = value
    return durations


def _shot_ids(shots: list[RenderedShot]) -> list[str]:
    """`s02` for a section's only shot, `s02-1`, `s02-2` … when a section has several."""
    totals: dict[int, int] = defaultdict(int)
    for shot in shots:
        totals[shot.section] += 1
    seen: dict[int, int] = defaultdict(int)
    ids = []
    for shot in shots:
        seen[shot.section] += 1
        base = f"s{shot.section + 1:02d}"
        ids.append(base if totals[shot.section] == 1 else f"{base}-{seen[shot.section]}")
    return ids


def fit_transitions(shots: list[Shot]) -> None:
    """Shorten a transition that would not fit inside both shots it joins (only very short shots, from a
    section's `duration_s`, need it); one that cannot fit at all becomes a cut."""
    for a, b in itertools.pairwise(shots):
        limit = min(a.duration_s, b.duration_s)
        if a.transition.name != "cut" and a.transition.duration_s >= limit:
            seconds = int(limit * 4) / 10  # 40% of the shorter shot, rounded down to 0.1 s
            a.transition = a.transition.model_copy(update={"duration_s": seconds}) if seconds > 0 else Transition()
    if shots:
        shots[-1].transition = Transition()  # nothing follows the last shot
