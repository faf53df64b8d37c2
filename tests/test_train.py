"""Tests for humanclap.train: Human-CLAP fine-tuning, validation, resuming, pair checks."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from conftest import torch_threads  # noqa: E402

from humanclap import models, runtime, train  # noqa: E402
from humanclap.models import tiny  # noqa: E402
from humanclap.train import pretrain  # noqa: E402

#: A small, fast tiny-CLAP architecture for 2-second clips.
SMALL_CFG = tiny.TinyConfig(
    max_seconds=2.0,
    channels=(8, 16, 32, 64),
    time_segments=2,
    d_model=64,
    n_heads=2,
    ff_dim=128,
    head_dim=128,
    embed_dim=64,
)


@pytest.fixture(autouse=True)
def _two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(torch_threads(2))
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def world(make_world) -> Path:
    return make_world(150, 2.0)


@pytest.fixture(scope="module")
def pairs(world: Path, world_splits) -> dict[str, pd.DataFrame]:
    return world_splits(world)


@pytest.fixture(scope="module")
def base(world: Path) -> tiny.TinyClap:
    """A small tiny CLAP pre-trained briefly on the world's natural train pairs (~3 s)."""
    torch.set_num_threads(torch_threads(2))
    return pretrain.pretrain(world, SMALL_CFG, num_epochs=20, batch_size=32, progress=False)


def _run(base, pairs, world, n_train: int | None = None, **kw) -> train.FinetuneResult:
    tr = pairs["train"] if n_train is None else pairs["train"].iloc[:n_train]
    kw.setdefault("progress", False)
    return train.finetune(base, tr, pairs["validation"], audio_dir=world, **kw)


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ----------------------------------------------------------------------------- the main run
@pytest.mark.slow
def test_finetune_lowers_loss_and_raises_val_srcc(base, pairs, world, tmp_path: Path):
    before = base.fingerprint
    out = tmp_path / "run"
    result = _run(
        base, pairs, world, lr=1e-3, num_epochs=8, batch_size=32, patience=None, out_dir=out
    )
    hist = result.history
    assert list(hist.columns) == list(train.HISTORY_COLUMNS)
    assert hist["epoch"].tolist() == list(range(9))
    assert math.isnan(hist["train_loss"].iloc[0]) and hist["lr"].iloc[0] == 0.0
    assert base.fingerprint == before  # the input model is not modified

    # epoch 0 is the base model, evaluated exactly as evaluate() does
    ev0 = train.evaluate(base, pairs["validation"], audio_dir=world)
    row0 = hist.iloc[0]
    for key in ("srcc", "lcc", "ktau", "mse"):
        assert row0[f"val_{key}"] == pytest.approx(ev0[key], abs=1e-9)
    assert row0["val_loss"] == pytest.approx(ev0["loss"], rel=1e-6)

    # the training loss goes down (during training, and evaluated in eval mode)
    assert hist["train_loss"].iloc[-1] < 0.7 * hist["train_loss"].iloc[1]
    ev_train_before = train.evaluate(base, pairs["train"], audio_dir=world)
    ev_train_after = train.evaluate(result.model, pairs["train"], audio_dir=world)
    assert ev_train_after["loss"] < 0.8 * ev_train_before["loss"]
    assert ev_train_after["srcc"] > ev_train_before["srcc"] + 0.1

    # validation SRCC rises; the best epoch is kept and reported consistently
    assert result.best_epoch > 0
    assert result.best_val_srcc == hist["val_srcc"].max()
    assert result.best_val_srcc > row0["val_srcc"] + 0.05
    assert hist["val_srcc"].iloc[-1] > row0["val_srcc"]
    scores = train.cosine_scores(result.model, pairs["validation"], audio_dir=world)
    srcc = stats.spearmanr(scores, pairs["validation"]["target"]).statistic
    assert srcc == pytest.approx(result.best_val_srcc, abs=1e-9)
    assert not result.stopped_early and result.out_dir == out
    assert not result.model.training

    # outputs: history.csv equals the history, best.pt is the best model, state.pt is safe
    on_disk = pd.read_csv(out / "history.csv")
    pd.testing.assert_frame_equal(on_disk, hist, check_dtype=False, rtol=1e-12)
    best = models.load(out / "best.pt")
    assert best.fingerprint == result.model.fingerprint
    assert best.provenance["finetune"]["best_epoch"] == result.best_epoch
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 8 and state["done"] is True
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "history.csv", "state.pt"]


