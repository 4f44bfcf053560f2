"""Narration and the sound track: real WAVs, real ffmpeg mixes, real loudness; Piper where it is installed.

`ToneNarrator` is a test double: it "speaks" each word as a 0.25 s tone burst (a real WAV, so the mix, the
loudness passes and silencedetect see real audio), counting its calls.
"""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edusdk import EduClient
from edusdk._errors import BadInputError
from edusdk._media import ffmpeg_exe, probe, run_ffmpeg
from edusdk.cli import main
from edusdk.compose.audio import SAMPLE_RATE, AudioPlan, add_sound_track, check_sync, mix_command, voice_command
from edusdk.compose.timeline import build_timeline
from edusdk.models.audio import NarrationClip
from edusdk.models.engine import Clip
from edusdk.models.script import Script, Shot, Transition
from edusdk.narration import (
    LEAD_S,
    TAIL_S,
    FilesNarrator,
    PiperNarrator,
    fit_to_narration,
    get_narrator,
    narrate_script,
    piper_available,
)

FPS = 12


class ToneNarrator:
    """Test double: each word is a 0.25 s 440 Hz burst and a 0.05 s gap, after 0.1 s of silence (like TTS)."""

    name = "tone"
    languages = ("en",)
    cache_id = "tone-v1"

    def __init__(self, word_s: float = 0.25, amplitude: float = 0.3) -> None:
        self.word_s, self.amplitude, self.calls = word_s, amplitude, 0

    def synthesize(self, text: str, output: Path, *, language: str = "en") -> Path:
        self.calls += 1
        rate = 22050
        t = np.arange(int(self.word_s * rate)) / rate
        burst = self.amplitude * np.sin(2 * np.pi * 440 * t)
        gap = np.zeros(int(0.05 * rate))
        parts = [np.zeros(int(0.1 * rate))] + [np.concatenate([burst, gap]) for _ in text.split()]
        write_wav(output, np.concatenate(parts), rate)
        return output


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def make_script(narrations: list[str], *, duration_s: float = 2.0, transition: str = "fade") -> Script:
    shots = [
        Shot(id=f"s{i}", section=i, prompt="a leaf", duration_s=duration_s, seed=i, narration=text,
             transition=Transition(name=transition, duration_s=0.5 if transition != "cut" else 0))
        for i, text in enumerate(narrations)
    ]  # fmt: skip
    return Script(title="t", subject="s", audience="grade 5", style="flat", template="explainer",
                  outline_hash="h", shots=shots)  # fmt: skip


def make_clips(script: Script, folder: Path) -> list[Clip]:
    clips = []
    for i, shot in enumerate(script.shots):
        n = round(shot.duration_s * FPS)
        path = folder / f"v{i}.mp4"
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc=size=64x48:rate={FPS}", "-frames:v", str(n),
                    "-pix_fmt", "yuv420p", str(path)], what="test clip")  # fmt: skip
        clips.append(Clip(shot_id=shot.id, path=path, width=64, height=48, fps=FPS, num_frames=n, seed=0,
                          model="test", engine="test"))  # fmt: skip
    return clips


def silent_video(folder: Path, frames: int) -> Path:
    path = folder / "silent.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc=size=64x48:rate={FPS}", "-frames:v", str(frames),
                "-pix_fmt", "yuv420p", str(path)], what="silent video")  # fmt: skip
    return path


def decode(path: Path) -> np.ndarray:
    """The first audio track of `path`, mono float at 48 kHz."""
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE),
           "-f", "f32le", "-"]  # fmt: skip
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype="<f4")


def band_rms(samples: np.ndarray, lo_s: float, hi_s: float, hz: float) -> float:
    """RMS of the `hz` component (±20 Hz) of samples[lo_s:hi_s]."""
    chunk = samples[int(lo_s * SAMPLE_RATE) : int(hi_s * SAMPLE_RATE)]
    spectrum = np.abs(np.fft.rfft(chunk)) / len(chunk)
    freqs = np.fft.rfftfreq(len(chunk), 1 / SAMPLE_RATE)
    return float(np.sqrt(np.sum(spectrum[(freqs > hz - 20) & (freqs < hz + 20)] ** 2)))


