"""Provenance: every lesson video says it is AI-generated.

With an operator certificate (a chain PEM: leaf first, then its CA; and the leaf's private key) the final MP4
gets a signed C2PA manifest (`c2pa-python`): a `c2pa.actions` assertion with `c2pa.created`,
`digitalSourceType` = trainedAlgorithmicMedia, the generator and the lesson id. Without one, the MP4 gets plain
container metadata (a stream-copy remux with `comment=` and `description=`) and the manifest says `unsigned`.
Either way the video is rewritten atomically: into a temporary file beside it, then renamed over it.

Configuration: `SigningConfig(...)`, or the environment: EDUSDK_C2PA_CERT (chain PEM), EDUSDK_C2PA_KEY (key PEM),
EDUSDK_C2PA_ALG (default es256), EDUSDK_C2PA_TRUST (trust-anchor PEM for verification).

Example:
    >>> sign_or_label("out/lesson.mp4", lesson_id="les_0123", config=SigningConfig.from_env())
    {'status': 'signed', 'ai_generated': True, ...}
    >>> verify("out/lesson.mp4", trust_anchors="ca.pem")["status"]
    'valid'
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import temp_beside
from edusdk._media import ffmpeg_exe
from edusdk._version import __version__

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATOR = f"edusdk {__version__}"
LESSON_ASSERTION = "org.edusdk.lesson"
AI_LABEL = "AI-generated video (trainedAlgorithmicMedia) made with edusdk"


@dataclass(frozen=True)
class SigningConfig:
    """The operator's C2PA signing material: certificate chain (leaf then CA) and private key, PEM files."""

    cert_chain: Path
    private_key: Path
    alg: str = "es256"
    trust_anchors: Path | None = None

    @classmethod
    def from_env(cls) -> SigningConfig | None:
        """From EDUSDK_C2PA_CERT / EDUSDK_C2PA_KEY (/ EDUSDK_C2PA_ALG, EDUSDK_C2PA_TRUST); None when unset."""
        cert, key = os.environ.get("EDUSDK_C2PA_CERT"), os.environ.get("EDUSDK_C2PA_KEY")
        if not cert and not key:
            return None
        if not cert or not key:
            raise BadInputError("set both EDUSDK_C2PA_CERT and EDUSDK_C2PA_KEY (or neither, for unsigned videos)")
        trust = os.environ.get("EDUSDK_C2PA_TRUST")
        return cls(Path(cert), Path(key), os.environ.get("EDUSDK_C2PA_ALG", "es256"), Path(trust) if trust else None)

    def check(self) -> None:
        for name, path in (("cert_chain", self.cert_chain), ("private_key", self.private_key)):
            if not path.is_file():
                raise BadInputError(f"C2PA {name} {path}: no such file")


def manifest_definition(*, lesson_id: str, title: str = "") -> dict[str, Any]:
    """The C2PA manifest edusdk writes: created by a trained algorithm, by edusdk, for this lesson."""
    return {
        "claim_generator_info": [{"name": "edusdk", "version": __version__}],
        "title": title or lesson_id,
        "format": "video/mp4",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": "edusdk", "version": __version__},
                            "parameters": {"lesson_id": lesson_id},
                        }
                    ]
                },
            },
            {"label": LESSON_ASSERTION, "data": {"lesson_id": lesson_id, "generator": GENERATOR}},
        ],
    }


def sign(video: str | Path, *, lesson_id: str, config: SigningConfig, title: str = "") -> dict[str, Any]:
    """Embed a signed C2PA manifest in `video` (atomically); returns the manifest's `provenance` entry."""
    import c2pa

    video = Path(video)
    config.check()
    info = c2pa.C2paSignerInfo(config.alg, config.cert_chain.read_bytes(), config.private_key.read_bytes(), None)
    temp = temp_beside(video)
    try:
        definition = manifest_definition(lesson_id=lesson_id, title=title)
        with (
            c2pa.Signer.from_info(info) as signer,
            c2pa.Builder(definition) as builder,
            open(video, "rb") as source,
            open(temp, "wb") as dest,
        ):
            builder.sign(signer, "video/mp4", source, dest)
        os.replace(temp, video)
    except c2pa.C2paError as exc:
        raise MediaError(f"C2PA signing of {video} failed: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return {"status": "signed", "ai_generated": True, "generator": GENERATOR, "lesson_id": lesson_id,
            "standard": "C2PA", "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
            "certificate": str(config.cert_chain)}  # fmt: skip


