"""Script expansion throughput for the 108-variant matrix (examples/outlines/fractions-matrix.yaml).

Measured side by side, in one run, medians of REPEATS rounds, scripts per second:
- `variants()` alone: building the 108 concrete outlines (substitution + validation);
- expand, cold: every cache cleared before each script (Jinja environment and compiled templates, style
  presets, lexicon) and the pure-Python YAML loader — what expansion cost before the caches;
- expand with only the Jinja environment cached (styles re-read each time) and pure-Python YAML: how
  expansion ran before this benchmark (the previous code);
- expand, cached environment + styles, pure-Python YAML;
- expand as shipped: caches + libyaml's safe loader for the rendered script;
- the floor: a plain `model_dump_json()` of each outline (no expansion at all).
Ratios are against the cold row.

Run: `python benchmarks/bench_script.py` (or `python -m benchmarks bench_script`, or call `run()`).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from edusdk.models.outline import Outline
from edusdk.script import readability, templates
from edusdk.script.expand import expand
from edusdk.script.matrix import variants

expand_module: Any = sys.modules["edusdk.script.expand"]  # the module (the package attribute is the function)

MATRIX = Path(__file__).resolve().parent.parent / "examples" / "outlines" / "fractions-matrix.yaml"
REPEATS = 3


def _clear_caches() -> None:
    templates._environment.cache_clear()
    templates._load_layered.cache_clear()
    readability._lexicon_pattern.cache_clear()


def _timed(work: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = work()
    return time.perf_counter() - started, count


def run(print_table: bool = True) -> list[dict[str, Any]]:
    """Measure every row and return them as dicts (name, seconds, scripts_per_s, ratio_vs_cold)."""
    source = Outline.from_file(MATRIX)
    concrete = variants(source)
    assert len(concrete) == 108
    shipped_loader = expand_module.YAML_LOADER

    def variants_only() -> int:
        return len(variants(source))

    def cold() -> int:
        expand_module.YAML_LOADER = yaml.SafeLoader
        try:
            for outline in concrete:
                _clear_caches()
                expand(outline)
        finally:
            expand_module.YAML_LOADER = shipped_loader
        return len(concrete)

    def before() -> int:
        expand_module.YAML_LOADER = yaml.SafeLoader
        try:
            for outline in concrete:
                templates._load_layered.cache_clear()
                expand(outline)
        finally:
            expand_module.YAML_LOADER = shipped_loader
        return len(concrete)

    def cached_pure_yaml() -> int:
        expand_module.YAML_LOADER = yaml.SafeLoader
        try:
            for outline in concrete:
                expand(outline)
        finally:
            expand_module.YAML_LOADER = shipped_loader
        return len(concrete)

    def shipped() -> int:
        for outline in concrete:
            expand(outline)
        return len(concrete)

    def floor() -> int:
        for outline in concrete:
            outline.model_dump_json()
        return len(concrete)

    cases: list[tuple[str, Callable[[], int]]] = [
        ("variants() only (108 outlines)", variants_only),
        ("expand, cold (no caches, pure-Python YAML)", cold),
        ("expand, env cached, styles re-read, pure YAML", before),
        ("expand, cached env + styles, pure-Python YAML", cached_pure_yaml),
        ("expand, as shipped (caches + libyaml)", shipped),
        ("floor: outline.model_dump_json()", floor),
    ]
    shipped()  # warm the caches once, as a long-lived process would be
    samples: dict[str, list[float]] = {name: [] for name, _ in cases}
    counts: dict[str, int] = {}
    for _ in range(REPEATS):
        for name, work in cases:  # interleaved, so drift on a shared machine hits every row alike
            seconds, counts[name] = _timed(work)
            samples[name].append(seconds)
    cold_s = statistics.median(samples[cases[1][0]])
    rows = []
    for name, _ in cases:
        seconds = statistics.median(samples[name])
        rows.append({"name": name, "seconds": round(seconds, 4), "scripts_per_s": round(counts[name] / seconds, 1),
                     "ratio_vs_cold": round(cold_s / seconds, 2)})  # fmt: skip
    if print_table:
        print(f"{'case':48} {'seconds':>9} {'scripts/s':>10} {'× cold':>8}")
        for row in rows:
            print(f"{row['name']:48} {row['seconds']:>9.3f} {row['scripts_per_s']:>10.1f} {row['ratio_vs_cold']:>8.2f}")
        print(f"(108 variants, median of {REPEATS}; yaml.__with_libyaml__={yaml.__with_libyaml__})")
    return rows


if __name__ == "__main__":
    run()
