"""Batch matrices: what a content team writes to get many lessons from one template.

A matrix file is YAML (`.yaml`/`.yml`): a base outline (a path relative to the matrix file, or inline) and
the variables to vary, with optional excludes and a seeded sample::

    outline: fractions-base.yaml          # or an inline outline mapping
    variables:
      protagonist: [Mia, Omar, Kenji, Ada]
      setting: [a sunny park, a school kitchen, a rooftop garden]
    exclude: [{protagonist: Ada, setting: a school kitchen}]
    sample: 6                             # optional: a seeded subset …
    seed: 7                               # … chosen with this seed
    render: {size: 640x360, fps: 24, engine: storyboard, policy: k12}   # optional defaults (CLI flags win)

An outline file that declares its own `variants:` is a matrix too. A `.jsonl` file (one outline object
per line) or a `.csv` file (one outline per row: columns are outline fields, list/mapping cells are JSON)
gives whole outlines instead.

The expansion itself is `edusdk.script.matrix` (cartesian product in declaration order, excludes, seeded
sample): this module only reads files into an outline with `variants:` and names each lesson. A lesson's
id is `variant_id(values)` for matrix rows, or `o-<outline hash>` for whole outlines, so the same
lesson has the same id (and output folder) in every run.

Example:
    >>> matrix = load_matrix("examples/batch/fractions-matrix.yaml")
    >>> len(matrix.items), matrix.items[0].item_id, matrix.items[0].variables["protagonist"]
    (108, 'v-…', 'Mia')
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edusdk._errors import BadInputError, OutlineError
from edusdk.models.outline import Outline, VariableValue, VariantMatrix, validation_problems
from edusdk.script.matrix import iter_variants, variant_id

MATRIX_SUFFIXES = (".yaml", ".yml", ".jsonl", ".csv")


class RenderDefaults(BaseModel):
    """Render settings a matrix file may carry; command-line options override them."""

    model_config = ConfigDict(extra="forbid")

    size: str | None = Field(default=None, pattern=r"^\d{2,5}x\d{2,5}$")
    fps: int | None = Field(default=None, ge=1, le=120)
    engine: str | None = None
    policy: str | None = None


class MatrixSpec(BaseModel):
    """The YAML matrix file's schema (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    outline: str | dict[str, Any] = Field(description="base outline: a path relative to the matrix file, or inline")
    variables: dict[str, list[VariableValue]] | None = None
    exclude: list[dict[str, VariableValue]] = Field(default_factory=list)
    sample: int | None = Field(default=None, ge=1)
    seed: int = Field(default=0, ge=0)
    render: RenderDefaults = Field(default_factory=RenderDefaults)


@dataclass(frozen=True)
class BatchItem:
    """One lesson of a batch: its stable id, its concrete outline and the variable values that made it."""

    item_id: str
    outline: Outline
    variables: dict[str, VariableValue] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.outline.title


@dataclass(frozen=True)
class BatchMatrix:
    """A loaded matrix: every lesson in deterministic order, the render defaults and a fingerprint."""

    source: str
    items: list[BatchItem]
    render: RenderDefaults = field(default_factory=RenderDefaults)

    @property
    def fingerprint(self) -> str:
        """A hash of the lessons (ids and outline content): a resumed batch must have the same one."""
        digest = hashlib.sha256()
        for item in self.items:
            digest.update(f"{item.item_id}:{item.outline.content_hash()}\n".encode())
        return digest.hexdigest()[:16]


