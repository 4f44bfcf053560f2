"""Frame checks (protected references, unsafe imagery) and C2PA provenance, on real ffmpeg-made videos."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image, ImageDraw

from edusdk import EduClient
from edusdk._errors import BadInputError
from edusdk._media import ffmpeg_exe
from edusdk.cli import main
from edusdk.models.outline import Outline
from edusdk.moderation import Policy, frames
from edusdk.moderation.provenance import SigningConfig, label_unsigned, sign, verify


def _logo(path: Path) -> Path:
    img = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((30, 30, 190, 190), fill="red")
    draw.rectangle((150, 60, 300, 170), fill="navy")
    draw.polygon([(40, 230), (160, 200), (280, 230)], fill="gold")
    img.save(path)
    return path


def _video_of(image: Path, out: Path, vf: str, seconds: float = 2.0) -> Path:
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-loop", "1", "-t", str(seconds), "-i", str(image), "-vf", vf,
           "-c:v", "libx264", "-crf", "35", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True)
    return out


def _testsrc(out: Path) -> Path:
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=8:duration=1",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True)
    return out


@pytest.mark.parametrize(
    "vf",
    ["scale=320:240", "scale=160:120", "scale=640:480", "crop=300:226:10:7,scale=320:240", "crop=304:228:8:6"],
    ids=["reencode", "downscale", "upscale", "crop-rescaled", "crop"],
)
def test_reference_matches_after_reencode_scale_crop(tmp_path: Path, vf: str) -> None:
    logo = _logo(tmp_path / "logo.png")
    with EduClient(db=str(tmp_path / "db.sqlite")) as client:
        ref = client.moderation.references.add(logo, label="Brand X")
        refs = client.moderation.references.list()
    video = _video_of(logo, tmp_path / "v.mp4", vf)
    found = frames.check_video(video, Policy.load("k12"), references=refs, rate=1.0, nudity=False)
    assert [(f.category, f.rule) for f in found] == [("copyright", f"reference:{ref.id}")]
    assert found[0].where == "frame at 0.0 s" and "Brand X" in found[0].span


def test_unrelated_video_does_not_match(tmp_path: Path) -> None:
    logo = _logo(tmp_path / "logo.png")
    with EduClient(db=str(tmp_path / "db.sqlite")) as client:
        client.moderation.references.add(logo, label="Brand X")
        refs = client.moderation.references.list()
    assert frames.check_video(_testsrc(tmp_path / "t.mp4"), Policy.load("k12"), references=refs, nudity=False) == []


def test_reference_add_rejects_missing_image(tmp_path: Path) -> None:
    with EduClient(db=":memory:") as client, pytest.raises(BadInputError, match="no such file"):
        client.moderation.references.add(tmp_path / "nope.png", label="x")


class FakeNudityDetector:
    """Test double for NudeNet: reports one exposed region on every frame."""

    def detect(self, image: Any) -> list[dict[str, Any]]:
        return [{"class": "FEMALE_BREAST_EXPOSED", "score": 0.9, "box": [0, 0, 10, 10]}]


def test_unsafe_frame_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "nudity_detector", lambda: FakeNudityDetector())
    found = frames.check_video(_testsrc(tmp_path / "t.mp4"), Policy.load("k12"), rate=2.0)
    assert [(f.category, f.action, f.where) for f in found] == [("sexual", "block", "frame at 0.0 s")]


def test_real_detector_passes_a_test_pattern(tmp_path: Path) -> None:
    assert frames.check_video(_testsrc(tmp_path / "t.mp4"), Policy.load("k12"), rate=1.0) == []


def _chain(folder: Path) -> SigningConfig:
    """A test CA and an ES256 leaf (EKU emailProtection, AKI/SKI): C2PA refuses self-signed leaves."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edusdk test CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edusdk tests")])  # fmt: skip
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)  # fmt: skip

    def base(subject: x509.Name, public: Any) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(public)
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=7))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))  # fmt: skip

    ca = (base(ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **usage),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edusdk test signer"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edusdk tests")])  # fmt: skip
    leaf = (base(leaf_name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))  # fmt: skip
    pem = serialization.Encoding.PEM
    (folder / "chain.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))  # fmt: skip
    return SigningConfig(folder / "chain.pem", folder / "key.pem", trust_anchors=folder / "ca.pem")


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> SigningConfig:
    return _chain(tmp_path_factory.mktemp("c2pa"))


def test_sign_verify_and_tamper(tmp_path: Path, signing: SigningConfig) -> None:
    video = _testsrc(tmp_path / "lesson.mp4")
    entry = sign(video, lesson_id="les_test", config=signing)
    assert entry["status"] == "signed" and entry["digital_source_type"].endswith("trainedAlgorithmicMedia")
    assert list(tmp_path.iterdir()) == [video]  # signed in place, no temp file left
    trusted = verify(video, trust_anchors=signing.trust_anchors)
    assert trusted["status"] == "valid" and trusted["lesson_id"] == "les_test"
    assert verify(video)["status"] == "untrusted"  # intact, but the test CA is not a trust anchor
    data = bytearray(video.read_bytes())
    media = data.index(b"mdat") + 64  # change the picture itself, not the container
    data[media : media + 32] = bytes(32)
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(data)
    assert verify(tampered, trust_anchors=signing.trust_anchors)["status"] == "tampered"
    result = CliRunner().invoke(main, ["moderate", str(tampered), "--json"], env={"EDUSDK_DB": str(tmp_path / "d.db")})
    assert result.exit_code == 1 and json.loads(result.output)["provenance"]["status"] == "tampered"


def test_unsigned_video_carries_ai_label(tmp_path: Path) -> None:
    video = _testsrc(tmp_path / "lesson.mp4")
    assert verify(video)["status"] == "missing"
    assert label_unsigned(video, lesson_id="les_u")["status"] == "unsigned"
    checked = verify(video)
    assert checked["status"] == "unsigned" and "AI-generated" in checked["label"]
    result = CliRunner().invoke(main, ["moderate", str(video), "--json"], env={"EDUSDK_DB": str(tmp_path / "d.db")})
    assert result.exit_code == 0, result.output


def test_render_signs_records_and_needs_approval(tmp_path: Path, signing: SigningConfig) -> None:
    photosynthesis = Outline.from_file(Path(__file__).parent.parent / "examples/outlines/photosynthesis.yaml")
    outline = photosynthesis.model_copy(
        update={"title": "Photosynthesis with Pikachu", "sections": photosynthesis.sections[:1]}
    )
    with EduClient(db=str(tmp_path / "db.sqlite")) as client:
        client.moderation.signing = signing
        lesson = client.lessons.render(outline, output=tmp_path / "lesson.mp4", size="128x72", fps=6)
        manifest = json.loads(lesson.manifest.read_text())
        assert manifest["provenance"]["status"] == "signed"
        assert manifest["moderation"]["decision"] == "review"
        assert client.moderation.verify_video(lesson.video)["status"] == "valid"
        assert not client.moderation.publishable(lesson.lesson_id)
        client.moderation.approve(lesson.lesson_id, reviewer="ana@school.org")
        assert client.moderation.publishable(lesson.lesson_id)
        kinds = [(e.kind, e.actor) for e in client.moderation.audit.history(lesson.lesson_id)]
    assert kinds == [("render", "render"), ("approve", "ana@school.org")]


def test_cli_references_add_and_list(tmp_path: Path) -> None:
    logo = _logo(tmp_path / "logo.png")
    env = {"EDUSDK_DB": str(tmp_path / "d.db")}
    added = CliRunner().invoke(main, ["moderation", "references", "add", str(logo), "--label", "Brand X", "--json"],
                               env=env)  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["label"] == "Brand X"
    listed = CliRunner().invoke(main, ["moderation", "references", "list", "--json"], env=env)
    assert [r["label"] for r in json.loads(listed.output)] == ["Brand X"]
    missing = CliRunner().invoke(main, ["moderation", "references", "add", "nope.png", "--label", "x"], env=env)
    assert missing.exit_code == 2
