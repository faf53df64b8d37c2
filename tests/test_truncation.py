"""Truncated audio files (issue 10): found from their bytes (WAV, RF64, FLAC, Ogg), refused by
default, scored and flagged only with ``allow_truncated``, and never served from the embedding
cache to a call that does not allow them. Odd but whole files are not "truncated"."""

from __future__ import annotations

import io
import struct

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from humanclap.audio import (
    AudioError,
    Truncation,
    decode_audio,
    decode_with_truncation,
    load_audio,
)
from humanclap.cli import main
from humanclap.cli.score import EXIT_ROWS_FAILED
from humanclap.embed import embed_audio
from humanclap.models import load
from humanclap.score import clapscore, score_column, score_pairs

SR = 16000
REFUSED = "truncated: header declares 3.00 s, file holds 1.80 s"
FLAG = "truncated (header 3.00 s, file 1.80 s)"


def _noise(seconds: float = 3.0, rate: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal(int(seconds * rate))).astype(np.float32)


def _encode(wave: np.ndarray, rate: int = SR, **kw) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wave, rate, **{"format": "WAV", **kw})
    return buf.getvalue()


def _cut(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


@pytest.fixture(scope="module")
def model():
    return load("tiny:random")


@pytest.fixture
def truncated_wav(tmp_path):
    """A 3.0 s 16-bit WAV cut to 60 % of its bytes (1.80 s left), and the whole file."""
    whole = tmp_path / "whole.wav"
    whole.write_bytes(_encode(_noise(), subtype="PCM_16"))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(_cut(whole.read_bytes()))
    return cut, whole


# ----------------------------------------------------------------------------- decoding
def test_truncated_wav_is_refused_unless_allowed(truncated_wav):
    cut, whole = truncated_wav
    with pytest.raises(AudioError, match=f"cut.wav: {REFUSED}$"):
        load_audio(cut, SR)
    with pytest.raises(AudioError, match=f"x.wav: {REFUSED}$"):
        decode_audio(cut.read_bytes(), SR, "x.wav")
    wave = load_audio(cut, SR, allow_truncated=True)
    assert wave.shape == (28791,)  # the whole frames present
    np.testing.assert_array_equal(wave, load_audio(whole, SR)[: wave.shape[0]])
    same, truncation = decode_with_truncation(cut.read_bytes(), SR, "x", allow_truncated=True)
    np.testing.assert_array_equal(same, wave)
    assert truncation.flag() == FLAG and truncation.reason() == REFUSED
    assert Truncation.from_dict(truncation.to_dict()) == truncation
    assert decode_with_truncation(whole.read_bytes(), SR, "x")[1] is None


def _with_chunk_before_data(data: bytes, chunk: bytes) -> bytes:
    at = data.index(b"data")
    out = bytearray(data[:at] + chunk + data[at:])
    struct.pack_into("<I", out, 4, len(out) - 8)  # the RIFF size
    return bytes(out)


def _data_size(data: bytes, size: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<I", out, data.index(b"data") + 4, size)
    return bytes(out)


_LIST = b"LIST" + struct.pack("<I", 14) + b"INFOISFT" + struct.pack("<I", 2) + b"x\0"
_ODD = b"junk" + struct.pack("<I", 3) + b"abc\0"  # odd size: one pad byte follows


@pytest.mark.parametrize(
    "variant",
    ["extensible", "list-before-data", "odd-chunk", "streamed-ffffffff", "rf64", "float"],
)
def test_odd_but_whole_wavs_are_not_truncated(variant):
    wave = _noise(1.0)
    plain = _encode(wave, subtype="PCM_16")
    data = {
        "extensible": lambda: _encode(wave, format="WAVEX", subtype="PCM_24"),
        "list-before-data": lambda: _with_chunk_before_data(plain, _LIST),
        "odd-chunk": lambda: _with_chunk_before_data(plain, _ODD),
        "streamed-ffffffff": lambda: _data_size(plain, 0xFFFFFFFF),
        "rf64": lambda: _encode(wave, format="RF64", subtype="PCM_16"),
        "float": lambda: _encode(wave, subtype="FLOAT"),
    }[variant]()
    decoded, truncation = decode_with_truncation(data, SR, "x.wav")
    assert truncation is None and decoded.shape == (SR,)
    if variant == "extensible":
        assert struct.unpack_from("<H", data, 20)[0] == 0xFFFE  # WAVE_FORMAT_EXTENSIBLE
    # cut, each of them is truncated (a streamed file declares no size: it cannot be)
    if variant != "streamed-ffffffff":
        with pytest.raises(AudioError, match=r"x.wav: truncated: header declares 1.00 s"):
            decode_audio(_cut(data), SR, "x.wav")


def test_data_size_zero_is_not_truncated():
    data = _data_size(_encode(_noise(1.0), subtype="PCM_16"), 0)
    with pytest.raises(AudioError, match=r"x.wav: no audio frames \(valid header, 0 samples\)"):
        decode_audio(data, SR, "x.wav")


def test_truncated_flac():
    data = _encode(_noise(), format="FLAC")
    assert decode_with_truncation(data, SR, "x.flac")[1] is None
    with pytest.raises(AudioError, match=r"x.flac: truncated: header declares 3.00 s, file holds"):
        decode_audio(_cut(data), SR, "x.flac")
    wave, truncation = decode_with_truncation(_cut(data), SR, "x.flac", allow_truncated=True)
    assert truncation.declared == 3.0 and 1.5 < truncation.present < 1.8
    assert wave.shape == (round(truncation.present * SR),)
    np.testing.assert_array_equal(wave, decode_audio(data, SR)[: wave.shape[0]])


def test_truncated_ogg_says_truncated():
    data = _encode(_noise(), format="OGG", subtype="VORBIS")
    assert decode_with_truncation(data, SR, "x.ogg")[1] is None
    with pytest.raises(AudioError, match=r"x.ogg: truncated: no end-of-stream page \(file holds"):
        decode_audio(_cut(data), SR, "x.ogg")
    wave, truncation = decode_with_truncation(_cut(data), SR, "x.ogg", allow_truncated=True)
    assert truncation.flag() == f"truncated (no end-of-stream page, file {wave.size / SR:.2f} s)"
    short = _encode(_noise(0.5), format="OGG", subtype="VORBIS")  # used to say "no audio frames"
    for allow in (False, True):
        with pytest.raises(AudioError, match="x.ogg: truncated: no end-of-stream page") as err:
            decode_audio(short[:-1], SR, "x.ogg", allow_truncated=allow)
        assert "no audio frames (valid header" not in str(err.value)


def test_messages_name_the_file_not_a_file_object():
    for data in (b"RIFF0000garbage", np.random.default_rng(0).bytes(3000)):
        with pytest.raises(AudioError) as err:
            decode_audio(data, SR, "y.wav")
        assert str(err.value).startswith("y.wav: cannot decode audio (")
        assert "object at 0x" not in str(err.value) and "<" not in str(err.value)
    with pytest.raises(AudioError) as err:
        decode_audio(b"RIFF0000garbage", SR)
    assert "<bytes>" not in str(err.value) and "object at" not in str(err.value)


# ----------------------------------------------------------------------------- embedding, scoring
def test_embedding_refuses_allows_and_the_cache_keeps_the_flag(model, truncated_wav, tmp_path):
    cut, whole = truncated_wav
    cache = tmp_path / "cache"
    emb, info = embed_audio(model, [whole, cut], cache_dir=cache, errors="nan", return_info=True)
    assert np.isfinite(emb[0]).all() and np.isnan(emb[1]).all()
    assert info.errors == {1: f"{cut}: {REFUSED}"}
    allowed, info = embed_audio(
        model, [whole, cut], cache_dir=cache, allow_truncated=True, return_info=True
    )
    assert info.n_cached == 1 and info.n_embedded == 1
    assert info.warnings[1][0] == FLAG
    # the entry cached from the allowed call is not served as fine to one that does not allow it
    again, info = embed_audio(model, [cut], cache_dir=cache, errors="nan", return_info=True)
    assert np.isnan(again).all() and info.errors == {0: f"{cut}: {REFUSED}"}
    assert info.n_embedded == 0
    cached, info = embed_audio(
        model, [cut], cache_dir=cache, allow_truncated=True, return_info=True
    )
    assert info.n_cached == 1 and info.warnings[0][0] == FLAG
    np.testing.assert_array_equal(cached[0], allowed[1])


def test_score_pairs_flags_allowed_truncated_clips(model, truncated_wav):
    cut, whole = truncated_wav
    pairs = pd.DataFrame({"text": ["rain", "rain"], "audio": [whole.name, cut.name]})
    refused = score_pairs(model, pairs, audio_dir=cut.parent, cache_dir=None)
    col = score_column(model.spec)  # the score column is named after the model
    assert np.isnan(refused.loc[1, col]) and refused.loc[1, "error"].endswith(REFUSED)
    allowed = score_pairs(model, pairs, audio_dir=cut.parent, cache_dir=None, allow_truncated=True)
    assert allowed[col].notna().all() and (allowed["error"] == "").all()
    assert allowed.loc[1, "warning"] == FLAG and allowed.loc[0, "warning"] == ""
    scores = clapscore(model, ["rain"], [cut], cache_dir=None, allow_truncated=True)
    assert scores[0] == pytest.approx(allowed.loc[1, col])


def test_cli_refuses_truncated_files_unless_allow_truncated(truncated_wav, tmp_path, capsys):
    cut, whole = truncated_wav
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"text,audio\nrain,{whole.name}\nrain,{cut.name}\n")
    out = tmp_path / "out.csv"
    args = ["score", "--model", "tiny:random", "--pairs", str(pairs), "--out", str(out)]
    assert main([*args, "--cache-dir", "none"]) == EXIT_ROWS_FAILED
    err = capsys.readouterr().err
    assert f"{pairs} line 3: {cut}: {REFUSED}" in err and "--allow-truncated" in err
    assert main([*args, "--cache-dir", "none", "--allow-truncated"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table["warning"]) == ["", FLAG] and list(table["error"]) == ["", ""]
