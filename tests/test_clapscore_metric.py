"""Tests of :class:`humanclap.CLAPScore` (a torchmetrics metric) and its functional form
:func:`humanclap.score.clap_score`: the same numbers as :func:`humanclap.score.score_pairs` on the
same clips, in one process and in two (torch.distributed, gloo on the CPU)."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torchmetrics import Metric

import humanclap
from humanclap import models
from humanclap.models.hub_pins import HUMAN_CLAP_REPOS
from humanclap.score import CLAPScore, clap_score, score_pairs
from humanclap.score.functional import DEFAULT_MODEL

SPEC = "tiny:random"
#: (rate in Hz, seconds) of each clip: several rates, equal and unequal lengths within a rate.
CLIPS = [(16000, 0.5), (16000, 0.5), (22050, 0.4), (22050, 0.7), (44100, 0.3), (48000, 0.6),
         (8000, 0.5), (44100, 0.3)]  # fmt: skip
CAPTIONS = ["a dog barks", "rain falls on a roof", "a car passes by", "birds sing",
            "a dog barks", "wind howls", "a door slams", "people talk"]  # fmt: skip
TOL = 1e-6


@pytest.fixture(scope="module")
def model() -> models.ClapModel:
    return models.load(SPEC)


@pytest.fixture(scope="module")
def wav_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The clips of :data:`CLIPS` as 16-bit WAV files."""
    folder = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    paths = []
    for i, (rate, seconds) in enumerate(CLIPS):
        t = np.arange(int(rate * seconds)) / rate
        wave = 0.3 * np.sin(2 * np.pi * (200 + 150 * i) * t) + 0.05 * rng.standard_normal(t.size)
        paths.append(folder / f"{i}.wav")
        sf.write(paths[-1], wave.astype(np.float32), rate)
    return paths


@pytest.fixture(scope="module")
def reference(model: models.ClapModel, wav_files: list[Path]) -> np.ndarray:
    """score_pairs' scores of the (file, caption) pairs."""
    table = pd.DataFrame({"text": CAPTIONS, "audio": [str(p) for p in wav_files]})
    out = score_pairs(model, table, cache_dir=None, num_workers=0, column="score")
    assert (out["error"] == "").all()
    return out["score"].to_numpy()


def _batches(paths: list[Path], keep: list[int]) -> list[tuple[object, list[str], int, list[int]]]:
    """The pairs ``keep`` as update batches, one per sample rate: (audio, texts, rate, index).
    Equal lengths as a 2-D tensor or array, unequal ones as a list of 1-D arrays / tensors."""
    by_rate: dict[int, list[int]] = {}
    for i in keep:
        by_rate.setdefault(CLIPS[i][0], []).append(i)
    batches = []
    for rate, ids in by_rate.items():
        waves = [sf.read(paths[i], dtype="float32")[0] for i in ids]
        if len({w.size for w in waves}) == 1 and len(waves) > 1:
            audio = np.stack(waves) if rate == 44100 else torch.from_numpy(np.stack(waves))
        else:
            audio = [torch.from_numpy(w) if j % 2 else w for j, w in enumerate(waves)]
        batches.append((audio, [CAPTIONS[i] for i in ids], rate, ids))
    return batches


def test_metric_equals_score_pairs(model, wav_files, reference):
    metric = CLAPScore(model, per_pair=True)
    assert isinstance(metric, Metric)
    for audio, texts, rate, ids in _batches(wav_files, list(range(len(CLIPS)))):
        metric.update(audio, texts, sample_rate=rate, index=ids)
    out = metric.compute()
    assert out["clap_score"].ndim == 0 and out["clap_score"].dtype == torch.float64
    assert abs(out["clap_score"].item() - reference.mean()) < TOL
    order = out["index"].argsort()
    assert out["index"][order].tolist() == list(range(len(CLIPS)))
    np.testing.assert_allclose(out["scores"][order].numpy(), reference, rtol=0, atol=TOL)
    # without per_pair: the mean alone
    plain = CLAPScore(model)
    for audio, texts, rate, _ in _batches(wav_files, list(range(len(CLIPS)))):
        plain.update(audio, texts, sample_rate=rate)
    assert abs(plain.compute().item() - reference.mean()) < TOL


def test_functional_form_equals_score_pairs(model, wav_files, reference):
    for audio, texts, rate, ids in _batches(wav_files, list(range(len(CLIPS)))):
        out = clap_score(audio, texts, model, sample_rate=rate, per_pair=True)
        np.testing.assert_allclose(out["scores"].numpy(), reference[ids], rtol=0, atol=TOL)
        mean = clap_score(audio, texts, model, sample_rate=rate)
        assert abs(mean.item() - reference[ids].mean()) < TOL


