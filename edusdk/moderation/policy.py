"""Policy packs: what each content category means for a deployment (allow, review or block), and the blocklists
whose terms the text checks look for. Packs and blocklists are operator-editable YAML under `moderation/`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from edusdk._errors import BadInputError
from edusdk._resources import data_dir
from edusdk.models.moderation import Decision
from edusdk.models.outline import validation_problems

# OpenAI moderation category names, plus the ones an education product needs on top.
Category = Literal[
    "sexual",
    "sexual/minors",
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "violence",
    "violence/graphic",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "illicit",
    "illicit/violent",
    "copyright",
    "public_figure",
    "pii",
    "age_inappropriate",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)

# A category the pack does not mention still gets looked at: a listed term was listed for a reason.
DEFAULT_ACTION: Decision = "review"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
ModelT = TypeVar("ModelT", bound=BaseModel)


class CategoryRule(BaseModel):
    """What a policy does with one category: its action, and the score a scored check must reach to count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Decision
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="minimum score for scored checks; blocklist matches score 1.0"
    )


class BlocklistEntry(BaseModel):
    """One listed phrase: matched as whole words, case-insensitively, spaces and hyphens between words optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1, max_length=200)
    suggestion: str = Field(default="", description="a generic rewrite, e.g. 'a friendly cartoon mouse'")
    case_sensitive: bool = Field(default=False, description="for names that are also common words ('Marvel')")
    note: str = ""
    aliases: tuple[str, ...] = Field(
        default=(), description="other names for the same thing ('SpongeBob', 'Sponge Bob'); reported as `term`"
    )
    context: tuple[str, ...] = Field(
        default=(),
        description="for ambiguous names: the term counts only when one of these words is in the same text "
        "('Woody' with 'toy', 'cowboy', 'Buzz'); matched as whole words, case-insensitively",
    )
    paraphrases: tuple[str, ...] = Field(
        default=(),
        description="descriptions without the name ('the yellow sponge who lives in a pineapple'), matched by "
        "meaning by the semantic check",
    )

    @property
    def surfaces(self) -> tuple[str, ...]:
        """The term and its aliases: every written form the text check looks for."""
        return (self.term, *self.aliases)

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        return {"term": value} if isinstance(value, str) else value

    @field_validator("term")
    @classmethod
    def _has_a_word(cls, value: str) -> str:
        value = " ".join(value.split())
        if not re.search(r"\w", value):
            raise ValueError("a term needs at least one letter or digit")
        return value

    @field_validator("aliases", "context")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        value = tuple(" ".join(v.split()) for v in value)
        if not all(re.search(r"\w", v) for v in value):
            raise ValueError("every alias and context word needs at least one letter or digit")
        return value


class Blocklist(BaseModel):
    """A documented list of terms per category (`moderation/blocklists/<name>.yaml`)."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    name: str
    version: str
    source: str = Field(min_length=1, description="where the list comes from")
    notes: str = Field(default="", description="its limits and the choices made")
    categories: dict[Category, list[BlocklistEntry]] = Field(default_factory=dict)

    @classmethod
    def load(cls, name: str, *, directory: Path | None = None) -> Blocklist:
        """Read `<directory>/blocklists/<name>.yaml` (directory: the moderation data folder)."""
        root = directory if directory is not None else data_dir("moderation")
        path = _pack_path(root / "blocklists", name, kind="blocklist")
        return _validate_file(cls, path, defaults={"name": name})