def load_matrix(path: str | Path) -> BatchMatrix:
    """Read a matrix (YAML spec or outline with `variants:`) or a JSONL/CSV of outlines; expand it.

    Raises BadInputError (an OutlineError listing field paths) naming the file for anything wrong.

    Example:
        >>> [item.item_id for item in load_matrix("examples/batch/fractions-matrix.yaml").items][:2]
        ['v-…', 'v-…']
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in MATRIX_SUFFIXES:
        raise BadInputError(f"{source}: a matrix must be one of {', '.join(MATRIX_SUFFIXES)} (got {suffix or 'none'})")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{source}: matrix file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{source}: cannot read the matrix: {exc}") from None
    if suffix == ".jsonl":
        return _from_rows(source, _jsonl_rows(text, source), base_dir=path.parent)
    if suffix == ".csv":
        return _from_rows(source, _csv_rows(text, source), base_dir=path.parent)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise OutlineError(source, [("", f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}")]) from None
    if not isinstance(data, dict):
        raise OutlineError(source, [("", f"expected a mapping at the top level, got {type(data).__name__}")])
    if "sections" in data:  # an outline with its own `variants:` declaration
        return expand_outline(Outline.from_data(data, source=source, base_dir=path.parent), source=source)
    return matrix_from_spec(data, source=source, base_dir=path.parent)


def matrix_from_spec(data: dict[str, Any], *, source: str = "<matrix>", base_dir: Path | None = None) -> BatchMatrix:
    """Build a matrix from an already-parsed spec mapping (see `MatrixSpec`)."""
    try:
        spec = MatrixSpec.model_validate(data)
    except ValidationError as exc:
        raise OutlineError(source, validation_problems(exc)) from None
    if isinstance(spec.outline, str):
        outline_path = (base_dir or Path.cwd()) / spec.outline
        if not outline_path.is_file():
            raise OutlineError(source, [("outline", f"outline file not found: {outline_path}")])
        base = Outline.from_file(outline_path)
    else:
        base = Outline.from_data(spec.outline, source=f"{source} (outline)", base_dir=base_dir)
    if spec.variables is not None:
        try:
            matrix = VariantMatrix(variables=spec.variables, exclude=spec.exclude, sample=spec.sample, seed=spec.seed)
        except ValidationError as exc:
            raise OutlineError(source, validation_problems(exc)) from None
        base = base.model_copy(update={"variants": matrix})
    elif spec.exclude or spec.sample is not None:
        raise OutlineError(source, [("variables", "exclude/sample need variables (here or in the outline)")])
    return expand_outline(base, source=source, render=spec.render)


def expand_outline(outline: Outline, *, source: str, render: RenderDefaults | None = None) -> BatchMatrix:
    """One item per variant of `outline` (the expansion is `edusdk.script.matrix.iter_variants`)."""
    try:
        concrete = list(iter_variants(outline))
    except OutlineError as exc:
        raise OutlineError(f"{source} ({exc.source})", exc.problems) from None
    items = []
    for variant in concrete:
        # the same id `edusdk script --variants` prints: every value the lesson was made with
        item_id = variant_id(variant.variables) if variant.variables else _outline_id(variant)
        items.append(BatchItem(item_id, variant, dict(variant.variables)))
    return BatchMatrix(source, _unique(items, source), render or RenderDefaults())


def matrix_from_outlines(outlines: Sequence[Outline], *, source: str = "<outlines>") -> BatchMatrix:
    """A matrix of whole outlines (each expanded if it declares variants), in the order given."""
    items: list[BatchItem] = []
    for outline in outlines:
        items += expand_outline(outline, source=source).items
    return BatchMatrix(source, _unique(items, source))


def _outline_id(outline: Outline) -> str:
    return "o-" + outline.content_hash()[:12]


def _unique(items: list[BatchItem], source: str) -> list[BatchItem]:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.item_id in seen:
            raise OutlineError(source, [(f"[{i}]", f"the same lesson as [{seen[item.item_id]}] ({item.item_id})")])
        seen[item.item_id] = i
    if not items:
        raise OutlineError(source, [("", "the matrix has no lessons")])
    return items


def _from_rows(source: str, rows: list[tuple[str, Any]], *, base_dir: Path) -> BatchMatrix:
    outlines = [Outline.from_data(data, source=f"{source} {where}", base_dir=base_dir) for where, data in rows]
    items: list[BatchItem] = []
    for outline in outlines:
        items += expand_outline(outline, source=source).items
    return BatchMatrix(source, _unique(items, source))


def _jsonl_rows(text: str, source: str) -> list[tuple[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise OutlineError(source, [(f"line {number}", f"invalid JSON: {exc.msg}")]) from None
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[str, Any]]:
    rows = []
    for number, row in enumerate(csv.DictReader(text.splitlines()), start=2):  # line 1 is the header
        data: dict[str, Any] = {}
        for column, cell in row.items():
            if column is None or cell is None or cell == "":
                continue
            if cell.lstrip()[:1] in "[{":
                try:
                    data[column] = json.loads(cell)
                except json.JSONDecodeError as exc:
                    raise OutlineError(source, [(f"line {number}.{column}", f"invalid JSON cell: {exc.msg}")]) from None
            else:
                data[column] = cell
        rows.append((f"line {number}", data))
    return rows