# ----------------------------------------------------------------------------- resuming
class _Kill(Exception):
    pass


def test_resume_after_kill_equals_uninterrupted_run(base, pairs, world, tmp_path: Path):
    kw = {"lr": 1e-3, "num_epochs": 3, "batch_size": 16, "grad_accum": 2, "patience": None}
    full = _run(base, pairs, world, n_train=96, out_dir=tmp_path / "full", **kw)

    def kill_after_epoch_1(epoch, row):
        assert set(row) == set(train.HISTORY_COLUMNS)
        if epoch == 1:
            raise _Kill

    with pytest.raises(_Kill):
        _run(
            base,
            pairs,
            world,
            n_train=96,
            out_dir=tmp_path / "cut",
            callback=kill_after_epoch_1,
            **kw,
        )
    assert len(pd.read_csv(tmp_path / "cut" / "history.csv")) == 2
    seen = []
    resumed = _run(
        base, pairs, world, n_train=96, out_dir=tmp_path / "cut",
        callback=lambda e, r: seen.append(e), **kw,
    )  # fmt: skip
    assert seen == [2, 3]  # continued after epoch 1

    final_full = torch.load(tmp_path / "full" / "state.pt", weights_only=True)
    final_cut = torch.load(tmp_path / "cut" / "state.pt", weights_only=True)
    _assert_same_weights(final_full["model"], final_cut["model"])
    _assert_same_weights(final_full["optimizer"]["state"][0], final_cut["optimizer"]["state"][0])
    _assert_same_weights(_state(full.model), _state(resumed.model))
    cols = [c for c in train.HISTORY_COLUMNS if c != "seconds"]
    pd.testing.assert_frame_equal(full.history[cols], resumed.history[cols])
    assert resumed.best_epoch == full.best_epoch

    # a finished run is returned as it is, without training again
    again = _run(
        base, pairs, world, n_train=96, out_dir=tmp_path / "cut",
        callback=lambda e, r: pytest.fail("trained again"), **kw,
    )  # fmt: skip
    _assert_same_weights(_state(again.model), _state(resumed.model))
    pd.testing.assert_frame_equal(again.history, resumed.history)


def test_resume_with_other_arguments_is_refused(base, pairs, world, tmp_path: Path):
    out = tmp_path / "run"
    _run(base, pairs, world, n_train=40, num_epochs=1, lr=1e-3, out_dir=out)
    with pytest.raises(ValueError, match=r"different arguments.*lr: 0\.001 -> 0\.002"):
        _run(base, pairs, world, n_train=40, num_epochs=1, lr=2e-3, out_dir=out)
    with pytest.raises(ValueError, match="train_data"):
        _run(base, pairs, world, n_train=41, num_epochs=1, lr=1e-3, out_dir=out)
    other = models.load("tiny:random", config=SMALL_CFG)
    with pytest.raises(ValueError, match="base_model"):
        _run(other, pairs, world, n_train=40, num_epochs=1, lr=1e-3, out_dir=out)
    fresh = _run(base, pairs, world, n_train=40, num_epochs=2, lr=2e-3, out_dir=out, resume=False)
    assert fresh.history["epoch"].tolist() == [0, 1, 2]
    state = torch.load(out / "state.pt", weights_only=True)
    assert state["args"]["lr"] == 2e-3 and state["epoch"] == 2


