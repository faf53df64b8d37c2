"""Fine-tuning runs in parallel processes (humanclap.train.finetune_many) and the CPU allocator
setting its workers use (humanclap.runtime.tune_cpu_allocator)."""

from __future__ import annotations

import platform
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from humanclap import train  # noqa: E402
from humanclap.runtime import tune_cpu_allocator  # noqa: E402
from humanclap.train.parallel import (  # noqa: E402
    AUTO_MAX_PARAMETERS,
    AUTO_MAX_WORKERS,
    available_cpus,
    finetune_many,
    resolve_workers,
)

COMMON = dict(num_epochs=2, batch_size=16, lr=1e-3, progress=False)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _weights(result: train.FinetuneResult) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result.model.state_dict().items()}


def test_parallel_runs_equal_the_same_runs_one_after_another(
    new_small_tiny, small_pairs, small_world, one_thread
):
    base = new_small_tiny()
    runs = [{"seed": 0}, {"seed": 1, "loss": "wsce+margin"}, {"seed": 2, "loss": "mse"}]
    common = dict(COMMON, audio_dir=small_world)
    parallel = finetune_many(
        base, small_pairs["train"], small_pairs["validation"], runs, workers=2, **common
    )
    serial = finetune_many(
        base, small_pairs["train"], small_pairs["validation"], runs, workers=1, **common
    )
    assert len(parallel) == len(serial) == 3
    for a, b in zip(parallel, serial, strict=True):
        wa, wb = _weights(a), _weights(b)
        assert wa.keys() == wb.keys()
        for k in wa:
            assert torch.equal(wa[k], wb[k]), k
        cols = ["epoch", "train_loss", "val_srcc", "val_loss"]
        pd.testing.assert_frame_equal(a.history[cols], b.history[cols])
        assert a.best_epoch == b.best_epoch
    # each result belongs to its own run: the recipes differ, so do the weights
    assert not torch.equal(_weights(parallel[0])["log_logit_scale"],
                           _weights(parallel[2])["log_logit_scale"])  # fmt: skip


def test_a_run_on_its_own_pairs_shares_the_pool(
    new_small_tiny, small_pairs, small_world, world_splits, one_thread
):
    base = new_small_tiny()
    z = world_splits(small_world, target="listener_z")
    assert not z["train"]["target"].equals(small_pairs["train"]["target"])
    runs = [{"seed": 0}, {"seed": 0, "train_pairs": z["train"], "val_pairs": z["validation"]}]
    common = dict(COMMON, audio_dir=small_world)
    for workers in (2, 1):
        shared, own = finetune_many(
            base, small_pairs["train"], small_pairs["validation"], runs, workers=workers, **common
        )
        alone = train.finetune(base, z["train"], z["validation"], seed=0, **common)
        for k, v in _weights(alone).items():
            assert torch.equal(_weights(own)[k], v), (workers, k)
        pd.testing.assert_frame_equal(own.history.drop(columns="seconds"),
                                      alone.history.drop(columns="seconds"))  # fmt: skip
        assert not torch.equal(_weights(shared)["log_logit_scale"],
                               _weights(own)["log_logit_scale"])  # fmt: skip


def test_parallel_runs_are_saved_and_read_back(new_small_tiny, small_pairs, small_world):
    base = new_small_tiny()
    runs = [{"seed": 0}, {"seed": 1}]
    kw = dict(COMMON, audio_dir=small_world, out_dir="auto")
    first = finetune_many(
        base, small_pairs["train"], small_pairs["validation"], runs, workers=2, **kw
    )
    assert all((r.out_dir / "best.pt").is_file() for r in first)
    again = train.finetune(base, small_pairs["train"], small_pairs["validation"], seed=1, **kw)
    assert again.out_dir == first[1].out_dir and again.seconds < first[1].seconds
    for k, v in _weights(first[1]).items():
        assert torch.equal(v, again.model.state_dict()[k]), k


def test_a_failed_run_is_raised_after_the_others_finish(
    new_small_tiny, small_pairs, small_world, tmp_path: Path
):
    base = new_small_tiny()
    runs = [
        {"seed": 0, "out_dir": tmp_path / "good"},
        {"seed": 1, "out_dir": tmp_path / "bad", "lambdas": [1.0]},
    ]
    with pytest.raises(ValueError, match="lambdas") as info:
        finetune_many(base, small_pairs["train"], small_pairs["validation"], runs, workers=2,
                      **dict(COMMON, audio_dir=small_world))  # fmt: skip
    assert any("run 1 (" in note and "seed=1" in note for note in info.value.__notes__)
    assert (tmp_path / "good" / "best.pt").is_file()


def test_workers_are_resolved_and_checked(new_small_tiny, small_pairs, small_world):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_workers("auto", cpu, 100) == min(available_cpus(), AUTO_MAX_WORKERS)
    assert resolve_workers("auto", cpu, 100, num_parameters=AUTO_MAX_PARAMETERS + 1) == 1
    assert resolve_workers(2, cpu, 100, num_parameters=AUTO_MAX_PARAMETERS + 1) == 2
    assert resolve_workers("auto", cpu, 1) == 1
    assert resolve_workers(8, cpu, 3) == 3
    assert resolve_workers("auto", cuda, 10) == 1
    assert resolve_workers(1, cuda, 10) == 1
    with pytest.raises(ValueError, match="parallel runs are for the CPU"):
        resolve_workers(2, cuda, 10)
    for bad in (0, -1, 1.5, True, "many"):
        with pytest.raises(ValueError, match="workers"):
            resolve_workers(bad, cpu, 4)
    base = new_small_tiny()
    with pytest.raises(ValueError, match="callback"):
        finetune_many(base, small_pairs["train"], small_pairs["validation"], [{"seed": 0}, {"seed": 1}],
                      workers=2, callback=print, **dict(COMMON, audio_dir=small_world))  # fmt: skip


def test_tune_cpu_allocator_is_accepted_by_glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's; elsewhere tune_cpu_allocator returns False")
    assert tune_cpu_allocator() is True
