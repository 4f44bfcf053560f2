"""Run every benchmark module (or those named on the command line) and print their tables."""

from __future__ import annotations

import importlib
import sys
import time

MODULES = [
    "bench_storyboard",
    "bench_moderation",
    "bench_server",
    "bench_compose",
    "bench_audio",
    "bench_script",
    "bench_analytics",
    "bench_diffusers",
    "bench_batch",
]


def main(names: list[str]) -> None:
    for name in names or MODULES:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        print(f"\n== {name} ==", flush=True)
        module.run(print_table=True)
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