def test_auto_out_dir_is_keyed_by_the_arguments(base, pairs, world):
    first = _run(base, pairs, world, n_train=40, num_epochs=1, lr=1e-3, out_dir="auto")
    cache = Path(os.environ["HUMANCLAP_CACHE"]) / "finetunes"
    assert first.out_dir is not None and first.out_dir.parent == cache
    again = _run(
        base, pairs, world, n_train=40, num_epochs=1, lr=1e-3, out_dir="auto",
        callback=lambda e, r: pytest.fail("trained again"),
    )  # fmt: skip
    assert again.out_dir == first.out_dir
    _assert_same_weights(_state(again.model), _state(first.model))
    other = _run(base, pairs, world, n_train=40, num_epochs=1, lr=2e-3, out_dir="auto")
    assert other.out_dir != first.out_dir and other.out_dir.parent == cache


def test_bf16_on_a_cpu_with_native_bf16_trains_and_names_the_run(base, pairs, world, monkeypatch):
    # patched in: any CPU runs bf16 autocast (emulated where it lacks the instructions)
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: True)
    kw = dict(n_train=64, num_epochs=2, lr=1e-3, out_dir="auto")
    fp32 = _run(base, pairs, world, **kw)
    bf16 = _run(base, pairs, world, precision="bf16", **kw)
    assert bf16.out_dir != fp32.out_dir  # the precision is part of the run's identity
    a, b = fp32.history, bf16.history
    assert np.isfinite(b["train_loss"].iloc[1:]).all()
    # the same run up to bf16 rounding: close to fp32, not equal to it
    assert not np.array_equal(a["val_srcc"].iloc[1:], b["val_srcc"].iloc[1:])
    np.testing.assert_allclose(b["train_loss"].iloc[1:], a["train_loss"].iloc[1:], rtol=0.02)
    np.testing.assert_allclose(b["val_srcc"], a["val_srcc"], atol=0.05)
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())


# ----------------------------------------------------------------------------- ranking losses
def test_ranking_losses_train_and_their_hyperparameters_name_the_run(base, pairs, world):
    kw = {"n_train": 48, "num_epochs": 1, "lr": 1e-3, "batch_size": 16, "out_dir": "auto"}
    folders = {}
    for loss in ("wsce+margin", "wsce+listnet", "mae+margin"):
        result = _run(base, pairs, world, loss=loss, **kw)
        hist = result.history
        assert hist["epoch"].tolist() == [0, 1]
        cols = [c for c in train.HISTORY_COLUMNS if c != "train_loss"]
        assert np.isfinite(hist[cols].to_numpy(dtype=float)).all(), loss
        assert np.isfinite(hist["train_loss"].iloc[1]) and hist["train_loss"].iloc[1] > 0, loss
        state = torch.load(result.out_dir / "state.pt", weights_only=True)
        trained = state["model"]  # the weights after the epoch (best.pt may be epoch 0)
        assert any(not torch.equal(v, trained[k]) for k, v in _state(base).items()), loss
        name = loss.split("+")[1]
        default = {"margin": {"margin": 0.1}, "listnet": {"temperature": 0.1}}[name]
        assert state["args"]["term_kwargs"] == {name: default}, loss
        folders[loss] = result.out_dir

    # a run without hyper-parameters keeps the identity it always had (no term_kwargs key)
    plain = _run(base, pairs, world, loss="wsce+mae", **{**kw, "num_epochs": 0})
    assert "term_kwargs" not in torch.load(plain.out_dir / "state.pt", weights_only=True)["args"]

    # another margin is another run; the default given explicitly is the same run
    wider = _run(
        base, pairs, world, loss="wsce+margin", term_kwargs={"margin": {"margin": 0.3}}, **kw
    )
    assert wider.out_dir != folders["wsce+margin"]
    assert wider.out_dir.parent == folders["wsce+margin"].parent
    state = torch.load(wider.out_dir / "state.pt", weights_only=True)
    assert state["args"]["term_kwargs"] == {"margin": {"margin": 0.3}}
    # the validation loss is the run's loss, with its margin (epoch 0 is the base model)
    val = {"loss": "wsce+margin", "audio_dir": world, "batch_size": 16, "progress": False}
    at_03 = train.evaluate(
        base, pairs["validation"], term_kwargs={"margin": {"margin": 0.3}}, **val
    )
    at_01 = train.evaluate(base, pairs["validation"], **val)
    assert wider.history["val_loss"].iloc[0] == pytest.approx(at_03["loss"], rel=1e-6)
    assert at_03["loss"] != pytest.approx(at_01["loss"], rel=1e-3)
    same = _run(
        base, pairs, world, loss="wsce+margin", term_kwargs={"margin": {"margin": 0.1}},
        callback=lambda e, r: pytest.fail("trained again"), **kw,
    )  # fmt: skip
    assert same.out_dir == folders["wsce+margin"]
    hotter = _run(
        base, pairs, world, loss="wsce+listnet", term_kwargs={"listnet": {"temperature": 0.5}},
        **{**kw, "num_epochs": 0},
    )  # fmt: skip
    assert hotter.out_dir != folders["wsce+listnet"]

    with pytest.raises(ValueError, match=r"term_kwargs\['margin'\]\['margin'\]"):
        _run(base, pairs, world, loss="mae+margin", term_kwargs={"margin": {"margin": 0}}, **kw)
    with pytest.raises(ValueError, match=r"term_kwargs: term\(s\) \['margin'\] are not in"):
        _run(base, pairs, world, term_kwargs={"margin": {"margin": 0.2}}, **kw)