# --- narrators -----------------------------------------------------------------------------------------------


def test_narrate_script_speaks_each_shot_once_and_caches(tmp_path: Path) -> None:
    script = make_script(["plants make food", "", "from light water and air"])
    tone = ToneNarrator()
    clips = narrate_script(tone, script, tmp_path, cache_dir=tmp_path / "cache")
    assert clips[1] is None and tone.calls == 2
    first = clips[0]
    assert first is not None and first.source == "tone"
    assert first.duration_s == pytest.approx(0.1 + 3 * 0.3, abs=1e-3)
    again = narrate_script(tone, script, tmp_path / "..", cache_dir=tmp_path / "cache")
    assert tone.calls == 2  # every line came from the cache
    assert [c.duration_s if c else None for c in again] == [c.duration_s if c else None for c in clips]


def test_a_narrator_that_does_not_speak_the_language_is_refused(tmp_path: Path) -> None:
    script = make_script(["hola"]).model_copy(update={"language": "es"})
    with pytest.raises(BadInputError, match="speaks en, not the script's language 'es'"):
        narrate_script(ToneNarrator(), script, tmp_path, cache_dir=tmp_path)


def test_fit_to_narration_grows_shots_to_hold_their_speech(tmp_path: Path) -> None:
    script = make_script(["one two three four five six seven eight", "short", "words here too"], duration_s=2.0)
    clips = narrate_script(ToneNarrator(), script, tmp_path, cache_dir=tmp_path)
    fitted = fit_to_narration(script, clips, FPS)
    long = clips[0]
    assert long is not None
    need = LEAD_S + long.duration_s + TAIL_S + 0.5 / 2  # first shot: no incoming transition
    assert fitted.shots[0].duration_s >= need and fitted.shots[0].duration_s - need < 1 / FPS + 1e-9
    assert (fitted.shots[0].duration_s * FPS) == pytest.approx(round(fitted.shots[0].duration_s * FPS))
    assert fitted.shots[1].duration_s == 2.0  # it already fits: shots never shrink
    with pytest.raises(BadInputError, match="2 narration clips"):
        fit_to_narration(script, clips[:2], FPS)
    huge = NarrationClip(shot_id="s0", path=tmp_path / "x.wav", duration_s=130, source="tone")
    with pytest.raises(BadInputError, match="longer than a shot may be"):
        fit_to_narration(script, [huge, None, None], FPS)


def test_files_narrator_takes_recordings_and_falls_back(tmp_path: Path) -> None:
    recordings = tmp_path / "rec"
    recordings.mkdir()
    write_wav(recordings / "s1.wav", 0.2 * np.sin(np.arange(22050) / 10), 22050)
    (recordings / "notes.txt").write_text("ignored")
    script = make_script(["spoken by the fallback", "", "stays silent?"])
    tone = ToneNarrator()
    clips = narrate_script(FilesNarrator.from_dir(recordings, fallback=tone), script, tmp_path, cache_dir=tmp_path)
    assert [c.source if c else None for c in clips] == ["tone", "file", "tone"]  # a recording even without text
    assert clips[1] is not None and clips[1].duration_s == pytest.approx(1.0)
    silent = narrate_script(FilesNarrator.from_dir(recordings), script, tmp_path, cache_dir=tmp_path)
    assert [c.source if c else None for c in silent] == [None, "file", None]


def test_files_narrator_bad_input_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="narration folder not found"):
        FilesNarrator.from_dir(tmp_path / "missing")
    with pytest.raises(BadInputError, match="shot 's1' not found"):
        FilesNarrator({"s1": tmp_path / "nope.wav"})
    junk = tmp_path / "s1.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(BadInputError, match=r"s1\.wav"):
        FilesNarrator({"s1": junk})
    with pytest.raises(BadInputError, match="unknown narrator 'robot'"):
        get_narrator("robot")


