"""Fine-tuning transformers' ``ClapModel`` (the ``"hf"`` backend, fusion included) with
:func:`humanclap.train.finetune`: the paper's setting (Human-CLAP fine-tunes
``laion/clap-htsat-fused``) on a small random fused model, offline, on the CPU.

Ten generated clips of 3 to 14 s, half written at 16 kHz (decoded and resampled to the
model's 48 kHz by the trainer), half at 48 kHz. Each enters the model as 4 mel channels marked
``is_longer``, so the fusion branch sees them all: a clip over 10 s as the whole clip shrunk to
10 s and three 10 s chunks, a shorter one as its padded mel four times (``ClapProcessor``'s
marking of a single clip). Resuming is tested as in ``test_train.py``, with its helpers.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from test_hf import _hermetic  # noqa: E402
from test_train import _assert_same_weights, _Kill, _state  # noqa: E402

from humanclap import models, runtime, train  # noqa: E402
from humanclap.audio import load_audio  # noqa: E402
from humanclap.models import hf  # noqa: E402

#: (seconds, file rate) of the ten clips; the first six are the training pairs.
CLIPS = [
    (3.0, 16_000), (12.5, 48_000), (5.0, 48_000), (14.0, 16_000), (10.0, 48_000), (7.0, 16_000),
    (13.0, 48_000), (6.0, 16_000), (9.0, 48_000), (11.0, 16_000),
]  # fmt: skip
TEXTS = ["a dog barks twice", "rain falls on a tin roof", "a bell rings", "an engine idles"]
FUSION_PARAMS = ("patch_embed.fusion_model.", "patch_embed.mel_conv2d.")


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread: every run here the same (the resume test compares weights bit for
    bit with the module's run), and no thread team stalled by a busy machine's other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _offline_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Offline, an empty private HF cache, one thread."""
    _hermetic(monkeypatch, tmp_path / "hf-cache")
    with _one_thread():
        yield


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> hf.HfClap:
    """A small random fused ``ClapModel`` (``hf.small_config()``), GPT-2 fallback tokenizer."""
    with pytest.MonkeyPatch.context() as mp:
        _hermetic(mp, tmp_path_factory.mktemp("hf-cache"))
        mp.setenv("HUMANCLAP_CACHE", str(tmp_path_factory.mktemp("humanclap-cache")))
        return models.load("hf:random:0", config=hf.small_config())


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """6 training and 4 validation pairs (``audio`` paths, ``text``, ``target``): clip ``i`` is a
    decaying tone of its own pitch in noise, its caption one of four, its target random."""
    folder = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    rows = []
    for i, (seconds, rate) in enumerate(CLIPS):
        t = np.arange(int(seconds * rate)) / rate
        wave = 0.3 * np.sin(2 * np.pi * (220.0 + 110.0 * i) * t) * np.exp(-t % 2.0)
        wave += 0.02 * rng.standard_normal(t.shape)
        path = folder / f"clip{i:02d}.wav"
        sf.write(path, wave.astype(np.float32), rate, subtype="PCM_16")
        rows.append({"audio": str(path), "text": TEXTS[i % 4], "target": float(rng.uniform())})
    frame = pd.DataFrame(rows)
    return {"train": frame.iloc[:6], "validation": frame.iloc[6:]}


def _finetune(base, pairs, **kw) -> train.FinetuneResult:
    kw = {
        "num_epochs": 2,
        "batch_size": 3,
        "lr": 1e-3,
        "trainable": "all",
        "precision": "fp32",
        **kw,
    }
    return train.finetune(base, pairs["train"], pairs["validation"], progress=False, **kw)


@pytest.fixture(scope="module")
def full(base, pairs, tmp_path_factory: pytest.TempPathFactory) -> train.FinetuneResult:
    """Two epochs of fine-tuning every parameter, uninterrupted (``out_dir``: its folder)."""
    root = tmp_path_factory.mktemp("finetune")
    with pytest.MonkeyPatch.context() as mp, _one_thread():
        _hermetic(mp, root / "hf-cache")
        return _finetune(base, pairs, out_dir=root / "full")


def _ids(params) -> set[int]:
    return {id(p) for p in params}