# ----------------------------------------------------------------------------- options
def test_projections_leave_the_encoders_unchanged(base, pairs, world, tmp_path: Path):
    result = _run(
        base, pairs, world, n_train=64, trainable="projections", lr=1e-2, num_epochs=1,
        out_dir=tmp_path,
    )  # fmt: skip
    last = torch.load(tmp_path / "state.pt", weights_only=True)["model"]  # the trained weights
    head = {id(p) for p in base.head_parameters()}
    head_names = {n for n, p in base.named_parameters() if id(p) in head}
    before = _state(base)
    assert head_names and head_names < set(before)
    for after in (last, _state(result.model)):
        for name in before:
            if name not in head_names:  # encoders and buffers untouched
                assert torch.equal(before[name], after[name]), name
    assert all(not torch.equal(before[n], last[n]) for n in head_names)
    assert all(p.requires_grad for p in result.model.parameters())


def test_early_stopping_without_improvement(pairs, world):
    model = models.load("tiny:random", config=SMALL_CFG)
    # lr=0 leaves the weights as they are: the SRCC never rises above epoch 0's
    result = _run(model, pairs, world, n_train=32, lr=0.0, num_epochs=10, patience=2)
    assert result.stopped_early
    assert result.history["epoch"].tolist() == [0, 1, 2]
    assert result.history["val_srcc"].nunique() == 1
    assert result.best_epoch == 0
    _assert_same_weights(_state(model), _state(result.model))


def test_lazy_decoding_matches_preloading(base, pairs, world):
    kw = {"n_train": 48, "num_epochs": 1, "lr": 1e-3, "batch_size": 16}
    eager = _run(base, pairs, world, preload=True, **kw)
    lazy = _run(base, pairs, world, preload=False, num_workers=3, **kw)
    _assert_same_weights(_state(eager.model), _state(lazy.model))