@pytest.mark.skipif(not piper_available(), reason="the narration extra (piper-tts + voice) is not installed")
def test_piper_speaks_offline_and_deterministically(tmp_path: Path) -> None:
    narrator = PiperNarrator()
    assert narrator.name == "piper:en_US-joe-medium" and narrator.languages == ("en",)
    a = narrator.synthesize("Plants make their own food.", tmp_path / "a.wav")
    b = narrator.synthesize("Plants make their own food.", tmp_path / "b.wav")
    assert a.read_bytes() == b.read_bytes()  # deterministic: timelines and caches are reproducible
    with wave.open(str(a)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 0.8 < seconds < 4.0
    with pytest.raises(BadInputError, match="speaks en"):
        narrator.synthesize("Hola", tmp_path / "c.wav", language="es")
    with pytest.raises(BadInputError, match="empty"):
        narrator.synthesize("  ", tmp_path / "d.wav")


# --- the sound track -----------------------------------------------------------------------------------------


def test_mix_command_crossfades_like_the_video_and_ducks_music(tmp_path: Path) -> None:
    script = make_script(["a b", "c", "d e f"])
    script.shots[1].transition = Transition(name="cut", duration_s=0)
    clips = make_clips(script, tmp_path)
    narration = narrate_script(ToneNarrator(), script, tmp_path, cache_dir=tmp_path)
    timeline = build_timeline(script, clips, FPS)
    plan = AudioPlan.for_lesson(timeline, [24, 24, 24], [6, 0], narration, fps=FPS)
    graph = " ".join(voice_command(plan, voice=tmp_path / "v.wav"))
    assert "acrossfade=ns=24000" in graph and "concat=n=2:v=0:a=1" in graph and "adelay=delays=12000S" in graph
    assert plan.total_samples == (72 - 6) * SAMPLE_RATE // FPS
    with pytest.raises(BadInputError, match="no music"):
        mix_command(plan, voice=tmp_path / "v.wav", mix=tmp_path / "m.wav", voice_gain_db=0, music_gain_db=0)
    music = tmp_path / "bed.wav"
    write_wav(music, np.zeros(100), 22050)
    with_music = AudioPlan.for_lesson(timeline, [24, 24, 24], [6, 0], narration, fps=FPS, music=music)
    graph = " ".join(mix_command(with_music, voice=tmp_path / "v.wav", mix=tmp_path / "m.wav", voice_gain_db=3,
                                 music_gain_db=-9))  # fmt: skip
    assert "-stream_loop -1" in graph and "sidechaincompress" in graph and "amix=inputs=2" in graph
    assert "volume=3.00dB" in graph and "volume=-9.00dB" in graph
    with pytest.raises(BadInputError, match="music file not found"):
        AudioPlan.for_lesson(timeline, [24, 24, 24], [6, 0], narration, fps=FPS, music=tmp_path / "none.mp3")


def test_sound_track_is_in_sync_at_minus_16_lufs_and_ducks_the_music(tmp_path: Path) -> None:
    script = make_script(["one two three", "", "four five six seven"], duration_s=2.5)
    narration = narrate_script(ToneNarrator(amplitude=0.02), script, tmp_path, cache_dir=tmp_path)  # very quiet
    script = fit_to_narration(script, narration, FPS)
    clips = make_clips(script, tmp_path)
    timeline = build_timeline(script, clips, FPS)
    frames = [c.num_frames for c in clips]
    total = sum(frames) - 2 * 6
    music = tmp_path / "bed.wav"
    write_wav(music, 0.3 * np.sin(2 * np.pi * 220 * np.arange(22050 * 3) / 22050), 22050)  # looped: 3 s < video
    plan = AudioPlan.for_lesson(timeline, frames, [6, 6], narration, fps=FPS, music=music)
    report, findings = add_sound_track(silent_video(tmp_path, total), plan, output=tmp_path / "out.mp4")
    assert findings == []  # in sync, speech where the timeline says, loudness on target
    assert report.loudness_lufs is not None and abs(report.loudness_lufs + 16) <= 1.0
    assert report.narrated_shots == ["s0", "s2"] and report.music.endswith("bed.wav")
    info = probe(tmp_path / "out.mp4")
    assert info.audio_tracks == 1 and info.frames == total
    audio = decode(tmp_path / "out.mp4")
    assert abs(len(audio) / SAMPLE_RATE - total / FPS) < 0.1
    speech_start, speech_end = report.speech["s2"]
    # The voice sits where the manifest says: the 440 Hz tone is loud inside the window, absent before it.
    assert band_rms(audio, speech_start + 0.2, speech_end - 0.1, 440) > 5 * band_rms(audio, 2.6, 3.6, 440)
    # The music is ducked while the narration speaks (the quiet shot s1 has music only).
    ducked = band_rms(audio, speech_start + 0.3, speech_end - 0.3, 220)
    open_bed = band_rms(audio, timeline[1].start_s + 0.3, timeline[1].end_s - 0.3, 220)
    assert ducked < open_bed / 2  # at least 6 dB of ducking


def test_check_sync_reports_drift_misplaced_speech_and_loudness(tmp_path: Path) -> None:
    script = make_script(["one two", "three"])
    narration = narrate_script(ToneNarrator(), script, tmp_path, cache_dir=tmp_path)
    timeline = build_timeline(script, make_clips(script, tmp_path), FPS)
    plan = AudioPlan.for_lesson(timeline, [24, 24], [6], narration, fps=FPS)
    (_, a0, b0, _, _), (_, a1, b1, _, _) = plan.speech
    good = [(a0 + 0.1, b0), (a1 + 0.1, b1)]
    assert check_sync(plan, good, audio_s=3.5, video_s=3.5, loudness=-16.2) == []
    kinds = [f.kind for f in check_sync(plan, [(a0 + 0.5, b0)], audio_s=3.9, video_s=3.5, loudness=-20.0)]
    assert kinds == ["av_sync", "speech_misplaced", "no_speech", "loudness"]


def test_render_with_narration_fits_shots_and_puts_captions_on_the_speech(tmp_path: Path) -> None:
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}", narrator=ToneNarrator(word_s=0.35))
    script = make_script(["the leaf opens its tiny pores to let air in while the sun shines", "roots drink water"],
                         duration_s=2.0)  # fmt: skip
    lesson = client.lessons.render(script, output=tmp_path / "lesson.mp4", size=(96, 54), fps=FPS,
                                   renditions=["1:1"])  # fmt: skip
    assert lesson.script.shots[0].duration_s > 5.0  # 14 words × 0.4 s did not fit in 2 s: the shot grew
    manifest = json.loads(lesson.manifest.read_text())
    audio = manifest["compose"]["audio"]
    assert audio["narrator"] == "tone" and audio["narrated_shots"] == ["s0", "s1"]
    assert abs(audio["loudness_lufs"] + 16) <= 1.0
    assert not [f for f in manifest["compose"]["quality"]["findings"] if f["kind"] != "frozen"]
    assert probe(lesson.video).audio_tracks == 1
    assert probe(tmp_path / "lesson.1x1.mp4").audio_tracks == 1  # renditions carry the sound
    assert manifest["script"]["shots"][0]["duration_s"] == lesson.script.shots[0].duration_s  # the fitted script
    start, end = audio["speech"]["s0"]
    vtt = lesson.captions.read_text()
    first_cue = next(line for line in vtt.splitlines() if "-->" in line)
    assert first_cue.startswith(f"00:00:00.{round(start * 1000):03d}")  # captions start with the voice
    assert end > start


