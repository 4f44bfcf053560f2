"""Variables and variants: one outline that declares variables with candidate values stands for every
combination of them; `variants()` turns it into concrete outlines, one per combination.

An outline declares its matrix under `variants:` (see `edusdk.models.outline.VariantMatrix`)::

    variants:
      variables:
        protagonist: [Mia, Omar, Kenji, Ada]
        setting: [a sunny park, a school kitchen]
      exclude: [{protagonist: Ada, setting: a school kitchen}]   # combinations matching all these values
      sample: 5                                                  # optional: keep 5 of them …
      seed: 7                                                    # … chosen with this seed

Order is deterministic: the cartesian product in declaration order (the last variable changes fastest),
excludes removed, then, with `sample`, a seeded choice kept in that same order.

Values reach the lesson in two ways:
- templates see them as `vars` (and `variables`): `{{ vars.protagonist }}`;
- outline text may name them as `${protagonist}`: a plain substitution, no expressions, in the title,
  objectives, cast names and looks, and each section's title, narration, key points and visual hints
  (not formulas, where `$` is LaTeX). `$${` writes a literal `${`. An unknown name is an OutlineError
  naming the field.

Each concrete outline carries its chosen values in `Outline.variables` (hence in Script.variables,
Shot.variables and the manifest) and has no `variants:` of its own. `variant_id(values)` is a stable id
derived from the values alone, for batch job keys and analytics.

Example:
    >>> from edusdk.script.matrix import variants, variant_id
    >>> lessons = variants(Outline.from_file("examples/outlines/fractions-matrix.yaml"))
    >>> len(lessons), lessons[0].variables["protagonist"], variant_id(lessons[0].variables)
    (108, 'Mia', 'v-…')
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from edusdk._errors import OutlineError
from edusdk.models.outline import Outline, VariableValue, VariantMatrix, validation_problems

MAX_COMBINATIONS = 100_000  # a matrix bigger than this is almost certainly a mistake
_PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def variant_id(values: Mapping[str, VariableValue]) -> str:
    """A stable id for a combination of values: independent of declaration order and of the outline text.

    Example:
        >>> a = variant_id({"protagonist": "Mia", "setting": "a park"})
        >>> a == variant_id({"setting": "a park", "protagonist": "Mia"}), a
        (True, 'v-…')
    """
    blob = json.dumps(dict(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "v-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def combinations(matrix: VariantMatrix, *, source: str = "<outline>") -> list[dict[str, VariableValue]]:
    """The matrix's combinations of values, in the deterministic order described in the module docstring.

    Example:
        >>> combinations(VariantMatrix(variables={"a": [1, 2], "b": ["x", "y"]}, exclude=[{"a": 2, "b": "y"}]))
        [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}]
    """
    names = list(matrix.variables)
    total = 1
    for values in matrix.variables.values():
        total *= len(values)
    if total > MAX_COMBINATIONS:
        raise OutlineError(source, [("variants.variables", f"{total} combinations; at most {MAX_COMBINATIONS}")])
    kept = [
        combo
        for combo in (dict(zip(names, chosen, strict=True)) for chosen in itertools.product(*matrix.variables.values()))
        if not any(all(combo[k] == v for k, v in rule.items()) for rule in matrix.exclude)
    ]
    if not kept:
        raise OutlineError(source, [("variants.exclude", "excludes every combination")])
    if matrix.sample is not None:
        if matrix.sample > len(kept):
            raise OutlineError(
                source, [("variants.sample", f"asks for {matrix.sample} but only {len(kept)} combinations remain")]
            )
        chosen = sorted(random.Random(matrix.seed).sample(range(len(kept)), matrix.sample))
        kept = [kept[i] for i in chosen]
    return kept


def iter_variants(outline: Outline) -> Iterator[Outline]:
    """The concrete outlines of `outline`, one at a time (see `variants`)."""
    if outline.variants is None:
        yield apply_variables(outline)
        return
    for combo in combinations(outline.variants, source=f"outline {outline.title!r}"):
        yield apply_variables(outline, {**outline.variables, **combo})


def variants(outline: Outline) -> list[Outline]:
    """Every concrete outline of `outline`: one per combination of its declared variables (or just the
    outline itself, substituted, when it declares none). Each has its chosen values in `variables`.

    Example:
        >>> [o.variables for o in variants(outline)][:2]
        [{'protagonist': 'Mia', 'outfit': 'a yellow raincoat', ...}, ...]
    """
    return list(iter_variants(outline))


def count_variants(outline: Outline) -> int:
    """How many concrete outlines `variants(outline)` gives, without building them."""
    if outline.variants is None:
        return 1
    return len(combinations(outline.variants, source=f"outline {outline.title!r}"))


def resolved_values(outline: Outline) -> dict[str, VariableValue]:
    """The values an outline is expanded with: its `variables`, completed from its first variant when it
    declares variables it has no chosen value for (so a matrix outline expands as its first variant)."""
    values: dict[str, VariableValue] = dict(outline.variables)
    if outline.variants is not None and not set(outline.variants.variables) <= set(values):
        first = combinations(outline.variants, source=f"outline {outline.title!r}")[0]
        values = {**first, **values}
    return values


def apply_variables(outline: Outline, values: Mapping[str, VariableValue] | None = None) -> Outline:
    """A concrete copy of `outline`: `${name}` placeholders replaced by `values` (default: the outline's
    resolved values), `variables` set to those values and no `variants:` declaration left.

    Example:
        >>> apply_variables(outline, {"protagonist": "Omar"}).sections[0].narration
        'Omar cuts the pizza into four equal slices.'
    """
    chosen = dict(resolved_values(outline) if values is None else values)
    if outline.variants is None and not chosen and not _has_placeholder(outline):
        return outline  # nothing to do: the common case stays free
    data = outline.model_dump()
    source = f"outline {outline.title!r}"
    problems: list[tuple[str, str]] = []

    def sub(text: str, where: str) -> str:
        return substitute(text, chosen, where=where, problems=problems)

    data["title"] = sub(data["title"], "title")
    data["objectives"] = [sub(t, f"objectives[{i}]") for i, t in enumerate(data["objectives"])]
    for i, member in enumerate(data["cast"]):
        member["name"] = sub(member["name"], f"cast[{i}].name")
        member["look"] = sub(member["look"], f"cast[{i}].look")
    for i, section in enumerate(data["sections"]):
        for key in ("title", "narration"):
            section[key] = sub(section[key], f"sections[{i}].{key}")
        for key in ("key_points", "visual_hints"):
            section[key] = [sub(t, f"sections[{i}].{key}[{j}]") for j, t in enumerate(section[key])]
    if problems:
        raise OutlineError(source, problems)
    data["variables"] = chosen
    data["variants"] = None
    try:
        return Outline.model_validate(data, context={"base_dir": None})
    except ValidationError as exc:
        raise OutlineError(f"{source} with {chosen}", validation_problems(exc)) from None


def substitute(
    text: str,
    values: Mapping[str, VariableValue],
    *,
    where: str = "",
    problems: list[tuple[str, str]] | None = None,
) -> str:
    """Replace each `${name}` in `text` by `values[name]`; `$${` gives a literal `${`. An unknown or
    malformed name raises OutlineError (or, with `problems`, is recorded there and left as is).

    Example:
        >>> substitute("Hello ${who}!", {"who": "Mia"})
        'Hello Mia!'
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1).strip()
        if _NAME.match(name) and name in values:
            return str(values[name])
        known = ", ".join(sorted(values)) or "none"
        problem = (where, f"unknown variable ${{{name}}} (declared: {known})")
        if problems is None:
            raise OutlineError("<text>", [problem])
        problems.append(problem)
        return match.group(0)

    return _PLACEHOLDER.sub(replace, text) if "$" in text else text


def _has_placeholder(outline: Outline) -> bool:
    texts: list[Any] = [outline.title, *outline.objectives]
    texts += [t for c in outline.cast for t in (c.name, c.look)]
    for s in outline.sections:
        texts += [s.title, s.narration, *s.key_points, *s.visual_hints]
    return any("${" in t for t in texts)
