"""The script: ordered shots expanded from an outline, each ready to be sent to an engine."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edusdk._errors import OutlineError
from edusdk.models.outline import AspectRatio, validation_problems

ShotMode = Literal["text", "image", "video", "extend", "loop", "connect", "still"]
SHOT_MODES: tuple[ShotMode, ...] = ("text", "image", "video", "extend", "loop", "connect", "still")

# Every xfade transition of ffmpeg 9 except `custom` (which needs expressions), plus a plain cut.
XFADE_TRANSITIONS: tuple[str, ...] = (
    "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright", "slideup", "slidedown",
    "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite", "radial", "smoothleft", "smoothright",
    "smoothup", "smoothdown", "circleopen", "circleclose", "vertopen", "vertclose", "horzopen", "horzclose",
    "dissolve", "pixelize", "diagtl", "diagtr", "diagbl", "diagbr", "hlslice", "hrslice", "vuslice", "vdslice",
    "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev", "zoomin", "fadefast",
    "fadeslow", "hlwind", "hrwind", "vuwind", "vdwind", "coverleft", "coverright", "coverup", "coverdown",
    "revealleft", "revealright", "revealup", "revealdown",
)  # fmt: skip
# A generated clip from shot A's last frame to shot B's first (the engine's `connect` mode), inserted between
# them with cuts; engines without `connect` get the transition's `fallback` xfade instead (see edusdk._bridges).
BRIDGE = "bridge"
TRANSITION_NAMES: tuple[str, ...] = ("cut", *XFADE_TRANSITIONS, BRIDGE)

ShotSize = Literal["extreme-wide", "wide", "medium", "close-up", "extreme-close-up"]
CameraMove = Literal[
    "static", "pan-left", "pan-right", "tilt-up", "tilt-down", "zoom-in", "zoom-out", "dolly-in", "dolly-out", "orbit"
]


def check_transition_name(name: str) -> str:
    """Return `name` if ffmpeg knows it (or it is 'cut'), else raise ValueError listing the valid names."""
    if name not in TRANSITION_NAMES:
        raise ValueError(f"unknown transition {name!r}; valid: {', '.join(TRANSITION_NAMES)}")
    return name


class Camera(BaseModel):
    """Shot size and camera movement, in the vocabulary video models are prompted with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shot_size: ShotSize = "medium"
    movement: CameraMove = "static"

    def describe(self) -> str:
        move = "static camera" if self.movement == "static" else f"slow {self.movement.replace('-', ' ')}"
        return f"{self.shot_size.replace('-', ' ')} shot, {move}"


class Transition(BaseModel):
    """How a shot hands over to the next one: an xfade by name with a duration, a cut, or a generated `bridge`.

    A `bridge` asks the engine's `connect` mode for a `duration_s` clip from this shot's last frame to the next
    shot's first, shown between them; engines without `connect` get the `fallback` xfade of the same length.

    Example:
        >>> Transition(name="bridge", duration_s=0.75, fallback="dissolve").fallback
        'dissolve'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "cut"
    duration_s: float = Field(default=0.0, ge=0, le=5)
    # left out of dumps when it is the default, so scripts (and lesson ids) without bridges are unchanged
    fallback: str = Field(default="fade", exclude_if=lambda v: v == "fade",
                          description="bridge only: the xfade used when the engine has no connect mode")  # fmt: skip

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        return check_transition_name(value)

    @field_validator("fallback")
    @classmethod
    def _fallback_is_an_xfade(cls, value: str) -> str:
        if value not in XFADE_TRANSITIONS:
            raise ValueError(f"unknown fallback transition {value!r}; valid: {', '.join(XFADE_TRANSITIONS)}")
        return value

    @model_validator(mode="after")
    def _cut_has_no_duration(self) -> Transition:
        if self.name == "cut" and self.duration_s != 0:
            raise ValueError("a cut has no duration")
        if self.name != "cut" and self.duration_s <= 0:
            raise ValueError(f"transition {self.name!r} needs a duration > 0")
        if self.name != BRIDGE and self.fallback != "fade":
            raise ValueError(f"fallback only applies to the {BRIDGE!r} transition, not {self.name!r}")
        return self


class OnScreen(BaseModel):
    """Text and figures to be read on screen: drawn as overlays, never asked of a video model."""

    model_config = ConfigDict(extra="forbid")

    title: str = ""
    points: list[str] = Field(default_factory=list)
    formulas: list[str] = Field(default_factory=list)
    image: Path | None = None


class Shot(BaseModel):
    """One shot of a script."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    section: int = Field(ge=0, description="index of the outline section it came from")
    prompt: str = Field(min_length=1)
    negative_prompt: str = ""
    duration_s: float = Field(gt=0, le=120)
    camera: Camera = Field(default_factory=Camera)
    transition: Transition = Field(default_factory=Transition, description="into the next shot")
    narration: str = ""
    on_screen: OnScreen = Field(default_factory=OnScreen)
    seed: int = Field(ge=0, lt=2**32)
    mode: ShotMode = "text"
    variables: dict[str, str | int | float] = Field(default_factory=dict)


class Script(BaseModel):
    """An expanded script: the ordered shots of one lesson and what produced them.

    Example:
        >>> script = client.scripts.expand(outline)
        >>> [shot.duration_s for shot in script.shots]
        [7.5, 9.0, 8.0]
    """

    model_config = ConfigDict(extra="forbid")

    title: str
    subject: str
    audience: str
    language: str = "en"
    aspect: AspectRatio = "16:9"
    style: str
    template: str
    outline_hash: str
    bible: str = Field(default="", description="cast and style text repeated into every shot prompt")
    shots: list[Shot] = Field(min_length=1)
    variables: dict[str, str | int | float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _transitions_fit(self) -> Script:
        ids = [s.id for s in self.shots]
        if len(set(ids)) != len(ids):
            raise ValueError("shot ids must be unique")
        for i, (a, b) in enumerate(zip(self.shots, self.shots[1:], strict=False)):
            if a.transition.duration_s >= min(a.duration_s, b.duration_s):
                raise ValueError(f"shots[{i}].transition is longer than the shots it joins")
        return self

    @property
    def duration_s(self) -> float:
        """Nominal length: the shots minus the transition overlaps (the last shot's transition is unused)."""
        return sum(s.duration_s for s in self.shots) - sum(s.transition.duration_s for s in self.shots[:-1])

    def to_yaml(self) -> str:
        """The script as YAML an editor can change and render as is."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_file(cls, path: str | Path) -> Script:
        """Load a saved (possibly hand-edited) script; errors name the file and field."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OutlineError(str(path), [("", "file not found")]) from None
        except yaml.YAMLError as exc:
            raise OutlineError(str(path), [("", f"invalid YAML: {exc}")]) from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise OutlineError(str(path), validation_problems(exc)) from None