def test_frozen_audio_blocks_are_run_once_and_train_as_if_run_every_batch(
    base, pairs, world, tmp_path: Path
):
    kw = {"n_train": 48, "num_epochs": 2, "lr": 1e-3, "batch_size": 16,
          "trainable": "freeze-audio:1"}  # fmt: skip
    # block 0's output from the feature cache, against waveforms through every block every batch
    cached = _run(base, pairs, world, preload=True, out_dir=tmp_path / "cached", **kw)
    direct = _run(base, pairs, world, preload=False, out_dir=tmp_path / "direct", **kw)
    before = _state(base)
    trained, trained_direct = (torch.load(tmp_path / d / "state.pt", weights_only=True)["model"]
                               for d in ("cached", "direct"))  # fmt: skip
    frozen = [n for n in before if n.startswith("audio_encoder.blocks.0.")]
    assert frozen and all(torch.equal(before[n], trained[n]) for n in frozen)
    assert not torch.equal(before["audio_encoder.blocks.1.conv.weight"],
                           trained["audio_encoder.blocks.1.conv.weight"])  # fmt: skip
    for name, value in trained_direct.items():
        torch.testing.assert_close(trained[name], value, rtol=1e-4, atol=1e-6, msg=name)
    np.testing.assert_allclose(cached.history["val_srcc"], direct.history["val_srcc"], atol=1e-4)
    assert all(p.requires_grad for p in cached.model.parameters())


