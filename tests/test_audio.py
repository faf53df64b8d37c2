"""Tests of :mod:`humanclap.audio`: decoding, resampling (= librosa.load) and every bad case."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from humanclap.audio import (
    AudioError,
    AudioNotFoundError,
    audio_warnings,
    decode_audio,
    load_audio,
    load_audio_info,
    resample,
    validate_wave,
)

librosa = pytest.importorskip("librosa")


def _tone(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A chirp plus a little noise, shape (T,) or (T, C), peak < 1."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    base = 0.5 * np.sin(2 * np.pi * (220 + 400 * t) * t) + 0.05 * rng.standard_normal(t.size)
    if channels == 1:
        return base.astype(np.float32)
    cols = [base * (0.5 + 0.5 * c) + 0.01 * c for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def _assert_like_librosa(path, sample_rate: int) -> np.ndarray:
    wave = load_audio(path, sample_rate)
    ref, sr = librosa.load(path, sr=sample_rate)
    assert sr == sample_rate
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert wave.shape == ref.shape
    np.testing.assert_allclose(wave, ref, atol=1e-6, rtol=0)
    return wave


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_any_sample_rate_matches_librosa(tmp_path, rate):
    path = tmp_path / f"tone_{rate}.wav"
    sf.write(path, _tone(0.5, rate), rate, subtype="PCM_16")
    wave = _assert_like_librosa(path, 16000)
    assert wave.shape == (int(np.ceil(sf.info(path).frames * 16000 / rate)),)


@pytest.mark.parametrize(
    ("fmt", "subtype", "suffix"),
    [
        ("WAV", "PCM_U8", ".wav"),
        ("WAV", "PCM_16", ".wav"),
        ("WAV", "PCM_24", ".wav"),
        ("WAV", "PCM_32", ".wav"),
        ("WAV", "FLOAT", ".wav"),
        ("WAV", "DOUBLE", ".wav"),
        ("FLAC", "PCM_16", ".flac"),
        ("FLAC", "PCM_24", ".flac"),
        ("OGG", "VORBIS", ".ogg"),
    ],
)
def test_formats_match_librosa(tmp_path, fmt, subtype, suffix):
    path = tmp_path / f"clip_{subtype}{suffix}"
    sf.write(path, _tone(0.4, 22050), 22050, format=fmt, subtype=subtype)
    wave = _assert_like_librosa(path, 16000)
    # the decoded clip is the written one, up to quantisation / lossy coding
    ref = resample(_tone(0.4, 22050), 22050, 16000)
    tol = {"PCM_U8": 0.02, "VORBIS": 0.2}.get(subtype, 1e-3)
    assert np.max(np.abs(wave - ref)) < tol


def test_stereo_is_averaged(tmp_path):
    stereo = _tone(0.3, 16000, channels=2)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 16000, subtype="FLOAT")
    wave = _assert_like_librosa(path, 16000)
    np.testing.assert_allclose(wave, stereo.mean(axis=1), atol=1e-7)
    path44 = tmp_path / "stereo44.wav"
    sf.write(path44, _tone(0.3, 44100, channels=2), 44100, subtype="PCM_24")
    _assert_like_librosa(path44, 48000)  # upsampling too


def test_same_rate_is_identity(tmp_path):
    x = _tone(0.25, 16000)
    path = tmp_path / "float.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path, 16000), x)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioNotFoundError, match="nope.wav") as info:
        load_audio(path, 16000)
    assert isinstance(info.value, AudioError) and isinstance(info.value, FileNotFoundError)
    with pytest.raises(AudioError, match="is a directory"):
        load_audio(tmp_path, 16000)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty.wav: empty file \(0 bytes\)"):
        load_audio(path, 16000)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="garbage.wav: cannot decode"):
        load_audio(path, 16000)
    with pytest.raises(AudioError, match="garbage.wav: cannot decode"):
        load_audio_info(path)
    truncated = tmp_path / "truncated.flac"
    sf.write(truncated, _tone(0.5, 16000), 16000, format="FLAC")
    truncated.write_bytes(truncated.read_bytes()[:20])
    with pytest.raises(AudioError, match="truncated.flac"):
        load_audio(truncated, 16000)


def test_zero_frames(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    assert load_audio_info(path).frames == 0
    with pytest.raises(AudioError, match="zero.wav: no audio frames"):
        load_audio(path, 16000)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    x = _tone(0.2, 16000)
    x[100] = bad
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan.wav: 1 non-finite .* first at sample 100"):
        load_audio(path, 16000)


def test_silence_accepted_and_flagged(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000 * 2, dtype=np.float32), 16000, subtype="PCM_16")
    wave = load_audio(path, 22050)
    assert wave.shape == (44100,) and not wave.any()
    assert audio_warnings(wave, 22050) == ["silent"]
    assert audio_warnings(_tone(2.0, 16000), 16000) == []


def test_short_clip_accepted_and_flagged(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, _tone(0.05, 48000), 48000)
    wave = _assert_like_librosa(path, 16000)
    assert wave.shape == (800,)
    assert audio_warnings(wave, 16000) == ["short (0.05 s)"]


def test_long_clip_accepted_and_flagged(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, _tone(60.0, 8000), 8000, format="FLAC")
    wave = load_audio(path, 16000)
    assert wave.shape == (60 * 16000,)
    assert audio_warnings(wave, 16000, max_seconds=10) == ["long (60.0 s > 10 s window)"]
    assert audio_warnings(wave, 16000) == []
    assert audio_warnings(wave[: int(10.05 * 16000)], 16000, max_seconds=10) == []
    # the flag says what the model does with the rest (its long_clips)
    first = "long (60.0 s > 10 s window: only the first 10 s is scored)"
    assert audio_warnings(wave, 16000, 10, "first window") == [first]
    fused = audio_warnings(wave, 16000, 10, "fusion")
    assert fused == ["long (60.0 s > 10 s window: fusion sees it whole, shrunk to 10 s, plus "
                     "three 10 s chunks)"]  # fmt: skip
    with pytest.raises(ValueError, match="long_clips"):
        audio_warnings(wave, 16000, 10, "middle")


def test_info(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, _tone(0.5, 44100, channels=2), 44100, format="FLAC", subtype="PCM_24")
    info = load_audio_info(path)
    assert (info.sample_rate, info.channels, info.frames) == (44100, 2, 22050)
    assert info.duration == pytest.approx(0.5)
    assert (info.format, info.subtype) == ("FLAC", "PCM_24")


def test_validate_wave():
    x = validate_wave(np.arange(4, dtype=np.float64) / 4)
    assert x.dtype == np.float32 and x.flags.c_contiguous
    with pytest.raises(AudioError, match=r"audio\[2\]: expected a 1-D"):
        validate_wave(np.zeros((2, 3), np.float32), "audio[2]")
    with pytest.raises(AudioError, match="floating-point"):
        validate_wave(np.zeros(3, np.int16))
    with pytest.raises(AudioError, match="empty"):
        validate_wave(np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="non-finite"):
        validate_wave(np.array([0.0, np.nan], np.float32))


def test_bad_sample_rate(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, _tone(0.1, 16000), 16000)
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(path, 0)


def test_decode_audio_equals_load_audio(tmp_path):
    for name, rate, kw in [
        ("a.ogg", 44100, {"format": "OGG", "subtype": "VORBIS"}),
        ("b.flac", 22050, {"format": "FLAC"}),
        ("c.wav", 8000, {"subtype": "PCM_24"}),
    ]:
        path = tmp_path / name
        sf.write(path, _tone(0.3, rate, channels=2), rate, **kw)
        np.testing.assert_array_equal(
            decode_audio(path.read_bytes(), 16000, str(path)), load_audio(path, 16000)
        )
    with pytest.raises(AudioError, match=r"x.wav: empty file"):
        decode_audio(b"", 16000, "x.wav")
    with pytest.raises(AudioError, match=r"y.wav: cannot decode"):
        decode_audio(b"RIFF0000garbage", 16000, "y.wav")