def _embeddings(model, frame: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio_emb, text_emb) of a frame's pairs, the clips decoded at the model's rate."""
    clips = [torch.from_numpy(load_audio(p, model.sample_rate)) for p in frame["audio"]]
    with torch.no_grad():
        return model.embed_audio(clips), model.embed_text(frame["text"].tolist())


# ----------------------------------------------------------------------------- fine-tuning
def test_finetune_trains_the_fusion_branch_and_reloads(base, pairs, full, tmp_path: Path):
    hist = full.history
    assert list(hist.columns) == list(train.HISTORY_COLUMNS)
    assert hist["epoch"].tolist() == [0, 1, 2]
    assert np.isfinite(hist["train_loss"].iloc[1:]).all() and np.isfinite(hist["val_loss"]).all()
    assert hist["train_loss"].iloc[2] < hist["train_loss"].iloc[1]
    note = full.model.provenance["finetune"]
    assert note["best_epoch"] == full.best_epoch
    assert note["base_fingerprint"] == base.fingerprint  # the input model is not modified

    # the last epoch's weights: the fusion branch moved (reached only through is_longer and the
    # 4-channel input), so did the heads, both towers and the mel BatchNorm's running statistics
    # (train mode)
    last = torch.load(full.out_dir / "state.pt", weights_only=True)["model"]
    initial = _state(base)
    changed = {k for k in initial if not torch.equal(initial[k], last[k])}
    fusion = [k for k in initial if any(part in k for part in FUSION_PARAMS)]
    assert fusion and set(fusion) <= changed
    assert "clap.audio_model.audio_encoder.batch_norm.running_mean" in changed
    for part in (
        "audio_projection",
        "text_projection",
        "text_model.encoder",
        "audio_encoder.layers",
    ):
        assert any(part in k for k in changed), part

    # the best model saves in transformers' format and as a checkpoint; both reload exactly,
    # as does the run's best.pt
    model = full.model
    folder = model.save_pretrained(tmp_path / "human-clap")
    path = model.save(tmp_path / "human-clap.pt")
    two = pairs["validation"].iloc[:2]  # a 13 s clip at 48 kHz, a 6 s one at 16 kHz
    audio_emb, text_emb = _embeddings(model, two)
    reloaded = {
        "folder": models.load(f"hf:{folder}"),
        "pt": models.load(path),
        "best.pt": models.load(full.out_dir / "best.pt"),
    }
    assert reloaded["folder"].provenance["saved"]["finetune"] == note
    assert reloaded["pt"].provenance["finetune"] == note
    for name, loaded in reloaded.items():
        assert isinstance(loaded, hf.HfClap) and loaded.fingerprint == model.fingerprint, name
    for name in ("folder", "pt"):
        again = _embeddings(reloaded[name], two)
        assert torch.equal(again[0], audio_emb) and torch.equal(again[1], text_emb), name


def test_trainable_selections_and_precision_on_the_cpu(base, pairs, monkeypatch):
    model = copy.deepcopy(base)
    blocks = model.tower_blocks()
    head = _ids(model.head_parameters())
    assert _ids(model.trainable_parameters("projections")) == head
    tops = [*blocks["audio"][-1].parameters(), *blocks["text"][-1].parameters()]
    assert _ids(model.trainable_parameters("last:1")) == head | _ids(tops)
    # the fusion branch sits in the audio tower's first block (of 5): "last:5" and "all" train it
    fusion = _ids(model.clap.audio_model.audio_encoder.patch_embed.parameters())
    assert not fusion & _ids(model.trainable_parameters("last:4"))
    assert fusion <= _ids(model.trainable_parameters("last:5"))
    assert _ids(model.trainable_parameters("all")) == _ids(model.parameters())
    # fp16 autocast needs CUDA, bf16 CUDA or a CPU with native bf16: refused on a CPU without
    # it before any work ("auto" is fp32 there)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)
    for precision in ("bf16", "fp16"):
        with pytest.raises(ValueError, match=f"precision='{precision}' needs CUDA"):
            _finetune(base, pairs, precision=precision, num_epochs=0)
    # on a CPU with native bf16 (patched in: any CPU runs bf16 autocast) a run trains in bf16
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    bf16 = _finetune(base, pairs, precision="bf16", num_epochs=1)
    assert np.isfinite(bf16.history["train_loss"].iloc[1])
    assert np.isfinite(bf16.history["val_srcc"]).all()
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())


def test_resume_after_kill_equals_uninterrupted_run(base, pairs, full, tmp_path: Path):
    def kill_after_epoch_1(epoch, row):
        if epoch == 1:
            raise _Kill

    with pytest.raises(_Kill):
        _finetune(base, pairs, out_dir=tmp_path / "cut", callback=kill_after_epoch_1)
    assert len(pd.read_csv(tmp_path / "cut" / "history.csv")) == 2
    seen = []
    resumed = _finetune(base, pairs, out_dir=tmp_path / "cut", callback=lambda e, r: seen.append(e))
    assert seen == [2]  # continued after epoch 1
    final_full = torch.load(full.out_dir / "state.pt", weights_only=True)
    final_cut = torch.load(tmp_path / "cut" / "state.pt", weights_only=True)
    _assert_same_weights(final_full["model"], final_cut["model"])
    for key, state in final_full["optimizer"]["state"].items():
        _assert_same_weights(state, final_cut["optimizer"]["state"][key])
    _assert_same_weights(_state(full.model), _state(resumed.model))
    cols = [c for c in train.HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(full.history[cols], resumed.history[cols])
    assert resumed.best_epoch == full.best_epoch