def test_stereo_batches_are_averaged_as_files_are(model, tmp_path):
    rng = np.random.default_rng(1)
    stereo = (0.2 * rng.standard_normal((2, 13230, 2))).astype(np.float32)  # (B, T, C)
    paths = [tmp_path / "a.wav", tmp_path / "b.wav"]
    for path, wave in zip(paths, stereo, strict=True):
        sf.write(path, wave, 44100, subtype="FLOAT")
    table = pd.DataFrame({"text": CAPTIONS[:2], "audio": [str(p) for p in paths]})
    ref = score_pairs(model, table, cache_dir=None, num_workers=0, column="s")["s"].to_numpy()
    batch = torch.from_numpy(stereo.transpose(0, 2, 1).copy())  # (B, C, T)
    out = clap_score(batch, CAPTIONS[:2], model, sample_rate=44100, per_pair=True)
    np.testing.assert_allclose(out["scores"].numpy(), ref, rtol=0, atol=TOL)


def test_reset_and_forward(model, wav_files, reference):
    (audio, texts, rate, ids), *rest = _batches(wav_files, list(range(len(CLIPS))))
    metric = CLAPScore(model, sample_rate=rate, per_pair=True)
    batch_value = metric(audio, texts, index=ids)  # forward: this batch's value, accumulated
    assert abs(batch_value["clap_score"].item() - reference[ids].mean()) < TOL
    audio2, texts2, rate2, ids2 = rest[0]
    metric.update(audio2, texts2, sample_rate=rate2, index=ids2)
    assert abs(metric.compute()["clap_score"].item() - reference[ids + ids2].mean()) < TOL
    metric.reset()
    assert metric.num_pairs.item() == 0 and metric.score_sum.item() == 0 and metric.scores == []
    metric.update(audio2, texts2, sample_rate=rate2)
    out = metric.compute()
    assert abs(out["clap_score"].item() - reference[ids2].mean()) < TOL
    assert "index" not in out  # not given since the reset
    with pytest.warns(UserWarning, match="no pairs"):
        empty = CLAPScore(model, sample_rate=rate)
        assert torch.isnan(empty.compute())


def test_model_by_spec_or_object(model, wav_files, reference):
    by_spec = CLAPScore(SPEC, device="cpu", precision="fp32")
    by_object = CLAPScore(model)
    assert by_object.model is model and by_spec.model.spec == SPEC
    assert by_spec.model.fingerprint == model.fingerprint
    for metric in (by_spec, by_object):
        for audio, texts, rate, _ in _batches(wav_files, [0, 1, 5]):
            metric.update(audio, texts, sample_rate=rate)
        assert abs(metric.compute().item() - reference[[0, 1, 5]].mean()) < TOL
        # the CLAP model is no submodule: not trained, checkpointed or wrapped with the metric
        assert list(metric.parameters()) == [] and list(metric.state_dict()) == []
    assert humanclap.CLAPScore is CLAPScore and "CLAPScore" in dir(humanclap)


def test_model_follows_the_metric_unless_its_device_is_given(new_small_tiny):
    follows = CLAPScore(new_small_tiny())
    follows.to("meta")  # any device other than the CPU shows the move
    assert follows.device.type == "meta" and follows.model.device.type == "meta"
    fixed = CLAPScore(new_small_tiny(), device="cpu")
    fixed.to("meta")
    assert fixed.device.type == "meta" and fixed.model.device.type == "cpu"
    assert fixed.score_sum.dtype == torch.float64


def test_default_model_is_human_clap_and_offline_errors_are_clear(tmp_path, monkeypatch):
    assert DEFAULT_MODEL.removeprefix("hf:") in HUMAN_CLAP_REPOS
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))  # nothing cached, offline
    with pytest.raises(FileNotFoundError, match="human-clap-wsce-mae.*offline"):
        CLAPScore()


