"""The lesson outline: what an author writes (YAML or JSON), validated with every error located."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from edusdk._errors import OutlineError

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"]
AudienceBand = Literal["early-primary", "upper-primary", "middle-school", "high-school", "adult"]
_AUDIENCE_RE = re.compile(r"^(?:grade (?P<grade>[0-9]|1[0-2])|(?P<other>kindergarten|adult|higher-ed))$")


class CastMember(BaseModel):
    """A named character whose look is repeated into every shot prompt (the cast bible)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    look: str = Field(min_length=1, max_length=400, description="fixed appearance: species, clothes, colours")


class Section(BaseModel):
    """One part of the lesson; becomes one or more shots."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120)
    key_points: list[str] = Field(default_factory=list, max_length=8)
    narration: str = Field(min_length=1, max_length=4000)
    formulas: list[str] = Field(default_factory=list, max_length=6, description="LaTeX, rendered with mathtext")
    image: Path | None = Field(default=None, description="reference image, relative to the outline file")
    visual_hints: list[str] = Field(default_factory=list, max_length=8)
    transition: str | None = Field(default=None, description="transition into the next section, e.g. 'fade' or 'cut'")
    narration_by_band: dict[AudienceBand, str] = Field(
        default_factory=dict, description="narration written for an audience band; used instead of `narration`"
    )
    duration_s: float | None = Field(default=None, gt=0, le=120, description="override the narration-derived length")

    @field_validator("image")
    @classmethod
    def _image_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base = (info.context or {}).get("base_dir")
        path = value if value.is_absolute() or base is None else Path(base) / value
        if not path.is_file():
            raise ValueError(f"image file not found: {path}")
        return path.resolve()


VariableValue = str | int | float
_VARIABLE_NAME = r"^[a-z_][a-z0-9_]*$"


class VariantMatrix(BaseModel):
    """Variables with candidate values: the outline stands for every combination (see edusdk.script.matrix).

    Example (YAML):
        variants:
          variables: {protagonist: [Mia, Omar], setting: [a park, a kitchen]}
          exclude: [{protagonist: Omar, setting: a kitchen}]   # drop combinations matching all these values
          sample: 2                                             # keep 2 of the rest, chosen with `seed`
          seed: 7
    """

    model_config = ConfigDict(extra="forbid")

    variables: dict[str, list[VariableValue]] = Field(min_length=1, max_length=12)
    exclude: list[dict[str, VariableValue]] = Field(default_factory=list, max_length=1000)
    sample: int | None = Field(default=None, ge=1, description="keep this many combinations, chosen with `seed`")
    seed: int = Field(default=0, ge=0)

    @field_validator("variables")
    @classmethod
    def _names_and_values(cls, value: dict[str, list[VariableValue]]) -> dict[str, list[VariableValue]]:
        for name, candidates in value.items():
            if not re.match(_VARIABLE_NAME, name):
                raise ValueError(f"variable name {name!r} must match {_VARIABLE_NAME} (lower case, digits, _)")
            if not candidates:
                raise ValueError(f"variable {name!r} needs at least one value")
            if len(set(map(str, candidates))) != len(candidates):
                raise ValueError(f"variable {name!r} lists a value twice")
        return value

    @model_validator(mode="after")
    def _excludes_name_known_values(self) -> VariantMatrix:
        for i, rule in enumerate(self.exclude):
            if not rule:
                raise ValueError(f"exclude[{i}] is empty (it would exclude every combination)")
            for name, val in rule.items():
                if name not in self.variables:
                    raise ValueError(f"exclude[{i}].{name}: not a declared variable")
                if val not in self.variables[name]:
                    raise ValueError(f"exclude[{i}].{name}: {val!r} is not one of its values")
        return self


class Outline(BaseModel):
    """A lesson outline.

    Example:
        >>> outline = Outline.from_file("examples/outlines/photosynthesis.yaml")
        >>> outline.sections[0].title
        'What plants need'
    """

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=160)
    subject: str = Field(min_length=1, max_length=80)
    audience: str = Field(
        default="grade 6", description="'grade 0'..'grade 12', 'kindergarten', 'adult' or 'higher-ed'"
    )
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    objectives: list[str] = Field(default_factory=list, max_length=10)
    aspect: AspectRatio = "16:9"
    style: str = Field(default="flat-illustration", min_length=1, max_length=80)
    template: str = Field(default="explainer", pattern=r"^[a-z0-9][a-z0-9-]*$")
    cast: list[CastMember] = Field(default_factory=list, max_length=6)
    sections: list[Section] = Field(min_length=1, max_length=40)
    variables: dict[str, str | int | float] = Field(
        default_factory=dict, description="values this lesson was made with (a batch variant), carried into shots"
    )
    variants: VariantMatrix | None = Field(
        default=None, description="variables with candidate values; see edusdk.script.matrix"
    )

    @field_validator("audience")
    @classmethod
    def _audience_known(cls, value: str) -> str:
        value = value.strip().lower()
        if not _AUDIENCE_RE.match(value):
            raise ValueError("audience must be 'grade 0'..'grade 12', 'kindergarten', 'adult' or 'higher-ed'")
        return value

    @property
    def grade(self) -> int | None:
        """The grade level (kindergarten = 0), or None for adult audiences."""
        m = _AUDIENCE_RE.match(self.audience)
        if m and m.group("grade") is not None:
            return int(m.group("grade"))
        return 0 if self.audience == "kindergarten" else None

    def content_hash(self) -> str:
        """A stable sha256 of the outline's content (image files included by content)."""
        data = self.model_dump(mode="json")
        for section, raw in zip(self.sections, data["sections"], strict=True):
            if section.image is not None:
                raw["image"] = hashlib.sha256(section.image.read_bytes()).hexdigest()
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    @classmethod
    def from_file(cls, path: str | Path) -> Outline:
        """Load and validate a YAML or JSON outline; raises OutlineError naming the file and field."""
        path = Path(path)
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OutlineError(source, [("", "file not found")]) from None
        except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
            raise OutlineError(source, [("", f"cannot read the file: {exc}")]) from None
        data = _parse(text, source, json_only=path.suffix.lower() == ".json")
        return cls.from_data(data, source=source, base_dir=path.parent)

    @classmethod
    def from_data(cls, data: Any, *, source: str = "<outline>", base_dir: str | Path | None = None) -> Outline:
        """Validate already-parsed data; relative image paths resolve against `base_dir`."""
        if not isinstance(data, dict):
            raise OutlineError(source, [("", f"expected a mapping at the top level, got {type(data).__name__}")])
        try:
            return cls.model_validate(data, context={"base_dir": base_dir})
        except ValidationError as exc:
            raise OutlineError(source, validation_problems(exc)) from None


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Turn a pydantic error into `(dotted.field[0].path, message)` pairs."""
    problems = []
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        problems.append((path, msg))
    return problems


def _parse(text: str, source: str, *, json_only: bool) -> Any:
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise OutlineError(
                source, [("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise OutlineError(source, [("", f"invalid YAML{where}: {problem}")]) from None