def test_history_is_written_atomically_with_epoch_zero(base, pairs, world, tmp_path, monkeypatch):
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((Path(src), Path(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    out = tmp_path / "run"
    result = _run(base, pairs, world, n_train=32, num_epochs=0, out_dir=out)
    assert result.history["epoch"].tolist() == [0] and result.best_epoch == 0
    hist = pd.read_csv(out / "history.csv")
    assert hist["epoch"].tolist() == [0] and list(hist.columns) == list(train.HISTORY_COLUMNS)
    writes = {dst.name: src for src, dst in replaced}
    assert {"history.csv", "state.pt", "best.pt"} <= set(writes)
    for src in writes.values():  # each written to a temporary file beside it first
        assert src.parent == out and src.name.startswith(".")
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "history.csv", "state.pt"]


def test_callers_random_states_are_left_alone(base, pairs, world):
    torch.manual_seed(5)
    np.random.seed(5)  # noqa: NPY002
    random.seed(5)
    expected = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.manual_seed(5)
    np.random.seed(5)  # noqa: NPY002
    random.seed(5)
    _run(base, pairs, world, n_train=32, num_epochs=1)
    got = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert got[2] == expected[2]


# ----------------------------------------------------------------------------- bad input
def test_bad_pairs_give_clear_errors(base, pairs, world):
    tr, va = pairs["train"].iloc[:20], pairs["validation"]

    def fit(t=tr, v=va, **kw):
        kw.setdefault("audio_dir", world)
        return train.finetune(base, t, v, num_epochs=0, progress=False, **kw)

    with pytest.raises(TypeError, match="train_pairs: expected a pandas DataFrame"):
        fit(t=tr.to_dict("records"))
    with pytest.raises(ValueError, match=r"val_pairs: missing column\(s\) 'target'"):
        fit(v=va.drop(columns="target"))
    with pytest.raises(ValueError, match="'audio' or 'wavname'"):
        fit(t=tr.drop(columns="wavname"))
    bad = tr.copy()
    bad.loc[bad.index[3], "target"] = 1.5
    pattern = rf"train_pairs: column 'target' must lie in \[0, 1\].*row {bad.index[3]}: 1\.5"
    with pytest.raises(ValueError, match=pattern):
        fit(t=bad)
    bad = tr.copy()
    bad.loc[bad.index[4], "target"] = np.nan
    with pytest.raises(
        ValueError, match=rf"train_pairs: column 'target' has missing.*{bad.index[4]}"
    ):
        fit(t=bad)
    bad = va.copy()
    bad.loc[bad.index[2], "text"] = "  "
    with pytest.raises(ValueError, match=rf"val_pairs: column 'text'.*row\(s\) {bad.index[2]}"):
        fit(v=bad)
    with pytest.raises(ValueError, match="'wavname' column but no audio_dir"):
        fit(audio_dir=None)
    bad = tr.copy()
    bad.loc[bad.index[0], "wavname"] = "/audiocaps/train/missing.wav"
    pattern = rf"train_pairs: 1 audio file.*row {bad.index[0]}.*missing\.wav"
    with pytest.raises(FileNotFoundError, match=pattern):
        fit(t=bad)
    with pytest.raises(ValueError, match="train_pairs: 1 rows; at least 2"):
        fit(t=tr.iloc[:1])
    with pytest.raises(ValueError, match="val_pairs: all 20 targets equal"):
        fit(v=tr.assign(target=0.5))


def test_bad_arguments_are_refused(base, pairs, world, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: False)

    def fit(**kw):
        return _run(base, pairs, world, n_train=20, num_epochs=0, **kw)

    with pytest.raises(ValueError, match="unknown loss term 'ce'"):
        fit(loss="wsce+ce")
    with pytest.raises(ValueError, match="lambdas"):
        fit(lambdas={"mse": 2.0})
    with pytest.raises(ValueError, match="batch_size"):
        fit(batch_size=1)
    with pytest.raises(ValueError, match="grad_accum"):
        fit(grad_accum=0)
    with pytest.raises(ValueError, match="patience"):
        fit(patience=0)
    with pytest.raises(ValueError, match="trainable"):
        fit(trainable="middle")
    with pytest.raises(ValueError, match="precision='bf16' needs CUDA or a CPU with native bf16"):
        fit(precision="bf16")
    with pytest.raises(ValueError, match="precision='fp16' needs CUDA"):
        fit(precision="fp16")
    with pytest.raises(ValueError, match="precision"):
        fit(precision="fp8")
    with pytest.raises(TypeError, match="ClapModel"):
        train.finetune(object(), pairs["train"], pairs["validation"], audio_dir=world)


def test_audio_column_equals_wavname_under_root(base, pairs, world):
    va = pairs["validation"].iloc[:30]
    by_root = train.cosine_scores(base, va, audio_dir=world)
    with_paths = va.drop(columns="wavname").assign(
        audio=[str(world / w.lstrip("/")) for w in va["wavname"]]
    )
    np.testing.assert_array_equal(train.cosine_scores(base, with_paths), by_root)
    clips = pretrain.read_clips(world, va["wavname"].tolist(), base.sample_rate)
    with torch.no_grad():
        ref = (base.embed_audio(clips) * base.embed_text(va["text"].tolist())).sum(-1)
    np.testing.assert_allclose(by_root, ref.double().numpy(), atol=1e-5)


@pytest.mark.parametrize("preload", [True, False])
def test_undecodable_audio_names_the_frame_and_row(base, pairs, world, tmp_path, preload):
    from humanclap.audio import AudioError

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF-not-really-a-wave-file" * 10)
    tr = pairs["train"].iloc[:20].drop(columns="wavname")
    tr = tr.assign(audio=[str(world / w.lstrip("/")) for w in pairs["train"]["wavname"][:20]])
    tr.loc[tr.index[7], "audio"] = str(broken)
    with pytest.raises(AudioError, match=rf"train_pairs row {tr.index[7]}: .*broken\.wav"):
        train.finetune(
            base, tr, pairs["validation"], audio_dir=world, num_epochs=1, preload=preload,
            progress=False,
        )  # fmt: skip


def test_run_identity_does_not_depend_on_where_the_dataset_lies(tmp_path, pairs, world):
    import shutil

    from humanclap.train.pairs import prepare_pairs

    moved = tmp_path / "elsewhere"
    shutil.copytree(world, moved)
    va = pairs["validation"].copy()
    here = va.assign(audio=[str(world / w.lstrip("/")) for w in va["wavname"]])
    there = va.assign(audio=[str(moved / w.lstrip("/")) for w in va["wavname"]])
    a, b = prepare_pairs(here), prepare_pairs(there)
    assert a.paths != b.paths and a.audio_keys == b.audio_keys == va["wavname"].tolist()
    assert a.digest() == b.digest()
    # without a wavname column the audio value as given is the identity
    assert prepare_pairs(here.drop(columns="wavname")).audio_keys == here["audio"].tolist()