def test_cli_narrator_none_renders_silently_whatever_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDUSDK_NARRATOR", "piper")  # would speak (or fail without the extra) if it were used
    monkeypatch.setenv("EDUSDK_DB", str(tmp_path / "edusdk.db"))
    outline = Path(__file__).resolve().parents[1] / "examples" / "outlines" / "photosynthesis.yaml"
    args = [
        "render",
        str(outline),
        "-o",
        str(tmp_path / "l.mp4"),
        "--size",
        "96x54",
        "--fps",
        "12",
        "--narrator",
        "none",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "l.mp4").audio_tracks == 0
    assert "audio" not in json.loads((tmp_path / "l.json").read_text())["compose"]


def test_cli_render_narration_flags_are_checked(tmp_path: Path) -> None:
    outline = Path(__file__).resolve().parents[1] / "examples" / "outlines" / "photosynthesis.yaml"
    runner = CliRunner()
    base = ["render", str(outline), "-o", str(tmp_path / "l.mp4"), "--size", "96x54"]
    result = runner.invoke(main, [*base, "--narrator", "robot"])
    assert result.exit_code == 2 and "--narrator" in result.output
    result = runner.invoke(main, [*base, "--narration-dir", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "narration folder not found" in result.output
    result = runner.invoke(main, [*base, "--music", str(tmp_path / "none.mp3"), "--narrator", "none"])
    assert result.exit_code == 2 and "music file not found" in result.output
    assert not list(tmp_path.glob("l.*"))


def test_compose_footage_keeps_and_crossfades_the_clips_sound(tmp_path: Path) -> None:
    def clip(name: str, tone: int | None) -> Path:
        path = tmp_path / name
        args = ["-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=12"]
        args += ["-f", "lavfi", "-i", f"sine=f={tone}:sample_rate=44100"] if tone else []
        args += ["-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p"] + (["-c:a", "aac", "-shortest"] if tone else [])
        run_ffmpeg([*args, str(path)], what="footage")
        return path

    files = [clip("a.mp4", 300), clip("b.mp4", None), clip("c.mp4", 900)]
    result = EduClient().compose(files, ["fade=0.5"], output=tmp_path / "joined.mp4")
    assert result.audio is not None and result.audio.clip_audio and result.audio.narrator == ""
    assert result.info.audio_tracks == 1 and abs((result.audio.loudness_lufs or 0) + 16) <= 1.0
    audio = decode(result.video)
    assert abs(len(audio) / SAMPLE_RATE - result.info.frames / 12) < 0.1
    # clip a (0–2 s) sounds 300 Hz, the silent clip b (1.5–3.5 s) nothing, c (3–5 s) 900 Hz; fades overlap them
    assert band_rms(audio, 0.2, 1.3, 300) > 10 * band_rms(audio, 2.1, 2.9, 300)
    assert band_rms(audio, 3.6, 4.8, 900) > 10 * band_rms(audio, 2.1, 2.9, 900)
    assert band_rms(audio, 1.55, 1.95, 300) < band_rms(audio, 0.2, 1.3, 300)  # fading out across the transition
    silent = EduClient().compose(files, ["fade=0.5"], output=tmp_path / "silent.mp4", audio=False)
    assert silent.audio is None and silent.info.audio_tracks == 0


@pytest.mark.skipif(not piper_available(), reason="the narration extra (piper-tts + voice) is not installed")
def test_auto_narrator_stays_silent_in_a_language_its_voice_does_not_speak(tmp_path: Path) -> None:
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}", narrator="auto")
    assert isinstance(client.narrator(language="en-GB"), PiperNarrator)
    assert client.narrator(language="es") is None  # rather than Spanish read by an English voice
    assert isinstance(client.narrator("piper", language="es"), PiperNarrator)  # asked for: refused at render
    assert client.narrator("none") is None


def test_narration_after_a_generated_bridge_starts_in_the_shots_own_clip(tmp_path: Path) -> None:
    script = make_script(["first shot words here", "second shot speaks too", "third"], duration_s=3)
    script.shots[0].transition = Transition(name="bridge", duration_s=1.0)
    client = EduClient(db=f"sqlite:///{tmp_path / 'edusdk.db'}", narrator=ToneNarrator())
    lesson = client.lessons.render(script, output=tmp_path / "lesson.mp4", size=(96, 54), fps=FPS)
    compose = json.loads(lesson.manifest.read_text())["compose"]
    assert compose["bridges"][0]["method"] == "generated"
    s1 = lesson.timeline[1]
    assert compose["audio"]["speech"]["s1"][0] == pytest.approx(s1.visible_start_s + LEAD_S)  # after the bridge
    assert compose["quality"]["findings"] == []  # speech inside its shot, in sync, on target
