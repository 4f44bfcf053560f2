"""Frame checks on generated clips and the final video: unsafe imagery (NudeNet's ONNX detector, shipped inside
its wheel) and protected-reference matching (perceptual hashes, `imagehash`: pHash + dHash).

Frames are sampled by one ffmpeg process per video (`fps=<rate>`, scaled to 512 px wide, raw RGB on a pipe);
a frame matches a reference when both its pHash and its dHash are within `max_distance` bits (of 64).

Example:
    >>> findings = check_video("out/lesson.mp4", Policy.load("k12"), references=log.references(), rate=1.0)
    >>> [(f.category, f.where) for f in findings]
    [('copyright', 'frame at 3.0 s')]
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from edusdk._errors import BadInputError, MediaError
from edusdk._media import ffmpeg_exe, probe
from edusdk.models.moderation import Finding
from edusdk.moderation.policy import Policy

FRAME_WIDTH = 512
DEFAULT_RATE = 1.0  # frames sampled per second of video
MAX_DISTANCE = 10  # Hamming bits (of 64) per hash
HASH_SIDE = 64
SAME_FRAME_BITS = 2  # dHash distance under which a frame counts as the previous one (static lesson cards)
NUDITY_THRESHOLD = 0.5
# NudeNet classes that are unsafe in a lesson video for any audience.
UNSAFE_CLASSES = frozenset(
    {"FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "BUTTOCKS_EXPOSED", "ANUS_EXPOSED"}
)
Frame = NDArray[np.uint8]


class Reference(Protocol):
    """What a protected reference offers the matcher (`ProtectedReferenceRecord` does)."""

    id: int | None
    label: str
    phash: str
    dhash: str


def image_hashes(image: str | Path | Image.Image) -> tuple[str, str]:
    """(pHash, dHash) of an image, hex strings of 64 bits each.

    Example:
        >>> image_hashes("moderation/examples/logo.png")
        ('c3b1…', '8f0e…')
    """
    import imagehash

    if isinstance(image, Image.Image):
        img = image
    else:
        path = Path(image)
        if not path.is_file():
            raise BadInputError(f"reference image {path}: no such file")
        try:
            img = Image.open(path)
            img.load()
        except OSError as exc:
            raise BadInputError(f"reference image {path}: not a readable image ({exc})") from None
    # One grayscale 64×64 thumbnail feeds both hashes: the hashes shrink further anyway, and resizing a 512 px
    # frame once instead of twice (in colour) is most of their cost. References go through the same path.
    thumb = img.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return str(imagehash.phash(thumb)), str(imagehash.dhash(thumb))


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def match_references(
    frame: Image.Image | tuple[str, str], references: Sequence[Reference], *, max_distance: int = MAX_DISTANCE
) -> list[tuple[Reference, int]]:
    """References whose pHash and dHash are both near the frame's (an image, or its `image_hashes`).

    Returns (reference, pHash distance), nearest first.
    """
    phash, dhash = image_hashes(frame) if isinstance(frame, Image.Image) else frame
    found = []
    for ref in references:
        d_p, d_d = _distance(phash, ref.phash), _distance(dhash, ref.dhash)
        if d_p <= max_distance and d_d <= max_distance + 4:  # dHash is more sensitive to crops: a little slack
            found.append((ref, d_p))
    return sorted(found, key=lambda m: m[1])


class NudeNetDetector:
    """NudeNet's detector (its `320n.onnx`, shipped inside the `nudenet` wheel) run on RGB frames directly.

    Same model, input and decoding as `nudenet.NudeDetector.detect`, but without its per-frame RGBA → BGR copies and
    with the 2,100 candidate boxes decoded in numpy instead of a Python loop: the decoding was most of the time per
    512 px frame.
    """

    MIN_SCORE = 0.2  # candidate boxes below this are dropped before non-maximum suppression (as NudeNet does)

    def __init__(self, threads: int) -> None:
        import nudenet
        import nudenet.nudenet as nn_module
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            # As for MiniLM: one image at a time is too little work to split; on a busy 2-core machine one thread
            # ran 15-18 frames/s and two 9-11.
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        model = os.path.join(os.path.dirname(nudenet.__file__), "320n.onnx")
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        model_input = self.session.get_inputs()[0]
        self.input_name: str = model_input.name
        self.size = int(model_input.shape[2]) if isinstance(model_input.shape[2], int) else 320
        self.labels: list[str] = list(getattr(nn_module, "__labels"))

    def detect(self, frame: Frame) -> list[dict[str, Any]]:
        """Detections (`class`, `score`, `box` [x, y, w, h] in frame pixels) in an RGB frame, as NudeNet returns."""
        import cv2

        height, width = frame.shape[:2]
        side = max(height, width)
        padded = np.zeros((side, side, 3), dtype=np.uint8)
        padded[:height, :width] = frame[:, :, :3]
        resized = cv2.resize(padded, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        blob = (resized.astype(np.float32) * (1 / 255.0)).transpose(2, 0, 1)[None]
        output = self.session.run(None, {self.input_name: blob})[0]
        rows = np.asarray(output)[0].T  # (candidates, 4 box + classes)
        scores = rows[:, 4:]
        class_ids = scores.argmax(axis=1)
        best = scores[np.arange(len(rows)), class_ids]
        keep = np.flatnonzero(best >= self.MIN_SCORE)
        if not len(keep):
            return []
        scale = side / self.size
        cx, cy, w, h = (rows[keep, i] * scale for i in range(4))
        x = np.clip(cx - w / 2, 0, width)
        y = np.clip(cy - h / 2, 0, height)
        w = np.minimum(w, width - x)
        h = np.minimum(h, height - y)
        boxes = np.stack([x, y, w, h], axis=1)
        picked = cv2.dnn.NMSBoxes(boxes.tolist(), best[keep].tolist(), 0.25, 0.45)
        return [
            {"class": self.labels[int(class_ids[keep[i]])], "score": float(best[keep[i]]),
             "box": [int(v) for v in boxes[i]]}
            for i in np.asarray(picked).reshape(-1)
        ]  # fmt: skip


@functools.lru_cache(maxsize=1)
def nudity_detector() -> Any:
    """The process-wide NudeNet detector (`NudeNetDetector`; its 320n.onnx ships inside the wheel)."""
    return NudeNetDetector(int(os.environ.get("EDUSDK_MODERATION_THREADS", "1")))


def unsafe_regions(frame: Frame, *, threshold: float = NUDITY_THRESHOLD) -> list[tuple[str, float]]:
    """(NudeNet class, score) for each unsafe region in an RGB frame."""
    detections = nudity_detector().detect(frame)
    return [
        (d["class"], float(d["score"])) for d in detections if d["class"] in UNSAFE_CLASSES and d["score"] >= threshold
    ]


def sample_frames(
    video: str | Path, *, rate: float = DEFAULT_RATE, width: int = FRAME_WIDTH
) -> Iterator[tuple[float, Frame]]:
    """(time in seconds, RGB frame `width` px wide) at `rate` frames per second, decoded by one ffmpeg process."""
    if rate <= 0:
        raise BadInputError(f"frame sample rate {rate} must be positive")
    info = probe(video)
    height = max(2, round(info.height * width / info.width / 2) * 2)
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(video), "-vf", f"fps={rate},scale={width}:{height}",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]  # fmt: skip
    size = width * height * 3
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        index = 0
        while chunk := proc.stdout.read(size):
            if len(chunk) < size:
                break
            yield index / rate, np.frombuffer(chunk, dtype=np.uint8).reshape(height, width, 3)
            index += 1
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, None) and index == 0:
        raise MediaError(f"sampling frames of {video} failed: {stderr.strip()[-500:]}")


def check_frames(
    frames: Iterator[tuple[float, Frame]], policy: Policy, *, references: Sequence[Reference] = (),
    where: str = "", nudity: bool = True, max_distance: int = MAX_DISTANCE,
) -> list[Finding]:  # fmt: skip
    """Findings for sampled frames: `sexual` for unsafe imagery, `copyright` for a protected-reference match.

    One finding per (category, rule) at its first time.
    """
    findings: dict[tuple[str, str], Finding] = {}
    prefix = f"{where} " if where else ""
    previous: tuple[str, list[tuple[str, float]]] | None = None  # (dHash, unsafe regions) of the last detection
    for t, frame in frames:
        check_nudity = nudity and policy.action_for("sexual") != "allow"
        check_refs = bool(references) and policy.action_for("copyright") != "allow"
        hashes = image_hashes(Image.fromarray(frame)) if check_nudity or check_refs else ("0", "0")
        if check_nudity:
            # Lesson videos hold a card or a scene for seconds: the detector runs again only when the picture changes.
            dhash = hashes[1]
            if previous is None or _distance(dhash, previous[0]) > SAME_FRAME_BITS:
                previous = (dhash, unsafe_regions(frame))
            for cls, score in previous[1]:
                findings.setdefault(("sexual", cls), Finding(
                    check="frame", category="sexual", action=policy.action_for("sexual"), score=round(score, 3),
                    where=f"{prefix}frame at {t:.1f} s", span=cls.lower().replace("_", " "), rule=f"nudenet:{cls}",
                ))  # fmt: skip
        if check_refs:
            for ref, dist in match_references(hashes, references, max_distance=max_distance):
                findings.setdefault(("copyright", str(ref.id)), Finding(
                    check="frame", category="copyright", action=policy.action_for("copyright"),
                    score=round(1 - dist / 64, 3), where=f"{prefix}frame at {t:.1f} s",
                    span=f"matches protected reference {ref.label!r}", rule=f"reference:{ref.id}",
                ))  # fmt: skip
    return list(findings.values())


def check_video(
    video: str | Path, policy: Policy, *, references: Sequence[Reference] = (), rate: float = DEFAULT_RATE,
    where: str = "", nudity: bool = True,
) -> list[Finding]:  # fmt: skip
    """Sample `video` at `rate` fps and check every sampled frame (see `check_frames`)."""
    return check_frames(sample_frames(video, rate=rate), policy, references=references, where=where, nudity=nudity)