def _bad_inputs() -> dict[str, tuple[dict, type, str]]:
    wave = np.zeros(1600, np.float32) + 0.1
    nan = wave.copy()
    nan[5] = np.nan
    two = [wave, wave]
    return {
        "misaligned": (dict(audio=two, texts=["a", "b", "c"]), ValueError, "2 clips and 3 texts"),
        "empty caption": (dict(audio=two, texts=["a", " "]), ValueError, r"texts\[1\]: empty"),
        "caption not str": (dict(audio=two, texts=["a", 3]), TypeError, r"texts\[1\]"),
        "one string": (dict(audio=two, texts="ab"), TypeError, "texts"),
        "nan samples": (
            dict(audio=[wave, nan], texts=["a", "b"]),
            ValueError,
            r"audio\[1\].*non-finite",
        ),
        "one clip": (dict(audio=torch.from_numpy(wave), texts=["a"]), ValueError, "one clip"),
        "4-D": (dict(audio=np.zeros((1, 1, 1, 9), np.float32), texts=["a"]), ValueError, "shape"),
        "2-D item": (dict(audio=[np.stack(two)], texts=["a"]), ValueError, r"audio\[0\].*1-D"),
        "integers": (
            dict(audio=np.ones((2, 9), np.int16), texts=["a", "b"]),
            ValueError,
            "floating-point",
        ),
        "empty clip": (
            dict(audio=[wave, wave[:0]], texts=["a", "b"]),
            ValueError,
            r"audio\[1\]: no audio frames",
        ),
        "path": (dict(audio="clip.wav", texts=["a"]), TypeError, "path"),
        "no rate": (dict(audio=two, texts=["a", "b"], sample_rate=None), ValueError, "sample_rate"),
        "zero rate": (dict(audio=two, texts=["a", "b"], sample_rate=0), ValueError, "sample_rate"),
        "index without per_pair": (
            dict(audio=two, texts=["a", "b"], index=[0, 1]),
            ValueError,
            "per_pair=True",
        ),
    }


@pytest.mark.parametrize("case", list(_bad_inputs()))
def test_bad_input_is_a_clear_error_and_changes_nothing(model, case):
    kwargs, error, message = _bad_inputs()[case]
    kwargs.setdefault("sample_rate", 16000)
    metric = CLAPScore(model)
    with pytest.raises(error, match=message):
        metric.update(**kwargs)
    assert metric.num_pairs.item() == 0 and metric.score_sum.item() == 0


def test_bad_index_and_options(model):
    metric = CLAPScore(model, sample_rate=16000, per_pair=True)
    wave = np.full(1600, 0.1, np.float32)
    with pytest.raises(ValueError, match="index: 1 ids for 2 pairs"):
        metric.update([wave, wave], ["a", "b"], index=[0])
    with pytest.raises(ValueError, match="integer ids"):
        metric.update([wave], ["a"], index=[0.5])
    metric.update([wave], ["a"], index=[0])
    metric.update([wave], ["b"])
    with pytest.raises(ValueError, match="in every update or in none"):
        metric.compute()
    with pytest.raises(ValueError, match="precision"):
        CLAPScore(model, precision="fp8")
    with pytest.raises(ValueError, match="precision='fp16' needs CUDA"):
        CLAPScore(model, device="cpu", precision="fp16")
    with pytest.raises(TypeError, match="model"):
        CLAPScore(3)


# ----------------------------------------------------------------------------- two processes
def _ddp_worker(rank: int, world: int, store: str, paths: list[Path], out: str) -> None:
    """One process of :func:`test_two_processes_give_the_single_process_value`: update on the
    pairs ``i % world == rank``, compute, save what this process got."""
    dist.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=world,
        timeout=datetime.timedelta(seconds=60),
    )  # fmt: skip
    try:
        clap = models.load(SPEC)  # the same weights in every process (and in the reference)
        mean_only, metric = CLAPScore(clap), CLAPScore(clap, per_pair=True)
        keep = [i for i in range(len(CLIPS)) if i % world == rank]
        for audio, texts, rate, ids in _batches(paths, keep):
            metric.update(audio, texts, sample_rate=rate, index=ids)
            mean_only.update(audio, texts, sample_rate=rate)
        result = {**metric.compute(), "mean_only": mean_only.compute()}
        torch.save({k: v.cpu() for k, v in result.items()}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_two_processes_give_the_single_process_value(wav_files, reference, tmp_path):
    world = 2
    out = tmp_path / "result"
    mp.spawn(_ddp_worker, args=(world, str(tmp_path / "store"), wav_files, str(out)),
             nprocs=world, join=True)  # fmt: skip
    for rank in range(world):  # every process computes the value of all pairs
        got = torch.load(f"{out}.{rank}", weights_only=True)
        assert abs(got["clap_score"].item() - reference.mean()) < TOL
        assert abs(got["mean_only"].item() - reference.mean()) < TOL
        order = got["index"].argsort()  # gathered process by process: compare by pair id
        assert got["index"][order].tolist() == list(range(len(CLIPS)))
        np.testing.assert_allclose(got["scores"][order].numpy(), reference, rtol=0, atol=TOL)
