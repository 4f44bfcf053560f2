"""Outline → script expansion: sandboxed Jinja2 lesson templates decide the shots and their prompt
wording; `expand` validates, times and seeds them.

Example:
    >>> from edusdk.script import expand
    >>> script = expand(Outline.from_file("examples/outlines/pythagoras.yaml"))
    >>> print(script.to_yaml())
"""

from edusdk.script.expand import expand, shot_seed
from edusdk.script.templates import StylePreset, available_templates, default_templates_dir, load_styles
from edusdk.script.timing import shot_duration, words_per_minute

__all__ = [
    "StylePreset",
    "available_templates",
    "default_templates_dir",
    "expand",
    "load_styles",
    "shot_duration",
    "shot_seed",
    "words_per_minute",
]
