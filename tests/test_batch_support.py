"""Shared pieces of the batch tests: a fast moderation pack (blocklists only, no MiniLM, no frame sampling)
in a copied operator data folder, tiny render settings, and small matrices written to disk."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BASE_OUTLINE = REPO / "examples" / "batch" / "fractions-base.yaml"
TINY = {"size": "96x54", "fps": 5}
FAST_POLICY = "k12-fast"


@pytest.fixture
def fast_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """EDUSDK_DATA_DIR: the shipped moderation data plus `k12-fast`; EDUSDK_DB in tmp. Spawned workers inherit both."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "moderation", data / "moderation")
    (data / "moderation" / "policies" / f"{FAST_POLICY}.yaml").write_text(
        f'name: {FAST_POLICY}\nversion: "1"\nextends: k12\nsemantic: false\nframe_rate: 0\n'
    )
    env = {"EDUSDK_DATA_DIR": str(data), "EDUSDK_DB": str(tmp_path / "analytics.db")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def write_matrix(folder: Path, variables: dict[str, list[Any]], **extra: Any) -> Path:
    """A matrix file over the example base outline, rendered tiny with the fast policy."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "outline": str(BASE_OUTLINE),
        "variables": variables,
        "render": {**TINY, "engine": "storyboard", "policy": FAST_POLICY},
        **extra,
    }
    path = folder / "matrix.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def lesson_files(output_dir: Path) -> dict[str, list[str]]:
    """Each lesson folder's file names (hidden temporaries included, so leftovers show up)."""
    return {p.name: sorted(f.name for f in p.iterdir()) for p in sorted((output_dir / "lessons").iterdir())}
