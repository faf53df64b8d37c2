"""Front-end features computed once per process (humanclap.train.features, ClipStore)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from humanclap.models import tiny
from humanclap.train.clips import ClipStore
from humanclap.train.features import FeatureCache
from humanclap.train.pairs import PairData, prepare_pairs

CFG = tiny.TinyConfig(max_seconds=1.0, channels=(8, 16), time_segments=2, d_model=32,
                      n_heads=2, ff_dim=32, head_dim=32, embed_dim=16)  # fmt: skip


@pytest.fixture
def clips(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i, seconds in enumerate([0.5, 1.0, 1.7, 0.3]):
        path = tmp_path / f"c{i}.wav"
        sf.write(path, rng.uniform(-0.5, 0.5, int(16_000 * seconds)).astype("float32"), 16_000)
        paths.append(str(path))
    return paths


def _pairs(paths: list[str]) -> PairData:
    table = pd.DataFrame({"audio": paths, "text": [f"t {i}" for i in range(len(paths))],
                          "target": np.linspace(0.1, 0.9, len(paths))})  # fmt: skip
    return prepare_pairs(table, "train_pairs", None, min_rows=2)


def test_features_equal_the_models_own_path(clips: list[str]) -> None:
    model = tiny.TinyClap(CFG).eval()
    store = ClipStore(
        16_000, [_pairs(clips)], preload=True, model=model, feature_cache=FeatureCache()
    )
    assert store.feature_key == model.audio_features_key and not store.clips
    batch = next(store.batches([clips]))
    assert batch.shape == (4, CFG.n_mels, 1 + 16_000 // CFG.hop_length)
    waves = [store.decode(p) for p in clips]
    with torch.no_grad():
        direct = model.embed_audio(waves)
        via = store.embed(model, batch)
    torch.testing.assert_close(via, direct, rtol=0, atol=1e-6)
    other = tiny.TinyClap(tiny.TinyConfig(max_seconds=2.0))
    with pytest.raises(ValueError, match="front end"):
        store.embed(other, batch)


def test_features_are_computed_once_and_shared(clips: list[str]) -> None:
    model = tiny.TinyClap(CFG)
    cache, calls = FeatureCache(), []

    def counting(audio):
        calls.append(len(audio))
        return model.audio_features(audio)

    key = model.audio_features_key
    first = cache.fill(key, clips, ClipStore(16_000, [], preload=False).decode, counting, 3)
    assert calls == [3, 1] and len(cache) == 4
    second = cache.fill(key, clips[::-1], lambda p: pytest.fail("decoded again"), counting)
    assert calls == [3, 1] and all(second[p] is first[p] for p in clips)
    os.utime(clips[0], ns=(0, 0))  # a changed file is a new entry
    cache.fill(key, clips, ClipStore(16_000, [], preload=False).decode, counting)
    assert calls == [3, 1, 1]
    assert cache.get("another front end", clips[1]) is None


def test_the_cache_keeps_its_memory_budget(clips: list[str]) -> None:
    one = torch.zeros(100)  # 400 bytes
    cache = FeatureCache(limit_bytes=1000)
    for path in clips[:3]:
        cache.put("k", path, one.clone())
    assert len(cache) == 2 and cache.nbytes == 800
    assert cache.get("k", clips[0]) is None and cache.get("k", clips[2]) is not None


def test_a_non_finite_clip_names_its_row_and_file(clips: list[str]) -> None:
    sf.write(clips[2], np.full(800, np.nan, dtype="float32"), 16_000, subtype="FLOAT")
    model = tiny.TinyClap(CFG)
    with pytest.raises(ValueError, match=r"train_pairs row 2: .*c2\.wav: 800 non-finite"):
        ClipStore(16_000, [_pairs(clips)], preload=True, model=model, feature_cache=FeatureCache())


def test_a_store_without_a_model_keeps_waveforms(clips: list[str]) -> None:
    store = ClipStore(16_000, [_pairs(clips)], preload=True)
    assert store.feature_key is None and len(store.clips) == 4
    assert isinstance(next(store.batches([clips[:2]])), list)


def test_a_store_for_a_model_with_frozen_audio_blocks_keeps_their_output(clips: list[str]) -> None:
    model = tiny.TinyClap(CFG).eval()
    model.trainable_parameters("freeze-audio:1")
    cache = FeatureCache()
    store = ClipStore(16_000, [_pairs(clips)], preload=True, model=model, feature_cache=cache)
    assert store.feature_depth == 1 and store.feature_key == model.features_key(1)
    batch = next(store.batches([clips]))
    assert batch.shape[:2] == (4, CFG.channels[0])
    with torch.no_grad():
        direct = model.embed_audio([store.decode(p) for p in clips])
        torch.testing.assert_close(store.embed(model, batch), direct, rtol=0, atol=1e-6)
    changed = tiny.TinyClap(CFG)
    with torch.no_grad():
        changed.audio_encoder.blocks[0].conv.weight.mul_(2.0)
    with pytest.raises(ValueError, match="first 1 audio blocks differ"):
        store.embed(changed, batch)
    model.trainable_parameters("all")  # depth 0: the log-mel, kept beside the depth-1 output
    again = ClipStore(16_000, [_pairs(clips)], preload=True, model=model, feature_cache=cache)
    assert again.feature_depth == 0 and len(cache) == 8
