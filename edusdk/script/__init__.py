"""Outline → script expansion: sandboxed Jinja2 lesson templates decide the shots and their prompt
wording; `expand` validates, times and seeds them. `variants` turns an outline with a variable matrix
into one concrete outline per combination.

Example:
    >>> from edusdk.script import expand, variants
    >>> script = expand(Outline.from_file("examples/outlines/pythagoras.yaml"))
    >>> print(script.to_yaml())
    >>> scripts = [expand(o) for o in variants(Outline.from_file("examples/outlines/fractions-matrix.yaml"))]
"""

from edusdk.script.expand import expand, shot_seed
from edusdk.script.matrix import apply_variables, combinations, count_variants, iter_variants, variant_id, variants
from edusdk.script.templates import StylePreset, available_templates, default_templates_dir, load_styles
from edusdk.script.timing import shot_duration, words_per_minute

__all__ = [
    "StylePreset",
    "apply_variables",
    "available_templates",
    "combinations",
    "count_variants",
    "default_templates_dir",
    "expand",
    "iter_variants",
    "load_styles",
    "shot_duration",
    "shot_seed",
    "variant_id",
    "variants",
    "words_per_minute",
]