class Policy(BaseModel):
    """A moderation policy pack: the action for each category and the terms to look for.

    A pack may `extends` another: the parent's category rules, blocklists and terms are inherited, and the
    child's rules replace the parent's category by category. `sexual/minors` is always `block`.

    Example:
        >>> policy = Policy.load("k12")
        >>> policy.action_for("copyright")
        'review'
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    name: str = Field(pattern=_NAME_RE.pattern)
    version: str = Field(min_length=1)
    description: str = ""
    extends: str | None = None
    blocklists: list[str] = Field(default_factory=list, description="blocklist names under moderation/blocklists/")
    categories: dict[Category, CategoryRule] = Field(default_factory=dict)
    terms: dict[Category, list[BlocklistEntry]] = Field(
        default_factory=dict, description="extra terms inline; after `load`, every term of every blocklist too"
    )
    semantic: bool = Field(default=True, description="run the MiniLM semantic classifier besides the blocklists")
    frame_rate: float = Field(default=0.5, ge=0, le=30, description="frames per second sampled from clips; 0: none")

    # Compiled matchers, built once per policy by `edusdk.moderation.text`.
    _matchers: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _minors_always_blocked(self) -> Policy:
        rule = self.categories.get("sexual/minors")
        if rule is not None and rule.action != "block":
            raise ValueError("categories.sexual/minors: must be 'block' in every policy")
        return self

    def action_for(self, category: str) -> Decision:
        """The action this policy takes on a finding in `category` (`review` when the pack does not say)."""
        rule = self.categories.get(cast(Category, category))
        return rule.action if rule is not None else DEFAULT_ACTION

    def threshold_for(self, category: str) -> float | None:
        """The minimum score a scored finding in `category` must reach, if the pack sets one."""
        rule = self.categories.get(cast(Category, category))
        return rule.threshold if rule is not None else None

    @staticmethod
    def available(*, directory: Path | None = None) -> list[str]:
        """Names of the policy packs in `<directory>/policies/` (directory: the moderation data folder)."""
        root = directory if directory is not None else data_dir("moderation")
        return sorted(p.stem for p in (root / "policies").glob("*.yaml"))

    @classmethod
    def load(cls, name: str = "k12", *, directory: Path | None = None) -> Policy:
        """Load pack `name` from `<directory>/policies/<name>.yaml`, resolving `extends` and the blocklists.

        `directory` is the moderation data folder (holding `policies/` and `blocklists/`); by default the one
        `edusdk._resources.data_dir` finds. Raises `BadInputError` for an unknown pack (listing those available)
        or a malformed one (naming the file and field).
        """
        root = Path(directory) if directory is not None else data_dir("moderation")
        return _load_resolved(cls, name, root, chain=())


def _load_resolved(cls: type[Policy], name: str, root: Path, *, chain: tuple[str, ...]) -> Policy:
    if name in chain:
        raise BadInputError(f"policy pack {name!r} extends itself: {' → '.join([*chain, name])}")
    path = _pack_path(root / "policies", name, kind="policy pack")
    pack = _validate_file(cls, path, defaults={"name": name})
    if pack.name != name:
        raise BadInputError(f"{path}: name: {pack.name!r} does not match the file name {name!r}")

    categories: dict[Category, CategoryRule] = {}
    blocklists: list[str] = []
    terms: dict[Category, list[BlocklistEntry]] = {}
    if pack.extends is not None:
        parent = _load_resolved(cls, pack.extends, root, chain=(*chain, name))
        categories.update(parent.categories)
        blocklists += parent.blocklists
        _add_terms(terms, parent.terms)
    categories.update(pack.categories)
    for list_name in pack.blocklists:
        if list_name not in blocklists:
            blocklists.append(list_name)
            _add_terms(terms, Blocklist.load(list_name, directory=root).categories)
    _add_terms(terms, pack.terms)
    return pack.model_copy(update={"categories": categories, "blocklists": blocklists, "terms": terms})


def _add_terms(into: dict[Category, list[BlocklistEntry]], more: dict[Category, list[BlocklistEntry]]) -> None:
    for category, entries in more.items():
        into.setdefault(category, []).extend(entries)


def _pack_path(folder: Path, name: str, *, kind: str) -> Path:
    path = folder / f"{name}.yaml"
    if not _NAME_RE.match(name) or not path.is_file():
        available = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise BadInputError(
            f"unknown {kind} {name!r}; available in {folder}: {', '.join(available) or '(none)'}",
            hint=f"add {folder / (name + '.yaml')} or pick one of those listed",
        )
    return path


def _validate_file(cls: type[ModelT], path: Path, *, defaults: dict[str, Any]) -> ModelT:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadInputError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: <root>: expected a mapping of fields, got {type(data).__name__}")
    try:
        return cls.model_validate({**defaults, **data})
    except ValidationError as exc:
        problems = validation_problems(exc)
        lines = [f"{path}: {len(problems)} problem(s)"] + [f"  {where or '<root>'}: {msg}" for where, msg in problems]
        raise BadInputError("\n".join(lines)) from None
