"""Fit the learned classifier (`edusdk.moderation.classifier`) on the bank, the evaluation sets it may learn from
(`evaluate.TRAINING`) and the training sets in `moderation/training/`; write `moderation/semantic/classifier.json`.

    .venv/bin/python -m tests.moderation_eval.train [--loso] [--cache .cache/classifier-features.pkl]

The blind sets (`evaluate.BLIND`) are never trained on: they measure the classifier. `--loso` prints the
leave-one-set-out table the thresholds were read from.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edusdk._resources import data_dir
from edusdk.moderation.classifier_training import main
from tests.moderation_eval.evaluate import SETS, TRAINING


def training_sets() -> dict[str, Path]:
    """Name → folder of every set the classifier is fitted on."""
    sets = {name: SETS[name] for name in TRAINING}
    for folder in sorted((data_dir("moderation") / "training").iterdir()):
        if folder.is_dir():
            sets[f"training/{folder.name}"] = folder
    return sets


if __name__ == "__main__":
    main([*sys.argv[1:], *(f"{name}={folder}" for name, folder in training_sets().items())])
