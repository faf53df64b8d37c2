"""The starting model's validation embeddings, shared by the runs of a process
(humanclap.train.start): the same history as computing them, and a key that follows everything
they depend on."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from humanclap import train  # noqa: E402
from humanclap.train.start import START_EMBEDDINGS, StartEmbeddings  # noqa: E402

COMMON = dict(num_epochs=1, batch_size=16, lr=1e-3, progress=False)


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_epoch_0_from_the_shared_embeddings_equals_computing_them(
    new_small_tiny, small_pairs, small_world
):
    base = new_small_tiny()
    kw = dict(COMMON, audio_dir=small_world)
    START_EMBEDDINGS.clear()
    train.finetune(base, small_pairs["train"], small_pairs["validation"], seed=0, **kw)
    assert len(START_EMBEDDINGS) == 1
    shared = train.finetune(
        base, small_pairs["train"], small_pairs["validation"], seed=1, loss="mse", **kw
    )
    assert len(START_EMBEDDINGS) == 1  # read, not added
    START_EMBEDDINGS.clear()
    alone = train.finetune(
        base, small_pairs["train"], small_pairs["validation"], seed=1, loss="mse", **kw
    )
    cols = [c for c in shared.history.columns if c != "seconds"]
    pd.testing.assert_frame_equal(shared.history[cols], alone.history[cols], check_exact=True)
    for k, v in _weights(alone.model).items():
        assert torch.equal(_weights(shared.model)[k], v), k
    # the epoch-0 loss is each recipe's own, from the same embeddings
    other = train.finetune(base, small_pairs["train"], small_pairs["validation"], seed=1, **kw)
    assert other.history["val_srcc"].iloc[0] == shared.history["val_srcc"].iloc[0]
    assert other.history["val_loss"].iloc[0] != shared.history["val_loss"].iloc[0]


def test_the_key_follows_weights_files_precision_and_batch_size(
    new_small_tiny, small_pairs, small_world, tmp_path
):
    model = new_small_tiny()
    data = train.prepare_pairs(small_pairs["validation"], "val_pairs", small_world)
    calls = []

    def embed() -> tuple[torch.Tensor, torch.Tensor]:
        calls.append(1)
        return torch.full((len(data), 4), float(len(calls))), torch.zeros(len(data), 4)

    store = StartEmbeddings(max_items=3)

    def get(pairs=data, device="cpu", batch_size=16, precision="fp32"):
        return store.get(model.fingerprint, device, pairs, precision, batch_size, embed)

    first, _ = get()
    again, _ = get()
    assert len(calls) == 1 and torch.equal(first, again)
    again.add_(1.0)  # a caller's copy: the kept embeddings do not change
    assert torch.equal(get()[0], first)
    get(batch_size=32)
    assert len(calls) == 2
    get(device="cuda:0")  # another device (only the key: nothing runs there)
    assert len(calls) == 3
    get(precision="bf16")
    assert len(calls) == 4
    assert len(store) == 3  # at most max_items kept: the least recently used is dropped
    get(batch_size=32)
    assert len(calls) == 4  # kept
    get()
    assert len(calls) == 5  # dropped, so embedded again
    with torch.no_grad():
        next(model.parameters()).add_(1e-3)
    get()  # other weights, other fingerprint
    assert len(calls) == 6
    # a clip rewritten in place (new size / modification time) is embedded again
    copy = tmp_path / "w"
    shutil.copytree(small_world, copy)
    moved = train.prepare_pairs(small_pairs["validation"], "val_pairs", copy)
    get(moved)
    get(moved)
    assert len(calls) == 7
    path = moved.paths[0]
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    get(moved)
    assert len(calls) == 8
    store.clear()
    assert len(store) == 0
    with pytest.raises(ValueError, match="max_items"):
        StartEmbeddings(max_items=0)
