"""The training loop's optimiser (humanclap.train.loop.adamw): parameter groups and the fused
update fine-tuning uses, against the multi-tensor one."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from humanclap.train.loop import adamw  # noqa: E402


def _params() -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(0)
    shapes = [(16, 8), (8,), (4, 4, 3), ()]
    return [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]


def _train(fused: bool) -> list[torch.Tensor]:
    params = _params()
    opt = adamw(params, lr=1e-2, weight_decay=0.1, fused=fused)
    gen = torch.Generator().manual_seed(1)
    for _ in range(25):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step()
    return [p.detach() for p in params]


def test_groups_decay_matrices_only_and_the_update_kind():
    params = _params()
    opt = adamw(params, lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert [p.ndim for p in decay["params"]] == [2, 3] and decay["weight_decay"] == 0.1
    assert [p.ndim for p in no_decay["params"]] == [1, 0] and no_decay["weight_decay"] == 0.0
    assert opt.defaults["foreach"] is True and not opt.defaults["fused"]
    assert adamw(params, lr=1e-3, weight_decay=0.1, fused=True).defaults["fused"] is True


def test_the_fused_update_equals_the_multi_tensor_one_up_to_rounding():
    for a, b in zip(_train(fused=True), _train(fused=False), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_fused_falls_back_where_torch_has_no_fused_kernel():
    params = [torch.nn.Parameter(torch.zeros(3, 3, dtype=torch.float64)), *_params()]
    assert adamw(params, 1e-3, 0.0, fused=True).defaults["fused"] is True  # float64 is fine
    meta = [torch.nn.Parameter(torch.zeros(2, 2, device="meta"))]
    assert not adamw(meta, 1e-3, 0.0, fused=True).defaults["fused"]