def label_unsigned(video: str | Path, *, lesson_id: str) -> dict[str, Any]:
    """Mark `video` AI-generated in plain container metadata (stream copy, atomic); the entry says unsigned."""
    video = Path(video)
    temp = temp_beside(video)
    comment = f"{AI_LABEL}; lesson {lesson_id}; digitalSourceType {TRAINED_ALGORITHMIC_MEDIA}"
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-map", "0", "-c", "copy",
           "-metadata", f"comment={comment}", "-metadata", f"description={AI_LABEL}",
           "-metadata", f"encoder={GENERATOR}", "-movflags", "+use_metadata_tags", str(temp)]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise MediaError(f"labelling {video} as AI-generated failed: {done.stderr.strip()[-500:]}")
        os.replace(temp, video)
    finally:
        temp.unlink(missing_ok=True)
    return {"status": "unsigned", "ai_generated": True, "generator": GENERATOR, "lesson_id": lesson_id,
            "label": "container metadata comment"}  # fmt: skip


def sign_or_label(
    video: str | Path, *, lesson_id: str, config: SigningConfig | None, title: str = ""
) -> dict[str, Any]:
    """Sign when a certificate is configured, else label with plain metadata."""
    if config is None:
        return label_unsigned(video, lesson_id=lesson_id)
    return sign(video, lesson_id=lesson_id, config=config, title=title)


def _metadata_comment(video: Path) -> str:
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(video), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("comment="):
            return line.split("=", 1)[1].replace("\\;", ";").replace("\\=", "=")  # ffmetadata escapes
    return ""


def verify(video: str | Path, *, trust_anchors: str | Path | None = None) -> dict[str, Any]:
    """Read and validate `video`'s provenance.

    `status`: `valid` (signed, intact, chain trusted), `untrusted` (signed and intact, signer not in the trust
    anchors), `tampered` (a manifest whose hashes or signature no longer match), `unsigned` (plain AI label only),
    or `missing` (nothing says how it was made).
    """
    import c2pa

    video = Path(video)
    if not video.is_file():
        raise BadInputError(f"video {video}: no such file")
    context = None
    if trust_anchors is not None:
        anchors = Path(trust_anchors).read_text(encoding="utf-8")
        settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": anchors}})
        context = c2pa.Context.builder().with_settings(settings).build()
    try:
        reader = c2pa.Reader.try_create(str(video), context=context) if context else c2pa.Reader.try_create(str(video))
    except c2pa.C2paError as exc:
        return {"status": "tampered", "ai_generated": None, "errors": [str(exc)]}
    if reader is None:
        comment = _metadata_comment(video)
        if "AI-generated" in comment:
            return {"status": "unsigned", "ai_generated": True, "label": comment}
        return {"status": "missing", "ai_generated": None}
    with reader:
        store = json.loads(reader.json())
        state = reader.get_validation_state() or ""
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    statuses = store.get("validation_status") or []
    codes = [s.get("code", "") for s in statuses]
    failures = [c for c in codes if c and "untrusted" not in c]
    lesson: dict[str, Any] = next(
        (a.get("data", {}) for a in active.get("assertions", []) if a.get("label") == LESSON_ASSERTION), {}
    )
    if failures:
        status = "tampered"
    elif any("untrusted" in c for c in codes):
        status = "untrusted"
    else:
        status = "valid"
    return {
        "status": status, "ai_generated": True, "validation_state": state, "codes": codes,
        "lesson_id": lesson.get("lesson_id"), "generator": lesson.get("generator"),
        "signer": (active.get("signature_info") or {}).get("issuer"),
    }  # fmt: skip
