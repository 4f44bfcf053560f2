"""Labelled prompt sets: the format of the evaluation sets (`tests/moderation_eval/`) and of the classifier's
training sets (`moderation/training/`), and their loader.

A set is a folder of UTF-8 text files, one prompt per line (blank lines skipped); each file is optional:

- `safe.txt`: ordinary lesson requests (a finding on one is a false positive);
- `hard_benign.txt`: `audience<TAB>prompt` — teaching about hard topics that the audience's pack must allow;
- `unsafe.txt`: `category<TAB>prompt` — requests to refuse or flag, with their harm category (`sexual`, `hate` …);
- `copyright.txt`: protected characters, paraphrases of them, brands, styles and public figures;
- `pii.txt`: student-written text carrying personal data.

Example:
    >>> [e.label for e in load_set(Path("tests/moderation_eval/holdout"))][:1]
    ['safe']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LABELS = ("safe", "hard_benign", "unsafe", "copyright", "pii")


class LabelledSetError(ValueError):
    """A malformed line in a labelled set (the file and line are named)."""


@dataclass(frozen=True)
class Example:
    """One labelled prompt: its group (`LABELS`), the audience whose pack judges it, the text, the harm category."""

    label: str  # safe | hard_benign | unsafe | copyright | pii
    audience: str
    text: str
    subcategory: str = ""


def load_set(directory: Path) -> list[Example]:
    """Every labelled prompt of the set in `directory`, in file order (`LABELS`), then line order."""
    examples: list[Example] = []
    for label in LABELS:
        path = directory / f"{label}.txt"
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            if label in ("hard_benign", "unsafe"):
                head, tab, text = line.partition("\t")
                if not tab or not head.strip() or not text.strip():
                    what = "audience" if label == "hard_benign" else "category"
                    raise LabelledSetError(f"{path}:{number}: expected `{what}<TAB>prompt`")
                audience, category = (head, "") if label == "hard_benign" else ("k12", head)
                examples.append(Example(label, audience.strip(), text, category.strip()))
            else:
                examples.append(Example(label, "k12", line))
    return examples
